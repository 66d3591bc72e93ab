//! The fitted model and its predictions: [`fit`] a [`Sweep`], then
//! [`Model::predict`] any workload at any concurrency.
//!
//! How the parts compose for `N` racers running a workload (fractions
//! `f_cas`, `f_put`, `f_get` of operations; see each module for its
//! formula, assumptions and limits):
//!
//! 1. conflicts ([`crate::conflict`]) give the attempts per CAS `a` and
//!    the backoff sleep per operation `S`;
//! 2. an operation makes `r = 2 a f_cas + f_put + f_get` requests, so a
//!    racer has a request in flight a share `r L / (r L + S)` of the time
//!    and `n = N · r L / (r L + S)` requests are in flight;
//! 3. the throughput law ([`crate::usl`]: the USL or its logarithmic
//!    coherency, whichever extrapolated better) of the payload size gives
//!    the throughput `X(n)` in work units (a request that installs a write
//!    is 1, any other a chosen fraction, see [`ThroughputFit`]), with the key
//!    contention of the workload's collision probability `Σ p_k²`; the
//!    requests/s and mean request latency `L` follow;
//! 4. operations/s = `X / r`; goodput = operations/s · (`f_cas + f_put`);
//!    commits to a key of probability 1 during a window `ω L` are the
//!    exposure of step 1, closing the loop. The loop is one equation in
//!    the exposure, solved by bisection (more exposure, fewer commits: the
//!    root is unique);
//! 5. mean operation latency `T = N / (operations/s)` (Little), p50 and
//!    p99 from the tail shape ([`crate::latency`]).
//!
//! Keys partitioned over `M` instances (hash partitioning: each key lives
//! on one instance, every instance runs `N` racers and gets an equal share
//! of the operations): requests queue per instance, but a key's commits
//! come from all `M · N` racers, so the exposure of step 4 is `M` times
//! one instance's.
//!
//! Intervals: every prediction carries `value · exp(±2 s)` for goodput and
//! p99, `± 2 s` for the conflict rate, where `s` is the root mean square
//! residual of the whole model on the points it was fitted to (log
//! residuals for rates and latencies). They say how wrong the model was
//! where it was measured, not how wrong it is far away; hence the range
//! limits of [`crate::answer`].

use std::collections::BTreeMap;

use crate::conflict::{self, Backoff, Conflicts};
use crate::keys::{KeyError, KeyPopularity};
use crate::latency::{self, LittleCheck, TailShape};
use crate::sweep::{Sweep, SweepPoint, Workload};
use crate::usl::{self, Sample, Usl, UslError, UslFit};

/// Width of the intervals in residual standard deviations.
pub const INTERVAL_WIDTH_SIGMAS: f64 = 2.0;
/// Search range of the window coefficient `ω` (window / mean request
/// latency).
pub const WINDOW_COEFFICIENT_RANGE: (f64, f64) = (1e-3, 1e3);
/// Bisection steps of the exposure and in-flight fixed points.
const BISECTION_STEPS: usize = 100;

/// Why a sweep cannot be fitted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("the sweep has no points")]
    Empty,
    #[error("payload {payload_len_bytes} B: {source}")]
    Throughput {
        payload_len_bytes: u64,
        #[source]
        source: UslError,
    },
    #[error("point {point}: {source}")]
    Keys {
        point: String,
        #[source]
        source: KeyError,
    },
    #[error("point {0} creates (If-None-Match: *); the model covers cas, put and get only")]
    Create(String),
}

/// Why a workload cannot be predicted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictError {
    #[error(
        "no point of the sweep measured {payload_len_bytes} B payloads (measured: {measured:?} B)"
    )]
    Payload {
        payload_len_bytes: u64,
        measured: Vec<u64>,
    },
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("the mix {0} has no operations, or creates, which the model does not cover")]
    Mix(String),
    #[error("concurrency and instances must be at least 1, not {concurrency} and {instances}")]
    Concurrency { concurrency: f64, instances: u32 },
}

/// A value and its interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    fn relative(value: f64, log_sigma: f64) -> Self {
        let factor = (INTERVAL_WIDTH_SIGMAS * log_sigma).exp();
        Self {
            value,
            low: value / factor,
            high: value * factor,
        }
    }

    fn absolute(value: f64, sigma: f64, bounds: (f64, f64)) -> Self {
        Self {
            value,
            low: (value - INTERVAL_WIDTH_SIGMAS * sigma).max(bounds.0),
            high: (value + INTERVAL_WIDTH_SIGMAS * sigma).min(bounds.1),
        }
    }
}

/// What the model predicts for one instance at one concurrency.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prediction {
    /// Racers per instance.
    pub concurrency: f64,
    pub instances: u32,
    /// Successful writes/s of one instance.
    pub goodput_writes_per_s: Estimate,
    /// Lost CAS attempts over CAS attempts (0 without CAS).
    pub conflict_rate: Estimate,
    pub operation_p50_s: Estimate,
    pub operation_p99_s: Estimate,
    pub operation_mean_s: f64,
    pub operations_per_s: f64,
    pub requests_per_s: f64,
    pub requests_in_flight: f64,
    pub request_mean_s: f64,
    /// Attempts per successful CAS (retry amplification).
    pub attempts_per_cas: f64,
    pub backoff_sleep_per_op_s: f64,
}

/// The model's error on the points it was fitted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelErrors {
    /// RMS of `ln(predicted / measured)` goodput.
    pub goodput_log_rms: f64,
    /// RMS of `ln(predicted / measured)` p50 and p99.
    pub p50_log_rms: f64,
    pub p99_log_rms: f64,
    /// RMS of predicted - measured conflict rate.
    pub conflict_rms: f64,
}

/// The measured range, for refusing far extrapolation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasuredRange {
    pub racers: (u32, u32),
    pub key_count: (u64, u64),
    pub zipf_exponent: (f64, f64),
    pub payload_len_bytes: Vec<u64>,
}

/// Everything fitted from one sweep.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Model {
    /// Request throughput against requests in flight, per payload size.
    pub throughput: BTreeMap<u64, ThroughputFit>,
    /// `ω`: the read-to-commit window over the mean request latency
    /// (`None` if the sweep has no CAS).
    pub window_per_request_latency: Option<f64>,
    pub p50: TailShape,
    pub p99: TailShape,
    pub errors: ModelErrors,
    pub range: MeasuredRange,
    pub little: Vec<LittleCheck>,
    /// Per fitted point, `(id, prediction)`.
    pub fitted: Vec<(String, Prediction)>,
}

/// Requests in flight of a point, counting only the time its racers were
/// not sleeping in backoff: racers times the share of operation time spent
/// in requests. Equal to Little's `X · L` when the generator keeps every
/// racer busy, and robust to the generator's own gaps when it does not.
fn busy_in_flight(point: &SweepPoint) -> f64 {
    let operation_time = point.operations_in_flight();
    if operation_time <= 0.0 {
        return f64::from(point.racers);
    }
    let share = (point.requests_in_flight() / operation_time).min(1.0);
    f64::from(point.racers) * share
}

/// Relative costs of a request that installs no write, tried by the
/// throughput fit: 1, then halving by √2 down to 1/32.
const NON_WRITE_REQUEST_COSTS: [f64; 11] = [
    1.0,
    std::f64::consts::FRAC_1_SQRT_2,
    0.5,
    0.353_553_390_593_273_8,
    0.25,
    0.176_776_695_296_636_9,
    0.125,
    0.088_388_347_648_318_45,
    0.0625,
    0.044_194_173_824_159_22,
    0.031_25,
];

/// Request throughput of one payload size.
///
/// Requests differ in cost: on a server that syncs every write to disk, a
/// PUT that installs its object costs an fsync, a GET or a PUT that loses
/// its precondition costs none. So the USL is fitted in work units: a
/// request that installs a write is 1, any other `non_write_request_cost`,
/// chosen among [`NON_WRITE_REQUEST_COSTS`] the way the law's coherency is
/// ([`usl::fit`]): the cost whose law, fitted on the lower half of the
/// fitted concurrencies, predicts the upper half best (the first, 1, on
/// ties; an in-memory server comes out at 1). Chosen by extrapolation
/// rather than by the fit's own error, because a cost below 1 can absorb
/// the noise of the fitted points and still predict worse past them.
/// Requests/s of a workload follow from its writes per request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThroughputFit {
    pub non_write_request_cost: f64,
    /// The law in work units per second.
    pub usl_fit: UslFit,
}

/// One point for the throughput fit.
#[derive(Debug, Clone, Copy)]
struct WorkSample {
    in_flight: f64,
    key_collision: f64,
    writes_per_s: f64,
    requests_per_s: f64,
}

fn fit_throughput(samples: &[WorkSample]) -> Result<ThroughputFit, UslError> {
    let mut best: Option<ThroughputFit> = None;
    for non_write_request_cost in NON_WRITE_REQUEST_COSTS {
        let work: Vec<Sample> = samples
            .iter()
            .map(|sample| Sample {
                in_flight: sample.in_flight,
                key_collision: sample.key_collision,
                throughput_per_s: sample.writes_per_s
                    + non_write_request_cost * (sample.requests_per_s - sample.writes_per_s),
            })
            .collect();
        let usl_fit = usl::fit(&work)?;
        if best
            .as_ref()
            .is_none_or(|best| usl_fit.choice_error() < best.usl_fit.choice_error())
        {
            best = Some(ThroughputFit {
                non_write_request_cost,
                usl_fit,
            });
        }
    }
    Ok(best.expect("at least one cost is tried"))
}

/// Squared error of `ln(attempts per success)` over CAS points for `ω`.
fn conflict_error(samples: &[(KeyPopularity, f64, f64)], window_coefficient: f64) -> f64 {
    samples
        .iter()
        .map(|(keys, exposure_per_window, measured)| {
            let predicted =
                conflict::conflicts(keys, window_coefficient * exposure_per_window, None);
            let measured_attempts = 1.0 / (1.0 - measured.min(1.0 - 1e-9));
            (predicted.attempts_per_success.ln() - measured_attempts.ln()).powi(2)
        })
        .sum()
}

/// `ω` by a log-spaced scan then golden-section search of its best bracket.
fn fit_window(samples: &[(KeyPopularity, f64, f64)]) -> f64 {
    const SCAN_STEPS: usize = 120;
    let (low, high) = (
        WINDOW_COEFFICIENT_RANGE.0.ln(),
        WINDOW_COEFFICIENT_RANGE.1.ln(),
    );
    let step = (high - low) / SCAN_STEPS as f64;
    let error = |log_omega: f64| conflict_error(samples, log_omega.exp());
    let best = (0..=SCAN_STEPS)
        .map(|i| low + step * i as f64)
        .min_by(|a, b| error(*a).total_cmp(&error(*b)))
        .expect("a non-empty scan");
    let (mut a, mut b) = (best - step, best + step);
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let c = b - golden * (b - a);
        let d = a + golden * (b - a);
        if error(c) < error(d) {
            b = d;
        } else {
            a = c;
        }
    }
    ((a + b) / 2.0).exp()
}

fn rms(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), value| {
        (sum + value * value, count + 1)
    });
    if count == 0 {
        0.0
    } else {
        (sum / count as f64).sqrt()
    }
}

/// Fits every part of the model to `sweep`.
///
/// # Errors
/// See [`FitError`].
pub fn fit(sweep: &Sweep) -> Result<Model, FitError> {
    let points = &sweep.points;
    if points.is_empty() {
        return Err(FitError::Empty);
    }
    if let Some(point) = points.iter().find(|point| point.workload.mix.create > 0.0) {
        return Err(FitError::Create(point.id.clone()));
    }
    let keys_of = |point: &SweepPoint| {
        KeyPopularity::zipf(point.workload.key_count, point.workload.zipf_exponent).map_err(
            |source| FitError::Keys {
                point: point.id.clone(),
                source,
            },
        )
    };
    let keys = points.iter().map(keys_of).collect::<Result<Vec<_>, _>>()?;
    let mut by_payload: BTreeMap<u64, Vec<WorkSample>> = BTreeMap::new();
    for (point, keys) in points.iter().zip(&keys) {
        by_payload
            .entry(point.workload.payload_len_bytes)
            .or_default()
            .push(WorkSample {
                in_flight: busy_in_flight(point),
                key_collision: keys.collision_probability(),
                writes_per_s: point.measured.goodput_writes_per_s,
                requests_per_s: point.measured.requests_per_s,
            });
    }
    let throughput = by_payload
        .into_iter()
        .map(|(payload_len_bytes, samples)| {
            fit_throughput(&samples)
                .map(|fit| (payload_len_bytes, fit))
                .map_err(|source| FitError::Throughput {
                    payload_len_bytes,
                    source,
                })
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;

    let mut conflict_samples = Vec::new();
    for (point, keys) in points.iter().zip(keys) {
        if let (true, Some(rate)) = (point.workload.mix.cas > 0.0, point.measured.conflict_rate) {
            let exposure_per_window = conflict::exposure(
                point.measured.goodput_writes_per_s,
                point.measured.request_mean_s,
                f64::from(point.racers),
            );
            conflict_samples.push((keys, exposure_per_window, rate));
        }
    }
    let window_per_request_latency =
        (!conflict_samples.is_empty()).then(|| fit_window(&conflict_samples));

    let tail_samples = |quantile: fn(&SweepPoint) -> f64| -> Vec<(f64, f64, f64)> {
        points
            .iter()
            .filter(|point| point.measured.operation_mean_s > 0.0 && quantile(point) > 0.0)
            .map(|point| {
                let lambda = throughput[&point.workload.payload_len_bytes]
                    .usl_fit
                    .usl
                    .lambda_per_s;
                (
                    (point.measured.request_mean_s * lambda).max(1e-12).ln(),
                    point.measured.conflict_rate.unwrap_or(0.0),
                    (quantile(point) / point.measured.operation_mean_s).ln(),
                )
            })
            .collect()
    };
    let p50 = latency::fit_tail(&tail_samples(|point| point.measured.operation_p50_s));
    let p99 = latency::fit_tail(&tail_samples(|point| point.measured.operation_p99_s));

    let range = MeasuredRange {
        racers: (
            points.iter().map(|p| p.racers).min().unwrap_or(1),
            points.iter().map(|p| p.racers).max().unwrap_or(1),
        ),
        key_count: (
            points
                .iter()
                .map(|p| p.workload.key_count)
                .min()
                .unwrap_or(1),
            points
                .iter()
                .map(|p| p.workload.key_count)
                .max()
                .unwrap_or(1),
        ),
        zipf_exponent: (
            points
                .iter()
                .map(|p| p.workload.zipf_exponent)
                .fold(f64::INFINITY, f64::min),
            points
                .iter()
                .map(|p| p.workload.zipf_exponent)
                .fold(f64::NEG_INFINITY, f64::max),
        ),
        payload_len_bytes: throughput.keys().copied().collect(),
    };
    let mut model = Model {
        throughput,
        window_per_request_latency,
        p50,
        p99,
        errors: ModelErrors::default(),
        range,
        little: latency::check_little(points),
        fitted: Vec::new(),
    };
    let mut fitted = Vec::new();
    for point in points {
        let prediction = model
            .predict(&point.workload, f64::from(point.racers))
            .map_err(|error| match error {
                PredictError::Keys(source) => FitError::Keys {
                    point: point.id.clone(),
                    source,
                },
                other => unreachable!("a fitted point is predictable: {other}"),
            })?;
        fitted.push((point, prediction));
    }
    let log_error = |predicted: f64, measured: f64| {
        (predicted > 0.0 && measured > 0.0).then(|| (predicted / measured).ln())
    };
    model.errors = ModelErrors {
        goodput_log_rms: rms(fitted.iter().filter_map(|(point, prediction)| {
            log_error(
                prediction.goodput_writes_per_s.value,
                point.measured.goodput_writes_per_s,
            )
        })),
        p50_log_rms: rms(fitted.iter().filter_map(|(point, prediction)| {
            log_error(
                prediction.operation_p50_s.value,
                point.measured.operation_p50_s,
            )
        })),
        p99_log_rms: rms(fitted.iter().filter_map(|(point, prediction)| {
            log_error(
                prediction.operation_p99_s.value,
                point.measured.operation_p99_s,
            )
        })),
        conflict_rms: rms(fitted.iter().filter_map(|(point, prediction)| {
            point
                .measured
                .conflict_rate
                .map(|measured| prediction.conflict_rate.value - measured)
        })),
    };
    // Predict again so that the fitted points carry the intervals.
    model.fitted = fitted
        .iter()
        .map(|(point, _)| {
            let prediction = model
                .predict(&point.workload, f64::from(point.racers))
                .expect("predicted above");
            (point.id.clone(), prediction)
        })
        .collect();
    Ok(model)
}

/// The state of one instance for a given exposure (commits to a key of
/// probability 1 per window, from every instance).
struct Operating {
    conflicts: Conflicts,
    in_flight: f64,
    request_mean_s: f64,
    requests_per_s: f64,
    operations_per_s: f64,
    goodput_per_s: f64,
}

struct Scenario<'a> {
    usl: Usl,
    non_write_request_cost: f64,
    keys: KeyPopularity,
    key_collision: f64,
    cas: f64,
    writes: f64,
    reads: f64,
    backoff: Option<Backoff>,
    window_per_request_latency: f64,
    tail: (&'a TailShape, &'a TailShape),
}

impl Scenario<'_> {
    fn operating(&self, racers: f64, exposure: f64) -> Operating {
        let conflicts = if self.cas > 0.0 {
            conflict::conflicts(&self.keys, exposure, self.backoff)
        } else {
            Conflicts {
                conflict_rate: 0.0,
                attempts_per_success: 1.0,
                backoff_sleep_per_op_s: 0.0,
            }
        };
        let requests_per_op =
            2.0 * conflicts.attempts_per_success * self.cas + self.writes + self.reads;
        let writes_per_op = self.cas + self.writes;
        let work_per_op =
            writes_per_op + self.non_write_request_cost * (requests_per_op - writes_per_op);
        // Mean request latency with `n` requests in flight: Little's law
        // on the law's work rate converted to requests.
        let request_latency_s = |in_flight: f64| {
            self.usl.latency_s(in_flight, self.key_collision) * work_per_op / requests_per_op
        };
        let sleep_s = self.cas * conflicts.backoff_sleep_per_op_s;
        let busy = |in_flight: f64| {
            let request_time = requests_per_op * request_latency_s(in_flight);
            racers * request_time / (request_time + sleep_s)
        };
        let in_flight = if sleep_s > 0.0 {
            // n = busy(n): busy grows with n, slower than n (it is below
            // racers), so the root in (0, racers] is unique.
            let (mut low, mut high) = (0.0, racers);
            for _ in 0..BISECTION_STEPS {
                let middle = (low + high) / 2.0;
                if busy(middle) > middle {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            (low + high) / 2.0
        } else {
            racers
        };
        let operations_per_s =
            self.usl.throughput_per_s(in_flight, self.key_collision) / work_per_op;
        Operating {
            conflicts,
            in_flight,
            request_mean_s: request_latency_s(in_flight),
            requests_per_s: operations_per_s * requests_per_op,
            operations_per_s,
            goodput_per_s: operations_per_s * writes_per_op,
        }
    }

    /// The exposure that reproduces itself, and the operating point there.
    fn solve(&self, racers: f64, instances: u32) -> Operating {
        let total_racers = racers * f64::from(instances);
        let exposure_of = |state: &Operating| {
            conflict::exposure(
                state.goodput_per_s * f64::from(instances),
                self.window_per_request_latency * state.request_mean_s,
                total_racers,
            )
        };
        if self.cas == 0.0 {
            return self.operating(racers, 0.0);
        }
        // g(e) = exposure_of(operating(e)) falls as e grows (more
        // conflicts, fewer commits per second), so e - g(e) has one root
        // in [0, g(0)].
        let mut high = exposure_of(&self.operating(racers, 0.0));
        let mut low = 0.0;
        for _ in 0..BISECTION_STEPS {
            let middle = (low + high) / 2.0;
            if exposure_of(&self.operating(racers, middle)) > middle {
                low = middle;
            } else {
                high = middle;
            }
        }
        self.operating(racers, (low + high) / 2.0)
    }
}

impl Model {
    /// Measured payload sizes.
    #[must_use]
    pub fn payloads(&self) -> Vec<u64> {
        self.throughput.keys().copied().collect()
    }

    /// One instance running `workload` with `concurrency` racers.
    ///
    /// # Errors
    /// See [`PredictError`].
    pub fn predict(
        &self,
        workload: &Workload,
        concurrency: f64,
    ) -> Result<Prediction, PredictError> {
        self.predict_partitioned(workload, concurrency, 1)
    }

    /// Each of `instances` instances running `workload` with `concurrency`
    /// racers, the keys partitioned over the instances (see the module
    /// documentation).
    ///
    /// # Errors
    /// See [`PredictError`].
    pub fn predict_partitioned(
        &self,
        workload: &Workload,
        concurrency: f64,
        instances: u32,
    ) -> Result<Prediction, PredictError> {
        if !(concurrency >= 1.0 && concurrency.is_finite()) || instances == 0 {
            return Err(PredictError::Concurrency {
                concurrency,
                instances,
            });
        }
        let fit = self
            .throughput
            .get(&workload.payload_len_bytes)
            .ok_or_else(|| PredictError::Payload {
                payload_len_bytes: workload.payload_len_bytes,
                measured: self.payloads(),
            })?;
        let mix = workload
            .mix
            .fractions()
            .filter(|mix| mix.create == 0.0)
            .ok_or_else(|| PredictError::Mix(workload.mix.to_string()))?;
        let keys = KeyPopularity::zipf(workload.key_count, workload.zipf_exponent)?;
        let scenario = Scenario {
            usl: fit.usl_fit.usl,
            non_write_request_cost: fit.non_write_request_cost,
            key_collision: keys.collision_probability(),
            keys,
            cas: mix.cas,
            writes: mix.put,
            reads: mix.get,
            backoff: workload.backoff,
            window_per_request_latency: self.window_per_request_latency.unwrap_or(1.0),
            tail: (&self.p50, &self.p99),
        };
        let state = scenario.solve(concurrency, instances);
        let operation_mean_s = concurrency / state.operations_per_s;
        let inflation = state.request_mean_s * fit.usl_fit.usl.lambda_per_s;
        let conflict_rate = state.conflicts.conflict_rate;
        let quantile =
            |shape: &TailShape| operation_mean_s * shape.ratio_to_mean(inflation, conflict_rate);
        Ok(Prediction {
            concurrency,
            instances,
            goodput_writes_per_s: Estimate::relative(
                state.goodput_per_s,
                self.errors.goodput_log_rms,
            ),
            conflict_rate: Estimate::absolute(conflict_rate, self.errors.conflict_rms, (0.0, 1.0)),
            operation_p50_s: Estimate::relative(quantile(scenario.tail.0), self.errors.p50_log_rms),
            operation_p99_s: Estimate::relative(quantile(scenario.tail.1), self.errors.p99_log_rms),
            operation_mean_s,
            operations_per_s: state.operations_per_s,
            requests_per_s: state.requests_per_s,
            requests_in_flight: state.in_flight,
            request_mean_s: state.request_mean_s,
            attempts_per_cas: state.conflicts.attempts_per_success,
            backoff_sleep_per_op_s: state.conflicts.backoff_sleep_per_op_s,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sweep::{Measured, Mix};
    use crate::usl::Coherency;

    pub(crate) const TRUE_USL: Usl = Usl {
        lambda_per_s: 4000.0,
        sigma: 0.3,
        sigma_per_key_collision: 0.5,
        kappa: 0.002,
        coherency: Coherency::Pairwise,
        lone_request_factor: 1.0,
    };
    pub(crate) const TRUE_WINDOW: f64 = 1.5;
    pub(crate) const TRUE_NON_WRITE_REQUEST_COST: f64 = 0.25;

    /// A point measured on a system that follows the model exactly: the
    /// true law's operating point, reported the way the sweep reports it.
    pub(crate) fn exact_point(racers: u32, key_count: u64, zipf_exponent: f64) -> SweepPoint {
        let workload = Workload {
            key_count,
            zipf_exponent,
            mix: Mix::CAS_ONLY,
            payload_len_bytes: 1024,
            backoff: None,
        };
        let truth = Model {
            throughput: BTreeMap::from([(
                1024,
                ThroughputFit {
                    non_write_request_cost: TRUE_NON_WRITE_REQUEST_COST,
                    usl_fit: UslFit {
                        usl: TRUE_USL,
                        residuals: Vec::new(),
                        rms_log_error: 0.0,
                        choice: None,
                    },
                },
            )]),
            window_per_request_latency: Some(TRUE_WINDOW),
            p50: TailShape {
                intercept: -0.2,
                queueing: 0.0,
                conflict: 0.0,
            },
            p99: TailShape {
                intercept: 1.0,
                queueing: 0.1,
                conflict: 1.0,
            },
            errors: ModelErrors::default(),
            range: MeasuredRange {
                racers: (1, 1),
                key_count: (1, 1),
                zipf_exponent: (0.0, 0.0),
                payload_len_bytes: vec![1024],
            },
            little: Vec::new(),
            fitted: Vec::new(),
        };
        let prediction = truth.predict(&workload, f64::from(racers)).unwrap();
        SweepPoint {
            id: format!("r{racers}-k{key_count}-z{zipf_exponent}"),
            racers,
            workload,
            measured: Measured {
                goodput_writes_per_s: prediction.goodput_writes_per_s.value,
                operations_per_s: prediction.operations_per_s,
                requests_per_s: prediction.requests_per_s,
                conflict_rate: Some(prediction.conflict_rate.value),
                request_mean_s: prediction.request_mean_s,
                operation_mean_s: prediction.operation_mean_s,
                operation_p50_s: prediction.operation_p50_s.value,
                operation_p99_s: prediction.operation_p99_s.value,
                goodput_range_writes_per_s: (
                    prediction.goodput_writes_per_s.value,
                    prediction.goodput_writes_per_s.value,
                ),
                operations_in_flight: prediction.operations_per_s * prediction.operation_mean_s,
                requests_in_flight: prediction.requests_per_s * prediction.request_mean_s,
            },
        }
    }

    pub(crate) fn exact_sweep() -> Sweep {
        let mut points = Vec::new();
        for racers in [1, 2, 4, 8, 16, 32, 64] {
            for (keys, skew) in [(1, 0.0), (1000, 0.0), (1000, 0.9), (1000, 1.2)] {
                points.push(exact_point(racers, keys, skew));
            }
        }
        Sweep { points }
    }

    #[test]
    fn a_sweep_of_an_exact_system_is_fitted_back() {
        let model = fit(&exact_sweep()).unwrap();
        let throughput = &model.throughput[&1024];
        assert_eq!(
            throughput.non_write_request_cost,
            TRUE_NON_WRITE_REQUEST_COST
        );
        let usl = throughput.usl_fit.usl;
        assert!(
            (usl.lambda_per_s / TRUE_USL.lambda_per_s - 1.0).abs() < 0.01,
            "{usl:?}"
        );
        assert!((usl.sigma / TRUE_USL.sigma - 1.0).abs() < 0.02, "{usl:?}");
        assert!((usl.kappa / TRUE_USL.kappa - 1.0).abs() < 0.02, "{usl:?}");
        let per_collision = usl.sigma_per_key_collision / TRUE_USL.sigma_per_key_collision;
        assert!((per_collision - 1.0).abs() < 0.02, "{usl:?}");
        let window = model.window_per_request_latency.unwrap();
        assert!((window / TRUE_WINDOW - 1.0).abs() < 0.01, "{window}");
        assert!(model.errors.goodput_log_rms < 0.01, "{:?}", model.errors);
        assert!(model.errors.p99_log_rms < 0.01, "{:?}", model.errors);
        assert!(
            model.little.iter().all(|check| check.holds),
            "{:?}",
            model.little
        );
    }

    #[test]
    fn goodput_is_attempts_times_one_minus_the_conflict_rate() {
        let model = fit(&exact_sweep()).unwrap();
        let workload = exact_point(1, 1, 0.0).workload;
        for racers in [1.0, 8.0, 100.0] {
            let prediction = model.predict(&workload, racers).unwrap();
            let attempts_per_s = prediction.requests_per_s / 2.0;
            let goodput = attempts_per_s * (1.0 - prediction.conflict_rate.value);
            let relative = goodput / prediction.goodput_writes_per_s.value - 1.0;
            assert!(relative.abs() < 1e-9, "{racers}: {relative}");
            assert!(
                (prediction.attempts_per_cas * (1.0 - prediction.conflict_rate.value) - 1.0).abs()
                    < 1e-9
            );
        }
    }

    #[test]
    fn one_racer_on_uniform_keys_never_conflicts() {
        let model = fit(&exact_sweep()).unwrap();
        let prediction = model
            .predict(&exact_point(1, 1000, 0.0).workload, 1.0)
            .unwrap();
        assert_eq!(prediction.conflict_rate.value, 0.0);
        assert_eq!(prediction.attempts_per_cas, 1.0);
    }

    /// Backoff takes racers out of flight: fewer requests in flight, fewer
    /// attempts per success on a hot key, and the sleep shows in the mean.
    #[test]
    fn backoff_trades_sleep_for_fewer_lost_attempts_on_a_hot_key() {
        let model = fit(&exact_sweep()).unwrap();
        let immediate = exact_point(1, 1, 0.0).workload;
        let backoff = Workload {
            backoff: Some(Backoff {
                base_us: 1000,
                cap_us: 100_000,
            }),
            ..immediate
        };
        let fast = model.predict(&immediate, 32.0).unwrap();
        let slow = model.predict(&backoff, 32.0).unwrap();
        assert!(slow.requests_in_flight < fast.requests_in_flight);
        assert!(slow.backoff_sleep_per_op_s > 0.0);
        assert_eq!(fast.backoff_sleep_per_op_s, 0.0);
        assert!(slow.request_mean_s < fast.request_mean_s);
    }

    #[test]
    fn partitioning_shares_hot_key_conflicts_across_instances() {
        let model = fit(&exact_sweep()).unwrap();
        let hot = exact_point(1, 1, 0.0).workload;
        let one = model.predict_partitioned(&hot, 8.0, 1).unwrap();
        let four = model.predict_partitioned(&hot, 8.0, 4).unwrap();
        assert!(four.conflict_rate.value > one.conflict_rate.value);
        assert!(four.goodput_writes_per_s.value < one.goodput_writes_per_s.value);
    }

    #[test]
    fn unmeasured_payloads_mixes_with_creates_and_zero_racers_are_refused() {
        let model = fit(&exact_sweep()).unwrap();
        let workload = exact_point(1, 1000, 0.0).workload;
        assert_eq!(
            model.predict(
                &Workload {
                    payload_len_bytes: 4096,
                    ..workload
                },
                1.0
            ),
            Err(PredictError::Payload {
                payload_len_bytes: 4096,
                measured: vec![1024]
            })
        );
        let creates = Workload {
            mix: Mix {
                create: 1.0,
                ..Mix::CAS_ONLY
            },
            ..workload
        };
        assert!(matches!(
            model.predict(&creates, 1.0),
            Err(PredictError::Mix(_))
        ));
        assert!(matches!(
            model.predict(&workload, 0.0),
            Err(PredictError::Concurrency { .. })
        ));
        assert_eq!(fit(&Sweep::default()), Err(FitError::Empty));
    }
}
