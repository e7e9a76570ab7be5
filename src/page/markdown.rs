//! The page as Markdown for a wiki or docs site.

use super::Page;
use crate::report::render::markdown::esc;

fn row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

fn table(out: &mut Vec<String>, header: &[&str], rows: Vec<Vec<String>>) {
    out.push(row(&header
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()));
    out.push(row(&vec!["---".to_string(); header.len()]));
    out.extend(rows.iter().map(|r| row(r)));
}

pub fn render(p: &Page) -> String {
    let mut out = Vec::new();
    let s = &p.standard;
    out.push(format!("# {} — {}", esc(&s.name), p.month));
    out.push(String::new());
    if let Some(note) = p.focus_note(esc) {
        out.push(note);
        out.push(String::new());
    }
    out.push(format!(
        "Owner: {}. Approved: {}. Baseline: `{}`. Generated {} by maildrift from its run history.",
        esc(&s.owner),
        match (&s.approved_by, s.approved_on) {
            (Some(b), Some(d)) => format!("{} on {d}", esc(b)),
            (Some(b), None) => esc(b),
            (None, Some(d)) => format!("on {d}"),
            (None, None) => "not recorded".into(),
        },
        esc(&p.baseline_path),
        p.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    ));
    out.push(String::new());
    out.push("## Latest change and next review".into());
    out.push(String::new());
    match &p.latest_change {
        Some(c) => out.push(format!(
            "- Latest change: {} in {} on {}, from {} to {}",
            esc(&c.setting),
            esc(&c.environment),
            c.changed_at.strftime("%Y-%m-%d"),
            c.from.as_deref().map_or("(absent)".into(), esc),
            c.to.as_deref().map_or("(absent)".into(), esc)
        )),
        None => out.push("- Latest change: none recorded".into()),
    }
    out.push(format!(
        "- Next review: {}",
        s.review_by.map_or("not set".into(), |d| d.to_string())
    ));

    out.push(String::new());
    out.push("## Scope, as measured".into());
    out.push(String::new());
    table(
        &mut out,
        &super::SCOPE_COLUMNS,
        super::scope_rows(p, esc, esc),
    );

    out.push(String::new());
    out.push("## Binding rules".into());
    out.push(String::new());
    table(
        &mut out,
        &["Setting", "Value", "Applies to", "Where in Moodle"],
        p.rules
            .iter()
            .map(|r| {
                vec![
                    esc(&r.setting),
                    if r.value.is_empty() {
                        "(empty)".into()
                    } else {
                        esc(&r.value)
                    },
                    esc(&r.applies_to),
                    // Our own text: its `>` separators are plain text in a Markdown cell.
                    r.admin_path.to_string(),
                ]
            })
            .collect(),
    );

    out.push(String::new());
    out.push("## Evidence".into());
    out.push(String::new());
    if s.evidence.is_empty() {
        out.push("No evidence linked in the baseline.".into());
    }
    for e in &s.evidence {
        out.push(format!(
            "- [{}](<{}>){}",
            esc(&e.title),
            e.url.replace(['<', '>', '\n'], ""),
            e.environment
                .as_deref()
                .map(|n| format!(" ({})", esc(n)))
                .unwrap_or_default()
        ));
    }

    out.push(String::new());
    out.push("## Active exceptions".into());
    out.push(String::new());
    if p.exceptions.is_empty() {
        out.push("None.".into());
    } else {
        table(
            &mut out,
            &super::EXCEPTION_COLUMNS,
            super::exception_rows(p, esc),
        );
    }

    out.push(String::new());
    out.push("## Metrics, last 12 months (reviewed monthly)".into());
    out.push(String::new());
    out.push(format!(
        "Delivery rate is a **proxy**: 1 − failed ÷ (failed + message_sent); Moodle logs no \"e-mail sent\" event. Failed deliveries are estimated (≈) from overlapping {}-day windows. Queue delay is the worst seen at a run. The monthly rows cover {}.",
        p.policy.window_days,
        esc(&p.whose())
    ));
    out.push(String::new());
    table(
        &mut out,
        &super::metric_header("Month"),
        super::trend_rows(p),
    );
    out.push(String::new());
    out.push(format!("### {} by environment", p.month));
    out.push(String::new());
    if p.figures.is_empty() {
        out.push("No runs with health figures in this month.".into());
    } else {
        table(
            &mut out,
            &super::metric_header("Environment"),
            super::figure_rows(p, esc),
        );
    }
    out.push(String::new());
    out.push(format!("### Review of {}", p.month));
    out.push(String::new());
    if p.review.is_empty() {
        out.push("Every metric within the standard's thresholds.".into());
    }
    for f in &p.review {
        out.push(format!(
            "- **{}** {} ({}): {}",
            f.code,
            esc(f.environment.as_deref().unwrap_or("")),
            f.name,
            esc(&f.message)
        ));
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}
