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

namespace local_maildrift\external;

defined('MOODLE_INTERNAL') || die();

use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use core_external\external_warnings;
use local_maildrift\local\relay\oauth_state;
use local_maildrift\local\relay\probe;

/**
 * local_maildrift_probe_relay: what each relay in smtphosts offers, seen from this server.
 *
 * Connects the way Moodle's mailer does (host, port, TLS mode from smtphosts and smtpsecure),
 * reads the greeting and EHLO, negotiates TLS as configured and quits. Never authenticates and
 * never sends mail. Answers are cached for CACHE_SECONDS so the function cannot be used to
 * hammer the relay.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class probe_relay extends external_api {

    /** How long an answer is reused. */
    const CACHE_SECONDS = 60;
    /** Seconds for the TCP connection and for each reply or handshake. */
    const TIMEOUT = 4.0;

    /**
     * Parameters: none.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Probe the relays, or return the cached answer for the same settings.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;

        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/maildrift:viewconfig', $context);

        $smtphosts = (string) ($CFG->smtphosts ?? '');
        $smtpsecure = (string) ($CFG->smtpsecure ?? '');
        $authtype = (string) ($CFG->smtpauthtype ?? '');
        $oauthservice = (string) ($CFG->smtpoauthservice ?? '');
        $now = time();

        $cache = \cache::make('local_maildrift', 'relayprobe');
        $key = sha1(json_encode([$smtphosts, $smtpsecure]));
        $cached = $cache->get($key);
        $fromcache = is_array($cached) && $cached['probedat'] > $now - self::CACHE_SECONDS && $cached['probedat'] <= $now;
        if ($fromcache) {
            $relays = $cached['relays'];
            $probedat = $cached['probedat'];
        } else {
            // 'qmail' and '' mean Moodle does not use SMTP at all: nothing to probe.
            $relays = ($smtphosts === '' || $smtphosts === 'qmail')
                ? []
                : (new probe(self::ehlo_name(), self::TIMEOUT, self::TIMEOUT))->run($smtphosts, $smtpsecure);
            $probedat = $now;
            $cache->set($key, ['probedat' => $probedat, 'relays' => $relays]);
        }

        return [
            'generatedat' => $now,
            'probedat' => $probedat,
            'cached' => $fromcache,
            'smtphosts' => $smtphosts,
            'smtpsecure' => $smtpsecure,
            'smtpauthtype' => $authtype,
            'smtpuserset' => !empty($CFG->smtpuser),
            'relays' => $relays,
            'oauth' => oauth_state::read($authtype, $oauthservice),
            'warnings' => [],
        ];
    }

    /**
     * The EHLO name Moodle's mailer uses when cron sends mail: PHPMailer without Hostname
     * falls back to the server's host name, and to localhost.localdomain when that is invalid.
     *
     * @return string
     */
    protected static function ehlo_name(): string {
        $name = (string) gethostname();
        if (class_exists(\PHPMailer\PHPMailer\PHPMailer::class)) {
            $valid = \PHPMailer\PHPMailer\PHPMailer::isValidHost($name);
        } else {
            $valid = \local_maildrift\local\relay\hosts::valid_host($name);
        }
        return $valid ? $name : 'localhost.localdomain';
    }

    /**
     * Returns.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'generatedat' => new external_value(PARAM_INT, 'Server time of this answer'),
            'probedat' => new external_value(PARAM_INT, 'When the relays were probed (answers are reused for a minute)'),
            'cached' => new external_value(PARAM_BOOL, 'Whether the relay facts come from an earlier probe'),
            'smtphosts' => new external_value(PARAM_RAW, 'smtphosts as configured'),
            'smtpsecure' => new external_value(PARAM_RAW, 'smtpsecure as configured'),
            'smtpauthtype' => new external_value(PARAM_RAW, 'smtpauthtype as configured'),
            'smtpuserset' => new external_value(PARAM_BOOL, 'Whether smtpuser is set (Moodle then authenticates)'),
            'relays' => new external_multiple_structure(self::relay_structure(), 'One entry per relay in smtphosts'),
            'oauth' => new external_single_structure([
                'checked' => new external_value(PARAM_BOOL, 'Whether smtpauthtype is XOAUTH2 (else the rest is empty)'),
                'serviceid' => new external_value(PARAM_INT, 'smtpoauthservice'),
                'exists' => new external_value(PARAM_BOOL, 'Whether that issuer exists'),
                'name' => new external_value(PARAM_RAW, 'Issuer name'),
                'enabled' => new external_value(PARAM_BOOL, 'Whether the issuer is enabled'),
                'configured' => new external_value(PARAM_BOOL, 'Whether the issuer has its endpoints and client'),
                'connected' => new external_value(PARAM_BOOL, 'Whether a system account is connected with all scopes'),
                'accountmodified' => new external_value(PARAM_INT,
                    'Last change of the system account (refresh token renewal), 0 if none'),
                'tokenexpires' => new external_value(PARAM_INT, 'Expiry of the stored access token, 0 if none'),
                'tokenmodified' => new external_value(PARAM_INT, 'When the stored access token was issued, 0 if none'),
                'refreshlastrun' => new external_value(PARAM_INT, 'Last run of the system token refresh task'),
                'refreshfailing' => new external_value(PARAM_BOOL, 'Whether the system token refresh task is failing'),
            ], 'OAuth 2 issuer used for XOAUTH2; never a token'),
            'warnings' => new external_warnings(),
        ]);
    }

    /**
     * One relay's facts.
     *
     * @return external_single_structure
     */
    protected static function relay_structure(): external_single_structure {
        return new external_single_structure([
            'entry' => new external_value(PARAM_RAW, 'The smtphosts entry'),
            'host' => new external_value(PARAM_RAW, 'Host name or IP connected to'),
            'port' => new external_value(PARAM_INT, 'Port (25 when the entry has none, as in Moodle)'),
            'mode' => new external_value(PARAM_ALPHA, 'none, starttls or implicit'),
            'reachable' => new external_value(PARAM_BOOL, 'Whether an SMTP server answered'),
            'stage' => new external_value(PARAM_ALPHA,
                'Where the probe stopped: connect, reply, greeting, ehlo, starttls, tls, invalidhost; ' .
                'budget when it was not probed for lack of time; empty when nothing failed'),
            'error' => new external_value(PARAM_RAW, 'Why, empty when nothing failed'),
            'address' => new external_value(PARAM_RAW, 'IP address connected to'),
            'ehloname' => new external_value(PARAM_RAW, 'Name sent with EHLO'),
            'greeting' => new external_value(PARAM_RAW, 'The relay\'s greeting'),
            'starttlsoffered' => new external_value(PARAM_BOOL, 'Whether the first EHLO offered STARTTLS'),
            'extensions' => new external_multiple_structure(new external_value(PARAM_RAW, 'EHLO line'),
                'Extensions of the last EHLO (after TLS when TLS is used)'),
            'authmechanisms' => new external_multiple_structure(new external_value(PARAM_RAW, 'Mechanism'),
                'AUTH mechanisms of the last EHLO'),
            'portspeaks' => new external_value(PARAM_ALPHA,
                'When the configured mode failed at once: smtp or tls if the other mode worked'),
            'tls' => new external_single_structure([
                'protocol' => new external_value(PARAM_RAW, 'e.g. TLSv1.3, empty without TLS'),
                'cipher' => new external_value(PARAM_RAW, 'Cipher name'),
                'bits' => new external_value(PARAM_INT, 'Cipher bits'),
            ]),
            'cert' => new external_single_structure([
                'present' => new external_value(PARAM_BOOL, 'Whether a certificate was seen'),
                'subject' => new external_value(PARAM_RAW, 'Subject'),
                'issuer' => new external_value(PARAM_RAW, 'Issuer'),
                'sans' => new external_multiple_structure(new external_value(PARAM_RAW, 'DNS:name or IP:address')),
                'validfrom' => new external_value(PARAM_INT, 'Not before'),
                'validto' => new external_value(PARAM_INT, 'Not after'),
                'namematches' => new external_value(PARAM_BOOL, 'Whether it names the host'),
                'verified' => new external_value(PARAM_BOOL,
                    'Whether a handshake with PHP\'s CA store and host name check succeeds, as Moodle\'s would'),
                'verifyerror' => new external_value(PARAM_RAW, 'Why that handshake failed'),
            ]),
            'durationms' => new external_value(PARAM_INT, 'Time the probe took'),
        ]);
    }
}
