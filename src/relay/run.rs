//! Reading relay facts live from many sites, and the relay check for `check`.

use jiff::Timestamp;

use super::{EnvironmentRelay, RelayPolicy, evaluate};
use crate::audit::External;
use crate::baseline::Baseline;
use crate::collect::Target;
use crate::config::Environment;
use crate::findings::Finding;
use crate::moodle::MoodleError;
use crate::report::{CheckRun, CheckState};

/// Why a site gave no relay facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The plugin on the site predates `local_maildrift_probe_relay`, or the service lacks it.
    OldPlugin(String),
    /// Any other failure, as text.
    Failed(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::OldPlugin(s) | Unavailable::Failed(s) => f.write_str(s),
        }
    }
}

/// Resolves the environment's token and asks the site to probe its relays.
pub async fn fetch(env: &Environment, now: Timestamp) -> Result<EnvironmentRelay, Unavailable> {
    let (client, token) = crate::collect::connect(env)
        .await
        .map_err(|e| Unavailable::Failed(e.to_string()))?;
    match client.probe_relay(&token).await {
        Ok(answer) => Ok(EnvironmentRelay::from_probe(&env.name, &answer, now)),
        // Moodle answers a function it does not know with invalidrecord, and one the service
        // does not contain with an access exception.
        Err(e @ MoodleError::AccessDenied { .. }) => Err(Unavailable::OldPlugin(format!(
            "{}: local_maildrift_probe_relay is not available ({e}); upgrade local_maildrift on the site to probe its relay",
            env.name
        ))),
        Err(MoodleError::PluginMissing { .. }) => Err(Unavailable::OldPlugin(format!(
            "{}: the site's local_maildrift has no local_maildrift_probe_relay; upgrade the plugin to probe its relay",
            env.name
        ))),
        Err(e) => Err(Unavailable::Failed(e.to_string())),
    }
}

/// [`fetch`] for every environment, at most `jobs` at once; results in input order.
pub async fn fetch_many(
    envs: &[Environment],
    jobs: usize,
    now: Timestamp,
) -> Vec<(String, Result<EnvironmentRelay, Unavailable>)> {
    let out = crate::fanout::in_order(envs.to_vec(), jobs, "relay probe", |env| async move {
        fetch(&env, now).await
    })
    .await;
    out.into_iter()
        .zip(envs)
        .map(|(r, e)| {
            (
                e.name.clone(),
                r.unwrap_or_else(|| {
                    Err(Unavailable::Failed(
                        "internal error while probing this environment's relay (see the log above)"
                            .into(),
                    ))
                }),
            )
        })
        .collect()
}

/// What the relay check contributes to a `check` report.
#[derive(Debug, Clone, Default)]
pub struct RelayRun {
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub relay: Vec<EnvironmentRelay>,
}

impl RelayRun {
    /// Adds everything to the results of the other external checks.
    pub fn merge_into(self, external: &mut External) {
        external.findings.extend(self.findings);
        external.checks.extend(self.checks);
        external.relay.extend(self.relay);
    }
}

/// The relay check of `check`: live environments are probed (snapshot files are Skipped, and
/// so is a site whose plugin predates the probe). An invalid `[relay]` table is the only error.
pub async fn relay_external(
    targets: &[Target],
    baseline: Option<&Baseline>,
    jobs: usize,
    now: Timestamp,
) -> crate::Result<RelayRun> {
    let policy = match baseline {
        Some(b) => RelayPolicy::from_baseline(b)?,
        None => RelayPolicy::default(),
    };
    let live: Vec<Environment> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Live(e) => Some(e.clone()),
            Target::File { .. } => None,
        })
        .collect();
    let fetched = fetch_many(&live, jobs, now).await;
    let mut run = RelayRun::default();
    for target in targets {
        let name = target.name().to_string();
        let (state, detail) = match target {
            Target::File { path, .. } => (
                CheckState::Skipped,
                Some(format!(
                    "read from snapshot file {}: the relay probe needs the live site",
                    path.display()
                )),
            ),
            Target::Live(_) => match fetched.iter().find(|(n, _)| *n == name).map(|(_, r)| r) {
                Some(Ok(r)) => {
                    run.findings.extend(evaluate(r, &policy, now));
                    run.relay.push(r.clone());
                    (CheckState::Passed, None)
                }
                Some(Err(Unavailable::OldPlugin(e))) => (CheckState::Skipped, Some(e.clone())),
                Some(Err(Unavailable::Failed(e))) => (CheckState::Errored, Some(e.clone())),
                None => continue,
            },
        };
        run.checks.push(CheckRun {
            check: super::CATEGORY.into(),
            environment: Some(name),
            state,
            detail,
        });
    }
    run.findings.extend(super::check_groups(
        &run.relay,
        &policy.same_relay,
        &policy.separate_relay,
    ));
    Ok(run)
}
