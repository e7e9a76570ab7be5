//! Skipped tests say so where a person sees it. libtest swallows what a passing test prints
//! with `println!`/`eprintln!`, so the line is written to the process's stderr directly, which
//! `cargo test` always shows. In CI (`CI=true`) a missing prerequisite fails instead.
#![allow(dead_code)]

use std::io::Write;

/// Whether this run is CI (`.ci/run` exports `CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports that `test` did not run, and why, on the terminal.
pub fn skipped(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {reason}");
}

/// A prerequisite of `test` is missing: a failure in CI, a visible skip elsewhere.
pub fn required(test: &str, reason: &str) {
    if in_ci() {
        panic!("{test}: {reason} (required in CI)");
    }
    skipped(test, &format!("{reason}; with CI=true this fails"));
}
