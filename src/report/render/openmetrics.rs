//! OpenMetrics text (`application/openmetrics-text; version=1.0.0`) for Prometheus, written so
//! that the node exporter's textfile collector (which reads the older Prometheus text format)
//! accepts it too: gauges only, no timestamps, `# UNIT` and `# EOF` lines (comments to the
//! older parser), HELP texts without quotes.
//!
//! Every sample carries a `command` label (`check` or `health`) so the two commands can write
//! into the same textfile directory without producing the same series twice.
//! Metric names and meanings are documented in `docs/health.md`.

use std::fmt::Write as _;

use crate::compare::diff::SnapshotDiff;
use crate::health::EnvironmentHealth;
use crate::report::{EnvState, Outcome, Report};

/// One metric family: metadata and its samples, in insertion order.
struct Family {
    name: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

#[derive(Default)]
struct Metrics {
    families: Vec<Family>,
}

impl Metrics {
    fn gauge(
        &mut self,
        name: &'static str,
        unit: Option<&'static str>,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    ) {
        let i = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                debug_assert!(
                    unit.is_none_or(|u| name.ends_with(&format!("_{u}"))),
                    "{name} must end in its unit"
                );
                self.families.push(Family {
                    name,
                    unit,
                    help,
                    samples: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        self.families[i].samples.push((labels, value));
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for f in self.families.iter().filter(|f| !f.samples.is_empty()) {
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} gauge", f.name);
            if let Some(u) = f.unit {
                let _ = writeln!(out, "# UNIT {} {u}", f.name);
            }
            for (labels, value) in &f.samples {
                out.push_str(f.name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", number(*value));
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// Label values: backslash, double quote and new line escaped (both formats agree on these).
pub(crate) fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and new line escaped; double quotes dropped because the older text
/// format does not allow escaping them in HELP.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn seconds(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

fn bool01(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The metrics of a report made by `command` (`check` or `health`).
pub fn report(r: &Report, command: &str) -> String {
    let mut m = Metrics::default();
    let cmd = || ("command", command.to_string());
    m.gauge(
        "maildrift_last_run_timestamp_seconds",
        Some("seconds"),
        "When maildrift last ran (Unix time)",
        vec![cmd()],
        seconds(r.generated_at),
    );
    m.gauge(
        "maildrift_last_run_success",
        None,
        "1 when the last run read every environment and ran every check, 0 when it failed",
        vec![cmd()],
        bool01(r.outcome() != Outcome::Failed),
    );
    m.gauge(
        "maildrift_drift_detected",
        None,
        "1 when the last run found findings at or above its fail-on severity",
        vec![cmd()],
        bool01(r.summary.failing > 0),
    );
    for e in &r.environments {
        m.gauge(
            "maildrift_environment_up",
            None,
            "1 when the environment could be read in the last run",
            vec![cmd(), ("environment", e.name.clone())],
            bool01(e.state == EnvState::Ok),
        );
    }
    let mut groups: Vec<Option<&str>> = super::environment_keys(r);
    if r.standard.is_none() && !r.findings.iter().any(|f| f.environment.is_none()) {
        groups.retain(Option::is_some);
    }
    for env in groups {
        for sev in [
            crate::findings::Severity::Error,
            crate::findings::Severity::Warning,
            crate::findings::Severity::Info,
        ] {
            let n = r
                .findings
                .iter()
                .filter(|f| f.environment.as_deref() == env && f.severity == sev)
                .count();
            m.gauge(
                "maildrift_findings",
                None,
                "Findings of the last run by environment and severity (environment empty: the standard itself)",
                vec![cmd(), ("environment", env.unwrap_or("").to_string()), ("severity", sev.as_str().to_string())],
                n as f64,
            );
        }
    }
    for h in &r.health {
        health(&mut m, h, command);
    }
    m.render()
}

fn health(m: &mut Metrics, h: &EnvironmentHealth, command: &str) {
    let l = || {
        vec![
            ("command", command.to_string()),
            ("environment", h.environment.clone()),
        ]
    };
    let lq = |queue: &str| {
        let mut v = l();
        v.push(("queue", queue.to_string()));
        v
    };
    m.gauge(
        "maildrift_health_generated_timestamp_seconds",
        Some("seconds"),
        "The site clock when it reported its mail health (Unix time)",
        l(),
        seconds(h.generated_at),
    );
    m.gauge(
        "maildrift_cron_last_run_age_seconds",
        Some("seconds"),
        "Seconds since cron last started, on the site clock (+Inf: never ran)",
        l(),
        h.cron.age_seconds.map_or(f64::INFINITY, |s| s as f64),
    );
    for (name, q) in [("all", &h.queue.all), ("mail", &h.queue.mail)] {
        m.gauge(
            "maildrift_adhoc_queue_oldest_due_age_seconds",
            Some("seconds"),
            "Seconds the oldest due ad-hoc task has waited (0: none due); queue=mail counts only mail-sending tasks",
            lq(name),
            q.oldest_due_age_seconds as f64,
        );
        m.gauge(
            "maildrift_adhoc_queue_due_tasks",
            None,
            "Ad-hoc tasks due to run now",
            lq(name),
            q.due_now as f64,
        );
        m.gauge(
            "maildrift_adhoc_queue_pending_tasks",
            None,
            "Ad-hoc tasks in the queue",
            lq(name),
            q.pending as f64,
        );
        m.gauge(
            "maildrift_adhoc_queue_failing_tasks",
            None,
            "Ad-hoc tasks whose last run failed",
            lq(name),
            q.failing as f64,
        );
    }
    let f = &h.failed_mail;
    m.gauge(
        "maildrift_mail_log_available",
        None,
        "1 when the site has a readable log store, so failed and sent mail can be counted",
        l(),
        bool01(f.log_available),
    );
    m.gauge(
        "maildrift_mail_window_seconds",
        Some("seconds"),
        "Length of the window the failed and sent mail gauges cover",
        l(),
        h.window_days as f64 * 86_400.0,
    );
    if f.log_available {
        m.gauge(
            "maildrift_mail_failed_messages",
            None,
            "Messages that failed to send within the window (email_failed events)",
            l(),
            f.failed as f64,
        );
        m.gauge(
            "maildrift_mail_sent_messages",
            None,
            "Messages sent within the window (message_sent events)",
            l(),
            f.sent as f64,
        );
    }
    if let Some(rate) = f.failure_rate {
        m.gauge(
            "maildrift_mail_failure_ratio",
            Some("ratio"),
            "failed / (failed + sent) within the window",
            l(),
            rate,
        );
    }
    if let Some(t) = f.last_failure {
        m.gauge(
            "maildrift_mail_last_failure_timestamp_seconds",
            Some("seconds"),
            "When a message last failed to send (Unix time)",
            l(),
            seconds(t),
        );
    }
    m.gauge(
        "maildrift_bounce_users",
        None,
        "Users over the bounce threshold, to whom Moodle sends no mail",
        l(),
        h.bounces.users_over_threshold as f64,
    );
    if let Some(t) = &h.testmail {
        if let Some(at) = t.last_success_at {
            m.gauge(
                "maildrift_testmail_last_success_timestamp_seconds",
                Some("seconds"),
                "Send time of the newest successful test mail in the evidence folder (Unix time)",
                l(),
                seconds(at),
            );
        }
        if let Some(result) = t.last_result {
            m.gauge(
                "maildrift_testmail_last_attempt_success",
                None,
                "1 when the newest test mail in the evidence folder was sent, 0 when it failed",
                l(),
                bool01(result == crate::evidence::SendResult::Sent),
            );
        }
    }
}

/// A diff as metrics: how many settings, secrets and DKIM keys differ.
pub fn diff(d: &SnapshotDiff) -> String {
    let mut m = Metrics::default();
    for (kind, n) in [
        ("settings", d.settings.len()),
        ("secrets", d.secrets.len()),
        ("dkim", d.dkim.len()),
    ] {
        m.gauge(
            "maildrift_diff_differences",
            None,
            "Differences between two snapshots by kind",
            vec![
                ("command", "diff".to_string()),
                ("left", d.left.environment.clone()),
                ("right", d.right.environment.clone()),
                ("kind", kind.to_string()),
            ],
            n as f64,
        );
    }
    m.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("say \"hi\"\\\n"), "say hi\\\\\\n");
    }

    #[test]
    fn numbers_render_as_integers_floats_and_infinities() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.02), "0.02");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(1795940000.5), "1795940000.5");
    }

    #[test]
    fn families_are_contiguous_and_output_ends_with_eof() {
        let mut m = Metrics::default();
        m.gauge(
            "x_seconds",
            Some("seconds"),
            "h",
            vec![("a", "1".into())],
            1.0,
        );
        m.gauge("y", None, "h", vec![], 2.0);
        m.gauge(
            "x_seconds",
            Some("seconds"),
            "h",
            vec![("a", "2".into())],
            3.0,
        );
        let s = m.render();
        assert_eq!(
            s,
            "# HELP x_seconds h\n# TYPE x_seconds gauge\n# UNIT x_seconds seconds\nx_seconds{a=\"1\"} 1\nx_seconds{a=\"2\"} 3\n# HELP y h\n# TYPE y gauge\ny 2\n# EOF\n"
        );
    }
}
