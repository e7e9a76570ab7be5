//! Bar charts as inline SVG, drawn here (no library, no fetched script or font): one bar per
//! month, an optional dashed threshold line, labels in the page's own font. Plain shapes and
//! text print well and scale.

/// One bar: its label (`2026-06`), its value (`None`: no data), and whether it is over the
/// threshold (drawn in the warning colour).
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub over: bool,
}

/// Escapes text for SVG/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const W: f64 = 480.0;
const H: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

/// A bar chart. `min`/`max` fix the value axis (`None`: from 0 to the largest value or
/// threshold); `fmt` writes axis and value labels.
pub fn bar_chart(
    title: &str,
    bars: &[Bar],
    threshold: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let lo = min.unwrap_or(0.0);
    let top_value = bars
        .iter()
        .filter_map(|b| b.value)
        .chain(threshold)
        .fold(lo, f64::max);
    let hi = max.unwrap_or(if top_value > lo {
        top_value * 1.1
    } else {
        lo + 1.0
    });
    let plot_h = H - BOTTOM - TOP;
    let y = |v: f64| TOP + plot_h - ((v.clamp(lo, hi) - lo) / (hi - lo)) * plot_h;
    let n = bars.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" class=\"chart\"><title>{}</title>",
        esc(title)
    );
    // Axis with three gridlines.
    for i in 0..=2 {
        let v = lo + (hi - lo) * f64::from(i) / 2.0;
        let yy = y(v);
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{}</text>",
            W - 4.0,
            LEFT - 4.0,
            yy + 4.0,
            esc(&fmt(v))
        ));
    }
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        match b.value {
            Some(v) => {
                let yy = y(v);
                let class = if b.over { "bar over" } else { "bar" };
                s.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" class=\"{class}\"><title>{}: {}</title></rect>",
                    (TOP + plot_h - yy).max(0.5),
                    esc(&b.label),
                    esc(&fmt(v))
                ));
            }
            None => s.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">–</text>",
                x + bw / 2.0,
                TOP + plot_h - 4.0
            )),
        }
        // Month labels: every other one, counted back from the last so it always has one.
        if i % 2 == (bars.len() - 1) % 2 {
            s.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                H - BOTTOM + 16.0,
                esc(&b.label)
            ));
        }
    }
    if let Some(t) = threshold {
        let yy = y(t);
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"threshold\"><title>threshold {}</title></line>",
            W - 4.0,
            esc(&fmt(t))
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_one_bar_per_value_and_escapes_labels() {
        let bars = vec![
            Bar {
                label: "2026-01".into(),
                value: Some(2.0),
                over: false,
            },
            Bar {
                label: "<b>".into(),
                value: Some(5.0),
                over: true,
            },
            Bar {
                label: "2026-03".into(),
                value: None,
                over: false,
            },
        ];
        let svg = bar_chart("t & t", &bars, Some(4.0), None, None, &|v| {
            format!("{v:.0}")
        });
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("class=\"bar over\"").count(), 1);
        assert!(svg.contains("t &amp; t") && svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("class=\"threshold\""));
    }
}
