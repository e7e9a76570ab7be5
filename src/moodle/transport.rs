//! One HTTP exchange with Moodle's REST endpoint: scheme rules, TLS roots, no redirects,
//! size-capped body, and turning transport failures into [`MoodleError`]s.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use url::{Host, Url};

use crate::config::Environment;
use crate::moodle::error::MoodleError;

/// Largest answer accepted. The biggest real answer (site info with a long function list) is
/// tens of KiB; anything near this is not Moodle talking.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Path of the REST endpoint below wwwroot.
const ENDPOINT: &str = "webservice/rest/server.php";

/// True for hosts that never leave this machine: 127.0.0.0/8, ::1 and the exact name
/// `localhost`, which [`http_client`] pins to those addresses so no resolver is asked. Any
/// other spelling (`localhost.` is a fully qualified name that network DNS answers) is not
/// loopback.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        // The url crate lower-cases domains and turns IP literals into Ipv4/Ipv6 hosts.
        Some(Host::Domain(d)) => d == LOCALHOST,
        None => false,
    }
}

/// The one name treated as loopback, and where it goes (port 0: the url's port is used).
const LOCALHOST: &str = "localhost";
const LOCALHOST_ADDRS: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
];

/// Applies the scheme rules. Returns the warning to print on every run when plain http to a
/// non-loopback host is allowed by `allow_http`.
pub(crate) fn check_scheme(env: &Environment) -> Result<Option<String>, MoodleError> {
    match env.url.scheme() {
        "https" => Ok(None),
        "http" if is_loopback(&env.url) => Ok(None),
        "http" if env.allow_http => Ok(Some(format!(
            "{}: plain http to {} (allow_http = true): the token and the mail settings cross the \
             network unencrypted",
            env.name,
            env.url.host_str().unwrap_or_default()
        ))),
        _ => Err(MoodleError::InsecureUrl {
            env: env.name.clone(),
            url: env.url.to_string(),
        }),
    }
}

/// `<wwwroot>/webservice/rest/server.php`, keeping any path wwwroot has (Moodle in a
/// sub-directory) and dropping query and fragment.
pub(crate) fn endpoint(wwwroot: &Url) -> Url {
    let mut url = wwwroot.clone();
    url.set_query(None);
    url.set_fragment(None);
    let path = format!("{}/{ENDPOINT}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// What makes two environments able to share one reqwest client (and its connection pool).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    connect_timeout: Duration,
    ca_file: Option<PathBuf>,
    loopback: bool,
}

// Building a client loads the system's root certificates, which is slow; with hundreds of
// environments most share the same settings, so clients are built once per setting combination.
static CLIENTS: LazyLock<Mutex<HashMap<ClientKey, reqwest::Client>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

pub(crate) fn http_client(env: &Environment) -> Result<reqwest::Client, MoodleError> {
    let key = ClientKey {
        connect_timeout: env.connect_timeout,
        ca_file: env.ca_file.clone(),
        loopback: is_loopback(&env.url),
    };
    let mut cache = CLIENTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(client) = cache.get(&key) {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder()
        // A redirect would send the POST body, token included, to wherever Location says.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(env.connect_timeout)
        .user_agent(concat!("maildrift/", env!("CARGO_PKG_VERSION")))
        .tls_built_in_root_certs(true);
    if key.loopback {
        // A proxy from the environment must not receive requests meant for this machine,
        // and `localhost` must not be whatever a resolver says it is.
        builder = builder
            .no_proxy()
            .resolve_to_addrs(LOCALHOST, &LOCALHOST_ADDRS);
    }
    if let Some(path) = &env.ca_file {
        let pem = std::fs::read(path).map_err(|e| MoodleError::CaFile {
            env: env.name.clone(),
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| MoodleError::CaFile {
                env: env.name.clone(),
                path: path.clone(),
                detail: format!("not a PEM certificate bundle ({})", chain_text(&e)),
            })?;
        if certs.is_empty() {
            return Err(MoodleError::CaFile {
                env: env.name.clone(),
                path: path.clone(),
                detail: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder.build().map_err(|e| MoodleError::ClientSetup {
        env: env.name.clone(),
        detail: chain_text(&e),
    })?;
    cache.insert(key, client.clone());
    Ok(client)
}

/// The parts of an HTTP answer the client looks at.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// Identifies the request in errors.
pub(crate) struct Target<'a> {
    pub env: &'a str,
    pub url: &'a Url,
    pub connect_timeout: Duration,
}

/// POSTs `form` and reads the answer, at most [`MAX_BODY`] bytes. The caller bounds the
/// whole exchange with the total timeout.
pub(crate) async fn post(
    http: &reqwest::Client,
    target: &Target<'_>,
    form: &[(&str, &str)],
) -> Result<Answer, MoodleError> {
    let mut response = http
        .post(target.url.clone())
        .form(form)
        .send()
        .await
        .map_err(|e| classify(target, &e))?;
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let status = response.status().as_u16();
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let location = header(reqwest::header::LOCATION);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let too_large = || MoodleError::BodyTooLarge {
        env: target.env.to_string(),
        url: target.url.to_string(),
        limit: MAX_BODY,
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // Bytes received so far still tell what kind of answer this was (e.g. JSON cut
            // short); a cut with nothing received is a dropped connection.
            Err(e) if e.is_body() || e.is_decode() => {
                if body.is_empty() {
                    return Err(classify(target, &e));
                }
                break;
            }
            Err(e) => return Err(classify(target, &e)),
        }
    }
    Ok(Answer {
        status,
        content_type,
        location,
        retry_after,
        body,
    })
}

/// All messages of an error chain, joined; reqwest's own message alone is too vague. The
/// chain can quote what the server sent (a malformed header, a certificate's names), so the
/// text is cleaned of terminal controls as it enters.
pub(crate) fn chain_text(err: &(dyn StdError + 'static)) -> String {
    crate::sanitise::clean_string(&raw_chain_text(err))
}

fn raw_chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        // io::Error::source() skips the error it wraps (it returns that error's source), and
        // hyper-rustls nests io errors, so wrapped errors are followed explicitly.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

/// Turns a reqwest failure into the variant that explains it.
pub(crate) fn classify(target: &Target<'_>, err: &reqwest::Error) -> MoodleError {
    let env = target.env.to_string();
    let url = target.url.to_string();
    let host = target.url.host_str().unwrap_or_default().to_string();
    if let Some(tls) = find_in_chain::<rustls::Error>(err) {
        return classify_tls(env, host, tls);
    }
    if err.is_timeout() {
        return if err.is_connect() {
            MoodleError::ConnectTimeout {
                env,
                url,
                after: target.connect_timeout,
            }
        } else {
            // reqwest's own total timeout; the caller's deadline normally fires first.
            MoodleError::Timeout {
                env,
                url,
                after: Duration::ZERO,
            }
        };
    }
    let detail = chain_text(err);
    if err.is_connect() {
        if let Some(io) = find_in_chain::<std::io::Error>(err) {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return MoodleError::ConnectionRefused { env, url };
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return MoodleError::ConnectTimeout {
                    env,
                    url,
                    after: target.connect_timeout,
                };
            }
        }
        // hyper-util reports resolver failures as "dns error" in the chain; there is no
        // public type to downcast to.
        if detail.contains("dns error") {
            return MoodleError::DnsFailure { env, host };
        }
        return MoodleError::Connect { env, url, detail };
    }
    if err.is_request() || err.is_body() || err.is_decode() {
        return MoodleError::ConnectionClosed { env, url, detail };
    }
    MoodleError::Request { env, url, detail }
}

fn classify_tls(env: String, host: String, err: &rustls::Error) -> MoodleError {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => MoodleError::TlsUnknownCa { env, host },
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => MoodleError::TlsExpired { env, host },
            C::NotValidForName => MoodleError::TlsWrongHost {
                env,
                host,
                presented: Vec::new(),
            },
            C::NotValidForNameContext { presented, .. } => MoodleError::TlsWrongHost {
                env,
                host,
                presented: presented.iter().map(|p| bare_name(p)).collect(),
            },
            other => MoodleError::Tls {
                env,
                host,
                detail: crate::sanitise::clean_string(&format!(
                    "the server's certificate was rejected ({other:?})"
                )),
            },
        },
        other => MoodleError::Tls {
            env,
            host,
            detail: crate::sanitise::clean_string(&other.to_string()),
        },
    }
}

/// rustls renders presented names as `DnsName("x")`; messages want just `x`. The names come
/// from the server's certificate, so they are cleaned too.
fn bare_name(presented: &str) -> String {
    let name = match (presented.find('"'), presented.rfind('"')) {
        (Some(start), Some(end)) if end > start => &presented[start + 1..end],
        _ => presented,
    };
    crate::sanitise::clean_string(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(url: &str) -> Environment {
        Environment::new("prod", Url::parse(url).unwrap())
    }

    #[test]
    fn presented_names_lose_their_rustls_wrapping() {
        assert_eq!(bare_name("DnsName(\"other.example\")"), "other.example");
        assert_eq!(bare_name("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn endpoint_keeps_a_sub_directory_and_drops_the_query() {
        let u = Url::parse("https://x.example/moodle/?lang=en#top").unwrap();
        assert_eq!(
            endpoint(&u).as_str(),
            "https://x.example/moodle/webservice/rest/server.php"
        );
        let root = Url::parse("https://x.example").unwrap();
        assert_eq!(
            endpoint(&root).as_str(),
            "https://x.example/webservice/rest/server.php"
        );
    }

    #[test]
    fn http_is_only_allowed_to_loopback_hosts() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:80",
            "http://localhost",
            "http://LOCALHOST:8080",
            "https://moodle.example.edu",
        ] {
            assert_eq!(check_scheme(&env(ok)), Ok(None), "{ok}");
        }
        let err = check_scheme(&env("http://moodle.example.edu")).unwrap_err();
        assert!(matches!(err, MoodleError::InsecureUrl { .. }));
        assert!(err.to_string().contains("allow_http"), "{err}");
    }

    #[test]
    fn names_that_network_dns_answers_are_not_loopback() {
        // `localhost.` is fully qualified: a resolver may send it anywhere.
        for name in [
            "http://localhost.",
            "http://LOCALHOST.:8080",
            "http://localhost.example.edu",
            "http://127.0.0.1.nip.example",
            "http://sub.localhost",
        ] {
            let err = check_scheme(&env(name)).unwrap_err();
            assert!(matches!(err, MoodleError::InsecureUrl { .. }), "{name}");
        }
    }

    /// Serves `answer` to one request on 127.0.0.1 and returns the endpoint's URL. The
    /// request is read to its end first: closing a socket with unread bytes sends a reset,
    /// which would hide the framing under test.
    async fn answer_once(answer: Vec<u8>) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                assert!(n > 0, "request ended early");
            }
            stream.write_all(&answer).await.unwrap();
            stream.shutdown().await.unwrap();
        });
        url
    }

    /// POSTs to a server answering `head` (status line and headers) followed by `body`.
    async fn post_to(head: &str, body: &[u8]) -> Result<Answer, MoodleError> {
        let mut answer = head.as_bytes().to_vec();
        answer.extend_from_slice(b"\r\n");
        answer.extend_from_slice(body);
        let url = answer_once(answer).await;
        let http = http_client(&env(url.as_str())).unwrap();
        let target = Target {
            env: "prod",
            url: &url,
            connect_timeout: Duration::from_secs(5),
        };
        post(&http, &target, &[("wstoken", "t")]).await
    }

    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n";

    #[tokio::test]
    async fn exactly_max_body_bytes_are_read_and_one_more_is_refused() {
        let full = vec![b'a'; MAX_BODY];
        let over = vec![b'a'; MAX_BODY + 1];
        // Declared by Content-Length: refused before reading when it is over the cap.
        let declared = |n: usize| format!("{OK}Content-Length: {n}\r\n");
        let answer = post_to(&declared(MAX_BODY), &full).await.unwrap();
        assert_eq!(answer.body.len(), MAX_BODY);
        let err = post_to(&declared(MAX_BODY + 1), &over).await.unwrap_err();
        assert!(matches!(err, MoodleError::BodyTooLarge { .. }), "{err:?}");
        // Undeclared (ended by closing the connection): counted as the chunks arrive.
        let answer = post_to(OK, &full).await.unwrap();
        assert_eq!(answer.body.len(), MAX_BODY);
        let err = post_to(OK, &over).await.unwrap_err();
        assert!(matches!(err, MoodleError::BodyTooLarge { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_body_cut_short_of_its_declared_length_keeps_the_bytes_that_arrived() {
        let head = format!("{OK}Content-Length: 1000\r\n");
        // What arrived still tells the caller what kind of answer it was (JSON cut short).
        let answer = post_to(&head, b"{\"sitename\":\"Cam").await.unwrap();
        assert_eq!(answer.body, b"{\"sitename\":\"Cam");
        assert_eq!(answer.status, 200);
        // Nothing at all after the head is a dropped connection.
        let err = post_to(&head, b"").await.unwrap_err();
        assert!(
            matches!(err, MoodleError::ConnectionClosed { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn allow_http_permits_plain_http_with_a_warning() {
        let mut e = env("http://10.0.0.5");
        e.allow_http = true;
        let warning = check_scheme(&e).unwrap().unwrap();
        assert!(
            warning.contains("prod") && warning.contains("unencrypted"),
            "{warning}"
        );
    }
}
