//! The command line of the `lockwell-sim` binary.
//!
//! This is the one place in the crate that reads the wall clock and
//! spawns processes: to report how fast a campaign ran, and to run seeds
//! in worker processes ([`crate::workers`]), several at once and, for the
//! determinism check, each seed twice in different processes. Neither
//! reaches the simulated world.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use lockwell_server::buggify;
use lockwell_sim::history::Entry;
use lockwell_sim::runner::{SeedResult, run_seed};
use lockwell_workload::{FaultProfile, WorkloadSpec};
use serde::Serialize;

use crate::workers::{PointRecord, SeedSummary, ViolationLine, WorkerCommand, run_in_processes};

/// Entries of a failing run printed with its verdict, at most.
const MAX_ENTRIES_SHOWN: usize = 10;
/// Without a terminal, progress is a line every this many seeds...
const PROGRESS_EVERY_SEEDS: u64 = 100;
/// ...or every this many seconds, whichever comes first.
const PROGRESS_EVERY_S: u64 = 10;
/// On a terminal, the progress line is redrawn at most this often.
const PROGRESS_REDRAW_MS: u64 = 100;
/// Where the workload specs are unless `--workloads-dir` says otherwise.
const DEFAULT_WORKLOADS_DIR: &str = "workloads";
/// The version of the campaign result file (2: `jobs` and per-core rates).
const CAMPAIGN_RESULT_VERSION: u32 = 2;

/// Exit status when stdout's reader went away (`lockwell-sim ... | head`):
/// what a shell reports for a process ended by SIGPIPE.
const EXIT_BROKEN_PIPE: i32 = 141;

/// `print!` that ends the process quietly when stdout is a closed pipe
/// instead of panicking, as `print!` does.
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// `println!` likewise.
macro_rules! outln {
    ($($arg:tt)*) => {
        write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

fn write_stdout(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(text).and_then(|()| stdout.flush());
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        eprintln!("lockwell-sim: cannot write to stdout: {error}");
    }
}

#[derive(Parser)]
#[command(
    name = "lockwell-sim",
    about = "Seeds of a workload in Lockwell's simulated world"
)]
struct Cli {
    /// Where the workload specs are (`<dir>/<workload>.toml`).
    #[arg(long, global = true, default_value = DEFAULT_WORKLOADS_DIR)]
    workloads_dir: PathBuf,
    /// A fault profile other than the workload's own.
    #[arg(long, global = true)]
    faults: Option<String>,
    /// A TOML file of fault profiles, one table each (the format of
    /// lockwell-workload's `fault_profiles.toml`), looked up before the
    /// shipped ones: what `shrink` writes its reduced profile to.
    #[arg(long, global = true)]
    faults_file: Option<PathBuf>,
    /// Switch on this planted bug (builds with the `planted-bugs` feature
    /// only; `catalog` lists them).
    #[arg(long, global = true)]
    bug: Option<String>,
    #[command(subcommand)]
    command: Command_,
}

#[derive(Subcommand)]
enum Command_ {
    /// One seed: its verdict and trace hash; a failure names the rule it
    /// broke, the requests involved and the replay command.
    Run {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        seed: u64,
        /// Write the history here (JSON lines).
        #[arg(long)]
        history: Option<PathBuf>,
        /// Print only the trace hash (for the determinism check).
        #[arg(long)]
        hash_only: bool,
        /// Print the verdict as one JSON line (for `campaign`, which runs
        /// every seed in a process of its own).
        #[arg(long, conflicts_with = "hash_only")]
        json_summary: bool,
    },
    /// Many seeds: progress, a summary, a JSON result under `results/`;
    /// exits non-zero on any violation.
    Campaign {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        seeds: u64,
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// `i/n`: run only the seeds whose index is `i` modulo `n`.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u64, u64)>,
        #[arg(long, default_value = "results")]
        results_dir: PathBuf,
        /// Seeds run at once, each in a process of its own (default: one
        /// per core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
    },
    /// Each seed twice, each time in a fresh process; the trace hashes must
    /// agree.
    Determinism {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        seeds: u64,
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Processes at once (default: one per core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
    },
    /// Every planted bug's campaign until its first detection or its
    /// budget: a table on stdout and in `results/catalog.json` (planted
    /// builds only).
    #[cfg(feature = "planted-bugs")]
    Catalog(crate::catalog::CatalogArgs),
    /// Reduces a failing run (clients, ops, keys, op kinds, faults) while
    /// it still fails; prints the smallest spec as TOML, writes it, and
    /// prints its replay command.
    Shrink(crate::shrink::ShrinkArgs),
}

/// Processes at once when `--jobs` is not given: one per core.
fn jobs_or_default(jobs: Option<u64>) -> usize {
    jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        |jobs| usize::try_from(jobs).unwrap_or(usize::MAX),
    )
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not i/n"))?;
    let index: u64 = index
        .parse()
        .map_err(|_| format!("{index:?} is not a number"))?;
    let count: u64 = count
        .parse()
        .map_err(|_| format!("{count:?} is not a number"))?;
    if count == 0 || index >= count {
        return Err(format!("shard {index}/{count}: need 0 <= i < n"));
    }
    Ok((index, count))
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("lockwell-sim: {error}");
            ExitCode::from(2)
        }
    }
}

/// The workload `workers` names and the fault profile it runs under: the
/// `--faults` profile or the workload's own, from `--faults-file` if it
/// has one of that name, else shipped.
pub(crate) fn load(workers: &WorkerCommand) -> Result<(WorkloadSpec, FaultProfile), String> {
    let spec = WorkloadSpec::load(&workers.workloads_dir, &workers.workload)
        .map_err(|error| error.to_string())?;
    let profile_name = workers.faults.as_deref().unwrap_or(&spec.faults).to_owned();
    let from_file = match &workers.faults_file {
        Some(path) => {
            let text =
                fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
            FaultProfile::parse_all(&text)
                .map_err(|error| format!("{}: {error}", path.display()))?
                .remove(&profile_name)
        }
        None => None,
    };
    let profile = from_file
        .or_else(|| FaultProfile::named(&profile_name))
        .ok_or_else(|| format!("no fault profile {profile_name:?}"))?;
    Ok((spec, profile))
}

/// Switches on the planted bug `name` for the rest of this process.
#[cfg(feature = "planted-bugs")]
fn enable_bug(name: &str) -> Result<(), String> {
    use lockwell_core::planted::{self, PlantedBug};
    let bug = PlantedBug::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = PlantedBug::ALL.iter().map(|bug| bug.name()).collect();
        format!("no planted bug {name:?}; there are: {}", known.join(", "))
    })?;
    planted::enable(bug);
    Ok(())
}

#[cfg(not(feature = "planted-bugs"))]
fn enable_bug(name: &str) -> Result<(), String> {
    Err(format!(
        "--bug {name}: this simulator is built without planted bugs; run it through \
         `cargo xtask sim run --bug {name} ...`, which builds the planted one in \
         target/sim-planted"
    ))
}

fn execute(cli: Cli) -> Result<ExitCode, String> {
    if let Some(bug) = &cli.bug {
        enable_bug(bug)?;
    }
    let workers_for = |workload: String| WorkerCommand {
        workloads_dir: cli.workloads_dir.clone(),
        workload,
        faults: cli.faults.clone(),
        faults_file: cli.faults_file.clone(),
        bug: cli.bug.clone(),
    };
    match cli.command {
        Command_::Run {
            workload,
            seed,
            history,
            hash_only,
            json_summary,
        } => {
            let workers = workers_for(workload);
            let (spec, profile) = load(&workers)?;
            let result = run_seed(&spec, &profile, seed);
            if let Some(path) = &history {
                let file = fs::File::create(path)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                result
                    .history()
                    .write_jsonl(std::io::BufWriter::new(file))
                    .map_err(|error| format!("{}: {error}", path.display()))?;
            }
            let hash = result.history().trace_hash();
            if hash_only {
                outln!("{hash}");
            } else if json_summary {
                let summary = summarize(&workers, seed, &result);
                outln!(
                    "{}",
                    serde_json::to_string(&summary).map_err(|error| error.to_string())?
                );
            } else {
                out!("{}", verdict(&workers, seed, &result));
            }
            Ok(if result.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command_::Campaign {
            workload,
            seeds,
            start,
            shard,
            results_dir,
            jobs,
        } => {
            let workers = workers_for(workload);
            let (spec, profile) = load(&workers)?;
            let plan = CampaignPlan {
                spec: &spec,
                profile: &profile,
                workers,
                jobs: jobs_or_default(jobs),
            };
            campaign(&plan, seeds, start, shard, &results_dir)
        }
        Command_::Determinism {
            workload,
            seeds,
            start,
            jobs,
        } => {
            let workers = workers_for(workload);
            load(&workers)?;
            determinism(&workers, jobs_or_default(jobs), seeds, start)
        }
        #[cfg(feature = "planted-bugs")]
        Command_::Catalog(args) => {
            if cli.bug.is_some() {
                return Err("catalog runs every bug: leave out --bug".to_owned());
            }
            crate::catalog::catalog(&args, &cli.workloads_dir, jobs_or_default(args.jobs))
        }
        Command_::Shrink(args) => {
            let workers = workers_for(args.workload.clone());
            crate::shrink::shrink(&args, &workers, jobs_or_default(args.jobs))
        }
    }
}

fn summarize(workers: &WorkerCommand, seed: u64, result: &SeedResult) -> SeedSummary {
    SeedSummary {
        seed,
        trace_hash: result.history().trace_hash().to_string(),
        requests: result.history().entries.len() as u64,
        simulated_ns: result.outcome.simulated_ns,
        server_kills: result.outcome.faults.server_kills,
        buggify: result
            .outcome
            .buggify
            .iter()
            .map(|(name, count)| {
                (
                    (*name).to_owned(),
                    PointRecord {
                        reached: count.reached,
                        fired: count.fired,
                    },
                )
            })
            .collect(),
        violations: result
            .violations
            .iter()
            .map(|violation| ViolationLine {
                rule: violation.rule.to_owned(),
                message: violation.message.clone(),
            })
            .collect(),
        report: (!result.violations.is_empty()).then(|| verdict(workers, seed, result)),
    }
}

/// The command that runs `seed` of what `workers` runs again. A seed
/// reproduces only in the build that ran it: `cargo xtask sim run` builds
/// the planted simulator (`target/sim-planted`) when given `--bug`, the
/// correct one otherwise.
pub(crate) fn replay_command(workers: &WorkerCommand, seed: u64) -> String {
    let mut args = workers.global_args();
    // The default directory goes without saying.
    if args.get(1).map(String::as_str) == Some(DEFAULT_WORKLOADS_DIR) {
        args.drain(..2);
    }
    let workload = &workers.workload;
    let options: String = args.iter().map(|arg| format!(" {arg}")).collect();
    format!(
        "cargo xtask sim run --workload {workload} --seed {seed}{options} \
         --history {workload}-{seed}.jsonl"
    )
}

/// The verdict `run` prints: a line of counts, then for a failing run the
/// rules broken, the requests involved and the replay command.
fn verdict(workers: &WorkerCommand, seed: u64, result: &SeedResult) -> String {
    let workload = &workers.workload;
    let mut text = String::new();
    let outcome = &result.outcome;
    let hash = result.history().trace_hash();
    let verdict = if result.violations.is_empty() {
        "PASS"
    } else {
        "FAIL"
    };
    let _ = writeln!(
        text,
        "{verdict} workload={workload} seed={seed} trace={hash} requests={} simulated={:.3}s \
         kills={} clogs={} partitions={} lost_responses={} clock_jumps={} remints={}",
        result.history().entries.len(),
        outcome.simulated_ns as f64 / 1e9,
        outcome.faults.server_kills,
        outcome.faults.clogs,
        outcome.faults.partitions,
        outcome
            .buggify
            .get(buggify::LOST_RESPONSE_AFTER_COMMIT)
            .map_or(0, |count| count.fired),
        outcome.faults.clock_advances,
        outcome.token_remints,
    );
    for violation in &result.violations {
        let _ = writeln!(text, "  violates {}: {}", violation.rule, violation.message);
        let shown = violation.entries.len().saturating_sub(MAX_ENTRIES_SHOWN);
        for id in &violation.entries[shown..] {
            let entry: &Entry = &result.history().entries[usize::try_from(*id).expect("an index")];
            let _ = writeln!(
                text,
                "    {}",
                serde_json::to_string(entry).expect("entries serialise")
            );
        }
    }
    if !result.violations.is_empty() {
        let _ = writeln!(text, "  replay: {}", replay_command(workers, seed));
    }
    text
}

#[derive(Debug, Serialize)]
struct ViolationRecord {
    seed: u64,
    rule: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct CampaignResult {
    format: &'static str,
    version: u32,
    git_commit: String,
    workload: String,
    fault_profile: String,
    start: u64,
    seeds: u64,
    shard: Option<String>,
    violations: Vec<ViolationRecord>,
    buggify: BTreeMap<String, PointRecord>,
    buggify_never_fired: Vec<String>,
    simulated_requests: u64,
    server_kills: u64,
    /// Seeds that ran at once, each in a process of its own.
    jobs: u64,
    wall_time_ms: u64,
    simulated_time_ms: u64,
    seeds_per_s: f64,
    simulated_requests_per_wall_s: f64,
    /// `simulated_requests_per_wall_s` over `jobs`: the simulator's speed
    /// on one core.
    simulated_requests_per_core_s: f64,
    simulated_to_wall_time_ratio: f64,
}

pub(crate) fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

// The wall clock measures the campaign from outside the simulation (each
// seed's runtime is entered and left inside `run_seed`).
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// What a campaign runs and how.
struct CampaignPlan<'a> {
    spec: &'a WorkloadSpec,
    profile: &'a FaultProfile,
    workers: WorkerCommand,
    /// Seeds run at once, each in a process of its own.
    jobs: usize,
}

/// Seeds done over seeds planned, on stderr: a line redrawn in place on a
/// terminal, a line now and then otherwise (CI logs).
struct Progress {
    label: String,
    total: u64,
    done: u64,
    violations: u64,
    began: Instant,
    on_terminal: bool,
    last_shown: Instant,
    last_shown_done: u64,
}

impl Progress {
    fn new(label: String, total: u64) -> Self {
        let now = wall_clock();
        Self {
            label,
            total,
            done: 0,
            violations: 0,
            began: now,
            on_terminal: std::io::stderr().is_terminal(),
            last_shown: now,
            last_shown_done: 0,
        }
    }

    fn seed_done(&mut self, violations: usize) {
        self.done += 1;
        self.violations += violations as u64;
        let since_shown = self.last_shown.elapsed();
        let due = if self.on_terminal {
            since_shown >= Duration::from_millis(PROGRESS_REDRAW_MS) || self.done == self.total
        } else {
            self.done - self.last_shown_done >= PROGRESS_EVERY_SEEDS
                || since_shown >= Duration::from_secs(PROGRESS_EVERY_S)
        };
        if due {
            self.show();
        }
    }

    fn line(&self) -> String {
        let elapsed_s = self.began.elapsed().as_secs_f64().max(1e-9);
        let rate = self.done as f64 / elapsed_s;
        let eta_s = if rate > 0.0 {
            (self.total - self.done) as f64 / rate
        } else {
            f64::INFINITY
        };
        format!(
            "{}: {}/{} seeds, {} violations, {rate:.1} seeds/s, ETA {eta_s:.0}s",
            self.label, self.done, self.total, self.violations
        )
    }

    fn show(&mut self) {
        self.last_shown = wall_clock();
        self.last_shown_done = self.done;
        if self.on_terminal {
            eprint!("\r\x1b[2K{}", self.line());
        } else {
            eprintln!("  {}", self.line());
        }
    }

    /// Ends the redrawn line so that what follows starts on a line of its
    /// own.
    fn finish(&self) {
        if self.on_terminal && self.done > 0 {
            eprintln!();
        }
    }

    /// Prints `text` (a failing seed's verdict) above the progress line.
    fn print_above(&self, text: &str) {
        if self.on_terminal {
            eprint!("\r\x1b[2K");
        }
        out!("{text}");
    }
}

/// A campaign's totals, summed over seeds in whatever order they finish.
#[derive(Default)]
struct Totals {
    violations: Vec<ViolationRecord>,
    points: BTreeMap<String, PointRecord>,
    requests: u64,
    simulated_ns: u64,
    kills: u64,
    ran: u64,
}

impl Totals {
    fn add(&mut self, summary: SeedSummary) {
        self.ran += 1;
        self.requests += summary.requests;
        self.simulated_ns += summary.simulated_ns;
        self.kills += summary.server_kills;
        for (name, count) in summary.buggify {
            let point = self.points.entry(name).or_default();
            point.reached += count.reached;
            point.fired += count.fired;
        }
        let seed = summary.seed;
        self.violations.extend(
            summary
                .violations
                .into_iter()
                .map(|violation| ViolationRecord {
                    seed,
                    rule: violation.rule,
                    message: violation.message,
                }),
        );
    }
}

fn campaign(
    plan: &CampaignPlan<'_>,
    seeds: u64,
    start: u64,
    shard: Option<(u64, u64)>,
    results_dir: &Path,
) -> Result<ExitCode, String> {
    let spec = plan.spec;
    let (shard_index, shard_count) = shard.unwrap_or((0, 1));
    let planned: Vec<u64> = (0..seeds)
        .filter(|index| index % shard_count == shard_index)
        .map(|index| start + index)
        .collect();
    let jobs = plan.jobs.clamp(1, planned.len().max(1));
    let mut totals = Totals {
        points: buggify::POINTS
            .iter()
            .map(|(name, _)| ((*name).to_owned(), PointRecord::default()))
            .collect(),
        ..Totals::default()
    };
    let mut progress = Progress::new(spec.name.clone(), planned.len() as u64);
    let mut on_result = |seed: u64, summary: Result<SeedSummary, String>| {
        let summary = summary.unwrap_or_else(|error| crashed(&plan.workers, seed, error));
        if let Some(report) = &summary.report {
            progress.print_above(report);
        }
        progress.seed_done(summary.violations.len());
        totals.add(summary);
    };
    run_in_processes(&plan.workers, jobs, &planned, &mut on_result)?;
    progress.finish();
    let wall_s = progress.began.elapsed().as_secs_f64().max(1e-9);
    totals
        .violations
        .sort_by(|a, b| (a.seed, &a.rule).cmp(&(b.seed, &b.rule)));
    let never_fired = totals
        .points
        .iter()
        .filter(|(_, point)| point.fired == 0)
        .map(|(name, _)| name.clone())
        .collect();
    let simulated_ns = totals.simulated_ns;
    let requests_per_wall_s = totals.requests as f64 / wall_s;
    let result = CampaignResult {
        format: "lockwell-sim-campaign",
        version: CAMPAIGN_RESULT_VERSION,
        git_commit: git_commit(),
        workload: spec.name.clone(),
        fault_profile: plan.profile.name.clone(),
        start,
        seeds: totals.ran,
        shard: shard.map(|(index, count)| format!("{index}/{count}")),
        violations: totals.violations,
        buggify: totals.points,
        buggify_never_fired: never_fired,
        simulated_requests: totals.requests,
        server_kills: totals.kills,
        jobs: jobs as u64,
        wall_time_ms: (wall_s * 1000.0) as u64,
        simulated_time_ms: simulated_ns / 1_000_000,
        seeds_per_s: totals.ran as f64 / wall_s,
        simulated_requests_per_wall_s: requests_per_wall_s,
        simulated_requests_per_core_s: requests_per_wall_s / jobs as f64,
        simulated_to_wall_time_ratio: simulated_ns as f64 / 1e9 / wall_s,
    };
    outln!(
        "campaign {} ({}): {} seeds from {start}{}, {} violations{}",
        result.workload,
        result.fault_profile,
        result.seeds,
        result
            .shard
            .as_ref()
            .map(|shard| format!(" shard {shard}"))
            .unwrap_or_default(),
        result.violations.len(),
        if result.violations.is_empty() {
            String::new()
        } else {
            let seeds: BTreeSet<u64> = result
                .violations
                .iter()
                .map(|violation| violation.seed)
                .collect();
            format!(" (seeds {seeds:?})")
        }
    );
    outln!(
        "  simulated requests {}, server kills {}, wall {:.2}s on {jobs} {}, simulated {:.1}s: \
         {:.1} seeds/s, {:.0} requests/wall-s ({:.0} per core), {:.0}x real time",
        result.simulated_requests,
        result.server_kills,
        wall_s,
        if jobs == 1 { "process" } else { "processes" },
        simulated_ns as f64 / 1e9,
        result.seeds_per_s,
        result.simulated_requests_per_wall_s,
        result.simulated_requests_per_core_s,
        result.simulated_to_wall_time_ratio
    );
    for (name, point) in &result.buggify {
        outln!(
            "  BUGGIFY {name}: reached {}, fired {}",
            point.reached,
            point.fired
        );
    }
    if !result.buggify_never_fired.is_empty() {
        outln!("  BUGGIFY never fired: {:?}", result.buggify_never_fired);
    }
    fs::create_dir_all(results_dir)
        .map_err(|error| format!("{}: {error}", results_dir.display()))?;
    let shard_suffix = shard
        .map(|(index, count)| format!("-shard{index}of{count}"))
        .unwrap_or_default();
    let path = results_dir.join(format!(
        "sim-campaign-{}-{start}-{seeds}{shard_suffix}.json",
        result.workload
    ));
    let mut file =
        fs::File::create(&path).map_err(|error| format!("{}: {error}", path.display()))?;
    serde_json::to_writer_pretty(&mut file, &result).map_err(|error| error.to_string())?;
    writeln!(file).map_err(|error| error.to_string())?;
    outln!("  result: {}", path.display());
    Ok(if result.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A seed whose process ended without a verdict (a panic, most likely:
/// its message is above) as a failing seed with its replay command.
pub(crate) fn crashed(workers: &WorkerCommand, seed: u64, error: String) -> SeedSummary {
    let replay = replay_command(workers, seed);
    SeedSummary {
        seed,
        trace_hash: String::new(),
        requests: 0,
        simulated_ns: 0,
        server_kills: 0,
        buggify: BTreeMap::new(),
        report: Some(format!(
            "CRASH workload={} seed={seed}: {error}\n  replay: {replay}\n",
            workers.workload
        )),
        violations: vec![ViolationLine {
            rule: "crash".to_owned(),
            message: error,
        }],
    }
}

/// Runs every seed twice, each time in a fresh process, and compares the
/// trace hashes.
fn determinism(
    workers: &WorkerCommand,
    jobs: usize,
    seeds: u64,
    start: u64,
) -> Result<ExitCode, String> {
    let workload = &workers.workload;
    let forward: Vec<u64> = (start..start + seeds).collect();
    let mut progress = Progress::new(format!("{workload} determinism"), 2 * seeds);
    // Both runs of a seed are queued together: at most `jobs` processes
    // at once, every one fresh.
    let runs: Vec<u64> = forward.iter().flat_map(|&seed| [seed, seed]).collect();
    let mut hashes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    run_in_processes(workers, jobs, &runs, |seed, summary| {
        progress.seed_done(0);
        let hash = summary.map_or_else(
            |error| format!("no hash: {error}"),
            |summary| summary.trace_hash,
        );
        hashes.entry(seed).or_default().push(hash);
    })?;
    progress.finish();
    let diverged: Vec<u64> = forward
        .iter()
        .copied()
        .filter(|seed| {
            hashes
                .get(seed)
                .is_none_or(|pair| pair.len() != 2 || pair[0] != pair[1])
        })
        .collect();
    for seed in &diverged {
        eprintln!("  seed {seed}: trace hashes {:?}", hashes.get(seed));
    }
    outln!(
        "determinism {workload}: {seeds} seeds from {start}, each twice in fresh processes \
         ({} at once): {} diverged{} ({:.1}s)",
        jobs.clamp(1, runs.len().max(1)),
        diverged.len(),
        if diverged.is_empty() {
            String::new()
        } else {
            format!(" (seeds {diverged:?})")
        },
        progress.began.elapsed().as_secs_f64()
    );
    Ok(if diverged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
