//! Assembling a report: environment states, the offline checks, DNS and health results,
//! exceptions, and check states judged against the run's threshold.

use crate::baseline::Baseline;
use crate::checks;
use crate::findings::{self, Finding, Severity};
use crate::report::{
    CheckRun, CheckState, EnvState, EnvironmentStatus, EvidenceLink, Report, SCHEMA, Standard,
    Summary, Tool,
};
use crate::snapshot::Snapshot;

/// One environment as collected: its snapshot, or why it could not be read.
#[derive(Debug, Clone)]
pub struct Collected {
    pub name: String,
    pub url: Option<String>,
    /// `live` or the snapshot file it was read from.
    pub origin: String,
    pub result: Result<Snapshot, String>,
}

/// Results of checks that ran outside this module (DNS, health), per environment.
#[derive(Debug, Clone, Default)]
pub struct External {
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub dns: Vec<crate::dns::EnvironmentDns>,
    pub evidence: Vec<EvidenceLink>,
    pub health: Vec<crate::health::EnvironmentHealth>,
    pub relay: Vec<crate::relay::EnvironmentRelay>,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub fail_on: Severity,
    pub now: jiff::Timestamp,
    pub today: jiff::civil::Date,
}

/// Builds the report for `collected` environments.
pub fn build(
    collected: &[Collected],
    baseline: Option<&Baseline>,
    external: External,
    opts: &Options,
) -> Report {
    build_shard(collected, None, baseline, external, opts)
}

/// [`build`] for one shard of a run (`check --shard`): see [`checks::run_shard`].
pub fn build_shard(
    collected: &[Collected],
    shard: Option<checks::ShardScope<'_>>,
    baseline: Option<&Baseline>,
    external: External,
    opts: &Options,
) -> Report {
    let environments: Vec<EnvironmentStatus> = collected
        .iter()
        .map(|c| match &c.result {
            Ok(s) => EnvironmentStatus {
                name: c.name.clone(),
                url: Some(s.url.clone()),
                state: EnvState::Ok,
                error: None,
                source: Some(s.source),
                origin: Some(c.origin.clone()),
                release: Some(s.moodle.release.clone()),
                plugin_version: s.plugin_version.clone(),
                taken_at: Some(s.taken_at),
            },
            Err(e) => EnvironmentStatus {
                name: c.name.clone(),
                url: c.url.clone(),
                state: EnvState::Failed,
                error: Some(e.clone()),
                source: None,
                origin: Some(c.origin.clone()),
                release: None,
                plugin_version: None,
                taken_at: None,
            },
        })
        .collect();
    let snapshots: Vec<&Snapshot> = collected
        .iter()
        .filter_map(|c| c.result.as_ref().ok())
        .collect();

    let offline = checks::run_shard(&snapshots, shard, baseline, opts.today);
    let mut found = offline.findings;
    found.extend(external.findings);
    let mut runs = offline.checks;
    runs.extend(external.checks);
    for c in collected.iter().filter(|c| c.result.is_err()) {
        runs.push(CheckRun {
            check: "collect".into(),
            environment: Some(c.name.clone()),
            state: CheckState::Errored,
            detail: c.result.as_ref().err().cloned(),
        });
    }

    let checked: Vec<String> = snapshots.iter().map(|s| s.environment.clone()).collect();
    let exceptions = match baseline {
        Some(b) => checks::exceptions::apply(&mut found, b, opts.today, &checked),
        None => Vec::new(),
    };
    findings::sort(&mut found);

    // A check fails when a finding of its category for its environment reaches the threshold.
    for run in runs
        .iter_mut()
        .filter(|r| r.state != CheckState::Errored && r.state != CheckState::Skipped)
    {
        let failing = found.iter().any(|f| {
            f.category == run.check
                && f.environment == run.environment
                && f.severity >= opts.fail_on
        });
        run.state = if failing {
            CheckState::Failed
        } else {
            CheckState::Passed
        };
    }
    runs.sort_by(|a, b| {
        a.environment
            .cmp(&b.environment)
            .then(a.check.cmp(&b.check))
    });

    let mut evidence: Vec<EvidenceLink> = baseline
        .map(|b| {
            b.standard
                .evidence
                .iter()
                .map(|e| EvidenceLink {
                    title: e.title.clone(),
                    url: e.url.clone(),
                    environment: e.environment.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    evidence.extend(external.evidence);

    let summary = Summary::of(&found, &environments, opts.fail_on);
    Report {
        schema: SCHEMA.to_string(),
        tool: Tool::default(),
        generated_at: opts.now,
        fail_on: opts.fail_on,
        standard: baseline.map(|b| Standard {
            name: b.standard.name.clone(),
            path: b.path.display().to_string(),
            owner: b.standard.owner.clone(),
            approved_by: b.standard.approved_by.clone(),
            approved_on: b.standard.approved_on,
            review_by: b.standard.review_by,
        }),
        environments,
        checks: runs,
        findings: found,
        exceptions,
        evidence,
        dns: external.dns,
        health: external.health,
        relay: external.relay,
        changes: None,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::snapshot;
    use crate::report::Outcome;

    fn opts(fail_on: Severity) -> Options {
        Options {
            fail_on,
            now: jiff::Timestamp::UNIX_EPOCH,
            today: jiff::civil::date(2026, 11, 29),
        }
    }

    fn good(env: &str) -> Collected {
        let mut values = vec![
            ("noreplyaddress", "noreply@example.edu"),
            ("smtphosts", "relay.example.edu:587"),
            ("smtpsecure", "tls"),
        ];
        if env == "staging" {
            values.push(("divertallemailsto", "sink@example.edu"));
        }
        Collected {
            name: env.into(),
            url: None,
            origin: "live".into(),
            result: Ok(snapshot(env, &values)),
        }
    }

    #[test]
    fn clean_environments_give_a_clean_outcome() {
        let r = build(
            &[good("production")],
            None,
            External::default(),
            &opts(Severity::Error),
        );
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.outcome(), Outcome::Clean);
    }

    #[test]
    fn a_failed_environment_fails_the_run_but_keeps_the_others_findings() {
        let mut stag = good("staging");
        if let Ok(s) = &mut stag.result {
            s.settings.remove("divertallemailsto");
        }
        let broken = Collected {
            name: "test".into(),
            url: None,
            origin: "live".into(),
            result: Err("down".into()),
        };
        let r = build(
            &[stag, broken],
            None,
            External::default(),
            &opts(Severity::Error),
        );
        assert_eq!(r.outcome(), Outcome::Failed);
        assert!(r.findings.iter().any(|f| f.code == "MD305"));
        assert_eq!(r.summary.failed_environments, 1);
    }

    #[test]
    fn threshold_decides_between_drift_and_clean() {
        let prod = good("production");
        let mut stag = good("staging");
        if let Ok(s) = &mut stag.result {
            s.secrets.insert("smtppass".into(), false);
        }
        let warn = build(
            &[prod.clone(), stag.clone()],
            None,
            External::default(),
            &opts(Severity::Warning),
        );
        assert_eq!(warn.outcome(), Outcome::Drift);
        let err = build(
            &[prod, stag],
            None,
            External::default(),
            &opts(Severity::Error),
        );
        assert_eq!(err.outcome(), Outcome::Clean);
        assert!(err.checks.iter().all(|c| c.state == CheckState::Passed));
    }
}
