//! `health::health_external`, the entry `check` calls: live sites get a health run, snapshot
//! files a Skipped one, every environment an evidence run and its newest evidence linked.

mod support;

use maildrift::collect::Target;
use maildrift::config::Environment;
use maildrift::report::CheckState;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn live_file_and_failing_targets() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN),
        FakeSite::production("broken", TOKEN).with_fault(Fault::InvalidToken),
    ]);
    let mut prod = Environment::new("production", fake.url("production").parse().unwrap());
    prod.keyring = false;
    prod.token_env = "MD_EXT_TOKEN".into();
    prod.retries = 0;
    let mut broken = prod.clone();
    broken.name = "broken".into();
    broken.url = fake.url("broken").parse().unwrap();
    // Both read the same variable; set once for this test binary (no other test here reads it).
    unsafe { std::env::set_var("MD_EXT_TOKEN", TOKEN) };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("production-20261120T080000Z-md-1.json"),
        r#"{"schema":"maildrift.evidence/1","environment":"production","url":"u","recipient":"a@example.edu","token":"md-1","subject":"s","sent_at":"2026-11-20T08:00:00Z","recorded_at":"2026-11-20T08:00:00Z","result":"sent","error":null,"warnings":[],"tool":"maildrift"}"#,
    )
    .unwrap();
    let targets = vec![
        Target::Live(prod),
        Target::Live(broken),
        Target::File {
            name: "staging".into(),
            path: "snapshots/staging.json".into(),
        },
    ];
    let now: jiff::Timestamp = "2026-11-29T08:13:20Z".parse().unwrap();
    let run = maildrift::health::health_external(&targets, None, dir.path(), 4, now)
        .await
        .unwrap();
    let state = |check: &str, env: &str| {
        run.checks
            .iter()
            .find(|c| c.check == check && c.environment.as_deref() == Some(env))
            .map(|c| c.state)
    };
    assert_eq!(state("health", "production"), Some(CheckState::Passed));
    assert_eq!(state("health", "broken"), Some(CheckState::Errored));
    assert_eq!(state("health", "staging"), Some(CheckState::Skipped));
    assert_eq!(state("evidence", "staging"), Some(CheckState::Passed));
    assert_eq!(run.health.len(), 1);
    assert_eq!(
        run.health[0]
            .testmail
            .as_ref()
            .unwrap()
            .last_success_at
            .unwrap()
            .to_string(),
        "2026-11-20T08:00:00Z"
    );
    assert_eq!(run.evidence.len(), 1);
    assert!(
        run.evidence[0]
            .url
            .ends_with("production-20261120T080000Z-md-1.json")
    );
    let codes: Vec<(&str, &str)> = run
        .findings
        .iter()
        .map(|f| (f.environment.as_deref().unwrap(), f.code.as_str()))
        .collect();
    assert!(
        codes.contains(&("staging", "MD901")) && codes.contains(&("broken", "MD901")),
        "{codes:?}"
    );
    assert!(!codes.iter().any(|(e, _)| *e == "production"), "{codes:?}");

    // Merged into External and built, the report carries the health list.
    let mut ext = maildrift::audit::External::default();
    run.merge_into(&mut ext);
    let r = maildrift::audit::build(
        &[],
        None,
        ext,
        &maildrift::audit::Options {
            fail_on: maildrift::findings::Severity::Error,
            now,
            today: jiff::civil::date(2026, 11, 29),
        },
    );
    assert_eq!(r.health.len(), 1);
    assert_eq!(r.outcome(), maildrift::report::Outcome::Failed);
}
