//! The standard's three metrics per environment and month, from the health figures in the
//! history, and the review findings for months over the baseline's thresholds.
//!
//! What each figure is, honestly:
//! - **Failed deliveries**: `\core\event\email_failed` events. Every run reports the count over
//!   its window (`window_days`, default 7), so nightly windows overlap; a run contributes its
//!   count × (the part of its window not covered by the run before, within the month) ÷ its
//!   window. That is exact when failures spread evenly over a window and an estimate otherwise,
//!   so it is shown as "≈".
//! - **Delivery rate (proxy)**: 1 − failed ÷ (failed + sent), where "sent" is Moodle's
//!   `\core\event\message_sent` count, estimated the same way. Moodle logs no "e-mail sent"
//!   event, and message_sent counts every notification, mailed or not, so this is a proxy for
//!   the share of mail sent without failure, labelled as such wherever it is shown.
//! - **Mail-queue delay at peak**: the longest time the oldest due mail-sending task had waited,
//!   as seen at the runs of the month (a peak between runs is not seen).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rusqlite::params;

use super::HistoryError;
use super::store::Store;
use crate::findings::{Finding, Kind, Severity};
use crate::health::HealthPolicy;

/// Category of the monthly review findings.
pub const CATEGORY: &str = "review";

pub const MONTH_DELIVERY_RATE: Kind = Kind {
    code: "MD830",
    name: "month-delivery-rate-low",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Read the month's email_failed events (maildrift health) and fix their cause; the rate is a proxy based on message_sent.",
};
pub const MONTH_QUEUE_DELAY: Kind = Kind {
    code: "MD831",
    name: "month-queue-delay-high",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Mail waited in the task queue longer than queue_max_age_minutes during the month: add task runners or find what blocked the queue.",
};
pub const MONTH_FAILED: Kind = Kind {
    code: "MD832",
    name: "month-failed-deliveries-high",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "More mail failed in the month than failed_mail_max allows per window, scaled to the month: find the recipients' domains and errors with maildrift health.",
};

/// Finding codes of the monthly review.
pub const KINDS: &[Kind] = &[MONTH_DELIVERY_RATE, MONTH_QUEUE_DELAY, MONTH_FAILED];

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl Month {
    pub fn of(t: jiff::Timestamp) -> Month {
        let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn first_day(self) -> jiff::civil::Date {
        jiff::civil::date(self.year, self.month, 1)
    }

    pub fn start(self) -> jiff::Timestamp {
        self.first_day()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn days(self) -> i64 {
        i64::from(self.first_day().days_in_month())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a month: give YYYY-MM, e.g. 2026-11");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) || !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// One environment's figures for one month.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthFigures {
    pub environment: String,
    pub month: Month,
    /// Runs with health figures in the month.
    pub runs: u32,
    /// Whether every run could read the log store (failed/sent counts exist).
    pub log_available: bool,
    /// Estimated `email_failed` events in the month (see the module notes).
    pub failed: f64,
    /// Estimated `message_sent` events in the month: the proxy denominator.
    pub sent_proxy: f64,
    /// 1 − failed ÷ (failed + sent); `None` when nothing was logged.
    pub delivery_rate_proxy: Option<f64>,
    /// The worst wait of the oldest due mail task seen at a run, in seconds.
    pub queue_peak_seconds: i64,
}

impl Store {
    /// Figures for `months` (ascending), for one environment or all.
    pub fn monthly(
        &self,
        environment: Option<&str>,
        months: &[Month],
    ) -> Result<Vec<MonthFigures>, HistoryError> {
        let (Some(first), Some(last)) = (months.first(), months.last()) else {
            return Ok(Vec::new());
        };
        // A run early in the first month needs the run before it to know what it covers.
        let from = first.start().as_second() - 91 * 86_400;
        let to = last.next().start().as_second();
        let err = |e| HistoryError::from_sql(self.path(), e);
        let mut q = self
            .conn()
            .prepare_cached(
                "SELECT environment, measured_at, window_days, log_available, failed, message_sent,
                        mail_oldest_due_age_s
                 FROM health WHERE measured_at >= ?1 AND measured_at < ?2
                   AND (?3 IS NULL OR environment = ?3)
                 ORDER BY environment, measured_at",
            )
            .map_err(err)?;
        type Row = (String, i64, i64, bool, i64, i64, i64);
        let rows: Vec<Row> = q
            .query_map(params![from, to, environment], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let mut out: BTreeMap<(String, Month), MonthFigures> = BTreeMap::new();
        let mut prev: Option<(&str, i64)> = None;
        for (env, at, window_days, log, failed, sent, queue) in &rows {
            let month = Month::of(super::store::ts(*at));
            let window = window_days.max(&1) * 86_400;
            let before = match prev {
                Some((e, t)) if e == env => t,
                _ => at - window,
            };
            prev = Some((env, *at));
            if !months.contains(&month) {
                continue;
            }
            let covered_from = before.max(at - window).max(month.start().as_second());
            let share = ((at - covered_from).max(0) as f64) / window as f64;
            let m = out
                .entry((env.clone(), month))
                .or_insert_with(|| MonthFigures {
                    environment: env.clone(),
                    month,
                    runs: 0,
                    log_available: true,
                    failed: 0.0,
                    sent_proxy: 0.0,
                    delivery_rate_proxy: None,
                    queue_peak_seconds: 0,
                });
            m.runs += 1;
            m.log_available &= *log;
            m.failed += *failed as f64 * share;
            m.sent_proxy += *sent as f64 * share;
            m.queue_peak_seconds = m.queue_peak_seconds.max(*queue);
        }
        Ok(out
            .into_values()
            .map(|mut m| {
                let logged = m.failed + m.sent_proxy;
                m.delivery_rate_proxy =
                    (m.log_available && logged > 0.0).then(|| 1.0 - m.failed / logged);
                m
            })
            .collect())
    }
}

/// The month's review: a finding for every figure over the baseline's thresholds.
pub fn review(figures: &[MonthFigures], policy: &HealthPolicy) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in figures {
        if let (Some(rate), Some(max)) = (m.delivery_rate_proxy, policy.failure_rate_max)
            && 1.0 - rate > max
        {
            out.push(
                Finding::new(
                    &MONTH_DELIVERY_RATE,
                    format!(
                        "In {}, the delivery rate (proxy: message_sent based) was {:.2} %, below the {:.2} % the standard asks for.",
                        m.month,
                        rate * 100.0,
                        (1.0 - max) * 100.0
                    ),
                )
                .env(&m.environment)
                .subject(format!("{} delivery rate", m.month))
                .expected(format!("at least {:.2} %", (1.0 - max) * 100.0))
                .actual(format!("{:.2} %", rate * 100.0)),
            );
        }
        let limit = policy.queue_max_age_minutes as i64 * 60;
        if m.queue_peak_seconds > limit {
            out.push(
                Finding::new(
                    &MONTH_QUEUE_DELAY,
                    format!(
                        "In {}, mail waited up to {} minutes in the task queue; the standard allows {}.",
                        m.month,
                        m.queue_peak_seconds / 60,
                        policy.queue_max_age_minutes
                    ),
                )
                .env(&m.environment)
                .subject(format!("{} mail-queue delay", m.month))
                .expected(format!("at most {} min", policy.queue_max_age_minutes))
                .actual(format!("{} min", m.queue_peak_seconds / 60)),
            );
        }
        if let Some(max) = policy.failed_mail_max {
            let limit = max as f64 * m.month.days() as f64 / f64::from(policy.window_days.max(1));
            if m.log_available && m.failed > limit {
                out.push(
                    Finding::new(
                        &MONTH_FAILED,
                        format!(
                            "In {}, about {:.0} mails failed; the standard allows {max} per {} days, about {:.0} in the month.",
                            m.month, m.failed, policy.window_days, limit
                        ),
                    )
                    .env(&m.environment)
                    .subject(format!("{} failed deliveries", m.month))
                    .expected(format!("at most ≈{limit:.0}"))
                    .actual(format!("≈{:.0}", m.failed)),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(m.days(), 31);
        assert!("2026-13".parse::<Month>().is_err());
        assert!("26-01".parse::<Month>().is_err());
    }

    fn figures(rate: Option<f64>, queue_min: i64, failed: f64) -> MonthFigures {
        MonthFigures {
            environment: "production".into(),
            month: "2026-11".parse().unwrap(),
            runs: 30,
            log_available: true,
            failed,
            sent_proxy: 1000.0,
            delivery_rate_proxy: rate,
            queue_peak_seconds: queue_min * 60,
        }
    }

    #[test]
    fn a_month_within_the_thresholds_has_no_review_finding() {
        assert!(review(&[figures(Some(0.99), 30, 10.0)], &HealthPolicy::default()).is_empty());
    }

    #[test]
    fn each_metric_over_its_threshold_is_a_finding_of_its_own() {
        let policy = HealthPolicy {
            failed_mail_max: Some(7),
            ..HealthPolicy::default()
        };
        let found = review(&[figures(Some(0.95), 90, 40.0)], &policy);
        let codes: Vec<&str> = found.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["MD830", "MD831", "MD832"]);
        assert!(found[0].message.contains("proxy"), "{}", found[0].message);
        assert_eq!(found[0].subject.as_deref(), Some("2026-11 delivery rate"));
    }
}
