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

defined('MOODLE_INTERNAL') || die();

\local_maildrift\local\external_compat::load();

use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_single_structure;
use core_external\external_value;
use core_external\external_warnings;
use local_maildrift\local\mail_settings;
use local_maildrift\observer;

/**
 * local_maildrift_send_test_mail: send one test message through the site's mailer.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class send_test_mail extends external_api {

    /** Seconds between two test messages on one site. */
    const MIN_INTERVAL = 60;

    /** Id of the recipient user object (not a real user), as admin/testoutgoingmailconf.php does. */
    const RECIPIENT_ID = -99;

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'recipient' => new external_value(PARAM_EMAIL, 'Address to send the test message to'),
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
        require_capability('moodle/site:config', $context);

        $recipient = trim((string) $params['recipient']);
        if ($recipient === '' || !validate_email($recipient)) {
            throw new \moodle_exception('invalidrecipient', 'local_maildrift');
        }

        $now = time();
        $last = (int) get_config('local_maildrift', 'lasttestmail');
        if ($last > 0 && $now - $last < self::MIN_INTERVAL) {
            $secondsleft = self::MIN_INTERVAL - max(0, $now - $last);
            throw new \moodle_exception('testmailtoosoon', 'local_maildrift', '', $secondsleft);
        }
        set_config('lasttestmail', $now, 'local_maildrift');

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
            $error = $mailererror !== '' ? mail_settings::redact($mailererror)
                : 'email_to_user() returned false before handing the message to the mailer (see the site debugging log).';
        }

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
