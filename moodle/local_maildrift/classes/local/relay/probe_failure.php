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

namespace local_maildrift\local\relay;

/**
 * A probe step that failed: where (connect, reply, tls) and why.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class probe_failure extends \Exception {

    /** @var string connect, reply, tls or starttls */
    public $stage;

    /**
     * Constructor.
     *
     * @param string $stage where it failed
     * @param string $message why, safe to show
     */
    public function __construct(string $stage, string $message) {
        parent::__construct($message);
        $this->stage = $stage;
    }
}
