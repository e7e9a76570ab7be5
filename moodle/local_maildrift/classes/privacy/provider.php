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


namespace local_maildrift\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\userlist;

/**
 * Privacy provider of local_maildrift.
 *
 * The plugin has no tables and stores no personal data itself. It does send data out of the
 * site: its web service functions return mail settings (which can name people) and the
 * recipient domains and redacted failure texts of undelivered mail to the maildrift client,
 * which is declared as an external location. Test mail requests are logged as
 * \local_maildrift\event\test_mail_sent events; the log stores own that data and export and
 * delete it through their own providers, so there is nothing for this provider to export.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
    \core_privacy\local\metadata\provider,
    \core_privacy\local\request\core_userlist_provider,
    \core_privacy\local\request\plugin\provider {

    /**
     * Describe the data that leaves the site.
     *
     * @param collection $collection the collection to add to
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_external_location_link('maildrift', [
            'mailsettings' => 'privacy:metadata:maildrift:mailsettings',
            'recipientdomain' => 'privacy:metadata:maildrift:recipientdomain',
            'failuretext' => 'privacy:metadata:maildrift:failuretext',
        ], 'privacy:metadata:maildrift');
        return $collection;
    }

    /**
     * No context holds data of this plugin.
     *
     * @param int $userid the user
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        return new contextlist();
    }

    /**
     * No user has data of this plugin.
     *
     * @param userlist $userlist the list to fill
     */
    public static function get_users_in_context(userlist $userlist) {
    }

    /**
     * Nothing stored, nothing to export.
     *
     * @param approved_contextlist $contextlist the approved contexts
     */
    public static function export_user_data(approved_contextlist $contextlist) {
    }

    /**
     * Nothing stored, nothing to delete.
     *
     * @param \context $context the context
     */
    public static function delete_data_for_all_users_in_context(\context $context) {
    }

    /**
     * Nothing stored, nothing to delete.
     *
     * @param approved_contextlist $contextlist the approved contexts
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
    }

    /**
     * Nothing stored, nothing to delete.
     *
     * @param approved_userlist $userlist the approved users
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
    }
}
