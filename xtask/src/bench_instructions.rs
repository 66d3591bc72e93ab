//! `cargo xtask bench-instructions [--against REF] [--runs N]`: instruction
//! counts of the hot paths under callgrind, the noise-free signal.
//!
//! On this machine kind wall-clock verdicts need several interleaved runs
//! per side and still only see shifts of a few percent; callgrind counts the
//! instructions a deterministic workload executes, which do not depend on
//! what else the machine is doing. Each workload of `instruction-bench`
//! (lockwell-bench's `instructions` module) runs at `n` and at `2n`
//! iterations in two processes, and the difference divided by `n` is its
//! instructions per iteration: process start-up and setup cancel.
//!
//! With `--against REF`, REF is built too (in the worktree `bench-ab`
//! uses) and every workload whose count changed by more than the threshold
//! in a run is flagged. Identical builds give identical counts (see
//! docs/benchmarks.md), so the threshold only has to sit below the smallest
//! change worth reporting, not above any noise.
//!
//! Caveat: valgrind's virtual CPU reports no SHA-NI, so SHA-1 and SHA-256
//! count their software paths here; criterion stays the truth for their
//! hardware-accelerated throughput.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context as _, Result, bail, ensure};
use lockwell_results::{Better, GitState, Metric, ResultKind, RunResult};

use crate::bench_ab::{Build, Reference, build_working_tree, features_label};
use crate::repo_root;

/// A change in instructions per iteration larger than this fraction is
/// flagged. Identical builds measured 0 difference on every workload (10
/// of 10 runs), so any threshold above zero has no false alarms from
/// noise; 0.5% sits 4x below the 2% planted slowdown that must be caught,
/// and above the few instructions per iteration that an unrelated change
/// can move through inlining or code layout of a shared helper.
const DEFAULT_THRESHOLD_PERCENT: f64 = 0.5;

/// Most runs per side: each is two callgrind processes per workload.
const MAX_RUNS: u32 = 100;

const BUILD: Build = Build {
    packages: &["lockwell-bench"],
    binaries: &["instruction-bench"],
    name: "instructions",
};

/// Arguments of `cargo xtask bench-instructions`.
#[derive(clap::Args)]
pub(crate) struct BenchInstructionsArgs {
    /// Also build this commit-ish and compare the working tree with it.
    #[arg(long)]
    against: Option<String>,
    /// Measurements of each side (counts of one build repeat exactly, so
    /// more runs only show that they do).
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Cargo features of lockwell-bench for the working tree's build, such
    /// as `planted-slowdown`.
    #[arg(long)]
    features: Option<String>,
    /// Flag a workload whose count changed by more than this percentage.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD_PERCENT)]
    threshold_percent: f64,
    /// Where to write the working tree's result (its first run). Default:
    /// a new file under `results/` when measuring the working tree alone,
    /// and only the session directory under `target/bench-instructions/`
    /// when comparing.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One build under measurement.
struct Side {
    label: String,
    /// `reference` or `working-tree`: the session subdirectory of its
    /// result files.
    directory: &'static str,
    instruction_bench: PathBuf,
    git: Option<GitState>,
    /// Instructions per iteration, per run, per workload.
    runs: Vec<BTreeMap<String, f64>>,
}

pub(crate) fn bench_instructions(args: &BenchInstructionsArgs) -> Result<()> {
    ensure!(
        (1..=MAX_RUNS).contains(&args.runs),
        "--runs must be between 1 and {MAX_RUNS}"
    );
    ensure!(
        args.threshold_percent.is_finite() && args.threshold_percent >= 0.0,
        "--threshold-percent must be a non-negative number"
    );
    check_valgrind()?;
    let root = repo_root();
    let mut sides = Vec::new();
    if let Some(reference) = &args.against {
        let checked_out = Reference::check_out(reference)?;
        let bin = checked_out.build(&BUILD, None)?;
        sides.push(Side {
            label: format!("A = {reference} ({})", checked_out.short()),
            directory: "reference",
            instruction_bench: bin.join("instruction-bench"),
            git: Some(GitState {
                commit: git_stdout(&root, &["rev-parse", &format!("{reference}^{{commit}}")])?,
                dirty: false,
            }),
            runs: Vec::new(),
        });
    }
    let bin = build_working_tree(&BUILD, args.features.as_deref())?;
    sides.push(Side {
        label: format!(
            "{}working tree{}",
            if sides.is_empty() { "" } else { "B = " },
            features_label(args.features.as_deref())
        ),
        directory: "working-tree",
        instruction_bench: bin.join("instruction-bench"),
        git: working_tree_git_state(&root),
        runs: Vec::new(),
    });

    let workloads = list_workloads(&sides[0].instruction_bench)?;
    #[allow(clippy::disallowed_methods)] // a developer tool: names the session.
    let session_ms = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let session = root
        .join("target/bench-instructions")
        .join(format!("runs-{session_ms}"));
    let scratch = session.join("callgrind");
    std::fs::create_dir_all(&scratch)?;
    let toolchain = command_stdout(Command::new("rustc").arg("-V"))?;
    let valgrind = command_stdout(Command::new("valgrind").arg("--version"))?;

    for run in 0..args.runs {
        for side in &mut sides {
            eprintln!("==> run {}/{} of {}", run + 1, args.runs, side.label);
            let counts = measure(&side.instruction_bench, &workloads, &scratch)?;
            let mut result = instructions_result(&counts, &workloads, &valgrind);
            result.created_at_unix_ms = now_unix_ms();
            result.git.clone_from(&side.git);
            result.toolchain.clone_from(&toolchain);
            let directory = session.join(side.directory);
            std::fs::create_dir_all(&directory)?;
            let file = directory.join(format!("run-{run:02}.json"));
            lockwell_results::write_new_result_file(&file, &result)
                .with_context(|| format!("writing {}", file.display()))?;
            if run == 0 && side.directory == "working-tree" {
                write_working_tree_result(args, &root, &result)?;
            }
            side.runs.push(counts);
        }
    }
    std::fs::remove_dir_all(&scratch)?;

    match &sides[..] {
        [only] => print_counts(only),
        [reference, working_tree] => {
            let flagged = print_comparison(reference, working_tree, args.threshold_percent);
            println!("\nresult files: {}", session.display());
            if flagged > 0 {
                bail!(
                    "{flagged} workload(s) changed by more than {}% in some run",
                    args.threshold_percent
                );
            }
        }
        _ => unreachable!("one or two sides"),
    }
    Ok(())
}

/// Instructions per iteration of every workload, one callgrind pair each.
///
/// Every build runs from the same path, with the same arguments, working
/// directory and environment: the process's initial stack and its first
/// heap allocations (clap copies `argv[0]`) depend on their lengths, and
/// with them the alignment of later buffers, which moves `memcpy`'s
/// instruction count. One binary run from two directories counted 2
/// instructions per put apart.
fn measure(
    instruction_bench: &Path,
    workloads: &[(String, u64)],
    scratch: &Path,
) -> Result<BTreeMap<String, f64>> {
    let staged = scratch.join("staged-instruction-bench");
    std::fs::copy(instruction_bench, &staged)
        .with_context(|| format!("copying {}", instruction_bench.display()))?;
    workloads
        .iter()
        .map(|(name, iterations)| {
            let per_iteration = instructions_per_iteration(&staged, name, *iterations, scratch)?;
            Ok((name.clone(), per_iteration))
        })
        .collect()
}

/// `bench-ab --instructions`: one measurement of each of two builds'
/// `instruction-bench` (counts repeat exactly, so one is enough), the
/// comparison table on stdout; returns how many workloads were flagged.
pub(crate) fn compare_builds(
    a_instruction_bench: &Path,
    b_instruction_bench: &Path,
    labels: [String; 2],
    scratch: &Path,
) -> Result<usize> {
    check_valgrind()?;
    std::fs::create_dir_all(scratch)?;
    let workloads = list_workloads(a_instruction_bench)?;
    let [a_label, b_label] = labels;
    let mut sides = [
        (a_label, a_instruction_bench),
        (b_label, b_instruction_bench),
    ]
    .map(|(label, instruction_bench)| Side {
        label,
        directory: "",
        instruction_bench: instruction_bench.to_owned(),
        git: None,
        runs: Vec::new(),
    });
    for side in &mut sides {
        eprintln!("==> instruction counts of {}", side.label);
        side.runs
            .push(measure(&side.instruction_bench, &workloads, scratch)?);
    }
    std::fs::remove_dir_all(scratch)?;
    let [reference, working_tree] = &sides;
    Ok(print_comparison(
        reference,
        working_tree,
        DEFAULT_THRESHOLD_PERCENT,
    ))
}

fn write_working_tree_result(
    args: &BenchInstructionsArgs,
    root: &Path,
    result: &RunResult,
) -> Result<()> {
    let path = match (&args.out, &args.against) {
        (Some(out), _) => out.clone(),
        (None, None) => root.join("results").join(result.default_file_name()),
        (None, Some(_)) => return Ok(()),
    };
    lockwell_results::write_new_result_file(&path, result)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("==> wrote {}", path.display());
    Ok(())
}

fn check_valgrind() -> Result<()> {
    let found = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    ensure!(
        found,
        "valgrind is not installed (apt-get install valgrind): callgrind counts the instructions"
    );
    Ok(())
}

/// The workloads `instruction-bench --list` names, with how many
/// iterations apart to measure each.
fn list_workloads(instruction_bench: &Path) -> Result<Vec<(String, u64)>> {
    let listing = command_stdout(Command::new(instruction_bench).arg("--list"))?;
    parse_workload_list(&listing)
}

fn parse_workload_list(listing: &str) -> Result<Vec<(String, u64)>> {
    listing
        .lines()
        .map(|line| {
            let (name, iterations) = line
                .split_once('\t')
                .with_context(|| format!("instruction-bench --list printed {line:?}"))?;
            let iterations: u64 = iterations
                .parse()
                .with_context(|| format!("{name}: iterations {iterations:?}"))?;
            ensure!(iterations > 0, "{name}: zero iterations per measurement");
            Ok((name.to_owned(), iterations))
        })
        .collect()
}

/// `(instructions at 2n - instructions at n) / n`, each count the total of
/// one callgrind process.
fn instructions_per_iteration(
    instruction_bench: &Path,
    workload: &str,
    iterations: u64,
    scratch: &Path,
) -> Result<f64> {
    let short = callgrind_total(instruction_bench, workload, iterations, scratch)?;
    let long = callgrind_total(instruction_bench, workload, 2 * iterations, scratch)?;
    ensure!(
        long > short,
        "{workload}: {} iterations counted {long} instructions, {iterations} counted {short}",
        2 * iterations
    );
    Ok((long - short) as f64 / iterations as f64)
}

fn callgrind_total(
    instruction_bench: &Path,
    workload: &str,
    iterations: u64,
    scratch: &Path,
) -> Result<u64> {
    let out_file = scratch.join("callgrind.out");
    let mut command = Command::new("valgrind");
    command.env_clear().current_dir(scratch);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let output = command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(instruction_bench)
        .arg(workload)
        .arg(iterations.to_string())
        .output()
        .context("starting valgrind")?;
    ensure!(
        output.status.success(),
        "callgrind of {workload} {iterations} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let profile = std::fs::read_to_string(&out_file)
        .with_context(|| format!("reading {}", out_file.display()))?;
    parse_callgrind_total(&profile).with_context(|| format!("{workload} {iterations}"))
}

/// The `totals:` (or older `summary:`) line of a callgrind profile: every
/// instruction the process executed, as callgrind counts by default.
fn parse_callgrind_total(profile: &str) -> Result<u64> {
    let line = profile
        .lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .context("the callgrind profile has no totals line")?;
    let first_event = line
        .split_whitespace()
        .next()
        .context("the totals line is empty")?;
    Ok(first_event.parse()?)
}

/// One run's counts as a result file: a gated metric per workload.
fn instructions_result(
    counts: &BTreeMap<String, f64>,
    workloads: &[(String, u64)],
    valgrind: &str,
) -> RunResult {
    let mut result = RunResult::new(ResultKind::Instructions, 0);
    result.config = serde_json::json!({
        "tool": "instruction-bench",
        "counter": format!("{valgrind} --tool=callgrind, instructions at 2n minus at n, over n"),
        "iterations": workloads.iter().cloned().collect::<BTreeMap<_, _>>(),
    });
    for (name, per_iteration) in counts {
        result.metrics.insert(
            metric_name(name),
            Metric::gated(*per_iteration, "instructions", Better::Lower),
        );
    }
    result
}

/// `commit/put-if-match` → `commit_put_if_match_instructions`.
fn metric_name(workload: &str) -> String {
    format!(
        "{}_instructions",
        workload.to_lowercase().replace(['/', '-', ' '], "_")
    )
}

fn print_counts(side: &Side) {
    println!("\n{}: instructions per iteration", side.label);
    println!(
        "| workload | instructions/iteration | distinct values over {} runs |",
        side.runs.len()
    );
    println!("|---|---:|---:|");
    for name in side.runs[0].keys() {
        let values = values_of(side, name);
        println!("| {name} | {:.1} | {} |", values[0], distinct(&values));
    }
}

/// Prints one row per workload; returns how many were flagged in any run.
fn print_comparison(reference: &Side, working_tree: &Side, threshold_percent: f64) -> usize {
    let runs = reference.runs.len();
    println!("\n{} vs {}", reference.label, working_tree.label);
    println!("instructions per iteration; flagged: runs whose change exceeds {threshold_percent}%");
    println!("| workload | A | B | change | flagged | distinct A, B |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut flagged_workloads = 0;
    for name in reference.runs[0].keys() {
        let a = values_of(reference, name);
        let b = values_of(working_tree, name);
        let changes: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(a, b)| relative_change_percent(*a, *b))
            .collect();
        let flagged = changes
            .iter()
            .filter(|change| change.abs() > threshold_percent)
            .count();
        if flagged > 0 {
            flagged_workloads += 1;
        }
        println!(
            "| {name} | {:.1} | {:.1} | {:+.3}% | {flagged}/{runs} | {}, {} |",
            a[0],
            b[0],
            changes[0],
            distinct(&a),
            distinct(&b)
        );
    }
    flagged_workloads
}

fn values_of(side: &Side, workload: &str) -> Vec<f64> {
    side.runs.iter().map(|run| run[workload]).collect()
}

fn distinct(values: &[f64]) -> usize {
    values
        .iter()
        .map(|value| value.to_bits())
        .collect::<BTreeSet<_>>()
        .len()
}

fn relative_change_percent(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        return if b == 0.0 { 0.0 } else { f64::INFINITY };
    }
    (b - a) / a * 100.0
}

fn working_tree_git_state(root: &Path) -> Option<GitState> {
    let commit = git_stdout(root, &["rev-parse", "HEAD"]).ok()?;
    let status = git_stdout(root, &["status", "--porcelain", "--untracked-files=no"]).ok()?;
    Some(GitState {
        commit,
        dirty: !status.is_empty(),
    })
}

fn git_stdout(dir: &Path, args: &[&str]) -> Result<String> {
    command_stdout(Command::new("git").current_dir(dir).args(args))
}

fn command_stdout(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("starting {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

fn now_unix_ms() -> u64 {
    #[allow(clippy::disallowed_methods)] // a developer tool: stamps its result.
    let now = std::time::SystemTime::now();
    now.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_comes_from_the_totals_or_summary_line() {
        let cases = [
            (
                "events: Ir\nsummary: 3613865\ntotals: 3613865\n",
                Some(3_613_865),
            ),
            ("events: Ir\nsummary: 42\n", Some(42)),
            ("events: Ir Dr\ntotals: 7 3\n", Some(7)),
            ("events: Ir\n", None),
            ("totals: many\n", None),
        ];
        for (profile, expected) in cases {
            assert_eq!(parse_callgrind_total(profile).ok(), expected, "{profile:?}");
        }
    }

    #[test]
    fn the_workload_list_is_name_tab_iterations() {
        let parsed =
            parse_workload_list("commit/put-uncontended\t1000\nchecksum/md5-64KiB\t4").unwrap();
        assert_eq!(
            parsed,
            [
                ("commit/put-uncontended".to_owned(), 1000),
                ("checksum/md5-64KiB".to_owned(), 4)
            ]
        );
        for broken in ["no-tab 1000", "name\tmany", "name\t0"] {
            assert!(parse_workload_list(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn each_workload_is_one_gated_lower_is_better_metric() {
        let counts = BTreeMap::from([
            ("commit/put-if-match".to_owned(), 3239.0),
            ("checksum/crc32c-64KiB".to_owned(), 20_000.5),
        ]);
        let result = instructions_result(&counts, &[], "valgrind-3.19.0");
        assert_eq!(result.kind, ResultKind::Instructions);
        assert_eq!(
            result.metrics.keys().collect::<Vec<_>>(),
            [
                "checksum_crc32c_64kib_instructions",
                "commit_put_if_match_instructions"
            ]
        );
        let metric = &result.metrics["commit_put_if_match_instructions"];
        assert_eq!(metric.value, 3239.0);
        assert!(metric.gate);
        assert_eq!(metric.better, Better::Lower);
    }

    #[test]
    fn changes_are_relative_to_a() {
        let cases = [
            (100.0, 102.0, 2.0),
            (100.0, 99.5, -0.5),
            (100.0, 100.0, 0.0),
            (0.0, 0.0, 0.0),
        ];
        for (a, b, expected) in cases {
            assert!(
                (relative_change_percent(a, b) - expected).abs() < 1e-9,
                "{a} {b}"
            );
        }
        assert!(relative_change_percent(0.0, 1.0).is_infinite());
    }
}
