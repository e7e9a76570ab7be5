//! Fault injection against a fleet: three fake Moodle sites, one of which misbehaves in one
//! way per test (stalls, resets, truncated or invalid JSON, the wrong content type, a huge or
//! endless body, a redirect). Each fault must give its documented error for that site only,
//! the other two sites must still be checked and reported, the run exits 1, and it finishes
//! within the configured timeouts (timeout = 1 s, connect_timeout = 1 s, retries = 0) instead
//! of hanging. The token never shows up in what maildrift prints or writes.

mod cli_common;
mod support;

use std::time::{Duration, Instant};

use cli_common::{CLEAN_BASELINE, EnvSpec, Out, TOKEN, World};
use serde_json::Value;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

/// The misbehaving environment; production and staging are healthy.
const FAULTY: &str = "sandbox";

/// Generous bound for a run whose slowest site hits one 1 s timeout (or none): the point is
/// "bounded by the configured timeouts, never hangs", on a loaded 2-core machine.
const BOUND: Duration = Duration::from_secs(10);

/// Production relays through a host the baseline does not allow (MD101), so the healthy part
/// of the report has a finding of its own to survive the faulty site.
fn fleet(fault: Fault) -> FakeMoodle {
    FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN)
            .setting("smtphosts", "rogue-relay.example.net:25"),
        FakeSite::staging("staging", TOKEN),
        FakeSite::production(FAULTY, TOKEN).with_fault(fault),
    ])
}

/// All three sites with 1 s timeouts and `retries` retries; the baseline knows all three.
fn world(fake: &FakeMoodle, retries: u32) -> World {
    let envs: Vec<EnvSpec> = ["production", "staging", FAULTY]
        .iter()
        .map(|name| {
            EnvSpec::live(name, &fake.url(name))
                .with("timeout = 1")
                .with("connect_timeout = 1")
                .with(&format!("retries = {retries}"))
        })
        .collect();
    let w = World::new(&envs, Some("baseline.toml"));
    w.write(
        "baseline.toml",
        &format!("{CLEAN_BASELINE}\n[environments.{FAULTY}]\nrole = \"production\"\n"),
    );
    w
}

/// `check` of the fleet with the JSON report in a file; returns the run, the report and the
/// wall time.
fn check(w: &World) -> (Out, Value, Duration) {
    let started = Instant::now();
    let out = w.run(&[
        "check",
        "--no-dns",
        "--no-health",
        "--no-relay",
        "--format",
        "json",
        "-o",
        "report.json",
    ]);
    let took = started.elapsed();
    let text = std::fs::read_to_string(w.path("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}):\n{}", out.both()));
    assert!(!text.contains(TOKEN), "the token leaked into the report");
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("report.json is not JSON ({e}):\n{text}"));
    eprintln!("check with a faulty {FAULTY} took {took:?}");
    (out, report, took)
}

fn environment<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["environments"]
        .as_array()
        .unwrap_or_else(|| panic!("no environments array: {report}"))
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from the report: {report}"))
}

fn has_finding(report: &Value, code: &str, env: &str) -> bool {
    report["findings"].as_array().is_some_and(|f| {
        f.iter()
            .any(|f| f["code"] == code && f["environment"] == env)
    })
}

fn checks_of<'a>(report: &'a Value, env: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["environment"] == env).collect())
        .unwrap_or_default()
}

/// The whole contract for one fault: exit 1; stderr and the report name the faulty site with
/// `phrases` of its documented message; production and staging are `ok` with their checks and
/// findings; bounded wall time; no token anywhere. Returns the faulty site's error.
fn assert_fails_alone(fault: Fault, phrases: &[&str]) -> String {
    let fake = fleet(fault.clone());
    let w = world(&fake, 0);
    let (out, report, took) = check(&w);
    assert_eq!(out.code, 1, "{fault:?}: {}", out.both());
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "{fault:?}: the token leaked:\n{}",
        out.both()
    );
    assert!(took < BOUND, "{fault:?}: the run took {took:?}");

    let faulty = environment(&report, FAULTY);
    assert_eq!(faulty["state"], "failed", "{fault:?}: {faulty}");
    let error = faulty["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{fault:?}: no error for {FAULTY}: {faulty}"))
        .to_string();
    assert!(error.starts_with(&format!("{FAULTY}: ")), "{error}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("maildrift: error: ") && l.contains(&format!("{FAULTY}: ")))
        .unwrap_or_else(|| panic!("{fault:?}: stderr does not name {FAULTY}:\n{}", out.both()));
    for phrase in phrases {
        assert!(
            error.contains(phrase),
            "{fault:?}: {error:?} lacks {phrase:?}"
        );
        assert!(
            line.contains(phrase),
            "{fault:?}: {line:?} lacks {phrase:?}"
        );
    }
    assert!(
        checks_of(&report, FAULTY)
            .iter()
            .all(|c| c["state"] != "passed"),
        "{fault:?}: checks of an unread site passed: {report}"
    );

    for healthy in ["production", "staging"] {
        let env = environment(&report, healthy);
        assert_eq!(env["state"], "ok", "{fault:?}: {env}");
        assert!(env["error"].is_null(), "{fault:?}: {env}");
        assert_eq!(env["source"], "plugin", "{fault:?}: {env}");
        assert!(
            !out.stderr.contains(&format!("error: {healthy}:")),
            "{fault:?}: a healthy site was reported as failing:\n{}",
            out.both()
        );
        assert!(
            !checks_of(&report, healthy).is_empty(),
            "{fault:?}: no checks ran for {healthy}: {report}"
        );
    }
    assert!(
        has_finding(&report, "MD101", "production"),
        "{fault:?}: production's own finding is lost: {report}"
    );
    error
}

#[test]
fn a_site_that_stalls_before_headers_fails_alone_within_its_timeout() {
    assert_fails_alone(
        Fault::StallBeforeHeaders,
        &["did not answer completely within 1 s (timeout)"],
    );
}

#[test]
fn a_site_that_stalls_mid_body_fails_alone_within_its_timeout() {
    assert_fails_alone(
        Fault::StallMidBody,
        &["did not answer completely within 1 s (timeout)"],
    );
}

#[test]
fn a_site_that_resets_the_connection_fails_alone() {
    assert_fails_alone(Fault::Reset, &["closed the connection before answering"]);
}

#[test]
fn a_site_that_sends_truncated_json_fails_alone() {
    assert_fails_alone(Fault::TruncatedJson, &["ended early (truncated JSON after"]);
}

#[test]
fn a_site_that_sends_invalid_json_fails_alone() {
    assert_fails_alone(
        Fault::InvalidJson,
        &["is not valid JSON", "PHP warnings printed by the site"],
    );
}

#[test]
fn a_site_that_answers_with_the_wrong_content_type_fails_alone() {
    assert_fails_alone(
        Fault::WrongContentType,
        &["Content-Type `application/xml` instead of application/json"],
    );
}

#[test]
fn a_site_with_a_huge_body_is_capped_and_fails_alone() {
    assert_fails_alone(
        Fault::HugeBody,
        &["is larger than 8388608 bytes and was abandoned"],
    );
}

#[test]
fn a_site_with_an_endless_body_is_capped_and_fails_alone() {
    assert_fails_alone(
        Fault::EndlessBody,
        &["is larger than 8388608 bytes and was abandoned"],
    );
}

#[test]
fn a_site_that_redirects_fails_alone_without_following() {
    let fake_target = "https://moodle.example.edu/webservice/rest/server.php";
    assert_fails_alone(
        Fault::Redirect {
            status: 301,
            location: fake_target.into(),
        },
        &[
            "answered HTTP 301",
            fake_target,
            "does not follow redirects",
        ],
    );
}

#[test]
fn a_redirect_to_another_site_of_the_fleet_does_not_resend_the_token() {
    // The redirect points at a healthy site's endpoint: following it would re-send the POST
    // (and the token) there and might even "succeed" with the wrong site's settings.
    // The fake's address is known only once it runs, so the fault is set afterwards.
    let fake = fleet(Fault::NotFound);
    let location = fake.endpoint("staging");
    fake.set_faults(
        FAULTY,
        vec![Fault::Redirect {
            status: 307,
            location: location.clone(),
        }],
    );
    let w = world(&fake, 0);
    let (out, report, took) = check(&w);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(took < BOUND, "took {took:?}");
    let faulty = environment(&report, FAULTY);
    assert_eq!(faulty["state"], "failed", "{faulty}");
    assert!(
        faulty["error"]
            .as_str()
            .is_some_and(|e| e.contains("answered HTTP 307") && e.contains(&location)),
        "{faulty}"
    );
    // Staging got exactly its own two calls (site info and mail config), nothing re-sent.
    let staging = fake.requests_for("staging");
    assert_eq!(staging.len(), 2, "{staging:#?}");
}

#[test]
fn a_transient_fault_is_retried_once_and_the_fleet_is_clean_of_errors() {
    // The first two calls (site info and mail config go out together) get 502 Bad Gateway;
    // with retries = 1 both are repeated and succeed.
    let fake = fleet(Fault::FailFirst(2));
    let w = world(&fake, 1);
    let (out, report, took) = check(&w);
    // Production still drifts (MD101), so the run is "drift", not "failed".
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(environment(&report, FAULTY)["state"], "ok", "{report}");
    assert_eq!(fake.requests_for(FAULTY).len(), 4);
}

#[test]
fn a_stalling_site_with_one_retry_fails_within_twice_its_timeout() {
    // Timeouts are transient, so with retries = 1 each call waits 1 s, backs off (at most
    // 0.5 s at the default policy) and waits 1 s again: bounded, never a hang.
    let fake = fleet(Fault::StallBeforeHeaders);
    let w = world(&fake, 1);
    let (out, report, took) = check(&w);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(took < BOUND, "took {took:?}");
    assert!(
        took >= Duration::from_secs(2),
        "two 1 s timeouts cannot take {took:?}"
    );
    let faulty = environment(&report, FAULTY);
    assert_eq!(faulty["state"], "failed", "{faulty}");
    assert!(
        faulty["error"]
            .as_str()
            .is_some_and(|e| e.contains("within 1 s (timeout)")),
        "{faulty}"
    );
    assert_eq!(environment(&report, "production")["state"], "ok");
    assert_eq!(environment(&report, "staging")["state"], "ok");
    // Each of the two calls was sent twice.
    assert_eq!(fake.requests_for(FAULTY).len(), 4);
}

#[test]
fn pull_with_one_faulty_site_of_three_writes_the_other_snapshots() {
    for fault in [Fault::StallBeforeHeaders, Fault::EndlessBody, Fault::Reset] {
        let fake = fleet(fault.clone());
        let w = world(&fake, 0);
        let started = Instant::now();
        let out = w.run(&["pull", "-o", "snaps"]);
        let took = started.elapsed();
        eprintln!("pull with {fault:?} took {took:?}");
        assert_eq!(out.code, 1, "{fault:?}: {}", out.both());
        assert!(took < BOUND, "{fault:?}: took {took:?}");
        assert!(
            !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
            "{fault:?}: the token leaked"
        );
        for healthy in ["production", "staging"] {
            let path = w.path(&format!("snaps/{healthy}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{fault:?}: {healthy}.json not written ({e})"));
            assert!(!text.contains(TOKEN));
            let snap: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(snap["environment"], healthy);
        }
        assert!(
            !w.path(&format!("snaps/{FAULTY}.json")).exists(),
            "{fault:?}: a snapshot was written for the failed site"
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(&format!("maildrift: error: {FAULTY}: "))),
            "{fault:?}: {}",
            out.both()
        );
        assert!(out.stdout.contains("FAILED"), "{}", out.both());
    }
}
