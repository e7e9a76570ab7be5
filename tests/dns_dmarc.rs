//! DMARC records and the alignment headline against a real authoritative server.

#[path = "support/dns_server.rs"]
mod dns_server;

use dns_server::*;
use maildrift::dns::{DmarcPolicy, DnsOutcome, DnsPolicy, check_environment};

async fn run(
    settings: &[(&str, &str)],
    dkim: &[(&str, &str, bool, &str)],
    policy: DnsPolicy,
) -> DnsOutcome {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    check_environment(&snapshot("test", settings, dkim), &policy, &resolver).await
}

fn codes(out: &DnsOutcome, category: &str) -> Vec<String> {
    let mut c: Vec<String> = out
        .findings
        .iter()
        .filter(|f| f.category == category)
        .map(|f| f.code.clone())
        .collect();
    c.sort();
    c
}

#[tokio::test]
async fn spf_pass_with_relaxed_alignment_and_no_dkim_passes_via_spf_only() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
        DnsPolicy::default(),
    )
    .await;
    assert_eq!(
        out.evidence.headline,
        "campus.ac.uk: DMARC pass via SPF only (DKIM: no DKIM selector configured)"
    );
}

#[tokio::test]
async fn dkim_alone_carries_dmarc_when_the_relay_is_not_in_spf() {
    let a = test_key("moodle-a.spki");
    let policy = DnsPolicy {
        egress: vec!["203.0.113.5".into()],
        ..Default::default()
    };
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("emaildkimselector", "md2026"),
        ],
        &[("campus.ac.uk", "md2026", true, &a)],
        policy,
    )
    .await;
    assert_eq!(
        out.evidence.headline,
        "campus.ac.uk: DMARC pass via DKIM only (SPF: fail for 203.0.113.5 (decided by campus.ac.uk: -all))"
    );
}

#[tokio::test]
async fn strict_spf_alignment_with_a_bounce_domain_fails_dmarc_without_dkim() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@strict.campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
            ("handlebounces", "1"),
            ("maildomain", "campus.ac.uk"),
            ("mailprefix", "mdl+"),
        ],
        &[],
        DnsPolicy::default(),
    )
    .await;
    assert!(
        codes(&out, "dmarc").contains(&"MD610".to_string()),
        "{:#?}",
        out.findings
    );
    assert!(
        out.evidence
            .headline
            .contains("envelope domain campus.ac.uk not aligned with strict.campus.ac.uk (aspf=s)"),
        "{}",
        out.evidence.headline
    );
}

#[tokio::test]
async fn subdomain_without_a_record_falls_back_to_the_organisational_domain_and_its_sp() {
    let policy = DnsPolicy {
        min_dmarc_policy: Some(DmarcPolicy::Quarantine),
        ..Default::default()
    };
    let out = run(
        &[
            ("noreplyaddress", "noreply@redir.campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
        policy,
    )
    .await;
    let c = codes(&out, "dmarc");
    assert!(
        c.contains(&"MD609".to_string()) && c.contains(&"MD604".to_string()),
        "{c:?}"
    );
    let weak = out.findings.iter().find(|f| f.code == "MD604").unwrap();
    assert_eq!(weak.actual.as_deref(), Some("sp=none"));
}

#[tokio::test]
async fn external_report_destination_needs_authorisation() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
        DnsPolicy::default(),
    )
    .await;
    let unauth: Vec<_> = out.findings.iter().filter(|f| f.code == "MD607").collect();
    // vendor.example publishes campus.ac.uk._report._dmarc; unauth.example does not.
    assert_eq!(unauth.len(), 1, "{unauth:#?}");
    assert!(unauth[0].message.contains("unauth.example"));
}

#[tokio::test]
async fn report_destination_outside_allowed_rua_is_flagged() {
    let policy = DnsPolicy {
        allowed_rua: vec!["campus.ac.uk".into()],
        ..Default::default()
    };
    let out = run(
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
        policy,
    )
    .await;
    let mut c: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.code == "MD608")
        .map(|f| f.actual.clone().unwrap())
        .collect();
    c.sort();
    assert_eq!(c, vec!["unauth.example", "vendor.example"]);
}

#[tokio::test]
async fn two_records_partial_policy_and_bad_uri_each_have_a_code() {
    let out = run(
        &[("noreplyaddress", "noreply@two.campus.ac.uk")],
        &[],
        DnsPolicy::default(),
    )
    .await;
    assert!(codes(&out, "dmarc").contains(&"MD602".to_string()));
    let out = run(
        &[("noreplyaddress", "noreply@partial.campus.ac.uk")],
        &[],
        DnsPolicy::default(),
    )
    .await;
    let c = codes(&out, "dmarc");
    assert!(
        c.contains(&"MD605".to_string()) && c.contains(&"MD606".to_string()),
        "{c:?}"
    );
}

#[tokio::test]
async fn domain_without_any_dmarc_record_is_missing() {
    let out = run(
        &[("noreplyaddress", "noreply@unauth.example")],
        &[],
        DnsPolicy::default(),
    )
    .await;
    let c = codes(&out, "dmarc");
    assert!(c.contains(&"MD601".to_string()), "{c:?}");
    // No record, no DMARC verdict: neither "pass" nor "will fail" (MD611/MD610).
    assert!(
        !c.contains(&"MD611".to_string()) && !c.contains(&"MD610".to_string()),
        "{c:?}"
    );
    let h = &out.evidence.headline;
    assert!(
        h.starts_with("unauth.example: no DMARC policy (no usable DMARC record), so receivers judge the mail on SPF, DKIM and their own filters"),
        "{h}"
    );
    assert!(
        !h.contains("DMARC pass") && !h.contains("DMARC FAIL"),
        "{h}"
    );
    // The organisational domain is the domain itself: the name is said once.
    let missing = out.findings.iter().find(|f| f.code == "MD601").unwrap();
    assert_eq!(
        missing.message,
        "_dmarc.unauth.example has no DMARC record (unauth.example is its own organisational domain)."
    );
}

#[tokio::test]
async fn invalid_policy_with_a_valid_rua_counts_as_p_none_and_the_headline_says_so() {
    let out = run(
        &[
            ("noreplyaddress", "noreply@badprua.campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
        DnsPolicy::default(),
    )
    .await;
    let h = &out.evidence.headline;
    assert!(
        h.starts_with("badprua.campus.ac.uk: DMARC pass via SPF only"),
        "{h}"
    );
    assert!(
        h.contains("its valid rua= makes receivers treat it as p=none, RFC 7489 §6.6.3"),
        "{h}"
    );
    let bad = out
        .findings
        .iter()
        .find(|f| f.code == "MD603")
        .expect("MD603");
    assert!(
        bad.message.contains("p=maybe") && bad.message.contains("act as if it said p=none"),
        "{}",
        bad.message
    );
}

#[tokio::test]
async fn unknown_policy_value_is_an_invalid_record() {
    let out = run(
        &[("noreplyaddress", "noreply@badpolicy.campus.ac.uk")],
        &[],
        DnsPolicy::default(),
    )
    .await;
    let bad = out
        .findings
        .iter()
        .find(|f| f.code == "MD603")
        .expect("MD603");
    assert!(bad.message.contains("p=maybe"), "{}", bad.message);
}
