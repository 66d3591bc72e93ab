//! Per-key access probabilities under zipf skew, the input of the conflict
//! model.
//!
//! Formula: rank `k` (1-based) of `n` keys is drawn with probability
//! `p_k = k^-s / H(n, s)`, `H(n, s) = Σ_{k=1..n} k^-s`, exactly as the load
//! generator draws keys (lockwell-workload's `zipf`).
//!
//! The conflict model needs `Σ_k f(p_k)` for non-linear `f`, over up to
//! millions of keys, thousands of times per fit. So ranks are grouped into
//! [`KeyBin`]s of keys with nearly equal probability: the first
//! [`EXACT_RANKS`] ranks one per bin (they carry the contention), then bins
//! whose last rank is at most [`BIN_WIDTH_RATIO`] times their first. A
//! bin's mass is the sum of its ranks' probabilities, from the midpoint
//! rule `Σ_{k=a..b} k^-s ≈ ∫_{a-1/2}^{b+1/2} x^-s dx` (relative error below
//! 1e-6 for ranks past [`EXACT_RANKS`]); every key of a bin is then given
//! the bin's mean probability. Where it breaks: nowhere that matters for
//! contention, since the keys averaged together differ by under 2% in
//! probability and each is far colder than the hottest.

/// Ranks represented one per bin.
pub const EXACT_RANKS: u64 = 256;
/// Largest ratio of a bin's last rank to its first past [`EXACT_RANKS`].
pub const BIN_WIDTH_RATIO: f64 = 1.02;
/// Most keys a distribution may have (a billion: beyond any bucket a
/// single sweep could say anything about).
pub const MAX_KEY_COUNT: u64 = 1_000_000_000;
/// Largest zipf exponent (the load generator's limit).
pub const MAX_ZIPF_EXPONENT: f64 = 20.0;

/// Keys with (nearly) the same access probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyBin {
    /// Probability that an operation picks one given key of the bin.
    pub probability_per_key: f64,
    pub key_count: u64,
}

impl KeyBin {
    /// Probability that an operation picks some key of the bin.
    #[must_use]
    pub fn mass(&self) -> f64 {
        self.probability_per_key * self.key_count as f64
    }
}

/// The key popularity of a workload, hottest keys first.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPopularity {
    bins: Vec<KeyBin>,
}

/// A key distribution outside the limits.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyError {
    #[error("the key count must be between 1 and {MAX_KEY_COUNT}, not {0}")]
    KeyCount(u64),
    #[error("the zipf exponent must be between 0 and {MAX_ZIPF_EXPONENT}, not {0}")]
    Exponent(f64),
}

/// `Σ_{k=first..=last} k^-s` by the midpoint rule.
fn tail_sum(first: u64, last: u64, exponent: f64) -> f64 {
    let low = first as f64 - 0.5;
    let high = last as f64 + 0.5;
    if (exponent - 1.0).abs() < 1e-12 {
        (high / low).ln()
    } else {
        (high.powf(1.0 - exponent) - low.powf(1.0 - exponent)) / (1.0 - exponent)
    }
}

impl KeyPopularity {
    /// Zipf with `exponent` over `key_count` keys (0 is uniform).
    ///
    /// # Errors
    /// A key count or exponent outside the limits.
    pub fn zipf(key_count: u64, exponent: f64) -> Result<Self, KeyError> {
        if !(1..=MAX_KEY_COUNT).contains(&key_count) {
            return Err(KeyError::KeyCount(key_count));
        }
        if !(0.0..=MAX_ZIPF_EXPONENT).contains(&exponent) {
            return Err(KeyError::Exponent(exponent));
        }
        let mut weights: Vec<(f64, u64)> = (1..=key_count.min(EXACT_RANKS))
            .map(|rank| ((rank as f64).powf(-exponent), 1))
            .collect();
        let mut first = EXACT_RANKS + 1;
        while first <= key_count {
            let widest = ((first as f64) * BIN_WIDTH_RATIO).floor() as u64;
            let last = widest.max(first).min(key_count);
            weights.push((tail_sum(first, last, exponent), last - first + 1));
            first = last + 1;
        }
        let total: f64 = weights.iter().map(|(weight, _)| weight).sum();
        let bins = weights
            .into_iter()
            .map(|(weight, count)| KeyBin {
                probability_per_key: weight / total / count as f64,
                key_count: count,
            })
            .collect();
        Ok(Self { bins })
    }

    /// The bins, hottest first.
    #[must_use]
    pub fn bins(&self) -> &[KeyBin] {
        &self.bins
    }

    /// Probability of the hottest key.
    #[must_use]
    pub fn hottest(&self) -> f64 {
        self.bins[0].probability_per_key
    }

    /// `Σ_k p_k²`: the probability that two independent operations pick the
    /// same key.
    #[must_use]
    pub fn collision_probability(&self) -> f64 {
        self.bins
            .iter()
            .map(|bin| bin.probability_per_key * bin.mass())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(key_count: u64, exponent: f64) -> Vec<f64> {
        let weights: Vec<f64> = (1..=key_count)
            .map(|rank| (rank as f64).powf(-exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        weights.into_iter().map(|weight| weight / total).collect()
    }

    #[test]
    fn probabilities_sum_to_one_and_match_the_exact_sum() {
        for (key_count, exponent) in [(1, 0.99), (10, 0.0), (1000, 0.99), (100_000, 1.2)] {
            let popularity = KeyPopularity::zipf(key_count, exponent).unwrap();
            let mass: f64 = popularity.bins().iter().map(KeyBin::mass).sum();
            assert!((mass - 1.0).abs() < 1e-12, "{key_count} {exponent}: {mass}");
            let keys: u64 = popularity.bins().iter().map(|bin| bin.key_count).sum();
            assert_eq!(keys, key_count);
            let exact = exact(key_count, exponent);
            let relative = (popularity.hottest() - exact[0]).abs() / exact[0];
            assert!(relative < 1e-6, "{key_count} {exponent}: {relative}");
            let collision: f64 = exact.iter().map(|p| p * p).sum();
            let relative = (popularity.collision_probability() - collision).abs() / collision;
            assert!(relative < 1e-4, "{key_count} {exponent}: {relative}");
        }
    }

    #[test]
    fn uniform_keys_collide_with_probability_one_over_n() {
        let popularity = KeyPopularity::zipf(4, 0.0).unwrap();
        assert!((popularity.collision_probability() - 0.25).abs() < 1e-15);
        assert!((popularity.hottest() - 0.25).abs() < 1e-15);
    }

    #[test]
    fn a_billion_keys_take_a_few_thousand_bins() {
        let popularity = KeyPopularity::zipf(MAX_KEY_COUNT, 0.9).unwrap();
        assert!(
            popularity.bins().len() < 2000,
            "{}",
            popularity.bins().len()
        );
    }

    #[test]
    fn distributions_outside_the_limits_are_refused() {
        assert_eq!(KeyPopularity::zipf(0, 1.0), Err(KeyError::KeyCount(0)));
        assert_eq!(
            KeyPopularity::zipf(MAX_KEY_COUNT + 1, 1.0),
            Err(KeyError::KeyCount(MAX_KEY_COUNT + 1))
        );
        assert_eq!(KeyPopularity::zipf(1, -0.1), Err(KeyError::Exponent(-0.1)));
        assert!(KeyPopularity::zipf(1, MAX_ZIPF_EXPONENT).is_ok());
    }
}
