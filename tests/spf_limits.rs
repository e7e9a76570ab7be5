//! The SPF limits of RFC 7208 §4.6.4 at their boundaries, through `maildrift check` against a
//! real DNS server on 127.0.0.1: 10 DNS-querying terms are allowed and 11 are MD404; 2 void
//! lookups are allowed and 3 are MD405; and the relay's own verdict turns from pass (MD412) to
//! a permanent error (MD410) at the same boundaries. Only the command line and the documented finding codes
//! are used, so the tests hold whatever the SPF evaluator looks like inside.

#[path = "support/dns_server.rs"]
mod dns_server;

use std::path::Path;
use std::process::Command;

use dns_server::{Faults, snapshot, start};

const ZONE: &str = "limits.test";

/// `v=spf1` with `a:` terms naming `count` hosts that exist and `void` hosts that do not.
fn record(count: usize, void: usize) -> String {
    let mut terms: Vec<String> = (1..=count).map(|i| format!("a:h{i}.{ZONE}")).collect();
    terms.extend((1..=void).map(|i| format!("a:gone{i}.{ZONE}")));
    format!("\"v=spf1 {} ip4:192.0.2.10 -all\"", terms.join(" "))
}

/// The zone: hosts h1..h12 with addresses, and one domain per case under test.
fn zone() -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n"
    );
    for i in 1..=12 {
        z.push_str(&format!("h{i} IN A 198.51.100.{i}\n"));
    }
    // The site's relay: authorised by the final ip4: term, if evaluation gets that far.
    z.push_str("relay IN A 192.0.2.10\n");
    for (name, count, void) in [
        ("nine", 9, 0),
        ("ten", 10, 0),
        ("eleven", 11, 0),
        ("twelve", 12, 0),
        ("void1", 0, 1),
        ("void2", 0, 2),
        ("void3", 0, 3),
        // Void lookups count towards the ten as well: 8 + 2 = 10 is fine, 9 + 2 is not.
        ("mixed10", 8, 2),
        ("mixed11", 9, 2),
    ] {
        z.push_str(&format!("{name} IN TXT {}\n", record(count, void)));
    }
    // An include chain: the outer record's include counts, and so do the terms inside it.
    z.push_str(&format!(
        "inc10 IN TXT \"v=spf1 include:in9.{ZONE} -all\"\nin9 IN TXT {}\n",
        record(9, 0)
    ));
    z.push_str(&format!(
        "inc11 IN TXT \"v=spf1 include:in10.{ZONE} -all\"\nin10 IN TXT {}\n",
        record(10, 0)
    ));
    // `%{d}` inside an included record is the included domain (RFC 7208 §5.2: check_host()
    // runs again with that domain), so the static count follows `spf.<included domain>`.
    // The checked domain's own `spf.` name carries the opposite count: expanding `%{d}` to the
    // checked domain would flip both verdicts. dmacro11: 1 + 1 + 9 = 11; dmacro2: 1 + 1 = 2.
    for (outer, inner, inner_terms, outer_terms) in
        [("dmacro11", "dinner11", 9, 0), ("dmacro2", "dinner2", 0, 9)]
    {
        z.push_str(&format!(
            "{outer} IN TXT \"v=spf1 include:{inner}.{ZONE} -all\"\n\
             {inner} IN TXT \"v=spf1 include:spf.%{{d}} -all\"\n\
             spf.{inner} IN TXT {}\nspf.{outer} IN TXT {}\n",
            record(inner_terms, 0),
            record(outer_terms, 0)
        ));
    }
    z
}

/// The SPF finding codes `maildrift check` reports for a site whose no-reply address is at
/// `domain`, asking the test server.
fn spf_codes(dir: &Path, server: std::net::SocketAddr, domain: &str) -> Vec<String> {
    let snap = snapshot(
        "site",
        &[
            ("noreplyaddress", &format!("noreply@{domain}.{ZONE}")),
            ("smtphosts", &format!("relay.{ZONE}:25")),
        ],
        &[],
    );
    std::fs::write(dir.join("site.json"), serde_json::to_string(&snap).unwrap()).unwrap();
    std::fs::write(
        dir.join("maildrift.toml"),
        "[environments.site]\nurl = \"https://site.campus.ac.uk\"\nsnapshot = \"site.json\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_maildrift"))
        .current_dir(dir)
        .env_remove("MAILDRIFT_CONFIG")
        .env_remove("MAILDRIFT_BASELINE")
        .args(["check", "--format", "json", "--dns-server"])
        .arg(server.to_string())
        .output()
        .expect("run maildrift");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{domain}: not JSON ({e}), exit {:?}\nstdout: {stdout}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with("MD4")))
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `cases` (domain, whether `code` is expected) against one server.
fn expect(code: &str, cases: &[(&str, bool)]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(start(&[zone()], Faults::default()));
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (domain, expected) in cases {
        let codes = spf_codes(dir.path(), server.addr, domain);
        if codes.iter().any(|c| c == code) != *expected {
            wrong.push(format!(
                "{domain}: expected {code} {}, got {codes:?}",
                if *expected { "present" } else { "absent" }
            ));
        }
    }
    runtime.block_on(server.stop());
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn ten_dns_lookups_are_allowed_and_eleven_are_md404() {
    expect(
        "MD404",
        &[
            ("nine", false),
            ("ten", false),
            ("eleven", true),
            ("twelve", true),
            ("inc10", false),
            ("inc11", true),
            ("mixed10", false),
            ("mixed11", true),
        ],
    );
}

#[test]
fn the_relay_passes_within_the_limits_and_is_not_authorised_past_them() {
    let within = ["nine", "ten", "inc10", "mixed10", "void1", "void2"];
    let past = ["eleven", "twelve", "inc11", "mixed11", "void3"];
    let cases = |expected_within: bool| -> Vec<(&str, bool)> {
        within
            .iter()
            .map(|d| (*d, expected_within))
            .chain(past.iter().map(|d| (*d, !expected_within)))
            .collect()
    };
    expect("MD412", &cases(true));
    // Past either limit the one evaluator that decides gives a permanent error (RFC 7208 §4.6.4),
    // so the relay is not authorised.
    expect(
        "MD410",
        &[
            ("void2", false),
            ("void3", true),
            ("ten", false),
            ("eleven", true),
            ("twelve", true),
            ("inc10", false),
            ("inc11", true),
            ("mixed10", false),
            ("mixed11", true),
        ],
    );
}

#[test]
fn two_void_lookups_are_allowed_and_three_are_md405() {
    expect(
        "MD405",
        &[
            ("ten", false),
            ("void1", false),
            ("void2", false),
            ("void3", true),
            ("mixed10", false),
        ],
    );
}

#[test]
fn a_macro_in_an_included_record_counts_the_lookups_of_the_included_domain() {
    expect("MD404", &[("dmacro11", true), ("dmacro2", false)]);
}
