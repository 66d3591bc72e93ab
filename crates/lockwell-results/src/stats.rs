//! Rank statistics for comparing repeated runs: medians, the two-sided
//! Mann-Whitney U test and the Hodges-Lehmann shift.
//!
//! Rank statistics because run-to-run noise on a shared machine is not
//! normal: a preempted run is an outlier in one direction, and a mean or a
//! t-test follows it. The U test asks only whether one side's runs tend to
//! rank above the other's; the Hodges-Lehmann shift (the median of all
//! pairwise differences) is the matching estimate of how far apart they are.

/// Largest sample per side for which the p-value is computed exactly: the
/// permutation distribution of the rank sum is counted in a table of about
/// `(n1 + n2) · n1 · 2(n1 + n2) · n1` additions, 6.5 million at 30 against
/// 30, and the largest count, `C(60, 30)` ≈ 1.2e17, still fits a `u64`.
/// Beyond it the normal approximation is within a few percent.
pub const EXACT_MAX_SAMPLES_PER_SIDE: usize = 30;

/// How a p-value was obtained.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    /// The exact permutation distribution of the rank sum given the ties
    /// (small samples). Without ties it equals scipy's `method="exact"`.
    Exact,
    /// The normal approximation with tie correction and continuity
    /// correction (as scipy's `method="asymptotic"`).
    NormalApproximation,
    /// No test: the values are instruction counts, which one build repeats
    /// exactly, so a change beyond the threshold is the verdict by itself.
    /// The p-value is then 0 for a change and 1 for none.
    DeterministicCount,
}

/// The outcome of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannWhitney {
    /// U of the first sample: the number of pairs in which its value is the
    /// larger, ties counting one half (scipy's `statistic`).
    pub u: f64,
    pub p_value: f64,
    pub method: PValueMethod,
}

/// The median; `None` for no values or any NaN.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|value| value.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[middle - 1], sorted[middle])
    } else {
        sorted[middle]
    })
}

/// The Hodges-Lehmann estimate of how far `b` lies above `a`: the median of
/// all differences `b[j] - a[i]`. `None` when either side is empty or holds
/// a NaN.
#[must_use]
pub fn hodges_lehmann_shift(a: &[f64], b: &[f64]) -> Option<f64> {
    let differences: Vec<f64> = b
        .iter()
        .flat_map(|&later| a.iter().map(move |&earlier| later - earlier))
        .collect();
    median(&differences)
}

/// The two-sided Mann-Whitney U test of `a` against `b`. `None` when either
/// side is empty or holds a NaN.
#[must_use]
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|value| value.is_nan()) {
        return None;
    }
    let ranks = Ranks::of(a, b);
    let a_count = a.len() as f64;
    let u = ranks.a_rank_sum() - a_count * (a_count + 1.0) / 2.0;
    let (p_value, method) =
        if a.len() <= EXACT_MAX_SAMPLES_PER_SIDE && b.len() <= EXACT_MAX_SAMPLES_PER_SIDE {
            (ranks.exact_p_value(), PValueMethod::Exact)
        } else {
            (
                ranks.normal_approximation_p_value(u, a.len(), b.len()),
                PValueMethod::NormalApproximation,
            )
        };
    Some(MannWhitney {
        u,
        p_value: p_value.clamp(0.0, 1.0),
        method,
    })
}

/// Midranks of the pooled samples, doubled so that a tie's midrank (which
/// can end in .5) is a whole number.
struct Ranks {
    /// Doubled midrank of every value, first sample first.
    doubled: Vec<u64>,
    a_count: usize,
    /// Σ (t³ - t) over groups of t tied values, for the variance.
    tie_term: f64,
}

impl Ranks {
    fn of(a: &[f64], b: &[f64]) -> Self {
        let mut order: Vec<(usize, f64)> = a.iter().chain(b).copied().enumerate().collect();
        order.sort_by(|left, right| left.1.total_cmp(&right.1));
        let mut ranks = Self {
            doubled: vec![0; order.len()],
            a_count: a.len(),
            tie_term: 0.0,
        };
        let mut start = 0;
        while start < order.len() {
            // `==` rather than `total_cmp` so that 0.0 and -0.0 tie.
            let end = start
                + order[start..]
                    .iter()
                    .take_while(|(_, value)| *value == order[start].1)
                    .count();
            // Ranks start + 1 ..= end averaged, doubled.
            let doubled_midrank = (start + 1 + end) as u64;
            for (index, _) in &order[start..end] {
                ranks.doubled[*index] = doubled_midrank;
            }
            let tied = (end - start) as f64;
            ranks.tie_term += tied * tied * tied - tied;
            start = end;
        }
        ranks
    }

    fn a_rank_sum(&self) -> f64 {
        self.doubled[..self.a_count].iter().sum::<u64>() as f64 / 2.0
    }

    /// `P(|T - E[T]| >= |t - E[T]|)` for the doubled rank sum `T` of
    /// `a_count` values drawn without replacement from the pooled ranks:
    /// the two-sided permutation p-value, exact also with ties.
    ///
    /// `counts[k][s]` is how many `k`-subsets of the ranks seen so far sum
    /// to `s` (a knapsack count, one rank at a time).
    fn exact_p_value(&self) -> f64 {
        let total_count = self.doubled.len();
        let max_sum = self.doubled.iter().sum::<u64>() as usize;
        let mut counts = vec![vec![0_u64; max_sum + 1]; self.a_count + 1];
        counts[0][0] = 1;
        for (seen, &rank) in self.doubled.iter().enumerate() {
            let rank = rank as usize;
            for size in (1..=self.a_count.min(seen + 1)).rev() {
                let (smaller, larger) = counts.split_at_mut(size);
                let (from, into) = (&smaller[size - 1], &mut larger[0]);
                for (sum, &count) in from.iter().enumerate().take(max_sum + 1 - rank) {
                    into[sum + rank] += count;
                }
            }
        }
        // E[T] = a_count · (N + 1), in doubled ranks.
        let expected = (self.a_count * (total_count + 1)) as i64;
        let observed = self.doubled[..self.a_count].iter().sum::<u64>() as i64;
        let distance = (observed - expected).abs();
        let subsets = &counts[self.a_count];
        let all: u64 = subsets.iter().sum();
        let as_extreme: u64 = subsets
            .iter()
            .enumerate()
            .filter(|(sum, _)| (*sum as i64 - expected).abs() >= distance)
            .map(|(_, count)| count)
            .sum();
        as_extreme as f64 / all as f64
    }

    /// The normal approximation with tie and continuity corrections, as
    /// scipy's `method="asymptotic"`.
    fn normal_approximation_p_value(&self, u: f64, a_count: usize, b_count: usize) -> f64 {
        let (a_count, b_count) = (a_count as f64, b_count as f64);
        let n = a_count + b_count;
        let u_larger = u.max(a_count * b_count - u);
        let variance = a_count * b_count / 12.0 * ((n + 1.0) - self.tie_term / (n * (n - 1.0)));
        if variance <= 0.0 {
            // Every value is the same: nothing to tell apart.
            return 1.0;
        }
        let z = (u_larger - a_count * b_count / 2.0 - 0.5) / variance.sqrt();
        2.0 * standard_normal_survival(z)
    }
}

/// `P(Z > z)` for a standard normal `Z`.
fn standard_normal_survival(z: f64) -> f64 {
    0.5 * complementary_error_function(z / std::f64::consts::SQRT_2)
}

/// `erfc(x)` by the Chebyshev fit of Numerical Recipes (`erfcc`), with a
/// relative error below 1.2e-7 everywhere: ample for a p-value that is
/// compared with a threshold such as 0.05.
fn complementary_error_function(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let polynomial = COEFFICIENTS
        .iter()
        .rev()
        .fold(0.0, |accumulated, coefficient| {
            accumulated * t + coefficient
        });
    let tail = t * (-x * x + polynomial).exp();
    if x >= 0.0 { tail } else { 2.0 - tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64, relative_tolerance: f64, what: &str) {
        let tolerance = relative_tolerance * expected.abs().max(f64::MIN_POSITIVE);
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: {actual} vs {expected}"
        );
    }

    fn evens(count: usize, offset: f64) -> Vec<f64> {
        (0..count).map(|i| i as f64 * 2.0 + offset).collect()
    }

    /// Expected values from scipy 1.17.1,
    /// `mannwhitneyu(a, b, alternative="two-sided", method=...)`, except
    /// where said.
    #[test]
    fn mann_whitney_matches_scipy() {
        type Case = (&'static str, Vec<f64>, Vec<f64>, f64, f64, PValueMethod);
        let cases: Vec<Case> = vec![
            (
                "fully separated, 5 against 5",
                vec![1.0, 2.0, 3.0, 4.0, 5.0],
                vec![6.0, 7.0, 8.0, 9.0, 10.0],
                0.0,
                0.007_936_507_936_507_936,
                PValueMethod::Exact,
            ),
            (
                "interleaved, 6 against 6",
                vec![1.1, 3.3, 5.5, 7.7, 2.2, 9.9],
                vec![4.4, 6.6, 8.8, 10.0, 11.0, 12.0],
                6.0,
                0.064_935_064_935_064_93,
                PValueMethod::Exact,
            ),
            (
                "uneven sizes, 3 against 8",
                vec![0.5, 2.5, 9.5],
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                10.0,
                0.775_757_575_757_575_9,
                PValueMethod::Exact,
            ),
            (
                "exact at the limit, 30 against 30, overlapping",
                evens(30, 0.0),
                evens(30, 3.0),
                406.0,
                0.522_878_624_341_750_6,
                PValueMethod::Exact,
            ),
            (
                "exact at the limit, 30 against 30, far tail",
                evens(30, 0.0),
                evens(30, 21.0),
                190.0,
                7.215_017_756_201_37e-5,
                PValueMethod::Exact,
            ),
            (
                "ties, exact (expected by enumerating all 3,432 splits)",
                vec![1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
                vec![3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0],
                3.5,
                0.007_575_757_575_757_576,
                PValueMethod::Exact,
            ),
            (
                "ties past the exact limit use the corrected normal approximation",
                (0..31).map(|i| f64::from(i / 3)).collect(),
                (0..31).map(|i| f64::from(i / 3) + 2.0).collect(),
                313.5,
                0.018_620_281_787_877_443,
                PValueMethod::NormalApproximation,
            ),
            (
                "one past the exact limit, 31 against 31",
                (0..31).map(f64::from).collect(),
                (0..31).map(|i| f64::from(i) + 5.5).collect(),
                325.0,
                0.029_096_331_741_252_195,
                PValueMethod::NormalApproximation,
            ),
        ];
        for (name, a, b, u, p_value, method) in cases {
            let test = mann_whitney_u(&a, &b).unwrap();
            assert_eq!(test.u, u, "{name}");
            assert_eq!(test.method, method, "{name}");
            assert_close(test.p_value, p_value, 1e-6, name);
        }
    }

    #[test]
    fn mann_whitney_is_symmetric_in_its_p_value() {
        let a = [3.0, 9.0, 1.0, 4.0];
        let b = [7.0, 8.0, 2.0, 10.0, 11.0];
        let forward = mann_whitney_u(&a, &b).unwrap();
        let backward = mann_whitney_u(&b, &a).unwrap();
        assert_eq!(forward.p_value, backward.p_value);
        assert_eq!(forward.u + backward.u, 20.0);
    }

    #[test]
    fn mann_whitney_of_constant_samples() {
        let same = mann_whitney_u(&[5.0; 6], &[5.0; 6]).unwrap();
        assert_eq!((same.u, same.p_value), (18.0, 1.0));
        let large_same = mann_whitney_u(&[5.0; 40], &[5.0; 40]).unwrap();
        assert_eq!(large_same.p_value, 1.0);
        // Three against three can at best reach 2 / C(6, 3), whatever the
        // values; the normal approximation would claim 0.047.
        let apart = mann_whitney_u(&[5.0; 3], &[7.0; 3]).unwrap();
        assert_close(apart.p_value, 0.1, 1e-12, "3 against 3");
    }

    #[test]
    fn mann_whitney_refuses_empty_and_nan_samples() {
        assert_eq!(mann_whitney_u(&[], &[1.0]), None);
        assert_eq!(mann_whitney_u(&[1.0], &[]), None);
        assert_eq!(mann_whitney_u(&[1.0, f64::NAN], &[2.0]), None);
    }

    /// The knapsack count against plain enumeration of every split of the
    /// pooled values, with and without ties.
    #[test]
    fn exact_p_values_equal_enumeration_of_every_split() {
        let cases: [(&[f64], &[f64]); 4] = [
            (&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0]),
            (&[1.0, 1.0, 2.0, 4.0], &[2.0, 3.0, 3.0, 5.0, 6.0]),
            (&[0.0, -0.0, 7.0], &[0.0, 7.0, 7.0, 9.0, 1.0, 2.0]),
            (&[5.0; 5], &[5.0, 5.0, 6.0, 6.0, 6.0, 6.0, 6.0]),
        ];
        for (a, b) in cases {
            let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
            let ranks = Ranks::of(a, b);
            let expected_sum = (a.len() * (pooled.len() + 1)) as i64;
            let distance_of = |members: &[usize]| {
                let sum: u64 = members.iter().map(|&index| ranks.doubled[index]).sum();
                (sum as i64 - expected_sum).abs()
            };
            let observed = distance_of(&(0..a.len()).collect::<Vec<_>>());
            let splits: Vec<Vec<usize>> = (0u32..1 << pooled.len())
                .filter(|mask| mask.count_ones() as usize == a.len())
                .map(|mask| {
                    (0..pooled.len())
                        .filter(|index| mask & (1 << index) != 0)
                        .collect()
                })
                .collect();
            let as_extreme = splits
                .iter()
                .filter(|members| distance_of(members) >= observed)
                .count();
            assert_close(
                ranks.exact_p_value(),
                as_extreme as f64 / splits.len() as f64,
                1e-12,
                &format!("{a:?} {b:?}"),
            );
        }
    }

    /// Expected values from scipy's `norm.sf`.
    #[test]
    fn normal_survival_is_accurate_in_the_tails_that_matter() {
        let cases = [
            (0.0, 0.5),
            (1.0, 0.158_655_253_931_457_07),
            (1.959_963_984_540_054, 0.025),
            (3.0, 0.001_349_898_031_630_093_3),
            (5.0, 2.866_515_718_791_933e-7),
            (-2.0, 0.977_249_868_051_820_8),
        ];
        for (z, expected) in cases {
            assert_close(
                standard_normal_survival(z),
                expected,
                2e-7,
                &format!("z={z}"),
            );
        }
    }

    #[test]
    fn medians_and_shifts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(
            hodges_lehmann_shift(&[1.0, 2.0, 3.0], &[11.0, 12.0, 13.0]),
            Some(10.0)
        );
        assert_eq!(
            hodges_lehmann_shift(&[1.0, 2.0, 3.0, 100.0], &[2.0, 3.0, 4.0, 5.0]),
            Some(1.0),
            "one outlier moves the shift little"
        );
        assert_eq!(hodges_lehmann_shift(&[], &[1.0]), None);
    }
}
