//! `check --history`: runs recorded in an SQLite store, compared with the last one, safe when
//! two run at once, clear about stores it cannot use, pruned by `--keep`; `maildrift history`
//! lists runs and setting changes. Runs on a copy of the bundled demo (no network).

mod cli_common;
mod support;

use std::path::{Path, PathBuf};

use cli_common::{Out, bare_cmd, demo_dir, run_cmd};
use serde_json::Value;

const NIGHT1: &str = "2026-11-28T02:00:00Z";
const NIGHT2: &str = "2026-11-29T02:00:00Z";

/// A copy of the demo, so its snapshots can be changed between nights.
fn demo_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&demo_dir(), dir.path());
    dir
}

fn run(dir: &Path, now: &str, args: &[&str]) -> Out {
    let mut c = bare_cmd(dir);
    c.env("MAILDRIFT_NOW", now)
        .args(["--config", "maildrift.toml", "--quiet"])
        .args(args);
    run_cmd(&mut c)
}

fn set_value(dir: &Path, env: &str, setting: &str, value: &str) {
    let path = dir.join(format!("snapshots/{env}.json"));
    let mut snap: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    snap["settings"][setting]["value"] = Value::from(value);
    std::fs::write(&path, serde_json::to_string_pretty(&snap).unwrap()).unwrap();
}

fn store(dir: &Path) -> PathBuf {
    dir.join("history.sqlite")
}

#[test]
fn the_second_run_compares_with_the_first_recorded_one() {
    let dir = demo_copy();
    let first = run(
        dir.path(),
        NIGHT1,
        &["check", "--history", "history.sqlite", "--format", "json"],
    );
    assert_eq!(first.code, 2, "{}", first.both());
    let r1 = first.json();
    assert!(r1["changes"]["previous"].is_null(), "{}", first.stdout);
    let second = run(
        dir.path(),
        NIGHT2,
        &[
            "check",
            "--history",
            "history.sqlite",
            "--fail-on-new",
            "--format",
            "json",
        ],
    );
    assert_eq!(second.code, 0, "{}", second.both());
    let r2 = second.json();
    assert_eq!(r2["changes"]["previous"]["kind"], "history");
    assert_eq!(r2["changes"]["previous"]["generated_at"], NIGHT1);
    assert_eq!(r2["changes"]["new"], 0, "{}", second.stdout);
    for f in r2["findings"].as_array().unwrap() {
        assert_eq!(f["state"], "persisting", "{f}");
        assert_eq!(f["since"], NIGHT1, "{f}");
    }
}

#[test]
fn history_config_key_turns_recording_on() {
    let dir = demo_copy();
    let config = dir.path().join("maildrift.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("history = \"runs.sqlite\"\nhistory_keep = \"400d\"\n{text}"),
    )
    .unwrap();
    run(dir.path(), NIGHT1, &["check"]);
    assert!(dir.path().join("runs.sqlite").exists());
    let list = run(dir.path(), NIGHT2, &["history"]);
    assert_eq!(list.code, 0, "{}", list.both());
    assert!(
        list.stdout.contains("Runs, newest first (1)"),
        "{}",
        list.stdout
    );
}

#[test]
fn a_changed_setting_is_new_and_listed_with_its_old_and_new_value() {
    let dir = demo_copy();
    run(
        dir.path(),
        NIGHT1,
        &["check", "--history", "history.sqlite"],
    );
    let before: String = {
        let snap: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("snapshots/production.json")).unwrap(),
        )
        .unwrap();
        snap["settings"]["smtpsecure"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    set_value(dir.path(), "production", "smtpsecure", "ssl");
    let second = run(
        dir.path(),
        NIGHT2,
        &["check", "--history", "history.sqlite", "--format", "json"],
    );
    let r = second.json();
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["state"] == "new"
                && f["subject"] == "smtpsecure"
                && f["environment"] == "production"),
        "{}",
        second.stdout
    );
    let latest = r["changes"]["latest_changes"]
        .as_array()
        .expect("latest changes");
    assert!(
        latest.iter().any(|l| l["environment"] == "production"
            && l["setting"] == "smtpsecure"
            && l["to"] == "ssl"
            && l["changed_at"] == NIGHT2),
        "{}",
        second.stdout
    );
    let list = run(
        dir.path(),
        NIGHT2,
        &[
            "history",
            "production",
            "--setting",
            "smtpsecure",
            "--history",
            "history.sqlite",
        ],
    );
    assert_eq!(list.code, 0, "{}", list.both());
    let from = if before.is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{before}`")
    };
    assert!(
        list.stdout.contains(&format!(
            "2026-11-29 02:00 UTC production smtpsecure: {from} -> `ssl`"
        )),
        "{}",
        list.stdout
    );
    let unchanged = run(
        dir.path(),
        NIGHT2,
        &[
            "history",
            "production",
            "--setting",
            "smtphosts",
            "--history",
            "history.sqlite",
        ],
    );
    assert!(
        unchanged
            .stdout
            .contains("smtphosts in production is unchanged since it was first recorded on 2026-11-28 02:00 UTC"),
        "{}",
        unchanged.stdout
    );
}

#[test]
fn two_runs_at_once_are_both_recorded() {
    let dir = demo_copy();
    let spawn = |now: &str| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("maildrift"));
        c.current_dir(dir.path())
            .env("MAILDRIFT_NOW", now)
            .env("NO_COLOR", "1")
            .args([
                "--config",
                "maildrift.toml",
                "-q",
                "check",
                "--history",
                "history.sqlite",
                "--format",
                "json",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let runs: Vec<_> = (0..4)
        .map(|i| spawn(&format!("2026-11-2{}T02:00:00Z", i + 1)))
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = run(
        dir.path(),
        NIGHT2,
        &["history", "--history", "history.sqlite"],
    );
    assert!(
        list.stdout.contains("Runs, newest first (4)"),
        "{}",
        list.stdout
    );
}

#[test]
fn a_store_from_a_newer_maildrift_fails_the_run_after_the_report_is_written() {
    let dir = demo_copy();
    run(
        dir.path(),
        NIGHT1,
        &["check", "--history", "history.sqlite"],
    );
    let conn = rusqlite::Connection::open(store(dir.path())).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let out = run(
        dir.path(),
        NIGHT2,
        &["check", "--history", "history.sqlite", "-o", "report.json"],
    );
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("newer maildrift (store version 99"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the report was written"),
        "{}",
        out.stderr
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["schema"], "maildrift.report/2");
}

#[test]
fn a_damaged_store_fails_the_run_after_the_report_is_written() {
    let dir = demo_copy();
    std::fs::write(store(dir.path()), vec![b'x'; 8192]).unwrap();
    let out = run(
        dir.path(),
        NIGHT1,
        &["check", "--history", "history.sqlite", "-o", "report.json"],
    );
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("history.sqlite is damaged"),
        "{}",
        out.stderr
    );
    assert!(dir.path().join("report.json").exists());
    // A foreign SQLite database is refused too, and left as it was.
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;")
        .unwrap();
    let out = run(dir.path(), NIGHT1, &["check", "--history", "other.sqlite"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("not a maildrift history"),
        "{}",
        out.stderr
    );
}

#[test]
fn keep_deletes_runs_older_than_the_retention() {
    let dir = demo_copy();
    run(
        dir.path(),
        "2026-01-01T02:00:00Z",
        &["check", "--history", "history.sqlite"],
    );
    run(
        dir.path(),
        NIGHT1,
        &["check", "--history", "history.sqlite"],
    );
    run(
        dir.path(),
        NIGHT2,
        &["check", "--history", "history.sqlite", "--keep", "30d"],
    );
    let list = run(
        dir.path(),
        NIGHT2,
        &["history", "--history", "history.sqlite"],
    );
    assert!(
        list.stdout.contains("Runs, newest first (2)"),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("2026-01-01"), "{}", list.stdout);
}

#[test]
fn merged_shard_reports_are_recorded_as_one_run() {
    let dir = demo_copy();
    for (i, name) in [(1, "s1.json"), (2, "s2.json")] {
        run(
            dir.path(),
            NIGHT1,
            &["check", "--shard", &format!("{i}/2"), "-o", name],
        );
    }
    let out = run(
        dir.path(),
        NIGHT1,
        &[
            "report",
            "merge",
            "s1.json",
            "s2.json",
            "--history",
            "history.sqlite",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.both());
    let list = run(
        dir.path(),
        NIGHT2,
        &["history", "--history", "history.sqlite"],
    );
    assert!(
        list.stdout.contains("merge drift: 2 environments"),
        "{}",
        list.stdout
    );
}

#[test]
fn history_of_a_missing_store_says_where_runs_are_recorded() {
    let dir = demo_copy();
    let out = run(dir.path(), NIGHT1, &["history", "--history", "nope.sqlite"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no history store at nope.sqlite"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("nope.sqlite").exists());
}

#[test]
fn verbose_logs_say_how_long_each_history_step_took_without_escape_codes() {
    let dir = demo_copy();
    let mut c = bare_cmd(dir.path());
    c.env("MAILDRIFT_NOW", NIGHT1)
        .env_remove("RUST_LOG")
        .args([
            "--config",
            "maildrift.toml",
            "-v",
            "check",
            "--history",
            "history.sqlite",
        ])
        .args(["--format", "json", "-o", "r.json"]);
    let out = run_cmd(&mut c);
    assert_eq!(out.code, 2, "{}", out.both());
    for step in [
        "history: previous run read",
        "history: latest setting changes read",
        "history: run recorded",
    ] {
        assert!(out.stderr.contains(step), "{step}: {}", out.stderr);
    }
    // stderr is a pipe here, as in a cron job's log: no colour codes.
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}
