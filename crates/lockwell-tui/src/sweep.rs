//! A sweep folder (`lockwell bench sweep`'s point results) and the
//! capacity model's view of it: lockwell-plan validates the model on the
//! points it holds out (the largest racer counts), and the view draws the
//! measured points and the model's goodput and p99 curves against
//! concurrency, one workload at a time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lockwell_plan::{HoldOut, Model, Sweep, SweepPoint, Validation, Workload, validate};

/// Points of the model curves per workload.
pub const CURVE_POINTS: usize = 48;
/// Below this many distinct racer counts nothing is held out: the model is
/// fitted on every point.
pub const MIN_RACER_COUNTS_TO_HOLD_OUT: usize = 4;

/// One measured point as drawn: concurrency, goodput, p99, and whether the
/// model was fitted without it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawnPoint {
    pub racers: u32,
    pub goodput_writes_per_s: f64,
    pub operation_p99_s: f64,
    pub held_out: bool,
    /// The model's goodput and p99 at this point, if it predicts it.
    pub predicted: Option<(f64, f64)>,
}

/// The points of one workload and the model's curves through them.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadCurves {
    pub workload: Workload,
    pub points: Vec<DrawnPoint>,
    /// `(racers, goodput writes/s)` of the model.
    pub goodput_curve: Vec<(f64, f64)>,
    /// `(racers, p99 seconds)` of the model.
    pub p99_curve: Vec<(f64, f64)>,
}

/// A sweep folder read and modelled.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepData {
    pub folder: PathBuf,
    pub point_count: usize,
    /// What was held out, and the model's errors there; or why there is
    /// no model.
    pub validation: Result<ValidationSummary, String>,
    /// One per workload, in the order of their first point.
    pub workloads: Vec<WorkloadCurves>,
}

/// What a validation found, in one line's worth of numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationSummary {
    pub hold_out: String,
    pub fitted_points: usize,
    pub held_out_points: usize,
    pub median_abs_goodput_error: Option<f64>,
    pub median_abs_p99_error: Option<f64>,
}

/// The hold-out for a sweep: fit on the smaller two thirds of the racer
/// counts, predict the rest; nothing held out with few racer counts.
#[must_use]
pub fn hold_out_for(sweep: &Sweep) -> Option<HoldOut> {
    let mut racers: Vec<u32> = sweep.points.iter().map(|point| point.racers).collect();
    racers.sort_unstable();
    racers.dedup();
    (racers.len() >= MIN_RACER_COUNTS_TO_HOLD_OUT).then(|| HoldOut::RacersAbove {
        max_fitted_racers: racers[racers.len() * 2 / 3 - 1],
    })
}

fn workload_key(workload: &Workload) -> String {
    format!(
        "{} keys, zipf {}, mix {}, {} B, backoff {:?}",
        workload.key_count,
        workload.zipf_exponent,
        workload.mix,
        workload.payload_len_bytes,
        workload.backoff
    )
}

/// `count` concurrencies from 1 to `largest`, evenly spaced on a log axis.
fn log_spaced(largest: f64, count: usize) -> Vec<f64> {
    let top = largest.max(1.0).ln();
    (0..count)
        .map(|index| (top * index as f64 / (count - 1).max(1) as f64).exp())
        .collect()
}

impl SweepData {
    /// Models the sweep made of `points` (from `folder`).
    #[must_use]
    pub fn new(folder: PathBuf, points: Vec<SweepPoint>) -> Self {
        let sweep = Sweep { points };
        let (model, held_out_ids, validation) = match hold_out_for(&sweep) {
            Some(hold_out) => match validate(&sweep, &hold_out) {
                Ok(validation) => {
                    let summary = summarize(&validation, sweep.points.len());
                    let held: Vec<String> = validation
                        .rows
                        .iter()
                        .map(|row| row.point.clone())
                        .collect();
                    (Some(validation.model), held, Ok(summary))
                }
                Err(error) => (None, Vec::new(), Err(error.to_string())),
            },
            None => match lockwell_plan::fit(&sweep) {
                Ok(model) => {
                    let summary = ValidationSummary {
                        hold_out: format!(
                            "fewer than {MIN_RACER_COUNTS_TO_HOLD_OUT} racer counts: fitted on \
                             every point, none held out"
                        ),
                        fitted_points: sweep.points.len(),
                        held_out_points: 0,
                        median_abs_goodput_error: None,
                        median_abs_p99_error: None,
                    };
                    (Some(model), Vec::new(), Ok(summary))
                }
                Err(error) => (None, Vec::new(), Err(error.to_string())),
            },
        };
        let mut groups: Vec<(String, Vec<&SweepPoint>)> = Vec::new();
        for point in &sweep.points {
            let key = workload_key(&point.workload);
            match groups.iter_mut().find(|(existing, _)| *existing == key) {
                Some((_, members)) => members.push(point),
                None => groups.push((key, vec![point])),
            }
        }
        let workloads = groups
            .into_iter()
            .map(|(_, members)| curves(model.as_ref(), &members, &held_out_ids))
            .collect();
        Self {
            folder,
            point_count: sweep.points.len(),
            validation,
            workloads,
        }
    }
}

fn summarize(validation: &Validation, point_count: usize) -> ValidationSummary {
    ValidationSummary {
        hold_out: validation.hold_out.to_string(),
        fitted_points: validation.fitted_points,
        held_out_points: point_count - validation.fitted_points,
        median_abs_goodput_error: Some(validation.median_abs_goodput_error),
        median_abs_p99_error: Some(validation.median_abs_p99_error),
    }
}

fn curves(
    model: Option<&Model>,
    members: &[&SweepPoint],
    held_out_ids: &[String],
) -> WorkloadCurves {
    let workload = members[0].workload;
    let mut points: Vec<DrawnPoint> = members
        .iter()
        .map(|point| DrawnPoint {
            racers: point.racers,
            goodput_writes_per_s: point.measured.goodput_writes_per_s,
            operation_p99_s: point.measured.operation_p99_s,
            held_out: held_out_ids.contains(&point.id),
            predicted: model
                .and_then(|model| model.predict(&workload, f64::from(point.racers)).ok())
                .map(|prediction| {
                    (
                        prediction.goodput_writes_per_s.value,
                        prediction.operation_p99_s.value,
                    )
                }),
        })
        .collect();
    points.sort_by_key(|point| point.racers);
    let largest = points.last().map_or(1, |point| point.racers);
    let mut goodput_curve = Vec::new();
    let mut p99_curve = Vec::new();
    if let Some(model) = model {
        for concurrency in log_spaced(f64::from(largest), CURVE_POINTS) {
            if let Ok(prediction) = model.predict(&workload, concurrency) {
                goodput_curve.push((concurrency, prediction.goodput_writes_per_s.value));
                p99_curve.push((concurrency, prediction.operation_p99_s.value));
            }
        }
    }
    WorkloadCurves {
        workload,
        points,
        goodput_curve,
        p99_curve,
    }
}

/// Groups the sweep points among `results` by folder: `(folder, points)`
/// for every folder holding at least one; results that are not sweep
/// points are skipped, as are points the model cannot read (they are
/// counted in the returned errors).
#[must_use]
pub fn sweeps_by_folder<'a>(
    results: impl IntoIterator<Item = (PathBuf, &'a lockwell_results::RunResult)>,
) -> BTreeMap<PathBuf, (Vec<SweepPoint>, Vec<String>)> {
    let mut folders: BTreeMap<PathBuf, (Vec<SweepPoint>, Vec<String>)> = BTreeMap::new();
    for (path, result) in results {
        if result.kind != lockwell_results::ResultKind::SweepPoint {
            continue;
        }
        let folder = path.parent().map(PathBuf::from).unwrap_or_default();
        let (points, errors) = folders.entry(folder).or_default();
        match SweepPoint::from_result(result) {
            Ok(point) => points.push(point),
            Err(error) => errors.push(format!("{}: {error}", path.display())),
        }
    }
    folders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_larger_third_of_racer_counts_is_held_out() {
        let sweep_of = |racers: &[u32]| Sweep {
            points: racers
                .iter()
                .map(|racers| SweepPoint {
                    id: format!("r{racers}"),
                    racers: *racers,
                    workload: Workload {
                        key_count: 1,
                        zipf_exponent: 0.0,
                        mix: lockwell_plan::Mix::CAS_ONLY,
                        payload_len_bytes: 1024,
                        backoff: None,
                    },
                    measured: lockwell_plan::Measured {
                        goodput_writes_per_s: 1.0,
                        operations_per_s: 1.0,
                        requests_per_s: 1.0,
                        conflict_rate: None,
                        request_mean_s: 1.0,
                        operation_mean_s: 1.0,
                        operation_p50_s: 1.0,
                        operation_p99_s: 1.0,
                        goodput_range_writes_per_s: (1.0, 1.0),
                        operations_in_flight: f64::from(*racers),
                        requests_in_flight: f64::from(*racers),
                    },
                })
                .collect(),
        };
        let cases: [(&[u32], Option<u32>); 4] = [
            (&[1, 2, 4, 8, 16, 32, 64, 128, 256], Some(32)),
            (&[1, 2, 4, 8], Some(2)),
            (&[8, 1, 4, 2, 2], Some(2)),
            (&[1, 2, 4], None),
        ];
        for (racers, max_fitted) in cases {
            let expected =
                max_fitted.map(|max_fitted_racers| HoldOut::RacersAbove { max_fitted_racers });
            assert_eq!(hold_out_for(&sweep_of(racers)), expected, "{racers:?}");
        }
    }

    #[test]
    fn curves_are_log_spaced_from_one_to_the_largest_concurrency() {
        let points = log_spaced(256.0, 9);
        let expected = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
        for (point, expected) in points.iter().zip(expected) {
            assert!((point - expected).abs() < 1e-9, "{point} vs {expected}");
        }
        assert_eq!(log_spaced(1.0, 3), [1.0, 1.0, 1.0]);
    }
}
