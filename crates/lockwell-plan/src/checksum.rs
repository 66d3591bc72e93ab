//! Checksum cost: CPU-seconds per GiB for each algorithm, and the cores a
//! target ingest rate needs.
//!
//! Formula: one core hashing at `v` GiB/s spends `1 / v` CPU-seconds per
//! GiB. A set of algorithms over the same bytes (lockwell-core's
//! `MultiHasher` runs each in turn over every chunk) costs the sum of its
//! members, and `R` GiB/s of ingest needs `R · Σ 1 / v_a` cores. The
//! interval comes from the slowest and fastest repetition of each
//! algorithm.
//!
//! Input: the JSON of `checksum-summary --json` (`subjects` named
//! `<algorithm>/multihasher`, each with median, min and max GiB/s at one
//! buffer size, measured on one core).
//!
//! Assumptions: hashing scales linearly over cores (bodies are hashed
//! independently) and the measured buffer size stands for the object
//! size. Where it breaks: objects much smaller than the measured buffer
//! (per-object setup dominates), memory bandwidth shared by many cores
//! (the summary's `memory-read` is the ceiling of all cores together), and
//! a machine other than the one measured (SHA extensions change SHA-1 and
//! SHA-256 several-fold).

use std::collections::BTreeMap;

use serde_json::Value;

/// The suffix of the engine's subjects in the summary.
const ENGINE_SUBJECT_SUFFIX: &str = "/multihasher";

/// CPU-seconds per GiB of one algorithm (or a set).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CpuSecondsPerGib {
    pub median: f64,
    /// From the fastest repetition.
    pub low: f64,
    /// From the slowest repetition.
    pub high: f64,
}

/// Cores for an ingest rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CoresEstimate {
    pub algorithms: Vec<String>,
    pub ingest_gib_per_s: f64,
    pub cost: CpuSecondsPerGib,
    pub cores: f64,
    pub cores_low: f64,
    pub cores_high: f64,
    pub buffer_len_bytes: u64,
}

/// Per-algorithm costs from one summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecksumCosts {
    costs: BTreeMap<String, CpuSecondsPerGib>,
    buffer_len_bytes: u64,
}

/// A summary or a question the costs cannot answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChecksumError {
    #[error("the checksum summary has no {0}")]
    Missing(&'static str),
    #[error("the checksum summary did not measure {algorithm} (measured: {measured})")]
    Unmeasured { algorithm: String, measured: String },
    #[error("name at least one algorithm and a positive ingest rate")]
    EmptyQuestion,
}

impl ChecksumCosts {
    /// Reads a `checksum-summary --json` document.
    ///
    /// # Errors
    /// A document without the engine's subjects.
    pub fn from_summary(summary: &Value) -> Result<Self, ChecksumError> {
        let buffer_len_bytes = summary
            .get("buffer_len_bytes")
            .and_then(Value::as_u64)
            .ok_or(ChecksumError::Missing("buffer_len_bytes"))?;
        let subjects = summary
            .get("subjects")
            .and_then(Value::as_array)
            .ok_or(ChecksumError::Missing("subjects"))?;
        let mut costs = BTreeMap::new();
        for subject in subjects {
            let Some(algorithm) = subject
                .get("name")
                .and_then(Value::as_str)
                .and_then(|name| name.strip_suffix(ENGINE_SUBJECT_SUFFIX))
            else {
                continue;
            };
            let rate = |field: &str| {
                subject
                    .pointer(&format!("/gib_per_s/{field}"))
                    .and_then(Value::as_f64)
                    .filter(|rate| *rate > 0.0)
                    .ok_or(ChecksumError::Missing("gib_per_s of a subject"))
            };
            costs.insert(
                algorithm.to_owned(),
                CpuSecondsPerGib {
                    median: 1.0 / rate("median")?,
                    low: 1.0 / rate("max")?,
                    high: 1.0 / rate("min")?,
                },
            );
        }
        if costs.is_empty() {
            return Err(ChecksumError::Missing("<algorithm>/multihasher subjects"));
        }
        Ok(Self {
            costs,
            buffer_len_bytes,
        })
    }

    /// The measured algorithms and their costs, by name.
    #[must_use]
    pub fn costs(&self) -> &BTreeMap<String, CpuSecondsPerGib> {
        &self.costs
    }

    /// Cores to hash `ingest_gib_per_s` with every algorithm of the set.
    ///
    /// # Errors
    /// An algorithm the summary did not measure, or an empty question.
    pub fn cores_for(
        &self,
        algorithms: &[String],
        ingest_gib_per_s: f64,
    ) -> Result<CoresEstimate, ChecksumError> {
        if algorithms.is_empty() || !(ingest_gib_per_s > 0.0 && ingest_gib_per_s.is_finite()) {
            return Err(ChecksumError::EmptyQuestion);
        }
        let mut cost = CpuSecondsPerGib {
            median: 0.0,
            low: 0.0,
            high: 0.0,
        };
        for algorithm in algorithms {
            let one =
                self.costs
                    .get(algorithm.as_str())
                    .ok_or_else(|| ChecksumError::Unmeasured {
                        algorithm: algorithm.clone(),
                        measured: self.costs.keys().cloned().collect::<Vec<_>>().join(", "),
                    })?;
            cost.median += one.median;
            cost.low += one.low;
            cost.high += one.high;
        }
        Ok(CoresEstimate {
            algorithms: algorithms.to_vec(),
            ingest_gib_per_s,
            cost,
            cores: ingest_gib_per_s * cost.median,
            cores_low: ingest_gib_per_s * cost.low,
            cores_high: ingest_gib_per_s * cost.high,
            buffer_len_bytes: self.buffer_len_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Value {
        serde_json::json!({
            "buffer_len_bytes": 1_048_576,
            "subjects": [
                { "name": "memcpy", "gib_per_s": { "median": 30.0, "min": 20.0, "max": 40.0 } },
                { "name": "sha256/multihasher", "gib_per_s": { "median": 2.0, "min": 1.0, "max": 4.0 } },
                { "name": "sha256/ring", "gib_per_s": { "median": 9.0, "min": 9.0, "max": 9.0 } },
                { "name": "md5/multihasher", "gib_per_s": { "median": 0.5, "min": 0.5, "max": 0.5 } },
            ],
        })
    }

    /// 2 GiB/s of SHA-256 at 2 GiB/s per core is one core; the slowest
    /// repetition (1 GiB/s) says two, the fastest (4 GiB/s) half of one.
    #[test]
    fn cores_are_ingest_over_per_core_throughput() {
        let costs = ChecksumCosts::from_summary(&summary()).unwrap();
        let estimate = costs.cores_for(&["sha256".to_owned()], 2.0).unwrap();
        assert_eq!(
            (estimate.cores, estimate.cores_low, estimate.cores_high),
            (1.0, 0.5, 2.0)
        );
        assert_eq!(estimate.cost.median, 0.5);
    }

    /// MD5 (2 s/GiB) plus SHA-256 (0.5 s/GiB) at 2 GiB/s: 5 cores.
    #[test]
    fn a_set_costs_the_sum_of_its_algorithms() {
        let costs = ChecksumCosts::from_summary(&summary()).unwrap();
        let estimate = costs
            .cores_for(&["md5".to_owned(), "sha256".to_owned()], 2.0)
            .unwrap();
        assert_eq!(estimate.cores, 5.0);
        assert_eq!(costs.costs().keys().collect::<Vec<_>>(), ["md5", "sha256"]);
    }

    #[test]
    fn unmeasured_algorithms_and_empty_questions_are_refused() {
        let costs = ChecksumCosts::from_summary(&summary()).unwrap();
        assert_eq!(
            costs.cores_for(&["crc32c".to_owned()], 1.0),
            Err(ChecksumError::Unmeasured {
                algorithm: "crc32c".to_owned(),
                measured: "md5, sha256".to_owned()
            })
        );
        assert_eq!(costs.cores_for(&[], 1.0), Err(ChecksumError::EmptyQuestion));
        assert_eq!(
            costs.cores_for(&["md5".to_owned()], 0.0),
            Err(ChecksumError::EmptyQuestion)
        );
        assert_eq!(
            ChecksumCosts::from_summary(
                &serde_json::json!({ "buffer_len_bytes": 1, "subjects": [] })
            ),
            Err(ChecksumError::Missing("<algorithm>/multihasher subjects"))
        );
    }
}
