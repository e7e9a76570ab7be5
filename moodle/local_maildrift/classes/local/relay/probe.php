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
 * Probes the relays in smtphosts as Moodle's mailer would reach them, without sending mail.
 *
 * Per relay: connect, greeting, EHLO, STARTTLS or implicit TLS as configured, EHLO again, QUIT.
 * The first TLS handshake accepts any certificate so that its facts can be reported; a second
 * connection repeats it with the checks PHPMailer applies by default (peer verification with
 * PHP's CA store, host name) to say whether Moodle's own handshake would succeed. When the
 * configured mode fails at the start, one more connection tries the other mode, so a TLS mode
 * mismatch is told apart from a dead relay. No AUTH, MAIL or RCPT command is ever sent.
 *
 * Moodle-independent on purpose: tests run it with php-cli against real SMTP servers.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class probe {

    /** Most relays probed from one smtphosts value. */
    const MAX_HOSTS = 5;

    /** @var string EHLO name */
    private $ehloname;
    /** @var float */
    private $connecttimeout;
    /** @var float */
    private $readtimeout;

    /**
     * Constructor.
     *
     * @param string $ehloname name sent with EHLO (what Moodle's mailer would send)
     * @param float $connecttimeout seconds to wait for the TCP connection
     * @param float $readtimeout seconds to wait for each reply or handshake
     */
    public function __construct(string $ehloname, float $connecttimeout = 5.0, float $readtimeout = 5.0) {
        $this->ehloname = $ehloname;
        $this->connecttimeout = $connecttimeout;
        $this->readtimeout = $readtimeout;
    }

    /**
     * Probes every relay of smtphosts, in order (at most MAX_HOSTS).
     *
     * @param string $smtphosts
     * @param string $smtpsecure
     * @return array[] one result per relay, see probe_host()
     */
    public function run(string $smtphosts, string $smtpsecure): array {
        $out = [];
        $deadline = microtime(true) + $this->budget();
        foreach (array_slice(hosts::parse($smtphosts, $smtpsecure), 0, self::MAX_HOSTS) as $relay) {
            if (microtime(true) > $deadline) {
                // The caller's web request must end before the client gives up on it.
                $skipped = $this->probe_host(['valid' => false] + $relay);
                $skipped['stage'] = 'budget';
                $skipped['error'] = 'not probed: the relays before it used up the probe\'s time';
                $out[] = $skipped;
                continue;
            }
            $out[] = $this->probe_host($relay);
        }
        return $out;
    }

    /**
     * Seconds after which no further relay is started: one dead relay's worth (connection,
     * greeting, the other mode's handshake), so the whole probe stays within twice that.
     *
     * @return float
     */
    private function budget(): float {
        return $this->connecttimeout + 2 * $this->readtimeout;
    }

    /**
     * Probes one relay.
     *
     * @param array $relay one entry of hosts::parse()
     * @return array the facts; every key is always present
     */
    public function probe_host(array $relay): array {
        $started = microtime(true);
        $result = [
            'entry' => smtp_session::printable($relay['entry']),
            'host' => $relay['host'],
            'port' => $relay['port'],
            'mode' => $relay['mode'],
            'reachable' => false,
            'stage' => '',
            'error' => '',
            'address' => '',
            'ehloname' => $this->ehloname,
            'greeting' => '',
            'starttlsoffered' => false,
            'extensions' => [],
            'authmechanisms' => [],
            'portspeaks' => '',
            'tls' => ['protocol' => '', 'cipher' => '', 'bits' => 0],
            'cert' => [
                'present' => false, 'subject' => '', 'issuer' => '', 'sans' => [], 'validfrom' => 0,
                'validto' => 0, 'namematches' => false, 'verified' => false, 'verifyerror' => '',
            ],
            'durationms' => 0,
        ];
        if (!$relay['valid']) {
            $result['stage'] = 'invalidhost';
            $result['error'] = 'Moodle\'s mailer skips this entry: not a host name, IPv4 address or [IPv6] address';
            return $result;
        }

        $facts = [
            'verify_peer' => false, 'verify_peer_name' => false, 'allow_self_signed' => true,
            'capture_peer_cert' => true, 'SNI_enabled' => true, 'peer_name' => $relay['host'],
        ];
        try {
            $session = $this->session($relay, $facts, $result);
            $result['reachable'] = true;
            $crypto = $session->crypto();
            if ($crypto) {
                $result['tls'] = [
                    'protocol' => (string) ($crypto['protocol'] ?? ''),
                    'cipher' => (string) ($crypto['cipher_name'] ?? ''),
                    'bits' => (int) ($crypto['cipher_bits'] ?? 0),
                ];
                $result['cert'] = self::certificate($session->peer_certificate(), $relay['host']) + $result['cert'];
            }
            $session->close();
        } catch (probe_failure $e) {
            $result['stage'] = $result['stage'] === '' ? $e->stage : $result['stage'];
            $result['error'] = $e->getMessage();
            // Reachable means an SMTP server answered; what failed after that is in stage.
            $result['reachable'] = $result['greeting'] !== '';
            if ($e->stage === 'connect') {
                $result['durationms'] = (int) round((microtime(true) - $started) * 1000);
                return $result;
            }
            if (!$result['reachable'] && $result['greeting'] === '') {
                $result['portspeaks'] = $this->other_mode($relay);
            }
        }

        if ($result['cert']['present']) {
            $strict = [
                'verify_peer' => true, 'verify_peer_name' => true, 'allow_self_signed' => false,
                'SNI_enabled' => true, 'peer_name' => $relay['host'],
            ];
            $ignored = $result;
            try {
                $this->session($relay, $strict, $ignored)->close();
                $result['cert']['verified'] = true;
            } catch (probe_failure $e) {
                $result['cert']['verifyerror'] = $e->getMessage();
            }
        }
        $result['durationms'] = (int) round((microtime(true) - $started) * 1000);
        return $result;
    }

    /**
     * Opens a session in the relay's mode and brings it to the state Moodle authenticates in:
     * greeting read, EHLO done, TLS negotiated as configured and EHLO repeated.
     *
     * @param array $relay
     * @param array $ssl context options for the TLS handshake
     * @param array $result facts are written here as they are learnt
     * @return smtp_session
     * @throws probe_failure
     */
    private function session(array $relay, array $ssl, array &$result): smtp_session {
        $implicit = $relay['mode'] === hosts::MODE_IMPLICIT;
        $session = smtp_session::open($relay['host'], $relay['port'], $implicit, $ssl,
            $this->connecttimeout, $this->readtimeout);
        try {
            $result['address'] = $session->peer_address();
            [$code, $texts] = $session->read_reply();
            $result['greeting'] = "$code " . ($texts[0] ?? '');
            if ($code !== 220) {
                $result['stage'] = 'greeting';
                throw new probe_failure('greeting', "the relay refused the session: {$result['greeting']}");
            }
            $this->hello($session, $result);
            if ($relay['mode'] === hosts::MODE_STARTTLS) {
                $result['starttlsoffered'] = in_array('STARTTLS', self::keywords($result['extensions']), true);
                if (!$result['starttlsoffered']) {
                    $result['stage'] = 'starttls';
                    throw new probe_failure('starttls', 'the relay does not offer STARTTLS');
                }
                [$code, $texts] = $session->command('STARTTLS');
                if ($code !== 220) {
                    $result['stage'] = 'starttls';
                    throw new probe_failure('starttls', "STARTTLS refused: $code " . ($texts[0] ?? ''));
                }
                $session->enable_tls($ssl);
                $this->hello($session, $result);
            } else if (!$implicit) {
                $result['starttlsoffered'] = in_array('STARTTLS', self::keywords($result['extensions']), true);
            }
            return $session;
        } catch (probe_failure $e) {
            // After a timeout or a broken handshake there is no session to QUIT.
            $session->close(!in_array($e->stage, ['reply', 'tls'], true));
            throw $e;
        }
    }

    /**
     * EHLO (HELO when the relay rejects EHLO, as PHPMailer does); records the extensions.
     *
     * @param smtp_session $session
     * @param array $result
     * @throws probe_failure
     */
    private function hello(smtp_session $session, array &$result): void {
        [$code, $texts] = $session->command('EHLO ' . $this->ehloname);
        if ($code === 250) {
            $result['extensions'] = array_values(array_slice($texts, 1));
        } else {
            [$code, $texts] = $session->command('HELO ' . $this->ehloname);
            if ($code !== 250) {
                $result['stage'] = 'ehlo';
                throw new probe_failure('ehlo', "EHLO and HELO refused: $code " . ($texts[0] ?? ''));
            }
            $result['extensions'] = [];
        }
        $result['authmechanisms'] = [];
        foreach ($result['extensions'] as $line) {
            if (preg_match('/^AUTH[ =](.*)$/i', $line, $m)) {
                foreach (preg_split('/\s+/', trim($m[1])) as $mech) {
                    if ($mech !== '' && !in_array(strtoupper($mech), $result['authmechanisms'], true)) {
                        $result['authmechanisms'][] = strtoupper($mech);
                    }
                }
            }
        }
    }

    /**
     * What the port speaks when the configured mode could not even start: 'tls' when a TLS
     * handshake succeeds where plain SMTP was expected, 'smtp' when a 220 greeting comes where
     * TLS was expected, '' when neither.
     *
     * @param array $relay
     * @return string
     */
    private function other_mode(array $relay): string {
        $implicit = $relay['mode'] === hosts::MODE_IMPLICIT;
        $ssl = ['verify_peer' => false, 'verify_peer_name' => false, 'allow_self_signed' => true,
            'SNI_enabled' => true, 'peer_name' => $relay['host']];
        try {
            $session = smtp_session::open($relay['host'], $relay['port'], !$implicit, $ssl,
                $this->connecttimeout, $this->readtimeout);
        } catch (probe_failure $e) {
            return '';
        }
        try {
            if (!$implicit) {
                return 'tls';
            }
            [$code] = $session->read_reply();
            return $code === 220 ? 'smtp' : '';
        } catch (probe_failure $e) {
            return '';
        } finally {
            $session->close(false);
        }
    }

    /**
     * Upper-case keywords of EHLO extension lines ("SIZE 1000" -> "SIZE").
     *
     * @param string[] $lines
     * @return string[]
     */
    public static function keywords(array $lines): array {
        return array_map(function (string $l): string {
            return strtoupper(preg_split('/[ =]/', $l, 2)[0]);
        }, $lines);
    }

    /**
     * Facts of the leaf certificate.
     *
     * @param \OpenSSLCertificate|resource|null $cert
     * @param string $host the name Moodle connects to
     * @return array
     */
    public static function certificate($cert, string $host): array {
        if (!$cert) {
            return [];
        }
        $info = openssl_x509_parse($cert, true);
        if (!is_array($info)) {
            return ['present' => true, 'subject' => '(unparseable certificate)'];
        }
        $sans = [];
        foreach (explode(',', (string) ($info['extensions']['subjectAltName'] ?? '')) as $san) {
            $san = trim($san);
            if (preg_match('/^(DNS|IP Address):(.+)$/', $san, $m)) {
                $sans[] = ($m[1] === 'DNS' ? 'DNS:' : 'IP:') . smtp_session::printable(trim($m[2]));
            }
        }
        $cn = (string) (is_array($info['subject']['CN'] ?? null) ? end($info['subject']['CN']) : ($info['subject']['CN'] ?? ''));
        return [
            'present' => true,
            'subject' => self::dn($info['subject'] ?? []),
            'issuer' => self::dn($info['issuer'] ?? []),
            'sans' => $sans,
            'validfrom' => (int) ($info['validFrom_time_t'] ?? 0),
            'validto' => (int) ($info['validTo_time_t'] ?? 0),
            'namematches' => self::name_matches($host, $sans, $cn),
        ];
    }

    /**
     * Whether the certificate names the host: IP SANs for an IP, else DNS SANs (one wildcard
     * allowed as the whole left-most label), the common name only when there are no DNS SANs.
     *
     * @param string $host
     * @param string[] $sans as returned by certificate()
     * @param string $cn
     * @return bool
     */
    public static function name_matches(string $host, array $sans, string $cn): bool {
        $host = strtolower(rtrim($host, '.'));
        if (filter_var($host, FILTER_VALIDATE_IP) !== false) {
            foreach ($sans as $san) {
                if (strncmp($san, 'IP:', 3) === 0 && inet_pton(substr($san, 3)) === inet_pton($host)) {
                    return true;
                }
            }
            return false;
        }
        $names = [];
        foreach ($sans as $san) {
            if (strncmp($san, 'DNS:', 4) === 0) {
                $names[] = strtolower(rtrim(substr($san, 4), '.'));
            }
        }
        if (!$names && $cn !== '') {
            $names[] = strtolower(rtrim($cn, '.'));
        }
        foreach ($names as $name) {
            if ($name === $host) {
                return true;
            }
            if (strncmp($name, '*.', 2) === 0 && substr_count($name, '.') >= 2) {
                $dot = strpos($host, '.');
                if ($dot !== false && $dot > 0 && substr($host, $dot) === substr($name, 1)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A distinguished name as one printable line, e.g. "CN=relay.example.org, O=Example".
     *
     * @param array $parts from openssl_x509_parse()
     * @return string
     */
    private static function dn(array $parts): string {
        $out = [];
        foreach ($parts as $key => $value) {
            foreach ((array) $value as $v) {
                $out[] = $key . '=' . $v;
            }
        }
        return smtp_session::printable(implode(', ', $out));
    }
}
