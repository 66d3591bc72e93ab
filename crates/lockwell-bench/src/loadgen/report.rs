//! What a run measured: merged histograms, the counts derived from them,
//! and the result file's metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use lockwell_results::histogram::{HistogramError, HistogramRecord, Percentiles};
use lockwell_results::{Better, Metric, ResultKind, RunResult};

use super::config::{LoadConfig, LoopMode, Operation};
use super::target::{Outcome, RequestKind};
use super::worker::{HistogramKey, Histograms, new_histogram};

/// Counts of one interval or of a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub operations: u64,
    pub requests: u64,
    /// Writes answered 200: the goodput.
    pub successful_writes: u64,
    /// Puts with If-Match or If-None-Match.
    pub conditional_writes: u64,
    /// Conditional writes answered 412 or 409.
    pub conflicts: u64,
    /// Requests answered 5xx or another 4xx, timed out, or failed in
    /// transport.
    pub errors: u64,
}

impl Tally {
    #[must_use]
    pub fn of(histograms: &Histograms) -> Self {
        let mut tally = Self::default();
        for (key, histogram) in histograms {
            let count = histogram.len();
            match *key {
                HistogramKey::Operation { .. } => tally.operations += count,
                HistogramKey::Intended { .. } => {}
                HistogramKey::Request { kind, outcome } => {
                    tally.requests += count;
                    if kind.is_write() && outcome == Outcome::Ok {
                        tally.successful_writes += count;
                    }
                    if kind.is_conditional_write() {
                        tally.conditional_writes += count;
                        if outcome.is_conflict() {
                            tally.conflicts += count;
                        }
                    }
                    if outcome.is_error() {
                        tally.errors += count;
                    }
                }
            }
        }
        tally
    }

    /// Lost conditional writes per conditional write; `None` without any.
    #[must_use]
    pub fn conflict_rate(&self) -> Option<f64> {
        (self.conditional_writes > 0)
            .then(|| self.conflicts as f64 / self.conditional_writes as f64)
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub config: LoadConfig,
    /// The target's self-description.
    pub target: serde_json::Value,
    /// From the end of the warm-up to the last measured completion: the
    /// denominator of every rate.
    pub measured: Duration,
    pub histograms: Histograms,
}

impl LoadReport {
    #[must_use]
    pub fn tally(&self) -> Tally {
        Tally::of(&self.histograms)
    }

    /// `count / measured seconds`.
    #[must_use]
    pub fn per_second(&self, count: u64) -> f64 {
        count as f64 / self.measured.as_secs_f64()
    }

    /// Every outcome of `operation` merged, timed from the intended start in
    /// an open loop (what a caller waits) and from the actual start in a
    /// closed one; `None` if it never ran.
    #[must_use]
    pub fn latency(&self, operation: Operation) -> Option<Histogram<u64>> {
        latency_of(&self.histograms, operation, self.shape().open_loop)
    }

    /// `operation`'s latency from its actual start (the service-time view;
    /// the same as [`Self::latency`] in a closed loop).
    #[must_use]
    pub fn service_latency(&self, operation: Operation) -> Option<Histogram<u64>> {
        service_latency_of(&self.histograms, operation)
    }

    fn shape(&self) -> RunShape {
        let mix = self.config.mix;
        RunShape {
            open_loop: matches!(self.config.mode, LoopMode::Open { .. }),
            writes: mix.create + mix.cas + mix.put > 0,
        }
    }

    /// The result file's metrics. Medians and p99 are gated; p99.9 and the
    /// maximum are informational, since on a shared machine a single
    /// preemption of a few milliseconds sets them.
    #[must_use]
    pub fn metrics(&self) -> BTreeMap<String, Metric> {
        metrics_of(&self.histograms, self.measured, self.shape())
    }

    /// The result file of this run, with every histogram; the caller fills
    /// in git, machine and toolchain.
    ///
    /// # Errors
    /// A histogram that cannot be encoded.
    pub fn to_result(&self, created_at_unix_ms: u64) -> Result<RunResult, HistogramError> {
        let mut result = RunResult::new(ResultKind::BenchRun, created_at_unix_ms);
        result.config = serde_json::json!({
            "target": self.target,
            "load": self.config,
        });
        result.metrics = self.metrics();
        result.histograms = self
            .histograms
            .iter()
            .map(|(key, histogram)| {
                HistogramRecord::new(key.view(), key.op(), key.outcome().code(), "ns", histogram)
            })
            .collect::<Result<_, _>>()?;
        Ok(result)
    }
}

/// What decides which metrics a run has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunShape {
    /// Open loop: latencies are timed from the intended start.
    pub open_loop: bool,
    /// The op mix writes, so goodput is a metric.
    pub writes: bool,
}

fn merged(
    histograms: &Histograms,
    mut selected: impl FnMut(&HistogramKey) -> bool,
) -> Option<Histogram<u64>> {
    let mut merged: Option<Histogram<u64>> = None;
    for (_, histogram) in histograms.iter().filter(|(key, _)| selected(key)) {
        merged
            .get_or_insert_with(new_histogram)
            .add(histogram)
            .expect("every histogram has the same bounds");
    }
    merged
}

fn latency_of(
    histograms: &Histograms,
    operation: Operation,
    from_intended_start: bool,
) -> Option<Histogram<u64>> {
    merged(histograms, |key| match *key {
        HistogramKey::Intended { operation: op, .. } => from_intended_start && op == operation,
        HistogramKey::Operation { operation: op, .. } => !from_intended_start && op == operation,
        HistogramKey::Request { .. } => false,
    })
}

fn service_latency_of(histograms: &Histograms, operation: Operation) -> Option<Histogram<u64>> {
    merged(
        histograms,
        |key| matches!(*key, HistogramKey::Operation { operation: op, .. } if op == operation),
    )
}

/// A run's metrics from its histograms and measured time (see
/// [`LoadReport::metrics`]); also the metrics of merged runs.
#[must_use]
pub fn metrics_of(
    histograms: &Histograms,
    measured: Duration,
    shape: RunShape,
) -> BTreeMap<String, Metric> {
    let tally = Tally::of(histograms);
    let per_second = |count: u64| count as f64 / measured.as_secs_f64();
    let mut metrics = BTreeMap::new();
    let mut add = |name: String, metric: Metric| {
        metrics.insert(name, metric);
    };
    add(
        "operations_per_s".to_owned(),
        Metric::gated(per_second(tally.operations), "ops/s", Better::Higher),
    );
    add(
        "requests_per_s".to_owned(),
        Metric::informational(per_second(tally.requests), "requests/s", Better::Higher),
    );
    add(
        "error_rate".to_owned(),
        Metric::gated(
            tally.errors as f64 / tally.requests.max(1) as f64,
            "ratio",
            Better::Lower,
        ),
    );
    if shape.writes {
        add(
            "goodput_writes_per_s".to_owned(),
            Metric::gated(
                per_second(tally.successful_writes),
                "writes/s",
                Better::Higher,
            ),
        );
    }
    if let Some(conflict_rate) = tally.conflict_rate() {
        add(
            "conflict_rate".to_owned(),
            Metric::gated(conflict_rate, "ratio", Better::Lower),
        );
    }
    let cas_successes = histograms
        .get(&HistogramKey::Operation {
            operation: Operation::Cas,
            outcome: Outcome::Ok,
        })
        .map_or(0, Histogram::len);
    if cas_successes > 0 {
        let cas_writes: u64 = histograms
            .iter()
            .filter(|(key, _)| {
                matches!(
                    key,
                    HistogramKey::Request {
                        kind: RequestKind::PutIfMatch,
                        ..
                    }
                )
            })
            .map(|(_, histogram)| histogram.len())
            .sum();
        add(
            "cas_attempts_per_success".to_owned(),
            Metric::informational(
                cas_writes as f64 / cas_successes as f64,
                "attempts",
                Better::Lower,
            ),
        );
    }
    for operation in Operation::ALL {
        let name = operation.name();
        if let Some(latency) = latency_of(histograms, operation, shape.open_loop) {
            add_percentiles(&mut add, name, &Percentiles::of(&latency), true);
        }
        if shape.open_loop
            && let Some(service) = service_latency_of(histograms, operation)
        {
            let prefix = format!("{name}_service");
            add_percentiles(&mut add, &prefix, &Percentiles::of(&service), false);
        }
    }
    metrics
}

/// `{prefix}_p50_ns` and `_p99_ns` (gated if `gated`), `_p99_9_ns` and
/// `_max_ns` (never gated).
fn add_percentiles(
    add: &mut impl FnMut(String, Metric),
    prefix: &str,
    percentiles: &Percentiles,
    gated: bool,
) {
    let metric = |value: u64, gate: bool| {
        let value = value as f64;
        if gate {
            Metric::gated(value, "ns", Better::Lower)
        } else {
            Metric::informational(value, "ns", Better::Lower)
        }
    };
    add(format!("{prefix}_p50_ns"), metric(percentiles.p50, gated));
    add(format!("{prefix}_p99_ns"), metric(percentiles.p99, gated));
    add(
        format!("{prefix}_p99_9_ns"),
        metric(percentiles.p99_9, false),
    );
    add(format!("{prefix}_max_ns"), metric(percentiles.max, false));
}
