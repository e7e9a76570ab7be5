//! Relay addresses, forward-confirmed reverse DNS and MX against a real authoritative server.

#[path = "support/dns_server.rs"]
mod dns_server;

use dns_server::*;
use maildrift::dns::{DnsOutcome, DnsPolicy, check_environment};
use maildrift::report::model::CheckState;

async fn run(settings: &[(&str, &str)], policy: DnsPolicy) -> DnsOutcome {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    check_environment(&snapshot("test", settings, &[]), &policy, &resolver).await
}

fn has(out: &DnsOutcome, code: &str) -> bool {
    out.findings.iter().any(|f| f.code == code)
}

#[tokio::test]
async fn relay_whose_ptr_resolves_back_is_confirmed() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk:587"),
        ],
        DnsPolicy::default(),
    )
    .await;
    let ok = out
        .findings
        .iter()
        .find(|f| f.code == "MD710")
        .expect("MD710");
    assert_eq!(ok.actual.as_deref(), Some("relay.campus.ac.uk"));
    let relay = out.checks.iter().find(|c| c.check == "relay").unwrap();
    assert_eq!(relay.state, CheckState::Passed);
}

#[tokio::test]
async fn confirmed_ptr_that_is_not_the_relays_host_name_is_a_warning_not_a_pass() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "alias.campus.ac.uk"),
        ],
        DnsPolicy::default(),
    )
    .await;
    assert!(!has(&out, "MD710"), "{:#?}", out.findings);
    let w = out
        .findings
        .iter()
        .find(|f| f.code == "MD711")
        .expect("MD711");
    assert_eq!(w.expected.as_deref(), Some("alias.campus.ac.uk"));
    assert_eq!(w.actual.as_deref(), Some("relay.campus.ac.uk"));
    assert!(
        w.message.contains("receivers compare the PTR name"),
        "{}",
        w.message
    );
    let relay = out.checks.iter().find(|c| c.check == "relay").unwrap();
    assert_eq!(relay.state, CheckState::Failed);
}

#[tokio::test]
async fn confirmed_ptr_of_another_organisation_is_a_warning_not_a_pass() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "shared.campus.ac.uk"),
        ],
        DnsPolicy::default(),
    )
    .await;
    assert!(
        !has(&out, "MD710") && !has(&out, "MD711"),
        "{:#?}",
        out.findings
    );
    let w = out
        .findings
        .iter()
        .find(|f| f.code == "MD712")
        .expect("MD712");
    assert_eq!(w.actual.as_deref(), Some("host-28.vendor.example"));
    assert!(
        w.message
            .contains("belongs to vendor.example, not to campus.ac.uk"),
        "{}",
        w.message
    );
}

#[tokio::test]
async fn relay_whose_ptr_name_points_elsewhere_is_a_mismatch() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "wrongptr.campus.ac.uk"),
        ],
        DnsPolicy::default(),
    )
    .await;
    let m = out
        .findings
        .iter()
        .find(|f| f.code == "MD708")
        .expect("MD708");
    assert_eq!(
        m.actual.as_deref(),
        Some("other-host.campus.ac.uk → 192.0.2.99")
    );
}

#[tokio::test]
async fn relay_without_ptr_is_reported() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "norev.campus.ac.uk"),
        ],
        DnsPolicy::default(),
    )
    .await;
    assert!(has(&out, "MD707"));
}

#[tokio::test]
async fn internal_relay_without_egress_says_spf_cannot_be_judged() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "internal.campus.ac.uk"),
        ],
        DnsPolicy::default(),
    )
    .await;
    assert!(has(&out, "MD706"));
    assert!(out.evidence.spf_traces.is_empty());
}

#[tokio::test]
async fn empty_smtphosts_means_php_mail_from_the_web_server() {
    let out = run(
        &[("noreplyaddress", "noreply@campus.ac.uk")],
        DnsPolicy::default(),
    )
    .await;
    assert!(has(&out, "MD704"));
    // the web host (test.campus.ac.uk) does not exist either
    assert!(has(&out, "MD705"));
}

#[tokio::test]
async fn mx_missing_null_and_required_are_told_apart() {
    let out = run(
        &[("noreplyaddress", "noreply@ptr.campus.ac.uk")],
        DnsPolicy::default(),
    )
    .await;
    assert!(has(&out, "MD701"));
    let out = run(
        &[("noreplyaddress", "noreply@nullmx.campus.ac.uk")],
        DnsPolicy::default(),
    )
    .await;
    assert!(has(&out, "MD702"));
    let policy = DnsPolicy {
        required_mx: vec!["mx.provider.example".into()],
        ..Default::default()
    };
    let out = run(&[("noreplyaddress", "noreply@campus.ac.uk")], policy).await;
    let r = out
        .findings
        .iter()
        .find(|f| f.code == "MD703")
        .expect("MD703");
    assert_eq!(r.actual.as_deref(), Some("10 mx.campus.ac.uk"));
    assert!(!has(&out, "MD701"));
}

#[tokio::test]
async fn missing_noreply_address_leaves_the_sender_domain_unknown() {
    let out = run(&[("smtphosts", "relay.campus.ac.uk")], DnsPolicy::default()).await;
    assert!(has(&out, "MD709"));
    assert_eq!(
        out.evidence.headline,
        "No sender domain: set noreplyaddress."
    );
}
