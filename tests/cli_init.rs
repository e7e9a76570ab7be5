//! `maildrift init`: from an empty folder to a config and a first baseline, then `check` on
//! the result. Against the demo's snapshot files and zone, against fake sites (with and
//! without a real DNS server on 127.0.0.1), and the ways it must refuse.

mod cli_common;
#[path = "support/dns_server.rs"]
mod dns_server;
mod support;

use std::path::Path;

use cli_common::{Out, TOKEN, bare_cmd, demo_dir, fake_pair, run_cmd, token_var};
use dns_server::{DnsServer, Faults};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

/// Runs `maildrift ARGS` in `dir` with the fake sites' tokens in the environment.
fn run_in(dir: &Path, args: &[&str]) -> Out {
    let mut c = bare_cmd(dir);
    for env in ["production", "staging"] {
        c.env(token_var(env), TOKEN);
    }
    run_cmd(c.args(args))
}

/// Error-level finding codes of a JSON report, as `environment code` lines, sorted.
fn errors(report: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            format!(
                "{} {}",
                f["environment"].as_str().unwrap_or("-"),
                f["code"].as_str().unwrap_or("?")
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The errors init says the first check will report, as `environment code` lines, sorted.
fn predicted_errors(stdout: &str) -> Vec<String> {
    let mut out: Vec<String> = stdout
        .split("What the first check will report as errors")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  - "))
        .filter_map(|l| {
            let (env, rest) = l.trim_start_matches("  - ").split_once(": ")?;
            Some(format!("{env} {}", rest.split_whitespace().next()?))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every finding code of a JSON report, any severity.
fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Codes a baseline decides: after init, none of them may be reported (the first `check`
/// names only what init could not decide).
const DECIDED_BY_THE_BASELINE: &[&str] = &[
    "MD001", // review overdue
    "MD002", "MD003", // exceptions
    "MD101", // a stated value differs
    "MD201", // drift not in may_differ
    "MD604", // DMARC weaker than the stated minimum
    "MD506", // DKIM key smaller than the stated minimum
    "MD608", // DMARC reports to a domain not in allowed_rua
    "MD409", // SPF lacks a required include
    "MD703", // a required MX is missing
];

fn assert_nothing_the_baseline_decides(report: &serde_json::Value, context: &str) {
    let found: Vec<String> = codes(report)
        .into_iter()
        .filter(|c| DECIDED_BY_THE_BASELINE.contains(&c.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "{context}: check reports {found:?}, which the proposed baseline should have settled"
    );
}

#[test]
fn init_from_the_demo_snapshots_then_check_names_only_what_init_could_not_decide() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_dir();
    let snap = |env: &str| {
        format!(
            "{env}={}",
            demo.join(format!("snapshots/{env}.json")).display()
        )
    };
    let zone = demo.join("dns/example.edu.zone");
    let out = run_in(
        dir.path(),
        &[
            "init",
            "--snapshot",
            &snap("production"),
            "--snapshot",
            &snap("staging"),
            "--zone",
            zone.to_str().unwrap(),
            "--offline",
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.both());
    // Init says what it could not decide: the owner and staging's sink.
    assert!(out.stdout.contains("[standard] owner"), "{}", out.both());
    assert!(
        out.stdout.contains("staging: the sink mailbox"),
        "{}",
        out.both()
    );

    // Both files load with the strict parsers.
    let config = maildrift::config::Config::load(&dir.path().join("maildrift.toml")).unwrap();
    assert_eq!(
        config
            .environments
            .iter()
            .map(|e| (e.name.as_str(), e.url.as_str()))
            .collect::<Vec<_>>(),
        [
            ("production", "https://moodle.example.edu/"),
            ("staging", "https://moodle-staging.example.edu/")
        ]
    );
    let path = dir.path().join("baselines/mail-standard.toml");
    let baseline = maildrift::baseline::Baseline::load(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // The reference's shared values are the standard; what differs is in may_differ, each
    // entry commented; roles come from the names; DNS expectations match DNS today.
    assert_eq!(baseline.expected("staging", "smtpauthtype"), Some("LOGIN"));
    assert_eq!(baseline.expected("production", "smtphosts"), None);
    assert_eq!(baseline.drift_reference.as_deref(), Some("production"));
    for s in [
        "smtphosts",
        "smtpsecure",
        "noreplyaddress",
        "emaildkimselector",
    ] {
        assert!(
            baseline.may_differ.iter().any(|m| m == s),
            "{s} not in may_differ"
        );
    }
    assert_eq!(
        text.matches("differs today — confirm or remove").count(),
        baseline.may_differ.len()
    );
    assert_eq!(
        baseline.role("production"),
        Some(maildrift::baseline::Role::Production)
    );
    assert_eq!(
        baseline.role("staging"),
        Some(maildrift::baseline::Role::Staging)
    );
    let dns = baseline.dns.as_ref().unwrap();
    // The demo publishes p=none: a higher minimum would fail the first check.
    assert_eq!(dns["min_dmarc_policy"].as_str(), Some("none"));
    assert_eq!(dns["min_dkim_bits"].as_integer(), Some(2048));
    assert_eq!(dns["allowed_rua"][0].as_str(), Some("example.edu"));
    let review = baseline.standard.review_by.unwrap();
    let today = jiff::civil::date(2026, 11, 29);
    assert!(
        review >= today.checked_add(jiff::Span::new().days(364)).unwrap(),
        "review_by {review} is not a year out"
    );

    let check = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(check.code, 2, "{}", check.both());
    let report = check.json();
    assert_nothing_the_baseline_decides(&report, "demo");
    // Init named in advance exactly the errors the first check reports.
    assert_eq!(
        predicted_errors(&out.stdout),
        errors(&report),
        "{}",
        out.both()
    );
    // What remains is staging's missing sink (init could not choose it) and the demo's DNS
    // faults, which no standard can make pass.
    assert_eq!(
        errors(&report),
        [
            "staging MD305", // staging mails real people: the sink init could not choose
            "staging MD410", // SPF fails for the staging relay
            "staging MD507", // the published DKIM key is not Moodle's
            "staging MD610", // so DMARC fails for example.edu from staging
        ]
    );
}

#[test]
fn init_against_fake_sites_then_the_first_check_exits_0() {
    let fake = fake_pair();
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "init",
            "--env",
            &format!("production={}", fake.url("production")),
            "--env",
            &format!("staging={}", fake.url("staging")),
            "--no-dns",
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.contains("DNS was not asked"), "{}", out.both());
    let config_text = std::fs::read_to_string(dir.path().join("maildrift.toml")).unwrap();
    let baseline_text =
        std::fs::read_to_string(dir.path().join("baselines/mail-standard.toml")).unwrap();
    // The token came from the environment and is written nowhere; the config says where
    // tokens come from instead.
    for text in [&config_text, &baseline_text, &out.stdout, &out.stderr] {
        assert!(!text.contains(TOKEN), "token written:\n{text}");
    }
    assert!(config_text.contains("maildrift login ENV"), "{config_text}");
    assert!(config_text.contains("MAILDRIFT_TOKEN_"), "{config_text}");
    // Staging diverts today: its sink is the standard for it.
    let baseline =
        maildrift::baseline::Baseline::parse(&baseline_text, Path::new("b.toml")).unwrap();
    assert_eq!(
        baseline.expected("staging", "divertallemailsto"),
        Some("moodle-staging-sink@example.edu")
    );
    assert_eq!(baseline.expected("production", "divertallemailsto"), None);

    let check = run_in(dir.path(), &["check", "--no-dns", "--format", "json"]);
    assert_eq!(check.code, 0, "{}", check.both());
    assert_nothing_the_baseline_decides(&check.json(), "fake sites");
}

/// example.edu for the fake sites: production's relay is public and authorised, staging's
/// relay is internal (init can't know where its mail leaves), DMARC is p=quarantine.
const FAKE_ZONE: &str = r#"$ORIGIN example.edu.
$TTL 300
@                 IN SOA ns1.example.edu. hostmaster.example.edu. 1 3600 900 1209600 300
@                 IN NS  ns1.example.edu.
ns1               IN A   192.0.2.53
@                 IN MX  10 mx.example.edu.
mx                IN A   192.0.2.10
@                 IN TXT "v=spf1 ip4:192.0.2.0/26 -all"
_dmarc            IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.edu"
moodle            IN MX  10 mx.example.edu.
moodle            IN TXT "v=spf1 redirect=example.edu"
moodle-staging    IN MX  10 mx.example.edu.
moodle-staging    IN TXT "v=spf1 redirect=example.edu"
smtp-relay        IN A   192.0.2.25
smtp-staging      IN A   10.20.0.25
"#;

/// Reverse DNS of production's relay, confirming its name.
const FAKE_REVERSE_ZONE: &str = r#"$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@                 IN SOA ns1.example.edu. hostmaster.example.edu. 1 3600 900 1209600 300
@                 IN NS  ns1.example.edu.
25                IN PTR smtp-relay.example.edu.
"#;

struct Dns {
    server: Option<DnsServer>,
    runtime: tokio::runtime::Runtime,
}

impl Drop for Dns {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.runtime.block_on(s.stop());
        }
    }
}

#[test]
fn init_proposes_dns_expectations_from_a_real_dns_server_and_names_the_internal_relay() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(dns_server::start(
        &[FAKE_ZONE.to_string(), FAKE_REVERSE_ZONE.to_string()],
        Faults::default(),
    ));
    let addr = server.addr.to_string();
    let _dns = Dns {
        server: Some(server),
        runtime,
    };
    // Production signs nothing here: the fake's key is not published in this zone.
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN).setting("emaildkimselector", ""),
        FakeSite::staging("staging", TOKEN),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "init",
            "--env",
            &format!("production={}", fake.url("production")),
            "--env",
            &format!("staging={}", fake.url("staging")),
            "--dns-server",
            &addr,
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        out.stdout.contains(
            "staging: the egress addresses behind the internal relay `smtp-staging.example.edu`"
        ),
        "{}",
        out.both()
    );
    let baseline =
        maildrift::baseline::Baseline::load(&dir.path().join("baselines/mail-standard.toml"))
            .unwrap();
    let dns = baseline.dns.as_ref().unwrap();
    assert_eq!(dns["min_dmarc_policy"].as_str(), Some("quarantine"));
    assert_eq!(dns["allowed_rua"][0].as_str(), Some("example.edu"));
    let config = maildrift::config::Config::load(&dir.path().join("maildrift.toml")).unwrap();
    assert_eq!(config.dns.server.map(|s| s.to_string()), Some(addr.clone()));

    let check = run_in(dir.path(), &["check", "--format", "json"]);
    let report = check.json();
    assert_nothing_the_baseline_decides(&report, "fake sites with DNS");
    assert!(
        !out.stdout
            .contains("What the first check will report as errors"),
        "{}",
        out.both()
    );
    // Nothing fails: the internal relay is a warning that SPF can't be judged, which init
    // named as the team's decision.
    assert_eq!(errors(&report), Vec::<String>::new(), "{}", check.both());
    assert_eq!(check.code, 0, "{}", check.both());
}

#[test]
fn init_never_replaces_an_existing_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("maildrift.toml"), "# mine\n").unwrap();
    let demo = demo_dir();
    let snapshot = format!(
        "production={}",
        demo.join("snapshots/production.json").display()
    );
    let args = ["init", "--snapshot", &snapshot, "--no-dns", "--yes"];
    let out = run_in(dir.path(), &args);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("maildrift.toml"), "{}", out.both());
    assert!(out.stderr.contains("--force"), "{}", out.both());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("maildrift.toml")).unwrap(),
        "# mine\n"
    );
    assert!(
        !dir.path().join("baselines").exists(),
        "nothing else written"
    );

    // An existing baseline is refused the same way, and named.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("std")).unwrap();
    std::fs::write(other.path().join("std/mail.toml"), "# team's\n").unwrap();
    let out = run_in(
        other.path(),
        &[
            "init",
            "--snapshot",
            &snapshot,
            "--no-dns",
            "--yes",
            "--baseline",
            "std/mail.toml",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("std/mail.toml"), "{}", out.both());
    assert!(!other.path().join("maildrift.toml").exists());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("maildrift.toml"),
            std::fs::Permissions::from_mode(0o664),
        )
        .unwrap();
    }
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = run_in(dir.path(), &forced);
    assert_eq!(out.code, 0, "{}", out.both());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("maildrift.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o664, "the replaced file keeps its mode");
    }
    let text = std::fs::read_to_string(dir.path().join("maildrift.toml")).unwrap();
    assert!(text.contains("[environments.production]"), "{text}");
    // Replaced through a rename: no temporary files left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_site_that_cannot_be_read_leaves_nothing_written() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::staging("staging", TOKEN).with_fault(Fault::Maintenance),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "init",
            "--env",
            &format!("production={}", fake.url("production")),
            "--env",
            &format!("staging={}", fake.url("staging")),
            "--no-dns",
            "--yes",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("staging"), "{}", out.both());
    assert!(out.stderr.contains("init wrote nothing"), "{}", out.both());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn without_a_terminal_init_asks_nothing_and_needs_the_environments_as_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["init"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("--env NAME=URL"), "{}", out.both());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let out = run_in(dir.path(), &["init", "--env", "prod=ftp://x", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("--env prod=ftp://x"), "{}", out.both());
}

#[cfg(unix)]
#[test]
fn written_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_dir();
    let bin = assert_cmd::cargo::cargo_bin("maildrift");
    let script = format!(
        "umask 027; exec {} init --snapshot production={} --no-dns --yes",
        bin.display(),
        demo.join("snapshots/production.json").display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("MAILDRIFT_NOW", cli_common::NOW)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for f in ["maildrift.toml", "baselines/mail-standard.toml"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640, "{f}: {mode:o}");
    }
}

/// Runs `maildrift ARGS` on a pseudo-terminal (util-linux `script`), typing `input`.
fn run_on_terminal(dir: &Path, args: &str, input: &str) -> Out {
    let bin = assert_cmd::cargo::cargo_bin("maildrift");
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MAILDRIFT_NOW", cli_common::NOW)
        .env_remove("MAILDRIFT_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for env in ["production", "staging"] {
        c.env(token_var(env), TOKEN);
    }
    let mut child = c.spawn().expect("util-linux script");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn on_a_terminal_init_asks_for_the_environments_and_before_writing() {
    let fake = fake_pair();
    let answers = |confirm: &str| {
        format!(
            "production\n{}\nstaging\n{}\n\n{confirm}\n",
            fake.url("production"),
            fake.url("staging")
        )
    };
    // Declining the last question writes nothing.
    let dir = tempfile::tempdir().unwrap();
    let out = run_on_terminal(dir.path(), "init --no-dns", &answers("n"));
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.contains("Environment name:"), "{}", out.both());
    assert!(out.stdout.contains("Nothing written."), "{}", out.both());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let out = run_on_terminal(dir.path(), "init --no-dns", &answers("y"));
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(out.stdout.contains("Write "), "{}", out.both());
    let config = maildrift::config::Config::load(&dir.path().join("maildrift.toml")).unwrap();
    let names: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["production", "staging"]);
    assert!(dir.path().join("baselines/mail-standard.toml").exists());

    // --yes asks nothing, even on a terminal: without flags there is nothing to do.
    let other = tempfile::tempdir().unwrap();
    let out = run_on_terminal(other.path(), "init --yes --no-dns", "production\n");
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(!out.stdout.contains("Environment name:"), "{}", out.both());
}
