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

$string['cachedef_relayprobe'] = 'Relay probe answers, reused for a minute so the relay is not probed on every call';
$string['invalidrecipient'] = 'The recipient is not a valid email address.';
$string['pluginname'] = 'maildrift outgoing mail audit';
$string['privacy:metadata'] = 'The maildrift plugin does not store any personal data. It reads mail settings and counters, and the address given for a test message is only passed to the site\'s mailer.';
$string['servicename'] = 'maildrift';
$string['testmailbody'] = 'This is a test message from the maildrift audit tool, sent through the outgoing mail settings of the Moodle site {$a->wwwroot} ({$a->site}).

Token: {$a->token}
Time sent: {$a->time}

The message was requested by a site administrator through the local_maildrift_send_test_mail web service function. No reply is needed.';
$string['testmailtoosoon'] = 'A test message was sent less than a minute ago. Try again in {$a} seconds.';
