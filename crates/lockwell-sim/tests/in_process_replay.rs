//! A seed's trace does not depend on what ran before it in the process:
//! seeds of the partition and chaos profiles, run one after another in
//! this process, hash as they do alone in a fresh process of the
//! `lockwell-sim` binary. Campaigns run each seed in a process of its own,
//! but `cargo xtask sim tests` (madsim's harness with `MADSIM_TEST_NUM` > 1)
//! and library users run many in one, and a seed found there must replay
//! alone. The leaks this caught were both tokio's thread RNG, which tokio
//! seeds from a process-wide counter: an unbiased `select!`, and a
//! `watch` channel awaited by several fault tasks at once (each wait
//! registers with one of eight `Notify`s drawn from that RNG, so the
//! tasks woke at the fault window's end in a per-process order).
#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lockwell_sim::runner::run_seed;
use lockwell_workload::{FaultProfile, WorkloadSpec};

/// The workloads whose fault profiles run more than one kind of fault,
/// so more than one fault task waits for the window's end: where the
/// leak showed.
const WORKLOADS: [&str; 2] = ["copy-snapshots", "mixed-with-deletes"];
/// With the watch channel, 2 of the first 12 seeds of each workload
/// hashed differently after other seeds.
const SEEDS_PER_WORKLOAD: u64 = 20;

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

/// The seed's trace hash from a process that ran nothing else.
fn hash_in_fresh_process(workload: &str, seed: u64) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lockwell-sim"))
        .arg("--workloads-dir")
        .arg(workloads_dir())
        .args(["run", "--workload", workload, "--seed", &seed.to_string()])
        .arg("--hash-only")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn seeds_run_one_after_another_in_a_process_hash_as_in_a_fresh_process() {
    let mut diverged = Vec::new();
    // One test runs every seed, in order: the harness runs tests on
    // threads of one process at once, and the point is a known sequence.
    for workload in WORKLOADS {
        let spec = WorkloadSpec::load(&workloads_dir(), workload).expect("the workload loads");
        let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
        for seed in 0..SEEDS_PER_WORKLOAD {
            let here = run_seed(&spec, &profile, seed)
                .history()
                .trace_hash()
                .to_string();
            let alone = hash_in_fresh_process(workload, seed);
            if here != alone {
                diverged.push(format!(
                    "{workload} seed {seed}: {here} here, {alone} alone"
                ));
            }
        }
    }
    assert!(
        diverged.is_empty(),
        "seeds that hashed differently after other seeds in this process:\n{}",
        diverged.join("\n")
    );
}
