//! The client over TLS against the fake Moodle with certificates generated per test: a private
//! CA trusted through `ca_file`, and leaves that are untrusted, for another name, or expired.

mod support;

use std::io::Write;
use std::time::Duration;

use maildrift::config::Environment;
use maildrift::moodle::{Client, MoodleError};
use maildrift::token::Token;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault, TlsIdentity};
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;
use url::Url;

const TOKEN: &str = "LEAKCHECK0123456789abcdef0123456";

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "maildrift test internal CA");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn leaf(ca: &Ca, names: &[&str], expired: bool) -> TlsIdentity {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    TlsIdentity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

fn ca_file(ca: &Ca) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(ca.pem.as_bytes()).unwrap();
    file
}

fn env_for(fake: &FakeMoodle, ca: Option<&tempfile::NamedTempFile>) -> Environment {
    let url = Url::parse(&fake.url("production")).unwrap();
    assert_eq!(url.scheme(), "https");
    let mut env = Environment::new("production", url);
    env.retries = 0;
    env.timeout = Duration::from_secs(5);
    env.ca_file = ca.map(|f| f.path().to_path_buf());
    env
}

fn production() -> FakeSite {
    FakeSite::production("production", TOKEN)
}

async fn pull(env: &Environment) -> Result<maildrift::snapshot::Snapshot, MoodleError> {
    Client::new(env)?.pull(&Token::new(TOKEN)).await
}

fn assert_clean(err: &MoodleError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.starts_with("production: "), "{shown}");
}

#[tokio::test]
async fn a_private_ca_in_ca_file_is_trusted() {
    let ca = new_ca();
    let fake = FakeMoodle::start_tls(
        vec![production()],
        leaf(&ca, &["localhost", "127.0.0.1"], false),
    );
    let file = ca_file(&ca);
    let snap = pull(&env_for(&fake, Some(&file))).await.unwrap();
    assert_eq!(snap.value("smtphosts"), "smtp-relay.example.edu:587");
}

#[tokio::test]
async fn without_ca_file_a_private_ca_is_an_unknown_authority() {
    let ca = new_ca();
    let fake = FakeMoodle::start_tls(vec![production()], leaf(&ca, &["localhost"], false));
    let err = pull(&env_for(&fake, None)).await.unwrap_err();
    assert!(matches!(err, MoodleError::TlsUnknownCa { .. }), "{err:?}");
    assert!(err.to_string().contains("ca_file"), "{err}");
    assert!(!err.is_transient());
    assert_clean(&err);
    assert!(
        fake.requests().is_empty(),
        "nothing may be sent over an unverified connection"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_rejected() {
    let ca = new_ca();
    let fake = FakeMoodle::start_tls(vec![production()], leaf(&ca, &["other.example"], false));
    let file = ca_file(&ca);
    let err = pull(&env_for(&fake, Some(&file))).await.unwrap_err();
    assert!(matches!(err, MoodleError::TlsWrongHost { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("localhost") && text.contains("other.example"),
        "{text}"
    );
    assert_clean(&err);
}

#[tokio::test]
async fn an_expired_certificate_is_rejected() {
    let ca = new_ca();
    let fake = FakeMoodle::start_tls(vec![production()], leaf(&ca, &["localhost"], true));
    let file = ca_file(&ca);
    let err = pull(&env_for(&fake, Some(&file))).await.unwrap_err();
    assert!(matches!(err, MoodleError::TlsExpired { .. }), "{err:?}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert_clean(&err);
}

#[tokio::test]
async fn a_redirect_over_tls_is_not_followed_and_names_the_location() {
    let ca = new_ca();
    let location = "https://moodle.example.edu/webservice/rest/server.php";
    let site = production().with_fault(Fault::Redirect {
        status: 302,
        location: location.into(),
    });
    let fake = FakeMoodle::start_tls(vec![site], leaf(&ca, &["localhost"], false));
    let file = ca_file(&ca);
    let err = pull(&env_for(&fake, Some(&file))).await.unwrap_err();
    assert!(
        matches!(err, MoodleError::Redirect { status: 302, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(location), "{err}");
    // A pull asks site info and the configuration together; each reached the site once and
    // nothing followed the redirect.
    let requests = fake.requests();
    for function in [
        "core_webservice_get_site_info",
        "local_maildrift_get_mail_config",
    ] {
        let n = requests
            .iter()
            .filter(|r| r.function() == Some(function))
            .count();
        assert!(n <= 1, "{function} sent {n} times");
    }
    assert!(
        !requests.is_empty() && requests.len() <= 2,
        "{} requests",
        requests.len()
    );
    assert_clean(&err);
}

#[tokio::test]
async fn an_unreadable_or_empty_ca_file_is_reported_before_connecting() {
    let mut env = Environment::new("production", Url::parse("https://localhost:1").unwrap());
    env.ca_file = Some("/nonexistent/maildrift-ca.pem".into());
    let err = Client::new(&env).unwrap_err();
    assert!(matches!(err, MoodleError::CaFile { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/maildrift-ca.pem"),
        "{err}"
    );

    let mut empty = tempfile::NamedTempFile::new().unwrap();
    empty.write_all(b"not a certificate\n").unwrap();
    env.ca_file = Some(empty.path().to_path_buf());
    let err = Client::new(&env).unwrap_err();
    assert!(matches!(err, MoodleError::CaFile { .. }), "{err:?}");
}
