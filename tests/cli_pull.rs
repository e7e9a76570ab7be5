//! `maildrift pull` against the fake Moodle: the summary table, snapshot files, and every way
//! one site can fail without stopping the other.

mod cli_common;
mod support;

use std::time::Duration;

use cli_common::{EnvSpec, TOKEN, World, fake_pair};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

/// A value the fake sends where a secret must never appear.
const SECRET: &str = "S3cret-Value-smtppass";

#[test]
fn pull_of_two_sites_prints_a_summary_table_and_exits_0() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["pull"]);
    assert_eq!(out.code, 0, "{}", out.both());
    for needle in [
        "environment",
        "production",
        "staging",
        "4.5.8+ (Build: 20260126)",
        "2026112900",
        "smtp-relay.example.edu:587",
        "smtp-staging.example.edu:25",
        "noreply@moodle-staging.example.edu",
        "smtppass",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?}:\n{}",
            out.both()
        );
    }
    assert!(!out.stdout.contains("FAILED"), "{}", out.both());
    assert!(
        !w.path("production.json").exists(),
        "pull without -o writes nothing"
    );
}

#[test]
fn pull_output_dir_writes_one_valid_snapshot_per_environment_without_secret_values() {
    // The production plugin misbehaves and sends smtppass's value as a setting.
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).setting("smtppass", SECRET),
        FakeSite::staging("staging", TOKEN),
    ]);
    let w = World::two_sites(&fake, None);
    let out = w.run(&["pull", "-o", "snaps"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout.contains("wrote snaps/production.json"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("wrote snaps/staging.json"),
        "{}",
        out.both()
    );
    for env in ["production", "staging"] {
        let path = w.path(&format!("snaps/{env}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["schema"], "maildrift.snapshot/1");
        assert_eq!(json["environment"], env);
        // The library's own validation accepts it.
        let snap = maildrift::snapshot::io::read(&path).unwrap_or_else(|e| panic!("{env}: {e}"));
        assert_eq!(snap.environment, env);
        assert_eq!(snap.moodle.release, "4.5.8+ (Build: 20260126)");
        assert!(
            !text.contains(SECRET),
            "{env}: secret value written:\n{text}"
        );
        assert!(!text.contains(TOKEN), "{env}: token written");
        // Secrets are recorded as set / not set only.
        assert!(json["secrets"]["smtppass"].is_boolean(), "{text}");
    }
    let prod = maildrift::snapshot::io::read(&w.path("snaps/production.json")).unwrap();
    assert_eq!(prod.secrets.get("smtppass"), Some(&true));
    assert!(
        !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
        "{}",
        out.both()
    );
}

#[test]
fn pull_output_json_file_for_one_environment_writes_that_file() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["pull", "staging", "-o", "stag.json"]);
    assert_eq!(out.code, 0, "{}", out.both());
    let snap = maildrift::snapshot::io::read(&w.path("stag.json")).unwrap();
    assert_eq!(snap.environment, "staging");
    assert!(!out.stdout.contains("production"), "{}", out.both());
}

/// Staging fails in some way; production must still be written, the run exit 1, and stderr
/// name staging and say what to do (`hint`).
fn staging_fails(fake: &FakeMoodle, staging: EnvSpec, hints: &[&str]) {
    let w = World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            staging,
        ],
        None,
    );
    let started = std::time::Instant::now();
    let out = w.run(&["pull", "-o", "snaps"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(w.path("snaps/production.json").is_file(), "{}", out.both());
    assert!(!w.path("snaps/staging.json").exists(), "{}", out.both());
    maildrift::snapshot::io::read(&w.path("snaps/production.json")).unwrap();
    assert!(
        out.stderr.contains("maildrift: error: staging: "),
        "{}",
        out.both()
    );
    assert!(
        !out.stderr.contains("production:"),
        "only staging failed:\n{}",
        out.both()
    );
    for h in hints {
        assert!(
            out.stderr.contains(h),
            "hint {h:?} missing:\n{}",
            out.both()
        );
    }
    // The summary still shows both.
    assert!(out.stdout.contains("FAILED"), "{}", out.both());
    assert!(
        !format!("{}{}", out.stdout, out.stderr).contains(TOKEN),
        "token leaked:\n{}",
        out.both()
    );
}

fn with_faulty_staging(fault: Fault) -> FakeMoodle {
    FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN).with_fault(fault),
    ])
}

#[test]
fn pull_with_invalid_token_exits_1_keeps_the_other_site_and_says_to_log_in_again() {
    let fake = with_faulty_staging(Fault::InvalidToken);
    staging_fails(
        &fake,
        EnvSpec::live("staging", &fake.url("staging")),
        &["invalidtoken", "maildrift login staging"],
    );
}

#[test]
fn pull_with_plugin_missing_exits_1_and_says_to_install_local_maildrift() {
    let fake = with_faulty_staging(Fault::PluginMissing);
    staging_fails(
        &fake,
        EnvSpec::live("staging", &fake.url("staging")),
        &["local_maildrift", "upgrade.php"],
    );
}

#[test]
fn pull_with_web_services_disabled_exits_1_and_says_to_enable_them() {
    let fake = with_faulty_staging(Fault::WebServicesDisabled);
    staging_fails(
        &fake,
        EnvSpec::live("staging", &fake.url("staging")),
        &["403", "Enable"],
    );
}

#[test]
fn pull_with_site_in_maintenance_exits_1_and_says_to_run_again_later() {
    let fake = with_faulty_staging(Fault::Maintenance);
    staging_fails(
        &fake,
        EnvSpec::live("staging", &fake.url("staging")),
        &["maintenance", "run again"],
    );
}

#[test]
fn pull_with_html_instead_of_json_exits_1_and_says_to_check_the_url() {
    let fake = with_faulty_staging(Fault::SiteRootHtml);
    staging_fails(
        &fake,
        EnvSpec::live("staging", &fake.url("staging")),
        &["HTML", "wwwroot"],
    );
}

#[test]
fn pull_with_connection_refused_exits_1_and_says_nothing_listens() {
    let fake = fake_pair();
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/staging");
    staging_fails(
        &fake,
        EnvSpec::live("staging", &url),
        &["refused", "check the url"],
    );
}

#[test]
fn pull_with_a_stalled_site_times_out_after_the_configured_timeout_and_exits_1() {
    let fake = with_faulty_staging(Fault::StallBeforeHeaders);
    let staging = EnvSpec::live("staging", &fake.url("staging")).with("timeout = 1");
    staging_fails(&fake, staging, &["timeout", "raise timeout"]);
}

#[test]
fn pull_of_several_environments_into_one_json_file_is_refused_before_any_request() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, None);
    let out = w.run(&["pull", "-o", "all.json"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("give a directory"), "{}", out.both());
    assert!(!w.path("all.json").exists());
    assert!(fake.requests().is_empty());
}
