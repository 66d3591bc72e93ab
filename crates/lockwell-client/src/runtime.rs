//! Time and randomness, from outside the client.
//!
//! Nothing here reads the OS's randomness, and the one wall-clock read is
//! madsim's clock under `--cfg madsim`, so a simulated run replays from its
//! seed. Latencies and timeouts use `tokio::time` (madsim's virtual time in
//! the simulator); wall-clock time is only for what the server checks
//! against its own clock: the SigV4 request date (SPEC A1) and, for the
//! native client, token expiry.

use std::fmt;
use std::time::SystemTime;

/// Wall-clock time as the client signs with it.
///
/// A test or the simulator substitutes a skewed clock to exercise the
/// server's 15-minute window (SPEC A1) or token expiry.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> SystemTime;
}

/// The runtime's wall clock: the system's, or madsim's under simulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeClock;

impl Clock for RuntimeClock {
    fn now(&self) -> SystemTime {
        runtime_now()
    }
}

#[cfg(madsim)]
fn runtime_now() -> SystemTime {
    madsim::time::TimeHandle::current().now_time()
}

#[cfg(not(madsim))]
fn runtime_now() -> SystemTime {
    // The client's single wall-clock read outside the simulator.
    #[allow(clippy::disallowed_methods)]
    SystemTime::now()
}

/// The runtime's monotonic clock, what latencies, timeouts and idle times
/// are measured with: madsim's virtual instant under simulation, tokio's
/// (pausable) clock otherwise.
pub(crate) fn monotonic_now() -> tokio::time::Instant {
    #[cfg(madsim)]
    {
        madsim::time::TimeHandle::current().now_instant()
    }
    #[cfg(not(madsim))]
    {
        tokio::time::Instant::now()
    }
}

/// A source of random bits: backoff jitter (SPEC R3) draws from it.
pub trait Random: Send + fmt::Debug {
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64 from a caller's seed: small, fast, and the same sequence on
/// every platform, so a seeded run's backoff delays replay exactly. Not for
/// anything secret.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl Random for SeededRandom {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// madsim's global random source, itself seeded from the simulation's
/// seed: every client of a simulated world draws from the one sequence.
#[cfg(madsim)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SimRandom;

#[cfg(madsim)]
impl Random for SimRandom {
    fn next_u64(&mut self) -> u64 {
        madsim::rand::random()
    }
}

/// A uniform draw from `0..=max` (Lemire's multiply-shift; the bias is at
/// most `max / 2^64`, far below anything a backoff could show).
pub(crate) fn uniform_inclusive(random: &mut dyn Random, max: u64) -> u64 {
    match max.checked_add(1) {
        None => random.next_u64(),
        Some(span) => {
            let product = u128::from(random.next_u64()) * u128::from(span);
            u64::try_from(product >> 64).expect("the high half of a u64 x u64 product fits a u64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_replays_its_sequence_from_the_seed() {
        let draw = |seed| {
            let mut random = SeededRandom::new(seed);
            [random.next_u64(), random.next_u64(), random.next_u64()]
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        // SplitMix64's published first output for seed 0.
        assert_eq!(SeededRandom::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn uniform_inclusive_stays_within_bounds_at_the_limits() {
        let mut random = SeededRandom::new(1);
        for max in [0, 1, 2, 49, 1_000, u64::MAX - 1, u64::MAX] {
            for _ in 0..1_000 {
                assert!(uniform_inclusive(&mut random, max) <= max, "max {max}");
            }
        }
        assert_eq!(uniform_inclusive(&mut random, 0), 0);
    }

    #[test]
    fn uniform_inclusive_reaches_both_ends() {
        let mut random = SeededRandom::new(2);
        let draws: Vec<u64> = (0..1_000)
            .map(|_| uniform_inclusive(&mut random, 3))
            .collect();
        for value in 0..=3 {
            assert!(draws.contains(&value), "{value} never drawn");
        }
    }
}
