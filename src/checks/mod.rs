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
    sender::PLUGIN_WARNING,
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
    run_shard(snapshots, None, baseline, today)
}

/// One shard of a run: the drift check compares `snapshots` with the whole run's reference
/// environment, which another shard owns when `shard` gives it (its findings are that shard's).
/// With `shard.size` the number of environments in the whole run, the drift check runs
/// whenever the whole run has more than one, as it would unsplit.
pub fn run_shard(
    snapshots: &[&Snapshot],
    shard: Option<ShardScope<'_>>,
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
    let drift_runs = match &shard {
        None => snapshots.len() > 1,
        Some(s) => s.size > 1 && !snapshots.is_empty(),
    };
    if drift_runs {
        // The reference first: `drift::reference` must pick it, as the unsplit run would.
        let outside = shard
            .and_then(|s| s.reference)
            .filter(|r| !snapshots.iter().any(|s| s.environment == r.environment));
        let all: Vec<&Snapshot> = outside
            .into_iter()
            .chain(snapshots.iter().copied())
            .collect();
        let mut found = drift::check(&all, baseline);
        if let Some(r) = outside {
            found.retain(|f| f.environment.as_deref() != Some(&r.environment));
        }
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

/// What a shard knows of the whole run (see [`run_shard`]).
#[derive(Debug, Clone, Copy)]
pub struct ShardScope<'a> {
    /// The whole run's drift reference, read by this shard though another one may own it.
    pub reference: Option<&'a Snapshot>,
    /// Environments in the whole run.
    pub size: usize,
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
            warnings: Vec::new(),
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
