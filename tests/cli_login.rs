//! `maildrift login`, `logout` and a keyring-backed `check`, end to end against the fake
//! Moodle and a real Secret Service. Like tests/token_keyring.rs these run only with
//! `MAILDRIFT_KEYRING_TESTS` set, inside `.ci/keyring-session.sh`:
//!
//! ```sh
//! MAILDRIFT_KEYRING_TESTS=1 .ci/keyring-session.sh cargo test --test cli_login
//! ```

mod cli_common;
mod support;

use cli_common::{Out, TOKEN, bare_cmd, run_cmd};
use support::fake_moodle::{FakeMoodle, FakeSite};

fn enabled(test: &str) -> bool {
    let on = std::env::var_os("MAILDRIFT_KEYRING_TESTS").is_some_and(|v| !v.is_empty());
    if !on {
        // Not a failure in CI either: .ci/run runs these in a keyring session of their own.
        support::skip::skipped(
            test,
            "it writes to the session's Secret Service (see the file's docs)",
        );
    }
    on
}

struct Site {
    fake: FakeMoodle,
    dir: tempfile::TempDir,
    env: String,
}

/// A fake site over TLS and a config whose environment uses the keyring (the default) and no
/// other token source. The environment name is unique so runs never see each other's entries.
fn site(tag: &str) -> Site {
    let env = format!("login-{tag}-{}", std::process::id());
    let (identity, ca_pem) = support::test_ca::localhost_identity("maildrift login test CA");
    let fake = FakeMoodle::start_tls(vec![FakeSite::production(&env, TOKEN)], identity);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
    std::fs::write(
        dir.path().join("maildrift.toml"),
        format!(
            "[environments.{env}]\nurl = {:?}\nca_file = \"ca.pem\"\nretries = 0\n",
            fake.url(&env)
        ),
    )
    .unwrap();
    Site { fake, dir, env }
}

impl Site {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = bare_cmd(self.dir.path());
        cmd.args(args);
        if let Some(input) = stdin {
            cmd.write_stdin(input);
        }
        run_cmd(&mut cmd)
    }
}

#[test]
fn login_checks_the_token_stores_it_and_check_then_needs_no_variable() {
    if !enabled("login_checks_the_token_stores_it_and_check_then_needs_no_variable") {
        return;
    }
    let s = site("ok");
    let out = s.run(&["login", &s.env], Some(&format!("{TOKEN}\n")));
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.contains("Stored the token"), "{}", out.both());
    assert!(
        !out.both().contains(TOKEN),
        "login echoed the token: {}",
        out.both()
    );

    let doctor = s.run(&["doctor", &s.env], None);
    assert_eq!(doctor.code, 0, "{}", doctor.both());
    assert!(
        doctor.stdout.contains("using: keyring"),
        "{}",
        doctor.both()
    );
    assert!(!doctor.both().contains(TOKEN));

    let check = s.run(
        &[
            "check",
            "--no-dns",
            "--no-health",
            "--format",
            "json",
            &s.env,
        ],
        None,
    );
    assert_ne!(
        check.code,
        1,
        "check with the stored token failed: {}",
        check.both()
    );
    assert_eq!(
        check.json()["environments"][0]["state"],
        "ok",
        "{}",
        check.both()
    );

    let logout = s.run(&["logout", &s.env], None);
    assert_eq!(logout.code, 0, "{}", logout.both());
    let again = s.run(
        &[
            "check",
            "--no-dns",
            "--no-health",
            "--format",
            "json",
            &s.env,
        ],
        None,
    );
    assert_eq!(again.code, 1, "{}", again.both());
    assert!(again.stderr.contains("no token found"), "{}", again.both());
}

#[test]
fn login_with_a_rejected_token_stores_nothing() {
    if !enabled("login_with_a_rejected_token_stores_nothing") {
        return;
    }
    let s = site("bad");
    let wrong = "ffffffffffffffffffffffffffffffff";
    let out = s.run(&["login", &s.env], Some(&format!("{wrong}\n")));
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("invalidtoken"), "{}", out.both());
    assert!(!out.both().contains(wrong));
    let logout = s.run(&["logout", &s.env], None);
    assert_eq!(
        logout.code,
        1,
        "nothing should have been stored: {}",
        logout.both()
    );
    assert!(
        logout.stderr.contains("nothing to delete"),
        "{}",
        logout.both()
    );
    // Only the site check was made: the token never reached the plugin function.
    assert!(
        s.fake
            .requests()
            .iter()
            .all(|r| r.function() != Some("local_maildrift_get_mail_config")
                || r.field("wstoken") != Some(wrong))
    );
}

#[test]
fn login_to_a_plain_http_site_is_refused_before_the_token_is_asked_for() {
    // Needs no keyring: the refusal comes before any keyring call.
    let env = format!("login-http-{}", std::process::id());
    let fake = FakeMoodle::start(vec![FakeSite::production(&env, TOKEN)]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("maildrift.toml"),
        format!(
            "[environments.{env}]\nurl = {:?}\nretries = 0\n",
            fake.url(&env)
        ),
    )
    .unwrap();
    let mut cmd = bare_cmd(dir.path());
    cmd.args(["login", &env]).write_stdin(format!("{TOKEN}\n"));
    let out = run_cmd(&mut cmd);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("only sent over https"),
        "{}",
        out.both()
    );
    assert!(
        fake.requests().is_empty(),
        "the token was sent to the http site"
    );
}
