//! DNS-audit benchmark: `maildrift check` of 200 sender domains against a loopback
//! authoritative DNS server, and checkdmarc 6.0.4 auditing the same domains on the same
//! server in the same run. Reports both wall times and the ratio (target: maildrift ≥ 20×
//! faster).
//!
//! The zone `bench.example.` holds `d000` … `d199`, each with an SPF record that goes
//! `mx` → `ip4` → `include:_spf.gNN` (shared by ten domains) → `include:_spf.provider`
//! (shared by all) where the relay range sits, `-all`; a `_dmarc` record (p=quarantine,
//! rua); an RSA-2048 DKIM key at `md2026._domainkey`; an MX; one relay per group with an A
//! record, and PTRs for relays and MX hosts in `100.51.198.in-addr.arpa.`.
//!
//! maildrift runs the product path: 200 snapshot files (noreply@dNNN, smtphosts = the
//! group's relay, DKIM selector md2026 and Moodle's public key), one config with 200
//! environments, `check --dns-server … --no-health --format json`, `--jobs` default. The
//! report must have DNS evidence for all 200 environments and no MD790.
//!
//! Run with `cargo bench --bench dns_audit` (or `bash benches/run.sh`). Environment:
//! `DNS_DOMAINS` (200), `DNS_RUNS` (5, runs of each tool, interleaved; the median is
//! reported), `DNS_SERIAL=0` skips the extra `--jobs 1` run of maildrift,
//! `CHECKDMARC_PYTHON` (a Python with checkdmarc 6.0.4; default
//! `target/bench-venv/bin/python`; without one only maildrift is timed).

#[path = "../tests/support/dns_server.rs"]
mod dns_server;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dns_server::{Faults, snapshot, start, test_key};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const GROUP: usize = 10;

fn domain(i: usize) -> String {
    format!("d{i:03}.bench.example")
}

fn group(i: usize) -> usize {
    i / GROUP
}

/// Relay of group `g`: 198.51.100.1 … ; MX host of group `g`: 198.51.100.129 … .
fn relay_ip(g: usize) -> u8 {
    (1 + g % 100) as u8
}
fn mx_ip(g: usize) -> u8 {
    (129 + g % 100) as u8
}

/// A TXT value split into quoted strings of at most 250 characters.
fn txt(value: &str) -> String {
    value
        .as_bytes()
        .chunks(250)
        .map(|c| format!("\"{}\"", std::str::from_utf8(c).expect("ascii")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn zones(n: usize, key: &str) -> Vec<String> {
    let groups = n.div_ceil(GROUP);
    let mut fwd = String::from(
        "$ORIGIN bench.example.\n$TTL 300\n\
         @ IN SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 300\n\
         @ IN NS ns.bench.example.\n\
         ns IN A 198.51.100.53\n\
         @ IN TXT \"v=spf1 -all\"\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@bench.example\"\n\
         _spf.provider IN TXT \"v=spf1 ip4:198.51.100.0/25 ip4:203.0.113.0/24 -all\"\n",
    );
    let mut rev = String::from(
        "$ORIGIN 100.51.198.in-addr.arpa.\n$TTL 300\n\
         @ IN SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 300\n\
         @ IN NS ns.bench.example.\n",
    );
    for g in 0..groups {
        let _ = writeln!(
            fwd,
            "_spf.g{g:02} IN TXT \"v=spf1 ip4:192.0.2.{}/29 include:_spf.provider.bench.example ~all\"",
            (g % 32) * 8
        );
        let _ = writeln!(fwd, "relay{g:02} IN A 198.51.100.{}", relay_ip(g));
        let _ = writeln!(fwd, "mx{g:02} IN A 198.51.100.{}", mx_ip(g));
        let _ = writeln!(rev, "{} IN PTR relay{g:02}.bench.example.", relay_ip(g));
        let _ = writeln!(rev, "{} IN PTR mx{g:02}.bench.example.", mx_ip(g));
    }
    let dkim = txt(&format!("v=DKIM1; k=rsa; p={key}"));
    for i in 0..n {
        let g = group(i);
        let d = format!("d{i:03}");
        let _ = writeln!(
            fwd,
            "{d} IN TXT \"v=spf1 mx ip4:203.0.113.{}/32 include:_spf.g{g:02}.bench.example -all\"",
            i % 256
        );
        let _ = writeln!(fwd, "{d} IN MX 10 mx{g:02}.bench.example.");
        let _ = writeln!(
            fwd,
            "_dmarc.{d} IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@bench.example\""
        );
        let _ = writeln!(fwd, "md2026._domainkey.{d} IN TXT {dkim}");
    }
    vec![fwd, rev]
}

/// Writes the snapshots, the config and the domain list; returns the config's path.
fn fixtures(dir: &Path, n: usize, key: &str) -> (PathBuf, PathBuf) {
    let snaps = dir.join("snapshots");
    std::fs::create_dir_all(&snaps).expect("snapshot dir");
    let mut config = String::from("[defaults]\ntimeout = 30\n");
    let mut list = String::new();
    for i in 0..n {
        let name = format!("d{i:03}");
        let d = domain(i);
        let s = snapshot(
            &name,
            &[
                ("noreplyaddress", &format!("noreply@{d}")),
                (
                    "smtphosts",
                    &format!("relay{:02}.bench.example:587", group(i)),
                ),
                ("emaildkimselector", "md2026"),
                ("allowedemaildomains", ""),
                ("handlebounces", "0"),
            ],
            &[(&d, "md2026", true, key)],
        );
        let path = snaps.join(format!("{name}.json"));
        maildrift::snapshot::io::write(&s, &path).expect("write snapshot");
        let _ = write!(
            config,
            "[environments.{name}]\nurl = \"https://{name}.campus.ac.uk\"\nsnapshot = \"{}\"\n",
            path.display()
        );
        let _ = writeln!(list, "{d}");
    }
    let cfg = dir.join("maildrift.toml");
    std::fs::write(&cfg, config).expect("write config");
    let domains = dir.join("domains.txt");
    std::fs::write(&domains, list).expect("write domain list");
    (cfg, domains)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n = env_or("DNS_DOMAINS", 200) as usize;
    let runs = env_or("DNS_RUNS", 5).max(1) as usize;
    let serial = env_or("DNS_SERIAL", 1) != 0;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("CHECKDMARC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/bench-venv/bin/python"));
    let python = python.exists().then_some(python);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let key = test_key("moodle-a.spki");
    let server = rt.block_on(start(&zones(n, &key), Faults::default()));
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, domains) = fixtures(dir.path(), n, &key);
    let report = dir.path().join("report.json");

    println!(
        "dns audit: {n} sender domains on a loopback authoritative server ({})",
        server.addr
    );
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut theirs_inside = Vec::new();
    let mut our_questions = 0;
    let mut our_answers = Default::default();
    let mut their_questions = 0;
    let mut their_summary = None;
    for _ in 0..runs {
        let before = server.queries.load(std::sync::atomic::Ordering::SeqCst);
        let (wall, asked) = run_maildrift(None, &config, &report, server.addr, n);
        ours.push(wall);
        our_answers = asked;
        our_questions = server.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
        if let Some(py) = &python {
            let before = server.queries.load(std::sync::atomic::Ordering::SeqCst);
            let (outside, inside, summary) = run_checkdmarc(py, manifest, &domains, server.addr);
            their_questions = server.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
            theirs.push(outside);
            theirs_inside.push(inside);
            their_summary = Some(summary);
        }
    }
    let ours = median(ours);
    println!(
        "  maildrift check: {:.3} s (median of {runs}); {our_questions} questions reached the server",
        ours.as_secs_f64()
    );
    println!(
        "  maildrift: relay, SPF, DKIM, DMARC and MX passed for all {n}; answers in its evidence by type (cache hits included): {our_answers:?}"
    );
    if serial {
        let (wall1, _) = run_maildrift(Some(1), &config, &report, server.addr, n);
        println!(
            "  maildrift check --jobs 1: {:.3} s (one environment at a time, as checkdmarc works)",
            wall1.as_secs_f64()
        );
    }
    match python {
        None => println!(
            "  checkdmarc: skipped (no {}; run benches/run.sh or set CHECKDMARC_PYTHON)",
            manifest.join("target/bench-venv/bin/python").display()
        ),
        Some(_) => {
            let outside = median(theirs);
            let inside = median(theirs_inside);
            let summary = their_summary.expect("summary");
            println!(
                "  checkdmarc {}: {:.3} s from outside, {:.3} s inside Python (median of {runs}); \
                 {their_questions} questions reached the server; SPF errors {}, DMARC errors {}",
                summary["checkdmarc"].as_str().unwrap_or("?"),
                outside.as_secs_f64(),
                inside.as_secs_f64(),
                summary["spf_errors"],
                summary["dmarc_errors"],
            );
            println!("  checkdmarc questions by type: {}", summary["questions"]);
            println!("  checkdmarc on d000's SPF: {}", summary["spf_example"]);
            println!(
                "  ratio: maildrift is {:.1}× faster (outside wall times; {:.1}× against checkdmarc's own timing) — target ≥ 20×",
                outside.as_secs_f64() / ours.as_secs_f64(),
                inside.as_secs_f64() / ours.as_secs_f64(),
            );
        }
    }
}

/// One `maildrift check` of every environment; checks that relay, SPF, DKIM, DMARC and MX
/// passed for all of them, and returns wall time and the answers in the evidence by type.
fn run_maildrift(
    jobs: Option<usize>,
    config: &Path,
    report: &Path,
    server: std::net::SocketAddr,
    n: usize,
) -> (Duration, std::collections::BTreeMap<String, usize>) {
    let bin = env!("CARGO_BIN_EXE_maildrift");
    let mut cmd = Command::new(bin);
    cmd.args(["-q", "--config"]).arg(config).args([
        "check",
        "--dns-server",
        &server.to_string(),
        "--no-health",
    ]);
    if let Some(j) = jobs {
        cmd.args(["--jobs", &j.to_string()]);
    }
    let started = Instant::now();
    let out = cmd
        .args(["--format", "json", "-o"])
        .arg(report)
        .output()
        .expect("run maildrift");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0 clean, 2 drift (findings); 1 is a failed run.
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "maildrift check failed ({:?}): {stderr}",
        out.status
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("report")).expect("json");
    let dns = json["dns"].as_array().expect("report has dns evidence");
    assert_eq!(dns.len(), n, "DNS evidence for every environment");
    if let Some(keep) = std::env::var_os("DNS_REPORT") {
        std::fs::copy(report, keep).expect("copy report");
    }
    let text = json.to_string();
    assert!(!text.contains("MD790"), "a DNS question went unanswered");
    let checks = json["checks"].as_array().expect("checks");
    for check in ["relay", "spf", "dkim", "dmarc", "mx"] {
        let passed = checks
            .iter()
            .filter(|c| c["check"] == check && c["state"] == "passed")
            .count();
        assert_eq!(passed, n, "{check} passed for every environment");
    }
    let mut asked = std::collections::BTreeMap::<String, usize>::new();
    for env in dns {
        for a in env["answers"].as_array().expect("answers") {
            *asked
                .entry(a["type"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
    }
    (wall, asked)
}

/// One checkdmarc audit; returns wall time from outside, Python's own timing and its summary.
fn run_checkdmarc(
    python: &Path,
    manifest: &Path,
    domains: &Path,
    server: std::net::SocketAddr,
) -> (Duration, Duration, serde_json::Value) {
    let started = Instant::now();
    let out = Command::new(python)
        .arg(manifest.join("benches/checkdmarc_audit.py"))
        .arg(server.port().to_string())
        .arg(domains)
        .output()
        .expect("run checkdmarc");
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "checkdmarc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("checkdmarc summary");
    let inside = Duration::from_secs_f64(summary["seconds"].as_f64().expect("seconds"));
    (wall, inside, summary)
}
