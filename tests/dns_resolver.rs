//! Where answers come from and how failures look: SERVFAIL, silence, slowness, truncation,
//! NXDOMAIN vs NODATA, --zone overlays, --offline and the shared cache.

#[path = "support/dns_server.rs"]
mod dns_server;

use std::time::Duration;

use dns_server::*;
use hickory_proto::rr::RecordType;
use maildrift::dns::{DnsError, DnsPolicy, Resolver, ResolverOptions, Status, check_environment};
use maildrift::report::model::CheckState;

fn faulty() -> Faults {
    Faults {
        servfail: vec!["broken.example".into()],
        slow: vec![("slow.example".into(), Duration::from_millis(1500))],
        truncate_udp: vec!["big.example".into()],
        ..Faults::default()
    }
}

async fn fault_server() -> DnsServer {
    let mut files = ALL_ZONES.to_vec();
    files.extend([
        "broken.example.zone",
        "slow.example.zone",
        "big.example.zone",
    ]);
    start_files(&files, faulty()).await
}

#[tokio::test]
async fn nxdomain_and_nodata_are_different_answers() {
    let s = fault_server().await;
    let r = resolver_for(s.addr);
    assert_eq!(
        r.query("gone.campus.ac.uk", RecordType::A).await.status,
        Status::NxDomain
    );
    assert_eq!(
        r.query("campus.ac.uk", RecordType::AAAA).await.status,
        Status::NoData
    );
    assert_eq!(
        r.query("campus.ac.uk", RecordType::MX).await.status,
        Status::NoError
    );
}

#[tokio::test]
async fn servfail_is_reported_as_could_not_ask_never_as_no_record() {
    let s = fault_server().await;
    let r = resolver_for(s.addr);
    assert_eq!(
        r.query("broken.example", RecordType::TXT).await.status,
        Status::ServFail
    );
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@broken.example"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
    );
    let out = check_environment(&snap, &DnsPolicy::default(), &r).await;
    let codes: Vec<_> = out.findings.iter().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"MD790"), "{codes:?}");
    assert!(
        !codes.contains(&"MD401") && !codes.contains(&"MD601") && !codes.contains(&"MD701"),
        "{codes:?}"
    );
    for check in ["spf", "dmarc", "mx"] {
        let c = out.checks.iter().find(|c| c.check == check).unwrap();
        assert_eq!(c.state, CheckState::Errored, "{check}");
        assert!(c.detail.as_deref().unwrap().contains("servfail"));
    }
    assert!(
        out.evidence.headline.contains("unknown"),
        "{}",
        out.evidence.headline
    );
    assert!(out.evidence.answers.iter().any(|a| a.status == "servfail"));
}

#[tokio::test]
async fn server_that_never_answers_times_out_after_bounded_retries() {
    let (_hole, addr) = black_hole().await;
    let r = resolver_for(addr);
    let started = std::time::Instant::now();
    let a = r.query("campus.ac.uk", RecordType::TXT).await;
    assert_eq!(a.status, Status::Timeout);
    // 2 attempts x 400 ms, not forever
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let snap = snapshot("test", &[("noreplyaddress", "noreply@campus.ac.uk")], &[]);
    let out = check_environment(&snap, &DnsPolicy::default(), &r).await;
    // dkim asks nothing without a selector (it fails on the missing selector instead)
    assert!(
        out.checks
            .iter()
            .filter(|c| c.check != "dkim")
            .all(|c| c.state == CheckState::Errored),
        "{:#?}",
        out.checks
    );
}

#[tokio::test]
async fn slow_answers_within_the_timeout_are_waited_for_and_beyond_it_time_out() {
    let s = fault_server().await;
    let patient = Resolver::new(ResolverOptions {
        server: Some(s.addr),
        timeout: Duration::from_secs(3),
        attempts: 1,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        patient.query("slow.example", RecordType::MX).await.status,
        Status::NoError
    );
    let hasty = resolver_for(s.addr);
    assert_eq!(
        hasty.query("slow.example", RecordType::MX).await.status,
        Status::Timeout
    );
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp() {
    let s = fault_server().await;
    let r = resolver_for(s.addr);
    let a = r
        .query("md2026._domainkey.big.example", RecordType::TXT)
        .await;
    assert_eq!(a.status, Status::NoError);
    assert!(a.txt()[0].starts_with("v=DKIM1; k=rsa; p=MIIBIjAN"));
    assert!(s.tcp_queries.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn each_question_goes_upstream_once_even_with_environments_in_parallel() {
    let s = start_files(ALL_ZONES, Faults::default()).await;
    let r = resolver_for(s.addr);
    let snaps: Vec<_> = (0..6)
        .map(|i| {
            snapshot(
                &format!("env{i}"),
                &[
                    ("noreplyaddress", "noreply@campus.ac.uk"),
                    ("smtphosts", "relay.campus.ac.uk"),
                ],
                &[],
            )
        })
        .collect();
    let policy = DnsPolicy::default();
    let runs = snaps
        .iter()
        .map(|snap| check_environment(snap, &policy, &r));
    let outs = futures_join(runs).await;
    let asked = r.upstream_questions();
    let distinct = outs[0].evidence.answers.len();
    // every environment saw the same answers, and upstream was asked once per (name, type)
    assert!(outs.iter().all(|o| o.evidence.answers.len() == distinct));
    assert_eq!(asked, distinct, "asked {asked}, distinct {distinct}");
}

async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::new();
    // join_all without the futures crate: poll them all at once through a JoinSet-free select.
    let pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut pending: Vec<_> = pinned.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

#[tokio::test]
async fn offline_answers_only_from_zone_files_and_says_so_for_other_names() {
    let r = Resolver::new(ResolverOptions {
        zones: vec![
            zone_path("campus.ac.uk.zone"),
            zone_path("2.0.192.in-addr.arpa.zone"),
        ],
        offline: true,
        ..Default::default()
    })
    .unwrap();
    assert!(r.is_offline());
    let a = r.query("campus.ac.uk", RecordType::TXT).await;
    assert_eq!(
        (a.status, a.evidence().origin.as_str()),
        (Status::NoError, "zone")
    );
    let outside = r.query("vendor.example", RecordType::TXT).await;
    assert_eq!(outside.status, Status::NotInZone);
    assert!(outside.status.could_not_ask());
    // the checks evaluate SPF against the same zone data
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
    );
    let out = check_environment(&snap, &DnsPolicy::default(), &r).await;
    let t = &out.evidence.spf_traces[0];
    assert_eq!(t.verdict, "pass");
    // the rua authorisation lookup for vendor.example is outside the zones: could not ask
    let dmarc = out.checks.iter().find(|c| c.check == "dmarc").unwrap();
    assert_eq!(dmarc.state, CheckState::Errored);
    assert!(dmarc.detail.as_deref().unwrap().contains("not-in-zone"));
}

#[tokio::test]
async fn zone_file_overlays_live_dns_for_its_names_only() {
    let s = start_files(&["vendor.example.zone"], Faults::default()).await;
    let r = Resolver::new(ResolverOptions {
        server: Some(s.addr),
        zones: vec![zone_path("campus.ac.uk.zone")],
        timeout: Duration::from_millis(400),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        r.query("campus.ac.uk", RecordType::TXT).await.origin,
        maildrift::dns::Origin::Zone
    );
    let live = r
        .query(
            "campus.ac.uk._report._dmarc.vendor.example",
            RecordType::TXT,
        )
        .await;
    assert_eq!(
        (live.status, live.origin),
        (Status::NoError, maildrift::dns::Origin::Dns)
    );
    assert_eq!(r.upstream_questions(), 1);
}

#[test]
fn zone_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.example.zone");
    std::fs::write(
        &path,
        "$ORIGIN bad.example.\n$TTL 60\n@ IN SOA ns hm 1 2 3 4 5\n@ IN MX ten mx\n",
    )
    .unwrap();
    let err = Resolver::new(ResolverOptions {
        zones: vec![path.clone()],
        offline: true,
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        matches!(&err, DnsError::ZoneSyntax { line: 4, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}:4:", path.display())),
        "{err}"
    );
}

#[tokio::test]
async fn include_that_servfails_is_temperror_and_errors_the_check() {
    let s = fault_server().await;
    let r = resolver_for(s.addr);
    let ctx = maildrift::dns::Ctx::new(&r);
    let ip = "192.0.2.25".parse().unwrap();
    let own = maildrift::dns::spf::evaluate(
        &ctx,
        "inclbroken.campus.ac.uk",
        ip,
        "a@inclbroken.campus.ac.uk",
        "relay.campus.ac.uk",
    )
    .await;
    assert_eq!(own.verdict, maildrift::dns::spf::Verdict::TempError);
    let snap = snapshot(
        "test",
        &[
            ("noreplyaddress", "noreply@inclbroken.campus.ac.uk"),
            ("smtphosts", "relay.campus.ac.uk"),
        ],
        &[],
    );
    let out = check_environment(&snap, &DnsPolicy::default(), &r).await;
    let spf = out.checks.iter().find(|c| c.check == "spf").unwrap();
    assert_eq!(spf.state, CheckState::Errored);
    assert!(
        !out.findings
            .iter()
            .any(|f| f.code == "MD410" || f.code == "MD610"),
        "{:#?}",
        out.findings
    );
}

#[test]
fn dns_server_option_accepts_ip_with_and_without_port() {
    use maildrift::dns::parse_server;
    assert_eq!(
        parse_server("192.0.2.53").unwrap().to_string(),
        "192.0.2.53:53"
    );
    assert_eq!(parse_server("127.0.0.1:5353").unwrap().port(), 5353);
    assert_eq!(
        parse_server("[::1]:5353").unwrap().to_string(),
        "[::1]:5353"
    );
    assert_eq!(parse_server("::1").unwrap().port(), 53);
    assert!(parse_server("dns.example").is_err());
}

#[test]
fn offline_without_zones_is_refused() {
    assert!(
        Resolver::new(ResolverOptions {
            offline: true,
            ..Default::default()
        })
        .is_err()
    );
}
