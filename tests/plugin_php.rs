//! The Moodle plugin and the Rust side agree: one list of mail settings and secrets, and the
//! plugin's pure helpers (redaction above all) behave as documented, run by php-cli
//! (tests/php/mail_settings_check.php) without a Moodle installation.

#[path = "support/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::Command;

use maildrift::snapshot::settings::{MAIL_SETTINGS, SECRET_SETTINGS};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const PLUGIN_LIST: &str = "moodle/local_maildrift/classes/local/mail_settings.php";

/// The quoted entries of `const NAME = [ ... ];` in PHP source, in order.
fn php_const_list(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("const {name} = ["))
        .unwrap_or_else(|| panic!("{PLUGIN_LIST}: no `const {name} = [`"));
    let body = &source[start..];
    let end = body
        .find("];")
        .unwrap_or_else(|| panic!("{PLUGIN_LIST}: `const {name}` is not closed by `];`"));
    body[..end]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| {
            let l = l.trim_end_matches(',');
            l.strip_prefix('\'')
                .and_then(|l| l.strip_suffix('\''))
                .unwrap_or_else(|| {
                    panic!("{PLUGIN_LIST}: `{name}` entry {l:?} is not a plain 'name'")
                })
                .to_string()
        })
        .collect()
}

fn plugin_source() -> String {
    std::fs::read_to_string(root().join(PLUGIN_LIST)).expect("plugin's mail_settings.php")
}

#[test]
fn the_plugin_reports_exactly_the_settings_maildrift_compares_in_the_same_order() {
    let php = php_const_list(&plugin_source(), "SETTINGS");
    let rust: Vec<&str> = MAIL_SETTINGS.iter().map(|s| s.name).collect();
    let only_php: Vec<&String> = php.iter().filter(|p| !rust.contains(&p.as_str())).collect();
    let only_rust: Vec<&&str> = rust
        .iter()
        .filter(|r| !php.iter().any(|p| p == *r))
        .collect();
    assert!(
        only_php.is_empty() && only_rust.is_empty(),
        "the lists differ: only in {PLUGIN_LIST}: {only_php:?}; only in src/snapshot/settings.rs: {only_rust:?}"
    );
    assert_eq!(php, rust, "same settings, different order");
}

#[test]
fn the_plugin_and_maildrift_agree_on_the_secrets() {
    let php = php_const_list(&plugin_source(), "SECRETS");
    assert_eq!(php, SECRET_SETTINGS);
    let settings = php_const_list(&plugin_source(), "SETTINGS");
    assert!(
        settings.iter().all(|s| !php.contains(s)),
        "a secret is reported as a setting"
    );
}

#[test]
fn the_list_parser_sees_a_changed_list() {
    // The comparison above is only as good as the parser: a list with one more entry parses
    // to one more name.
    let changed = plugin_source().replacen("'smtphosts',", "'smtphosts',\n        'smtpextra',", 1);
    let names = php_const_list(&changed, "SETTINGS");
    assert_eq!(names.len(), MAIL_SETTINGS.len() + 1);
    assert_eq!(names[1], "smtpextra");
}

fn php_available() -> bool {
    Command::new("php")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn plugin_helpers_redact_secrets_and_addresses_under_php() {
    if !php_available() {
        skip::required(
            "plugin_helpers_redact_secrets_and_addresses_under_php",
            "php-cli not found (Debian: apt-get install php-cli)",
        );
        return;
    }
    let script = Path::new("tests/php/mail_settings_check.php");
    let out = Command::new("php")
        .arg(script)
        .current_dir(root())
        .output()
        .expect("run php");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "php {}: exit {:?}\n{stdout}{stderr}",
        script.display(),
        out.status.code()
    );
    assert!(stdout.contains("plugin checks passed"), "{stdout}{stderr}");
}
