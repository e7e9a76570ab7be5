//! DNS checks for `check` (wired to the resolver once the DNS module lands).

use super::args::DnsArgs;
use crate::audit::{Collected, External};
use crate::baseline::Baseline;
use crate::config::Config;

pub async fn run(
    _config: &Config,
    _args: &DnsArgs,
    _baseline: Option<&Baseline>,
    _collected: &[Collected],
    _jobs: usize,
) -> crate::Result<External> {
    Ok(External::default())
}
