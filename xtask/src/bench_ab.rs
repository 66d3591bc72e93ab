//! `cargo xtask bench-ab REF`: is the working tree faster or slower than
//! REF? Builds both (REF in a git worktree under `target/bench-ab/`),
//! then runs a fixed short benchmark set alternately, A then B, B then A,
//! N times each, and hands the two sets of result files to `lockwell
//! compare`, which decides from per-run medians (never from one run: on
//! this machine kind criterion's own verdicts flagged 48 of 56 unchanged
//! benchmarks, while per-run medians over 6 interleaved runs flagged 0 of
//! 8).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context as _, Result, bail, ensure};
use lockwell_results::{Better, Metric, ResultKind, RunResult};

use crate::{cargo_bin, check_status, repo_root};

/// Fewer interleaved runs than this cannot tell a shift from this
/// machine's noise (the A/A measurement in docs/benchmarks.md).
pub(crate) const MIN_RUNS: u32 = 6;

/// Arguments of `cargo xtask bench-ab`.
#[derive(clap::Args)]
pub(crate) struct BenchAbArgs {
    /// The baseline: any commit-ish (`main`, `HEAD~3`, a tag, a hash).
    reference: String,
    /// Runs of each side, interleaved.
    #[arg(long, default_value_t = MIN_RUNS)]
    runs: u32,
    /// Cargo features of lockwell-bench for side B (the working tree), such
    /// as `planted-checksum-slowdown`: proof that the comparison flags a
    /// known slowdown.
    #[arg(long)]
    b_features: Option<String>,
    /// Allow fewer than the minimum runs: a smoke test of the pipeline,
    /// whose verdicts are all "same" by construction.
    #[arg(long)]
    smoke: bool,
    /// Also compare instruction counts under callgrind (needs valgrind,
    /// and a REF that has `instruction-bench`): one measurement per side,
    /// flagged beyond 0.5% (see `cargo xtask bench-instructions`).
    #[arg(long)]
    instructions: bool,
}

/// The binaries one side runs.
struct Side {
    name: &'static str,
    lockwell: PathBuf,
    checksum_summary: PathBuf,
    results: PathBuf,
}

const BINARIES: [&str; 2] = ["lockwell", "checksum-summary"];

/// The fixed benchmark set of one run: a short checksum summary, and a
/// contended compare-and-swap run against the in-process store.
const CHECKSUM_ARGS: [&str; 5] = ["--json", "--repetitions", "5", "--repetition-ms", "100"];
const INPROC_BENCH_ARGS: [&str; 12] = [
    "bench",
    "--inproc",
    "--racers",
    "2",
    "--keys",
    "1000",
    "--duration",
    "2s",
    "--warmup",
    "500ms",
    "--interval",
    "500ms",
];

pub(crate) fn bench_ab(args: &BenchAbArgs) -> Result<()> {
    ensure!(
        args.smoke || args.runs >= MIN_RUNS,
        "--runs must be at least {MIN_RUNS}: fewer interleaved runs cannot tell a shift from noise"
    );
    let root = repo_root();
    let bench_ab_dir = root.join("target/bench-ab");
    let reference = Reference::check_out(&args.reference)?;
    let short = reference.short();
    let build = if args.instructions {
        &BUILD_WITH_INSTRUCTIONS
    } else {
        &BUILD
    };
    let a_bin = reference.build(build, None)?;
    let b_bin = build_working_tree(build, args.b_features.as_deref())?;

    #[allow(clippy::disallowed_methods)] // a developer tool: names the session directory.
    let session_ms = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let session = bench_ab_dir.join(format!("runs-{session_ms}"));
    let sides = [("a", &a_bin), ("b", &b_bin)].map(|(name, bin)| Side {
        name,
        lockwell: bin.join("lockwell"),
        checksum_summary: bin.join("checksum-summary"),
        results: session.join(name),
    });
    for side in &sides {
        for set in ["checksum", "inproc-bench"] {
            std::fs::create_dir_all(side.results.join(set))?;
        }
    }
    for run in 0..args.runs {
        // Alternate which side goes first, so that a drift of the machine
        // during a pair does not always favour the same side.
        let order: [&Side; 2] = if run % 2 == 0 {
            [&sides[0], &sides[1]]
        } else {
            [&sides[1], &sides[0]]
        };
        for side in order {
            eprintln!("==> run {}/{} of {}", run + 1, args.runs, side.name);
            run_set(side, run)?;
        }
    }

    let mut regressions = Vec::new();
    for set in ["checksum", "inproc-bench"] {
        println!(
            "\n==> {set}: A = {} ({short}), B = working tree{}",
            args.reference,
            features_label(args.b_features.as_deref())
        );
        let mut compare = Command::new(&sides[1].lockwell);
        compare
            .arg("compare")
            .arg(sides[0].results.join(set))
            .arg(sides[1].results.join(set));
        let status = compare.status().context("starting lockwell compare")?;
        if !status.success() {
            regressions.push(set);
        }
    }
    if args.instructions {
        println!(
            "\n==> instructions: A = {} ({short}), B = working tree{}",
            args.reference,
            features_label(args.b_features.as_deref())
        );
        let flagged = crate::bench_instructions::compare_builds(
            &a_bin.join("instruction-bench"),
            &b_bin.join("instruction-bench"),
            ["A".to_owned(), "B".to_owned()],
            &session.join("callgrind"),
        )?;
        if flagged > 0 {
            regressions.push("instruction counts (changed by more than 0.5%)");
        }
    }
    println!("\nresult files: {}", session.display());
    if !regressions.is_empty() {
        bail!("B is slower than A in: {}", regressions.join(", "));
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command.current_dir(dir).args(args);
    command
}

fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    let output = git(dir, args).output().context("starting git")?;
    ensure!(
        output.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// What to build for one side, and which binaries to keep.
pub(crate) struct Build {
    pub(crate) packages: &'static [&'static str],
    pub(crate) binaries: &'static [&'static str],
    /// Names the copied binaries' directory, so that the binaries of
    /// different commands do not replace each other.
    pub(crate) name: &'static str,
}

const BUILD: Build = Build {
    packages: &["lockwell-cli", "lockwell-bench"],
    binaries: &BINARIES,
    name: "bench-ab",
};

const BUILD_WITH_INSTRUCTIONS: Build = Build {
    packages: &["lockwell-cli", "lockwell-bench"],
    binaries: &["lockwell", "checksum-summary", "instruction-bench"],
    name: "bench-ab",
};

/// REF checked out in a git worktree under `target/bench-ab/`.
pub(crate) struct Reference {
    commit: String,
    worktree: PathBuf,
}

impl Reference {
    /// Resolves `reference` to a commit and checks it out (once per commit).
    pub(crate) fn check_out(reference: &str) -> Result<Self> {
        let root = repo_root();
        let commit = git_output(
            &root,
            &["rev-parse", "--verify", &format!("{reference}^{{commit}}")],
        )
        .with_context(|| format!("{reference} is not a commit"))?;
        let worktree = root.join("target/bench-ab").join(&commit[..12]);
        if !worktree.exists() {
            let worktree_arg = worktree.to_string_lossy().into_owned();
            check_status(
                git(
                    &root,
                    &["worktree", "add", "--detach", &worktree_arg, &commit],
                ),
                "git worktree add",
            )?;
        }
        Ok(Self { commit, worktree })
    }

    pub(crate) fn short(&self) -> &str {
        &self.commit[..12]
    }

    /// Builds `what` at REF with `features` of lockwell-bench; returns
    /// the directory of the copied binaries.
    pub(crate) fn build(&self, what: &Build, features: Option<&str>) -> Result<PathBuf> {
        eprintln!(
            "==> building {} in {}",
            self.short(),
            self.worktree.display()
        );
        let bench_ab_dir = repo_root().join("target/bench-ab");
        // REF's own target dir, shared by every REF: third-party crates
        // stay built between calls, and the working tree's target/release
        // is left alone.
        build(
            &self.worktree,
            &bench_ab_dir.join("target"),
            &bench_ab_dir.join(format!(
                "bin-{}-{}{}",
                what.name,
                self.short(),
                features_suffix(features)
            )),
            what,
            features,
        )
    }
}

/// Builds `what` from the working tree with `features` of lockwell-bench;
/// returns the directory of the copied binaries.
pub(crate) fn build_working_tree(what: &Build, features: Option<&str>) -> Result<PathBuf> {
    eprintln!("==> building the working tree{}", features_label(features));
    let root = repo_root();
    build(
        &root,
        &root.join("target"),
        &root.join("target/bench-ab").join(format!(
            "bin-{}-working-tree{}",
            what.name,
            features_suffix(features)
        )),
        what,
        features,
    )
}

/// ` with features F` for messages; empty without features.
pub(crate) fn features_label(features: Option<&str>) -> String {
    features.map_or_else(String::new, |features| format!(" with features {features}"))
}

fn features_suffix(features: Option<&str>) -> String {
    features.map_or_else(String::new, |features| {
        format!("-{}", features.replace([',', ' ', '/'], "-"))
    })
}

/// Builds `what` in release at `source` and copies its binaries into `bin`
/// (so that the next build cannot replace them mid-comparison); returns
/// `bin`.
fn build(
    source: &Path,
    target_dir: &Path,
    bin: &Path,
    what: &Build,
    features: Option<&str>,
) -> Result<PathBuf> {
    let mut command = Command::new(cargo_bin());
    command.current_dir(source).args(["build", "--release"]);
    for package in what.packages {
        command.args(["-p", package]);
    }
    if let Some(features) = features {
        let qualified: Vec<String> = features
            .split([',', ' '])
            .filter(|feature| !feature.is_empty())
            .map(|feature| format!("lockwell-bench/{feature}"))
            .collect();
        command.arg("--features").arg(qualified.join(","));
    }
    command.arg("--target-dir").arg(target_dir);
    check_status(
        command,
        &format!("cargo build --release in {}", source.display()),
    )?;
    std::fs::create_dir_all(bin)?;
    for name in what.binaries {
        let built = target_dir.join("release").join(name);
        std::fs::copy(&built, bin.join(name))
            .with_context(|| format!("copying {}", built.display()))?;
    }
    Ok(bin.to_owned())
}

/// One run of the fixed set on one side, its result files named by run.
fn run_set(side: &Side, run: u32) -> Result<()> {
    let output = Command::new(&side.checksum_summary)
        .args(CHECKSUM_ARGS)
        .output()
        .context("starting checksum-summary")?;
    ensure!(output.status.success(), "checksum-summary failed");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("checksum-summary --json printed no JSON")?;
    let result = checksum_result(&summary)?;
    let file = side.results.join(format!("checksum/run-{run:02}.json"));
    lockwell_results::write_new_result_file(&file, &result)
        .with_context(|| format!("writing {}", file.display()))?;

    let out = side.results.join(format!("inproc-bench/run-{run:02}.json"));
    let mut bench = Command::new(&side.lockwell);
    bench
        .args(INPROC_BENCH_ARGS)
        .arg("--quiet")
        .arg("--out")
        .arg(&out);
    // The summary goes to a null sink: the comparison is what is read.
    bench.stdout(std::process::Stdio::null());
    check_status(bench, "lockwell bench --inproc")
}

/// checksum-summary's report as a result file: one gated metric per
/// subject, the median GiB/s over its repetitions. The schema has no kind
/// of its own for it; it is a summary of medians like criterion's.
fn checksum_result(summary: &serde_json::Value) -> Result<RunResult> {
    let subjects = summary["subjects"]
        .as_array()
        .context("checksum-summary's JSON has no subjects")?;
    let mut result = RunResult::new(ResultKind::CriterionSummary, 0);
    result.config = serde_json::json!({
        "tool": "checksum-summary",
        "buffer_len_bytes": summary["buffer_len_bytes"],
        "repetitions": summary["repetitions"],
        "repetition_ms": summary["repetition_ms"],
    });
    for subject in subjects {
        let name = subject["name"]
            .as_str()
            .context("a subject without a name")?;
        let median = subject["gib_per_s"]["median"]
            .as_f64()
            .with_context(|| format!("{name} has no median"))?;
        result.metrics.insert(
            format!(
                "{}_gib_per_s",
                name.to_lowercase().replace(['-', ' ', '/'], "_")
            ),
            Metric::gated(median, "GiB/s", Better::Higher),
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_summary_becomes_one_gated_metric_per_subject() {
        let summary = serde_json::json!({
            "buffer_len_bytes": 1_048_576,
            "repetitions": 5,
            "repetition_ms": 100,
            "subjects": [
                { "name": "memory-read", "gib_per_s": { "median": 9.5, "min": 9.0, "max": 10.0 } },
                { "name": "CRC32C", "gib_per_s": { "median": 7.25, "min": 7.0, "max": 7.5 } },
                { "name": "crc32c/multihasher", "gib_per_s": { "median": 7.0, "min": 6.5, "max": 7.5 } },
            ],
        });
        let result = checksum_result(&summary).unwrap();
        assert_eq!(
            result.metrics.keys().collect::<Vec<_>>(),
            [
                "crc32c_gib_per_s",
                "crc32c_multihasher_gib_per_s",
                "memory_read_gib_per_s"
            ]
        );
        assert_eq!(result.metrics["crc32c_gib_per_s"].value, 7.25);
        assert!(result.metrics["crc32c_gib_per_s"].gate);
        assert!(checksum_result(&serde_json::json!({})).is_err());
    }
}
