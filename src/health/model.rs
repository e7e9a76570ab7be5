//! [`EnvironmentHealth`]: one site's mail health figures, as shown and serialised.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::moodle::protocol::{MailHealth, TaskCounts};

/// What one site reported about cron, its ad-hoc task queue, failed mail and bounces.
///
/// Ages are measured on the site's own clock (against `generated_at`), so a skewed clock on
/// the machine running maildrift can't make cron look stale; [`super::evaluate`] reports a
/// skewed site clock separately (MD809).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentHealth {
    pub environment: String,
    /// The site's time when it answered.
    pub generated_at: Timestamp,
    /// Days the failed/sent mail counts cover.
    pub window_days: u32,
    pub cron: CronStatus,
    pub queue: QueueStatus,
    pub failed_mail: FailedMailStatus,
    pub bounces: BounceStatus,
    /// Warnings the plugin returned (e.g. `nologstore: No enabled log store ...`).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The newest test-mail evidence for this environment, when the evidence folder was read.
    #[serde(default)]
    pub testmail: Option<TestmailStatus>,
}

/// The newest test-mail records of one environment (see [`crate::evidence`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TestmailStatus {
    /// Send time of the newest record that was sent.
    pub last_success_at: Option<Timestamp>,
    /// Its evidence file.
    pub last_success_file: Option<String>,
    /// Send time and result of the newest record, whatever its result.
    pub last_at: Option<Timestamp>,
    pub last_result: Option<crate::evidence::SendResult>,
}

impl TestmailStatus {
    pub fn of(ev: &crate::evidence::Evidence, env: &str) -> TestmailStatus {
        let success = ev.latest_success(env);
        let latest = ev.latest(env);
        TestmailStatus {
            last_success_at: success.map(|s| s.record.sent_at),
            last_success_file: success.map(|s| s.path.display().to_string()),
            last_at: latest.map(|s| s.record.sent_at),
            last_result: latest.map(|s| s.record.result),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronStatus {
    /// When cron last started; `None` when it never ran.
    pub last_start: Option<Timestamp>,
    /// Seconds from the last start to `generated_at`; `None` when cron never ran.
    pub age_seconds: Option<i64>,
    /// How long that cron run's interval was, in seconds, as Moodle recorded it.
    pub interval_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStatus {
    /// All ad-hoc tasks.
    pub all: TaskQueue,
    /// Only the tasks that send mail (`mail_tasks`).
    pub mail: TaskQueue,
    /// The task classes counted as mail-sending.
    pub mail_tasks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskQueue {
    pub pending: u64,
    pub due_now: u64,
    /// When the oldest task that is due now became due; `None` when nothing is due.
    pub oldest_due: Option<Timestamp>,
    /// Seconds the oldest due task has waited (0 when nothing is due).
    pub oldest_due_age_seconds: i64,
    /// Tasks whose last run failed (Moodle retries them with a growing delay).
    pub failing: u64,
    /// The largest retry delay among failing tasks, in seconds.
    pub max_fail_delay_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedMailStatus {
    /// Whether a readable log store exists; without one the counts below are 0 and meaningless.
    pub log_available: bool,
    /// `\core\event\email_failed` events in the window.
    pub failed: u64,
    /// `\core\event\message_sent` events in the window.
    pub sent: u64,
    /// `failed / (failed + sent)`; `None` when nothing was logged or no log store is readable.
    pub failure_rate: Option<f64>,
    pub last_failure: Option<Timestamp>,
    /// The most recent failures, addresses already reduced to their domain by the plugin.
    pub recent: Vec<RecentFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentFailure {
    pub time: Option<Timestamp>,
    pub recipient_domain: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceStatus {
    /// Moodle's `handlebounces` setting.
    pub handle_bounces: bool,
    pub min_bounces: i64,
    pub bounce_ratio: String,
    /// Users whose bounce count is over Moodle's threshold (Moodle stops mailing them).
    pub users_over_threshold: u64,
}

/// Unix seconds to a timestamp; 0 (and anything out of range) means "never".
fn time(secs: i64) -> Option<Timestamp> {
    if secs <= 0 {
        None
    } else {
        Timestamp::from_second(secs).ok()
    }
}

fn queue(c: &TaskCounts, now: i64) -> TaskQueue {
    let oldest_due = time(c.oldestdue);
    TaskQueue {
        pending: c.pending,
        due_now: c.duenow,
        oldest_due,
        oldest_due_age_seconds: if oldest_due.is_some() {
            (now - c.oldestdue).max(0)
        } else {
            0
        },
        failing: c.failing,
        max_fail_delay_seconds: c.maxfaildelay,
    }
}

impl EnvironmentHealth {
    /// Reduces the plugin's answer. A `generatedat` of 0 or out of range (a broken answer) is
    /// taken as `fallback_now`.
    pub fn from_mail_health(environment: &str, h: &MailHealth, fallback_now: Timestamp) -> Self {
        let generated_at = time(h.generatedat).unwrap_or(fallback_now);
        let now = generated_at.as_second();
        let f = &h.failedmail;
        let logged = f.count + f.messagesent;
        EnvironmentHealth {
            environment: environment.to_string(),
            generated_at,
            window_days: h.days,
            cron: CronStatus {
                last_start: time(h.cron.lastcronstart),
                age_seconds: time(h.cron.lastcronstart)
                    .map(|_| (now - h.cron.lastcronstart).max(0)),
                interval_seconds: h.cron.lastcroninterval,
            },
            queue: QueueStatus {
                all: queue(&h.adhoc, now),
                mail: queue(&h.mail, now),
                mail_tasks: h.mailtasks.clone(),
            },
            failed_mail: FailedMailStatus {
                log_available: f.logavailable,
                failed: f.count,
                sent: f.messagesent,
                failure_rate: (f.logavailable && logged > 0)
                    .then(|| f.count as f64 / logged as f64),
                last_failure: time(f.lastfailure),
                recent: f
                    .recent
                    .iter()
                    .map(|r| RecentFailure {
                        time: time(r.time),
                        recipient_domain: r.recipientdomain.clone(),
                        error: r.error.trim().to_string(),
                    })
                    .collect(),
            },
            bounces: BounceStatus {
                handle_bounces: h.bounces.handlebounces,
                min_bounces: h.bounces.minbounces,
                bounce_ratio: h.bounces.bounceratio.clone(),
                users_over_threshold: h.bounces.usersoverthreshold,
            },
            warnings: h.warnings.iter().map(|w| w.text()).collect(),
            testmail: None,
        }
    }

    /// Whether the plugin warned with `code` (warnings are stored as `code: message`).
    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings
            .iter()
            .any(|w| w.split(':').next() == Some(code))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const HEALTH: &str = r#"{"generatedat":1795940000,"days":7,"cron":{"lastcronstart":1795939900,"lastcroninterval":60},"adhoc":{"pending":12,"duenow":3,"oldestdue":1795939000,"failing":1,"maxfaildelay":240},"mail":{"pending":4,"duenow":2,"oldestdue":1795939500,"failing":0,"maxfaildelay":0},"mailtasks":["\\mod_forum\\task\\send_user_notifications"],"failedmail":{"logavailable":true,"count":2,"lastfailure":1795930000,"recent":[{"time":1795930000,"recipientdomain":"example.org","error":"SMTP Error: Could not connect to SMTP host.\r\n"}],"messagesent":98},"bounces":{"handlebounces":false,"minbounces":10,"bounceratio":"0.2","usersoverthreshold":0},"warnings":[]}"#;

    pub(crate) fn sample() -> EnvironmentHealth {
        let h: MailHealth = serde_json::from_str(HEALTH).unwrap();
        EnvironmentHealth::from_mail_health("production", &h, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn ages_are_measured_on_the_site_clock() {
        let h = sample();
        assert_eq!(h.generated_at.as_second(), 1795940000);
        assert_eq!(h.cron.age_seconds, Some(100));
        assert_eq!(h.queue.all.oldest_due_age_seconds, 1000);
        assert_eq!(h.queue.mail.oldest_due_age_seconds, 500);
        assert_eq!(h.failed_mail.failure_rate, Some(0.02));
        assert_eq!(
            h.failed_mail.recent[0].error,
            "SMTP Error: Could not connect to SMTP host."
        );
    }

    #[test]
    fn zero_times_mean_never() {
        let text = HEALTH
            .replace("\"lastcronstart\":1795939900", "\"lastcronstart\":0")
            .replace("\"oldestdue\":1795939000", "\"oldestdue\":0");
        let h: MailHealth = serde_json::from_str(&text).unwrap();
        let h = EnvironmentHealth::from_mail_health("p", &h, Timestamp::UNIX_EPOCH);
        assert_eq!(h.cron.last_start, None);
        assert_eq!(h.cron.age_seconds, None);
        assert_eq!(h.queue.all.oldest_due, None);
        assert_eq!(h.queue.all.oldest_due_age_seconds, 0);
    }

    #[test]
    fn no_log_store_gives_no_rate() {
        let text = HEALTH.replace("\"logavailable\":true", "\"logavailable\":false");
        let h: MailHealth = serde_json::from_str(&text).unwrap();
        let h = EnvironmentHealth::from_mail_health("p", &h, Timestamp::UNIX_EPOCH);
        assert_eq!(h.failed_mail.failure_rate, None);
    }
}
