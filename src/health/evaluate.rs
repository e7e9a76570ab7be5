//! Turning health figures and test-mail evidence into findings.

use jiff::Timestamp;

use super::{EnvironmentHealth, HealthPolicy};
use crate::evidence::{Evidence, SendResult};
use crate::findings::Finding;

/// `3 h 12 min`, `45 s`, `2 d 4 h`: durations as people read them.
pub fn human(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    if d > 0 {
        if h > 0 {
            format!("{d} d {h} h")
        } else {
            format!("{d} d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h} h {m} min")
        } else {
            format!("{h} h")
        }
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p == p.trunc() {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// Findings for one site's health figures against `policy`. `now` is maildrift's clock; it is
/// used only to notice a skewed site clock (ages are measured on the site's clock).
pub fn evaluate(h: &EnvironmentHealth, policy: &HealthPolicy, now: Timestamp) -> Vec<Finding> {
    let env = h.environment.as_str();
    let mut out = Vec::new();

    let skew = h.generated_at.as_second() - now.as_second();
    if skew.unsigned_abs() > policy.clock_skew_max_seconds {
        let dir = if skew > 0 { "ahead of" } else { "behind" };
        out.push(
            Finding::new(
                &super::SITE_CLOCK_SKEW,
                format!(
                    "The site's clock is {} {dir} maildrift's; cron and queue ages may be wrong.",
                    human(skew)
                ),
            )
            .env(env)
            .subject("clock")
            .expected(format!(
                "within {}",
                human(policy.clock_skew_max_seconds as i64)
            ))
            .actual(format!("{} {dir}", human(skew))),
        );
    }

    let cron_max = policy.cron_max_age_minutes as i64 * 60;
    match h.cron.age_seconds {
        None => out.push(
            Finding::new(
                &super::CRON_STALE,
                "Cron has never run on this site: no mail queued by tasks is sent.",
            )
            .env(env)
            .subject("cron")
            .expected(format!("last run within {}", human(cron_max)))
            .actual("never"),
        ),
        Some(age) if age > cron_max => out.push(
            Finding::new(
                &super::CRON_STALE,
                format!(
                    "Cron last started {} ago; queued mail is not being sent.",
                    human(age)
                ),
            )
            .env(env)
            .subject("cron")
            .expected(format!("last run within {}", human(cron_max)))
            .actual(format!("{} ago", human(age))),
        ),
        Some(_) => {}
    }

    let queue_max = policy.queue_max_age_minutes as i64 * 60;
    let q = &h.queue;
    if q.mail.oldest_due_age_seconds > queue_max {
        out.push(
            Finding::new(
                &super::MAIL_QUEUE_DELAYED,
                format!(
                    "{} mail-sending task(s) are due; the oldest has waited {}.",
                    q.mail.due_now,
                    human(q.mail.oldest_due_age_seconds)
                ),
            )
            .env(env)
            .subject("mail queue")
            .expected(format!(
                "oldest due task waits at most {}",
                human(queue_max)
            ))
            .actual(human(q.mail.oldest_due_age_seconds)),
        );
    }
    if q.all.oldest_due_age_seconds > queue_max {
        out.push(
            Finding::new(
                &super::ADHOC_QUEUE_DELAYED,
                format!(
                    "{} ad-hoc task(s) are due; the oldest has waited {}.",
                    q.all.due_now,
                    human(q.all.oldest_due_age_seconds)
                ),
            )
            .env(env)
            .subject("ad-hoc queue")
            .expected(format!(
                "oldest due task waits at most {}",
                human(queue_max)
            ))
            .actual(human(q.all.oldest_due_age_seconds)),
        );
    }
    if q.mail.failing > 0 {
        out.push(
            Finding::new(
                &super::MAIL_TASKS_FAILING,
                format!(
                    "{} mail-sending task(s) failed their last run; retry delay up to {}.",
                    q.mail.failing,
                    human(q.mail.max_fail_delay_seconds)
                ),
            )
            .env(env)
            .subject("mail tasks")
            .expected("0 failing")
            .actual(format!("{} failing", q.mail.failing)),
        );
    }

    let f = &h.failed_mail;
    let window = format!("{} d", h.window_days);
    if !f.log_available {
        out.push(
            Finding::new(
                &super::LOG_STORE_MISSING,
                "No readable log store: failed mail cannot be counted, so the failed-mail checks did not run.",
            )
            .env(env)
            .subject("log store")
            .expected("a readable log store")
            .actual("none"),
        );
    } else {
        if let Some(max) = policy.failed_mail_max
            && f.failed > max
        {
            out.push(
                Finding::new(
                    &super::FAILED_MAIL,
                    format!(
                        "{} message(s) failed to send in the last {window}.",
                        f.failed
                    ),
                )
                .env(env)
                .subject("failed mail")
                .expected(format!("at most {max} in {window}"))
                .actual(format!("{} in {window}", f.failed)),
            );
        }
        if let (Some(max), Some(rate)) = (policy.failure_rate_max, f.failure_rate)
            && rate > max
        {
            out.push(
                Finding::new(
                    &super::FAILURE_RATE,
                    format!(
                        "{} of mail failed in the last {window} ({} failed, {} sent).",
                        percent(rate),
                        f.failed,
                        f.sent
                    ),
                )
                .env(env)
                .subject("failure rate")
                .expected(format!("at most {}", percent(max)))
                .actual(percent(rate)),
            );
        }
    }

    if h.bounces.users_over_threshold > policy.bounce_users_max {
        let note = if h.bounces.handle_bounces {
            ""
        } else {
            " (bounce handling is off, so the counts may be stale)"
        };
        out.push(
            Finding::new(
                &super::BOUNCE_USERS,
                format!(
                    "{} user(s) are over the bounce threshold and get no mail{note}.",
                    h.bounces.users_over_threshold
                ),
            )
            .env(env)
            .subject("bounces")
            .expected(format!("at most {}", policy.bounce_users_max))
            .actual(h.bounces.users_over_threshold.to_string()),
        );
    }

    for w in h
        .warnings
        .iter()
        .filter(|w| w.split(':').next() != Some("nologstore"))
    {
        out.push(
            Finding::new(&super::PLUGIN_WARNING, format!("The plugin warned: {w}"))
                .env(env)
                .subject("plugin"),
        );
    }
    out
}

/// Findings for the test-mail evidence of `env`. Nothing when the policy turns the check off
/// (`testmail_max_age_days = 0`), except unreadable files, which are always named.
pub fn evaluate_evidence(
    env: &str,
    evidence: &Evidence,
    policy: &HealthPolicy,
    now: Timestamp,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = evidence
        .problems_for(env)
        .map(|p| {
            Finding::new(
                &super::EVIDENCE_UNREADABLE,
                format!(
                    "Evidence file {} is unusable: {}",
                    p.path.display(),
                    p.message
                ),
            )
            .env(env)
            .subject(p.path.display().to_string())
        })
        .collect();
    if policy.testmail_max_age_days == 0 {
        return out;
    }
    let max_days = policy.testmail_max_age_days as i64;
    if let Some(latest) = evidence.latest(env)
        && latest.record.result == SendResult::Failed
    {
        out.push(
            Finding::new(
                &super::TESTMAIL_FAILED,
                format!(
                    "The last test mail ({}, {}) was not accepted: {}",
                    latest.record.token,
                    latest.record.sent_at.strftime("%Y-%m-%d %H:%M UTC"),
                    latest
                        .record
                        .error
                        .as_deref()
                        .unwrap_or("no error recorded")
                ),
            )
            .env(env)
            .subject(latest.path.display().to_string())
            .expected("sent")
            .actual("failed"),
        );
    }
    match evidence.latest_success(env) {
        None => out.push(
            Finding::new(
                &super::NO_TESTMAIL_EVIDENCE,
                format!(
                    "No successful test mail is recorded in {}.",
                    evidence.dir.display()
                ),
            )
            .env(env)
            .subject("test mail")
            .expected(format!("a sent test mail within {max_days} d"))
            .actual("none"),
        ),
        Some(s) => {
            let age = now.as_second() - s.record.sent_at.as_second();
            if age > max_days * 86_400 {
                out.push(
                    Finding::new(
                        &super::TESTMAIL_EVIDENCE_OLD,
                        format!(
                            "The newest successful test mail ({}) was sent {} ago.",
                            s.record.token,
                            human(age)
                        ),
                    )
                    .env(env)
                    .subject(s.path.display().to_string())
                    .expected(format!("within {max_days} d"))
                    .actual(format!("{} ago", human(age))),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::model::tests::sample;

    fn codes(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    fn at(h: &EnvironmentHealth) -> Timestamp {
        h.generated_at
    }

    #[test]
    fn a_healthy_site_gives_nothing_but_failing_rate_at_the_limit_is_fine() {
        let mut h = sample();
        h.queue.all.oldest_due_age_seconds = 0;
        // 2 failed of 100 logged is exactly 2 %: not above the default limit.
        assert_eq!(h.failed_mail.failure_rate, Some(0.02));
        assert!(evaluate(&h, &HealthPolicy::default(), at(&h)).is_empty());
    }

    #[test]
    fn thresholds_raise_their_codes() {
        let mut h = sample();
        h.cron.age_seconds = Some(11 * 60);
        h.queue.mail.oldest_due_age_seconds = 61 * 60;
        h.queue.all.oldest_due_age_seconds = 61 * 60;
        h.queue.mail.failing = 1;
        h.failed_mail.failure_rate = Some(0.5);
        h.bounces.users_over_threshold = 2;
        let p = HealthPolicy {
            failed_mail_max: Some(1),
            ..Default::default()
        };
        let f = evaluate(&h, &p, at(&h));
        assert_eq!(
            codes(&f),
            [
                "MD801", "MD803", "MD802", "MD804", "MD805", "MD806", "MD807"
            ]
        );
        assert!(
            f.iter()
                .all(|f| f.environment.as_deref() == Some("production"))
        );
        assert_eq!(f[0].actual.as_deref(), Some("11 min ago"));
        assert_eq!(f[5].actual.as_deref(), Some("50 %"));
    }

    #[test]
    fn cron_that_never_ran_is_stale() {
        let mut h = sample();
        h.cron.age_seconds = None;
        let f = evaluate(&h, &HealthPolicy::default(), at(&h));
        assert_eq!(f[0].code, "MD801");
        assert_eq!(f[0].actual.as_deref(), Some("never"));
    }

    #[test]
    fn missing_log_store_is_a_warning_and_skips_failure_checks() {
        let mut h = sample();
        h.failed_mail.log_available = false;
        h.failed_mail.failure_rate = None;
        h.warnings = vec!["nologstore: No enabled log store can be read".into()];
        let p = HealthPolicy {
            failed_mail_max: Some(0),
            ..Default::default()
        };
        let f = evaluate(&h, &p, at(&h));
        assert_eq!(codes(&f), ["MD808"]);
        assert_eq!(f[0].severity, crate::findings::Severity::Warning);
    }

    #[test]
    fn skewed_site_clock_is_reported() {
        let h = sample();
        let now = Timestamp::from_second(h.generated_at.as_second() + 3600).unwrap();
        let f = evaluate(&h, &HealthPolicy::default(), now);
        assert!(
            f.iter()
                .any(|f| f.code == "MD809" && f.actual.as_deref() == Some("1 h behind")),
            "{f:?}"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(45), "45 s");
        assert_eq!(human(600), "10 min");
        assert_eq!(human(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(human(36 * 86_400), "36 d");
    }

    #[test]
    fn a_duration_of_days_keeps_its_hours_and_drops_its_minutes() {
        assert_eq!(human(2 * 86_400 + 4 * 3600 + 59 * 60), "2 d 4 h");
        assert_eq!(human(86_400 + 59 * 60), "1 d");
        assert_eq!(human(-(2 * 86_400 + 3600)), "2 d 1 h");
        assert_eq!(human(2 * 3600), "2 h");
    }
}
