//! The plugin's relay probe (PHP, run with php-cli outside Moodle) against real SMTP servers
//! on 127.0.0.1 (aiosmtpd from Debian's python3-aiosmtpd), with certificates from a test CA,
//! and the findings maildrift draws from its answers.
//!
//! Needs `php` (with openssl) and `/usr/bin/python3` with aiosmtpd. Without them the tests say
//! so and pass, except under CI=true, where they fail.

mod relay_common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use maildrift::moodle::protocol::RelayFacts;
use maildrift::relay::{EnvironmentRelay, RelayPolicy, evaluate};
use relay_common::{Pki, Relay, root, tools_present};

/// Runs the plugin's probe with php-cli; `ca` becomes PHP's CA store (openssl.cafile),
/// `None` leaves the system's store, which does not know the test CA.
fn probe(smtphosts: &str, smtpsecure: &str, ca: Option<&Path>) -> Vec<RelayFacts> {
    let mut cmd = Command::new("php");
    if let Some(ca) = ca {
        cmd.arg("-d")
            .arg(format!("openssl.cafile={}", ca.display()));
    }
    cmd.arg(root().join("tests/support/relay_probe.php"))
        .args([smtphosts, smtpsecure, "1.5"]);
    let out = cmd.output().expect("run php");
    assert!(
        out.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[derive(serde::Deserialize)]
    struct Answer {
        relays: Vec<RelayFacts>,
    }
    let a: Answer = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    a.relays
}

fn env(relays: Vec<RelayFacts>, smtpsecure: &str, authtype: &str, user: bool) -> EnvironmentRelay {
    EnvironmentRelay {
        environment: "production".into(),
        probed_at: Timestamp::now(),
        cached: false,
        smtphosts: String::new(),
        smtpsecure: smtpsecure.into(),
        smtpauthtype: authtype.into(),
        smtpuser_set: user,
        relays,
        oauth: None,
    }
}

fn codes(r: &EnvironmentRelay, policy: &RelayPolicy) -> Vec<String> {
    let mut c: Vec<String> = evaluate(r, policy, Timestamp::now())
        .into_iter()
        .map(|f| f.code)
        .collect();
    c.sort();
    c
}

#[test]
fn starttls_relay_with_trusted_cert_and_auth_gives_facts_and_no_findings() {
    if !tools_present("starttls_relay_with_trusted_cert_and_auth_gives_facts_and_no_findings") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("good", &["localhost"], -1, 90);
    let relay = Relay::start("starttls", Some(&leaf), true);
    let facts = probe(&format!("localhost:{}", relay.port), "tls", Some(&pki.ca()));
    let f = &facts[0];
    assert!(f.reachable && f.stage.is_empty(), "{f:?}");
    assert_eq!(f.mode, "starttls");
    assert!(f.greeting.starts_with("220 relay.test"), "{}", f.greeting);
    assert_eq!(f.ehloname, "moodle.test");
    assert!(f.starttlsoffered);
    assert!(f.tls.protocol.starts_with("TLSv1."), "{:?}", f.tls);
    assert!(!f.tls.cipher.is_empty());
    assert!(f.cert.verified && f.cert.namematches, "{:?}", f.cert);
    assert_eq!(f.cert.subject, "CN=good relay");
    assert!(f.cert.issuer.contains("maildrift relay test CA"));
    assert!(f.cert.sans.contains(&"DNS:localhost".to_string()));
    // aiosmtpd announces AUTH only after STARTTLS: the probe reads the post-TLS EHLO.
    assert_eq!(f.authmechanisms, ["LOGIN", "PLAIN"]);
    assert!(f.extensions.iter().any(|e| e.starts_with("SIZE")));
    let policy = RelayPolicy {
        require_tls: true,
        min_tls_version: Some((12, "1.2".into())),
        ..RelayPolicy::default()
    };
    assert_eq!(
        codes(&env(facts, "tls", "LOGIN", true), &policy),
        Vec::<String>::new()
    );
}

#[test]
fn implicit_tls_relay_is_probed_with_tls_from_the_first_byte() {
    if !tools_present("implicit_tls_relay_is_probed_with_tls_from_the_first_byte") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("smtps", &["localhost"], -1, 90);
    let relay = Relay::start("implicit", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", relay.port), "ssl", Some(&pki.ca()));
    let f = &facts[0];
    assert_eq!(f.mode, "implicit");
    assert!(f.reachable && f.stage.is_empty(), "{f:?}");
    assert!(!f.tls.protocol.is_empty() && f.cert.verified);
    assert_eq!(
        codes(&env(facts, "ssl", "", false), &RelayPolicy::default()),
        Vec::<String>::new()
    );
}

#[test]
fn tls_configured_but_no_starttls_offered_is_md152() {
    if !tools_present("tls_configured_but_no_starttls_offered_is_md152") {
        return;
    }
    let relay = Relay::start("none", None, false);
    let facts = probe(&format!("127.0.0.1:{}", relay.port), "tls", None);
    assert_eq!(facts[0].stage, "starttls");
    assert!(facts[0].reachable && !facts[0].starttlsoffered);
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD152"]
    );
}

#[test]
fn plain_relay_is_md161_only_outside_loopback_when_tls_is_required() {
    if !tools_present("plain_relay_is_md161_only_outside_loopback_when_tls_is_required") {
        return;
    }
    let relay = Relay::start("none", None, false);
    let facts = probe(&format!("127.0.0.1:{}", relay.port), "", None);
    assert!(facts[0].reachable && facts[0].tls.protocol.is_empty());
    assert_eq!(facts[0].address, "127.0.0.1");
    let required = RelayPolicy {
        require_tls: true,
        ..RelayPolicy::default()
    };
    // Loopback is exempt.
    assert_eq!(
        codes(&env(facts.clone(), "", "", false), &required),
        Vec::<String>::new()
    );
    // The same facts as a relay elsewhere on the network would give them.
    let mut remote = facts.clone();
    remote[0].address = "192.0.2.25".into();
    assert_eq!(
        codes(&env(remote.clone(), "", "", false), &required),
        ["MD161"]
    );
    let allowed = RelayPolicy {
        plain_allowed_networks: vec!["192.0.2.0/24".parse().unwrap()],
        ..required.clone()
    };
    assert_eq!(
        codes(&env(remote.clone(), "", "", false), &allowed),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&env(remote, "", "", false), &RelayPolicy::default()),
        Vec::<String>::new()
    );
}

#[test]
fn expired_certificate_is_md156_not_untrusted() {
    if !tools_present("expired_certificate_is_md156_not_untrusted") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("expired", &["localhost"], -400, -30);
    let relay = Relay::start("starttls", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", relay.port), "tls", Some(&pki.ca()));
    assert!(!facts[0].cert.verified, "{:?}", facts[0].cert);
    assert!(facts[0].cert.namematches);
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD156"]
    );
}

#[test]
fn certificate_expiring_within_the_threshold_is_md157() {
    if !tools_present("certificate_expiring_within_the_threshold_is_md157") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("soon", &["localhost"], -60, 5);
    let relay = Relay::start("starttls", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", relay.port), "tls", Some(&pki.ca()));
    assert!(facts[0].cert.verified);
    let r = env(facts, "tls", "", false);
    assert_eq!(codes(&r, &RelayPolicy::default()), ["MD157"]);
    let lax = RelayPolicy {
        cert_expiry_warning_days: 3,
        ..RelayPolicy::default()
    };
    assert_eq!(codes(&r, &lax), Vec::<String>::new());
}

#[test]
fn certificate_for_another_name_is_md154() {
    if !tools_present("certificate_for_another_name_is_md154") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("other", &["mail.example.org"], -1, 90);
    let relay = Relay::start("starttls", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", relay.port), "tls", Some(&pki.ca()));
    assert!(!facts[0].cert.namematches && !facts[0].cert.verified);
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD154"]
    );
}

#[test]
fn certificate_from_an_unknown_ca_is_md155() {
    if !tools_present("certificate_from_an_unknown_ca_is_md155") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("private", &["localhost"], -1, 90);
    let relay = Relay::start("starttls", Some(&leaf), false);
    // The server's (system) CA store does not hold the test CA.
    let facts = probe(&format!("localhost:{}", relay.port), "tls", None);
    assert!(facts[0].cert.namematches && !facts[0].cert.verified);
    assert!(
        facts[0]
            .cert
            .verifyerror
            .contains("certificate verify failed"),
        "{}",
        facts[0].cert.verifyerror
    );
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD155"]
    );
}

#[test]
fn credentials_without_auth_offered_is_md160_and_unoffered_mechanism_is_md159() {
    if !tools_present("credentials_without_auth_offered_is_md160_and_unoffered_mechanism_is_md159")
    {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("auth", &["localhost"], -1, 90);
    let noauth = Relay::start("starttls", Some(&leaf), false);
    let facts = probe(
        &format!("localhost:{}", noauth.port),
        "tls",
        Some(&pki.ca()),
    );
    assert!(facts[0].authmechanisms.is_empty());
    assert_eq!(
        codes(
            &env(facts.clone(), "tls", "", true),
            &RelayPolicy::default()
        ),
        ["MD160"]
    );
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        Vec::<String>::new()
    );

    let auth = Relay::start("starttls", Some(&leaf), true);
    let facts = probe(&format!("localhost:{}", auth.port), "tls", Some(&pki.ca()));
    assert_eq!(
        codes(
            &env(facts.clone(), "tls", "CRAM-MD5", true),
            &RelayPolicy::default()
        ),
        ["MD159"]
    );
    assert_eq!(
        codes(
            &env(facts.clone(), "tls", "PLAIN", true),
            &RelayPolicy::default()
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&env(facts, "tls", "", true), &RelayPolicy::default()),
        Vec::<String>::new()
    );
}

#[test]
fn tls_mode_mismatch_is_md153_in_both_directions() {
    if !tools_present("tls_mode_mismatch_is_md153_in_both_directions") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("mode", &["localhost"], -1, 90);
    let smtps = Relay::start("implicit", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", smtps.port), "tls", Some(&pki.ca()));
    assert_eq!(
        (facts[0].reachable, facts[0].portspeaks.as_str()),
        (false, "tls")
    );
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD153"]
    );

    let plain = Relay::start("starttls", Some(&leaf), false);
    let facts = probe(&format!("localhost:{}", plain.port), "ssl", Some(&pki.ca()));
    assert_eq!(
        (facts[0].reachable, facts[0].portspeaks.as_str()),
        (false, "smtp")
    );
    assert_eq!(
        codes(&env(facts, "ssl", "", false), &RelayPolicy::default()),
        ["MD153"]
    );
}

#[test]
fn relay_that_accepts_and_never_answers_is_md151_within_the_timeouts() {
    if !tools_present("relay_that_accepts_and_never_answers_is_md151_within_the_timeouts") {
        return;
    }
    // Accepts connections and keeps them open without a word: a hung relay. No real server
    // can be told to do this, so a bare socket plays it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for s in listener.incoming().take(2).flatten() {
            open.push(s);
        }
        std::thread::sleep(Duration::from_secs(8));
        drop(open);
    });
    let started = Instant::now();
    let facts = probe(&format!("127.0.0.1:{port}"), "tls", None);
    let took = started.elapsed();
    assert!(
        !facts[0].reachable && facts[0].portspeaks.is_empty(),
        "{:?}",
        facts[0]
    );
    assert_eq!(facts[0].stage, "reply");
    assert!(facts[0].error.contains("no answer"), "{}", facts[0].error);
    // Greeting wait plus one TLS attempt, 1.5 s each, and slack for a busy machine.
    assert!(took < Duration::from_secs(7), "took {took:?}");
    assert_eq!(
        codes(&env(facts, "tls", "", false), &RelayPolicy::default()),
        ["MD151"]
    );
    drop(held);
}

#[test]
fn closed_port_is_md151_and_the_next_relay_is_still_probed() {
    if !tools_present("closed_port_is_md151_and_the_next_relay_is_still_probed") {
        return;
    }
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let relay = Relay::start("none", None, false);
    let facts = probe(
        &format!("127.0.0.1:{dead};127.0.0.1:{}", relay.port),
        "",
        None,
    );
    assert_eq!(facts.len(), 2);
    assert_eq!(facts[0].stage, "connect");
    assert!(facts[1].reachable);
    assert_eq!(
        codes(&env(facts, "", "", false), &RelayPolicy::default()),
        ["MD151"]
    );
}

#[test]
fn tls_older_than_the_baseline_minimum_is_md158() {
    if !tools_present("tls_older_than_the_baseline_minimum_is_md158") {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("tls12", &["localhost"], -1, 90);
    let relay = Relay::start_with("starttls", Some(&leaf), false, &["--max-tls", "1.2"]);
    let facts = probe(&format!("localhost:{}", relay.port), "tls", Some(&pki.ca()));
    assert_eq!(facts[0].tls.protocol, "TLSv1.2");
    let r = env(facts, "tls", "", false);
    let strict = RelayPolicy {
        min_tls_version: Some((13, "1.3".into())),
        ..RelayPolicy::default()
    };
    assert_eq!(codes(&r, &strict), ["MD158"]);
    assert_eq!(codes(&r, &RelayPolicy::default()), Vec::<String>::new());
}

fn named(name: &str, relays: Vec<RelayFacts>) -> EnvironmentRelay {
    EnvironmentRelay {
        environment: name.into(),
        ..env(relays, "tls", "", false)
    }
}

#[test]
fn same_relay_groups_are_md165_when_relays_differ_and_separate_groups_md166_when_shared() {
    if !tools_present(
        "same_relay_groups_are_md165_when_relays_differ_and_separate_groups_md166_when_shared",
    ) {
        return;
    }
    let pki = Pki::new();
    let leaf = pki.leaf("shared", &["localhost"], -1, 90);
    let shared = Relay::start("starttls", Some(&leaf), true);
    let own = Relay::start_with("starttls", Some(&leaf), false, &["--max-tls", "1.2"]);
    let hosts = |port: u16| format!("localhost:{port}");
    let prod = named(
        "production",
        probe(&hosts(shared.port), "tls", Some(&pki.ca())),
    );
    let stag_same = named(
        "staging",
        probe(&hosts(shared.port), "tls", Some(&pki.ca())),
    );
    let stag_own = named("staging", probe(&hosts(own.port), "tls", Some(&pki.ca())));

    let group = vec![vec!["production".to_string(), "staging".to_string()]];
    let codes =
        |rs: &[EnvironmentRelay], same: &[Vec<String>], sep: &[Vec<String>]| -> Vec<String> {
            maildrift::relay::check_groups(rs, same, sep)
                .into_iter()
                .map(|f| f.code)
                .collect()
        };
    assert_eq!(
        codes(&[prod.clone(), stag_same.clone()], &group, &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&[prod.clone(), stag_own.clone()], &group, &[]),
        ["MD165"]
    );
    assert_eq!(codes(&[prod.clone(), stag_same], &[], &group), ["MD166"]);
    assert_eq!(
        codes(&[prod.clone(), stag_own.clone()], &[], &group),
        Vec::<String>::new()
    );

    let diffs = maildrift::relay::differences(&prod, &stag_own);
    let names: Vec<&str> = diffs.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(names.contains(&"relay 1 endpoint"), "{names:?}");
    assert!(names.contains(&"relay 1 auth"), "{names:?}");
    assert!(names.contains(&"relay 1 tls"), "{names:?}");
}

#[test]
fn smtphosts_are_parsed_like_moodles_mailer() {
    if !tools_present("smtphosts_are_parsed_like_moodles_mailer") {
        return;
    }
    let code = r#"
        require 'moodle/local_maildrift/classes/local/relay/hosts.php';
        echo json_encode(\local_maildrift\local\relay\hosts::parse($argv[1], $argv[2]));
    "#;
    let parse = |hosts: &str, secure: &str| -> serde_json::Value {
        let out = Command::new("php")
            .current_dir(root())
            .args([
                "-d",
                "display_errors=stderr",
                "-r",
                code,
                "--",
                hosts,
                secure,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let h = parse(
        "relay.example.org; ssl://smtps.example.org:465 ;[2001:db8::25]:587;bad host",
        "tls",
    );
    let summary: Vec<(String, i64, String, bool)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["host"].as_str().unwrap().to_string(),
                e["port"].as_i64().unwrap(),
                e["mode"].as_str().unwrap().to_string(),
                e["valid"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // No port: PHPMailer's 25, even with TLS.
            ("relay.example.org".into(), 25, "starttls".into(), true),
            // The ssl:// prefix overrides smtpsecure.
            ("smtps.example.org".into(), 465, "implicit".into(), true),
            ("2001:db8::25".into(), 587, "starttls".into(), true),
            ("bad host".into(), 25, "starttls".into(), false),
        ]
    );
    assert_eq!(parse("relay:2525", "")[0]["mode"], "none");
    assert_eq!(parse("relay:2525", "ssl")[0]["mode"], "implicit");
    assert_eq!(parse(" ; ", "").as_array().unwrap().len(), 0);
}

#[test]
fn hung_relays_cannot_stretch_the_probe_past_its_budget() {
    if !tools_present("hung_relays_cannot_stretch_the_probe_past_its_budget") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for s in listener.incoming().take(4).flatten() {
            open.push(s);
        }
        std::thread::sleep(Duration::from_secs(10));
        drop(open);
    });
    let good = Relay::start("none", None, false);
    let started = Instant::now();
    // Timeouts of 1.5 s: the budget is 4.5 s, one hung relay costs 3 s.
    let facts = probe(
        &format!("127.0.0.1:{hung};127.0.0.1:{hung};127.0.0.1:{}", good.port),
        "",
        None,
    );
    let took = started.elapsed();
    let stages: Vec<&str> = facts.iter().map(|f| f.stage.as_str()).collect();
    assert_eq!(stages, ["reply", "reply", "budget"]);
    assert!(took < Duration::from_secs(9), "took {took:?}");
    // The unprobed relay raises nothing of its own; the hung ones say what happened.
    assert_eq!(
        codes(&env(facts, "", "", false), &RelayPolicy::default()),
        ["MD151", "MD151"]
    );
    drop(held);
}
