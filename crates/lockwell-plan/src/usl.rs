//! Throughput against concurrency: the Universal Scalability Law.
//!
//! Formula (Gunther's USL, with the contention split by cause):
//!
//! ```text
//! X(N) = λN / (1 + (σ + σ_key · H)(N - 1) + κN(N - 1))
//! ```
//!
//! where `N` is the number of requests in flight, `λ` the throughput of
//! one as the law sees it (see lone requests below), `σ` the contention every request meets (queueing for the two
//! cores), `σ_key · H` the contention of requests for the same key (the
//! store installs one key's writes one at a time, SPEC C3), `H = Σ_k p_k²`
//! the probability that two requests touch the same key (1 for one hot
//! key, `1/n` for `n` uniform keys, see [`crate::keys`]), and `κ` the
//! coherency cost (pairwise crosstalk, which makes throughput fall past
//! the peak at `N* = sqrt((1 - σ - σ_key H) / κ)`). With `σ_key = 0` this
//! is the textbook law.
//!
//! Two extensions, each chosen by the data:
//!
//! - **Coherency growth.** Past the peak the USL's `κN(N - 1)` makes
//!   throughput fall as `1/N`. On a small machine a saturated server's
//!   per-request cost often grows far more slowly (run queues, caches,
//!   timer heaps), so the alternative is `κN ln N` ([`Coherency`]): past
//!   the peak at `N* = (1 - σ) / κ` throughput falls as `1/ln N`. [`fit`]
//!   fits both on the lower half of the fitted concurrencies, predicts the
//!   upper half of the fitted points with each, and keeps the law with the
//!   smaller extrapolation error (the USL on a tie within
//!   [`CHOICE_MARGIN`], and whenever the lower half is too small to fit).
//!   Only fitted points take part: a validation's held-out points never
//!   reach the choice.
//! - **Lone requests.** With one request in flight every thread on both
//!   sides sleeps between hops and each hop pays a wake-up; a second
//!   request keeps them awake, so a loopback server can do more than twice
//!   the work at two requests than at one (our in-memory server: 3,300 and
//!   10,000 requests/s). That is not contention, so the throughput below
//!   two in flight is the law's times a factor `f^w(N)`, `w = clamp(2 -
//!   N, 0, 1)`, with `f` fitted, and kept only if it lowers the fit's RMS
//!   log error by more than [`CHOICE_MARGIN`] (else, and when nothing was
//!   measured below two, `f = 1`: a factor that explains nothing only
//!   moves `λ` and the shape). The lower-half fits of the choice hold `f =
//!   1`, as with only a few concurrencies a free factor would leave the
//!   shape to two of them.
//!
//! Fit: least squares on `log X` (every point weighs by its relative
//! error, so that a 1-racer point counts as much as a 256-racer one).
//! For fixed `(σ, σ_key, κ)` the best `log λ` and `log f` are a 2x2 linear
//! least squares in closed form; the three coefficients come from a
//! log-spaced grid (zero included) refined once around its best cell,
//! then polished by a pattern search. Grid search rather than
//! Gauss-Newton: it cannot diverge and finds the global minimum of a
//! small surface with cheap evaluations. A sweep whose points all share
//! one `H` cannot tell `σ` from `σ_key · H`; the fit then keeps `σ_key =
//! 0`.
//!
//! Assumptions: one resource pool whose throughput depends on the requests
//! in flight and how often they meet on a key; the same request mix at
//! every `N`. Where it breaks: a mix of very different requests (a 1 MiB
//! PUT and a GET share one `λ`); a generator that is itself the
//! bottleneck; a lower half with no sign of the coherency cost (both laws
//! fit `κ = 0`, the USL is kept, and the decline past the measured `N` is
//! a guess); and far past the measured `N` whichever law was chosen
//! (`lockwell plan validate` shows by how much).

/// Fewest points a fit needs (three parameters).
pub const MIN_FIT_POINTS: usize = 3;
/// Largest contention coefficient searched (1 = fully serial).
pub const MAX_SIGMA: f64 = 1.0;
/// Largest coherency coefficient searched.
pub const MAX_KAPPA: f64 = 1.0;

/// Largest per-collision contention coefficient searched.
pub const MAX_SIGMA_PER_KEY_COLLISION: f64 = 10.0;

/// In-flight values within this relative distance of a group's smallest
/// count as one concurrency when [`fit`] splits the samples in halves
/// (racer counts of a sweep are far more than 10% apart; the share of
/// time a racer spends in a request moves its value by less).
pub const SAME_CONCURRENCY: f64 = 0.1;

/// How much lower (RMS log error) a later candidate's extrapolation
/// error must be to replace an earlier one: the USL is kept when the two
/// extrapolate alike (when the lower half shows no coherency cost, both
/// fit `κ = 0` and differ only by rounding).
pub const CHOICE_MARGIN: f64 = 0.01;

const GRID_STEPS: usize = 16;
const REFINEMENTS: usize = 1;

/// How the coherency cost grows with the requests in flight `N`.
#[non_exhaustive]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Coherency {
    /// `κN(N - 1)`: every pair of requests in flight exchanges state
    /// (Gunther's USL); past the peak throughput falls as `1/N`.
    Pairwise,
    /// `κN ln N`: each request's own cost grows with the log of the
    /// requests in flight (run queues, caches, timer heaps); past the peak
    /// throughput falls as `1/ln N`.
    Logarithmic,
}

impl Coherency {
    /// Every candidate, the USL first (it wins ties).
    pub const ALL: [Self; 2] = [Self::Pairwise, Self::Logarithmic];

    /// The term `κ` multiplies at `N` in flight (0 at `N = 1`).
    #[must_use]
    pub fn growth(self, in_flight: f64) -> f64 {
        match self {
            Self::Pairwise => in_flight * (in_flight - 1.0),
            Self::Logarithmic => in_flight * in_flight.ln(),
        }
    }
}

impl std::fmt::Display for Coherency {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Pairwise => "kappa N(N-1) (USL)",
            Self::Logarithmic => "kappa N ln N",
        })
    }
}

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
    /// How the coherency cost grows.
    pub coherency: Coherency,
    /// Throughput of a lone request in flight over `λ` (1: none of the
    /// idle wake-ups described in the module documentation).
    pub lone_request_factor: f64,
}

/// How much of the lone-request factor applies at `N` in flight: all of
/// it at one request or fewer, none from two, linear in between.
#[must_use]
pub fn lone_share(in_flight: f64) -> f64 {
    (2.0 - in_flight).clamp(0.0, 1.0)
}

impl Usl {
    /// `X(N)` when two requests touch the same key with probability
    /// `key_collision`.
    #[must_use]
    pub fn throughput_per_s(&self, in_flight: f64, key_collision: f64) -> f64 {
        self.lambda_per_s * in_flight / self.denominator(in_flight, key_collision)
            * self.lone_request_factor.powf(lone_share(in_flight))
    }

    fn contention(&self, key_collision: f64) -> f64 {
        self.sigma + self.sigma_per_key_collision * key_collision
    }

    fn denominator(&self, in_flight: f64, key_collision: f64) -> f64 {
        1.0 + self.contention(key_collision) * (in_flight - 1.0)
            + self.kappa * self.coherency.growth(in_flight)
    }

    /// Mean time one request spends in flight at `N` (Little's law:
    /// `N / X(N)`), in seconds.
    #[must_use]
    pub fn latency_s(&self, in_flight: f64, key_collision: f64) -> f64 {
        in_flight / self.throughput_per_s(in_flight, key_collision)
    }

    /// The concurrency of peak throughput (`None` without coherency cost:
    /// throughput then rises forever towards `λ/σ`): where `d(N/D)/dN =
    /// 0`, `sqrt((1 - σ) / κ)` for the USL and `(1 - σ) / κ` for the
    /// logarithmic growth.
    #[must_use]
    pub fn peak_in_flight(&self, key_collision: f64) -> Option<f64> {
        (self.kappa > 0.0).then(|| {
            let ratio = (1.0 - self.contention(key_collision)).max(0.0) / self.kappa;
            match self.coherency {
                Coherency::Pairwise => ratio.sqrt(),
                Coherency::Logarithmic => ratio,
            }
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
    /// How [`fit`] chose the coherency growth (`None`: the lower half of
    /// the concurrencies could not be fitted alone, so the USL was kept).
    pub choice: Option<CoherencyChoice>,
}

impl UslFit {
    /// What a choice among fits compares: the chosen law's extrapolation
    /// error from the lower half of the concurrencies to the upper half,
    /// or without a choice the error on every point.
    #[must_use]
    pub fn choice_error(&self) -> f64 {
        self.choice
            .as_ref()
            .and_then(|choice| {
                choice
                    .extrapolation_rms_log_error
                    .iter()
                    .find(|(coherency, _)| *coherency == self.usl.coherency)
                    .map(|(_, error)| *error)
            })
            .unwrap_or(self.rms_log_error)
    }
}

/// How [`fit`] chose the coherency growth: each candidate fitted on the
/// lower half of the concurrencies, judged on the upper half.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoherencyChoice {
    /// The largest concurrency (requests in flight) of the lower half.
    pub lower_half_max_in_flight: f64,
    /// Per candidate, in [`Coherency::ALL`] order, the RMS of
    /// `ln(predicted / measured)` on the upper half.
    pub extrapolation_rms_log_error: Vec<(Coherency, f64)>,
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

/// The law of coefficients `[σ, σ_key, κ]` with `λ` and the lone-request
/// factor 1: what [`best_scale`] scales.
fn shape([sigma, sigma_per_key_collision, kappa]: [f64; 3], coherency: Coherency) -> Usl {
    Usl {
        lambda_per_s: 1.0,
        sigma,
        sigma_per_key_collision,
        kappa,
        coherency,
        lone_request_factor: 1.0,
    }
}

/// `ln λ` and `ln` of the lone-request factor that minimise the squared
/// log error for the shape `(σ, σ_key, κ)` (its `λ` and factor ignored),
/// and that error. Both enter `ln X` linearly (`ln X = ln λ + ln(N / D) +
/// w(N) ln f`), so they are a 2x2 linear least squares; without samples
/// below two in flight, or with [`LoneRequests::OnTheLaw`], the factor
/// stays 1.
fn best_scale(samples: &[Sample], shape: Usl, lone: LoneRequests) -> (f64, f64, f64) {
    let bare = Usl {
        lambda_per_s: 1.0,
        lone_request_factor: 1.0,
        ..shape
    };
    let rows: Vec<(f64, f64)> = samples
        .iter()
        .map(|sample| {
            (
                lone_share(sample.in_flight),
                sample.throughput_per_s.ln()
                    - bare
                        .throughput_per_s(sample.in_flight, sample.key_collision)
                        .ln(),
            )
        })
        .collect();
    let count = rows.len() as f64;
    let (sum_w, sum_ww, sum_y, sum_wy) = rows.iter().fold(
        (0.0, 0.0, 0.0, 0.0),
        |(sum_w, sum_ww, sum_y, sum_wy), &(w, y)| {
            (sum_w + w, sum_ww + w * w, sum_y + y, sum_wy + w * y)
        },
    );
    let determinant = count * sum_ww - sum_w * sum_w;
    let (log_lambda, log_factor) =
        if lone == LoneRequests::Fitted && determinant > 1e-9 * count * count {
            (
                (sum_ww * sum_y - sum_w * sum_wy) / determinant,
                (count * sum_wy - sum_w * sum_y) / determinant,
            )
        } else {
            (sum_y / count, 0.0)
        };
    let error = rows
        .iter()
        .map(|&(w, y)| (y - log_lambda - w * log_factor).powi(2))
        .sum();
    (log_lambda, log_factor, error)
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
fn polish(
    samples: &[Sample],
    coherency: Coherency,
    lone: LoneRequests,
    start: ([f64; 3], f64),
    one_collision: bool,
) -> [f64; 3] {
    const MIN_FACTOR: f64 = 1.0 + 1e-6;
    const MAX_STEPS: usize = 5_000;
    let limits = [MAX_SIGMA, MAX_SIGMA_PER_KEY_COLLISION, MAX_KAPPA];
    let error =
        |coefficients: [f64; 3]| best_scale(samples, shape(coefficients, coherency), lone).2;
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

fn check_samples(samples: &[Sample]) -> Result<(), UslError> {
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
    Ok(())
}

/// Whether a fit gives requests alone in flight their own factor.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoneRequests {
    /// The lone-request factor is fitted (the whole fit).
    Fitted,
    /// Lone requests are held to the law, factor 1 (the lower-half fits
    /// of [`fit`]: with few concurrencies a free factor would leave the
    /// shape to the two or three above one request).
    OnTheLaw,
}

/// Fits the samples with the coherency growth `coherency`.
///
/// # Errors
/// See [`UslError`].
pub fn fit_law(
    samples: &[Sample],
    coherency: Coherency,
    lone: LoneRequests,
) -> Result<UslFit, UslError> {
    check_samples(samples)?;
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
                    let (_, _, error) = best_scale(
                        samples,
                        shape([sigma, sigma_per_key_collision, kappa], coherency),
                        lone,
                    );
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
    let coefficients = polish(samples, coherency, lone, best, one_collision);
    let shape = shape(coefficients, coherency);
    let (log_lambda, log_factor, error) = best_scale(samples, shape, lone);
    debug_assert!(
        error <= best.1 + 1e-12,
        "polishing never makes the fit worse"
    );
    let usl = Usl {
        lambda_per_s: log_lambda.exp(),
        lone_request_factor: log_factor.exp(),
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
        choice: None,
    })
}

/// RMS of `ln(predicted / measured)` of `usl` on `samples`.
fn rms_log_error(usl: &Usl, samples: &[Sample]) -> f64 {
    let sum: f64 = samples
        .iter()
        .map(|sample| {
            (usl.throughput_per_s(sample.in_flight, sample.key_collision) / sample.throughput_per_s)
                .ln()
                .powi(2)
        })
        .sum();
    (sum / samples.len() as f64).sqrt()
}

/// The largest concurrency of the lower half: the samples' in-flight
/// values grouped into concurrencies (a value within
/// [`SAME_CONCURRENCY`] of the group's smallest joins it), and the
/// smaller half of the groups, the middle one included when their count
/// is odd.
fn lower_half_max_in_flight(samples: &[Sample]) -> f64 {
    let mut in_flight: Vec<f64> = samples.iter().map(|sample| sample.in_flight).collect();
    in_flight.sort_by(f64::total_cmp);
    let mut groups: Vec<(f64, f64)> = Vec::new();
    for value in in_flight {
        match groups.last_mut() {
            Some((smallest, largest)) if value <= *smallest * (1.0 + SAME_CONCURRENCY) => {
                *largest = value;
            }
            _ => groups.push((value, value)),
        }
    }
    groups[groups.len().div_ceil(2) - 1].1
}

/// The fit with a lone-request factor if that lowers the RMS log error by
/// more than [`CHOICE_MARGIN`], else the fit that holds lone requests to
/// the law: a factor that explains nothing only moves `λ` and the shape.
fn fit_with_lone_factor_if_it_counts(
    samples: &[Sample],
    coherency: Coherency,
) -> Result<UslFit, UslError> {
    let fitted = fit_law(samples, coherency, LoneRequests::Fitted)?;
    let on_the_law = fit_law(samples, coherency, LoneRequests::OnTheLaw)?;
    Ok(
        if fitted.rms_log_error < on_the_law.rms_log_error - CHOICE_MARGIN {
            fitted
        } else {
            on_the_law
        },
    )
}

/// Fits the samples with each [`Coherency`] and keeps the one that
/// extrapolates best within them: each candidate is fitted on the lower
/// half of the concurrencies and judged by its RMS log error on the upper
/// half; the winner is then fitted on every sample. The USL wins ties
/// (within [`CHOICE_MARGIN`]),
/// and is kept when the lower half cannot be fitted alone (fewer than
/// [`MIN_FIT_POINTS`] samples or one concurrency). The held-out samples
/// are the fitted ones: whatever a caller holds out of the whole fit
/// plays no part in the choice.
///
/// # Errors
/// See [`UslError`].
pub fn fit(samples: &[Sample]) -> Result<UslFit, UslError> {
    check_samples(samples)?;
    let split = lower_half_max_in_flight(samples);
    let (lower, upper): (Vec<Sample>, Vec<Sample>) =
        samples.iter().partition(|sample| sample.in_flight <= split);
    let mut scores = Vec::new();
    for coherency in Coherency::ALL {
        match fit_law(&lower, coherency, LoneRequests::OnTheLaw) {
            Ok(fit) => scores.push((coherency, rms_log_error(&fit.usl, &upper))),
            Err(_) => return fit_with_lone_factor_if_it_counts(samples, Coherency::Pairwise),
        }
    }
    let chosen = scores
        .iter()
        .fold(
            None,
            |best: Option<(Coherency, f64)>, &(coherency, error)| match best {
                Some((_, best_error)) if best_error <= error + CHOICE_MARGIN => best,
                _ => Some((coherency, error)),
            },
        )
        .expect("at least one candidate")
        .0;
    let mut fit = fit_with_lone_factor_if_it_counts(samples, chosen)?;
    fit.choice = Some(CoherencyChoice {
        lower_half_max_in_flight: split,
        extrapolation_rms_log_error: scores,
    });
    Ok(fit)
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
            coherency: Coherency::Pairwise,
            lone_request_factor: 1.0,
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

    fn samples_of(truth: &Usl, concurrencies: &[f64]) -> Vec<Sample> {
        concurrencies
            .iter()
            .flat_map(|&n| {
                [UNIFORM_1000, 1.0]
                    .map(|collision| sample(n, collision, truth.throughput_per_s(n, collision)))
            })
            .collect()
    }

    /// Each law, measured exactly at 1-64 in flight, is the one chosen:
    /// fitted on 1-8 it predicts 16-64, the other law does not.
    #[test]
    fn the_choice_picks_the_law_that_generated_the_points() {
        let concurrencies = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        let pairwise = law(5000.0, 0.05, 0.2, 0.02);
        let logarithmic = Usl {
            coherency: Coherency::Logarithmic,
            kappa: 0.1,
            ..pairwise
        };
        for truth in [pairwise, logarithmic] {
            let fit = fit(&samples_of(&truth, &concurrencies)).unwrap();
            assert_eq!(fit.usl.coherency, truth.coherency, "{fit:?}");
            let choice = fit.choice.as_ref().unwrap();
            assert_eq!(choice.lower_half_max_in_flight, 8.0);
            let errors: Vec<f64> = choice
                .extrapolation_rms_log_error
                .iter()
                .map(|(_, error)| *error)
                .collect();
            assert!(errors.iter().any(|error| *error < 0.01), "{choice:?}");
            assert!(errors.iter().any(|error| *error > 0.05), "{choice:?}");
            assert!(fit.rms_log_error < 0.005, "{fit:?}");
        }
    }

    /// Without coherency cost in the lower half both laws fit `κ = 0` and
    /// extrapolate alike: the USL is kept.
    #[test]
    fn the_usl_is_kept_when_both_laws_extrapolate_alike() {
        let fit = fit(&samples_of(
            &law(5000.0, 0.1, 0.0, 0.0),
            &[1.0, 2.0, 4.0, 8.0],
        ))
        .unwrap();
        assert_eq!(fit.usl.coherency, Coherency::Pairwise);
        assert!(fit.choice.is_some());
    }

    /// Two concurrencies cannot be split into halves that fit: no choice.
    #[test]
    fn too_few_concurrencies_keep_the_usl_without_a_choice() {
        let truth = Usl {
            coherency: Coherency::Logarithmic,
            ..law(5000.0, 0.05, 0.2, 0.02)
        };
        let fit = fit(&samples_of(&truth, &[1.0, 2.0])).unwrap();
        assert_eq!(fit.usl.coherency, Coherency::Pairwise);
        assert_eq!(fit.choice, None);
    }

    /// Hand-computed: the logarithmic law with λ = 100, σ = 0.1, κ = 0.01
    /// at N = 10 gives 1000 / (1 + 0.9 + 0.1 ln 10) = 1000 / 2.1303 =
    /// 469.43; its peak is at (1 - 0.1) / 0.01 = 90. A lone request with
    /// factor 0.5 runs at 50/s, and 1.5 in flight at 150 / (1 + 0.05 +
    /// 0.015 ln 1.5) x 0.5^0.5.
    #[test]
    fn hand_computed_logarithmic_law_and_lone_requests() {
        let usl = Usl {
            coherency: Coherency::Logarithmic,
            lone_request_factor: 0.5,
            ..law(100.0, 0.1, 0.0, 0.01)
        };
        let at_ten = 1000.0 / (1.9 + 0.1 * 10f64.ln());
        assert!((usl.throughput_per_s(10.0, 0.0) - at_ten).abs() < 1e-9);
        assert!((usl.peak_in_flight(0.0).unwrap() - 90.0).abs() < 1e-9);
        assert!((usl.throughput_per_s(1.0, 0.0) - 50.0).abs() < 1e-9);
        let at_one_and_a_half = 150.0 / (1.05 + 0.015 * 1.5f64.ln()) * 0.5f64.sqrt();
        assert!((usl.throughput_per_s(1.5, 0.0) - at_one_and_a_half).abs() < 1e-9);
        assert!((usl.latency_s(1.0, 0.0) - 0.02).abs() < 1e-12);
    }

    /// A lone request slower than the law (idle wake-ups) is fitted as the
    /// factor and leaves `λ` and the shape alone.
    #[test]
    fn a_slow_lone_request_is_fitted_as_its_factor() {
        let truth = Usl {
            lone_request_factor: 0.4,
            ..law(5000.0, 0.05, 0.2, 0.002)
        };
        let fit = fit_law(
            &samples_of(&truth, &[1.0, 2.0, 4.0, 8.0, 16.0, 64.0]),
            Coherency::Pairwise,
            LoneRequests::Fitted,
        )
        .unwrap();
        assert!((fit.usl.lone_request_factor - 0.4).abs() < 0.004, "{fit:?}");
        assert!(
            (fit.usl.lambda_per_s / 5000.0 - 1.0).abs() < 0.01,
            "{fit:?}"
        );
        assert!(fit.rms_log_error < 0.005, "{fit:?}");
    }

    /// Through [`fit`]: a slow lone request keeps its factor, a lone
    /// request on the law gets exactly 1.
    #[test]
    fn the_lone_request_factor_is_kept_only_where_it_counts() {
        let concurrencies = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0];
        let on_the_law = law(5000.0, 0.05, 0.2, 0.002);
        let slow = Usl {
            lone_request_factor: 0.4,
            ..on_the_law
        };
        let fitted = fit(&samples_of(&slow, &concurrencies)).unwrap();
        assert!(
            (fitted.usl.lone_request_factor - 0.4).abs() < 0.004,
            "{fitted:?}"
        );
        let fitted = fit(&samples_of(&on_the_law, &concurrencies)).unwrap();
        assert_eq!(fitted.usl.lone_request_factor, 1.0, "{fitted:?}");
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
