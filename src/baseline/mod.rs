//! The baseline: the team's written mail standard as a committed TOML file.
//!
//! See `baselines/README.md` for the format, field by field. Loading is strict: unknown keys,
//! unknown setting names and bad dates are errors that point at the file, line and column,
//! because a typo in a standard must never silently disable a check.

pub mod accept;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use crate::location::Location;
use crate::snapshot::settings;

/// Schema identifier a baseline file must carry.
pub const SCHEMA: &str = "maildrift.baseline/1";

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{location}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("cannot update baseline {}: {message}", path.display())]
    Update { path: PathBuf, message: String },
    #[error("cannot write baseline {}: {source} (the file was left unchanged)", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BaselineError {
    /// A TOML parse error of baseline `text`, located; `context` prefixes the message
    /// (e.g. the table being read).
    pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error, context: &str) -> Self {
        BaselineError::Invalid {
            path: path.to_path_buf(),
            location: Location::from_toml(text, err).unwrap_or(Location { line: 1, column: 1 }),
            message: format!("{context}{}", err.message().trim()),
        }
    }
}

/// Where in the baseline a role-specific rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Real users get the mail: no diversion, encrypted relay required.
    Production,
    /// A copy of production: all mail must be diverted or stopped.
    Staging,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    schema: Spanned<String>,
    standard: RawStandard,
    #[serde(default)]
    settings: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    environments: IndexMap<String, RawEnvironment>,
    #[serde(default)]
    drift: RawDrift,
    #[serde(default)]
    dns: Option<toml::Value>,
    #[serde(default)]
    health: Option<toml::Value>,
    #[serde(default)]
    relay: Option<toml::Value>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandard {
    name: String,
    owner: String,
    approved_by: Option<String>,
    approved_on: Option<toml::value::Datetime>,
    review_by: Option<Spanned<toml::value::Datetime>>,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    title: String,
    url: String,
    environment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    role: Option<Role>,
    #[serde(default)]
    settings: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    dns: Option<toml::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrift {
    reference: Option<String>,
    #[serde(default)]
    may_differ: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    setting: Option<String>,
    code: Option<String>,
    environment: Option<String>,
    value: Option<String>,
    reason: String,
    owner: String,
    expires: toml::value::Datetime,
    ticket: Option<String>,
}

/// A loaded, validated baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub standard: Standard,
    /// Expected values for every environment.
    pub settings: BTreeMap<String, String>,
    /// Per-environment roles and overrides, in file order.
    pub environments: IndexMap<String, EnvironmentRules>,
    /// The environment the others are compared with; the first production one by default.
    pub drift_reference: Option<String>,
    /// Settings that may legitimately differ between environments.
    pub may_differ: Vec<String>,
    /// The `[dns]` table, interpreted by the DNS checks.
    pub dns: Option<toml::Value>,
    /// The `[health]` table, interpreted by the health checks.
    pub health: Option<toml::Value>,
    /// The `[relay]` table, interpreted by the relay checks.
    pub relay: Option<toml::Value>,
    pub exceptions: Vec<Exception>,
}

#[derive(Debug, Clone)]
pub struct Standard {
    pub name: String,
    pub owner: String,
    pub approved_by: Option<String>,
    pub approved_on: Option<jiff::civil::Date>,
    pub review_by: Option<jiff::civil::Date>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone)]
pub struct Evidence {
    pub title: String,
    pub url: String,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EnvironmentRules {
    pub role: Option<Role>,
    pub settings: BTreeMap<String, String>,
    pub dns: Option<toml::Value>,
}

/// An agreed, time-limited deviation from the standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The setting (finding subject) it covers.
    pub setting: Option<String>,
    /// The finding code it covers, when it is not about a setting.
    pub code: Option<String>,
    /// The environment it covers; `None` = all.
    pub environment: Option<String>,
    /// The value allowed instead of the standard's; `None` = any value.
    pub value: Option<String>,
    pub reason: String,
    pub owner: String,
    pub expires: jiff::civil::Date,
    pub ticket: Option<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses baseline text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
        let invalid = |offset: usize, message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            location: Location::at(text, offset),
            message,
        };
        let raw: Raw =
            toml::from_str(text).map_err(|e| BaselineError::from_toml(path, text, &e, ""))?;
        if raw.schema.get_ref() != SCHEMA {
            return Err(invalid(
                raw.schema.span().start,
                format!(
                    "schema is `{}`; this maildrift reads `{SCHEMA}`",
                    raw.schema.get_ref()
                ),
            ));
        }
        let check_settings = |table: &IndexMap<Spanned<String>, Spanned<String>>| {
            let mut out = BTreeMap::new();
            for (k, v) in table {
                let name = k.get_ref();
                if settings::is_secret_name(name) {
                    return Err(invalid(
                        k.span().start,
                        format!(
                            "`{name}` is a secret: a baseline can't state its value (it never leaves Moodle)"
                        ),
                    ));
                }
                if settings::lookup(name).is_none() {
                    return Err(invalid(k.span().start, unknown_setting(name)));
                }
                out.insert(name.clone(), v.get_ref().clone());
            }
            Ok(out)
        };
        let date = |d: &toml::value::Datetime,
                    offset: usize,
                    what: &str|
         -> Result<jiff::civil::Date, BaselineError> {
            match (d.date, d.time) {
                (Some(date), None) => {
                    jiff::civil::Date::new(date.year as i16, date.month as i8, date.day as i8)
                        .map_err(|e| invalid(offset, format!("{what}: {e}")))
                }
                _ => Err(invalid(
                    offset,
                    format!("{what} must be a plain date like 2026-12-31"),
                )),
            }
        };

        let global = check_settings(&raw.settings)?;
        let mut environments = IndexMap::new();
        for (name, env) in &raw.environments {
            environments.insert(
                name.clone(),
                EnvironmentRules {
                    role: env.role,
                    settings: check_settings(&env.settings)?,
                    dns: env.dns.clone(),
                },
            );
        }
        let mut may_differ = Vec::new();
        for s in &raw.drift.may_differ {
            if settings::lookup(s.get_ref()).is_none() {
                return Err(invalid(s.span().start, unknown_setting(s.get_ref())));
            }
            may_differ.push(s.get_ref().clone());
        }
        if let Some(reference) = &raw.drift.reference
            && !environments.is_empty()
            && !environments.contains_key(reference)
        {
            let offset = text.find("reference").unwrap_or(0);
            return Err(invalid(
                offset,
                format!("drift.reference `{reference}` is not an environment of this baseline"),
            ));
        }
        let mut exceptions = Vec::new();
        for ex in &raw.exceptions {
            let offset = ex.span().start;
            let ex = ex.get_ref();
            if ex.setting.is_none() && ex.code.is_none() {
                return Err(invalid(
                    offset,
                    "an exception needs `setting` or `code`".into(),
                ));
            }
            if let Some(s) = &ex.setting
                && settings::lookup(s).is_none()
                && !settings::SECRET_SETTINGS.contains(&s.as_str())
            {
                return Err(invalid(offset, unknown_setting(s)));
            }
            if ex.reason.trim().is_empty() || ex.owner.trim().is_empty() {
                return Err(invalid(
                    offset,
                    "an exception needs a non-empty `reason` and `owner`".into(),
                ));
            }
            exceptions.push(Exception {
                setting: ex.setting.clone(),
                code: ex.code.clone(),
                environment: ex.environment.clone(),
                value: ex.value.clone(),
                reason: ex.reason.clone(),
                owner: ex.owner.clone(),
                expires: date(&ex.expires, offset, "expires")?,
                ticket: ex.ticket.clone(),
            });
        }
        let standard = Standard {
            name: raw.standard.name,
            owner: raw.standard.owner,
            approved_by: raw.standard.approved_by,
            approved_on: match &raw.standard.approved_on {
                Some(d) => Some(date(
                    d,
                    text.find("approved_on").unwrap_or(0),
                    "approved_on",
                )?),
                None => None,
            },
            review_by: match &raw.standard.review_by {
                Some(d) => Some(date(d.get_ref(), d.span().start, "review_by")?),
                None => None,
            },
            evidence: raw
                .standard
                .evidence
                .into_iter()
                .map(|e| Evidence {
                    title: e.title,
                    url: e.url,
                    environment: e.environment,
                })
                .collect(),
        };
        Ok(Baseline {
            path: path.to_path_buf(),
            standard,
            settings: global,
            environments,
            drift_reference: raw.drift.reference,
            may_differ,
            dns: raw.dns,
            health: raw.health,
            relay: raw.relay,
            exceptions,
        })
    }

    /// The value the standard expects for `setting` in `environment`, if it states one.
    pub fn expected(&self, environment: &str, setting: &str) -> Option<&str> {
        self.environments
            .get(environment)
            .and_then(|e| e.settings.get(setting))
            .or_else(|| self.settings.get(setting))
            .map(String::as_str)
    }

    /// Whether the standard pins `setting` for `environment` (globally or by override).
    pub fn pins(&self, environment: &str, setting: &str) -> bool {
        self.expected(environment, setting).is_some()
    }

    /// The role of an environment: from the baseline, else guessed from its name.
    pub fn role(&self, environment: &str) -> Option<Role> {
        self.environments
            .get(environment)
            .and_then(|e| e.role)
            .or_else(|| guess_role(environment))
    }
}

/// Guesses an environment's role from its name: `prod*`/`live` are production; `stag*`, `test`,
/// `uat`, `dev`, `qa` are staging-like. Anything else has no role and role rules skip it.
pub fn guess_role(name: &str) -> Option<Role> {
    let n = name.to_ascii_lowercase();
    if n.starts_with("prod") || n == "live" || n.ends_with("-prod") || n.ends_with("_prod") {
        Some(Role::Production)
    } else if ["stag", "test", "uat", "dev", "qa", "preprod", "sandbox"]
        .iter()
        .any(|p| n.contains(p))
    {
        Some(Role::Staging)
    } else {
        None
    }
}

fn unknown_setting(name: &str) -> String {
    let suggestion = settings::MAIL_SETTINGS
        .iter()
        .map(|s| s.name)
        .min_by_key(|s| edit_distance(s, name))
        .filter(|s| edit_distance(s, name) <= 3);
    match suggestion {
        Some(s) => format!("unknown mail setting `{name}` (did you mean `{s}`?)"),
        None => format!(
            "unknown mail setting `{name}`; see baselines/README.md for the settings maildrift reads"
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
schema = "maildrift.baseline/1"
[standard]
name = "Mail standard"
owner = "Mail team"
review_by = 2027-01-31

[settings]
smtphosts = "smtp.example.edu:587"

[environments.staging]
role = "staging"
settings = { divertallemailsto = "sink@example.edu" }

[[exceptions]]
setting = "smtpsecure"
environment = "staging"
value = ""
reason = "relay has no TLS yet"
owner = "Ops"
expires = 2026-12-31
"#;

    #[test]
    fn overrides_win_over_global_expectations() {
        let b = Baseline::parse(MINIMAL, Path::new("b.toml")).unwrap();
        assert_eq!(
            b.expected("staging", "divertallemailsto"),
            Some("sink@example.edu")
        );
        assert_eq!(b.expected("production", "divertallemailsto"), None);
        assert_eq!(
            b.expected("production", "smtphosts"),
            Some("smtp.example.edu:587")
        );
        assert_eq!(b.exceptions[0].expires, jiff::civil::date(2026, 12, 31));
    }

    #[test]
    fn misspelt_setting_is_an_error_with_line_column_and_suggestion() {
        let text = MINIMAL.replace("smtphosts =", "smtphost =");
        let err = Baseline::parse(&text, Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.toml:9:1: "), "{err}");
        assert!(err.contains("did you mean `smtphosts`"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let text = MINIMAL.replace("owner = \"Mail team\"", "owner = \"Mail team\"\nreveiw = 1");
        let err = Baseline::parse(&text, Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.toml:6:1: "), "{err}");
        assert!(err.contains("reveiw"), "{err}");
    }

    #[test]
    fn secret_values_are_refused() {
        let text = MINIMAL.replace("[settings]", "[settings]\nsmtppass = \"hunter2\"");
        let err = Baseline::parse(&text, Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("secret"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn exception_dates_must_be_plain_dates() {
        let text = MINIMAL.replace("expires = 2026-12-31", "expires = 2026-12-31T10:00:00Z");
        assert!(Baseline::parse(&text, Path::new("b.toml")).is_err());
    }

    #[test]
    fn roles_come_from_the_baseline_then_the_name() {
        let b = Baseline::parse(MINIMAL, Path::new("b.toml")).unwrap();
        assert_eq!(b.role("staging"), Some(Role::Staging));
        assert_eq!(b.role("prod-eu"), Some(Role::Production));
        assert_eq!(b.role("library"), None);
    }
}
