//! Diffing two snapshots: the settings, secrets and DKIM keys that differ.
//!
//! Values are compared after [`normalise`](super::normalise) but reported as stored, so an admin
//! sees exactly what is in each Moodle. Secrets are only ever compared as set/unset.

use serde::{Deserialize, Serialize};

use super::normalise;
use crate::snapshot::{Snapshot, Source, settings};

/// Schema identifier of `maildrift diff --format json`.
pub const SCHEMA: &str = "maildrift.diff/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDiff {
    pub schema: String,
    pub left: Side,
    pub right: Side,
    /// Settings whose values (or forced state) differ, in catalogue order, unknown ones last.
    pub settings: Vec<SettingDiff>,
    /// Secrets set on one side only.
    pub secrets: Vec<SecretDiff>,
    /// DKIM keys that differ per sender domain.
    pub dkim: Vec<DkimDiff>,
}

/// Which snapshot one side of the diff is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub environment: String,
    pub url: String,
    pub release: String,
    pub taken_at: jiff::Timestamp,
    /// False when the snapshot cannot know the DKIM key state (a `cfg.php` import sees no
    /// dataroot): its keys are unknown, not absent, and are not compared. Written only when false.
    #[serde(default = "known", skip_serializing_if = "is_known")]
    pub dkim_known: bool,
}

fn known() -> bool {
    true
}

fn is_known(k: &bool) -> bool {
    *k
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingDiff {
    pub name: String,
    /// `None` when the setting is absent from that snapshot.
    pub left: Option<String>,
    pub right: Option<String>,
    pub left_forced: bool,
    pub right_forced: bool,
    /// Multi-line settings are best shown as a unified diff.
    pub multiline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDiff {
    pub name: String,
    pub left: bool,
    pub right: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimDiff {
    pub domain: String,
    pub left: Option<DkimSide>,
    pub right: Option<DkimSide>,
}

/// A DKIM key as shown in a diff: the selector, whether Moodle has the key, and a short key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimSide {
    pub selector: String,
    pub keyfile: bool,
    /// First and last characters of the public key, enough to tell two keys apart.
    pub key: String,
}

impl SnapshotDiff {
    /// The sides whose DKIM key state is unknown (so keys were not compared), left first.
    pub fn dkim_unknown(&self) -> Vec<&str> {
        [&self.left, &self.right]
            .into_iter()
            .filter(|s| !s.dkim_known)
            .map(|s| s.environment.as_str())
            .collect()
    }

    /// Why DKIM keys were not compared, when a side cannot know them; environment names pass
    /// through the renderer's own escaping.
    pub fn dkim_unknown_note(&self, esc: impl Fn(&str) -> String) -> Option<String> {
        let unknown = self.dkim_unknown();
        (!unknown.is_empty()).then(|| {
            format!(
                "DKIM keys unknown for {}: a snapshot imported from cfg.php cannot see the key files \
                 in dataroot, so DKIM keys were not compared.",
                unknown.iter().map(|n| esc(n)).collect::<Vec<_>>().join(" and ")
            )
        })
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty() && self.secrets.is_empty() && self.dkim.is_empty()
    }

    /// Number of differences of all kinds.
    pub fn len(&self) -> usize {
        self.settings.len() + self.secrets.len() + self.dkim.len()
    }
}

fn side(s: &Snapshot) -> Side {
    Side {
        environment: s.environment.clone(),
        url: s.url.clone(),
        release: s.moodle.release.clone(),
        taken_at: s.taken_at,
        dkim_known: dkim_known(s),
    }
}

/// Whether a snapshot knows its DKIM key state: only the plugin reads dataroot's key files.
pub fn dkim_known(s: &Snapshot) -> bool {
    s.source != Source::CfgImport
}

/// Short identifier of a base64 key: enough to see that two keys differ, too little to matter.
pub fn key_id(publickey: &str) -> String {
    let key = publickey.trim();
    if key.is_empty() {
        return "none".into();
    }
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 16 {
        return key.to_string();
    }
    let head: String = chars[chars.len().saturating_sub(24)..chars.len() - 12]
        .iter()
        .collect();
    let tail: String = chars[chars.len() - 12..].iter().collect();
    format!("…{head}{tail}")
}

/// Computes what differs between `a` (left) and `b` (right).
pub fn diff(a: &Snapshot, b: &Snapshot) -> SnapshotDiff {
    let mut names: Vec<&str> = settings::MAIL_SETTINGS.iter().map(|s| s.name).collect();
    let mut extra: Vec<&str> = a
        .settings
        .keys()
        .chain(b.settings.keys())
        .map(String::as_str)
        .filter(|n| settings::lookup(n).is_none() && !settings::is_secret_name(n))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    names.extend(extra);

    let mut setting_diffs = Vec::new();
    for name in names {
        let (l, r) = (a.settings.get(name), b.settings.get(name));
        if l.is_none() && r.is_none() {
            continue;
        }
        let lv = l.map_or("", |s| s.value.as_str());
        let rv = r.map_or("", |s| s.value.as_str());
        let lf = l.is_some_and(|s| s.forced);
        let rf = r.is_some_and(|s| s.forced);
        if normalise::equal(name, lv, rv) && lf == rf {
            continue;
        }
        setting_diffs.push(SettingDiff {
            name: name.to_string(),
            left: l.map(|s| s.value.clone()),
            right: r.map(|s| s.value.clone()),
            left_forced: lf,
            right_forced: rf,
            multiline: settings::lookup(name).is_some_and(|s| s.multiline)
                || lv.contains('\n')
                || rv.contains('\n'),
        });
    }

    let mut secret_names: Vec<&String> = a.secrets.keys().chain(b.secrets.keys()).collect();
    secret_names.sort();
    secret_names.dedup();
    let secrets = secret_names
        .into_iter()
        .filter_map(|n| {
            let (l, r) = (
                a.secrets.get(n).copied().unwrap_or(false),
                b.secrets.get(n).copied().unwrap_or(false),
            );
            (l != r).then(|| SecretDiff {
                name: n.clone(),
                left: l,
                right: r,
            })
        })
        .collect();

    let dkim_side = |s: &Snapshot, domain: &str| {
        s.dkim
            .iter()
            .find(|k| k.domain.eq_ignore_ascii_case(domain))
            .map(|k| DkimSide {
                selector: k.selector.clone(),
                keyfile: k.keyfile,
                key: key_id(&k.publickey),
            })
    };
    let mut domains: Vec<String> = a
        .dkim
        .iter()
        .chain(b.dkim.iter())
        .map(|k| k.domain.to_lowercase())
        .collect();
    domains.sort();
    domains.dedup();
    // A side that cannot know its keys has none listed; "none" against a real key would be a
    // false difference, so the keys are not compared at all and the renderers say "unknown".
    if !dkim_known(a) || !dkim_known(b) {
        domains.clear();
    }
    let dkim = domains
        .into_iter()
        .filter_map(|d| {
            let (l, r) = (dkim_side(a, &d), dkim_side(b, &d));
            (l != r).then_some(DkimDiff {
                domain: d,
                left: l,
                right: r,
            })
        })
        .collect();

    SnapshotDiff {
        schema: SCHEMA.to_string(),
        left: side(a),
        right: side(b),
        settings: setting_diffs,
        secrets,
        dkim,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The checks' test snapshot, with smtppass set only in production.
    fn snap(env: &str, values: &[(&str, &str)]) -> Snapshot {
        let mut s = crate::checks::testing::snapshot(env, values);
        s.secrets = BTreeMap::from([("smtppass".to_string(), env == "production")]);
        s
    }

    #[test]
    fn a_cfg_import_has_unknown_dkim_keys_not_missing_ones() {
        let mut pulled = snap("production", &[("emaildkimselector", "s1")]);
        pulled.secrets.clear();
        pulled.dkim.push(crate::snapshot::DkimKey {
            domain: "example.edu".into(),
            selector: "s1".into(),
            keyfile: true,
            publickey: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAexample".into(),
        });
        let mut imported = pulled.clone();
        imported.environment = "imported".into();
        imported.source = Source::CfgImport;
        imported.dkim.clear();
        let d = diff(&imported, &pulled);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.dkim_unknown(), ["imported"]);
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("\"dkim_known\":false"), "{json}");
        // Two pulls still compare their keys.
        let mut other = pulled.clone();
        other.dkim.clear();
        assert_eq!(diff(&other, &pulled).dkim.len(), 1);
        assert!(diff(&other, &pulled).dkim_unknown().is_empty());
    }

    #[test]
    fn equal_after_normalisation_is_not_a_difference() {
        let a = snap("staging", &[("allowedemaildomains", "a.edu\nb.edu")]);
        let b = snap("staging", &[("allowedemaildomains", "B.edu\na.edu\n")]);
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn differing_values_are_reported_as_stored_in_catalogue_order() {
        let a = snap(
            "staging",
            &[("smtphosts", "a:25"), ("noreplyaddress", "x@a.edu")],
        );
        let b = snap(
            "production",
            &[("smtphosts", "b:587"), ("noreplyaddress", "x@a.edu")],
        );
        let d = diff(&a, &b);
        assert_eq!(d.settings.len(), 1);
        assert_eq!(d.settings[0].left.as_deref(), Some("a:25"));
        assert_eq!(d.settings[0].right.as_deref(), Some("b:587"));
        assert_eq!(
            d.secrets,
            vec![SecretDiff {
                name: "smtppass".into(),
                left: false,
                right: true
            }]
        );
    }

    #[test]
    fn forced_in_one_environment_only_is_a_difference() {
        let a = snap("staging", &[("smtphosts", "a:25")]);
        let mut b = snap("staging", &[("smtphosts", "a:25")]);
        b.settings.get_mut("smtphosts").unwrap().forced = true;
        assert_eq!(diff(&a, &b).settings.len(), 1);
    }

    #[test]
    fn key_id_shows_only_the_tail_of_a_key() {
        let id = key_id("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxyz0123456789abcdefABCDEF");
        assert!(id.starts_with('…'));
        assert!(id.len() < 40);
    }
}
