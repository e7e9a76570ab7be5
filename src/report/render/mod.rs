//! Renderers: pure functions from a [`Report`] or [`SnapshotDiff`] to the text of one output
//! format. They do no I/O, so the CLI decides where output goes (stdout, a file,
//! `$GITHUB_STEP_SUMMARY`) and tests compare strings.
//!
//! Every renderer ends its output with a new line.

mod junit;
pub(crate) mod markdown;
pub mod openmetrics;
mod table;
mod text;

/// Shown as escapes: control characters in values from sites or DNS (see [`text::visible`]).
pub use text::visible;

use std::fmt;
use std::str::FromStr;

use crate::compare::diff::SnapshotDiff;
use crate::report::Report;

/// How terminal output should look. Only the table format uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Emit ANSI colours. The CLI turns this on only for a terminal and never when `NO_COLOR`
    /// is set; with `false` no output contains an escape byte.
    pub color: bool,
    /// Terminal width in columns; `None` means no limit (e.g. output to a file or pipe).
    pub width: Option<u16>,
    /// Show every finding in the table. By default info findings that no exception waived
    /// (passing checks and notes) are left out and only counted, unless the report fails on
    /// info.
    pub all: bool,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables for a terminal.
    Table,
    /// The model serialised, for machines (`docs/schemas/`).
    Json,
    /// GitHub-flavoured Markdown, for docs pages and CI step summaries.
    #[value(alias = "md")]
    Markdown,
    /// JUnit XML, for CI test reporting.
    Junit,
    /// OpenMetrics text for Prometheus (e.g. the node exporter's textfile collector).
    Openmetrics,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Openmetrics => "openmetrics",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "junit" => Ok(Format::Junit),
            "openmetrics" => Ok(Format::Openmetrics),
            other => Err(format!(
                "unknown format `{other}` (expected table, json, markdown, junit or openmetrics)"
            )),
        }
    }
}

/// Renders a report in `format`.
pub fn report(report: &Report, format: Format, style: &Style) -> String {
    match format {
        Format::Table => table::report(report, style),
        Format::Json => json(report),
        Format::Markdown => markdown::report(report),
        Format::Junit => junit::report(report),
        Format::Openmetrics => openmetrics::report(report, "check"),
    }
}

/// Renders the difference between two snapshots in `format`.
pub fn diff(diff: &SnapshotDiff, format: Format, style: &Style) -> String {
    match format {
        Format::Table => table::diff(diff, style),
        Format::Json => json(diff),
        Format::Markdown => markdown::diff(diff),
        Format::Junit => junit::diff(diff),
        Format::Openmetrics => openmetrics::diff(diff),
    }
}

/// The groups findings are shown in: the standard itself (`None`) first, then environments in
/// config order, then any environment a finding or check names that the report does not list
/// (a merged report can have those), by name.
fn environment_keys(report: &Report) -> Vec<Option<&str>> {
    let mut keys: Vec<Option<&str>> = vec![None];
    keys.extend(report.environments.iter().map(|e| Some(e.name.as_str())));
    let mut extra: Vec<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.environment.as_deref())
        .chain(
            report
                .checks
                .iter()
                .filter_map(|c| c.environment.as_deref()),
        )
        .filter(|name| !report.environments.iter().any(|e| e.name == *name))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    keys.extend(extra.into_iter().map(Some));
    keys
}

/// The findings of one group, in report order.
fn findings_of<'a>(
    report: &'a Report,
    env: Option<&'a str>,
) -> impl Iterator<Item = &'a crate::findings::Finding> + 'a {
    report
        .findings
        .iter()
        .filter(move |f| f.environment.as_deref() == env)
}

/// True when the standard's review date has passed on the day the report was made. Measured
/// against `generated_at`, not the clock, so rendering an old report gives the same output.
fn review_overdue(report: &Report) -> bool {
    let today = report.generated_at.to_zoned(jiff::tz::TimeZone::UTC).date();
    report
        .standard
        .as_ref()
        .and_then(|s| s.review_by)
        .is_some_and(|d| d < today)
}

/// One sentence on what the outcome means, without the outcome word itself.
fn outcome_reason(report: &Report) -> String {
    use crate::report::{CheckState, Outcome};
    let s = &report.summary;
    let only_new = report.changes.as_ref().is_some_and(|c| c.fail_on_new);
    match report.outcome() {
        Outcome::Clean if only_new && s.failing > 0 => format!(
            "nothing new at or above {} ({} persisting)",
            report.fail_on, s.failing
        ),
        Outcome::Clean if only_new => format!("nothing new at or above {}", report.fail_on),
        Outcome::Clean => format!("nothing at or above {}", report.fail_on),
        Outcome::Drift if only_new => format!(
            "{} at or above {}",
            text::count(report.gating_findings(), "new finding", "new findings"),
            report.fail_on
        ),
        Outcome::Drift => format!(
            "{} at or above {}",
            text::count(s.failing, "finding", "findings"),
            report.fail_on
        ),
        Outcome::Failed => {
            let errored = report
                .checks
                .iter()
                .filter(|c| c.state == CheckState::Errored)
                .count();
            let mut parts = Vec::new();
            if s.failed_environments > 0 {
                parts.push(format!(
                    "{} could not be read",
                    text::count(s.failed_environments, "environment", "environments")
                ));
            }
            if errored > 0 {
                parts.push(format!(
                    "{} could not run",
                    text::count(errored, "check", "checks")
                ));
            }
            parts.join(", ")
        }
    }
}

/// What changed since the previous run, for the top of the table and the Markdown: a
/// headline, then the new findings worth showing (warnings, errors, waived ones) and the
/// resolved ones. `None` when the run was compared with nothing.
struct ChangeView<'a> {
    headline: String,
    new: Vec<&'a crate::findings::Finding>,
    resolved: &'a [crate::report::ResolvedFinding],
    /// `production: smtpsecure `` → `ssl` (2026-11-29)`, one per latest change.
    latest: Vec<String>,
}

fn change_view(report: &Report) -> Option<ChangeView<'_>> {
    let c = report.changes.as_ref()?;
    let counts = format!(
        "{} new, {} persisting, {} resolved",
        c.new,
        c.persisting,
        c.resolved.len()
    );
    let headline = match &c.previous {
        Some(p) => format!(
            "Since the previous run ({} {}, {}): {counts}",
            p.kind,
            text::visible(&p.path),
            p.generated_at.strftime("%Y-%m-%d %H:%M UTC")
        ),
        None => format!("No previous run to compare with: {counts}"),
    };
    Some(ChangeView {
        headline,
        new: report
            .findings
            .iter()
            .filter(|f| {
                f.state == Some(crate::findings::FindingState::New)
                    && (f.severity > crate::findings::Severity::Info || f.waived_by.is_some())
            })
            .collect(),
        resolved: &c.resolved,
        latest: c
            .latest_changes
            .iter()
            .map(|l| {
                let v = |v: &Option<String>| match v.as_deref() {
                    None => "(absent)".to_string(),
                    Some("") => "(empty)".to_string(),
                    Some(v) => format!("`{}`", text::visible(v)),
                };
                format!(
                    "{}: {} {} → {} ({})",
                    text::visible(&l.environment),
                    text::visible(&l.setting),
                    v(&l.from),
                    v(&l.to),
                    l.changed_at.strftime("%Y-%m-%d")
                )
            })
            .collect(),
    })
}

fn outcome_word(outcome: crate::report::Outcome) -> &'static str {
    use crate::report::Outcome;
    match outcome {
        Outcome::Clean => "clean",
        Outcome::Drift => "drift",
        Outcome::Failed => "failed",
    }
}

/// `2 errors, 3 warnings, 1 info (1 waived) in 3 environments; 1 failed`
fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{}, {}, {} info",
        text::count(s.errors, "error", "errors"),
        text::count(s.warnings, "warning", "warnings"),
        s.info
    );
    if s.waived > 0 {
        line.push_str(&format!(" ({} waived)", s.waived));
    }
    line.push_str(&format!(
        " in {}",
        text::count(s.environments, "environment", "environments")
    ));
    if s.failed_environments > 0 {
        line.push_str(&format!("; {} failed", s.failed_environments));
    }
    line
}

/// Pretty JSON in struct field order, which is the documented, stable order.
fn json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // The models hold only strings, numbers, booleans, sequences and string-keyed maps,
        // which serde_json always serialises; if that ever changes, say so in valid JSON
        // rather than panic or print half a document.
        Err(e) => format!(
            "{}\n",
            serde_json::json!({ "error": format!("could not serialise: {e}") })
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in [
            Format::Table,
            Format::Json,
            Format::Markdown,
            Format::Junit,
            Format::Openmetrics,
        ] {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn clap_value_names_match_display() {
        use clap::ValueEnum;
        for f in Format::value_variants() {
            let pv = f.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(pv.as_deref(), Some(f.as_str()));
        }
    }
}
