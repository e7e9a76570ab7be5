//! SPF of the envelope and From domains, judged for every sending address.

use super::*;

pub(super) async fn check_spf(
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

pub(super) fn report_analysis(
    domain: &str,
    a: &spf::Analysis,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) {
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
