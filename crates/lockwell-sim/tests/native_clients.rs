//! Native clients in the world: a mixed workload sends requests through
//! both APIs, and under clock jumps and short-lived tokens the native
//! clients meet expired tokens mid-run, re-mint once and carry on (R1),
//! without breaking any check.
#![cfg(madsim)]

use std::path::{Path, PathBuf};

use lockwell_sim::history::Api;
use lockwell_sim::runner::run_seed;
use lockwell_workload::{FaultProfile, WorkloadSpec};

/// Lossy network, lost responses, server clock jumps, tokens of 2-10 s.
const WORKLOAD: &str = "cas-counter";
const SEEDS: std::ops::Range<u64> = 0..5;

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

#[test]
fn r1_native_tokens_expire_mid_run_and_are_reminted() {
    let spec = WorkloadSpec::load(&workloads_dir(), WORKLOAD).expect("the workload loads");
    let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
    let (mut remints, mut clock_advances, mut native, mut s3) = (0, 0, 0, 0);
    for seed in SEEDS {
        let result = run_seed(&spec, &profile, seed);
        assert!(
            result.violations.is_empty(),
            "seed {seed}: {:?}",
            result.violations
        );
        remints += result.outcome.token_remints;
        clock_advances += result.outcome.faults.clock_advances;
        for entry in &result.history().entries {
            match entry.api {
                Api::Native => native += 1,
                _ => s3 += 1,
            }
        }
    }
    eprintln!(
        "seeds {SEEDS:?}: {clock_advances} clock jumps, {remints} re-mints after a 401, \
         {native} native and {s3} S3 requests"
    );
    assert!(clock_advances > 0, "the server's clock never jumped");
    assert!(remints > 0, "no native client ever re-minted after a 401");
    assert!(native > 0 && s3 > 0, "native {native}, s3 {s3}");
}

#[test]
fn an_s3_only_workload_has_no_native_requests() {
    let spec = WorkloadSpec::load(&workloads_dir(), "multipart-conditional").expect("loads");
    let profile = FaultProfile::named(&spec.faults).expect("its fault profile exists");
    let result = run_seed(&spec, &profile, 1);
    assert!(result.violations.is_empty(), "{:?}", result.violations);
    assert!(
        result
            .history()
            .entries
            .iter()
            .all(|entry| entry.api == Api::S3)
    );
    assert_eq!(result.outcome.token_remints, 0);
}
