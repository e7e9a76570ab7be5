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

namespace local_maildrift\local\relay;

/**
 * State of the OAuth 2 issuer that Moodle's mailer uses for XOAUTH2 (smtpoauthservice).
 *
 * Reports whether the issuer exists, is enabled and configured, whether its system account is
 * connected, when its tokens were last renewed and whether the renewal task is failing. Never a
 * token, client secret or the account's address.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class oauth_state {

    /**
     * The issuer's state; 'checked' is false when smtpauthtype is not XOAUTH2.
     *
     * @param string $authtype $CFG->smtpauthtype
     * @param string $serviceid $CFG->smtpoauthservice
     * @return array
     */
    public static function read(string $authtype, string $serviceid): array {
        $out = [
            'checked' => false, 'serviceid' => (int) $serviceid, 'exists' => false, 'name' => '',
            'enabled' => false, 'configured' => false, 'connected' => false, 'accountmodified' => 0,
            'tokenexpires' => 0, 'tokenmodified' => 0, 'refreshlastrun' => 0, 'refreshfailing' => false,
        ];
        if (strtoupper($authtype) !== 'XOAUTH2') {
            return $out;
        }
        $out['checked'] = true;
        $issuer = $out['serviceid'] > 0 ? \core\oauth2\issuer::get_record(['id' => $out['serviceid']]) : false;
        if (!$issuer) {
            return $out;
        }
        $out['exists'] = true;
        $out['name'] = smtp_session::printable((string) $issuer->get('name'));
        $out['enabled'] = (bool) $issuer->get('enabled');
        $out['configured'] = (bool) $issuer->is_configured();
        $out['connected'] = (bool) $issuer->is_system_account_connected();
        $account = \core\oauth2\system_account::get_record(['issuerid' => $issuer->get('id')]);
        if ($account) {
            // The refresh token is rewritten on every renewal, so this is the last renewal.
            $out['accountmodified'] = (int) $account->get('timemodified');
        }
        $token = \core\oauth2\access_token::get_record(['issuerid' => $issuer->get('id')]);
        if ($token) {
            $out['tokenexpires'] = (int) $token->get('expires');
            $out['tokenmodified'] = (int) $token->get('timemodified');
        }
        $task = \core\task\manager::get_scheduled_task(\core\oauth2\refresh_system_tokens_task::class);
        if ($task) {
            $out['refreshlastrun'] = (int) $task->get_last_run_time();
            $out['refreshfailing'] = $task->get_fail_delay() > 0;
        }
        return $out;
    }
}
