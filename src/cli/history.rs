//! The history store from the command line: recording `check` and `report merge` runs, and
//! `maildrift history` to list runs and setting changes.
//!
//! A store that cannot be used never costs the report: the report is written first, then the
//! error is printed and the run exits 1, so a nightly job notices instead of silently losing
//! its history.

use std::path::PathBuf;

use clap::Args;

use super::args::{ChangesArgs, Global};
use super::exit;
use crate::audit::Collected;
use crate::config::Config;
use crate::history::{HistoryError, RunKind, Store};
use crate::report::Report;
use crate::report::changes::Prior;

/// The store a run records into, or why it could not be opened.
pub struct Recorder {
    enabled: bool,
    store: Option<Store>,
    failure: Option<HistoryError>,
    keep: Option<u32>,
}

impl Recorder {
    /// `--history`, else `history` in the config; nothing when neither is set.
    pub fn open(args: &ChangesArgs, config: &Config) -> Recorder {
        let path = args.history.clone().or_else(|| config.history.clone());
        let keep = args.keep.or(config.history_keep);
        match path {
            None => Recorder {
                enabled: false,
                store: None,
                failure: None,
                keep,
            },
            Some(p) => match Store::open(&p) {
                Ok(store) => Recorder {
                    enabled: true,
                    store: Some(store),
                    failure: None,
                    keep,
                },
                Err(e) => Recorder {
                    enabled: true,
                    store: None,
                    failure: Some(e),
                    keep,
                },
            },
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The last recorded run, for new/persisting/resolved.
    pub fn prior(&mut self, report: &Report) -> Option<Prior> {
        let store = self.store.as_ref()?;
        let started = std::time::Instant::now();
        let result = store.prior(report);
        tracing::info!(took = ?started.elapsed(), "history: previous run read");
        match result {
            Ok(p) => p,
            Err(e) => {
                self.failure = Some(e);
                self.store = None;
                None
            }
        }
    }

    /// Per environment, its latest setting change as of this run (see
    /// [`Store::latest_changes`]).
    pub fn latest_changes(
        &mut self,
        settings: &[(String, Vec<(String, String)>)],
        now: jiff::Timestamp,
    ) -> Vec<crate::report::LatestChange> {
        let Some(store) = self.store.as_ref() else {
            return Vec::new();
        };
        let started = std::time::Instant::now();
        let result = store.latest_changes(settings, now);
        tracing::info!(took = ?started.elapsed(), "history: latest setting changes read");
        match result {
            Ok(changes) => changes
                .into_iter()
                .map(|c| crate::report::LatestChange {
                    environment: c.environment,
                    setting: c.setting,
                    changed_at: c.changed_at,
                    from: c.from,
                    to: c.to,
                })
                .collect(),
            Err(e) => {
                self.failure = Some(e);
                self.store = None;
                Vec::new()
            }
        }
    }

    /// Records the run (after its report was written) and applies retention. `Some(1)` when
    /// the history could not be used; `None` otherwise (the report's outcome stands).
    pub fn record(
        mut self,
        kind: RunKind,
        report: &Report,
        settings: Vec<(String, Vec<(String, String)>)>,
        now: jiff::Timestamp,
    ) -> Option<u8> {
        if !self.enabled {
            return None;
        }
        let result = if let Some(e) = self.failure.take() {
            Err(e)
        } else if let Some(store) = self.store.as_mut() {
            let started = std::time::Instant::now();
            let recorded = store.record(&crate::history::RunInput {
                kind,
                report,
                settings,
            });
            tracing::info!(took = ?started.elapsed(), "history: run recorded");
            recorded.and_then(|_| match self.keep {
                Some(days) => {
                    let started = std::time::Instant::now();
                    let pruned = store.prune(days, now).map(|_| ());
                    tracing::info!(took = ?started.elapsed(), days, "history: retention applied");
                    pruned
                }
                None => Ok(()),
            })
        } else {
            return None;
        };
        match result {
            Ok(()) => None,
            Err(e) => {
                eprintln!(
                    "maildrift: error: {e} (the report was written; this run is not recorded)"
                );
                Some(exit::ERROR)
            }
        }
    }
}

/// Every setting each readable environment reported, secrets only as set / not set.
pub fn settings_of(collected: &[Collected]) -> Vec<(String, Vec<(String, String)>)> {
    collected
        .iter()
        .filter_map(|c| c.result.as_ref().ok().map(|s| (c, s)))
        .map(|(c, s)| {
            let mut values: Vec<(String, String)> = s
                .settings
                .iter()
                .map(|(name, v)| (name.clone(), v.value.clone()))
                .collect();
            values.extend(s.secrets.iter().map(|(name, set)| {
                let shown = if *set { "(set)" } else { "(not set)" };
                (name.clone(), shown.to_string())
            }));
            (c.name.clone(), values)
        })
        .collect()
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs that read this environment, and only its setting changes
    #[arg(value_name = "ENV")]
    pub environment: Option<String>,
    /// Only changes of this setting (with ENV: when it last changed, or since when it is unchanged)
    #[arg(short, long, value_name = "NAME")]
    pub setting: Option<String>,
    /// The history store [default: `history` in the config]
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// How many runs and changes to list
    #[arg(short = 'n', long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

pub fn run(g: &Global, args: &HistoryArgs) -> crate::Result<u8> {
    let config = super::output::load_config_optional(g)?;
    let Some(path) = args.history.clone().or_else(|| config.history.clone()) else {
        return Err(crate::Error::Usage(
            "no history store: pass --history FILE or set `history = \"path\"` in the config"
                .into(),
        ));
    };
    if !path.exists() {
        // Opening would create an empty store; a typo must not look like "no runs yet".
        return Err(crate::Error::Usage(format!(
            "no history store at {}: runs are recorded there by `maildrift check --history {}`",
            path.display(),
            path.display()
        )));
    }
    let store = Store::open(&path)?;
    let env = args.environment.as_deref();
    let setting = args.setting.as_deref();
    let text = render(&store, env, setting, args.limit)?;
    super::output::emit(&text, None)?;
    Ok(exit::CLEAN)
}

fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn shown(v: Option<&str>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some("") => "(empty)".to_string(),
        Some(v) => format!("`{}`", crate::report::render::visible(v)),
    }
}

/// The listing: runs (unless one setting is asked about), then setting changes.
fn render(
    store: &Store,
    env: Option<&str>,
    setting: Option<&str>,
    limit: usize,
) -> crate::Result<String> {
    let mut out = Vec::new();
    if setting.is_none() {
        let runs = store.runs(env, limit)?;
        out.push(format!("Runs, newest first ({}):", runs.len()));
        if runs.is_empty() {
            out.push("  none recorded".to_string());
        }
        for r in &runs {
            let changes = match (r.new, r.resolved) {
                (Some(n), Some(res)) => format!(", {n} new, {res} resolved"),
                _ => String::new(),
            };
            out.push(format!(
                "  #{} {} {} {}: {} environments, {} findings{changes}",
                r.id,
                when(r.generated_at),
                r.kind,
                r.outcome,
                r.environments,
                r.findings
            ));
        }
        out.push(String::new());
    }
    let changes = store.setting_changes(env, setting, limit)?;
    out.push(format!(
        "Setting changes, newest first ({}):",
        changes.len()
    ));
    if changes.is_empty() {
        match (env, setting) {
            (Some(e), Some(s)) => match store.first_seen(e, s)? {
                Some((at, value)) => out.push(format!(
                    "  {s} in {e} is unchanged since it was first recorded on {}: {}",
                    when(at),
                    shown(value.as_deref())
                )),
                None => out.push(format!("  {s} was never recorded for {e}")),
            },
            _ => out.push("  none recorded".to_string()),
        }
    }
    for c in &changes {
        out.push(format!(
            "  {} {} {}: {} -> {}",
            when(c.changed_at),
            crate::report::render::visible(&c.environment),
            crate::report::render::visible(&c.setting),
            shown(c.from.as_deref()),
            shown(c.to.as_deref())
        ));
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}
