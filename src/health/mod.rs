//! Mail health: cron, ad-hoc task queue, failed mail, bounces, test-mail evidence.
//!
//! - [`EnvironmentHealth`] is what one site reported (`local_maildrift_get_mail_health`),
//!   reduced to figures a person or a dashboard reads.
//! - [`HealthPolicy`] is the baseline's `[health]` table: the thresholds (`docs/health.md`).
//! - [`evaluate`] and [`evaluate_evidence`] turn figures and test-mail evidence into findings
//!   (codes MD8xx and MD9xx, `docs/findings-health.md`).
//! - [`fetch`] and [`health_external`] read the sites live, for `maildrift health` and
//!   `maildrift check`.

#[cfg(test)]
mod boundaries;
mod evaluate;
mod model;
mod policy;
mod run;

pub use evaluate::{evaluate, evaluate_evidence, human};
pub use model::{
    BounceStatus, CronStatus, EnvironmentHealth, FailedMailStatus, QueueStatus, RecentFailure,
    TaskQueue, TestmailStatus,
};
pub use policy::HealthPolicy;
pub use run::{HealthRun, fetch, fetch_many, health_external};

use crate::findings::{Kind, Severity};

/// Category of the live health findings; also the name of their [`crate::report::CheckRun`].
pub const CATEGORY: &str = "health";
/// Category of the test-mail evidence findings and their check.
pub const EVIDENCE_CATEGORY: &str = "evidence";

pub const CRON_STALE: Kind = Kind {
    code: "MD801",
    name: "cron-stale",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Make cron run every minute (admin/cli/cron.php or a systemd timer) and check its log; queued mail only leaves when cron runs.",
};
pub const ADHOC_QUEUE_DELAYED: Kind = Kind {
    code: "MD802",
    name: "adhoc-queue-delayed",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Ad-hoc tasks wait too long: add cron task runners (task_adhoc_concurrency_limit) or find the task that blocks the queue (admin/tool/task).",
};
pub const MAIL_QUEUE_DELAYED: Kind = Kind {
    code: "MD803",
    name: "mail-queue-delayed",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Mail-sending tasks wait too long: check that cron runs ad-hoc tasks and that no task blocks the queue (admin/tool/task/adhoctasks.php).",
};
pub const MAIL_TASKS_FAILING: Kind = Kind {
    code: "MD804",
    name: "mail-tasks-failing",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Open the failing mail task's log (admin/tool/task/adhoctasks.php) and fix its cause; Moodle retries it with growing delays meanwhile.",
};
pub const FAILED_MAIL: Kind = Kind {
    code: "MD805",
    name: "failed-mail-over-threshold",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Read the recent failures (maildrift health --format json) and the relay's log; fix the relay, its credentials or the rejected domains.",
};
pub const FAILURE_RATE: Kind = Kind {
    code: "MD806",
    name: "mail-failure-rate",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Too large a share of mail fails: check the relay (reachability, TLS, authentication) and the recipients it rejects.",
};
pub const BOUNCE_USERS: Kind = Kind {
    code: "MD807",
    name: "bounce-users",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Moodle stops mailing users over the bounce threshold: correct their addresses, then reset their bounce counts (admin/user.php).",
};
pub const LOG_STORE_MISSING: Kind = Kind {
    code: "MD808",
    name: "log-store-missing",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Enable the standard log store (admin/settings.php?section=managelogging) so failed mail can be counted.",
};
pub const SITE_CLOCK_SKEW: Kind = Kind {
    code: "MD809",
    name: "site-clock-skew",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Synchronise the Moodle server's clock (NTP/chrony); cron, task and mail times are measured on it.",
};
pub const PLUGIN_WARNING: Kind = Kind {
    code: "MD810",
    name: "health-plugin-warning",
    severity: Severity::Info,
    category: CATEGORY,
    remedy: "Read the plugin's warning; it explains which figure could not be measured and why.",
};
pub const NO_TESTMAIL_EVIDENCE: Kind = Kind {
    code: "MD901",
    name: "no-testmail-evidence",
    severity: Severity::Warning,
    category: EVIDENCE_CATEGORY,
    remedy: "Send a test mail (maildrift testmail ENV --to ADDRESS), confirm it arrived, and keep the evidence folder.",
};
pub const TESTMAIL_EVIDENCE_OLD: Kind = Kind {
    code: "MD902",
    name: "testmail-evidence-old",
    severity: Severity::Warning,
    category: EVIDENCE_CATEGORY,
    remedy: "Send a new test mail (maildrift testmail ENV --to ADDRESS); the standard asks for recent proof that mail leaves the site.",
};
pub const TESTMAIL_FAILED: Kind = Kind {
    code: "MD903",
    name: "testmail-failed",
    severity: Severity::Error,
    category: EVIDENCE_CATEGORY,
    remedy: "The last test mail was not accepted: fix the error it recorded, then send another (maildrift testmail).",
};
pub const EVIDENCE_UNREADABLE: Kind = Kind {
    code: "MD904",
    name: "evidence-unreadable",
    severity: Severity::Warning,
    category: EVIDENCE_CATEGORY,
    remedy: "Repair or remove the named evidence file; it is not a maildrift.evidence/1 record.",
};

/// Finding codes raised by the health and evidence checks.
pub const KINDS: &[Kind] = &[
    CRON_STALE,
    ADHOC_QUEUE_DELAYED,
    MAIL_QUEUE_DELAYED,
    MAIL_TASKS_FAILING,
    FAILED_MAIL,
    FAILURE_RATE,
    BOUNCE_USERS,
    LOG_STORE_MISSING,
    SITE_CLOCK_SKEW,
    PLUGIN_WARNING,
    NO_TESTMAIL_EVIDENCE,
    TESTMAIL_EVIDENCE_OLD,
    TESTMAIL_FAILED,
    EVIDENCE_UNREADABLE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_in_range_and_have_remedies() {
        let mut codes: Vec<&str> = KINDS.iter().map(|k| k.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len());
        for k in KINDS {
            assert!(
                k.code.starts_with("MD8") || k.code.starts_with("MD9"),
                "{}",
                k.code
            );
            assert!(
                !k.remedy.is_empty() && !k.remedy.contains('\n'),
                "{}",
                k.code
            );
            let want = if k.code.starts_with("MD8") {
                CATEGORY
            } else {
                EVIDENCE_CATEGORY
            };
            assert_eq!(k.category, want, "{}", k.code);
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../docs/findings-health.md");
        for k in KINDS {
            assert!(
                doc.contains(&format!("## {} ", k.code)),
                "{} missing from docs/findings-health.md",
                k.code
            );
            assert!(doc.contains(k.name), "{} name missing", k.name);
        }
    }
}
