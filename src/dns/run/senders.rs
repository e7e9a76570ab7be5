//! Where Moodle's mail leaves from: the relay or egress addresses, and their reverse DNS.

use super::*;

/// A and AAAA of a host (or the host itself when it is an address literal).
pub(super) async fn addresses(
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

pub(super) async fn sending_addresses(
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
pub(super) async fn reverse_dns(
    ctx: &Ctx<'_>,
    senders: &[Sender],
    t: &Targets,
    acc: &mut CheckAcc,
) {
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
pub(super) fn judge_ptr_name(
    s: &Sender,
    n: &str,
    names: &[String],
    t: &Targets,
    acc: &mut CheckAcc,
) {
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
