//! The run history: an SQLite file (bundled, no system library) that `check` and
//! `report merge` record each run into, so later runs can say what is new, when a setting last
//! changed, and how mail health went month by month.
//!
//! Off unless configured (`history = "path"` in the config) or `--history FILE` is given.
//!
//! What a run stores, kept small for a nightly fleet of hundreds of sites:
//! - the run (time, kind, outcome, counts) and per environment its state, release, check
//!   states (`spf=passed,…`) and DNS headline;
//! - findings as *episodes*: one row per fingerprint from the run it appeared in to the last run
//!   that still had it, so a finding open for a year is one row, not 365;
//! - settings as *changes*: a row only when an environment's value differs from the last one
//!   recorded (the first row per setting is its first sight);
//! - the health figures the monthly metrics are computed from.
//!
//! Concurrency: WAL journal, a 30 s busy timeout and one `BEGIN IMMEDIATE` transaction per run,
//! so two runs at once serialise instead of failing or interleaving. A store whose
//! `user_version` is newer than this program reads, or a damaged file, is an error the caller
//! reports after the report has been written.

pub mod metrics;
mod schema;
mod settings;
mod store;

pub use metrics::{KINDS, Month, MonthFigures};
pub use settings::SettingChange;
pub use store::{EnvironmentLatest, RunInput, RunKind, RunSummary, Store};

use std::path::PathBuf;

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot open the history store {}: {source}; check the path and its permissions", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the history store {} was written by a newer maildrift (store version {found}, this one reads up to {supported}): upgrade maildrift, or point --history at another file",
        path.display()
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "the history store {} is damaged or not a maildrift history ({message}): move it aside; the next run starts a new one",
        path.display()
    )]
    Damaged { path: PathBuf, message: String },
    #[error("the history store {}: {source}", path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl HistoryError {
    /// Classifies an SQLite error: a file that is not a database or is corrupt is "damaged".
    fn from_sql(path: &std::path::Path, source: rusqlite::Error) -> HistoryError {
        use rusqlite::ErrorCode;
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => HistoryError::Damaged {
                path: path.to_path_buf(),
                message: source.to_string(),
            },
            _ => HistoryError::Sql {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}
