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
 * Web service functions and the maildrift service.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'local_maildrift_get_mail_config' => [
        'classname' => 'local_maildrift\external\get_mail_config',
        'methodname' => 'execute',
        'description' => 'Outgoing-mail settings of the site, DKIM key state and which secrets are set (never their values).',
        'type' => 'read',
        'capabilities' => 'local/maildrift:viewconfig',
        'ajax' => false,
    ],
    'local_maildrift_get_mail_health' => [
        'classname' => 'local_maildrift\external\get_mail_health',
        'methodname' => 'execute',
        'description' => 'Cron, ad hoc task queue, failed mail and bounce figures.',
        'type' => 'read',
        'capabilities' => 'local/maildrift:viewconfig',
        'ajax' => false,
    ],
    'local_maildrift_send_test_mail' => [
        'classname' => 'local_maildrift\external\send_test_mail',
        'methodname' => 'execute',
        'description' => 'Send one test message through the site mailer to an allowlisted address (at most one per minute).',
        'type' => 'write',
        'capabilities' => 'local/maildrift:sendtestmail',
        'ajax' => false,
    ],
    'local_maildrift_probe_relay' => [
        'classname' => 'local_maildrift\external\probe_relay',
        'methodname' => 'execute',
        'description' => 'What each relay in smtphosts offers this server: greeting, extensions, TLS, certificate.',
        'type' => 'read',
        'capabilities' => 'local/maildrift:viewconfig',
        'ajax' => false,
    ],
];

$services = [
    'maildrift' => [
        'functions' => [
            'local_maildrift_get_mail_config',
            'local_maildrift_get_mail_health',
            'local_maildrift_send_test_mail',
            'local_maildrift_probe_relay',
            // Lets the client check the token and the site version first.
            'core_webservice_get_site_info',
        ],
        'restrictedusers' => 1,
        'enabled' => 1,
        'shortname' => 'maildrift',
        'downloadfiles' => 0,
        'uploadfiles' => 0,
    ],
];
