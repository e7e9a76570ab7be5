//! `maildrift snapshot import`: cfg.php's JSON (smtppass in clear) becomes a snapshot with
//! secrets reduced to set/unset; bad input is named, never echoed.

mod cli_common;
mod support;

use cli_common::{Out, bare_cmd, run_cmd};

const SECRET: &str = "S3cret-Value";

const CFG_JSON: &str = r#"{"version":"2024100708.05","release":"4.5.8+ (Build: 20260126)",
 "wwwroot":"https:\/\/legacy.example.edu","smtphosts":"smtp-relay.example.edu:587","smtpsecure":"tls",
 "smtpuser":"moodle-mailer","smtppass":"S3cret-Value","noreplyaddress":"noreply@legacy.example.edu",
 "allowedemaildomains":"example.edu","passwordsaltmain":"S3cret-Value-salt","theme":"boost"}"#;

fn import(dir: &std::path::Path, args: &[&str]) -> Out {
    run_cmd(bare_cmd(dir).args(["snapshot", "import"]).args(args))
}

fn assert_no_secret(out: &Out) {
    assert!(
        !out.stdout.contains(SECRET),
        "secret on stdout:\n{}",
        out.both()
    );
    assert!(
        !out.stderr.contains(SECRET),
        "secret on stderr:\n{}",
        out.both()
    );
}

#[test]
fn import_to_stdout_gives_a_snapshot_without_the_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cfg.json"), CFG_JSON).unwrap();
    let out = import(dir.path(), &["cfg.json", "--env", "legacy"]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert_no_secret(&out);
    let json = out.json();
    assert_eq!(json["schema"], "maildrift.snapshot/1");
    assert_eq!(json["environment"], "legacy");
    assert_eq!(json["url"], "https://legacy.example.edu");
    assert_eq!(json["secrets"]["smtppass"], true, "{}", out.stdout);
    assert!(
        !out.stdout.contains("passwordsaltmain") && !out.stdout.contains("theme"),
        "{}",
        out.stdout
    );
    let snap =
        maildrift::snapshot::io::parse(&out.stdout, std::path::Path::new("<stdout>")).unwrap();
    assert_eq!(snap.value("smtphosts"), "smtp-relay.example.edu:587");
}

#[test]
fn import_to_a_file_writes_a_valid_snapshot_without_the_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cfg.json"), CFG_JSON).unwrap();
    let out = import(
        dir.path(),
        &["cfg.json", "--env", "legacy", "-o", "legacy.json"],
    );
    assert_eq!(out.code, 0, "{}", out.both());
    assert_no_secret(&out);
    assert!(out.stdout.is_empty(), "{}", out.both());
    let text = std::fs::read_to_string(dir.path().join("legacy.json")).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    let snap = maildrift::snapshot::io::read(&dir.path().join("legacy.json")).unwrap();
    assert_eq!(snap.secrets.get("smtppass"), Some(&true));
    assert_eq!(snap.environment, "legacy");
}

#[test]
fn import_from_stdin_works_like_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cmd(
        bare_cmd(dir.path())
            .args(["snapshot", "import", "-", "--env", "legacy"])
            .write_stdin(CFG_JSON),
    );
    assert_eq!(out.code, 0, "{}", out.both());
    assert_no_secret(&out);
    assert_eq!(out.json()["secrets"]["smtppass"], true);
}

#[test]
fn import_of_garbage_exits_1_names_the_file_and_does_not_echo_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "broken.json",
            r#"{"release":"4.5","smtppass":"S3cret-Value", "smtphosts": S3cret-Value}"#,
        ),
        (
            "truncated.json",
            r#"{"release":"4.5","smtppass":"S3cret-Value"#,
        ),
        ("notcfg.json", r#"["S3cret-Value"]"#),
        (
            "nested.json",
            r#"{"release":"4.5","smtphosts":{"x":"S3cret-Value"}}"#,
        ),
        ("text.json", "smtppass = S3cret-Value\n"),
    ];
    for (name, text) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = import(dir.path(), &[name, "--env", "legacy", "-o", "out.json"]);
        assert_eq!(out.code, 1, "{name}: {}", out.both());
        assert!(
            out.stderr.contains(name),
            "{name}: file not named:\n{}",
            out.both()
        );
        assert_no_secret(&out);
        assert!(
            !dir.path().join("out.json").exists(),
            "{name}: wrote a snapshot"
        );
    }
}

#[test]
fn import_of_a_missing_file_exits_1_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = import(dir.path(), &["nope.json", "--env", "legacy"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("nope.json"), "{}", out.both());
}
