//! One worker: draws operations, runs them through its connection, times
//! every request, and hands its histograms to the collector once per
//! interval.
//!
//! Timing: a request is timed around `Connection::execute` only; an
//! operation from its actual start (view `operation`) and, in an open loop,
//! from its intended start (view `intended`). An operation belongs to the
//! measured part of the run when it started (or was scheduled) after the
//! warm-up; its samples land in the interval of their completion.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::clock::{now, sleep_until};
use super::config::{LoadConfig, LoopMode, Operation, StopAfter};
use super::target::{Connection, Outcome, PutCondition, Request, RequestKind, Response};
use crate::rng::SplitMix64;
use crate::zipf::Zipf;

/// Largest latency a histogram holds; longer ones are recorded as this
/// (saturated), which a timeout far below it never reaches.
pub const MAX_RECORDED_LATENCY_NS: u64 = 3_600_000_000_000;

/// Significant decimal digits of every histogram: 0.1% resolution.
pub const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 3;

/// Identifies one histogram: what was timed, from when, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HistogramKey {
    /// One request, send to response.
    Request { kind: RequestKind, outcome: Outcome },
    /// A whole operation from its actual start.
    Operation {
        operation: Operation,
        outcome: Outcome,
    },
    /// A whole operation from its intended start (open loop only).
    Intended {
        operation: Operation,
        outcome: Outcome,
    },
}

impl HistogramKey {
    /// `request`, `operation` or `intended`.
    #[must_use]
    pub const fn view(&self) -> &'static str {
        match self {
            Self::Request { .. } => "request",
            Self::Operation { .. } => "operation",
            Self::Intended { .. } => "intended",
        }
    }

    /// The request kind or operation name.
    #[must_use]
    pub const fn op(&self) -> &'static str {
        match self {
            Self::Request { kind, .. } => kind.name(),
            Self::Operation { operation, .. } | Self::Intended { operation, .. } => {
                operation.name()
            }
        }
    }

    #[must_use]
    pub const fn outcome(&self) -> Outcome {
        match self {
            Self::Request { outcome, .. }
            | Self::Operation { outcome, .. }
            | Self::Intended { outcome, .. } => *outcome,
        }
    }

    /// `view/op/outcome`, the interval-log tag.
    #[must_use]
    pub fn tag(&self) -> String {
        format!("{}/{}/{}", self.view(), self.op(), self.outcome().code())
    }

    /// The key whose [`Self::view`], [`Self::op`] and outcome code are
    /// these (as in a result file's histograms); `None` for names this
    /// build does not know.
    #[must_use]
    pub fn from_names(view: &str, op: &str, outcome: &str) -> Option<Self> {
        let outcome = Outcome::ALL
            .into_iter()
            .find(|candidate| candidate.code() == outcome)?;
        let operation = || {
            Operation::ALL
                .into_iter()
                .find(|candidate| candidate.name() == op)
        };
        match view {
            "request" => RequestKind::ALL
                .into_iter()
                .find(|candidate| candidate.name() == op)
                .map(|kind| Self::Request { kind, outcome }),
            "operation" => operation().map(|operation| Self::Operation { operation, outcome }),
            "intended" => operation().map(|operation| Self::Intended { operation, outcome }),
            _ => None,
        }
    }
}

pub type Histograms = BTreeMap<HistogramKey, Histogram<u64>>;

/// A new empty latency histogram in nanoseconds.
#[must_use]
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_RECORDED_LATENCY_NS, HISTOGRAM_SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// What a worker sends the collector.
pub(crate) struct IntervalReport {
    pub worker_index: usize,
    /// The interval these histograms belong to (0 = the first after the
    /// warm-up).
    pub interval_index: u64,
    pub histograms: Histograms,
    /// This worker sends nothing more for intervals below this one.
    pub complete_below: u64,
    /// Completion time of this worker's last measured operation, on its
    /// final report.
    pub last_completion: Option<Instant>,
}

/// The run-wide state workers share.
pub(crate) struct Shared<'a> {
    pub config: &'a LoadConfig,
    pub zipf: &'a Zipf,
    pub started: Instant,
    pub measure_start: Instant,
    pub interval: Duration,
    /// Closed loop with an operation count: measured operations started.
    pub measured_started: AtomicU64,
    /// Open loop: the next schedule slot to serve.
    pub next_slot: AtomicU64,
    /// Open loop: slots scheduled within the warm-up.
    pub warmup_slots: u64,
    /// Set by the caller to end the run early (a live view's quit key).
    pub stop: &'a AtomicBool,
}

impl Shared<'_> {
    /// When schedule slot `slot` is meant to start.
    fn intended_start(&self, slot: u64, rate_per_s: f64) -> Instant {
        self.started + Duration::from_secs_f64(slot as f64 / rate_per_s)
    }
}

/// The name of base key `rank`: `k00000042`. Eight digits cover every rank
/// below the zipf limit, and a fixed width keeps keys in rank order.
pub(crate) fn write_key(into: &mut String, rank: usize) {
    into.clear();
    write!(into, "k{rank:08}").expect("writing to a String cannot fail");
}

/// A request's timing, kept until its operation is known to be measured.
struct RequestSample {
    kind: RequestKind,
    outcome: Outcome,
    latency: Duration,
    finished: Instant,
}

/// A connection that times what it executes.
struct TimedConnection<C> {
    connection: C,
    samples: Vec<RequestSample>,
}

impl<C: Connection> TimedConnection<C> {
    fn execute(&mut self, request: &Request<'_>) -> Response {
        let started = now();
        let response = self.connection.execute(request);
        let finished = now();
        self.samples.push(RequestSample {
            kind: request.kind(),
            outcome: response.outcome,
            latency: finished - started,
            finished,
        });
        response
    }
}

/// A worker's histograms of the interval it is in.
struct IntervalRecorder<'a> {
    worker_index: usize,
    measure_start: Instant,
    interval: Duration,
    interval_index: u64,
    histograms: Histograms,
    reports: &'a Sender<IntervalReport>,
    last_completion: Option<Instant>,
}

impl IntervalRecorder<'_> {
    fn record(&mut self, key: HistogramKey, latency: Duration, finished: Instant) {
        let since_start = finished.saturating_duration_since(self.measure_start);
        let interval_index = u64::try_from(since_start.as_nanos() / self.interval.as_nanos())
            .expect("a run spans fewer than 2^64 intervals");
        if interval_index > self.interval_index {
            self.send(interval_index, None);
            self.interval_index = interval_index;
        }
        self.histograms
            .entry(key)
            .or_insert_with(new_histogram)
            .saturating_record(nanos(latency));
        self.last_completion = self.last_completion.max(Some(finished));
    }

    fn send(&mut self, complete_below: u64, last_completion: Option<Instant>) {
        let report = IntervalReport {
            worker_index: self.worker_index,
            interval_index: self.interval_index,
            histograms: std::mem::take(&mut self.histograms),
            complete_below,
            last_completion,
        };
        // The collector outlives the workers; a send fails only if it
        // panicked, and then the run is lost anyway.
        let _ = self.reports.send(report);
    }

    fn finish(mut self) {
        let last_completion = self.last_completion;
        self.send(u64::MAX, last_completion);
    }
}

/// Per-worker state of the operations.
struct Operations<'a, C> {
    connection: TimedConnection<C>,
    rng: SplitMix64,
    zipf: &'a Zipf,
    config: &'a LoadConfig,
    /// The payload; its first 16 bytes are restamped for every write.
    body: Vec<u8>,
    worker_index: u64,
    writes: u64,
    /// Per key rank, the next generation this worker tries to create.
    next_generation: HashMap<usize, u64>,
    key: String,
}

impl<C: Connection> Operations<'_, C> {
    /// New content for the next write (see `MIN_PAYLOAD_LEN_BYTES`).
    fn stamp_body(&mut self) {
        self.writes += 1;
        self.body[..8].copy_from_slice(&self.worker_index.to_le_bytes());
        self.body[8..16].copy_from_slice(&self.writes.to_le_bytes());
    }

    fn run(&mut self, operation: Operation) -> Outcome {
        let rank = self.zipf.sample(&mut self.rng);
        write_key(&mut self.key, rank);
        match operation {
            Operation::Get => {
                self.connection
                    .execute(&Request::Get { key: &self.key })
                    .outcome
            }
            Operation::Put => {
                self.stamp_body();
                self.connection
                    .execute(&Request::Put {
                        key: &self.key,
                        body: &self.body,
                        condition: PutCondition::None,
                    })
                    .outcome
            }
            Operation::Create => self.create(rank),
            Operation::Cas => self.compare_and_swap(),
        }
    }

    /// Create-only put of this worker's next generation of `rank`. Won or
    /// lost, that generation now exists, so the worker moves past it.
    fn create(&mut self, rank: usize) -> Outcome {
        let generation = self.next_generation.entry(rank).or_insert(0);
        write!(self.key, "/g{generation}").expect("writing to a String cannot fail");
        *generation += 1;
        self.stamp_body();
        self.connection
            .execute(&Request::Put {
                key: &self.key,
                body: &self.body,
                condition: PutCondition::IfNoneMatchAny,
            })
            .outcome
    }

    /// GET, then put If-Match; after a lost race, retry per the policy, up
    /// to the attempt limit (then the operation's outcome is the last loss).
    fn compare_and_swap(&mut self) -> Outcome {
        let mut lost_attempts = 0;
        loop {
            let read = self.connection.execute(&Request::Get { key: &self.key });
            let Some(etag) = read.etag.filter(|_| read.outcome == Outcome::Ok) else {
                return read.outcome;
            };
            self.stamp_body();
            let written = self.connection.execute(&Request::Put {
                key: &self.key,
                body: &self.body,
                condition: PutCondition::IfMatch(&etag),
            });
            if !written.outcome.is_conflict() {
                return written.outcome;
            }
            lost_attempts += 1;
            if lost_attempts >= self.config.cas_max_attempts {
                return written.outcome;
            }
            if let Some(delay) = self.config.cas_retry.delay(lost_attempts, &mut self.rng) {
                std::thread::sleep(delay);
            }
        }
    }
}

/// Runs worker `worker_index` until the run's stop condition.
pub(crate) fn run_worker<C: Connection>(
    shared: &Shared<'_>,
    worker_index: usize,
    connection: C,
    reports: &Sender<IntervalReport>,
) {
    let config = shared.config;
    let mut body = crate::pseudo_random_bytes(config.payload_len_bytes, config.seed);
    body.truncate(config.payload_len_bytes);
    let mut operations = Operations {
        connection: TimedConnection {
            connection,
            samples: Vec::new(),
        },
        rng: SplitMix64::for_worker(config.seed, worker_index),
        zipf: shared.zipf,
        config,
        body,
        worker_index: worker_index as u64,
        writes: 0,
        next_generation: HashMap::new(),
        key: String::new(),
    };
    let mut recorder = IntervalRecorder {
        worker_index,
        measure_start: shared.measure_start,
        interval: shared.interval,
        interval_index: 0,
        histograms: Histograms::new(),
        reports,
        last_completion: None,
    };
    let measure_end = match config.stop {
        StopAfter::DurationMs(duration_ms) => {
            Some(shared.measure_start + Duration::from_millis(duration_ms))
        }
        StopAfter::Operations(_) => None,
    };
    loop {
        // One relaxed load per operation: the cost of being stoppable.
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // An open loop's schedule slot and when it is meant to start.
        let scheduled = match config.mode {
            LoopMode::Closed { .. } => None,
            LoopMode::Open { rate_per_s, .. } => {
                let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
                let intended = shared.intended_start(slot, rate_per_s);
                let past_the_end = match config.stop {
                    StopAfter::Operations(count) => slot >= shared.warmup_slots + count,
                    StopAfter::DurationMs(_) => measure_end.is_some_and(|end| intended >= end),
                };
                if past_the_end {
                    break;
                }
                sleep_until(intended);
                Some((slot, intended))
            }
        };
        let started = now();
        let measured = match scheduled {
            Some((slot, _)) => slot >= shared.warmup_slots,
            None => {
                let measured = started >= shared.measure_start;
                if measured && measure_end.is_some_and(|end| started >= end) {
                    break;
                }
                if measured
                    && let StopAfter::Operations(count) = config.stop
                    && shared.measured_started.fetch_add(1, Ordering::Relaxed) >= count
                {
                    break;
                }
                measured
            }
        };
        let operation = config.mix.choose(&mut operations.rng);
        let outcome = operations.run(operation);
        let finished = now();
        let samples = operations.connection.samples.drain(..);
        if !measured {
            continue;
        }
        for sample in samples {
            let key = HistogramKey::Request {
                kind: sample.kind,
                outcome: sample.outcome,
            };
            recorder.record(key, sample.latency, sample.finished);
        }
        let key = HistogramKey::Operation { operation, outcome };
        recorder.record(key, finished - started, finished);
        if let Some((_, intended)) = scheduled {
            let key = HistogramKey::Intended { operation, outcome };
            recorder.record(key, finished.saturating_duration_since(intended), finished);
        }
    }
    recorder.finish();
}
