//! Conflicts of optimistic writes: the probability that a compare-and-swap
//! attempt loses, retry amplification, and the time backoff adds.
//!
//! Formula. A CAS attempt on key `k` reads the object, then puts it
//! `If-Match` the ETag read; it loses (412) if any other write to `k`
//! committed in between, its read-to-commit window `W`. Writes to `k`
//! commit at rate `G_k = G · p_k` (`G` the goodput of every writer, `p_k`
//! the key's access probability, see [`crate::keys`]). Taking those
//! commits as a Poisson stream and leaving out the attempt's own racer:
//!
//! ```text
//! c_k = 1 - exp(-θ_k),   θ_k = G · p_k · W · (N - 1) / N
//! ```
//!
//! `W` is not observable from outside the server; the model takes
//! `W = ω · L` (`L` the mean request latency, itself `N / X(N)` by Little's
//! law) and fits the one coefficient `ω` to the measured conflict rates.
//! A loser retries the same key, so an operation on `k` makes
//! `1 / (1 - c_k)` attempts (retry amplification) and the conflict rate
//! the generator reports, lost attempts over attempts, is
//!
//! ```text
//! c = 1 - 1 / a,   a = Σ_k p_k / (1 - c_k)
//! ```
//!
//! and goodput = attempts · (1 - c). With full-jitter backoff (base `b`,
//! cap `m`), the `n`-th consecutive loss sleeps `min(m, b · 2^(n-1)) / 2`
//! on average, so an operation on `k` sleeps
//! `Σ_{n≥1} c_k^n · min(m, b · 2^(n-1)) / 2`. Backoff lowers the number of
//! requests in flight, which shortens `L` and so `W`; it does not change
//! `θ_k` for a given goodput and window.
//!
//! Assumptions: commits to a key form a Poisson stream (racers are many
//! and unsynchronised); every attempt's window is the same multiple of the
//! mean request latency; a loser's retry sees the same odds as a first
//! attempt. Where it breaks: a handful of racers in lock step on one key
//! (a FIFO server turns them into a round robin where one attempt in `N /
//! 2` wins, whatever the window); windows with heavy tails (a preempted
//! racer holds a stale ETag for milliseconds); create-only puts, which in
//! the load generator race for each generation of a key and lose for
//! reasons that depend on how long the run lasted (not modelled).

use crate::keys::KeyPopularity;

/// Most consecutive losses whose backoff is summed term by term; past it
/// the delay ceiling is at its cap for any realistic base and cap, and the
/// rest of the series is summed in closed form.
pub const MAX_DOUBLINGS: u32 = 40;

/// Full-jitter backoff after a lost attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backoff {
    pub base_us: u64,
    pub cap_us: u64,
}

impl Backoff {
    /// Mean sleep, in seconds, of an operation whose attempts lose with
    /// probability `loss`: `Σ_{n≥1} loss^n · min(cap, base · 2^(n-1)) / 2`.
    #[must_use]
    pub fn mean_sleep_s(&self, loss: f64) -> f64 {
        debug_assert!((0.0..1.0).contains(&loss), "{loss}");
        let cap_s = self.cap_us as f64 * 1e-6;
        let mut ceiling_s = self.base_us as f64 * 1e-6;
        let mut odds = loss;
        let mut total_s = 0.0;
        for _ in 0..MAX_DOUBLINGS {
            if ceiling_s >= cap_s {
                // Every later term sleeps cap / 2: a geometric tail.
                return total_s + odds * cap_s / 2.0 / (1.0 - loss);
            }
            total_s += odds * ceiling_s / 2.0;
            ceiling_s *= 2.0;
            odds *= loss;
        }
        total_s + odds * cap_s / 2.0 / (1.0 - loss)
    }
}

/// The conflict state of a workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conflicts {
    /// Lost attempts over attempts.
    pub conflict_rate: f64,
    /// Attempts per successful compare-and-swap (retry amplification).
    pub attempts_per_success: f64,
    /// Mean backoff sleep per compare-and-swap, in seconds.
    pub backoff_sleep_per_op_s: f64,
}

/// `c_k` for every bin of `keys`, given the commits expected in one
/// window on a key of probability 1: `exposure = G · W · (N - 1) / N`.
#[must_use]
pub fn conflicts(keys: &KeyPopularity, exposure: f64, backoff: Option<Backoff>) -> Conflicts {
    let mut attempts = 0.0;
    let mut sleep_s = 0.0;
    // The masses sum to 1 within rounding; dividing by their sum keeps
    // a conflict-free workload at exactly one attempt.
    let mut mass = 0.0;
    for bin in keys.bins() {
        mass += bin.mass();
        let loss = 1.0 - (-exposure * bin.probability_per_key).exp();
        // A loss of exactly 1 would mean infinitely many attempts: keep
        // the largest representable odds instead.
        let loss = loss.min(1.0 - f64::EPSILON);
        attempts += bin.mass() / (1.0 - loss);
        if let Some(backoff) = backoff {
            sleep_s += bin.mass() * backoff.mean_sleep_s(loss);
        }
    }
    let attempts = attempts / mass;
    Conflicts {
        conflict_rate: 1.0 - 1.0 / attempts,
        attempts_per_success: attempts,
        backoff_sleep_per_op_s: sleep_s / mass,
    }
}

/// The exposure of one key of probability 1: `G · W · (N - 1) / N`.
#[must_use]
pub fn exposure(goodput_per_s: f64, window_s: f64, racers: f64) -> f64 {
    if racers <= 1.0 {
        return 0.0;
    }
    goodput_per_s * window_s * (racers - 1.0) / racers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_racer_never_conflicts() {
        for (keys, skew) in [(1, 0.0), (1000, 0.0), (1000, 1.2)] {
            let keys = KeyPopularity::zipf(keys, skew).unwrap();
            let state = conflicts(&keys, exposure(5000.0, 0.001, 1.0), None);
            assert_eq!(state.conflict_rate, 0.0);
            assert_eq!(state.attempts_per_success, 1.0);
        }
    }

    /// One key: c = 1 - exp(-θ), attempts = exp(θ). With θ = ln 4 three
    /// attempts in four lose.
    #[test]
    fn one_key_loses_with_the_poisson_odds() {
        let keys = KeyPopularity::zipf(1, 0.99).unwrap();
        let state = conflicts(&keys, 4f64.ln(), None);
        assert!((state.conflict_rate - 0.75).abs() < 1e-12);
        assert!((state.attempts_per_success - 4.0).abs() < 1e-12);
    }

    /// Two uniform keys, θ = 2 ln 2 per key of probability 1: each key
    /// sees θ_k = ln 2, loses half its attempts, takes 2 attempts.
    #[test]
    fn uniform_keys_share_the_exposure() {
        let keys = KeyPopularity::zipf(2, 0.0).unwrap();
        let state = conflicts(&keys, 2.0 * 2f64.ln(), None);
        assert!((state.conflict_rate - 0.5).abs() < 1e-12);
    }

    #[test]
    fn skew_raises_conflicts_at_equal_exposure() {
        let rate =
            |skew| conflicts(&KeyPopularity::zipf(1000, skew).unwrap(), 50.0, None).conflict_rate;
        assert!(rate(0.0) < rate(0.6));
        assert!(rate(0.6) < rate(0.9));
        assert!(rate(0.9) < rate(1.2));
    }

    /// Base 100 us, cap 400 us, loss 1/2: 1/2·50 + 1/4·100 + (1/8·200 =
    /// the cap's half, geometric from there: 1/8·200 / (1 - 1/2)) us
    /// = 25 + 25 + 50 = 100 us.
    #[test]
    fn backoff_sleep_is_the_hand_computed_series() {
        let backoff = Backoff {
            base_us: 100,
            cap_us: 400,
        };
        assert!((backoff.mean_sleep_s(0.5) - 100e-6).abs() < 1e-12);
        assert_eq!(backoff.mean_sleep_s(0.0), 0.0);
        let uncapped = Backoff {
            base_us: 10,
            cap_us: u64::MAX,
        };
        // 0.1·5 + 0.01·10 + 0.001·20 + ... = 0.5 / (1 - 0.2) us.
        assert!((uncapped.mean_sleep_s(0.1) - 0.625e-6).abs() < 1e-15);
    }
}
