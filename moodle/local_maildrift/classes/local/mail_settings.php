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
 * The outgoing-mail settings maildrift reports on, and helpers to read them.
 *
 * @package    local_maildrift
 * @copyright  2026 maildrift developers
 * @license    http://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class mail_settings {

    /**
     * Core settings returned by local_maildrift_get_mail_config, in this order.
     *
     * Secrets (smtppass, messageinbound_hostpass) are never in this list.
     */
    const SETTINGS = [
        'smtphosts',
        'smtpsecure',
        'smtpauthtype',
        'smtpoauthservice',
        'smtpuser',
        'smtpmaxbulk',
        'noreplyaddress',
        'allowedemaildomains',
        'divertallemailsto',
        'divertallemailsexcept',
        'emaildkimselector',
        'sitemailcharset',
        'allowusermailcharset',
        'allowattachments',
        'mailnewline',
        'emailfromvia',
        'emailsubjectprefix',
        'emailheaders',
        'noemailever',
        'handlebounces',
        'minbounces',
        'bounceratio',
        'maildomain',
        'mailprefix',
        'supportemail',
        'supportname',
        'messageinbound_enabled',
        'messageinbound_mailbox',
        'messageinbound_domain',
        'messageinbound_host',
        'messageinbound_hostssl',
        'messageinbound_hostoauth',
        'messageinbound_hostuser',
    ];

    /** Settings whose value is never returned, only whether they are set. */
    const SECRETS = [
        'smtppass',
        'messageinbound_hostpass',
    ];

    /**
     * Ad hoc task classes that send mail (directly or through message_send()).
     *
     * Stored in task_adhoc.classname with a leading backslash. Classes that
     * do not exist in an older Moodle release simply match no rows.
     */
    const MAIL_TASKS = [
        '\\core\\task\\send_login_notifications',
        '\\core_course\\task\\content_notification_task',
        '\\mod_forum\\task\\send_user_notifications',
        '\\mod_forum\\task\\send_user_digests',
        '\\mod_assign\\task\\send_assignment_due_soon_notification_to_user',
        '\\mod_assign\\task\\send_assignment_overdue_notification_to_user',
        '\\mod_assign\\task\\send_assignment_due_digest_notification_to_user',
        '\\mod_quiz\\task\\send_quiz_open_soon_notification_to_user',
        '\\mod_bigbluebuttonbn\\task\\send_notification',
        '\\tool_monitor\\notification_task',
    ];

    /**
     * A config value as a string, exactly as stored ('' when unset).
     *
     * @param mixed $value value from $CFG
     * @return string
     */
    public static function to_string($value): string {
        if ($value === null) {
            return '';
        }
        if (is_bool($value)) {
            return $value ? '1' : '';
        }
        if (is_scalar($value)) {
            return (string) $value;
        }
        // Only config.php can put a non-scalar here.
        return (string) json_encode($value);
    }

    /**
     * The reported settings.
     *
     * @return array[] list of [name, value, isset, forced]
     */
    public static function get_settings(): array {
        global $CFG;

        $forced = isset($CFG->config_php_settings) && is_array($CFG->config_php_settings) ? $CFG->config_php_settings : [];
        $result = [];
        foreach (self::SETTINGS as $name) {
            $isset = property_exists($CFG, $name);
            $result[] = [
                'name' => $name,
                'value' => $isset ? self::to_string($CFG->$name) : '',
                'isset' => $isset,
                'forced' => array_key_exists($name, $forced),
            ];
        }
        return $result;
    }

    /**
     * Whether each secret setting is set (non-empty). Values never leave this method.
     *
     * @return array[] list of [name, isset]
     */
    public static function get_secrets(): array {
        global $CFG;

        $result = [];
        foreach (self::SECRETS as $name) {
            $result[] = [
                'name' => $name,
                'isset' => isset($CFG->$name) && self::to_string($CFG->$name) !== '',
            ];
        }
        return $result;
    }

    /**
     * The domain part of an email address, lowercased ('' when there is none).
     *
     * @param string $email address
     * @return string
     */
    public static function email_domain(string $email): string {
        $at = strrpos($email, '@');
        if ($at === false) {
            return '';
        }
        return \core_text::strtolower(trim(substr($email, $at + 1)));
    }

    /**
     * Domains for which Moodle may sign with DKIM: the noreply domain (the default
     * one when noreplyaddress is empty) and the plain (non wildcard) entries of allowedemaildomains, lowercased, deduplicated.
     *
     * @return string[]
     */
    public static function dkim_domains(): array {
        global $CFG;

        // Like email_to_user(): an empty noreplyaddress means noreply@<host of wwwroot>.
        $noreply = self::to_string($CFG->noreplyaddress ?? '');
        if ($noreply === '') {
            $noreply = 'noreply@' . get_host_from_url($CFG->wwwroot);
        }
        $domains = [self::email_domain($noreply)];
        $allowed = self::to_string($CFG->allowedemaildomains ?? '');
        foreach (preg_split('/\R/', $allowed) as $entry) {
            $entry = \core_text::strtolower(trim($entry));
            if ($entry === '' || strpos($entry, '*.') === 0 || strpos($entry, '.') === 0) {
                continue;
            }
            $domains[] = $entry;
        }
        return array_values(array_unique(array_filter($domains, function($domain) {
            return $domain !== '';
        })));
    }

    /**
     * Whether a string is safe to use as one path component.
     *
     * @param string $name domain or selector
     * @return bool
     */
    protected static function is_safe_path_part(string $name): bool {
        return $name !== '' && $name !== '.' && $name !== '..' && preg_match('/^[A-Za-z0-9._-]+$/', $name) === 1;
    }

    /**
     * DKIM state for every domain from dkim_domains().
     *
     * The key path follows email_to_user(): $CFG->dataroot/dkim/<domain>/<selector>.private,
     * where <domain> is the domain of the From address.
     *
     * @param array $warnings warnings are appended here
     * @return array[] list of [domain, selector, keyfile, publickey]
     */
    public static function get_dkim(array &$warnings): array {
        global $CFG;

        $selector = self::to_string($CFG->emaildkimselector ?? '');
        $result = [];
        foreach (self::dkim_domains() as $domain) {
            $entry = [
                'domain' => $domain,
                'selector' => $selector,
                'keyfile' => false,
                'publickey' => '',
            ];
            if ($selector !== '') {
                if (!self::is_safe_path_part($domain) || !self::is_safe_path_part($selector)) {
                    $warnings[] = [
                        'item' => 'dkim',
                        'warningcode' => 'dkimbadname',
                        'message' => "Domain '{$domain}' or selector '{$selector}' cannot be used in a file path; key not checked.",
                    ];
                } else {
                    $path = "{$CFG->dataroot}/dkim/{$domain}/{$selector}.private";
                    $entry['keyfile'] = is_readable($path);
                    if ($entry['keyfile']) {
                        $entry['publickey'] = self::public_key($path);
                        if ($entry['publickey'] === '') {
                            $warnings[] = [
                                'item' => 'dkim',
                                'warningcode' => 'dkimkeyunreadable',
                                'message' => "The DKIM private key file for '{$domain}' exists but no public key "
                                    . "could be derived from it.",
                            ];
                        }
                    }
                }
            }
            $result[] = $entry;
        }
        return $result;
    }

    /**
     * Public key of a PEM private key file: base64 of the DER SubjectPublicKeyInfo.
     *
     * The private key itself never leaves this method.
     *
     * @param string $path private key file
     * @return string base64 without PEM armour or newlines, '' on any failure
     */
    public static function public_key(string $path): string {
        if (!function_exists('openssl_pkey_get_private')) {
            return '';
        }
        $pem = @file_get_contents($path);
        if ($pem === false || $pem === '') {
            return '';
        }
        $key = @openssl_pkey_get_private($pem);
        unset($pem);
        if ($key === false) {
            self::clear_openssl_errors();
            return '';
        }
        $details = openssl_pkey_get_details($key);
        unset($key);
        if (!is_array($details) || empty($details['key'])) {
            self::clear_openssl_errors();
            return '';
        }
        $lines = preg_split('/\R/', trim($details['key']));
        $body = '';
        foreach ($lines as $line) {
            $line = trim($line);
            if ($line === '' || strpos($line, '-----') === 0) {
                continue;
            }
            $body .= $line;
        }
        return $body;
    }

    /**
     * Drop queued OpenSSL error messages so they do not show up elsewhere.
     */
    protected static function clear_openssl_errors(): void {
        while (openssl_error_string() !== false) {
            // Nothing to do, just empty the queue.
            continue;
        }
    }
}
