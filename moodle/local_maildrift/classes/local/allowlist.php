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
 * The admin-set list of addresses and domains that may receive a maildrift test message.
 *
 * One entry per line in the plugin setting testmailallowlist; blank lines and lines starting
 * with '#' are ignored, matching is case-insensitive:
 * - 'user@example.org': exactly that address;
 * - 'example.org' or '@example.org': any address at exactly that domain;
 * - '*.example.org': any address at a subdomain of example.org (not example.org itself).
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class allowlist {

    /** Name of the plugin setting holding the list. */
    const SETTING = 'testmailallowlist';

    /** @var string[] normalised entries */
    protected $entries;

    /**
     * Build from the text of the setting.
     *
     * @param string $text one entry per line
     */
    public function __construct(string $text) {
        $this->entries = [];
        foreach (preg_split('/\R/', $text) as $line) {
            $line = \core_text::strtolower(trim($line));
            if ($line === '' || $line[0] === '#') {
                continue;
            }
            if ($line[0] === '@') {
                $line = substr($line, 1);
            }
            if ($line !== '') {
                $this->entries[] = $line;
            }
        }
    }

    /**
     * Entries that can never match: neither an address nor a domain (typos such as 'example org').
     *
     * @return string[] the offending entries as normalised
     */
    public function invalid_entries(): array {
        $invalid = [];
        foreach ($this->entries as $entry) {
            if (strpos($entry, '@') !== false) {
                $ok = (bool) validate_email($entry);
            } else {
                $domain = strpos($entry, '*.') === 0 ? substr($entry, 2) : $entry;
                $ok = \core\ip_utils::is_domain_name($domain);
            }
            if (!$ok) {
                $invalid[] = $entry;
            }
        }
        return $invalid;
    }

    /**
     * The list as configured on this site.
     *
     * @return self
     */
    public static function from_config(): self {
        return new self((string) get_config('local_maildrift', self::SETTING));
    }

    /**
     * Whether the list has no entry (then no test message may be sent at all).
     *
     * @return bool
     */
    public function is_empty(): bool {
        return !$this->entries;
    }

    /**
     * Whether an address may receive a test message.
     *
     * @param string $email a syntactically valid address
     * @return bool
     */
    public function allows(string $email): bool {
        $email = \core_text::strtolower(trim($email));
        $domain = mail_settings::email_domain($email);
        if ($domain === '') {
            return false;
        }
        foreach ($this->entries as $entry) {
            if (strpos($entry, '@') !== false) {
                if ($entry === $email) {
                    return true;
                }
            } else if (strpos($entry, '*.') === 0) {
                $suffix = substr($entry, 1);
                if (strlen($domain) > strlen($suffix) && substr($domain, -strlen($suffix)) === $suffix) {
                    return true;
                }
            } else if ($entry === $domain) {
                return true;
            }
        }
        return false;
    }
}
