//! One seed, start to verdict: a fresh madsim runtime seeded with it, the
//! world run inside, the checks over its history.

use lockwell_workload::{FaultProfile, WorkloadSpec};

use crate::checks::{self, Violation};
use crate::history::History;
use crate::world::{self, RunConfig, RunOutcome};

/// A seed's result.
#[derive(Debug, Clone)]
pub struct SeedResult {
    pub outcome: RunOutcome,
    /// Empty when the run passed.
    pub violations: Vec<Violation>,
}

impl SeedResult {
    #[must_use]
    pub fn history(&self) -> &History {
        &self.outcome.history
    }
}

/// Runs `seed` of `spec` under `profile` and checks it.
#[must_use]
pub fn run_seed(spec: &WorkloadSpec, profile: &FaultProfile, seed: u64) -> SeedResult {
    let config = RunConfig {
        spec: spec.clone(),
        profile: profile.clone(),
        seed,
    };
    let outcome = on_fresh_thread(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move { world::run(&config).await })
    });
    let mut violations = checks::check(&outcome.history, spec, outcome.checker_process);
    if !outcome.unfinished_clients.is_empty() {
        violations.push(Violation {
            rule: "liveness",
            message: format!(
                "clients {:?} did not finish within {} ms of simulated time after faults healed",
                outcome.unfinished_clients,
                world::LIVENESS_BOUND_MS
            ),
            entries: Vec::new(),
        });
    }
    for failure in &outcome.server_failures {
        // A disk the server cannot recover from loses what it acknowledged.
        let rule = if failure.starts_with(world::RECOVERY_FAILED) {
            "E4"
        } else {
            "liveness"
        };
        violations.push(Violation {
            rule,
            message: format!("the server could not serve: {failure}"),
            entries: Vec::new(),
        });
    }
    SeedResult {
        outcome,
        violations,
    }
}

/// Runs `run` on a thread of its own and waits for it.
///
/// madsim seeds std's `HashMap` keys from the run's seed only on a thread
/// that has not made a `HashMap` yet; on a used thread the keys are the
/// OS's, iteration orders inside madsim's network differ between
/// processes, and a seed no longer replays (seen with partitions). A fresh
/// thread per seed, as madsim's own test harness does, keeps every run
/// reproducible, also the hundredth of a campaign.
#[allow(clippy::disallowed_methods)] // Outside the simulation, one thread per run.
fn on_fresh_thread<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::spawn(run).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
