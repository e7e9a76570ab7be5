//! [`RelayPolicy`]: the expected relay facts of the baseline's `[relay]` table.

use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::baseline::{Baseline, BaselineError};
use crate::location::Location;

/// What the relay checks expect. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayPolicy {
    /// A relay reached without TLS outside loopback and `plain_allowed_networks` is MD161.
    pub require_tls: bool,
    /// Networks where plain SMTP is acceptable even with `require_tls` (loopback always is).
    pub plain_allowed_networks: Vec<IpNet>,
    /// Lowest acceptable TLS version, as a rank of [`super::tls_rank`]; `None` = no check.
    pub min_tls_version: Option<(u8, String)>,
    /// A certificate expiring within this many days is MD157; 0 = no warning.
    pub cert_expiry_warning_days: u32,
    /// Groups of environments whose relays must offer the same facts (MD165).
    pub same_relay: Vec<Vec<String>>,
    /// Groups of environments that must not share a relay (MD166).
    pub separate_relay: Vec<Vec<String>>,
}

impl Default for RelayPolicy {
    fn default() -> Self {
        RelayPolicy {
            require_tls: false,
            plain_allowed_networks: Vec::new(),
            min_tls_version: None,
            cert_expiry_warning_days: 21,
            same_relay: Vec::new(),
            separate_relay: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Wrapper {
    #[serde(default)]
    relay: Option<Raw>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    require_tls: Option<bool>,
    plain_allowed_networks: Option<Vec<Spanned<String>>>,
    min_tls_version: Option<Spanned<String>>,
    cert_expiry_warning_days: Option<Spanned<i64>>,
    same_relay: Option<Vec<Spanned<Vec<String>>>>,
    separate_relay: Option<Vec<Spanned<Vec<String>>>>,
}

impl RelayPolicy {
    /// The policy of a loaded baseline; the file is read again so errors can point at a line.
    pub fn from_baseline(b: &Baseline) -> Result<RelayPolicy, BaselineError> {
        if b.relay.is_none() {
            return Ok(RelayPolicy::default());
        }
        let text = match std::fs::read_to_string(&b.path) {
            Ok(text) => text,
            Err(_) => toml::to_string(&toml::Value::Table(
                [(
                    "relay".to_string(),
                    b.relay
                        .clone()
                        .unwrap_or(toml::Value::Table(Default::default())),
                )]
                .into_iter()
                .collect(),
            ))
            .unwrap_or_default(),
        };
        RelayPolicy::parse(&text, &b.path)
    }

    /// Reads the `[relay]` table of baseline text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RelayPolicy, BaselineError> {
        let invalid = |offset: usize, message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            location: Location::at(text, offset),
            message,
        };
        let wrapper: Wrapper = toml::from_str(text)
            .map_err(|e| BaselineError::from_toml(path, text, &e, "[relay]: "))?;
        let Some(raw) = wrapper.relay else {
            return Ok(RelayPolicy::default());
        };
        let mut p = RelayPolicy::default();
        if let Some(v) = raw.require_tls {
            p.require_tls = v;
        }
        for net in raw.plain_allowed_networks.iter().flatten() {
            let parsed = net.get_ref().parse::<IpNet>().map_err(|_| {
                invalid(
                    net.span().start,
                    format!(
                        "[relay] plain_allowed_networks: `{}` is not a network (write e.g. \"10.0.0.0/8\" or \"2001:db8::/32\")",
                        net.get_ref()
                    ),
                )
            })?;
            p.plain_allowed_networks.push(parsed);
        }
        if let Some(v) = &raw.min_tls_version {
            let rank = super::tls_rank(v.get_ref()).ok_or_else(|| {
                invalid(
                    v.span().start,
                    format!(
                        "[relay] min_tls_version = \"{}\" is not a TLS version (expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\")",
                        v.get_ref()
                    ),
                )
            })?;
            p.min_tls_version = Some((rank, v.get_ref().clone()));
        }
        if let Some(v) = &raw.cert_expiry_warning_days {
            let n = *v.get_ref();
            if !(0..=365).contains(&n) {
                return Err(invalid(
                    v.span().start,
                    format!("[relay] cert_expiry_warning_days = {n} is out of range (0 to 365)"),
                ));
            }
            p.cert_expiry_warning_days = n as u32;
        }
        for (key, groups, into) in [
            ("same_relay", &raw.same_relay, &mut p.same_relay),
            ("separate_relay", &raw.separate_relay, &mut p.separate_relay),
        ] {
            for g in groups.iter().flatten() {
                if g.get_ref().len() < 2 {
                    return Err(invalid(
                        g.span().start,
                        format!(
                            "[relay] {key}: a group names at least two environments, e.g. [\"production\", \"staging\"]"
                        ),
                    ));
                }
                into.push(g.get_ref().clone());
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(relay: &str) -> Result<RelayPolicy, String> {
        let text = format!(
            "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"x\"\nowner = \"y\"\n\n[relay]\n{relay}"
        );
        RelayPolicy::parse(&text, Path::new("baseline/mail.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_table_gives_the_defaults() {
        let p = RelayPolicy::parse("schema = \"x\"\n", Path::new("b.toml")).unwrap();
        assert_eq!(p, RelayPolicy::default());
        assert_eq!(p.cert_expiry_warning_days, 21);
        assert!(!p.require_tls);
    }

    #[test]
    fn values_override_defaults() {
        let p = parse("separate_relay = [[\"production\", \"staging\"]]\n").unwrap();
        assert_eq!(p.separate_relay, [["production", "staging"]]);
        let p = parse("require_tls = true\nplain_allowed_networks = [\"10.0.0.0/8\"]\nmin_tls_version = \"1.2\"\ncert_expiry_warning_days = 30\n").unwrap();
        assert!(p.require_tls);
        assert_eq!(p.plain_allowed_networks.len(), 1);
        assert_eq!(
            p.min_tls_version.as_ref().map(|v| v.1.as_str()),
            Some("1.2")
        );
        assert_eq!(p.cert_expiry_warning_days, 30);
    }

    #[test]
    fn unknown_key_and_bad_values_name_file_line_and_key() {
        let err = parse("require_ssl = true\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:7:1: "), "{err}");
        assert!(err.contains("require_ssl"), "{err}");
        let err = parse("min_tls_version = \"1.4\"\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:7:19: "), "{err}");
        assert!(err.contains("min_tls_version"), "{err}");
        let err = parse("plain_allowed_networks = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(err.contains("plain_allowed_networks"), "{err}");
        let err = parse("cert_expiry_warning_days = 400\n").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        let err = parse("same_relay = [[\"production\"]]\n").unwrap_err();
        assert!(err.contains("same_relay") && err.contains("two"), "{err}");
        let err = parse("require_tls = \"yes\"\n").unwrap_err();
        assert!(err.starts_with("baseline/mail.toml:7:"), "{err}");
    }
}
