//! DNS checks: SPF, DKIM, DMARC, MX and PTR for each environment's sender domains.

use crate::findings::Kind;

/// Finding codes raised by the DNS checks.
pub const KINDS: &[Kind] = &[];

/// A DNS failure that stops the DNS checks as a whole (not a per-name answer).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("{0}")]
    Setup(String),
}
