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
 * Admin settings of local_maildrift.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if ($hassiteconfig) {
    $settings = new admin_settingpage('local_maildrift', new lang_string('pluginname', 'local_maildrift'));
    $settings->add(new \local_maildrift\admin\allowlist_setting(
        'local_maildrift/testmailallowlist',
        new lang_string('testmailallowlist', 'local_maildrift'),
        new lang_string('testmailallowlist_desc', 'local_maildrift'),
        '',
        PARAM_RAW_TRIMMED
    ));
    $ADMIN->add('localplugins', $settings);
}
