//! A seed replays bit-for-bit: the `lockwell-sim` binary, run twice in
//! fresh processes on a seed of the chaos workload (server kills, lost
//! responses, clogs, partitions), writes byte-identical histories with the
//! same trace hash, and the same hash as a run of that seed in this
//! process. What a user relies on when a campaign hands them a seed.
#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lockwell_sim::history::History;
use lockwell_sim::runner::run_seed;
use lockwell_workload::{FaultProfile, WorkloadSpec};

const WORKLOAD: &str = "mixed-with-deletes";
const SEED: u64 = 7;

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

/// Runs the seed in a fresh process; returns its history file's bytes and
/// the hash it printed.
fn run_in_fresh_process(history: &Path) -> (Vec<u8>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lockwell-sim"))
        .arg("--workloads-dir")
        .arg(workloads_dir())
        .args(["run", "--workload", WORKLOAD, "--seed", &SEED.to_string()])
        .arg("--history")
        .arg(history)
        .arg("--hash-only")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let hash = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    (
        std::fs::read(history).expect("the history was written"),
        hash,
    )
}

#[test]
fn a_seed_replays_bit_for_bit_in_a_fresh_process() {
    let dir = std::env::temp_dir().join(format!("lockwell-sim-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (first, first_hash) = run_in_fresh_process(&dir.join("first.jsonl"));
    let (second, second_hash) = run_in_fresh_process(&dir.join("second.jsonl"));
    assert_eq!(first_hash, second_hash);
    assert!(first == second, "the two histories differ");

    let spec = WorkloadSpec::load(&workloads_dir(), WORKLOAD).expect("the workload loads");
    let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
    let here = run_seed(&spec, &profile, SEED);
    assert_eq!(here.history().trace_hash().to_string(), first_hash);
    let read = History::read_jsonl(first.as_slice()).expect("the history reads back");
    assert_eq!(&read, here.history());
    assert!(
        here.outcome.faults.server_kills + here.outcome.faults.clogs > 0,
        "the seed must exercise faults, or replaying it proves little"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
