//! A measured sweep as the model sees it: per point, the workload that ran
//! and the medians of what its repeats measured.
//!
//! The points come from `lockwell bench sweep`'s per-point result files
//! ([`ResultKind::SweepPoint`]): `config.load` is the load generator's
//! config (closed loop only), and the metrics are medians over the
//! point's repeats, including the sweep's own `operation_mean_ns`,
//! `operation_p50_ns`, `operation_p99_ns` (every operation of the point
//! merged) and `request_mean_ns` (every request merged).

use lockwell_results::{ResultKind, RunResult};
use serde_json::Value;

use crate::conflict::Backoff;

/// Relative operation weights.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mix {
    /// `If-None-Match: *` puts; the model refuses them (see
    /// [`crate::conflict`]).
    pub create: f64,
    /// GET then put `If-Match`, retried until it wins.
    pub cas: f64,
    pub put: f64,
    pub get: f64,
}

impl Mix {
    /// Compare-and-swap only.
    pub const CAS_ONLY: Self = Self {
        create: 0.0,
        cas: 1.0,
        put: 0.0,
        get: 0.0,
    };

    /// The weights scaled to sum to 1 (`None` if they sum to 0 or are not
    /// finite and non-negative).
    #[must_use]
    pub fn fractions(&self) -> Option<Self> {
        let weights = [self.create, self.cas, self.put, self.get];
        if weights
            .iter()
            .any(|weight| !(weight.is_finite() && *weight >= 0.0))
        {
            return None;
        }
        let total: f64 = weights.iter().sum();
        (total > 0.0).then(|| Self {
            create: self.create / total,
            cas: self.cas / total,
            put: self.put / total,
            get: self.get / total,
        })
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("create", self.create),
            ("cas", self.cas),
            ("put", self.put),
            ("get", self.get),
        ]
        .iter()
        .filter(|(_, weight)| *weight > 0.0)
        .map(|(name, weight)| format!("{name}={weight}"))
        .collect();
        formatter.write_str(&parts.join(","))
    }
}

/// What one point runs, apart from its concurrency.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    pub key_count: u64,
    pub zipf_exponent: f64,
    pub mix: Mix,
    pub payload_len_bytes: u64,
    /// `None`: a loser re-reads at once.
    pub backoff: Option<Backoff>,
}

/// Medians over a point's repeats. Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    pub goodput_writes_per_s: f64,
    pub operations_per_s: f64,
    pub requests_per_s: f64,
    /// `None` without conditional writes.
    pub conflict_rate: Option<f64>,
    pub request_mean_s: f64,
    pub operation_mean_s: f64,
    pub operation_p50_s: f64,
    pub operation_p99_s: f64,
    /// Lowest and highest goodput of the repeats: the noise.
    pub goodput_range_writes_per_s: (f64, f64),
    /// Operations and requests in flight by Little's law (rate times mean
    /// latency), each the median of the repeats' own products.
    pub operations_in_flight: f64,
    pub requests_in_flight: f64,
}

/// One measured point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepPoint {
    /// The sweep's name for the point, such as `r8-k1000-z0.99-cas1-p1024-immediate`.
    pub id: String,
    /// Closed-loop racers.
    pub racers: u32,
    pub workload: Workload,
    pub measured: Measured,
}

/// The points of one sweep (one target).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sweep {
    pub points: Vec<SweepPoint>,
}

/// A result file that is not a usable sweep point.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    #[error("the result is a {0:?}, not a sweep point")]
    NotASweepPoint(ResultKind),
    #[error("the sweep point has no {0}")]
    Missing(&'static str),
    #[error("the sweep point ran an open loop; the model fits closed loops only")]
    OpenLoop,
}

fn number(value: &Value, path: &[&str], name: &'static str) -> Result<f64, SweepError> {
    path.iter()
        .try_fold(value, |value, key| value.get(key))
        .and_then(Value::as_f64)
        .ok_or(SweepError::Missing(name))
}

impl SweepPoint {
    /// The point a sweep-point result file describes.
    ///
    /// # Errors
    /// See [`SweepError`].
    pub fn from_result(result: &RunResult) -> Result<Self, SweepError> {
        if result.kind != ResultKind::SweepPoint {
            return Err(SweepError::NotASweepPoint(result.kind));
        }
        let load = result
            .config
            .get("load")
            .ok_or(SweepError::Missing("config.load"))?;
        if load.pointer("/mode/loop").and_then(Value::as_str) != Some("closed") {
            return Err(SweepError::OpenLoop);
        }
        let backoff = match load.pointer("/cas_retry/policy").and_then(Value::as_str) {
            Some("immediate") => None,
            Some("backoff") => Some(Backoff {
                base_us: number(load, &["cas_retry", "base_us"], "cas_retry.base_us")? as u64,
                cap_us: number(load, &["cas_retry", "cap_us"], "cas_retry.cap_us")? as u64,
            }),
            _ => return Err(SweepError::Missing("cas_retry.policy")),
        };
        let weight = |name: &'static str| number(load, &["mix", name], name);
        let workload = Workload {
            key_count: number(load, &["key_count"], "key_count")? as u64,
            zipf_exponent: number(load, &["zipf_exponent"], "zipf_exponent")?,
            mix: Mix {
                create: weight("create")?,
                cas: weight("cas")?,
                put: weight("put")?,
                get: weight("get")?,
            },
            payload_len_bytes: number(load, &["payload_len_bytes"], "payload_len_bytes")? as u64,
            backoff,
        };
        let metric = |name: &'static str| {
            result
                .metrics
                .get(name)
                .map(|metric| metric.value)
                .ok_or(SweepError::Missing(name))
        };
        let goodput = metric("goodput_writes_per_s").unwrap_or(0.0);
        let measured = Measured {
            goodput_writes_per_s: goodput,
            operations_per_s: metric("operations_per_s")?,
            requests_per_s: metric("requests_per_s")?,
            conflict_rate: metric("conflict_rate").ok(),
            request_mean_s: metric("request_mean_ns")? * 1e-9,
            operation_mean_s: metric("operation_mean_ns")? * 1e-9,
            operation_p50_s: metric("operation_p50_ns")? * 1e-9,
            operation_p99_s: metric("operation_p99_ns")? * 1e-9,
            goodput_range_writes_per_s: (
                metric("goodput_writes_per_s_min").unwrap_or(goodput),
                metric("goodput_writes_per_s_max").unwrap_or(goodput),
            ),
            operations_in_flight: metric("operations_in_flight")?,
            requests_in_flight: metric("requests_in_flight")?,
        };
        Ok(Self {
            id: result
                .config
                .pointer("/sweep/point")
                .and_then(Value::as_str)
                .ok_or(SweepError::Missing("config.sweep.point"))?
                .to_owned(),
            racers: number(load, &["mode", "racers"], "mode.racers")? as u32,
            workload,
            measured,
        })
    }

    /// Requests in flight by Little's law: requests/s times mean request
    /// latency.
    #[must_use]
    pub fn requests_in_flight(&self) -> f64 {
        self.measured.requests_in_flight
    }

    /// Operations in flight by Little's law. In a closed loop every racer
    /// always has one operation running, so this should be `racers`.
    #[must_use]
    pub fn operations_in_flight(&self) -> f64 {
        self.measured.operations_in_flight
    }
}

impl Sweep {
    /// The points of these result files, sorted by id.
    ///
    /// # Errors
    /// The first result that is not a sweep point, with its index.
    pub fn from_results(results: &[RunResult]) -> Result<Self, (usize, SweepError)> {
        let mut points = results
            .iter()
            .enumerate()
            .map(|(index, result)| SweepPoint::from_result(result).map_err(|error| (index, error)))
            .collect::<Result<Vec<_>, _>>()?;
        points.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { points })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use lockwell_results::{Better, Metric};

    use super::*;

    /// A sweep-point result as `lockwell bench sweep` writes it.
    pub(crate) fn point_result(racers: u32, retry: Value, metrics: &[(&str, f64)]) -> RunResult {
        let mut result = RunResult::new(ResultKind::SweepPoint, 0);
        result.config = serde_json::json!({
            "load": {
                "mode": { "loop": "closed", "racers": racers },
                "key_count": 1000,
                "zipf_exponent": 0.99,
                "mix": { "create": 0, "cas": 1, "put": 0, "get": 0 },
                "payload_len_bytes": 1024,
                "cas_retry": retry,
            },
            "sweep": { "point": format!("r{racers}") },
        });
        for (name, value) in metrics {
            result.metrics.insert(
                (*name).to_owned(),
                Metric::gated(*value, "x", Better::Higher),
            );
        }
        result
    }

    const METRICS: [(&str, f64); 10] = [
        ("operations_in_flight", 8.01),
        ("requests_in_flight", 8.0),
        ("goodput_writes_per_s", 900.0),
        ("operations_per_s", 900.0),
        ("requests_per_s", 2000.0),
        ("conflict_rate", 0.1),
        ("request_mean_ns", 4e6),
        ("operation_mean_ns", 8.9e6),
        ("operation_p50_ns", 8e6),
        ("operation_p99_ns", 20e6),
    ];

    #[test]
    fn a_sweep_point_reads_its_workload_and_medians() {
        let result = point_result(
            8,
            serde_json::json!({ "policy": "backoff", "base_us": 20, "cap_us": 5000 }),
            &METRICS,
        );
        let point = SweepPoint::from_result(&result).unwrap();
        assert_eq!(point.racers, 8);
        assert_eq!(point.id, "r8");
        assert_eq!(
            point.workload.backoff,
            Some(Backoff {
                base_us: 20,
                cap_us: 5000
            })
        );
        assert_eq!(point.measured.conflict_rate, Some(0.1));
        assert!((point.requests_in_flight() - 8.0).abs() < 1e-9);
        assert!((point.operations_in_flight() - 8.01).abs() < 1e-9);
        assert_eq!(point.measured.goodput_range_writes_per_s, (900.0, 900.0));
    }

    #[test]
    fn results_that_are_not_closed_loop_sweep_points_are_refused() {
        let immediate = serde_json::json!({ "policy": "immediate" });
        let mut bench_run = point_result(8, immediate.clone(), &METRICS);
        bench_run.kind = ResultKind::BenchRun;
        assert_eq!(
            SweepPoint::from_result(&bench_run),
            Err(SweepError::NotASweepPoint(ResultKind::BenchRun))
        );
        let mut open = point_result(8, immediate.clone(), &METRICS);
        open.config["load"]["mode"] = serde_json::json!({ "loop": "open", "workers": 8 });
        assert_eq!(SweepPoint::from_result(&open), Err(SweepError::OpenLoop));
        let incomplete = point_result(8, immediate, &METRICS[..9]);
        assert_eq!(
            SweepPoint::from_result(&incomplete),
            Err(SweepError::Missing("operation_p99_ns"))
        );
    }

    #[test]
    fn mixes_scale_to_fractions() {
        let mix = Mix {
            create: 0.0,
            cas: 3.0,
            put: 0.0,
            get: 7.0,
        };
        let fractions = mix.fractions().unwrap();
        assert!((fractions.cas - 0.3).abs() < 1e-15);
        assert!((fractions.get - 0.7).abs() < 1e-15);
        assert_eq!(mix.to_string(), "cas=3,get=7");
        assert_eq!(
            Mix { cas: 0.0, ..mix }.fractions().map(|f| f.get),
            Some(1.0)
        );
        assert_eq!(
            Mix {
                cas: 0.0,
                get: 0.0,
                ..mix
            }
            .fractions(),
            None
        );
    }
}
