//! Lockwell's build modes and the README's two commands.
//!
//! `cargo xtask test` is the one test command (CI runs it through `.ci/run`);
//! `cargo xtask run` is the main job. The other subcommands run one mode on its
//! own. Each build mode keeps its own target directory so that switching modes
//! never rebuilds the others: `target/` (normal), `target/sim` (`--cfg madsim`)
//! and `target/loom` (`--cfg loom`, lockwell-core only).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod bench_ab;
mod bench_instructions;
mod workbench;

/// Seeds the test command's simulation campaign runs; each one twice, for
/// the determinism check.
const TEST_SIM_SEEDS: u32 = 32;
/// `LOOM_MAX_PREEMPTIONS` for the models: bounded preemption finds the
/// check-then-act bugs we plant within a few hundred executions, while an
/// unbounded search of three racing writers does not finish in CI time.
const LOOM_MAX_PREEMPTIONS: u32 = 3;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Lockwell's build modes, tests and workbench run"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

/// What `cargo xtask sim` does. `run`, `campaign`, `determinism`,
/// `catalog` and `shrink` pass their arguments to the `lockwell-sim`
/// binary (see its `--help`).
#[derive(Subcommand)]
enum SimAction {
    /// The simulation tests (`crates/lockwell-sim/tests`) over many seeds.
    Tests {
        /// Number of seeds to run.
        #[arg(long, default_value_t = TEST_SIM_SEEDS)]
        seeds: u32,
        /// Replay one seed (as printed by a failing run) instead.
        #[arg(long)]
        seed: Option<u64>,
        /// Run each seed twice and fail on any divergence.
        #[arg(long)]
        check_determinism: bool,
    },
    /// One seed of a workload: `--workload W --seed S [--history FILE]`;
    /// with `--bug NAME`, in the planted build (`target/sim-planted`).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Many seeds: `--workload W --seeds N [--start S] [--shard i/n]
    /// [--jobs J]` (J defaults to the number of cores).
    Campaign {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Each seed twice in fresh processes: `--workload W --seeds N [--jobs J]`.
    Determinism {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The simulator against a deliberately broken client (feature
    /// `planted-bugs`, built apart in `target/sim-planted`): a shipped
    /// workload must catch it within 200 seeds and the failing seed must
    /// replay bit-for-bit in a fresh process.
    Planted,
    /// Every planted bug's campaign (the planted build, `target/sim-planted`)
    /// until its first detection or its budget: prints the table and
    /// writes `results/catalog.json`. `[--only NAME]... [--max-seeds N]
    /// [--budget-cpu-s S] [--jobs J]`.
    Catalog {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Reduces a failing run while it still fails: `--workload W --seed S
    /// [--bug NAME] [--any-violation] [--budget-s 60]`; prints the shrunk
    /// spec as TOML and its replay command.
    Shrink {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum Task {
    /// Is the working tree faster or slower than REF? Builds REF (a git
    /// worktree in target/bench-ab/) and the working tree in release, runs a
    /// fixed short benchmark set (checksum-summary, an in-process `lockwell
    /// bench`) alternately N times each, and prints `lockwell compare`'s
    /// verdicts. Fails when a gated metric got slower.
    BenchAb(bench_ab::BenchAbArgs),
    /// Instructions per iteration of the hot paths under callgrind; with
    /// `--against REF`, flags every workload whose count changed.
    BenchInstructions(bench_instructions::BenchInstructionsArgs),
    /// Everything CI checks: fmt, clippy (normal and simulation mode), unit and
    /// integration tests, a simulation campaign with the determinism check, and
    /// the loom models. Fails if any part fails.
    Test,
    /// The main job (about three minutes once dependencies are built): builds
    /// in release, runs a short simulation campaign of every shipped workload,
    /// the quick checksum summary and contended-write benchmarks, writes them
    /// to results/runs/<UTC time>/ and opens `lockwell dash` on them (prints
    /// their list without a terminal).
    Run,
    /// The loom models of lockwell-core's commit path (release, `--cfg loom`).
    Loom {
        /// Build with the `planted-bugs` feature and require every model to
        /// fail: proof that each model can detect the bug it guards against.
        #[arg(long)]
        planted: bool,
    },
    /// The boto3 and AWS CLI interop suite (`interop/`) against a fresh
    /// `lockwell serve` on a free loopback port; installs its Python packages
    /// first (`scripts/install-interop-deps.sh`).
    Interop {
        /// Extra arguments for pytest, e.g. `-k c1` or `-x`.
        #[arg(last = true)]
        pytest_args: Vec<String>,
    },
    /// The simulator (`--cfg madsim`, release, `target/sim`). Without a
    /// subcommand: the simulation tests over many seeds (each run twice,
    /// divergence fails), a short campaign of every workload and a
    /// determinism check of each, as `cargo xtask test` runs them.
    Sim {
        #[command(subcommand)]
        action: Option<SimAction>,
    },
    /// Fuzzes lockwell-proto's parsers and lockwell-core's name, ETag and
    /// condition parsers with cargo-fuzz, one target after another (not part
    /// of `test`). Installs cargo-fuzz if missing. Fails if any target
    /// crashes, naming the crash input to reproduce it with.
    Fuzz {
        /// Seconds to fuzz each target.
        #[arg(long, default_value_t = FUZZ_DEFAULT_SECONDS)]
        seconds: u64,
        /// Fuzz only this target (see `fuzz/fuzz_targets/`).
        #[arg(long)]
        target: Option<String>,
    },
    /// The crash test of the file backend (not part of `test`): runs the
    /// server as a child process, SIGKILLs it at seeded moments under
    /// concurrent conditional and idempotent writes, restarts it, and fails
    /// if an acknowledged write or idempotency record is lost or a write is
    /// half-visible (`lockwell-server/src/bin/lockwell-crash-harness.rs`).
    Crash {
        /// Kill-and-restart cycles.
        #[arg(long, default_value_t = CRASH_DEFAULT_CYCLES)]
        cycles: u32,
        /// Seed of the kill moments and the operations.
        #[arg(long)]
        seed: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Task::BenchAb(args) => bench_ab::bench_ab(&args),
        Task::BenchInstructions(args) => bench_instructions::bench_instructions(&args),
        Task::Test => test(),
        Task::Run => run(),
        Task::Loom { planted } => {
            if planted {
                loom_planted().map(|_| ())
            } else {
                loom()
            }
        }
        Task::Sim { action } => sim_action(action),
        Task::Interop { pytest_args } => interop(&pytest_args),
        Task::Fuzz { seconds, target } => fuzz(seconds, target.as_deref()),
        Task::Crash { cycles, seed } => crash(cycles, seed),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One step of a multi-step task, with its outcome and wall time.
struct StepReport {
    name: &'static str,
    elapsed: Duration,
    outcome: Result<()>,
}

/// A named step of a task.
type Step = (&'static str, Box<dyn FnOnce() -> Result<()>>);

/// Runs every step even when an earlier one fails, so one CI run shows every
/// problem, then fails if any step failed.
fn run_steps(steps: Vec<Step>) -> Result<()> {
    let mut reports = Vec::new();
    for (name, step) in steps {
        eprintln!("\n==> {name}");
        // xtask is a developer tool, never part of the simulated world.
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let outcome = step();
        reports.push(StepReport {
            name,
            elapsed: started.elapsed(),
            outcome,
        });
    }
    eprintln!("\n==> summary");
    let mut failed = 0;
    for report in &reports {
        let verdict = match &report.outcome {
            Ok(()) => "ok".to_string(),
            Err(error) => {
                failed += 1;
                format!("FAILED: {error:#}")
            }
        };
        eprintln!(
            "{:>8.1}s  {:<34} {verdict}",
            report.elapsed.as_secs_f64(),
            report.name
        );
    }
    if failed > 0 {
        bail!("{failed} of {} steps failed", reports.len());
    }
    Ok(())
}

fn test() -> Result<()> {
    run_steps(vec![
        ("fmt", Box::new(|| cargo(&["fmt", "--all", "--check"], &[]))),
        (
            "clippy",
            Box::new(|| {
                cargo(
                    &[
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ],
                    &[],
                )
            }),
        ),
        ("clippy (simulation mode)", Box::new(clippy_sim)),
        (
            "unit and integration tests",
            Box::new(unit_and_integration_tests),
        ),
        (
            "doc tests",
            Box::new(|| cargo(&["test", "--workspace", "--doc"], &[])),
        ),
        ("interop: boto3 and AWS CLI", Box::new(|| interop(&[]))),
        (
            "simulation: tests, campaigns, determinism",
            Box::new(|| sim_action(None)),
        ),
        ("loom models", Box::new(loom)),
    ])
}

fn run() -> Result<()> {
    workbench::run()
}

fn unit_and_integration_tests() -> Result<()> {
    // tmux, for the dashboard's end-to-end tests.
    check_status(
        Command::new("scripts/install-tui-test-deps.sh"),
        "scripts/install-tui-test-deps.sh",
    )?;
    if has_nextest() {
        cargo(&["nextest", "run", "--workspace", "--no-fail-fast"], &[])
    } else {
        eprintln!("cargo-nextest not found; using cargo test");
        cargo(
            &["test", "--workspace", "--no-fail-fast", "--all-targets"],
            &[],
        )
    }
}

fn has_nextest() -> bool {
    Command::new(cargo_bin())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

const SIM_ENV: [(&str, &str); 1] = [("RUSTFLAGS", "--cfg madsim")];
const SIM_TARGET_DIR: &str = "target/sim";
/// Planted-bug builds never share a target dir with the correct simulator,
/// whose binary campaigns run.
const SIM_PLANTED_TARGET_DIR: &str = "target/sim-planted";

fn clippy_sim() -> Result<()> {
    cargo(
        &[
            "clippy",
            "-p",
            "lockwell-sim",
            "--all-targets",
            "--target-dir",
            SIM_TARGET_DIR,
            "--",
            "-D",
            "warnings",
        ],
        &SIM_ENV,
    )
}

/// Seeds of each workload in the short campaign `cargo xtask test` runs
/// (about 5 s per workload on two cores).
const TEST_CAMPAIGN_SEEDS: u32 = 50;
/// Seeds of each workload the test's determinism check runs twice.
const TEST_DETERMINISM_SEEDS: u32 = 10;
/// Where the test's campaigns write their result files: build output,
/// not the committed baselines under `results/`.
const TEST_SIM_RESULTS_DIR: &str = "target/sim-results";

fn sim_action(action: Option<SimAction>) -> Result<()> {
    match action {
        None => {
            sim(TEST_SIM_SEEDS, None, true)?;
            let jobs = sim_jobs();
            for workload in workload_names()? {
                let seeds = TEST_CAMPAIGN_SEEDS.to_string();
                sim_binary(&[
                    "campaign",
                    "--workload",
                    &workload,
                    "--seeds",
                    &seeds,
                    "--jobs",
                    &jobs,
                    "--results-dir",
                    TEST_SIM_RESULTS_DIR,
                ])?;
                let seeds = TEST_DETERMINISM_SEEDS.to_string();
                sim_binary(&[
                    "determinism",
                    "--workload",
                    &workload,
                    "--seeds",
                    &seeds,
                    "--jobs",
                    &jobs,
                ])?;
            }
            Ok(())
        }
        Some(SimAction::Tests {
            seeds,
            seed,
            check_determinism,
        }) => sim(seeds, seed, check_determinism),
        Some(SimAction::Run { args }) => sim_binary_with("run", &args),
        Some(SimAction::Catalog { args }) => planted_sim_binary_with("catalog", &with_jobs(args)),
        Some(SimAction::Shrink { args }) => sim_binary_with("shrink", &with_jobs(args)),
        Some(SimAction::Campaign { args }) => sim_binary_with("campaign", &with_jobs(args)),
        Some(SimAction::Determinism { args }) => sim_binary_with("determinism", &with_jobs(args)),
        Some(SimAction::Planted) => cargo(
            &[
                "test",
                "--release",
                "-p",
                "lockwell-sim",
                "--features",
                "planted-bugs",
                "--target-dir",
                SIM_PLANTED_TARGET_DIR,
                "--test",
                "planted_bugs",
                "--",
                "--nocapture",
            ],
            &SIM_ENV,
        ),
    }
}

/// Seeds the simulator runs at once: one process per core.
fn sim_jobs() -> String {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .to_string()
}

/// `args` with `--jobs <cores>` unless the caller chose a number.
fn with_jobs(mut args: Vec<String>) -> Vec<String> {
    if !args
        .iter()
        .any(|arg| arg == "--jobs" || arg.starts_with("--jobs="))
    {
        args.extend(["--jobs".to_owned(), sim_jobs()]);
    }
    args
}

/// The shipped workloads: the stems of `workloads/*.toml`, sorted.
fn workload_names() -> Result<Vec<String>> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir("workloads").context("reading workloads/")? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
            && let Some(stem) = path.file_stem()
        {
            names.insert(stem.to_string_lossy().into_owned());
        }
    }
    Ok(names.into_iter().collect())
}

/// Runs `lockwell-sim <command> <args>`: the planted build when `args`
/// switch a planted bug on (`--bug`), the correct one otherwise.
fn sim_binary_with(command: &str, args: &[String]) -> Result<()> {
    if args
        .iter()
        .any(|arg| arg == "--bug" || arg.starts_with("--bug="))
    {
        return planted_sim_binary_with(command, args);
    }
    let mut all = vec![command];
    all.extend(args.iter().map(String::as_str));
    sim_binary(&all)
}

/// Which `lockwell-sim` binary to build, each in its own target dir.
#[derive(Clone, Copy)]
enum SimBuild {
    /// The shipped code, `target/sim`.
    Correct,
    /// With the `planted-bugs` feature, `target/sim-planted`.
    Planted,
}

impl SimBuild {
    fn target_dir(self) -> &'static str {
        match self {
            Self::Correct => SIM_TARGET_DIR,
            Self::Planted => SIM_PLANTED_TARGET_DIR,
        }
    }

    /// Where [`build_sim_binary`] leaves the binary.
    fn binary(self) -> PathBuf {
        Path::new(self.target_dir()).join("release/lockwell-sim")
    }
}

/// Whether cargo's progress is shown while building.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CargoOutput {
    Quiet,
    Shown,
}

/// Builds the `lockwell-sim` binary in simulation mode (release) and
/// returns its path.
fn build_sim_binary(build: SimBuild, output: CargoOutput) -> Result<PathBuf> {
    let target_dir = build.target_dir();
    let mut args = vec![
        "build",
        "--release",
        "-p",
        "lockwell-sim",
        "--bin",
        "lockwell-sim",
    ];
    if output == CargoOutput::Quiet {
        args.push("--quiet");
    }
    if let SimBuild::Planted = build {
        args.extend(["--features", "planted-bugs"]);
    }
    args.extend(["--target-dir", target_dir]);
    cargo(&args, &SIM_ENV)?;
    Ok(build.binary())
}

/// Builds the planted `lockwell-sim` (feature `planted-bugs`, release,
/// `target/sim-planted`) and runs `lockwell-sim <command> <args>`.
fn planted_sim_binary_with(command: &str, args: &[String]) -> Result<()> {
    let binary = build_sim_binary(SimBuild::Planted, CargoOutput::Quiet)?;
    let mut command_line = Command::new(binary);
    command_line.arg(command).args(args);
    check_status(
        command_line,
        &format!("lockwell-sim (planted) {command} {}", args.join(" ")),
    )
}

/// Builds the `lockwell-sim` binary in simulation mode (release) and runs
/// it with `args`.
fn sim_binary(args: &[&str]) -> Result<()> {
    let binary = build_sim_binary(SimBuild::Correct, CargoOutput::Quiet)?;
    let mut command = Command::new(binary);
    command.args(args);
    check_status(command, &format!("lockwell-sim {}", args.join(" ")))
}

fn sim(seeds: u32, seed: Option<u64>, check_determinism: bool) -> Result<()> {
    let mut env: Vec<(&str, String)> = SIM_ENV
        .iter()
        .map(|(key, value)| (*key, value.to_string()))
        .collect();
    match seed {
        Some(seed) => {
            env.push(("MADSIM_TEST_SEED", seed.to_string()));
            env.push(("MADSIM_TEST_NUM", "1".to_string()));
        }
        None => env.push(("MADSIM_TEST_NUM", seeds.to_string())),
    }
    if check_determinism {
        env.push(("MADSIM_TEST_CHECK_DETERMINISM", "1".to_string()));
    }
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    // Release: a campaign runs about ten times more seeds per second than a
    // debug build (DESIGN.md).
    cargo(
        &[
            "test",
            "-p",
            "lockwell-sim",
            "--release",
            "--target-dir",
            SIM_TARGET_DIR,
            "--",
            "--nocapture",
        ],
        &env,
    )
}

/// Credentials of the throwaway server the interop suite talks to.
const INTEROP_ACCESS_KEY: &str = "LWINTEROPACCESSKEY01";
const INTEROP_SECRET_KEY: &str = "lockwell-interop-secret-key-not-for-production";
/// How long the server may take to print its address after starting.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);

fn interop(pytest_args: &[String]) -> Result<()> {
    let install = Command::new("scripts/install-interop-deps.sh")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running scripts/install-interop-deps.sh")?;
    if !install.status.success() {
        bail!("installing the interop suite's Python packages failed");
    }
    let venv = String::from_utf8_lossy(&install.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    if venv.is_empty() {
        bail!("scripts/install-interop-deps.sh did not print the venv path");
    }
    // Debug: the test command has built it already, and the suite checks
    // behaviour, not speed.
    cargo(&["build", "--quiet", "-p", "lockwell-cli"], &[])?;
    let server = ChildServer::start()?;
    let status = Command::new(format!("{venv}/bin/python"))
        .args(["-m", "pytest", "interop", "-q"])
        .args(pytest_args)
        .env("LOCKWELL_ENDPOINT", &server.endpoint)
        .env("LOCKWELL_ACCESS_KEY", INTEROP_ACCESS_KEY)
        .env("LOCKWELL_SECRET_KEY", INTEROP_SECRET_KEY)
        .env("LOCKWELL_REGION", "us-east-1")
        .status()
        .context("running pytest")?;
    drop(server);
    if !status.success() {
        bail!("the interop suite failed ({status})");
    }
    Ok(())
}

/// `lockwell serve --memory` on a free port, killed when dropped.
struct ChildServer {
    child: std::process::Child,
    endpoint: String,
}

impl ChildServer {
    fn start() -> Result<Self> {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new("target/debug/lockwell")
            .args(["serve", "--memory", "--listen", "127.0.0.1:0"])
            .args([
                "--access-key",
                INTEROP_ACCESS_KEY,
                "--secret-key",
                INTEROP_SECRET_KEY,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting target/debug/lockwell serve")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        // The reader outlives the search for the address so the server never
        // blocks on a full pipe; xtask is not simulated, threads are fine.
        #[allow(clippy::disallowed_methods)]
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(endpoint) = line.trim().strip_prefix("listening on ") {
                    let _ = sender.send(endpoint.to_string());
                }
            }
        });
        let mut server = Self {
            child,
            endpoint: String::new(),
        };
        // On a timeout `server` drops here, which kills the child.
        server.endpoint = receiver.recv_timeout(SERVER_START_TIMEOUT).map_err(|_| {
            anyhow::anyhow!(
                "lockwell serve printed no `listening on` line within {SERVER_START_TIMEOUT:?}"
            )
        })?;
        Ok(server)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LOOM_TARGET_DIR: &str = "target/loom";

fn loom_command(planted: bool, extra_test_args: &[&str]) -> Command {
    let mut command = Command::new(cargo_bin());
    command.args(["test", "-p", "lockwell-core", "--release", "--test", "loom"]);
    command.args(["--target-dir", LOOM_TARGET_DIR]);
    if planted {
        command.args(["--features", "planted-bugs"]);
    }
    command.args(["--", "--nocapture", "--test-threads=1"]);
    command.args(extra_test_args);
    command.env("RUSTFLAGS", "--cfg loom");
    command.env("LOOM_MAX_PREEMPTIONS", LOOM_MAX_PREEMPTIONS.to_string());
    command
}

fn loom() -> Result<()> {
    check_status(loom_command(false, &[]), "loom models")
}

/// Runs each loom model alone with the planted bugs and requires that every
/// one of them fails. Returns the models that (correctly) failed.
fn loom_planted() -> Result<Vec<String>> {
    let listing = loom_command(true, &["--list", "--format", "terse"])
        .output()
        .context("listing the loom models")?;
    if !listing.status.success() {
        bail!(
            "could not build or list the loom models:\n{}",
            String::from_utf8_lossy(&listing.stderr)
        );
    }
    let models: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    if models.is_empty() {
        bail!("no loom models found");
    }
    let mut survivors = Vec::new();
    for model in &models {
        eprintln!("--- planted bug vs. model {model} (expected to FAIL)");
        let status = loom_command(true, &["--exact", model.as_str()])
            .status()
            .with_context(|| format!("running loom model {model}"))?;
        if status.success() {
            survivors.push(model.clone());
            eprintln!("--- {model}: PASSED with the planted bug: the model cannot detect it");
        } else {
            eprintln!("--- {model}: failed as expected");
        }
    }
    if !survivors.is_empty() {
        bail!(
            "these loom models did not detect their planted bug: {}",
            survivors.join(", ")
        );
    }
    eprintln!(
        "all {} loom models detected their planted bug",
        models.len()
    );
    Ok(models)
}

/// Cycles of `cargo xtask crash` without `--cycles`.
const CRASH_DEFAULT_CYCLES: u32 = 50;

/// Builds the crash harness in release mode (the server it starts is
/// itself) and runs it.
fn crash(cycles: u32, seed: Option<u64>) -> Result<()> {
    let cycles = cycles.to_string();
    let seed = seed.map(|seed| seed.to_string());
    let mut args = vec![
        "run",
        "--release",
        "--package",
        "lockwell-server",
        "--bin",
        "lockwell-crash-harness",
        "--",
        "--cycles",
        &cycles,
    ];
    if let Some(seed) = &seed {
        args.extend(["--seed", seed]);
    }
    cargo(&args, &[])
}

/// Seconds per target of `cargo xtask fuzz` without `--seconds`.
const FUZZ_DEFAULT_SECONDS: u64 = 60;
/// An input that runs longer than this is a crash (a hang): every parser is
/// linear in its input, which libFuzzer keeps to a few KiB.
const FUZZ_INPUT_TIMEOUT_S: u64 = 10;

/// What one fuzz target's run ended with.
struct FuzzReport {
    target: String,
    executions: Option<u64>,
    /// Crash inputs libFuzzer wrote during this run.
    crashes: Vec<PathBuf>,
    log: PathBuf,
}

/// Runs every cargo-fuzz target (or one) for `seconds` each.
///
/// cargo-fuzz builds with `-Z` sanitizer flags that need a nightly compiler;
/// this project's toolchain is stable, so its commands run with
/// `RUSTC_BOOTSTRAP=1`, which unlocks them on stable. The fuzz crate has its
/// own target directory (`fuzz/target`), so this never touches the
/// workspace's builds.
fn fuzz(seconds: u64, only: Option<&str>) -> Result<()> {
    let root = repo_root();
    let fuzz_dir = root.join("fuzz");
    let mut install = Command::new("bash");
    install.arg(root.join("scripts/install-cargo-fuzz.sh"));
    check_status(install, "scripts/install-cargo-fuzz.sh")?;
    let cargo_fuzz = |args: &[&str]| {
        let mut command = Command::new(cargo_bin());
        command.arg("fuzz").args(args);
        command.current_dir(&fuzz_dir).env("RUSTC_BOOTSTRAP", "1");
        command
    };
    let listing = cargo_fuzz(&["list"])
        .output()
        .context("listing the fuzz targets")?;
    if !listing.status.success() {
        bail!(
            "cargo fuzz list failed:\n{}",
            String::from_utf8_lossy(&listing.stderr)
        );
    }
    let all: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let targets = match only {
        Some(name) if all.iter().any(|target| target == name) => vec![name.to_string()],
        Some(name) => bail!("no fuzz target {name}; targets: {}", all.join(", ")),
        None => all,
    };
    check_status(cargo_fuzz(&["build"]), "cargo fuzz build")?;
    let logs = fuzz_dir.join("target/logs");
    std::fs::create_dir_all(&logs).context("creating fuzz/target/logs")?;
    let mut reports = Vec::new();
    for target in &targets {
        eprintln!("==> fuzzing {target} for {seconds} s");
        let artifacts = fuzz_dir.join("artifacts").join(target);
        let before = files_in(&artifacts);
        let log = logs.join(format!("{target}.log"));
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let arguments = fuzz_run_arguments(&fuzz_dir, target, seconds)?;
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        // libFuzzer's progress lines would bury the summary; the log keeps
        // them for whoever reproduces a crash.
        let status = cargo_fuzz(&arguments)
            .stdout(log_file.try_clone().context("sharing the log file")?)
            .stderr(log_file)
            .status()
            .with_context(|| format!("running fuzz target {target}"))?;
        let crashes: Vec<PathBuf> = files_in(&artifacts)
            .into_iter()
            .filter(|path| !before.contains(path))
            .collect();
        if !status.success() && crashes.is_empty() {
            bail!(
                "fuzz target {target} failed without writing a crash input ({status}); see {}",
                log.display()
            );
        }
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        reports.push(FuzzReport {
            target: target.clone(),
            executions: final_stat(&log_text, "stat::number_of_executed_units"),
            crashes,
            log,
        });
    }
    eprintln!("\n==> fuzz summary ({seconds} s per target)");
    let mut crashed = 0;
    for report in &reports {
        let executions = report
            .executions
            .map_or_else(|| "?".to_string(), |count| count.to_string());
        if report.crashes.is_empty() {
            eprintln!("{:<26} {executions:>12} runs  ok", report.target);
            continue;
        }
        crashed += 1;
        eprintln!("{:<26} {executions:>12} runs  CRASHED", report.target);
        for crash in &report.crashes {
            eprintln!("    input:  {}", crash.display());
            eprintln!(
                "    replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run {} {})",
                report.target,
                crash.display()
            );
        }
        eprintln!("    log:    {}", report.log.display());
    }
    if crashed > 0 {
        bail!("{crashed} of {} fuzz targets crashed", reports.len());
    }
    Ok(())
}

/// `cargo fuzz run` arguments for one target: the corpus libFuzzer grows
/// (`fuzz/corpus/<target>`, not committed), then the committed seeds
/// (`fuzz/seeds/<target>`) if any, then libFuzzer's options, with the
/// dictionary `fuzz/dicts/<target>.dict`, or else the one of the target's
/// family (`xml_delete` -> `xml.dict`), if there is one.
fn fuzz_run_arguments(fuzz_dir: &Path, target: &str, seconds: u64) -> Result<Vec<String>> {
    let corpus = fuzz_dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let mut arguments = vec![
        "run".to_string(),
        target.to_string(),
        corpus.display().to_string(),
    ];
    let seeds = fuzz_dir.join("seeds").join(target);
    if seeds.is_dir() {
        arguments.push(seeds.display().to_string());
    }
    arguments.extend([
        "--".to_string(),
        format!("-max_total_time={seconds}"),
        format!("-timeout={FUZZ_INPUT_TIMEOUT_S}"),
        "-print_final_stats=1".to_string(),
    ]);
    let family = target.split('_').next().unwrap_or(target);
    let dictionary = [target, family]
        .iter()
        .map(|name| fuzz_dir.join("dicts").join(format!("{name}.dict")))
        .find(|path| path.is_file());
    if let Some(dictionary) = dictionary {
        arguments.push(format!("-dict={}", dictionary.display()));
    }
    Ok(arguments)
}

/// The repository root: xtask's manifest sits one level below it.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the repository")
        .to_path_buf()
}

/// The files of a directory, sorted; none if it does not exist.
fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of a `stat::name: value` line of libFuzzer's
/// `-print_final_stats` output.
fn final_stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .filter_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse()
                .ok()
        })
        .next_back()
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let mut command = Command::new(cargo_bin());
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    check_status(command, &format!("cargo {}", args.join(" ")))
}

fn check_status(mut command: Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} exited with {status}");
    }
    Ok(())
}
