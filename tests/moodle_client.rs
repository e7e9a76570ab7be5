//! The Moodle client against the fake Moodle: answers, every failure's variant and message,
//! token confinement, retries, limits and timeouts.

mod support;

use std::time::{Duration, Instant};

use maildrift::config::Environment;
use maildrift::moodle::{Client, MoodleError, RetryPolicy};
use maildrift::snapshot::{SCHEMA, Source};
use maildrift::token::Token;
use support::fake_moodle::{FakeMoodle, FakeSite, Fault, SITE_INFO};
use url::Url;

/// Recognisable, so any leak into a URL, header or message is found by a plain search.
const TOKEN: &str = "LEAKCHECK0123456789abcdef0123456";

fn env_for(fake: &FakeMoodle, site: &str, retries: u32) -> Environment {
    let mut env = Environment::new(site, Url::parse(&fake.url(site)).unwrap());
    env.retries = retries;
    env.connect_timeout = Duration::from_secs(2);
    env.timeout = Duration::from_secs(5);
    env
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(2),
    }
}

fn client(env: &Environment) -> Client {
    Client::new(env).unwrap().with_retry_policy(fast_retries())
}

fn token() -> Token {
    Token::new(TOKEN)
}

fn assert_token_not_shown(err: &MoodleError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

/// Pulls from a one-site fake with `fault` and returns the error and the request count.
/// Pulls a site that fails; returns the error and how often each of the two calls a pull
/// makes (site info, mail config; sent together) reached the site, as the larger count.
async fn pull_error(site: FakeSite, retries: u32) -> (MoodleError, usize) {
    let name = site.name.clone();
    let fake = FakeMoodle::start(vec![site]);
    let env = env_for(&fake, &name, retries);
    let err = client(&env).pull(&token()).await.unwrap_err();
    assert_token_not_shown(&err);
    assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
    let requests = fake.requests_for(&name);
    let per_call = |f: &str| requests.iter().filter(|r| r.function() == Some(f)).count();
    let counts = [
        per_call("core_webservice_get_site_info"),
        per_call("local_maildrift_get_mail_config"),
    ];
    assert_eq!(
        counts.iter().sum::<usize>(),
        requests.len(),
        "only the two calls of a pull"
    );
    (err, counts[0].max(counts[1]))
}

fn production() -> FakeSite {
    FakeSite::production("production", TOKEN)
}

#[tokio::test]
async fn pull_builds_a_snapshot_from_the_plugin_answer() {
    let fake = FakeMoodle::start(vec![production()]);
    let env = env_for(&fake, "production", 0);
    let snap = client(&env).pull(&token()).await.unwrap();
    assert_eq!(snap.schema, SCHEMA);
    assert_eq!(snap.environment, "production");
    assert_eq!(snap.url, env.url.to_string());
    assert_eq!(snap.source, Source::Plugin);
    assert_eq!(snap.moodle.release, "4.5.8+ (Build: 20260126)");
    assert_eq!(snap.moodle.version, "2024100708.05");
    assert_eq!(snap.plugin_version.as_deref(), Some("2026112900"));
    assert_eq!(snap.value("smtphosts"), "smtp-relay.example.edu:587");
    assert_eq!(
        snap.value("allowedemaildomains"),
        "example.edu\nmoodle.example.edu"
    );
    assert_eq!(snap.secrets.get("smtppass"), Some(&true));
    assert_eq!(snap.secrets.get("messageinbound_hostpass"), Some(&false));
    assert_eq!(snap.dkim.len(), 1);
    assert_eq!(snap.dkim[0].selector, "md2026");
    assert!((jiff::Timestamp::now() - snap.taken_at).get_seconds().abs() < 60);
    let functions: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.function().unwrap_or_default().to_string())
        .collect();
    assert_eq!(functions, [SITE_INFO, "local_maildrift_get_mail_config"]);
}

#[tokio::test]
async fn production_and_staging_presets_differ_in_relay_diversion_and_dkim() {
    let fake = FakeMoodle::start(vec![production(), FakeSite::staging("staging", TOKEN)]);
    let prod = client(&env_for(&fake, "production", 0))
        .pull(&token())
        .await
        .unwrap();
    let stag = client(&env_for(&fake, "staging", 0))
        .pull(&token())
        .await
        .unwrap();
    assert_ne!(prod.value("smtphosts"), stag.value("smtphosts"));
    assert_eq!(prod.value("divertallemailsto"), "");
    assert_eq!(
        stag.value("divertallemailsto"),
        "moodle-staging-sink@example.edu"
    );
    assert!(stag.dkim.is_empty());
}

#[tokio::test]
async fn settings_with_secret_names_are_dropped_and_kept_only_as_set_flags() {
    let site = production()
        .setting("smtppass", "hunter2")
        .setting("oauth_client_secret", "s3cr3t");
    let fake = FakeMoodle::start(vec![site]);
    let snap = client(&env_for(&fake, "production", 0))
        .pull(&token())
        .await
        .unwrap();
    assert!(!snap.settings.contains_key("smtppass"));
    assert!(!snap.settings.contains_key("oauth_client_secret"));
    assert_eq!(snap.secrets.get("oauth_client_secret"), Some(&true));
    let json = serde_json::to_string(&snap).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("s3cr3t"),
        "{json}"
    );
}

#[tokio::test]
async fn token_travels_only_in_the_post_body() {
    let fake = FakeMoodle::start(vec![production()]);
    let c = client(&env_for(&fake, "production", 0));
    c.pull(&token()).await.unwrap();
    c.mail_health(&token(), 7).await.unwrap();
    c.send_test_mail(&token(), "admin@example.edu")
        .await
        .unwrap();
    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/production/webservice/rest/server.php");
        assert!(!r.outside_body_contains(TOKEN), "{r:?}");
        assert_eq!(r.field("wstoken"), Some(TOKEN));
        assert_eq!(r.field("moodlewsrestformat"), Some("json"));
    }
}

#[tokio::test]
async fn mail_health_sends_days_and_parses_the_answer() {
    let fake = FakeMoodle::start(vec![production()]);
    let health = client(&env_for(&fake, "production", 0))
        .mail_health(&token(), 14)
        .await
        .unwrap();
    assert_eq!(health.days, 14);
    assert_eq!(health.failedmail.count, 2);
    assert_eq!(fake.requests()[0].field("days"), Some("14"));
}

#[tokio::test]
async fn send_test_mail_reports_the_marker_then_hits_the_rate_limit() {
    let fake = FakeMoodle::start(vec![production()]);
    let c = client(&env_for(&fake, "production", 2));
    let sent = c
        .send_test_mail(&token(), "admin@example.edu")
        .await
        .unwrap();
    assert!(sent.sent);
    assert_eq!(sent.token, "md-0a1b2c3d4e5f");
    assert_eq!(
        fake.requests()[0].field("recipient"),
        Some("admin@example.edu")
    );
    let err = c
        .send_test_mail(&token(), "admin@example.edu")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MoodleError::TestMailTooSoon { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("testmailtoosoon"), "{err}");
    assert_eq!(
        fake.requests().len(),
        2,
        "a refused test mail is not retried"
    );
}

#[tokio::test]
async fn send_test_mail_is_not_retried_once_the_request_reached_the_server() {
    let fake = FakeMoodle::start(vec![production().with_fault(Fault::FailFirst(1))]);
    let err = client(&env_for(&fake, "production", 3))
        .send_test_mail(&token(), "admin@example.edu")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MoodleError::ServerError { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

/// Each fault, the variant it must produce, and phrases its message must contain.
#[tokio::test]
async fn every_failure_has_its_own_variant_and_advice() {
    type Check = fn(&MoodleError) -> bool;
    let cases: Vec<(FakeSite, Check, &[&str])> = vec![
        (
            production().with_fault(Fault::InvalidToken),
            |e| matches!(e, MoodleError::InvalidToken { .. }),
            &["invalidtoken", "maildrift login production"],
        ),
        (
            FakeSite::production("production", "another-token"),
            |e| matches!(e, MoodleError::InvalidToken { .. }),
            &["new token"],
        ),
        (
            production().with_fault(Fault::AccessException),
            |e| matches!(e, MoodleError::AccessDenied { .. }),
            &["accessexception", "Authorised users", "IP"],
        ),
        (
            production().with_fault(Fault::PluginMissing),
            |e| matches!(e, MoodleError::PluginMissing { .. }),
            &["local_maildrift", "admin/cli/upgrade.php"],
        ),
        (
            production().functions(&[SITE_INFO]),
            |e| matches!(e, MoodleError::FunctionNotInService { .. }),
            &["maildrift` service", "maildrift login production"],
        ),
        (
            production().with_fault(Fault::InvalidParameter),
            |e| matches!(e, MoodleError::InvalidParameter { .. }),
            &["invalidparameter", "local_maildrift_get_mail_config"],
        ),
        (
            production().with_fault(Fault::WebServicesDisabled),
            |e| matches!(e, MoodleError::WebServicesDisabled { .. }),
            &["403", "Web services > Overview"],
        ),
        (
            production().with_fault(Fault::Maintenance),
            |e| matches!(e, MoodleError::Maintenance { .. }),
            &["maintenance", "Retry-After: 300"],
        ),
        (
            production().with_fault(Fault::NotFound),
            |e| matches!(e, MoodleError::NotFound { .. }),
            &["404", "wwwroot", "/production/webservice/rest/server.php"],
        ),
        (
            production().with_fault(Fault::SiteRootHtml),
            |e| matches!(e, MoodleError::HtmlInsteadOfJson { .. }),
            &["HTML", "Check the url", "wwwroot"],
        ),
        (
            production().with_fault(Fault::TruncatedJson),
            |e| matches!(e, MoodleError::TruncatedJson { .. }),
            &["truncated"],
        ),
        (
            production().with_fault(Fault::InvalidJson),
            |e| matches!(e, MoodleError::InvalidJson { .. }),
            &["not valid JSON", "Warning"],
        ),
        (
            production().with_fault(Fault::WrongContentType),
            |e| matches!(e, MoodleError::WrongContentType { .. }),
            &["application/xml"],
        ),
        (
            production().with_fault(Fault::Redirect {
                status: 301,
                location: "https://moodle.example.edu/webservice/rest/server.php".into(),
            }),
            |e| matches!(e, MoodleError::Redirect { status: 301, .. }),
            &[
                "https://moodle.example.edu/webservice/rest/server.php",
                "http→https",
                "re-send the token",
            ],
        ),
        (
            production().with_fault(Fault::HugeBody),
            |e| matches!(e, MoodleError::BodyTooLarge { .. }),
            &["larger than 8388608 bytes"],
        ),
        (
            production().with_fault(Fault::EndlessBody),
            |e| matches!(e, MoodleError::BodyTooLarge { .. }),
            &["abandoned"],
        ),
        (
            production().with_fault(Fault::Reset),
            |e| matches!(e, MoodleError::ConnectionClosed { .. }),
            &["closed the connection"],
        ),
        (
            production().with_fault(Fault::FailFirst(100)),
            |e| matches!(e, MoodleError::ServerError { status: 502, .. }),
            &["HTTP 502", "error logs"],
        ),
    ];
    for (site, check, phrases) in cases {
        let faults = format!("{:?} token={}", site.faults, site.token == TOKEN);
        let (err, _) = pull_error(site, 0).await;
        assert!(check(&err), "{faults}: got {err:?}");
        let text = err.to_string();
        for phrase in phrases {
            assert!(text.contains(phrase), "{faults}: {text:?} lacks {phrase:?}");
        }
    }
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let fake = FakeMoodle::start(vec![production().with_fault(Fault::FailFirst(2))]);
    let info = client(&env_for(&fake, "production", 2))
        .site_info(&token())
        .await
        .unwrap();
    assert_eq!(info.sitename, "Example Moodle");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_configured_count() {
    let (err, requests) = pull_error(production().with_fault(Fault::FailFirst(100)), 2).await;
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn token_and_access_errors_are_never_retried() {
    for fault in [Fault::InvalidToken, Fault::AccessException] {
        let (err, requests) = pull_error(production().with_fault(fault.clone()), 3).await;
        assert!(!err.is_transient(), "{err:?}");
        assert_eq!(requests, 1, "{fault:?}");
    }
    let (err, requests) = pull_error(production().with_fault(Fault::PluginMissing), 3).await;
    assert!(matches!(err, MoodleError::PluginMissing { .. }), "{err:?}");
    assert_eq!(requests, 1, "site info and the plugin function, once each");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for() {
    let fake = FakeMoodle::start(vec![production().with_fault(Fault::MaintenanceFor {
        requests: 1,
        retry_after: 1,
    })]);
    let started = Instant::now();
    client(&env_for(&fake, "production", 1))
        .site_info(&token())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_fails_at_once() {
    let started = Instant::now();
    let (err, requests) = pull_error(production().with_fault(Fault::Maintenance), 3).await;
    assert!(matches!(err, MoodleError::Maintenance { .. }), "{err:?}");
    assert_eq!(requests, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn assert_times_out(fault: Fault) {
    let fake = FakeMoodle::start(vec![production().with_fault(fault)]);
    let mut env = env_for(&fake, "production", 0);
    env.timeout = Duration::from_millis(800);
    let started = Instant::now();
    let err = client(&env).site_info(&token()).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, MoodleError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("0.8 s"), "{err}");
    assert!(took < Duration::from_millis(2000), "took {took:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_time() {
    assert_times_out(Fault::StallBeforeHeaders).await;
}

#[tokio::test]
async fn a_server_that_stops_mid_answer_times_out_in_time() {
    assert_times_out(Fault::StallMidBody).await;
}

#[tokio::test]
async fn latency_within_the_timeout_is_fine() {
    let fake = FakeMoodle::start(vec![
        production().with_fault(Fault::Latency(Duration::from_millis(200))),
    ]);
    let started = Instant::now();
    client(&env_for(&fake, "production", 0))
        .site_info(&token())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused_and_transient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = Environment::new(
        "closed",
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
    );
    env.retries = 1;
    let err = client(&env).site_info(&token()).await.unwrap_err();
    assert!(
        matches!(err, MoodleError::ConnectionRefused { .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("refused"), "{err}");
    assert_token_not_shown(&err);
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_before_any_connection() {
    let env = Environment::new("prod", Url::parse("http://moodle.example.edu").unwrap());
    let err = Client::new(&env).unwrap_err();
    assert!(matches!(err, MoodleError::InsecureUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("allow_http"), "{err}");

    let mut allowed = env.clone();
    allowed.allow_http = true;
    let c = Client::new(&allowed).unwrap();
    assert_eq!(c.warnings().len(), 1);
    assert!(c.warnings()[0].contains("unencrypted"));
}

#[tokio::test]
async fn loopback_http_needs_no_warning() {
    let fake = FakeMoodle::start(vec![production()]);
    let c = Client::new(&env_for(&fake, "production", 0)).unwrap();
    assert!(c.warnings().is_empty());
}

#[tokio::test]
async fn many_sites_are_pulled_concurrently_on_one_runtime() {
    let sites: Vec<_> = (0..200)
        .map(|i| {
            FakeSite::production(&format!("site{i}"), TOKEN).latency(Duration::from_millis(50))
        })
        .collect();
    let fake = FakeMoodle::start(sites);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let c = client(&env_for(&fake, &format!("site{i}"), 0));
        tasks.spawn(async move { c.pull(&Token::new(TOKEN)).await });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 200);
    // Sequentially this would take 200 × 2 × 50 ms = 20 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
