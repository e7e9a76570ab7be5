//! `maildrift diff` between live fake sites and snapshot files.

mod cli_common;
mod support;

use cli_common::{TOKEN, World, bare_cmd, fake_pair, run_cmd};
use support::fake_moodle::{FakeMoodle, FakeSite};

#[test]
fn diff_of_two_live_sites_shows_the_differing_settings_and_exits_2() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["diff", "staging", "production"]);
    assert_eq!(out.code, 2, "{}", out.both());
    for needle in [
        "smtphosts",
        "smtp-staging.example.edu:25",
        "smtp-relay.example.edu:587",
        "divertallemailsto",
        "moodle-staging-sink@example.edu",
        "noreplyaddress",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?}:\n{}",
            out.both()
        );
    }
    // Equal settings are not listed.
    assert!(!out.stdout.contains("mailnewline"), "{}", out.both());
    assert!(!out.stdout.contains("supportemail"), "{}", out.both());
}

#[test]
fn diff_of_the_same_snapshot_twice_exits_0_and_says_they_are_the_same() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    assert_eq!(w.run(&["pull", "production", "-o", "prod.json"]).code, 0);
    let out = w.run(&["diff", "prod.json", "prod.json"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout.contains("have the same mail settings"),
        "{}",
        out.both()
    );
}

#[test]
fn diff_of_two_snapshot_files_needs_no_config() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    drop(fake);
    // A directory with no maildrift.toml, no --config, no MAILDRIFT_CONFIG.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run_cmd(
        bare_cmd(elsewhere.path())
            .arg("diff")
            .arg(w.path("snaps/staging.json"))
            .arg(w.path("snaps/production.json")),
    );
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(out.stdout.contains("smtphosts"), "{}", out.both());
    assert!(!out.stderr.contains("config"), "{}", out.both());
}

#[test]
fn diff_json_parses_and_carries_schema_diff_1() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["diff", "staging", "production", "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.both());
    let json = out.json();
    assert_eq!(json["schema"], "maildrift.diff/1", "{}", out.stdout);
    assert!(out.stdout.contains("smtphosts"), "{}", out.stdout);
}

#[test]
fn diff_in_every_format_exits_2_and_writes_something() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    for format in ["table", "json", "markdown", "junit"] {
        let out = w.run(&["diff", "staging", "production", "--format", format]);
        assert_eq!(out.code, 2, "{format}: {}", out.both());
        assert!(out.stdout.contains("smtphosts"), "{format}: {}", out.both());
        assert!(
            !out.stdout.contains('\u{1b}'),
            "{format}: colour despite NO_COLOR"
        );
    }
}

#[test]
fn diff_shows_multi_line_settings_as_unified_diff_lines() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN)
            .setting("allowedemaildomains", "example.edu\nstaging.example.edu"),
    ]);
    let w = World::two_sites(&fake, None);
    let out = w.run(&["diff", "staging", "production"]);
    assert_eq!(out.code, 2, "{}", out.both());
    let lines: Vec<&str> = out.stdout.lines().map(str::trim_end).collect();
    assert!(lines.contains(&"-staging.example.edu"), "{}", out.stdout);
    assert!(lines.contains(&"+moodle.example.edu"), "{}", out.stdout);
    // The common line is context, not a change.
    assert!(
        !lines.contains(&"-example.edu") && !lines.contains(&"+example.edu"),
        "{}",
        out.stdout
    );
}

#[test]
fn diff_shows_secrets_only_as_set_or_not_set() {
    const SECRET: &str = "S3cret-Value-in-diff";
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).setting("smtppass", SECRET),
        FakeSite::staging("staging", TOKEN),
    ]);
    let w = World::two_sites(&fake, None);
    for format in ["table", "json", "markdown", "junit"] {
        let out = w.run(&["diff", "staging", "production", "--format", format]);
        assert_eq!(out.code, 2, "{}", out.both());
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "{format}: {}",
            out.both()
        );
        if format == "table" {
            let line = out
                .stdout
                .lines()
                .find(|l| l.starts_with("smtppass"))
                .unwrap_or_else(|| panic!("{}", out.stdout));
            assert!(
                line.contains("not set") && line.trim_end().ends_with("set"),
                "{line}"
            );
        }
    }
}

#[test]
fn diff_with_both_sides_failing_exits_1_and_names_both() {
    use support::fake_moodle::Fault;
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).with_fault(Fault::InvalidToken),
        FakeSite::staging("staging", TOKEN).with_fault(Fault::Maintenance),
    ]);
    let w = World::two_sites(&fake, None);
    let out = w.run(&["diff", "staging", "production"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stdout.is_empty(), "{}", out.both());
    assert!(
        out.stderr.contains("maildrift: error: staging: "),
        "{}",
        out.both()
    );
    assert!(
        out.stderr.contains("maildrift: error: production: "),
        "{}",
        out.both()
    );
}

#[test]
fn diff_of_an_unknown_environment_exits_1_and_lists_the_known_ones() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["diff", "staging", "nope"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("`nope`") && out.stderr.contains("production, staging"),
        "{}",
        out.both()
    );
}
