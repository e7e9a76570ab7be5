//! GitHub-flavoured Markdown for docs pages and CI step summaries. Written to read well raw
//! too: short lines outside tables, tables only where the data is tabular.

use similar::TextDiff;

use super::text::{self, visible};
use super::{environment_keys, findings_of, outcome_reason, outcome_word, summary_line};
use crate::compare::diff::{DkimSide, SnapshotDiff};
use crate::findings::{Finding, Severity};
use crate::report::{EnvState, ExceptionState, Report};

/// Escapes text for a table cell or a paragraph: Markdown punctuation that could start
/// emphasis, links, code, headings or HTML is backslash-escaped or turned into an entity, `|`
/// cannot end the cell, and new lines become `<br>` so a value stays in its row. The standard's
/// page uses it too.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in visible(s).chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// One line of text as an inline code span that survives any backticks in it, with `|`
/// escaped because GitHub splits table rows on it even inside code.
fn code(s: &str) -> String {
    let s = visible(s);
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space on each side when both are there, which undoes this padding.
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('|', "\\|"))
}

/// A setting value in a cell: code spans line by line, `<br>` between lines.
fn value(v: Option<&str>) -> String {
    match v {
        None => String::new(),
        Some("") => "*(empty)*".to_string(),
        Some(v) => v
            .split('\n')
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    code(line)
                }
            })
            .collect::<Vec<_>>()
            .join("<br>"),
    }
}

fn row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut out = vec![
        row(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()),
        row(&vec!["---".to_string(); header.len()]),
    ];
    out.extend(rows.iter().map(|r| row(r)));
    out
}

/// A link target GitHub will not cut short at a space or parenthesis.
fn link_target(url: &str) -> String {
    url.chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '(' => "%28".to_string(),
            ')' => "%29".to_string(),
            '<' => "%3C".to_string(),
            '>' => "%3E".to_string(),
            c if c.is_control() => format!("%{:02X}", c as u32 & 0xff),
            c => c.to_string(),
        })
        .collect()
}

pub fn report(report: &Report) -> String {
    let mut out: Vec<String> = Vec::new();
    match &report.standard {
        Some(s) => out.push(format!("# maildrift report: {}", esc(&s.name))),
        None => out.push("# maildrift report".to_string()),
    }
    out.push(String::new());
    out.push(format!(
        "Generated {} by {} {}; findings at or above `{}` fail the run.",
        report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        esc(&report.tool.name),
        esc(&report.tool.version),
        report.fail_on
    ));
    out.push(String::new());
    let outcome = report.outcome();
    out.push(format!(
        "**Outcome: {}** — {} (exit {})",
        outcome_word(outcome),
        esc(&outcome_reason(report)),
        outcome.code()
    ));
    out.push(String::new());
    out.push(esc(&summary_line(report)));

    if let Some(view) = super::change_view(report) {
        out.push(String::new());
        out.push("## What changed".to_string());
        out.push(String::new());
        out.push(format!("{}.", esc(&view.headline)));
        let place = |env: Option<&str>| env.map_or_else(|| "standard".to_string(), esc);
        let mut rows: Vec<Vec<String>> = view
            .new
            .iter()
            .map(|f| {
                vec![
                    "**new**".to_string(),
                    f.severity.to_string(),
                    code(&f.code),
                    place(f.environment.as_deref()),
                    f.subject.as_deref().map(code).unwrap_or_default(),
                    esc(&f.message),
                ]
            })
            .collect();
        rows.extend(view.resolved.iter().map(|r| {
            vec![
                format!("resolved (open since {})", r.since.strftime("%Y-%m-%d")),
                r.severity.to_string(),
                code(&r.code),
                place(r.environment.as_deref()),
                r.subject.as_deref().map(code).unwrap_or_default(),
                esc(&r.message),
            ]
        }));
        if !rows.is_empty() {
            out.push(String::new());
            out.extend(table(
                &[
                    "Change",
                    "Severity",
                    "Code",
                    "Environment",
                    "Subject",
                    "Message",
                ],
                &rows,
            ));
        }
        let latest = report
            .changes
            .as_ref()
            .map(|c| c.latest_changes.as_slice())
            .unwrap_or_default();
        if !latest.is_empty() {
            out.push(String::new());
            out.push("Latest setting change per environment:".to_string());
            out.push(String::new());
            let v = |v: &Option<String>| match v.as_deref() {
                None => "*(absent)*".to_string(),
                Some(v) => value(Some(v)),
            };
            out.extend(latest.iter().map(|l| {
                format!(
                    "- {}: {} {} → {} ({})",
                    esc(&l.environment),
                    code(&l.setting),
                    v(&l.from),
                    v(&l.to),
                    l.changed_at.strftime("%Y-%m-%d")
                )
            }));
        }
    }

    out.push(String::new());
    out.push("## Standard".to_string());
    out.push(String::new());
    match &report.standard {
        None => out.push("No baseline: environments were only compared with each other.".into()),
        Some(s) => {
            out.push(format!("- Name: {} ({})", esc(&s.name), code(&s.path)));
            out.push(format!("- Owner: {}", esc(&s.owner)));
            let approved = match (&s.approved_by, s.approved_on) {
                (Some(by), Some(on)) => format!("{} on {on}", esc(by)),
                (Some(by), None) => esc(by),
                (None, Some(on)) => format!("on {on}"),
                (None, None) => "**not recorded**".to_string(),
            };
            out.push(format!("- Approved: {approved}"));
            match s.review_by {
                Some(d) if super::review_overdue(report) => {
                    out.push(format!("- Next review: {d} — **overdue**"));
                }
                Some(d) => out.push(format!("- Next review: {d}")),
                None => out.push("- Next review: **not set**".to_string()),
            }
        }
    }

    out.push(String::new());
    out.push("## Environments".to_string());
    out.push(String::new());
    let rows: Vec<Vec<String>> = report
        .environments
        .iter()
        .map(|e| {
            let state = match e.state {
                EnvState::Ok => "ok".to_string(),
                EnvState::Failed => match &e.error {
                    Some(err) => format!("**failed**: {}", esc(err)),
                    None => "**failed**".to_string(),
                },
            };
            let source = [
                e.source.map(|s| match s {
                    crate::snapshot::Source::Plugin => "plugin".to_string(),
                    crate::snapshot::Source::CfgImport => "cfg-import".to_string(),
                }),
                e.origin.as_deref().map(code),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            vec![
                esc(&e.name),
                state,
                e.release.as_deref().map(esc).unwrap_or_default(),
                e.plugin_version.as_deref().map(esc).unwrap_or_default(),
                source,
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push("No environments.".to_string());
    } else {
        out.extend(table(
            &["Environment", "State", "Moodle release", "Plugin", "Source"],
            &rows,
        ));
    }

    out.push(String::new());
    out.push("## Findings".to_string());
    for key in environment_keys(report) {
        let findings: Vec<&Finding> = findings_of(report, key).collect();
        let env = key.and_then(|k| report.environments.iter().find(|e| e.name == k));
        if key.is_none() && findings.is_empty() {
            continue;
        }
        out.push(String::new());
        out.push(format!(
            "### {}",
            key.map_or_else(|| "Standard".to_string(), esc)
        ));
        out.push(String::new());
        if let Some(dns) = key.and_then(|k| report.dns.iter().find(|d| d.environment == k)) {
            out.push(format!("DNS: {}", esc(&dns.headline)));
            out.push(String::new());
        }
        if let Some(e) = env.filter(|e| e.state == EnvState::Failed) {
            out.push(format!(
                "Not checked: {}",
                esc(e.error.as_deref().unwrap_or("it could not be read"))
            ));
            if findings.is_empty() {
                continue;
            }
            out.push(String::new());
        }
        if findings.is_empty() {
            out.push("No findings.".to_string());
            continue;
        }
        let rows: Vec<Vec<String>> = findings.iter().map(|f| finding_row(f)).collect();
        out.extend(table(
            &[
                "Severity", "Code", "Subject", "Expected", "Actual", "Message",
            ],
            &rows,
        ));
    }

    if !report.exceptions.is_empty() {
        out.push(String::new());
        out.push("## Exceptions".to_string());
        out.push(String::new());
        let rows: Vec<Vec<String>> = report
            .exceptions
            .iter()
            .map(|x| {
                let state = match x.state {
                    ExceptionState::Active => "active".to_string(),
                    ExceptionState::Expired => "**expired**".to_string(),
                    ExceptionState::Stale => "**stale**: remove it".to_string(),
                };
                vec![
                    code(&x.setting),
                    x.environment
                        .as_deref()
                        .map_or_else(|| "all".to_string(), esc),
                    value(x.value.as_deref()),
                    state,
                    x.expires.to_string(),
                    esc(&x.owner),
                    x.ticket.as_deref().map(esc).unwrap_or_default(),
                    esc(&x.reason),
                ]
            })
            .collect();
        out.extend(table(
            &[
                "Setting",
                "Environment",
                "Value",
                "State",
                "Expires",
                "Owner",
                "Ticket",
                "Reason",
            ],
            &rows,
        ));
    }

    if !report.evidence.is_empty() {
        out.push(String::new());
        out.push("## Evidence".to_string());
        out.push(String::new());
        for e in &report.evidence {
            let env = e
                .environment
                .as_deref()
                .map(|n| format!(" ({})", esc(n)))
                .unwrap_or_default();
            out.push(format!(
                "- [{}]({}){env}",
                esc(&e.title),
                link_target(&e.url)
            ));
        }
    }

    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn finding_row(f: &Finding) -> Vec<String> {
    let severity = match (&f.waived_by, f.severity) {
        (Some(w), _) => format!("info (exception until {})", esc(&w.expires)),
        (None, Severity::Error) => "**error**".to_string(),
        (None, s) => s.to_string(),
    };
    let mut message = esc(&f.message);
    if !f.remedy.is_empty() {
        message.push_str("<br>→ ");
        message.push_str(&esc(&f.remedy));
    }
    vec![
        severity,
        esc(&f.code),
        f.subject.as_deref().map(code).unwrap_or_default(),
        value(f.expected.as_deref()),
        value(f.actual.as_deref()),
        message,
    ]
}

pub fn diff(d: &SnapshotDiff) -> String {
    let (l, r) = (&d.left.environment, &d.right.environment);
    let mut out = vec![
        format!("# maildrift diff: {} → {}", esc(l), esc(r)),
        String::new(),
    ];
    for s in [&d.left, &d.right] {
        out.push(format!(
            "- {}: {}, Moodle {}, taken {}",
            esc(&s.environment),
            esc(&s.url),
            esc(&s.release),
            s.taken_at.strftime("%Y-%m-%d %H:%M UTC")
        ));
    }
    out.push(String::new());
    let unknown = d.dkim_unknown();
    let unknown_note = d.dkim_unknown_note(esc);
    if d.is_empty() {
        let same = if unknown.is_empty() {
            "the same mail settings, secrets and DKIM keys"
        } else {
            "the same mail settings and secrets"
        };
        out.push(format!("{} and {} have {same}.", esc(l), esc(r)));
        if let Some(note) = unknown_note {
            out.push(String::new());
            out.push(note);
        }
        let mut s = out.join("\n");
        s.push('\n');
        return s;
    }

    let forced = |forced: bool| {
        if forced {
            " (forced in config.php)"
        } else {
            ""
        }
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in &d.settings {
        let cell = |v: Option<&str>, f: bool| {
            let shown = match v {
                None => "*(absent)*".to_string(),
                Some(v) if s.multiline => text::count(v.lines().count(), "line", "lines"),
                Some(v) => value(Some(v)),
            };
            format!("{shown}{}", forced(f))
        };
        let name = if s.multiline {
            format!("{} (diff below)", code(&s.name))
        } else {
            code(&s.name)
        };
        rows.push(vec![
            name,
            cell(s.left.as_deref(), s.left_forced),
            cell(s.right.as_deref(), s.right_forced),
        ]);
    }
    let set = |b: bool| if b { "set" } else { "not set" }.to_string();
    for s in &d.secrets {
        rows.push(vec![
            format!("{} (secret)", code(&s.name)),
            set(s.left),
            set(s.right),
        ]);
    }
    for k in &d.dkim {
        rows.push(vec![
            format!("DKIM {}", code(&k.domain)),
            dkim(k.left.as_ref()),
            dkim(k.right.as_ref()),
        ]);
    }
    out.extend(table(&["Setting", &esc(l), &esc(r)], &rows));
    if let Some(note) = unknown_note {
        out.push(String::new());
        out.push(note);
    }

    for s in d.settings.iter().filter(|s| s.multiline) {
        out.push(String::new());
        out.push(format!("## {}", code(&s.name)));
        out.push(String::new());
        let a = newline_terminated(s.left.as_deref());
        let b = newline_terminated(s.right.as_deref());
        let td = TextDiff::from_lines(a.as_str(), b.as_str());
        let body = td
            .unified_diff()
            .context_radius(3)
            .missing_newline_hint(false)
            .header(
                &format!("{l}{}", forced(s.left_forced)),
                &format!("{r}{}", forced(s.right_forced)),
            )
            .to_string();
        let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        out.push(format!("{fence}diff"));
        out.push(body.trim_end_matches('\n').to_string());
        out.push(fence);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn dkim(side: Option<&DkimSide>) -> String {
    match side {
        None => "*(none)*".to_string(),
        Some(k) => format!(
            "selector {}, key {}, {}",
            code(&k.selector),
            code(&k.key),
            if k.keyfile {
                "key file present"
            } else {
                "no key file"
            }
        ),
    }
}

fn newline_terminated(v: Option<&str>) -> String {
    let mut s = visible(v.unwrap_or(""));
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_cannot_break_the_table_or_start_markup() {
        assert_eq!(esc("a|b\nc `d` *e*"), "a\\|b<br>c \\`d\\` \\*e\\*");
        assert_eq!(esc("<script>&"), "&lt;script&gt;&amp;");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("p=none|x"), "`p=none\\|x`");
    }

    #[test]
    fn multi_line_values_stay_in_one_row() {
        assert_eq!(value(Some("a\n\nb")), "`a`<br><br>`b`");
        assert_eq!(value(Some("")), "*(empty)*");
        assert_eq!(value(None), "");
    }
}
