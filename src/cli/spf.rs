//! `maildrift spf IP DOMAIN`: the SPF verdict and trace for any address, from the same
//! evaluator and resolver options `check` uses — what to run when a finding says "fail".

use std::net::IpAddr;

use super::args::{Global, SpfArgs};
use super::output::load_config_optional;
use crate::dns::Ctx;
use crate::dns::spf::{self, LOOKUP_LIMIT, VOID_LIMIT, Verdict};
use crate::report::render::visible;

pub async fn run(g: &Global, args: &SpfArgs) -> crate::Result<u8> {
    let ip: IpAddr = args.ip.trim().parse().map_err(|_| {
        crate::Error::Usage(format!(
            "`{}` is not an IP address: give the sending address, e.g. 192.0.2.25 or 2001:db8::25",
            visible(&args.ip)
        ))
    })?;
    let config = load_config_optional(g)?;
    let resolver = super::dns::resolver(
        &config,
        args.dns_server.as_deref(),
        &args.zones,
        args.offline,
    )?;
    let ctx = Ctx::new(&resolver);
    let domain = args.domain.trim_end_matches('.');
    let sender = args
        .sender
        .clone()
        .unwrap_or_else(|| format!("postmaster@{domain}"));
    let helo = args.helo.clone().unwrap_or_else(|| domain.to_string());
    let e = spf::evaluate(&ctx, domain, ip, &sender, &helo).await;
    let mut out = format!(
        "SPF {} for {ip} sending as {} (domain {}, HELO {})\ndecided by: {}\n",
        e.verdict.as_str(),
        visible(&sender),
        visible(domain),
        visible(&helo),
        visible(&e.decided_by)
    );
    if let Some(x) = &e.explanation {
        out.push_str(&format!("explanation: {}\n", visible(x)));
    }
    out.push_str(&format!(
        "DNS lookups: {} of {LOOKUP_LIMIT}, void lookups: {} of {VOID_LIMIT}\ntrace:\n",
        e.lookups, e.voids
    ));
    for line in &e.trace {
        out.push_str(&format!("  {}\n", visible(line)));
    }
    print!("{out}");
    Ok(match e.verdict {
        Verdict::Pass => 0,
        Verdict::TempError => 1,
        _ => 2,
    })
}
