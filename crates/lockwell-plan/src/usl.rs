//! Throughput against concurrency: the Universal Scalability Law.
//!
//! Formula (Gunther's USL, with the contention split by cause):
//!
//! ```text
//! X(N) = λN / (1 + (σ + σ_key · H)(N - 1) + κN(N - 1))
//! ```
//!
//! where `N` is the number of requests in flight, `λ` the throughput of
//! one, `σ` the contention every request meets (queueing for the two
//! cores), `σ_key · H` the contention of requests for the same key (the
//! store installs one key's writes one at a time, SPEC C3), `H = Σ_k p_k²`
//! the probability that two requests touch the same key (1 for one hot
//! key, `1/n` for `n` uniform keys, see [`crate::keys`]), and `κ` the
//! coherency cost (pairwise crosstalk, which makes throughput fall past
//! the peak at `N* = sqrt((1 - σ - σ_key H) / κ)`). With `σ_key = 0` this
//! is the textbook law.
//!
//! Fit: least squares on `log X` (every point weighs by its relative
//! error, so that a 1-racer point counts as much as a 256-racer one).
//! For fixed `(σ, σ_key, κ)` the best `log λ` is the mean of `log X -
//! log(N / D(N))` in closed form; the three coefficients come from a
//! log-spaced grid (zero included) refined once around its best
//! cell, then polished by a pattern search. Grid search rather than Gauss-Newton: it cannot diverge and finds
//! the global minimum of a small surface with cheap evaluations. A sweep
//! whose points all share one `H` cannot tell `σ` from `σ_key · H`; the
//! fit then keeps `σ_key = 0`.
//!
//! Assumptions: one resource pool whose throughput depends on the requests
//! in flight and how often they meet on a key; the same request mix at
//! every `N`. Where it breaks: a mix of very different requests (a 1 MiB
//! PUT and a GET share one `λ`); a generator that is itself the
//! bottleneck; and past the measured `N`: on a small machine throughput
//! past the knee declines roughly linearly, not with the `κN²` the law
//! assumes, so a `κ` fitted below the knee over-predicts the decline
//! (`lockwell plan validate` shows by how much).

/// Fewest points a fit needs (three parameters).
pub const MIN_FIT_POINTS: usize = 3;
/// Largest contention coefficient searched (1 = fully serial).
pub const MAX_SIGMA: f64 = 1.0;
/// Largest coherency coefficient searched.
pub const MAX_KAPPA: f64 = 1.0;

/// Largest per-collision contention coefficient searched.
pub const MAX_SIGMA_PER_KEY_COLLISION: f64 = 10.0;

const GRID_STEPS: usize = 16;
const REFINEMENTS: usize = 1;

/// The coefficients.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usl {
    /// Throughput of one request in flight, per second.
    pub lambda_per_s: f64,
    /// Contention every request meets.
    pub sigma: f64,
    /// Contention per unit of key-collision probability `H`.
    pub sigma_per_key_collision: f64,
    /// Coherency.
    pub kappa: f64,
}

impl Usl {
    /// `X(N)` when two requests touch the same key with probability
    /// `key_collision`.
    #[must_use]
    pub fn throughput_per_s(&self, in_flight: f64, key_collision: f64) -> f64 {
        self.lambda_per_s * in_flight / self.denominator(in_flight, key_collision)
    }

    fn contention(&self, key_collision: f64) -> f64 {
        self.sigma + self.sigma_per_key_collision * key_collision
    }

    fn denominator(&self, in_flight: f64, key_collision: f64) -> f64 {
        1.0 + self.contention(key_collision) * (in_flight - 1.0)
            + self.kappa * in_flight * (in_flight - 1.0)
    }

    /// Mean time one request spends in flight at `N` (Little's law:
    /// `N / X(N)`), in seconds.
    #[must_use]
    pub fn latency_s(&self, in_flight: f64, key_collision: f64) -> f64 {
        self.denominator(in_flight, key_collision) / self.lambda_per_s
    }

    /// The concurrency of peak throughput (`None` without coherency cost:
    /// throughput then rises forever towards `λ/σ`).
    #[must_use]
    pub fn peak_in_flight(&self, key_collision: f64) -> Option<f64> {
        (self.kappa > 0.0).then(|| {
            ((1.0 - self.contention(key_collision)).max(0.0) / self.kappa)
                .sqrt()
                .max(1.0)
        })
    }
}

/// One measured point: requests in flight, key-collision probability,
/// throughput.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub in_flight: f64,
    pub key_collision: f64,
    pub throughput_per_s: f64,
}

/// A fitted law and how far each point is from it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UslFit {
    pub usl: Usl,
    /// Per point, the sample and the fitted throughput, in input order.
    pub residuals: Vec<(Sample, f64)>,
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

/// `ln λ` that minimises the squared log error for the shape `(σ,
/// σ_key, κ)` (its `λ` ignored), and that error.
fn best_lambda(samples: &[Sample], shape: Usl) -> (f64, f64) {
    let offsets: Vec<f64> = samples
        .iter()
        .map(|sample| {
            sample.throughput_per_s.ln()
                - shape
                    .throughput_per_s(sample.in_flight, sample.key_collision)
                    .ln()
        })
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

/// Pattern search from the grid's best: multiply or divide each positive
/// coefficient by a factor while that lowers the error, then shrink the
/// factor. The grid finds the right valley; this walks along it (the
/// contention and coherency terms trade off against each other, so the
/// minimum lies in a narrow diagonal valley that a zooming grid can leave).
fn polish(samples: &[Sample], start: ([f64; 3], f64), one_collision: bool) -> [f64; 3] {
    const MIN_FACTOR: f64 = 1.0 + 1e-6;
    const MAX_STEPS: usize = 5_000;
    let limits = [MAX_SIGMA, MAX_SIGMA_PER_KEY_COLLISION, MAX_KAPPA];
    let error = |coefficients: [f64; 3]| {
        best_lambda(
            samples,
            Usl {
                lambda_per_s: 1.0,
                sigma: coefficients[0],
                sigma_per_key_collision: coefficients[1],
                kappa: coefficients[2],
            },
        )
        .1
    };
    let (mut best, mut best_error) = start;
    let mut factor = 2.0f64;
    for _ in 0..MAX_STEPS {
        if factor < MIN_FACTOR {
            break;
        }
        let mut improved = false;
        for index in 0..3 {
            if best[index] == 0.0 || (index == 1 && one_collision) {
                continue;
            }
            for scale in [factor, 1.0 / factor] {
                let mut candidate = best;
                candidate[index] = (candidate[index] * scale).min(limits[index]);
                let candidate_error = error(candidate);
                if candidate_error < best_error {
                    (best, best_error) = (candidate, candidate_error);
                    improved = true;
                }
            }
        }
        if !improved {
            factor = factor.sqrt();
        }
    }
    best
}

/// Fits the samples.
///
/// # Errors
/// See [`UslError`].
pub fn fit(samples: &[Sample]) -> Result<UslFit, UslError> {
    if samples.len() < MIN_FIT_POINTS {
        return Err(UslError::TooFewPoints(samples.len()));
    }
    if let Some(bad) = samples.iter().find(|sample| {
        !(sample.in_flight.is_finite()
            && sample.throughput_per_s.is_finite()
            && sample.in_flight > 0.0
            && sample.throughput_per_s > 0.0
            && (0.0..=1.0).contains(&sample.key_collision))
    }) {
        return Err(UslError::BadPoint(bad.in_flight, bad.throughput_per_s));
    }
    if samples
        .iter()
        .all(|sample| (sample.in_flight - samples[0].in_flight).abs() < 1e-9)
    {
        return Err(UslError::OneConcurrency);
    }
    let one_collision = samples
        .iter()
        .all(|sample| (sample.key_collision - samples[0].key_collision).abs() < 1e-12);
    let mut ranges = [
        (1e-5, MAX_SIGMA),
        (1e-4, MAX_SIGMA_PER_KEY_COLLISION),
        (1e-8, MAX_KAPPA),
    ];
    let mut best = ([0.0; 3], f64::INFINITY);
    for refinement in 0..=REFINEMENTS {
        let first = refinement == 0;
        let axis = |index: usize| {
            if index == 1 && one_collision {
                vec![0.0]
            } else {
                candidates(ranges[index].0, ranges[index].1, GRID_STEPS, first)
            }
        };
        let (sigmas, per_collision, kappas) = (axis(0), axis(1), axis(2));
        for &sigma in &sigmas {
            for &sigma_per_key_collision in &per_collision {
                for &kappa in &kappas {
                    let shape = Usl {
                        lambda_per_s: 1.0,
                        sigma,
                        sigma_per_key_collision,
                        kappa,
                    };
                    let (_, error) = best_lambda(samples, shape);
                    if error < best.1 {
                        best = ([sigma, sigma_per_key_collision, kappa], error);
                    }
                }
            }
        }
        // Zoom to the neighbouring grid cells of the best (a zero
        // coefficient stays searchable next to the smallest positive one).
        for (range, value) in ranges.iter_mut().zip(best.0) {
            let step = (range.1 / range.0).powf(1.0 / (GRID_STEPS - 1) as f64);
            *range = if value == 0.0 {
                (range.0 / step.powi(4), range.0 * step)
            } else {
                (value / step, (value * step).min(range.1.max(value)))
            };
        }
    }
    let [sigma, sigma_per_key_collision, kappa] = polish(samples, best, one_collision);
    let shape = Usl {
        lambda_per_s: 1.0,
        sigma,
        sigma_per_key_collision,
        kappa,
    };
    let (log_lambda, error) = best_lambda(samples, shape);
    debug_assert!(
        error <= best.1 + 1e-12,
        "polishing never makes the fit worse"
    );
    let usl = Usl {
        lambda_per_s: log_lambda.exp(),
        ..shape
    };
    let residuals = samples
        .iter()
        .map(|&sample| {
            (
                sample,
                usl.throughput_per_s(sample.in_flight, sample.key_collision),
            )
        })
        .collect();
    Ok(UslFit {
        usl,
        residuals,
        rms_log_error: (error / samples.len() as f64).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIFORM_1000: f64 = 0.001;

    fn law(lambda_per_s: f64, sigma: f64, sigma_per_key_collision: f64, kappa: f64) -> Usl {
        Usl {
            lambda_per_s,
            sigma,
            sigma_per_key_collision,
            kappa,
        }
    }

    fn sample(in_flight: f64, key_collision: f64, throughput_per_s: f64) -> Sample {
        Sample {
            in_flight,
            key_collision,
            throughput_per_s,
        }
    }

    #[test]
    fn zero_coefficients_scale_linearly() {
        let usl = law(1000.0, 0.0, 0.0, 0.0);
        for n in [1.0, 2.0, 64.0, 1000.0] {
            for collision in [UNIFORM_1000, 1.0] {
                assert!((usl.throughput_per_s(n, collision) - 1000.0 * n).abs() < 1e-6);
                assert!((usl.latency_s(n, collision) - 0.001).abs() < 1e-15);
            }
        }
        assert_eq!(usl.peak_in_flight(1.0), None);
    }

    /// Hand-computed: λ = 100, σ = 0.1, κ = 0.01 at N = 10 gives
    /// 1000 / (1 + 0.9 + 0.9) = 357.14...; the peak is at sqrt(0.9 / 0.01)
    /// = 9.49. With σ_key = 0.2 and one hot key (H = 1) contention is 0.3:
    /// 1000 / (1 + 2.7 + 0.9) = 217.39..., peak at sqrt(0.7 / 0.01).
    #[test]
    fn hand_computed_throughput_and_peak() {
        let usl = law(100.0, 0.1, 0.2, 0.01);
        assert!((usl.throughput_per_s(10.0, 0.0) - 1000.0 / 2.8).abs() < 1e-9);
        assert!((usl.peak_in_flight(0.0).unwrap() - 90f64.sqrt()).abs() < 1e-12);
        assert!((usl.throughput_per_s(10.0, 1.0) - 1000.0 / 4.6).abs() < 1e-9);
        assert!((usl.peak_in_flight(1.0).unwrap() - 70f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn fits_recover_the_coefficients_of_exact_points() {
        let cases = [
            law(5000.0, 0.0, 0.0, 0.0),
            law(5000.0, 0.05, 0.0, 0.0),
            law(2000.0, 0.2, 0.5, 0.001),
            law(10_000.0, 0.02, 0.1, 0.0002),
        ];
        for truth in cases {
            let samples: Vec<Sample> = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0]
                .iter()
                .flat_map(|&n| {
                    [UNIFORM_1000, 0.05, 1.0]
                        .map(|collision| sample(n, collision, truth.throughput_per_s(n, collision)))
                })
                .collect();
            let fit = fit(&samples).unwrap();
            assert!(fit.rms_log_error < 0.005, "{truth:?}: {fit:?}");
            for (sample, fitted) in &fit.residuals {
                let relative = (fitted / sample.throughput_per_s - 1.0).abs();
                assert!(relative < 0.01, "{truth:?} at {sample:?}: {relative}");
            }
        }
    }

    #[test]
    fn one_key_collision_value_leaves_all_contention_to_sigma() {
        let truth = law(3000.0, 0.1, 0.0, 0.001);
        let samples: Vec<Sample> = [1.0, 4.0, 16.0, 64.0]
            .iter()
            .map(|&n| sample(n, 0.5, truth.throughput_per_s(n, 0.5)))
            .collect();
        assert_eq!(fit(&samples).unwrap().usl.sigma_per_key_collision, 0.0);
    }

    #[test]
    fn fits_refuse_points_that_cannot_determine_a_law() {
        let two = [sample(1.0, 0.0, 1.0), sample(2.0, 0.0, 2.0)];
        assert_eq!(fit(&two), Err(UslError::TooFewPoints(2)));
        let one_n = [4.0, 5.0, 6.0].map(|x| sample(4.0, 0.0, x));
        assert_eq!(fit(&one_n), Err(UslError::OneConcurrency));
        let zero = [
            sample(1.0, 0.0, 1.0),
            sample(2.0, 0.0, 0.0),
            sample(4.0, 0.0, 3.0),
        ];
        assert_eq!(fit(&zero), Err(UslError::BadPoint(2.0, 0.0)));
    }
}
