//! Conformance: does each environment hold the values the standard expects?

use crate::baseline::Baseline;
use crate::compare::normalise;
use crate::findings::{Finding, Kind, Severity};
use crate::snapshot::{Snapshot, settings};

pub const MISMATCH: Kind = Kind {
    code: "MD101",
    name: "setting-differs-from-standard",
    severity: Severity::Error,
    category: "baseline",
    remedy: "Set the value in Moodle as the standard says, or change the standard (maildrift baseline accept) or add a dated exception.",
};

pub fn check(snap: &Snapshot, baseline: &Baseline) -> Vec<Finding> {
    let env = &snap.environment;
    let mut out = Vec::new();
    for spec in settings::MAIL_SETTINGS {
        let Some(expected) = baseline.expected(env, spec.name) else {
            continue;
        };
        let actual = snap.value(spec.name);
        if normalise::equal(spec.name, expected, actual) {
            continue;
        }
        let forced = snap.settings.get(spec.name).is_some_and(|s| s.forced);
        let mut f = Finding::new(
            &MISMATCH,
            format!(
                "{} is {} but the standard says {}",
                spec.name,
                shown(actual),
                shown(expected)
            ),
        )
        .env(env)
        .subject(spec.name)
        .expected(expected)
        .actual(actual);
        if forced {
            f = f.remedy("The value is forced in config.php: change it there (the admin UI can't), or change the standard.");
        }
        out.push(f);
    }
    out
}

/// A value for a one-line message: quoted, or `empty`.
pub fn shown(value: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        "empty".to_string()
    } else if v.contains('\n') {
        format!("{:?}", v)
    } else {
        format!("`{v}`")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::testing::snapshot;

    fn baseline() -> Baseline {
        Baseline::parse(
            r#"
schema = "maildrift.baseline/1"
[standard]
name = "s"
owner = "o"
[settings]
smtphosts = "relay.example.edu:587"
smtpsecure = "tls"
[environments.staging.settings]
divertallemailsto = "sink@example.edu"
"#,
            Path::new("b.toml"),
        )
        .unwrap()
    }

    #[test]
    fn mismatching_setting_is_an_error_with_expected_and_actual() {
        let s = snapshot(
            "production",
            &[("smtphosts", "other:25"), ("smtpsecure", "tls")],
        );
        let f = check(&s, &baseline());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "MD101");
        assert_eq!(f[0].expected.as_deref(), Some("relay.example.edu:587"));
        assert_eq!(f[0].actual.as_deref(), Some("other:25"));
    }

    #[test]
    fn per_environment_override_is_checked_only_there() {
        let b = baseline();
        let prod = snapshot(
            "production",
            &[
                ("smtphosts", "relay.example.edu:587"),
                ("smtpsecure", "tls"),
            ],
        );
        assert!(check(&prod, &b).is_empty());
        let staging = snapshot(
            "staging",
            &[
                ("smtphosts", "relay.example.edu:587"),
                ("smtpsecure", "tls"),
            ],
        );
        let f = check(&staging, &b);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject.as_deref(), Some("divertallemailsto"));
    }

    #[test]
    fn normalised_equal_values_conform() {
        let s = snapshot(
            "production",
            &[
                ("smtphosts", " RELAY.example.edu:587 "),
                ("smtpsecure", "tls"),
            ],
        );
        assert!(check(&s, &baseline()).is_empty());
    }
}
