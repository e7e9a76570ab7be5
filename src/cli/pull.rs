//! `maildrift pull`: read environments live; print a summary or write snapshots.

use std::path::{Path, PathBuf};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::args::{Global, PullArgs};
use super::exit;
use super::output::{self, emit};
use crate::audit::Collected;
use crate::collect::{self, Target};
use crate::snapshot;

pub async fn run(g: &Global, args: &PullArgs) -> crate::Result<u8> {
    let config = output::load_config(g)?;
    let envs = config.select(&args.environments)?;
    if envs.is_empty() {
        return Err(crate::Error::Usage(
            "no environments configured: add [environments.NAME] to the config".into(),
        ));
    }
    let mut targets: Vec<Target> = envs.into_iter().map(|e| Target::Live(e.clone())).collect();
    if let Some(shard) = &args.shard {
        let (i, n) = crate::report::merge::parse_shard(shard).map_err(crate::Error::Usage)?;
        targets.retain(|t| crate::report::merge::in_shard(t.name(), i, n));
    }
    if let Some(out) = &args.output
        && targets.len() > 1
        && !out.is_dir()
        && out.extension().is_some_and(|e| e == "json")
    {
        return Err(crate::Error::Usage(format!(
            "-o {}: a .json file holds one snapshot, but {} environments are to be pulled; give a directory (snapshots are written as <env>.json)",
            out.display(),
            targets.len()
        )));
    }
    let jobs = args.jobs.or(config.jobs).unwrap_or(collect::DEFAULT_JOBS);
    let collected = collect::collect(
        &targets,
        &collect::Options {
            jobs,
            progress: !g.quiet,
        },
    )
    .await;

    let mut written = Vec::new();
    if let Some(out) = &args.output {
        let single_file =
            collected.len() == 1 && !out.is_dir() && out.extension().is_some_and(|e| e == "json");
        if !single_file {
            std::fs::create_dir_all(out).map_err(|source| crate::Error::Write {
                path: out.clone(),
                source,
            })?;
        }
        for c in &collected {
            if let Ok(s) = &c.result {
                let path = if single_file {
                    out.clone()
                } else {
                    out.join(format!("{}.json", c.name))
                };
                snapshot::io::write(s, &path)?;
                written.push(path);
            }
        }
    }
    let mut text = summary(&collected, &written);
    let mut relay_failed = 0;
    if args.relay {
        let pulled: Vec<crate::config::Environment> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Live(e)
                    if collected
                        .iter()
                        .any(|c| c.name == e.name && c.result.is_ok()) =>
                {
                    Some(e.clone())
                }
                _ => None,
            })
            .collect();
        let now = output::now()?;
        for (name, r) in crate::relay::fetch_many(&pulled, jobs, now).await {
            match r {
                Ok(facts) => {
                    text.push_str(&crate::relay::describe(&facts));
                    if let Some(path) = relay_path(args.output.as_deref(), &name, collected.len()) {
                        if let Some(dir) = path.parent() {
                            std::fs::create_dir_all(dir).map_err(|source| crate::Error::Write {
                                path: dir.to_path_buf(),
                                source,
                            })?;
                        }
                        let mut json = serde_json::to_string_pretty(&facts).map_err(|e| {
                            crate::Error::Usage(format!("cannot serialise the relay facts: {e}"))
                        })?;
                        json.push('\n');
                        emit(&json, Some(&path))?;
                        text.push_str(&format!("wrote {}\n", display(&path)));
                    }
                }
                Err(e) => {
                    relay_failed += usize::from(matches!(e, crate::relay::Unavailable::Failed(_)));
                    eprintln!("maildrift: error: relay probe: {e}");
                }
            }
        }
    }
    emit(&text, None)?;
    // What the plugin could not read (a DKIM key file...) is kept in the snapshot and must be
    // seen now, not only by the next `check` (finding MD311).
    for c in &collected {
        if let Ok(s) = &c.result {
            for w in &s.warnings {
                eprintln!(
                    "maildrift: warning: {}: the plugin warned: {}",
                    c.name,
                    crate::report::render::visible(w)
                );
            }
        }
    }
    let failed = collected.iter().filter(|c| c.result.is_err()).count() + relay_failed;
    for c in collected.iter().filter(|c| c.result.is_err()) {
        if let Err(e) = &c.result {
            eprintln!("maildrift: error: {e}");
        }
    }
    Ok(if failed > 0 { exit::ERROR } else { exit::CLEAN })
}

fn summary(collected: &[Collected], written: &[PathBuf]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(vec![
        "environment",
        "state",
        "Moodle",
        "plugin",
        "relay",
        "noreply",
        "secrets set",
        "DKIM keys",
    ]);
    for c in collected {
        match &c.result {
            Ok(s) => {
                let secrets: Vec<&str> = s
                    .secrets
                    .iter()
                    .filter(|(_, set)| **set)
                    .map(|(n, _)| n.as_str())
                    .collect();
                let keys = s.dkim.iter().filter(|k| k.keyfile).count();
                table.add_row(vec![
                    c.name.clone(),
                    "ok".into(),
                    s.moodle.release.clone(),
                    s.plugin_version.clone().unwrap_or_else(|| "-".into()),
                    non_empty(s.value("smtphosts"), "PHP mail()"),
                    non_empty(s.value("noreplyaddress"), "not set"),
                    if secrets.is_empty() {
                        "none".into()
                    } else {
                        secrets.join(", ")
                    },
                    format!("{keys} of {}", s.dkim.len()),
                ]);
            }
            Err(_) => {
                table.add_row(vec![c.name.clone(), "FAILED (see below)".into()]);
            }
        }
    }
    let mut text = format!("{table}\n");
    for p in written {
        text.push_str(&format!("wrote {}\n", display(p)));
    }
    text
}

/// Where `pull -o` puts an environment's relay facts: `relay/<env>.json` in the snapshot
/// folder (or beside the single snapshot file), so a `*.json` glob over snapshots never
/// picks them up.
fn relay_path(out: Option<&Path>, env: &str, pulled: usize) -> Option<PathBuf> {
    let out = out?;
    let dir = if pulled == 1 && !out.is_dir() && out.extension().is_some_and(|e| e == "json") {
        out.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        out.to_path_buf()
    };
    Some(dir.join("relay").join(format!("{env}.json")))
}

fn non_empty(v: &str, default: &str) -> String {
    if v.trim().is_empty() {
        default.to_string()
    } else {
        v.trim().to_string()
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
