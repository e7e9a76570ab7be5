//! When and how long to wait before repeating a failed request.

use std::time::Duration;

use rand::Rng;

/// Backoff settings. The defaults suit real sites; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter); doubled for each further retry.
    pub base_delay: Duration,
    /// Upper bound of any single backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured on a 503. A longer one means real maintenance, so the
    /// run fails at once with the maintenance message instead of hanging.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `attempt` (1 = first retry): exponential, with "equal
    /// jitter" (half fixed, half random) so many sites failing together don't retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }

    /// How long to wait given a 503's `Retry-After`, or `None` when it asks for longer than
    /// [`Self::max_retry_after`]. An HTTP-date or garbage value falls back to `fallback`.
    pub fn retry_after(&self, header: Option<&str>, fallback: Duration) -> Option<Duration> {
        match header.and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(secs) if Duration::from_secs(secs) > self.max_retry_after => None,
            Some(secs) => Some(Duration::from_secs(secs)),
            None => Some(fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_below_the_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(10),
        };
        for _ in 0..50 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = p.backoff(3);
            assert!(third >= Duration::from_millis(150) && third <= Duration::from_millis(300));
            assert!(p.backoff(40) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        let fallback = Duration::from_millis(7);
        assert_eq!(
            p.retry_after(Some("3"), fallback),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.retry_after(Some("300"), fallback), None);
        assert_eq!(p.retry_after(None, fallback), Some(fallback));
        assert_eq!(
            p.retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT"), fallback),
            Some(fallback)
        );
    }
}
