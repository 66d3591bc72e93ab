//! `cargo xtask run`: the workbench's main job, in about three minutes once
//! the dependencies are built. It builds in release, then runs each
//! instrument briefly and writes what it finds to a run folder of its own,
//! `results/runs/<UTC time>/`, so committed baselines are never touched:
//!
//! 1. a simulation campaign over every shipped workload (`workloads/`),
//!    each under its own fault profile;
//! 2. the quick checksum throughput summary against memory bandwidth;
//! 3. contended conditional writes against our server started in process
//!    (HTTP over loopback), and against lockwell-core's store alone;
//!
//! then opens `lockwell dash` on `results/` with the new run selected, or,
//! without a terminal, prints the run folder's list of results. A campaign
//! that finds a violation fails the run (after the dashboard shows it).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};

use crate::{
    CargoOutput, SimBuild, Step, build_sim_binary, cargo, check_status, repo_root, run_steps,
};

/// Seeds per shipped workload: about half a minute of campaigns on two
/// cores (the slowest workload, cas-counter, runs about 6 seeds/s per
/// core; see results/sim).
const CAMPAIGN_SEEDS: u32 = 100;
/// Checksum summary: repetitions and length of each (the default report
/// takes ten times longer for tighter spreads).
const CHECKSUM_REPETITIONS: u32 = 3;
const CHECKSUM_REPETITION_MS: u32 = 100;
/// The contended benchmark: racers on one key through our server.
const CONTENDED_RACERS: u32 = 32;
const BENCH_DURATION: &str = "5s";
const BENCH_WARMUP: &str = "1s";

/// Says what a step is about to do and why, before it starts.
fn explain(text: &str) {
    eprintln!("\n{text}");
}

/// `results/runs/<UTC time>`, relative to the repository root.
fn new_run_folder() -> Result<PathBuf> {
    // xtask is a developer tool, never part of the simulated world.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let stamp = lockwell_results::schema::compact_utc_timestamp(
        u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
    );
    Ok(Path::new("results/runs").join(stamp))
}

fn release_binary(name: &str) -> PathBuf {
    repo_root().join("target/release").join(name)
}

pub(crate) fn run() -> Result<()> {
    let root = repo_root();
    std::env::set_current_dir(&root).context("entering the repository root")?;
    eprintln!(
        "cargo xtask run: builds in release, runs each instrument briefly, writes what it finds \
         to a new folder under results/runs/ and opens the dashboard on it."
    );
    let workloads = crate::workload_names()?;
    // Without a build, the steps would measure stale binaries: stop here.
    build()?;
    let run_folder = new_run_folder()?;
    std::fs::create_dir_all(&run_folder)
        .with_context(|| format!("creating {}", run_folder.display()))?;
    eprintln!("\nresults go to {}", run_folder.display());
    let mut steps: Vec<Step> = Vec::new();
    for workload in workloads {
        let folder = run_folder.clone();
        // Step names live as long as the process: leaking a few is fine.
        let name: &'static str = format!("simulation campaign: {workload}").leak();
        steps.push((name, Box::new(move || campaign(&workload, &folder))));
    }
    let folder = run_folder.clone();
    steps.push((
        "checksum throughput summary",
        Box::new(move || checksum_summary(&folder)),
    ));
    let folder = run_folder.clone();
    steps.push((
        "contended writes, in-process server",
        Box::new(move || contended_bench_over_http(&folder)),
    ));
    let folder = run_folder.clone();
    steps.push((
        "contended writes, store alone",
        Box::new(move || contended_bench_in_process(&folder)),
    ));
    let outcome = run_steps(steps);
    let shown = show(&run_folder);
    outcome.and(shown)
}

fn build() -> Result<()> {
    explain(
        "Building `lockwell` and `checksum-summary` in release (measurements of a debug build \
         mean little), and the simulator with --cfg madsim in target/sim.",
    );
    cargo(
        &[
            "build",
            "--release",
            "-p",
            "lockwell-cli",
            "-p",
            "lockwell-bench",
            "--bin",
            "lockwell",
            "--bin",
            "checksum-summary",
        ],
        &[],
    )?;
    build_sim_binary(SimBuild::Correct, CargoOutput::Shown).map(drop)
}

fn campaign(workload: &str, run_folder: &Path) -> Result<()> {
    explain(&format!(
        "Simulating {CAMPAIGN_SEEDS} seeds of workload `{workload}`: one server, racing clients \
         and the workload's faults (lost responses, kills, partitions) in a deterministic world; \
         each history is checked against SPEC's rules. A violation prints the rule and the \
         command that replays its seed."
    ));
    let mut command = Command::new(SimBuild::Correct.binary());
    command.args([
        "campaign",
        "--workload",
        workload,
        "--seeds",
        &CAMPAIGN_SEEDS.to_string(),
        "--results-dir",
        &run_folder.display().to_string(),
        "--jobs",
        &crate::sim_jobs(),
    ]);
    check_status(command, &format!("campaign of {workload}"))
}

fn checksum_summary(run_folder: &Path) -> Result<()> {
    explain(
        "Measuring checksum throughput (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256, MD5) through \
         lockwell-core's engine and the fastest crates, against memory copy bandwidth \
         (the quick version: a few short repetitions).",
    );
    let path = run_folder.join("checksum-summary.json");
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut command = Command::new(release_binary("checksum-summary"));
    command
        .args([
            "--json",
            "--repetitions",
            &CHECKSUM_REPETITIONS.to_string(),
            "--repetition-ms",
            &CHECKSUM_REPETITION_MS.to_string(),
        ])
        .stdout(Stdio::from(file));
    check_status(command, "checksum-summary")?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn bench(run_folder: &Path, name: &str, target_args: &[&str]) -> Result<()> {
    let out = run_folder.join(format!("{name}.json"));
    let mut command = Command::new(release_binary("lockwell"));
    command
        .arg("bench")
        .args(target_args)
        .args([
            "--duration",
            BENCH_DURATION,
            "--warmup",
            BENCH_WARMUP,
            "--no-tui",
            "--out",
        ])
        .arg(&out);
    check_status(
        command,
        &format!("lockwell bench {}", target_args.join(" ")),
    )
}

fn contended_bench_over_http(run_folder: &Path) -> Result<()> {
    explain(&format!(
        "Racing {CONTENDED_RACERS} compare-and-swap writers on one key through lockwell-server \
         (in process, memory storage, S3 over loopback) for {BENCH_DURATION}: goodput, conflict \
         rate and latency per request and outcome (200/412/409), with jittered backoff after a \
         lost race."
    ));
    let racers = CONTENDED_RACERS.to_string();
    bench(
        run_folder,
        &format!("bench-server-memory-r{racers}-k1-backoff"),
        &[
            "--server",
            "memory",
            "--racers",
            &racers,
            "--keys",
            "1",
            "--cas-retry",
            "backoff",
        ],
    )
}

fn contended_bench_in_process(run_folder: &Path) -> Result<()> {
    explain(&format!(
        "The same race against lockwell-core's store alone (no HTTP), {BENCH_DURATION}: the \
         commit path's own ceiling."
    ));
    bench(
        run_folder,
        "bench-inproc-r8-k1",
        &["--inproc", "--racers", "8", "--keys", "1"],
    )
}

/// The dashboard on `results/` with this run selected; its list as text
/// without a terminal.
fn show(run_folder: &Path) -> Result<()> {
    let lockwell = release_binary("lockwell");
    let mut command = Command::new(&lockwell);
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        explain(&format!(
            "Opening `lockwell dash results` on {} (q quits; the results stay there).",
            run_folder.display()
        ));
        let select = run_folder
            .strip_prefix("results")
            .unwrap_or(run_folder)
            .display()
            .to_string();
        command.args(["dash", "results", "--select", &select]);
    } else {
        explain(&format!(
            "What this run found ({}; `lockwell dash results` browses it on a terminal):",
            run_folder.display()
        ));
        command.args(["dash", "--list"]).arg(run_folder);
    }
    check_status(command, "lockwell dash")
}
