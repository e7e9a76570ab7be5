//! `maildrift explain`.

mod cli_common;
mod support;

use cli_common::{bare_cmd, run_cmd};

#[test]
fn explain_a_known_code_prints_its_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cmd(bare_cmd(dir.path()).args(["explain", "MD101"]));
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.starts_with("MD101 "), "{}", out.both());
    assert!(out.stdout.contains("What to do: "), "{}", out.both());
    let remedy = out
        .stdout
        .split("What to do: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(remedy.len() > 20, "remedy too short: {remedy:?}");
    // Lower case works too.
    assert_eq!(
        run_cmd(bare_cmd(dir.path()).args(["explain", "md101"])).stdout,
        out.stdout
    );
}

#[test]
fn explain_an_unknown_code_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cmd(bare_cmd(dir.path()).args(["explain", "NOPE"]));
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("NOPE"), "{}", out.both());
    assert!(out.stdout.is_empty());
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cmd(bare_cmd(dir.path()).arg("explain"));
    assert_eq!(out.code, 0, "{}", out.both());
    for code in ["MD002", "MD101", "MD305"] {
        assert!(out.stdout.contains(code), "{code} missing:\n{}", out.stdout);
    }
}
