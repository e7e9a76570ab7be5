//! One environment's DNS checks, in dependency order: relay addresses first (SPF needs them),
//! then SPF, DKIM, DMARC (which needs both for the alignment headline) and MX. Each check has
//! its own file; this one holds what they share and the order they run in.

mod dkim_check;
mod dmarc_check;
mod mx_check;
mod senders;
mod spf_check;

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::rr::RecordType;
use ipnet::IpNet;

use crate::findings::Finding;
use crate::snapshot::Snapshot;

use super::dmarc::{self, Alignment};
use super::policy::DnsPolicy;
use super::spf::{self, Verdict};
use super::targets::{self, Targets};
use super::*;
use dkim_check::*;
use dmarc_check::*;
use mx_check::*;
use senders::*;
use spf_check::*;

pub(super) use dmarc_check::find_dmarc;

/// One address that hands Moodle's mail to the internet, as far as we can tell.
#[derive(Debug, Clone)]
struct Sender {
    ip: IpAddr,
    via: String,
    helo: String,
    /// The host name the address was found under (smtphosts or an egress host name); `None`
    /// for an egress given as an address or range.
    host: Option<String>,
}

/// Whether SPF will authenticate the envelope domain for every sending address.
#[derive(Debug, Clone)]
enum SpfOutcome {
    Pass,
    NotPass(String),
    Unknown(String),
}

#[derive(Debug, Clone)]
enum DkimOutcome {
    Pass,
    NotPass(String),
    Unknown(String),
}

/// Runs every DNS check for one environment.
pub async fn check_environment(
    snapshot: &Snapshot,
    policy: &DnsPolicy,
    resolver: &Resolver,
) -> DnsOutcome {
    let env = snapshot.environment.as_str();
    let ctx = Ctx::new(resolver);
    let t = targets::derive(snapshot, policy);

    let mut relay = CheckAcc::new("relay", env);
    if t.noreply_domain.is_none() {
        relay.push(
            Finding::new(
                &NO_SENDER_DOMAIN,
                "noreplyaddress is empty or not an address, so the sender domain is unknown.",
            )
            .subject("noreplyaddress")
            .actual(t.noreply.clone().unwrap_or_default()),
        );
    }
    let senders = sending_addresses(&ctx, &t, policy, &mut relay).await;
    reverse_dns(&ctx, &senders, &t, &mut relay).await;

    let mut spf_acc = CheckAcc::new("spf", env);
    let mut traces = Vec::new();
    let spf_outcome = check_spf(&ctx, &t, policy, &senders, &mut spf_acc, &mut traces).await;

    let mut dkim_acc = CheckAcc::new("dkim", env);
    let dkim_outcomes = check_dkim(&ctx, snapshot, &t, policy, &mut dkim_acc).await;

    let mut dmarc_acc = CheckAcc::new("dmarc", env);
    let headline = check_dmarc(
        &ctx,
        &t,
        policy,
        &spf_outcome,
        &dkim_outcomes,
        &mut dmarc_acc,
    )
    .await;

    let mut mx_acc = CheckAcc::new("mx", env);
    check_mx(&ctx, &t, policy, &mut mx_acc).await;

    let mut findings = Vec::new();
    let mut checks = Vec::new();
    for acc in [relay, spf_acc, dkim_acc, dmarc_acc, mx_acc] {
        let (f, c) = acc.finish();
        findings.extend(f);
        checks.push(c);
    }
    crate::findings::sort(&mut findings);
    DnsOutcome {
        findings,
        evidence: EnvironmentDns {
            environment: env.to_string(),
            headline,
            answers: ctx.evidence(),
            spf_traces: traces,
        },
        checks,
    }
}

pub(super) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_private() || a.is_loopback() || a.is_link_local() || a.is_shared_like()
        }
        IpAddr::V6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

trait SharedLike {
    fn is_shared_like(&self) -> bool;
}
impl SharedLike for std::net::Ipv4Addr {
    /// 100.64.0.0/10 carrier-grade NAT: as internal as RFC 1918 for our purpose.
    fn is_shared_like(&self) -> bool {
        let o = self.octets();
        o[0] == 100 && (o[1] & 0xc0) == 64
    }
}
