<?php
// This file is part of maildrift's tests.
// Runs local_maildrift's relay probe with php-cli, outside Moodle, and prints its answer as
// JSON: php relay_probe.php SMTPHOSTS SMTPSECURE TIMEOUT. The CA store is PHP's
// (openssl.cafile), as on a Moodle server.

define('MOODLE_INTERNAL', true);
$dir = __DIR__ . '/../../moodle/local_maildrift/classes/local/relay';
foreach (['probe_failure', 'hosts', 'smtp_session', 'probe'] as $class) {
    require_once("$dir/$class.php");
}
[, $smtphosts, $smtpsecure, $timeout] = $argv + [null, '', '', '3'];
$probe = new \local_maildrift\local\relay\probe('moodle.test', (float) $timeout, (float) $timeout);
echo json_encode(['relays' => $probe->run($smtphosts, $smtpsecure)], JSON_PRETTY_PRINT), "\n";
