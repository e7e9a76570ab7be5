//! DMARC: the record of every From domain (or its organisation), and the alignment headline.

use super::*;

/// A DMARC record found for a From domain, and where.
pub(in crate::dns) struct Found {
    pub(in crate::dns) at: String,
    pub(in crate::dns) record: dmarc::Record,
    /// Found at the organisational domain, so `sp=` (if any) applies.
    pub(in crate::dns) inherited: bool,
}

pub(in crate::dns) async fn find_dmarc(
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

pub(super) async fn check_dmarc(
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

pub(super) async fn check_record(
    ctx: &Ctx<'_>,
    d: &str,
    f: &Found,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) {
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
