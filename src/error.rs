//! The library's top-level error and source locations for error messages.
//!
//! Each pipeline stage has its own error enum next to its code; [`Error`] gathers them so the
//! binary has one place (`cli::exit`) that turns any failure into a message and exit code 1.

use std::fmt;
use std::path::PathBuf;

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Location {
    /// The line and column of a byte offset in `text`.
    pub fn at(text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }

    /// Where a TOML parse error points, if it points anywhere.
    pub fn from_toml(text: &str, err: &toml::de::Error) -> Option<Location> {
        err.span().map(|span| Location::at(text, span.start))
    }
}

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
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns_from_one() {
        let text = "a = 1\nbb = x\n";
        assert_eq!(Location::at(text, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::at(text, 11), Location { line: 2, column: 6 });
    }
}
