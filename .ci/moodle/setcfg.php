<?php
// This file is part of maildrift's CI, not of the plugin: it sets many settings of a test site
// in one PHP start (admin/cli/cfg.php takes one per start, which made the suite slow).
//
// This program is free software: you can redistribute it and/or modify it under the terms of
// the GNU General Public License as published by the Free Software Foundation, either version 3
// of the License, or (at your option) any later version.
//
// Run in the site's top folder: php /path/to/setcfg.php '{"core":{"name":"value"},"local_maildrift":{"name":null}}'
// A null value unsets the setting; the calls are the ones cfg.php --set/--unset make.

define('CLI_SCRIPT', true);
require(getcwd() . '/config.php');
require_once($CFG->libdir . '/clilib.php');

$changes = json_decode($argv[1] ?? '', true);
if (!is_array($changes)) {
    cli_error('usage: php setcfg.php JSON  (an object of components, each an object of name: value|null)');
}
foreach ($changes as $component => $settings) {
    $plugin = $component === 'core' ? null : $component;
    foreach ($settings as $name => $value) {
        if ($value === null) {
            unset_config($name, $plugin);
        } else {
            set_config($name, (string) $value, $plugin);
        }
    }
}
