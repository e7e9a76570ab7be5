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
use core_external\external_single_structure;
use core_external\external_value;
use core_external\external_warnings;
use local_maildrift\local\allowlist;
use local_maildrift\local\mail_settings;
use local_maildrift\local\redaction;
use local_maildrift\local\test_mail_slot;
use local_maildrift\observer;

/**
 * local_maildrift_send_test_mail: send one test message through the site's mailer.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class send_test_mail extends external_api {

    /** Id of the recipient user object (not a real user), as admin/testoutgoingmailconf.php does. */
    const RECIPIENT_ID = -99;

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'recipient' => new external_value(PARAM_EMAIL, 'Address to send the test message to; must match the allowlist'),
        ]);
    }

    /**
     * Send the test message.
     *
     * @param string $recipient email address
     * @return array
     */
    public static function execute(string $recipient): array {
        global $CFG, $SITE;

        $params = self::validate_parameters(self::execute_parameters(), ['recipient' => $recipient]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/maildrift:sendtestmail', $context);

        $recipient = trim((string) $params['recipient']);
        if ($recipient === '' || !validate_email($recipient)) {
            throw new \moodle_exception('invalidrecipient', 'local_maildrift');
        }

        $allowlist = allowlist::from_config();
        if ($allowlist->is_empty()) {
            throw new \moodle_exception('allowlistempty', 'local_maildrift');
        }
        if (!$allowlist->allows($recipient)) {
            throw new \moodle_exception('recipientnotallowed', 'local_maildrift', '', mail_settings::email_domain($recipient));
        }

        // Only a request that passed every other check may use up the minute.
        $secondsleft = test_mail_slot::claim();
        if ($secondsleft > 0) {
            throw new \moodle_exception('testmailtoosoon', 'local_maildrift', '', $secondsleft);
        }
        $now = time();

        $token = 'md-' . bin2hex(random_bytes(6));
        $siteshortname = format_string($SITE->shortname, true, ['context' => $context, 'escape' => false]);
        $subject = "maildrift test {$token} from {$siteshortname}";
        $body = get_string('testmailbody', 'local_maildrift', (object) [
            'wwwroot' => $CFG->wwwroot,
            'site' => $siteshortname,
            'token' => $token,
            'time' => gmdate('Y-m-d H:i:s', $now) . ' UTC',
        ]);

        $warnings = [];
        if (!empty($CFG->noemailever)) {
            $warnings[] = [
                'item' => 'noemailever',
                'warningcode' => 'noemailever',
                'message' => '$CFG->noemailever is set: Moodle reports success but sends nothing.',
            ];
        } else if (email_should_be_diverted($recipient)) {
            $warnings[] = [
                'item' => 'divertallemailsto',
                'warningcode' => 'diverted',
                'message' => 'divertallemailsto is set: the message goes to the divert address instead of the recipient.',
            ];
        }

        $touser = self::recipient_user($recipient);
        $fromuser = \core_user::get_noreply_user();

        // Keep any SMTP debugging output (which could show the login exchange) out of the answer.
        observer::start_capture();
        ob_start();
        try {
            $sent = email_to_user($touser, $fromuser, $subject, $body);
        } finally {
            ob_end_clean();
            $mailererror = observer::stop_capture();
        }

        $error = '';
        if (!$sent) {
            $error = $mailererror !== '' ? redaction::redact($mailererror)
                : 'email_to_user() returned false before handing the message to the mailer (see the site debugging log).';
        }

        \local_maildrift\event\test_mail_sent::create([
            'context' => $context,
            'other' => [
                'recipientdomain' => mail_settings::email_domain($recipient),
                'sent' => (bool) $sent,
            ],
        ])->trigger();

        return [
            'sent' => (bool) $sent,
            'error' => $error,
            'subject' => $subject,
            'token' => $token,
            'timesent' => $now,
            'warnings' => $warnings,
        ];
    }

    /**
     * A user object for an address that need not belong to a real user.
     *
     * @param string $email address
     * @return \stdClass
     */
    protected static function recipient_user(string $email): \stdClass {
        $user = new \stdClass();
        $user->id = self::RECIPIENT_ID;
        $user->email = $email;
        $user->username = 'maildrift';
        $user->firstname = 'maildrift';
        $user->lastname = 'test';
        $user->firstnamephonetic = '';
        $user->lastnamephonetic = '';
        $user->middlename = '';
        $user->alternatename = '';
        $user->auth = 'manual';
        $user->confirmed = 1;
        $user->suspended = 0;
        $user->deleted = 0;
        $user->mailformat = 0;
        $user->maildisplay = 0;
        $user->emailstop = 0;
        return $user;
    }

    /**
     * Description of the result.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'sent' => new external_value(PARAM_BOOL, 'Whether email_to_user() reported success'),
            'error' => new external_value(PARAM_RAW, 'Mailer error, empty on success'),
            'subject' => new external_value(PARAM_RAW, 'Subject given to email_to_user()'),
            'token' => new external_value(PARAM_RAW, 'Unique token in the subject'),
            'timesent' => new external_value(PARAM_INT, 'Time of sending'),
            'warnings' => new external_warnings(),
        ]);
    }
}
