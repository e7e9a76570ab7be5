//! Value normalisation: two values compare equal exactly when Moodle would treat them alike.
//!
//! The rules, per [`ValueKind`]:
//! - every value: surrounding white space is ignored (Moodle trims admin input);
//! - `Email`: compared case-insensitively (domains are, and Moodle lower-cases addresses it stores);
//! - `List`: split on Moodle's separators, entries trimmed, empty entries dropped, compared as a
//!   set (order and duplicates do not matter), lower-cased where Moodle matches case-insensitively;
//! - `Lines`: split on new lines, each trimmed, blank lines dropped, order kept;
//! - `Flag`: "", "0", "false", "no", "off" are off; "1", "true", "yes", "on" are on;
//! - `Number`: compared as numbers, so "5" equals "5.0"; a non-number is compared as text;
//! - settings maildrift does not know: compared as trimmed text.

use std::collections::BTreeSet;

use crate::snapshot::settings::{self, ValueKind};

/// A value in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalised {
    Text(String),
    Set(BTreeSet<String>),
    Lines(Vec<String>),
}

impl Normalised {
    /// The canonical text of the value: list entries sorted one per line.
    pub fn to_text(&self) -> String {
        match self {
            Normalised::Text(t) => t.clone(),
            Normalised::Set(s) => s.iter().cloned().collect::<Vec<_>>().join("\n"),
            Normalised::Lines(l) => l.join("\n"),
        }
    }
}

/// Normalises the value of setting `name`.
pub fn normalise(name: &str, value: &str) -> Normalised {
    let kind = settings::lookup(name).map_or(ValueKind::Text, |s| s.kind);
    normalise_kind(kind, value)
}

pub fn normalise_kind(kind: ValueKind, value: &str) -> Normalised {
    let value = value.trim();
    match kind {
        ValueKind::Text => Normalised::Text(value.to_string()),
        ValueKind::Email => Normalised::Text(value.to_lowercase()),
        ValueKind::List {
            separators,
            case_insensitive,
        } => Normalised::Set(
            value
                .split(|c| separators.contains(&c))
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|e| {
                    if case_insensitive {
                        e.to_lowercase()
                    } else {
                        e.to_string()
                    }
                })
                .collect(),
        ),
        ValueKind::Lines => Normalised::Lines(
            value
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
        ),
        ValueKind::Flag => Normalised::Text(
            match value.to_ascii_lowercase().as_str() {
                "" | "0" | "false" | "no" | "off" => "0",
                "1" | "true" | "yes" | "on" => "1",
                _ => value,
            }
            .to_string(),
        ),
        ValueKind::Number => Normalised::Text(match value.parse::<f64>() {
            Ok(n) if n.is_finite() => format_number(n),
            _ => value.to_string(),
        }),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// True when Moodle treats the two values of setting `name` alike.
pub fn equal(name: &str, a: &str, b: &str) -> bool {
    a == b || normalise(name, a) == normalise(name, b)
}

/// Entries of a list setting (e.g. allowedemaildomains), normalised; empty for other kinds.
pub fn list_entries(name: &str, value: &str) -> Vec<String> {
    match normalise(name, value) {
        Normalised::Set(s) => s.into_iter().collect(),
        Normalised::Lines(l) => l,
        Normalised::Text(t) if t.is_empty() => Vec::new(),
        Normalised::Text(t) => vec![t],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_lists_compare_as_sets_ignoring_order_case_and_blank_lines() {
        assert!(equal(
            "allowedemaildomains",
            "example.edu\nExample.org\n",
            "example.org\r\n\r\nexample.edu"
        ));
        assert!(!equal(
            "allowedemaildomains",
            "example.edu",
            "example.edu\nexample.org"
        ));
    }

    #[test]
    fn smtp_hosts_compare_as_sets_split_on_semicolons() {
        assert!(equal(
            "smtphosts",
            "a.example:587;b.example",
            " b.example ; A.example:587 "
        ));
        assert!(!equal("smtphosts", "a.example:587", "a.example:25"));
    }

    #[test]
    fn divert_exceptions_split_on_commas_and_white_space() {
        assert!(equal(
            "divertallemailsexcept",
            "@example\\.edu$, admin@",
            "admin@\n@example\\.edu$"
        ));
    }

    #[test]
    fn header_lines_keep_their_order() {
        assert!(equal(
            "emailheaders",
            "X-A: 1\nX-B: 2\n",
            "X-A: 1  \n\nX-B: 2"
        ));
        assert!(!equal("emailheaders", "X-A: 1\nX-B: 2", "X-B: 2\nX-A: 1"));
    }

    #[test]
    fn flags_treat_empty_as_off() {
        assert!(equal("noemailever", "", "0"));
        assert!(!equal("noemailever", "", "1"));
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(equal("bounceratio", "0.20", ".2"));
        assert!(equal("minbounces", "10", "10.0"));
        assert!(!equal("minbounces", "10", "11"));
    }

    #[test]
    fn addresses_compare_case_insensitively_and_trimmed() {
        assert!(equal(
            "noreplyaddress",
            "NoReply@Example.edu ",
            "noreply@example.edu"
        ));
    }

    #[test]
    fn unknown_settings_compare_as_trimmed_text() {
        assert!(equal("something", " a ", "a"));
        assert!(!equal("something", "a", "A"));
    }
}
