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
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use core_external\external_warnings;
use local_maildrift\local\mail_settings;

/**
 * local_maildrift_get_mail_config: the site's outgoing-mail settings, without secrets.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_mail_config extends external_api {

    /**
     * No parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Read the mail settings.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;

        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/maildrift:viewconfig', $context);

        $warnings = [];
        $dkim = mail_settings::get_dkim($warnings);

        return [
            'release' => (string) $CFG->release,
            'version' => (string) $CFG->version,
            'pluginversion' => (string) get_config('local_maildrift', 'version'),
            'wwwroot' => (string) $CFG->wwwroot,
            'settings' => mail_settings::get_settings(),
            'secrets' => mail_settings::get_secrets(),
            'dkim' => $dkim,
            'warnings' => $warnings,
        ];
    }

    /**
     * Description of the result.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'release' => new external_value(PARAM_RAW, 'Moodle release, $CFG->release'),
            'version' => new external_value(PARAM_RAW, 'Moodle version, $CFG->version'),
            'pluginversion' => new external_value(PARAM_RAW, 'local_maildrift version'),
            'wwwroot' => new external_value(PARAM_RAW, 'Site URL, $CFG->wwwroot'),
            'settings' => new external_multiple_structure(
                new external_single_structure([
                    'name' => new external_value(PARAM_ALPHANUMEXT, 'Setting name'),
                    'value' => new external_value(PARAM_RAW, 'Value as stored, empty when unset'),
                    'isset' => new external_value(PARAM_BOOL, 'Whether the setting exists at all'),
                    'forced' => new external_value(PARAM_BOOL, 'Whether config.php sets it'),
                ]),
                'Outgoing-mail settings'
            ),
            'secrets' => new external_multiple_structure(
                new external_single_structure([
                    'name' => new external_value(PARAM_ALPHANUMEXT, 'Setting name'),
                    'isset' => new external_value(PARAM_BOOL, 'Whether the secret is non-empty'),
                ]),
                'Secret settings: presence only, never the value'
            ),
            'dkim' => new external_multiple_structure(
                new external_single_structure([
                    'domain' => new external_value(PARAM_RAW, 'Sending domain'),
                    'selector' => new external_value(PARAM_RAW, 'DKIM selector, $CFG->emaildkimselector'),
                    'keyfile' => new external_value(PARAM_BOOL, 'Whether dataroot/dkim/<domain>/<selector>.private is readable'),
                    'publickey' => new external_value(PARAM_RAW, 'Base64 DER SubjectPublicKeyInfo of that key, empty when unknown'),
                ]),
                'DKIM key state per sending domain'
            ),
            'warnings' => new external_warnings(),
        ]);
    }
}
