//! maildrift's keyring code against a real Secret Service (gnome-keyring on a private D-Bus).
//!
//! These tests write to whatever keyring the session bus offers, so they run only when
//! `MAILDRIFT_KEYRING_TESTS` is set, and are meant to run inside `.ci/keyring-session.sh`,
//! which provides a throw-away one:
//!
//! ```sh
//! MAILDRIFT_KEYRING_TESTS=1 .ci/keyring-session.sh cargo test --test token_keyring
//! ```
//!
//! Without the variable each test prints why it is skipped and passes, so a plain
//! `cargo test` on a laptop never touches the user's keyring. With it, a broken daemon fails.
//!
//! Several cases need a process of their own (a fresh process to prove the token was really
//! stored, a different `DBUS_SESSION_BUS_ADDRESS`, a keyring that gets locked): they re-run
//! this test binary with `MAILDRIFT_KEYRING_CHILD` set, which makes
//! [`child_process_entry_point`] do the work and print `CHILD-RESULT` lines. Changing the
//! environment of this process instead would race with the other test threads.

#[path = "support/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::Command;

use maildrift::config::Environment;
use maildrift::token::{self, KEYRING_SERVICE, Token, TokenError, TokenSource};
use url::Url;

const CHILD: &str = "MAILDRIFT_KEYRING_CHILD";
const CHILD_ENV: &str = "MAILDRIFT_KEYRING_CHILD_ENV";
const CHILD_FILE: &str = "MAILDRIFT_KEYRING_CHILD_FILE";
const CHILD_EXPECT: &str = "MAILDRIFT_KEYRING_CHILD_EXPECT";

fn enabled(test: &str) -> bool {
    match std::env::var_os("MAILDRIFT_KEYRING_TESTS") {
        Some(v) if !v.is_empty() => true,
        _ => {
            // Not a failure in CI either: .ci/run runs these in a keyring session of their own.
            skip::skipped(
                test,
                "it writes to the session's Secret Service; run \
                 `MAILDRIFT_KEYRING_TESTS=1 .ci/keyring-session.sh cargo test --test token_keyring`",
            );
            false
        }
    }
}

/// An environment whose keyring account no other test (or earlier run) uses.
fn unique_env(tag: &str) -> Environment {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("kt-{tag}-{}-{nanos}", std::process::id());
    Environment::new(&name, Url::parse("https://moodle.example.edu").unwrap())
}

fn env_named(name: &str) -> Environment {
    Environment::new(name, Url::parse("https://moodle.example.edu").unwrap())
}

fn random_token() -> Token {
    let bytes: [u8; 16] = rand::random();
    Token::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn secret_tool_lookup(account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", KEYRING_SERVICE, "username", account])
        .output()
        .expect("secret-tool (libsecret-tools) must be installed for the keyring tests");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lock_login_collection() {
    let status = Command::new("gdbus")
        .args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.Secret.Service.Lock",
            "['/org/freedesktop/secrets/collection/login']",
        ])
        .status()
        .expect("gdbus (libglib2.0-bin) must be installed for the keyring tests");
    assert!(status.success(), "locking the login collection failed");
}

/// Runs this test binary again as a child in `mode`, returning its `CHILD-RESULT` lines.
fn run_child(cmd: &mut Command, mode: &str, env: &Environment) -> Vec<String> {
    let out = cmd
        .args(["--exact", "child_process_entry_point", "--nocapture"])
        .env(CHILD, mode)
        .env(CHILD_ENV, &env.name)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {mode} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CHILD-RESULT "))
        .map(str::to_string)
        .collect();
    assert!(!lines.is_empty(), "child {mode} reported nothing: {stdout}");
    lines
}

/// This test binary as a child, without `env`'s token variable unless the caller sets it.
fn this_test_binary(env: &Environment) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("path of the test binary"));
    cmd.env_remove(&env.token_env);
    cmd
}

fn report<T>(what: &str, r: &Result<T, TokenError>) {
    match r {
        Ok(_) => println!("CHILD-RESULT {what} ok"),
        Err(e) => println!("CHILD-RESULT {what} err {e}"),
    }
}

/// Not a test of its own: the body of the child processes above. Does nothing unless
/// `MAILDRIFT_KEYRING_CHILD` is set.
#[test]
fn child_process_entry_point() {
    let Some(mode) = std::env::var_os(CHILD) else {
        return;
    };
    let env_name = std::env::var(CHILD_ENV).expect("child needs its environment name");
    let mut env = env_named(&env_name);
    match mode.to_str() {
        Some("resolve") => {
            let expected = std::env::var(CHILD_EXPECT).expect("child needs the expected token");
            match token::resolve(&env) {
                Ok(found) => println!(
                    "CHILD-RESULT resolve ok {} matches={}",
                    found.source,
                    found.token.expose() == expected
                ),
                Err(e) => println!("CHILD-RESULT resolve err {e}"),
            }
        }
        Some("unreachable") => {
            report("store", &token::store(&env, &random_token()));
            report("load", &token::load(&env));
            report("delete", &token::delete(&env));
        }
        Some("locked") => {
            let stored = token::store(&env, &random_token());
            report("store-unlocked", &stored);
            lock_login_collection();
            report("load", &token::load(&env));
            report("store", &token::store(&env, &random_token()));
            env.token_file = std::env::var_os(CHILD_FILE).map(PathBuf::from);
            report("resolve-with-file", &token::resolve(&env));
        }
        other => panic!("unknown child mode {other:?}"),
    }
}

#[test]
fn platform_store_is_compiled_in_not_the_mock() {
    // Touches no keyring: only asks which store this build would use.
    let builder = keyring::default::default_credential_builder();
    assert!(matches!(
        builder.persistence(),
        keyring::credential::CredentialPersistence::UntilDelete
    ));
}

#[test]
fn stored_token_is_in_the_secret_service_and_resolves_in_a_new_process() {
    if !enabled("stored_token_is_in_the_secret_service_and_resolves_in_a_new_process") {
        return;
    }
    let env = unique_env("store");
    let account = token::keyring_account(&env).unwrap();
    let t = random_token();
    token::store(&env, &t).unwrap();

    // Another program, another process: the token really is in the Secret Service.
    assert_eq!(secret_tool_lookup(&account).as_deref(), Some(t.expose()));

    let lines = run_child(
        this_test_binary(&env).env(CHILD_EXPECT, t.expose()),
        "resolve",
        &env,
    );
    assert_eq!(
        lines,
        [format!(
            "resolve ok keyring (service maildrift, account {account}) matches=true"
        )]
    );

    // Storing again replaces the entry rather than adding a second one.
    let t2 = random_token();
    token::store(&env, &t2).unwrap();
    assert_eq!(token::load(&env).unwrap(), t2);
    token::delete(&env).unwrap();
}

#[test]
fn a_stored_token_goes_only_to_its_exact_origin() {
    if !enabled("a_stored_token_goes_only_to_its_exact_origin") {
        return;
    }
    let env = unique_env("origin");
    let t = random_token();
    token::store(&env, &t).unwrap();
    // The same environment name and host, but another port, path or scheme: another site.
    for other in [
        "https://moodle.example.edu:8443",
        "https://moodle.example.edu/other",
        "https://moodle.example.edu.evil.example",
    ] {
        let mut elsewhere = env.clone();
        elsewhere.url = Url::parse(other).unwrap();
        let err = token::load(&elsewhere).unwrap_err();
        assert!(
            matches!(err, TokenError::NotInKeyring { .. }),
            "{other}: {err:?}"
        );
    }
    let mut plain = env.clone();
    plain.url = Url::parse("http://moodle.example.edu").unwrap();
    plain.allow_http = true;
    let err = token::load(&plain).unwrap_err();
    assert!(
        matches!(err, TokenError::KeyringNeedsHttps { .. }),
        "{err:?}"
    );
    assert!(token::resolve(&plain).is_err_and(|e| matches!(e, TokenError::Missing { .. })));
    // The origin it was stored for still gets it.
    assert_eq!(token::load(&env).unwrap(), t);
    token::delete(&env).unwrap();
}

#[test]
fn an_entry_from_before_origin_binding_is_not_used_and_the_error_says_to_log_in_again() {
    if !enabled(
        "an_entry_from_before_origin_binding_is_not_used_and_the_error_says_to_log_in_again",
    ) {
        return;
    }
    let env = unique_env("legacy");
    // What older versions stored: account `<env>@<host>`.
    let legacy_account = format!("{}@moodle.example.edu", env.name);
    let legacy = keyring::Entry::new(KEYRING_SERVICE, &legacy_account).unwrap();
    let old = random_token();
    legacy.set_password(old.expose()).unwrap();

    let err = token::load(&env).unwrap_err();
    assert!(
        matches!(err, TokenError::KeyringLegacyEntry { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&legacy_account), "{text}");
    assert!(
        text.contains(&format!("maildrift login {}", env.name)),
        "{text}"
    );
    assert!(
        text.contains(&token::keyring_account(&env).unwrap()),
        "{text}"
    );
    assert!(!text.contains(old.expose()), "{text}");
    assert!(
        token::resolve(&env).is_err_and(|e| matches!(e, TokenError::KeyringLegacyEntry { .. }))
    );

    // After `login` (store) the new entry is used and the old one is left alone.
    let new = random_token();
    token::store(&env, &new).unwrap();
    assert_eq!(token::load(&env).unwrap(), new);
    token::delete(&env).unwrap();
    legacy.delete_credential().unwrap();
}

#[test]
fn env_var_is_preferred_over_the_keyring() {
    if !enabled("env_var_is_preferred_over_the_keyring") {
        return;
    }
    let env = unique_env("order");
    token::store(&env, &random_token()).unwrap();
    let from_env = random_token();
    let lines = run_child(
        this_test_binary(&env)
            .env(CHILD_EXPECT, from_env.expose())
            .env(&env.token_env, from_env.expose()),
        "resolve",
        &env,
    );
    assert_eq!(
        lines,
        [format!("resolve ok env var {} matches=true", env.token_env)]
    );
    token::delete(&env).unwrap();
}

#[test]
fn delete_removes_the_entry_and_a_second_delete_says_nothing_to_delete() {
    if !enabled("delete_removes_the_entry_and_a_second_delete_says_nothing_to_delete") {
        return;
    }
    let env = unique_env("delete");
    let account = token::keyring_account(&env).unwrap();
    token::store(&env, &random_token()).unwrap();
    token::delete(&env).unwrap();
    assert_eq!(secret_tool_lookup(&account), None);

    let err = token::delete(&env).unwrap_err();
    assert!(matches!(err, TokenError::NothingToDelete { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the keyring has no token under service maildrift, account {account}; nothing to delete",
            env.name
        )
    );

    let err = token::load(&env).unwrap_err();
    assert!(matches!(err, TokenError::NotInKeyring { .. }), "{err:?}");
    assert!(err.to_string().contains("maildrift login"), "{err}");
}

#[test]
fn locked_keyring_is_an_error_naming_the_env_var_not_a_fallback_to_the_file() {
    if !enabled("locked_keyring_is_an_error_naming_the_env_var_not_a_fallback_to_the_file") {
        return;
    }
    // Locking is collection-wide, and the Secret Service can unlock only through a GUI
    // prompt, so the child gets a Secret Service of its own: a nested keyring session.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/keyring-session.sh");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.token");
    std::fs::write(&file, random_token().expose()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let env = unique_env("locked");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg(std::env::current_exe().unwrap())
        .env_remove("MAILDRIFT_KEYRING_SESSION_INNER")
        .env_remove(&env.token_env)
        .env(CHILD_FILE, &file);
    let lines = run_child(&mut cmd, "locked", &env);
    let hint = format!("set {} or token_file", env.token_env);
    assert_eq!(lines[0], "store-unlocked ok", "{lines:?}");
    for (line, what) in lines[1..]
        .iter()
        .zip(["load", "store", "resolve-with-file"])
    {
        assert!(line.starts_with(&format!("{what} err ")), "{line}");
        assert!(line.contains("locked"), "{line}");
        assert!(line.contains(&hint), "{line}");
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
}

#[test]
fn missing_secret_service_is_a_clear_error_with_no_fallback() {
    if !enabled("missing_secret_service_is_a_clear_error_with_no_fallback") {
        return;
    }
    let env = unique_env("nobus");
    let lines = run_child(
        this_test_binary(&env).env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/maildrift-no-such-bus",
        ),
        "unreachable",
        &env,
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    let hint = format!("set {} or token_file", env.token_env);
    for (line, what) in lines.iter().zip(["store", "load", "delete"]) {
        // An error for every call, storing included: no mock store "succeeds".
        assert!(line.starts_with(&format!("{what} err ")), "{line}");
        assert!(line.contains("the OS keyring cannot be reached"), "{line}");
        assert!(line.contains(&hint), "{line}");
    }
}

#[test]
fn token_in_keyring_is_seen_by_describe_without_showing_it() {
    if !enabled("token_in_keyring_is_seen_by_describe_without_showing_it") {
        return;
    }
    let env = unique_env("describe");
    let t = random_token();
    token::store(&env, &t).unwrap();
    let statuses = token::describe(&env);
    let keyring = statuses
        .iter()
        .find(|s| matches!(s.source, TokenSource::Keyring { .. }))
        .unwrap();
    let shown = keyring.to_string();
    assert!(
        shown.ends_with(": token present and well-formed"),
        "{shown}"
    );
    assert!(!format!("{statuses:?}").contains(t.expose()));
    token::delete(&env).unwrap();
}

#[tokio::test]
async fn keyring_calls_work_from_inside_a_tokio_runtime() {
    if !enabled("keyring_calls_work_from_inside_a_tokio_runtime") {
        return;
    }
    // The CLI runs on Tokio; keyring's blocking Secret Service calls must not deadlock or
    // panic there (they run on a thread of their own).
    let env = unique_env("tokio");
    let t = random_token();
    token::store(&env, &t).unwrap();
    assert_eq!(token::load(&env).unwrap(), t);
    token::delete(&env).unwrap();
}
