//! Every health and evidence threshold checked at, just below and just above its limit, so a
//! comparison moved by one (`>` to `>=`, a limit off by one) fails a test. Mutation testing
//! (scripts/mutants.sh) found such moves surviving the example-based tests.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::model::tests::sample;
use super::{EnvironmentHealth, HealthPolicy, evaluate, evaluate_evidence};
use crate::evidence::{Evidence, Problem, Record, SendResult, Stored};

/// Codes `evaluate` raises for `h` under `p`, at the site's own clock.
fn codes(h: &EnvironmentHealth, p: &HealthPolicy) -> Vec<String> {
    evaluate(h, p, h.generated_at)
        .into_iter()
        .map(|f| f.code)
        .collect()
}

/// A site with nothing to report: every figure well inside the default limits.
fn quiet() -> EnvironmentHealth {
    let mut h = sample();
    h.cron.age_seconds = Some(0);
    h.queue.mail.oldest_due_age_seconds = 0;
    h.queue.all.oldest_due_age_seconds = 0;
    h.queue.mail.failing = 0;
    h.failed_mail.failed = 0;
    h.failed_mail.failure_rate = Some(0.0);
    h.bounces.users_over_threshold = 0;
    h.warnings.clear();
    h
}

/// Whether `code` is raised for the quiet site changed by `change`, under `p`.
fn raised(p: &HealthPolicy, code: &str, change: impl FnOnce(&mut EnvironmentHealth)) -> bool {
    let mut h = quiet();
    change(&mut h);
    codes(&h, p).iter().any(|c| c == code)
}

#[test]
fn the_quiet_site_raises_nothing() {
    assert_eq!(
        codes(&quiet(), &HealthPolicy::default()),
        Vec::<String>::new()
    );
}

#[test]
fn cron_stale_starts_one_second_past_the_limit() {
    let p = HealthPolicy::default();
    let limit = 10 * 60;
    assert!(!raised(&p, "MD801", |h| h.cron.age_seconds = Some(limit - 1)));
    assert!(!raised(&p, "MD801", |h| h.cron.age_seconds = Some(limit)));
    assert!(raised(&p, "MD801", |h| h.cron.age_seconds = Some(limit + 1)));
    // The limit comes from the policy, in minutes.
    let p = HealthPolicy {
        cron_max_age_minutes: 3,
        ..Default::default()
    };
    assert!(!raised(&p, "MD801", |h| h.cron.age_seconds = Some(180)));
    assert!(raised(&p, "MD801", |h| h.cron.age_seconds = Some(181)));
}

#[test]
fn queue_delays_start_one_second_past_the_limit() {
    let p = HealthPolicy::default();
    let limit = 60 * 60;
    for (code, set) in [
        (
            "MD803",
            (|h: &mut EnvironmentHealth, s| h.queue.mail.oldest_due_age_seconds = s)
                as fn(&mut EnvironmentHealth, i64),
        ),
        ("MD802", |h: &mut EnvironmentHealth, s| {
            h.queue.all.oldest_due_age_seconds = s
        }),
    ] {
        assert!(!raised(&p, code, |h| set(h, limit - 1)), "{code}");
        assert!(!raised(&p, code, |h| set(h, limit)), "{code}");
        assert!(raised(&p, code, |h| set(h, limit + 1)), "{code}");
    }
    let p = HealthPolicy {
        queue_max_age_minutes: 2,
        ..Default::default()
    };
    assert!(!raised(&p, "MD803", |h| h
        .queue
        .mail
        .oldest_due_age_seconds = 120));
    assert!(raised(&p, "MD803", |h| h
        .queue
        .mail
        .oldest_due_age_seconds = 121));
}

#[test]
fn one_failing_mail_task_is_reported() {
    let p = HealthPolicy::default();
    assert!(!raised(&p, "MD804", |h| h.queue.mail.failing = 0));
    assert!(raised(&p, "MD804", |h| h.queue.mail.failing = 1));
}

#[test]
fn failed_mail_count_starts_one_past_the_limit() {
    let p = HealthPolicy {
        failed_mail_max: Some(5),
        ..Default::default()
    };
    assert!(!raised(&p, "MD805", |h| h.failed_mail.failed = 4));
    assert!(!raised(&p, "MD805", |h| h.failed_mail.failed = 5));
    assert!(raised(&p, "MD805", |h| h.failed_mail.failed = 6));
    // A limit of 0 allows none; no limit allows any number.
    let zero = HealthPolicy {
        failed_mail_max: Some(0),
        ..Default::default()
    };
    assert!(!raised(&zero, "MD805", |h| h.failed_mail.failed = 0));
    assert!(raised(&zero, "MD805", |h| h.failed_mail.failed = 1));
    let none = HealthPolicy {
        failed_mail_max: None,
        ..Default::default()
    };
    assert!(!raised(&none, "MD805", |h| h.failed_mail.failed = 1_000_000));
}

#[test]
fn failure_rate_starts_just_above_the_limit() {
    let p = HealthPolicy::default(); // 0.02
    assert!(!raised(&p, "MD806", |h| h.failed_mail.failure_rate = Some(0.0199)));
    assert!(!raised(&p, "MD806", |h| h.failed_mail.failure_rate = Some(0.02)));
    assert!(raised(&p, "MD806", |h| h.failed_mail.failure_rate = Some(0.0201)));
    // No rate (nothing logged) is never a finding.
    assert!(!raised(&p, "MD806", |h| h.failed_mail.failure_rate = None));
}

#[test]
fn failure_checks_are_skipped_without_a_log_store() {
    let p = HealthPolicy {
        failed_mail_max: Some(0),
        ..Default::default()
    };
    let c = {
        let mut h = quiet();
        h.failed_mail.log_available = false;
        h.failed_mail.failed = 3;
        h.failed_mail.failure_rate = Some(1.0);
        codes(&h, &p)
    };
    assert_eq!(c, ["MD808"]);
}

#[test]
fn bounce_users_start_one_past_the_limit() {
    let p = HealthPolicy::default(); // 0
    assert!(!raised(&p, "MD807", |h| h.bounces.users_over_threshold = 0));
    assert!(raised(&p, "MD807", |h| h.bounces.users_over_threshold = 1));
    let p = HealthPolicy {
        bounce_users_max: 3,
        ..Default::default()
    };
    assert!(!raised(&p, "MD807", |h| h.bounces.users_over_threshold = 2));
    assert!(!raised(&p, "MD807", |h| h.bounces.users_over_threshold = 3));
    assert!(raised(&p, "MD807", |h| h.bounces.users_over_threshold = 4));
}

#[test]
fn clock_skew_starts_one_second_past_the_limit_either_way() {
    let p = HealthPolicy::default(); // 300 s
    let h = quiet();
    let site = h.generated_at.as_second();
    let skew_raised = |offset: i64| {
        let now = Timestamp::from_second(site - offset).unwrap();
        evaluate(&h, &p, now).iter().any(|f| f.code == "MD809")
    };
    for offset in [299, 300, -299, -300, 0] {
        assert!(!skew_raised(offset), "site {offset} s off");
    }
    for offset in [301, -301] {
        assert!(skew_raised(offset), "site {offset} s off");
    }
    let ahead = evaluate(&h, &p, Timestamp::from_second(site - 301).unwrap());
    assert!(
        ahead
            .iter()
            .any(|f| f.actual.as_deref() == Some("5 min ahead of")),
        "{ahead:?}"
    );
}

#[test]
fn plugin_warnings_other_than_nologstore_become_findings() {
    let p = HealthPolicy::default();
    assert!(raised(&p, "MD810", |h| h.warnings =
        vec!["dkimkey: cannot read the key".into()]));
    assert!(!raised(&p, "MD810", |h| h.warnings =
        vec!["nologstore: none".into()]));
}

// ---- test-mail evidence age (MD901 none, MD902 old, MD903 failed) ----

const NOW: i64 = 1_795_940_000;

fn record(sent_at: i64, result: SendResult) -> Stored {
    let at = Timestamp::from_second(sent_at).unwrap();
    Stored {
        path: PathBuf::from(format!("evidence/production-{sent_at}.json")),
        record: Record {
            schema: crate::evidence::SCHEMA.to_string(),
            environment: "production".into(),
            url: "https://moodle.example.edu".into(),
            recipient: "postmaster@example.edu".into(),
            token: format!("md-{sent_at}"),
            subject: "maildrift test".into(),
            sent_at: at,
            recorded_at: at,
            result,
            error: (result == SendResult::Failed).then(|| "SMTP connect() failed".into()),
            warnings: Vec::new(),
            tool: "maildrift test".into(),
        },
    }
}

fn evidence_codes(records: Vec<Stored>, p: &HealthPolicy) -> Vec<String> {
    let ev = Evidence {
        dir: PathBuf::from("evidence"),
        records,
        problems: Vec::new(),
    };
    evaluate_evidence("production", &ev, p, Timestamp::from_second(NOW).unwrap())
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn evidence_is_old_one_second_past_the_limit() {
    let p = HealthPolicy::default(); // 35 days
    let limit = 35 * 86_400;
    let at = |age: i64| evidence_codes(vec![record(NOW - age, SendResult::Sent)], &p);
    assert!(at(limit - 1).is_empty(), "{:?}", at(limit - 1));
    assert!(at(limit).is_empty(), "{:?}", at(limit));
    assert_eq!(at(limit + 1), ["MD902"]);
    let p = HealthPolicy {
        testmail_max_age_days: 1,
        ..Default::default()
    };
    assert!(evidence_codes(vec![record(NOW - 86_400, SendResult::Sent)], &p).is_empty());
    assert_eq!(
        evidence_codes(vec![record(NOW - 86_401, SendResult::Sent)], &p),
        ["MD902"]
    );
}

#[test]
fn evidence_check_off_at_zero_days_but_unreadable_files_still_named() {
    let off = HealthPolicy {
        testmail_max_age_days: 0,
        ..Default::default()
    };
    assert!(evidence_codes(Vec::new(), &off).is_empty());
    assert!(evidence_codes(vec![record(NOW - 400 * 86_400, SendResult::Sent)], &off).is_empty());
    let ev = Evidence {
        dir: PathBuf::from("evidence"),
        records: Vec::new(),
        problems: vec![Problem {
            path: Path::new("evidence/production-x.json").into(),
            environment: Some("production".into()),
            message: "not JSON".into(),
        }],
    };
    let f = evaluate_evidence(
        "production",
        &ev,
        &off,
        Timestamp::from_second(NOW).unwrap(),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    // At one day the check is on: no evidence at all is a finding.
    let one = HealthPolicy {
        testmail_max_age_days: 1,
        ..Default::default()
    };
    assert!(!evidence_codes(Vec::new(), &one).is_empty());
}

#[test]
fn a_failed_newest_test_mail_is_reported_beside_an_older_success() {
    let p = HealthPolicy::default();
    let c = evidence_codes(
        vec![
            record(NOW - 3600, SendResult::Sent),
            record(NOW - 60, SendResult::Failed),
        ],
        &p,
    );
    assert_eq!(c, ["MD903"]);
    // A failure followed by a success is fine.
    let c = evidence_codes(
        vec![
            record(NOW - 3600, SendResult::Failed),
            record(NOW - 60, SendResult::Sent),
        ],
        &p,
    );
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn policy_ranges_accept_their_ends_and_refuse_one_beyond() {
    let parse = |line: &str| {
        HealthPolicy::parse(
            &format!("schema = \"maildrift.baseline/1\"\n[health]\n{line}\n"),
            Path::new("b.toml"),
        )
    };
    for (key, low, high) in [
        ("window_days", 1, 90),
        ("cron_max_age_minutes", 1, 10_080),
        ("queue_max_age_minutes", 1, 10_080),
        ("testmail_max_age_days", 0, 3_650),
        ("clock_skew_max_seconds", 1, 86_400),
        ("failed_mail_max", 0, i64::MAX),
        ("bounce_users_max", 0, i64::MAX),
    ] {
        assert!(parse(&format!("{key} = {low}")).is_ok(), "{key} = {low}");
        assert!(parse(&format!("{key} = {high}")).is_ok(), "{key} = {high}");
        assert!(
            parse(&format!("{key} = {}", low - 1)).is_err(),
            "{key} = {}",
            low - 1
        );
        if high < i64::MAX {
            assert!(
                parse(&format!("{key} = {}", high + 1)).is_err(),
                "{key} = {}",
                high + 1
            );
        }
    }
    let p = parse("window_days = 90\ncron_max_age_minutes = 10080").unwrap();
    assert_eq!((p.window_days, p.cron_max_age_minutes), (90, 10_080));
    assert!(parse("failure_rate_max = 0.0").is_ok());
    assert!(parse("failure_rate_max = 1.0").is_ok());
    assert!(parse("failure_rate_max = -0.001").is_err());
    assert!(parse("failure_rate_max = 1.001").is_err());
}
