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

namespace local_maildrift;

/**
 * Event observers.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {

    /** @var bool whether a test message is being sent in this request */
    protected static $capturing = false;

    /** @var string error of the last failed message while capturing */
    protected static $lasterror = '';

    /**
     * Start remembering the error text of failed mail in this request.
     */
    public static function start_capture(): void {
        self::$capturing = true;
        self::$lasterror = '';
    }

    /**
     * Stop remembering and return the error seen since start_capture().
     *
     * @return string the mailer error, '' if none was seen
     */
    public static function stop_capture(): string {
        self::$capturing = false;
        $error = self::$lasterror;
        self::$lasterror = '';
        return $error;
    }

    /**
     * Remember the mailer error of a failed message (only while capturing).
     *
     * @param \core\event\email_failed $event the event
     */
    public static function email_failed(\core\event\email_failed $event): void {
        if (self::$capturing) {
            self::$lasterror = (string) ($event->other['errorinfo'] ?? '');
        }
    }
}
