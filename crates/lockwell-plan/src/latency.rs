//! Latency: the mean from Little's law, p50 and p99 from a fitted tail
//! shape, and the Little's-law check of every measured point.
//!
//! Formula. In a closed loop every racer always has one operation in
//! flight, so Little's law gives the mean operation latency exactly:
//! `T = N / X_ops`. The quantiles are that mean times a tail factor:
//!
//! ```text
//! ln(p_q / T) = a_q + b_q · ln(L · λ) + d_q · c
//! ```
//!
//! where `L · λ` is the mean request latency over the latency of a lone
//! request (the queueing inflation: 1 when idle, `N / X(N) · λ` under
//! load; the utilisation measure that keeps growing past the throughput
//! peak, unlike `X / X_max`), and `c` the conflict rate (a CAS that loses
//! `n` times takes `n + 1` round trips, so conflicts stretch the tail).
//! `a, b, d` come from linear least squares over the sweep's points.
//!
//! Assumptions: the tail shape depends on queueing and conflicts only.
//! Where it breaks: a p99 set by rare stalls of a shared machine (a
//! preemption of a few ms shows at p99 whatever the load), which is why
//! the intervals come from the fit's residuals.
//!
//! Little's-law check: for each point, operations/s times mean operation
//! latency should equal the racers. It fails when the generator spends
//! time between operations (its threads starved of CPU, so the racers are
//! not all in flight) or when the measured window cuts operations in two;
//! [`LittleCheck`] reports the ratio and [`LITTLE_TOLERANCE`] flags it.

use crate::sweep::SweepPoint;

/// Largest relative gap between `racers` and `X · T` that passes the
/// Little's-law check.
pub const LITTLE_TOLERANCE: f64 = 0.10;
/// Ridge added to the normal equations so that a feature that never
/// varies (no conflicts in a sweep) gets coefficient 0 instead of a
/// singular system.
const RIDGE: f64 = 1e-9;

/// `ln(p / T) = intercept + queueing · ln(L λ) + conflict · c`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TailShape {
    pub intercept: f64,
    pub queueing: f64,
    pub conflict: f64,
}

impl TailShape {
    /// `p / T` at queueing inflation `inflation = L λ` and conflict rate `c`.
    #[must_use]
    pub fn ratio_to_mean(&self, inflation: f64, conflict_rate: f64) -> f64 {
        (self.intercept + self.queueing * inflation.max(1e-12).ln() + self.conflict * conflict_rate)
            .exp()
    }
}

/// Least squares of `y = β · (1, u, v)`.
///
/// # Panics
/// Never for finite input: the ridge keeps the system regular.
#[must_use]
pub fn fit_tail(samples: &[(f64, f64, f64)]) -> TailShape {
    let mut normal = [[0.0f64; 4]; 3];
    for &(u, v, y) in samples {
        let row = [1.0, u, v];
        for i in 0..3 {
            for j in 0..3 {
                normal[i][j] += row[i] * row[j];
            }
            normal[i][3] += row[i] * y;
        }
    }
    for (i, row) in normal.iter_mut().enumerate().skip(1) {
        row[i] += RIDGE;
    }
    let beta = solve3(normal);
    TailShape {
        intercept: beta[0],
        queueing: beta[1],
        conflict: beta[2],
    }
}

/// Gaussian elimination with partial pivoting of a 3×3 system given as an
/// augmented matrix.
fn solve3(mut m: [[f64; 4]; 3]) -> [f64; 3] {
    for column in 0..3 {
        let pivot = (column..3)
            .max_by(|&a, &b| m[a][column].abs().total_cmp(&m[b][column].abs()))
            .expect("a non-empty range");
        m.swap(column, pivot);
        let pivot_row = m[column];
        for row in m.iter_mut().skip(column + 1) {
            let factor = row[column] / pivot_row[column];
            for (target, source) in row.iter_mut().zip(pivot_row).skip(column) {
                *target -= factor * source;
            }
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let known: f64 = (row + 1..3).map(|k| m[row][k] * x[k]).sum();
        x[row] = (m[row][3] - known) / m[row][row];
    }
    x
}

/// Little's law on one point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LittleCheck {
    pub point: String,
    pub racers: u32,
    /// Operations/s × mean operation latency.
    pub operations_in_flight: f64,
    /// Requests/s × mean request latency (below `racers` by the time
    /// spent sleeping in backoff and between requests).
    pub requests_in_flight: f64,
    /// `operations_in_flight / racers`.
    pub ratio: f64,
    pub holds: bool,
}

/// The check on every point.
#[must_use]
pub fn check_little(points: &[SweepPoint]) -> Vec<LittleCheck> {
    points
        .iter()
        .map(|point| {
            let ratio = point.operations_in_flight() / f64::from(point.racers);
            LittleCheck {
                point: point.id.clone(),
                racers: point.racers,
                operations_in_flight: point.operations_in_flight(),
                requests_in_flight: point.requests_in_flight(),
                ratio,
                holds: (ratio - 1.0).abs() <= LITTLE_TOLERANCE,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_tail_law_is_recovered() {
        let truth = TailShape {
            intercept: 1.5,
            queueing: 0.25,
            conflict: 2.0,
        };
        let samples: Vec<(f64, f64, f64)> = [(0.0f64, 0.0), (1.0, 0.1), (2.0, 0.5), (3.0, 0.9)]
            .iter()
            .map(|&(u, v)| (u, v, truth.ratio_to_mean(u.exp(), v).ln()))
            .collect();
        let fitted = fit_tail(&samples);
        assert!((fitted.intercept - 1.5).abs() < 1e-6, "{fitted:?}");
        assert!((fitted.queueing - 0.25).abs() < 1e-6, "{fitted:?}");
        assert!((fitted.conflict - 2.0).abs() < 1e-6, "{fitted:?}");
    }

    #[test]
    fn littles_law_flags_points_whose_racers_were_not_all_in_flight() {
        let mut points = vec![
            crate::model::tests::exact_point(8, 1000, 0.0),
            crate::model::tests::exact_point(8, 1000, 0.0),
        ];
        // The generator idled a fifth of the time between operations.
        points[1].measured.operations_in_flight *= 0.8;
        let checks = check_little(&points);
        assert!(
            checks[0].holds && (checks[0].ratio - 1.0).abs() < 1e-9,
            "{checks:?}"
        );
        assert!(
            !checks[1].holds && (checks[1].ratio - 0.8).abs() < 1e-9,
            "{checks:?}"
        );
    }

    /// Without conflicts anywhere, the conflict coefficient is 0 and the
    /// rest is an ordinary line: points (0, 1) and (2, 2) give 1 + u / 2.
    #[test]
    fn a_feature_that_never_varies_gets_no_weight() {
        let fitted = fit_tail(&[(0.0, 0.0, 1.0), (2.0, 0.0, 2.0)]);
        assert!(fitted.conflict.abs() < 1e-6, "{fitted:?}");
        assert!((fitted.intercept - 1.0).abs() < 1e-6, "{fitted:?}");
        assert!((fitted.queueing - 0.5).abs() < 1e-6, "{fitted:?}");
    }
}
