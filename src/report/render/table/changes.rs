//! The table's opening block when a run was compared: the counts, then one line per new
//! finding, per resolved one, and per latest setting change.

use super::super::Style;
use super::super::text::{self, Paint, paint, visible};
use crate::findings::Severity;
use crate::report::Report;

/// What is new and what was resolved, before everything else: the reason to read on.
pub(super) fn lines(report: &Report, style: &Style) -> Vec<String> {
    let Some(view) = super::super::change_view(report) else {
        return Vec::new();
    };
    let color = style.color;
    let mut out = vec![
        String::new(),
        paint(
            &text::wrap(&view.headline, style.width, "  "),
            Paint::Bold,
            color,
        ),
    ];
    let line = |word: &str,
                p: Paint,
                severity: Severity,
                code: &str,
                env: Option<&str>,
                subject: Option<&str>,
                message: &str| {
        let place = [env, subject]
            .into_iter()
            .flatten()
            .map(visible)
            .collect::<Vec<_>>()
            .join(" ");
        let text = text::wrap(
            &format!("  {word} {severity} {code} {place}: {}", visible(message)),
            style.width,
            "    ",
        );
        text.replacen(word, &paint(word, p, color), 1)
    };
    for f in &view.new {
        out.push(line(
            "new",
            Paint::Yellow,
            f.severity,
            &f.code,
            f.environment.as_deref(),
            f.subject.as_deref(),
            &f.message,
        ));
    }
    for r in view.resolved {
        out.push(line(
            "resolved",
            Paint::Green,
            r.severity,
            &r.code,
            r.environment.as_deref(),
            r.subject.as_deref(),
            &r.message,
        ));
    }
    for l in &view.latest {
        out.push(text::wrap(
            &format!("  latest setting change, {l}"),
            style.width,
            "    ",
        ));
    }
    out
}
