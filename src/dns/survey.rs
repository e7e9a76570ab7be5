//! What DNS says today about one environment's mail: the DMARC policy each From domain gets,
//! the DKIM keys published for Moodle's selector, where the relays resolve, the MX hosts and
//! SPF includes of the envelope domain. `maildrift init` proposes DNS expectations from it;
//! nothing here judges anything (the checks in `run` do that).

use std::net::IpAddr;

use hickory_proto::rr::RecordType;

use super::dmarc;
use super::policy::{DmarcPolicy, DnsPolicy};
use super::run::{find_dmarc, is_internal};
use super::spf::{self, Mechanism};
use super::targets;
use super::{CheckAcc, Ctx, Resolver};
use crate::snapshot::Snapshot;

/// One environment's DNS as it is today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    pub environment: String,
    pub dmarc: Vec<DmarcSeen>,
    /// From domains with no usable DMARC record (none, several, or invalid).
    pub dmarc_missing: Vec<String>,
    pub dkim: Vec<DkimSeen>,
    pub relays: Vec<RelaySeen>,
    /// The envelope domain and its MX hosts (lower case, no trailing dot).
    pub mx: Option<(String, Vec<String>)>,
    /// `include:` targets of the envelope domain's SPF record (macro-free ones only).
    pub spf_includes: Vec<String>,
    /// Questions DNS did not answer (SERVFAIL, timeout): what was not surveyed.
    pub unanswered: Vec<String>,
}

/// The DMARC policy that applies to one From domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcSeen {
    pub domain: String,
    /// The record's name (`_dmarc.example.edu`).
    pub at: String,
    /// `p` or `sp` (a subdomain under the organisational domain's record).
    pub tag: &'static str,
    pub policy: DmarcPolicy,
    /// Domains the aggregate and failure reports go to.
    pub report_domains: Vec<String>,
}

/// A DKIM key published at `<selector>._domainkey.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSeen {
    pub name: String,
    /// RSA modulus size; `None` for ed25519.
    pub rsa_bits: Option<usize>,
    pub describe: String,
}

/// One `smtphosts` host and where it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySeen {
    pub host: String,
    pub ips: Vec<IpAddr>,
}

impl RelaySeen {
    /// True when some address is internal: the host that reaches the internet is unknown.
    pub fn internal(&self) -> bool {
        self.ips.iter().any(|ip| is_internal(*ip))
    }
}

/// Asks DNS what [`Survey`] holds for `snapshot`.
pub async fn survey(snapshot: &Snapshot, resolver: &Resolver) -> Survey {
    let ctx = Ctx::new(resolver);
    let t = targets::derive(snapshot, &DnsPolicy::default());
    let mut out = Survey {
        environment: snapshot.environment.clone(),
        ..Survey::default()
    };
    // find_dmarc reports what it can't ask through a check accumulator; only its list of
    // unanswered questions matters here.
    let mut acc = CheckAcc::new("dmarc", &snapshot.environment);
    for d in &t.from_domains {
        match find_dmarc(&ctx, d, &mut acc).await {
            Ok(Some(found)) => {
                let (policy, tag) = if found.inherited {
                    match found.record.sp {
                        Some(sp) => (sp, "sp"),
                        None => (found.record.p, "p"),
                    }
                } else {
                    (found.record.p, "p")
                };
                let mut report_domains: Vec<String> = Vec::new();
                for uri in found.record.rua.iter().chain(&found.record.ruf) {
                    if let Ok(dest) = dmarc::report_domain(uri) {
                        let org = dmarc::org_domain(&dest);
                        if !report_domains.contains(&org) {
                            report_domains.push(org);
                        }
                    }
                }
                out.dmarc.push(DmarcSeen {
                    domain: d.clone(),
                    at: format!("_dmarc.{}", found.at),
                    tag,
                    policy,
                    report_domains,
                });
            }
            Ok(None) => out.dmarc_missing.push(d.clone()),
            // Recorded by the accumulator, read below.
            Err(_) => {}
        }
    }
    if !t.selector.is_empty() {
        for d in &t.from_domains {
            let name = format!("{}._domainkey.{d}", t.selector);
            let ans = ctx.query(&name, RecordType::TXT).await;
            if ans.status.could_not_ask() {
                out.unanswered.push(ans.describe());
                continue;
            }
            let keys: Vec<String> = ans
                .txt()
                .into_iter()
                .filter(|t| super::dkim::looks_like_key(t))
                .collect();
            // Several records, or none, are findings for `check`; nothing to propose from.
            let [one] = keys.as_slice() else { continue };
            let Ok(rec) = super::dkim::parse_record(one) else {
                continue;
            };
            if let Ok(key) = super::dkim::key_from_record(&rec) {
                out.dkim.push(DkimSeen {
                    name,
                    rsa_bits: match &key {
                        super::dkim::KeyMaterial::Rsa { bits, .. } => Some(*bits),
                        super::dkim::KeyMaterial::Ed25519(_) => None,
                    },
                    describe: key.describe(),
                });
            }
        }
    }
    for relay in &t.relays {
        if let Ok(ip) = relay.host.parse::<IpAddr>() {
            out.relays.push(RelaySeen {
                host: relay.host.clone(),
                ips: vec![ip],
            });
            continue;
        }
        let mut ips = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            let ans = ctx.query(&relay.host, rtype).await;
            if ans.status.could_not_ask() {
                out.unanswered.push(ans.describe());
            }
            ips.extend(ans.ips());
        }
        out.relays.push(RelaySeen {
            host: relay.host.clone(),
            ips,
        });
    }
    if let Some(domain) = &t.envelope_domain {
        let ans = ctx.query(domain, RecordType::MX).await;
        if ans.status.could_not_ask() {
            out.unanswered.push(ans.describe());
        } else {
            let mut hosts: Vec<String> = ans
                .mx()
                .into_iter()
                .map(|(_, h)| h.trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
            hosts.dedup();
            out.mx = Some((domain.clone(), hosts));
        }
        let fetched = spf::fetch(&ctx, domain).await;
        if fetched.answer.status.could_not_ask() {
            out.unanswered.push(fetched.answer.describe());
        } else if let [one] = fetched.records.as_slice()
            && let Ok(rec) = spf::parse(one)
        {
            for d in &rec.directives {
                if let Mechanism::Include(spec) = &d.mechanism
                    && !spec.contains('%')
                {
                    out.spf_includes
                        .push(spec.trim_end_matches('.').to_ascii_lowercase());
                }
            }
        }
    }
    out.unanswered.extend(acc.unanswered_questions());
    out.unanswered.dedup();
    out
}
