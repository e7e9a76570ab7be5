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


namespace local_maildrift\admin;

use local_maildrift\local\allowlist;

/**
 * The test mail allowlist setting: a text area that refuses lines that can never match.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class allowlist_setting extends \admin_setting_configtextarea {

    /**
     * Accept the text only when every entry is an address or a domain.
     *
     * @param string $data submitted text
     * @return bool|string true, or the error to show
     */
    public function validate($data) {
        $invalid = (new allowlist((string) $data))->invalid_entries();
        if ($invalid) {
            return get_string('testmailallowlistinvalid', 'local_maildrift', implode(', ', $invalid));
        }
        return true;
    }
}
