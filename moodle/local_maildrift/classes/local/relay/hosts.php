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
 * Reads smtphosts and smtpsecure the way Moodle's mailer (PHPMailer) does.
 *
 * PHPMailer splits Host on ';', accepts an optional ssl:// or tls:// prefix per entry that
 * overrides SMTPSecure, and uses port 25 when an entry has none (Moodle never sets Port).
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class hosts {

    /** Plain SMTP, no TLS. */
    const MODE_NONE = 'none';
    /** Plain connection upgraded with STARTTLS (smtpsecure = tls). */
    const MODE_STARTTLS = 'starttls';
    /** TLS from the first byte (smtpsecure = ssl). */
    const MODE_IMPLICIT = 'implicit';

    /** PHPMailer's default port; Moodle does not change it. */
    const DEFAULT_PORT = 25;

    /**
     * The relays Moodle would try, in order.
     *
     * @param string $smtphosts $CFG->smtphosts
     * @param string $smtpsecure $CFG->smtpsecure ('', 'tls' or 'ssl')
     * @return array[] each ['entry' => as written, 'host' => name or IP (IPv6 without brackets),
     *                 'port' => int, 'mode' => MODE_*, 'valid' => bool]
     */
    public static function parse(string $smtphosts, string $smtpsecure): array {
        $out = [];
        foreach (explode(';', $smtphosts) as $entry) {
            $entry = trim($entry);
            if ($entry === '') {
                continue;
            }
            if (!preg_match('/^(?:(ssl|tls):\/\/)?(.+?)(?::(\d+))?$/', $entry, $m)) {
                $out[] = ['entry' => $entry, 'host' => '', 'port' => 0, 'mode' => self::MODE_NONE, 'valid' => false];
                continue;
            }
            $prefix = $m[1];
            $host = $m[2];
            $port = self::DEFAULT_PORT;
            if (isset($m[3]) && is_numeric($m[3]) && (int) $m[3] > 0 && (int) $m[3] < 65536) {
                $port = (int) $m[3];
            }
            if ($prefix === 'ssl' || ($prefix === '' && $smtpsecure === 'ssl')) {
                $mode = self::MODE_IMPLICIT;
            } else if ($prefix === 'tls' || $smtpsecure === 'tls') {
                $mode = self::MODE_STARTTLS;
            } else {
                $mode = self::MODE_NONE;
            }
            $bare = (strlen($host) > 2 && $host[0] === '[' && substr($host, -1) === ']') ? substr($host, 1, -1) : $host;
            $out[] = [
                'entry' => $entry,
                'host' => $bare,
                'port' => $port,
                'mode' => $mode,
                'valid' => self::valid_host($host),
            ];
        }
        return $out;
    }

    /**
     * Whether PHPMailer would accept the host: a DNS name, an IPv4 address or a bracketed IPv6 address.
     *
     * @param string $host host as written in smtphosts
     * @return bool
     */
    public static function valid_host(string $host): bool {
        if ($host === '' || strlen($host) > 256) {
            return false;
        }
        if ($host[0] === '[' && substr($host, -1) === ']') {
            return filter_var(substr($host, 1, -1), FILTER_VALIDATE_IP, FILTER_FLAG_IPV6) !== false;
        }
        if (filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== false) {
            return true;
        }
        return (bool) preg_match('/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$/i', $host);
    }
}
