//! OpenMetrics output checked by Prometheus' own `promtool`, plus the OpenMetrics rules the
//! older text format parser promtool uses does not enforce.
//!
//! Without promtool the tests skip with a reason, except in CI (`CI=true`), where they fail.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command as Proc, Stdio};

use assert_cmd::Command;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// `Some(path)` when promtool can run; `None` (after saying why) when it can't and this is not CI.
fn promtool() -> Option<&'static str> {
    let ok = Proc::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some("promtool");
    }
    support::skip::required(
        "openmetrics_promtool",
        "promtool not found (Debian: apt-get install prometheus)",
    );
    None
}

fn check_metrics(text: &str) {
    let Some(tool) = promtool() else { return };
    let mut child = Proc::new(tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// OpenMetrics rules: ends with `# EOF`; each family's metadata precedes its samples and the
/// family is contiguous; UNIT is a suffix of the name; gauges don't end in `_total`.
fn check_openmetrics_structure(text: &str) {
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end");
    assert_eq!(text.matches("# EOF").count(), 1);
    let mut seen: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            if kind == "EOF" {
                continue;
            }
            assert!(["HELP", "TYPE", "UNIT"].contains(&kind), "{line}");
            if name != current {
                assert!(!seen.contains(&name.to_string()), "family {name} is split");
                seen.push(name.to_string());
                current = name.to_string();
            }
            if kind == "UNIT" {
                let unit = parts.next().unwrap();
                assert!(name.ends_with(&format!("_{unit}")), "{line}");
            }
            if kind == "TYPE" {
                assert_eq!(parts.next(), Some("gauge"), "{line}");
                assert!(!name.ends_with("_total"), "{line}");
            }
        } else {
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(name, current, "sample outside its family: {line}");
            assert!(line.contains("command=\""), "{line}");
        }
    }
}

fn config(dir: &Path, fake: &FakeMoodle, envs: &[&str]) -> std::path::PathBuf {
    let mut text = format!("evidence_dir = \"{}\"\n", dir.join("evidence").display());
    for e in envs {
        text.push_str(&format!(
            "\n[environments.{e}]\nurl = \"{}\"\nkeyring = false\ntoken_env = \"MAILDRIFT_OM_TOKEN_{}\"\nretries = 0\n",
            fake.url(e),
            e.to_uppercase()
        ));
    }
    let path = dir.join("maildrift.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn health_openmetrics_passes_promtool_and_is_written_atomically() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN).with_fault(Fault::PluginMissing),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake, &["production", "staging"]);
    let prom = dir.path().join("maildrift.prom");
    std::fs::write(&prom, "old").unwrap();
    let out = Command::cargo_bin("maildrift")
        .unwrap()
        .arg("--config")
        .arg(&cfg)
        .env("MAILDRIFT_NOW", "2026-11-29T08:13:20Z")
        .env("MAILDRIFT_OM_TOKEN_PRODUCTION", TOKEN)
        .env("MAILDRIFT_OM_TOKEN_STAGING", TOKEN)
        .args(["health", "--format", "openmetrics", "-o"])
        .arg(&prom)
        .output()
        .unwrap();
    // staging lacks the plugin: the run fails, production still reports.
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&prom).unwrap();
    check_openmetrics_structure(&text);
    check_metrics(&text);
    for want in [
        "maildrift_last_run_success{command=\"health\"} 0",
        "maildrift_environment_up{command=\"health\",environment=\"production\"} 1",
        "maildrift_environment_up{command=\"health\",environment=\"staging\"} 0",
        "maildrift_cron_last_run_age_seconds{command=\"health\",environment=\"production\"} 100",
        "maildrift_adhoc_queue_oldest_due_age_seconds{command=\"health\",environment=\"production\",queue=\"mail\"} 500",
        "maildrift_mail_failed_messages{command=\"health\",environment=\"production\"} 2",
        "maildrift_bounce_users{command=\"health\",environment=\"production\"} 0",
        "# UNIT maildrift_cron_last_run_age_seconds seconds",
        "maildrift_findings{command=\"health\",environment=\"production\",severity=\"warning\"} 1",
    ] {
        assert!(text.contains(want), "missing {want}\n{text}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn check_openmetrics_of_the_demo_passes_promtool() {
    let out = Command::cargo_bin("maildrift")
        .unwrap()
        .args([
            "check",
            "--config",
            "examples/demo/maildrift.toml",
            "--no-dns",
            "--format",
            "openmetrics",
        ])
        .env("MAILDRIFT_NOW", "2026-11-29T08:13:20Z")
        .env_remove("MAILDRIFT_BASELINE")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    check_openmetrics_structure(&text);
    check_metrics(&text);
    assert!(
        text.contains("maildrift_drift_detected{command=\"check\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("maildrift_last_run_success{command=\"check\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("maildrift_last_run_timestamp_seconds{command=\"check\"} 1795940000"),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped_in_a_way_promtool_accepts() {
    use maildrift::findings::{Finding, Severity};
    use maildrift::report::render::{Format, Style, report};
    let r = maildrift::audit::build(
        &[],
        None,
        maildrift::audit::External {
            findings: vec![
                Finding::new(&maildrift::health::CRON_STALE, "x")
                    .env("we\"ird\\env\nname")
                    .severity(Severity::Error),
            ],
            ..Default::default()
        },
        &maildrift::audit::Options {
            fail_on: Severity::Error,
            now: jiff::Timestamp::UNIX_EPOCH,
            today: jiff::civil::date(2026, 11, 29),
        },
    );
    let text = report(&r, Format::Openmetrics, &Style::default());
    assert!(
        text.contains(r#"environment="we\"ird\\env\nname""#),
        "{text}"
    );
    check_openmetrics_structure(&text);
    check_metrics(&text);
}

#[test]
fn alert_rules_pass_promtool() {
    let Some(tool) = promtool() else { return };
    let out = Proc::new(tool)
        .args(["check", "rules", "examples/prometheus/alerts.yml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
