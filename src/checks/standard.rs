//! Checks of the standard itself.

use crate::baseline::Baseline;
use crate::findings::{Finding, Kind, Severity};

pub const REVIEW_OVERDUE: Kind = Kind {
    code: "MD001",
    name: "standard-review-overdue",
    severity: Severity::Warning,
    category: "standard",
    remedy: "Review the standard with its owner and move review_by in the baseline forward.",
};

pub fn check(baseline: &Baseline, today: jiff::civil::Date) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(review_by) = baseline.standard.review_by
        && review_by < today
    {
        out.push(
            Finding::new(
                &REVIEW_OVERDUE,
                format!(
                    "the standard was due for review on {review_by} (owner: {})",
                    baseline.standard.owner
                ),
            )
            .subject("standard.review_by")
            .expected(format!("on or after {today}"))
            .actual(review_by.to_string()),
        );
    }
    out
}
