//! SPF against a real authoritative server on 127.0.0.1 serving tests/zones.

#[path = "support/dns_server.rs"]
mod dns_server;

use std::net::IpAddr;

use dns_server::*;
use maildrift::dns::spf::{self, Verdict};
use maildrift::dns::{Ctx, DnsPolicy, check_environment};
use maildrift::report::model::CheckState;

async fn evaluation(domain: &str, ip: &str, sender: &str, helo: &str) -> spf::Evaluation {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let ctx = Ctx::new(&resolver);
    let ip: IpAddr = ip.parse().unwrap();
    spf::evaluate(&ctx, domain, ip, sender, helo).await
}

#[tokio::test]
async fn relay_inside_the_org_range_passes_and_the_trace_names_the_term() {
    let own = evaluation(
        "campus.ac.uk",
        "192.0.2.25",
        "noreply@campus.ac.uk",
        "relay.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
    assert_eq!(own.decided_by, "campus.ac.uk: +ip4:192.0.2.0/27");
    assert!(
        own.trace
            .iter()
            .any(|l| l.contains("ip4:192.0.2.0/27 → match")),
        "{:#?}",
        own.trace
    );
}

#[tokio::test]
async fn include_that_passes_decides_inside_the_include() {
    let own = evaluation(
        "campus.ac.uk",
        "198.51.100.20",
        "noreply@campus.ac.uk",
        "x.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
    assert_eq!(own.decided_by, "_spf.campus.ac.uk: +ip4:198.51.100.16/28");
}

#[tokio::test]
async fn softfailing_include_does_not_match_so_the_outer_dash_all_decides() {
    let own = evaluation(
        "campus.ac.uk",
        "203.0.113.5",
        "noreply@campus.ac.uk",
        "x.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Fail);
    assert_eq!(own.decided_by, "campus.ac.uk: -all");
    assert!(
        own.trace
            .iter()
            .any(|l| l.contains("include:_spf.campus.ac.uk → no match")),
        "{:#?}",
        own.trace
    );
}

#[tokio::test]
async fn redirect_hands_the_decision_to_the_target_record() {
    let own = evaluation(
        "redir.campus.ac.uk",
        "203.0.113.5",
        "noreply@redir.campus.ac.uk",
        "x.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Fail);
    assert_eq!(own.decided_by, "campus.ac.uk: -all");
    let own = evaluation(
        "redir.campus.ac.uk",
        "192.0.2.3",
        "noreply@redir.campus.ac.uk",
        "x.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
}

#[tokio::test]
async fn macros_i_d_l_o_h_expand_into_the_names_asked() {
    // %{i}._ip.%{d}
    let own = evaluation(
        "macro.campus.ac.uk",
        "192.0.2.77",
        "x@macro.campus.ac.uk",
        "y.example",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
    // %{l}._lp.%{o}
    let own = evaluation(
        "macro.campus.ac.uk",
        "192.0.2.78",
        "bounce@macro.campus.ac.uk",
        "y.example",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
    // %{h}._helo
    let own = evaluation(
        "macro.campus.ac.uk",
        "192.0.2.78",
        "x@macro.campus.ac.uk",
        "relay.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
    // Nothing matches: three exists: terms came back empty, which RFC 7208 §4.6.4 makes a
    // permerror.
    let own = evaluation(
        "macro.campus.ac.uk",
        "192.0.2.78",
        "x@macro.campus.ac.uk",
        "y.example",
    )
    .await;
    assert_eq!(own.verdict, Verdict::PermError);
}

#[tokio::test]
async fn more_than_ten_lookups_is_permerror() {
    let own = evaluation(
        "toomany.campus.ac.uk",
        "203.0.113.5",
        "a@toomany.campus.ac.uk",
        "x.example",
    )
    .await;
    assert_eq!(own.verdict, Verdict::PermError);
    assert_eq!(own.lookups, 11);
}

#[tokio::test]
async fn third_void_lookup_is_permerror() {
    let own = evaluation(
        "void.campus.ac.uk",
        "192.0.2.10",
        "a@void.campus.ac.uk",
        "x.example",
    )
    .await;
    // RFC 7208 §4.6.4: evaluation stops at the third empty answer, before ip4: is reached.
    assert_eq!(own.verdict, Verdict::PermError);
    assert_eq!(own.voids, 3);
}

#[tokio::test]
async fn void_lookup_permerror_is_the_reported_verdict() {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot(
        "test",
        &[("noreplyaddress", "noreply@void.campus.ac.uk")],
        &[],
    );
    let policy = DnsPolicy {
        egress: vec!["192.0.2.10".into()],
        ..Default::default()
    };
    let out = check_environment(&snap, &policy, &resolver).await;
    let d = out
        .findings
        .iter()
        .find(|f| f.code == "MD410")
        .expect("MD410");
    assert!(
        d.message.starts_with("SPF permerror for 192.0.2.10"),
        "{}",
        d.message
    );
    assert!(!out.findings.iter().any(|f| f.code == "MD412"));
}

#[tokio::test]
async fn spf_reached_through_a_cname_is_followed() {
    let own = evaluation(
        "cname.campus.ac.uk",
        "203.0.113.9",
        "a@cname.campus.ac.uk",
        "x.example",
    )
    .await;
    assert_eq!(own.verdict, Verdict::Pass);
}

async fn findings_for(domain: &str, policy: DnsPolicy) -> Vec<maildrift::findings::Finding> {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", &format!("noreply@{domain}")),
            ("smtphosts", "relay.campus.ac.uk:25"),
        ],
        &[],
    );
    let out = check_environment(&snap, &policy, &resolver).await;
    out.findings
        .into_iter()
        .filter(|f| f.category == "spf")
        .collect()
}

fn codes(f: &[maildrift::findings::Finding]) -> Vec<&str> {
    f.iter().map(|f| f.code.as_str()).collect()
}

#[tokio::test]
async fn lookup_budget_finding_breaks_the_count_down_per_term() {
    let f = findings_for("toomany.campus.ac.uk", DnsPolicy::default()).await;
    let budget = f.iter().find(|f| f.code == "MD404").expect("MD404");
    assert!(
        budget.message.contains("needs 12 DNS lookups"),
        "{}",
        budget.message
    );
    let actual = budget.actual.as_deref().unwrap();
    assert!(
        actual.contains("toomany.campus.ac.uk > include:l1.campus.ac.uk = 3"),
        "{actual}"
    );
    // the relay's verdict is reported with the term that decided it
    assert!(codes(&f).contains(&"MD410"));
}

#[tokio::test]
async fn void_lookups_over_two_are_reported_with_their_names() {
    let f = findings_for("void.campus.ac.uk", DnsPolicy::default()).await;
    let v = f.iter().find(|f| f.code == "MD405").expect("MD405");
    assert!(v.actual.as_deref().unwrap().contains("gone3.campus.ac.uk"));
}

#[tokio::test]
async fn two_spf_records_are_reported_and_are_permerror_not_pass() {
    let f = findings_for("two.campus.ac.uk", DnsPolicy::default()).await;
    let c = codes(&f);
    assert!(c.contains(&"MD402"), "{c:?}");
    // RFC 7208 §4.5: several records are a permerror (mail-auth 0.13.3 used the first one
    // that parsed and said pass; it no longer decides).
    let d = f.iter().find(|f| f.code == "MD410").expect("MD410");
    assert!(
        d.message.starts_with("SPF permerror for 192.0.2.25"),
        "{}",
        d.message
    );
    assert!(!c.contains(&"MD412"));
}

#[tokio::test]
async fn permerror_does_not_carry_dmarc() {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@two.campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
    );
    let out = check_environment(&snap, &DnsPolicy::default(), &resolver).await;
    assert!(
        out.evidence
            .headline
            // two.campus.ac.uk also has two DMARC records: no DMARC policy applies.
            .contains("neither passes (SPF: permerror for 192.0.2.25"),
        "{}",
        out.evidence.headline
    );
}

#[tokio::test]
async fn plus_all_no_all_ptr_and_syntax_errors_each_have_a_code() {
    assert!(
        codes(&findings_for("plusall.campus.ac.uk", DnsPolicy::default()).await).contains(&"MD406")
    );
    assert!(
        codes(&findings_for("noall.campus.ac.uk", DnsPolicy::default()).await).contains(&"MD407")
    );
    assert!(
        codes(&findings_for("ptr.campus.ac.uk", DnsPolicy::default()).await).contains(&"MD408")
    );
    assert!(
        codes(&findings_for("syntax.campus.ac.uk", DnsPolicy::default()).await).contains(&"MD403")
    );
    assert!(
        codes(&findings_for("nospf.campus.ac.uk", DnsPolicy::default()).await).contains(&"MD401")
    );
}

#[tokio::test]
async fn required_include_missing_is_an_error_and_present_is_quiet() {
    let policy = DnsPolicy {
        spf_includes: vec!["_spf.mailhost.example".into()],
        ..Default::default()
    };
    assert!(
        !codes(&findings_for("provider.campus.ac.uk", policy.clone()).await).contains(&"MD409")
    );
    assert!(codes(&findings_for("campus.ac.uk", policy).await).contains(&"MD409"));
}

#[tokio::test]
async fn relay_verdict_pass_is_recorded_with_its_trace() {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk:587"),
        ],
        &[],
    );
    let out = check_environment(&snap, &DnsPolicy::default(), &resolver).await;
    let t = &out.evidence.spf_traces[0];
    assert_eq!((t.ip.as_str(), t.verdict.as_str()), ("192.0.2.25", "pass"));
    let spf_run = out.checks.iter().find(|c| c.check == "spf").unwrap();
    assert_eq!(spf_run.state, CheckState::Passed, "{:#?}", out.findings);
}

#[tokio::test]
async fn egress_cidr_is_judged_by_its_first_address() {
    let server = start_files(ALL_ZONES, Faults::default()).await;
    let resolver = resolver_for(server.addr);
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "internal.campus.ac.uk"),
        ],
        &[],
    );
    let policy = DnsPolicy {
        egress: vec!["198.51.100.16/28".into()],
        ..Default::default()
    };
    let out = check_environment(&snap, &policy, &resolver).await;
    let t = &out.evidence.spf_traces[0];
    assert_eq!(t.ip, "198.51.100.16");
    assert!(t.via.contains("first address"));
    // the internal relay address is not judged and not complained about: egress is known
    assert!(!out.findings.iter().any(|f| f.code == "MD706"));
}
