//! Collecting snapshots: from files, or live from many Moodle sites at once with a bound on
//! concurrency. A site that fails never stops the others; its error is kept for the report.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::audit::Collected;
use crate::config::Environment;
use crate::moodle::Client;
use crate::snapshot::{self, Snapshot};
use crate::token;

/// Default number of sites read at once: enough to hide network latency for a fleet, few
/// enough to stay polite to shared infrastructure.
pub const DEFAULT_JOBS: usize = 16;

/// Where one environment's settings come from.
#[derive(Debug, Clone)]
pub enum Target {
    /// Read a snapshot file; the environment is named by the caller.
    File { name: String, path: PathBuf },
    /// Pull live through the web service.
    Live(Environment),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::File { name, .. } => name,
            Target::Live(env) => &env.name,
        }
    }
}

/// Options for [`collect`].
#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    /// Show a progress bar on stderr (only honoured when stderr is a terminal).
    pub progress: bool,
}

/// Reads every target, at most `jobs` at a time, and returns results in target order.
/// Warnings (e.g. plain http allowed) are printed to stderr once per site.
pub async fn collect(targets: &[Target], opts: &Options) -> Vec<Collected> {
    let bar = (opts.progress && std::io::stderr().is_terminal() && targets.len() > 1).then(|| {
        let bar = indicatif::ProgressBar::new(targets.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {pos}/{len} sites {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let out = crate::fanout::in_order(targets.to_vec(), opts.jobs, "collection", |target| {
        let bar = bar.clone();
        async move {
            let collected = collect_one(target).await;
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            collected
        }
    })
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.into_iter()
        .zip(targets)
        .map(|(c, t)| {
            // A panicking task is a bug; the environment is still reported, as failed.
            c.unwrap_or_else(|| Collected {
                name: t.name().to_string(),
                url: None,
                origin: "live".into(),
                result: Err(
                    "internal error while reading this environment (see the log above)".into(),
                ),
            })
        })
        .collect()
}

async fn collect_one(target: Target) -> Collected {
    match target {
        Target::File { name, path } => {
            let result = read_file(&name, &path).await;
            Collected {
                url: result.as_ref().ok().map(|s| s.url.clone()),
                origin: path.display().to_string(),
                name,
                result,
            }
        }
        Target::Live(env) => {
            let result = pull(&env).await.map_err(|e| e.to_string());
            Collected {
                name: env.name.clone(),
                url: Some(env.url.to_string()),
                origin: "live".into(),
                result,
            }
        }
    }
}

async fn read_file(name: &str, path: &std::path::Path) -> Result<Snapshot, String> {
    let path = path.to_path_buf();
    let mut snap = tokio::task::spawn_blocking(move || snapshot::io::read(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    // The name the run uses wins over the one stored in the file, so `--snapshot
    // staging=prod-copy.json` checks that copy as staging.
    snap.environment = name.to_string();
    Ok(snap)
}

/// A client for `env` and its token: prints the client's warnings (plain http allowed) and
/// looks the token up off the async workers, since the keyring may block on D-Bus.
pub async fn connect(env: &Environment) -> Result<(Client, crate::token::Token), crate::Error> {
    let client = Client::new(env)?;
    for w in client.warnings() {
        eprintln!("maildrift: warning: {w}");
    }
    let env2 = env.clone();
    let resolved = tokio::task::spawn_blocking(move || token::resolve(&env2))
        .await
        .map_err(|e| crate::Error::Usage(format!("{}: token lookup failed: {e}", env.name)))??;
    Ok((client, resolved.token))
}

/// Resolves the environment's token and pulls its snapshot.
pub async fn pull(env: &Environment) -> Result<Snapshot, crate::Error> {
    let (client, token) = connect(env).await?;
    Ok(client.pull(&token).await?)
}
