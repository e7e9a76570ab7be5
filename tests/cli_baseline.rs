//! `maildrift baseline accept`: writes only the accepted settings, keeps everything else
//! byte-for-byte, and changes nothing when it can't be sure.

mod cli_common;
mod support;

use std::time::Duration;

use cli_common::{CLEAN_BASELINE, TOKEN, World, fake_pair};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

/// The clean baseline with two settings the sites don't have, each with a trailing comment.
fn stale_baseline() -> String {
    let text = CLEAN_BASELINE
        .replace(
            "mailnewline = \"LF\"",
            "mailnewline = \"CRLF\"   # for the old relay",
        )
        .replace(
            "smtpauthtype = \"LOGIN\"   # keep LOGIN",
            "smtpauthtype = \"PLAIN\"   # keep LOGIN",
        );
    assert_ne!(text, CLEAN_BASELINE);
    text
}

/// A world with pulled snapshots and the stale baseline.
fn world(fake: &FakeMoodle) -> World {
    let w = World::two_sites(fake, Some("baseline.toml"));
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    w.write("baseline.toml", &stale_baseline());
    w
}

const SNAPS: [&str; 4] = [
    "--snapshot",
    "production=snaps/production.json",
    "--snapshot",
    "staging=snaps/staging.json",
];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["baseline", "accept"];
    v.extend_from_slice(&SNAPS);
    v.extend_from_slice(extra);
    v
}

fn stamp(w: &World) -> (Vec<u8>, std::time::SystemTime) {
    let p = w.path("baseline.toml");
    (
        std::fs::read(&p).unwrap(),
        std::fs::metadata(&p).unwrap().modified().unwrap(),
    )
}

#[test]
fn accept_with_yes_changes_only_the_accepted_setting_and_keeps_comments_and_exceptions() {
    let fake = fake_pair();
    let w = world(&fake);
    let out = w.run(&args(&["--setting", "mailnewline", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.both());
    let after = std::fs::read_to_string(w.path("baseline.toml")).unwrap();
    let expected = stale_baseline().replace("mailnewline = \"CRLF\"", "mailnewline = \"LF\"");
    assert_eq!(after, expected, "{}", out.both());
    // The proposed change was shown as a diff.
    assert!(
        out.stdout.contains("-mailnewline = \"CRLF\""),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("+mailnewline = \"LF\""),
        "{}",
        out.both()
    );
}

#[test]
fn accept_without_yes_and_no_terminal_exits_1_and_leaves_the_file_unchanged() {
    let fake = fake_pair();
    let w = world(&fake);
    let before = stamp(&w);
    std::thread::sleep(Duration::from_millis(20));
    let out = w.run(&args(&["--setting", "mailnewline"]));
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("--yes"), "{}", out.both());
    assert_eq!(stamp(&w), before);
}

#[test]
fn accept_with_a_failing_site_exits_1_and_leaves_the_file_unchanged() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN).with_fault(Fault::InvalidToken),
    ]);
    let w = World::two_sites(&fake, Some("baseline.toml"));
    w.write("baseline.toml", &stale_baseline());
    let before = stamp(&w);
    std::thread::sleep(Duration::from_millis(20));
    let out = w.run(&["baseline", "accept", "--setting", "mailnewline", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("staging"), "{}", out.both());
    assert!(out.stderr.contains("not changed"), "{}", out.both());
    assert_eq!(stamp(&w), before);
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn accept_live_from_the_sites_writes_their_value() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, Some("baseline.toml"));
    w.write("baseline.toml", &stale_baseline());
    let out = w.run(&["baseline", "accept", "--setting", "mailnewline", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.both());
    let after = std::fs::read_to_string(w.path("baseline.toml")).unwrap();
    assert_eq!(
        after,
        stale_baseline().replace("mailnewline = \"CRLF\"", "mailnewline = \"LF\"")
    );
}

#[test]
fn accept_all_mismatches_writes_every_differing_setting_and_nothing_else() {
    let fake = fake_pair();
    let w = world(&fake);
    let out = w.run(&args(&["--all-mismatches", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.both());
    let after = std::fs::read_to_string(w.path("baseline.toml")).unwrap();
    assert_eq!(
        after,
        CLEAN_BASELINE.replace(
            "mailnewline = \"LF\"",
            "mailnewline = \"LF\"   # for the old relay"
        )
    );
    // Now nothing differs: a second run changes nothing and says so.
    let again = w.run(&args(&["--all-mismatches", "--yes"]));
    assert_eq!(again.code, 0, "{}", again.both());
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.both()
    );
    assert_eq!(
        std::fs::read_to_string(w.path("baseline.toml")).unwrap(),
        after
    );
}

#[test]
fn accept_of_a_setting_that_differs_between_environments_needs_env() {
    let fake = fake_pair();
    let w = world(&fake);
    let before = stamp(&w);
    let out = w.run(&args(&["--setting", "smtphosts", "--yes"]));
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("--env"), "{}", out.both());
    assert_eq!(stamp(&w).0, before.0);
}
