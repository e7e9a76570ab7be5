//! The page as one self-contained HTML file: inline CSS, inline SVG charts, no script, and a
//! Content-Security-Policy that forbids every fetch, so opening it makes no network request.
//! Evidence links stay links (only http and https ones).

use super::Page;
use super::svg::{Bar, bar_chart, esc};

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;max-width:1100px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem;margin-top:1.4rem}.meta{color:#57606a}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#1a7f37}.failed,.errored{color:#cf222e;font-weight:600}.skipped,.notrun{color:#57606a}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1rem}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:.5rem}figcaption{font-weight:600;font-size:.9rem}
svg.chart{width:100%;height:auto}.bar{fill:#0969da}.bar.over{fill:#cf222e}
.grid{stroke:#d0d7de;stroke-width:1}.threshold{stroke:#9a6700;stroke-width:1.5;stroke-dasharray:5 3}
.axis{font-size:11px;fill:#57606a}.note{font-size:.85rem;color:#57606a}
.review li{margin:.2rem 0}.ok{color:#1a7f37}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table,figure{break-inside:avoid}a{color:inherit}a[href]::after{content:' (' attr(href) ')';font-size:.8em}}
";

fn table(header: &[&str], rows: Vec<Vec<String>>, numeric: &[usize]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if numeric.contains(&i) {
                s.push_str(&format!("<td class=\"num\">{c}</td>"));
            } else {
                s.push_str(&format!("<td>{c}</td>"));
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn state(s: &str) -> String {
    let class = s.replace(' ', "");
    format!("<span class=\"{}\">{}</span>", esc(&class), esc(s))
}

/// A link only for http(s) URLs; anything else is shown as text.
fn link(title: &str, url: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
            esc(url.trim()),
            esc(title)
        )
    } else {
        format!("{} ({})", esc(title), esc(url))
    }
}

pub fn render(p: &Page) -> String {
    let s = &p.standard;
    let v = |x: &str| esc(&crate::report::render::visible(x));
    let mut b = String::new();
    b.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — {}</title><style>{STYLE}</style></head><body>\n",
        v(&s.name),
        p.month
    ));
    b.push_str(&format!("<h1>{} — {}</h1>", v(&s.name), p.month));
    if let Some(note) = p.focus_note(v) {
        b.push_str(&format!("<p class=\"meta\">{note}</p>"));
    }
    let approved = match (&s.approved_by, s.approved_on) {
        (Some(by), Some(on)) => format!("{} on {on}", v(by)),
        (Some(by), None) => v(by),
        (None, Some(on)) => format!("on {on}"),
        (None, None) => "not recorded".into(),
    };
    b.push_str(&format!(
        "<p class=\"meta\">Owner: {}. Approved: {approved}. Baseline: <code>{}</code>. Generated {} by maildrift from its run history.</p>",
        v(&s.owner),
        v(&p.baseline_path),
        p.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    ));

    b.push_str("<h2>Latest change and next review</h2><ul>");
    match &p.latest_change {
        Some(c) => b.push_str(&format!(
            "<li>Latest change: <code>{}</code> in {} on {}, from <code>{}</code> to <code>{}</code></li>",
            v(&c.setting),
            v(&c.environment),
            c.changed_at.strftime("%Y-%m-%d"),
            c.from.as_deref().map_or("(absent)".into(), v),
            c.to.as_deref().map_or("(absent)".into(), v)
        )),
        None => b.push_str("<li>Latest change: none recorded</li>"),
    }
    b.push_str(&format!(
        "<li>Next review: <strong>{}</strong></li></ul>",
        s.review_by.map_or("not set".into(), |d| d.to_string())
    ));

    b.push_str("<h2>Scope, as measured</h2>");
    b.push_str(&table(
        &super::SCOPE_COLUMNS,
        super::scope_rows(p, v, state),
        &[],
    ));

    b.push_str("<h2>Binding rules</h2>");
    b.push_str(&table(
        &["Setting", "Value", "Applies to", "Where in Moodle"],
        p.rules
            .iter()
            .map(|r| {
                vec![
                    format!("<code>{}</code>", v(&r.setting)),
                    if r.value.is_empty() {
                        "<em>(empty)</em>".into()
                    } else {
                        format!("<code>{}</code>", v(&r.value).replace('\n', "<br>"))
                    },
                    v(&r.applies_to),
                    esc(r.admin_path),
                ]
            })
            .collect(),
        &[],
    ));

    b.push_str("<h2>Evidence</h2>");
    if s.evidence.is_empty() {
        b.push_str("<p>No evidence linked in the baseline.</p>");
    } else {
        b.push_str("<ul>");
        for e in &s.evidence {
            b.push_str(&format!(
                "<li>{}{}</li>",
                link(&crate::report::render::visible(&e.title), &e.url),
                e.environment
                    .as_deref()
                    .map(|n| format!(" ({})", v(n)))
                    .unwrap_or_default()
            ));
        }
        b.push_str("</ul>");
    }

    b.push_str("<h2>Active exceptions</h2>");
    if p.exceptions.is_empty() {
        b.push_str("<p>None.</p>");
    } else {
        b.push_str(&table(
            &super::EXCEPTION_COLUMNS,
            super::exception_rows(p, v),
            &[],
        ));
    }

    b.push_str("<h2>Metrics, last 12 months (reviewed monthly)</h2>");
    let rate_max = p.policy.failure_rate_max;
    let bars = |value: &dyn Fn(&super::FleetMonth) -> Option<f64>,
                over: &dyn Fn(&super::FleetMonth) -> bool| {
        p.trend
            .iter()
            .map(|m| {
                let val = if m.runs == 0 { None } else { value(m) };
                Bar {
                    label: m.month.to_string(),
                    value: val,
                    over: val.is_some() && over(m),
                }
            })
            .collect::<Vec<_>>()
    };
    let rate_floor = rate_max.map(|m| (1.0 - m) * 100.0);
    let rate_chart = bar_chart(
        "Delivery rate (proxy), % per month",
        &bars(&|m| m.delivery_rate_proxy.map(|r| r * 100.0), &|m| {
            m.rate_over
        }),
        rate_floor,
        Some(90.0),
        Some(100.0),
        &|x| format!("{x:.0} %"),
    );
    let failed_chart = bar_chart(
        "Failed deliveries (≈) per month",
        &bars(&|m| Some(m.failed), &|_| false),
        None,
        None,
        None,
        &|x| format!("{x:.0}"),
    );
    let queue_limit = p.policy.queue_max_age_minutes as f64;
    let queue_chart = bar_chart(
        "Mail-queue delay at peak, minutes",
        &bars(&|m| Some(m.queue_peak_seconds as f64 / 60.0), &|m| {
            m.queue_over
        }),
        Some(queue_limit),
        None,
        None,
        &|x| format!("{x:.0}"),
    );
    b.push_str("<div class=\"charts\">");
    for (caption, chart) in [
        ("Delivery rate (proxy)", rate_chart),
        ("Failed deliveries (≈)", failed_chart),
        ("Mail-queue delay at peak", queue_chart),
    ] {
        b.push_str(&format!(
            "<figure><figcaption>{caption}</figcaption>{chart}</figure>"
        ));
    }
    b.push_str("</div>");
    b.push_str(&format!(
        "<p class=\"note\">Delivery rate is a <strong>proxy</strong>: 1 − failed ÷ (failed + message_sent); Moodle logs no \"e-mail sent\" event and message_sent counts every notification. Failed deliveries are estimated (≈) from overlapping {}-day windows. Queue delay is the worst seen at a run. Bars show {}; dashed lines are the standard's thresholds for each environment; a red bar marks a month in which at least one environment was over its threshold (see the review).</p>",
        p.policy.window_days,
        v(&p.whose())
    ));
    b.push_str(&table(
        &super::metric_header("Month"),
        super::trend_rows(p),
        &[1, 2, 3, 4],
    ));

    b.push_str(&format!("<h3>{} by environment</h3>", p.month));
    if p.figures.is_empty() {
        b.push_str("<p>No runs with health figures in this month.</p>");
    } else {
        b.push_str(&table(
            &super::metric_header("Environment"),
            super::figure_rows(p, v),
            &[1, 2, 3, 4],
        ));
    }
    b.push_str(&format!("<h3>Review of {}</h3>", p.month));
    if p.review.is_empty() {
        b.push_str("<p class=\"ok\">Every metric within the standard's thresholds.</p>");
    } else {
        b.push_str("<ul class=\"review\">");
        for f in &p.review {
            b.push_str(&format!(
                "<li><strong>{}</strong> {} ({}): {}</li>",
                esc(&f.code),
                v(f.environment.as_deref().unwrap_or("")),
                esc(&f.name),
                v(&f.message)
            ));
        }
        b.push_str("</ul>");
    }
    b.push_str("\n</body></html>\n");
    b
}
