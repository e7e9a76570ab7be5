//! The report: everything one `maildrift check` run found, in one serialisable value.
//!
//! Serialised as JSON with `"schema": "maildrift.report/2"`; every renderer works from it, and
//! `maildrift report merge` combines several of them (one per shard) into one. Version 2 added
//! each finding's `fingerprint`, `state` and `since` and the report's `changes`; version 1
//! reports are still read (fingerprints are recomputed, there are no states).

use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Severity};
use crate::snapshot::Source;

/// Schema identifier written into every JSON report.
pub const SCHEMA: &str = "maildrift.report/2";

/// Older schemas this version still reads (as `--previous` or for `report merge`).
pub const READABLE_SCHEMAS: &[&str] = &[SCHEMA, "maildrift.report/1"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub generated_at: jiff::Timestamp,
    /// Findings at or above this severity make the run exit 2.
    pub fail_on: Severity,
    /// The standard the environments were checked against; `None` without a baseline.
    pub standard: Option<Standard>,
    /// Every environment the run tried, in config order, including the ones that failed.
    pub environments: Vec<EnvironmentStatus>,
    /// Which checks ran for which environment (one JUnit test case each).
    pub checks: Vec<CheckRun>,
    /// All findings, sorted by [`crate::findings::sort`].
    pub findings: Vec<Finding>,
    /// Every exception in the baseline and what became of it.
    pub exceptions: Vec<ExceptionStatus>,
    /// Links to evidence the standard refers to (mail logs, test-mail proofs).
    pub evidence: Vec<EvidenceLink>,
    /// DNS results per environment, with every answer as evidence.
    pub dns: Vec<crate::dns::EnvironmentDns>,
    /// Mail health per live environment (cron, queue, failed mail, test-mail evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<crate::health::EnvironmentHealth>,
    /// What each live environment's relays offered the Moodle server (`local_maildrift_probe_relay`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay: Vec<crate::relay::EnvironmentRelay>,
    /// What is new and what was resolved since the previous run; `None` when the run was
    /// compared with none (no `--previous`, no history, no `--fail-on-new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    pub summary: Summary,
}

/// The comparison of this run's findings with the previous run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// The run compared with; `None` when there was none (the first run: every finding is new).
    pub previous: Option<PreviousRun>,
    /// With `--fail-on-new`, only new findings at or above `fail_on` make the run exit 2.
    pub fail_on_new: bool,
    /// Findings not in the previous run (or there at a lower severity).
    pub new: usize,
    /// Findings also in the previous run.
    pub persisting: usize,
    /// Findings of the previous run (warnings and errors) that are gone, in environments and
    /// checks this run did check.
    pub resolved: Vec<ResolvedFinding>,
    /// From a history store: per environment, the latest change of a setting's value (all of
    /// them when several changed in this very run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_changes: Vec<LatestChange>,
}

/// When a setting's value last changed in an environment, and from what to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestChange {
    pub environment: String,
    pub setting: String,
    pub changed_at: jiff::Timestamp,
    /// `None`: the setting was not reported before.
    pub from: Option<String>,
    /// `None`: the setting is no longer reported.
    pub to: Option<String>,
}

/// Where the previous run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousRun {
    /// `report` (a `--previous` JSON file) or `history` (the last run in the history store).
    pub kind: String,
    /// The report file or history store.
    pub path: String,
    pub generated_at: jiff::Timestamp,
}

/// A finding of the previous run that this run no longer raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedFinding {
    pub fingerprint: String,
    pub code: String,
    pub name: String,
    pub severity: Severity,
    pub environment: Option<String>,
    pub subject: Option<String>,
    /// Its message when last seen.
    pub message: String,
    /// When it was first seen.
    pub since: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "maildrift".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Who owns the standard and when it must be reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standard {
    pub name: String,
    /// Baseline file as given on the command line.
    pub path: String,
    pub owner: String,
    pub approved_by: Option<String>,
    pub approved_on: Option<jiff::civil::Date>,
    pub review_by: Option<jiff::civil::Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvState {
    /// Its settings were read (live or from a snapshot).
    Ok,
    /// It could not be read; `error` says why. Its checks did not run.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    pub name: String,
    pub url: Option<String>,
    pub state: EnvState,
    pub error: Option<String>,
    pub source: Option<Source>,
    /// Where the settings came from: "live" or the snapshot file.
    pub origin: Option<String>,
    pub release: Option<String>,
    pub plugin_version: Option<String>,
    pub taken_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    /// Ran and raised nothing at or above the threshold.
    Passed,
    /// Ran and raised at least one finding at or above the threshold.
    Failed,
    /// Could not run (environment unreachable, DNS could not be asked).
    Errored,
    /// Not applicable (e.g. DNS checks with --no-dns).
    Skipped,
}

/// One check for one environment (or for the standard itself when `environment` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    /// The finding category this check raises, e.g. `baseline`, `drift`, `sender`, `spf`.
    pub check: String,
    pub environment: Option<String>,
    pub state: CheckState,
    /// Why it errored or was skipped.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionState {
    /// In force and matching a real difference.
    Active,
    /// Past its expiry date: the difference it covered is a finding again.
    Expired,
    /// In force but nothing differs any more: remove it from the baseline.
    Stale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionStatus {
    pub setting: String,
    pub environment: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: jiff::civil::Date,
    pub ticket: Option<String>,
    pub state: ExceptionState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLink {
    pub title: String,
    pub url: String,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub info: usize,
    /// Findings an active exception downgraded to info (counted in `info` too).
    pub waived: usize,
    pub environments: usize,
    pub failed_environments: usize,
    /// Findings at or above `fail_on`.
    pub failing: usize,
}

impl Summary {
    pub fn of(findings: &[Finding], environments: &[EnvironmentStatus], fail_on: Severity) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            info: count(Severity::Info),
            waived: findings.iter().filter(|f| f.waived_by.is_some()).count(),
            environments: environments.len(),
            failed_environments: environments
                .iter()
                .filter(|e| e.state == EnvState::Failed)
                .count(),
            failing: findings.iter().filter(|f| f.severity >= fail_on).count(),
        }
    }
}

/// What a run means for its exit code: 0 clean, 2 drift, 1 the run itself failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Drift,
    Failed,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Failed => 1,
            Outcome::Drift => 2,
        }
    }
}

impl Report {
    /// Findings that make the run exit 2: those at or above `fail_on`, and with
    /// `--fail-on-new` only the new ones among them.
    pub fn gating_findings(&self) -> usize {
        self.findings.iter().filter(|f| self.gates(f)).count()
    }

    /// Whether `finding` makes the run exit 2: at or above `fail_on`, and new when the run
    /// was asked to fail on new findings only. Every renderer that marks findings as
    /// failing (JUnit) asks this, so no view is redder or greener than the exit code.
    pub fn gates(&self, finding: &crate::findings::Finding) -> bool {
        finding.severity >= self.fail_on
            && match &self.changes {
                Some(c) if c.fail_on_new => {
                    finding.state == Some(crate::findings::FindingState::New)
                }
                _ => true,
            }
    }

    /// A failed environment or an errored check makes the run fail (1) even when other
    /// environments drifted: the report is incomplete, and a gate must not pass on it.
    pub fn outcome(&self) -> Outcome {
        if self.summary.failed_environments > 0
            || self.checks.iter().any(|c| c.state == CheckState::Errored)
        {
            Outcome::Failed
        } else if self.gating_findings() > 0 {
            Outcome::Drift
        } else {
            Outcome::Clean
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report on one environment in `state` with the given check states and no findings.
    fn report(state: EnvState, checks: &[CheckState]) -> Report {
        let environments = vec![EnvironmentStatus {
            name: "production".into(),
            url: None,
            state,
            error: None,
            source: None,
            origin: None,
            release: None,
            plugin_version: None,
            taken_at: None,
        }];
        let checks = checks
            .iter()
            .map(|&state| CheckRun {
                check: "spf".into(),
                environment: Some("production".into()),
                state,
                detail: None,
            })
            .collect();
        Report {
            schema: SCHEMA.into(),
            tool: Tool::default(),
            generated_at: jiff::Timestamp::UNIX_EPOCH,
            fail_on: Severity::Error,
            standard: None,
            summary: Summary::of(&[], &environments, Severity::Error),
            environments,
            checks,
            findings: vec![],
            exceptions: vec![],
            evidence: vec![],
            dns: vec![],
            health: vec![],
            relay: vec![],
            changes: None,
        }
    }

    #[test]
    fn a_failed_environment_alone_fails_the_run() {
        // A shard report read back by `report merge` need not carry the errored checks.
        let r = report(EnvState::Failed, &[]);
        assert_eq!(r.outcome(), Outcome::Failed);
    }

    #[test]
    fn an_errored_check_alone_fails_the_run_even_when_every_environment_was_read() {
        let r = report(EnvState::Ok, &[CheckState::Passed, CheckState::Errored]);
        assert_eq!(r.outcome(), Outcome::Failed);
        let r = report(EnvState::Ok, &[CheckState::Passed, CheckState::Skipped]);
        assert_eq!(r.outcome(), Outcome::Clean);
    }

    #[test]
    fn outcome_codes_are_0_clean_2_drift_1_failed() {
        assert_eq!(Outcome::Clean.code(), 0);
        assert_eq!(Outcome::Drift.code(), 2);
        assert_eq!(Outcome::Failed.code(), 1);
    }
}
