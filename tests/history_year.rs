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

    // The latest change per environment, as the next run's report gives it: the last
    // recorded change when nothing differs now, the changed settings when something does,
    // nothing for an environment whose settings never changed.
    let mut tonight = year::settings(SITES, NIGHTS);
    let at = year::night_time(NIGHTS);
    let latest = store.latest_changes(&tonight, at).unwrap();
    let of = |env: &str| -> Vec<_> { latest.iter().filter(|c| c.environment == env).collect() };
    assert_eq!(of("site-010").len(), 1, "{latest:?}");
    assert_eq!(of("site-010")[0].changed_at, year::night_time(360));
    assert_eq!(
        of("site-010")[0].to.as_deref(),
        Some("relay4.example.edu:587")
    );
    assert!(of("site-011").is_empty(), "{latest:?}");
    let sender = tonight[11]
        .1
        .iter_mut()
        .find(|(n, _)| n == "noreplyaddress")
        .unwrap();
    sender.1 = "moodle@site-011.example.edu".into();
    let latest = store.latest_changes(&tonight, at).unwrap();
    let now: Vec<_> = latest
        .iter()
        .filter(|c| c.environment == "site-011")
        .collect();
    assert_eq!(now.len(), 1, "{latest:?}");
    assert_eq!(now[0].setting, "noreplyaddress");
    assert_eq!(now[0].changed_at, at);
    assert_eq!(now[0].from.as_deref(), Some("noreply@site-011.example.edu"));
    assert_eq!(now[0].to.as_deref(), Some("moodle@site-011.example.edu"));
    // A setting no longer reported is a change now, to nothing.
    tonight[11].1.retain(|(n, _)| n != "setting00");
    let latest = store.latest_changes(&tonight, at).unwrap();
    let gone = latest
        .iter()
        .find(|c| c.environment == "site-011" && c.setting == "setting00")
        .expect("the removal is reported");
    assert_eq!(
        (gone.from.as_deref(), gone.to.as_deref()),
        (Some("value-0"), None)
    );
    // An environment the store has never seen has no latest change yet.
    let unseen = vec![("site-999".to_string(), tonight[0].1.clone())];
    assert!(store.latest_changes(&unseen, at).unwrap().is_empty());

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

#[test]
fn a_version_1_store_is_upgraded_in_place_and_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let mut store = Store::open(&path).unwrap();
    for night in 0..100 {
        record_night(&mut store, night);
    }
    let tonight = year::settings(SITES, 100);
    let at = year::night_time(100);
    let expected = store.latest_changes(&tonight, at).unwrap();
    let rows = |store: &Store| store.setting_changes(None, None, 100_000).unwrap().len();
    let changes_before = rows(&store);
    drop(store);
    // Version 1 had no settings_state table and indexed health by environment; everything
    // else is the same.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE settings_state; DROP INDEX health_by_time;
         CREATE INDEX health_by_env ON health (environment, measured_at);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let mut store = Store::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(store.latest_changes(&tonight, at).unwrap(), expected);
    assert!(
        expected
            .iter()
            .any(|c| c.environment == "site-010" && c.changed_at == year::night_time(90)),
        "{expected:?}"
    );
    // The next night records no change that did not happen.
    record_night(&mut store, 100);
    assert_eq!(rows(&store), changes_before);
}
