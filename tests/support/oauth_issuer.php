<?php
// This file is part of maildrift's tests, not of the plugin: it makes (or updates) an OAuth 2
// issuer on a test site so the relay tests can read its XOAUTH2 state through the plugin.
// Run in the site's top folder: php /path/to/oauth_issuer.php --enabled=1|0
// Prints the issuer id. The issuer has a client but no connected system account.

define('CLI_SCRIPT', true);
require(getcwd() . '/config.php');
require_once($CFG->libdir . '/clilib.php');

[$options] = cli_get_params(['enabled' => '1'], []);
\core\session\manager::set_user(get_admin());

$name = 'maildrift relay test';
$issuer = \core\oauth2\issuer::get_record(['name' => $name]);
if (!$issuer) {
    // Created directly rather than through api::create_issuer(), which runs endpoint discovery.
    $issuer = new \core\oauth2\issuer(0, (object) [
        'name' => $name,
        'clientid' => 'maildrift-test-client',
        'clientsecret' => 'maildrift-test-secret',
        'baseurl' => '',
        'image' => '',
        'showonloginpage' => \core\oauth2\issuer::SMTPWITHXOAUTH2,
    ]);
    $issuer->create();
}
$issuer->set('enabled', (int) $options['enabled']);
$issuer->update();
echo $issuer->get('id'), "\n";
