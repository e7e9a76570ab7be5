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
 * The site-wide "one test message per minute" slot.
 *
 * Claiming reads and writes the time of the last test message while holding a Moodle lock, so
 * concurrent requests (several web servers or PHP workers) cannot all see an old time and all
 * send: exactly one of them claims the slot.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class test_mail_slot {

    /** Seconds between two test messages on one site. */
    const MIN_INTERVAL = 60;

    /** Seconds to wait for another request to finish its claim; the lock is held only for two queries. */
    const LOCK_TIMEOUT = 10;

    /** Plugin setting holding the time of the last claimed slot. */
    const SETTING = 'lasttestmail';

    /**
     * Claim the slot.
     *
     * @return int 0 when this request may send (the time is recorded), else the seconds to wait
     */
    public static function claim(): int {
        global $DB;

        $factory = \core\lock\lock_config::get_lock_factory('local_maildrift');
        $lock = $factory->get_lock('sendtestmail', self::LOCK_TIMEOUT);
        if (!$lock) {
            // Another request held the lock all that time; it is claiming the slot right now.
            return self::MIN_INTERVAL;
        }
        try {
            // From the database, not the config cache, which may predate another request's claim.
            $last = (int) $DB->get_field('config_plugins', 'value', ['plugin' => 'local_maildrift', 'name' => self::SETTING]);
            $now = time();
            $elapsed = $now - $last;
            // A time slightly in the future (clocks of several web servers) also counts as recent.
            if ($last > 0 && abs($elapsed) < self::MIN_INTERVAL) {
                return max(1, self::MIN_INTERVAL - max(0, $elapsed));
            }
            set_config(self::SETTING, $now, 'local_maildrift');
            return 0;
        } finally {
            $lock->release();
        }
    }
}
