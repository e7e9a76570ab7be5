//! The bundled demo (examples/demo/dns) run offline, as the README's first command does.

#[path = "support/dns_server.rs"]
mod dns_server;

use std::path::Path;

use dns_server::snapshot;
use maildrift::dns::{
    DmarcPolicy, DnsOutcome, DnsPolicy, Resolver, ResolverOptions, check_environment,
};
use maildrift::report::model::CheckState;

fn demo(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/demo/dns")
        .join(file)
}

fn resolver() -> Resolver {
    Resolver::new(ResolverOptions {
        zones: vec![demo("example.edu.zone")],
        offline: true,
        ..Default::default()
    })
    .unwrap()
}

fn policy() -> DnsPolicy {
    DnsPolicy {
        min_dmarc_policy: Some(DmarcPolicy::Quarantine),
        ..Default::default()
    }
}

fn codes(out: &DnsOutcome) -> Vec<String> {
    let mut c: Vec<String> = out.findings.iter().map(|f| f.code.clone()).collect();
    c.sort();
    c.dedup();
    c
}

fn state(out: &DnsOutcome, check: &str) -> CheckState {
    out.checks.iter().find(|c| c.check == check).unwrap().state
}

#[tokio::test]
async fn production_passes_dmarc_via_spf_only() {
    let snap = snapshot(
        "production",
        &[
            ("smtphosts", "smtp-relay.example.edu:587"),
            ("noreplyaddress", "noreply@moodle.example.edu"),
            ("allowedemaildomains", "example.edu"),
            ("emaildkimselector", ""),
            ("handlebounces", "0"),
        ],
        &[],
    );
    let out = check_environment(&snap, &policy(), &resolver()).await;
    assert_eq!(
        out.evidence.headline,
        "moodle.example.edu: DMARC pass via SPF only (DKIM: no DKIM selector configured); \
         example.edu: DMARC pass via SPF only (DKIM: no DKIM selector configured)"
    );
    assert_eq!(
        codes(&out),
        vec!["MD412", "MD501", "MD604", "MD609", "MD611", "MD710"]
    );
    assert_eq!(state(&out, "spf"), CheckState::Passed);
    assert_eq!(state(&out, "relay"), CheckState::Passed);
    assert!(
        out.evidence
            .answers
            .iter()
            .all(|a| a.origin == "zone" && a.status != "not-in-zone")
    );
}

#[tokio::test]
async fn staging_fails_spf_at_dash_all_and_passes_dmarc_via_dkim_only() {
    let staging_key = std::fs::read_to_string(demo("md2026.spki.b64")).unwrap();
    let edu_key = std::fs::read_to_string(demo("md2026-example.edu.spki.b64")).unwrap();
    let mut snap = snapshot(
        "staging",
        &[
            ("smtphosts", "mail.staging.example.edu:25"),
            ("noreplyaddress", "noreply@staging.example.edu"),
            ("allowedemaildomains", "example.edu"),
            ("emaildkimselector", "md2026"),
            ("handlebounces", "0"),
        ],
        &[
            ("staging.example.edu", "md2026", true, staging_key.trim()),
            ("example.edu", "md2026", true, edu_key.trim()),
        ],
    );
    snap.url = "https://moodle-staging.example.edu".into();
    let out = check_environment(&snap, &policy(), &resolver()).await;
    assert_eq!(
        out.evidence.headline,
        "staging.example.edu: DMARC pass via DKIM only (SPF: fail for 198.51.100.25 (decided by staging.example.edu: -all)); \
         example.edu: DMARC FAIL (SPF: fail for 198.51.100.25 (decided by staging.example.edu: -all); DKIM: published key at md2026._domainkey.example.edu differs from Moodle's)"
    );
    assert_eq!(
        codes(&out),
        vec![
            "MD410", "MD507", "MD510", "MD604", "MD609", "MD610", "MD611", "MD701", "MD708"
        ]
    );
    let spf = out.findings.iter().find(|f| f.code == "MD410").unwrap();
    assert!(
        spf.message.contains("decided by staging.example.edu: -all"),
        "{}",
        spf.message
    );
    for check in ["relay", "spf", "dkim", "dmarc", "mx"] {
        assert_eq!(state(&out, check), CheckState::Failed, "{check}");
    }
}
