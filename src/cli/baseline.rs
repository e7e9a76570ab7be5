//! `maildrift baseline accept`.

use std::io::{BufRead, IsTerminal, Write};

use super::args::{AcceptArgs, Global};
use super::check::targets;
use super::exit;
use super::output::{self, emit};
use crate::baseline::accept::{self, Change};
use crate::baseline::{Baseline, BaselineError};
use crate::collect;
use crate::compare::normalise;
use crate::snapshot::{Snapshot, settings};

pub async fn accept(g: &Global, args: &AcceptArgs) -> crate::Result<u8> {
    let config = if args.snapshots.is_empty() {
        output::load_config(g)?
    } else {
        output::load_config_optional(g)?
    };
    let path = args
        .baseline
        .clone()
        .or_else(|| config.baseline.clone())
        .ok_or_else(|| {
            crate::Error::Usage(
                "which baseline? pass --baseline FILE or set `baseline` in the config".into(),
            )
        })?;
    let text = std::fs::read_to_string(&path).map_err(|source| BaselineError::Read {
        path: path.clone(),
        source,
    })?;
    let baseline = Baseline::parse(&text, &path)?;
    for s in &args.settings {
        if settings::lookup(s).is_none() {
            return Err(crate::Error::Usage(format!(
                "--setting {s}: not a mail setting maildrift knows"
            )));
        }
    }

    let targets = targets(&config, &args.snapshots, &args.environments)?;
    let collected = collect::collect(
        &targets,
        &collect::Options {
            jobs: collect::DEFAULT_JOBS,
            progress: !g.quiet,
        },
    )
    .await;
    let mut snaps: Vec<Snapshot> = Vec::new();
    let mut failures = Vec::new();
    for c in collected {
        match c.result {
            Ok(s) => snaps.push(s),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        // Accepting a partial picture would write a standard nobody checked; change nothing.
        return Err(crate::Error::Usage(format!(
            "{}\nmaildrift: error: the baseline was not changed",
            failures.join("\nmaildrift: error: ")
        )));
    }

    let chosen: Vec<String> = if args.all_mismatches {
        settings::MAIL_SETTINGS
            .iter()
            .map(|s| s.name.to_string())
            .filter(|name| {
                snaps.iter().any(|s| {
                    baseline
                        .expected(&s.environment, name)
                        .is_some_and(|e| !normalise::equal(name, e, s.value(name)))
                })
            })
            .collect()
    } else {
        args.settings.clone()
    };
    let mut changes = Vec::new();
    for name in &chosen {
        if !args.environments.is_empty() {
            for s in &snaps {
                changes.push(Change {
                    setting: name.clone(),
                    environment: Some(s.environment.clone()),
                    value: s.value(name).to_string(),
                    clear_overrides_in: vec![],
                });
            }
            continue;
        }
        let Some(first) = snaps.first() else { continue };
        if let Some(other) = snaps
            .iter()
            .find(|s| !normalise::equal(name, first.value(name), s.value(name)))
        {
            return Err(crate::Error::Usage(format!(
                "{name} differs between {} ({:?}) and {} ({:?}): accept it per environment with --env ENV",
                first.environment,
                first.value(name),
                other.environment,
                other.value(name)
            )));
        }
        changes.push(Change {
            setting: name.clone(),
            environment: None,
            value: first.value(name).to_string(),
            clear_overrides_in: snaps
                .iter()
                .map(|s| s.environment.clone())
                .filter(|e| {
                    baseline
                        .environments
                        .get(e)
                        .is_some_and(|r| r.settings.contains_key(name))
                })
                .collect(),
        });
    }

    let new_text = accept::apply(&text, &path, &changes)?;
    if new_text == text {
        emit(
            &format!(
                "{} already states these values; nothing to change\n",
                path.display()
            ),
            None,
        )?;
        return Ok(exit::CLEAN);
    }
    emit(&accept::unified_diff(&text, &new_text, &path), None)?;
    if !args.yes
        && !confirm(&format!(
            "Write these changes to {}? [y/N] ",
            path.display()
        ))?
    {
        eprintln!("maildrift: the baseline was not changed");
        return Ok(exit::CLEAN);
    }
    crate::output::atomic_write(&path, new_text.as_bytes()).map_err(|source| {
        BaselineError::Write {
            path: path.clone(),
            source,
        }
    })?;
    eprintln!("wrote {}", path.display());
    Ok(exit::CLEAN)
}

/// Asks on the terminal; without one, refuses rather than guessing.
fn confirm(question: &str) -> crate::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(crate::Error::Usage(
            "standard input is not a terminal, so nobody can confirm: pass --yes to write the baseline".into(),
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| crate::Error::Usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
