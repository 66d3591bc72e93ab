//! The server's only source of time.
//!
//! lockwell-core takes time as arguments; this module is where the server
//! reads it. Under `--cfg madsim` it reads the simulator's clock, so a run
//! replays identically from its seed (and the simulator can move the clock
//! forward to expire tokens); otherwise the system clock.

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> u64 {
    let now = system_now();
    let since_epoch = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(madsim)]
fn system_now() -> std::time::SystemTime {
    madsim::time::TimeHandle::current().now_time()
}

#[cfg(not(madsim))]
fn system_now() -> std::time::SystemTime {
    // The single allowed wall-clock read outside the simulator.
    #[allow(clippy::disallowed_methods)]
    std::time::SystemTime::now()
}
