//! Reading and writing snapshot files.

use std::path::{Path, PathBuf};

use super::{SCHEMA, Snapshot};
use crate::location::Location;
use crate::output::atomic_write;

/// Why a snapshot file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read snapshot {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{location}: not a maildrift snapshot: {message}", path.display())]
    Parse {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{}: snapshot schema `{found}` is not supported (this maildrift reads `{SCHEMA}`); pull or import it again with this version", path.display())]
    Schema { path: PathBuf, found: String },
    #[error("cannot write snapshot {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Import { path: PathBuf, message: String },
}

/// Reads and validates a snapshot file.
pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses snapshot JSON; `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<Snapshot, SnapshotError> {
    // Check the schema first so an old or foreign file gets a clear message, not a field error.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| json_error(text, path, &e))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(SnapshotError::Schema {
                path: path.to_path_buf(),
                found: other.to_string(),
            });
        }
        None => {
            return Err(SnapshotError::Parse {
                path: path.to_path_buf(),
                location: Location { line: 1, column: 1 },
                message: format!("no \"schema\": \"{SCHEMA}\" field"),
            });
        }
    }
    serde_json::from_str(text).map_err(|e| json_error(text, path, &e))
}

fn json_error(_text: &str, path: &Path, e: &serde_json::Error) -> SnapshotError {
    SnapshotError::Parse {
        path: path.to_path_buf(),
        location: Location {
            line: e.line().max(1),
            column: e.column().max(1),
        },
        message: e.to_string(),
    }
}

/// Serialises a snapshot as pretty JSON with a trailing newline.
pub fn to_json(snapshot: &Snapshot) -> String {
    let mut text = serde_json::to_string_pretty(snapshot).unwrap_or_else(|_| String::from("{}"));
    text.push('\n');
    text
}

/// Writes a snapshot atomically: readers never see a half-written file.
pub fn write(snapshot: &Snapshot, path: &Path) -> Result<(), SnapshotError> {
    atomic_write(path, to_json(snapshot).as_bytes()).map_err(|source| SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_schema_is_named_in_the_error() {
        let err = parse(r#"{"schema":"maildrift.snapshot/9"}"#, Path::new("x.json")).unwrap_err();
        assert!(err.to_string().contains("maildrift.snapshot/9"), "{err}");
    }

    #[test]
    fn truncated_json_gives_line_and_column() {
        let err = parse(
            "{\n  \"schema\": \"maildrift.snapshot/1\",\n  \"environment\": ",
            Path::new("x.json"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("x.json:3:"), "{err}");
    }
}
