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


namespace local_maildrift\event;

/**
 * A maildrift test message was handed to the site's mailer.
 *
 * Records who asked (userid), the recipient's domain and whether email_to_user() reported
 * success. The full recipient address is deliberately not stored.
 *
 * @property-read array $other {
 *      - string recipientdomain: domain part of the recipient address, lowercased
 *      - bool sent: whether email_to_user() reported success
 * }
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class test_mail_sent extends \core\event\base {

    /**
     * Initialise the event data.
     */
    protected function init() {
        $this->data['crud'] = 'c';
        $this->data['edulevel'] = self::LEVEL_OTHER;
    }

    /**
     * Localised event name.
     *
     * @return string
     */
    public static function get_name() {
        return get_string('eventtestmailsent', 'local_maildrift');
    }

    /**
     * Non-localised description.
     *
     * @return string
     */
    public function get_description() {
        $result = empty($this->other['sent']) ? 'the mailer reported a failure' : 'the mailer accepted it';
        return "The user with id '{$this->userid}' sent a maildrift test message to an address at " .
            "'{$this->other['recipientdomain']}'; {$result}.";
    }

    /**
     * Check the data.
     *
     * @throws \coding_exception
     */
    protected function validate_data() {
        parent::validate_data();

        if (!isset($this->other['recipientdomain'])) {
            throw new \coding_exception('The \'recipientdomain\' value must be set in other.');
        }
        if (strpos($this->other['recipientdomain'], '@') !== false) {
            throw new \coding_exception('The \'recipientdomain\' value must be a domain, not an address.');
        }
        if (!isset($this->other['sent'])) {
            throw new \coding_exception('The \'sent\' value must be set in other.');
        }
    }

    /**
     * Nothing in other refers to database ids.
     *
     * @return bool
     */
    public static function get_other_mapping() {
        return false;
    }
}
