//! One environment's DNS checks, in dependency order: relay addresses first (SPF needs them),
//! then SPF, DKIM, DMARC (which needs both for the alignment headline) and MX.

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

/// A and AAAA of a host (or the host itself when it is an address literal).
async fn addresses(
    ctx: &Ctx<'_>,
    host: &str,
    acc: &mut CheckAcc,
    why: &str,
) -> Option<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(vec![ip]);
    }
    let a = ctx.query(host, RecordType::A).await;
    let aaaa = ctx.query(host, RecordType::AAAA).await;
    let mut ips = a.ips();
    ips.extend(aaaa.ips());
    if ips.is_empty() {
        if a.status.could_not_ask() {
            acc.unanswered(&a, why);
            return None;
        }
        if aaaa.status.could_not_ask() {
            acc.unanswered(&aaaa, why);
            return None;
        }
    }
    Some(ips)
}

async fn sending_addresses(
    ctx: &Ctx<'_>,
    t: &Targets,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) -> Vec<Sender> {
    let mut out: Vec<Sender> = Vec::new();
    let default_helo = t.envelope_domain.clone().unwrap_or_default();
    let push = |out: &mut Vec<Sender>, s: Sender| {
        if !out.iter().any(|o| o.ip == s.ip) {
            out.push(s);
        }
    };
    for entry in &policy.egress {
        let e = entry.trim();
        if let Ok(ip) = e.parse::<IpAddr>() {
            push(
                &mut out,
                Sender {
                    ip,
                    via: format!("egress {e}"),
                    helo: default_helo.clone(),
                    host: None,
                },
            );
        } else if let Ok(net) = e.parse::<IpNet>() {
            // SPF matches whole ranges, so one address of the block answers for all of it.
            push(
                &mut out,
                Sender {
                    ip: net.network(),
                    via: format!("egress {e} (first address)"),
                    helo: default_helo.clone(),
                    host: None,
                },
            );
        } else {
            match addresses(ctx, e, acc, "the egress host").await {
                Some(ips) if ips.is_empty() => acc.push(
                    Finding::new(
                        &RELAY_UNRESOLVABLE,
                        format!("Egress host {e} has no A or AAAA record."),
                    )
                    .subject(e.to_string()),
                ),
                Some(ips) => {
                    for ip in ips {
                        push(
                            &mut out,
                            Sender {
                                ip,
                                via: format!("egress {e}"),
                                helo: e.to_string(),
                                host: Some(e.to_string()),
                            },
                        );
                    }
                }
                None => {}
            }
        }
    }
    let have_egress = !policy.egress.is_empty();
    let (hosts, label): (Vec<String>, &str) = if t.relays.is_empty() {
        acc.push(
            Finding::new(
                &RELAY_PHP_MAIL,
                if have_egress {
                    "smtphosts is empty: Moodle sends with PHP mail() from the web server; judging the policy's egress addresses instead."
                } else {
                    "smtphosts is empty: Moodle sends with PHP mail() from the web server, so SPF is judged for the web server's addresses."
                },
            )
            .subject("smtphosts"),
        );
        (t.web_host.iter().cloned().collect(), "web server")
    } else {
        (
            t.relays.iter().map(|r| r.host.clone()).collect(),
            "smtphosts",
        )
    };
    for host in hosts {
        let Some(ips) = addresses(ctx, &host, acc, "the relay address").await else {
            continue;
        };
        if ips.is_empty() {
            acc.push(
                Finding::new(&RELAY_UNRESOLVABLE, format!("{label} host {host} has no A or AAAA record, so Moodle cannot send through it."))
                    .subject(host.clone()),
            );
            continue;
        }
        if have_egress {
            continue;
        }
        for ip in ips {
            if is_internal(ip) {
                acc.push(
                    Finding::new(&RELAY_PRIVATE, format!("{label} host {host} is {ip}, an internal address: the host that reaches the internet is not known, so SPF can't be judged for it."))
                        .subject(host.clone())
                        .actual(ip.to_string()),
                );
                continue;
            }
            push(
                &mut out,
                Sender {
                    ip,
                    via: format!("{label} {host}"),
                    helo: host.clone(),
                    host: Some(host.clone()),
                },
            );
        }
    }
    out
}

/// Forward-confirmed reverse DNS for every sending address, and whether the PTR name is the
/// relay's own host name and belongs to the organisation (receivers compare both).
async fn reverse_dns(ctx: &Ctx<'_>, senders: &[Sender], t: &Targets, acc: &mut CheckAcc) {
    for s in senders {
        let rev = spf::reverse_name(s.ip);
        let ptr = ctx.query(&rev, RecordType::PTR).await;
        if ptr.status.could_not_ask() {
            acc.unanswered(&ptr, "reverse DNS of a sending address");
            continue;
        }
        let names = ptr.ptr_names();
        if names.is_empty() {
            acc.push(
                Finding::new(&PTR_MISSING, format!("{} ({}) has no PTR record; many receivers distrust or reject mail from it.", s.ip, s.via))
                    .subject(s.ip.to_string()),
            );
            continue;
        }
        let rtype = if s.ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        let mut confirmed = None;
        let mut seen = Vec::new();
        for n in &names {
            let fwd = ctx.query(n, rtype).await;
            if fwd.status.could_not_ask() {
                acc.unanswered(&fwd, "forward-confirming reverse DNS");
                continue;
            }
            let ips = fwd.ips();
            if ips.contains(&s.ip) {
                confirmed = Some(n.clone());
                break;
            }
            seen.push(format!(
                "{n} → {}",
                if ips.is_empty() {
                    "no address".to_string()
                } else {
                    ips.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        match confirmed {
            Some(n) => judge_ptr_name(s, &n, &names, t, acc),
            None if !seen.is_empty() => acc.push(
                Finding::new(
                    &PTR_MISMATCH,
                    format!(
                        "{} ({}) has PTR {}, but that name does not resolve back to it.",
                        s.ip,
                        s.via,
                        names.join(", ")
                    ),
                )
                .subject(s.ip.to_string())
                .expected(s.ip.to_string())
                .actual(seen.join("; ")),
            ),
            None => {}
        }
    }
}

/// A forward-confirmed PTR name: the relay's own host name and organisation, or a warning.
fn judge_ptr_name(s: &Sender, n: &str, names: &[String], t: &Targets, acc: &mut CheckAcc) {
    let same = |a: &str, b: &str| {
        a.trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim_end_matches('.'))
    };
    // Whose names count as ours: the relay host's organisation and the sender domains'.
    let mut ours: Vec<String> = s.host.iter().map(|h| dmarc::org_domain(h)).collect();
    ours.extend(
        t.envelope_domain
            .iter()
            .chain(&t.from_domains)
            .map(|d| dmarc::org_domain(d)),
    );
    let owner = dmarc::org_domain(n);
    let subject = s.ip.to_string();
    if !ours.contains(&owner) {
        acc.push(
            Finding::new(
                &PTR_OTHER_PARTY,
                format!(
                    "{} ({}) has PTR {n}, which resolves back to it but belongs to {owner}, not to {}: receivers see mail from another party's host.",
                    s.ip,
                    s.via,
                    ours.first().map(String::as_str).unwrap_or("the sender domain")
                ),
            )
            .subject(subject)
            .expected(ours.join(" or "))
            .actual(n.to_string()),
        );
        return;
    }
    match &s.host {
        Some(h) if !names.iter().any(|p| same(p, h)) => acc.push(
            Finding::new(
                &PTR_NOT_HOST_NAME,
                format!(
                    "{} ({}) has PTR {n}, which resolves back to it, but the relay's host name is {h}; receivers compare the PTR name with the name the relay gives in HELO.",
                    s.ip, s.via
                ),
            )
            .subject(subject)
            .expected(h.clone())
            .actual(names.join(", ")),
        ),
        Some(h) => acc.push(
            Finding::new(
                &PTR_OK,
                format!(
                    "{} ({}) has PTR {h}, which resolves back to it and is the relay's host name.",
                    s.ip, s.via
                ),
            )
            .subject(subject)
            .actual(h.clone()),
        ),
        None => acc.push(
            Finding::new(
                &PTR_OK,
                format!(
                    "{} ({}) has PTR {n}, which resolves back to it (no host name to compare it with: the egress is given as an address).",
                    s.ip, s.via
                ),
            )
            .subject(subject)
            .actual(n.to_string()),
        ),
    }
}

async fn check_spf(
    ctx: &Ctx<'_>,
    t: &Targets,
    policy: &DnsPolicy,
    senders: &[Sender],
    acc: &mut CheckAcc,
    traces: &mut Vec<SpfTrace>,
) -> SpfOutcome {
    let mut domains: Vec<String> = t.envelope_domain.iter().cloned().collect();
    for d in &t.from_domains {
        if !domains.contains(d) {
            domains.push(d.clone());
        }
    }
    let mut outcome = match &t.envelope_domain {
        Some(_) => SpfOutcome::Unknown("no sending address to judge".into()),
        None => SpfOutcome::NotPass("the envelope domain is unknown".into()),
    };
    for domain in &domains {
        let is_envelope = t.envelope_domain.as_deref() == Some(domain.as_str());
        let f = spf::fetch(ctx, domain).await;
        if f.answer.status.could_not_ask() {
            acc.unanswered(&f.answer, "SPF");
            if is_envelope {
                outcome = SpfOutcome::Unknown(format!("SPF of {domain} could not be asked"));
            }
            continue;
        }
        match f.records.len() {
            0 => {
                acc.push(
                    Finding::new(&SPF_MISSING, format!("{domain} publishes no SPF record ({}), so no host is authorised to send for it.", f.answer.status.as_str()))
                        .subject(domain.clone()),
                );
                if is_envelope {
                    outcome = SpfOutcome::NotPass(format!("{domain} has no SPF record"));
                }
                continue;
            }
            1 => {}
            n => acc.push(
                Finding::new(
                    &SPF_MULTIPLE,
                    format!("{domain} publishes {n} SPF records; receivers return permerror."),
                )
                .subject(domain.clone())
                .actual(f.records.join(" | ")),
            ),
        }
        let record = if f.records.len() == 1 {
            match spf::parse(&f.records[0]) {
                Ok(r) => Some(r),
                Err(e) => {
                    acc.push(
                        Finding::new(
                            &SPF_SYNTAX,
                            format!("SPF record of {domain} is invalid: {e}."),
                        )
                        .subject(domain.clone())
                        .actual(f.records[0].clone()),
                    );
                    None
                }
            }
        } else {
            None
        };
        if let Some(record) = &record {
            let vars = spf::MacroVars {
                ip: senders
                    .first()
                    .map(|s| s.ip)
                    .unwrap_or(IpAddr::from([192, 0, 2, 1])),
                sender: t
                    .envelope_sender
                    .clone()
                    .unwrap_or_else(|| format!("postmaster@{domain}")),
                helo: senders
                    .first()
                    .map(|s| s.helo.clone())
                    .unwrap_or_else(|| domain.clone()),
                domain: domain.clone(),
                validated: None,
            };
            let a = spf::analyse(ctx, domain, record, &vars).await;
            report_analysis(domain, &a, policy, acc);
        }
        if !is_envelope {
            continue;
        }
        if senders.is_empty() {
            continue;
        }
        let sender = t.envelope_sender.clone().unwrap_or_default();
        let mut failures = Vec::new();
        let mut unknown = Vec::new();
        for s in senders {
            let own = spf::evaluate(ctx, domain, s.ip, &sender, &s.helo).await;
            let verdict = own.verdict;
            traces.push(SpfTrace {
                domain: domain.clone(),
                ip: s.ip.to_string(),
                via: s.via.clone(),
                verdict: verdict.as_str().to_string(),
                decided_by: own.decided_by.clone(),
                lookups: own.lookups,
                trace: own.trace.clone(),
                explanation: own.explanation.clone(),
            });
            let subject = format!("{domain} {}", s.ip);
            match verdict {
                Verdict::Pass => acc.push(
                    Finding::new(
                        &SPF_PASS,
                        format!(
                            "SPF pass for {} ({}) as {sender}, decided by {}.",
                            s.ip, s.via, own.decided_by
                        ),
                    )
                    .subject(subject)
                    .actual(own.trace.join(" / ")),
                ),
                Verdict::TempError => {
                    acc.unanswered_custom(
                        &subject,
                        &format!(
                            "SPF for {} ({}) is temperror: {}",
                            s.ip, s.via, own.decided_by
                        ),
                    );
                    unknown.push(format!("temperror for {}", s.ip));
                }
                v => {
                    acc.push(
                        Finding::new(
                            &SPF_NOT_AUTHORISED,
                            format!(
                                "SPF {} for {} ({}) sending as {sender}, decided by {}.",
                                v.as_str(),
                                s.ip,
                                s.via,
                                own.decided_by
                            ),
                        )
                        .subject(subject)
                        .expected("pass")
                        .actual(own.trace.join(" / ")),
                    );
                    failures.push(format!(
                        "{} for {} (decided by {})",
                        v.as_str(),
                        s.ip,
                        own.decided_by
                    ));
                }
            }
        }
        outcome = if !failures.is_empty() {
            SpfOutcome::NotPass(failures.join(", "))
        } else if !unknown.is_empty() {
            SpfOutcome::Unknown(unknown.join(", "))
        } else {
            SpfOutcome::Pass
        };
    }
    outcome
}

fn report_analysis(domain: &str, a: &spf::Analysis, policy: &DnsPolicy, acc: &mut CheckAcc) {
    for ans in &a.unanswered {
        acc.unanswered(ans, "SPF lookups");
    }
    if a.lookups > spf::LOOKUP_LIMIT {
        let breakdown: Vec<String> = a
            .shares
            .iter()
            .map(|s| format!("{} = {}", s.path, s.lookups))
            .collect();
        acc.push(
            Finding::new(
                &SPF_TOO_MANY_LOOKUPS,
                format!(
                    "SPF of {domain} needs {} DNS lookups (limit {}); receivers return permerror.",
                    a.lookups,
                    spf::LOOKUP_LIMIT
                ),
            )
            .subject(domain.to_string())
            .expected(format!("<= {}", spf::LOOKUP_LIMIT))
            .actual(breakdown.join("; ")),
        );
    }
    if a.voids.len() > spf::VOID_LIMIT {
        acc.push(
            Finding::new(
                &SPF_VOID_LOOKUPS,
                format!(
                    "SPF of {domain} has {} lookups that return nothing (limit {}).",
                    a.voids.len(),
                    spf::VOID_LIMIT
                ),
            )
            .subject(domain.to_string())
            .actual(a.voids.join("; ")),
        );
    }
    for p in &a.problems {
        acc.push(
            Finding::new(&SPF_SYNTAX, format!("SPF of {domain}: {p}.")).subject(domain.to_string()),
        );
    }
    match a.final_all {
        Some(spf::Qualifier::Pass) => acc.push(
            Finding::new(&SPF_PASS_ALL, format!("SPF of {domain} ends in +all: every host on the internet passes.")).subject(domain.to_string()).actual("+all"),
        ),
        Some(spf::Qualifier::Neutral) => acc.push(
            Finding::new(&SPF_WEAK_ALL, format!("SPF of {domain} ends in ?all: unlisted hosts are neutral, not failed.")).subject(domain.to_string()).actual("?all"),
        ),
        None => acc.push(
            Finding::new(&SPF_WEAK_ALL, format!("SPF of {domain} has no all (nor a redirect= ending in one): unlisted hosts are neutral.")).subject(domain.to_string()),
        ),
        _ => {}
    }
    for p in &a.ptr_terms {
        acc.push(
            Finding::new(&SPF_PTR, format!("SPF of {domain} uses ptr ({p})."))
                .subject(domain.to_string()),
        );
    }
    for inc in &policy.spf_includes {
        let want = inc.trim().trim_end_matches('.').to_ascii_lowercase();
        if !a.reached.contains(&want) {
            acc.push(
                Finding::new(
                    &SPF_INCLUDE_MISSING,
                    format!("SPF of {domain} does not include {want}."),
                )
                .subject(domain.to_string())
                .expected(format!("include:{want}")),
            );
        }
    }
}

async fn check_dkim(
    ctx: &Ctx<'_>,
    snapshot: &Snapshot,
    t: &Targets,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) -> BTreeMap<String, DkimOutcome> {
    let mut out = BTreeMap::new();
    if t.selector.is_empty() {
        acc.push(
            Finding::new(&DKIM_UNSIGNED, "emaildkimselector is empty: Moodle's mail is not DKIM-signed, so DMARC rests on SPF alone.")
                .subject("emaildkimselector"),
        );
        for d in &t.from_domains {
            out.insert(
                d.clone(),
                DkimOutcome::NotPass("no DKIM selector configured".into()),
            );
        }
        return out;
    }
    let sel = &t.selector;
    for d in &t.from_domains {
        let name = format!("{sel}._domainkey.{d}");
        let outcome = dkim_domain(ctx, snapshot, sel, d, &name, policy, acc).await;
        out.insert(d.clone(), outcome);
    }
    out
}

fn short_key(b64: &str) -> String {
    let s: Vec<char> = b64.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() <= 24 {
        s.into_iter().collect()
    } else {
        let head: String = s[..12].iter().collect();
        let tail: String = s[s.len() - 12..].iter().collect();
        format!("{head}…{tail}")
    }
}

async fn dkim_domain(
    ctx: &Ctx<'_>,
    snapshot: &Snapshot,
    sel: &str,
    d: &str,
    name: &str,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) -> DkimOutcome {
    use base64::Engine;
    let ans = ctx.query(name, RecordType::TXT).await;
    if ans.status.could_not_ask() {
        acc.unanswered(&ans, "DKIM");
        return DkimOutcome::Unknown(format!("DKIM key {name} could not be asked"));
    }
    let records: Vec<String> = ans
        .txt()
        .into_iter()
        .filter(|t| super::dkim::looks_like_key(t))
        .collect();
    let rec_txt = match records.as_slice() {
        [] => {
            acc.push(
                Finding::new(
                    &DKIM_MISSING,
                    format!(
                        "Selector {sel} is configured but {name} has no DKIM key record ({}).",
                        ans.status.as_str()
                    ),
                )
                .subject(name.to_string()),
            );
            return DkimOutcome::NotPass(format!("no key at {name}"));
        }
        [one] => one.clone(),
        many => {
            acc.push(
                Finding::new(
                    &DKIM_MULTIPLE,
                    format!(
                        "{name} has {} key records; receivers may pick either.",
                        many.len()
                    ),
                )
                .subject(name.to_string())
                .actual(many.join(" | ")),
            );
            return DkimOutcome::NotPass(format!("several keys at {name}"));
        }
    };
    let rec = match super::dkim::parse_record(&rec_txt) {
        Ok(r) => r,
        Err(e) => {
            acc.push(
                Finding::new(
                    &DKIM_INVALID,
                    format!("DKIM record {name} is invalid: {e}."),
                )
                .subject(name.to_string())
                .actual(rec_txt),
            );
            return DkimOutcome::NotPass(format!("invalid key record at {name}"));
        }
    };
    if rec.public_key.is_empty() {
        acc.push(
            Finding::new(
                &DKIM_REVOKED,
                format!("DKIM key {name} is revoked (empty p=); signatures with it fail."),
            )
            .subject(name.to_string()),
        );
        return DkimOutcome::NotPass(format!("key at {name} is revoked"));
    }
    let published = match super::dkim::key_from_record(&rec) {
        Ok(k) => k,
        Err(e) => {
            acc.push(
                Finding::new(
                    &DKIM_INVALID,
                    format!("DKIM record {name} holds no usable key: {e}."),
                )
                .subject(name.to_string())
                .actual(rec_txt),
            );
            return DkimOutcome::NotPass(format!("unusable key at {name}"));
        }
    };
    if rec.testing {
        acc.push(
            Finding::new(
                &DKIM_TESTING,
                format!("DKIM key {name} is in testing mode (t=y)."),
            )
            .subject(name.to_string())
            .actual("t=y"),
        );
    }
    if let super::dkim::KeyMaterial::Rsa { bits, .. } = &published
        && (*bits as u64) < u64::from(policy.min_dkim_bits())
    {
        acc.push(
            Finding::new(
                &DKIM_WEAK,
                format!(
                    "DKIM key {name} is RSA {bits}-bit, below {} bits.",
                    policy.min_dkim_bits()
                ),
            )
            .subject(name.to_string())
            .expected(format!(">= {}", policy.min_dkim_bits()))
            .actual(bits.to_string()),
        );
    }
    let moodle = snapshot
        .dkim
        .iter()
        .find(|k| k.domain.eq_ignore_ascii_case(d) && k.selector == sel)
        .or_else(|| {
            snapshot
                .dkim
                .iter()
                .find(|k| k.domain.eq_ignore_ascii_case(d))
        });
    let Some(moodle) = moodle.filter(|k| k.keyfile) else {
        acc.push(
            Finding::new(&DKIM_NO_KEYFILE, format!("Moodle has no private key for {d} (dkim/{d}/{sel}.private), so it does not sign mail from {d}."))
                .subject(name.to_string()),
        );
        return DkimOutcome::NotPass(format!("Moodle has no key file for {d}"));
    };
    let published_b64 = base64::engine::general_purpose::STANDARD.encode(&rec.public_key);
    match super::dkim::key_from_snapshot(&moodle.publickey) {
        Ok(mine) if mine == published => {
            acc.push(
                Finding::new(
                    &DKIM_OK,
                    format!(
                        "DKIM key {name} ({}) matches Moodle's key for {d}.",
                        published.describe()
                    ),
                )
                .subject(name.to_string())
                .actual(published.describe()),
            );
            DkimOutcome::Pass
        }
        Ok(mine) => {
            acc.push(
                Finding::new(&DKIM_MISMATCH, format!("DKIM key {name} ({}) is not the public half of Moodle's key ({}); signatures will fail.", published.describe(), mine.describe()))
                    .subject(name.to_string())
                    .expected(short_key(&moodle.publickey))
                    .actual(short_key(&published_b64)),
            );
            DkimOutcome::NotPass(format!("published key at {name} differs from Moodle's"))
        }
        Err(e) => {
            acc.push(
                Finding::new(&DKIM_MISMATCH, format!("Moodle's public key for {d} can't be read ({e}), so it can't be matched with {name}."))
                    .subject(name.to_string())
                    .actual(short_key(&published_b64)),
            );
            DkimOutcome::NotPass(format!("Moodle's key for {d} is unreadable"))
        }
    }
}

/// A DMARC record found for a From domain, and where.
pub(super) struct Found {
    pub(super) at: String,
    pub(super) record: dmarc::Record,
    /// Found at the organisational domain, so `sp=` (if any) applies.
    pub(super) inherited: bool,
}

pub(super) async fn find_dmarc(
    ctx: &Ctx<'_>,
    d: &str,
    acc: &mut CheckAcc,
) -> Result<Option<Found>, String> {
    let org = dmarc::org_domain(d);
    let mut candidates = vec![d.to_string()];
    if org != d {
        candidates.push(org.clone());
    }
    for at in candidates {
        let name = format!("_dmarc.{at}");
        let ans = ctx.query(&name, RecordType::TXT).await;
        if ans.status.could_not_ask() {
            acc.unanswered(&ans, "DMARC");
            return Err(format!("{name} could not be asked"));
        }
        let recs: Vec<String> = ans
            .txt()
            .into_iter()
            .filter(|t| dmarc::is_dmarc(t))
            .collect();
        match recs.as_slice() {
            [] => continue,
            [one] => match dmarc::parse(one) {
                Ok(record) => {
                    if let Some(why) = &record.p_fallback {
                        acc.push(
                            Finding::new(
                                &DMARC_INVALID,
                                format!("DMARC record {name} has no valid policy: {why}. Because its rua= is valid, receivers act as if it said p=none (RFC 7489 §6.6.3)."),
                            )
                            .subject(name.clone())
                            .actual(one.clone()),
                        );
                    }
                    return Ok(Some(Found {
                        inherited: at != d,
                        at,
                        record,
                    }));
                }
                Err(e) => {
                    acc.push(
                        Finding::new(
                            &DMARC_INVALID,
                            format!("DMARC record {name} is invalid: {e}."),
                        )
                        .subject(name.clone())
                        .actual(one.clone()),
                    );
                    return Ok(None);
                }
            },
            many => {
                acc.push(
                    Finding::new(
                        &DMARC_MULTIPLE,
                        format!(
                            "{name} has {} DMARC records; receivers apply none of them.",
                            many.len()
                        ),
                    )
                    .subject(name.clone())
                    .actual(many.join(" | ")),
                );
                return Ok(None);
            }
        }
    }
    let message = if org == d {
        format!("_dmarc.{d} has no DMARC record ({d} is its own organisational domain).")
    } else {
        format!("Neither _dmarc.{d} nor _dmarc.{org} has a DMARC record.")
    };
    acc.push(Finding::new(&DMARC_MISSING, message).subject(format!("_dmarc.{d}")));
    Ok(None)
}

async fn check_dmarc(
    ctx: &Ctx<'_>,
    t: &Targets,
    policy: &DnsPolicy,
    spf: &SpfOutcome,
    dkim: &BTreeMap<String, DkimOutcome>,
    acc: &mut CheckAcc,
) -> String {
    let mut lines = Vec::new();
    for d in &t.from_domains {
        let found = find_dmarc(ctx, d, acc).await;
        if let Ok(Some(f)) = &found {
            check_record(ctx, d, f, policy, acc).await;
        }
        let aspf = match &found {
            Ok(Some(f)) => f.record.aspf,
            _ => Alignment::Relaxed,
        };
        let via_spf = match (spf, &t.envelope_domain) {
            (_, None) => Err("envelope domain unknown".to_string()),
            (_, Some(e)) if !dmarc::aligned(e, d, aspf) => Err(format!(
                "envelope domain {e} not aligned with {d} ({})",
                if aspf == Alignment::Strict {
                    "aspf=s"
                } else {
                    "relaxed"
                }
            )),
            (SpfOutcome::Pass, Some(_)) => Ok(true),
            (SpfOutcome::NotPass(r), Some(_)) => Err(r.clone()),
            (SpfOutcome::Unknown(r), Some(_)) => Err(format!("unknown: {r}")),
        };
        // Moodle signs with d= the From domain, so a valid signature is aligned under
        // adkim=r and adkim=s alike: adkim needs no test here.
        let via_dkim = match dkim.get(d) {
            Some(DkimOutcome::Pass) => Ok(true),
            Some(DkimOutcome::NotPass(r)) => Err(r.clone()),
            Some(DkimOutcome::Unknown(r)) => Err(format!("unknown: {r}")),
            None => Err("not checked".into()),
        };
        let spf_unknown = matches!(spf, SpfOutcome::Unknown(_))
            && via_spf.is_err()
            && t.envelope_domain
                .as_deref()
                .is_some_and(|e| dmarc::aligned(e, d, aspf));
        let dkim_unknown = matches!(dkim.get(d), Some(DkimOutcome::Unknown(_)));
        let why_spf = via_spf.as_ref().err().cloned().unwrap_or_default();
        let why_dkim = via_dkim.as_ref().err().cloned().unwrap_or_default();
        let record_note = match &found {
            Ok(Some(f)) => match &f.record.p_fallback {
                Some(why) => format!(
                    " (_dmarc.{} has no valid policy, {why}; its valid rua= makes receivers treat it as p=none, RFC 7489 §6.6.3)",
                    f.at
                ),
                None => String::new(),
            },
            Ok(None) => String::new(),
            Err(_) => " (DMARC record could not be asked)".into(),
        };
        if matches!(found, Ok(None)) {
            // No usable record: there is no DMARC verdict to pass or fail. Say what receivers
            // judge instead, and how the mail fares on that.
            let auth = match (via_spf.is_ok(), via_dkim.is_ok()) {
                (true, true) => "aligned SPF and DKIM both pass".to_string(),
                (true, false) => format!("aligned SPF passes; DKIM: {why_dkim}"),
                (false, true) => format!("DKIM passes; SPF: {why_spf}"),
                (false, false) => format!("neither passes (SPF: {why_spf}; DKIM: {why_dkim})"),
            };
            lines.push(format!(
                "{d}: no DMARC policy (no usable DMARC record), so receivers judge the mail on SPF, DKIM and their own filters: {auth}"
            ));
            continue;
        }
        let line = match (via_spf.is_ok(), via_dkim.is_ok()) {
            (true, true) => {
                acc.push(
                    Finding::new(
                        &DMARC_PASS,
                        format!("Mail from {d} passes DMARC via SPF and DKIM."),
                    )
                    .subject(d.clone())
                    .actual("spf+dkim"),
                );
                format!("{d}: DMARC pass via SPF and DKIM{record_note}")
            }
            (true, false) => {
                acc.push(
                    Finding::new(
                        &DMARC_PASS,
                        format!("Mail from {d} passes DMARC via SPF only (DKIM: {why_dkim})."),
                    )
                    .subject(d.clone())
                    .actual("spf"),
                );
                format!("{d}: DMARC pass via SPF only (DKIM: {why_dkim}){record_note}")
            }
            (false, true) => {
                acc.push(
                    Finding::new(
                        &DMARC_PASS,
                        format!("Mail from {d} passes DMARC via DKIM only (SPF: {why_spf})."),
                    )
                    .subject(d.clone())
                    .actual("dkim"),
                );
                format!("{d}: DMARC pass via DKIM only (SPF: {why_spf}){record_note}")
            }
            (false, false) if spf_unknown || dkim_unknown => {
                format!(
                    "{d}: DMARC result unknown, DNS could not be asked (SPF: {why_spf}; DKIM: {why_dkim})"
                )
            }
            (false, false) => {
                acc.push(
                    Finding::new(
                        &DMARC_WILL_FAIL,
                        format!("Mail from {d} will fail DMARC: SPF: {why_spf}; DKIM: {why_dkim}."),
                    )
                    .subject(d.clone())
                    .expected("aligned SPF pass or aligned DKIM pass")
                    .actual(format!("SPF: {why_spf}; DKIM: {why_dkim}")),
                );
                format!("{d}: DMARC FAIL (SPF: {why_spf}; DKIM: {why_dkim}){record_note}")
            }
        };
        lines.push(line);
    }
    if lines.is_empty() {
        "No sender domain: set noreplyaddress.".into()
    } else {
        lines.join("; ")
    }
}

async fn check_record(ctx: &Ctx<'_>, d: &str, f: &Found, policy: &DnsPolicy, acc: &mut CheckAcc) {
    let name = format!("_dmarc.{}", f.at);
    if f.inherited {
        acc.push(
            Finding::new(&DMARC_ORG_FALLBACK, format!("{d} has no DMARC record of its own; the organisational domain's {name} applies.")).subject(format!("_dmarc.{d}")),
        );
    }
    let (effective, tag) = if f.inherited {
        (
            f.record.sp.unwrap_or(f.record.p),
            if f.record.sp.is_some() { "sp" } else { "p" },
        )
    } else {
        (f.record.p, "p")
    };
    if let Some(min) = policy.min_dmarc_policy
        && effective < min
    {
        acc.push(
            Finding::new(
                &DMARC_WEAK,
                format!(
                    "DMARC for {d} ({name}) is {tag}={}, below the required {}.",
                    effective.as_str(),
                    min.as_str()
                ),
            )
            .subject(name.clone())
            .expected(min.as_str())
            .actual(format!("{tag}={}", effective.as_str())),
        );
    }
    if f.record.pct < 100 || f.record.testing {
        acc.push(
            Finding::new(
                &DMARC_PARTIAL,
                format!(
                    "DMARC for {d} applies to part of the mail only (pct={}{}).",
                    f.record.pct,
                    if f.record.testing { ", t=y" } else { "" }
                ),
            )
            .subject(name.clone()),
        );
    }
    let own_org = dmarc::org_domain(&f.at);
    for uri in f.record.rua.iter().chain(&f.record.ruf) {
        let dest = match dmarc::report_domain(uri) {
            Ok(dest) => dest,
            Err(e) => {
                acc.push(
                    Finding::new(&DMARC_REPORT_URI, format!("{name}: {e}."))
                        .subject(name.clone())
                        .actual(uri.clone()),
                );
                continue;
            }
        };
        let dest_org = dmarc::org_domain(&dest);
        if !policy.allowed_rua.is_empty()
            && !policy.allowed_rua.iter().any(|a| {
                let a = a.trim().trim_end_matches('.').to_ascii_lowercase();
                a == dest || a == dest_org
            })
        {
            acc.push(
                Finding::new(
                    &DMARC_REPORT_NOT_ALLOWED,
                    format!(
                        "{name} sends reports to {dest}, which [dns].allowed_rua does not list."
                    ),
                )
                .subject(name.clone())
                .expected(policy.allowed_rua.join(", "))
                .actual(dest.clone()),
            );
        }
        if dest_org != own_org {
            // RFC 7489 §7.1: an outside destination must agree to receive the reports.
            let auth = format!("{}._report._dmarc.{dest}", f.at);
            let ans = ctx.query(&auth, RecordType::TXT).await;
            if ans.status.could_not_ask() {
                acc.unanswered(&ans, "DMARC report authorisation");
                continue;
            }
            if !ans
                .txt()
                .iter()
                .any(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1"))
            {
                acc.push(
                    Finding::new(&DMARC_REPORT_UNAUTHORISED, format!("{name} sends reports to {dest}, but {auth} does not authorise it; receivers will not send them."))
                        .subject(name.clone())
                        .expected(format!("{auth} TXT \"v=DMARC1\""))
                        .actual(ans.status.as_str()),
                );
            }
        }
    }
}

async fn check_mx(ctx: &Ctx<'_>, t: &Targets, policy: &DnsPolicy, acc: &mut CheckAcc) {
    let mut domains: Vec<&String> = t.noreply_domain.iter().collect();
    if let Some(e) = &t.envelope_domain
        && !domains.contains(&e)
    {
        domains.push(e);
    }
    for d in domains {
        let ans = ctx.query(d, RecordType::MX).await;
        if ans.status.could_not_ask() {
            acc.unanswered(&ans, "MX");
            continue;
        }
        let mx = ans.mx();
        if mx.is_empty() {
            acc.push(
                Finding::new(&MX_MISSING, format!("{d} has no MX record ({}): bounces and replies to Moodle's mail have no home.", ans.status.as_str()))
                    .subject(d.clone()),
            );
        } else if mx.iter().all(|(_, h)| h.is_empty() || h == ".") {
            acc.push(
                Finding::new(
                    &MX_NULL,
                    format!("{d} publishes a null MX: it accepts no mail, so bounces are lost."),
                )
                .subject(d.clone())
                .actual("0 ."),
            );
        }
        for want in &policy.required_mx {
            let want = want.trim().trim_end_matches('.').to_ascii_lowercase();
            if !mx.iter().any(|(_, h)| *h == want) {
                acc.push(
                    Finding::new(
                        &MX_REQUIRED_MISSING,
                        format!("{d} does not list {want} among its MX hosts."),
                    )
                    .subject(d.clone())
                    .expected(want.clone())
                    .actual(
                        mx.iter()
                            .map(|(p, h)| format!("{p} {h}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                );
            }
        }
    }
}
