//! `check --previous` and `--fail-on-new` on the bundled demo (snapshots and a zone file, no
//! network): new, persisting and resolved findings, and which of them fail the run.

mod cli_common;
mod support;

use std::path::Path;

use cli_common::{Out, bare_cmd, demo_dir, run_cmd};
use serde_json::Value;

const NIGHT1: &str = "2026-11-28T02:00:00Z";
const NIGHT2: &str = "2026-11-29T02:00:00Z";

fn check(dir: &Path, now: &str, extra: &[&str]) -> Out {
    let config = demo_dir().join("maildrift.toml");
    let mut c = bare_cmd(dir);
    c.env("MAILDRIFT_NOW", now)
        .arg("--config")
        .arg(&config)
        .args(["check", "--quiet"])
        .args(extra);
    run_cmd(&mut c)
}

/// The second night gated on what is new since night1.json, in `format`.
fn second_night_fail_on_new(dir: &Path, format: &str) -> Out {
    check(
        dir,
        NIGHT2,
        &[
            "--previous",
            "night1.json",
            "--fail-on-new",
            "--format",
            format,
        ],
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report parses")
}

fn write(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).expect("serialise")).expect("write");
}

/// The first night's report, as `nightly` would have kept it.
fn first_night(dir: &Path) -> Value {
    let out = check(dir, NIGHT1, &["--format", "json", "-o", "night1.json"]);
    assert_eq!(out.code, 2, "{}", out.both());
    read(&dir.join("night1.json"))
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings array")
}

#[test]
fn unchanged_findings_persist_since_the_first_night_and_do_not_fail_with_fail_on_new() {
    let dir = tempfile::tempdir().unwrap();
    first_night(dir.path());
    let out = second_night_fail_on_new(dir.path(), "json");
    assert_eq!(out.code, 0, "{}", out.both());
    let r = out.json();
    assert_eq!(r["changes"]["new"], 0, "{}", out.stdout);
    assert!(r["changes"]["resolved"].as_array().unwrap().is_empty());
    for f in findings(&r) {
        assert_eq!(f["state"], "persisting", "{f}");
        assert_eq!(f["since"], NIGHT1, "{f}");
    }
    // Without --fail-on-new the same run is drift, as every night before.
    let plain = check(dir.path(), NIGHT2, &["--previous", "night1.json"]);
    assert_eq!(plain.code, 2, "{}", plain.both());
}

/// The `<failure>` elements of a JUnit report, each with its `type` (the codes).
fn junit_failures(xml: &str) -> Vec<String> {
    xml.match_indices("<failure ")
        .map(|(i, _)| {
            let rest = &xml[i..];
            let t = rest.find("type=\"").expect("failure type") + 6;
            rest[t..t + rest[t..].find('"').expect("closing quote")].to_string()
        })
        .collect()
}

#[test]
fn junit_fails_no_test_case_for_persisting_findings_under_fail_on_new() {
    let dir = tempfile::tempdir().unwrap();
    first_night(dir.path());
    let args = ["--previous", "night1.json", "--format", "junit"];
    let gate = check(
        dir.path(),
        NIGHT2,
        &[&args[..], &["--fail-on-new"]].concat(),
    );
    assert_eq!(gate.code, 0, "{}", gate.both());
    assert_eq!(
        junit_failures(&gate.stdout),
        Vec::<String>::new(),
        "{}",
        gate.stdout
    );
    assert!(gate.stdout.contains("failures=\"0\""), "{}", gate.stdout);
    // The persisting findings are still in the report, as output of their test cases.
    assert!(gate.stdout.contains("<system-out>"), "{}", gate.stdout);
    // Without --fail-on-new the same findings fail their test cases, matching exit code 2.
    let plain = check(dir.path(), NIGHT2, &args);
    assert_eq!(plain.code, 2, "{}", plain.both());
    assert!(
        !junit_failures(&plain.stdout).is_empty(),
        "{}",
        plain.stdout
    );
}

#[test]
fn since_carries_over_from_the_previous_reports_own_since() {
    let dir = tempfile::tempdir().unwrap();
    first_night(dir.path());
    let out = check(
        dir.path(),
        NIGHT2,
        &[
            "--previous",
            "night1.json",
            "--format",
            "json",
            "-o",
            "night2.json",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.both());
    let third = check(
        dir.path(),
        "2026-11-30T02:00:00Z",
        &["--previous", "night2.json", "--format", "json"],
    );
    for f in findings(&third.json()) {
        assert_eq!(f["since"], NIGHT1, "{f}");
    }
}

#[test]
fn a_new_error_fails_with_fail_on_new_and_is_listed_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut night1 = first_night(dir.path());
    // Pretend the first night did not have one of tonight's errors.
    let list = night1["findings"].as_array_mut().unwrap();
    let i = list
        .iter()
        .position(|f| f["severity"] == "error")
        .expect("the demo has errors");
    let gone = list.remove(i);
    write(&dir.path().join("night1.json"), &night1);

    let out = second_night_fail_on_new(dir.path(), "json");
    assert_eq!(out.code, 2, "{}", out.both());
    let r = out.json();
    assert_eq!(r["changes"]["new"], 1, "{}", out.stdout);
    let new: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| f["state"] == "new")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["fingerprint"], gone["fingerprint"]);
    assert_eq!(new[0]["since"], NIGHT2);

    let table = second_night_fail_on_new(dir.path(), "table");
    let lead = table.stdout.split("\n\n").nth(1).unwrap_or_default();
    assert!(
        lead.starts_with("Since the previous run")
            && lead.contains(&format!("new error {}", gone["code"].as_str().unwrap())),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("1 new finding at or above error"),
        "{}",
        table.stdout
    );

    // JUnit fails exactly the new finding's test case.
    let junit = second_night_fail_on_new(dir.path(), "junit");
    assert_eq!(junit.code, 2, "{}", junit.both());
    assert_eq!(
        junit_failures(&junit.stdout),
        vec![gone["code"].as_str().unwrap().to_string()],
        "{}",
        junit.stdout
    );
}

#[test]
fn a_new_warning_fails_with_fail_on_new_only_when_fail_on_reaches_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut night1 = first_night(dir.path());
    let list = night1["findings"].as_array_mut().unwrap();
    let i = list
        .iter()
        .position(|f| f["severity"] == "warning")
        .expect("the demo has warnings");
    list.remove(i);
    write(&dir.path().join("night1.json"), &night1);
    let at_error = check(
        dir.path(),
        NIGHT2,
        &["--previous", "night1.json", "--fail-on-new"],
    );
    assert_eq!(at_error.code, 0, "{}", at_error.both());
    let at_warning = check(
        dir.path(),
        NIGHT2,
        &[
            "--previous",
            "night1.json",
            "--fail-on-new",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(at_warning.code, 2, "{}", at_warning.both());
}

#[test]
fn a_finding_gone_from_a_checked_environment_is_resolved_but_not_one_of_an_unchecked_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut night1 = first_night(dir.path());
    let template = findings(&night1)
        .iter()
        .find(|f| f["environment"] == "production" && f["severity"] == "error")
        .expect("production has an error")
        .clone();
    let mut fixed = template.clone();
    fixed["subject"] = Value::from("smtpauthtype");
    fixed["message"] = Value::from("smtpauthtype was wrong last night.");
    let mut elsewhere = template;
    elsewhere["environment"] = Value::from("test");
    let list = night1["findings"].as_array_mut().unwrap();
    list.push(fixed);
    list.push(elsewhere);
    write(&dir.path().join("night1.json"), &night1);

    let out = check(
        dir.path(),
        NIGHT2,
        &["--previous", "night1.json", "--format", "json"],
    );
    let r = out.json();
    let resolved = r["changes"]["resolved"].as_array().unwrap();
    assert_eq!(resolved.len(), 1, "{}", out.stdout);
    assert_eq!(resolved[0]["subject"], "smtpauthtype");
    assert_eq!(resolved[0]["since"], NIGHT1);
    let md = check(
        dir.path(),
        NIGHT2,
        &["--previous", "night1.json", "--format", "markdown"],
    );
    let changed = md
        .stdout
        .find("## What changed")
        .expect("a What changed section");
    assert!(
        changed < md.stdout.find("## Standard").unwrap(),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("smtpauthtype was wrong last night."),
        "{}",
        md.stdout
    );
}

#[test]
fn fail_on_new_without_a_previous_run_treats_every_finding_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), NIGHT1, &["--fail-on-new", "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.both());
    let r = out.json();
    assert!(r["changes"]["previous"].is_null());
    assert!(findings(&r).iter().all(|f| f["state"] == "new"));
}

#[test]
fn an_unreadable_previous_report_fails_before_any_site_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("night1.json"), "{ not json").unwrap();
    let out = check(
        dir.path(),
        NIGHT2,
        &["--previous", "night1.json", "-o", "r.json"],
    );
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("night1.json"), "{}", out.stderr);
    assert!(!dir.path().join("r.json").exists());
}

#[test]
fn a_version_1_report_is_a_valid_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut night1 = first_night(dir.path());
    night1["schema"] = Value::from("maildrift.report/1");
    for f in night1["findings"].as_array_mut().unwrap() {
        let f = f.as_object_mut().unwrap();
        f.remove("fingerprint");
    }
    write(&dir.path().join("night1.json"), &night1);
    let out = second_night_fail_on_new(dir.path(), "json");
    assert_eq!(out.code, 0, "{}", out.both());
    assert_eq!(out.json()["changes"]["new"], 0);
}

#[test]
fn report_merge_compares_the_merged_fleet_with_the_previous_merged_report() {
    let dir = tempfile::tempdir().unwrap();
    first_night(dir.path());
    for (i, name) in [(1, "s1.json"), (2, "s2.json")] {
        let shard = format!("{i}/2");
        check(
            dir.path(),
            NIGHT2,
            &["--shard", &shard, "--format", "json", "-o", name],
        );
    }
    let mut c = bare_cmd(dir.path());
    c.args([
        "report",
        "merge",
        "s1.json",
        "s2.json",
        "--previous",
        "night1.json",
        "--fail-on-new",
        "--format",
        "json",
    ]);
    let out = run_cmd(&mut c);
    assert_eq!(out.code, 0, "{}", out.both());
    let r = out.json();
    assert_eq!(r["changes"]["new"], 0, "{}", out.stdout);
    assert!(findings(&r).iter().all(|f| f["state"] == "persisting"));
}
