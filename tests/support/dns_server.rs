//! A real authoritative DNS server for the DNS tests: hickory-server on 127.0.0.1, random
//! port, UDP and TCP, serving master files, with fault modes that break real resolvers:
//! a zone that SERVFAILs, slow answers, UDP answers truncated to force TCP, and a UDP socket
//! that never answers at all.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// What the server does wrong, on purpose.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Names at or below these answer SERVFAIL.
    pub servfail: Vec<String>,
    /// Names at or below these answer only after the delay.
    pub slow: Vec<(String, Duration)>,
    /// Names at or below these get an empty, truncated answer over UDP (TCP works).
    pub truncate_udp: Vec<String>,
    /// Exactly these names (not their subdomains) answer SERVFAIL, except for the listed types.
    pub servfail_exact: Vec<(String, Vec<hickory_server::proto::rr::RecordType>)>,
}

pub struct DnsServer {
    pub addr: SocketAddr,
    /// Questions received over UDP and TCP, for "asked once" assertions.
    pub queries: Arc<AtomicUsize>,
    pub tcp_queries: Arc<AtomicUsize>,
    server: Server<Faulty>,
}

impl DnsServer {
    pub async fn stop(mut self) {
        let _ = self.server.shutdown_gracefully().await;
    }
}

fn under(name: &Name, list: &[String]) -> bool {
    list.iter().any(|z| {
        Name::from_ascii(z)
            .map(|mut z| {
                z.set_fqdn(true);
                z.zone_of(name)
            })
            .unwrap_or(false)
    })
}

struct Faulty {
    catalog: Catalog,
    faults: Faults,
    queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
}

fn fallback(meta: &Metadata, code: ResponseCode) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(meta);
    metadata.response_code = code;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for Faulty {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::SeqCst);
        if request.protocol() == Protocol::Tcp {
            self.tcp_queries.fetch_add(1, Ordering::SeqCst);
        }
        let question = request
            .queries
            .queries()
            .first()
            .map(|q| (Name::from(q.name().clone()), q.query_type()));
        let Some((name, qtype)) = question else {
            return self.catalog.handle_request::<R, T>(request, response).await;
        };
        if let Some((_, d)) = self
            .faults
            .slow
            .iter()
            .find(|(z, _)| under(&name, std::slice::from_ref(z)))
        {
            tokio::time::sleep(*d).await;
        }
        let exact = self.faults.servfail_exact.iter().any(|(n, answered)| {
            !answered.contains(&qtype)
                && Name::from_ascii(n).is_ok_and(|mut n| {
                    n.set_fqdn(true);
                    LowerName::from(n) == LowerName::from(name.clone())
                })
        });
        if exact || under(&name, &self.faults.servfail) {
            let msg = MessageResponseBuilder::from_message_request(request)
                .error_msg(&request.metadata, ResponseCode::ServFail);
            return response
                .send_response(msg)
                .await
                .unwrap_or_else(|_| fallback(&request.metadata, ResponseCode::ServFail));
        }
        if request.protocol() == Protocol::Udp && under(&name, &self.faults.truncate_udp) {
            let mut meta = Metadata::response_from_request(&request.metadata);
            meta.truncation = true;
            meta.authoritative = true;
            let msg = MessageResponseBuilder::from_message_request(request).build_no_records(meta);
            return response
                .send_response(msg)
                .await
                .unwrap_or_else(|_| fallback(&request.metadata, ResponseCode::ServFail));
        }
        self.catalog.handle_request::<R, T>(request, response).await
    }
}

/// Parses a master file the way the server will serve it; the origin comes from `$ORIGIN`.
fn zone_handler(text: &str, path: Option<PathBuf>) -> (Name, InMemoryZoneHandler) {
    let (origin, records) = Parser::new(text, path, None)
        .parse()
        .expect("test zone parses");
    let records: BTreeMap<_, _> = records.into_iter().collect();
    let h = InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
        .expect("test zone has an SOA");
    (origin, h)
}

/// Serves `zones` (master-file texts with `$ORIGIN` and an SOA) on 127.0.0.1.
pub async fn start(zones: &[String], faults: Faults) -> DnsServer {
    let mut catalog = Catalog::new();
    for text in zones {
        let (origin, h) = zone_handler(text, None);
        catalog.upsert(LowerName::from(origin), vec![Arc::new(h)]);
    }
    serve(catalog, faults).await
}

async fn serve(catalog: Catalog, faults: Faults) -> DnsServer {
    // The UDP port the system picks may be in use for TCP (other tests' connections), so
    // try a few until one is free for both.
    let mut bound = None;
    for _ in 0..32 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("udp addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            bound = Some((udp, addr, tcp));
            break;
        }
    }
    let (udp, addr, tcp) = bound.expect("a loopback port free for both UDP and TCP");
    let queries = Arc::new(AtomicUsize::new(0));
    let tcp_queries = Arc::new(AtomicUsize::new(0));
    let mut server = Server::new(Faulty {
        catalog,
        faults,
        queries: queries.clone(),
        tcp_queries: tcp_queries.clone(),
    });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 16);
    DnsServer {
        addr,
        queries,
        tcp_queries,
        server,
    }
}

/// Serves `records` from one root zone on 127.0.0.1, for data no master file can spell
/// (names and TXT strings taken verbatim from a test suite).
pub async fn start_records(
    records: Vec<hickory_server::proto::rr::Record>,
    faults: Faults,
) -> DnsServer {
    use hickory_server::proto::rr::rdata::SOA;
    use hickory_server::proto::rr::{RData, Record, RecordSet, RecordType, RrKey};
    let root = Name::root();
    let soa = Record::from_rdata(
        root.clone(),
        300,
        RData::SOA(SOA::new(
            Name::from_ascii("ns.test.").expect("name"),
            Name::from_ascii("hostmaster.test.").expect("name"),
            1,
            3600,
            600,
            86400,
            60,
        )),
    );
    let mut set = RecordSet::new(root.clone(), RecordType::SOA, 1);
    set.insert(soa, 1);
    let map = BTreeMap::from([(
        RrKey::new(LowerName::from(root.clone()), RecordType::SOA),
        set,
    )]);
    let mut h: InMemoryZoneHandler<hickory_server::net::runtime::TokioRuntimeProvider> =
        InMemoryZoneHandler::new(root.clone(), map, ZoneType::Primary, AxfrPolicy::Deny)
            .expect("root zone");
    for r in records {
        h.upsert_mut(r, 1);
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::from(root), vec![Arc::new(h)]);
    serve(catalog, faults).await
}

/// Serves master files from `tests/zones/`.
pub async fn start_files(files: &[&str], faults: Faults) -> DnsServer {
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(zone_path(f)).expect("zone file"))
        .collect();
    start(&texts, faults).await
}

pub fn zone_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/zones")
        .join(file)
}

/// A UDP socket that receives and never answers, plus its address. Keep the socket alive.
pub async fn black_hole() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let a = s.local_addr().expect("addr");
    (s, a)
}

/// A snapshot for DNS tests: only the settings the DNS checks read.
pub fn snapshot(
    environment: &str,
    settings: &[(&str, &str)],
    dkim: &[(&str, &str, bool, &str)],
) -> maildrift::snapshot::Snapshot {
    let mut s = serde_json::Map::new();
    for (k, v) in settings {
        s.insert(
            k.to_string(),
            serde_json::json!({"value": v, "isset": true, "forced": false}),
        );
    }
    let dkim: Vec<_> = dkim
        .iter()
        .map(|(domain, selector, keyfile, publickey)| serde_json::json!({"domain": domain, "selector": selector, "keyfile": keyfile, "publickey": publickey}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "schema": "maildrift.snapshot/1",
        "environment": environment,
        "url": format!("https://{environment}.campus.ac.uk"),
        "taken_at": "2026-01-01T00:00:00Z",
        "source": "cfg-import",
        "moodle": {"release": "4.5", "version": "2024100700"},
        "plugin_version": null,
        "settings": s,
        "secrets": {},
        "dkim": dkim,
    }))
    .expect("test snapshot")
}

/// A test-only public key from tests/zones/keys.
pub fn test_key(name: &str) -> String {
    std::fs::read_to_string(zone_path(&format!("keys/{name}.b64")))
        .expect("key")
        .trim()
        .to_string()
}

/// Every test zone except the fault-mode ones.
pub const ALL_ZONES: &[&str] = &[
    "campus.ac.uk.zone",
    "2.0.192.in-addr.arpa.zone",
    "vendor.example.zone",
    "unauth.example.zone",
    "mailhost.example.zone",
];

/// A resolver asking `server` only, with short timeouts so fault tests stay fast.
pub fn resolver_for(server: SocketAddr) -> maildrift::dns::Resolver {
    maildrift::dns::Resolver::new(maildrift::dns::ResolverOptions {
        server: Some(server),
        timeout: Duration::from_millis(400),
        attempts: 2,
        ..Default::default()
    })
    .expect("resolver")
}
