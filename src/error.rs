//! The library's top-level error.
//!
//! Each pipeline stage has its own error enum next to its code; [`Error`] gathers them so the
//! binary has one place (`cli::exit`) that turns any failure into a message and exit code 1.

use std::path::PathBuf;

/// Any failure of a maildrift operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Moodle(#[from] crate::moodle::MoodleError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::io::SnapshotError),
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    #[error(transparent)]
    Dns(#[from] crate::dns::DnsError),
    #[error(transparent)]
    Merge(#[from] crate::report::merge::MergeError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
