//! Checks that need no DNS: the standard itself, conformance of each environment to the
//! baseline, drift between environments, and Moodle's sender rules.
//!
//! Each submodule declares the finding kinds it raises; [`KINDS`] lists them all for the
//! catalogue and `docs/findings.md`.

pub mod conformance;
pub mod drift;
pub mod exceptions;
pub mod sender;
pub mod standard;

use crate::baseline::Baseline;
use crate::findings::{Finding, Kind};
use crate::report::{CheckRun, CheckState};
use crate::snapshot::Snapshot;

/// Finding codes raised by the checks in this module.
pub const KINDS: &[Kind] = &[
    standard::REVIEW_OVERDUE,
    exceptions::EXPIRED,
    exceptions::STALE,
    conformance::MISMATCH,
    drift::DRIFT,
    drift::SECRET_DRIFT,
    drift::FORCED_DRIFT,
    drift::RELEASE_DRIFT,
    sender::NOREPLY_INVALID,
    sender::NOREPLY_DOMAIN_NOT_ALLOWED,
    sender::PHP_MAIL,
    sender::PLAINTEXT_RELAY,
    sender::NOT_DIVERTING,
    sender::PRODUCTION_DIVERTING,
    sender::NOEMAILEVER,
    sender::DKIM_KEY_MISSING,
    sender::SMTP_USER_WITHOUT_PASSWORD,
    sender::DIVERT_ADDRESS_INVALID,
];

/// The results of the offline checks for a set of environments.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
}

/// Runs every offline check. `today` decides review dates; exceptions are applied later,
/// over all findings (DNS and health included), by [`exceptions::apply`].
pub fn run(
    snapshots: &[&Snapshot],
    baseline: Option<&Baseline>,
    today: jiff::civil::Date,
) -> Outcome {
    let mut out = Outcome::default();
    if let Some(b) = baseline {
        let found = standard::check(b, today);
        out.checks.push(run_record("standard", None, &found));
        out.findings.extend(found);
    }
    for snap in snapshots {
        if let Some(b) = baseline {
            let found = conformance::check(snap, b);
            out.checks
                .push(run_record("baseline", Some(&snap.environment), &found));
            out.findings.extend(found);
        }
        let found = sender::check(snap, baseline);
        out.checks
            .push(run_record("sender", Some(&snap.environment), &found));
        out.findings.extend(found);
    }
    if snapshots.len() > 1 {
        let found = drift::check(snapshots, baseline);
        for snap in snapshots {
            let own: Vec<Finding> = found
                .iter()
                .filter(|f| f.environment.as_deref() == Some(&snap.environment))
                .cloned()
                .collect();
            out.checks
                .push(run_record("drift", Some(&snap.environment), &own));
        }
        out.findings.extend(found);
    }
    out
}

/// A check record: `Failed` when it raised anything but info. The report recomputes states
/// against the run's threshold once exceptions are applied.
pub fn run_record(check: &str, environment: Option<&str>, found: &[Finding]) -> CheckRun {
    CheckRun {
        check: check.to_string(),
        environment: environment.map(String::from),
        state: if found.is_empty() {
            CheckState::Passed
        } else {
            CheckState::Failed
        },
        detail: None,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Snapshot builders for the checks' unit tests.
    use std::collections::BTreeMap;

    use crate::snapshot::{MoodleVersion, SCHEMA, Setting, Snapshot, Source};

    pub fn snapshot(env: &str, values: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            schema: SCHEMA.into(),
            environment: env.into(),
            url: format!("https://{env}.example.edu"),
            taken_at: jiff::Timestamp::UNIX_EPOCH,
            source: Source::Plugin,
            moodle: MoodleVersion {
                release: "4.5.8+".into(),
                version: "2024100708.05".into(),
            },
            plugin_version: Some("2026112900".into()),
            settings: values
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        Setting {
                            value: v.to_string(),
                            isset: true,
                            forced: false,
                        },
                    )
                })
                .collect(),
            secrets: BTreeMap::from([
                ("smtppass".into(), true),
                ("messageinbound_hostpass".into(), false),
            ]),
            dkim: vec![],
        }
    }
}
