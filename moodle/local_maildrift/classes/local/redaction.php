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
 * Strips secrets and the personal part of email addresses from free-form mailer texts.
 *
 * Mailer errors (PHPMailer's ErrorInfo, SMTP replies) quote recipient addresses in many shapes:
 * plain, in angle brackets, with a quoted local part ("john doe"@x), with non-ASCII letters,
 * percent-encoded (john%40x, j%C3%B6hn@x) or HTML-escaped (&lt;john@x&gt;, john&#64;x).
 * Every such address becomes '…@domain': the domain is kept because it says which receiving
 * system failed; the local part names a person and never survives.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class redaction {

    /**
     * An address: local part, an at sign in any encoding, domain (captured as 'domain').
     *
     * The local part is either a quoted string or a run of anything that cannot delimit an
     * address in an error text (deliberately wider than RFC 5322 so that nothing of an odd
     * local part is left behind). The domain is a run of the same kind or an [address literal].
     */
    const ADDRESS = '/(?:"(?:[^"\\\\\\r\\n]|\\\\.)*"|[^\\s<>()\\[\\]\\\\,;:@"]+)(?:@|%40|&#0*64;|&#x0*40;)'
        . '(?<domain>\\[[^\\]\\s]*\\]|[^\\s<>()\\[\\]{}\\\\,;:@"\'`|&%=]+)/iu';

    /**
     * Remove everything secret or personal from a free-form error text.
     *
     * @param string $text error text, e.g. PHPMailer's ErrorInfo
     * @return string
     */
    public static function redact(string $text): string {
        global $CFG;

        $text = self::valid_utf8($text);
        foreach (mail_settings::SECRETS as $name) {
            $secret = mail_settings::to_string($CFG->$name ?? '');
            if (strlen($secret) >= 4) {
                $text = str_replace([$secret, base64_encode($secret), rawurlencode($secret)], '[secret]', $text);
            }
        }
        // A quoted display name ("Jane Smith" <jane@…>) is as personal as the local part.
        $text = preg_replace('/"(?:[^"\\\\\\r\\n]|\\\\.)*"\\s*(?=<)/u', '', $text);
        $result = $text === null ? null : preg_replace_callback(self::ADDRESS, function(array $m): string {
            [$domain, $rest] = self::split_domain($m['domain']);
            return '…@' . $domain . $rest;
        }, $text);
        // Null only on a PCRE failure (e.g. backtrack limit): then withhold the text rather than return it raw.
        return $result ?? '[error text withheld: it could not be checked for addresses]';
    }

    /**
     * The domain of the first email address in a text ('' when there is none).
     *
     * @param string $text free-form text
     * @return string
     */
    public static function first_email_domain(string $text): string {
        if (preg_match(self::ADDRESS, self::valid_utf8($text), $m)) {
            return self::split_domain($m['domain'])[0];
        }
        return '';
    }

    /**
     * Split sentence punctuation (a final '.', as in "to john@example.org.") off a matched domain.
     *
     * @param string $domain matched domain
     * @return string[] lowercased domain and the trailing text to keep
     */
    protected static function split_domain(string $domain): array {
        $trimmed = rtrim($domain, '.!?');
        return [\core_text::strtolower($trimmed), substr($domain, strlen($trimmed))];
    }

    /**
     * The text with invalid UTF-8 sequences replaced, so that the /u patterns can run on it.
     *
     * @param string $text any bytes
     * @return string
     */
    protected static function valid_utf8(string $text): string {
        return mb_check_encoding($text, 'UTF-8') ? $text : mb_convert_encoding($text, 'UTF-8', 'UTF-8');
    }
}
