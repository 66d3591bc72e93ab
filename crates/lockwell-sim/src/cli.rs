//! The command line of the `lockwell-sim` binary.
//!
//! This is the one place in the crate that reads the wall clock and
//! spawns processes: to report how fast a campaign ran, and to run each
//! seed of the determinism check in fresh processes. Neither reaches the
//! simulated world.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};
use lockwell_server::buggify;
use lockwell_sim::history::Entry;
use lockwell_sim::runner::{SeedResult, run_seed};
use lockwell_workload::{FaultProfile, WorkloadSpec};
use serde::Serialize;

/// Entries of a failing run printed with its verdict, at most.
const MAX_ENTRIES_SHOWN: usize = 10;
/// A campaign prints its progress every this many seeds.
const PROGRESS_EVERY_SEEDS: u64 = 50;
/// The version of the campaign result file.
const CAMPAIGN_RESULT_VERSION: u32 = 1;

#[derive(Parser)]
#[command(
    name = "lockwell-sim",
    about = "Seeds of a workload in Lockwell's simulated world"
)]
struct Cli {
    /// Where the workload specs are (`<dir>/<workload>.toml`).
    #[arg(long, global = true, default_value = "workloads")]
    workloads_dir: PathBuf,
    /// A fault profile other than the workload's own.
    #[arg(long, global = true)]
    faults: Option<String>,
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
    },
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

fn load(
    dir: &Path,
    workload: &str,
    faults: Option<&str>,
) -> Result<(WorkloadSpec, FaultProfile), String> {
    let spec = WorkloadSpec::load(dir, workload).map_err(|error| error.to_string())?;
    let profile_name = faults.unwrap_or(&spec.faults).to_owned();
    let profile = FaultProfile::named(&profile_name)
        .ok_or_else(|| format!("no fault profile {profile_name:?}"))?;
    Ok((spec, profile))
}

fn execute(cli: Cli) -> Result<ExitCode, String> {
    let faults = cli.faults.as_deref();
    match cli.command {
        Command_::Run {
            workload,
            seed,
            history,
            hash_only,
        } => {
            let (spec, profile) = load(&cli.workloads_dir, &workload, faults)?;
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
                println!("{hash}");
            } else {
                print_verdict(&workload, seed, &result, faults);
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
        } => {
            let (spec, profile) = load(&cli.workloads_dir, &workload, faults)?;
            campaign(&spec, &profile, seeds, start, shard, &results_dir, faults)
        }
        Command_::Determinism {
            workload,
            seeds,
            start,
        } => {
            load(&cli.workloads_dir, &workload, faults)?;
            determinism(&cli.workloads_dir, &workload, faults, seeds, start)
        }
    }
}

fn replay_command(workload: &str, seed: u64, faults: Option<&str>) -> String {
    let faults = faults
        .map(|name| format!(" --faults {name}"))
        .unwrap_or_default();
    format!(
        "cargo xtask sim run --workload {workload} --seed {seed}{faults} --history {workload}-{seed}.jsonl"
    )
}

fn print_verdict(workload: &str, seed: u64, result: &SeedResult, faults: Option<&str>) {
    let outcome = &result.outcome;
    let hash = result.history().trace_hash();
    let verdict = if result.violations.is_empty() {
        "PASS"
    } else {
        "FAIL"
    };
    println!(
        "{verdict} workload={workload} seed={seed} trace={hash} requests={} simulated={:.3}s \
         kills={} clogs={} partitions={} lost_responses={}",
        result.history().entries.len(),
        outcome.simulated_ns as f64 / 1e9,
        outcome.faults.server_kills,
        outcome.faults.clogs,
        outcome.faults.partitions,
        outcome
            .buggify
            .get(buggify::LOST_RESPONSE_AFTER_COMMIT)
            .map_or(0, |count| count.fired),
    );
    for violation in &result.violations {
        println!("  violates {}: {}", violation.rule, violation.message);
        let shown = violation.entries.len().saturating_sub(MAX_ENTRIES_SHOWN);
        for id in &violation.entries[shown..] {
            let entry: &Entry = &result.history().entries[usize::try_from(*id).expect("an index")];
            println!(
                "    {}",
                serde_json::to_string(entry).expect("entries serialise")
            );
        }
    }
    if !result.violations.is_empty() {
        println!("  replay: {}", replay_command(workload, seed, faults));
    }
}

#[derive(Debug, Serialize)]
struct ViolationRecord {
    seed: u64,
    rule: &'static str,
    message: String,
}

#[derive(Debug, Default, Serialize)]
struct PointRecord {
    reached: u64,
    fired: u64,
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
    buggify: BTreeMap<&'static str, PointRecord>,
    buggify_never_fired: Vec<&'static str>,
    simulated_requests: u64,
    server_kills: u64,
    wall_time_ms: u64,
    simulated_time_ms: u64,
    seeds_per_s: f64,
    simulated_requests_per_wall_s: f64,
    simulated_to_wall_time_ratio: f64,
}

fn git_commit() -> String {
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
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

fn campaign(
    spec: &WorkloadSpec,
    profile: &FaultProfile,
    seeds: u64,
    start: u64,
    shard: Option<(u64, u64)>,
    results_dir: &Path,
    faults: Option<&str>,
) -> Result<ExitCode, String> {
    let began = wall_clock();
    let mut violations = Vec::new();
    let mut points: BTreeMap<&'static str, PointRecord> = buggify::POINTS
        .iter()
        .map(|(name, _)| (*name, PointRecord::default()))
        .collect();
    let (mut requests, mut simulated_ns, mut kills, mut ran) = (0u64, 0u64, 0u64, 0u64);
    let (shard_index, shard_count) = shard.unwrap_or((0, 1));
    for index in (0..seeds).filter(|index| index % shard_count == shard_index) {
        let seed = start + index;
        let result = run_seed(spec, profile, seed);
        ran += 1;
        requests += result.history().entries.len() as u64;
        simulated_ns += result.outcome.simulated_ns;
        kills += result.outcome.faults.server_kills;
        for (name, count) in &result.outcome.buggify {
            let point = points.entry(name).or_default();
            point.reached += count.reached;
            point.fired += count.fired;
        }
        if !result.violations.is_empty() {
            print_verdict(&spec.name, seed, &result, faults);
        }
        violations.extend(result.violations.iter().map(|violation| ViolationRecord {
            seed,
            rule: violation.rule,
            message: violation.message.clone(),
        }));
        if ran % PROGRESS_EVERY_SEEDS == 0 {
            eprintln!(
                "  {}: {ran} seeds, {} violations, {:.1}s",
                spec.name,
                violations.len(),
                began.elapsed().as_secs_f64()
            );
        }
    }
    let wall_s = began.elapsed().as_secs_f64().max(1e-9);
    let never_fired = points
        .iter()
        .filter(|(_, point)| point.fired == 0)
        .map(|(name, _)| *name)
        .collect();
    let result = CampaignResult {
        format: "lockwell-sim-campaign",
        version: CAMPAIGN_RESULT_VERSION,
        git_commit: git_commit(),
        workload: spec.name.clone(),
        fault_profile: profile.name.clone(),
        start,
        seeds: ran,
        shard: shard.map(|(index, count)| format!("{index}/{count}")),
        violations,
        buggify: points,
        buggify_never_fired: never_fired,
        simulated_requests: requests,
        server_kills: kills,
        wall_time_ms: (wall_s * 1000.0) as u64,
        simulated_time_ms: simulated_ns / 1_000_000,
        seeds_per_s: ran as f64 / wall_s,
        simulated_requests_per_wall_s: requests as f64 / wall_s,
        simulated_to_wall_time_ratio: simulated_ns as f64 / 1e9 / wall_s,
    };
    println!(
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
            let seeds: std::collections::BTreeSet<u64> = result
                .violations
                .iter()
                .map(|violation| violation.seed)
                .collect();
            format!(" (seeds {seeds:?})")
        }
    );
    println!(
        "  simulated requests {}, server kills {}, wall {:.2}s, simulated {:.1}s: \
         {:.1} seeds/s, {:.0} requests/wall-s, {:.0}x real time",
        result.simulated_requests,
        result.server_kills,
        wall_s,
        simulated_ns as f64 / 1e9,
        result.seeds_per_s,
        result.simulated_requests_per_wall_s,
        result.simulated_to_wall_time_ratio
    );
    for (name, point) in &result.buggify {
        println!(
            "  BUGGIFY {name}: reached {}, fired {}",
            point.reached, point.fired
        );
    }
    if !result.buggify_never_fired.is_empty() {
        println!("  BUGGIFY never fired: {:?}", result.buggify_never_fired);
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
    println!("  result: {}", path.display());
    Ok(if result.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The trace hash of `seed`, from a fresh process of this binary.
fn hash_in_fresh_process(
    dir: &Path,
    workload: &str,
    faults: Option<&str>,
    seed: u64,
) -> Result<std::process::Child, String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut command = Command::new(exe);
    command.arg("--workloads-dir").arg(dir);
    if let Some(faults) = faults {
        command.args(["--faults", faults]);
    }
    command
        .args([
            "run",
            "--workload",
            workload,
            "--seed",
            &seed.to_string(),
            "--hash-only",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|error| error.to_string())
}

fn determinism(
    dir: &Path,
    workload: &str,
    faults: Option<&str>,
    seeds: u64,
    start: u64,
) -> Result<ExitCode, String> {
    let began = wall_clock();
    let mut diverged = Vec::new();
    for seed in start..start + seeds {
        // Both processes at once: two cores, half the wall time.
        let first = hash_in_fresh_process(dir, workload, faults, seed)?;
        let second = hash_in_fresh_process(dir, workload, faults, seed)?;
        let hashes: Vec<String> = [first, second]
            .into_iter()
            .map(|child| {
                child
                    .wait_with_output()
                    .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
                    .map_err(|error| error.to_string())
            })
            .collect::<Result<_, _>>()?;
        if hashes[0].is_empty() || hashes[0] != hashes[1] {
            eprintln!(
                "  seed {seed}: trace hashes {} and {}",
                hashes[0], hashes[1]
            );
            diverged.push(seed);
        }
    }
    println!(
        "determinism {workload}: {seeds} seeds from {start}, each twice in fresh processes: {} \
         diverged{} ({:.1}s)",
        diverged.len(),
        if diverged.is_empty() {
            String::new()
        } else {
            format!(" (seeds {diverged:?})")
        },
        began.elapsed().as_secs_f64()
    );
    Ok(if diverged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
