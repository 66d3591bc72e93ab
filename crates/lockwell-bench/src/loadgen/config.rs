//! What a load-generator run does: loop mode, keys and skew, op mix,
//! payload, what a compare-and-swap racer does after losing, how long.
//! Durations are whole units named in the field (`warmup_ms`), so that the
//! config reads the same in a result file as on the command line.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::rng::SplitMix64;
use crate::zipf::{MAX_EXPONENT, MAX_KEY_COUNT};

/// Most workers (OS threads) of one generator process.
pub const MAX_WORKERS: usize = 4096;
/// Highest open-loop rate of one generator process.
pub const MAX_RATE_PER_S: f64 = 10_000_000.0;
/// Smallest payload: its first 16 bytes are stamped with the writer and a
/// sequence number, so that every write has new content and a new ETag. A
/// write of unchanged bytes would keep the ETag, and a stale If-Match would
/// then succeed (the ABA problem) and hide the contention being measured.
pub const MIN_PAYLOAD_LEN_BYTES: usize = 16;
/// Largest payload.
pub const MAX_PAYLOAD_LEN_BYTES: usize = 16 * 1024 * 1024;
/// Most attempts one compare-and-swap makes before giving up.
pub const MAX_CAS_ATTEMPTS: u32 = 1_000_000;
/// Interval log period limits.
pub const MIN_INTERVAL_MS: u64 = 10;
pub const MAX_INTERVAL_MS: u64 = 3_600_000;

/// How requests are issued.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "loop", rename_all = "snake_case")]
pub enum LoopMode {
    /// `racers` workers, each issuing its next operation as soon as the
    /// previous one completed. Measures capacity under contention; latency
    /// is what each racer saw, not what an arrival stream would see.
    Closed { racers: usize },
    /// Operations arrive on a fixed schedule, `rate_per_s` per second,
    /// served by `workers` workers. Latency counts from each operation's
    /// intended start, so time spent waiting for a free worker (because the
    /// system fell behind) is included: coordinated omission is corrected.
    Open { workers: usize, rate_per_s: f64 },
}

impl LoopMode {
    #[must_use]
    pub const fn workers(self) -> usize {
        match self {
            Self::Closed { racers } => racers,
            Self::Open { workers, .. } => workers,
        }
    }
}

/// When the measured part of a run ends.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopAfter {
    /// Start no operation later than this after the warm-up.
    DurationMs(u64),
    /// Start this many measured operations, across all workers.
    Operations(u64),
}

/// What a compare-and-swap racer does after its If-Match put lost (412 or
/// 409).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum CasRetry {
    /// Re-read and retry at once: under contention every loser comes back
    /// immediately and most retries lose again.
    Immediate,
    /// Sleep a uniformly random time in `[0, min(cap, base · 2^(n-1)))`
    /// after the `n`-th loss ("full jitter"), then re-read.
    Backoff { base_us: u64, cap_us: u64 },
}

impl CasRetry {
    /// The delay before attempt `attempt + 1` after `attempt` losses.
    pub(crate) fn delay(self, lost_attempts: u32, rng: &mut SplitMix64) -> Option<Duration> {
        match self {
            Self::Immediate => None,
            Self::Backoff { base_us, cap_us } => {
                let doublings = lost_attempts.saturating_sub(1).min(63);
                let ceiling_us = base_us.saturating_mul(1 << doublings).min(cap_us);
                Some(Duration::from_micros(rng.below(ceiling_us)))
            }
        }
    }
}

/// The operations a worker chooses among.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Create-only put (`If-None-Match: *`, C1) of the key's next
    /// generation (`k00000042/g17`): racers on a key compete for each
    /// generation; exactly one wins it, and everyone moves to the next.
    Create,
    /// Read-modify-write: GET, then put `If-Match` the ETag read (C2);
    /// after a loss, retry per [`CasRetry`].
    Cas,
    /// Unconditional put.
    Put,
    /// GET.
    Get,
}

impl Operation {
    pub const ALL: [Self; 4] = [Self::Create, Self::Cas, Self::Put, Self::Get];

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Cas => "cas",
            Self::Put => "put",
            Self::Get => "get",
        }
    }
}

/// Relative weights of the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpMix {
    pub create: u32,
    pub cas: u32,
    pub put: u32,
    pub get: u32,
}

impl OpMix {
    /// Compare-and-swap only.
    pub const CAS_ONLY: Self = Self {
        create: 0,
        cas: 1,
        put: 0,
        get: 0,
    };

    #[must_use]
    pub const fn weight(&self, operation: Operation) -> u32 {
        match operation {
            Operation::Create => self.create,
            Operation::Cas => self.cas,
            Operation::Put => self.put,
            Operation::Get => self.get,
        }
    }

    fn total(&self) -> u64 {
        Operation::ALL
            .iter()
            .map(|&operation| u64::from(self.weight(operation)))
            .sum()
    }

    /// Whether keys must exist before the run (reads and compare-and-swap
    /// start from an existing object).
    #[must_use]
    pub const fn needs_existing_keys(&self) -> bool {
        self.cas > 0 || self.get > 0
    }

    /// Draws an operation by weight.
    pub(crate) fn choose(&self, rng: &mut SplitMix64) -> Operation {
        let mut ticket = rng.below(self.total());
        for operation in Operation::ALL {
            let weight = u64::from(self.weight(operation));
            if ticket < weight {
                return operation;
            }
            ticket -= weight;
        }
        unreachable!("a ticket below the total weight falls on an operation")
    }
}

impl fmt::Display for OpMix {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Operation::ALL
            .iter()
            .filter(|&&operation| self.weight(operation) > 0)
            .map(|&operation| format!("{}={}", operation.name(), self.weight(operation)))
            .collect();
        formatter.write_str(&parts.join(","))
    }
}

/// An op mix that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("op mix {text:?}: {reason} (expected e.g. `cas=1` or `create=1,get=3`)")]
pub struct OpMixError {
    text: String,
    reason: &'static str,
}

impl FromStr for OpMix {
    type Err = OpMixError;

    /// `name=weight` pairs separated by commas; a bare name weighs 1.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| OpMixError {
            text: text.to_owned(),
            reason,
        };
        let mut mix = Self {
            create: 0,
            cas: 0,
            put: 0,
            get: 0,
        };
        for part in text.split(',') {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| error("a weight is not a whole number"))?;
            let slot = match name.trim() {
                "create" => &mut mix.create,
                "cas" => &mut mix.cas,
                "put" => &mut mix.put,
                "get" => &mut mix.get,
                _ => return Err(error("unknown operation (create, cas, put, get)")),
            };
            *slot = slot
                .checked_add(weight)
                .ok_or_else(|| error("weight too large"))?;
        }
        if mix.total() == 0 {
            return Err(error("all weights are zero"));
        }
        Ok(mix)
    }
}

/// A whole run's parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadConfig {
    pub mode: LoopMode,
    pub key_count: usize,
    /// Zipf exponent of key popularity; 0 is uniform.
    pub zipf_exponent: f64,
    pub mix: OpMix,
    pub payload_len_bytes: usize,
    pub cas_retry: CasRetry,
    pub cas_max_attempts: u32,
    /// Operations that start (closed loop) or are scheduled (open loop)
    /// within this time after the start are not measured.
    pub warmup_ms: u64,
    pub stop: StopAfter,
    /// Period of the interval log and of progress reports.
    pub interval_ms: u64,
    pub seed: u64,
}

/// A config outside the limits.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("workers must be between 1 and {MAX_WORKERS}, not {0}")]
    Workers(usize),
    #[error("the rate must be above 0 and at most {MAX_RATE_PER_S}/s, not {0}")]
    Rate(f64),
    #[error("the key count must be between 1 and {MAX_KEY_COUNT}, not {0}")]
    KeyCount(usize),
    #[error("the zipf exponent must be between 0 and {MAX_EXPONENT}, not {0}")]
    ZipfExponent(f64),
    #[error(
        "the payload must be between {MIN_PAYLOAD_LEN_BYTES} and {MAX_PAYLOAD_LEN_BYTES} bytes, not {0}"
    )]
    Payload(usize),
    #[error("compare-and-swap attempts must be between 1 and {MAX_CAS_ATTEMPTS}, not {0}")]
    CasAttempts(u32),
    #[error("the backoff base must be above 0 and at most the cap ({base_us} us > {cap_us} us)")]
    Backoff { base_us: u64, cap_us: u64 },
    #[error("the run must measure something: a duration or an operation count above 0")]
    EmptyRun,
    #[error("the interval must be between {MIN_INTERVAL_MS} and {MAX_INTERVAL_MS} ms, not {0}")]
    Interval(u64),
}

impl LoadConfig {
    /// # Errors
    /// The first parameter outside its limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let workers = self.mode.workers();
        if !(1..=MAX_WORKERS).contains(&workers) {
            return Err(ConfigError::Workers(workers));
        }
        if let LoopMode::Open { rate_per_s, .. } = self.mode
            && !(rate_per_s > 0.0 && rate_per_s <= MAX_RATE_PER_S)
        {
            return Err(ConfigError::Rate(rate_per_s));
        }
        if !(1..=MAX_KEY_COUNT).contains(&self.key_count) {
            return Err(ConfigError::KeyCount(self.key_count));
        }
        if !(0.0..=MAX_EXPONENT).contains(&self.zipf_exponent) {
            return Err(ConfigError::ZipfExponent(self.zipf_exponent));
        }
        if !(MIN_PAYLOAD_LEN_BYTES..=MAX_PAYLOAD_LEN_BYTES).contains(&self.payload_len_bytes) {
            return Err(ConfigError::Payload(self.payload_len_bytes));
        }
        if !(1..=MAX_CAS_ATTEMPTS).contains(&self.cas_max_attempts) {
            return Err(ConfigError::CasAttempts(self.cas_max_attempts));
        }
        if let CasRetry::Backoff { base_us, cap_us } = self.cas_retry
            && (base_us == 0 || base_us > cap_us)
        {
            return Err(ConfigError::Backoff { base_us, cap_us });
        }
        if matches!(
            self.stop,
            StopAfter::DurationMs(0) | StopAfter::Operations(0)
        ) {
            return Err(ConfigError::EmptyRun);
        }
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&self.interval_ms) {
            return Err(ConfigError::Interval(self.interval_ms));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> LoadConfig {
        LoadConfig {
            mode: LoopMode::Closed { racers: 4 },
            key_count: 10,
            zipf_exponent: 0.99,
            mix: OpMix::CAS_ONLY,
            payload_len_bytes: 64,
            cas_retry: CasRetry::Immediate,
            cas_max_attempts: 100,
            warmup_ms: 0,
            stop: StopAfter::Operations(100),
            interval_ms: 1000,
            seed: 1,
        }
    }

    #[test]
    fn limits_are_enforced_at_their_edges() {
        type Edit = fn(&mut LoadConfig);
        let accepted: [Edit; 8] = [
            |c| {
                c.mode = LoopMode::Closed {
                    racers: MAX_WORKERS,
                }
            },
            |c| {
                c.mode = LoopMode::Open {
                    workers: 1,
                    rate_per_s: MAX_RATE_PER_S,
                }
            },
            |c| c.key_count = MAX_KEY_COUNT,
            |c| c.payload_len_bytes = MIN_PAYLOAD_LEN_BYTES,
            |c| c.payload_len_bytes = MAX_PAYLOAD_LEN_BYTES,
            |c| c.cas_max_attempts = MAX_CAS_ATTEMPTS,
            |c| {
                c.cas_retry = CasRetry::Backoff {
                    base_us: 5,
                    cap_us: 5,
                }
            },
            |c| c.interval_ms = MIN_INTERVAL_MS,
        ];
        for edit in accepted {
            let mut config = valid();
            edit(&mut config);
            assert_eq!(config.validate(), Ok(()), "{config:?}");
        }
        let rejected: [(Edit, ConfigError); 10] = [
            (
                |c| c.mode = LoopMode::Closed { racers: 0 },
                ConfigError::Workers(0),
            ),
            (
                |c| {
                    c.mode = LoopMode::Closed {
                        racers: MAX_WORKERS + 1,
                    }
                },
                ConfigError::Workers(MAX_WORKERS + 1),
            ),
            (
                |c| {
                    c.mode = LoopMode::Open {
                        workers: 1,
                        rate_per_s: 0.0,
                    }
                },
                ConfigError::Rate(0.0),
            ),
            (|c| c.key_count = 0, ConfigError::KeyCount(0)),
            (|c| c.zipf_exponent = -1.0, ConfigError::ZipfExponent(-1.0)),
            (
                |c| c.payload_len_bytes = MIN_PAYLOAD_LEN_BYTES - 1,
                ConfigError::Payload(MIN_PAYLOAD_LEN_BYTES - 1),
            ),
            (|c| c.cas_max_attempts = 0, ConfigError::CasAttempts(0)),
            (
                |c| {
                    c.cas_retry = CasRetry::Backoff {
                        base_us: 10,
                        cap_us: 5,
                    }
                },
                ConfigError::Backoff {
                    base_us: 10,
                    cap_us: 5,
                },
            ),
            (|c| c.stop = StopAfter::DurationMs(0), ConfigError::EmptyRun),
            (
                |c| c.interval_ms = MAX_INTERVAL_MS + 1,
                ConfigError::Interval(MAX_INTERVAL_MS + 1),
            ),
        ];
        for (edit, expected) in rejected {
            let mut config = valid();
            edit(&mut config);
            assert_eq!(config.validate(), Err(expected));
        }
    }

    #[test]
    fn op_mixes_parse_and_print() {
        let cases = [
            ("cas", Some("cas=1")),
            ("create=1,get=3", Some("create=1,get=3")),
            (" put = 2 , put=1", Some("put=3")),
            ("cas=0", None),
            ("cas=x", None),
            ("delete=1", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<OpMix>().ok().map(|mix| mix.to_string());
            assert_eq!(parsed.as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn op_mix_draws_follow_the_weights() {
        let mix: OpMix = "create=1,get=3".parse().unwrap();
        let mut rng = SplitMix64::new(9);
        let draws = 40_000;
        let gets = (0..draws)
            .filter(|_| mix.choose(&mut rng) == Operation::Get)
            .count();
        assert!((29_000..31_000).contains(&gets), "{gets}");
    }

    #[test]
    fn backoff_is_full_jitter_doubling_up_to_the_cap() {
        let retry = CasRetry::Backoff {
            base_us: 100,
            cap_us: 1000,
        };
        let mut rng = SplitMix64::new(4);
        for (lost_attempts, ceiling_us) in [(1, 100), (2, 200), (4, 800), (5, 1000), (200, 1000)] {
            let delays: Vec<Duration> = (0..2000)
                .map(|_| retry.delay(lost_attempts, &mut rng).unwrap())
                .collect();
            let ceiling = Duration::from_micros(ceiling_us);
            assert!(
                delays.iter().all(|&delay| delay < ceiling),
                "{lost_attempts}"
            );
            let largest = delays.iter().max().unwrap();
            assert!(*largest * 10 > ceiling * 9, "spread over the range");
        }
        assert_eq!(CasRetry::Immediate.delay(3, &mut rng), None);
    }
}
