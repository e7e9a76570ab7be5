//! `maildrift snapshot import`.

use std::io::Read;

use super::args::{Global, ImportArgs};
use super::exit;
use super::output::{self, emit};
use crate::snapshot::{self, import::ImportMeta, io::SnapshotError};

pub fn import(_g: &Global, args: &ImportArgs) -> crate::Result<u8> {
    if !crate::config::valid_env_name(&args.environment) {
        return Err(crate::Error::Usage(format!(
            "--env {:?}: environment names may use letters, digits, '-' and '_'",
            args.environment
        )));
    }
    let from_stdin = args.input.as_os_str() == "-";
    let text = if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|source| SnapshotError::Read {
                path: "<stdin>".into(),
                source,
            })?;
        s
    } else {
        std::fs::read_to_string(&args.input).map_err(|source| SnapshotError::Read {
            path: args.input.clone(),
            source,
        })?
    };
    let shown = if from_stdin {
        std::path::PathBuf::from("<stdin>")
    } else {
        args.input.clone()
    };
    let meta = ImportMeta {
        environment: args.environment.clone(),
        url: args.url.clone(),
        taken_at: output::now()?,
    };
    let snap = snapshot::import::from_cfg_json(&text, &shown, &meta)?;
    // The input held smtppass in clear; drop it as soon as the snapshot exists.
    drop(text);
    match &args.output {
        Some(path) => {
            snapshot::io::write(&snap, path)?;
            eprintln!(
                "wrote {} ({} mail settings; secrets reduced to set/unset)",
                path.display(),
                snap.settings.len()
            );
        }
        None => emit(&snapshot::io::to_json(&snap), None)?,
    }
    Ok(exit::CLEAN)
}
