//! Fault injection against DNS: `maildrift check` of two environments (from snapshot files)
//! against the test DNS server (`--dns-server`) with `[dns] timeout = 1`, while the server
//! drops every question, SERVFAILs one environment's zone, truncates UDP answers (TCP must
//! then succeed), or answers slowly (within the timeout: fine; beyond it: a failure). A DNS
//! question that could not be asked is MD790 (severity error) for the environment it belongs
//! to and exits 1; the other environment's DNS results stay intact; and the run is bounded by
//! the configured timeouts.
//!
//! Each environment has its own zone (production: prod.test, staging: stage.test) and a
//! shared reverse zone, so a fault in one zone touches one environment only.

mod cli_common;
#[path = "support/dns_server.rs"]
mod dns_server;
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cli_common::{Out, World, bare_cmd, run_cmd};
use dns_server::{DnsServer, Faults};
use serde_json::Value;

const PROD_ZONE: &str = r#"$ORIGIN prod.test.
$TTL 300
@      IN SOA ns.prod.test. hostmaster.prod.test. 1 3600 600 86400 300
@      IN NS  ns.prod.test.
ns     IN A   192.0.2.53
@      IN TXT "v=spf1 ip4:192.0.2.25 -all"
@      IN MX  10 relay.prod.test.
_dmarc IN TXT "v=DMARC1; p=reject"
relay  IN A   192.0.2.25
"#;

const STAGE_ZONE: &str = r#"$ORIGIN stage.test.
$TTL 300
@      IN SOA ns.stage.test. hostmaster.stage.test. 1 3600 600 86400 300
@      IN NS  ns.stage.test.
ns     IN A   192.0.2.54
@      IN TXT "v=spf1 ip4:192.0.2.26 -all"
@      IN MX  10 relay.stage.test.
_dmarc IN TXT "v=DMARC1; p=reject"
relay  IN A   192.0.2.26
"#;

const REVERSE_ZONE: &str = r#"$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@      IN SOA ns.prod.test. hostmaster.prod.test. 1 3600 600 86400 300
@      IN NS  ns.prod.test.
25     IN PTR relay.prod.test.
26     IN PTR relay.stage.test.
"#;

/// The test DNS server on a runtime of its own, so the test can drive the binary blocking.
struct Dns {
    addr: SocketAddr,
    server: Option<DnsServer>,
    _hole: Option<tokio::net::UdpSocket>,
    runtime: tokio::runtime::Runtime,
}

impl Dns {
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("DNS test runtime")
    }

    fn serve(faults: Faults) -> Dns {
        let runtime = Dns::runtime();
        let zones = [PROD_ZONE, STAGE_ZONE, REVERSE_ZONE].map(String::from);
        let server = runtime.block_on(dns_server::start(&zones, faults));
        Dns {
            addr: server.addr,
            server: Some(server),
            _hole: None,
            runtime,
        }
    }

    /// A UDP socket that takes every question and never answers.
    fn black_hole() -> Dns {
        let runtime = Dns::runtime();
        let (socket, addr) = runtime.block_on(dns_server::black_hole());
        Dns {
            addr,
            server: None,
            _hole: Some(socket),
            runtime,
        }
    }

    fn tcp_queries(&self) -> usize {
        self.server.as_ref().map_or(0, |s| {
            s.tcp_queries.load(std::sync::atomic::Ordering::SeqCst)
        })
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

fn snapshot(env: &str, domain: &str) -> maildrift::snapshot::Snapshot {
    dns_server::snapshot(
        env,
        &[
            ("noreplyaddress", &format!("noreply@{domain}")),
            ("allowedemaildomains", domain),
            ("smtphosts", &format!("relay.{domain}:587")),
            ("emaildkimselector", ""),
            ("handlebounces", "0"),
        ],
        &[],
    )
}

/// A config with production (prod.test) and staging (stage.test) read from snapshot files,
/// and `[dns] timeout = 1`.
fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    for (env, domain) in [("production", "prod.test"), ("staging", "stage.test")] {
        maildrift::snapshot::io::write(
            &snapshot(env, domain),
            &dir.path().join(format!("{env}.json")),
        )
        .expect("write snapshot");
    }
    let config = dir.path().join("maildrift.toml");
    std::fs::write(
        &config,
        "[dns]\ntimeout = 1\n\n\
         [environments.production]\nurl = \"https://moodle.prod.test\"\nsnapshot = \"production.json\"\nkeyring = false\n\n\
         [environments.staging]\nurl = \"https://moodle.stage.test\"\nsnapshot = \"staging.json\"\nkeyring = false\n",
    )
    .expect("write config");
    World {
        dir,
        config,
        vars: Vec::new(),
    }
}

fn check(w: &World, dns: &Dns) -> (Out, Value, Duration) {
    let server = dns.addr.to_string();
    let started = Instant::now();
    let out = run_cmd(bare_cmd(w.dir.path()).arg("--config").arg(&w.config).args([
        "check",
        "--no-health",
        "--dns-server",
        &server,
        "--format",
        "json",
        "-o",
        "report.json",
    ]));
    let took = started.elapsed();
    let text = std::fs::read_to_string(w.path("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}):\n{}", out.both()));
    let report: Value = serde_json::from_str(&text).expect("report.json is JSON");
    eprintln!("check took {took:?}");
    (out, report, took)
}

/// The DNS checks; MD790 must make the affected environment's runs `errored`.
const DNS_CHECKS: [&str; 5] = ["relay", "spf", "dkim", "dmarc", "mx"];

fn dns_of<'a>(report: &'a Value, env: &str) -> &'a Value {
    report["dns"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["environment"] == env))
        .unwrap_or_else(|| panic!("no DNS evidence for {env}: {report}"))
}

fn md790<'a>(report: &'a Value, env: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["code"] == "MD790" && f["environment"] == env)
                .collect()
        })
        .unwrap_or_default()
}

fn dns_check_states(report: &Value, env: &str) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["environment"] == env && DNS_CHECKS.iter().any(|k| c["check"] == *k))
                .map(|c| {
                    (
                        c["check"].as_str().unwrap_or("").to_string(),
                        c["state"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a fault-free run says about `env`'s DNS: headline and every answer's status.
fn answered_cleanly(report: &Value, env: &str) {
    let dns = dns_of(report, env);
    let domain = if env == "production" {
        "prod.test"
    } else {
        "stage.test"
    };
    assert_eq!(
        dns["headline"],
        format!("{domain}: DMARC pass via SPF only (DKIM: no DKIM selector configured)"),
        "{env}: {dns}"
    );
    let answers = dns["answers"].as_array().expect("answers");
    assert!(answers.len() >= 5, "{env}: {dns}");
    for a in answers {
        assert!(
            a["status"] == "noerror" || a["status"] == "nodata",
            "{env}: an answer could not be had: {a}"
        );
    }
    assert!(md790(report, env).is_empty(), "{env}: {report}");
    let states = dns_check_states(report, env);
    assert_eq!(states.len(), DNS_CHECKS.len(), "{env}: {states:?}");
    assert!(
        states.iter().all(|(_, s)| s == "passed"),
        "{env}: {states:?}"
    );
}

/// MD790 at severity error for `env`, its DNS checks (some) errored, and the evidence keeps
/// the status that says why (`status`).
fn could_not_ask(report: &Value, env: &str, status: &str) {
    let found = md790(report, env);
    assert!(!found.is_empty(), "{env}: no MD790: {report}");
    assert!(
        found.iter().all(|f| f["severity"] == "error"),
        "{env}: {found:?}"
    );
    let states = dns_check_states(report, env);
    assert!(
        states.iter().any(|(_, s)| s == "errored"),
        "{env}: no DNS check errored: {states:?}"
    );
    let answers = dns_of(report, env)["answers"].as_array().expect("answers");
    assert!(
        answers.iter().any(|a| a["status"] == status),
        "{env}: no {status} answer in {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|a| a["status"] != "nxdomain" && a["status"] != "nodata"),
        "{env}: a failure turned into \"no record\": {answers:?}"
    );
}

/// A DNS fault: exit 1, a bounded run, and (the report going to a file) stderr says which
/// environments' DNS checks could not run, and only those.
fn assert_failed(out: &Out, took: Duration, bound: Duration, failed: &[&str]) {
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(took < bound, "the run took {took:?} (bound {bound:?})");
    for env in ["production", "staging"] {
        let said = out.stderr.lines().any(|l| {
            l.starts_with(&format!("maildrift: error: {env}: the "))
                && l.contains("check could not run: DNS could not be asked")
        });
        assert_eq!(said, failed.contains(&env), "{env}:\n{}", out.both());
    }
}

#[test]
fn a_dns_server_that_never_answers_gives_md790_for_each_environment_within_the_timeouts() {
    let dns = Dns::black_hole();
    let w = world();
    let (out, report, took) = check(&w, &dns);
    eprintln!("black hole: {took:?}");
    // Every question costs at most 2 attempts x 1 s; an environment asks about six
    // questions, one after another, and both environments are checked at once.
    assert_failed(
        &out,
        took,
        Duration::from_secs(40),
        &["production", "staging"],
    );
    for env in ["production", "staging"] {
        could_not_ask(&report, env, "timeout");
        assert_eq!(environment_state(&report, env), "ok");
    }
}

#[test]
fn a_zone_that_servfails_gives_md790_for_its_environment_only() {
    let dns = Dns::serve(Faults {
        servfail: vec!["stage.test".into()],
        ..Faults::default()
    });
    let w = world();
    let (out, report, took) = check(&w, &dns);
    eprintln!("servfail: {took:?}");
    assert_failed(&out, took, Duration::from_secs(10), &["staging"]);
    could_not_ask(&report, "staging", "servfail");
    answered_cleanly(&report, "production");
}

#[test]
fn truncated_udp_answers_are_asked_again_over_tcp_and_succeed() {
    let dns = Dns::serve(Faults {
        truncate_udp: vec!["stage.test".into(), "prod.test".into()],
        ..Faults::default()
    });
    let w = world();
    let (out, report, took) = check(&w, &dns);
    eprintln!("truncated: {took:?}");
    // No DNS failure: the exit code is that of the fault-free run (sender/drift findings).
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    answered_cleanly(&report, "production");
    answered_cleanly(&report, "staging");
    assert!(
        dns.tcp_queries() >= 4,
        "TCP was not used: {}",
        dns.tcp_queries()
    );
}

#[test]
fn slow_answers_within_the_timeout_succeed() {
    let dns = Dns::serve(Faults {
        slow: vec![("stage.test".into(), Duration::from_millis(300))],
        ..Faults::default()
    });
    let w = world();
    let (out, report, took) = check(&w, &dns);
    eprintln!("slow within: {took:?}");
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    answered_cleanly(&report, "production");
    answered_cleanly(&report, "staging");
}

#[test]
fn slow_answers_beyond_the_timeout_give_md790_for_their_environment_only() {
    let dns = Dns::serve(Faults {
        slow: vec![("stage.test".into(), Duration::from_secs(5))],
        ..Faults::default()
    });
    let w = world();
    let (out, report, took) = check(&w, &dns);
    eprintln!("slow beyond: {took:?}");
    assert_failed(&out, took, Duration::from_secs(40), &["staging"]);
    could_not_ask(&report, "staging", "timeout");
    answered_cleanly(&report, "production");
}

fn environment_state(report: &Value, env: &str) -> String {
    report["environments"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == env))
        .and_then(|e| e["state"].as_str())
        .unwrap_or_default()
        .to_string()
}
