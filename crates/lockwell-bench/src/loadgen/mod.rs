//! The contended conditional-write load generator behind `lockwell bench`.
//!
//! A run: check the config; create every key once if the mix reads or
//! compare-and-swaps; connect one [`Connection`] per worker; start the
//! workers (OS threads); warm up; measure until the duration or operation
//! count is reached. Workers keep one HdrHistogram per (view, op, outcome)
//! for the current interval and hand it to the collector (the calling
//! thread) when the interval ends. The collector merges the intervals into
//! the run's totals, appends each to the HdrHistogram interval log (so that
//! the logs of several generator processes or machines merge, see
//! `lockwell_results::histogram::merge_interval_log`), and reports
//! progress, handing each closed interval's histograms to the caller
//! before merging them (what `lockwell bench`'s live view draws, at no
//! cost per operation). It never blocks a worker: the channel is
//! unbounded. A caller can end a run early through [`run_until`]'s stop
//! flag; the run then reports what it measured.
//!
//! The target is a [`Target`]: the in-process store (`inproc`), or any S3
//! endpoint over HTTP, our own server included (`http_target`), measured
//! by the same code.

pub(crate) mod clock;
pub mod config;
pub mod http_target;
pub mod inproc;
pub mod report;
pub mod target;
mod worker;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriter, IntervalLogWriterBuilder, Tag};

pub use config::{CasRetry, ConfigError, LoadConfig, LoopMode, OpMix, Operation, StopAfter};
pub use report::{LoadReport, RunShape, Tally, metrics_of};
pub use target::{Connection, Outcome, PutCondition, Request, RequestKind, Response, Target};
pub use worker::{HistogramKey, Histograms, MAX_RECORDED_LATENCY_NS, new_histogram};

use self::clock::{now, wall_clock};
use self::worker::{IntervalReport, Shared, run_worker, write_key};
use crate::zipf::Zipf;

/// What the generator tells its caller while it runs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Creating the keys that reads and compare-and-swaps start from.
    CreatingKeys { key_count: usize },
    /// Running, but nothing is measured yet.
    WarmingUp { duration: Duration },
    /// A measured interval ended.
    Interval(IntervalProgress),
}

/// Counts and histograms of one measured interval.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalProgress {
    /// 0 for the first interval after the warm-up.
    pub index: u64,
    /// When the interval ended, counted from the end of the warm-up.
    pub end: Duration,
    /// The configured interval, except for the last one, which ends at
    /// the last completion.
    pub length: Duration,
    pub tally: Tally,
    /// The interval's histograms, merged over the workers.
    pub histograms: Histograms,
}

impl IntervalProgress {
    #[must_use]
    pub fn per_second(&self, count: u64) -> f64 {
        count as f64 / self.length.as_secs_f64()
    }
}

/// Why a run did not produce a report.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("worker {worker_index} cannot connect to the target")]
    Connect {
        worker_index: usize,
        #[source]
        source: target::ConnectError,
    },
    #[error("creating key {key} before the run failed with {}", outcome.code())]
    CreatingKeys { key: String, outcome: Outcome },
    #[error("cannot write the interval log")]
    IntervalLog(#[source] io::Error),
    #[error("no operation completed after the warm-up")]
    NothingMeasured,
}

/// Runs `config` against `target`; appends the interval log to
/// `interval_log` if given and reports progress through `progress`.
///
/// # Errors
/// See [`RunError`].
pub fn run<T: Target>(
    target: &T,
    config: &LoadConfig,
    interval_log: Option<&mut dyn Write>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<LoadReport, RunError> {
    run_until(
        target,
        config,
        interval_log,
        progress,
        &AtomicBool::new(false),
    )
}

/// [`run`], ending early once `stop` is set: every worker finishes the
/// operation in flight and the report covers what completed until then.
///
/// # Errors
/// See [`RunError`].
pub fn run_until<T: Target>(
    target: &T,
    config: &LoadConfig,
    interval_log: Option<&mut dyn Write>,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<LoadReport, RunError> {
    config.validate()?;
    let zipf = Zipf::new(config.key_count, config.zipf_exponent)
        .expect("a validated config has a valid key distribution");
    let mut connections = (0..config.mode.workers())
        .map(|worker_index| {
            target
                .connect(worker_index)
                .map_err(|source| RunError::Connect {
                    worker_index,
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if config.mix.needs_existing_keys() {
        progress(&Progress::CreatingKeys {
            key_count: config.key_count,
        });
        create_keys(&mut connections[0], config)?;
    }

    let warmup = Duration::from_millis(config.warmup_ms);
    let interval = Duration::from_millis(config.interval_ms);
    let measure_start_wall_clock = wall_clock() + warmup;
    let mut serializer = V2DeflateSerializer::new();
    let mut interval_log = interval_log;
    let log = match interval_log.as_mut() {
        Some(writer) => Some(
            IntervalLogWriterBuilder::new()
                .add_comment(&format!(
                    "lockwell bench interval log; tags are view/op/outcome; values in ns; \
                     config {}",
                    serde_json::to_string(config).expect("a config serializes")
                ))
                .with_start_time(measure_start_wall_clock)
                .with_base_time(measure_start_wall_clock)
                .with_max_value_divisor(1e6)
                .begin_log_with(writer, &mut serializer)
                .map_err(RunError::IntervalLog)?,
        ),
        None => None,
    };
    let started = now();
    let mut collector = Collector {
        measure_start: started + warmup,
        pending: BTreeMap::new(),
        next_index: 0,
        complete_below: vec![0; connections.len()],
        totals: Histograms::new(),
        last_completion: None,
        interval,
        log,
    };

    let shared = Shared {
        config,
        zipf: &zipf,
        started,
        measure_start: started + warmup,
        interval,
        measured_started: AtomicU64::new(0),
        next_slot: AtomicU64::new(0),
        warmup_slots: match config.mode {
            LoopMode::Open { rate_per_s, .. } => (warmup.as_secs_f64() * rate_per_s).ceil() as u64,
            LoopMode::Closed { .. } => 0,
        },
        stop,
    };
    if !warmup.is_zero() {
        progress(&Progress::WarmingUp { duration: warmup });
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for (worker_index, connection) in connections.into_iter().enumerate() {
            let sender = sender.clone();
            let shared = &shared;
            scope.spawn(move || run_worker(shared, worker_index, connection, &sender));
        }
        drop(sender);
        receiver
            .iter()
            .try_for_each(|report| collector.receive(report, progress))
    })?;

    let last_completion = collector.last_completion.ok_or(RunError::NothingMeasured)?;
    Ok(LoadReport {
        config: config.clone(),
        target: target.describe(),
        measured: last_completion.saturating_duration_since(shared.measure_start),
        histograms: collector.totals,
    })
}

/// Writes every base key once, unconditionally, so that reads and
/// compare-and-swaps find an object.
fn create_keys<C: Connection>(connection: &mut C, config: &LoadConfig) -> Result<(), RunError> {
    let body = crate::pseudo_random_bytes(config.payload_len_bytes, config.seed);
    let mut key = String::new();
    for rank in 0..config.key_count {
        write_key(&mut key, rank);
        let response = connection.execute(&Request::Put {
            key: &key,
            body: &body,
            condition: PutCondition::None,
        });
        if response.outcome != Outcome::Ok {
            return Err(RunError::CreatingKeys {
                key,
                outcome: response.outcome,
            });
        }
    }
    Ok(())
}

/// Merges the workers' interval reports in interval order.
struct Collector<'a, 'b, W: Write> {
    measure_start: Instant,
    /// Intervals some worker may still report into.
    pending: BTreeMap<u64, Histograms>,
    /// The first interval not yet closed.
    next_index: u64,
    /// Per worker, the first interval it may still report into.
    complete_below: Vec<u64>,
    totals: Histograms,
    last_completion: Option<Instant>,
    interval: Duration,
    log: Option<IntervalLogWriter<'a, 'b, W, V2DeflateSerializer>>,
}

impl<W: Write> Collector<'_, '_, W> {
    fn receive(
        &mut self,
        report: IntervalReport,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(), RunError> {
        if !report.histograms.is_empty() {
            merge_into(
                self.pending.entry(report.interval_index).or_default(),
                report.histograms,
            );
        }
        self.complete_below[report.worker_index] = report.complete_below;
        self.last_completion = self.last_completion.max(report.last_completion);
        let complete_below = *self
            .complete_below
            .iter()
            .min()
            .expect("a run has at least one worker");
        // After the last report, close what was reported; before it, also
        // the intervals in which nothing completed (a stall shows as zero).
        let all_reported = complete_below == u64::MAX;
        let close_below = if all_reported {
            self.pending
                .last_key_value()
                .map_or(self.next_index, |(&index, _)| index + 1)
        } else {
            complete_below
        };
        while self.next_index < close_below {
            let index = self.next_index;
            let histograms = self.pending.remove(&index).unwrap_or_default();
            let is_last = all_reported && index + 1 == close_below;
            self.close(index, histograms, is_last, progress)?;
            self.next_index += 1;
        }
        Ok(())
    }

    fn close(
        &mut self,
        index: u64,
        histograms: Histograms,
        is_last: bool,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(), RunError> {
        let start = self.interval * u32::try_from(index).unwrap_or(u32::MAX);
        let mut end = start + self.interval;
        if is_last && let Some(last_completion) = self.last_completion {
            end = end.min(last_completion.saturating_duration_since(self.measure_start));
        }
        // At least a microsecond, so that rates stay finite.
        let length = end.saturating_sub(start).max(Duration::from_micros(1));
        if let Some(log) = &mut self.log {
            for (key, histogram) in &histograms {
                let tag = key.tag();
                log.write_histogram(histogram, start, length, Tag::new(&tag))
                    .map_err(|error| RunError::IntervalLog(io::Error::other(error.to_string())))?;
            }
        }
        let closed = Progress::Interval(IntervalProgress {
            index,
            end,
            length,
            tally: Tally::of(&histograms),
            histograms,
        });
        progress(&closed);
        if let Progress::Interval(interval) = closed {
            merge_into(&mut self.totals, interval.histograms);
        }
        Ok(())
    }
}

fn merge_into(totals: &mut Histograms, histograms: Histograms) {
    for (key, histogram) in histograms {
        match totals.get_mut(&key) {
            Some(total) => total
                .add(&histogram)
                .expect("every histogram has the same bounds"),
            None => {
                totals.insert(key, histogram);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;
    use lockwell_core::store::StoreConfig;
    use lockwell_results::histogram::merge_interval_log;

    use super::inproc::InProcessTarget;
    use super::*;

    fn config(mode: LoopMode, mix: OpMix, stop: StopAfter) -> LoadConfig {
        LoadConfig {
            mode,
            key_count: 1,
            zipf_exponent: 0.99,
            mix,
            payload_len_bytes: 64,
            cas_retry: CasRetry::Immediate,
            cas_max_attempts: 1_000_000,
            warmup_ms: 0,
            stop,
            interval_ms: 50,
            seed: 7,
        }
    }

    fn count(report: &LoadReport, key: HistogramKey) -> u64 {
        report.histograms.get(&key).map_or(0, Histogram::len)
    }

    fn request(kind: RequestKind, outcome: Outcome) -> HistogramKey {
        HistogramKey::Request { kind, outcome }
    }

    fn run_quietly<T: Target>(target: &T, config: &LoadConfig) -> LoadReport {
        run(target, config, None, &mut |_| {}).unwrap()
    }

    /// C2 under contention: every successful compare-and-swap is exactly
    /// one successful If-Match put, and every attempt read first.
    #[test]
    fn c2_cas_racers_on_one_key_account_for_every_attempt() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let config = config(
            LoopMode::Closed { racers: 4 },
            OpMix::CAS_ONLY,
            StopAfter::Operations(2000),
        );
        let report = run_quietly(&target, &config);
        let cas_ok = count(
            &report,
            HistogramKey::Operation {
                operation: Operation::Cas,
                outcome: Outcome::Ok,
            },
        );
        assert_eq!(cas_ok, 2000, "every measured operation completes");
        assert_eq!(
            count(&report, request(RequestKind::PutIfMatch, Outcome::Ok)),
            2000
        );
        let attempts = count(&report, request(RequestKind::PutIfMatch, Outcome::Ok))
            + count(
                &report,
                request(RequestKind::PutIfMatch, Outcome::PreconditionFailed),
            );
        assert_eq!(
            count(&report, request(RequestKind::Get, Outcome::Ok)),
            attempts
        );
        let tally = report.tally();
        assert_eq!(tally.successful_writes, 2000);
        assert_eq!(tally.conditional_writes, attempts);
        assert_eq!(
            tally.conflict_rate(),
            Some((attempts - 2000) as f64 / attempts as f64)
        );
    }

    /// C1: of the racers creating a generation of a key, exactly one wins,
    /// so the generations that exist are exactly the successful creates.
    #[test]
    fn c1_create_racers_win_each_generation_once() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let config = config(
            LoopMode::Closed { racers: 4 },
            "create".parse().unwrap(),
            StopAfter::Operations(4000),
        );
        let report = run_quietly(&target, &config);
        let created = count(&report, request(RequestKind::PutIfNoneMatch, Outcome::Ok));
        let lost = count(
            &report,
            request(RequestKind::PutIfNoneMatch, Outcome::PreconditionFailed),
        );
        assert_eq!(created + lost, 4000);
        let mut connection = target.connect(0).unwrap();
        let existing = (0..)
            .take_while(|generation| {
                let key = format!("k00000000/g{generation}");
                connection.execute(&Request::Get { key: &key }).outcome == Outcome::Ok
            })
            .count() as u64;
        assert_eq!(existing, created);
    }

    /// Open loop: the schedule sets the operation count, and latency from
    /// the intended start is never below the service time.
    #[test]
    fn open_loop_follows_the_schedule_and_reports_both_views() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let mut config = config(
            LoopMode::Open {
                workers: 2,
                rate_per_s: 4000.0,
            },
            "put=1,get=1".parse().unwrap(),
            StopAfter::DurationMs(250),
        );
        config.warmup_ms = 50;
        let report = run_quietly(&target, &config);
        assert_eq!(report.tally().operations, 1000, "250 ms at 4000/s");
        for operation in [Operation::Put, Operation::Get] {
            let intended = report.latency(operation).unwrap();
            let service = report.service_latency(operation).unwrap();
            assert_eq!(intended.len(), service.len());
            assert!(intended.value_at_quantile(0.5) >= service.value_at_quantile(0.5));
            assert!(intended.max() >= service.max());
        }
        let metrics = report.metrics();
        for name in ["put_p50_ns", "put_service_p99_ns", "get_p99_9_ns"] {
            assert!(metrics.contains_key(name), "{name}");
        }
        assert!(!metrics["put_service_p99_ns"].gate);
        assert!(!metrics["put_p99_9_ns"].gate);
        assert!(metrics["put_p99_ns"].gate);
    }

    #[test]
    fn warm_up_operations_are_not_measured() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let mut config = config(
            LoopMode::Closed { racers: 2 },
            "get".parse().unwrap(),
            StopAfter::Operations(500),
        );
        config.warmup_ms = 100;
        let mut warmed_up = false;
        let report = run(&target, &config, None, &mut |progress| {
            warmed_up |= matches!(progress, Progress::WarmingUp { .. });
        })
        .unwrap();
        assert!(warmed_up);
        assert_eq!(report.tally().operations, 500);
        assert_eq!(report.tally().requests, 500);
    }

    /// A stop request (the live view's quit key) ends a run long before
    /// its duration; the report holds exactly what the intervals handed to
    /// the caller held.
    #[test]
    fn a_stopped_run_reports_what_completed_before_the_stop() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let mut config = config(
            LoopMode::Closed { racers: 2 },
            OpMix::CAS_ONLY,
            StopAfter::DurationMs(60_000),
        );
        config.interval_ms = 20;
        let stop = AtomicBool::new(false);
        let mut interval_operations = 0;
        let report = run_until(
            &target,
            &config,
            None,
            &mut |progress| {
                if let Progress::Interval(interval) = progress {
                    assert_eq!(interval.tally, Tally::of(&interval.histograms));
                    interval_operations += interval.tally.operations;
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            &stop,
        )
        .unwrap();
        assert!(
            report.measured < Duration::from_secs(10),
            "stopped long before a minute: {:?}",
            report.measured
        );
        assert!(interval_operations > 0);
        assert_eq!(report.tally().operations, interval_operations);
    }

    /// The interval log holds the same samples as the report, so logs of
    /// several generators merge into what one generator would report.
    #[test]
    fn the_interval_log_adds_up_to_the_report() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let mut config = config(
            LoopMode::Closed { racers: 3 },
            "cas=2,put=1,get=1".parse().unwrap(),
            StopAfter::DurationMs(200),
        );
        config.key_count = 100;
        config.interval_ms = 20;
        let mut log = Vec::new();
        let mut intervals = Vec::new();
        let mut last_end = Duration::ZERO;
        let report = run(&target, &config, Some(&mut log), &mut |progress| {
            if let Progress::Interval(interval) = progress {
                intervals.push(interval.index);
                last_end = interval.end;
            }
        })
        .unwrap();
        assert_eq!(
            last_end, report.measured,
            "the last interval ends with the run"
        );
        let mut merged = BTreeMap::new();
        let written = merge_interval_log(&log, &mut merged).unwrap();
        assert!(written >= report.histograms.len());
        let expected: BTreeMap<String, Histogram<u64>> = report
            .histograms
            .iter()
            .map(|(key, histogram)| (key.tag(), histogram.clone()))
            .collect();
        assert_eq!(
            merged.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (tag, histogram) in &expected {
            assert_eq!(merged[tag].len(), histogram.len(), "{tag}");
        }
        assert_eq!(
            intervals,
            (0..intervals.len() as u64).collect::<Vec<_>>(),
            "every interval reported once, in order"
        );
        assert!(intervals.len() >= 10, "{intervals:?}");
    }

    /// A target whose If-Match puts always lose, and whose every fifth GET
    /// fails with a 5xx.
    struct Hostile;

    struct HostileConnection {
        requests: u64,
    }

    impl Target for Hostile {
        type Connection = HostileConnection;

        fn connect(&self, _: usize) -> Result<HostileConnection, target::ConnectError> {
            Ok(HostileConnection { requests: 0 })
        }

        fn describe(&self) -> serde_json::Value {
            serde_json::json!({ "target": "hostile" })
        }
    }

    impl Connection for HostileConnection {
        fn execute(&mut self, request: &Request<'_>) -> Response {
            self.requests += 1;
            let outcome = match request.kind() {
                RequestKind::Get if self.requests.is_multiple_of(5) => Outcome::ServerError,
                RequestKind::PutIfMatch => Outcome::PreconditionFailed,
                _ => Outcome::Ok,
            };
            Response {
                outcome,
                etag: Some("\"0123456789abcdef0123456789abcdef\"".to_owned()),
            }
        }
    }

    #[test]
    fn cas_gives_up_at_the_attempt_limit_and_errors_are_counted() {
        let target = Hostile;
        let mut config = config(
            LoopMode::Closed { racers: 1 },
            OpMix::CAS_ONLY,
            StopAfter::Operations(100),
        );
        config.cas_max_attempts = 3;
        let report = run_quietly(&target, &config);
        let operation = |outcome| HistogramKey::Operation {
            operation: Operation::Cas,
            outcome,
        };
        let gave_up = count(&report, operation(Outcome::PreconditionFailed));
        let failed = count(&report, operation(Outcome::ServerError));
        assert_eq!(gave_up + failed, 100);
        assert!(gave_up > 0 && failed > 0, "{gave_up} {failed}");
        let tally = report.tally();
        assert_eq!(tally.successful_writes, 0);
        assert_eq!(tally.conflict_rate(), Some(1.0));
        assert_eq!(tally.errors, failed);
        assert!(report.metrics()["error_rate"].value > 0.0);
    }

    #[test]
    fn an_invalid_config_runs_nothing() {
        let target = InProcessTarget::new(StoreConfig::default(), 0);
        let config = config(
            LoopMode::Closed { racers: 0 },
            OpMix::CAS_ONLY,
            StopAfter::Operations(1),
        );
        assert!(matches!(
            run(&target, &config, None, &mut |_| {}),
            Err(RunError::Config(ConfigError::Workers(0)))
        ));
    }
}
