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

/// The DNS results for one environment: the headline verdict and every answer seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvironmentDns {
    pub environment: String,
    /// One line: will Moodle's mail pass DMARC, and how (or why not).
    pub headline: String,
    /// Every DNS answer the checks used, as evidence.
    pub answers: Vec<DnsAnswer>,
}

/// One DNS question and its answer, as recorded evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// `noerror`, `nxdomain`, `nodata`, `servfail`, `timeout`, ...
    pub status: String,
    pub records: Vec<String>,
    pub ttl: Option<u32>,
    /// `zone` when answered from a --zone file, `dns` otherwise.
    pub origin: String,
}
