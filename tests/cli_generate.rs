//! `maildrift completions SHELL` and `maildrift man`: generated from the clap definitions, so
//! every subcommand shows up, and the output is valid for the shell / for man.

mod cli_common;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use cli_common::{Out, bare_cmd, run_cmd};

/// The subcommands every generated file must know about.
const SUBCOMMANDS: &[&str] = &[
    "check",
    "pull",
    "diff",
    "health",
    "testmail",
    "baseline",
    "snapshot",
    "login",
    "logout",
    "doctor",
    "report",
    "explain",
    "init",
    "completions",
    "man",
];

fn maildrift(args: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    run_cmd(bare_cmd(dir.path()).args(args))
}

/// Whether `program` can be run; in CI (CI=true) a missing one is a failure, since CI installs
/// it, so the syntax checks can't silently stop running there.
fn available(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is not installed, but CI installs it (.ci/run)"
        );
        eprintln!("{program} not installed: skipping its syntax check");
    }
    found
}

/// Runs `program args` with `input` on stdin; returns (success, stderr).
fn feed(program: &str, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shell_completion_names_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = maildrift(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.both());
        assert!(out.stderr.is_empty(), "{shell}: {}", out.both());
        for sub in SUBCOMMANDS {
            assert!(out.stdout.contains(sub), "{shell} completion lacks `{sub}`");
        }
        // Options of subcommands are completed too, not only the command names.
        assert!(
            out.stdout.contains("fail-on"),
            "{shell} completion lacks check's --fail-on"
        );
    }
}

#[test]
fn completion_scripts_parse_in_their_shells() {
    for (shell, program, args) in [
        ("bash", "bash", &["-n"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        if !available(program) {
            continue;
        }
        let script = maildrift(&["completions", shell]).stdout;
        let (ok, stderr) = feed(program, args, &script);
        assert!(ok, "{shell} rejects the completion script: {stderr}");
    }
}

#[test]
fn bash_completion_completes_subcommands_when_sourced() {
    if !available("bash") {
        return;
    }
    let script = maildrift(&["completions", "bash"]).stdout;
    // Source the script, ask its function for `maildrift ch<TAB>` and print the candidates.
    let driver = format!(
        "{script}\nCOMP_WORDS=(maildrift ch); COMP_CWORD=1; COMP_LINE='maildrift ch'; COMP_POINT=${{#COMP_LINE}}\n_maildrift maildrift ch maildrift\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    );
    let out = Command::new("bash").args(["-c", &driver]).output().unwrap();
    let candidates = String::from_utf8_lossy(&out.stdout);
    assert!(
        candidates.lines().any(|l| l == "check"),
        "bash offered: {candidates:?} (stderr: {})",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unknown_shell_is_a_usage_error_listing_the_shells() {
    let out = maildrift(&["completions", "tcsh"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("zsh"), "{}", out.both());
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_has_a_roff_header_and_lists_every_subcommand() {
    let out = maildrift(&["man"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout.contains("\n.TH maildrift 1 "),
        "no .TH title line:\n{}",
        out.stdout
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(out.stdout.contains(section), "missing {section}");
    }
    for sub in SUBCOMMANDS {
        assert!(
            out.stdout
                .contains(&format!("maildrift\\-{}", sub.replace('-', "\\-"))),
            "man page lacks `{sub}`"
        );
    }
}

#[test]
fn man_page_renders_with_nroff() {
    if !available("nroff") {
        return;
    }
    let page = maildrift(&["man", "check"]).stdout;
    let out = {
        let mut child = Command::new("nroff")
            .args(["-man", "-Tutf8"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(out.status.success());
    // nroff emboldens by overstriking; drop the backspaces to read the text.
    let raw = String::from_utf8_lossy(&out.stdout);
    let mut text = String::new();
    for c in raw.chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    assert!(text.contains("NAME"), "{text}");
    assert!(text.contains("maildrift-check"), "{text}");
    assert!(text.contains("--fail-on"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "nroff warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
