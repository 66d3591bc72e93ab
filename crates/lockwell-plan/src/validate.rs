//! Hold-out validation: fit on part of a sweep, predict the rest, and say
//! how wrong the predictions were.

use std::fmt;

use lockwell_results::stats::median;

use crate::model::{self, Estimate, FitError, Model, PredictError};
use crate::sweep::{Sweep, SweepPoint};

/// Which points are held out of the fit.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "hold_out", rename_all = "snake_case")]
pub enum HoldOut {
    /// Fit on racers up to `max_fitted_racers`, predict the larger counts.
    RacersAbove { max_fitted_racers: u32 },
    /// Fit on the other skews, predict these.
    Zipf { exponents: Vec<f64> },
}

impl HoldOut {
    fn holds_out(&self, point: &SweepPoint) -> bool {
        match self {
            Self::RacersAbove { max_fitted_racers } => point.racers > *max_fitted_racers,
            Self::Zipf { exponents } => exponents
                .iter()
                .any(|exponent| (exponent - point.workload.zipf_exponent).abs() < 1e-9),
        }
    }
}

impl fmt::Display for HoldOut {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RacersAbove { max_fitted_racers } => write!(
                formatter,
                "fit on racers <= {max_fitted_racers}, predict the larger counts"
            ),
            Self::Zipf { exponents } => {
                write!(
                    formatter,
                    "fit on the other skews, predict zipf {exponents:?}"
                )
            }
        }
    }
}

/// One held-out point, predicted and measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ValidationRow {
    pub point: String,
    pub racers: u32,
    pub key_count: u64,
    pub zipf_exponent: f64,
    pub measured_goodput_writes_per_s: f64,
    /// Lowest and highest of the point's repeats.
    pub measured_goodput_range_writes_per_s: (f64, f64),
    pub predicted_goodput_writes_per_s: Estimate,
    /// `predicted / measured - 1`.
    pub goodput_error: f64,
    pub measured_conflict_rate: Option<f64>,
    pub predicted_conflict_rate: f64,
    pub measured_p99_s: f64,
    pub predicted_p99_s: Estimate,
    pub p99_error: f64,
}

/// A validation run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    pub hold_out: HoldOut,
    pub fitted_points: usize,
    pub model: Model,
    pub rows: Vec<ValidationRow>,
    pub median_abs_goodput_error: f64,
    pub median_abs_p99_error: f64,
    /// Held-out points whose measured goodput is inside the predicted interval.
    pub goodput_within_interval: usize,
    /// The noise the errors are to be read against: per held-out point,
    /// half the spread of its repeats' goodput over its median; the median
    /// of those.
    pub median_goodput_noise: f64,
}

/// Why a validation cannot run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("the hold-out ({0}) leaves no point to predict")]
    NothingHeldOut(String),
    #[error("fitting the kept points: {0}")]
    Fit(#[from] FitError),
    #[error("predicting a held-out point: {0}")]
    Predict(#[from] PredictError),
}

/// Fits the points `hold_out` keeps and predicts the others.
///
/// # Errors
/// See [`ValidationError`].
pub fn validate(sweep: &Sweep, hold_out: &HoldOut) -> Result<Validation, ValidationError> {
    let (held, kept): (Vec<&SweepPoint>, Vec<&SweepPoint>) = sweep
        .points
        .iter()
        .partition(|point| hold_out.holds_out(point));
    if held.is_empty() {
        return Err(ValidationError::NothingHeldOut(hold_out.to_string()));
    }
    let fitted_sweep = Sweep {
        points: kept.into_iter().cloned().collect(),
    };
    let model = model::fit(&fitted_sweep)?;
    let rows = held
        .into_iter()
        .map(|point| {
            let prediction = model.predict(&point.workload, f64::from(point.racers))?;
            let measured = &point.measured;
            Ok(ValidationRow {
                point: point.id.clone(),
                racers: point.racers,
                key_count: point.workload.key_count,
                zipf_exponent: point.workload.zipf_exponent,
                measured_goodput_writes_per_s: measured.goodput_writes_per_s,
                measured_goodput_range_writes_per_s: measured.goodput_range_writes_per_s,
                predicted_goodput_writes_per_s: prediction.goodput_writes_per_s,
                goodput_error: prediction.goodput_writes_per_s.value
                    / measured.goodput_writes_per_s
                    - 1.0,
                measured_conflict_rate: measured.conflict_rate,
                predicted_conflict_rate: prediction.conflict_rate.value,
                measured_p99_s: measured.operation_p99_s,
                predicted_p99_s: prediction.operation_p99_s,
                p99_error: prediction.operation_p99_s.value / measured.operation_p99_s - 1.0,
            })
        })
        .collect::<Result<Vec<_>, PredictError>>()?;
    let goodput_errors: Vec<f64> = rows.iter().map(|row| row.goodput_error.abs()).collect();
    let p99_errors: Vec<f64> = rows.iter().map(|row| row.p99_error.abs()).collect();
    let noise: Vec<f64> = rows
        .iter()
        .map(|row| {
            let (low, high) = row.measured_goodput_range_writes_per_s;
            (high - low) / 2.0 / row.measured_goodput_writes_per_s
        })
        .collect();
    Ok(Validation {
        hold_out: hold_out.clone(),
        fitted_points: fitted_sweep.points.len(),
        goodput_within_interval: rows
            .iter()
            .filter(|row| {
                let interval = row.predicted_goodput_writes_per_s;
                (interval.low..=interval.high).contains(&row.measured_goodput_writes_per_s)
            })
            .count(),
        median_abs_goodput_error: median(&goodput_errors).unwrap_or(0.0),
        median_abs_p99_error: median(&p99_errors).unwrap_or(0.0),
        median_goodput_noise: median(&noise).unwrap_or(0.0),
        model,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::exact_sweep;

    #[test]
    fn an_exact_system_is_predicted_on_held_out_racers_and_skews() {
        let sweep = exact_sweep();
        for hold_out in [
            HoldOut::RacersAbove {
                max_fitted_racers: 16,
            },
            HoldOut::Zipf {
                exponents: vec![0.9],
            },
        ] {
            let validation = validate(&sweep, &hold_out).unwrap();
            assert!(!validation.rows.is_empty());
            assert!(validation.fitted_points + validation.rows.len() == sweep.points.len());
            assert!(
                validation.median_abs_goodput_error < 0.01,
                "{hold_out}: {}",
                validation.median_abs_goodput_error
            );
            assert_eq!(
                validation.median_goodput_noise, 0.0,
                "exact points have no noise"
            );
        }
    }

    #[test]
    fn a_hold_out_that_keeps_everything_is_refused() {
        let error = validate(
            &exact_sweep(),
            &HoldOut::RacersAbove {
                max_fitted_racers: 1000,
            },
        )
        .unwrap_err();
        assert!(
            matches!(error, ValidationError::NothingHeldOut(_)),
            "{error}"
        );
    }
}
