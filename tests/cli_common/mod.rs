//! Shared helpers for the end-to-end tests of the `maildrift` binary (`tests/cli_*.rs`):
//! writing configs into a tempdir that point at the fake Moodle, and running the built binary
//! with a clean, reproducible environment (no inherited MAILDRIFT_* variables, no keyring,
//! NO_COLOR=1).
//!
//! Use with `mod cli_common; mod support;` in every test file (the helpers start fake sites).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

use crate::support::fake_moodle::{FakeMoodle, FakeSite};

/// The token every fake site accepts. Recognisable, so a leak is found by a plain search.
pub const TOKEN: &str = "tok-5ecr3t-0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// A fixed clock so reports are reproducible and exception expiry is deterministic.
pub const NOW: &str = "2026-11-29T09:00:00Z";

/// The process's result.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.both()))
    }
}

/// One environment in a test config.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    pub name: String,
    pub url: String,
    /// Extra TOML lines for its section (e.g. `timeout = 1`).
    pub extra: Vec<String>,
}

impl EnvSpec {
    pub fn live(name: &str, url: &str) -> EnvSpec {
        EnvSpec {
            name: name.into(),
            url: url.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, line: &str) -> EnvSpec {
        self.extra.push(line.into());
        self
    }
}

/// A working directory with a config file, and the env vars (tokens) the binary gets.
pub struct World {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub vars: Vec<(String, String)>,
}

impl World {
    /// A tempdir with `maildrift.toml` listing `envs` (keyring off, short timeouts, no
    /// retries), a baseline line when `baseline` is given, and `MAILDRIFT_TOKEN_<ENV>` = TOKEN
    /// for every environment.
    pub fn new(envs: &[EnvSpec], baseline: Option<&str>) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut toml = String::new();
        if let Some(b) = baseline {
            toml.push_str(&format!("baseline = {b:?}\n"));
        }
        toml.push_str("\n[defaults]\nconnect_timeout = 2\ntimeout = 10\nretries = 0\n");
        let mut vars = Vec::new();
        for e in envs {
            toml.push_str(&format!(
                "\n[environments.{}]\nurl = {:?}\nkeyring = false\n",
                e.name, e.url
            ));
            for l in &e.extra {
                toml.push_str(l);
                toml.push('\n');
            }
            vars.push((token_var(&e.name), TOKEN.to_string()));
        }
        let config = dir.path().join("maildrift.toml");
        std::fs::write(&config, toml).expect("write config");
        World { dir, config, vars }
    }

    /// Production and staging, live from `fake`.
    pub fn two_sites(fake: &FakeMoodle, baseline: Option<&str>) -> World {
        World::new(
            &[
                EnvSpec::live("production", &fake.url("production")),
                EnvSpec::live("staging", &fake.url("staging")),
            ],
            baseline,
        )
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// The binary with `--config` set, run in the tempdir.
    pub fn cmd(&self) -> Command {
        let mut c = bare_cmd(self.dir.path());
        c.arg("--config").arg(&self.config);
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs `maildrift --config CFG ARGS...`.
    pub fn run(&self, args: &[&str]) -> Out {
        run_cmd(self.cmd().args(args))
    }
}

/// `MAILDRIFT_TOKEN_<NAME>`.
pub fn token_var(env: &str) -> String {
    format!(
        "MAILDRIFT_TOKEN_{}",
        env.to_ascii_uppercase().replace('-', "_")
    )
}

/// The binary, run in `dir`, with nothing inherited that changes its behaviour.
pub fn bare_cmd(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("maildrift").expect("binary built");
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MAILDRIFT_NOW", NOW)
        .env("COLUMNS", "200")
        .env_remove("MAILDRIFT_CONFIG")
        .env_remove("MAILDRIFT_BASELINE")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(60));
    for (k, _) in std::env::vars() {
        if k.starts_with("MAILDRIFT_TOKEN_") {
            c.env_remove(k);
        }
    }
    c
}

pub fn run_cmd(c: &mut Command) -> Out {
    let o = c.output().expect("run maildrift");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The two standard fake sites.
pub fn fake_pair() -> FakeMoodle {
    FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN),
    ])
}

/// The demo directory in the repository.
pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo")
}

/// A baseline that the two standard fake sites meet exactly (no findings at error level).
pub const CLEAN_BASELINE: &str = r#"# Test standard for the fake sites.
schema = "maildrift.baseline/1"

[standard]
name = "Fake University mail standard"
owner = "Mail team <mail@example.edu>"
approved_by = "Tester"
approved_on = 2026-03-02
review_by = 2027-03-01

# Expected everywhere.
[settings]
smtpauthtype = "LOGIN"   # keep LOGIN
mailnewline = "LF"
noemailever = "0"

[environments.production]
role = "production"
settings = { smtphosts = "smtp-relay.example.edu:587", smtpsecure = "tls", noreplyaddress = "noreply@moodle.example.edu" }

[environments.staging]
role = "staging"
# Staging must never mail real people.
settings = { smtphosts = "smtp-staging.example.edu:25", smtpsecure = "", noreplyaddress = "noreply@moodle-staging.example.edu", divertallemailsto = "moodle-staging-sink@example.edu" }

[drift]
reference = "production"
may_differ = ["smtphosts", "smtpsecure", "smtpuser", "noreplyaddress", "divertallemailsto", "divertallemailsexcept", "emaildkimselector"]

[[exceptions]]
setting = "emailsubjectprefix"
environment = "staging"
value = "[STAGING]"
reason = "kept for the test"
owner = "Tester"
expires = 2028-06-30
"#;
