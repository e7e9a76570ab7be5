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
 * One SMTP conversation with a relay, bounded in time and size.
 *
 * Only the commands a probe needs exist here (EHLO, STARTTLS, QUIT): nothing in this class can
 * authenticate or send mail. Every read is capped, because the relay's answers are untrusted.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class smtp_session {

    /** Longest reply line kept (RFC 5321 allows 512 octets). */
    const MAX_LINE = 1000;
    /** Most lines of one multi-line reply read. */
    const MAX_LINES = 100;

    /** @var resource the socket */
    private $fp;
    /** @var float seconds each read may wait */
    private $readtimeout;

    /**
     * Wraps an open socket.
     *
     * @param resource $fp
     * @param float $readtimeout
     */
    private function __construct($fp, float $readtimeout) {
        $this->fp = $fp;
        $this->readtimeout = $readtimeout;
        $this->set_timeout($readtimeout);
    }

    /**
     * Opens a TCP connection; with $tls, negotiates TLS before anything is read (implicit TLS).
     *
     * @param string $host name or IP (IPv6 without brackets)
     * @param int $port
     * @param bool $tls implicit TLS
     * @param array $ssl stream context options for the ssl wrapper
     * @param float $connecttimeout
     * @param float $readtimeout
     * @return self
     * @throws probe_failure stage 'connect' or 'tls'
     */
    public static function open(string $host, int $port, bool $tls, array $ssl, float $connecttimeout,
            float $readtimeout): self {
        $target = filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6) !== false ? "[$host]" : $host;
        $context = stream_context_create(['ssl' => $ssl]);
        $errno = 0;
        $errstr = '';
        $fp = @stream_socket_client("tcp://$target:$port", $errno, $errstr, $connecttimeout,
            STREAM_CLIENT_CONNECT, $context);
        if (!$fp) {
            $why = $errstr !== '' ? $errstr : 'connection failed';
            throw new probe_failure('connect', "$why (errno $errno)");
        }
        $session = new self($fp, $readtimeout);
        if ($tls) {
            $session->enable_tls($ssl);
        }
        return $session;
    }

    /**
     * The peer's address as seen by the socket, without port.
     *
     * @return string
     */
    public function peer_address(): string {
        $name = (string) @stream_socket_get_name($this->fp, true);
        // IPv4 "a.b.c.d:port"; IPv6 "addr:port" (PHP prints it without brackets).
        $cut = strrpos($name, ':');
        return $cut === false ? $name : trim(substr($name, 0, $cut), '[]');
    }

    /**
     * Reads one reply, possibly multi-line.
     *
     * @return array [int code, string[] texts after the code]
     * @throws probe_failure stage 'reply' on timeout, close or a line that is not a reply
     */
    public function read_reply(): array {
        $texts = [];
        for ($i = 0; $i < self::MAX_LINES; $i++) {
            $line = @fgets($this->fp, self::MAX_LINE);
            if ($line === false || $line === '') {
                $meta = stream_get_meta_data($this->fp);
                if (!empty($meta['timed_out'])) {
                    throw new probe_failure('reply', sprintf('no answer within %.1f s', $this->readtimeout));
                }
                throw new probe_failure('reply', 'the relay closed the connection');
            }
            if (!preg_match('/^(\d{3})([ -]?)(.*)$/s', rtrim($line, "\r\n"), $m)) {
                throw new probe_failure('reply', 'the relay answered something that is not SMTP: ' . self::printable($line));
            }
            $texts[] = self::printable($m[3]);
            if ($m[2] !== '-') {
                return [(int) $m[1], $texts];
            }
        }
        throw new probe_failure('reply', 'the relay sent an endless multi-line reply');
    }

    /**
     * Sends one command line and reads its reply.
     *
     * @param string $command without CRLF
     * @return array as read_reply()
     * @throws probe_failure
     */
    public function command(string $command): array {
        if (@fwrite($this->fp, $command . "\r\n") === false) {
            throw new probe_failure('reply', 'the relay closed the connection');
        }
        return $this->read_reply();
    }

    /**
     * Negotiates TLS on the open connection (after STARTTLS, or at once for implicit TLS).
     *
     * @param array $ssl stream context options for the ssl wrapper
     * @throws probe_failure stage 'tls'
     */
    public function enable_tls(array $ssl): void {
        foreach ($ssl as $name => $value) {
            stream_context_set_option($this->fp, 'ssl', $name, $value);
        }
        // The methods PHPMailer asks for, so the negotiated version is the one Moodle gets.
        $method = STREAM_CRYPTO_METHOD_TLS_CLIENT;
        if (defined('STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT')) {
            $method |= STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT | STREAM_CRYPTO_METHOD_TLSv1_1_CLIENT;
        }
        $error = '';
        set_error_handler(function (int $errno, string $message) use (&$error): bool {
            $error = $error === '' ? $message : "$error; $message";
            return true;
        });
        try {
            $ok = stream_socket_enable_crypto($this->fp, true, $method);
        } finally {
            restore_error_handler();
        }
        if ($ok !== true) {
            $meta = stream_get_meta_data($this->fp);
            if (!empty($meta['timed_out'])) {
                $error = sprintf('no TLS handshake within %.1f s', $this->readtimeout);
            }
            $error = preg_replace('/^stream_socket_enable_crypto\(\): /', '', $error);
            throw new probe_failure('tls', $error !== '' ? self::printable($error) : 'TLS handshake failed');
        }
    }

    /**
     * The negotiated TLS parameters (stream_get_meta_data()['crypto']), empty without TLS.
     *
     * @return array protocol, cipher_name, cipher_bits, cipher_version
     */
    public function crypto(): array {
        $meta = stream_get_meta_data($this->fp);
        return $meta['crypto'] ?? [];
    }

    /**
     * The certificate captured during the handshake (capture_peer_cert), or null.
     *
     * @return \OpenSSLCertificate|resource|null
     */
    public function peer_certificate() {
        $params = stream_context_get_params($this->fp);
        return $params['options']['ssl']['peer_certificate'] ?? null;
    }

    /**
     * Closes the connection, saying QUIT first when the session is in order ($quit); a relay
     * that stopped answering is not waited for again. Safe to call twice.
     *
     * @param bool $quit
     */
    public function close(bool $quit = true): void {
        if (is_resource($this->fp)) {
            if ($quit) {
                $this->set_timeout(min($this->readtimeout, 1.0));
                @fwrite($this->fp, "QUIT\r\n");
                @fgets($this->fp, self::MAX_LINE);
            }
            @fclose($this->fp);
        }
    }

    /**
     * Applies a read timeout to the socket.
     *
     * @param float $seconds
     */
    private function set_timeout(float $seconds): void {
        $whole = (int) floor($seconds);
        stream_set_timeout($this->fp, $whole, (int) (($seconds - $whole) * 1000000));
    }

    /**
     * Untrusted relay text reduced to printable ASCII of bounded length.
     *
     * @param string $text
     * @return string
     */
    public static function printable(string $text): string {
        $text = preg_replace('/[^\x20-\x7e]/', '?', trim(preg_replace('/\s+/', ' ', $text)));
        return strlen($text) > 200 ? substr($text, 0, 200) . '...' : $text;
    }
}
