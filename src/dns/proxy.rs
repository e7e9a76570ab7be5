//! A loopback DNS front for mail-auth.
//!
//! mail-auth 0.13 only asks DNS through its own hickory `TokioResolver`. Pre-filling its
//! per-call caches would need us to predict every name its evaluator asks (macros, `exists:`,
//! MX and PTR fan-out) and silently falls through to live DNS when we guess wrong. Instead we
//! serve [`Resolver`] itself on 127.0.0.1 (UDP and TCP, random port) and point mail-auth's
//! resolver at it: both SPF evaluators then see exactly the same answers (zones, cache,
//! `--offline`, failures), and every (name, type) still goes upstream at most once.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use mail_auth::MessageAuthenticator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use super::resolver::{Inner, Resolver, Status};

pub(crate) struct Proxy {
    pub authenticator: Arc<MessageAuthenticator>,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Resolver {
    /// mail-auth's authenticator, asking through this resolver. Started on first use because
    /// binding sockets needs the tokio runtime, which `Resolver::new` does not.
    pub(crate) async fn authenticator(&self) -> Result<Arc<MessageAuthenticator>, String> {
        let proxy = self
            .inner
            .proxy
            .get_or_init(|| start(Arc::downgrade(&self.inner), self.timeout()))
            .await;
        proxy
            .as_ref()
            .map(|p| p.authenticator.clone())
            .map_err(|e| e.clone())
    }
}

/// A UDP socket and a TCP listener on the same free loopback port. The port the system picks
/// for UDP may be taken for TCP by another process's connection, so try a few ports.
async fn bind_pair() -> Result<(UdpSocket, TcpListener), String> {
    let mut last = String::new();
    for _ in 0..32 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| format!("cannot bind the loopback DNS front: {e}"))?;
        let addr = udp.local_addr().map_err(|e| e.to_string())?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = e.to_string(),
            Err(e) => return Err(format!("cannot bind the loopback DNS front over TCP: {e}")),
        }
    }
    Err(format!(
        "cannot find a free loopback port for the DNS front over UDP and TCP: {last}"
    ))
}

async fn start(inner: Weak<Inner>, timeout: Duration) -> Result<Proxy, String> {
    let (udp, tcp) = bind_pair().await?;
    let addr = udp.local_addr().map_err(|e| e.to_string())?;
    let udp = Arc::new(udp);
    let mut tasks = Vec::new();
    {
        let inner = inner.clone();
        let udp = udp.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                let req = buf[..n].to_vec();
                let inner = inner.clone();
                let udp = udp.clone();
                tokio::spawn(async move {
                    if let Some(resp) = answer(&inner, &req, true).await {
                        let _ = udp.send_to(&resp, peer).await;
                    }
                });
            }
        }));
    }
    tasks.push(tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let inner = inner.clone();
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                while stream.read_exact(&mut len).await.is_ok() {
                    let mut req = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if stream.read_exact(&mut req).await.is_err() {
                        return;
                    }
                    let Some(resp) = answer(&inner, &req, false).await else {
                        return;
                    };
                    let Ok(n) = u16::try_from(resp.len()) else {
                        return;
                    };
                    if stream.write_all(&n.to_be_bytes()).await.is_err()
                        || stream.write_all(&resp).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    }));

    let mut ns = NameServerConfig::udp_and_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST));
    for c in &mut ns.connections {
        c.port = addr.port();
    }
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
    let mut opts = ResolverOpts::default();
    // Our resolver already waited for upstream; give it that long plus slack, once.
    opts.timeout = timeout * 3 + Duration::from_secs(1);
    opts.attempts = 1;
    opts.edns0 = true;
    opts.use_hosts_file = ResolveHosts::Never;
    // Caching twice would only hide which run asked what; ours is the one cache.
    opts.cache_size = 0;
    let resolver =
        hickory_resolver::Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| format!("cannot build mail-auth's resolver: {e}"))?;
    Ok(Proxy {
        authenticator: Arc::new(MessageAuthenticator(resolver)),
        tasks,
    })
}

async fn answer(inner: &Weak<Inner>, req: &[u8], udp: bool) -> Option<Vec<u8>> {
    let inner = inner.upgrade()?;
    let resolver = Resolver { inner };
    let req = Message::from_vec(req).ok()?;
    let query = req.queries.first()?.clone();
    let mut resp = Message::new(req.metadata.id, MessageType::Response, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.add_query(query.clone());
    if let Some(e) = &req.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(e.max_payload());
        resp.set_edns(edns);
    }
    let name = query.name().to_ascii();
    let a = resolver.query(&name, query.query_type()).await;
    resp.metadata.response_code = match a.status {
        Status::NoError | Status::NoData => ResponseCode::NoError,
        Status::NxDomain => ResponseCode::NXDomain,
        Status::Refused => ResponseCode::Refused,
        // Whatever stopped us from knowing is a server failure to the client: it must turn
        // into SPF temperror, never into "no record".
        _ => ResponseCode::ServFail,
    };
    resp.add_answers(a.records.iter().cloned());
    let bytes = resp.to_vec().ok()?;
    let limit = usize::from(
        req.edns
            .as_ref()
            .map(|e| e.max_payload())
            .unwrap_or(512)
            .max(512),
    );
    if udp && bytes.len() > limit {
        let mut t = resp.truncate();
        t.metadata.truncation = true;
        return t.to_vec().ok();
    }
    Some(bytes)
}
