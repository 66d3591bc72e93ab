//! Zipf-distributed key ranks: rank `k` (0-based) is drawn with probability
//! proportional to `1 / (k + 1)^s`. Exponent 0 is uniform; YCSB's hot-key
//! workloads use 0.99; the larger `s`, the more the first ranks dominate.
//!
//! Sampling inverts a precomputed cumulative table by binary search: exact
//! (no rejection, no approximation of the normalising sum), deterministic
//! for a seeded stream, `O(log n)` per draw, and 8 bytes per key. The table
//! is shared by all clients.
//!
//! The table is built with `f64::powf`, whose last bit may differ between
//! platforms' maths libraries; a draw changes only if it lands in that
//! sliver of a boundary (odds around 2^-50), so streams are identical
//! across platforms in practice and bit-identical on one.

use crate::rng::SplitMix64;

/// Most keys a distribution covers: its table then takes 128 MiB.
pub const MAX_KEY_COUNT: usize = 1 << 24;

/// Largest exponent: beyond it rank 0 takes all but a vanishing share.
pub const MAX_EXPONENT: f64 = 20.0;

/// A distribution that cannot be built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZipfError {
    #[error("the key count must be between 1 and {MAX_KEY_COUNT}, not {0}")]
    KeyCount(usize),
    #[error("the zipf exponent must be between 0 and {MAX_EXPONENT}, not {0}")]
    Exponent(f64),
}

/// The cumulative weights of ranks `0..key_count`.
#[derive(Debug, Clone)]
pub struct Zipf {
    /// `cumulative[k]` = Σ_{i <= k} 1 / (i + 1)^s, unnormalised.
    cumulative: Box<[f64]>,
    exponent: f64,
}

impl Zipf {
    /// # Errors
    /// A key count or exponent outside the limits.
    pub fn new(key_count: usize, exponent: f64) -> Result<Self, ZipfError> {
        if !(1..=MAX_KEY_COUNT).contains(&key_count) {
            return Err(ZipfError::KeyCount(key_count));
        }
        if !(0.0..=MAX_EXPONENT).contains(&exponent) {
            return Err(ZipfError::Exponent(exponent));
        }
        let mut total = 0.0;
        let cumulative = (1..=key_count)
            .map(|rank| {
                total += (rank as f64).powf(-exponent);
                total
            })
            .collect();
        Ok(Self {
            cumulative,
            exponent,
        })
    }

    #[must_use]
    pub fn key_count(&self) -> usize {
        self.cumulative.len()
    }

    #[must_use]
    pub fn exponent(&self) -> f64 {
        self.exponent
    }

    /// The probability of drawing `rank`.
    #[must_use]
    pub fn probability(&self, rank: usize) -> f64 {
        let below = rank
            .checked_sub(1)
            .map_or(0.0, |previous| self.cumulative[previous]);
        (self.cumulative[rank] - below) / self.total()
    }

    /// Draws a rank in `0..key_count`.
    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        let target = rng.next_f64() * self.total();
        let rank = self
            .cumulative
            .partition_point(|&cumulative| cumulative <= target);
        // `target < total` but rounding can land on the last boundary.
        rank.min(self.cumulative.len() - 1)
    }

    fn total(&self) -> f64 {
        self.cumulative[self.cumulative.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frequencies(zipf: &Zipf, draws: usize, seed: u64) -> Vec<usize> {
        let mut rng = SplitMix64::new(seed);
        let mut counts = vec![0; zipf.key_count()];
        for _ in 0..draws {
            counts[zipf.sample(&mut rng)] += 1;
        }
        counts
    }

    #[test]
    fn draws_follow_the_distribution() {
        const DRAWS: usize = 200_000;
        for (key_count, exponent) in [(10, 0.0), (100, 0.99), (1000, 1.2), (5, 3.0)] {
            let zipf = Zipf::new(key_count, exponent).unwrap();
            let counts = frequencies(&zipf, DRAWS, 11);
            for (rank, &count) in counts.iter().enumerate().take(5) {
                let expected = zipf.probability(rank) * DRAWS as f64;
                // Five standard deviations of a binomial count.
                let tolerance = 5.0 * expected.sqrt() + 1.0;
                assert!(
                    (count as f64 - expected).abs() <= tolerance,
                    "n={key_count} s={exponent} rank {rank}: {count} vs {expected:.0}"
                );
            }
        }
    }

    #[test]
    fn probabilities_match_the_closed_form() {
        // s = 1, n = 3: weights 1, 1/2, 1/3 of a total of 11/6.
        let zipf = Zipf::new(3, 1.0).unwrap();
        for (rank, expected) in [(0, 6.0 / 11.0), (1, 3.0 / 11.0), (2, 2.0 / 11.0)] {
            assert!((zipf.probability(rank) - expected).abs() < 1e-12, "{rank}");
        }
        let uniform = Zipf::new(4, 0.0).unwrap();
        assert!((0..4).all(|rank| (uniform.probability(rank) - 0.25).abs() < 1e-12));
    }

    #[test]
    fn draws_are_reproducible_from_the_seed() {
        let zipf = Zipf::new(10_000, 0.99).unwrap();
        assert_eq!(frequencies(&zipf, 1000, 5), frequencies(&zipf, 1000, 5));
        assert_ne!(frequencies(&zipf, 1000, 5), frequencies(&zipf, 1000, 6));
    }

    #[test]
    fn one_key_is_always_drawn() {
        let zipf = Zipf::new(1, 0.99).unwrap();
        assert_eq!(frequencies(&zipf, 100, 1), [100]);
    }

    #[test]
    fn limits_are_enforced_at_their_edges() {
        assert_eq!(Zipf::new(0, 1.0).unwrap_err(), ZipfError::KeyCount(0));
        assert_eq!(
            Zipf::new(MAX_KEY_COUNT + 1, 1.0).unwrap_err(),
            ZipfError::KeyCount(MAX_KEY_COUNT + 1)
        );
        assert!(Zipf::new(1, MAX_EXPONENT).is_ok());
        for exponent in [-0.1, MAX_EXPONENT + 0.1, f64::NAN] {
            assert!(matches!(
                Zipf::new(1, exponent),
                Err(ZipfError::Exponent(_))
            ));
        }
    }

    #[test]
    fn the_largest_distribution_builds_and_samples() {
        let zipf = Zipf::new(MAX_KEY_COUNT, 0.99).unwrap();
        let mut rng = SplitMix64::new(1);
        assert!((0..1000).all(|_| zipf.sample(&mut rng) < MAX_KEY_COUNT));
    }
}
