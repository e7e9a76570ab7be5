//! A hostile Moodle site cannot drive the terminal of whoever runs maildrift: escape
//! sequences, C1 controls, lone carriage returns and bidirectional overrides in its site name,
//! a setting value, an error message, a health failure text and a test-mail failure reach no
//! output of `pull`, `doctor`, `health`, `testmail` or `check`, nor their error messages.
//!
//! The fake serves them through its ordinary answers (a real site can store any of these
//! strings); the check is on the raw bytes the binary writes.

mod cli_common;
mod support;

use cli_common::{EnvSpec, Out, TOKEN, World};
use serde_json::json;
use support::fake_moodle::{FakeMoodle, FakeSite, default_health};

/// Sets the window title, clears the screen, homes the cursor and paints a fake verdict.
const TITLE: &str = "\u{1b}]0;owned\u{7}";
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const FAKE_PASS: &str = "\u{1b}[32mall checks passed\u{1b}[0m";
/// A one-character CSI (C1), a lone carriage return and a right-to-left override.
const C1: &str = "\u{9b}31m";
const CR: &str = "red\rgreen";
const RLO: &str = "\u{202e}moc.elpmaxe";

fn hostile(text: &str) -> String {
    format!("{text}{TITLE}{CLEAR}{FAKE_PASS}{C1}{CR}{RLO}")
}

/// The first forbidden character in `out`, if any.
fn forbidden(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(i, c)| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            || (c == '\r' && !text[i + 1..].starts_with('\n'))
    })
}

/// Where `out` holds a forbidden character, as a line for the failure message.
fn dirt(what: &str, out: &Out) -> Vec<String> {
    [("stdout", &out.stdout), ("stderr", &out.stderr)]
        .into_iter()
        .filter_map(|(stream, text)| {
            forbidden(text).map(|(at, c)| {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(60)
                    .map_or(0, |(i, _)| i);
                format!(
                    "{what}: {stream} holds {c:?} at byte {at}: …{}",
                    text[from..]
                        .chars()
                        .take(120)
                        .collect::<String>()
                        .escape_debug()
                )
            })
        })
        .collect()
}

fn assert_all_clean(found: Vec<String>) {
    assert!(
        found.is_empty(),
        "control characters reached the output:\n{}",
        found.join("\n")
    );
}

/// `production` answers with hostile text everywhere; `broken` answers every plugin call with
/// a hostile error message.
fn hostile_sites() -> FakeMoodle {
    let mut production = FakeSite::production("production", TOKEN)
        .setting("divertallemailsto", &hostile("sink@example.edu"))
        .setting("smtphosts", &hostile("smtp.example.edu:587"));
    production.sitename = hostile("Example Moodle");
    let mut health = default_health();
    health["failedmail"]["recent"][0]["error"] = json!(hostile("SMTP Error: 550 "));
    health["failedmail"]["recent"][0]["recipientdomain"] = json!(hostile("example.org"));
    let production = production.health(health).test_mail(json!({
        "sent": false,
        "error": hostile("SMTP connect() failed. "),
        "subject": hostile("maildrift test md-0a1b2c3d4e5f from "),
        "token": "md-0a1b2c3d4e5f",
        "timesent": 1795940000,
        "warnings": [{"item": "x", "warningcode": hostile("diverted"), "message": hostile("diverted to ")}],
    }));
    let error = json!({
        "exception": "dml_read_exception",
        "errorcode": hostile("dmlreadexception"),
        "message": hostile("Error reading from database "),
        "debuginfo": hostile("SELECT "),
    });
    let broken = FakeSite::production("broken", TOKEN)
        .mail_config(error.clone())
        .health(error.clone())
        .test_mail(error);
    FakeMoodle::start(vec![production, broken])
}

fn world(fake: &FakeMoodle) -> World {
    World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            EnvSpec::live("broken", &fake.url("broken")),
        ],
        None,
    )
}

#[test]
fn pull_and_doctor_print_no_control_characters_from_the_site() {
    let fake = hostile_sites();
    let w = world(&fake);
    let mut found = Vec::new();
    for args in [
        vec!["pull", "production"],
        vec!["pull", "broken"],
        vec!["pull", "--format", "json"],
        vec!["doctor", "production"],
        vec!["doctor", "broken"],
        vec!["-v", "pull"],
    ] {
        let out = w.run(&args);
        found.extend(dirt(&format!("{args:?}"), &out));
    }
    assert_all_clean(found);
    // The text itself still arrives, only defused.
    let out = w.run(&["doctor", "production"]);
    assert!(out.stdout.contains("Example Moodle"), "{}", out.both());
}

#[test]
fn health_and_check_print_no_control_characters_from_the_site() {
    let fake = hostile_sites();
    let w = world(&fake);
    let mut found = Vec::new();
    for args in [
        vec!["health", "--format", "table"],
        vec!["health", "--format", "json"],
        vec!["health", "--format", "openmetrics"],
        vec!["check", "--no-dns", "--format", "table", "--all"],
        vec!["check", "--no-dns", "--format", "json"],
        vec!["check", "--no-dns", "--format", "markdown"],
        vec!["check", "--no-dns", "--format", "junit"],
        vec!["diff", "production", "broken"],
    ] {
        let out = w.run(&args);
        found.extend(dirt(&format!("{args:?}"), &out));
    }
    assert_all_clean(found);
}

#[test]
fn testmail_prints_and_records_no_control_characters_from_the_site() {
    let fake = hostile_sites();
    let w = world(&fake);
    let mut found = Vec::new();
    for env in ["production", "broken"] {
        let out = w.run(&[
            "testmail",
            env,
            "--to",
            "postmaster@example.edu",
            "--evidence-dir",
            "evidence",
        ]);
        found.extend(dirt(&format!("testmail {env}"), &out));
    }
    assert_all_clean(found);
    let dir = w.path("evidence");
    let records: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let text = std::fs::read_to_string(records[0].as_ref().unwrap().path()).unwrap();
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    let error = record["error"].as_str().unwrap();
    assert!(forbidden(error).is_none(), "{}", error.escape_debug());
    assert!(error.starts_with("SMTP connect() failed."), "{error}");
}
