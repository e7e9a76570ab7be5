//! `maildrift init` on a terminal with no token anywhere: for an https site it offers to store
//! one in the OS keyring (checked against the site first), and the first `check` then needs no
//! variable; for a plain-http site it offers nothing (keyring tokens only go to https sites).
//! Writes to a real Secret Service, so like tests/cli_login.rs it runs only with
//! `MAILDRIFT_KEYRING_TESTS` set, inside `.ci/keyring-session.sh`:
//!
//! ```sh
//! MAILDRIFT_KEYRING_TESTS=1 .ci/keyring-session.sh cargo test --test cli_init_keyring
//! ```

mod cli_common;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use cli_common::{NOW, Out, TOKEN, bare_cmd, run_cmd};
use support::fake_moodle::{FakeMoodle, FakeSite};
use support::test_ca::localhost_identity;

#[test]
fn init_on_a_terminal_stores_a_checked_token_in_the_keyring_and_writes_none() {
    if std::env::var_os("MAILDRIFT_KEYRING_TESTS").is_none_or(|v| v.is_empty()) {
        support::skip::skipped(
            "init_on_a_terminal_stores_a_checked_token_in_the_keyring_and_writes_none",
            "it writes to the session's Secret Service (see the file's docs)",
        );
        return;
    }
    // A unique name, so runs never see each other's keyring entries.
    let env = format!("init-{}", std::process::id());
    let (identity, ca_pem) = localhost_identity("maildrift init test CA");
    let fake = FakeMoodle::start_tls(vec![FakeSite::production(&env, TOKEN)], identity);
    let dir = tempfile::tempdir().unwrap();
    // init writes no ca_file; the test CA is trusted the way a system CA store would be.
    let ca = dir.path().join("test-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let out = init_on_a_terminal(dir.path(), &env, &fake.url(&env), Some(&ca));
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.contains("Stored the token"), "{}", out.both());
    for f in ["maildrift.toml", "baselines/mail-standard.toml"] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(!text.contains(TOKEN), "{f} holds the token");
    }

    // No variable, no token file: the keyring answers for the first check.
    let check = run_cmd(
        bare_cmd(dir.path())
            .env("SSL_CERT_FILE", &ca)
            .args(["check", "--no-dns", "--format", "json"]),
    );
    assert_eq!(
        check.json()["environments"][0]["state"],
        "ok",
        "{}",
        check.both()
    );
    let logout = run_cmd(bare_cmd(dir.path()).args(["logout", &env]));
    assert_eq!(logout.code, 0, "{}", logout.both());
}

#[test]
fn init_on_a_terminal_offers_no_keyring_for_a_plain_http_site_and_names_the_variable() {
    if std::env::var_os("MAILDRIFT_KEYRING_TESTS").is_none_or(|v| v.is_empty()) {
        support::skip::skipped(
            "init_on_a_terminal_offers_no_keyring_for_a_plain_http_site_and_names_the_variable",
            "it runs in the keyring session with the other init keyring test (see the file's docs)",
        );
        return;
    }
    let env = format!("inithttp-{}", std::process::id());
    let fake = FakeMoodle::start(vec![FakeSite::production(&env, TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    // Were a token asked for, the typed line would answer it.
    let out = init_on_a_terminal(dir.path(), &env, &fake.url(&env), None);
    assert_eq!(out.code, 1, "{}", out.both());
    let text = out.both();
    assert!(!text.contains("Paste the web service token"), "{text}");
    assert!(text.contains("only serves https sites"), "{text}");
    let var = format!(
        "MAILDRIFT_TOKEN_{}",
        env.to_ascii_uppercase().replace('-', "_")
    );
    assert!(text.contains(&var), "{text}");
    assert!(
        !dir.path().join("maildrift.toml").exists(),
        "init wrote a config"
    );
}

/// Runs `maildrift init --env ENV=URL --no-dns` on a pseudo-terminal (util-linux `script`) in
/// `dir`, typing the token and then "y" at whatever it asks.
fn init_on_a_terminal(
    dir: &std::path::Path,
    env: &str,
    url: &str,
    ca: Option<&std::path::Path>,
) -> Out {
    let bin = assert_cmd::cargo::cargo_bin("maildrift");
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{} init --env {env}={url} --no-dns", bin.display()),
        "/dev/null",
    ])
    .current_dir(dir)
    .env("NO_COLOR", "1")
    .env("MAILDRIFT_NOW", NOW)
    .env_remove("MAILDRIFT_CONFIG")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    let mut child = cmd.spawn().expect("util-linux script");
    // The token (read without echo), then yes to writing the files.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{TOKEN}\ny\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}
