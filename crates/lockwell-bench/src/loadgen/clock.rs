//! The load generator's only access to the real clock. A benchmark measures
//! wall-clock time by definition and never runs under the simulator, so
//! the workspace's ban on `Instant::now` (clippy.toml) is lifted here and
//! nowhere else in the load generator.

use std::time::{Duration, Instant};

/// Below this much time to a deadline, [`sleep_until`] stops sleeping and
/// yields instead: a sleep overshoots by tens of microseconds (timer
/// slack), which an open loop would otherwise add to every intended-start
/// latency.
pub const SPIN_WINDOW: Duration = Duration::from_micros(100);

#[allow(
    clippy::disallowed_methods,
    reason = "benchmark timing reads the real monotonic clock; never simulated"
)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Returns at or just after `deadline`.
pub(crate) fn sleep_until(deadline: Instant) {
    loop {
        let remaining = deadline.saturating_duration_since(now());
        if remaining.is_zero() {
            return;
        }
        if remaining > SPIN_WINDOW {
            std::thread::sleep(remaining - SPIN_WINDOW);
        } else {
            std::thread::yield_now();
        }
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "interval logs and result files carry wall-clock timestamps; never simulated"
)]
pub(crate) fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}
