//! Reading health live from many sites, and the health + evidence checks for `check`.

use std::path::Path;

use jiff::Timestamp;

use super::{EnvironmentHealth, HealthPolicy, TestmailStatus, evaluate, evaluate_evidence};
use crate::audit::External;
use crate::baseline::Baseline;
use crate::collect::Target;
use crate::config::Environment;
use crate::evidence::{self, Evidence};
use crate::findings::Finding;
use crate::report::{CheckRun, CheckState, EvidenceLink};

/// Resolves the environment's token and reads its mail health over `days` days.
pub async fn fetch(
    env: &Environment,
    days: u32,
    now: Timestamp,
) -> Result<EnvironmentHealth, crate::Error> {
    let (client, token) = crate::collect::connect(env).await?;
    let answer = client.mail_health(&token, days).await?;
    Ok(EnvironmentHealth::from_mail_health(&env.name, &answer, now))
}

/// [`fetch`] for every environment, at most `jobs` at once; results in input order. A site that
/// fails never stops the others: its error is kept as text.
pub async fn fetch_many(
    envs: &[Environment],
    days: u32,
    jobs: usize,
    now: Timestamp,
) -> Vec<(String, Result<EnvironmentHealth, String>)> {
    let out = crate::fanout::in_order(envs.to_vec(), jobs, "health", |env| async move {
        fetch(&env, days, now).await.map_err(|e| e.to_string())
    })
    .await;
    out.into_iter()
        .zip(envs)
        .map(|(r, e)| {
            (
                e.name.clone(),
                r.unwrap_or_else(|| Err("internal error while reading this environment's health (see the log above)".into())),
            )
        })
        .collect()
}

/// What the health and evidence checks contribute to a `check` report.
#[derive(Debug, Clone, Default)]
pub struct HealthRun {
    pub findings: Vec<Finding>,
    /// One `health` and one `evidence` run per environment.
    pub checks: Vec<CheckRun>,
    /// Figures of every environment whose health was read.
    pub health: Vec<EnvironmentHealth>,
    /// The newest evidence file per environment, for the report's evidence list.
    pub evidence: Vec<EvidenceLink>,
}

impl HealthRun {
    /// Adds everything to the results of the other external checks.
    pub fn merge_into(self, external: &mut External) {
        external.findings.extend(self.findings);
        external.checks.extend(self.checks);
        external.health.extend(self.health);
        external.evidence.extend(self.evidence);
    }
}

/// The health checks (`health`, live environments only; snapshot files are Skipped) and the
/// evidence checks (`evidence`, every environment, from the files in `evidence_dir`) for
/// `check`. The policy comes from the baseline's `[health]` table (defaults without one); an
/// invalid table is the only error. Unreachable sites give an Errored `health` run.
pub async fn health_external(
    targets: &[Target],
    baseline: Option<&Baseline>,
    evidence_dir: &Path,
    jobs: usize,
    now: Timestamp,
) -> crate::Result<HealthRun> {
    let policy = match baseline {
        Some(b) => HealthPolicy::from_baseline(b)?,
        None => HealthPolicy::default(),
    };
    let mut run = HealthRun::default();

    let dir = evidence_dir.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || evidence::load(&dir))
        .await
        .map_err(|e| crate::Error::Usage(format!("reading the evidence folder failed: {e}")))?;
    let (evidence, evidence_error) = match loaded {
        Ok(ev) => (ev, None),
        Err(e) => (
            Evidence {
                dir: evidence_dir.to_path_buf(),
                ..Default::default()
            },
            Some(e.to_string()),
        ),
    };
    for p in &evidence.problems {
        tracing::warn!("evidence file skipped: {p}");
    }

    let live: Vec<Environment> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Live(e) => Some(e.clone()),
            Target::File { .. } => None,
        })
        .collect();
    let fetched = fetch_many(&live, policy.window_days, jobs, now).await;

    for target in targets {
        let name = target.name();
        match target {
            Target::File { path, .. } => run.checks.push(CheckRun {
                check: super::CATEGORY.into(),
                environment: Some(name.to_string()),
                state: CheckState::Skipped,
                detail: Some(format!(
                    "read from snapshot file {}: health needs the live site",
                    path.display()
                )),
            }),
            Target::Live(_) => match fetched.iter().find(|(n, _)| n == name).map(|(_, r)| r) {
                Some(Ok(h)) => {
                    let mut h = h.clone();
                    h.testmail = Some(TestmailStatus::of(&evidence, name));
                    run.findings.extend(evaluate(&h, &policy, now));
                    run.checks.push(CheckRun {
                        check: super::CATEGORY.into(),
                        environment: Some(name.to_string()),
                        state: CheckState::Passed,
                        detail: None,
                    });
                    run.health.push(h);
                }
                Some(Err(e)) => run.checks.push(CheckRun {
                    check: super::CATEGORY.into(),
                    environment: Some(name.to_string()),
                    state: CheckState::Errored,
                    detail: Some(e.clone()),
                }),
                None => {}
            },
        }

        match &evidence_error {
            Some(e) => run.checks.push(CheckRun {
                check: super::EVIDENCE_CATEGORY.into(),
                environment: Some(name.to_string()),
                state: CheckState::Errored,
                detail: Some(e.clone()),
            }),
            None => {
                run.findings
                    .extend(evaluate_evidence(name, &evidence, &policy, now));
                let off = policy.testmail_max_age_days == 0;
                run.checks.push(CheckRun {
                    check: super::EVIDENCE_CATEGORY.into(),
                    environment: Some(name.to_string()),
                    state: if off {
                        CheckState::Skipped
                    } else {
                        CheckState::Passed
                    },
                    detail: off.then(|| {
                        "testmail_max_age_days = 0 in [health]: evidence not required".to_string()
                    }),
                });
                if let Some(s) = evidence.latest(name) {
                    run.evidence.push(link(s));
                }
            }
        }
    }
    Ok(run)
}

fn link(s: &evidence::Stored) -> EvidenceLink {
    let r = &s.record;
    let result = match r.result {
        evidence::SendResult::Sent => "sent",
        evidence::SendResult::Failed => "failed",
    };
    EvidenceLink {
        title: format!(
            "Test mail {} to {} ({result}, {})",
            r.token,
            r.recipient,
            r.sent_at.strftime("%Y-%m-%d %H:%M UTC")
        ),
        url: s.path.display().to_string(),
        environment: Some(r.environment.clone()),
    }
}
