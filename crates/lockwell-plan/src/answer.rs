//! Capacity questions and their answers from a fitted [`Model`].
//!
//! A [`Question`] names a workload (keys, skew, op mix, object size, retry
//! policy) and any of: a latency SLO (`p99<=5ms`), a client count, a
//! goodput target. [`answer`] gives the largest concurrency per instance
//! that meets the SLO with the predictions there, the instances the
//! clients or the goodput target need, each with intervals.
//!
//! Instances: keys are hash-partitioned over identical instances, clients
//! spread evenly and send each operation to the key's instance (so every
//! instance sees the same key popularity and an equal share of the
//! operations, see [`crate::model`]). A hot key is on one instance: its
//! commits come from every client and its conflicts grow with the total,
//! which is why adding instances cannot push goodput past what the hottest
//! key allows.
//!
//! Range: the model is refused for payload sizes the sweep did not
//! measure, skews more than [`ZIPF_MARGIN`] outside the measured ones, and
//! per-instance concurrency above [`MAX_EXTRAPOLATION`] times the largest
//! measured; a client count above that is answered with more instances.

use std::fmt;
use std::str::FromStr;

use crate::model::{Estimate, Model, PredictError, Prediction};
use crate::sweep::Workload;

/// How far past the largest measured racer count one instance is predicted.
pub const MAX_EXTRAPOLATION: f64 = 2.0;
/// How far outside the measured zipf exponents a question may be.
pub const ZIPF_MARGIN: f64 = 0.3;
/// Most instances an answer considers.
pub const MAX_INSTANCES: u32 = 1 << 16;

/// A latency quantile of whole operations.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantile {
    P50,
    P99,
}

/// `p99<=5ms`: a quantile of operation latency and its bound.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slo {
    pub quantile: Quantile,
    pub max_s: f64,
}

impl Slo {
    fn of(&self, prediction: &Prediction) -> Estimate {
        match self.quantile {
            Quantile::P50 => prediction.operation_p50_s,
            Quantile::P99 => prediction.operation_p99_s,
        }
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.quantile {
            Quantile::P50 => "p50",
            Quantile::P99 => "p99",
        };
        write!(formatter, "{name}<={}ms", self.max_s * 1e3)
    }
}

/// An SLO that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SLO {0:?} is not like `p99<=5ms` (quantile p50 or p99; unit us, ms or s)")]
pub struct SloError(String);

impl FromStr for Slo {
    type Err = SloError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || SloError(text.to_owned());
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (quantile, bound) = compact
            .split_once("<=")
            .or_else(|| compact.split_once('<'))
            .ok_or_else(error)?;
        let quantile = match quantile.to_ascii_lowercase().as_str() {
            "p50" => Quantile::P50,
            "p99" => Quantile::P99,
            _ => return Err(error()),
        };
        let split = bound
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(error)?;
        let (number, unit) = bound.split_at(split);
        let value: f64 = number.parse().map_err(|_| error())?;
        let seconds_per_unit = match unit {
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            _ => return Err(error()),
        };
        let max_s = value * seconds_per_unit;
        if !(max_s > 0.0 && max_s.is_finite()) {
            return Err(error());
        }
        Ok(Self { quantile, max_s })
    }
}

/// What a user asks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Question {
    pub workload: Workload,
    pub slo: Option<Slo>,
    /// Clients running the workload closed-loop, over all instances.
    pub clients: Option<u32>,
    /// Successful writes/s over all instances.
    pub target_goodput_writes_per_s: Option<f64>,
}

/// The largest concurrency per instance that meets the SLO.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SloAnswer {
    Met {
        concurrency: u32,
        /// The largest whose interval's upper end meets it too (`None` if
        /// not even one racer is sure to).
        conservative_concurrency: Option<u32>,
        /// Whether the search stopped at the range limit rather than at
        /// the SLO.
        limited_by_range: bool,
        prediction: Prediction,
    },
    /// Not even one racer meets it.
    Unmet { prediction_at_one: Prediction },
}

/// Instances and what they do together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    pub instances: u32,
    pub concurrency_per_instance: f64,
    /// Per instance.
    pub prediction: Prediction,
    pub total_goodput_writes_per_s: Estimate,
}

/// The instances a goodput target needs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GoodputAnswer {
    Reachable(Deployment),
    /// Even [`MAX_INSTANCES`] do not reach it: the best found.
    Unreachable {
        best: Deployment,
    },
}

/// Everything [`answer`] says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    pub question: Question,
    /// Per-instance concurrency searched: 1 to this.
    pub concurrency_limit: u32,
    pub slo: Option<SloAnswer>,
    pub clients: Option<Deployment>,
    pub goodput: Option<GoodputAnswer>,
    /// The assumptions the numbers rest on, and warnings about the range.
    pub notes: Vec<String>,
}

/// Why a question is not answered.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "zipf {asked} is outside the measured {low}..{high} (± {ZIPF_MARGIN}); sweep that skew \
         first instead of trusting an extrapolation"
    )]
    Zipf { asked: f64, low: f64, high: f64 },
    #[error(transparent)]
    Predict(#[from] PredictError),
    #[error("the goodput target must be a positive number of writes/s")]
    Target,
}

/// Answers `question` from `model`.
///
/// # Errors
/// A question outside the measured range (see [`Refusal`]).
pub fn answer(model: &Model, question: &Question) -> Result<Answer, Refusal> {
    let workload = &question.workload;
    let (low, high) = model.range.zipf_exponent;
    if workload.zipf_exponent < low - ZIPF_MARGIN || workload.zipf_exponent > high + ZIPF_MARGIN {
        return Err(Refusal::Zipf {
            asked: workload.zipf_exponent,
            low,
            high,
        });
    }
    if let Some(target) = question.target_goodput_writes_per_s
        && !(target > 0.0 && target.is_finite())
    {
        return Err(Refusal::Target);
    }
    let concurrency_limit = (f64::from(model.range.racers.1) * MAX_EXTRAPOLATION)
        .floor()
        .max(1.0) as u32;
    let predict = |concurrency: f64, instances: u32| {
        model.predict_partitioned(workload, concurrency, instances)
    };
    // Fails early on a payload or mix the model cannot predict.
    predict(1.0, 1)?;

    let mut notes = vec![
        format!(
            "measured range: {}..{} racers, {}..{} keys, zipf {}..{}, payloads {:?} B; one \
             instance is predicted up to {concurrency_limit} racers ({MAX_EXTRAPOLATION}x the \
             largest measured)",
            model.range.racers.0,
            model.range.racers.1,
            model.range.key_count.0,
            model.range.key_count.1,
            low,
            high,
            model.range.payload_len_bytes,
        ),
        format!(
            "intervals: ±{:.0}x the model's RMS error on the measured points (goodput x/÷ {:.2}, \
             p99 x/÷ {:.2}, conflict rate ± {:.3})",
            crate::model::INTERVAL_WIDTH_SIGMAS,
            (crate::model::INTERVAL_WIDTH_SIGMAS * model.errors.goodput_log_rms).exp(),
            (crate::model::INTERVAL_WIDTH_SIGMAS * model.errors.p99_log_rms).exp(),
            crate::model::INTERVAL_WIDTH_SIGMAS * model.errors.conflict_rms,
        ),
    ];
    if workload.key_count < model.range.key_count.0 || workload.key_count > model.range.key_count.1
    {
        notes.push(format!(
            "{} keys is outside the measured key counts: the conflict model is analytic in the \
             key popularity, but its window coefficient was fitted on the measured keys only",
            workload.key_count
        ));
    }

    // The largest per-instance concurrency meeting the SLO with `instances`:
    // the p99 grows with concurrency (queueing and conflicts), so a binary
    // search finds the boundary.
    let largest_meeting =
        |slo: &Slo, instances: u32, upper_end: bool| -> Result<Option<u32>, Refusal> {
            let meets = |concurrency: u32| -> Result<bool, Refusal> {
                let prediction = predict(f64::from(concurrency), instances)?;
                let value = slo.of(&prediction);
                Ok(if upper_end { value.high } else { value.value } <= slo.max_s)
            };
            if !meets(1)? {
                return Ok(None);
            }
            let (mut good, mut bad) = (1, concurrency_limit + 1);
            while bad - good > 1 {
                let middle = good + (bad - good) / 2;
                if meets(middle)? {
                    good = middle;
                } else {
                    bad = middle;
                }
            }
            Ok(Some(good))
        };

    let slo = match &question.slo {
        None => None,
        Some(slo) => Some(match largest_meeting(slo, 1, false)? {
            None => SloAnswer::Unmet {
                prediction_at_one: predict(1.0, 1)?,
            },
            Some(concurrency) => SloAnswer::Met {
                concurrency,
                conservative_concurrency: largest_meeting(slo, 1, true)?,
                limited_by_range: concurrency == concurrency_limit,
                prediction: predict(f64::from(concurrency), 1)?,
            },
        }),
    };

    // Per-instance concurrency with `instances`: the SLO's limit, or the
    // largest measured racer count without an SLO.
    let per_instance = |instances: u32| -> Result<Option<u32>, Refusal> {
        match &question.slo {
            Some(slo) => largest_meeting(slo, instances, false),
            None => Ok(Some(model.range.racers.1)),
        }
    };
    let deployment = |instances: u32, concurrency: f64| -> Result<Deployment, Refusal> {
        let prediction = predict(concurrency, instances)?;
        let total = |value: f64| value * f64::from(instances);
        Ok(Deployment {
            instances,
            concurrency_per_instance: concurrency,
            total_goodput_writes_per_s: Estimate {
                value: total(prediction.goodput_writes_per_s.value),
                low: total(prediction.goodput_writes_per_s.low),
                high: total(prediction.goodput_writes_per_s.high),
            },
            prediction,
        })
    };

    let clients = match question.clients {
        None => None,
        Some(clients) => {
            let clients_f = f64::from(clients.max(1));
            // Jump to the count that the current per-instance limit asks
            // for; more instances mean more conflicts on shared hot keys,
            // so the limit can only fall and the loop only moves up.
            let mut instances = 1u32;
            while instances < MAX_INSTANCES {
                let per = clients_f / f64::from(instances);
                // When no concurrency meets the SLO (the SLO answer says
                // so), the range limit still bounds each instance.
                let limit = per_instance(instances)?
                    .unwrap_or(concurrency_limit)
                    .min(concurrency_limit);
                if per <= f64::from(limit) {
                    break;
                }
                let needed = (clients_f / f64::from(limit)).ceil() as u32;
                instances = needed.max(instances + 1).min(MAX_INSTANCES);
            }
            let per = (clients_f / f64::from(instances)).max(1.0);
            notes.push(format!(
                "{clients} clients: {instances} instance(s) of {per:.1} clients each, keys \
                 hash-partitioned over the instances"
            ));
            Some(deployment(instances, per)?)
        }
    };

    let goodput = match question.target_goodput_writes_per_s {
        None => None,
        Some(target) => {
            let total_at = |instances: u32| -> Result<Option<Deployment>, Refusal> {
                per_instance(instances)?
                    .map(|concurrency| deployment(instances, f64::from(concurrency)))
                    .transpose()
            };
            let reaches = |deployment: &Option<Deployment>| {
                deployment
                    .as_ref()
                    .is_some_and(|d| d.total_goodput_writes_per_s.value >= target)
            };
            // Doubling, then bisection between the last short and the
            // first sufficient count.
            let mut short = 0u32;
            let mut instances = 1u32;
            let mut best: Option<Deployment> = None;
            let found = loop {
                let at = total_at(instances)?;
                if reaches(&at) {
                    break at;
                }
                if let Some(current) = &at
                    && best.as_ref().is_none_or(|b| {
                        current.total_goodput_writes_per_s.value
                            > b.total_goodput_writes_per_s.value
                    })
                {
                    best = at.clone();
                }
                short = instances;
                if instances >= MAX_INSTANCES {
                    break None;
                }
                instances = (instances * 2).min(MAX_INSTANCES);
            };
            match found {
                None => best.map(|best| GoodputAnswer::Unreachable { best }),
                Some(mut sufficient) => {
                    let mut enough = sufficient.instances;
                    while enough - short > 1 {
                        let middle = short + (enough - short) / 2;
                        let at = total_at(middle)?;
                        if reaches(&at) {
                            enough = middle;
                            sufficient = at.expect("reaches implies a deployment");
                        } else {
                            short = middle;
                        }
                    }
                    Some(GoodputAnswer::Reachable(sufficient))
                }
            }
        }
    };
    if question.clients.is_some() || question.target_goodput_writes_per_s.is_some() {
        notes.push(
            "instances: keys hash-partitioned over identical instances, clients spread evenly \
             and each operation sent to its key's instance; a key's conflicts come from all \
             clients, its queueing from its instance's"
                .to_owned(),
        );
    }
    Ok(Answer {
        question: question.clone(),
        concurrency_limit,
        slo,
        clients,
        goodput,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fit;
    use crate::model::tests::{exact_point, exact_sweep};

    fn question(slo: &str, keys: u64, skew: f64) -> Question {
        Question {
            workload: exact_point(1, keys, skew).workload,
            slo: Some(slo.parse().unwrap()),
            clients: None,
            target_goodput_writes_per_s: None,
        }
    }

    #[test]
    fn the_slo_concurrency_meets_the_slo_and_one_more_racer_does_not() {
        let model = fit(&exact_sweep()).unwrap();
        let question = question("p99<=20ms", 1000, 0.9);
        let answer = answer(&model, &question).unwrap();
        let Some(SloAnswer::Met {
            concurrency,
            limited_by_range: false,
            ..
        }) = answer.slo
        else {
            panic!("{answer:?}");
        };
        let p99 = |racers: u32| {
            model
                .predict(&question.workload, f64::from(racers))
                .unwrap()
                .operation_p99_s
                .value
        };
        assert!(p99(concurrency) <= 20e-3, "{concurrency}");
        assert!(p99(concurrency + 1) > 20e-3, "{concurrency}");
    }

    #[test]
    fn an_slo_below_one_racers_latency_is_unmet() {
        let model = fit(&exact_sweep()).unwrap();
        let answer = answer(&model, &question("p99<=1us", 1000, 0.0)).unwrap();
        assert!(
            matches!(answer.slo, Some(SloAnswer::Unmet { .. })),
            "{answer:?}"
        );
    }

    #[test]
    fn clients_beyond_one_instance_are_spread_over_instances() {
        let model = fit(&exact_sweep()).unwrap();
        let mut question = question("p99<=50ms", 1_000_000, 0.9);
        question.clients = Some(2000);
        question.target_goodput_writes_per_s = Some(20_000.0);
        let answer = answer(&model, &question).unwrap();
        let clients = answer.clients.unwrap();
        assert!(clients.instances > 1);
        assert!(clients.concurrency_per_instance <= f64::from(answer.concurrency_limit));
        let Some(GoodputAnswer::Reachable(deployment)) = answer.goodput else {
            panic!("{:?}", answer.goodput);
        };
        assert!(deployment.total_goodput_writes_per_s.value >= 20_000.0);
    }

    #[test]
    fn clients_stay_within_the_range_limit_when_the_slo_cannot_be_met() {
        let model = fit(&exact_sweep()).unwrap();
        let mut question = question("p99<=1us", 1000, 0.0);
        question.clients = Some(5000);
        let answer = answer(&model, &question).unwrap();
        assert!(matches!(answer.slo, Some(SloAnswer::Unmet { .. })));
        let clients = answer.clients.unwrap();
        assert!(clients.concurrency_per_instance <= f64::from(answer.concurrency_limit));
        assert_eq!(
            clients.instances,
            5000u32.div_ceil(answer.concurrency_limit),
            "{clients:?}"
        );
    }

    /// One key commits at most about once per window however many
    /// instances share it.
    #[test]
    fn a_hot_key_caps_goodput_whatever_the_instances() {
        let model = fit(&exact_sweep()).unwrap();
        let mut question = question("p99<=1s", 1, 0.0);
        question.target_goodput_writes_per_s = Some(1e9);
        let answer = answer(&model, &question).unwrap();
        assert!(
            matches!(answer.goodput, Some(GoodputAnswer::Unreachable { .. })),
            "{:?}",
            answer.goodput
        );
    }

    #[test]
    fn skews_far_outside_the_sweep_are_refused() {
        let model = fit(&exact_sweep()).unwrap();
        assert!(matches!(
            answer(&model, &question("p99<=5ms", 1000, 2.0)),
            Err(Refusal::Zipf { asked: 2.0, .. })
        ));
        assert!(answer(&model, &question("p99<=5ms", 1000, 1.5)).is_ok());
    }

    #[test]
    fn slos_parse_quantile_bound_and_unit() {
        let cases = [
            ("p99<=5ms", Some((Quantile::P99, 5e-3))),
            ("P50 <= 250us", Some((Quantile::P50, 250e-6))),
            ("p99<1.5s", Some((Quantile::P99, 1.5))),
            ("p95<=5ms", None),
            ("p99<=5", None),
            ("p99<=0ms", None),
            ("p99>=5ms", None),
        ];
        for (text, expected) in cases {
            let parsed = text
                .parse::<Slo>()
                .ok()
                .map(|slo| (slo.quantile, slo.max_s));
            match (parsed, expected) {
                (Some((quantile, max_s)), Some((expected_quantile, expected_s))) => {
                    assert_eq!(quantile, expected_quantile, "{text}");
                    assert!((max_s - expected_s).abs() < 1e-12, "{text}");
                }
                (parsed, expected) => assert_eq!(parsed.is_some(), expected.is_some(), "{text}"),
            }
        }
    }
}
