//! Generated nightly runs of a fleet, for the year-of-history test and benchmark: each night a
//! report as `check` would build it (environments, checks, findings, health figures, DNS
//! headline) and every environment's settings.
//!
//! The fleet is deterministic: `site-001` has a bad month of failed mail (June), `site-002`
//! a month of slow queues (September), a third of the sites carry a DMARC finding all year,
//! every site has a finding that comes and goes weekly, and `smtphosts` of every tenth site
//! changes every 90 nights.

#![allow(dead_code)]

use maildrift::findings::{Finding, Kind, Severity};
use maildrift::health::EnvironmentHealth;
use maildrift::report::{
    CheckRun, CheckState, EnvState, EnvironmentStatus, Report, SCHEMA, Summary, Tool,
};

pub const DMARC: Kind = Kind {
    code: "MD604",
    name: "dmarc-policy-weak",
    severity: Severity::Warning,
    category: "dmarc",
    remedy: "Raise p=.",
};
pub const QUEUE: Kind = Kind {
    code: "MD802",
    name: "adhoc-queue-delayed",
    severity: Severity::Warning,
    category: "health",
    remedy: "Add runners.",
};

/// Night 0 of the generated year: 2026-01-01 02:00 UTC.
pub fn night_time(night: u32) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_767_232_800 + i64::from(night) * 86_400).expect("in range")
}

pub fn name(i: usize) -> String {
    format!("site-{i:03}")
}

fn month_of(night: u32) -> i8 {
    night_time(night)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .month()
}

fn health(env: usize, night: u32, at: jiff::Timestamp) -> EnvironmentHealth {
    let month = month_of(night);
    let failed = if env == 1 && month == 6 {
        400
    } else {
        3 + (env as u64 % 5)
    };
    let oldest_due_age = if env == 2 && month == 9 {
        3 * 3600
    } else {
        120
    };
    let now = at.as_second();
    let answer = serde_json::json!({
        "generatedat": now,
        "days": 7,
        "cron": {"lastcronstart": now - 30, "lastcroninterval": 60},
        "adhoc": {"pending": 4, "duenow": 1, "oldestdue": now - oldest_due_age, "failing": 0, "maxfaildelay": 0},
        "mail": {"pending": 2, "duenow": 1, "oldestdue": now - oldest_due_age, "failing": 0, "maxfaildelay": 0},
        "mailtasks": ["\\core\\task\\send_email"],
        "failedmail": {"logavailable": true, "count": failed, "lastfailure": now - 3600, "recent": [], "messagesent": 7000},
        "bounces": {"handlebounces": false, "minbounces": 10, "bounceratio": ".20", "usersoverthreshold": 0},
        "warnings": []
    });
    let parsed: maildrift::moodle::protocol::MailHealth =
        serde_json::from_value(answer).expect("a valid plugin answer");
    EnvironmentHealth::from_mail_health(&name(env), &parsed, at)
}

/// The report of `night` for a fleet of `sites`.
pub fn report(sites: usize, night: u32) -> Report {
    let at = night_time(night);
    let mut environments = Vec::with_capacity(sites);
    let mut checks = Vec::new();
    let mut findings = Vec::new();
    let mut healths = Vec::new();
    for i in 0..sites {
        let env = name(i);
        environments.push(EnvironmentStatus {
            name: env.clone(),
            url: Some(format!("https://{env}.example.edu")),
            state: EnvState::Ok,
            error: None,
            source: None,
            origin: Some("live".into()),
            release: Some("4.5.8+ (Build: 20260126)".into()),
            plugin_version: Some("2026112900".into()),
            taken_at: Some(at),
        });
        for check in [
            "baseline", "drift", "sender", "spf", "dkim", "dmarc", "health",
        ] {
            checks.push(CheckRun {
                check: check.into(),
                environment: Some(env.clone()),
                state: CheckState::Passed,
                detail: None,
            });
        }
        if i % 3 == 0 {
            findings.push(
                Finding::new(&DMARC, format!("DMARC for {env}.example.edu is p=none."))
                    .env(&env)
                    .subject(format!("_dmarc.{env}.example.edu")),
            );
        }
        if (night + i as u32) % 7 < 3 {
            findings.push(
                Finding::new(&QUEUE, "The oldest ad-hoc task has waited 75 minutes.")
                    .env(&env)
                    .subject("adhoc queue"),
            );
        }
        healths.push(health(i, night, at));
    }
    maildrift::findings::sort(&mut findings);
    let summary = Summary::of(&findings, &environments, Severity::Error);
    Report {
        schema: SCHEMA.into(),
        tool: Tool::default(),
        generated_at: at,
        fail_on: Severity::Error,
        standard: None,
        environments,
        checks,
        findings,
        exceptions: vec![],
        evidence: vec![],
        dns: vec![],
        health: healths,
        relay: vec![],
        changes: None,
        summary,
    }
}

/// Every site's settings on `night` (31 of them, as a Moodle reports its mail settings).
pub fn settings(sites: usize, night: u32) -> Vec<(String, Vec<(String, String)>)> {
    (0..sites)
        .map(|i| {
            let mut values: Vec<(String, String)> = (0..28)
                .map(|k| (format!("setting{k:02}"), format!("value-{k}")))
                .collect();
            let relay = if i % 10 == 0 { night / 90 } else { 0 };
            values.push(("smtphosts".into(), format!("relay{relay}.example.edu:587")));
            values.push(("smtppass".into(), "(set)".into()));
            values.push((
                "noreplyaddress".into(),
                format!("noreply@{}.example.edu", name(i)),
            ));
            (name(i), values)
        })
        .collect()
}
