//! What is new since the previous run: each finding of this run is new or persisting, and the
//! previous run's findings that are gone are listed as resolved.
//!
//! Findings are matched by fingerprint (code, environment, subject), so a reworded message or
//! a value that drifted further is the same open problem. A finding is new again when it got
//! worse (its severity rose — typically its exception expired), so `--fail-on-new` still
//! alerts then. A finding only counts as resolved when this run looked where it was: its
//! environment was read and its check ran. An unreachable site or a shard that does not hold
//! the environment resolves nothing.

use std::collections::HashMap;

use super::{Changes, CheckState, EnvState, PreviousRun, Report, ResolvedFinding};
use crate::findings::{FindingState, Severity};

/// The previous run, as far as the comparison needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    pub run: PreviousRun,
    pub findings: Vec<PriorFinding>,
}

/// One finding of the previous run.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorFinding {
    pub fingerprint: String,
    pub code: String,
    pub name: String,
    pub severity: Severity,
    pub category: String,
    pub environment: Option<String>,
    pub subject: Option<String>,
    pub message: String,
    /// When it was first seen; `None` means "at least since the previous run".
    pub since: Option<jiff::Timestamp>,
}

impl Prior {
    /// The previous run from a JSON report (`--previous`), whose findings' own `since` carry
    /// over; a report without states (schema 1, or a run compared with nothing) dates every
    /// finding from its generation time.
    pub fn from_report(kind: &str, path: &str, report: &Report) -> Prior {
        Prior {
            run: PreviousRun {
                kind: kind.to_string(),
                path: path.to_string(),
                generated_at: report.generated_at,
            },
            findings: report
                .findings
                .iter()
                .map(|f| PriorFinding {
                    fingerprint: crate::findings::fingerprint::of(
                        &f.code,
                        f.environment.as_deref(),
                        f.subject.as_deref(),
                    ),
                    code: f.code.clone(),
                    name: f.name.clone(),
                    severity: f.severity,
                    category: f.category.clone(),
                    environment: f.environment.clone(),
                    subject: f.subject.clone(),
                    message: f.message.clone(),
                    since: f.since,
                })
                .collect(),
        }
    }
}

/// Marks every finding of `report` new or persisting against `prior` (all new without one),
/// lists the resolved ones, and records whether only new findings gate the run.
pub fn apply(report: &mut Report, prior: Option<&Prior>, fail_on_new: bool) {
    let now = report.generated_at;
    // Several findings can share a fingerprint (same code and subject, different wording);
    // each current one consumes one previous one.
    let mut open: HashMap<&str, Vec<usize>> = HashMap::new();
    if let Some(p) = prior {
        for (i, f) in p.findings.iter().enumerate().rev() {
            open.entry(f.fingerprint.as_str()).or_default().push(i);
        }
    }
    let mut matched = vec![false; prior.map_or(0, |p| p.findings.len())];
    let (mut new, mut persisting) = (0, 0);
    for f in &mut report.findings {
        let before = open
            .get_mut(f.fingerprint.as_str())
            .and_then(Vec::pop)
            .and_then(|i| {
                matched[i] = true;
                prior.map(|p| (&p.findings[i], p.run.generated_at))
            });
        match before {
            Some((b, at)) if b.severity >= f.severity => {
                f.state = Some(FindingState::Persisting);
                f.since = Some(b.since.unwrap_or(at));
                persisting += 1;
            }
            _ => {
                f.state = Some(FindingState::New);
                f.since = Some(now);
                new += 1;
            }
        }
    }
    let resolved = match prior {
        None => Vec::new(),
        Some(p) => p
            .findings
            .iter()
            .zip(&matched)
            .filter(|(f, m)| !**m && f.severity > Severity::Info && looked_again(report, f))
            .map(|(f, _)| ResolvedFinding {
                fingerprint: f.fingerprint.clone(),
                code: f.code.clone(),
                name: f.name.clone(),
                severity: f.severity,
                environment: f.environment.clone(),
                subject: f.subject.clone(),
                message: f.message.clone(),
                since: f.since.unwrap_or(p.run.generated_at),
            })
            .collect(),
    };
    report.changes = Some(Changes {
        previous: prior.map(|p| p.run.clone()),
        fail_on_new,
        new,
        persisting,
        resolved,
        latest_changes: Vec::new(),
    });
}

/// Whether this run checked what raised `f`: its environment was read and its check ran.
fn looked_again(report: &Report, f: &PriorFinding) -> bool {
    let Some(env) = f.environment.as_deref() else {
        // Findings about the standard itself: every run checks it when it has one.
        return report.standard.is_some();
    };
    let read = report
        .environments
        .iter()
        .any(|e| e.name == env && e.state == EnvState::Ok);
    let not_run = report.checks.iter().any(|c| {
        c.environment.as_deref() == Some(env)
            && c.check == f.category
            && matches!(c.state, CheckState::Errored | CheckState::Skipped)
    });
    read && !not_run
}

/// The changes of shard reports combined: counts add up, resolved lists join. `None` unless
/// every shard was compared (a mix would make the counts lie).
pub fn merge(all: &[Option<Changes>]) -> Option<Changes> {
    let mut out: Option<Changes> = None;
    for c in all {
        let c = c.as_ref()?;
        match &mut out {
            None => out = Some(c.clone()),
            Some(o) => {
                o.new += c.new;
                o.persisting += c.persisting;
                o.fail_on_new |= c.fail_on_new;
                o.resolved.extend(c.resolved.iter().cloned());
                o.latest_changes.extend(c.latest_changes.iter().cloned());
                if o.previous.is_none() {
                    o.previous.clone_from(&c.previous);
                }
            }
        }
    }
    if let Some(o) = &mut out {
        o.resolved.sort_by(|a, b| {
            a.environment
                .cmp(&b.environment)
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        o.resolved.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Finding, Kind};

    const KIND: Kind = Kind {
        code: "MD101",
        name: "setting-mismatch",
        severity: Severity::Error,
        category: "baseline",
        remedy: "Fix it.",
    };

    fn report(at: &str, findings: Vec<Finding>) -> Report {
        let environments = vec![crate::report::EnvironmentStatus {
            name: "production".into(),
            url: None,
            state: EnvState::Ok,
            error: None,
            source: None,
            origin: None,
            release: None,
            plugin_version: None,
            taken_at: None,
        }];
        let summary = crate::report::Summary::of(&findings, &environments, Severity::Error);
        Report {
            schema: crate::report::SCHEMA.into(),
            tool: crate::report::Tool::default(),
            generated_at: at.parse().unwrap(),
            fail_on: Severity::Error,
            standard: None,
            environments,
            checks: vec![],
            findings,
            exceptions: vec![],
            evidence: vec![],
            dns: vec![],
            health: vec![],
            relay: vec![],
            changes: None,
            summary,
        }
    }

    fn finding(message: &str) -> Finding {
        Finding::new(&KIND, message)
            .env("production")
            .subject("smtphosts")
    }

    #[test]
    fn a_reworded_finding_persists() {
        let before = report("2026-01-01T00:00:00Z", vec![finding("Old wording.")]);
        let mut now = report("2026-01-02T00:00:00Z", vec![finding("New wording.")]);
        apply(
            &mut now,
            Some(&Prior::from_report("report", "r.json", &before)),
            true,
        );
        assert_eq!(now.findings[0].state, Some(FindingState::Persisting));
        assert_eq!(now.outcome(), crate::report::Outcome::Clean);
    }

    #[test]
    fn a_finding_whose_exception_expired_is_new_again() {
        let before = report(
            "2026-01-01T00:00:00Z",
            vec![finding("Waived.").severity(Severity::Info)],
        );
        let mut now = report("2026-01-02T00:00:00Z", vec![finding("Expired.")]);
        apply(
            &mut now,
            Some(&Prior::from_report("report", "r.json", &before)),
            true,
        );
        assert_eq!(now.findings[0].state, Some(FindingState::New));
        assert_eq!(now.outcome(), crate::report::Outcome::Drift);
    }

    #[test]
    fn findings_of_an_unreadable_environment_are_not_resolved() {
        let before = report("2026-01-01T00:00:00Z", vec![finding("Wrong.")]);
        let mut now = report("2026-01-02T00:00:00Z", vec![]);
        now.environments[0].state = EnvState::Failed;
        let prior = Prior::from_report("report", "r.json", &before);
        apply(&mut now, Some(&prior), false);
        assert!(now.changes.as_ref().unwrap().resolved.is_empty());
        now.environments[0].state = EnvState::Ok;
        apply(&mut now, Some(&prior), false);
        assert_eq!(now.changes.as_ref().unwrap().resolved.len(), 1);
    }
}
