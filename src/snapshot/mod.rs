//! Snapshots: the normalised, serialisable result of reading one Moodle's mail settings.
//!
//! Serialised as JSON with `"schema": "maildrift.snapshot/1"`. Maps are `BTreeMap`s so the
//! field order of a written snapshot is stable and diffs of committed snapshots stay small.

pub mod import;
pub mod io;
pub mod settings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Schema identifier written into every snapshot.
pub const SCHEMA: &str = "maildrift.snapshot/1";

/// Where a snapshot's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Pulled live through the `local_maildrift` web service.
    Plugin,
    /// Converted from `php admin/cli/cfg.php --json` by `maildrift snapshot import`.
    CfgImport,
}

/// One Moodle's outgoing-mail configuration at one point in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub schema: String,
    pub environment: String,
    pub url: String,
    /// When the values were read (RFC 3339, UTC).
    pub taken_at: jiff::Timestamp,
    pub source: Source,
    pub moodle: MoodleVersion,
    /// Version of `local_maildrift` on the site; `None` for imported snapshots.
    pub plugin_version: Option<String>,
    /// Every mail setting by name.
    pub settings: BTreeMap<String, Setting>,
    /// Secret settings by name: only whether each is set.
    pub secrets: BTreeMap<String, bool>,
    /// The DKIM keys Moodle would sign with, one per sender domain.
    #[serde(default)]
    pub dkim: Vec<DkimKey>,
    /// What the plugin warned about while reading the settings, as `code: message` (e.g. a
    /// DKIM key file it cannot read). Absent when there were none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoodleVersion {
    /// Human release string, e.g. `4.5.8+ (Build: 20260126)`.
    pub release: String,
    /// Numeric version, e.g. `2024100708.05`.
    pub version: String,
}

/// One setting's stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// The value exactly as Moodle stores it ("" when unset).
    pub value: String,
    /// Whether the setting exists in Moodle's configuration at all.
    pub isset: bool,
    /// Whether config.php forces the value (it can't be changed in the admin UI).
    pub forced: bool,
}

/// A DKIM key as Moodle sees it for one sender domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    /// Whether `$CFG->dataroot/dkim/<domain>/<selector>.private` exists and is readable.
    pub keyfile: bool,
    /// Base64 DER SubjectPublicKeyInfo derived from the private key; empty without a key.
    pub publickey: String,
}

impl Snapshot {
    /// The value of a setting, or "" when the snapshot doesn't carry it.
    pub fn value(&self, name: &str) -> &str {
        self.settings
            .get(name)
            .map(|s| s.value.as_str())
            .unwrap_or("")
    }

    /// True when a flag setting is on ("1", "true", "yes").
    pub fn flag(&self, name: &str) -> bool {
        matches!(
            self.value(name).trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    }
}
