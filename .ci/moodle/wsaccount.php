<?php
// This file is part of maildrift's CI, not of the plugin: it makes web service accounts on a
// test site so the end-to-end suite can try accounts the plugin's own setup command would not
// make (e.g. one that lacks a capability).
//
// This program is free software: you can redistribute it and/or modify it under the terms of
// the GNU General Public License as published by the Free Software Foundation, either version 3
// of the License, or (at your option) any later version.
//
// Run in the site's top folder: php /path/to/wsaccount.php --username=NAME --caps=CAP,CAP
// Creates (or reuses) a web-service-auth user, a role NAME holding exactly those capabilities
// (plus webservice/rest:use) at system level, authorises it on the maildrift service and prints
// a fresh permanent token on stdout.

define('CLI_SCRIPT', true);
require(getcwd() . '/config.php');
require_once($CFG->libdir . '/clilib.php');
require_once($CFG->dirroot . '/user/lib.php');

[$options, $unrecognised] = cli_get_params(['username' => '', 'caps' => ''], []);
if ($unrecognised || !preg_match('/^[a-z][a-z0-9_]*$/', $options['username'])) {
    cli_error('usage: php wsaccount.php --username=NAME [--caps=CAP,CAP]');
}
$username = $options['username'];
$caps = array_filter(array_map('trim', explode(',', $options['caps'])));
$caps[] = 'webservice/rest:use';

\core\session\manager::set_user(get_admin());
$context = context_system::instance();

$user = $DB->get_record('user', ['username' => $username, 'mnethostid' => $CFG->mnet_localhost_id]);
if (!$user) {
    $id = user_create_user((object) [
        'username' => $username,
        'auth' => 'webservice',
        'firstname' => 'CI',
        'lastname' => $username,
        'email' => $username . '@ci.maildrift.test',
        'confirmed' => 1,
        'mnethostid' => $CFG->mnet_localhost_id,
    ], false, false);
    $user = $DB->get_record('user', ['id' => $id], '*', MUST_EXIST);
}

$role = $DB->get_record('role', ['shortname' => $username]);
$roleid = $role ? $role->id : create_role('CI ' . $username, $username, 'maildrift end-to-end suite');
set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
foreach ($DB->get_records('role_capabilities', ['roleid' => $roleid, 'contextid' => $context->id]) as $rc) {
    unassign_capability($rc->capability, $roleid, $context->id);
}
foreach ($caps as $cap) {
    if (!get_capability_info($cap)) {
        cli_error("no capability $cap on this site");
    }
    assign_capability($cap, CAP_ALLOW, $roleid, $context->id, true);
}
role_assign($roleid, $user->id, $context->id);

$service = $DB->get_record('external_services', ['shortname' => 'maildrift'], '*', MUST_EXIST);
if (!$DB->record_exists('external_services_users', ['externalserviceid' => $service->id, 'userid' => $user->id])) {
    $DB->insert_record('external_services_users', (object) [
        'externalserviceid' => $service->id,
        'userid' => $user->id,
        'timecreated' => time(),
    ]);
}
echo \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $user->id, $context), "\n";
