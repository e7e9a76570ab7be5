//! Terminal output: a header line, one table of findings per environment, a summary and the
//! outcome; for diffs, a side-by-side table and unified diffs of multi-line settings.
//!
//! All ANSI codes come from [`text::paint`], so `color: false` can never leak one; comfy-table
//! only measures and wraps (its `custom_styling` feature makes it ignore our codes when it
//! measures widths).

mod changes;

use comfy_table::{ContentArrangement, Table};
use similar::{ChangeTag, TextDiff};

use super::text::{self, Paint, paint, visible};
use super::{Style, environment_keys, findings_of, outcome_reason, outcome_word, summary_line};
use crate::compare::diff::{DkimSide, SettingDiff, SnapshotDiff};
use crate::findings::{Finding, Severity};
use crate::report::{EnvState, EnvironmentStatus, ExceptionState, Outcome, Report};

pub fn report(report: &Report, style: &Style) -> String {
    let color = style.color;
    let mut out: Vec<String> = vec![header(report, style)];
    out.extend(changes::lines(report, style));

    for key in environment_keys(report) {
        let env = key.and_then(|k| report.environments.iter().find(|e| e.name == k));
        let (findings, hidden): (Vec<&Finding>, Vec<&Finding>) =
            findings_of(report, key).partition(|f| shown(f, report, style));
        // The standard gets a section only when something is wrong with it.
        if key.is_none() && findings.is_empty() {
            continue;
        }
        out.push(String::new());
        out.push(section_heading(report, key, env, style));
        if let Some(dns) = key.and_then(|k| report.dns.iter().find(|d| d.environment == k)) {
            out.push(text::wrap(
                &format!("DNS: {}", visible(&dns.headline)),
                style.width,
                "     ",
            ));
        }
        if findings.is_empty() {
            if env.is_none_or(|e| e.state == EnvState::Ok) {
                let none = if hidden.is_empty() {
                    "No findings."
                } else {
                    "Nothing to fix."
                };
                out.push(paint(none, Paint::Green, color));
            }
        } else {
            out.push(findings_table(&findings, style));
        }
        if !hidden.is_empty() {
            if !findings.is_empty() {
                out.push(String::new());
            }
            let line = if hidden.len() == 1 {
                "+ 1 passing check or note (info) not shown; --all shows it".to_string()
            } else {
                format!(
                    "+ {} passing checks and notes (info) not shown; --all shows them",
                    hidden.len()
                )
            };
            out.push(paint(
                &text::wrap(&line, style.width, "  "),
                Paint::Dim,
                color,
            ));
        }
    }

    let attention: Vec<String> = report
        .exceptions
        .iter()
        .filter(|x| x.state != ExceptionState::Active)
        .map(|x| {
            let place = x
                .environment
                .as_deref()
                .map_or_else(|| "all environments".to_string(), visible);
            let what = match x.state {
                ExceptionState::Expired => format!(
                    "expired {}: the difference counts again, renew or fix it",
                    x.expires
                ),
                _ => format!(
                    "stale (until {}): nothing differs any more, remove it",
                    x.expires
                ),
            };
            let ticket = x
                .ticket
                .as_deref()
                .map(|t| format!(", {}", visible(t)))
                .unwrap_or_default();
            text::wrap(
                &format!(
                    "  {} in {place}: {what} (owner {}{ticket})",
                    visible(&x.setting),
                    visible(&x.owner)
                ),
                style.width,
                "    ",
            )
        })
        .collect();
    if !attention.is_empty() {
        out.push(String::new());
        out.push(paint("Exceptions needing attention", Paint::Bold, color));
        out.extend(attention);
    }

    out.push(String::new());
    out.push(text::wrap(&summary_line(report), style.width, ""));
    let outcome = report.outcome();
    let word = outcome_word(outcome);
    let line = text::wrap(
        &format!(
            "Outcome: {word} — {} (exit {})",
            outcome_reason(report),
            outcome.code()
        ),
        style.width,
        "  ",
    );
    let p = match outcome {
        Outcome::Clean => Paint::Green,
        Outcome::Drift => Paint::Yellow,
        Outcome::Failed => Paint::Red,
    };
    // The word comes right after "Outcome: ", before anything that could repeat it.
    out.push(line.replacen(word, &paint(word, p, color), 1));
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Whether the table lists a finding. Info findings no exception waived (passing checks and
/// notes) are only counted, unless `--all` asks for them or the report fails on info, when
/// they are what failed.
fn shown(f: &Finding, report: &Report, style: &Style) -> bool {
    style.all
        || f.severity > Severity::Info
        || f.waived_by.is_some()
        || report.fail_on <= Severity::Info
}

/// `UoE Moodle outgoing mail (owner …, review by …) · staging ok · production failed`
fn header(report: &Report, style: &Style) -> String {
    let color = style.color;
    let mut parts = Vec::new();
    match &report.standard {
        Some(std) => {
            let mut about = vec![format!("owner {}", visible(&std.owner))];
            if let Some(review) = std.review_by {
                about.push(if super::review_overdue(report) {
                    format!("review overdue since {review}")
                } else {
                    format!("review by {review}")
                });
            }
            parts.push(format!("{} ({})", visible(&std.name), about.join(", ")));
        }
        None => parts.push("No baseline".to_string()),
    }
    for e in &report.environments {
        let state = match e.state {
            EnvState::Ok => "ok",
            EnvState::Failed => "failed",
        };
        parts.push(format!("{} {state}", visible(&e.name)));
    }
    let line = text::wrap_parts(&parts, " · ", style.width, "  ");
    paint(&line, Paint::Bold, color)
}

fn section_heading(
    report: &Report,
    key: Option<&str>,
    env: Option<&EnvironmentStatus>,
    style: &Style,
) -> String {
    let color = style.color;
    let Some(name) = key else {
        let name = report
            .standard
            .as_ref()
            .map_or_else(|| "the standard".to_string(), |s| visible(&s.name));
        return paint(
            &text::wrap(&format!("Standard: {name}"), style.width, "  "),
            Paint::Bold,
            color,
        );
    };
    let Some(env) = env else {
        return paint(
            &text::wrap(&visible(name), style.width, "  "),
            Paint::Bold,
            color,
        );
    };
    if env.state == EnvState::Failed {
        let error = env
            .error
            .as_deref()
            .map_or_else(|| "unknown error".into(), visible);
        let line = text::wrap(
            &format!("{}: failed, not checked: {error}", visible(name)),
            style.width,
            "  ",
        );
        return paint(&line, Paint::Red, color);
    }
    let mut parts = vec![visible(name)];
    if let Some(url) = &env.url {
        parts.push(visible(url));
    }
    if let Some(release) = &env.release {
        parts.push(format!("Moodle {}", visible(release)));
    }
    let mut from = Vec::new();
    if let Some(p) = &env.plugin_version {
        from.push(format!("plugin {}", visible(p)));
    }
    if let Some(o) = &env.origin {
        from.push(visible(o));
    }
    if !from.is_empty() {
        parts.push(from.join(", "));
    }
    let line = text::wrap_parts(&parts, " · ", style.width, "  ");
    // Only the name is bold: the rest is context.
    match line.split_once(" · ") {
        Some((first, rest)) if color => format!("{} · {rest}", paint(first, Paint::Bold, true)),
        _ => line,
    }
}

fn severity_cell(f: &Finding) -> Vec<Line> {
    let word = match f.severity {
        Severity::Error => ("error".to_string(), Some(Paint::Red)),
        Severity::Warning => ("warning".to_string(), Some(Paint::Yellow)),
        Severity::Info => ("info".to_string(), Some(Paint::Blue)),
    };
    let mut cell = vec![word];
    if let Some(w) = &f.waived_by {
        // Short lines keep the severity column narrow.
        for l in [
            "(exception".to_string(),
            "until".into(),
            format!("{})", visible(&w.expires)),
        ] {
            cell.push((l, Some(Paint::Dim)));
        }
    }
    cell
}

/// A value as shown in a cell: absent stays empty, an empty string is said so.
fn value_cell(v: Option<&str>, color: bool) -> String {
    match v {
        None => String::new(),
        Some("") => paint("(empty)", Paint::Dim, color),
        Some(v) => visible(v),
    }
}

/// The table without the trailing spaces comfy-table pads the last column with.
fn trimmed(t: &Table) -> String {
    t.lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One space after each column; with the blank column separator that makes two between
/// columns and none before the first.
fn pad(t: &mut Table) {
    for c in t.column_iter_mut() {
        c.set_padding((0, 1));
    }
}

/// comfy-table preset: only the header line and dashed row separators.
const LIGHT: &str = "     ──  ╌╌        ";

fn new_table(style: &Style) -> Table {
    let mut t = Table::new();
    // Never ask the terminal: output must depend on `style` alone.
    t.force_no_tty();
    // No outer or vertical borders: a line under the header and dashed lines between rows
    // (values span several lines) are enough, and leave the columns for content.
    t.load_preset(LIGHT);
    match style.width {
        Some(w) => {
            t.set_width(w);
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

fn header_row(names: &[&str], color: bool) -> Vec<String> {
    names.iter().map(|n| paint(n, Paint::Bold, color)).collect()
}

/// One line of a cell: plain text and how to paint it. Cells are laid out plain and painted
/// last, so widths never count colour codes.
type Line = (String, Option<Paint>);

/// Two spaces between columns, none before the first or after the last.
const GAP: &str = "  ";

/// The findings of one section: severity, code, subject and message (with the remedy under
/// it). Expected and actual values stay out: the messages state them, and every other format
/// keeps them. No borders: a bold header row, and a blank line between rows that span more
/// than one line.
fn findings_table(findings: &[&Finding], style: &Style) -> String {
    let color = style.color;
    let cells: Vec<[Vec<Line>; 3]> = findings
        .iter()
        .map(|f| {
            [
                severity_cell(f),
                vec![(visible(&f.code), None)],
                f.subject
                    .as_deref()
                    .map(|s| visible(s).lines().map(|l| (l.to_string(), None)).collect())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let headers = ["severity", "code", "subject", "message"];
    let widest = |i: usize| {
        cells
            .iter()
            .flat_map(|c| c[i].iter().map(|(l, _)| text::width(l)))
            .chain([text::width(headers[i])])
            .max()
            .unwrap_or(0)
    };
    let (severity_w, code_w) = (widest(0), widest(1));
    // With a width, a subject is never broken inside a word: the column gets the longest
    // subject when that leaves the message most of the room, else the longest word (subjects
    // like `host 192.0.2.25` wrap at the space), in either case at most half of what the
    // fixed columns leave. Without a width nothing wraps.
    let (subject_w, message_w) = match style.width {
        None => (widest(2), None),
        Some(w) => {
            let rest = usize::from(w).saturating_sub(severity_w + code_w + 3 * GAP.len());
            let longest_word = cells
                .iter()
                .flat_map(|c| c[2].iter().flat_map(|(l, _)| l.split_whitespace()))
                .map(text::width)
                .max()
                .unwrap_or(0);
            let subject_w = if widest(2) <= rest * 2 / 5 {
                widest(2)
            } else {
                longest_word.min(rest / 2).max(text::width(headers[2]))
            };
            (subject_w, Some(rest.saturating_sub(subject_w)))
        }
    };
    let widths = [severity_w, code_w, subject_w];

    let mut rows: Vec<Vec<String>> = vec![vec![
        row(
            &headers.map(|h| vec![(h.to_string(), Some(Paint::Bold))]),
            &widths,
            color,
        )
        .join("\n"),
    ]];
    for (f, [severity, code, subject]) in findings.iter().zip(cells) {
        let subject: Vec<Line> = match style.width {
            Some(_) => subject
                .iter()
                .flat_map(|(l, _)| wrap_subject(l, subject_w))
                .map(|l| (l, None))
                .collect(),
            None => subject,
        };
        let mut message: Vec<Line> = lines(&visible(&f.message), message_w, "", None);
        if !f.remedy.is_empty() {
            let remedy = format!("→ {}", visible(&f.remedy));
            message.extend(lines(&remedy, message_w, "  ", Some(Paint::Dim)));
        }
        rows.push(row(&[severity, code, subject, message], &widths, color));
    }
    // Rows of one line each read as a list; once any spans several, blank lines keep each
    // finding's message next to its code.
    let spaced = rows.iter().skip(1).any(|r| r.len() > 1);
    let mut out: Vec<String> = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        if spaced && i > 1 {
            out.push(String::new());
        }
        out.extend(r);
    }
    out.join("\n")
}

/// Text wrapped to `width` (`None`: as it is) as lines of a cell, all painted with `paint`.
fn lines(s: &str, width: Option<usize>, indent: &str, paint: Option<Paint>) -> Vec<Line> {
    let width = width.map(|w| u16::try_from(w).unwrap_or(u16::MAX));
    text::wrap(s, width, indent)
        .lines()
        .map(|l| (l.to_string(), paint))
        .collect()
}

/// Lays cells side by side: every column but the last padded to its width, no trailing
/// spaces.
fn row(cells: &[Vec<Line>; 4], widths: &[usize; 3], color: bool) -> Vec<String> {
    let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
    (0..height)
        .map(|i| {
            let mut line = String::new();
            for (c, cell) in cells.iter().enumerate() {
                let (text, p) = cell.get(i).map_or(("", None), |(t, p)| (t.as_str(), *p));
                line.push_str(&match p {
                    Some(p) => paint(text, p, color),
                    None => text.to_string(),
                });
                if let Some(w) = widths.get(c) {
                    line.push_str(&" ".repeat(w.saturating_sub(text::width(text))));
                    line.push_str(GAP);
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Wraps a subject (a setting, host name or record name) to `width`: at spaces first, then
/// after the dots of a name too long for a line, and only as a last resort inside a label.
fn wrap_subject(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut pieces: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        if text::width(word) <= width {
            pieces.push(word.to_string());
            continue;
        }
        let mut piece = String::new();
        for label in word.split_inclusive('.') {
            if !piece.is_empty() && text::width(&piece) + text::width(label) > width {
                pieces.push(std::mem::take(&mut piece));
            }
            for c in label.chars() {
                if text::width(&piece) + text::width(c.encode_utf8(&mut [0; 4])) > width {
                    pieces.push(std::mem::take(&mut piece));
                }
                piece.push(c);
            }
        }
        pieces.push(piece);
    }
    // Greedy fill. Two pieces of one broken word never share a line: the first was cut
    // because the next would not fit beside it.
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces {
        if line.is_empty() {
            line = piece;
        } else if text::width(&line) + 1 + text::width(&piece) <= width {
            line.push(' ');
            line.push_str(&piece);
        } else {
            out.push(std::mem::replace(&mut line, piece));
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

pub fn diff(d: &SnapshotDiff, style: &Style) -> String {
    let color = style.color;
    let (l, r) = (visible(&d.left.environment), visible(&d.right.environment));
    let side = |s: &crate::compare::diff::Side| {
        format!(
            "{} ({}, Moodle {}, taken {})",
            visible(&s.environment),
            visible(&s.url),
            visible(&s.release),
            s.taken_at.strftime("%Y-%m-%d %H:%M UTC")
        )
    };
    let mut out = vec![paint(
        &text::wrap(
            &format!("{} → {}", side(&d.left), side(&d.right)),
            style.width,
            "  ",
        ),
        Paint::Bold,
        color,
    )];
    let unknown = d.dkim_unknown();
    let unknown_note = d.dkim_unknown_note(visible);
    if d.is_empty() {
        let same = if unknown.is_empty() {
            "the same mail settings, secrets and DKIM keys"
        } else {
            "the same mail settings and secrets"
        };
        out.push(text::wrap(
            &format!("{l} and {r} have {same}."),
            style.width,
            "",
        ));
        if let Some(note) = &unknown_note {
            out.push(text::wrap(note, style.width, ""));
        }
        let mut s = out.join("\n");
        s.push('\n');
        return s;
    }

    let mut t = new_table(style);
    t.set_header(header_row(&["setting", &l, &r], color));
    pad(&mut t);
    for s in &d.settings {
        let cell = |v: Option<&str>, forced: bool| {
            let mut c = match v {
                None => paint("(absent)", Paint::Dim, color),
                Some(v) if s.multiline => paint(
                    &text::count(v.lines().count(), "line", "lines"),
                    Paint::Dim,
                    color,
                ),
                Some(v) => value_cell(Some(v), color),
            };
            if forced {
                c.push_str("\n(forced in config.php)");
            }
            c
        };
        let name = if s.multiline {
            format!(
                "{}\n{}",
                visible(&s.name),
                paint("(diff below)", Paint::Dim, color)
            )
        } else {
            visible(&s.name)
        };
        t.add_row(vec![
            name,
            cell(s.left.as_deref(), s.left_forced),
            cell(s.right.as_deref(), s.right_forced),
        ]);
    }
    let set = |b: bool| if b { "set" } else { "not set" };
    for s in &d.secrets {
        t.add_row(vec![
            format!(
                "{} {}",
                visible(&s.name),
                paint("(secret)", Paint::Dim, color)
            ),
            set(s.left).to_string(),
            set(s.right).to_string(),
        ]);
    }
    for k in &d.dkim {
        t.add_row(vec![
            format!("DKIM {}", visible(&k.domain)),
            dkim_cell(k.left.as_ref(), color),
            dkim_cell(k.right.as_ref(), color),
        ]);
    }
    out.push(trimmed(&t));

    for s in d.settings.iter().filter(|s| s.multiline) {
        out.push(String::new());
        out.push(unified(s, &l, &r, style));
    }

    out.push(String::new());
    out.push(text::wrap(
        &format!(
            "{}, {} and {} differ.",
            text::count(d.settings.len(), "setting", "settings"),
            text::count(d.secrets.len(), "secret", "secrets"),
            text::count(d.dkim.len(), "DKIM key", "DKIM keys"),
        ),
        style.width,
        "",
    ));
    if let Some(note) = &unknown_note {
        out.push(text::wrap(note, style.width, ""));
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn dkim_cell(side: Option<&DkimSide>, color: bool) -> String {
    match side {
        None => paint("(none)", Paint::Dim, color),
        Some(k) => {
            let file = if k.keyfile {
                "key file present"
            } else {
                "no key file"
            };
            format!(
                "selector {}\nkey {}\n{file}",
                visible(&k.selector),
                visible(&k.key)
            )
        }
    }
}

/// A unified diff of one multi-line setting, labelled with the environment names. Diff lines
/// are not wrapped: they stay copyable, and the terminal wraps them if it must.
pub(super) fn unified(s: &SettingDiff, l: &str, r: &str, style: &Style) -> String {
    let color = style.color;
    let label = |env: &str, v: Option<&str>, forced: bool| {
        let mut label = env.to_string();
        if v.is_none() {
            label.push_str(" (absent)");
        }
        if forced {
            label.push_str(" (forced in config.php)");
        }
        label
    };
    let (a, b) = (
        with_newline(s.left.as_deref()),
        with_newline(s.right.as_deref()),
    );
    let mut out = vec![
        paint(&visible(&s.name), Paint::Bold, color),
        paint(
            &format!("--- {}", label(l, s.left.as_deref(), s.left_forced)),
            Paint::Red,
            color,
        ),
        paint(
            &format!("+++ {}", label(r, s.right.as_deref(), s.right_forced)),
            Paint::Green,
            color,
        ),
    ];
    let td = TextDiff::from_lines(a.as_str(), b.as_str());
    let mut udiff = td.unified_diff();
    udiff.context_radius(3).missing_newline_hint(false);
    let mut any = false;
    for hunk in udiff.iter_hunks() {
        any = true;
        out.push(paint(&hunk.header().to_string(), Paint::Cyan, color));
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            let (sign, p) = match change.tag() {
                ChangeTag::Delete => ("-", Some(Paint::Red)),
                ChangeTag::Insert => ("+", Some(Paint::Green)),
                ChangeTag::Equal => (" ", None),
            };
            let line = format!("{sign}{line}");
            out.push(match p {
                Some(p) => paint(&line, p, color),
                None => line,
            });
        }
    }
    if !any {
        // Values equal as text (or equal once Moodle's rules apply) differ in where they are
        // set; the labels above say how.
        out.push(" (same value; only whether config.php forces it differs)".to_string());
    }
    out.join("\n")
}

/// Settings values rarely end in a new line; adding one to both sides keeps similar from
/// reporting a missing final new line as a change.
fn with_newline(v: Option<&str>) -> String {
    let mut s = visible(v.unwrap_or(""));
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
