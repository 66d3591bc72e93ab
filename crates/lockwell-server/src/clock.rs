//! The server's only source of time.
//!
//! lockwell-core takes time as arguments; this module is where the server
//! reads it. Under `--cfg madsim` it reads the simulator's clock, so a run
//! replays identically from its seed, plus however far the simulator has
//! moved the server's wall clock ahead ([`advance_ms`]): a clock jump, as
//! an NTP step makes one, that expires native tokens sooner than their
//! clients expect (SPEC R1, A2). Otherwise the system clock.

use std::time::{Duration, SystemTime};

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> u64 {
    let since_epoch = now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// The server's wall-clock time.
#[must_use]
pub fn now() -> SystemTime {
    system_now() + Duration::from_millis(ahead_ms())
}

#[cfg(madsim)]
pub use sim::{advance_ms, ahead_ms, reset};

#[cfg(madsim)]
fn system_now() -> SystemTime {
    madsim::time::TimeHandle::current().now_time()
}

#[cfg(not(madsim))]
fn system_now() -> SystemTime {
    // The single allowed wall-clock read outside the simulator.
    #[allow(clippy::disallowed_methods)]
    SystemTime::now()
}

/// Outside the simulator the clock is never moved.
#[cfg(not(madsim))]
const fn ahead_ms() -> u64 {
    0
}

#[cfg(madsim)]
mod sim {
    use std::cell::Cell;

    thread_local! {
        // A simulation runs on one thread, its runtime's; the server's
        // nodes and the simulator's fault task share it.
        static AHEAD_MS: Cell<u64> = const { Cell::new(0) };
    }

    /// Moves the server's wall clock `by_ms` further ahead of the
    /// simulator's (never back: a restarted server keeps its clock).
    pub fn advance_ms(by_ms: u64) {
        AHEAD_MS.with(|ahead| ahead.set(ahead.get().saturating_add(by_ms)));
    }

    /// How far the server's wall clock is ahead of the simulator's.
    #[must_use]
    pub fn ahead_ms() -> u64 {
        AHEAD_MS.with(Cell::get)
    }

    /// Starts a run with the server's clock on the simulator's.
    pub fn reset() {
        AHEAD_MS.with(|ahead| ahead.set(0));
    }
}
