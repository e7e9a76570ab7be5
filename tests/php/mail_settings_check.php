<?php
// This file is part of maildrift, a companion tool for Moodle - https://moodle.org/
//
// This program is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// This program is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with this program.  If not, see <https://www.gnu.org/licenses/>.

/**
 * Checks of local_maildrift's pure helpers (redaction above all) that run with php-cli alone.
 *
 * The plugin's class is loaded as it is, beside the two Moodle functions it calls, stubbed with
 * their documented behaviour; no Moodle installation is needed. It lives outside the plugin so
 * that nothing here is installed into Moodle. Run: php tests/php/mail_settings_check.php
 * (tests/plugin_php.rs runs it under `cargo test`; .ci/run too). Exits 1 naming each failed check.
 *
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

namespace {
    define('MOODLE_INTERNAL', true);

    /** Stub of Moodle's core_text: only what the class uses. */
    class core_text {
        /**
         * Lowercases UTF-8 text.
         *
         * @param string $text text
         * @return string
         */
        public static function strtolower($text) {
            return mb_strtolower($text, 'UTF-8');
        }
    }

    /**
     * Stub of Moodle's get_host_from_url().
     *
     * @param string $url URL
     * @return string|null
     */
    function get_host_from_url($url) {
        $host = parse_url($url, PHP_URL_HOST);
        return $host === false ? null : $host;
    }

    $CFG = new stdClass();
    require(__DIR__ . '/../../moodle/local_maildrift/classes/local/mail_settings.php');
    require(__DIR__ . '/../../moodle/local_maildrift/classes/local/redaction.php');
}

namespace local_maildrift_check {
    use local_maildrift\local\mail_settings;
    use local_maildrift\local\redaction;

    $failures = [];
    $count = 0;

    /**
     * Records one check.
     *
     * @param string $name what is checked
     * @param mixed $expected expected value
     * @param mixed $actual actual value
     */
    function same(string $name, $expected, $actual): void {
        global $failures, $count;
        $count++;
        if ($expected !== $actual) {
            $failures[] = "$name\n    expected: " . var_export($expected, true) . "\n    actual:   " . var_export($actual, true);
        }
    }

    /**
     * Sets $CFG to exactly these properties.
     *
     * @param array $values property => value
     */
    function cfg(array $values): void {
        global $CFG;
        $CFG = (object) $values;
    }

    // Secrets: every occurrence, and its base64 form, become [secret].
    cfg(['smtppass' => 'Tr0ub4dor', 'messageinbound_hostpass' => 'imap-pw-77']);
    same('smtppass is replaced everywhere',
        'AUTH failed for [secret] (again: [secret])',
        redaction::redact('AUTH failed for Tr0ub4dor (again: Tr0ub4dor)'));
    same('base64 of smtppass is replaced',
        'AUTH PLAIN [secret] rejected',
        redaction::redact('AUTH PLAIN ' . base64_encode('Tr0ub4dor') . ' rejected'));
    same('messageinbound_hostpass is replaced',
        'IMAP login [secret]',
        redaction::redact('IMAP login imap-pw-77'));
    same('text without secrets or addresses is unchanged',
        'SMTP connect() failed.',
        redaction::redact('SMTP connect() failed.'));

    // A secret shorter than 4 characters would redact common text; 4 is the shortest replaced.
    cfg(['smtppass' => 'abc']);
    same('3-character secret is left alone', 'abc abcd', redaction::redact('abc abcd'));
    cfg(['smtppass' => 'abcd']);
    same('4-character secret is replaced', 'abc [secret]', redaction::redact('abc abcd'));
    cfg(['smtppass' => '']);
    same('empty secret replaces nothing', 'x y', redaction::redact('x y'));
    cfg([]);
    same('unset secrets replace nothing', 'pass: hunter2', redaction::redact('pass: hunter2'));

    // Addresses keep only their (lowercased) domain.
    same('address local parts are hidden',
        'Recipient …@example.org rejected; from …@moodle.example.edu',
        redaction::redact('Recipient Jane.Doe+x@Example.ORG rejected; from noreply@moodle.example.edu'));
    same('address in angle brackets',
        'RCPT TO:<…@students.example.edu> 550',
        redaction::redact('RCPT TO:<s1234567@students.example.edu> 550'));
    cfg(['smtppass' => 'Tr0ub4dor']);
    same('secret and address in one text',
        '[secret] sent to …@example.org',
        redaction::redact('Tr0ub4dor sent to bob@example.org'));

    same('first_email_domain finds the first address', 'example.org',
        redaction::first_email_domain('to Bob@Example.org and amy@other.example'));
    same('first_email_domain without an address', '', redaction::first_email_domain('no address'));
    same('email_domain lowercases the part after the last @', 'moodle.example.edu',
        mail_settings::email_domain('a@b@Moodle.Example.EDU '));
    same('email_domain without @', '', mail_settings::email_domain('noreply'));

    same('to_string of null', '', mail_settings::to_string(null));
    same('to_string of true', '1', mail_settings::to_string(true));
    same('to_string of false', '', mail_settings::to_string(false));
    same('to_string of 25', '25', mail_settings::to_string(25));

    // Secrets are reported as set or not, never by value.
    cfg(['smtppass' => 'Tr0ub4dor', 'messageinbound_hostpass' => '']);
    same('secrets say only whether they are set',
        [['name' => 'smtppass', 'isset' => true], ['name' => 'messageinbound_hostpass', 'isset' => false]],
        mail_settings::get_secrets());
    $names = array_column(mail_settings::get_settings(), 'name');
    same('no secret is among the reported settings', [], array_values(array_intersect($names, mail_settings::SECRETS)));

    cfg(['wwwroot' => 'https://moodle.example.edu', 'noreplyaddress' => '',
        'allowedemaildomains' => "Example.edu\n*.example.org\n.example.net\n\nexample.edu"]);
    same('dkim_domains: default noreply domain, plain allowed domains, once each',
        ['moodle.example.edu', 'example.edu'], mail_settings::dkim_domains());

    if ($failures) {
        fwrite(STDERR, count($failures) . " of $count plugin checks failed:\n  " . implode("\n  ", $failures) . "\n");
        exit(1);
    }
    echo "$count plugin checks passed\n";
}
