//! Findings: the one result type every check produces and every renderer consumes.
//!
//! A finding carries a stable code (`MD…`). Each area declares its codes as [`Kind`] constants
//! next to the check that raises them; `crate::catalogue` gathers them (it sits above the
//! checks, so this module depends on none of them).

pub mod fingerprint;

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity `{other}` (expected error, warning or info)"
            )),
        }
    }
}

/// The static description of one finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Stable code, e.g. `MD101`. Never reused for another meaning.
    pub code: &'static str,
    /// Short machine-friendly name, e.g. `setting-mismatch`.
    pub name: &'static str,
    /// Severity when no exception applies.
    pub severity: Severity,
    /// Which group of checks raises it (`standard`, `drift`, `sender`, `spf`, `dkim`, ...).
    pub category: &'static str,
    /// One-line remedy shown with every finding of this kind.
    pub remedy: &'static str,
}

/// One result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub name: String,
    pub severity: Severity,
    pub category: String,
    /// Environment the finding is about; `None` for findings about the standard itself.
    pub environment: Option<String>,
    /// Setting name, DNS name or other subject the finding is about.
    pub subject: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// What was found, in one sentence.
    pub message: String,
    /// What to do about it, in one sentence.
    pub remedy: String,
    /// Set when an active baseline exception downgraded this finding to info.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub waived_by: Option<Waiver>,
    /// Stable identity across runs: code, environment and subject, never wording (see
    /// [`fingerprint`]). Kept current by the builder methods and by [`Finding::refingerprint`].
    #[serde(default)]
    pub fingerprint: String,
    /// New or persisting since the previous run; `None` when the run was compared with none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<FindingState>,
    /// When this finding was first seen (this run's time for a new one).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub since: Option<jiff::Timestamp>,
}

/// A finding compared with the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingState {
    /// Not in the previous run, or there at a lower severity (e.g. its exception expired).
    New,
    /// In the previous run at the same or a higher severity.
    Persisting,
}

impl FindingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::New => "new",
            FindingState::Persisting => "persisting",
        }
    }
}

/// The exception that waived a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub ticket: Option<String>,
}

impl Finding {
    /// Starts a finding of `kind` with the kind's severity and remedy.
    pub fn new(kind: &Kind, message: impl Into<String>) -> Self {
        Finding {
            code: kind.code.to_string(),
            name: kind.name.to_string(),
            severity: kind.severity,
            category: kind.category.to_string(),
            environment: None,
            subject: None,
            expected: None,
            actual: None,
            message: message.into(),
            remedy: kind.remedy.to_string(),
            waived_by: None,
            fingerprint: fingerprint::of(kind.code, None, None),
            state: None,
            since: None,
        }
    }

    pub fn env(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self.refingerprint();
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self.refingerprint();
        self
    }

    /// Recomputes the fingerprint after code, environment or subject were set directly (or
    /// read from a report that predates fingerprints).
    pub fn refingerprint(&mut self) {
        self.fingerprint = fingerprint::of(
            &self.code,
            self.environment.as_deref(),
            self.subject.as_deref(),
        );
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn actual(mut self, actual: impl Into<String>) -> Self {
        self.actual = Some(actual.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }
}

/// Sorts findings into the stable report order: environment, severity (worst first), code, subject.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.environment
            .cmp(&b.environment)
            .then(b.severity.cmp(&a.severity))
            .then(a.code.cmp(&b.code))
            .then(a.subject.cmp(&b.subject))
            .then(a.message.cmp(&b.message))
    });
}
