//! `lockwell bench` with the live dashboard (lockwell-tui) on a terminal.
//!
//! The run goes on a thread of its own; its collector forwards each phase
//! and closed interval (histograms included) over a channel, and this
//! thread draws them at a fixed frame rate until the run ends. `q` sets
//! the run's stop flag: the workers finish the operation in flight and the
//! run writes its result as usual. The summary prints after the terminal
//! is restored. Without a terminal, with `--no-tui`, `--json` or
//! `--quiet`, or for `bench sweep`, nothing changes: plain progress lines.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use anyhow::Context as _;
use lockwell_bench::cli::{BenchArgs, Watch, print_outcome, run_bench_command, run_bench_watched};
use lockwell_bench::loadgen::{LoadConfig, LoopMode, Progress, StopAfter};
use lockwell_tui::live::{LiveEvent, LivePlan, LiveView, RunLength};
use lockwell_tui::measurements::{HistogramLabel, IntervalCounts};

/// Runs `lockwell bench`, live on a terminal.
///
/// # Errors
/// See [`lockwell_bench::cli::run_bench_command`].
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let on_terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.command.is_some() || args.no_tui || args.json || args.quiet || !on_terminal {
        return run_bench_command(args);
    }
    let config = args.load_config();
    config.validate()?;
    let plan = LivePlan {
        title: format!("lockwell bench: {}", describe_target(args)),
        description: describe_load(&config),
        length: match config.stop {
            StopAfter::DurationMs(duration_ms) => {
                RunLength::Duration(Duration::from_millis(duration_ms))
            }
            StopAfter::Operations(count) => RunLength::Operations(count),
            _ => RunLength::Unknown,
        },
    };
    let (sender, receiver) = mpsc::channel();
    let stop = AtomicBool::new(false);
    let (outcome, view) = std::thread::scope(|scope| {
        let stop = &stop;
        let bench = scope.spawn(move || run_forwarding(args, &sender, stop));
        let view = lockwell_tui::terminal::run_live(LiveView::new(plan), &receiver, stop);
        if view.is_err() {
            // Without a screen there is nothing to watch: end the run.
            stop.store(true, Ordering::Relaxed);
        }
        let outcome = bench
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the bench thread panicked")));
        (outcome, view)
    });
    view.context("the live dashboard failed; the run was stopped")?;
    let outcome = outcome?;
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "stopped early from the dashboard after {:.1} s measured",
            outcome.report.measured.as_secs_f64()
        );
    }
    print_outcome(args, &outcome)
}

/// The run, forwarding its progress to the view; the last event says how
/// it ended.
fn run_forwarding(
    args: &BenchArgs,
    events: &Sender<LiveEvent>,
    stop: &AtomicBool,
) -> anyhow::Result<lockwell_bench::cli::BenchOutcome> {
    // A send fails only once the view is gone; the run goes on regardless.
    let mut forward = |progress: &Progress| {
        if let Some(event) = live_event(progress) {
            let _ = events.send(event);
        }
    };
    let outcome = run_bench_watched(
        args,
        Watch {
            progress: &mut forward,
            stop,
        },
    );
    let _ = events.send(match &outcome {
        Ok(outcome) => LiveEvent::Finished {
            result_path: outcome.result_path.display().to_string(),
        },
        Err(error) => LiveEvent::Failed {
            message: format!("{error:#}"),
        },
    });
    outcome
}

/// The load's shape in one line, as the summary prints it.
fn describe_load(config: &LoadConfig) -> String {
    let shape = match config.mode {
        LoopMode::Closed { racers } => format!("closed loop, {racers} racers"),
        LoopMode::Open {
            workers,
            rate_per_s,
        } => format!("open loop, {rate_per_s}/s on {workers} workers"),
        other => format!("{other:?}"),
    };
    format!(
        "{shape} · {} keys (zipf {}) · mix {} · {} B · cas retry {:?}",
        config.key_count,
        config.zipf_exponent,
        config.mix,
        config.payload_len_bytes,
        config.cas_retry
    )
}

fn describe_target(args: &BenchArgs) -> String {
    let target = &args.target;
    if let Some(storage) = target.server {
        format!("lockwell-server in process over {storage:?} storage").to_lowercase()
    } else if let Some(url) = &target.endpoint {
        url.clone()
    } else {
        "lockwell-core's store in process".to_owned()
    }
}

/// The view's event for a progress report of the generator.
fn live_event(progress: &Progress) -> Option<LiveEvent> {
    Some(match progress {
        Progress::CreatingKeys { key_count } => LiveEvent::CreatingKeys {
            key_count: *key_count,
        },
        Progress::WarmingUp { duration } => LiveEvent::WarmingUp {
            duration: *duration,
        },
        Progress::Interval(interval) => {
            let tally = interval.tally;
            LiveEvent::Interval {
                counts: IntervalCounts {
                    start: interval.end.saturating_sub(interval.length),
                    length: interval.length,
                    operations: tally.operations,
                    requests: tally.requests,
                    successful_writes: tally.successful_writes,
                    conditional_writes: tally.conditional_writes,
                    conflicts: tally.conflicts,
                    errors: tally.errors,
                },
                histograms: interval
                    .histograms
                    .iter()
                    .map(|(key, histogram)| {
                        (
                            HistogramLabel::new(key.view(), key.op(), key.outcome().code()),
                            histogram.clone(),
                        )
                    })
                    .collect(),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use lockwell_bench::loadgen::{
        HistogramKey, Histograms, IntervalProgress, Operation, Outcome, RequestKind, Tally,
        new_histogram,
    };

    use super::*;

    /// The view counts an interval from its histograms' labels exactly as
    /// the generator's tally does, so both sides of the channel agree.
    #[test]
    fn an_interval_reaches_the_view_with_the_generators_names_and_counts() {
        let mut histograms = Histograms::new();
        let samples = [
            (
                HistogramKey::Request {
                    kind: RequestKind::PutIfMatch,
                    outcome: Outcome::Ok,
                },
                5,
            ),
            (
                HistogramKey::Request {
                    kind: RequestKind::PutIfMatch,
                    outcome: Outcome::PreconditionFailed,
                },
                3,
            ),
            (
                HistogramKey::Request {
                    kind: RequestKind::Get,
                    outcome: Outcome::Ok,
                },
                8,
            ),
            (
                HistogramKey::Request {
                    kind: RequestKind::PutIfMatch,
                    outcome: Outcome::ServerError,
                },
                1,
            ),
            (
                HistogramKey::Operation {
                    operation: Operation::Cas,
                    outcome: Outcome::Ok,
                },
                5,
            ),
        ];
        for (key, count) in samples {
            let mut histogram = new_histogram();
            histogram.record_n(1000, count).unwrap();
            histograms.insert(key, histogram);
        }
        let progress = Progress::Interval(IntervalProgress {
            index: 2,
            end: Duration::from_secs(3),
            length: Duration::from_secs(1),
            tally: Tally::of(&histograms),
            histograms: histograms.clone(),
        });
        let Some(LiveEvent::Interval {
            counts,
            histograms: labelled,
        }) = live_event(&progress)
        else {
            panic!("an interval becomes an interval event");
        };
        let mut recounted = IntervalCounts {
            start: counts.start,
            length: counts.length,
            ..IntervalCounts::default()
        };
        for (label, histogram) in &labelled {
            recounted.add(label, histogram.len());
        }
        assert_eq!(recounted, counts);
        assert_eq!(counts.start, Duration::from_secs(2));
        assert_eq!(
            (counts.successful_writes, counts.conflicts, counts.errors),
            (5, 3, 1)
        );
        assert!(
            labelled.contains(&(
                HistogramLabel::new("request", "put_if_match", "412"),
                histograms[&HistogramKey::Request {
                    kind: RequestKind::PutIfMatch,
                    outcome: Outcome::PreconditionFailed
                }]
                    .clone()
            ))
        );
    }
}
