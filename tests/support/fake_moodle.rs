//! A fake Moodle web service for tests: a real HTTP/1.x server on 127.0.0.1, written by hand
//! over `tokio::net::TcpListener` so that every byte, stall and reset is under the test's
//! control. Its answers copy a real Moodle 4.5.8+ (`/work/shared/moodle-ws-samples/`): status
//! lines, header spelling (`Content-type: application/json`), bodies.
//!
//! One file past 700 lines on purpose: the site model, the catalogue of faults and the
//! connection loop that plays them are one HTTP conversation; `tests/fake_moodle_fidelity.rs`
//! holds all of it to the captured samples, which is easier to review in one place.
//!
//! # Use
//!
//! ```ignore
//! mod support;
//! use support::fake_moodle::{FakeMoodle, FakeSite, Fault};
//!
//! const TOKEN: &str = "0123456789abcdef0123456789abcdef";
//! let fake = FakeMoodle::start(vec![
//!     FakeSite::production("production", TOKEN),
//!     FakeSite::staging("staging", TOKEN).with_fault(Fault::Latency(Duration::from_millis(50))),
//! ]);
//! let url: String = fake.url("production");   // "http://127.0.0.1:PORT/production" = wwwroot
//! // ... run maildrift against `url` ...
//! let reqs = fake.requests();                 // every request, in arrival order
//! assert!(reqs.iter().all(|r| !r.target.contains(TOKEN)));
//! ```
//!
//! - One server holds any number of sites; each site's wwwroot is `/<name>` below the server,
//!   so its endpoint is `/<name>/webservice/rest/server.php`. Hundreds of sites cost one
//!   thread and one socket.
//! - The server runs on its own thread with its own tokio runtime, so synchronous tests (e.g.
//!   `assert_cmd` driving the binary) and `#[tokio::test]`s use it alike. It stops on drop.
//! - [`FakeSite::production`] and [`FakeSite::staging`] are production-like and differ in the
//!   relay (`smtphosts`), `divertallemailsto`, `noreplyaddress`, `smtppass` and DKIM. Change them
//!   with [`FakeSite::setting`], [`FakeSite::functions`], [`FakeSite::with_fault`],
//!   [`FakeSite::test_mail_interval`], or replace whole answers ([`FakeSite::mail_config`],
//!   [`FakeSite::health`], [`FakeSite::test_mail`]).
//! - A site behaves like Moodle: wrong token → `invalidtoken`; a function the site has
//!   ([`CORE_FUNCTIONS`], the plugin's) but not in the token's service → `accessexception`;
//!   unknown function → `invalidrecord`. [`FakeSite::raw_answer`] serves a captured body verbatim. [`Fault`]s make it
//!   misbehave; faults can be changed while running with [`FakeMoodle::set_faults`].
//! - [`FakeMoodle::start_tls`] serves the same over TLS with a given certificate; URLs then use
//!   `https://localhost:PORT/<name>`.
//! - Requests to paths outside any site's endpoint answer Apache's 404 page (sample 44).
//!
//! One file past 700 lines because the captured pages (maintenance, 404, site root) are kept
//! beside the code that serves them, byte for byte; tests/fake_moodle_fidelity.rs holds the fake
//! to the samples.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Functions of the `maildrift` service defined by local_maildrift.
pub const PLUGIN_FUNCTIONS: [&str; 3] = [
    "local_maildrift_get_mail_config",
    "local_maildrift_get_mail_health",
    "local_maildrift_send_test_mail",
];
pub const SITE_INFO: &str = "core_webservice_get_site_info";

/// Core functions that exist on every Moodle 4.5 site (those in samples 01, 06 and 09): a token
/// whose service lacks one gets `accessexception` for it, not `invalidrecord` (sample 06).
pub const CORE_FUNCTIONS: [&str; 13] = [
    SITE_INFO,
    "tool_mobile_get_config",
    "tool_mobile_get_public_config",
    "tool_mobile_get_plugins_supporting_mobile",
    "core_get_string",
    "core_get_strings",
    "core_get_component_strings",
    "core_user_get_user_preferences",
    "core_user_get_users",
    "core_user_get_users_by_field",
    "core_course_get_courses",
    "core_course_get_categories",
    "core_enrol_get_users_courses",
];

/// Ways a site misbehaves. The first fault that applies to a request decides the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Every call answers `invalidtoken` (token deleted or expired).
    InvalidToken,
    /// Every call answers `accessexception` (user not authorised, IP restriction, ...).
    AccessException,
    /// local_maildrift is not installed: its functions answer `invalidrecord` and site info
    /// does not list them.
    PluginMissing,
    /// Plugin functions answer `invalidparameter`.
    InvalidParameter,
    /// HTTP/1.0 403 with an empty text/html body (web services or REST disabled; sample 40).
    WebServicesDisabled,
    /// HTTP 503 "Moodle under maintenance" with `Retry-After: 300` and the HTML page (sample 42).
    Maintenance,
    /// The first `requests` requests get a 503 with this `Retry-After`, then normal answers.
    MaintenanceFor { requests: u32, retry_after: u32 },
    /// HTTP 404 with Apache's HTML page (sample 44).
    NotFound,
    /// HTTP 200 with Moodle's front page HTML (sample 45).
    SiteRootHtml,
    /// The correct JSON answer, cut in the middle (connection closed early).
    TruncatedJson,
    /// A PHP warning printed before the JSON (debugdisplay on), still as application/json.
    InvalidJson,
    /// The XML answer Moodle gives without `moodlewsrestformat=json` (application/xml).
    WrongContentType,
    /// A redirect with this status and Location.
    Redirect { status: u16, location: String },
    /// Reads the request, then never answers.
    StallBeforeHeaders,
    /// Sends the headers and half the body, then stalls.
    StallMidBody,
    /// Reads the request, then resets the connection (RST) without answering.
    Reset,
    /// A 200 application/json answer of 9 MiB, without Content-Length.
    HugeBody,
    /// A 200 application/json answer that never ends.
    EndlessBody,
    /// The normal answer with `Transfer-Encoding: chunked` (as PHP-FPM behind nginx sends it).
    Chunked,
    /// A 200 application/json answer of 9 MiB in chunked transfer encoding.
    HugeChunked,
    /// Waits this long before answering (adds to [`FakeSite::latency`]).
    Latency(Duration),
    /// The first `n` requests get `502 Bad Gateway`, later ones normal answers.
    FailFirst(u32),
}

/// One Moodle site served by the fake.
#[derive(Debug, Clone)]
pub struct FakeSite {
    pub name: String,
    /// The only token accepted.
    pub token: String,
    pub sitename: String,
    /// Functions of the token's service, as listed by site info and allowed to be called.
    pub functions: Vec<String>,
    pub mail_config: Value,
    /// Health answer; its `days` is replaced by the requested value.
    pub health: Value,
    pub test_mail: Value,
    /// A second test mail within this interval answers `testmailtoosoon`.
    pub test_mail_interval: Duration,
    pub latency: Duration,
    pub faults: Vec<Fault>,
    /// Bodies served verbatim for a function (after the token and service checks).
    pub raw: HashMap<String, String>,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The site the path belongs to, if any.
    pub site: Option<String>,
    pub method: String,
    /// Path and query exactly as in the request line.
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// Raw body (form-encoded).
    pub body: String,
    /// The decoded form fields.
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn function(&self) -> Option<&str> {
        self.field("wsfunction")
    }

    /// Whether `needle` occurs anywhere but the body: request line or any header.
    pub fn outside_body_contains(&self, needle: &str) -> bool {
        self.target.contains(needle)
            || self
                .headers
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
    }
}

/// A TLS certificate chain and key for [`FakeMoodle::start_tls`].
pub struct TlsIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

const RELEASE: &str = "4.5.8+ (Build: 20260126)";
const VERSION: &str = "2024100708.05";
const PLUGIN_VERSION: &str = "2026112900";
/// A syntactically plausible SubjectPublicKeyInfo (base64); only compared, never parsed.
const PRODUCTION_DKIM_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwm4l3mZJ0Yq8pDkq2Nf1bX7cR5uTz0hQeJ9vK3sLw8aY6nP4dE2gH1jM5oB7iU0tS9rV3xW6yZ4fC8bN2kL1qA0eD5gT7hJ3mR9uV6wY2zX4cB8nK1pL5sQ0oE3iG7tH9fD2aW6jM4rU8vN1yZ5xC3bK0lP7qS2eT9gF4hJ6dA1wO3iR5uV8mY0zX2cB4nK7pL9sQ1oE6tG3hJ5fD8aW0jM2rU4vN7yZ9xC1bK3lP5qS8eT0gF6hJ2dA4wO7iR9uV1mY3zX5cB7nK0pL2sQ4oE9tG6hJ8fD1aW3jM5rU7vN0yZ2xC4bK6lP8qS1eT3gQIDAQAB";

/// Production-like values of every mail setting maildrift knows.
fn production_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("smtphosts", "smtp-relay.example.edu:587"),
        ("smtpsecure", "tls"),
        ("smtpauthtype", "LOGIN"),
        ("smtpoauthservice", ""),
        ("smtpuser", "moodle-mailer"),
        ("smtpmaxbulk", "1"),
        ("noreplyaddress", "noreply@moodle.example.edu"),
        ("allowedemaildomains", "example.edu\nmoodle.example.edu"),
        ("divertallemailsto", ""),
        ("divertallemailsexcept", ""),
        ("emaildkimselector", "md2026"),
        ("sitemailcharset", "0"),
        ("allowusermailcharset", "0"),
        ("allowattachments", "1"),
        ("mailnewline", "LF"),
        ("emailfromvia", "1"),
        ("emailsubjectprefix", ""),
        ("emailheaders", ""),
        ("noemailever", "0"),
        ("handlebounces", "0"),
        ("minbounces", "10"),
        ("bounceratio", ".20"),
        ("maildomain", ""),
        ("mailprefix", "mdl+"),
        ("supportemail", "support@example.edu"),
        ("supportname", "Example University Moodle support"),
        ("messageinbound_enabled", "0"),
        ("messageinbound_mailbox", ""),
        ("messageinbound_domain", ""),
        ("messageinbound_host", ""),
        ("messageinbound_hostssl", "ssl"),
        ("messageinbound_hostoauth", ""),
        ("messageinbound_hostuser", ""),
    ]
}

fn settings_json(values: &[(&str, &str)]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value, "isset": true, "forced": false}))
            .collect(),
    )
}

impl FakeSite {
    /// A production site: authenticated relay, DKIM key present, no diversion.
    pub fn production(name: &str, token: &str) -> FakeSite {
        let sitename = "Example Moodle".to_string();
        FakeSite {
            name: name.to_string(),
            token: token.to_string(),
            functions: std::iter::once(SITE_INFO)
                .chain(PLUGIN_FUNCTIONS)
                .map(String::from)
                .collect(),
            mail_config: json!({
                "release": RELEASE,
                "version": VERSION,
                "pluginversion": PLUGIN_VERSION,
                "wwwroot": "https://moodle.example.edu",
                "settings": settings_json(&production_settings()),
                "secrets": [{"name": "smtppass", "isset": true}, {"name": "messageinbound_hostpass", "isset": false}],
                "dkim": [{"domain": "moodle.example.edu", "selector": "md2026", "keyfile": true, "publickey": PRODUCTION_DKIM_KEY}],
                "warnings": [],
            }),
            health: default_health(),
            test_mail: json!({
                "sent": true,
                "error": "",
                "subject": format!("maildrift test md-0a1b2c3d4e5f from {sitename}"),
                "token": "md-0a1b2c3d4e5f",
                "timesent": 1795940000,
                "warnings": [],
            }),
            sitename,
            test_mail_interval: Duration::from_secs(60),
            latency: Duration::ZERO,
            faults: Vec::new(),
            raw: HashMap::new(),
        }
    }

    /// A staging site: unauthenticated internal relay, all mail diverted, no DKIM.
    pub fn staging(name: &str, token: &str) -> FakeSite {
        let mut site = FakeSite::production(name, token);
        site.sitename = "Example Moodle (staging)".into();
        site.mail_config["wwwroot"] = json!("https://moodle-staging.example.edu");
        site.mail_config["secrets"][0]["isset"] = json!(false);
        site.mail_config["dkim"] = json!([]);
        site.test_mail["subject"] =
            json!("maildrift test md-0a1b2c3d4e5f from Example Moodle (staging)");
        site.setting("smtphosts", "smtp-staging.example.edu:25")
            .setting("smtpsecure", "")
            .setting("smtpauthtype", "LOGIN")
            .setting("smtpuser", "")
            .setting("noreplyaddress", "noreply@moodle-staging.example.edu")
            .setting("divertallemailsto", "moodle-staging-sink@example.edu")
            .setting("divertallemailsexcept", "@example.edu")
            .setting("emaildkimselector", "")
    }

    /// Sets (or adds) one setting in the mail config answer.
    pub fn setting(mut self, name: &str, value: &str) -> FakeSite {
        let entry = json!({"name": name, "value": value, "isset": true, "forced": false});
        if let Some(list) = self.mail_config["settings"].as_array_mut() {
            match list.iter_mut().find(|s| s["name"] == name) {
                Some(existing) => existing["value"] = json!(value),
                None => list.push(entry),
            }
        }
        self
    }

    /// Replaces the token's service function list.
    pub fn functions(mut self, functions: &[&str]) -> FakeSite {
        self.functions = functions.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Serves `body` exactly as given for `function` (e.g. a captured fixture).
    pub fn raw_answer(mut self, function: &str, body: &str) -> FakeSite {
        self.raw.insert(function.to_string(), body.to_string());
        self
    }

    pub fn with_fault(mut self, fault: Fault) -> FakeSite {
        self.faults.push(fault);
        self
    }

    pub fn latency(mut self, latency: Duration) -> FakeSite {
        self.latency = latency;
        self
    }

    pub fn test_mail_interval(mut self, interval: Duration) -> FakeSite {
        self.test_mail_interval = interval;
        self
    }

    pub fn mail_config(mut self, answer: Value) -> FakeSite {
        self.mail_config = answer;
        self
    }

    pub fn health(mut self, answer: Value) -> FakeSite {
        self.health = answer;
        self
    }

    pub fn test_mail(mut self, answer: Value) -> FakeSite {
        self.test_mail = answer;
        self
    }

    fn plugin_installed(&self) -> bool {
        !self.faults.contains(&Fault::PluginMissing)
    }
}

/// The health answer documented for local_maildrift_get_mail_health.
pub fn default_health() -> Value {
    json!({
        "generatedat": 1795940000, "days": 7,
        "cron": {"lastcronstart": 1795939900, "lastcroninterval": 60},
        // The plugin puts the mail-task counts beside `adhoc`, not inside it
        // (tests/fixtures/moodle/get_mail_health.json, captured from a real site).
        "adhoc": {"pending": 12, "duenow": 3, "oldestdue": 1795939000, "failing": 1, "maxfaildelay": 240},
        "mail": {"pending": 4, "duenow": 2, "oldestdue": 1795939500, "failing": 0, "maxfaildelay": 0},
        "mailtasks": ["\\mod_forum\\task\\send_user_notifications"],
        "failedmail": {"logavailable": true, "count": 2, "lastfailure": 1795930000,
                       "recent": [{"time": 1795930000, "recipientdomain": "example.org", "error": "SMTP Error: Could not connect to SMTP host."}],
                       "messagesent": 840},
        "bounces": {"handlebounces": false, "minbounces": 10, "bounceratio": "0.2", "usersoverthreshold": 0},
        "warnings": [],
    })
}

struct SiteState {
    site: FakeSite,
    /// Requests to the endpoint so far, for FailFirst / MaintenanceFor.
    calls: u32,
    last_test_mail: Option<Instant>,
}

struct Shared {
    base: String,
    authority: String,
    sites: Mutex<HashMap<String, SiteState>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A running fake Moodle; stops when dropped.
pub struct FakeMoodle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeMoodle {
    /// Starts a plain-http fake on 127.0.0.1 serving `sites`.
    pub fn start(sites: Vec<FakeSite>) -> FakeMoodle {
        Self::launch(sites, None)
    }

    /// Starts the fake over TLS with the given certificate; URLs use `localhost`.
    pub fn start_tls(sites: Vec<FakeSite>, identity: TlsIdentity) -> FakeMoodle {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .expect("fake Moodle TLS certificate");
        Self::launch(
            sites,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn launch(sites: Vec<FakeSite>, tls: Option<tokio_rustls::TlsAcceptor>) -> FakeMoodle {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (scheme, host) = if tls.is_some() {
            ("https", "localhost")
        } else {
            ("http", "127.0.0.1")
        };
        let shared = Arc::new(Shared {
            base: format!("{scheme}://{host}:{}", addr.port()),
            authority: addr.to_string(),
            sites: Mutex::new(
                sites
                    .into_iter()
                    .map(|site| {
                        (
                            site.name.clone(),
                            SiteState {
                                site,
                                calls: 0,
                                last_test_mail: None,
                            },
                        )
                    })
                    .collect(),
            ),
            requests: Mutex::new(Vec::new()),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-moodle".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake Moodle runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        _ = rx => {}
                        _ = accept_loop(listener, server, tls) => {}
                    }
                });
                // Dropping the runtime cancels stalled connections.
            })
            .expect("spawn fake Moodle thread");
        FakeMoodle {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The site's wwwroot, e.g. `http://127.0.0.1:40123/production`.
    pub fn url(&self, site: &str) -> String {
        format!("{}/{site}", self.shared.base)
    }

    /// The site's REST endpoint URL.
    pub fn endpoint(&self, site: &str) -> String {
        format!("{}/webservice/rest/server.php", self.url(site))
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Requests received for one site.
    pub fn requests_for(&self, site: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.site.as_deref() == Some(site))
            .collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Replaces a site's faults and resets its request counter.
    pub fn set_faults(&self, site: &str, faults: Vec<Fault>) {
        if let Some(state) = lock(&self.shared.sites).get_mut(site) {
            state.site.faults = faults;
            state.calls = 0;
        }
    }

    /// Adds or replaces a site while running.
    pub fn put_site(&self, site: FakeSite) {
        lock(&self.shared.sites).insert(
            site.name.clone(),
            SiteState {
                site,
                calls: 0,
                last_test_mail: None,
            },
        );
    }
}

impl Drop for FakeMoodle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection the fake can reset: plain TCP or TLS over TCP.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(stream, shared).await,
                Some(acceptor) => {
                    // A client rejecting our certificate ends the handshake; nothing to serve.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, shared).await;
                    }
                }
            }
        });
    }
}

/// What the fake does with one request.
enum Action {
    Reply(Vec<u8>),
    /// Send these bytes, then stall (or for `None`, stall without sending anything).
    Stall(Option<Vec<u8>>),
    Reset,
    Stream {
        head: Vec<u8>,
        total: Option<usize>,
    },
    /// Send the head, then `body` in chunks of 64 KiB with chunked transfer encoding.
    Chunked {
        head: Vec<u8>,
        body: Vec<u8>,
    },
}

async fn serve<S: Conn>(mut stream: S, shared: Arc<Shared>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    lock(&shared.requests).push(request.clone());
    let (action, delay) = decide(&shared, &request);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match action {
        Action::Reply(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
        }
        Action::Stall(bytes) => {
            if let Some(bytes) = bytes {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Action::Reset => {
            // SO_LINGER 0 turns the close into a RST; it does not block with a zero timeout.
            #[allow(deprecated)]
            let _ = stream.tcp().set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Action::Chunked { head, body } => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            for chunk in body.chunks(64 * 1024) {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(b"\r\n");
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
        }
        Action::Stream { head, total } => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0usize;
            while total.is_none_or(|t| sent < t) {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = stream.write_all(b"\"}\n").await;
            let _ = stream.shutdown().await;
        }
    }
}

async fn read_request<S: Conn>(stream: &mut S) -> Option<RecordedRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    let path = target.split('?').next().unwrap_or_default();
    let site = path
        .strip_prefix('/')
        .and_then(|p| p.split('/').next())
        .filter(|s| !s.is_empty())
        .map(String::from);
    Some(RecordedRequest {
        site,
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        form,
    })
}

fn decide(shared: &Shared, request: &RecordedRequest) -> (Action, Duration) {
    let mut sites = lock(&shared.sites);
    let Some(state) = request.site.as_ref().and_then(|s| sites.get_mut(s)) else {
        return (not_found(shared, &request.target), Duration::ZERO);
    };
    let delay = state.site.latency
        + state
            .site
            .faults
            .iter()
            .map(|f| match f {
                Fault::Latency(d) => *d,
                _ => Duration::ZERO,
            })
            .sum::<Duration>();
    let endpoint = format!("/{}/webservice/rest/server.php", state.site.name);
    let path = request.target.split('?').next().unwrap_or_default();
    if path != endpoint {
        let action = if state.site.faults.contains(&Fault::SiteRootHtml) {
            Action::Reply(site_root(shared))
        } else {
            not_found(shared, &request.target)
        };
        return (action, delay);
    }
    state.calls += 1;
    let calls = state.calls;
    let function = request.function().unwrap_or_default().to_string();
    let is_plugin = function.starts_with("local_maildrift_");
    for fault in &state.site.faults {
        let action = match fault {
            Fault::FailFirst(n) if calls <= *n => Some(bad_gateway()),
            Fault::MaintenanceFor {
                requests,
                retry_after,
            } if calls <= *requests => Some(maintenance(shared, *retry_after)),
            Fault::Maintenance => Some(maintenance(shared, 300)),
            Fault::WebServicesDisabled => Some(forbidden(shared)),
            Fault::NotFound => Some(not_found(shared, &request.target)),
            Fault::SiteRootHtml => Some(Action::Reply(site_root(shared))),
            Fault::InvalidToken => Some(json_reply(shared, INVALID_TOKEN)),
            Fault::AccessException => Some(json_reply(shared, ACCESS_EXCEPTION)),
            Fault::InvalidParameter if is_plugin => Some(json_reply(shared, INVALID_PARAMETER)),
            Fault::WrongContentType => Some(xml_reply(shared)),
            Fault::Redirect { status, location } => Some(redirect(shared, *status, location)),
            Fault::StallBeforeHeaders => Some(Action::Stall(None)),
            Fault::Reset => Some(Action::Reset),
            Fault::HugeBody => Some(Action::Stream {
                head: json_head(shared),
                total: Some(9 * 1024 * 1024),
            }),
            Fault::EndlessBody => Some(Action::Stream {
                head: json_head(shared),
                total: None,
            }),
            Fault::HugeChunked => Some(Action::Chunked {
                head: chunked_head(shared),
                body: huge_json(9 * 1024 * 1024),
            }),
            _ => None,
        };
        if let Some(action) = action {
            return (action, delay);
        }
    }
    let body = answer(shared, state, request, &function);
    let faults = &state.site.faults;
    let action = if faults.contains(&Fault::TruncatedJson) {
        // Cut without the final newline: the connection simply ends mid-answer.
        let mut bytes = json_head(shared);
        bytes.extend_from_slice(&body.as_bytes()[..body.len() / 2]);
        Action::Reply(bytes)
    } else if faults.contains(&Fault::InvalidJson) {
        let noisy = format!(
            "<br />\n<b>Warning</b>:  Undefined array key \"smtphosts\" in <b>/var/www/moodle/local/maildrift/classes/external/get_mail_config.php</b> on line <b>42</b><br />\n{body}"
        );
        Action::Reply(json_reply_bytes(shared, noisy.as_bytes()))
    } else if faults.contains(&Fault::Chunked) {
        Action::Chunked {
            head: chunked_head(shared),
            body: format!("{body}\n").into_bytes(),
        }
    } else if faults.contains(&Fault::StallMidBody) {
        let mut bytes = json_head(shared);
        bytes.extend_from_slice(&body.as_bytes()[..body.len() / 2]);
        Action::Stall(Some(bytes))
    } else {
        Action::Reply(json_reply_bytes(shared, body.as_bytes()))
    };
    (action, delay)
}

/// The JSON body Moodle would answer for a well-formed call.
fn answer(
    shared: &Shared,
    state: &mut SiteState,
    request: &RecordedRequest,
    function: &str,
) -> String {
    let site = &state.site;
    if request.field("wstoken") != Some(site.token.as_str()) {
        return INVALID_TOKEN.to_string();
    }
    let known = CORE_FUNCTIONS.contains(&function)
        || (PLUGIN_FUNCTIONS.contains(&function) && site.plugin_installed());
    if !known {
        return INVALID_RECORD.to_string();
    }
    if !site.functions.iter().any(|f| f == function) {
        return ACCESS_EXCEPTION.to_string();
    }
    if let Some(raw) = site.raw.get(function) {
        return raw.clone();
    }
    let value = match function {
        SITE_INFO => {
            let siteurl = format!("{}/{}", shared.base, site.name);
            let functions: Vec<Value> = site
                .functions
                .iter()
                .filter(|f| site.plugin_installed() || !f.starts_with("local_maildrift_"))
                .map(|f| {
                    let version = if f.starts_with("local_maildrift_") {
                        PLUGIN_VERSION
                    } else {
                        VERSION
                    };
                    json!({"name": f, "version": version})
                })
                .collect();
            json!({
                "sitename": site.sitename, "username": "maildrift", "firstname": "Maildrift",
                "lastname": "Service", "fullname": "Maildrift Service", "lang": "en", "userid": 3,
                "siteurl": siteurl, "userpictureurl": format!("{siteurl}/theme/image.php/boost/core/1795940719/u/f1"),
                "functions": functions, "downloadfiles": 1, "uploadfiles": 0,
                "release": RELEASE, "version": VERSION, "mobilecssurl": "", "advancedfeatures": [],
                "usercanmanageownfiles": true, "userquota": 0, "usermaxuploadfilesize": -1,
                "userhomepage": 1, "userprivateaccesskey": "REDACTED", "siteid": 1,
                "sitecalendartype": "gregorian", "usercalendartype": "gregorian",
                "userissiteadmin": false, "theme": "boost", "limitconcurrentlogins": 0, "policyagreed": 0,
            })
        }
        "local_maildrift_get_mail_config" => site.mail_config.clone(),
        "local_maildrift_get_mail_health" => {
            // As the plugin: PARAM_INT with VALUE_DEFAULT 7, then clamped to 1..=90.
            let days = match request.field("days") {
                None => 7,
                Some(d) => match d.trim().parse::<i64>() {
                    Ok(d) => d.clamp(1, 90),
                    Err(_) => return INVALID_PARAMETER.to_string(),
                },
            };
            let mut health = site.health.clone();
            health["days"] = json!(days);
            health
        }
        "local_maildrift_send_test_mail" => {
            if request.field("recipient").is_none_or(|r| !r.contains('@')) {
                return INVALID_PARAMETER.to_string();
            }
            let now = Instant::now();
            if let Some(last) = state.last_test_mail
                && now.duration_since(last) < site.test_mail_interval
            {
                // The plugin's wording (tests/fixtures/moodle/send_test_mail.toosoon.json).
                let wait = (site.test_mail_interval - now.duration_since(last))
                    .as_secs()
                    .max(1);
                return format!(
                    r#"{{"exception":"core\\exception\\moodle_exception","errorcode":"testmailtoosoon","message":"A test message was sent less than a minute ago. Try again in {wait} seconds."}}"#
                );
            }
            state.last_test_mail = Some(now);
            site.test_mail.clone()
        }
        _ => return INVALID_RECORD.to_string(),
    };
    php_json(&value)
}

/// JSON as PHP's json_encode writes it: slashes escaped as `\/`.
fn php_json(value: &Value) -> String {
    value.to_string().replace('/', "\\/")
}

const INVALID_TOKEN: &str = r#"{"exception":"core\\exception\\moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#;
const ACCESS_EXCEPTION: &str = r#"{"exception":"webservice_access_exception","errorcode":"accessexception","message":"Access control exception"}"#;
const INVALID_RECORD: &str = r#"{"exception":"dml_missing_record_exception","errorcode":"invalidrecord","message":"Can't find data record in database table external_functions."}"#;
const INVALID_PARAMETER: &str = r#"{"exception":"core\\exception\\invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected"}"#;
const INVALID_TOKEN_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<EXCEPTION class=\"core\\exception\\moodle_exception\">\n<ERRORCODE>invalidtoken</ERRORCODE>\n<MESSAGE>Invalid token - token not found</MESSAGE>\n</EXCEPTION>\n";

fn http_date() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn json_head(shared: &Shared) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nHost: {}\r\nDate: {}\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\nContent-type: application/json\r\nCache-Control: private, must-revalidate, pre-check=0, post-check=0, max-age=0\r\nExpires: Thu, 01 Jan 1970 00:00:00 GMT\r\nPragma: no-cache\r\nAccept-Ranges: none\r\nAccess-Control-Allow-Origin: *\r\n\r\n",
        shared.authority,
        http_date()
    )
    .into_bytes()
}

/// The JSON head with `Transfer-Encoding: chunked` instead of a close-delimited body.
fn chunked_head(shared: &Shared) -> Vec<u8> {
    let head = String::from_utf8(json_head(shared)).expect("ASCII head");
    head.replacen(
        "Connection: close\r\n",
        "Connection: close\r\nTransfer-Encoding: chunked\r\n",
        1,
    )
    .into_bytes()
}

/// A syntactically valid JSON answer of about `size` bytes.
fn huge_json(size: usize) -> Vec<u8> {
    let mut body = b"{\"sitename\":\"".to_vec();
    body.resize(size, b'a');
    body.extend_from_slice(b"\"}\n");
    body
}

/// Samples 01-09: JSON body, newline-terminated, no Content-Length, closed after.
fn json_reply_bytes(shared: &Shared, body: &[u8]) -> Vec<u8> {
    let mut bytes = json_head(shared);
    bytes.extend_from_slice(body);
    bytes.push(b'\n');
    bytes
}

fn json_reply(shared: &Shared, body: &str) -> Action {
    Action::Reply(json_reply_bytes(shared, body.as_bytes()))
}

/// Sample 11.
fn xml_reply(shared: &Shared) -> Action {
    Action::Reply(
        format!(
            "HTTP/1.1 200 OK\r\nHost: {}\r\nDate: {}\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Disposition: inline; filename=\"response.xml\"\r\nCache-Control: private, must-revalidate, pre-check=0, post-check=0, max-age=0\r\nExpires: Thu, 01 Jan 1970 00:00:00 GMT\r\nPragma: no-cache\r\nAccept-Ranges: none\r\nAccess-Control-Allow-Origin: *\r\n\r\n{INVALID_TOKEN_XML}\n",
            shared.authority,
            http_date()
        )
        .into_bytes(),
    )
}

/// Samples 40 and 41.
fn forbidden(shared: &Shared) -> Action {
    Action::Reply(
        format!(
            "HTTP/1.0 403 Forbidden\r\nHost: {}\r\nDate: {}\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\nContent-type: text/html; charset=utf-8\r\n\r\n",
            shared.authority,
            http_date()
        )
        .into_bytes(),
    )
}

/// Sample 42.
fn maintenance(shared: &Shared, retry_after: u32) -> Action {
    let date = http_date();
    Action::Reply(
        format!(
            "HTTP/1.1 503 Moodle under maintenance\r\nHost: {}\r\nDate: {date}\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\nStatus: 503 Moodle under maintenance\r\nRetry-After: {retry_after}\r\nContent-type: text/html; charset=utf-8\r\nX-UA-Compatible: IE=edge\r\nCache-Control: no-store, no-cache, must-revalidate\r\nCache-Control: post-check=0, pre-check=0\r\nPragma: no-cache\r\nExpires: Mon, 20 Aug 1969 09:23:00 GMT\r\nLast-Modified: {date}\r\nAccept-Ranges: none\r\n\r\n{MAINTENANCE_HTML}",
            shared.authority
        )
        .into_bytes(),
    )
}

/// Sample 44, naming the requested path.
fn not_found(shared: &Shared, target: &str) -> Action {
    let path = target.split('?').next().unwrap_or_default();
    let body = NOT_FOUND_HTML.replace("/webservice/rest/nothere.php", path);
    Action::Reply(
        format!(
            "HTTP/1.1 404 Not Found\r\nHost: {}\r\nDate: {}\r\nConnection: close\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
            shared.authority,
            http_date(),
            body.len()
        )
        .into_bytes(),
    )
}

/// Sample 45 (page shortened; headers as captured).
fn site_root(shared: &Shared) -> Vec<u8> {
    let date = http_date();
    format!(
        "HTTP/1.1 200 OK\r\nHost: {}\r\nDate: {date}\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\nSet-Cookie: MoodleSession=REDACTED; path=/; HttpOnly\r\nContent-Language: en\r\nContent-Type: text/html; charset=utf-8\r\nContent-Script-Type: text/javascript\r\nContent-Style-Type: text/css\r\nX-UA-Compatible: IE=edge\r\nCache-Control: no-store, no-cache, must-revalidate, no-transform\r\nPragma: no-cache\r\nExpires: Mon, 20 Aug 1969 09:23:00 GMT\r\nLast-Modified: {date}\r\nAccept-Ranges: none\r\nX-Frame-Options: sameorigin\r\n\r\n{SITE_ROOT_HTML}",
        shared.authority
    )
    .into_bytes()
}

/// What a reverse proxy answers when PHP-FPM is down (no PHP, so no echoed Host header).
fn bad_gateway() -> Action {
    let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
    Action::Reply(
        format!(
            "HTTP/1.1 502 Bad Gateway\r\nDate: {}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            http_date(),
            body.len()
        )
        .into_bytes(),
    )
}

/// What Apache sends for a redirect.
fn redirect(shared: &Shared, status: u16, location: &str) -> Action {
    let reason = match status {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => "Redirect",
    };
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n<p>The document has moved <a href=\"{location}\">here</a>.</p>\n</body></html>\n"
    );
    Action::Reply(
        format!(
            "HTTP/1.1 {status} {reason}\r\nHost: {}\r\nDate: {}\r\nLocation: {location}\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n{body}",
            shared.authority,
            http_date(),
            body.len()
        )
        .into_bytes(),
    )
}

const MAINTENANCE_HTML: &str = r##"<!DOCTYPE html>
<html  lang="en" xml:lang="en">
    <head>
        <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
                <title>Real Moodle Test Site under maintenance</title>
        <style>
body {
    margin: 0;
    font-family: -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif,"Apple Color Emoji","Segoe UI Emoji","Segoe UI Symbol","Noto Color Emoji";
    font-size: .9375rem;
    font-weight: 400;
    line-height: 1.5;
    color: #343a40;
    text-align: left;
    background-color: #f2f2f2;
}
#page {
    margin-top: 15px;
    background: white;
    max-width: 600px;
    margin: 0 auto;
    padding: 15px;
}
#region-main {
    margin: 0 auto;
    border: 1px solid rgba(0,0,0,.125);
    padding: 1rem 1.25rem 1.25rem;
    background-color: #fff;
}
h1 {
    font-size: 2.34rem;
    margin: 0 0 .5rem;
    font-weight: 300;
    line-height: 1.2;
}
.alert-danger {
    color: #6e211e;
    background-color: #f6d9d8;
    border-color: #f3c9c8;
    padding: .75rem 1.25rem;
}
"##;

const NOT_FOUND_HTML: &str = r##"<!doctype html><html><head><title>404 Not Found</title><style>
body { background-color: #fcfcfc; color: #333333; margin: 0; padding:0; }
h1 { font-size: 1.5em; font-weight: normal; background-color: #9999cc; min-height:2em; line-height:2em; border-bottom: 1px inset black; margin: 0; }
h1, p { padding-left: 10px; }
code.url { background-color: #eeeeee; font-family:monospace; padding:0 2px;}
</style>
</head><body><h1>Not Found</h1><p>The requested resource <code class="url">/webservice/rest/nothere.php</code> was not found on this server.</p></body></html>"##;

const SITE_ROOT_HTML: &str = r##"<!DOCTYPE html>

<html  dir="ltr" lang="en" xml:lang="en">
<head>
    <title>Home | realmoodle</title>
    <link rel="shortcut icon" href="http://127.0.0.1:8085/theme/image.php/boost/theme/1795940719/favicon" />
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="keywords" content="moodle, Home | realmoodle" />
<link rel="stylesheet" type="text/css" href="http://127.0.0.1:8085/theme/yui_combo.php?rollup/3.18.1/yui-moodlesimple-min.css" /><script id="firstthemesheet" type="text/css">/** Required in order to fix style inclusion problems in IE with YUI **/</script><link rel="stylesheet" type="text/css" href="http://127.0.0.1:8085/theme/styles.php/boost/1795940719_1795940754/all" />
</head>
<body id="page-site-index" class="format-site">
<div id="page-wrapper"><h1>Real Moodle Test Site</h1></div>
</body>
</html>
"##;
