//! Where DNS answers come from: `--zone` files first, then one upstream server (the system's
//! first nameserver or `--dns-server`), through one cache shared by every environment.
//!
//! The upstream client is deliberately small and ours (hickory-proto messages over tokio
//! sockets) rather than hickory-resolver's: the checks must tell SERVFAIL, timeout, NXDOMAIN,
//! NODATA and truncation apart, and a full resolver folds several of those into "no records"
//! or retries them on other servers behind our back.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::OnceCell;

use super::zone::{Zone, ZoneAnswer};
use super::{DnsAnswer, DnsError};

/// How to build a [`Resolver`].
#[derive(Debug, Clone)]
pub struct ResolverOptions {
    /// Ask this server instead of the system's (`--dns-server`).
    pub server: Option<SocketAddr>,
    /// Master files answered before live DNS (`--zone`, repeatable).
    pub zones: Vec<PathBuf>,
    /// Answer only from `zones`; never send a packet (`--offline`).
    pub offline: bool,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times to send a question over UDP before giving up (at least 1).
    pub attempts: usize,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        ResolverOptions {
            server: None,
            zones: Vec::new(),
            offline: false,
            timeout: Duration::from_secs(3),
            attempts: 2,
        }
    }
}

/// Parses `--dns-server`: `IP`, `IP:PORT` or `[IPv6]:PORT`; the port defaults to 53.
pub fn parse_server(s: &str) -> Result<SocketAddr, DnsError> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse::<SocketAddr>().map_err(|_| {
        DnsError::Setup(format!(
            "--dns-server `{s}` is not IP, IP:PORT or [IPv6]:PORT (host names are not accepted: they would need DNS to find DNS)"
        ))
    })
}

/// The outcome of one question. Everything after `NoData` means "could not ask", which the
/// checks must never report as "no record".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NoError,
    NxDomain,
    NoData,
    ServFail,
    Refused,
    Timeout,
    /// Truncated over UDP and TCP did not deliver the full answer either.
    Truncated,
    /// `--offline` and no `--zone` file holds the name.
    NotInZone,
    /// Any other failure (network error, malformed answer, unexpected rcode).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NoError => "noerror",
            Status::NxDomain => "nxdomain",
            Status::NoData => "nodata",
            Status::ServFail => "servfail",
            Status::Refused => "refused",
            Status::Timeout => "timeout",
            Status::Truncated => "truncated",
            Status::NotInZone => "not-in-zone",
            Status::Failed => "failed",
        }
    }

    /// True when the answer says nothing about whether records exist.
    pub fn could_not_ask(self) -> bool {
        !matches!(self, Status::NoError | Status::NxDomain | Status::NoData)
    }

    /// True for NXDOMAIN and NODATA: the name or type definitely has nothing.
    pub fn is_empty(self) -> bool {
        matches!(self, Status::NxDomain | Status::NoData)
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Zone,
    Dns,
}

/// One answered question, CNAME chain included.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Lower-case, without the trailing dot.
    pub name: String,
    pub rtype: RecordType,
    pub status: Status,
    /// Answer section: CNAMEs followed, then the records of the asked type.
    pub records: Vec<Record>,
    pub origin: Origin,
    /// Why the question failed, for messages.
    pub detail: Option<String>,
}

impl Answer {
    fn failed(
        name: &str,
        rtype: RecordType,
        status: Status,
        origin: Origin,
        detail: String,
    ) -> Self {
        Answer {
            name: name.to_string(),
            rtype,
            status,
            records: Vec::new(),
            origin,
            detail: Some(detail),
        }
    }

    /// Records of the asked type (CNAMEs skipped).
    pub fn data(&self) -> impl Iterator<Item = &RData> {
        self.records
            .iter()
            .filter(move |r| r.record_type() == self.rtype)
            .map(|r| &r.data)
    }

    /// TXT strings, each record's character-strings joined as RFC 7208 §3.3 and RFC 6376
    /// §3.6.2.2 require (a 2048-bit DKIM key never fits one 255-byte string).
    pub fn txt(&self) -> Vec<String> {
        self.data()
            .filter_map(|d| match d {
                // Whoever runs the zone writes these bytes: cleaned as they become text.
                RData::TXT(t) => Some(crate::sanitise::clean_string(
                    &t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                )),
                _ => None,
            })
            .collect()
    }

    pub fn ips(&self) -> Vec<IpAddr> {
        self.data()
            .filter_map(|d| match d {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect()
    }

    /// MX records as (preference, exchange without trailing dot).
    pub fn mx(&self) -> Vec<(u16, String)> {
        self.data()
            .filter_map(|d| match d {
                RData::MX(m) => Some((m.preference, plain(&m.exchange))),
                _ => None,
            })
            .collect()
    }

    /// PTR targets without trailing dot.
    pub fn ptr_names(&self) -> Vec<String> {
        self.data()
            .filter_map(|d| match d {
                RData::PTR(p) => Some(plain(&p.0)),
                _ => None,
            })
            .collect()
    }

    pub fn ttl(&self) -> Option<u32> {
        self.records.iter().map(|r| r.ttl).min()
    }

    /// "name TYPE: status (detail)" for messages.
    pub fn describe(&self) -> String {
        match &self.detail {
            Some(d) => format!(
                "{} {}: {} ({d})",
                self.name,
                self.rtype,
                self.status.as_str()
            ),
            None => format!("{} {}: {}", self.name, self.rtype, self.status.as_str()),
        }
    }

    pub fn evidence(&self) -> DnsAnswer {
        DnsAnswer {
            name: self.name.clone(),
            rtype: self.rtype.to_string(),
            status: self.status.as_str().to_string(),
            records: self
                .records
                .iter()
                .map(|r| {
                    crate::sanitise::clean_string(&format!(
                        "{} {} {}",
                        plain(&r.name),
                        r.record_type(),
                        r.data
                    ))
                })
                .collect(),
            ttl: self.ttl(),
            origin: match self.origin {
                Origin::Zone => "zone".into(),
                Origin::Dns => "dns".into(),
            },
            detail: self.detail.clone(),
        }
    }
}

/// A name as users write it: lower case, no trailing dot. Every name taken from an answer
/// (PTR and MX targets, CNAMEs) passes here; a label on the wire may hold any byte, so the
/// text is cleaned of terminal controls.
pub fn plain(name: &Name) -> String {
    let s = name.to_lowercase().to_ascii();
    crate::sanitise::clean_string(s.strip_suffix('.').unwrap_or(&s))
}

type Slot = Arc<OnceCell<Arc<Answer>>>;

/// Answers DNS questions for all checks of one run. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    zones: Vec<Zone>,
    servers: Vec<SocketAddr>,
    offline: bool,
    timeout: Duration,
    attempts: usize,
    cache: Mutex<HashMap<(String, RecordType), Slot>>,
    upstream_questions: AtomicUsize,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("zones", &self.inner.zones.len())
            .field("servers", &self.inner.servers)
            .field("offline", &self.inner.offline)
            .finish()
    }
}

impl Resolver {
    /// Loads the zone files and finds the upstream server. Zone syntax errors name file:line.
    pub fn new(options: ResolverOptions) -> Result<Resolver, DnsError> {
        let mut zones = Vec::new();
        for p in &options.zones {
            zones.extend(Zone::load(p)?);
        }
        if options.offline && zones.is_empty() {
            return Err(DnsError::Setup(
                "--offline needs at least one --zone file to answer from".into(),
            ));
        }
        let servers = match (options.offline, options.server) {
            (true, _) => Vec::new(),
            (false, Some(s)) => vec![s],
            (false, None) => system_servers()?,
        };
        Ok(Resolver {
            inner: Arc::new(Inner {
                zones,
                servers,
                offline: options.offline,
                timeout: options.timeout,
                attempts: options.attempts.max(1),
                cache: Mutex::new(HashMap::new()),
                upstream_questions: AtomicUsize::new(0),
            }),
        })
    }

    /// How many questions went to the upstream server so far (each (name, type) at most once).
    pub fn upstream_questions(&self) -> usize {
        self.inner.upstream_questions.load(Ordering::Relaxed)
    }

    pub fn is_offline(&self) -> bool {
        self.inner.offline
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Asks once per (name, type) per run; concurrent askers of the same question wait for
    /// the first one's answer instead of sending their own.
    pub async fn query(&self, name: &str, rtype: RecordType) -> Arc<Answer> {
        let key = (normalise(name), rtype);
        let slot = {
            let mut cache = match self.inner.cache.lock() {
                Ok(c) => c,
                Err(poisoned) => poisoned.into_inner(),
            };
            cache.entry(key.clone()).or_default().clone()
        };
        slot.get_or_init(|| async { Arc::new(self.resolve(&key.0, rtype, 0).await) })
            .await
            .clone()
    }

    async fn resolve(&self, name: &str, rtype: RecordType, depth: usize) -> Answer {
        // SPF macros can build names with any printable character (`%_` is a space); DNS
        // carries such labels, so take them verbatim when the relaxed parser refuses them.
        let parsed = Name::from_str_relaxed(name)
            .or_else(|_| Name::from_labels(verbatim_labels(name.trim_end_matches('.'))));
        let Ok(mut qname) = parsed else {
            return Answer::failed(
                name,
                rtype,
                Status::Failed,
                Origin::Dns,
                "not a valid DNS name".into(),
            );
        };
        qname.set_fqdn(true);
        // The most specific zone wins, as it would in the real delegation tree.
        let zone = self
            .inner
            .zones
            .iter()
            .filter(|z| z.contains(&qname))
            .max_by_key(|z| z.origin.num_labels());
        let Some(zone) = zone else {
            if self.inner.offline {
                return Answer::failed(
                    name,
                    rtype,
                    Status::NotInZone,
                    Origin::Zone,
                    "offline and not in any --zone file".into(),
                );
            }
            return self.ask_upstream(name, &qname, rtype).await;
        };
        let mut answer = Answer {
            name: name.to_string(),
            rtype,
            status: Status::NoError,
            records: Vec::new(),
            origin: Origin::Zone,
            detail: None,
        };
        match zone.lookup(&qname, rtype) {
            ZoneAnswer::Records(r) => answer.records = r,
            ZoneAnswer::NoData => answer.status = Status::NoData,
            ZoneAnswer::NxDomain => answer.status = Status::NxDomain,
            ZoneAnswer::Cname(c) => {
                let RData::CNAME(target) = &c.data else {
                    answer.status = Status::Failed;
                    return answer;
                };
                if depth >= 8 {
                    answer.status = Status::Failed;
                    answer.detail = Some("CNAME chain longer than 8".into());
                    return answer;
                }
                let target = plain(&target.0);
                let rest = Box::pin(self.resolve(&target, rtype, depth + 1)).await;
                answer.records.push(*c);
                answer.records.extend(rest.records);
                answer.status = rest.status;
                answer.detail = rest.detail;
            }
        }
        answer
    }

    async fn ask_upstream(&self, name: &str, qname: &Name, rtype: RecordType) -> Answer {
        self.inner
            .upstream_questions
            .fetch_add(1, Ordering::Relaxed);
        let mut last = Answer::failed(
            name,
            rtype,
            Status::Failed,
            Origin::Dns,
            "no nameserver configured".into(),
        );
        for server in &self.inner.servers {
            last = ask_server(
                *server,
                name,
                qname,
                rtype,
                self.inner.timeout,
                self.inner.attempts,
            )
            .await;
            // A definite answer or SERVFAIL is the server's truth; only silence moves on.
            if !matches!(last.status, Status::Timeout | Status::Failed) {
                break;
            }
        }
        last
    }
}

/// Labels of a name as [`plain`] writes it: `.` separates, `\X` and `\DDD` are escapes.
fn verbatim_labels(name: &str) -> Vec<Vec<u8>> {
    let bytes = name.as_bytes();
    let mut labels = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        let byte = match b {
            b'.' => {
                labels.push(Vec::new());
                continue;
            }
            b'\\' => {
                let decimal = bytes
                    .get(i..i + 3)
                    .filter(|d| d.iter().all(u8::is_ascii_digit))
                    .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u8>().ok());
                match (decimal, bytes.get(i)) {
                    (Some(v), _) => {
                        i += 3;
                        v
                    }
                    (None, Some(&c)) => {
                        i += 1;
                        c
                    }
                    (None, None) => b,
                }
            }
            _ => b,
        };
        if let Some(l) = labels.last_mut() {
            l.push(byte);
        }
    }
    labels
}

fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn system_servers() -> Result<Vec<SocketAddr>, DnsError> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
        DnsError::Setup(format!(
            "cannot read the system resolver configuration: {e}"
        ))
    })?;
    let servers: Vec<SocketAddr> = config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
            SocketAddr::new(ns.ip, port)
        })
        .collect();
    if servers.is_empty() {
        return Err(DnsError::Setup(
            "the system resolver configuration names no nameserver; use --dns-server".into(),
        ));
    }
    Ok(servers)
}

/// UDP with bounded retries, then TCP when the UDP answer was truncated.
async fn ask_server(
    server: SocketAddr,
    name: &str,
    qname: &Name,
    rtype: RecordType,
    timeout: Duration,
    attempts: usize,
) -> Answer {
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    msg.set_edns(edns);
    let bytes = match msg.to_vec() {
        Ok(b) => b,
        Err(e) => return Answer::failed(name, rtype, Status::Failed, Origin::Dns, e.to_string()),
    };
    let mut reply = None;
    let mut detail = format!("no answer from {server} within {timeout:?} ({attempts} tries)");
    for _ in 0..attempts {
        match tokio::time::timeout(timeout, udp_exchange(server, &bytes, id)).await {
            Ok(Ok(m)) => {
                reply = Some(m);
                break;
            }
            Ok(Err(e)) => detail = format!("{server}: {e}"),
            Err(_) => {}
        }
    }
    let Some(mut reply) = reply else {
        let status = if detail.starts_with("no answer") {
            Status::Timeout
        } else {
            Status::Failed
        };
        return Answer::failed(name, rtype, status, Origin::Dns, detail);
    };
    if reply.metadata.truncation {
        match tokio::time::timeout(timeout, tcp_exchange(server, &bytes, id)).await {
            Ok(Ok(m)) if !m.metadata.truncation => reply = m,
            Ok(Ok(_)) => {
                return Answer::failed(
                    name,
                    rtype,
                    Status::Truncated,
                    Origin::Dns,
                    format!("{server}: truncated over TCP too"),
                );
            }
            Ok(Err(e)) => {
                return Answer::failed(
                    name,
                    rtype,
                    Status::Truncated,
                    Origin::Dns,
                    format!("{server}: truncated over UDP and TCP failed: {e}"),
                );
            }
            Err(_) => {
                return Answer::failed(
                    name,
                    rtype,
                    Status::Truncated,
                    Origin::Dns,
                    format!("{server}: truncated over UDP and TCP timed out"),
                );
            }
        }
    }
    let status = match reply.metadata.response_code {
        ResponseCode::NoError => {
            if reply.answers.iter().any(|r| r.record_type() == rtype) {
                Status::NoError
            } else {
                Status::NoData
            }
        }
        ResponseCode::NXDomain => Status::NxDomain,
        ResponseCode::ServFail => Status::ServFail,
        ResponseCode::Refused => Status::Refused,
        _ => Status::Failed,
    };
    let detail = match status {
        Status::ServFail | Status::Refused | Status::Failed => Some(format!(
            "{server} answered {}",
            reply.metadata.response_code
        )),
        _ => None,
    };
    Answer {
        name: name.to_string(),
        rtype,
        status,
        records: std::mem::take(&mut reply.answers),
        origin: Origin::Dns,
        detail,
    }
}

async fn udp_exchange(server: SocketAddr, bytes: &[u8], id: u16) -> std::io::Result<Message> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    sock.send(bytes).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        // Stray or spoofed datagrams with another id are ignored, not taken as the answer.
        if let Ok(m) = Message::from_vec(&buf[..n])
            && m.metadata.id == id
            && m.metadata.message_type == MessageType::Response
        {
            return Ok(m);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, bytes: &[u8], id: u16) -> std::io::Result<Message> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(bytes.len()).map_err(|_| std::io::Error::other("query too large"))?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(bytes).await?;
    let mut lenbuf = [0u8; 2];
    stream.read_exact(&mut lenbuf).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lenbuf))];
    stream.read_exact(&mut buf).await?;
    let m = Message::from_vec(&buf).map_err(|e| std::io::Error::other(e.to_string()))?;
    if m.metadata.id != id {
        return Err(std::io::Error::other(
            "answer id does not match the question",
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{PTR, TXT};

    use super::*;

    fn answer(rtype: RecordType, data: RData) -> Answer {
        let name = Name::from_ascii("example.edu.").unwrap();
        Answer {
            name: "example.edu".into(),
            rtype,
            status: Status::NoError,
            records: vec![Record::from_rdata(name, 300, data)],
            origin: Origin::Dns,
            detail: None,
        }
    }

    #[test]
    fn txt_and_ptr_data_lose_terminal_controls_where_they_become_text() {
        let txt = answer(
            RecordType::TXT,
            RData::TXT(TXT::from_bytes(vec![
                b"v=spf1 \x1b]0;owned\x07",
                "\u{9b}2J -all\r\u{202e}".as_bytes(),
            ])),
        );
        assert_eq!(
            txt.txt(),
            ["v=spf1 \u{FFFD}]0;owned\u{FFFD}\u{FFFD}2J -all\u{FFFD}\u{FFFD}"]
        );
        let evidence = txt.evidence().records.join("\n");
        assert!(
            !evidence.contains(['\u{1b}', '\u{7}', '\u{9b}', '\r', '\u{202e}']),
            "{evidence:?}"
        );

        let label: &[u8] = b"relay\x1b[2J";
        let target =
            Name::from_labels(vec![label, b"example".as_slice(), b"edu".as_slice()]).unwrap();
        let ptr = answer(RecordType::PTR, RData::PTR(PTR(target)));
        for name in ptr.ptr_names() {
            assert!(!name.contains('\u{1b}'), "{name:?}");
        }
        let evidence = ptr.evidence().records.join("\n");
        assert!(!evidence.contains('\u{1b}'), "{evidence:?}");
    }
}
