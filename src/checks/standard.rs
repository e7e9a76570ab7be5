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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn overdue(review_by: &str, today: jiff::civil::Date) -> bool {
        let b = Baseline::parse(
            &format!(
                "schema = \"maildrift.baseline/1\"\n[standard]\nname = \"s\"\nowner = \"o\"\nreview_by = {review_by}\n"
            ),
            Path::new("b.toml"),
        )
        .unwrap();
        !check(&b, today).is_empty()
    }

    #[test]
    fn review_is_overdue_from_the_day_after_review_by() {
        let today = jiff::civil::date(2026, 11, 29);
        assert!(!overdue("2026-11-30", today));
        assert!(!overdue("2026-11-29", today));
        assert!(overdue("2026-11-28", today));
    }
}
