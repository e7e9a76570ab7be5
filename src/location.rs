//! Source locations for error messages about files the user wrote (config, baseline, zones).
//!
//! A leaf module: every parser that reports `file:line:col` depends on it, and it depends on
//! nothing of ours, so no error type has to reach into another stage to point at a line.

use std::fmt;

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
