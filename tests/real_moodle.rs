//! The end-to-end suite of issue 10: the real `maildrift` binary against real Moodle 4.5 and
//! 5.1 sites with the working tree's `local_maildrift`, a real SMTP server (Debian's aiosmtpd)
//! and a real DKIM verifier (Debian's dkimpy).
//!
//! Every test is `#[ignore]`d, so the fast `cargo test` lists them as ignored with the reason.
//! `.ci/moodle/e2e.sh` installs both sites and runs them with `--ignored`; against sites of your
//! own (see `.ci/moodle/README.md`):
//! `MAILDRIFT_REAL_MOODLE=1 MAILDRIFT_MOODLE_45=NAME MAILDRIFT_MOODLE_51=NAME cargo test --test real_moodle -- --ignored`.
//!
//! Each case runs once per version (`<case>::moodle_4_5`, `<case>::moodle_5_1`); the cases of
//! one site run one at a time (they change its settings), the two sites in parallel. Every case
//! sets the site settings it relies on itself.
//!
//! One file because the cases share the site handle, the runner and the mail sink, and read
//! best as one list; it is long because it is a list of cases.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use maildrift::snapshot::Snapshot;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The Debian interpreter: aiosmtpd and dkimpy come from Debian's packages, not a virtualenv.
const PYTHON: &str = "/usr/bin/python3";
/// The account `cli/setup.php` makes for the suite.
const SETUP_USER: &str = "maildrift_e2e";
/// Where the suite's test mails go (on the allowlist of every case that sends).
const RECIPIENT: &str = "postmaster@rcpt.maildrift.test";

/// Runs `$case` against each version, each in its own test.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            #[ignore = "needs real Moodle sites: .ci/moodle/e2e.sh (or MAILDRIFT_REAL_MOODLE=1, see .ci/moodle/README.md)"]
            fn moodle_4_5() {
                let site = super::site("4.5");
                let _turn = site.turn();
                super::$case(site);
            }
            #[test]
            #[ignore = "needs real Moodle sites: .ci/moodle/e2e.sh (or MAILDRIFT_REAL_MOODLE=1, see .ci/moodle/README.md)"]
            fn moodle_5_1() {
                let site = super::site("5.1");
                let _turn = site.turn();
                super::$case(site);
            }
        }
    )*};
}

on_both!(
    plugin_is_upgraded_to_the_working_tree_version,
    pull_reads_the_values_cfg_php_prints,
    cfg_php_snapshot_and_pull_have_no_settings_difference,
    diff_of_two_pulls_of_one_site_is_clean,
    check_reports_the_live_relay_settings,
    health_reads_the_site_figures,
    doctor_says_the_site_answers,
    account_without_the_capability_gets_the_error_naming_it,
    setup_command_alone_makes_a_working_account,
    setup_command_refuses_a_non_webservice_account,
    testmail_to_a_recipient_off_the_allowlist_is_refused,
    testmail_with_an_empty_allowlist_is_refused,
    concurrent_testmails_send_exactly_one,
    testmail_arrives_with_the_predicted_from_and_envelope,
    testmail_dkim_signature_verifies_against_the_reported_key,
    every_function_answers_json_with_developer_debugging,
);

// ---------------------------------------------------------------------------------------------
// The sites

struct Site {
    /// The site's name for `.ci/moodle/site.sh`.
    name: String,
    wwwroot: String,
    /// The folder plugins live in (`code` in 4.5, `code/public` in 5.1).
    webroot: PathBuf,
    dataroot: PathBuf,
    /// The domain of the site's noreply address (the DKIM domain).
    domain: String,
    turn: Mutex<()>,
    token: OnceLock<String>,
}

fn site(version: &'static str) -> &'static Site {
    static S45: OnceLock<Site> = OnceLock::new();
    static S51: OnceLock<Site> = OnceLock::new();
    let (cell, var) = match version {
        "4.5" => (&S45, "MAILDRIFT_MOODLE_45"),
        _ => (&S51, "MAILDRIFT_MOODLE_51"),
    };
    cell.get_or_init(|| {
        assert_eq!(
            std::env::var("MAILDRIFT_REAL_MOODLE").as_deref(),
            Ok("1"),
            "the real-Moodle suite needs sites: run .ci/moodle/e2e.sh, or bring up sites with \
             .ci/moodle/site.sh and set MAILDRIFT_REAL_MOODLE=1 and {var}=<site name>"
        );
        let name = std::env::var(var).unwrap_or_else(|_| {
            if version == "4.5" {
                "e2e45".into()
            } else {
                "e2e51".into()
            }
        });
        let out = site_sh(&["env", &name]);
        assert!(out.status.success(), "site.sh env {name}: {}", both(&out));
        let facts: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            facts["version"], version,
            "{var}={name} is a Moodle {} site",
            facts["version"]
        );
        let code = PathBuf::from(&facts["code"]);
        Site {
            wwwroot: facts["wwwroot"].clone(),
            webroot: code.join(facts["public"].trim_start_matches('/')),
            dataroot: PathBuf::from(&facts["dataroot"]),
            domain: format!("{name}.maildrift.test"),
            name,
            turn: Mutex::new(()),
            token: OnceLock::new(),
        }
    })
}

fn site_sh(args: &[&str]) -> Output {
    Command::new(Path::new(REPO).join(".ci/moodle/site.sh"))
        .args(args)
        .output()
        .expect("run .ci/moodle/site.sh")
}

fn both(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Site {
    /// The site to oneself: its cases change settings, so they take turns.
    fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `php ARGS` in the site's top folder.
    fn php(&self, args: &[&str]) -> Output {
        let mut all = vec!["php", &self.name];
        all.extend_from_slice(args);
        site_sh(&all)
    }

    /// What `php admin/cli/cfg.php --name=NAME` prints; `None` when the setting is not set
    /// (cfg.php exits 3).
    fn cfg(&self, name: &str) -> Option<String> {
        let out = self.php(&["admin/cli/cfg.php", &format!("--name={name}")]);
        match out.status.code() {
            Some(0) => {
                let mut v = String::from_utf8(out.stdout).expect("cfg.php prints UTF-8");
                // cfg.php ends the value with one new line.
                if v.ends_with('\n') {
                    v.pop();
                }
                Some(v)
            }
            Some(3) => None,
            _ => panic!("cfg.php --name={name} on {}: {}", self.name, both(&out)),
        }
    }

    fn set(&self, name: &str, value: &str) {
        self.set_in(None, name, value);
    }

    fn set_in(&self, component: Option<&str>, name: &str, value: &str) {
        let mut args = vec!["admin/cli/cfg.php".to_string(), format!("--name={name}")];
        if let Some(c) = component {
            args.push(format!("--component={c}"));
        }
        args.push(format!("--set={value}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.php(&args);
        assert!(out.status.success(), "cfg.php {args:?}: {}", both(&out));
    }

    fn unset_in(&self, component: Option<&str>, name: &str) {
        let mut args = vec!["admin/cli/cfg.php".to_string(), format!("--name={name}")];
        if let Some(c) = component {
            args.push(format!("--component={c}"));
        }
        args.push("--unset".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.php(&args);
        assert!(out.status.success(), "cfg.php {args:?}: {}", both(&out));
    }

    /// The plugin's setup command, as an admin runs it.
    fn setup(&self, args: &[&str]) -> Output {
        let script = self.webroot.join("local/maildrift/cli/setup.php");
        let script = script.to_str().unwrap().to_string();
        let mut all = vec![script.as_str()];
        all.extend_from_slice(args);
        self.php(&all)
    }

    /// The token of the suite's account, made with the setup command once per run.
    fn token(&self) -> &str {
        self.token.get_or_init(|| {
            let out = self.setup(&[
                &format!("--username={SETUP_USER}"),
                &format!("--email={SETUP_USER}@{}", self.domain),
                "--newtoken",
            ]);
            assert!(out.status.success(), "setup.php: {}", both(&out));
            let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
            assert!(
                token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
                "setup.php printed no token: {token:?}"
            );
            token
        })
    }

    /// A web service account with a role holding exactly `caps` (and webservice/rest:use),
    /// authorised on the maildrift service; its fresh token.
    fn account_with(&self, username: &str, caps: &[&str]) -> String {
        let helper = Path::new(REPO).join(".ci/moodle/wsaccount.php");
        let out = self.php(&[
            helper.to_str().unwrap(),
            &format!("--username={username}"),
            &format!("--caps={}", caps.join(",")),
        ]);
        assert!(out.status.success(), "wsaccount.php: {}", both(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Sets (`Some`) and unsets (`None`) settings in one PHP start: `(component, name, value)`
    /// with component `core` for Moodle's own; the same calls cfg.php makes.
    fn set_many(&self, settings: &[(&str, &str, Option<&str>)]) {
        let mut all = serde_json::Map::new();
        for (component, name, value) in settings {
            all.entry(component.to_string())
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
                .unwrap()
                .insert(name.to_string(), serde_json::json!(value));
        }
        let helper = Path::new(REPO).join(".ci/moodle/setcfg.php");
        let json = serde_json::Value::Object(all).to_string();
        let out = self.php(&[helper.to_str().unwrap(), &json]);
        assert!(out.status.success(), "setcfg.php {json}: {}", both(&out));
    }

    /// Settings every case starts from: a relay, a noreply address in the site's domain, test
    /// mail allowed to RECIPIENT, no DKIM, no debugging, the rate limit's minute reset.
    fn baseline_settings(&self, relay_port: u16) {
        let relay = format!("127.0.0.1:{relay_port}");
        let noreply = format!("noreply@{}", self.domain);
        self.set_many(&[
            ("core", "smtphosts", Some(&relay)),
            ("core", "smtpsecure", Some("")),
            ("core", "smtpauthtype", Some("LOGIN")),
            // A user makes PHPMailer log in, which the sink does not offer.
            ("core", "smtpuser", Some("")),
            ("core", "smtppass", Some("")),
            ("core", "smtpmaxbulk", Some("1")),
            ("core", "noreplyaddress", Some(&noreply)),
            ("core", "allowedemaildomains", Some("")),
            ("core", "divertallemailsto", Some("")),
            ("core", "divertallemailsexcept", Some("")),
            ("core", "emaildkimselector", Some("")),
            ("core", "emailsubjectprefix", Some("")),
            ("core", "emailheaders", Some("")),
            ("core", "allowattachments", Some("1")),
            ("core", "handlebounces", Some("0")),
            ("core", "debug", Some("0")),
            ("core", "debugdisplay", Some("0")),
            ("local_maildrift", "testmailallowlist", Some(RECIPIENT)),
            ("local_maildrift", "lasttestmail", None),
        ]);
    }

    /// Forgets the last test mail, so a case may send one without waiting a minute.
    fn reset_rate_limit(&self) {
        self.unset_in(Some("local_maildrift"), "lasttestmail");
    }
}

// ---------------------------------------------------------------------------------------------
// The binary and its configuration

struct Client {
    dir: tempfile::TempDir,
    token_var: String,
    token: String,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn both(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.both()))
    }
}

/// A config with one live environment `env` for the site, reading its token from a variable.
fn client(site: &Site, env: &str, token: &str) -> Client {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_var = format!("MAILDRIFT_E2E_TOKEN_{}", env.to_ascii_uppercase());
    std::fs::write(
        dir.path().join("maildrift.toml"),
        format!(
            "evidence_dir = \"evidence\"\n\n[environments.{env}]\nurl = \"{}\"\ntoken_env = \"{token_var}\"\nkeyring = false\ntimeout = 60\n",
            site.wwwroot
        ),
    )
    .unwrap();
    Client {
        dir,
        token_var,
        token: token.to_string(),
    }
}

impl Client {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_maildrift"));
        for (k, _) in std::env::vars() {
            if k.starts_with("MAILDRIFT_") {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env(&self.token_var, &self.token)
            .arg("--config")
            .arg(self.path("maildrift.toml"))
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run maildrift");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(&self.token) && !run.stderr.contains(&self.token),
            "the token leaked:\n{}",
            run.both()
        );
        run
    }

    /// `maildrift pull ENV -o FILE`, read back.
    fn pull(&self, env: &str, file: &str) -> Snapshot {
        let path = self.path(file);
        let run = self.run(&["pull", env, "-o", path.to_str().unwrap()]);
        assert_eq!(run.code, 0, "pull: {}", run.both());
        maildrift::snapshot::io::read(&path).expect("pull wrote a snapshot")
    }
}

// ---------------------------------------------------------------------------------------------
// The mail sink: Debian's aiosmtpd behind .ci/moodle/smtp_sink.py

struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

struct Received {
    raw: Vec<u8>,
    path: PathBuf,
    mail_from: String,
    rcpt_tos: Vec<String>,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(PYTHON)
            .arg(Path::new(REPO).join(".ci/moodle/smtp_sink.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink (python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the sink's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP sink did not start: {line:?}"));
        Sink { child, port, dir }
    }

    /// Every message received so far.
    fn messages(&self) -> Vec<Received> {
        let new = self.dir.path().join("new");
        let mut names: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let path = new.join(&name);
                let env_path = self
                    .dir
                    .path()
                    .join("envelopes")
                    .join(format!("{}.json", name.to_string_lossy()));
                let envelope: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(env_path).unwrap()).unwrap();
                Received {
                    raw: std::fs::read(&path).unwrap(),
                    path,
                    mail_from: envelope["mail_from"].as_str().unwrap().to_string(),
                    rcpt_tos: envelope["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect(),
                }
            })
            .collect()
    }

    /// Waits for the message whose subject carries `token`.
    fn wait_for(&self, token: &str) -> Received {
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| header(&m.raw, "Subject").is_some_and(|s| s.contains(token)))
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no message with {token} arrived at the SMTP sink in 30 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's unfolded value (the first one of that name).
fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// The address inside a From value: `Name <a@b>` or a bare `a@b`.
fn address_of(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(l), Some(r)) if l < r => from[l + 1..r].trim().to_string(),
        _ => from.trim().to_string(),
    }
}

/// `maildrift testmail` output: the token it printed.
fn token_of(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("token:"))
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token in the testmail output:\n{}", run.both()))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The cases

fn plugin_is_upgraded_to_the_working_tree_version(site: &Site) {
    let tree = std::fs::read_to_string(Path::new(REPO).join("moodle/local_maildrift/version.php"))
        .unwrap();
    let version = tree
        .lines()
        .find_map(|l| l.trim().strip_prefix("$plugin->version = "))
        .and_then(|v| v.split(';').next())
        .expect("version.php states $plugin->version")
        .trim()
        .to_string();
    let out = site.php(&[
        "admin/cli/cfg.php",
        "--component=local_maildrift",
        "--name=version",
    ]);
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version);
    // The client sees the same version through get_mail_config.
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    let snap = c.pull("live", "live.json");
    assert_eq!(snap.plugin_version.as_deref(), Some(version.as_str()));
    assert_eq!(
        snap.moodle.version,
        site.cfg("version").unwrap(),
        "Moodle's version"
    );
}

fn pull_reads_the_values_cfg_php_prints(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    // Values of every kind: a list, a multi-line list, an address, a number, a flag, text.
    site.set(
        "smtphosts",
        &format!("127.0.0.1:{};relay.maildrift.test:587", sink.port),
    );
    site.set("smtpuser", "moodle-relay");
    site.set("smtpmaxbulk", "5");
    site.set(
        "allowedemaildomains",
        &format!("{}\n*.students.maildrift.test", site.domain),
    );
    site.set("emailsubjectprefix", "[e2e] ");
    site.set("emailheaders", "X-Course-Site: e2e\nX-Env: test");
    site.set(
        "divertallemailsexcept",
        "admin@maildrift.test, *@staff.maildrift.test",
    );
    site.set("allowattachments", "0");
    let c = client(site, "live", site.token());
    let snap = c.pull("live", "live.json");
    assert!(!snap.settings.is_empty());
    for (name, setting) in &snap.settings {
        let cfg = site.cfg(name);
        assert_eq!(
            setting.isset,
            cfg.is_some(),
            "{name}: pull says isset={}, cfg.php {}",
            setting.isset,
            if cfg.is_some() {
                "prints it"
            } else {
                "exits 3"
            }
        );
        assert_eq!(
            setting.value,
            cfg.unwrap_or_default(),
            "{name}: the value pull read differs from cfg.php's"
        );
    }
    assert_eq!(snap.value("smtpuser"), "moodle-relay");
    assert_eq!(
        snap.value("emailheaders"),
        "X-Course-Site: e2e\nX-Env: test"
    );
    // smtppass is a secret: only whether it is set.
    site.set("smtppass", "e2e-Relay-Secret-9");
    let again = c.pull("live", "again.json");
    assert!(again.secrets["smtppass"]);
    let text = std::fs::read_to_string(c.path("again.json")).unwrap();
    assert!(!text.contains("e2e-Relay-Secret-9"), "{text}");
    site.set("smtppass", "");
}

fn cfg_php_snapshot_and_pull_have_no_settings_difference(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    site.set("smtpuser", "moodle-relay");
    site.set("allowedemaildomains", &site.domain);
    // A DKIM key the site has: the import can't know about it and must say so.
    install_dkim_key(site, "e2eimport");
    let c = client(site, "live", site.token());
    let out = site.php(&["admin/cli/cfg.php", "--json"]);
    assert!(out.status.success(), "{}", both(&out));
    std::fs::write(c.path("cfg.json"), &out.stdout).unwrap();
    let imported = c.path("imported.json");
    let run = c.run(&[
        "snapshot",
        "import",
        c.path("cfg.json").to_str().unwrap(),
        "--env",
        "live",
        "--url",
        &site.wwwroot,
        "-o",
        imported.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "snapshot import: {}", run.both());
    c.pull("live", "pulled.json");
    let pulled = c.path("pulled.json");
    let json = c.run(&[
        "diff",
        imported.to_str().unwrap(),
        pulled.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let diff = json.json();
    assert_eq!(
        diff["settings"],
        serde_json::json!([]),
        "settings differ: {}",
        json.both()
    );
    assert_eq!(
        diff["secrets"],
        serde_json::json!([]),
        "secrets differ: {}",
        json.both()
    );
    let table = c.run(&["diff", imported.to_str().unwrap(), pulled.to_str().unwrap()]);
    let dkim_line = table
        .stdout
        .lines()
        .find(|l| l.contains("DKIM"))
        .unwrap_or_else(|| panic!("no DKIM row for the imported snapshot:\n{}", table.both()));
    assert!(
        dkim_line.contains("unknown") && !dkim_line.contains("(none)"),
        "the imported snapshot's DKIM key state must read unknown, not none: {dkim_line}\n{}",
        table.both()
    );
    assert_eq!(
        table.code,
        0,
        "an unknown DKIM state is no difference: {}",
        table.both()
    );
}

fn diff_of_two_pulls_of_one_site_is_clean(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    // Two environments naming the same site: `diff A B` pulls both live.
    let config = std::fs::read_to_string(c.path("maildrift.toml")).unwrap();
    std::fs::write(
        c.path("maildrift.toml"),
        format!(
            "{config}\n[environments.twin]\nurl = \"{}\"\ntoken_env = \"{}\"\nkeyring = false\ntimeout = 60\n",
            site.wwwroot, c.token_var
        ),
    )
    .unwrap();
    let same = c.run(&["diff", "live", "twin"]);
    assert_eq!(same.code, 0, "{}", same.both());
    assert!(
        same.stdout.contains("have the same mail settings"),
        "{}",
        same.both()
    );
    // A snapshot from before a change differs from the live site in exactly that setting.
    c.pull("live", "before.json");
    site.set("emailsubjectprefix", "[changed] ");
    let before = c.path("before.json");
    let changed = c.run(&["diff", before.to_str().unwrap(), "live", "--format", "json"]);
    site.set("emailsubjectprefix", "");
    assert_eq!(changed.code, 2, "{}", changed.both());
    let diff = changed.json();
    let names: Vec<&str> = diff["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["emailsubjectprefix"], "{}", changed.both());
}

fn check_reports_the_live_relay_settings(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    // Named production, so the sender rules hold it to production's standard.
    let c = client(site, "production", site.token());
    // A remote relay without TLS is an error finding on production (MD304) ...
    site.set("smtphosts", "relay.maildrift.test:587");
    let plain = c.run(&["check", "--no-dns", "--no-health", "--format", "json"]);
    // ... which smtpsecure=tls clears.
    site.set("smtpsecure", "tls");
    let tls = c.run(&["check", "--no-dns", "--no-health", "--format", "json"]);
    // No relay at all: PHP mail() (MD303).
    site.set("smtphosts", "");
    let php_mail = c.run(&["check", "--no-dns", "--no-health", "--format", "json"]);
    site.baseline_settings(sink.port);
    assert_eq!(plain.code, 2, "{}", plain.both());
    assert!(plain.stdout.contains("\"MD304\""), "{}", plain.both());
    assert!(!plain.stdout.contains("\"MD303\""), "{}", plain.both());
    assert!(tls.code == 0 || tls.code == 2, "{}", tls.both());
    assert!(!tls.stdout.contains("\"MD304\""), "{}", tls.both());
    assert_eq!(php_mail.code, 2, "{}", php_mail.both());
    assert!(php_mail.stdout.contains("\"MD303\""), "{}", php_mail.both());
}

fn health_reads_the_site_figures(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    let run = c.run(&["health", "--format", "json"]);
    assert!(run.code == 0 || run.code == 2, "{}", run.both());
    let json = run.json();
    assert_eq!(json["schema"], "maildrift.health/1", "{}", run.both());
    let env = &json["environments"][0];
    assert_eq!(env["environment"], "live", "{}", run.both());
    assert_eq!(env["state"], "ok", "the site was not read: {}", run.both());
    assert!(env["error"].is_null(), "{}", run.both());
    assert!(env["health"].is_object(), "{}", run.both());
}

fn doctor_says_the_site_answers(site: &Site) {
    let c = client(site, "live", site.token());
    let run = c.run(&["doctor"]);
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(run.stdout.contains("live"), "{}", run.both());
    assert!(run.stdout.contains(&c.token_var), "{}", run.both());
}

fn account_without_the_capability_gets_the_error_naming_it(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    // Authorised on the service, allowed to use REST, but not given the plugin's capabilities.
    let token = site.account_with("maildrift_nocap", &[]);
    let c = client(site, "live", &token);
    let pull = c.run(&["pull", "live"]);
    assert_eq!(pull.code, 1, "{}", pull.both());
    assert!(
        pull.stderr.contains("local/maildrift:viewconfig"),
        "the error must name the capability to grant:\n{}",
        pull.both()
    );
    // Reading but not sending: the test mail names its own capability.
    let token = site.account_with("maildrift_viewonly", &["local/maildrift:viewconfig"]);
    let c = client(site, "live", &token);
    let pull = c.run(&["pull", "live"]);
    assert_eq!(pull.code, 0, "{}", pull.both());
    let mail = c.run(&["testmail", "live", "--to", RECIPIENT]);
    assert_eq!(mail.code, 1, "{}", mail.both());
    assert!(
        mail.stderr.contains("local/maildrift:sendtestmail"),
        "the error must name the capability to grant:\n{}",
        mail.both()
    );
    assert!(sink.messages().is_empty());
}

fn setup_command_alone_makes_a_working_account(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let user = "maildrift_setup";
    let first = site.setup(&[
        &format!("--username={user}"),
        "--iprestriction=127.0.0.1",
        "--validuntil=2099-01-01",
        "--newtoken",
    ]);
    assert!(first.status.success(), "{}", both(&first));
    let token = String::from_utf8(first.stdout.clone())
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 32, "{}", both(&first));
    let c = client(site, "live", &token);
    let pull = c.run(&["pull", "live"]);
    assert_eq!(pull.code, 0, "{}", pull.both());
    let mail = c.run(&["testmail", "live", "--to", RECIPIENT]);
    assert_eq!(mail.code, 0, "{}", mail.both());
    sink.wait_for(&token_of(&mail));
    // Running it again changes nothing and keeps the token.
    let again = site.setup(&[&format!("--username={user}")]);
    assert!(again.status.success(), "{}", both(&again));
    assert!(again.stdout.is_empty(), "{}", both(&again));
    assert_eq!(c.run(&["pull", "live"]).code, 0);
    // The account cannot log in interactively: its auth is `webservice`.
    let auth = site.php(&[
        "-r",
        &format!(
            "define('CLI_SCRIPT', true); require('config.php'); echo $DB->get_field('user', 'auth', ['username' => '{user}']);"
        ),
    ]);
    assert_eq!(String::from_utf8_lossy(&auth.stdout), "webservice");
}

fn setup_command_refuses_a_non_webservice_account(site: &Site) {
    // The admin account exists with manual auth: the command must leave it alone.
    let out = site.setup(&["--username=admin"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a web service account"),
        "{}",
        both(&out)
    );
    assert!(out.stdout.is_empty(), "no token for a refused account");
}

fn testmail_to_a_recipient_off_the_allowlist_is_refused(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    let run = c.run(&[
        "testmail",
        "live",
        "--to",
        "someone@elsewhere.maildrift.test",
    ]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("recipientnotallowed"), "{}", run.both());
    assert!(
        !c.path("evidence").exists() || std::fs::read_dir(c.path("evidence")).unwrap().count() == 0,
        "no evidence for a refused mail"
    );
    // A refused call does not use up the minute: an allowed one goes straight through.
    let ok = c.run(&["testmail", "live", "--to", RECIPIENT]);
    assert_eq!(ok.code, 0, "{}", ok.both());
    sink.wait_for(&token_of(&ok));
    assert_eq!(sink.messages().len(), 1);
}

fn testmail_with_an_empty_allowlist_is_refused(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    site.set_in(Some("local_maildrift"), "testmailallowlist", "");
    let c = client(site, "live", site.token());
    let run = c.run(&["testmail", "live", "--to", RECIPIENT]);
    site.set_in(Some("local_maildrift"), "testmailallowlist", RECIPIENT);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("allowlistempty"), "{}", run.both());
    assert!(sink.messages().is_empty());
}

fn concurrent_testmails_send_exactly_one(site: &Site) {
    const N: usize = 6;
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    let children: Vec<Child> = (0..N)
        .map(|_| {
            c.command(&["testmail", "live", "--to", RECIPIENT])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|ch| {
            let out = ch.wait_with_output().unwrap();
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .collect();
    let all: String = runs.iter().map(Run::both).collect::<Vec<_>>().join("\n");
    let sent: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    assert_eq!(sent.len(), 1, "exactly one of {N} may send:\n{all}");
    for r in runs.iter().filter(|r| r.code != 0) {
        assert!(r.stderr.contains("testmailtoosoon"), "{}", r.both());
    }
    sink.wait_for(&token_of(sent[0]));
    // Give a second message time to show up if the limit had let one through.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.messages().len(), 1, "{all}");
}

fn testmail_arrives_with_the_predicted_from_and_envelope(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    let c = client(site, "live", site.token());
    let snap = c.pull("live", "live.json");
    let predicted = maildrift::dns::targets::derive(&snap, &Default::default());
    let run = c.run(&["testmail", "live", "--to", RECIPIENT]);
    assert_eq!(run.code, 0, "{}", run.both());
    let token = token_of(&run);
    let m = sink.wait_for(&token);
    assert_eq!(m.rcpt_tos, [RECIPIENT]);
    assert_eq!(
        Some(m.mail_from.clone()),
        predicted.envelope_sender,
        "MAIL FROM"
    );
    let from = address_of(&header(&m.raw, "From").expect("a From header"));
    assert_eq!(Some(from.clone()), predicted.noreply, "From");
    let domain = from.rsplit_once('@').unwrap().1.to_ascii_lowercase();
    assert!(
        predicted.from_domains.contains(&domain),
        "{domain} not in {:?}",
        predicted.from_domains
    );
    // The evidence record names the same message.
    let evidence: Vec<_> = std::fs::read_dir(c.path("evidence")).unwrap().collect();
    assert_eq!(evidence.len(), 1);
    let record = std::fs::read_to_string(evidence[0].as_ref().unwrap().path()).unwrap();
    assert!(
        record.contains(&token) && record.contains("\"sent\""),
        "{record}"
    );
}

/// Puts a fresh RSA key at dataroot/dkim/<domain>/<selector>.private and sets the selector.
fn install_dkim_key(site: &Site, selector: &str) {
    let dir = site.dataroot.join("dkim").join(&site.domain);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join(format!("{selector}.private"));
    if !key.exists() {
        let out = Command::new("openssl")
            .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl genrsa: {}", both(&out));
    }
    site.set("emaildkimselector", selector);
}

fn testmail_dkim_signature_verifies_against_the_reported_key(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    install_dkim_key(site, "e2e");
    let c = client(site, "live", site.token());
    let snap = c.pull("live", "live.json");
    let key = snap
        .dkim
        .iter()
        .find(|k| k.domain == site.domain)
        .unwrap_or_else(|| panic!("get_mail_config reported no DKIM key for {}", site.domain));
    assert!(key.keyfile && key.selector == "e2e", "{key:?}");
    assert!(!key.publickey.is_empty());
    let run = c.run(&["testmail", "live", "--to", RECIPIENT]);
    site.set("emaildkimselector", "");
    assert_eq!(run.code, 0, "{}", run.both());
    let m = sink.wait_for(&token_of(&run));
    let signature = header(&m.raw, "DKIM-Signature").expect("a DKIM-Signature header");
    assert!(
        signature.contains(&format!("d={}", site.domain)),
        "{signature}"
    );
    assert!(signature.contains("s=e2e"), "{signature}");
    // dkimpy verifies, asking "DNS" only for the key get_mail_config reported.
    let verify = dkim_verify(
        &m.path,
        &format!("e2e._domainkey.{}.", site.domain),
        &key.publickey,
    );
    assert!(verify.status.success(), "dkimpy: {}", both(&verify));
    assert_eq!(String::from_utf8_lossy(&verify.stdout).trim(), "pass");
    // And a different key does not verify it: the check can fail.
    let other = maildrift_other_key();
    let wrong = dkim_verify(&m.path, &format!("e2e._domainkey.{}.", site.domain), &other);
    assert_eq!(String::from_utf8_lossy(&wrong.stdout).trim(), "fail");
}

/// dkimpy's verdict (`pass`/`fail` on stdout) with `name` answering `v=DKIM1; k=rsa; p=KEY`.
fn dkim_verify(message: &Path, name: &str, key: &str) -> Output {
    const SCRIPT: &str = r#"
import sys, dkim
path, name, key = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
def dns(qname, timeout=5):
    return b"v=DKIM1; k=rsa; p=" + key if qname == name else None
msg = open(path, "rb").read()
print("pass" if dkim.verify(msg, dnsfunc=dns) else "fail")
"#;
    Command::new(PYTHON)
        .args(["-c", SCRIPT])
        .arg(message)
        .args([name, key])
        .output()
        .expect("python3-dkim")
}

/// The base64 SubjectPublicKeyInfo of a key nobody signs with.
fn maildrift_other_key() -> String {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let made = Command::new("openssl")
        .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let der = Command::new("openssl")
        .args([
            "rsa",
            "-in",
            key.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ])
        .output()
        .unwrap();
    assert!(der.status.success());
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(der.stdout)
}

fn every_function_answers_json_with_developer_debugging(site: &Site) {
    let sink = Sink::start();
    site.baseline_settings(sink.port);
    install_dkim_key(site, "e2e");
    site.set("debug", "32767");
    site.set("debugdisplay", "1");
    let token = site.token().to_string();
    let nocap = site.account_with("maildrift_nocap", &[]);
    // (whose token, function, recipient of a test mail)
    let calls: [(&str, &str, Option<&str>); 6] = [
        ("own token", "local_maildrift_get_mail_config", None),
        ("own token", "local_maildrift_get_mail_health", None),
        (
            "own token",
            "local_maildrift_send_test_mail",
            Some(RECIPIENT),
        ),
        (
            "own token",
            "local_maildrift_send_test_mail",
            Some("x@off.list.maildrift.test"),
        ),
        ("no capability", "local_maildrift_get_mail_config", None),
        (
            "no capability",
            "local_maildrift_send_test_mail",
            Some(RECIPIENT),
        ),
    ];
    let mut bad = Vec::new();
    for (who, function, recipient) in calls {
        let t = if who == "own token" { &token } else { &nocap };
        let params: Vec<(&str, &str)> = recipient.map(|r| ("recipient", r)).into_iter().collect();
        let body = rest_call(site, t, function, &params);
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(v) if v.is_object() => {}
            _ => bad.push(format!("{function} ({who}): {body}")),
        }
    }
    // The client, too, reads everything with debugging on.
    let c = client(site, "live", &token);
    site.reset_rate_limit();
    let pull = c.run(&["pull", "live"]);
    let health = c.run(&["health", "--format", "json"]);
    let mail = c.run(&["testmail", "live", "--to", RECIPIENT]);
    site.set("debug", "0");
    site.set("debugdisplay", "0");
    site.set("emaildkimselector", "");
    assert!(
        bad.is_empty(),
        "answers that are not JSON:\n{}",
        bad.join("\n")
    );
    assert_eq!(pull.code, 0, "{}", pull.both());
    assert!(health.code == 0 || health.code == 2, "{}", health.both());
    assert_eq!(mail.code, 0, "{}", mail.both());
}

/// One REST call, the body as text.
fn rest_call(site: &Site, token: &str, function: &str, params: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "60"])
        .arg(format!(
            "{}/webservice/rest/server.php?moodlewsrestformat=json",
            site.wwwroot
        ))
        .args(["--data-urlencode", &format!("wstoken={token}")])
        .args(["--data-urlencode", &format!("wsfunction={function}")]);
    for (k, v) in params {
        cmd.args(["--data-urlencode", &format!("{k}={v}")]);
    }
    let out = cmd.output().expect("curl");
    assert!(out.status.success(), "curl {function}: {}", both(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
