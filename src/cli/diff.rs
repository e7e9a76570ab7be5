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
    emit(
        &render::diff(&d, args.format, &output::stdout_style(g)),
        None,
    )?;
    Ok(if d.is_empty() {
        exit::CLEAN
    } else {
        exit::DRIFT
    })
}

/// An argument names a file when it has a path separator or a `.json` ending, or exists.
fn looks_like_file(arg: &str) -> bool {
    arg.contains('/') || arg.contains('\\') || arg.ends_with(".json") || Path::new(arg).is_file()
}
