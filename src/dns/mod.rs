//! DNS checks: SPF, DKIM, DMARC, MX and PTR for each environment's sender domains.
//!
//! Entry points: build one [`Resolver`] per run (zones, upstream, shared cache), then call
//! [`check_environment`] for each environment, concurrently if you like. Every answer a check
//! used comes back as [`DnsAnswer`] evidence; an answer we could not get is never mistaken for
//! "no record" (it raises MD790 and the check run is `Errored`).

pub mod dkim;
pub mod dmarc;
mod kinds;
pub mod policy;
pub mod resolver;
mod run;
pub mod spf;
pub mod survey;
pub mod targets;
pub mod zone;

use std::sync::{Arc, Mutex};

use crate::findings::{Finding, Kind};
use crate::report::model::{CheckRun, CheckState};

pub use kinds::*;
pub use policy::{DmarcPolicy, DnsPolicy};
pub use resolver::{Answer, Origin, Resolver, ResolverOptions, Status, parse_server};
pub use run::check_environment;

/// Finding codes raised by the DNS checks.
pub const KINDS: &[Kind] = kinds::ALL;

/// The check ids (finding categories) the DNS checks report under, in run order.
pub const CHECKS: &[&str] = &["relay", "spf", "dkim", "dmarc", "mx"];

/// A DNS failure that stops the DNS checks as a whole (not a per-name answer).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("{0}")]
    Setup(String),
    #[error("{file}:{line}: {message}")]
    ZoneSyntax {
        file: String,
        line: usize,
        message: String,
    },
}

/// The DNS results for one environment: the headline verdict and every answer seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvironmentDns {
    pub environment: String,
    /// One line: will Moodle's mail pass DMARC, and how (or why not).
    pub headline: String,
    /// Every DNS answer the checks used, as evidence.
    pub answers: Vec<DnsAnswer>,
    /// Per sending address: the SPF verdict and the terms that led to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spf_traces: Vec<SpfTrace>,
}

/// One DNS question and its answer, as recorded evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// `noerror`, `nxdomain`, `nodata`, `servfail`, `timeout`, `truncated`, `refused`,
    /// `not-in-zone` (offline), `failed`.
    pub status: String,
    pub records: Vec<String>,
    pub ttl: Option<u32>,
    /// `zone` when answered from a --zone file, `dns` otherwise.
    pub origin: String,
    /// Why the question failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The SPF evaluation of one sending address, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpfTrace {
    pub domain: String,
    pub ip: String,
    /// Where the address came from (`smtphosts smtp.example.edu`, `egress 203.0.113.0/28`).
    pub via: String,
    /// The RFC 7208 verdict (maildrift's evaluator, held to the openspf suite).
    pub verdict: String,
    pub decided_by: String,
    pub lookups: usize,
    pub trace: Vec<String>,
    /// For `fail`: the explanation the domain publishes (`exp=`), as receivers would quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// What [`check_environment`] found.
#[derive(Debug, Clone)]
pub struct DnsOutcome {
    pub findings: Vec<Finding>,
    pub evidence: EnvironmentDns,
    pub checks: Vec<CheckRun>,
}

/// One environment's view of the shared [`Resolver`]: remembers the answers its checks used
/// (the evidence). Public so the SPF evaluator can be driven directly.
pub struct Ctx<'r> {
    pub resolver: &'r Resolver,
    answers: Mutex<Vec<Arc<Answer>>>,
}

impl<'r> Ctx<'r> {
    pub fn new(resolver: &'r Resolver) -> Self {
        Ctx {
            resolver,
            answers: Mutex::new(Vec::new()),
        }
    }

    pub async fn query(&self, name: &str, rtype: hickory_proto::rr::RecordType) -> Arc<Answer> {
        let a = self.resolver.query(name, rtype).await;
        let mut seen = match self.answers.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if !seen.iter().any(|x| Arc::ptr_eq(x, &a)) {
            seen.push(a.clone());
        }
        a
    }

    pub fn evidence(&self) -> Vec<DnsAnswer> {
        let seen = match self.answers.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        seen.iter().map(|a| a.evidence()).collect()
    }
}

/// Findings of one check for one environment, and whether DNS let it finish.
pub(crate) struct CheckAcc {
    check: &'static str,
    environment: String,
    findings: Vec<Finding>,
    unanswered: Vec<String>,
}

impl CheckAcc {
    pub fn new(check: &'static str, environment: &str) -> Self {
        CheckAcc {
            check,
            environment: environment.to_string(),
            findings: Vec::new(),
            unanswered: Vec::new(),
        }
    }

    pub fn push(&mut self, mut f: Finding) {
        f.environment = Some(self.environment.clone());
        f.refingerprint();
        f.category = self.check.to_string();
        self.findings.push(f);
    }

    /// Records that `answer` could not be obtained: an error finding, never "no record".
    pub fn unanswered(&mut self, answer: &Answer, needed_for: &str) {
        let what = answer.describe();
        if self.unanswered.contains(&what) {
            return;
        }
        self.unanswered.push(what.clone());
        self.push(
            Finding::new(
                &DNS_UNANSWERED,
                format!(
                    "Could not ask DNS for {} {} (needed for {needed_for}): {}.",
                    answer.name,
                    answer.rtype,
                    answer.status.as_str()
                ),
            )
            .subject(format!("{} {}", answer.name, answer.rtype))
            .actual(what),
        );
    }

    /// Like [`CheckAcc::unanswered`] when the failure surfaced as a verdict, not an answer.
    pub fn unanswered_custom(&mut self, subject: &str, message: &str) {
        self.unanswered.push(message.to_string());
        self.push(
            Finding::new(&DNS_UNANSWERED, format!("{message}.")).subject(subject.to_string()),
        );
    }

    /// The questions DNS did not answer so far.
    pub fn unanswered_questions(&self) -> Vec<String> {
        self.unanswered.clone()
    }

    pub fn finish(self) -> (Vec<Finding>, CheckRun) {
        let state = if !self.unanswered.is_empty() {
            CheckState::Errored
        } else if self
            .findings
            .iter()
            .any(|f| f.severity > crate::findings::Severity::Info)
        {
            CheckState::Failed
        } else {
            CheckState::Passed
        };
        let detail = (!self.unanswered.is_empty())
            .then(|| format!("DNS could not be asked: {}", self.unanswered.join("; ")));
        (
            self.findings,
            CheckRun {
                check: self.check.to_string(),
                environment: Some(self.environment),
                state,
                detail,
            },
        )
    }
}
