//! `lockwell bench sweep`: the load generator over a grid, for capacity
//! planning (`lockwell plan` fits the folder it writes).
//!
//! The grid is the product of racers, keys, zipf exponents, op mixes,
//! payload sizes and CAS retry policies; every point runs closed-loop
//! `--repeats` times. Repeats are interleaved (every point's first run
//! before any point's second), so that a burst of noise from the other
//! users of a shared machine lands on one repeat of many points rather
//! than on every repeat of one, and the point's numbers are medians over
//! its repeats.
//!
//! The folder:
//!
//! - `<point>/rep-<n>.json`: each repeat's bench-run result file, with its
//!   histograms, the sweep's merged-operation metrics (`operation_mean_ns`,
//!   `operation_p50_ns`, `operation_p99_ns`, `request_mean_ns`) and the
//!   1-minute load average when it started (`config.load_average_1m`);
//! - `<point>.json`: the point's sweep-point result file: per metric, the
//!   median over the repeats, plus the lowest and highest goodput (derived
//!   from the repeats, so replaced when a later sweep adds repeats);
//! - `index.json`: the grid and every point with its file and headline
//!   medians, rewritten after every run.
//!
//! Resumable: a repeat whose file exists is not run again, so an
//! interrupted sweep continues where it stopped; no interval logs are
//! written (the result files hold the histograms).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use hdrhistogram::Histogram;
use lockwell_results::{Better, Metric, ResultKind, RunResult};

use crate::cli::{
    BackoffArgs, CasRetryPolicy, TargetArgs, WithTarget, parse_duration, with_target,
};
use crate::environment::{describe_environment, unix_ms_now};
use crate::loadgen::clock::now;
use crate::loadgen::{
    self, HistogramKey, Histograms, LoadConfig, LoopMode, OpMix, StopAfter, Target, new_histogram,
};

/// The index of a sweep folder.
pub const INDEX_FILE_NAME: &str = "index.json";
/// Most points a grid may have.
pub const MAX_GRID_POINTS: usize = 10_000;
/// Most repeats of one point.
pub const MAX_REPEATS: u32 = 100;

/// `--quick`: racers and skews that a model can be fitted to and
/// validated on (racers 1-16 to fit, 32-64 held out; zipf 0 and 1.2 to
/// fit, 0.6 and 0.9 held out), 2 repeats of 1 s: 56 runs, about 80 s of
/// load, under 3 minutes with setup.
const QUICK_RACERS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
const QUICK_KEYS: [usize; 1] = [1000];
const QUICK_ZIPF: [f64; 4] = [0.0, 0.6, 0.9, 1.2];
const QUICK_REPEATS: u32 = 2;
const QUICK_DURATION: Duration = Duration::from_secs(1);
const QUICK_WARMUP: Duration = Duration::from_millis(300);

/// Arguments of `lockwell bench sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The sweep folder; an existing one is resumed (its measured repeats
    /// are kept and skipped).
    #[arg(long)]
    pub out: PathBuf,
    /// Closed-loop racer counts.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    pub racers: Vec<usize>,
    /// Key counts.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub keys: Vec<usize>,
    /// Zipf exponents of key popularity (0 = uniform).
    #[arg(long, value_delimiter = ',', default_value = "0,0.6,0.9,1.2")]
    pub zipf: Vec<f64>,
    /// Op mixes, separated by `;` (each like `cas=1` or `cas=3,get=7`).
    #[arg(long, value_delimiter = ';', default_value = "cas")]
    pub mix: Vec<OpMix>,
    /// Payload sizes, in bytes.
    #[arg(long, value_delimiter = ',', default_value = "1024")]
    pub payload_bytes: Vec<usize>,
    /// CAS retry policies.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "immediate")]
    pub cas_retry: Vec<CasRetryPolicy>,
    #[command(flatten)]
    pub backoff: BackoffArgs,
    /// Attempts after which a compare-and-swap gives up.
    #[arg(long, default_value_t = 10_000)]
    pub cas_max_attempts: u32,
    /// Runs per point; the point's numbers are their medians.
    #[arg(long, default_value_t = 3)]
    pub repeats: u32,
    /// Measured time of each run.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured time at the start of each run.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Seed of key, operation and backoff choices (the same for every run,
    /// so that repeats differ only by the machine's noise).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The quick grid (racers 1-64, 1000 keys, zipf 0, 0.6, 0.9, 1.2; CAS; 2
    /// repeats of 1 s): under 3 minutes, enough for `lockwell plan
    /// validate`. Replaces the grid, repeats and durations.
    #[arg(long)]
    pub quick: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// One point of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridPoint {
    pub racers: usize,
    pub keys: usize,
    pub zipf: f64,
    pub mix: OpMix,
    pub payload_bytes: usize,
    pub cas_retry: CasRetryPolicy,
}

impl GridPoint {
    /// A name that is also a file name, such as
    /// `r8-k1000-z0.9-cas1-p1024-immediate`.
    #[must_use]
    pub fn id(&self) -> String {
        let mix: String = self
            .mix
            .to_string()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let retry = match self.cas_retry {
            CasRetryPolicy::Immediate => "immediate",
            CasRetryPolicy::Backoff => "backoff",
        };
        format!(
            "r{}-k{}-z{}-{mix}-p{}-{retry}",
            self.racers, self.keys, self.zipf, self.payload_bytes
        )
    }
}

impl SweepArgs {
    /// The grid in run order: payload, mix, retry, keys, zipf, racers.
    #[must_use]
    pub fn grid(&self) -> Vec<GridPoint> {
        let (racers, keys, zipf): (&[usize], &[usize], &[f64]) = if self.quick {
            (&QUICK_RACERS, &QUICK_KEYS, &QUICK_ZIPF)
        } else {
            (&self.racers, &self.keys, &self.zipf)
        };
        let quick_mix = [OpMix::CAS_ONLY];
        let quick_payload = [1024];
        let quick_retry = [CasRetryPolicy::Immediate];
        let (mixes, payloads, retries): (&[OpMix], &[usize], &[CasRetryPolicy]) = if self.quick {
            (&quick_mix, &quick_payload, &quick_retry)
        } else {
            (&self.mix, &self.payload_bytes, &self.cas_retry)
        };
        let mut grid = Vec::new();
        for &payload_bytes in payloads {
            for &mix in mixes {
                for &cas_retry in retries {
                    for &keys in keys {
                        for &zipf in zipf {
                            for &racers in racers {
                                grid.push(GridPoint {
                                    racers,
                                    keys,
                                    zipf,
                                    mix,
                                    payload_bytes,
                                    cas_retry,
                                });
                            }
                        }
                    }
                }
            }
        }
        grid
    }

    fn repeats(&self) -> u32 {
        if self.quick {
            QUICK_REPEATS
        } else {
            self.repeats
        }
    }

    fn durations(&self) -> (Duration, Duration) {
        if self.quick {
            (QUICK_DURATION, QUICK_WARMUP)
        } else {
            (self.duration, self.warmup)
        }
    }

    /// The load generator's config of `point`.
    #[must_use]
    pub fn load_config(&self, point: &GridPoint) -> LoadConfig {
        let (duration, warmup) = self.durations();
        let whole_ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        LoadConfig {
            mode: LoopMode::Closed {
                racers: point.racers,
            },
            key_count: point.keys,
            zipf_exponent: point.zipf,
            mix: point.mix,
            payload_len_bytes: point.payload_bytes,
            cas_retry: self.backoff.cas_retry(point.cas_retry),
            cas_max_attempts: self.cas_max_attempts,
            warmup_ms: whole_ms(warmup),
            stop: StopAfter::DurationMs(whole_ms(duration)),
            // One interval per run: no interval log is written, and
            // progress is per run.
            interval_ms: whole_ms(duration + warmup).max(loadgen::config::MIN_INTERVAL_MS),
            seed: self.seed,
        }
    }
}

/// The sweep's metrics over every operation and every request of a run
/// that measured for `measured`: mean and quantiles, and the operations
/// and requests in flight by Little's law (rate times mean latency), from
/// the same run so that they stay consistent when the point takes
/// medians over its repeats.
#[must_use]
pub fn merged_latency_metrics(
    histograms: &Histograms,
    measured: Duration,
) -> BTreeMap<String, Metric> {
    let merge = |wanted: fn(&HistogramKey) -> bool| {
        let mut merged: Option<Histogram<u64>> = None;
        for (_, histogram) in histograms.iter().filter(|(key, _)| wanted(key)) {
            merged
                .get_or_insert_with(new_histogram)
                .add(histogram)
                .expect("every histogram has the same bounds");
        }
        merged
    };
    let mut metrics = BTreeMap::new();
    let latency = |value: f64| Metric::informational(value, "ns", Better::Lower);
    let in_flight = |histogram: &Histogram<u64>| {
        let total_ns = histogram.mean() * histogram.len() as f64;
        Metric::informational(
            total_ns / measured.as_nanos() as f64,
            "in flight",
            Better::Higher,
        )
    };
    if let Some(operations) = merge(|key| matches!(key, HistogramKey::Operation { .. })) {
        metrics.insert("operations_in_flight".to_owned(), in_flight(&operations));
        metrics.insert("operation_mean_ns".to_owned(), latency(operations.mean()));
        metrics.insert(
            "operation_p50_ns".to_owned(),
            latency(operations.value_at_quantile(0.5) as f64),
        );
        metrics.insert(
            "operation_p99_ns".to_owned(),
            latency(operations.value_at_quantile(0.99) as f64),
        );
    }
    if let Some(requests) = merge(|key| matches!(key, HistogramKey::Request { .. })) {
        metrics.insert("requests_in_flight".to_owned(), in_flight(&requests));
        metrics.insert("request_mean_ns".to_owned(), latency(requests.mean()));
    }
    metrics
}

/// The sweep-point result of a point's repeats: per metric present in
/// every repeat, the median; the lowest and highest goodput.
#[must_use]
pub fn summarize_repeats(
    id: &str,
    repeats: &[RunResult],
    repeat_files: &[String],
    created_at_unix_ms: u64,
) -> RunResult {
    let mut point = RunResult::new(ResultKind::SweepPoint, created_at_unix_ms);
    let first = &repeats[0];
    point.git.clone_from(&first.git);
    point.machine = first.machine.clone();
    point.toolchain.clone_from(&first.toolchain);
    let mut config = first.config.clone();
    if let Some(config) = config.as_object_mut() {
        config.remove("load_average_1m");
    }
    config["sweep"] = serde_json::json!({
        "point": id,
        "repeats": repeat_files,
        "load_average_1m": repeats
            .iter()
            .map(|repeat| repeat.config.get("load_average_1m").cloned().unwrap_or_default())
            .collect::<Vec<_>>(),
    });
    point.config = config;
    for (name, metric) in &first.metrics {
        let values: Vec<f64> = repeats
            .iter()
            .filter_map(|repeat| repeat.metrics.get(name).map(|metric| metric.value))
            .collect();
        if values.len() == repeats.len()
            && let Some(median) = lockwell_results::stats::median(&values)
        {
            point.metrics.insert(
                name.clone(),
                Metric {
                    value: median,
                    ..metric.clone()
                },
            );
            if name == "goodput_writes_per_s" {
                let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for (suffix, value) in [("min", low), ("max", high)] {
                    point.metrics.insert(
                        format!("{name}_{suffix}"),
                        Metric::informational(value, &metric.unit, metric.better),
                    );
                }
            }
        }
    }
    point.metrics.insert(
        "repeats".to_owned(),
        Metric::informational(repeats.len() as f64, "runs", Better::Higher),
    );
    point
}

/// `/proc/loadavg`'s first field, if there is one.
fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One repeat against a target: the run and its result.
struct Repeat<'a> {
    config: &'a LoadConfig,
}

impl WithTarget for Repeat<'_> {
    type Output = RunResult;

    fn run<T: Target>(self, target: &T) -> anyhow::Result<RunResult> {
        let load_average = load_average_1m();
        let report = loadgen::run(target, self.config, None, &mut |_| {})?;
        let mut result = report.to_result(unix_ms_now())?;
        result
            .metrics
            .extend(merged_latency_metrics(&report.histograms, report.measured));
        result.config["load_average_1m"] = load_average.into();
        describe_environment(&mut result, Path::new("."));
        Ok(result)
    }
}

fn write_index(
    args: &SweepArgs,
    grid: &[GridPoint],
    summaries: &BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let (duration, warmup) = args.durations();
    let path = args.out.join(INDEX_FILE_NAME);
    // Points of earlier sweeps into the same folder (other grids) stay
    // listed; this grid's entries replace theirs.
    let mut points: BTreeMap<String, serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|index| {
            index
                .get("points")
                .and_then(|points| points.as_array())
                .cloned()
        })
        .unwrap_or_default()
        .into_iter()
        .filter_map(|point| Some((point.get("id")?.as_str()?.to_owned(), point)))
        .collect();
    points.extend(grid.iter().map(|point| {
        let id = point.id();
        (
            id.clone(),
            serde_json::json!({
                "id": id,
                "file": format!("{id}.json"),
                "racers": point.racers,
                "keys": point.keys,
                "zipf": point.zipf,
                "mix": point.mix.to_string(),
                "payload_bytes": point.payload_bytes,
                "cas_retry": format!("{:?}", point.cas_retry).to_lowercase(),
                "measured": summaries.get(&id),
            }),
        )
    }));
    let index = serde_json::json!({
        "sweep": "lockwell bench sweep",
        "updated_at_unix_ms": unix_ms_now(),
        "repeats": args.repeats(),
        "duration_ms": duration.as_millis() as u64,
        "warmup_ms": warmup.as_millis() as u64,
        "seed": args.seed,
        "points": points.into_values().collect::<Vec<_>>(),
    });
    let temporary = args.out.join(format!("{INDEX_FILE_NAME}.tmp"));
    std::fs::write(&temporary, serde_json::to_string_pretty(&index)? + "\n")
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, &path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn headline(result: &RunResult) -> serde_json::Value {
    let metric = |name: &str| result.metrics.get(name).map(|metric| metric.value);
    serde_json::json!({
        "goodput_writes_per_s": metric("goodput_writes_per_s"),
        "conflict_rate": metric("conflict_rate"),
        "operation_p99_ns": metric("operation_p99_ns"),
        "repeats": metric("repeats"),
    })
}

/// Runs the sweep; returns the sweep-point files it holds.
///
/// # Errors
/// Bad arguments, a target that cannot be reached, a failed run, or a
/// folder that cannot be written.
pub fn run_sweep(args: &SweepArgs) -> anyhow::Result<Vec<PathBuf>> {
    let grid = args.grid();
    let repeats = args.repeats();
    ensure!(!grid.is_empty(), "the grid is empty");
    ensure!(
        grid.len() <= MAX_GRID_POINTS,
        "the grid has {} points; at most {MAX_GRID_POINTS}",
        grid.len()
    );
    ensure!(
        (1..=MAX_REPEATS).contains(&repeats),
        "--repeats must be between 1 and {MAX_REPEATS}"
    );
    for point in &grid {
        args.load_config(point)
            .validate()
            .with_context(|| format!("point {}", point.id()))?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let repeat_path = |point: &GridPoint, repeat: u32| {
        args.out.join(point.id()).join(format!("rep-{repeat}.json"))
    };
    let pending: Vec<(usize, u32)> = (1..=repeats)
        .flat_map(|repeat| (0..grid.len()).map(move |index| (index, repeat)))
        .filter(|&(index, repeat)| !repeat_path(&grid[index], repeat).exists())
        .collect();
    let total_runs = grid.len() * repeats as usize;
    if !args.quiet {
        eprintln!(
            "sweep {}: {} points x {repeats} repeats, {} runs measured, {} to go",
            args.out.display(),
            grid.len(),
            total_runs - pending.len(),
            pending.len()
        );
    }
    let started = now();
    let mut summaries = BTreeMap::new();
    for (done, &(index, repeat)) in pending.iter().enumerate() {
        let point = &grid[index];
        let config = args.load_config(point);
        let bucket = format!("{}-p{index}-r{repeat}", args.target.bucket);
        let result = with_target(&args.target, &bucket, args.seed, Repeat { config: &config })
            .with_context(|| format!("point {} repeat {repeat}", point.id()))?;
        let path = repeat_path(point, repeat);
        std::fs::create_dir_all(path.parent().expect("a repeat file is in a point folder"))?;
        lockwell_results::write_new_result_file(&path, &result)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.quiet {
            let elapsed = started.elapsed();
            let remaining = pending.len() - done - 1;
            let eta = elapsed.mul_f64(remaining as f64 / (done + 1) as f64);
            let metric = |name: &str| result.metrics.get(name).map_or(0.0, |metric| metric.value);
            eprintln!(
                "[{:>4}/{}] {} rep {repeat}: goodput {:>9.0}/s conflicts {:>5.1}% p99 {:>8.2} ms  \
                 ETA {:.0}m{:02.0}s",
                total_runs - remaining,
                total_runs,
                point.id(),
                metric("goodput_writes_per_s"),
                metric("conflict_rate") * 100.0,
                metric("operation_p99_ns") / 1e6,
                (eta.as_secs() / 60) as f64,
                (eta.as_secs() % 60) as f64,
            );
        }
        write_index(args, &grid, &summaries)?;
    }

    let mut point_files = Vec::new();
    for point in &grid {
        let id = point.id();
        let path = args.out.join(format!("{id}.json"));
        let repeat_files: Vec<String> = (1..=repeats)
            .map(|repeat| format!("{id}/rep-{repeat}.json"))
            .collect();
        let results = repeat_files
            .iter()
            .map(|file| {
                let file = args.out.join(file);
                lockwell_results::read_result_file(&file)
                    .with_context(|| format!("cannot read {}", file.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The point is derived from its repeats (which are never
        // overwritten): kept while it summarizes the same repeats, replaced
        // when a sweep with more `--repeats` added some.
        let existing = path
            .exists()
            .then(|| lockwell_results::read_result_file(&path))
            .transpose()
            .with_context(|| format!("cannot read {}", path.display()))?;
        let listed = serde_json::Value::from(repeat_files.clone());
        let summary = match existing {
            Some(summary) if summary.config.pointer("/sweep/repeats") == Some(&listed) => summary,
            _ => {
                let summary = summarize_repeats(&id, &results, &repeat_files, unix_ms_now());
                let temporary = path.with_extension("json.tmp");
                let _ = std::fs::remove_file(&temporary);
                lockwell_results::write_new_result_file(&temporary, &summary)
                    .with_context(|| format!("cannot write {}", temporary.display()))?;
                std::fs::rename(&temporary, &path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                summary
            }
        };
        summaries.insert(id, headline(&summary));
        point_files.push(path);
    }
    write_index(args, &grid, &summaries)?;
    if !args.quiet {
        eprintln!(
            "sweep done: {} points in {}; fit it with `lockwell plan validate {}`",
            grid.len(),
            args.out.display(),
            args.out.display()
        );
    }
    Ok(point_files)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        sweep: SweepArgs,
    }

    #[test]
    fn the_grid_is_the_product_of_every_list() {
        let command = Command::parse_from([
            "sweep",
            "--inproc",
            "--out",
            "/tmp/s",
            "--racers",
            "1,8",
            "--keys",
            "1,1000",
            "--zipf",
            "0,1.2",
            "--mix",
            "cas;cas=3,get=7",
            "--cas-retry",
            "immediate,backoff",
        ]);
        let grid = command.sweep.grid();
        assert_eq!(grid.len(), 2 * 2 * 2 * 2 * 2);
        assert_eq!(grid[0].id(), "r1-k1-z0-cas1-p1024-immediate");
        assert_eq!(grid[1].id(), "r8-k1-z0-cas1-p1024-immediate");
        assert!(
            grid.iter()
                .any(|point| point.id() == "r8-k1000-z1.2-cas3get7-p1024-backoff")
        );
        let ids: std::collections::BTreeSet<String> = grid.iter().map(GridPoint::id).collect();
        assert_eq!(ids.len(), grid.len(), "ids are unique");
    }

    #[test]
    fn the_quick_grid_replaces_the_lists_and_durations() {
        let command = Command::parse_from(["sweep", "--inproc", "--out", "/tmp/s", "--quick"]);
        let grid = command.sweep.grid();
        assert_eq!(grid.len(), QUICK_RACERS.len() * QUICK_ZIPF.len());
        let config = command.sweep.load_config(&grid[0]);
        assert_eq!(config.stop, StopAfter::DurationMs(1000));
        assert_eq!(config.validate(), Ok(()));
        // Runs, warm-up included, fit the 3-minute budget with a minute
        // to spare for setup.
        let runs = grid.len() as u32 * QUICK_REPEATS;
        assert!((QUICK_DURATION + QUICK_WARMUP) * runs < Duration::from_secs(120));
    }

    fn run_with(goodput: f64, load: f64) -> RunResult {
        let mut result = RunResult::new(ResultKind::BenchRun, 0);
        result.config = serde_json::json!({ "load": { "seed": 1 }, "load_average_1m": load });
        result.metrics.insert(
            "goodput_writes_per_s".to_owned(),
            Metric::gated(goodput, "writes/s", Better::Higher),
        );
        result
    }

    #[test]
    fn a_point_holds_the_medians_and_range_of_its_repeats() {
        let repeats = [
            run_with(100.0, 0.5),
            run_with(300.0, 1.5),
            run_with(120.0, 2.0),
        ];
        let mut missing_metric = run_with(0.0, 0.0);
        missing_metric.metrics.clear();
        let files = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let point = summarize_repeats("r1", &repeats, &files, 7);
        assert_eq!(point.kind, ResultKind::SweepPoint);
        assert_eq!(point.metrics["goodput_writes_per_s"].value, 120.0);
        assert_eq!(point.metrics["goodput_writes_per_s_min"].value, 100.0);
        assert_eq!(point.metrics["goodput_writes_per_s_max"].value, 300.0);
        assert_eq!(point.metrics["repeats"].value, 3.0);
        assert_eq!(point.config["sweep"]["point"], "r1");
        assert_eq!(point.config["sweep"]["load_average_1m"][2], 2.0);
        let with_gap =
            summarize_repeats("r1", &[repeats[0].clone(), missing_metric], &files[..2], 7);
        assert!(
            !with_gap.metrics.contains_key("goodput_writes_per_s"),
            "a metric some repeat lacks has no median"
        );
    }

    #[test]
    fn merged_latency_covers_every_operation_and_request() {
        use crate::loadgen::{Operation, Outcome, RequestKind};
        let mut histograms = Histograms::new();
        let mut record = |key: HistogramKey, values: &[u64]| {
            let mut histogram = new_histogram();
            for &value in values {
                histogram.record(value).unwrap();
            }
            histograms.insert(key, histogram);
        };
        record(
            HistogramKey::Operation {
                operation: Operation::Cas,
                outcome: Outcome::Ok,
            },
            &[1000, 3000],
        );
        record(
            HistogramKey::Operation {
                operation: Operation::Get,
                outcome: Outcome::Ok,
            },
            &[2000],
        );
        record(
            HistogramKey::Request {
                kind: RequestKind::Get,
                outcome: Outcome::Ok,
            },
            &[500, 1500],
        );
        let metrics = merged_latency_metrics(&histograms, Duration::from_micros(4));
        let value = |name: &str| metrics[name].value;
        // 6 us of operations and 2 us of requests over 4 us.
        assert!((value("operations_in_flight") - 1.5).abs() < 0.01);
        assert!((value("requests_in_flight") - 0.5).abs() < 0.01);
        assert!((value("operation_mean_ns") - 2000.0).abs() < 5.0);
        assert!((value("operation_p50_ns") - 2000.0).abs() < 5.0);
        assert!((value("operation_p99_ns") - 3000.0).abs() < 5.0);
        assert!((value("request_mean_ns") - 1000.0).abs() < 5.0);
    }

    /// The whole sweep against the in-process store, twice: the second
    /// run finds every repeat measured and runs nothing.
    #[test]
    fn a_sweep_writes_points_and_index_and_resumes() {
        let out = std::env::temp_dir().join(format!("lockwell-sweep-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let out_text = out.to_str().unwrap();
        let command = Command::parse_from([
            "sweep",
            "--inproc",
            "--out",
            out_text,
            "--racers",
            "1,2",
            "--keys",
            "10",
            "--zipf",
            "0",
            "--repeats",
            "2",
            "--duration",
            "50ms",
            "--warmup",
            "0s",
            "--quiet",
        ]);
        let files = run_sweep(&command.sweep).unwrap();
        assert_eq!(files.len(), 2);
        let point = lockwell_results::read_result_file(&files[1]).unwrap();
        assert_eq!(point.kind, ResultKind::SweepPoint);
        for metric in [
            "operation_p99_ns",
            "request_mean_ns",
            "goodput_writes_per_s",
        ] {
            assert!(point.metrics.contains_key(metric), "{metric}");
        }
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(INDEX_FILE_NAME)).unwrap())
                .unwrap();
        assert_eq!(index["points"].as_array().unwrap().len(), 2);
        let modified = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
        run_sweep(&command.sweep).unwrap();
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
            modified
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
}
