//! The clock the near cache's copies expire by.
//!
//! A copy is checked on every read, and reading `Instant::now()` (the precise
//! monotonic clock) was 6% of `/cached-queries`. On Linux copies use the coarse
//! monotonic clock instead (`CLOCK_MONOTONIC_COARSE`: the time at the last timer tick,
//! read without touching the hardware counter), and stay exact: a copy's deadline is
//! set early by twice the clock's resolution, so it ends before its entry does however
//! far the coarse clock lags. An entry with less time than that left is not copied
//! (its reads go to the shared store, which checks the precise clock).

use std::time::Instant;

#[cfg(target_os = "linux")]
mod imp {
    use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};
    use std::sync::OnceLock;

    fn nanos(t: Timespec) -> u64 {
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nanos)
    }

    /// Now, on the coarse clock: never ahead of `Instant::now()` read after it.
    pub(super) fn now() -> u64 {
        nanos(clock_gettime(ClockId::MonotonicCoarse))
    }

    /// More than the coarse clock can lag behind the precise one.
    pub(super) fn lag() -> u64 {
        static LAG: OnceLock<u64> = OnceLock::new();
        *LAG.get_or_init(|| nanos(clock_getres(ClockId::MonotonicCoarse)).saturating_mul(2))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;

    /// Now, in nanoseconds since the first call (the precise clock: no lag).
    pub(super) fn now() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let epoch = *EPOCH.get_or_init(Instant::now);
        u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub(super) fn lag() -> u64 {
        0
    }
}

/// The deadline of a copy of an entry that expires at `until`, or `None` when the
/// entry has too little time left to be copied.
pub(crate) fn deadline(until: Instant) -> Option<u64> {
    // The coarse clock first: read before `Instant::now()`, it is not ahead of it.
    let start = imp::now();
    let left = until.checked_duration_since(Instant::now())?;
    let left = u64::try_from(left.as_nanos())
        .unwrap_or(u64::MAX)
        .checked_sub(imp::lag())
        .filter(|left| *left > 0)?;
    Some(start.saturating_add(left))
}

/// Now, on the clock deadlines are on: a copy with `deadline > now()` may be used by a
/// read that started before this call.
pub(crate) fn now() -> u64 {
    imp::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_copy_ends_before_its_entry() {
        let until = Instant::now() + Duration::from_millis(200);
        let deadline = deadline(until).unwrap();
        assert!(deadline > now());
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(deadline <= now(), "a copy outlived its entry");
        assert_eq!(super::deadline(Instant::now()), None);
        assert_eq!(
            super::deadline(Instant::now() + Duration::from_nanos(imp::lag() / 2)),
            None,
            "too close to expiry to copy"
        );
    }
}
