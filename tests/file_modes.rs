//! Files maildrift writes (reports, snapshots, evidence records) are created the way the
//! user's other programs create files: mode 0666 narrowed by the umask. Each case runs the
//! binary under `umask 077` and `umask 022` through `sh`, since a process's umask is shared
//! by all its threads and must not be changed inside the test runner.

#![cfg(unix)]

mod cli_common;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cli_common::{NOW, TOKEN, demo_dir};
use support::fake_moodle::{FakeMoodle, FakeSite};

const UMASKS: [(u32, u32); 2] = [(0o077, 0o600), (0o022, 0o644)];

/// Runs `maildrift ARGS` in `dir` under `umask`, with the test token for `production`.
fn run_with_umask(umask: u32, dir: &Path, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("maildrift");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask:03o} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MAILDRIFT_NOW", NOW)
        .env("MAILDRIFT_TOKEN_PRODUCTION", TOKEN)
        .env_remove("MAILDRIFT_CONFIG")
        .env_remove("MAILDRIFT_BASELINE")
        .output()
        .expect("run maildrift through sh");
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "maildrift {args:?} under umask {umask:03o}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn live_config(dir: &Path, fake: &FakeMoodle) {
    std::fs::write(
        dir.join("maildrift.toml"),
        format!(
            "[environments.production]\nurl = {:?}\nkeyring = false\nretries = 0\n",
            fake.url("production")
        ),
    )
    .unwrap();
}

#[test]
fn reports_follow_the_umask() {
    for (umask, expected) in UMASKS {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_dir().join("maildrift.toml");
        run_with_umask(
            umask,
            dir.path(),
            &[
                "check",
                "--config",
                config.to_str().unwrap(),
                "--format",
                "json",
                "-o",
                "report.json",
                "--format",
                "markdown",
                "-o",
                "report.md",
            ],
        );
        for name in ["report.json", "report.md"] {
            assert_eq!(
                mode(&dir.path().join(name)),
                expected,
                "{name} under umask {umask:03o}"
            );
        }
    }
}

#[test]
fn snapshots_follow_the_umask() {
    let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
    for (umask, expected) in UMASKS {
        let dir = tempfile::tempdir().unwrap();
        live_config(dir.path(), &fake);
        run_with_umask(
            umask,
            dir.path(),
            &["pull", "production", "-o", "snapshots/"],
        );
        let files = files_in(&dir.path().join("snapshots"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(mode(&files[0]), expected, "under umask {umask:03o}");
    }
}

#[test]
fn evidence_records_follow_the_umask() {
    for (umask, expected) in UMASKS {
        // A fresh site each time: the plugin allows one test mail a minute.
        let fake = FakeMoodle::start(vec![FakeSite::production("production", TOKEN)]);
        let dir = tempfile::tempdir().unwrap();
        live_config(dir.path(), &fake);
        run_with_umask(
            umask,
            dir.path(),
            &[
                "testmail",
                "production",
                "--to",
                "postmaster@example.edu",
                "--evidence-dir",
                "evidence",
            ],
        );
        let files = files_in(&dir.path().join("evidence"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(mode(&files[0]), expected, "under umask {umask:03o}");
    }
}
