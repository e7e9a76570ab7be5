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


namespace local_maildrift\local;

/**
 * Sets up the least-privilege web service account maildrift uses (cli/setup.php).
 *
 * Each step creates what is missing and brings what exists back to the intended state, so
 * running the setup again repairs instead of duplicating. Every step returns one line saying
 * what it did.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class service_account {

    /** Short name of the role holding exactly the capabilities below. */
    const ROLE = 'maildrift';

    /** Short name of the external service declared in db/services.php. */
    const SERVICE = 'maildrift';

    /** Name given to tokens this setup creates. */
    const TOKEN_NAME = 'maildrift setup';

    /** Everything the account needs, and all its role allows. */
    const CAPABILITIES = [
        'local/maildrift:viewconfig',
        'local/maildrift:sendtestmail',
        'webservice/rest:use',
    ];

    /**
     * Create or update the account (authentication method 'webservice').
     *
     * @param string $username the account's username
     * @param string|null $email address to set, null to leave it (an account without one gets the no-reply address)
     * @param string $log one line describing what was done
     * @return \stdClass the user record
     * @throws \moodle_exception when the username belongs to an account that is not a web service account
     */
    public static function ensure_user(string $username, ?string $email, string &$log): \stdClass {
        global $CFG, $DB;
        require_once($CFG->dirroot . '/user/lib.php');

        $user = $DB->get_record('user', ['username' => $username, 'mnethostid' => $CFG->mnet_localhost_id, 'deleted' => 0]);
        if (!$user) {
            $id = user_create_user((object) [
                'username' => $username,
                'auth' => 'webservice',
                // Nothing can log in with this: web service accounts only use tokens.
                'password' => AUTH_PASSWORD_NOT_CACHED,
                'firstname' => 'maildrift',
                'lastname' => 'service account',
                // Moodle refuses function calls from users without an email ("not fully set up").
                'email' => $email ?? \core_user::get_noreply_user()->email,
                // Nothing is ever mailed to a service account.
                'emailstop' => 1,
                'confirmed' => 1,
                'mnethostid' => $CFG->mnet_localhost_id,
            ], false);
            $log = "user {$username}: created (id {$id}, authentication: Web services authentication)";
            return $DB->get_record('user', ['id' => $id], '*', MUST_EXIST);
        }
        if ($user->auth !== 'webservice') {
            throw new \moodle_exception('setupnotwebserviceaccount', 'local_maildrift', '',
                (object) ['username' => $username, 'auth' => $user->auth]);
        }
        $changes = [];
        $update = (object) ['id' => $user->id];
        if ($email === null && trim((string) $user->email) === '') {
            $email = \core_user::get_noreply_user()->email;
        }
        if ($email !== null && $email !== $user->email) {
            $update->email = $email;
            $changes[] = 'email';
        }
        if (!empty($user->suspended)) {
            $update->suspended = 0;
            $changes[] = 'unsuspended';
        }
        if (empty($user->confirmed)) {
            $update->confirmed = 1;
            $changes[] = 'confirmed';
        }
        if ($changes) {
            user_update_user($update, false);
            $log = "user {$username}: updated (" . implode(', ', $changes) . ", id {$user->id})";
            return $DB->get_record('user', ['id' => $user->id], '*', MUST_EXIST);
        }
        $log = "user {$username}: unchanged (id {$user->id}, already a web service account)";
        return $user;
    }

    /**
     * Create or repair the role: system level only, allowing exactly CAPABILITIES there.
     *
     * @param string $log one line describing what was done
     * @return int role id
     */
    public static function ensure_role(string &$log): int {
        global $DB;

        $context = \context_system::instance();
        $changes = [];
        $role = $DB->get_record('role', ['shortname' => self::ROLE]);
        if ($role) {
            $roleid = (int) $role->id;
        } else {
            $roleid = create_role('maildrift service', self::ROLE,
                'Only what the maildrift tool needs: read the mail configuration and health, send a test message, use the REST protocol. Managed by local/maildrift/cli/setup.php.');
            $changes[] = 'created';
        }

        $levels = array_map('intval', array_values(get_role_contextlevels($roleid)));
        if ($levels !== [CONTEXT_SYSTEM]) {
            set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
            $changes[] = 'assignable in the system context only';
        }

        $existing = $DB->get_records_menu('role_capabilities', ['roleid' => $roleid, 'contextid' => $context->id],
            'capability', 'capability, permission');
        foreach (self::CAPABILITIES as $capability) {
            if ((int) ($existing[$capability] ?? 0) !== CAP_ALLOW) {
                assign_capability($capability, CAP_ALLOW, $roleid, $context->id, true);
                $changes[] = "allowed {$capability}";
            }
        }
        foreach (array_keys($existing) as $capability) {
            if (!in_array($capability, self::CAPABILITIES, true)) {
                unassign_capability($capability, $roleid, $context->id);
                $changes[] = "removed {$capability}";
            }
        }

        $log = 'role ' . self::ROLE . ': ' . ($changes ? implode(', ', $changes) : 'unchanged') .
            " (id {$roleid}; allows only " . implode(', ', self::CAPABILITIES) . ')';
        return $roleid;
    }

    /**
     * Assign the role to the user in the system context.
     *
     * @param int $roleid role id
     * @param int $userid user id
     * @param string $log one line describing what was done
     */
    public static function ensure_assignment(int $roleid, int $userid, string &$log): void {
        global $DB;

        $context = \context_system::instance();
        if ($DB->record_exists('role_assignments', ['roleid' => $roleid, 'userid' => $userid, 'contextid' => $context->id])) {
            $log = 'role assignment: unchanged (system context)';
            return;
        }
        role_assign($roleid, $userid, $context->id);
        $log = 'role assignment: created (system context)';
    }

    /**
     * The maildrift external service.
     *
     * @return \stdClass
     * @throws \moodle_exception when the plugin is not installed (no such service)
     */
    public static function get_service(): \stdClass {
        global $DB;

        $service = $DB->get_record('external_services', ['shortname' => self::SERVICE, 'component' => 'local_maildrift']);
        if (!$service) {
            throw new \moodle_exception('setupnoservice', 'local_maildrift');
        }
        return $service;
    }

    /**
     * Authorise the user on the (restricted) service with the token's IP restriction.
     *
     * The authorisation never gets an expiry: Moodle 4.5 and 5.1 only let an authorised user
     * call functions while its validuntil is empty or in the PAST (webservice_server's
     * service query compares "su.validuntil < :now"), so a future date would lock the
     * account out. The token's own validuntil, which Moodle checks correctly, carries the
     * expiry instead; an expiry found on the authorisation is removed.
     *
     * @param \stdClass $service the service
     * @param int $userid user id
     * @param string|null $iprestriction new restriction ('' for none), null to keep the current one
     * @param string $log one line describing what was done
     */
    public static function ensure_authorised(\stdClass $service, int $userid, ?string $iprestriction, string &$log): void {
        global $DB;

        $record = $DB->get_record('external_services_users', ['externalserviceid' => $service->id, 'userid' => $userid]);
        if (!$record) {
            $DB->insert_record('external_services_users', (object) [
                'externalserviceid' => $service->id,
                'userid' => $userid,
                'iprestriction' => $iprestriction ?? '',
                'validuntil' => 0,
                'timecreated' => time(),
            ]);
            $log = "service {$service->shortname}: user authorised (IP restriction: " . self::describe_ip($iprestriction ?? '') . ')';
        } else {
            $changes = [];
            if ($iprestriction !== null && (string) $record->iprestriction !== $iprestriction) {
                $record->iprestriction = $iprestriction;
                $changes[] = 'IP restriction updated';
            }
            if (!empty($record->validuntil)) {
                $record->validuntil = 0;
                $changes[] = 'expiry removed (Moodle refuses authorised users with a future expiry; the token carries it)';
            }
            if ($changes) {
                $DB->update_record('external_services_users', $record);
            }
            $log = "service {$service->shortname}: user already authorised" . ($changes ? ', ' . implode(', ', $changes) : '') .
                ' (IP restriction: ' . self::describe_ip((string) $record->iprestriction) . ')';
        }
        if (!$service->enabled) {
            $log .= "\nwarning: the {$service->shortname} service is disabled (Site administration > Server > Web services > External services)";
        }
    }

    /**
     * Make sure the user has a permanent token for the service.
     *
     * @param \stdClass $service the service
     * @param int $userid user id
     * @param string|null $iprestriction new restriction ('' for none), null to keep the current one
     * @param int|null $validuntil new expiry (0 for none), null to keep the current one
     * @param bool $replace delete the user's existing tokens for the service and create a new one (same restrictions
     *     as the newest of them unless new ones are given)
     * @param string $log one line describing what was done
     * @return string|null the new token, null when an existing one was kept
     */
    public static function ensure_token(\stdClass $service, int $userid, ?string $iprestriction, ?int $validuntil,
            bool $replace, string &$log): ?string {
        global $DB;

        $where = ['externalserviceid' => $service->id, 'userid' => $userid, 'tokentype' => EXTERNAL_TOKEN_PERMANENT];
        $tokens = $DB->get_records('external_tokens', $where, 'id');
        if ($tokens && !$replace) {
            $changed = 0;
            foreach ($tokens as $token) {
                if (self::apply_restrictions($token, $iprestriction, $validuntil)) {
                    $DB->update_record('external_tokens', $token);
                    $changed++;
                }
            }
            $token = reset($tokens);
            $log = 'token: kept the existing ' . (count($tokens) === 1 ? 'token' : count($tokens) . ' tokens') .
                ($changed ? ', restrictions updated' : '') . self::describe((string) $token->iprestriction, (int) $token->validuntil) .
                '; it is not shown again (run with --newtoken to replace it)';
            return null;
        }
        if ($tokens) {
            // A replacement keeps the restrictions of the token it replaces unless new ones are given.
            $newest = end($tokens);
            $iprestriction = $iprestriction ?? (string) $newest->iprestriction;
            $validuntil = $validuntil ?? (int) $newest->validuntil;
            $DB->delete_records('external_tokens', $where);
        }
        $value = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $userid,
            \context_system::instance(), $validuntil ?? 0, $iprestriction ?? '', self::TOKEN_NAME);
        $log = 'token: ' . ($tokens ? 'replaced ' . count($tokens) . ' old token(s) with a new one' : 'created') .
            self::describe($iprestriction ?? '', $validuntil ?? 0) . '; printed once on standard output';
        if (($iprestriction ?? '') === '') {
            $log .= "\nadvice: the token works from any address; --iprestriction=ADDRESS limits it to the host running maildrift";
        }
        if (($validuntil ?? 0) === 0) {
            $log .= "\nadvice: the token never expires; --validuntil=YYYY-MM-DD sets an expiry";
        }
        return $value;
    }

    /**
     * Copy the requested restrictions onto a record.
     *
     * @param \stdClass $record external_tokens or external_services_users row
     * @param string|null $iprestriction new value, null to keep
     * @param int|null $validuntil new value, null to keep
     * @return bool whether anything changed
     */
    protected static function apply_restrictions(\stdClass $record, ?string $iprestriction, ?int $validuntil): bool {
        $changed = false;
        if ($iprestriction !== null && (string) $record->iprestriction !== $iprestriction) {
            $record->iprestriction = $iprestriction;
            $changed = true;
        }
        if ($validuntil !== null && (int) $record->validuntil !== $validuntil) {
            $record->validuntil = $validuntil;
            $changed = true;
        }
        return $changed;
    }

    /**
     * ' (IP restriction …, valid until …)' for a log line.
     *
     * @param string $iprestriction restriction, '' for none
     * @param int $validuntil expiry, 0 for none
     * @return string
     */
    protected static function describe(string $iprestriction, int $validuntil): string {
        return ' (IP restriction: ' . self::describe_ip($iprestriction) .
            ', valid until: ' . ($validuntil ? gmdate('Y-m-d H:i:s', $validuntil) . ' UTC' : 'no expiry') . ')';
    }

    /**
     * An IP restriction for a log line.
     *
     * @param string $iprestriction restriction, '' for none
     * @return string
     */
    protected static function describe_ip(string $iprestriction): string {
        return $iprestriction === '' ? 'none' : $iprestriction;
    }
}
