//! `maildrift snapshot import`: a snapshot from `php admin/cli/cfg.php --json`, for sites
//! where the companion plugin can't be installed.
//!
//! cfg.php prints every core setting, smtppass in clear. Secrets are reduced to set/unset and
//! everything that is not a mail setting is dropped while parsing, before anything is written;
//! no error message ever quotes a value from the input.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::io::SnapshotError;
use super::{MoodleVersion, SCHEMA, Setting, Snapshot, Source, settings};

/// What the caller knows about the site that cfg.php doesn't say.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    pub environment: String,
    /// Moodle's wwwroot; cfg.php's own `wwwroot` is used when this is `None`.
    pub url: Option<String>,
    pub taken_at: jiff::Timestamp,
}

/// Converts cfg.php's JSON (given as text; `path` names it in errors) into a snapshot.
pub fn from_cfg_json(
    text: &str,
    path: &Path,
    meta: &ImportMeta,
) -> Result<Snapshot, SnapshotError> {
    let err = |message: String| SnapshotError::Import {
        path: path.to_path_buf(),
        message,
    };
    let mut value: Value = serde_json::from_str(text).map_err(|e| {
        err(format!(
            "not the JSON of `php admin/cli/cfg.php --json` (line {}, column {}: {})",
            e.line(),
            e.column(),
            // serde_json's messages name the position and the expected token, never the input.
            e.to_string()
                .split(" at line")
                .next()
                .unwrap_or("invalid JSON")
        ))
    })?;
    // The site's configuration, exactly as untrusted as an answer of the plugin.
    crate::sanitise::clean_json(&mut value);
    let map = match value {
        Value::Object(map) => map,
        // json_encode() of an empty config list is `[]`.
        Value::Array(a) if a.is_empty() => serde_json::Map::new(),
        _ => {
            return Err(err(
                "expected a JSON object of setting names and values, as cfg.php --json prints"
                    .into(),
            ));
        }
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    if !map.contains_key("version") && !map.contains_key("release") {
        return Err(err(
            "no `version` or `release` in the input: run `php admin/cli/cfg.php --json` without --component".into(),
        ));
    }
    let mut out_settings = BTreeMap::new();
    for spec in settings::MAIL_SETTINGS {
        let (value, isset) = match map.get(spec.name) {
            Some(v) => match text_of(v) {
                Some(t) => (t, true),
                None => return Err(err(format!("setting `{}` is not a plain value", spec.name))),
            },
            None => (String::new(), false),
        };
        out_settings.insert(
            spec.name.to_string(),
            Setting {
                value,
                isset,
                forced: false,
            },
        );
    }
    let secrets = settings::SECRET_SETTINGS
        .iter()
        .map(|name| {
            let set = map
                .get(*name)
                .and_then(text_of)
                .is_some_and(|v| !v.is_empty());
            (name.to_string(), set)
        })
        .collect();
    let field = |name: &str| map.get(name).and_then(text_of).unwrap_or_default();
    let url = meta.url.clone().unwrap_or_else(|| field("wwwroot"));
    if url.is_empty() {
        return Err(err("cfg.php's output has no wwwroot: pass --url".into()));
    }
    Ok(Snapshot {
        warnings: Vec::new(),
        schema: SCHEMA.to_string(),
        environment: meta.environment.clone(),
        url,
        taken_at: meta.taken_at,
        source: Source::CfgImport,
        moodle: MoodleVersion {
            release: field("release"),
            version: field("version"),
        },
        plugin_version: None,
        settings: out_settings,
        secrets,
        // cfg.php can't see dataroot's DKIM keys; the DNS checks say so.
        dkim: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ImportMeta {
        ImportMeta {
            environment: "legacy".into(),
            url: None,
            taken_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    const CFG: &str = r#"{"version":"2024100708.05","release":"4.5.8+ (Build: 20260126)",
        "wwwroot":"https:\/\/legacy.example.edu","smtphosts":"relay.example.edu:587",
        "smtppass":"s3cr3t-Passw0rd","smtpuser":"moodle","theme":"boost","passwordsaltmain":"zzz"}"#;

    #[test]
    fn keeps_only_mail_settings_and_reduces_secrets_to_set() {
        let s = from_cfg_json(CFG, Path::new("cfg.json"), &meta()).unwrap();
        assert_eq!(s.value("smtphosts"), "relay.example.edu:587");
        assert!(s.secrets["smtppass"]);
        assert!(!s.secrets["messageinbound_hostpass"]);
        assert!(!s.settings.contains_key("theme"));
        assert_eq!(s.url, "https://legacy.example.edu");
        let json = crate::snapshot::io::to_json(&s);
        assert!(!json.contains("s3cr3t") && !json.contains("zzz"), "{json}");
    }

    #[test]
    fn unset_settings_are_marked_not_set() {
        let s = from_cfg_json(CFG, Path::new("cfg.json"), &meta()).unwrap();
        assert!(!s.settings["divertallemailsto"].isset);
        assert!(s.settings["smtphosts"].isset);
    }

    #[test]
    fn plugin_config_output_is_refused_with_a_hint() {
        let err = from_cfg_json(r#"{"enabled":"1"}"#, Path::new("cfg.json"), &meta()).unwrap_err();
        assert!(err.to_string().contains("without --component"), "{err}");
    }

    #[test]
    fn broken_json_error_never_quotes_the_input() {
        let err =
            from_cfg_json(r#"{"smtppass":"s3cr3t" "#, Path::new("cfg.json"), &meta()).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().starts_with("cfg.json: "), "{err}");
    }
}
