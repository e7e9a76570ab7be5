//! Drift between environments: everything must be equal to the reference environment unless
//! the standard says it may differ (or pins each environment's value itself).

use crate::baseline::{Baseline, Role};
use crate::compare::diff;
use crate::findings::{Finding, Kind, Severity};
use crate::snapshot::Snapshot;

use super::conformance::shown;

pub const DRIFT: Kind = Kind {
    code: "MD201",
    name: "environment-drift",
    severity: Severity::Error,
    category: "drift",
    remedy: "Make the environments agree, or list the setting under [drift] may_differ (or pin each environment's value) in the baseline.",
};

pub const SECRET_DRIFT: Kind = Kind {
    code: "MD202",
    name: "secret-set-in-one-environment",
    severity: Severity::Warning,
    category: "drift",
    remedy: "Set the secret in both environments or in neither (e.g. SMTP authentication on both relays).",
};

pub const FORCED_DRIFT: Kind = Kind {
    code: "MD203",
    name: "forced-in-one-environment",
    severity: Severity::Warning,
    category: "drift",
    remedy: "Force the setting in config.php in both environments or in neither, so the admin UI behaves alike.",
};

pub const RELEASE_DRIFT: Kind = Kind {
    code: "MD204",
    name: "moodle-release-differs",
    severity: Severity::Info,
    category: "drift",
    remedy: "Expected during an upgrade rehearsal; otherwise upgrade the older site so mail code paths match.",
};

/// The environment the others are compared with: the baseline's `[drift] reference`, else the
/// first production environment, else the first one.
pub fn reference<'a>(
    snapshots: &[&'a Snapshot],
    baseline: Option<&Baseline>,
) -> Option<&'a Snapshot> {
    let names: Vec<&str> = snapshots.iter().map(|s| s.environment.as_str()).collect();
    let name = reference_name(&names, baseline)?;
    snapshots.iter().find(|s| s.environment == name).copied()
}

/// [`reference`] by name alone, so a shard can tell which environment of the whole run its
/// environments are compared with before anything is read.
pub fn reference_name<'a>(names: &[&'a str], baseline: Option<&Baseline>) -> Option<&'a str> {
    let named = baseline.and_then(|b| b.drift_reference.as_deref());
    named
        .and_then(|n| names.iter().find(|s| **s == n))
        .or_else(|| {
            names.iter().find(|s| {
                baseline.map_or_else(|| crate::baseline::guess_role(s), |b| b.role(s))
                    == Some(Role::Production)
            })
        })
        .or_else(|| names.first())
        .copied()
}

/// Settings the sender rules require to differ between production and staging.
const ROLE_SETTINGS: &[&str] = &["divertallemailsto", "divertallemailsexcept", "noemailever"];

pub fn check(snapshots: &[&Snapshot], baseline: Option<&Baseline>) -> Vec<Finding> {
    let Some(reference) = reference(snapshots, baseline) else {
        return Vec::new();
    };
    let ref_env = &reference.environment;
    let role =
        |env: &str| baseline.map_or_else(|| crate::baseline::guess_role(env), |b| b.role(env));
    let mut out = Vec::new();
    for other in snapshots.iter().filter(|s| s.environment != *ref_env) {
        let env = &other.environment;
        let d = diff::diff(reference, other);
        for s in &d.settings {
            let may_differ = baseline.is_some_and(|b| b.may_differ.iter().any(|m| m == &s.name))
                || (ROLE_SETTINGS.contains(&s.name.as_str())
                    && role(env).is_some()
                    && role(ref_env).is_some()
                    && role(env) != role(ref_env));
            // A value the standard pins is judged by conformance; reporting it twice helps nobody.
            let pinned = baseline.is_some_and(|b| b.pins(env, &s.name) && b.pins(ref_env, &s.name));
            let (left, right) = (
                s.left.as_deref().unwrap_or(""),
                s.right.as_deref().unwrap_or(""),
            );
            if !may_differ && !pinned && !crate::compare::normalise::equal(&s.name, left, right) {
                out.push(
                    Finding::new(
                        &DRIFT,
                        format!(
                            "{} is {} here but {} in {ref_env}",
                            s.name,
                            shown(right),
                            shown(left)
                        ),
                    )
                    .env(env)
                    .subject(&s.name)
                    .expected(left)
                    .actual(right),
                );
            }
            if s.left_forced != s.right_forced {
                let (yes, no) = if s.right_forced {
                    (env, ref_env)
                } else {
                    (ref_env, env)
                };
                out.push(
                    Finding::new(
                        &FORCED_DRIFT,
                        format!(
                            "{} is forced in config.php in {yes} but not in {no}",
                            s.name
                        ),
                    )
                    .env(env)
                    .subject(&s.name)
                    .expected(if s.left_forced {
                        "forced"
                    } else {
                        "not forced"
                    })
                    .actual(if s.right_forced {
                        "forced"
                    } else {
                        "not forced"
                    }),
                );
            }
        }
        for s in &d.secrets {
            let state = |b: bool| if b { "set" } else { "not set" };
            out.push(
                Finding::new(
                    &SECRET_DRIFT,
                    format!(
                        "{} is {} here but {} in {ref_env}",
                        s.name,
                        state(s.right),
                        state(s.left)
                    ),
                )
                .env(env)
                .subject(&s.name)
                .expected(state(s.left))
                .actual(state(s.right)),
            );
        }
        if reference.moodle.version != other.moodle.version {
            out.push(
                Finding::new(
                    &RELEASE_DRIFT,
                    format!(
                        "Moodle {} here, {} in {ref_env}",
                        other.moodle.release, reference.moodle.release
                    ),
                )
                .env(env)
                .subject("moodle.release")
                .expected(&reference.moodle.release)
                .actual(&other.moodle.release),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::testing::snapshot;

    fn baseline(extra: &str) -> Baseline {
        Baseline::parse(
            &format!("schema = \"maildrift.baseline/1\"\n[standard]\nname = \"s\"\nowner = \"o\"\n{extra}"),
            Path::new("b.toml"),
        )
        .unwrap()
    }

    #[test]
    fn unmentioned_setting_must_be_equal_to_production() {
        let prod = snapshot("production", &[("emailsubjectprefix", "[Moodle]")]);
        let stag = snapshot("staging", &[("emailsubjectprefix", "[STAGING]")]);
        let f = check(&[&stag, &prod], None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "MD201");
        assert_eq!(f[0].environment.as_deref(), Some("staging"));
        assert_eq!(f[0].expected.as_deref(), Some("[Moodle]"));
    }

    #[test]
    fn may_differ_settings_are_not_drift() {
        let b = baseline("[drift]\nmay_differ = [\"emailsubjectprefix\"]\n");
        let prod = snapshot("production", &[("emailsubjectprefix", "[Moodle]")]);
        let stag = snapshot("staging", &[("emailsubjectprefix", "[STAGING]")]);
        assert!(check(&[&prod, &stag], Some(&b)).is_empty());
    }

    #[test]
    fn settings_pinned_per_environment_are_left_to_conformance() {
        let b = baseline(
            "[environments.staging.settings]\ndivertallemailsto = \"sink@x\"\n[environments.production.settings]\ndivertallemailsto = \"\"\n",
        );
        let prod = snapshot("production", &[("divertallemailsto", "")]);
        let stag = snapshot("staging", &[("divertallemailsto", "sink@x")]);
        assert!(check(&[&prod, &stag], Some(&b)).is_empty());
    }

    #[test]
    fn diversion_differing_between_production_and_staging_is_not_drift() {
        let prod = snapshot("production", &[("divertallemailsto", "")]);
        let stag = snapshot("staging", &[("divertallemailsto", "sink@example.edu")]);
        assert!(check(&[&prod, &stag], None).is_empty());
        let stag2 = snapshot("staging2", &[("divertallemailsto", "other@example.edu")]);
        assert_eq!(check(&[&stag, &stag2], None).len(), 1);
    }

    #[test]
    fn secret_set_in_one_environment_only_is_a_warning() {
        let prod = snapshot("production", &[]);
        let mut stag = snapshot("staging", &[]);
        stag.secrets.insert("smtppass".into(), false);
        let f = check(&[&prod, &stag], None);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].code.as_str(), f[0].severity),
            ("MD202", Severity::Warning)
        );
    }

    #[test]
    fn named_reference_wins_over_role_guess() {
        let b = baseline(
            "[drift]\nreference = \"staging\"\n[environments.staging]\n[environments.production]\n",
        );
        let prod = snapshot("production", &[("mailprefix", "a")]);
        let stag = snapshot("staging", &[("mailprefix", "b")]);
        let f = check(&[&prod, &stag], Some(&b));
        assert_eq!(f[0].environment.as_deref(), Some("production"));
    }
}
