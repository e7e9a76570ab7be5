//! One sweep over every command and output format, error paths and verbose logging included,
//! against fake sites that hold a recognisable token and send recognisable secret values: the
//! token and the secrets must appear in no output stream and no written file.

mod cli_common;
mod support;

use std::path::Path;

use cli_common::{CLEAN_BASELINE, EnvSpec, Out, TOKEN, World};
use serde_json::json;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

/// Secret values the fake sends (or cfg.php prints) where maildrift must drop them.
const SECRETS: [&str; 2] = ["S3cret-smtppass-Value", "S3cret-inbound-Value"];

fn leaks(text: &str) -> Vec<&'static str> {
    std::iter::once(TOKEN)
        .chain(SECRETS)
        .filter(|s| text.contains(s))
        .collect()
}

fn leaky_production() -> FakeSite {
    let mut site = FakeSite::production("production", TOKEN)
        .setting("smtppass", SECRETS[0])
        .setting("messageinbound_hostpass", SECRETS[1]);
    // A plugin (or proxy) that echoes what it got back in a warning.
    site.mail_config["warnings"] = json!([{
        "item": "config", "warningcode": "echo",
        "message": format!("request had wstoken={TOKEN} smtppass={}", SECRETS[0]),
    }]);
    site
}

#[test]
fn no_command_format_error_path_or_log_level_shows_the_token_or_a_secret() {
    let fake = FakeMoodle::start(vec![
        leaky_production(),
        FakeSite::staging("staging", TOKEN),
        FakeSite::production("rejected", TOKEN).with_fault(Fault::InvalidToken),
        FakeSite::production("htmlsite", TOKEN).with_fault(Fault::SiteRootHtml),
    ]);
    let w = World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            EnvSpec::live("staging", &fake.url("staging")),
            EnvSpec::live("rejected", &fake.url("rejected")),
            EnvSpec::live("htmlsite", &fake.url("htmlsite")),
        ],
        Some("baseline.toml"),
    );
    w.write("baseline.toml", CLEAN_BASELINE);
    w.write(
        "bad-baseline.toml",
        &CLEAN_BASELINE.replace("noemailever = \"0\"", "noemailever = \"0"),
    );
    let cfg_json = format!(
        r#"{{"release":"4.5.8+","version":"2024100708.05","wwwroot":"https://legacy.example.edu","smtppass":"{}","messageinbound_hostpass":"{}"}}"#,
        SECRETS[0], SECRETS[1]
    );
    let inputs = tempfile::tempdir().unwrap();
    std::fs::write(inputs.path().join("cfg.json"), &cfg_json).unwrap();
    std::fs::write(
        inputs.path().join("cfg-bad.json"),
        format!("{{\"smtppass\":\"{}\",", SECRETS[0]),
    )
    .unwrap();
    let cfg = inputs.path().join("cfg.json").display().to_string();
    let cfg_bad = inputs.path().join("cfg-bad.json").display().to_string();

    let ok2 = ["production", "staging"];
    let mut runs: Vec<Vec<String>> = Vec::new();
    let mut add = |args: &[&str]| runs.push(args.iter().map(|s| s.to_string()).collect());
    add(&["pull", ok2[0], ok2[1]]);
    add(&["pull", "-o", "snaps"]);
    add(&["pull", "production", "-o", "one.json"]);
    for f in ["table", "json", "openmetrics"] {
        add(&["health", ok2[0], ok2[1], "--format", f]);
    }
    add(&["health", "rejected", "production"]);
    add(&[
        "testmail",
        "production",
        "--to",
        "mailcheck@example.org",
        "--evidence-dir",
        "ev",
    ]);
    add(&[
        "testmail",
        "rejected",
        "--to",
        "mailcheck@example.org",
        "--evidence-dir",
        "ev",
    ]);
    add(&[
        "check",
        "--no-dns",
        "--evidence-dir",
        "ev",
        "--format",
        "openmetrics",
    ]);
    for f in ["table", "json", "markdown", "junit"] {
        add(&["diff", "staging", "production", "--format", f]);
        add(&[
            "diff",
            "snaps/staging.json",
            "snaps/production.json",
            "--format",
            f,
        ]);
        add(&["check", "--no-dns", ok2[0], ok2[1], "--format", f]);
        add(&["check", "--no-dns", "--format", f]);
        add(&[
            "check",
            "--no-dns",
            "--snapshot",
            "production=snaps/production.json",
            "--format",
            f,
        ]);
    }
    add(&[
        "check", "--no-dns", "--format", "json", "-o", "r.json", "--format", "junit", "-o",
        "r.xml", "--format", "markdown", "-o", "r.md", "--format", "table", "-o", "r.txt",
    ]);
    add(&[
        "check",
        "--no-dns",
        "--baseline",
        "bad-baseline.toml",
        "--format",
        "json",
    ]);
    add(&["diff", "rejected", "production"]);
    add(&["diff", "htmlsite", "production", "--format", "json"]);
    add(&["doctor"]);
    add(&["doctor", "--offline"]);
    add(&["snapshot", "import", &cfg, "--env", "legacy"]);
    add(&[
        "snapshot",
        "import",
        &cfg,
        "--env",
        "legacy",
        "-o",
        "legacy.json",
    ]);
    add(&["snapshot", "import", &cfg_bad, "--env", "legacy"]);
    add(&[
        "baseline",
        "accept",
        "--env",
        "production",
        "--setting",
        "smtpuser",
        "--yes",
    ]);
    add(&["baseline", "accept", "--all-mismatches", "--yes"]);

    let mut problems = Vec::new();
    let mut ran = 0;
    for args in &runs {
        for level in ["", "-vv", "RUST_LOG=trace"] {
            let mut cmd = w.cmd();
            match level {
                "-vv" => {
                    cmd.arg("-vv");
                }
                "RUST_LOG=trace" => {
                    cmd.env("RUST_LOG", "trace");
                }
                _ => {}
            }
            let out: Out = cli_common::run_cmd(cmd.args(args));
            ran += 1;
            // Sanity: the sweep runs real commands, not usage errors.
            assert!(!out.stderr.contains("Usage:"), "{args:?}: {}", out.both());
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let found = leaks(text);
                if !found.is_empty() {
                    let line = text.lines().find(|l| !leaks(l).is_empty()).unwrap_or("");
                    problems.push(format!(
                        "{args:?} {level}: {stream} shows {found:?}: {line}"
                    ));
                }
            }
        }
    }
    for file in files(w.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let found = leaks(&text);
        if !found.is_empty() {
            problems.push(format!("{} contains {found:?}", file.display()));
        }
    }
    assert!(ran >= 90, "ran only {ran}");
    assert!(
        w.path("r.xml").is_file()
            && w.path("legacy.json").is_file()
            && w.path("snaps/staging.json").is_file()
    );
    assert!(
        problems.is_empty(),
        "{} leaks:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p))
        } else {
            out.push(p)
        }
    }
    out
}
