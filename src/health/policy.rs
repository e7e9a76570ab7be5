//! [`HealthPolicy`]: the thresholds of the baseline's `[health]` table (`docs/health.md`).

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::baseline::{Baseline, BaselineError};
use crate::location::Location;

/// Thresholds the health and evidence checks apply. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPolicy {
    /// Days of mail log the failure counts cover (the plugin clamps to 1..=90).
    pub window_days: u32,
    /// Cron's last start may be at most this old (MD801).
    pub cron_max_age_minutes: u64,
    /// The oldest due ad-hoc task may have waited at most this long (MD802, MD803).
    pub queue_max_age_minutes: u64,
    /// More failed mails than this in the window is MD805; `None` = no count limit.
    pub failed_mail_max: Option<u64>,
    /// A failure rate above this is MD806; `None` = no rate limit.
    pub failure_rate_max: Option<f64>,
    /// More users over Moodle's bounce threshold than this is MD807.
    pub bounce_users_max: u64,
    /// The newest successful test mail may be at most this old (MD901/MD902); 0 = no
    /// evidence check.
    pub testmail_max_age_days: u32,
    /// A site clock further off than this from maildrift's is MD809.
    pub clock_skew_max_seconds: u64,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            window_days: 7,
            cron_max_age_minutes: 10,
            queue_max_age_minutes: 60,
            failed_mail_max: None,
            failure_rate_max: Some(0.02),
            bounce_users_max: 0,
            testmail_max_age_days: 35,
            clock_skew_max_seconds: 300,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Wrapper {
    #[serde(default)]
    health: Option<Raw>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    window_days: Option<Spanned<i64>>,
    cron_max_age_minutes: Option<Spanned<i64>>,
    queue_max_age_minutes: Option<Spanned<i64>>,
    failed_mail_max: Option<Spanned<i64>>,
    failure_rate_max: Option<Spanned<f64>>,
    bounce_users_max: Option<Spanned<i64>>,
    testmail_max_age_days: Option<Spanned<i64>>,
    clock_skew_max_seconds: Option<Spanned<i64>>,
}

impl HealthPolicy {
    /// The policy of a loaded baseline. The file is read again so that errors can point at a
    /// line and column; should that fail, the already parsed `[health]` table is used and
    /// errors name the key instead.
    pub fn from_baseline(b: &Baseline) -> Result<HealthPolicy, BaselineError> {
        if b.health.is_none() {
            return Ok(HealthPolicy::default());
        }
        match std::fs::read_to_string(&b.path) {
            Ok(text) => HealthPolicy::parse(&text, &b.path),
            Err(_) => {
                let table = b
                    .health
                    .clone()
                    .unwrap_or(toml::Value::Table(Default::default()));
                let text = toml::to_string(&toml::Value::Table(
                    [("health".to_string(), table)].into_iter().collect(),
                ))
                .unwrap_or_default();
                HealthPolicy::parse(&text, &b.path)
            }
        }
    }

    /// Reads the `[health]` table of baseline text (other tables are ignored); `path` names
    /// the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<HealthPolicy, BaselineError> {
        let invalid = |offset: usize, message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            location: Location::at(text, offset),
            message,
        };
        let wrapper: Wrapper = toml::from_str(text)
            .map_err(|e| BaselineError::from_toml(path, text, &e, "[health]: "))?;
        let Some(raw) = wrapper.health else {
            return Ok(HealthPolicy::default());
        };
        let mut p = HealthPolicy::default();
        let int = |v: &Spanned<i64>, key: &str, min: i64, max: i64| -> Result<i64, BaselineError> {
            let n = *v.get_ref();
            if n < min || n > max {
                Err(invalid(
                    v.span().start,
                    format!("[health] {key} = {n} is out of range ({min} to {max})"),
                ))
            } else {
                Ok(n)
            }
        };
        if let Some(v) = &raw.window_days {
            p.window_days = int(v, "window_days", 1, 90)? as u32;
        }
        if let Some(v) = &raw.cron_max_age_minutes {
            p.cron_max_age_minutes = int(v, "cron_max_age_minutes", 1, 10_080)? as u64;
        }
        if let Some(v) = &raw.queue_max_age_minutes {
            p.queue_max_age_minutes = int(v, "queue_max_age_minutes", 1, 10_080)? as u64;
        }
        if let Some(v) = &raw.failed_mail_max {
            p.failed_mail_max = Some(int(v, "failed_mail_max", 0, i64::MAX)? as u64);
        }
        if let Some(v) = &raw.failure_rate_max {
            let r = *v.get_ref();
            if !(0.0..=1.0).contains(&r) {
                return Err(invalid(
                    v.span().start,
                    format!(
                        "[health] failure_rate_max = {r} must be a fraction from 0 to 1 (0.02 = 2 %)"
                    ),
                ));
            }
            p.failure_rate_max = Some(r);
        }
        if let Some(v) = &raw.bounce_users_max {
            p.bounce_users_max = int(v, "bounce_users_max", 0, i64::MAX)? as u64;
        }
        if let Some(v) = &raw.testmail_max_age_days {
            p.testmail_max_age_days = int(v, "testmail_max_age_days", 0, 3_650)? as u32;
        }
        if let Some(v) = &raw.clock_skew_max_seconds {
            p.clock_skew_max_seconds = int(v, "clock_skew_max_seconds", 1, 86_400)? as u64;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(health: &str) -> Result<HealthPolicy, String> {
        let text = format!(
            "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"x\"\nowner = \"y\"\n\n[health]\n{health}"
        );
        HealthPolicy::parse(&text, Path::new("baseline/mail.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_table_gives_the_defaults() {
        let p = HealthPolicy::parse("schema = \"x\"\n", Path::new("b.toml")).unwrap();
        assert_eq!(p, HealthPolicy::default());
        assert_eq!(p.cron_max_age_minutes, 10);
        assert_eq!(p.failure_rate_max, Some(0.02));
    }

    #[test]
    fn values_override_defaults() {
        let p = parse("cron_max_age_minutes = 5\nfailed_mail_max = 0\nfailure_rate_max = 0.1\ntestmail_max_age_days = 0\n").unwrap();
        assert_eq!(p.cron_max_age_minutes, 5);
        assert_eq!(p.failed_mail_max, Some(0));
        assert_eq!(p.failure_rate_max, Some(0.1));
        assert_eq!(p.testmail_max_age_days, 0);
        assert_eq!(p.queue_max_age_minutes, 60);
    }

    #[test]
    fn unknown_key_names_file_line_column_and_key() {
        let err = parse("cron_max_age_minutes = 5\ncron_max_age = 5\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:8:1: "), "{err}");
        assert!(err.contains("cron_max_age"), "{err}");
        assert!(err.contains("[health]"), "{err}");
    }

    #[test]
    fn out_of_range_values_point_at_the_value() {
        let err = parse("window_days = 365\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:7:15: "), "{err}");
        assert!(err.contains("window_days"), "{err}");
        let err = parse("failure_rate_max = 2.0\n").unwrap_err();
        assert!(err.contains("fraction"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = parse("cron_max_age_minutes = \"10\"\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:7:"), "{err}");
    }

    #[test]
    fn from_baseline_rereads_the_file_for_locations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.toml");
        let text = "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"x\"\nowner = \"y\"\n[health]\ncron_max_age_minutes = 3\n";
        std::fs::write(&path, text).unwrap();
        let b = Baseline::load(&path).unwrap();
        assert_eq!(
            HealthPolicy::from_baseline(&b)
                .unwrap()
                .cron_max_age_minutes,
            3
        );
        std::fs::write(&path, text.replace("cron_max_age_minutes", "cron_minutes")).unwrap();
        let b = Baseline::load(&path).unwrap();
        let err = HealthPolicy::from_baseline(&b).unwrap_err().to_string();
        assert!(err.contains("mail.toml:6:1"), "{err}");
        assert!(err.contains("cron_minutes"), "{err}");
    }
}
