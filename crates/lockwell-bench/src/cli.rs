//! The `lockwell bench`, `lockwell compare` and `lockwell results`
//! commands: clap arguments and
//! entry points for the `lockwell` binary (lockwell-cli), which only parses
//! and dispatches.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use lockwell_core::store::{DEFAULT_SHARD_COUNT, StoreConfig};
use lockwell_results::compare::{MetricComparison, Thresholds};
use lockwell_results::{Comparison, RunResult, Verdict, aa_noise_thresholds};

use crate::environment::{describe_environment, unix_ms_now};
use crate::loadgen::http_target::{LocalServer, S3Endpoint, S3Target, ServerStorage};
use crate::loadgen::inproc::{BENCH_BUCKET, InProcessTarget};
use crate::loadgen::{
    self, CasRetry, LoadConfig, LoadReport, LoopMode, OpMix, Progress, StopAfter, Target,
};

/// Where result files go unless `--out` says otherwise.
pub const DEFAULT_RESULTS_DIRECTORY: &str = "results";

/// What a compare-and-swap racer does after losing (`--cas-retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CasRetryPolicy {
    /// Re-read and retry at once.
    Immediate,
    /// Sleep a random time up to an exponentially growing ceiling (full
    /// jitter), then re-read.
    Backoff,
}

/// The backoff a losing CAS racer sleeps with, when its policy is
/// [`CasRetryPolicy::Backoff`]: the flags `lockwell bench`, `bench sweep`
/// and `lockwell plan` share.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct BackoffArgs {
    /// Backoff: ceiling of the first delay, in microseconds; doubles per
    /// loss up to the cap.
    #[arg(long = "backoff-base-us", default_value_t = 20)]
    pub base_us: u64,
    /// Backoff: largest delay ceiling, in microseconds.
    #[arg(long = "backoff-cap-us", default_value_t = 5_000)]
    pub cap_us: u64,
}

impl BackoffArgs {
    /// The load generator's retry behaviour for `policy`.
    #[must_use]
    pub fn cas_retry(self, policy: CasRetryPolicy) -> CasRetry {
        match policy {
            CasRetryPolicy::Immediate => CasRetry::Immediate,
            CasRetryPolicy::Backoff => CasRetry::Backoff {
                base_us: self.base_us,
                cap_us: self.cap_us,
            },
        }
    }
}

/// What `lockwell bench` measures: exactly one of the in-process store,
/// our server, or any S3 endpoint.
#[derive(Debug, Clone, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["inproc", "server", "endpoint"]))]
pub struct TargetArgs {
    /// Measure lockwell-core's store inside this process: the commit path
    /// alone, no server, no network.
    #[arg(long)]
    pub inproc: bool,
    /// Start lockwell-server in this process on a loopback port, over this
    /// storage backend, and measure it over HTTP with the S3 client.
    #[arg(long, value_enum, value_name = "STORAGE")]
    pub server: Option<ServerStorage>,
    /// With `--server file`: the data directory [default: a fresh one in
    /// the temp dir, removed afterwards].
    #[arg(long)]
    pub server_data: Option<PathBuf>,
    /// Measure any S3 endpoint (ours, MinIO, s3s-fs, AWS), e.g.
    /// `http://127.0.0.1:9000`; SigV4 with --access-key/--secret-key.
    #[arg(long, value_name = "URL", requires_all = ["access_key", "secret_key"])]
    pub endpoint: Option<String>,
    /// Access key id for --endpoint.
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub access_key: Option<String>,
    /// Secret key for --endpoint.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Region the signatures are scoped to.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// What serves --endpoint, recorded in the result (e.g. `s3s-fs 0.14.1`).
    #[arg(long, requires = "endpoint")]
    pub served_by: Option<String>,
    /// Bucket of an HTTP target; created if missing.
    #[arg(long, default_value = BENCH_BUCKET)]
    pub bucket: String,
    /// Shards of the in-process store.
    #[arg(long, default_value_t = DEFAULT_SHARD_COUNT)]
    pub shards: usize,
}

/// Arguments of `lockwell bench`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchArgs {
    /// `lockwell bench sweep`: a grid of runs instead of one.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Closed loop: racers issuing operations back to back. With --rate:
    /// the workers that serve the schedule.
    #[arg(long, default_value_t = 8)]
    pub racers: usize,
    /// Open loop: operations per second on a fixed schedule; latency counts
    /// from each operation's intended start (coordinated omission
    /// corrected), and the service time is reported beside it.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 1)]
    pub keys: usize,
    /// Zipf exponent of key popularity (0 = uniform, 0.99 = YCSB hot keys).
    #[arg(long, default_value_t = 0.99)]
    pub zipf: f64,
    /// Operation weights: create (If-None-Match: *), cas (GET then put
    /// If-Match), put, get; e.g. `cas=1` or `create=1,get=3`.
    #[arg(long, default_value = "cas")]
    pub mix: OpMix,
    /// Bytes per write.
    #[arg(long, default_value_t = 1024)]
    pub payload_bytes: usize,
    /// What a compare-and-swap racer does after a 412 or 409.
    #[arg(long, value_enum, default_value_t = CasRetryPolicy::Immediate)]
    pub cas_retry: CasRetryPolicy,
    #[command(flatten)]
    pub backoff: BackoffArgs,
    /// Attempts after which a compare-and-swap gives up (its outcome is
    /// then 412).
    #[arg(long, default_value_t = 10_000)]
    pub cas_max_attempts: u32,
    /// Measured time (after the warm-up), e.g. `10s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Measure this many operations instead of a duration.
    #[arg(long, conflicts_with = "duration")]
    pub ops: Option<u64>,
    /// Unmeasured time at the start.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Period of progress reports and interval-log entries.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Seed of key, operation and backoff choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Result file to create [default: results/bench-run-<UTC time>.json].
    /// The interval log goes beside it, with the extension `.hlog`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Plain progress lines instead of the live dashboard, which the
    /// `lockwell` binary shows by default when stdout is a terminal.
    #[arg(long)]
    pub no_tui: bool,
}

/// Subcommands of `lockwell bench`.
#[non_exhaustive]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Run the load generator over a grid (racers, keys, zipf skew, op
    /// mix, payload size, CAS retry policy), repeating each point; one
    /// result file per point plus an index in the sweep folder, which
    /// `lockwell plan` fits. Resumable: measured points are skipped.
    Sweep(crate::sweep::SweepArgs),
}

/// `10s`, `500ms`, `250us`, `2m`, or a bare number of seconds.
///
/// # Errors
/// Anything else, as a message for clap.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 10s or 500ms"))?;
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" => 60.0,
        _ => return Err(format!("{text:?}: the unit must be us, ms, s or m")),
    };
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|error| error.to_string())
}

fn whole_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl BenchArgs {
    /// The load generator's config these arguments describe.
    #[must_use]
    pub fn load_config(&self) -> LoadConfig {
        LoadConfig {
            mode: match self.rate {
                Some(rate_per_s) => LoopMode::Open {
                    workers: self.racers,
                    rate_per_s,
                },
                None => LoopMode::Closed {
                    racers: self.racers,
                },
            },
            key_count: self.keys,
            zipf_exponent: self.zipf,
            mix: self.mix,
            payload_len_bytes: self.payload_bytes,
            cas_retry: self.backoff.cas_retry(self.cas_retry),
            cas_max_attempts: self.cas_max_attempts,
            warmup_ms: whole_ms(self.warmup),
            stop: self
                .ops
                .map_or(StopAfter::DurationMs(whole_ms(self.duration)), |count| {
                    StopAfter::Operations(count)
                }),
            interval_ms: whole_ms(self.interval),
            seed: self.seed,
        }
    }
}

/// A finished `lockwell bench`.
#[derive(Debug)]
pub struct BenchOutcome {
    pub report: LoadReport,
    pub result: RunResult,
    pub result_path: PathBuf,
    pub interval_log_path: PathBuf,
}

/// Runs `lockwell bench`, or the subcommand named.
///
/// # Errors
/// See [`run_bench`] and [`crate::sweep::run_sweep`].
pub fn run_bench_command(args: &BenchArgs) -> anyhow::Result<()> {
    match &args.command {
        Some(BenchCommand::Sweep(sweep)) => crate::sweep::run_sweep(sweep).map(|_| ()),
        None => run_bench(args).map(|_| ()),
    }
}

/// Something to do with a target, whatever its type: the single-run
/// measurement, or one point of a sweep.
pub trait WithTarget {
    type Output;

    /// # Errors
    /// Whatever the work fails with.
    fn run<T: Target>(self, target: &T) -> anyhow::Result<Self::Output>;
}

/// Opens the target `args` name (starting our server in process for
/// `--server`, on `bucket` for HTTP targets) and hands it to `work`.
///
/// # Errors
/// A target that cannot be started or reached, or `work`'s error.
pub fn with_target<W: WithTarget>(
    args: &TargetArgs,
    bucket: &str,
    seed: u64,
    work: W,
) -> anyhow::Result<W::Output> {
    ensure!(
        args.server_data.is_none() || args.server == Some(ServerStorage::File),
        "--server-data is the data directory of --server file"
    );
    if let Some(storage) = args.server {
        // Declared before the target so that it stops after the last
        // connection closes.
        let server = LocalServer::start(storage, args.server_data.as_deref())
            .context("starting the in-process server")?;
        let target = S3Target::new(server.endpoint(bucket), server.describe(), seed)
            .context("reaching the in-process server")?;
        work.run(&target)
    } else if let Some(url) = &args.endpoint {
        let endpoint = S3Endpoint {
            url: url.clone(),
            region: args.region.clone(),
            access_key_id: args
                .access_key
                .clone()
                .context("--access-key is required")?,
            secret_key: args
                .secret_key
                .clone()
                .context("--secret-key is required")?,
            bucket: bucket.to_owned(),
        };
        let served_by = args.served_by.as_deref().map_or(
            serde_json::Value::Null,
            |name| serde_json::json!({ "server": name }),
        );
        let target =
            S3Target::new(endpoint, served_by, seed).with_context(|| format!("reaching {url}"))?;
        work.run(&target)
    } else {
        let target = InProcessTarget::new(
            StoreConfig {
                shard_count: args.shards,
                ..StoreConfig::default()
            },
            unix_ms_now(),
        );
        work.run(&target)
    }
}

/// How a run reports while it runs: progress lines on stderr for
/// [`run_bench`]; the `lockwell` binary's live dashboard instead.
pub struct Watch<'a> {
    /// Called on the collector thread, once per phase and closed interval.
    pub progress: &'a mut dyn FnMut(&Progress),
    /// Set to end the run early; it still writes its result.
    pub stop: &'a AtomicBool,
}

/// Runs `lockwell bench`: the load, then the result file and the interval
/// log; prints progress on stderr and a summary (or the JSON) on stdout.
///
/// # Errors
/// Bad arguments, an existing output file, or a failed run.
pub fn run_bench(args: &BenchArgs) -> anyhow::Result<BenchOutcome> {
    let mut print_progress = |progress: &Progress| {
        if !args.quiet {
            eprintln!("{}", describe_progress(progress));
        }
    };
    let watch = Watch {
        progress: &mut print_progress,
        stop: &AtomicBool::new(false),
    };
    let outcome = run_bench_watched(args, watch)?;
    print_outcome(args, &outcome)?;
    Ok(outcome)
}

/// [`run_bench`] reporting through `watch`, and printing nothing.
///
/// # Errors
/// Bad arguments, an existing output file, or a failed run.
pub fn run_bench_watched(args: &BenchArgs, watch: Watch<'_>) -> anyhow::Result<BenchOutcome> {
    let config = args.load_config();
    config.validate()?;
    let result_path = match &args.out {
        Some(path) => path.clone(),
        None => {
            let directory = Path::new(DEFAULT_RESULTS_DIRECTORY);
            std::fs::create_dir_all(directory)
                .with_context(|| format!("cannot create {}", directory.display()))?;
            directory.join(
                lockwell_results::RunResult::new(
                    lockwell_results::ResultKind::BenchRun,
                    unix_ms_now(),
                )
                .default_file_name(),
            )
        }
    };
    ensure!(
        !result_path.exists(),
        "{} exists; results are never overwritten",
        result_path.display()
    );
    struct Measure<'a, 'w> {
        config: &'a LoadConfig,
        result_path: PathBuf,
        watch: Watch<'w>,
    }
    impl WithTarget for Measure<'_, '_> {
        type Output = BenchOutcome;

        fn run<T: Target>(self, target: &T) -> anyhow::Result<BenchOutcome> {
            measure(self.config, target, self.result_path, self.watch)
        }
    }
    with_target(
        &args.target,
        &args.target.bucket,
        args.seed,
        Measure {
            config: &config,
            result_path,
            watch,
        },
    )
}

/// The run against `target`, its result file and interval log.
fn measure<T: Target>(
    config: &LoadConfig,
    target: &T,
    result_path: PathBuf,
    watch: Watch<'_>,
) -> anyhow::Result<BenchOutcome> {
    let interval_log_path = result_path.with_extension("hlog");
    let interval_log = File::options()
        .write(true)
        .create_new(true)
        .open(&interval_log_path)
        .with_context(|| format!("cannot create {}", interval_log_path.display()))?;
    let mut interval_log = BufWriter::new(interval_log);
    let report = loadgen::run_until(
        target,
        config,
        Some(&mut interval_log),
        watch.progress,
        watch.stop,
    )?;
    interval_log
        .flush()
        .with_context(|| format!("cannot write {}", interval_log_path.display()))?;

    let mut result = report.to_result(unix_ms_now())?;
    describe_environment(&mut result, Path::new("."));
    lockwell_results::write_new_result_file(&result_path, &result)
        .with_context(|| format!("cannot write {}", result_path.display()))?;
    Ok(BenchOutcome {
        report,
        result,
        result_path,
        interval_log_path,
    })
}

/// The summary (or with `--json` the result) of a finished run, on stdout.
///
/// # Errors
/// stdout cannot be written.
pub fn print_outcome(args: &BenchArgs, outcome: &BenchOutcome) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    if args.json {
        lockwell_results::write_result(&mut stdout, &outcome.result)?;
    } else {
        write!(stdout, "{}", summarize(&outcome.report))?;
        writeln!(stdout, "result: {}", outcome.result_path.display())?;
        writeln!(
            stdout,
            "interval log: {}",
            outcome.interval_log_path.display()
        )?;
    }
    Ok(())
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{:.1}%", ratio * 100.0))
}

/// One progress line.
#[must_use]
pub fn describe_progress(progress: &Progress) -> String {
    match progress {
        Progress::CreatingKeys { key_count } => format!("creating {key_count} keys"),
        Progress::WarmingUp { duration } => format!("warming up for {duration:?}"),
        Progress::Interval(interval) => {
            let tally = interval.tally;
            format!(
                "[{:>6.1} s] {:>10.0} ops/s  goodput {:>10.0} writes/s  conflicts {:>6}  errors {}",
                interval.end.as_secs_f64(),
                interval.per_second(tally.operations),
                interval.per_second(tally.successful_writes),
                percent(tally.conflict_rate()),
                tally.errors,
            )
        }
    }
}

/// The human summary: headline rates, then one row per histogram.
#[must_use]
pub fn summarize(report: &LoadReport) -> String {
    let tally = report.tally();
    let config = &report.config;
    let mut text = format!(
        "target {}\n{}, {} keys (zipf {}), mix {}, {} B payload, cas retry {:?}\n\
         measured {:.2} s after {} ms warm-up\n\
         goodput {:.0} writes/s  conflict rate {}  operations {:.0}/s  errors {}\n\n",
        report.target,
        match config.mode {
            LoopMode::Closed { racers } => format!("closed loop, {racers} racers"),
            LoopMode::Open {
                workers,
                rate_per_s,
            } => format!("open loop, {rate_per_s}/s on {workers} workers"),
        },
        config.key_count,
        config.zipf_exponent,
        config.mix,
        config.payload_len_bytes,
        config.cas_retry,
        report.measured.as_secs_f64(),
        config.warmup_ms,
        report.per_second(tally.successful_writes),
        percent(tally.conflict_rate()),
        report.per_second(tally.operations),
        tally.errors,
    );
    text.push_str(&format!(
        "{:<10} {:<18} {:<8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "view", "op", "outcome", "count", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us"
    ));
    let micros = |nanos: u64| nanos as f64 / 1000.0;
    for (key, histogram) in &report.histograms {
        let summary = lockwell_results::Percentiles::of(histogram);
        text.push_str(&format!(
            "{:<10} {:<18} {:<8} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}\n",
            key.view(),
            key.op(),
            key.outcome().code(),
            summary.count,
            micros(summary.p50),
            micros(summary.p90),
            micros(summary.p99),
            micros(summary.p99_9),
            micros(summary.max),
        ));
    }
    text
}

/// Arguments of `lockwell results`.
#[derive(Debug, Clone, clap::Args)]
pub struct ResultsArgs {
    #[command(subcommand)]
    pub action: ResultsAction,
}

/// What `lockwell results` does.
#[non_exhaustive]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ResultsAction {
    /// Merge the runs of several generator processes or machines that
    /// loaded one target together (result files, each with its `.hlog`)
    /// into one result: histograms added, rates summed, ratios from the
    /// summed counts, time range the union.
    Merge(crate::merge::MergeArgs),
}

/// Runs `lockwell results`.
///
/// # Errors
/// See [`crate::merge::run_merge`].
pub fn run_results(args: &ResultsArgs) -> anyhow::Result<()> {
    match &args.action {
        ResultsAction::Merge(merge) => crate::merge::run_merge(merge).map(|_| ()),
    }
}

/// Arguments of `lockwell compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// Runs of the baseline: a result file or a directory of them (every
    /// `*.json` in it). Several runs per side, interleaved with B's.
    pub a: PathBuf,
    /// Runs of the candidate, as for A.
    pub b: PathBuf,
    /// Runs of one build (A/A) from which to derive each metric's noise
    /// threshold.
    #[arg(long)]
    pub aa: Option<PathBuf>,
    /// Largest p-value that counts as a significant change.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Smallest relative shift that counts as a change, whatever the A/A
    /// noise.
    #[arg(long, default_value_t = 0.02)]
    pub min_shift: f64,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Reads one result file, or every `*.json` in a directory (in name order).
///
/// # Errors
/// An unreadable path or result file.
pub fn read_runs(path: &Path) -> anyhow::Result<Vec<RunResult>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|file| {
            file.extension()
                .is_some_and(|extension| extension == "json")
        });
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    files
        .iter()
        .map(|file| {
            lockwell_results::read_result_file(file)
                .with_context(|| format!("cannot read {}", file.display()))
        })
        .collect()
}

/// Runs `lockwell compare`: prints the verdicts and fails when a gated
/// metric got slower, so that scripts can use the exit code.
///
/// # Errors
/// Unreadable runs, a side without runs, or a regression.
pub fn run_compare(args: &CompareArgs) -> anyhow::Result<Comparison> {
    let a_runs = read_runs(&args.a)?;
    let b_runs = read_runs(&args.b)?;
    let aa_noise = match &args.aa {
        Some(path) => aa_noise_thresholds(&read_runs(path)?),
        None => Default::default(),
    };
    let thresholds = Thresholds {
        alpha: args.alpha,
        min_relative_shift: args.min_shift,
        aa_noise,
    };
    let comparison = lockwell_results::compare(&a_runs, &b_runs, &thresholds)?;
    let mut stdout = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &comparison)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", comparison_table(&comparison))?;
    }
    let regressions: Vec<String> = comparison.regressions().map(describe_change).collect();
    if !regressions.is_empty() {
        bail!("regression: {}", regressions.join("; "));
    }
    Ok(comparison)
}

fn describe_change(metric: &MetricComparison) -> String {
    format!(
        "{} {} by {} (p = {:.3})",
        metric.name,
        verdict_name(metric.verdict),
        metric.relative_shift.map_or_else(
            || format!("{:+} {}", metric.shift, metric.unit),
            |shift| { format!("{:+.1}%", shift * 100.0) }
        ),
        metric.p_value
    )
}

const fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Faster => "faster",
        Verdict::Slower => "slower",
        Verdict::Same => "same",
        _ => "unknown",
    }
}

/// A value with about four significant digits, without exponent for the
/// magnitudes metrics have (ratios to nanoseconds).
fn significant(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude >= 1000.0 || magnitude == 0.0 {
        0
    } else if magnitude >= 1.0 {
        3
    } else {
        5
    };
    format!("{value:.decimals$}")
}

/// The human form of a comparison.
#[must_use]
pub fn comparison_table(comparison: &Comparison) -> String {
    let mut text = format!(
        "{:<28} {:>4} {:>14} {:>14} {:>9} {:>8} {:>9}  {}\n",
        "metric", "runs", "A median", "B median", "shift", "p", "threshold", "verdict"
    );
    for metric in &comparison.metrics {
        text.push_str(&format!(
            "{:<28} {:>4} {:>14} {:>14} {:>9} {:>8.4} {:>8.1}%  {}{}\n",
            metric.name,
            format!("{}/{}", metric.a.runs, metric.b.runs),
            significant(metric.a.median),
            significant(metric.b.median),
            percent(metric.relative_shift),
            metric.p_value,
            metric.threshold * 100.0,
            verdict_name(metric.verdict),
            if metric.gate { "" } else { " (not gated)" },
        ));
    }
    for note in &comparison.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        bench: BenchArgs,
    }

    #[test]
    fn compared_values_keep_about_four_significant_digits() {
        let cases = [
            (0.0, "0"),
            (0.012_345_6, "0.01235"),
            (1.093_006, "1.093"),
            (3612.4, "3612"),
            (165_049.377, "165049"),
        ];
        for (value, expected) in cases {
            assert_eq!(significant(value), expected, "{value}");
        }
    }

    #[test]
    fn durations_parse_with_units() {
        let cases = [
            ("10s", Some(Duration::from_secs(10))),
            ("10", Some(Duration::from_secs(10))),
            ("500ms", Some(Duration::from_millis(500))),
            ("250us", Some(Duration::from_micros(250))),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("2m", Some(Duration::from_secs(120))),
            ("2h", None),
            ("s", None),
            ("-1s", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn arguments_make_a_closed_or_open_loop_config() {
        let closed = Command::parse_from([
            "bench",
            "--inproc",
            "--racers",
            "64",
            "--keys",
            "10000",
            "--cas-retry",
            "backoff",
            "--ops",
            "5000",
        ]);
        let config = closed.bench.load_config();
        assert_eq!(config.mode, LoopMode::Closed { racers: 64 });
        assert_eq!(config.key_count, 10_000);
        assert_eq!(
            config.cas_retry,
            CasRetry::Backoff {
                base_us: 20,
                cap_us: 5_000
            }
        );
        assert_eq!(config.stop, StopAfter::Operations(5000));
        assert_eq!(config.validate(), Ok(()));

        let open = Command::parse_from(["bench", "--inproc", "--rate", "2000", "--duration", "3s"]);
        let config = open.bench.load_config();
        assert_eq!(
            config.mode,
            LoopMode::Open {
                workers: 8,
                rate_per_s: 2000.0
            }
        );
        assert_eq!(config.stop, StopAfter::DurationMs(3000));
        assert!(
            Command::try_parse_from(["bench", "--inproc", "--ops", "5", "--duration", "1s"])
                .is_err(),
            "--ops and --duration exclude each other"
        );
    }

    #[test]
    fn exactly_one_target_is_named() {
        let cases: [(&[&str], bool); 7] = [
            (&["bench", "--inproc"], true),
            (&["bench", "--server", "memory"], true),
            (
                &["bench", "--server", "file", "--server-data", "/tmp/d"],
                true,
            ),
            (
                &[
                    "bench",
                    "--endpoint",
                    "http://127.0.0.1:9000",
                    "--access-key",
                    "a",
                    "--secret-key",
                    "s",
                ],
                true,
            ),
            (&["bench"], false),
            (&["bench", "--inproc", "--server", "memory"], false),
            (&["bench", "--server", "disk"], false),
        ];
        for (arguments, valid) in cases {
            assert_eq!(
                Command::try_parse_from(arguments).is_ok(),
                valid,
                "{arguments:?}"
            );
        }
        let http = Command::parse_from(["bench", "--server", "file"]);
        assert_eq!(http.bench.target.server, Some(ServerStorage::File));
        assert_eq!(http.bench.target.bucket, BENCH_BUCKET);
    }
}
