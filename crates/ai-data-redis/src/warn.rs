//! A warning that is logged at most once per interval, so that a Redis
//! outage under load does not flood the logs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one warning through per `interval` and counts the ones held back.
#[derive(Debug)]
pub(crate) struct RateLimitedWarn {
    interval: Duration,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last logged warning, plus one (0: never).
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedWarn {
    pub(crate) fn new(interval: Duration) -> Self {
        RateLimitedWarn {
            interval,
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last one)` when a warning may be logged now.
    pub(crate) fn permit(&self, now: Instant) -> Option<u64> {
        let now_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX - 1);
        let interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == 0 || now_ms.saturating_sub(last - 1) >= interval_ms;
        if due
            && self
                .last
                .compare_exchange(last, now_ms + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }

    /// Log `message` with `error` through `tracing::warn!` if permitted.
    pub(crate) fn warn(&self, message: &str, error: &ai_data_core::Error) {
        if let Some(suppressed) = self.permit(Instant::now()) {
            tracing::warn!(error = %error, suppressed, "{message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_interval_with_a_count_of_the_rest() {
        let warn = RateLimitedWarn::new(Duration::from_secs(10));
        let t0 = warn.epoch;
        assert_eq!(warn.permit(t0), Some(0));
        for s in 1..10 {
            assert_eq!(warn.permit(t0 + Duration::from_secs(s)), None, "{s}s");
        }
        assert_eq!(warn.permit(t0 + Duration::from_secs(10)), Some(9));
        assert_eq!(warn.permit(t0 + Duration::from_millis(10_500)), None);
        assert_eq!(warn.permit(t0 + Duration::from_secs(25)), Some(1));
    }
}
