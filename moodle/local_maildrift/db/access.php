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
 * Capabilities of local_maildrift.
 *
 * No archetypes: no role, not even manager, gets these by default. The service account's
 * role (see cli/setup.php) is the only intended holder; site administrators pass every
 * capability check anyway.
 *
 * viewconfig carries RISK_CONFIG because, like report/security:view, it reveals how the site
 * is set up (SMTP relay and user, DKIM selector, divert and bounce settings) even though it
 * changes nothing, and RISK_PERSONAL because several of those settings hold addresses of
 * people (supportemail, smtpuser, divertallemailsto, noreplyaddress).
 * sendtestmail carries RISK_SPAM: it makes the site send a message.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$capabilities = [
    'local/maildrift:viewconfig' => [
        'riskbitmask' => RISK_CONFIG | RISK_PERSONAL,
        'captype' => 'read',
        'contextlevel' => CONTEXT_SYSTEM,
        'archetypes' => [],
    ],
    'local/maildrift:sendtestmail' => [
        'riskbitmask' => RISK_SPAM,
        'captype' => 'write',
        'contextlevel' => CONTEXT_SYSTEM,
        'archetypes' => [],
    ],
];
