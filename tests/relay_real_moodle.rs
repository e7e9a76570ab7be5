//! The relay probe through real Moodle 4.5 and 5.1 sites: the site's own `local_maildrift`
//! probes real SMTP servers (Debian's aiosmtpd) on 127.0.0.1, and the real `maildrift` binary
//! reads the answer with `health` and `check`.
//!
//! `#[ignore]`d like the rest of the real-Moodle suite (issue 10): run with sites made by
//! `.ci/moodle/site.sh`:
//! `MAILDRIFT_REAL_MOODLE=1 MAILDRIFT_MOODLE_45=NAME MAILDRIFT_MOODLE_51=NAME cargo test --test relay_real_moodle -- --ignored`
//! (`MAILDRIFT_SITE_SH` may point at another copy of site.sh).

mod relay_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use relay_common::{Pki, Relay, root};
use serde_json::Value;

fn site_sh() -> PathBuf {
    std::env::var_os("MAILDRIFT_SITE_SH")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci/moodle/site.sh"))
}

fn both(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn php(site: &str, args: &[&str]) -> Output {
    Command::new(site_sh())
        .args(["php", site])
        .args(args)
        .output()
        .expect("run site.sh php")
}

fn cfg_get(site: &str, name: &str) -> Option<String> {
    let out = php(site, &["admin/cli/cfg.php", &format!("--name={name}")]);
    match out.status.code() {
        Some(0) => Some(
            String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string(),
        ),
        _ => None,
    }
}

fn cfg_set(site: &str, name: &str, value: Option<&str>) {
    let arg = match value {
        Some(v) => format!("--set={v}"),
        None => "--unset".to_string(),
    };
    let out = php(
        site,
        &["admin/cli/cfg.php", &format!("--name={name}"), &arg],
    );
    assert!(out.status.success(), "cfg.php {name}: {}", both(&out));
}

/// Puts the site's mail settings back when the test ends, however it ends.
struct Restore {
    site: String,
    saved: Vec<(&'static str, Option<String>)>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        for (name, value) in &self.saved {
            cfg_set(&self.site, name, value.as_deref());
        }
    }
}

/// The cases change a site's mail settings: one at a time.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn site_name(var: &str, version: &str) -> String {
    assert_eq!(
        std::env::var("MAILDRIFT_REAL_MOODLE").as_deref(),
        Ok("1"),
        "needs real Moodle sites: bring them up with .ci/moodle/site.sh and set MAILDRIFT_REAL_MOODLE=1 and {var}"
    );
    let name = std::env::var(var)
        .unwrap_or_else(|_| if version == "4.5" { "e2e45" } else { "e2e51" }.to_string());
    let out = Command::new(site_sh())
        .args(["env", &name])
        .output()
        .expect("site.sh env");
    assert!(out.status.success(), "site.sh env {name}: {}", both(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("version={version}")),
        "{name} is not a Moodle {version} site"
    );
    name
}

fn wwwroot(site: &str) -> String {
    let out = Command::new(site_sh())
        .args(["env", site])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("wwwroot="))
        .expect("site.sh env prints wwwroot")
        .to_string()
}

fn maildrift(dir: &Path, token: &str, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_maildrift"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("MAILDRIFT_RELAY_TOKEN", token)
        .args(["--config", "maildrift.toml"])
        .args(args)
        .output()
        .expect("run maildrift");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !text.contains(token) && !stderr.contains(token),
        "the token leaked"
    );
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn codes(findings: &Value) -> Vec<String> {
    let mut c: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "relay-probe")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

/// A web service account holding only `local/maildrift:viewconfig`, and a folder with a
/// config for the site (environment `production`) and a baseline asking for TLS 1.2.
fn account_and_config(site: &str) -> (tempfile::TempDir, String) {
    let helper = root().join(".ci/moodle/wsaccount.php");
    let helper = if helper.is_file() {
        helper
    } else {
        site_sh().parent().unwrap().join("wsaccount.php")
    };
    let out = php(
        site,
        &[
            helper.to_str().unwrap(),
            "--username=maildrift_relay",
            "--caps=local/maildrift:viewconfig",
        ],
    );
    assert!(out.status.success(), "wsaccount.php: {}", both(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("maildrift.toml"),
        format!(
            "[environments.production]\nurl = \"{}\"\ntoken_env = \"MAILDRIFT_RELAY_TOKEN\"\n",
            wwwroot(site)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("baseline.toml"),
        "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"relay\"\nowner = \"mail team\"\n[relay]\nrequire_tls = true\nmin_tls_version = \"1.2\"\n",
    )
    .unwrap();

    (dir, token)
}

fn probe_through_the_site(site: &str) {
    let pki = Pki::new();
    // Valid for the name Moodle connects to, but from a CA the server's store does not hold,
    // and close to its end.
    let leaf = pki.leaf("site", &["localhost"], -30, 5);
    let tls = Relay::start("starttls", Some(&leaf), true);
    let plain = Relay::start("none", None, false);

    let _restore = Restore {
        site: site.to_string(),
        saved: ["smtphosts", "smtpsecure", "smtpuser", "smtpauthtype"]
            .into_iter()
            .map(|n| (n, cfg_get(site, n)))
            .collect(),
    };
    cfg_set(
        site,
        "smtphosts",
        Some(&format!("localhost:{};127.0.0.1:{}", tls.port, plain.port)),
    );
    cfg_set(site, "smtpsecure", Some("tls"));
    cfg_set(site, "smtpuser", Some("moodle-relay"));
    cfg_set(site, "smtpauthtype", Some("LOGIN"));

    let (dir, token) = account_and_config(site);

    let (code, health, stderr) = maildrift(
        dir.path(),
        &token,
        &["health", "--baseline", "baseline.toml", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let relay = &health["environments"][0]["relay"];
    let first = &relay["relays"][0];
    assert_eq!(first["mode"], "starttls");
    assert_eq!(first["reachable"], true);
    assert!(
        first["greeting"]
            .as_str()
            .unwrap()
            .starts_with("220 relay.test")
    );
    assert!(
        first["tls"]["protocol"]
            .as_str()
            .unwrap()
            .starts_with("TLSv1.")
    );
    assert_eq!(first["cert"]["namematches"], true);
    assert_eq!(first["cert"]["verified"], false, "{first}");
    assert_eq!(
        first["authmechanisms"],
        serde_json::json!(["LOGIN", "PLAIN"])
    );
    assert_eq!(relay["relays"][1]["stage"], "starttls");
    assert_eq!(relay["smtpuser_set"], true);
    assert_eq!(codes(&health["findings"]), ["MD152", "MD155", "MD157"]);
    eprintln!("{site}: probe_relay answer as maildrift read it:\n{relay:#}");

    let (code, report, stderr) = maildrift(
        dir.path(),
        &token,
        &[
            "check",
            "--baseline",
            "baseline.toml",
            "--no-dns",
            "--no-health",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(report["relay"][0]["environment"], "production");
    // Asked again within the minute, the plugin answers from its cache instead of probing.
    assert_eq!(report["relay"][0]["cached"], true);
    assert_eq!(relay["cached"], false);
    assert_eq!(codes(&report["findings"]), ["MD152", "MD155", "MD157"]);
    let run = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "relay-probe")
        .expect("a relay-probe check");
    assert_eq!(run["state"], "failed");
}

fn xoauth2_state_through_the_site(site: &str) {
    let relay = Relay::start("none", None, false);
    let _restore = Restore {
        site: site.to_string(),
        saved: [
            "smtphosts",
            "smtpsecure",
            "smtpuser",
            "smtpauthtype",
            "smtpoauthservice",
        ]
        .into_iter()
        .map(|n| (n, cfg_get(site, n)))
        .collect(),
    };
    cfg_set(
        site,
        "smtphosts",
        Some(&format!("127.0.0.1:{}", relay.port)),
    );
    cfg_set(site, "smtpsecure", Some(""));
    cfg_set(site, "smtpuser", Some("mailer@example.org"));
    cfg_set(site, "smtpauthtype", Some("XOAUTH2"));
    let issuer = |enabled: &str| -> String {
        let out = php(
            site,
            &[
                root()
                    .join("tests/support/oauth_issuer.php")
                    .to_str()
                    .unwrap(),
                &format!("--enabled={enabled}"),
            ],
        );
        assert!(out.status.success(), "oauth_issuer.php: {}", both(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let (dir, token) = account_and_config(site);
    let oauth_codes = |json: &Value| -> Vec<String> {
        codes(&json["findings"])
            .into_iter()
            .filter(|c| c == "MD162" || c == "MD163")
            .collect()
    };
    let health = || maildrift(dir.path(), &token, &["health", "--format", "json"]).1;

    // An enabled issuer with a client but no connected system account.
    let id = issuer("1");
    cfg_set(site, "smtpoauthservice", Some(&id));
    let h = health();
    let oauth = &h["environments"][0]["relay"]["oauth"];
    assert_eq!(oauth["exists"], true, "{oauth}");
    assert_eq!(oauth["enabled"], true);
    assert_eq!(oauth["configured"], true);
    assert_eq!(oauth["connected"], false);
    assert_eq!(oauth["name"], "maildrift relay test");
    assert!(
        !h.to_string().contains("maildrift-test-secret"),
        "the client secret leaked"
    );
    assert_eq!(oauth_codes(&h), ["MD163"]);

    issuer("0");
    assert_eq!(oauth_codes(&health()), ["MD162"]);

    cfg_set(site, "smtpoauthservice", Some("987654"));
    let h = health();
    assert_eq!(h["environments"][0]["relay"]["oauth"]["exists"], false);
    assert_eq!(oauth_codes(&h), ["MD162"]);
}

mod xoauth2_state_through_real_moodle {
    #[test]
    #[ignore = "needs real Moodle sites (.ci/moodle/site.sh, MAILDRIFT_REAL_MOODLE=1)"]
    fn moodle_4_5() {
        let _turn = super::turn();
        super::xoauth2_state_through_the_site(&super::site_name("MAILDRIFT_MOODLE_45", "4.5"));
    }

    #[test]
    #[ignore = "needs real Moodle sites (.ci/moodle/site.sh, MAILDRIFT_REAL_MOODLE=1)"]
    fn moodle_5_1() {
        let _turn = super::turn();
        super::xoauth2_state_through_the_site(&super::site_name("MAILDRIFT_MOODLE_51", "5.1"));
    }
}

mod relay_probe_through_real_moodle {
    #[test]
    #[ignore = "needs real Moodle sites (.ci/moodle/site.sh, MAILDRIFT_REAL_MOODLE=1)"]
    fn moodle_4_5() {
        let _turn = super::turn();
        super::probe_through_the_site(&super::site_name("MAILDRIFT_MOODLE_45", "4.5"));
    }

    #[test]
    #[ignore = "needs real Moodle sites (.ci/moodle/site.sh, MAILDRIFT_REAL_MOODLE=1)"]
    fn moodle_5_1() {
        let _turn = super::turn();
        super::probe_through_the_site(&super::site_name("MAILDRIFT_MOODLE_51", "5.1"));
    }
}
