<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_maildrift\external;

use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use core_external\external_warnings;
use local_maildrift\local\mail_settings;
use local_maildrift\local\redaction;

/**
 * local_maildrift_get_mail_health: cron, ad hoc task queue, failed mail and bounce counters.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_mail_health extends external_api {

    /** Most recent failures returned. */
    const RECENT_LIMIT = 5;

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'days' => new external_value(PARAM_INT, 'Window in days for the log counts (1 to 90)', VALUE_DEFAULT, 7),
        ]);
    }

    /**
     * Collect the health figures.
     *
     * @param int $days window in days, clamped to 1..90
     * @return array
     */
    public static function execute(int $days = 7): array {
        global $CFG;

        $params = self::validate_parameters(self::execute_parameters(), ['days' => $days]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/maildrift:viewconfig', $context);

        $days = max(1, min(90, (int) $params['days']));
        $now = time();
        $warnings = [];

        $mailtasks = mail_settings::MAIL_TASKS;

        return [
            'generatedat' => $now,
            'days' => $days,
            'cron' => [
                'lastcronstart' => (int) get_config('tool_task', 'lastcronstart'),
                'lastcroninterval' => (int) get_config('tool_task', 'lastcroninterval'),
            ],
            'adhoc' => self::adhoc_stats($now, null),
            'mail' => self::adhoc_stats($now, $mailtasks),
            'mailtasks' => $mailtasks,
            'failedmail' => self::failed_mail($now - $days * DAYSECS, $warnings),
            'bounces' => self::bounces(),
            'warnings' => $warnings,
        ];
    }

    /**
     * Queue figures for task_adhoc, optionally for some classes only.
     *
     * @param int $now current time
     * @param string[]|null $classes class names as stored in task_adhoc.classname, null for all
     * @return array pending, duenow, oldestdue, failing, maxfaildelay
     */
    protected static function adhoc_stats(int $now, ?array $classes): array {
        global $DB;

        $where = '';
        $params = ['now1' => $now, 'now2' => $now];
        if ($classes !== null) {
            [$insql, $inparams] = $DB->get_in_or_equal($classes, SQL_PARAMS_NAMED, 'mdcls');
            $where = "WHERE classname $insql";
            $params += $inparams;
        }
        $sql = "SELECT COUNT(1) AS pending,
                       SUM(CASE WHEN nextruntime <= :now1 THEN 1 ELSE 0 END) AS duenow,
                       MIN(CASE WHEN nextruntime <= :now2 THEN nextruntime ELSE NULL END) AS oldestdue,
                       SUM(CASE WHEN faildelay > 0 THEN 1 ELSE 0 END) AS failing,
                       MAX(COALESCE(faildelay, 0)) AS maxfaildelay
                  FROM {task_adhoc}
                $where";
        $row = $DB->get_record_sql($sql, $params);

        return [
            'pending' => (int) ($row->pending ?? 0),
            'duenow' => (int) ($row->duenow ?? 0),
            'oldestdue' => (int) ($row->oldestdue ?? 0),
            'failing' => (int) ($row->failing ?? 0),
            'maxfaildelay' => (int) ($row->maxfaildelay ?? 0),
        ];
    }

    /**
     * The SQL log reader to use: logstore_standard when enabled, else another enabled SQL reader.
     *
     * @return \core\log\sql_reader|null
     */
    protected static function get_reader(): ?\core\log\sql_reader {
        $readers = get_log_manager()->get_readers('\core\log\sql_reader');
        if (isset($readers['logstore_standard'])) {
            return $readers['logstore_standard'];
        }
        return $readers ? reset($readers) : null;
    }

    /**
     * Failed mail and sent message counts from the log.
     *
     * @param int $since start of the window
     * @param array $warnings warnings are appended here
     * @return array
     */
    protected static function failed_mail(int $since, array &$warnings): array {
        global $DB;

        $result = [
            'logavailable' => false,
            'count' => 0,
            'lastfailure' => 0,
            'recent' => [],
            'messagesent' => 0,
        ];

        $reader = self::get_reader();
        if ($reader === null) {
            $warnings[] = [
                'item' => 'log',
                'warningcode' => 'nologstore',
                'message' => 'No enabled log store can be read (enable logstore_standard); failed mail cannot be counted.',
            ];
            return $result;
        }
        $result['logavailable'] = true;
        if ($reader instanceof \core\log\reader && !$reader->is_logging()) {
            $warnings[] = [
                'item' => 'log',
                'warningcode' => 'lognotlogging',
                'message' => 'The log store is readable but does not record new events.',
            ];
        }

        $select = 'eventname = :eventname AND timecreated >= :since';
        $failed = ['eventname' => '\core\event\email_failed', 'since' => $since];
        $sent = ['eventname' => '\core\event\message_sent', 'since' => $since];

        try {
            $result['count'] = (int) $reader->get_events_select_count($select, $failed);
            $result['messagesent'] = (int) $reader->get_events_select_count($select, $sent);
            if ($result['count'] > 0) {
                $events = $reader->get_events_select($select, $failed, 'timecreated DESC', 0, self::RECENT_LIMIT);
                foreach ($events as $event) {
                    if (!$event) {
                        continue;
                    }
                    $error = (string) ($event->other['errorinfo'] ?? '');
                    $domain = '';
                    if (!empty($event->relateduserid) && $event->relateduserid > 0) {
                        $email = $DB->get_field('user', 'email', ['id' => $event->relateduserid]);
                        $domain = $email ? mail_settings::email_domain($email) : '';
                    }
                    if ($domain === '') {
                        $domain = redaction::first_email_domain($error);
                    }
                    $result['recent'][] = [
                        'time' => (int) $event->timecreated,
                        'recipientdomain' => $domain,
                        'error' => redaction::redact($error),
                    ];
                }
                if ($result['recent']) {
                    $result['lastfailure'] = $result['recent'][0]['time'];
                }
            }
        } catch (\Throwable $e) {
            // A broken external log database must not break the whole report.
            $warnings[] = [
                'item' => 'log',
                'warningcode' => 'logreadfailed',
                'message' => 'Reading the log failed: ' . get_class($e),
            ];
        }
        return $result;
    }

    /**
     * Bounce handling settings and the number of users over the bounce threshold.
     *
     * Mirrors over_bounce_threshold(): an empty minbounces means 10, an empty bounceratio .20;
     * a user is over when email_bounce_count >= minbounces and bounces / sends >= bounceratio.
     * The count does not depend on handlebounces (over_bounce_threshold() is only applied when it is on).
     *
     * @return array
     */
    protected static function bounces(): array {
        global $CFG, $DB;

        $minbounces = empty($CFG->minbounces) ? 10 : (int) $CFG->minbounces;
        $bounceratio = empty($CFG->bounceratio) ? .20 : (float) $CFG->bounceratio;

        $sql = "SELECT b.userid, b.value AS bounces, s.value AS sends
                  FROM {user_preferences} b
                  JOIN {user} u ON u.id = b.userid AND u.deleted = 0
             LEFT JOIN {user_preferences} s ON s.userid = b.userid AND s.name = :sendname
                 WHERE b.name = :bouncename
                   AND " . $DB->sql_cast_char2int('b.value') . " >= :minbounces";
        $rs = $DB->get_recordset_sql($sql, [
            'sendname' => 'email_send_count',
            'bouncename' => 'email_bounce_count',
            'minbounces' => $minbounces,
        ]);
        $over = 0;
        foreach ($rs as $row) {
            $bounces = (int) $row->bounces;
            $sends = (int) ($row->sends ?? 0);
            // No recorded sends means an unbounded ratio.
            if ($sends <= 0 || $bounces / $sends >= $bounceratio) {
                $over++;
            }
        }
        $rs->close();

        return [
            'handlebounces' => !empty($CFG->handlebounces),
            'minbounces' => $minbounces,
            'bounceratio' => (string) $bounceratio,
            'usersoverthreshold' => $over,
        ];
    }

    /**
     * Description of one ad hoc queue summary.
     *
     * @param string $desc description
     * @return external_single_structure
     */
    protected static function adhoc_structure(string $desc): external_single_structure {
        return new external_single_structure([
            'pending' => new external_value(PARAM_INT, 'Queued tasks'),
            'duenow' => new external_value(PARAM_INT, 'Tasks whose next run time has passed'),
            'oldestdue' => new external_value(PARAM_INT, 'Oldest next run time among due tasks, 0 when none'),
            'failing' => new external_value(PARAM_INT, 'Tasks with a fail delay'),
            'maxfaildelay' => new external_value(PARAM_INT, 'Largest fail delay in seconds'),
        ], $desc);
    }

    /**
     * Description of the result.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'generatedat' => new external_value(PARAM_INT, 'Server time of this answer'),
            'days' => new external_value(PARAM_INT, 'Window in days used for log counts'),
            'cron' => new external_single_structure([
                'lastcronstart' => new external_value(PARAM_INT, 'Start of the last cron run, 0 if never'),
                'lastcroninterval' => new external_value(PARAM_INT, 'Seconds between the last two cron runs, 0 if unknown'),
            ], 'Cron'),
            'adhoc' => self::adhoc_structure('All ad hoc tasks'),
            'mail' => self::adhoc_structure('Mail-sending ad hoc tasks'),
            'mailtasks' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Task class name'),
                'Ad hoc task classes counted as mail-sending'
            ),
            'failedmail' => new external_single_structure([
                'logavailable' => new external_value(PARAM_BOOL, 'Whether an enabled SQL log store was read'),
                'count' => new external_value(PARAM_INT, 'email_failed events in the window'),
                'lastfailure' => new external_value(PARAM_INT, 'Time of the newest failure, 0 if none'),
                'recent' => new external_multiple_structure(
                    new external_single_structure([
                        'time' => new external_value(PARAM_INT, 'Time of the failure'),
                        'recipientdomain' => new external_value(PARAM_RAW, 'Domain of the recipient, empty if unknown'),
                        'error' => new external_value(PARAM_RAW, 'Mailer error, addresses reduced to their domain'),
                    ]),
                    'Newest failures, at most 5'
                ),
                'messagesent' => new external_value(PARAM_INT, 'message_sent events in the window'),
            ], 'Failed mail from the log'),
            'bounces' => new external_single_structure([
                'handlebounces' => new external_value(PARAM_BOOL, 'Whether bounce handling is on'),
                'minbounces' => new external_value(PARAM_INT, 'Effective minimum bounces'),
                'bounceratio' => new external_value(PARAM_RAW, 'Effective bounce ratio'),
                'usersoverthreshold' => new external_value(PARAM_INT, 'Users over the bounce threshold'),
            ], 'Bounces'),
            'warnings' => new external_warnings(),
        ]);
    }
}
