//! `maildrift init`'s proposals: a first baseline from what the sites and DNS say today, and
//! the configuration that names the sites. Both are plain text with comments for the team to
//! review; the command line (`cli::init`) asks the questions and writes the files.
//!
//! Every value written comes from a site or DNS, so every one is untrusted: values go through
//! [`toml_string`], and anything quoted in a comment through [`comment_text`].

mod baseline;
mod config;

pub use baseline::propose_baseline;
pub use config::{ConfigPlan, EnvironmentPlan, config_text};

use crate::dns::survey::Survey;
use crate::snapshot::Snapshot;

/// One environment as `init` read it.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub snapshot: Snapshot,
    /// What DNS said about it; `None` when DNS was not asked (`--no-dns`).
    pub survey: Option<Survey>,
}

/// A proposed file and what `init` could not decide for the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub text: String,
    /// One line each: what the team must decide (also written as comments in the file).
    pub undecided: Vec<String>,
}

/// A TOML basic string holding `s` exactly, on one line.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` with control characters escaped, so it stays on one line and can't drive a terminal.
pub fn one_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `s` made safe and short for a one-line comment: control characters (a newline would end
/// the comment and let a site write TOML into the file) are escaped, long values cut.
pub fn comment_text(s: &str) -> String {
    const MAX: usize = 60;
    let escaped = one_line(s.trim());
    if escaped.is_empty() {
        "empty".into()
    } else if escaped.chars().count() > MAX {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("`{cut}…`")
    } else {
        format!("`{escaped}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_round_trip_any_value() {
        for v in [
            "plain",
            "quote \" and \\ backslash",
            "line1\nline2\r\n",
            "tab\tand \u{7f} and \u{1b}[31m",
            "ünïcödé",
        ] {
            let doc = format!("v = {}\n", toml_string(v));
            let parsed: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(parsed["v"].as_str(), Some(v), "{doc}");
            assert_eq!(doc.lines().count(), 1);
        }
    }

    #[test]
    fn comment_text_never_breaks_the_line() {
        let c = comment_text("a\nsmtphosts = \"evil\"\r");
        assert!(!c.contains('\n') && !c.contains('\r'), "{c}");
        assert!(comment_text(&"x".repeat(200)).ends_with("…`"));
        assert_eq!(comment_text("  "), "empty");
    }
}
