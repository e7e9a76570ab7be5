//! The DNS part of `check`: builds the run's one resolver from the command line and the
//! config, and runs the DNS checks of every environment that was read, a few at a time.

use serde::Deserialize;

use super::args::DnsArgs;
use crate::audit::{Collected, External};
use crate::baseline::{Baseline, BaselineError};
use crate::config::{Config, parse_dns_server};
use crate::dns::{self, DnsPolicy, Resolver, ResolverOptions};
use crate::location::Location;

pub async fn run(
    config: &Config,
    args: &DnsArgs,
    baseline: Option<&Baseline>,
    collected: &[Collected],
    jobs: usize,
) -> crate::Result<External> {
    let resolver = resolver(
        config,
        args.dns_server.as_deref(),
        &args.zones,
        args.offline,
    )?;

    let base = match baseline.and_then(|b| b.dns.as_ref()) {
        Some(table) => policy(table, baseline, "[dns]")?,
        None => DnsPolicy::default(),
    };
    let mut work = Vec::new();
    for c in collected {
        let Ok(snapshot) = &c.result else { continue };
        let over = baseline
            .and_then(|b| b.environments.get(&c.name))
            .and_then(|e| e.dns.as_ref());
        let env_policy = match over {
            Some(table) => base.merged(&policy(
                table,
                baseline,
                &format!("[environments.{}.dns]", c.name),
            )?),
            None => base.clone(),
        };
        work.push((snapshot.clone(), env_policy));
    }

    let outcomes = crate::fanout::in_order(work, jobs, "DNS check", |(snapshot, policy)| {
        let resolver = resolver.clone();
        async move { dns::check_environment(&snapshot, &policy, &resolver).await }
    })
    .await;
    let mut external = External::default();
    for o in outcomes {
        // A panicking task is a bug; without its answer the report would be silently short.
        let Some(o) = o else {
            return Err(crate::Error::Usage(
                "internal error in the DNS checks (see the log above)".into(),
            ));
        };
        external.findings.extend(o.findings);
        external.checks.extend(o.checks);
        external.dns.push(o.evidence);
    }
    Ok(external)
}

/// The run's one resolver from the command line's DNS options and the config's `[dns]`
/// (`check` and `spf` share it).
pub fn resolver(
    config: &Config,
    dns_server: Option<&str>,
    extra_zones: &[std::path::PathBuf],
    offline: bool,
) -> crate::Result<Resolver> {
    let server = match dns_server {
        Some(s) => Some(
            parse_dns_server(s).map_err(|e| crate::Error::Usage(format!("--dns-server: {e}")))?,
        ),
        None => config.dns.server,
    };
    let mut zones = config.dns.zones.clone();
    zones.extend(extra_zones.iter().cloned());
    let offline = offline || config.dns.offline;
    if offline && zones.is_empty() {
        return Err(crate::Error::Usage(
            "--offline answers DNS only from zone files: give at least one --zone FILE".into(),
        ));
    }
    let mut options = ResolverOptions {
        server,
        zones,
        offline,
        ..ResolverOptions::default()
    };
    if let Some(t) = config.dns.timeout {
        options.timeout = t;
    }
    Ok(Resolver::new(options)?)
}

/// Reads a `[dns]` table of the baseline; errors name the baseline file and the table.
fn policy(
    table: &toml::Value,
    baseline: Option<&Baseline>,
    section: &str,
) -> crate::Result<DnsPolicy> {
    DnsPolicy::deserialize(table.clone()).map_err(|e| {
        let path = baseline.map(|b| b.path.clone()).unwrap_or_default();
        let location = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| {
                text.find(section.trim_matches(['[', ']']))
                    .map(|o| Location::at(&text, o))
            })
            .unwrap_or(Location { line: 1, column: 1 });
        BaselineError::Invalid {
            path,
            location,
            message: format!("{section}: {}", e.message().trim()),
        }
        .into()
    })
}
