//! The `warnings` local_maildrift returns with the mail settings (a DKIM key it cannot use, a
//! name it will not put in a path) reach the user: on the terminal from `pull`, in the snapshot,
//! and as finding MD311 in `check`'s table and JSON report.

mod cli_common;
mod support;

use cli_common::{EnvSpec, TOKEN, World};
use serde_json::json;
use support::fake_moodle::{FakeMoodle, FakeSite};

const MESSAGE: &str = "The DKIM private key file for 'moodle.example.edu' exists but no public key could be derived from it.";

fn warning_site() -> FakeMoodle {
    let mut site = FakeSite::production("production", TOKEN);
    site.mail_config["warnings"] = json!([
        {"item": "dkim", "warningcode": "dkimkeyunreadable", "message": MESSAGE},
        // Site text is untrusted: an escape sequence must not reach the terminal raw.
        {"item": "dkim", "warningcode": "dkimbadname", "message": "bad \u{1b}[2Jname"},
    ]);
    FakeMoodle::start(vec![site, FakeSite::staging("staging", TOKEN)])
}

fn world(fake: &FakeMoodle) -> World {
    World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            EnvSpec::live("staging", &fake.url("staging")),
        ],
        None,
    )
}

#[test]
fn pull_prints_the_plugins_warnings_and_keeps_them_in_the_snapshot() {
    let fake = warning_site();
    let w = world(&fake);
    let out = w.run(&["pull", "-o", "snaps"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stderr.contains(&format!(
            "production: the plugin warned: dkimkeyunreadable: {MESSAGE}"
        )),
        "{}",
        out.both()
    );
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.both());
    assert!(
        // The sanitiser replaced the escape where the answer entered (crate::sanitise).
        out.stderr.contains("dkimbadname: bad \u{fffd}[2Jname"),
        "{}",
        out.both()
    );
    assert!(
        !out.stderr.contains("staging: the plugin warned"),
        "{}",
        out.both()
    );
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("snaps/production.json")).unwrap())
            .unwrap();
    assert_eq!(
        snap["warnings"][0],
        format!("dkimkeyunreadable: {MESSAGE}"),
        "{snap}"
    );
    // No warnings, no key: snapshots without warnings look as before.
    let staging = std::fs::read_to_string(w.path("snaps/staging.json")).unwrap();
    assert!(!staging.contains("\"warnings\""), "{staging}");
}

#[test]
fn check_reports_each_plugin_warning_as_md311_in_json_and_table() {
    let fake = warning_site();
    let w = world(&fake);
    let out = w.run(&["check", "--no-dns", "--no-health", "--format", "json"]);
    let report = out.json();
    let md311: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "MD311")
        .collect();
    assert_eq!(md311.len(), 2, "{}", out.stdout);
    assert!(md311.iter().all(|f| f["environment"] == "production"));
    assert_eq!(md311[0]["severity"], "warning");
    assert!(
        md311
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains(MESSAGE)),
        "{}",
        out.stdout
    );
    let table = w.run(&["check", "--no-dns", "--no-health", "--format", "table"]);
    assert!(table.stdout.contains("MD311"), "{}", table.both());
    assert!(
        table.stdout.contains("dkimkeyunreadable"),
        "{}",
        table.both()
    );
    assert!(!table.stdout.contains('\u{1b}'), "{}", table.both());
}
