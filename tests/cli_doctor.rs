//! `maildrift doctor`: where each token comes from (never the token) and whether the site answers.

mod cli_common;
mod support;

use cli_common::{EnvSpec, TOKEN, World, fake_pair};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

fn world(fake: &FakeMoodle) -> World {
    let mut w = World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            EnvSpec::live("staging", &fake.url("staging"))
                .with("token_env = \"MAILDRIFT_STAGING_WS_TOKEN\""),
        ],
        None,
    );
    w.vars.retain(|(k, _)| k != "MAILDRIFT_TOKEN_STAGING");
    w.vars
        .push(("MAILDRIFT_STAGING_WS_TOKEN".into(), TOKEN.into()));
    w
}

#[test]
fn doctor_offline_shows_the_token_source_and_contacts_no_site() {
    let fake = fake_pair();
    let w = world(&fake);
    let out = w.run(&["doctor", "--offline"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout
            .contains("using: env var MAILDRIFT_TOKEN_PRODUCTION"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout
            .contains("using: env var MAILDRIFT_STAGING_WS_TOKEN"),
        "{}",
        out.both()
    );
    assert!(out.stdout.contains("keyring = false"), "{}", out.both());
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "{}",
        out.both()
    );
    assert!(
        !out.stdout.contains("4.5.8"),
        "offline shows no site answer:\n{}",
        out.both()
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn doctor_shows_token_source_and_the_sites_release() {
    let fake = fake_pair();
    let w = world(&fake);
    let out = w.run(&["doctor"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout.contains("env var MAILDRIFT_TOKEN_PRODUCTION"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("env var MAILDRIFT_STAGING_WS_TOKEN"),
        "{}",
        out.both()
    );
    assert_eq!(
        out.stdout
            .matches("Moodle 4.5.8+ (Build: 20260126)")
            .count(),
        2,
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("local_maildrift 2026112900"),
        "{}",
        out.both()
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "{}",
        out.both()
    );
}

#[test]
fn doctor_with_a_missing_token_or_a_rejected_one_exits_1_and_says_so() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).with_fault(Fault::InvalidToken),
        FakeSite::staging("staging", TOKEN),
    ]);
    let mut w = world(&fake);
    w.vars.retain(|(k, _)| k != "MAILDRIFT_STAGING_WS_TOKEN");
    let out = w.run(&["doctor"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stdout.contains("invalidtoken"), "{}", out.both());
    assert!(
        out.stdout.contains("MAILDRIFT_STAGING_WS_TOKEN"),
        "{}",
        out.both()
    );
    assert_eq!(out.stdout.matches("PROBLEM").count(), 2, "{}", out.both());
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "{}",
        out.both()
    );
}
