//! The simulator catches the client's planted bug (`lockwell_client::planted`,
//! feature `planted-bugs`): the S3 client retries an un-keyed PutObject
//! after a lost response or a timeout, which R3 and R4 forbid. The
//! cas-counter workload (lossy network, lost responses after commit) must
//! find it within [`MAX_SEEDS`] seeds, and the failing seed must replay
//! bit-for-bit in a fresh process.
//!
//! Run it in a target dir of its own, so the correct simulator in
//! `target/sim` is never replaced by the broken one:
//!
//! ```sh
//! RUSTFLAGS="--cfg madsim" cargo test --release -p lockwell-sim \
//!     --features planted-bugs --target-dir target/sim-planted \
//!     --test planted_bugs -- --nocapture
//! ```
#![cfg(all(madsim, feature = "planted-bugs"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use lockwell_sim::runner::run_seed;
use lockwell_workload::{FaultProfile, WorkloadSpec};

const WORKLOAD: &str = "cas-counter";
/// The issue's bar: a planted bug is caught within 200 seeds.
const MAX_SEEDS: u64 = 200;

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

/// The trace hash of `seed`, run by the `lockwell-sim` binary (built with
/// the same features as this test) in a fresh process.
fn hash_in_fresh_process(seed: u64) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lockwell-sim"))
        .arg("--workloads-dir")
        .arg(workloads_dir())
        .args(["run", "--workload", WORKLOAD, "--seed", &seed.to_string()])
        .arg("--hash-only")
        .output()
        .expect("the binary runs");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn s3_retries_unkeyed_put_is_caught_within_200_seeds_and_replays() {
    assert!(
        lockwell_client::planted::CATALOG
            .iter()
            .any(|(name, _)| *name == lockwell_client::planted::S3_RETRIES_UNKEYED_PUT)
    );
    let spec = WorkloadSpec::load(&workloads_dir(), WORKLOAD).expect("the workload loads");
    let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
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
    assert_eq!(hash_in_fresh_process(seed), hash, "seed {seed} replays");
}
