//! `maildrift diff A B`: what differs between two environments or snapshot files.

use std::path::{Path, PathBuf};

use super::args::{DiffArgs, Global};
use super::exit;
use super::output::{self, emit};
use crate::collect::{self, Target};
use crate::compare::diff;
use crate::report::render;
use crate::snapshot::Snapshot;

pub async fn run(g: &Global, args: &DiffArgs) -> crate::Result<u8> {
    let needs_config = !looks_like_file(&args.left) || !looks_like_file(&args.right);
    let config = if needs_config {
        Some(output::load_config(g)?)
    } else {
        None
    };
    let target = |arg: &str| -> crate::Result<Target> {
        if looks_like_file(arg) {
            let name = Path::new(arg)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(arg)
                .to_string();
            return Ok(Target::File {
                name,
                path: PathBuf::from(arg),
            });
        }
        let env = config
            .as_ref()
            .ok_or_else(|| {
                crate::Error::Usage(format!(
                    "`{arg}` is neither a snapshot file nor an environment"
                ))
            })?
            .select(&[arg.to_string()])?
            .remove(0);
        Ok(match &env.snapshot {
            Some(path) => Target::File {
                name: env.name.clone(),
                path: path.clone(),
            },
            None => Target::Live(env.clone()),
        })
    };
    let targets = vec![target(&args.left)?, target(&args.right)?];
    if args.relay {
        if !matches!(
            args.format,
            render::Format::Table | render::Format::Markdown
        ) {
            return Err(crate::Error::Usage(
                "--relay adds a section for people: use it with --format table or markdown".into(),
            ));
        }
        if let Some(Target::File { name, .. }) =
            targets.iter().find(|t| matches!(t, Target::File { .. }))
        {
            return Err(crate::Error::Usage(format!(
                "{name} is a snapshot file: --relay needs two live environments (the sites probe their relays)"
            )));
        }
    }
    let mut collected = collect::collect(
        &targets,
        &collect::Options {
            jobs: 2,
            progress: false,
        },
    )
    .await;
    let right = collected.pop().map(|c| c.result);
    let left = collected.pop().map(|c| c.result);
    let (left, right) = match (left, right) {
        (Some(Ok(l)), Some(Ok(r))) => (l, r),
        (l, r) => {
            // Report both failures, not just the first.
            let errors: Vec<String> = [l, r]
                .into_iter()
                .flatten()
                .filter_map(|res: Result<Snapshot, String>| res.err())
                .collect();
            return Err(crate::Error::Usage(errors.join("\nmaildrift: error: ")));
        }
    };
    let d = diff::diff(&left, &right);
    let mut text = render::diff(&d, args.format, &output::stdout_style(g));
    let mut relay_differs = false;
    if args.relay {
        let envs: Vec<crate::config::Environment> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Live(e) => Some(e.clone()),
                Target::File { .. } => None,
            })
            .collect();
        let now = output::now()?;
        let mut got = crate::relay::fetch_many(&envs, 2, now).await;
        let (r, l) = (got.pop(), got.pop());
        let (l, r) = match (l, r) {
            (Some((_, Ok(l))), Some((_, Ok(r)))) => (l, r),
            (l, r) => {
                let errors: Vec<String> = [l, r]
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, res)| res.err().map(|e| e.to_string()))
                    .collect();
                return Err(crate::Error::Usage(errors.join("\nmaildrift: error: ")));
            }
        };
        let diffs = crate::relay::differences(&l, &r);
        relay_differs = !diffs.is_empty();
        text.push_str(&relay_section(
            &l.environment,
            &r.environment,
            &diffs,
            args.format,
        ));
    }
    emit(&text, None)?;
    Ok(if d.is_empty() && !relay_differs {
        exit::CLEAN
    } else {
        exit::DRIFT
    })
}

/// The relay facts that differ, as a table or Markdown section.
fn relay_section(
    left: &str,
    right: &str,
    diffs: &[(String, Option<String>, Option<String>)],
    format: render::Format,
) -> String {
    let md = format == render::Format::Markdown;
    let mut out = if md {
        format!("\n## Relay facts ({left} vs {right})\n\n")
    } else {
        format!("\nRelay facts, as each Moodle server sees its relay ({left} vs {right}):\n")
    };
    if diffs.is_empty() {
        out.push_str(if md {
            "No differences.\n"
        } else {
            "  no differences\n"
        });
        return out;
    }
    if md {
        out.push_str(&format!(
            "| fact | {left} | {right} |\n| --- | --- | --- |\n"
        ));
    }
    for (k, a, b) in diffs {
        let (a, b) = (a.as_deref().unwrap_or("-"), b.as_deref().unwrap_or("-"));
        if md {
            let cell = |v: &str| v.replace('|', "\\|");
            out.push_str(&format!("| {k} | {} | {} |\n", cell(a), cell(b)));
        } else {
            out.push_str(&format!("  {k}\n    - {left}: {a}\n    + {right}: {b}\n"));
        }
    }
    out
}

/// An argument names a file when it has a path separator or a `.json` ending, or exists.
fn looks_like_file(arg: &str) -> bool {
    arg.contains('/') || arg.contains('\\') || arg.ends_with(".json") || Path::new(arg).is_file()
}
