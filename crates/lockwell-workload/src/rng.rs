//! A seeded pseudo-random stream: SplitMix64 (Steele, Lea and Flood),
//! small, fast and good enough to pick ops, keys, conditions and backoff
//! delays. Integer arithmetic only, so a seed gives the same stream on every
//! platform. Each client (or load-generator worker) owns one, seeded from
//! the run's seed and its index, so its op sequence is reproducible on its
//! own, whatever the other clients do.

/// SplitMix64: a 64-bit counter passed through a mixing function.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The stream of worker (or client) `index` of a run seeded with `seed`:
    /// streams of different workers start far apart.
    #[must_use]
    pub fn for_worker(seed: u64, index: usize) -> Self {
        let mut mixer = Self::new(seed ^ (index as u64).wrapping_mul(0xd134_2543_de82_ef95));
        Self::new(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[0, bound)` (Lemire's multiply-shift; the bias is below
    /// `bound / 2^64`, invisible at the bounds used here). `bound` 0 gives 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // First outputs for seed 1234567 of the reference C implementation.
        let mut rng = SplitMix64::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
        ];
        for value in expected {
            assert_eq!(rng.next_u64(), value);
        }
    }

    #[test]
    fn worker_streams_are_reproducible_and_distinct() {
        let first: Vec<u64> = (0..4)
            .map(|index| SplitMix64::for_worker(7, index).next_u64())
            .collect();
        let again: Vec<u64> = (0..4)
            .map(|index| SplitMix64::for_worker(7, index).next_u64())
            .collect();
        assert_eq!(first, again);
        let mut sorted = first.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
    }

    #[test]
    fn bounded_values_stay_in_range() {
        let mut rng = SplitMix64::new(3);
        for bound in [0, 1, 2, 10, u64::MAX] {
            for _ in 0..1000 {
                let value = rng.below(bound);
                assert!(value < bound.max(1), "{value} for bound {bound}");
            }
        }
        for _ in 0..1000 {
            let value = rng.next_f64();
            assert!((0.0..1.0).contains(&value));
        }
    }
}
