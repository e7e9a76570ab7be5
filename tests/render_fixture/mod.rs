//! A realistic report and snapshot diff shared by the renderer tests.
//!
//! Compiled both as its own (empty) test target and as a module of the renderer tests.
#![allow(dead_code)]

use maildrift::compare::diff::{
    DkimDiff, DkimSide, SCHEMA as DIFF_SCHEMA, SecretDiff, SettingDiff, Side, SnapshotDiff,
};
use maildrift::dns::{DnsAnswer, EnvironmentDns};
use maildrift::findings::{self, Finding, Kind, Severity, Waiver};
use maildrift::report::{
    CheckRun, CheckState, EnvState, EnvironmentStatus, EvidenceLink, ExceptionState,
    ExceptionStatus, Report, SCHEMA, Standard, Summary, Tool,
};
use maildrift::snapshot::Source;

const REVIEW_OVERDUE: Kind = Kind {
    code: "MD001",
    name: "review-overdue",
    severity: Severity::Warning,
    category: "standard",
    remedy: "Have the owner review the standard and update review_by.",
};
const MISMATCH: Kind = Kind {
    code: "MD101",
    name: "setting-mismatch",
    severity: Severity::Error,
    category: "baseline",
    remedy: "Change the setting in Site administration > Server > Email, or record an exception.",
};
const HEADERS: Kind = Kind {
    code: "MD103",
    name: "headers-mismatch",
    severity: Severity::Warning,
    category: "baseline",
    remedy: "Make emailheaders match the standard line for line.",
};
const EXPIRED: Kind = Kind {
    code: "MD110",
    name: "exception-expired",
    severity: Severity::Warning,
    category: "baseline",
    remedy: "Renew the exception in the baseline or bring the setting in line.",
};
const DMARC_WEAK: Kind = Kind {
    code: "MD305",
    name: "dmarc-policy-none",
    severity: Severity::Warning,
    category: "dmarc",
    remedy: "Publish p=quarantine or p=reject once reports show aligned mail.",
};

fn date(s: &str) -> jiff::civil::Date {
    s.parse().expect("fixture date")
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("fixture timestamp")
}

pub fn findings() -> Vec<Finding> {
    let mut all = vec![
        Finding::new(&REVIEW_OVERDUE, "The standard was due for review on 2026-03-01.")
            .subject("review_by")
            .expected("on or after 2026-03-02")
            .actual("2026-03-01"),
        Finding::new(
            &MISMATCH,
            "smtphosts differs from the standard: mail goes to the test catcher.",
        )
        .env("staging")
        .subject("smtphosts")
        .expected("smtp.example.edu:587")
        .actual("mailpit.staging.example.edu:1025"),
        Finding::new(
            &HEADERS,
            "emailheaders has a line the standard does not and lacks one it has.",
        )
        .env("staging")
        .subject("emailheaders")
        .expected("X-Campus: north\nX-Env: production")
        .actual("X-Campus: north\nX-Env: staging\nX-Debug: 1"),
        {
            let mut f = Finding::new(&MISMATCH, "divertallemailsto is set, so no user gets mail.")
                .env("staging")
                .subject("divertallemailsto")
                .expected("")
                .actual("moodle-test@example.edu")
                .severity(Severity::Info);
            f.waived_by = Some(Waiver {
                reason: "Staging must never mail real users".into(),
                owner: "Learning Technology Services".into(),
                expires: "2026-12-31".into(),
                ticket: Some("LTS-4411".into()),
            });
            f
        },
        Finding::new(&MISMATCH, "smtpsecure is empty: mail to the relay is not encrypted.")
            .env("production")
            .subject("smtpsecure")
            .expected("tls")
            .actual(""),
        Finding::new(
            &EXPIRED,
            "The exception for allowedemaildomains expired on 2026-01-31; the difference counts again.",
        )
        .env("production")
        .subject("allowedemaildomains")
        .expected("example.edu\nstaff.example.edu")
        .actual("example.edu\nstaff.example.edu\nalumni.example.org"),
        Finding::new(
            &DMARC_WEAK,
            "The DMARC policy of example.edu is `p=none`: spoofed mail is delivered.",
        )
        .env("production")
        .subject("_dmarc.example.edu")
        .expected("p=quarantine | p=reject")
        .actual("v=DMARC1; p=none; rua=mailto:dmarc@example.edu"),
    ];
    findings::sort(&mut all);
    all
}

fn env_ok(name: &str, source: Source, origin: &str) -> EnvironmentStatus {
    EnvironmentStatus {
        name: name.into(),
        url: Some(format!("https://{name}.moodle.example.edu")),
        state: EnvState::Ok,
        error: None,
        source: Some(source),
        origin: Some(origin.into()),
        release: Some("4.5.8+ (Build: 20260126)".into()),
        plugin_version: match source {
            Source::Plugin => Some("2026020100".into()),
            Source::CfgImport => None,
        },
        taken_at: Some(ts("2026-03-02T07:29:41Z")),
    }
}

fn checks(env: &str, errored: Option<&str>) -> Vec<CheckRun> {
    ["baseline", "sender", "spf", "dkim", "dmarc"]
        .into_iter()
        .map(|check| CheckRun {
            check: check.into(),
            environment: Some(env.into()),
            state: match errored {
                Some(_) => CheckState::Errored,
                None if check == "dkim" && env == "staging" => CheckState::Skipped,
                None => CheckState::Passed,
            },
            detail: match errored {
                Some(e) => Some(e.into()),
                None if check == "dkim" && env == "staging" => {
                    Some("emaildkimselector is not set".into())
                }
                None => None,
            },
        })
        .collect()
}

/// Two environments read, drift in both, a waived and an expired exception.
pub fn report() -> Report {
    let environments = vec![
        env_ok("staging", Source::Plugin, "live"),
        env_ok("production", Source::CfgImport, "snapshots/production.json"),
    ];
    let findings = findings();
    let fail_on = Severity::Warning;
    let mut checks_run = vec![CheckRun {
        check: "standard".into(),
        environment: None,
        state: CheckState::Passed,
        detail: None,
    }];
    checks_run.extend(checks("staging", None));
    checks_run.extend(checks("production", None));
    // Mark the checks that raised findings at or above the threshold as failed, as the
    // checks module does.
    for c in &mut checks_run {
        if findings.iter().any(|f| {
            f.environment == c.environment && f.category == c.check && f.severity >= fail_on
        }) {
            c.state = CheckState::Failed;
        }
    }
    let summary = Summary::of(&findings, &environments, fail_on);
    Report {
        schema: SCHEMA.into(),
        tool: Tool {
            name: "maildrift".into(),
            version: "0.1.0".into(),
        },
        generated_at: ts("2026-03-02T07:30:00Z"),
        fail_on,
        standard: Some(Standard {
            name: "UoE Moodle outgoing mail".into(),
            path: "baseline/mail.toml".into(),
            owner: "Learning Technology Services".into(),
            approved_by: Some("J. Okafor".into()),
            approved_on: Some(date("2025-09-15")),
            review_by: Some(date("2026-03-01")),
        }),
        environments,
        checks: checks_run,
        findings,
        exceptions: vec![
            ExceptionStatus {
                setting: "divertallemailsto".into(),
                environment: Some("staging".into()),
                value: Some("moodle-test@example.edu".into()),
                reason: "Staging must never mail real users".into(),
                owner: "Learning Technology Services".into(),
                expires: date("2026-12-31"),
                ticket: Some("LTS-4411".into()),
                state: ExceptionState::Active,
            },
            ExceptionStatus {
                setting: "allowedemaildomains".into(),
                environment: Some("production".into()),
                value: Some("example.edu\nstaff.example.edu\nalumni.example.org".into()),
                reason: "Alumni office migration".into(),
                owner: "Alumni Relations".into(),
                expires: date("2026-01-31"),
                ticket: None,
                state: ExceptionState::Expired,
            },
            ExceptionStatus {
                setting: "noemailever".into(),
                environment: Some("staging".into()),
                value: Some("1".into()),
                reason: "Load test".into(),
                owner: "Platform team".into(),
                expires: date("2026-06-30"),
                ticket: Some("OPS-77".into()),
                state: ExceptionState::Stale,
            },
        ],
        evidence: vec![
            EvidenceLink {
                title: "Test mail to Gmail, headers (2026-02-28)".into(),
                url: "https://evidence.example.edu/mail/2026-02-28 gmail.eml".into(),
                environment: Some("production".into()),
            },
            EvidenceLink {
                title: "Relay policy".into(),
                url: "https://wiki.example.edu/Mail_(relay)".into(),
                environment: None,
            },
        ],
        dns: vec![
            EnvironmentDns {
                environment: "staging".into(),
                headline: "Mail from noreply@staging.example.edu will fail DMARC: no SPF record authorises mailpit.staging.example.edu and it is not DKIM-signed.".into(),
                answers: vec![DnsAnswer {
                    name: "staging.example.edu".into(),
                    rtype: "TXT".into(),
                    status: "nodata".into(),
                    records: vec![],
                    ttl: None,
                    origin: "dns".into(),
                    detail: None,
                }],
                spf_traces: vec![],
            },
            EnvironmentDns {
                environment: "production".into(),
                headline: "Mail from noreply@example.edu passes DMARC through aligned DKIM (selector moodle2026) and SPF.".into(),
                answers: vec![DnsAnswer {
                    name: "_dmarc.example.edu".into(),
                    rtype: "TXT".into(),
                    status: "noerror".into(),
                    records: vec!["v=DMARC1; p=none; rua=mailto:dmarc@example.edu".into()],
                    ttl: Some(3600),
                    origin: "zone".into(),
                    detail: None,
                }],
                spf_traces: vec![],
            },
        ],
        health: vec![],
        relay: vec![],
        changes: None,
        summary,
    }
}

/// The same run where production could not be read: its checks errored, it has no findings.
pub fn failed_report() -> Report {
    let mut r = report();
    let error =
        "GET https://production.moodle.example.edu/webservice/rest/server.php: connection refused";
    if let Some(p) = r.environments.iter_mut().find(|e| e.name == "production") {
        *p = EnvironmentStatus {
            name: "production".into(),
            url: Some("https://production.moodle.example.edu".into()),
            state: EnvState::Failed,
            error: Some(error.into()),
            source: None,
            origin: None,
            release: None,
            plugin_version: None,
            taken_at: None,
        };
    }
    r.findings
        .retain(|f| f.environment.as_deref() != Some("production"));
    r.checks
        .retain(|c| c.environment.as_deref() != Some("production"));
    r.checks.extend(checks("production", Some(error)));
    r.dns.retain(|d| d.environment != "production");
    r.exceptions
        .retain(|x| x.environment.as_deref() != Some("production"));
    r.summary = Summary::of(&r.findings, &r.environments, r.fail_on);
    r
}

/// A report with nothing wrong: one environment, every check passed.
pub fn clean_report() -> Report {
    let mut r = report();
    r.environments.truncate(1);
    r.findings.clear();
    r.exceptions.clear();
    r.evidence.clear();
    r.checks = checks("staging", None);
    r.dns.truncate(1);
    if let Some(s) = r.standard.as_mut() {
        s.review_by = Some(date("2026-09-30"));
    }
    r.summary = Summary::of(&r.findings, &r.environments, r.fail_on);
    r
}

pub fn snapshot_diff() -> SnapshotDiff {
    let setting =
        |name: &str, l: Option<&str>, r: Option<&str>, rf: bool, multi: bool| SettingDiff {
            name: name.into(),
            left: l.map(Into::into),
            right: r.map(Into::into),
            left_forced: false,
            right_forced: rf,
            multiline: multi,
        };
    SnapshotDiff {
        schema: DIFF_SCHEMA.into(),
        left: Side {
            environment: "staging".into(),
            url: "https://staging.moodle.example.edu".into(),
            release: "4.5.8+ (Build: 20260126)".into(),
            taken_at: ts("2026-03-02T07:29:41Z"),
            dkim_known: true,
        },
        right: Side {
            environment: "production".into(),
            url: "https://production.moodle.example.edu".into(),
            release: "4.5.8+ (Build: 20260126)".into(),
            taken_at: ts("2026-03-02T06:00:00Z"),
            dkim_known: true,
        },
        settings: vec![
            setting(
                "smtphosts",
                Some("mailpit.staging.example.edu:1025"),
                Some("smtp.example.edu:587"),
                true,
                false,
            ),
            setting("smtpsecure", Some(""), Some("tls"), false, false),
            setting(
                "divertallemailsto",
                Some("moodle-test@example.edu"),
                None,
                false,
                false,
            ),
            setting(
                "emailheaders",
                Some("X-Campus: north\nX-Env: staging\nX-Debug: 1"),
                Some("X-Campus: north\nX-Env: production"),
                false,
                true,
            ),
        ],
        secrets: vec![SecretDiff {
            name: "smtppass".into(),
            left: false,
            right: true,
        }],
        dkim: vec![DkimDiff {
            domain: "example.edu".into(),
            left: None,
            right: Some(DkimSide {
                selector: "moodle2026".into(),
                keyfile: true,
                key: "…QIDAQAB8f3kZ2mPq".into(),
            }),
        }],
    }
}

pub fn empty_diff() -> SnapshotDiff {
    let mut d = snapshot_diff();
    d.settings.clear();
    d.secrets.clear();
    d.dkim.clear();
    d
}

/// The fixture run compared with the night before: production's smtpsecure finding is new,
/// the rest persist, and a staging SPF finding of that night is resolved.
pub fn compared_report() -> Report {
    use maildrift::report::changes::{Prior, apply};
    let now = report();
    let mut before = report();
    before.generated_at = ts("2026-03-01T07:30:00Z");
    before.findings.retain(|f| {
        !(f.environment.as_deref() == Some("production")
            && f.subject.as_deref() == Some("smtpsecure"))
    });
    before.findings.push(
        Finding::new(
            &Kind {
                code: "MD401",
                name: "spf-missing",
                severity: Severity::Error,
                category: "spf",
                remedy: "Publish an SPF record.",
            },
            "example.edu has no SPF record.",
        )
        .env("staging")
        .subject("example.edu"),
    );
    let prior = Prior::from_report("report", "nightly/2026-03-01.json", &before);
    let mut r = now;
    apply(&mut r, Some(&prior), true);
    if let Some(c) = r.changes.as_mut() {
        c.latest_changes.push(maildrift::report::LatestChange {
            environment: "production".into(),
            setting: "smtpsecure".into(),
            changed_at: ts("2026-03-02T07:30:00Z"),
            from: Some("tls".into()),
            to: Some("".into()),
        });
    }
    r
}
