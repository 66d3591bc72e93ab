//! The simulator catches a planted bug switched on by name at run time
//! (`lockwell_core::planted`, feature `planted-bugs`): the S3 client
//! retries an un-keyed PutObject after a lost response or a timeout,
//! which R3 and R4 forbid. The cas-counter workload (lossy network, lost
//! responses after commit) must find it within [`MAX_SEEDS`] seeds, the
//! failing seed must replay bit-for-bit in a fresh process started with
//! the same `--bug`, and without `--bug` the same seed must pass: the bug
//! is off unless switched on. `cargo xtask sim catalog` runs every bug's
//! campaign; this test keeps one of them in `cargo xtask sim planted`.
//!
//! Run it in a target dir of its own, so the correct simulator in
//! `target/sim` is never replaced by the planted one:
//!
//! ```sh
//! RUSTFLAGS="--cfg madsim" cargo test --release -p lockwell-sim \
//!     --features planted-bugs --target-dir target/sim-planted \
//!     --test planted_bugs -- --nocapture
//! ```
#![cfg(all(madsim, feature = "planted-bugs"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use lockwell_core::planted::{self, PlantedBug};
use lockwell_sim::runner::run_seed;
use lockwell_workload::{FaultProfile, WorkloadSpec};

const WORKLOAD: &str = "cas-counter";
const BUG: PlantedBug = PlantedBug::S3RetriesUnkeyedPut;
/// The issue's bar: a planted bug is caught within 200 seeds.
const MAX_SEEDS: u64 = 200;

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

/// The verdict line of `seed`, run by the `lockwell-sim` binary (built
/// with the same features as this test) in a fresh process, with `bug`
/// switched on.
fn verdict_in_fresh_process(seed: u64, bug: Option<PlantedBug>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockwell-sim"));
    command.arg("--workloads-dir").arg(workloads_dir());
    if let Some(bug) = bug {
        command.args(["--bug", bug.name()]);
    }
    let output = command
        .args(["run", "--workload", WORKLOAD, "--seed", &seed.to_string()])
        .output()
        .expect("the binary runs");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn s3_retries_unkeyed_put_is_caught_within_200_seeds_replays_and_is_off_unless_named() {
    let spec = WorkloadSpec::load(&workloads_dir(), WORKLOAD).expect("the workload loads");
    let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
    planted::enable(BUG);
    let (seed, failed) = (0..MAX_SEEDS)
        .map(|seed| (seed, run_seed(&spec, &profile, seed)))
        .find(|(_, result)| !result.violations.is_empty())
        .expect("the planted bug is caught within 200 seeds");
    let rules: Vec<&str> = failed
        .violations
        .iter()
        .map(|violation| violation.rule)
        .collect();
    let hash = failed.history().trace_hash().to_string();
    eprintln!(
        "caught at seed {seed} ({} seeds run): {rules:?}, trace {hash}",
        seed + 1
    );
    for violation in &failed.violations {
        eprintln!("  {}: {}", violation.rule, violation.message);
    }
    let replayed = verdict_in_fresh_process(seed, Some(BUG));
    assert!(
        replayed.starts_with("FAIL") && replayed.contains(&format!("trace={hash}")),
        "seed {seed} replays with --bug: {replayed}"
    );
    let without_bug = verdict_in_fresh_process(seed, None);
    assert!(
        without_bug.starts_with("PASS"),
        "seed {seed} passes without --bug: {without_bug}"
    );
}
