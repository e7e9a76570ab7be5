//! DKIM key records against a real authoritative server, compared with Moodle's key.

#[path = "support/dns_server.rs"]
mod dns_server;

use dns_server::*;
use maildrift::dns::{DnsOutcome, DnsPolicy, check_environment};
use maildrift::findings::Finding;

/// Runs the checks for From domain `domain` with selector md2026 and the given Moodle keys.
async fn run(domain: &str, moodle_key: Option<(&str, bool)>) -> DnsOutcome {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let key = moodle_key.map(|(k, keyfile)| (domain, "md2026", keyfile, k));
    let keys: Vec<_> = key.into_iter().collect();
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", &format!("noreply@{domain}")),
            ("emaildkimselector", "md2026"),
        ],
        &keys,
    );
    check_environment(&snap, &DnsPolicy::default(), &resolver).await
}

fn dkim(out: &DnsOutcome) -> Vec<&Finding> {
    out.findings
        .iter()
        .filter(|f| f.category == "dkim")
        .collect()
}

fn dkim_codes(out: &DnsOutcome) -> Vec<String> {
    dkim(out).iter().map(|f| f.code.clone()).collect()
}

#[tokio::test]
async fn multi_string_2048_bit_key_matching_moodles_passes() {
    let a = test_key("moodle-a.spki");
    let out = run("campus.ac.uk", Some((&a, true))).await;
    assert_eq!(dkim_codes(&out), vec!["MD510"]);
    assert!(dkim(&out)[0].message.contains("RSA 2048-bit"));
    assert!(
        out.evidence
            .headline
            .contains("campus.ac.uk: DMARC pass via SPF and DKIM")
            || out.evidence.headline.contains("via DKIM"),
        "{}",
        out.evidence.headline
    );
}

#[tokio::test]
async fn published_key_that_differs_from_moodles_is_a_mismatch() {
    let a = test_key("moodle-a.spki");
    let out = run("other.campus.ac.uk", Some((&a, true))).await;
    assert_eq!(dkim_codes(&out), vec!["MD507"]);
}

#[tokio::test]
async fn moodle_without_a_key_file_is_an_error() {
    let out = run("campus.ac.uk", Some(("", false))).await;
    assert_eq!(dkim_codes(&out), vec!["MD508"]);
    let out = run("campus.ac.uk", None).await;
    assert_eq!(dkim_codes(&out), vec!["MD508"]);
}

#[tokio::test]
async fn selector_configured_but_no_record_is_an_error() {
    let a = test_key("moodle-a.spki");
    let out = run("nokey.campus.ac.uk", Some((&a, true))).await;
    assert_eq!(dkim_codes(&out), vec!["MD502"]);
}

#[tokio::test]
async fn ed25519_key_matches_moodles_spki() {
    let ed = test_key("ed.spki");
    let out = run("ed.campus.ac.uk", Some((&ed, true))).await;
    assert_eq!(dkim_codes(&out), vec!["MD510"]);
    assert!(dkim(&out)[0].message.contains("ed25519"));
}

#[tokio::test]
async fn revoked_key_is_an_error() {
    let a = test_key("moodle-a.spki");
    assert_eq!(
        dkim_codes(&run("revoked.campus.ac.uk", Some((&a, true))).await),
        vec!["MD504"]
    );
}

#[tokio::test]
async fn testing_mode_is_a_warning_next_to_the_match() {
    let a = test_key("moodle-a.spki");
    let mut c = dkim_codes(&run("testing.campus.ac.uk", Some((&a, true))).await);
    c.sort();
    assert_eq!(c, vec!["MD505", "MD510"]);
}

#[tokio::test]
async fn rsa_1024_is_below_the_default_minimum() {
    let w = test_key("weak-1024.spki");
    let mut c = dkim_codes(&run("weak.campus.ac.uk", Some((&w, true))).await);
    c.sort();
    assert_eq!(c, vec!["MD506", "MD510"]);
}

#[tokio::test]
async fn garbled_key_record_is_invalid() {
    let a = test_key("moodle-a.spki");
    assert_eq!(
        dkim_codes(&run("garbled.campus.ac.uk", Some((&a, true))).await),
        vec!["MD503"]
    );
}

#[tokio::test]
async fn no_selector_means_unsigned_mail() {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot("test", &[("noreplyaddress", "noreply@campus.ac.uk")], &[]);
    let out = check_environment(&snap, &DnsPolicy::default(), &resolver).await;
    assert_eq!(dkim_codes(&out), vec!["MD501"]);
}

#[tokio::test]
async fn two_key_records_under_one_selector_are_an_error() {
    let ed = test_key("ed.spki");
    assert_eq!(
        dkim_codes(&run("dupe.campus.ac.uk", Some((&ed, true))).await),
        vec!["MD509"]
    );
}
