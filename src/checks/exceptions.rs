//! Baseline exceptions: agreed, dated deviations from the standard.
//!
//! An exception is active through its `expires` day. An active exception turns the findings it
//! matches into info lines (still shown, marked as waived); an expired one waives nothing and is
//! a finding itself; an active one that matches nothing is stale and should be removed.

use crate::baseline::{Baseline, Exception};
use crate::compare::normalise;
use crate::findings::{Finding, Kind, Severity, Waiver};
use crate::report::{ExceptionState, ExceptionStatus};

pub const EXPIRED: Kind = Kind {
    code: "MD002",
    name: "exception-expired",
    severity: Severity::Warning,
    category: "standard",
    remedy: "Fix the deviation, or renew the exception with a new expiry date and the owner's approval.",
};

pub const STALE: Kind = Kind {
    code: "MD003",
    name: "exception-stale",
    severity: Severity::Warning,
    category: "standard",
    remedy: "Remove the exception from the baseline: the deviation it covered is gone.",
};

fn matches(ex: &Exception, f: &Finding) -> bool {
    let subject_ok = match (&ex.setting, &ex.code) {
        (Some(s), Some(c)) => f.subject.as_deref() == Some(s) && &f.code == c,
        (Some(s), None) => f.subject.as_deref() == Some(s),
        (None, Some(c)) => &f.code == c,
        (None, None) => false,
    };
    let env_ok = ex.environment.is_none() || ex.environment == f.environment;
    let value_ok = match (&ex.value, &f.actual) {
        (None, _) => true,
        (Some(v), Some(actual)) => normalise::equal(ex.setting.as_deref().unwrap_or(""), v, actual),
        (Some(_), None) => false,
    };
    subject_ok && env_ok && value_ok
}

fn describe(ex: &Exception) -> String {
    let what = ex.setting.as_deref().or(ex.code.as_deref()).unwrap_or("?");
    match &ex.environment {
        Some(env) => format!("{what} in {env}"),
        None => what.to_string(),
    }
}

/// Applies the baseline's exceptions to `findings` (in place) and returns each exception's state.
/// `checked` lists the environments whose settings were actually read: an exception for an
/// environment that could not be read is neither stale nor in use, so it is reported active.
pub fn apply(
    findings: &mut Vec<Finding>,
    baseline: &Baseline,
    today: jiff::civil::Date,
    checked: &[String],
) -> Vec<ExceptionStatus> {
    let mut statuses = Vec::new();
    let mut extra = Vec::new();
    for ex in &baseline.exceptions {
        let expired = ex.expires < today;
        let mut matched = false;
        for f in findings
            .iter_mut()
            .filter(|f| f.waived_by.is_none() && matches(ex, f))
        {
            matched = true;
            if !expired && f.severity > Severity::Info {
                f.severity = Severity::Info;
                f.waived_by = Some(Waiver {
                    reason: ex.reason.clone(),
                    owner: ex.owner.clone(),
                    expires: ex.expires.to_string(),
                    ticket: ex.ticket.clone(),
                });
            }
        }
        let env_checked = ex.environment.as_ref().is_none_or(|e| checked.contains(e));
        let state = if expired {
            ExceptionState::Expired
        } else if !matched && env_checked {
            ExceptionState::Stale
        } else {
            ExceptionState::Active
        };
        let subject = ex
            .setting
            .clone()
            .or_else(|| ex.code.clone())
            .unwrap_or_default();
        let mut finding = |kind: &Kind, message: String| {
            let mut f = Finding::new(kind, message).subject(format!("exception: {subject}"));
            if let Some(env) = &ex.environment {
                f = f.env(env);
            }
            f.expected = Some(format!("valid until {}", ex.expires));
            extra.push(f);
        };
        match state {
            ExceptionState::Expired => finding(
                &EXPIRED,
                format!(
                    "the exception for {} expired on {} (owner {}: {})",
                    describe(ex),
                    ex.expires,
                    ex.owner,
                    ex.reason
                ),
            ),
            ExceptionState::Stale => finding(
                &STALE,
                format!(
                    "the exception for {} matches nothing any more (owner {})",
                    describe(ex),
                    ex.owner
                ),
            ),
            ExceptionState::Active => {}
        }
        statuses.push(ExceptionStatus {
            setting: subject,
            environment: ex.environment.clone(),
            value: ex.value.clone(),
            reason: ex.reason.clone(),
            owner: ex.owner.clone(),
            expires: ex.expires,
            ticket: ex.ticket.clone(),
            state,
        });
    }
    findings.extend(extra);
    statuses
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::checks::conformance::MISMATCH;

    fn baseline(expires: &str, value: &str) -> Baseline {
        Baseline::parse(
            &format!(
                "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"s\"\nowner = \"o\"\n\
                 [[exceptions]]\nsetting = \"smtpsecure\"\nenvironment = \"staging\"\n{value}\
                 reason = \"old relay\"\nowner = \"Ops\"\nexpires = {expires}\n"
            ),
            Path::new("b.toml"),
        )
        .unwrap()
    }

    fn mismatch(env: &str, actual: &str) -> Finding {
        Finding::new(&MISMATCH, "differs")
            .env(env)
            .subject("smtpsecure")
            .expected("tls")
            .actual(actual)
    }

    const TODAY: jiff::civil::Date = jiff::civil::date(2026, 11, 29);

    #[test]
    fn active_exception_waives_matching_finding_to_info() {
        let mut f = vec![mismatch("staging", "")];
        let st = apply(
            &mut f,
            &baseline("2026-12-31", "value = \"\"\n"),
            TODAY,
            &["staging".into()],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].waived_by.as_ref().unwrap().expires, "2026-12-31");
        assert_eq!(st[0].state, ExceptionState::Active);
    }

    #[test]
    fn exception_is_active_through_its_expiry_day() {
        let mut f = vec![mismatch("staging", "")];
        let st = apply(
            &mut f,
            &baseline("2026-11-29", ""),
            TODAY,
            &["staging".into()],
        );
        assert_eq!(st[0].state, ExceptionState::Active);
    }

    #[test]
    fn expired_exception_waives_nothing_and_is_a_finding() {
        let mut f = vec![mismatch("staging", "")];
        let st = apply(
            &mut f,
            &baseline("2026-11-28", ""),
            TODAY,
            &["staging".into()],
        );
        assert_eq!(st[0].state, ExceptionState::Expired);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[1].code, "MD002");
    }

    #[test]
    fn expiry_boundary_day_before_on_and_after() {
        let state = |expires: &str| {
            let mut f = vec![mismatch("staging", "")];
            apply(&mut f, &baseline(expires, ""), TODAY, &["staging".into()])[0].state
        };
        assert_eq!(state("2026-11-28"), ExceptionState::Expired);
        assert_eq!(state("2026-11-29"), ExceptionState::Active);
        assert_eq!(state("2026-11-30"), ExceptionState::Active);
    }

    #[test]
    fn an_info_finding_is_not_marked_waived_but_keeps_the_exception_in_use() {
        let mut f = vec![mismatch("staging", "").severity(Severity::Info)];
        let st = apply(
            &mut f,
            &baseline("2026-12-31", ""),
            TODAY,
            &["staging".into()],
        );
        assert!(f[0].waived_by.is_none(), "{f:?}");
        assert_eq!(st[0].state, ExceptionState::Active);
    }

    /// A baseline with one exception made of `lines` (setting, code, value...).
    fn baseline_with(lines: &str) -> Baseline {
        Baseline::parse(
            &format!(
                "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"s\"\nowner = \"o\"\n\
                 [[exceptions]]\n{lines}environment = \"staging\"\n\
                 reason = \"old relay\"\nowner = \"Ops\"\nexpires = 2026-12-31\n"
            ),
            Path::new("b.toml"),
        )
        .unwrap()
    }

    fn waived(b: &Baseline, f: Finding) -> bool {
        let mut found = vec![f];
        apply(&mut found, b, TODAY, &["staging".into()]);
        found[0].waived_by.is_some()
    }

    #[test]
    fn an_exception_by_code_or_by_setting_and_code_waives_only_that() {
        let by_code = baseline_with("code = \"MD101\"\n");
        assert!(waived(&by_code, mismatch("staging", "")));
        let other_code = Finding::new(&crate::checks::sender::PLAINTEXT_RELAY, "x")
            .env("staging")
            .subject("smtpsecure");
        assert!(!waived(&by_code, other_code.clone()));
        let both = baseline_with("setting = \"smtpsecure\"\ncode = \"MD101\"\n");
        assert!(waived(&both, mismatch("staging", "")));
        assert!(!waived(&both, other_code));
        assert!(!waived(&both, mismatch("staging", "").subject("smtphosts")));
    }

    #[test]
    fn expired_and_stale_findings_name_the_exception() {
        let mut f = vec![];
        apply(
            &mut f,
            &baseline("2026-11-01", ""),
            TODAY,
            &["staging".into()],
        );
        assert!(
            f[0].message
                .contains("the exception for smtpsecure in staging expired"),
            "{f:?}"
        );
        let mut f = vec![];
        apply(
            &mut f,
            &baseline_with("code = \"MD101\"\n"),
            TODAY,
            &["staging".into()],
        );
        assert!(
            f[0].message
                .contains("the exception for MD101 in staging matches nothing"),
            "{f:?}"
        );
    }

    #[test]
    fn exception_for_another_value_does_not_waive() {
        let mut f = vec![mismatch("staging", "ssl")];
        let st = apply(
            &mut f,
            &baseline("2026-12-31", "value = \"\"\n"),
            TODAY,
            &["staging".into()],
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(st[0].state, ExceptionState::Stale);
        assert_eq!(f[1].code, "MD003");
    }

    #[test]
    fn exception_for_an_unread_environment_is_not_stale() {
        let mut f = vec![];
        let st = apply(
            &mut f,
            &baseline("2026-12-31", ""),
            TODAY,
            &["production".into()],
        );
        assert_eq!(st[0].state, ExceptionState::Active);
        assert!(f.is_empty());
    }
}
