//! End-to-end: `maildrift health` and `maildrift testmail` against the fake Moodle.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The fake's `generatedat` (1795940000): no clock-skew finding.
const NOW: &str = "2026-11-29T08:13:20Z";

/// Writes a config for `envs` (all served by `fake`) and returns its path.
fn config(dir: &Path, fake: &FakeMoodle, envs: &[&str], extra: &str) -> PathBuf {
    let mut text = String::from(extra);
    for e in envs {
        text.push_str(&format!(
            "\n[environments.{e}]\nurl = \"{}\"\nkeyring = false\ntoken_env = \"MAILDRIFT_HEALTH_TOKEN_{}\"\nretries = 0\ntimeout = 10\n",
            fake.url(e),
            e.to_uppercase()
        ));
    }
    let path = dir.join("maildrift.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn maildrift(config: &Path, envs: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("maildrift").unwrap();
    cmd.arg("--config")
        .arg(config)
        .env("MAILDRIFT_NOW", NOW)
        .env_remove("MAILDRIFT_BASELINE");
    for e in envs {
        cmd.env(
            format!("MAILDRIFT_HEALTH_TOKEN_{}", e.to_uppercase()),
            TOKEN,
        );
    }
    cmd
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn codes(v: &Value, env: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["environment"] == env)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

const BASELINE: &str =
    "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"Mail\"\nowner = \"Ops\"\n";

#[test]
fn thresholds_from_the_baseline_raise_findings_but_exit_zero() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("baseline.toml"),
        format!("{BASELINE}[health]\ncron_max_age_minutes = 1\nfailed_mail_max = 1\nqueue_max_age_minutes = 10\ntestmail_max_age_days = 0\n"),
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        &fake,
        &["production"],
        "baseline = \"baseline.toml\"\n",
    );
    let out = maildrift(&cfg, &["production"])
        .args(["health", "--format", "json", "--days", "14"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["schema"], "maildrift.health/1");
    assert_eq!(v["window_days"], 14);
    let h = &v["environments"][0]["health"];
    assert_eq!(h["cron"]["age_seconds"], 100);
    assert_eq!(h["queue"]["all"]["oldest_due_age_seconds"], 1000);
    assert_eq!(h["failed_mail"]["failed"], 2);
    // The days asked for reach the plugin.
    assert!(
        fake.requests_for("production")
            .iter()
            .any(|r| r.field("days") == Some("14"))
    );
    // cron 100 s > 1 min, 2 failed > 1, all-queue oldest 1000 s > 10 min.
    assert_eq!(codes(&v, "production"), ["MD801", "MD805", "MD802"]);
}

#[test]
fn defaults_apply_without_a_baseline_and_the_table_shows_figures() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &fake,
        &["production"],
        &format!("evidence_dir = \"{}\"\n", dir.path().join("ev").display()),
    );
    let out = maildrift(&cfg, &["production"])
        .args(["health", "--format", "table"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("production"), "{text}");
    assert!(text.contains("1 min ago"), "{text}");
    assert!(text.contains("2 of 842"), "{text}");
    // No evidence yet: MD901 under the default policy; nothing else.
    assert!(text.contains("MD901"), "{text}");
    assert!(!text.contains("MD80"), "{text}");
    assert!(text.contains("Recent failures on production"), "{text}");
}

#[test]
fn a_failing_site_does_not_hide_the_other_and_exits_one() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN).with_fault(Fault::InvalidToken),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake, &["production", "staging"], "");
    let out = maildrift(&cfg, &["production", "staging"])
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs[0]["environment"], "production");
    assert_eq!(envs[0]["state"], "ok");
    assert!(envs[0]["health"].is_object());
    assert_eq!(envs[1]["environment"], "staging");
    assert_eq!(envs[1]["state"], "failed");
    assert!(
        envs[1]["error"].as_str().unwrap().contains("staging"),
        "{}",
        envs[1]["error"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("staging"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));
}

#[test]
fn a_site_without_a_log_store_gives_a_warning_not_a_failure() {
    let mut health = support::fake_moodle::default_health();
    health["failedmail"]["logavailable"] = false.into();
    health["warnings"] = serde_json::json!([{"item":"log","warningcode":"nologstore","message":"No enabled log store can be read (enable logstore_standard); failed mail cannot be counted."}]);
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).health(health),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake, &["production"], "");
    let out = maildrift(&cfg, &["production"])
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert!(codes(&v, "production").contains(&"MD808".to_string()));
    assert!(!codes(&v, "production").contains(&"MD806".to_string()));
}

/// The captured answer of a real local_maildrift (tests/fixtures/moodle/get_mail_health.json),
/// with `mail` and `mailtasks` beside `adhoc`, is read as it is.
#[test]
fn the_real_plugin_answer_is_read() {
    let text = std::fs::read_to_string("tests/fixtures/moodle/get_mail_health.json").unwrap();
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).health(serde_json::from_str(&text).unwrap()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake, &["production"], "");
    let out = maildrift(&cfg, &["production"])
        .env("MAILDRIFT_NOW", "2026-11-29T09:34:08Z")
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(
        v["environments"][0]["health"]["queue"]["mail"]["failing"],
        1
    );
    assert_eq!(
        v["environments"][0]["health"]["bounces"]["users_over_threshold"],
        1
    );
}

fn evidence_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn testmail_writes_evidence_then_the_rate_limit_refuses_without_evidence() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    let cfg = config(dir.path(), &fake, &["production"], "");
    let out = maildrift(&cfg, &["production"])
        .args([
            "testmail",
            "production",
            "--to",
            "postmaster@example.edu",
            "--evidence-dir",
        ])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("md-0a1b2c3d4e5f"), "{stdout}");
    let files = evidence_files(&ev);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert_eq!(name, "production-20261129T081320Z-md-0a1b2c3d4e5f.json");
    let rec: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(rec["schema"], "maildrift.evidence/1");
    assert_eq!(rec["environment"], "production");
    assert_eq!(rec["recipient"], "postmaster@example.edu");
    assert_eq!(rec["result"], "sent");
    assert_eq!(rec["error"], Value::Null);
    let req = fake.requests_for("production");
    assert_eq!(
        req.last().unwrap().field("recipient"),
        Some("postmaster@example.edu")
    );

    let out = maildrift(&cfg, &["production"])
        .args([
            "testmail",
            "production",
            "--to",
            "postmaster@example.edu",
            "--evidence-dir",
        ])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("testmailtoosoon") && stderr.contains("no evidence was written"),
        "{stderr}"
    );
    assert_eq!(evidence_files(&ev).len(), 1);
}

#[test]
fn a_failed_send_is_recorded_as_failed_and_exits_one() {
    let answer: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/moodle/send_test_mail.failed_diverted.json")
            .unwrap(),
    )
    .unwrap();
    let fake = FakeMoodle::start(vec![FakeSite::staging("staging", TOKEN).test_mail(answer)]);
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    let cfg = config(
        dir.path(),
        &fake,
        &["staging"],
        &format!("evidence_dir = \"{}\"\n", ev.display()),
    );
    let out = maildrift(&cfg, &["staging"])
        .args(["testmail", "staging", "--to", "someone@example.edu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("diverted"));
    let files = evidence_files(&ev);
    assert_eq!(files.len(), 1);
    let rec: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(rec["result"], "failed");
    assert!(
        rec["error"]
            .as_str()
            .unwrap()
            .contains("Recipient address rejected")
    );
    assert_eq!(rec["token"], "md-11144144c7b3");
    assert!(
        rec["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("diverted:")
    );
}

#[test]
fn a_bad_address_is_refused_before_any_request() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake, &["production"], "");
    let out = maildrift(&cfg, &["production"])
        .args(["testmail", "production", "--to", "Ops <ops@example.edu>"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to"));
    assert!(fake.requests().is_empty());
}

fn write_record(dir: &Path, env: &str, sent_at: &str, result: &str) {
    let t: jiff::Timestamp = sent_at.parse().unwrap();
    let token = format!("md-{:012x}", t.as_second());
    let rec = serde_json::json!({
        "schema": "maildrift.evidence/1", "environment": env, "url": "https://moodle.example.edu",
        "recipient": "postmaster@example.edu", "token": token, "subject": format!("maildrift test {token}"),
        "sent_at": sent_at, "recorded_at": sent_at, "result": result,
        "error": if result == "failed" { Value::from("SMTP connect() failed.") } else { Value::Null },
        "warnings": [], "tool": "maildrift 0.1.0",
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!(
            "{env}-{}-{token}.json",
            t.strftime("%Y%m%dT%H%M%SZ")
        )),
        rec.to_string(),
    )
    .unwrap();
}

#[test]
fn evidence_ages_and_fails_per_environment() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN),
        FakeSite::production("test", TOKEN),
        FakeSite::production("uat", TOKEN),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    // production: fresh (10 days). staging: 40 days old. test: newest failed, older success fresh.
    write_record(&ev, "production", "2026-11-19T08:00:00Z", "sent");
    write_record(&ev, "production", "2026-09-01T08:00:00Z", "sent");
    write_record(&ev, "staging", "2026-10-20T08:00:00Z", "sent");
    write_record(&ev, "test", "2026-11-20T08:00:00Z", "sent");
    write_record(&ev, "test", "2026-11-28T08:00:00Z", "failed");
    std::fs::write(ev.join("uat-20261128T080000Z-md-broken.json"), "{ not json").unwrap();
    let envs = ["production", "staging", "test", "uat"];
    let cfg = config(
        dir.path(),
        &fake,
        &envs,
        &format!("evidence_dir = \"{}\"\n", ev.display()),
    );
    let out = maildrift(&cfg, &envs)
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let ev_codes = |env: &str| {
        codes(&v, env)
            .into_iter()
            .filter(|c| c.starts_with("MD9"))
            .collect::<Vec<_>>()
    };
    assert_eq!(ev_codes("production"), Vec::<String>::new());
    assert_eq!(ev_codes("staging"), ["MD902"]);
    assert_eq!(ev_codes("test"), ["MD903"]);
    assert_eq!(ev_codes("uat"), ["MD901", "MD904"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uat-20261128T080000Z-md-broken.json"),
        "{stderr}"
    );
    let p = &v["environments"][0]["health"]["testmail"];
    assert_eq!(p["last_success_at"], "2026-11-19T08:00:00Z");
    // A tighter policy makes production's evidence old too.
    std::fs::write(
        dir.path().join("b.toml"),
        format!("{BASELINE}[health]\ntestmail_max_age_days = 7\n"),
    )
    .unwrap();
    let out = maildrift(&cfg, &envs)
        .args(["health", "--format", "json", "--baseline"])
        .arg(dir.path().join("b.toml"))
        .output()
        .unwrap();
    assert_eq!(ev_codes_of(&json(&out), "production"), ["MD902"]);
}

fn ev_codes_of(v: &Value, env: &str) -> Vec<String> {
    codes(v, env)
        .into_iter()
        .filter(|c| c.starts_with("MD9"))
        .collect()
}

#[test]
fn an_unknown_health_key_names_the_baseline_file_line_and_key() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("baseline.toml"),
        format!("{BASELINE}[health]\ncron_max_age = 5\n"),
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        &fake,
        &["production"],
        "baseline = \"baseline.toml\"\n",
    );
    let out = maildrift(&cfg, &["production"])
        .args(["health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("baseline.toml:6:1:") && stderr.contains("cron_max_age"),
        "{stderr}"
    );
}
