//! A year of nightly runs of a generated fleet recorded into a history store, as `check
//! --history` does: what is new, setting changes, the monthly metrics and their review, and
//! retention; plus two threads recording at once.

#[path = "../benches/support/year.rs"]
mod year;

use maildrift::findings::FindingState;
use maildrift::health::HealthPolicy;
use maildrift::history::metrics::review;
use maildrift::history::{Month, RunInput, RunKind, Store};
use maildrift::report::changes::apply;

const SITES: usize = 12;
const NIGHTS: u32 = 365;

/// Records `night` as `check --history` does: compare with the last run, then record.
fn record_night(store: &mut Store, night: u32) -> maildrift::report::Report {
    let mut report = year::report(SITES, night);
    let prior = store.prior(&report).expect("prior");
    apply(&mut report, prior.as_ref(), true);
    store
        .record(&RunInput {
            kind: RunKind::Check,
            report: &report,
            settings: year::settings(SITES, night),
        })
        .expect("record");
    report
}

#[test]
fn a_year_of_nightly_runs_gives_states_changes_and_monthly_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let mut store = Store::open(&path).unwrap();
    let mut last = None;
    for night in 0..NIGHTS {
        last = Some(record_night(&mut store, night));
    }
    let last = last.unwrap();

    // The DMARC finding of site-000 has been open since the first night.
    let dmarc = last
        .findings
        .iter()
        .find(|f| f.code == "MD604" && f.environment.as_deref() == Some("site-000"))
        .unwrap();
    assert_eq!(dmarc.state, Some(FindingState::Persisting));
    assert_eq!(dmarc.since, Some(year::night_time(0)));
    // The weekly queue finding came back tonight after days away: new again.
    let queue: Vec<_> = last.findings.iter().filter(|f| f.code == "MD802").collect();
    assert!(queue.iter().any(|f| f.state == Some(FindingState::New)));
    assert!(!last.changes.as_ref().unwrap().resolved.is_empty());

    assert_eq!(store.runs(None, 1000).unwrap().len(), NIGHTS as usize);
    // smtphosts of site-010 changed every 90 nights: 4 changes in the year.
    let changes = store
        .setting_changes(Some("site-010"), Some("smtphosts"), 100)
        .unwrap();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert_eq!(changes[0].from.as_deref(), Some("relay3.example.edu:587"));
    assert_eq!(changes[0].to.as_deref(), Some("relay4.example.edu:587"));
    assert_eq!(changes[0].changed_at, year::night_time(360));
    assert!(
        store
            .setting_changes(Some("site-011"), Some("smtphosts"), 100)
            .unwrap()
            .is_empty()
    );

    // Metrics: site-001's June is over the failure-rate threshold, May is not.
    let months: Vec<Month> = ["2026-05", "2026-06", "2026-09"]
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
    let figures = store.monthly(None, &months).unwrap();
    let get = |env: &str, m: &str| {
        figures
            .iter()
            .find(|f| f.environment == env && f.month.to_string() == m)
            .unwrap()
    };
    let june = get("site-001", "2026-06");
    assert_eq!(june.runs, 30);
    // 400 failures per 7-day window, every night: ≈ 400/7 a day, 30 days.
    assert!((june.failed - 400.0 / 7.0 * 30.0).abs() < 60.0, "{june:?}");
    assert!(june.delivery_rate_proxy.unwrap() < 0.98, "{june:?}");
    let may = get("site-001", "2026-05");
    assert!(may.delivery_rate_proxy.unwrap() > 0.99, "{may:?}");
    assert_eq!(get("site-002", "2026-09").queue_peak_seconds, 3 * 3600);

    let found = review(&figures, &HealthPolicy::default());
    let codes: Vec<(String, String)> = found
        .iter()
        .map(|f| (f.code.clone(), f.subject.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        codes,
        [
            ("MD830".to_string(), "2026-06 delivery rate".to_string()),
            ("MD831".to_string(), "2026-09 mail-queue delay".to_string())
        ]
    );

    // Retention: keep 100 days; what remains still answers and still continues.
    let pruned = store.prune(100, year::night_time(NIGHTS - 1)).unwrap();
    assert_eq!(pruned, NIGHTS as usize - 101);
    assert_eq!(store.runs(None, 1000).unwrap().len(), 101);
    let next = record_night(&mut store, NIGHTS);
    let dmarc = next
        .findings
        .iter()
        .find(|f| f.code == "MD604" && f.environment.as_deref() == Some("site-000"))
        .unwrap();
    assert_eq!(dmarc.state, Some(FindingState::Persisting));
}

#[test]
fn two_threads_recording_at_once_lose_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).expect("open");
                for night in 0..15 {
                    let report = year::report(4, night * 2 + t);
                    store
                        .record(&RunInput {
                            kind: RunKind::Check,
                            report: &report,
                            settings: year::settings(4, night * 2 + t),
                        })
                        .expect("record");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.runs(None, 100).unwrap().len(), 30);
}
