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


/**
 * Set up the web service account maildrift uses, with least privilege, in one command.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

// Moodle 4.5: <root>/local/maildrift/cli; Moodle 5.1: <root>/public/local/maildrift/cli with a config.php loader in public/.
require(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/clilib.php');

use local_maildrift\local\service_account;

$usage = "Set up the account the maildrift tool uses to read this site's mail settings.

Creates or updates, in this order:
  - the user USERNAME with the Web services authentication method (it cannot log in
    interactively and has no usable password);
  - the role 'maildrift', assignable in the system context only, that allows exactly
    local/maildrift:viewconfig, local/maildrift:sendtestmail and webservice/rest:use
    (anything else on that role is removed);
  - the assignment of that role to the user in the system context;
  - the user's authorisation on the 'maildrift' external service (with the IP restriction;
    never with an expiry, which Moodle would treat as already expired);
  - a token for the user and the 'maildrift' service (with the IP restriction and expiry).
Running it again repairs what differs and creates no duplicates. An existing account whose
authentication method is not 'webservice' is refused and left untouched.

The new token is the only thing printed on standard output (once; Moodle shows it nowhere
else), so it can be captured: TOKEN=\$(php setup.php --username=maildrift). What was done
is reported on standard error. When the user already has a token for the service it is kept
and not printed; --newtoken replaces it.

Usage:
    php local/maildrift/cli/setup.php --username=USERNAME [options]
    (Moodle 5.1: php public/local/maildrift/cli/setup.php ...)

Options:
    --username=USERNAME     Account to create or update (required), e.g. maildrift.
    --email=ADDRESS         Email address of the account (Moodle refuses web service calls
                            from accounts without one). Default: the site's no-reply
                            address for a new account, unchanged for an existing one.
                            Email to the account is switched off either way.
    --iprestriction=LIST    Addresses allowed to use the token and the service, in Moodle's
                            syntax: comma-separated IPs, CIDR ranges or prefixes, e.g.
                            203.0.113.7,10.1.0.0/16. Empty removes the restriction.
                            Not given: new token unrestricted, existing one unchanged.
    --validuntil=WHEN       Expiry of the token: YYYY-MM-DD or
                            YYYY-MM-DDTHH:MM[:SS] (UTC), or a Unix timestamp. 0 or empty
                            removes the expiry. Not given: new token never expires,
                            existing one unchanged.
    --newtoken              Delete the user's tokens for the service and print a new one
                            (with their IP restriction and expiry unless given anew).
    -h, --help              Print this help.

Example:
    php local/maildrift/cli/setup.php --username=maildrift \\
        --iprestriction=203.0.113.7 --validuntil=2027-12-31
";

[$options, $unrecognised] = cli_get_params([
    'username' => null,
    'email' => null,
    'iprestriction' => null,
    'validuntil' => null,
    'newtoken' => false,
    'help' => false,
], ['h' => 'help']);

if ($options['help']) {
    cli_writeln($usage);
    exit(0);
}
if ($unrecognised) {
    cli_error(get_string('cliunknowoption', 'admin', implode("\n  ", $unrecognised)) . "\nRun with --help for usage.");
}

foreach (['username', 'email', 'iprestriction', 'validuntil'] as $name) {
    if ($options[$name] === true) {
        cli_error("--{$name} needs a value: --{$name}=VALUE. Run with --help for usage.");
    }
}
if ($options['username'] === null || trim($options['username']) === '') {
    cli_error("--username is required, e.g. --username=maildrift. Run with --help for usage.");
}
$username = trim($options['username']);
if ($username !== core_text::strtolower($username) || $username !== core_user::clean_field($username, 'username')) {
    cli_error("--username={$username} is not a valid Moodle username: use lower case letters, digits and _-.@ only.");
}

$email = $options['email'];
if ($email !== null) {
    $email = trim($email);
    if (!validate_email($email)) {
        cli_error("--email={$email} is not a valid email address.");
    }
}

$iprestriction = $options['iprestriction'];
if ($iprestriction !== null) {
    $iprestriction = implode(',', array_filter(array_map('trim', explode(',', $iprestriction)), 'strlen'));
    foreach ($iprestriction === '' ? [] : explode(',', $iprestriction) as $entry) {
        if (!preg_match('~^[0-9a-f:.]+(/\d{1,3}|-[0-9a-f]+)?$~i', $entry)) {
            cli_error("--iprestriction: '{$entry}' is not an IP address, CIDR range (10.0.0.0/8) or prefix (10.1.).");
        }
    }
}

$validuntil = null;
if ($options['validuntil'] !== null) {
    $when = trim($options['validuntil']);
    if ($when === '' || $when === '0') {
        $validuntil = 0;
    } else if (ctype_digit($when)) {
        $validuntil = (int) $when;
    } else {
        $date = DateTimeImmutable::createFromFormat('!Y-m-d', $when, new DateTimeZone('UTC'))
            ?: (DateTimeImmutable::createFromFormat('!Y-m-d\TH:i:s', $when, new DateTimeZone('UTC'))
            ?: DateTimeImmutable::createFromFormat('!Y-m-d\TH:i', $when, new DateTimeZone('UTC')));
        $errors = DateTimeImmutable::getLastErrors();
        if (!$date || ($errors && ($errors['warning_count'] || $errors['error_count']))) {
            cli_error("--validuntil={$when}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or a Unix timestamp.");
        }
        $validuntil = $date->getTimestamp();
    }
    if ($validuntil !== 0 && $validuntil <= time()) {
        cli_error("--validuntil={$when} is in the past; the token would never work.");
    }
}

// Act as the main administrator, so that the created records and logged events name a real actor.
\core\session\manager::set_user(get_admin());

try {
    $service = service_account::get_service();
    $transaction = $DB->start_delegated_transaction();
    $log = '';
    $user = service_account::ensure_user($username, $email, $log);
    cli_writeln($log, STDERR);
    $roleid = service_account::ensure_role($log);
    cli_writeln($log, STDERR);
    service_account::ensure_assignment($roleid, (int) $user->id, $log);
    cli_writeln($log, STDERR);
    service_account::ensure_authorised($service, (int) $user->id, $iprestriction, $log);
    cli_writeln($log, STDERR);
    $token = service_account::ensure_token($service, (int) $user->id, $iprestriction, $validuntil, $options['newtoken'], $log);
    cli_writeln($log, STDERR);
    $transaction->allow_commit();
} catch (moodle_exception $e) {
    if (isset($transaction) && !$transaction->is_disposed()) {
        try {
            // Undo the steps already done; rollback() rethrows the exception it is given.
            $transaction->rollback($e);
        } catch (moodle_exception $rethrown) {
            // Reported below.
            unset($rethrown);
        }
    }
    cli_error($e->getMessage());
}

if (empty($CFG->enablewebservices)) {
    cli_writeln('warning: web services are disabled on this site; enable them: php admin/cli/cfg.php --name=enablewebservices --set=1',
        STDERR);
}
$protocols = empty($CFG->webserviceprotocols) ? [] : explode(',', $CFG->webserviceprotocols);
if (!in_array('rest', $protocols, true)) {
    cli_writeln('warning: the REST protocol is not enabled; enable it under Site administration > Server > Web services > ' .
        'Manage protocols (or add rest to the webserviceprotocols setting)', STDERR);
}

if ($token !== null) {
    cli_writeln($token);
}
exit(0);
