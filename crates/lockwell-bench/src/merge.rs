//! `lockwell results merge`: one result from the runs of several
//! generator processes or machines that loaded the same target together.
//!
//! Each run is a result file and the interval log beside it (same name,
//! `.hlog`), as `lockwell bench` writes them. The merged run has:
//!
//! - every histogram added per (view, op, outcome), so its percentiles
//!   are those of all requests together, exactly (HdrHistogram addition is
//!   lossless at the histograms' common precision);
//! - rates (`ops/s`, `requests/s`, `writes/s`: throughput and goodput)
//!   summed, since the generators ran side by side, each measured over its
//!   own window;
//! - ratios (conflict rate, error rate, CAS attempts per success) from the
//!   summed counts, not averaged;
//! - the time range the union of the runs' ranges, and one interval log
//!   holding every interval of every run on a common time axis.
//!
//! Runs of different load configurations (other than the seed, which each
//! generator should have its own of) are refused: their sum would mean
//! nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use hdrhistogram::Histogram;
use lockwell_results::histogram::{
    HistogramRecord, LoggedInterval, read_interval_log, write_interval_log,
};
use lockwell_results::{ResultKind, RunResult};

use crate::loadgen::{HistogramKey, Histograms, RunShape, metrics_of, new_histogram};

/// Most runs merged at once: far more generator processes than any
/// machine set this workbench drives.
pub const MAX_MERGED_RUNS: usize = 1024;

/// Arguments of `lockwell results merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Result files of `lockwell bench` runs, each with its `.hlog` beside
    /// it.
    #[arg(required = true, num_args = 2..)]
    pub inputs: Vec<PathBuf>,
    /// The merged result file; its interval log is written beside it
    /// (`.hlog`). Never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// One generator's run.
#[derive(Debug, Clone)]
pub struct GeneratorRun {
    pub result: RunResult,
    pub intervals: Vec<LoggedInterval>,
}

impl GeneratorRun {
    /// Reads `path` and the interval log beside it.
    ///
    /// # Errors
    /// Either file is unreadable or malformed.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let result = lockwell_results::read_result_file(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let log_path = path.with_extension("hlog");
        let log = std::fs::read(&log_path)
            .with_context(|| format!("cannot read the interval log {}", log_path.display()))?;
        let intervals = read_interval_log(&log)
            .with_context(|| format!("cannot parse {}", log_path.display()))?;
        Ok(Self { result, intervals })
    }

    /// From the first interval's start to the last one's end; `None` for a
    /// log without intervals.
    fn time_range(&self) -> Option<(Duration, Duration)> {
        let start = self.intervals.iter().map(|interval| interval.start).min()?;
        let end = self
            .intervals
            .iter()
            .map(|interval| interval.start + interval.length)
            .max()?;
        Some((start, end))
    }
}

/// `lockwell results merge`: merges the inputs and writes the result and
/// its interval log.
///
/// # Errors
/// Unreadable inputs, runs that cannot be merged, or an existing output.
pub fn run_merge(args: &MergeArgs) -> anyhow::Result<RunResult> {
    let log_path = args.out.with_extension("hlog");
    for path in [&args.out, &log_path] {
        ensure!(
            !path.exists(),
            "{} exists; results are never overwritten",
            path.display()
        );
    }
    let runs = args
        .inputs
        .iter()
        .map(|path| GeneratorRun::read(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge(&runs)?;
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut log = BufWriter::new(file);
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    write_interval_log(
        &mut log,
        &format!(
            "lockwell results merge of {}; tags are view/op/outcome; values in ns",
            names.join(", ")
        ),
        1e6,
        &merged.intervals,
    )
    .and_then(|()| log.flush())
    .with_context(|| format!("cannot write {}", log_path.display()))?;
    lockwell_results::write_new_result_file(&args.out, &merged.result)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "merged {} runs: {} and {}",
        runs.len(),
        args.out.display(),
        log_path.display()
    );
    Ok(merged.result)
}

/// The merged run of several generators (see the module documentation).
///
/// # Errors
/// Fewer than two or more than [`MAX_MERGED_RUNS`] runs, runs that are not
/// `lockwell bench` runs of one load configuration, a result file whose
/// interval log does not add up to its histograms, or histograms that
/// cannot be added.
pub fn merge(runs: &[GeneratorRun]) -> anyhow::Result<GeneratorRun> {
    ensure!(
        (2..=MAX_MERGED_RUNS).contains(&runs.len()),
        "merge takes 2 to {MAX_MERGED_RUNS} runs, not {}",
        runs.len()
    );
    let loads: BTreeSet<String> = runs
        .iter()
        .map(|run| {
            ensure!(
                run.result.kind == ResultKind::BenchRun,
                "only lockwell bench runs merge, not {:?}",
                run.result.kind
            );
            Ok(load_without_seed(&run.result.config).to_string())
        })
        .collect::<anyhow::Result<_>>()?;
    ensure!(
        loads.len() == 1,
        "the runs have different load configurations; only runs of one load merge"
    );

    let mut histograms = Histograms::new();
    for run in runs {
        check_log_matches_result(run)?;
        for record in &run.result.histograms {
            let key = HistogramKey::from_names(&record.view, &record.op, &record.outcome)
                .with_context(|| {
                    format!(
                        "unknown histogram {}/{}/{}",
                        record.view, record.op, record.outcome
                    )
                })?;
            let histogram = record.histogram()?;
            histograms
                .entry(key)
                .or_insert_with(new_histogram)
                .add(&histogram)
                .with_context(|| format!("cannot add histogram {}", key.tag()))?;
        }
    }

    let ranges: Vec<(Duration, Duration)> =
        runs.iter().filter_map(GeneratorRun::time_range).collect();
    let (Some(start), Some(end)) = (
        ranges.iter().map(|range| range.0).min(),
        ranges.iter().map(|range| range.1).max(),
    ) else {
        bail!("the interval logs hold no intervals");
    };
    let shape = RunShape {
        open_loop: histograms
            .keys()
            .any(|key| matches!(key, HistogramKey::Intended { .. })),
        writes: runs
            .iter()
            .all(|run| run.result.metrics.contains_key("goodput_writes_per_s")),
    };
    let mut metrics = metrics_of(&histograms, end - start, shape);
    for (name, metric) in &mut metrics {
        if is_rate(&metric.unit) {
            metric.value = runs
                .iter()
                .map(|run| {
                    run.result
                        .metrics
                        .get(name)
                        .map_or(0.0, |metric| metric.value)
                })
                .sum();
        }
    }

    let first = &runs[0].result;
    let mut result = RunResult::new(
        ResultKind::BenchRun,
        runs.iter()
            .map(|run| run.result.created_at_unix_ms)
            .max()
            .unwrap_or_default(),
    );
    result.git = common(runs, |run| run.result.git.clone()).flatten();
    result.machine = first.machine.clone();
    result.toolchain = common(runs, |run| run.result.toolchain.clone()).unwrap_or_default();
    result.config = serde_json::json!({
        "merged": {
            "generators": runs.len(),
            "seeds": runs.iter().map(|run| run.result.config["load"]["seed"].clone()).collect::<Vec<_>>(),
            "machines": runs.iter().map(|run| run.result.machine.cpu_model.clone()).collect::<BTreeSet<_>>(),
            "start_unix_ms": start.as_millis(),
            "end_unix_ms": end.as_millis(),
        },
        "target": first.config["target"],
        "load": load_without_seed(&first.config),
    });
    result.metrics = metrics;
    result.histograms = histograms
        .iter()
        .map(|(key, histogram)| {
            HistogramRecord::new(key.view(), key.op(), key.outcome().code(), "ns", histogram)
        })
        .collect::<Result<_, _>>()?;

    let mut intervals: Vec<LoggedInterval> = runs
        .iter()
        .flat_map(|run| run.intervals.iter().cloned())
        .collect();
    intervals.sort_by(|left, right| (left.start, &left.tag).cmp(&(right.start, &right.tag)));
    Ok(GeneratorRun { result, intervals })
}

/// Rates add across generators that ran together; everything else is
/// recomputed from the added histograms.
fn is_rate(unit: &str) -> bool {
    unit.ends_with("/s")
}

/// The value every run has, or `None` if they differ.
fn common<T: PartialEq>(runs: &[GeneratorRun], value: impl Fn(&GeneratorRun) -> T) -> Option<T> {
    let first = value(&runs[0]);
    runs[1..]
        .iter()
        .all(|run| value(run) == first)
        .then_some(first)
}

fn load_without_seed(config: &serde_json::Value) -> serde_json::Value {
    let mut load = config["load"].clone();
    if let Some(load) = load.as_object_mut() {
        load.remove("seed");
    }
    load
}

/// The interval log must hold exactly the result's histograms: a log
/// beside the wrong result file would otherwise merge silently.
fn check_log_matches_result(run: &GeneratorRun) -> anyhow::Result<()> {
    let mut logged: BTreeMap<&str, Histogram<u64>> = BTreeMap::new();
    for interval in &run.intervals {
        logged
            .entry(&interval.tag)
            .or_insert_with(new_histogram)
            .add(&interval.histogram)
            .with_context(|| format!("cannot add interval of {}", interval.tag))?;
    }
    let counts_in_log: BTreeMap<String, u64> = logged
        .iter()
        .map(|(tag, histogram)| ((*tag).to_owned(), histogram.len()))
        .filter(|(_, count)| *count > 0)
        .collect();
    let counts_in_result: BTreeMap<String, u64> = run
        .result
        .histograms
        .iter()
        .map(|record| {
            (
                format!("{}/{}/{}", record.view, record.op, record.outcome),
                record.summary.count,
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    ensure!(
        counts_in_log == counts_in_result,
        "an interval log does not add up to its result file's histograms \
         (log {counts_in_log:?}, result {counts_in_result:?})"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{BenchArgs, run_bench};

    #[derive(Debug, Parser)]
    struct Bench {
        #[command(flatten)]
        bench: BenchArgs,
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "lockwell-bench-merge-{}-{name}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A real in-process `lockwell bench` run: 2 CAS racers on 4 keys.
    fn bench_run(directory: &Path, seed: u64) -> PathBuf {
        let out = directory.join(format!("generator-{seed}.json"));
        let out_text = out.to_str().unwrap();
        let seed_text = seed.to_string();
        let args = Bench::parse_from([
            "bench",
            "--inproc",
            "--racers",
            "2",
            "--keys",
            "4",
            "--ops",
            "400",
            "--warmup",
            "0s",
            "--interval",
            "50ms",
            "--seed",
            &seed_text,
            "--quiet",
            "--json",
            "--out",
            out_text,
        ]);
        run_bench(&args.bench).unwrap();
        out
    }

    fn count(result: &RunResult, view: &str) -> u64 {
        result
            .histograms
            .iter()
            .filter(|record| record.view == view)
            .map(|record| record.summary.count)
            .sum()
    }

    #[test]
    fn two_generator_runs_merge_into_one_result_and_log() {
        let directory = TempDir::new("two-runs");
        let inputs = vec![bench_run(&directory.0, 1), bench_run(&directory.0, 2)];
        let out = directory.0.join("merged.json");
        let merged = run_merge(&MergeArgs {
            inputs: inputs.clone(),
            out: out.clone(),
        })
        .unwrap();
        let runs: Vec<GeneratorRun> = inputs
            .iter()
            .map(|path| GeneratorRun::read(path).unwrap())
            .collect();

        for view in ["request", "operation"] {
            let summed: u64 = runs.iter().map(|run| count(&run.result, view)).sum();
            assert!(summed >= 800, "{view}: {summed}");
            assert_eq!(count(&merged, view), summed, "{view}");
        }
        for rate in ["operations_per_s", "goodput_writes_per_s", "requests_per_s"] {
            let summed: f64 = runs.iter().map(|run| run.result.metrics[rate].value).sum();
            assert!(
                (merged.metrics[rate].value - summed).abs() <= 1e-9 * summed,
                "{rate}"
            );
        }
        // Conflict rate from the summed counts, not the mean of the rates.
        let requests = |outcomes: &[&str]| -> u64 {
            runs.iter()
                .flat_map(|run| &run.result.histograms)
                .filter(|record| {
                    record.view == "request"
                        && record.op == "put_if_match"
                        && outcomes.contains(&record.outcome.as_str())
                })
                .map(|record| record.summary.count)
                .sum()
        };
        let conflicts = requests(&["409", "412"]);
        let expected = conflicts as f64 / requests(&["200", "404", "409", "412"]) as f64;
        let conflict_rate = merged.metrics["conflict_rate"].value;
        assert!(conflicts > 0, "two racers on four keys conflict");
        assert!(
            (conflict_rate - expected).abs() < 1e-12,
            "{conflict_rate} vs {expected}"
        );

        let ranges: Vec<_> = runs.iter().map(|run| run.time_range().unwrap()).collect();
        let start_ms = ranges
            .iter()
            .map(|range| range.0)
            .min()
            .unwrap()
            .as_millis();
        let end_ms = ranges
            .iter()
            .map(|range| range.1)
            .max()
            .unwrap()
            .as_millis();
        assert_eq!(merged.config["merged"]["start_unix_ms"], start_ms as u64);
        assert_eq!(merged.config["merged"]["end_unix_ms"], end_ms as u64);
        assert_eq!(merged.config["merged"]["seeds"], serde_json::json!([1, 2]));

        // The merged pair reads back, and its log adds up to its histograms.
        let reread = GeneratorRun::read(&out).unwrap();
        // serde_json parses some decimals (a mean, a rate) one ulp away
        // from what it wrote: compare the lossless encodings, and floats
        // within a relative 1e-12.
        let encodings = |result: &RunResult| -> Vec<String> {
            result
                .histograms
                .iter()
                .map(|record| {
                    format!(
                        "{}/{}/{} {}",
                        record.view, record.op, record.outcome, record.encoded
                    )
                })
                .collect()
        };
        assert_eq!(encodings(&reread.result), encodings(&merged));
        for (name, metric) in &merged.metrics {
            let read_back = reread.result.metrics[name].value;
            assert!(
                (read_back - metric.value).abs() <= 1e-12 * metric.value.abs(),
                "{name}"
            );
        }
        check_log_matches_result(&reread).unwrap();
        let intervals: usize = runs.iter().map(|run| run.intervals.len()).sum();
        assert_eq!(reread.intervals.len(), intervals);
        assert!(
            run_merge(&MergeArgs { inputs, out }).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn runs_of_different_loads_or_mismatched_logs_do_not_merge() {
        let directory = TempDir::new("refusals");
        let first = GeneratorRun::read(&bench_run(&directory.0, 1)).unwrap();
        let mut other_load = first.clone();
        other_load.result.config["load"]["key_count"] = 5.into();
        let error = merge(&[first.clone(), other_load]).unwrap_err();
        assert!(error.to_string().contains("load"), "{error}");

        let mut wrong_log = first.clone();
        wrong_log.intervals.pop();
        let error = merge(&[first.clone(), wrong_log]).unwrap_err();
        assert!(error.to_string().contains("interval log"), "{error}");

        assert!(merge(std::slice::from_ref(&first)).is_err(), "one run");
    }
}
