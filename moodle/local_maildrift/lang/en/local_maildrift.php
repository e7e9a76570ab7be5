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
 * English strings for local_maildrift.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['allowlistempty'] = 'No test message can be sent: the test mail allowlist is empty. An administrator must add the permitted addresses or domains under Site administration > Plugins > Local plugins > maildrift outgoing mail audit.';
$string['eventtestmailsent'] = 'maildrift test message sent';
$string['invalidrecipient'] = 'The recipient is not a valid email address.';
$string['maildrift:sendtestmail'] = 'Send a maildrift test message through the site mailer';
$string['maildrift:viewconfig'] = 'Read the outgoing mail configuration and mail health figures (maildrift)';
$string['pluginname'] = 'maildrift outgoing mail audit';
$string['privacy:metadata:maildrift'] = 'The maildrift command-line tool reads the site\'s outgoing mail settings and health figures through the local_maildrift web service functions. The support, no-reply and divert addresses and the SMTP user name are site settings that can name a person; failure texts of undelivered mail are returned with the local part of every address removed, together with the recipient\'s domain. Each test message request is logged as an event (who requested it, the recipient\'s domain, the result) in the site\'s logs, which hold and export it.';
$string['privacy:metadata:maildrift:failuretext'] = 'The mailer\'s error text for a failed message, with the local part of every address removed.';
$string['privacy:metadata:maildrift:mailsettings'] = 'Outgoing mail settings of the site, which can include personal addresses (support, no-reply and divert addresses, SMTP user name).';
$string['privacy:metadata:maildrift:recipientdomain'] = 'The domain of the recipient of a failed message or of a test message.';
$string['recipientnotallowed'] = 'The recipient is not in the test mail allowlist (domain: {$a}). An administrator can add the address or its domain under Site administration > Plugins > Local plugins > maildrift outgoing mail audit.';
$string['servicename'] = 'maildrift';
$string['setupnoservice'] = 'The maildrift external service does not exist: the plugin is not installed or not upgraded. Run php admin/cli/upgrade.php first.';
$string['setupnotwebserviceaccount'] = 'The account {$a->username} exists and is not a web service account (its authentication method is {$a->auth}, not webservice). setup.php only manages accounts that use Web services authentication and has changed nothing. Choose another --username, or, if that account is really meant to be maildrift\'s service account, switch it to Web services authentication yourself and run setup.php again.';
$string['testmailallowlist'] = 'Test mail allowlist';
$string['testmailallowlist_desc'] = 'Addresses and domains that may receive a maildrift test message, one per line: <code>user@example.org</code> for one address, <code>example.org</code> for any address at that domain, <code>*.example.org</code> for any address at its subdomains. Lines starting with # are ignored. While the list is empty no test message can be sent.';
$string['testmailallowlistinvalid'] = 'Neither an address nor a domain: {$a}';
$string['testmailbody'] = 'This is a test message from the maildrift audit tool, sent through the outgoing mail settings of the Moodle site {$a->wwwroot} ({$a->site}).

Token: {$a->token}
Time sent: {$a->time}

The message was requested through the local_maildrift_send_test_mail web service function by an account allowed to send maildrift test messages. No reply is needed.';
$string['testmailtoosoon'] = 'A test message was sent less than a minute ago. Try again in {$a} seconds.';
