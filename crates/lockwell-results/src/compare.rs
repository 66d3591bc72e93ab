//! Regression verdicts from repeated runs.
//!
//! Measured on the reference machine (2 shared cores): criterion's default
//! verdicts flagged 48 of 56 unchanged benchmarks, and a Mann-Whitney test
//! on the samples *within* one run was wrong 88-96% of the time, because
//! samples of one process share its luck (CPU placement, memory layout,
//! neighbours). What works is one number per process run (a run's median or
//! goodput), several runs per side, interleaved A B A B so that drifts hit
//! both sides, and a verdict that needs both:
//!
//! - significance: the two-sided Mann-Whitney U test of the per-run values,
//!   `p <= alpha`; and
//! - size: a Hodges-Lehmann shift larger than the noise measured between
//!   identical builds (A/A runs), and than a floor.
//!
//! With 6 runs per side the smallest possible p-value is 2/924 ≈ 0.002; with
//! 3 per side it is 0.1, so fewer than 4 runs per side can never show a
//! change at `alpha = 0.05`.
//!
//! Instruction counts (results of kind [`ResultKind::Instructions`]) are the
//! exception: one build counts the same on every run, so there is no noise
//! to test against and one run per side suffices. Their verdict is the
//! relative change against [`INSTRUCTION_COUNT_THRESHOLD`] alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::schema::{Better, ResultKind, RunResult};
use crate::stats::{self, MannWhitney, PValueMethod};

/// Most runs per side of a comparison (the Hodges-Lehmann shift looks at
/// every pair).
pub const MAX_RUNS_PER_SIDE: usize = 1000;

/// Most A/A runs used for a noise threshold: all their balanced splits are
/// enumerated, `C(15, 7)` = 6,435 of them at this limit. More runs add
/// little to a 95th percentile.
pub const MAX_AA_RUNS: usize = 16;

/// The relative change of an instruction count that is a change: identical
/// builds count identically (to the instruction, over 10 runs), and an
/// unrelated edit moves a shared helper's inlining by at most 0.2%; 0.5%
/// sits above that and 4x below the planted 2% commit-path slowdown that
/// must be caught (`cargo xtask bench-instructions`, the same threshold).
pub const INSTRUCTION_COUNT_THRESHOLD: f64 = 0.005;

/// Fewest A/A runs that give a noise threshold (`C(3, 1)` = 3 splits below
/// that is no distribution).
pub const MIN_AA_RUNS: usize = 4;

/// The quantile of A/A split shifts taken as the noise threshold.
pub const AA_NOISE_QUANTILE: f64 = 0.95;

/// What counts as a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// Largest p-value that counts as significant.
    pub alpha: f64,
    /// Smallest relative shift that counts, for every metric: a floor under
    /// the A/A noise, which few A/A runs can underestimate.
    pub min_relative_shift: f64,
    /// Per metric, the relative shift that identical builds reach (see
    /// [`aa_noise_thresholds`]).
    pub aa_noise: BTreeMap<String, f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_relative_shift: 0.02,
            aa_noise: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// The relative shift a change of `metric` has to exceed.
    #[must_use]
    pub fn relative_shift_threshold(&self, metric: &str) -> f64 {
        self.aa_noise
            .get(metric)
            .map_or(self.min_relative_shift, |noise| {
                noise.max(self.min_relative_shift)
            })
    }
}

/// The verdict on one metric.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better in the metric's direction (higher throughput, lower latency).
    Faster,
    /// Worse in the metric's direction.
    Slower,
    /// No significant change larger than the noise.
    Same,
}

/// One side's per-run values of a metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideSummary {
    pub runs: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl SideSummary {
    fn of(values: &[f64]) -> Self {
        Self {
            runs: values.len(),
            median: stats::median(values).expect("a compared side has finite values"),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// How one metric changed from A to B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    pub name: String,
    pub unit: String,
    pub better: Better,
    /// Whether a `Slower` verdict counts as a regression.
    pub gate: bool,
    pub a: SideSummary,
    pub b: SideSummary,
    /// Hodges-Lehmann estimate of `B - A`, in the metric's unit.
    pub shift: f64,
    /// `shift / |median(A)|`; `None` when A's median is zero.
    pub relative_shift: Option<f64>,
    /// `median(B) / median(A)`; `None` when A's median is zero.
    pub ratio_of_medians: Option<f64>,
    pub p_value: f64,
    pub p_value_method: PValueMethod,
    /// The relative shift this metric had to exceed.
    pub threshold: f64,
    pub verdict: Verdict,
}

/// Every metric the two sides share, in name order, and what made the
/// comparison less than clean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub metrics: Vec<MetricComparison>,
    /// Mismatches a reader should know about: metrics on one side only or
    /// missing from some runs, differing configs, kinds or machines.
    pub notes: Vec<String>,
}

impl Comparison {
    /// Gated metrics that got worse.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics
            .iter()
            .filter(|metric| metric.gate && metric.verdict == Verdict::Slower)
    }
}

/// Why two sets of runs cannot be compared.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("side {side} has no runs")]
    NoRuns { side: char },
    #[error("side {side} has {count} runs; at most {MAX_RUNS_PER_SIDE} are compared")]
    TooManyRuns { side: char, count: usize },
}

/// Per metric, the per-run values and how the first run that has it
/// describes it (unit, direction, gate).
struct Collected<'a> {
    values: BTreeMap<&'a str, Vec<f64>>,
    described_by: BTreeMap<&'a str, &'a crate::schema::Metric>,
}

fn collect<'a>(runs: &'a [RunResult], side: char, notes: &mut Vec<String>) -> Collected<'a> {
    let mut collected = Collected {
        values: BTreeMap::new(),
        described_by: BTreeMap::new(),
    };
    for run in runs {
        for (name, metric) in &run.metrics {
            let first = *collected.described_by.entry(name).or_insert(metric);
            if first.unit != metric.unit || first.better != metric.better {
                notes.push(format!(
                    "{side}: metric {name} changes unit or direction between runs"
                ));
            }
            collected.values.entry(name).or_default().push(metric.value);
        }
    }
    for (name, values) in &collected.values {
        if values.len() < runs.len() {
            notes.push(format!(
                "{side}: metric {name} is in {} of {} runs",
                values.len(),
                runs.len()
            ));
        }
    }
    collected
}

fn check_side(runs: &[RunResult], side: char) -> Result<(), CompareError> {
    match runs.len() {
        0 => Err(CompareError::NoRuns { side }),
        count if count > MAX_RUNS_PER_SIDE => Err(CompareError::TooManyRuns { side, count }),
        _ => Ok(()),
    }
}

/// Notes when the runs do not all measure the same thing on the same
/// machine: the verdicts then compare more than the builds.
fn note_mixed_runs(a_runs: &[RunResult], b_runs: &[RunResult], notes: &mut Vec<String>) {
    let all = || a_runs.iter().chain(b_runs);
    let distinct = |values: Vec<String>| values.into_iter().collect::<BTreeSet<_>>().len();
    if distinct(all().map(|run| format!("{:?}", run.kind)).collect()) > 1 {
        notes.push("the runs are of different kinds".to_owned());
    }
    if distinct(all().map(|run| run.config.to_string()).collect()) > 1 {
        notes.push("the runs have different configs".to_owned());
    }
    if distinct(
        all()
            .map(|run| format!("{:?}", (&run.machine.cpu_model, run.machine.logical_cores)))
            .collect(),
    ) > 1
    {
        notes.push("the runs come from different machines".to_owned());
    }
}

/// Compares runs of build A with runs of build B, metric by metric.
///
/// # Errors
/// A side with no runs or more than [`MAX_RUNS_PER_SIDE`].
pub fn compare(
    a_runs: &[RunResult],
    b_runs: &[RunResult],
    thresholds: &Thresholds,
) -> Result<Comparison, CompareError> {
    check_side(a_runs, 'A')?;
    check_side(b_runs, 'B')?;
    let mut notes = Vec::new();
    note_mixed_runs(a_runs, b_runs, &mut notes);
    let a = collect(a_runs, 'A', &mut notes);
    let b = collect(b_runs, 'B', &mut notes);
    for (side, only, other) in [('A', &a, &b), ('B', &b, &a)] {
        for name in only.values.keys() {
            if !other.values.contains_key(name) {
                notes.push(format!("metric {name} is only in side {side}"));
            }
        }
    }
    let counted = a_runs
        .iter()
        .chain(b_runs)
        .all(|run| run.kind == ResultKind::Instructions);
    let metrics = a
        .values
        .iter()
        .filter_map(|(name, a_values)| {
            let b_values = b.values.get(name)?;
            let metric = a.described_by[name];
            Some(if counted {
                for (side, values) in [('A', a_values), ('B', b_values)] {
                    if values.iter().any(|value| *value != values[0]) {
                        notes.push(format!(
                            "instruction count {name} differs between runs of side {side}: \
                             were they the same build in the same environment?"
                        ));
                    }
                }
                compare_count(name, metric, a_values, b_values)
            } else {
                compare_metric(
                    name,
                    metric,
                    a_values,
                    b_values,
                    thresholds.relative_shift_threshold(name),
                    thresholds.alpha,
                )
            })
        })
        .collect();
    Ok(Comparison { metrics, notes })
}

fn compare_metric(
    name: &str,
    metric: &crate::schema::Metric,
    a_values: &[f64],
    b_values: &[f64],
    threshold: f64,
    alpha: f64,
) -> MetricComparison {
    let MannWhitney {
        p_value,
        method: p_value_method,
        ..
    } = stats::mann_whitney_u(a_values, b_values)
        .expect("metric values are finite (the schema refuses others)");
    let shift = stats::hodges_lehmann_shift(a_values, b_values).expect("both sides have values");
    let a = SideSummary::of(a_values);
    let b = SideSummary::of(b_values);
    let relative = |value: f64| (a.median != 0.0).then(|| value / a.median.abs());
    let relative_shift = relative(shift);
    let ratio_of_medians = (a.median != 0.0).then(|| b.median / a.median);
    // From a zero median any shift is infinitely large relatively.
    let large_enough = relative_shift.map_or(shift != 0.0, |relative| relative.abs() > threshold);
    let verdict = directed_verdict(p_value <= alpha && large_enough, metric.better, shift);
    MetricComparison {
        name: name.to_owned(),
        unit: metric.unit.clone(),
        better: metric.better,
        gate: metric.gate,
        a,
        b,
        shift,
        relative_shift,
        ratio_of_medians,
        p_value,
        p_value_method,
        threshold,
        verdict,
    }
}

/// An instruction count's verdict: the change of the medians against
/// [`INSTRUCTION_COUNT_THRESHOLD`], no test (see the module docs).
fn compare_count(
    name: &str,
    metric: &crate::schema::Metric,
    a_values: &[f64],
    b_values: &[f64],
) -> MetricComparison {
    let a = SideSummary::of(a_values);
    let b = SideSummary::of(b_values);
    let shift = b.median - a.median;
    let relative_shift = (a.median != 0.0).then(|| shift / a.median.abs());
    let changed = relative_shift.map_or(shift != 0.0, |relative| {
        relative.abs() > INSTRUCTION_COUNT_THRESHOLD
    });
    let verdict = directed_verdict(changed, metric.better, shift);
    MetricComparison {
        name: name.to_owned(),
        unit: metric.unit.clone(),
        better: metric.better,
        gate: metric.gate,
        ratio_of_medians: (a.median != 0.0).then(|| b.median / a.median),
        a,
        b,
        shift,
        relative_shift,
        p_value: if changed { 0.0 } else { 1.0 },
        p_value_method: PValueMethod::DeterministicCount,
        threshold: INSTRUCTION_COUNT_THRESHOLD,
        verdict,
    }
}

/// `Faster` or `Slower` by the metric's direction when `changed`.
const fn directed_verdict(changed: bool, better: Better, shift: f64) -> Verdict {
    if !changed {
        return Verdict::Same;
    }
    match (better, shift > 0.0) {
        (Better::Higher, true) | (Better::Lower, false) => Verdict::Faster,
        (Better::Higher, false) | (Better::Lower, true) => Verdict::Slower,
    }
}

/// Per metric, the relative shift that splitting runs of one build into two
/// halves reaches: the [`AA_NOISE_QUANTILE`] of `|HL shift| / |median|` over
/// every balanced split of the runs (of the first [`MAX_AA_RUNS`]).
///
/// The halves are half the size of a real comparison's sides, so their
/// shifts are about √2 times larger than the noise between two full sides:
/// the threshold errs towards calling changes "same". Metrics in fewer than
/// [`MIN_AA_RUNS`] runs, or whose median is zero, get none.
#[must_use]
pub fn aa_noise_thresholds(aa_runs: &[RunResult]) -> BTreeMap<String, f64> {
    let runs = &aa_runs[..aa_runs.len().min(MAX_AA_RUNS)];
    let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (name, metric) in &run.metrics {
            values.entry(name).or_default().push(metric.value);
        }
    }
    values
        .into_iter()
        .filter_map(|(name, values)| {
            let noise = split_noise(&values)?;
            Some((name.to_owned(), noise))
        })
        .collect()
}

fn split_noise(values: &[f64]) -> Option<f64> {
    if values.len() < MIN_AA_RUNS {
        return None;
    }
    let center = stats::median(values)?.abs();
    if center == 0.0 {
        return None;
    }
    let mut shifts: Vec<f64> = balanced_splits(values.len())
        .into_iter()
        .map(|in_first_half| {
            let mut first = Vec::with_capacity(values.len() / 2);
            let mut second = Vec::with_capacity(values.len() - values.len() / 2);
            for (index, &value) in values.iter().enumerate() {
                if in_first_half & (1 << index) == 0 {
                    second.push(value);
                } else {
                    first.push(value);
                }
            }
            let shift =
                stats::hodges_lehmann_shift(&first, &second).expect("both halves have values");
            shift.abs() / center
        })
        .collect();
    shifts.sort_by(f64::total_cmp);
    let index = ((shifts.len() - 1) as f64 * AA_NOISE_QUANTILE).round() as usize;
    Some(shifts[index])
}

/// Every way to put `count / 2` of `count` runs in the first half, as bit
/// masks; run 0 always in the first half, so that a split and its mirror
/// image (which give the same |shift|) are counted once.
fn balanced_splits(count: usize) -> Vec<u32> {
    debug_assert!(count <= MAX_AA_RUNS);
    let half = count / 2;
    (0u32..1 << count)
        .filter(|mask| mask & 1 == 1 && mask.count_ones() as usize == half)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Metric, ResultKind};

    /// Deterministic noise: a SplitMix64 stream mapped to [-1, 1).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    /// A run with a latency and a throughput metric, both `scale` times a
    /// base value with ±`noise` relative jitter.
    fn run(noise: &mut Noise, jitter: f64, latency_scale: f64) -> RunResult {
        let mut result = RunResult::new(ResultKind::BenchRun, 0);
        let mut metric = |base: f64| base * latency_scale * (1.0 + jitter * noise.next());
        result.metrics.insert(
            "cas_p50_ns".to_owned(),
            Metric::gated(metric(2_000.0), "ns", Better::Lower),
        );
        result.metrics.insert(
            "cas_p99_9_ns".to_owned(),
            Metric::informational(metric(90_000.0), "ns", Better::Lower),
        );
        let throughput = 1e6 / latency_scale * (1.0 + jitter * noise.next());
        result.metrics.insert(
            "goodput_writes_per_s".to_owned(),
            Metric::gated(throughput, "writes/s", Better::Higher),
        );
        result
    }

    fn runs(noise: &mut Noise, count: usize, jitter: f64, latency_scale: f64) -> Vec<RunResult> {
        (0..count)
            .map(|_| run(noise, jitter, latency_scale))
            .collect()
    }

    fn verdicts(comparison: &Comparison) -> Vec<(&str, Verdict)> {
        comparison
            .metrics
            .iter()
            .map(|metric| (metric.name.as_str(), metric.verdict))
            .collect()
    }

    #[test]
    fn aa_runs_with_noise_compare_as_same() {
        let mut noise = Noise(1);
        let thresholds = Thresholds {
            aa_noise: aa_noise_thresholds(&runs(&mut noise, 12, 0.03, 1.0)),
            ..Thresholds::default()
        };
        let mut flagged = 0;
        let mut compared = 0;
        for _ in 0..50 {
            let a = runs(&mut noise, 6, 0.03, 1.0);
            let b = runs(&mut noise, 6, 0.03, 1.0);
            let comparison = compare(&a, &b, &thresholds).unwrap();
            compared += comparison.metrics.len();
            flagged += comparison
                .metrics
                .iter()
                .filter(|metric| metric.verdict != Verdict::Same)
                .count();
            assert!(comparison.notes.is_empty(), "{:?}", comparison.notes);
        }
        assert_eq!(compared, 150);
        assert!(
            flagged * 100 <= compared * 2,
            "{flagged} of {compared} flagged"
        );
    }

    #[test]
    fn a_planted_ten_percent_slowdown_is_flagged_in_every_metric() {
        let mut noise = Noise(2);
        let thresholds = Thresholds {
            aa_noise: aa_noise_thresholds(&runs(&mut noise, 12, 0.03, 1.0)),
            ..Thresholds::default()
        };
        for _ in 0..20 {
            let a = runs(&mut noise, 6, 0.03, 1.0);
            let b = runs(&mut noise, 6, 0.03, 1.1);
            let comparison = compare(&a, &b, &thresholds).unwrap();
            assert_eq!(
                verdicts(&comparison),
                [
                    ("cas_p50_ns", Verdict::Slower),
                    ("cas_p99_9_ns", Verdict::Slower),
                    ("goodput_writes_per_s", Verdict::Slower),
                ]
            );
            let gated: Vec<&str> = comparison
                .regressions()
                .map(|metric| metric.name.as_str())
                .collect();
            assert_eq!(gated, ["cas_p50_ns", "goodput_writes_per_s"]);
            let goodput = &comparison.metrics[2];
            let relative = goodput.relative_shift.unwrap();
            assert!((-0.13..-0.05).contains(&relative), "{relative}");
            assert!(goodput.ratio_of_medians.unwrap() < 0.95);
        }
    }

    #[test]
    fn a_speedup_is_faster_in_both_directions_of_better() {
        let mut noise = Noise(3);
        let a = runs(&mut noise, 6, 0.01, 1.0);
        let b = runs(&mut noise, 6, 0.01, 0.8);
        let comparison = compare(&a, &b, &Thresholds::default()).unwrap();
        assert!(
            comparison
                .metrics
                .iter()
                .all(|metric| metric.verdict == Verdict::Faster),
            "{:?}",
            verdicts(&comparison)
        );
    }

    #[test]
    fn a_significant_shift_below_the_aa_noise_is_same() {
        let mut noise = Noise(4);
        let a = runs(&mut noise, 8, 0.001, 1.0);
        let b = runs(&mut noise, 8, 0.001, 1.05);
        let strict = compare(&a, &b, &Thresholds::default()).unwrap();
        assert!(strict.metrics.iter().all(|m| m.verdict == Verdict::Slower));
        assert!(strict.metrics.iter().all(|m| m.p_value < 0.001));
        let noisy = Thresholds {
            aa_noise: [("cas_p50_ns".to_owned(), 0.08)].into(),
            ..Thresholds::default()
        };
        let comparison = compare(&a, &b, &noisy).unwrap();
        assert_eq!(comparison.metrics[0].threshold, 0.08);
        assert_eq!(comparison.metrics[0].verdict, Verdict::Same);
        assert_eq!(comparison.metrics[2].verdict, Verdict::Slower);
    }

    #[test]
    fn three_runs_per_side_can_never_show_a_change() {
        let mut noise = Noise(5);
        let a = runs(&mut noise, 3, 0.0, 1.0);
        let b = runs(&mut noise, 3, 0.0, 2.0);
        let comparison = compare(&a, &b, &Thresholds::default()).unwrap();
        for metric in &comparison.metrics {
            assert!((metric.p_value - 0.1).abs() < 1e-12, "{}", metric.p_value);
            assert_eq!(metric.verdict, Verdict::Same);
        }
    }

    #[test]
    fn a_change_from_zero_counts_when_significant() {
        let with_conflicts = |rates: &[f64]| -> Vec<RunResult> {
            rates
                .iter()
                .map(|&rate| {
                    let mut result = RunResult::new(ResultKind::BenchRun, 0);
                    result.metrics.insert(
                        "conflict_rate".to_owned(),
                        Metric::gated(rate, "ratio", Better::Lower),
                    );
                    result
                })
                .collect()
        };
        let a = with_conflicts(&[0.0; 6]);
        let b = with_conflicts(&[0.01, 0.02, 0.015, 0.01, 0.03, 0.02]);
        let comparison = compare(&a, &b, &Thresholds::default()).unwrap();
        let metric = &comparison.metrics[0];
        assert_eq!(metric.relative_shift, None);
        assert_eq!(metric.ratio_of_medians, None);
        assert_eq!(metric.verdict, Verdict::Slower);
        let unchanged = compare(&a, &a, &Thresholds::default()).unwrap();
        assert_eq!(unchanged.metrics[0].verdict, Verdict::Same);
    }

    #[test]
    fn mismatched_runs_are_noted() {
        let mut noise = Noise(6);
        let a = runs(&mut noise, 4, 0.01, 1.0);
        let mut b = runs(&mut noise, 4, 0.01, 1.0);
        b[0].config = serde_json::json!({ "racers": 64 });
        b[1].metrics.remove("cas_p50_ns");
        b[2].metrics.insert(
            "requests_per_s".to_owned(),
            Metric::gated(1.0, "requests/s", Better::Higher),
        );
        b[3].machine.cpu_model = "another CPU".to_owned();
        let comparison = compare(&a, &b, &Thresholds::default()).unwrap();
        assert_eq!(
            comparison.notes,
            [
                "the runs have different configs",
                "the runs come from different machines",
                "B: metric cas_p50_ns is in 3 of 4 runs",
                "B: metric requests_per_s is in 1 of 4 runs",
                "metric requests_per_s is only in side B",
            ]
        );
        assert_eq!(comparison.metrics.len(), 3);
        assert_eq!(comparison.metrics[0].b.runs, 3);
    }

    #[test]
    fn sides_must_have_runs_within_the_limit() {
        let mut noise = Noise(7);
        let some = runs(&mut noise, 2, 0.01, 1.0);
        let cases = [
            (0, 2, Err(CompareError::NoRuns { side: 'A' })),
            (2, 0, Err(CompareError::NoRuns { side: 'B' })),
            (MAX_RUNS_PER_SIDE, 2, Ok(())),
            (
                2,
                MAX_RUNS_PER_SIDE + 1,
                Err(CompareError::TooManyRuns {
                    side: 'B',
                    count: MAX_RUNS_PER_SIDE + 1,
                }),
            ),
        ];
        for (a_count, b_count, expected) in cases {
            let a: Vec<RunResult> = some.iter().cycle().take(a_count).cloned().collect();
            let b: Vec<RunResult> = some.iter().cycle().take(b_count).cloned().collect();
            assert_eq!(
                compare(&a, &b, &Thresholds::default()).map(|_| ()),
                expected,
                "{a_count} against {b_count}"
            );
        }
    }

    #[test]
    fn aa_noise_grows_with_the_jitter_and_needs_enough_runs() {
        let mut noise = Noise(8);
        let quiet = aa_noise_thresholds(&runs(&mut noise, 12, 0.01, 1.0));
        let loud = aa_noise_thresholds(&runs(&mut noise, 12, 0.10, 1.0));
        for (name, quiet_noise) in &quiet {
            assert!(
                *quiet_noise > 0.0 && *quiet_noise < 0.02,
                "{name}: {quiet_noise}"
            );
            assert!(loud[name] > 5.0 * quiet_noise, "{name}: {}", loud[name]);
        }
        assert_eq!(quiet.len(), 3);
        assert!(aa_noise_thresholds(&runs(&mut noise, MIN_AA_RUNS - 1, 0.01, 1.0)).is_empty());
        assert_eq!(
            aa_noise_thresholds(&runs(&mut noise, MIN_AA_RUNS, 0.01, 1.0)).len(),
            3
        );
    }

    #[test]
    fn balanced_splits_count_each_pair_of_halves_once() {
        let cases = [(4, 3), (5, 4), (12, 462), (MAX_AA_RUNS, 6435)];
        for (count, splits) in cases {
            assert_eq!(balanced_splits(count).len(), splits, "{count}");
        }
        let runs_beyond_the_limit = runs(&mut Noise(9), MAX_AA_RUNS + 4, 0.01, 1.0);
        assert_eq!(
            aa_noise_thresholds(&runs_beyond_the_limit),
            aa_noise_thresholds(&runs_beyond_the_limit[..MAX_AA_RUNS])
        );
    }

    /// An instruction-count result with one workload's count per iteration.
    fn counted(instructions: f64) -> RunResult {
        let mut result = RunResult::new(ResultKind::Instructions, 0);
        result.metrics.insert(
            "commit_put_instructions".to_owned(),
            Metric::gated(instructions, "instructions", Better::Lower),
        );
        result
    }

    #[test]
    fn instruction_counts_are_judged_by_their_change_alone_one_run_a_side() {
        let thresholds = Thresholds::default();
        // (A, B, verdict): 2% more is caught from one run per side, where a
        // Mann-Whitney test could not reach significance; 0.2% is codegen.
        let cases = [
            (3_239.0, 3_298.0, Verdict::Slower),
            (3_239.0, 3_239.0, Verdict::Same),
            (3_239.0, 3_245.0, Verdict::Same),
            (3_298.0, 3_239.0, Verdict::Faster),
        ];
        for (a, b, verdict) in cases {
            let comparison =
                compare(&[counted(a)], &[counted(b)], &thresholds).expect("comparable");
            let metric = &comparison.metrics[0];
            assert_eq!(metric.verdict, verdict, "{a} -> {b}");
            assert_eq!(metric.p_value_method, PValueMethod::DeterministicCount);
            assert_eq!(metric.threshold, INSTRUCTION_COUNT_THRESHOLD);
            assert!(comparison.notes.is_empty(), "{:?}", comparison.notes);
        }
    }

    #[test]
    fn instruction_counts_that_vary_within_a_side_are_noted() {
        let comparison = compare(
            &[counted(3_239.0), counted(3_240.0)],
            &[counted(3_239.0)],
            &Thresholds::default(),
        )
        .expect("comparable");
        assert_eq!(comparison.notes.len(), 1, "{:?}", comparison.notes);
        assert!(comparison.notes[0].contains("side A"));
    }

    #[test]
    fn wall_clock_runs_mixed_with_counts_keep_the_statistical_test() {
        let mut noise = Noise(3);
        let a = vec![run(&mut noise, 0.01, 1.0), counted(3_239.0)];
        let b = vec![run(&mut noise, 0.01, 1.0), counted(3_298.0)];
        let comparison = compare(&a, &b, &Thresholds::default()).expect("comparable");
        assert!(
            comparison
                .metrics
                .iter()
                .all(|metric| metric.p_value_method != PValueMethod::DeterministicCount)
        );
    }
}
