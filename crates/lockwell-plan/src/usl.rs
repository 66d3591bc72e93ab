//! Throughput against concurrency: the Universal Scalability Law.
//!
//! Formula (Gunther): `X(N) = λN / (1 + σ(N - 1) + κN(N - 1))`, where `N`
//! is the number of requests in flight, `λ` the throughput of one,
//! `σ` the contention (the serial fraction: queueing for a shared
//! resource, here the two cores and each key's shard lock) and `κ` the
//! coherency cost (pairwise crosstalk, which makes throughput fall past
//! the peak at `N* = sqrt((1 - σ) / κ)`).
//!
//! Fit: least squares on `log X` (every point weighs by its relative
//! error, so that a 1-racer point counts as much as a 256-racer one).
//! For fixed `(σ, κ)` the best `log λ` is the mean of `log X - log(N /
//! D(N))` in closed form; `(σ, κ)` come from a log-spaced grid refined
//! three times around its best cell. Grid search rather than
//! Gauss-Newton: it cannot diverge and finds the global minimum of a
//! two-parameter surface with 3,600 cheap evaluations.
//!
//! Assumptions: one resource pool whose throughput depends on the number
//! of requests in flight only (not on which keys they touch); the same
//! request mix at every `N`. Where it breaks: a mix of very different
//! requests (a 1 MiB PUT and a GET share one `λ`), a generator that is
//! itself the bottleneck, and far past the measured `N`, where `κ` fitted
//! on a few points decides everything.

/// Fewest points a fit needs (three parameters).
pub const MIN_FIT_POINTS: usize = 3;
/// Largest contention coefficient searched (1 = fully serial).
pub const MAX_SIGMA: f64 = 1.0;
/// Largest coherency coefficient searched.
pub const MAX_KAPPA: f64 = 1.0;

const GRID_STEPS: usize = 60;
const REFINEMENTS: usize = 3;

/// The three coefficients.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usl {
    /// Throughput of one request in flight, per second.
    pub lambda_per_s: f64,
    /// Contention.
    pub sigma: f64,
    /// Coherency.
    pub kappa: f64,
}

impl Usl {
    /// `X(N)`.
    #[must_use]
    pub fn throughput_per_s(&self, in_flight: f64) -> f64 {
        self.lambda_per_s * in_flight / self.denominator(in_flight)
    }

    fn denominator(&self, in_flight: f64) -> f64 {
        1.0 + self.sigma * (in_flight - 1.0) + self.kappa * in_flight * (in_flight - 1.0)
    }

    /// Mean time one request spends in flight at `N` (Little's law:
    /// `N / X(N)`), in seconds.
    #[must_use]
    pub fn latency_s(&self, in_flight: f64) -> f64 {
        self.denominator(in_flight) / self.lambda_per_s
    }

    /// The concurrency of peak throughput (`None` without coherency cost:
    /// throughput then rises forever towards `λ/σ`).
    #[must_use]
    pub fn peak_in_flight(&self) -> Option<f64> {
        (self.kappa > 0.0).then(|| ((1.0 - self.sigma).max(0.0) / self.kappa).sqrt().max(1.0))
    }
}

/// A fitted law and how far each point is from it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UslFit {
    pub usl: Usl,
    /// Per point `(N, measured X, fitted X)`, in input order.
    pub residuals: Vec<(f64, f64, f64)>,
    /// Root mean square of `ln(fitted / measured)`.
    pub rms_log_error: f64,
}

/// Why a law cannot be fitted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UslError {
    #[error("a throughput fit needs at least {MIN_FIT_POINTS} points, got {0}")]
    TooFewPoints(usize),
    #[error("a throughput fit needs at least two distinct concurrencies")]
    OneConcurrency,
    #[error("point (N = {0}, X = {1}) is not a positive finite measurement")]
    BadPoint(f64, f64),
}

/// `ln λ` that minimises the squared log error for `(σ, κ)`, and that error.
fn best_lambda(points: &[(f64, f64)], sigma: f64, kappa: f64) -> (f64, f64) {
    let shape = Usl {
        lambda_per_s: 1.0,
        sigma,
        kappa,
    };
    let offsets: Vec<f64> = points
        .iter()
        .map(|&(n, x)| x.ln() - shape.throughput_per_s(n).ln())
        .collect();
    let log_lambda = offsets.iter().sum::<f64>() / offsets.len() as f64;
    let error = offsets
        .iter()
        .map(|offset| (offset - log_lambda).powi(2))
        .sum();
    (log_lambda, error)
}

/// `steps + 1` candidates: zero, then log-spaced from `low` to `high`.
fn candidates(low: f64, high: f64, steps: usize, include_zero: bool) -> Vec<f64> {
    let ratio = (high / low).powf(1.0 / (steps - 1) as f64);
    let mut values: Vec<f64> = (0..steps).map(|i| low * ratio.powi(i as i32)).collect();
    if include_zero {
        values.insert(0, 0.0);
    }
    values
}

/// Fits `(N, X)` points.
///
/// # Errors
/// See [`UslError`].
pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, UslError> {
    if points.len() < MIN_FIT_POINTS {
        return Err(UslError::TooFewPoints(points.len()));
    }
    if let Some(&(n, x)) = points
        .iter()
        .find(|(n, x)| !(n.is_finite() && x.is_finite() && *n > 0.0 && *x > 0.0))
    {
        return Err(UslError::BadPoint(n, x));
    }
    if points.iter().all(|(n, _)| (n - points[0].0).abs() < 1e-9) {
        return Err(UslError::OneConcurrency);
    }
    let mut sigma_range = (1e-5, MAX_SIGMA);
    let mut kappa_range = (1e-8, MAX_KAPPA);
    let mut best = (0.0, 0.0, f64::INFINITY);
    for refinement in 0..=REFINEMENTS {
        let first = refinement == 0;
        for sigma in candidates(sigma_range.0, sigma_range.1, GRID_STEPS, first) {
            for kappa in candidates(kappa_range.0, kappa_range.1, GRID_STEPS, first) {
                let (_, error) = best_lambda(points, sigma, kappa);
                if error < best.2 {
                    best = (sigma, kappa, error);
                }
            }
        }
        // Zoom to the neighbouring grid cells of the best (a zero
        // coefficient stays searchable next to the smallest positive one).
        let zoom = |value: f64, range: (f64, f64)| {
            let step = (range.1 / range.0).powf(1.0 / (GRID_STEPS - 1) as f64);
            if value == 0.0 {
                (range.0 / step.powi(4), range.0 * step)
            } else {
                (value / step, (value * step).min(range.1.max(value)))
            }
        };
        sigma_range = zoom(best.0, sigma_range);
        kappa_range = zoom(best.1, kappa_range);
    }
    let (sigma, kappa, error) = best;
    let (log_lambda, _) = best_lambda(points, sigma, kappa);
    let usl = Usl {
        lambda_per_s: log_lambda.exp(),
        sigma,
        kappa,
    };
    let residuals = points
        .iter()
        .map(|&(n, x)| (n, x, usl.throughput_per_s(n)))
        .collect();
    Ok(UslFit {
        usl,
        residuals,
        rms_log_error: (error / points.len() as f64).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_coefficients_scale_linearly() {
        let usl = Usl {
            lambda_per_s: 1000.0,
            sigma: 0.0,
            kappa: 0.0,
        };
        for n in [1.0, 2.0, 64.0, 1000.0] {
            assert!((usl.throughput_per_s(n) - 1000.0 * n).abs() < 1e-6, "{n}");
            assert!((usl.latency_s(n) - 0.001).abs() < 1e-15, "{n}");
        }
        assert_eq!(usl.peak_in_flight(), None);
    }

    /// Hand-computed: λ = 100, σ = 0.1, κ = 0.01 at N = 10 gives
    /// 1000 / (1 + 0.9 + 0.9) = 357.14...; the peak is at sqrt(0.9 / 0.01)
    /// = 9.49.
    #[test]
    fn hand_computed_throughput_and_peak() {
        let usl = Usl {
            lambda_per_s: 100.0,
            sigma: 0.1,
            kappa: 0.01,
        };
        assert!((usl.throughput_per_s(10.0) - 1000.0 / 2.8).abs() < 1e-9);
        assert!((usl.peak_in_flight().unwrap() - 90f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn fits_recover_the_coefficients_of_exact_points() {
        let cases = [
            (5000.0, 0.0, 0.0),
            (5000.0, 0.05, 0.0),
            (2000.0, 0.2, 0.001),
            (10_000.0, 0.02, 0.0002),
        ];
        for (lambda_per_s, sigma, kappa) in cases {
            let truth = Usl {
                lambda_per_s,
                sigma,
                kappa,
            };
            let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0]
                .iter()
                .map(|&n| (n, truth.throughput_per_s(n)))
                .collect();
            let fit = fit(&points).unwrap();
            assert!(fit.rms_log_error < 0.005, "{truth:?}: {fit:?}");
            for &(n, _, fitted) in &fit.residuals {
                let relative = (fitted / truth.throughput_per_s(n) - 1.0).abs();
                assert!(relative < 0.01, "{truth:?} at {n}: {relative}");
            }
        }
    }

    #[test]
    fn fits_refuse_points_that_cannot_determine_a_law() {
        assert_eq!(
            fit(&[(1.0, 1.0), (2.0, 2.0)]),
            Err(UslError::TooFewPoints(2))
        );
        assert_eq!(
            fit(&[(4.0, 1.0), (4.0, 2.0), (4.0, 3.0)]),
            Err(UslError::OneConcurrency)
        );
        assert_eq!(
            fit(&[(1.0, 1.0), (2.0, 0.0), (4.0, 3.0)]),
            Err(UslError::BadPoint(2.0, 0.0))
        );
    }
}
