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
 * Makes the core_external class names available on Moodle 4.1.
 *
 * Moodle 4.2 moved the external API classes into the core_external
 * subsystem (lib/external/classes). Moodle 4.1 only has the old global
 * names from lib/externallib.php. On 4.2 and later this class does
 * nothing; on 4.1 it loads lib/externallib.php and aliases the few
 * classes this plugin uses to their 4.2+ names.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class external_compat {

    /** @var string[] Class names used by this plugin, without namespace. */
    const CLASSES = [
        'external_api',
        'external_description',
        'external_value',
        'external_single_structure',
        'external_multiple_structure',
        'external_function_parameters',
        'external_warnings',
    ];

    /**
     * Make sure \core_external\external_api and friends can be used.
     */
    public static function load(): void {
        global $CFG;

        if (class_exists(\core_external\external_api::class)) {
            // Moodle 4.2 or later.
            return;
        }
        require_once($CFG->libdir . '/externallib.php');
        foreach (self::CLASSES as $name) {
            if (!class_exists('core_external\\' . $name, false) && class_exists($name)) {
                class_alias($name, 'core_external\\' . $name);
            }
        }
    }
}
