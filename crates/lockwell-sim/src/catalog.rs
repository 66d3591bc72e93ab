//! `lockwell-sim catalog`: every planted bug's campaign
//! (`lockwell_core::planted`), until its first detection or its budget,
//! and the table of what the simulator found (`docs/planted-bugs.md`).
//!
//! Each bug has one campaign: the shipped workload that exercises it, and
//! the fault profile it needs when not the workload's own. Seeds run from
//! 0 in batches of `--jobs` processes, each a fresh `lockwell-sim --bug
//! NAME run` ([`crate::workers`]). A seed detects the bug when its checks
//! report a finding (any violation but the linearizability checker giving
//! up, [`crate::workers::CHECKER_GAVE_UP_RULE`]) and the same seed run
//! without the bug (the control, in a fresh process) passes outright: a
//! failure the correct build shares is not the bug's, and a control the
//! linearizability checker gave up on proves nothing either way. The
//! smallest detecting seed of a batch ends the campaign; every smaller
//! seed ran and passed, or its control did not pass. A campaign also ends after `--max-seeds`
//! seeds or `--budget-cpu-s` CPU seconds (wall time times processes).
//!
//! # `results/catalog.json` (format `lockwell-sim-catalog`, version 2)
//!
//! [`CatalogFile`]: the run (`git_commit`, `jobs`, the budgets), the
//! totals (`bugs`, `detected`, `detection_rate` in 0..=1) and one
//! [`CatalogEntry`] per bug, in catalog order: `bug` (the `--bug` name),
//! `layer` (`server` or `client`), `rule` (the SPEC rule the bug
//! breaks), `description`, `models` (the real-world failure), `workload`,
//! `fault_profile`, `expected_detection` (which check should see it, or
//! why none can), `detected`, `seeds_run`, `seeds_to_first_detection`
//! and `failing_seed` (null when not detected), `wall_time_ms`,
//! `cpu_time_ms` (wall time times processes), `rules_reported` (the
//! rules the first failing seed's checks named, sorted), `first_violation`
//! (its first message), `replay` (the command that replays it; null
//! when not detected) and, since version 2, `failed_without_bug` (failing
//! seeds whose control run without the bug had findings too) and
//! `control_unchecked` (failing seeds whose control the linearizability
//! checker gave up on); neither is counted as a detection.
//! Fields are only ever added, with a version bump.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lockwell_core::planted::PlantedBug;
use serde::{Deserialize, Serialize};

use crate::cli::{crashed, git_commit, load, replay_command, wall_clock};
use crate::workers::{SeedSummary, WorkerCommand, run_in_processes};

/// Seeds a bug's campaign runs at most unless `--max-seeds` says otherwise:
/// the bar a planted bug must be caught within.
const DEFAULT_MAX_SEEDS: u64 = 200;
/// CPU seconds a bug's campaign runs at most (the 10 CPU-minutes).
const DEFAULT_BUDGET_CPU_S: u64 = 600;
const CATALOG_FORMAT: &str = "lockwell-sim-catalog";
/// 2: `failed_without_bug`, and detections need a passing control run.
const CATALOG_VERSION: u32 = 2;

#[derive(Debug, clap::Args)]
pub(crate) struct CatalogArgs {
    /// Only these bugs (repeatable; default: every one).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Seeds each bug's campaign runs at most.
    #[arg(long, default_value_t = DEFAULT_MAX_SEEDS)]
    max_seeds: u64,
    /// CPU seconds (wall time x processes) each campaign runs at most.
    #[arg(long, default_value_t = DEFAULT_BUDGET_CPU_S)]
    budget_cpu_s: u64,
    /// Where the table goes as JSON.
    #[arg(long, default_value = "results/catalog.json")]
    output: PathBuf,
    /// Seeds run at once, each in a process of its own (default: one per
    /// core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) jobs: Option<u64>,
}

/// A bug's campaign.
struct Campaign {
    bug: PlantedBug,
    workload: &'static str,
    /// The fault profile, when not the workload's own.
    faults: Option<&'static str>,
    /// Which check should see the bug, or why none can.
    expected_detection: &'static str,
}

/// One campaign per bug, in [`PlantedBug::ALL`]'s order.
const CAMPAIGNS: [Campaign; PlantedBug::ALL.len()] = [
    Campaign {
        bug: PlantedBug::PutPreconditionBeforeBody,
        workload: "racing-creators",
        faults: None,
        expected_detection: "C1: two racers for one key are both told they created it",
    },
    Campaign {
        bug: PlantedBug::FailedPreconditionInstalls,
        workload: "racing-creators",
        faults: None,
        expected_detection: "C1: the key ends with a loser's value, not the winner's",
    },
    Campaign {
        bug: PlantedBug::PutAcksPreviousEtag,
        workload: "cas-counter",
        faults: None,
        expected_detection: "E2: an increment is acknowledged with an ETag not of its bytes",
    },
    Campaign {
        bug: PlantedBug::AckBeforeFsync,
        workload: "cas-counter",
        faults: Some("crashes"),
        expected_detection: "C2/E4: a crash loses acknowledged increments",
    },
    Campaign {
        bug: PlantedBug::GroupCommitAcksLateJoiners,
        workload: "mixed-with-deletes",
        faults: Some("crashes"),
        expected_detection: "E4: a crash loses writes acknowledged while unsynced. It takes \
                             writes to several keys: on cas-counter's one key no write commits \
                             during an fsync, since the reads it depends on wait for that fsync",
    },
    Campaign {
        bug: PlantedBug::RecoveryDropsLastRecord,
        workload: "cas-counter",
        faults: Some("crashes"),
        expected_detection: "C2/E4: every restart loses the newest acknowledged increment",
    },
    Campaign {
        bug: PlantedBug::ReplayReturnsCurrentObject,
        workload: "idempotent-retries",
        faults: None,
        expected_detection: "E2: a replayed put is acknowledged with another write's ETag \
                             (when the key changed between the first send and the retry)",
    },
    Campaign {
        bug: PlantedBug::CopyCheckThenAct,
        workload: "copy-snapshots",
        faults: None,
        expected_detection: "the linearizability checker (C7/C8): a copy's result matches no \
                             version its source had, or two create-only copies both win; the \
                             final-state checks alone cannot see it",
    },
    Campaign {
        bug: PlantedBug::IfMatchMissingKey412,
        workload: "mixed-with-deletes",
        // Without chaos's lost answers fewer operations are in doubt, and
        // the linearizability checker decides every key.
        faults: Some("latency"),
        expected_detection: "the linearizability checker (C2): a 412 where the key was absent \
                             throughout; the final-state checks cannot tell 412 from 404",
    },
    Campaign {
        bug: PlantedBug::S3PutIgnoresConditions,
        workload: "racing-creators",
        faults: None,
        expected_detection: "C1: S3 racers for one key both win",
    },
    Campaign {
        bug: PlantedBug::DeleteSkipsReadCache,
        workload: "mixed-with-deletes",
        faults: None,
        expected_detection: "E4: a key's final read returns an object deleted after its last \
                             write",
    },
    Campaign {
        bug: PlantedBug::S3RetriesUnkeyedPut,
        workload: "cas-counter",
        faults: None,
        expected_detection: "C3/C4: a retried increment applies twice or answers 412 after \
                             taking effect",
    },
    Campaign {
        bug: PlantedBug::NativeChecksumAsIdempotencyKey,
        workload: "cas-counter",
        faults: None,
        expected_detection: "C3/C4: a native client's retried increment applies twice",
    },
    Campaign {
        bug: PlantedBug::NativeRemintLoopsForever,
        workload: "cas-counter",
        faults: None,
        expected_detection: "liveness: a native client meeting a 401 (a server clock jump past \
                             its token) never finishes",
    },
    Campaign {
        bug: PlantedBug::RetriesWithoutBackoffOrBudget,
        workload: "cas-counter",
        faults: Some("partitions"),
        expected_detection: "R3: retries start at once after the answer before them far \
                             more often than full jitter draws 0 or 1 ms (the history times \
                             the gap before each retry)",
    },
];

/// The JSON file: see the module docs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CatalogFile {
    pub(crate) format: String,
    pub(crate) version: u32,
    pub(crate) git_commit: String,
    pub(crate) jobs: u64,
    pub(crate) max_seeds: u64,
    pub(crate) budget_cpu_s: u64,
    pub(crate) bugs: u64,
    pub(crate) detected: u64,
    pub(crate) detection_rate: f64,
    pub(crate) entries: Vec<CatalogEntry>,
}

/// One bug's row: see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CatalogEntry {
    pub(crate) bug: String,
    pub(crate) layer: String,
    pub(crate) rule: String,
    pub(crate) description: String,
    pub(crate) models: String,
    pub(crate) workload: String,
    pub(crate) fault_profile: String,
    pub(crate) expected_detection: String,
    pub(crate) detected: bool,
    pub(crate) seeds_run: u64,
    pub(crate) seeds_to_first_detection: Option<u64>,
    pub(crate) failing_seed: Option<u64>,
    pub(crate) wall_time_ms: u64,
    pub(crate) cpu_time_ms: u64,
    pub(crate) rules_reported: Vec<String>,
    pub(crate) first_violation: Option<String>,
    pub(crate) replay: Option<String>,
    pub(crate) failed_without_bug: Vec<u64>,
    pub(crate) control_unchecked: Vec<u64>,
}

/// Runs the campaigns, prints the table and writes the JSON file.
pub(crate) fn catalog(
    args: &CatalogArgs,
    workloads_dir: &Path,
    jobs: usize,
) -> Result<ExitCode, String> {
    for name in &args.only {
        if PlantedBug::from_name(name).is_none() {
            return Err(format!("no planted bug {name:?}"));
        }
    }
    let selected: Vec<&Campaign> = CAMPAIGNS
        .iter()
        .filter(|campaign| {
            args.only.is_empty() || args.only.iter().any(|name| name == campaign.bug.name())
        })
        .collect();
    let mut entries = Vec::new();
    for campaign in selected {
        let entry = run_campaign(campaign, args, workloads_dir, jobs)?;
        eprintln!(
            "{}: {}, {} seeds run ({:.1}s)",
            entry.bug,
            match entry.failing_seed {
                Some(seed) => format!(
                    "detected at seed {seed} ({})",
                    entry.rules_reported.join(", ")
                ),
                None => "not detected".to_owned(),
            },
            entry.seeds_run,
            entry.wall_time_ms as f64 / 1000.0
        );
        entries.push(entry);
    }
    let detected = entries.iter().filter(|entry| entry.detected).count() as u64;
    let bugs = entries.len() as u64;
    let file = CatalogFile {
        format: CATALOG_FORMAT.to_owned(),
        version: CATALOG_VERSION,
        git_commit: git_commit(),
        jobs: jobs as u64,
        max_seeds: args.max_seeds,
        budget_cpu_s: args.budget_cpu_s,
        bugs,
        detected,
        detection_rate: if bugs == 0 {
            0.0
        } else {
            detected as f64 / bugs as f64
        },
        entries,
    };
    print!("{}", table(&file));
    if let Some(parent) = args.output.parent() {
        fs::create_dir_all(parent).map_err(|error| format!("{}: {error}", parent.display()))?;
    }
    let json = serde_json::to_string_pretty(&file).map_err(|error| error.to_string())?;
    fs::write(&args.output, json + "\n")
        .map_err(|error| format!("{}: {error}", args.output.display()))?;
    println!("catalog: {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

fn run_campaign(
    campaign: &Campaign,
    args: &CatalogArgs,
    workloads_dir: &Path,
    jobs: usize,
) -> Result<CatalogEntry, String> {
    let workers = WorkerCommand {
        workloads_dir: workloads_dir.to_owned(),
        workload: campaign.workload.to_owned(),
        faults: campaign.faults.map(str::to_owned),
        faults_file: None,
        bug: Some(campaign.bug.name().to_owned()),
    };
    let control = WorkerCommand {
        bug: None,
        ..workers.clone()
    };
    let (_, profile) = load(&workers)?;
    let began = wall_clock();
    let jobs = jobs.max(1);
    let mut seeds_run = 0;
    let mut first_failure: Option<SeedSummary> = None;
    let mut failed_without_bug = Vec::new();
    let mut control_unchecked = Vec::new();
    while seeds_run < args.max_seeds && first_failure.is_none() {
        let cpu_s = began.elapsed().as_secs_f64() * jobs as f64;
        if cpu_s >= args.budget_cpu_s as f64 {
            break;
        }
        let batch_end = (seeds_run + jobs as u64).min(args.max_seeds);
        let batch: Vec<u64> = (seeds_run..batch_end).collect();
        let mut failures = Vec::new();
        run_in_processes(&workers, jobs, &batch, |seed, summary| {
            let summary = summary.unwrap_or_else(|error| crashed(&workers, seed, error));
            if summary.findings().next().is_some() {
                failures.push(summary);
            }
        })?;
        seeds_run = batch_end;
        failures.sort_by_key(|summary| summary.seed);
        for failure in failures {
            let mut control_verdict = None;
            run_in_processes(&control, 1, &[failure.seed], |seed, summary| {
                control_verdict =
                    Some(summary.unwrap_or_else(|error| crashed(&control, seed, error)));
            })?;
            let control_verdict = control_verdict.ok_or("the control run gave no verdict")?;
            if control_verdict.findings().next().is_some() {
                failed_without_bug.push(failure.seed);
            } else if !control_verdict.violations.is_empty() {
                control_unchecked.push(failure.seed);
            } else {
                first_failure = Some(failure);
                break;
            }
        }
    }
    let wall = began.elapsed();
    let rules_reported: BTreeSet<String> = first_failure
        .iter()
        .flat_map(|summary| summary.findings().map(|violation| violation.rule.clone()))
        .collect();
    let bug = campaign.bug;
    Ok(CatalogEntry {
        bug: bug.name().to_owned(),
        layer: bug.layer().as_str().to_owned(),
        rule: bug.rule().to_owned(),
        description: bug.description().to_owned(),
        models: bug.models().to_owned(),
        workload: campaign.workload.to_owned(),
        fault_profile: profile.name.clone(),
        expected_detection: campaign.expected_detection.to_owned(),
        detected: first_failure.is_some(),
        seeds_run,
        seeds_to_first_detection: first_failure.as_ref().map(|summary| summary.seed + 1),
        failing_seed: first_failure.as_ref().map(|summary| summary.seed),
        wall_time_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        cpu_time_ms: u64::try_from(wall.as_millis() * jobs as u128).unwrap_or(u64::MAX),
        rules_reported: rules_reported.into_iter().collect(),
        first_violation: first_failure
            .as_ref()
            .and_then(|summary| summary.findings().next())
            .map(|violation| format!("{}: {}", violation.rule, violation.message)),
        replay: first_failure
            .as_ref()
            .map(|summary| replay_command(&workers, summary.seed)),
        failed_without_bug,
        control_unchecked,
    })
}

/// The table `catalog` prints.
fn table(file: &CatalogFile) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<36} {:<5} {:<19} {:<9} {:>6} {:>8}  reported",
        "bug", "rule", "workload", "detected", "seeds", "wall"
    );
    for entry in &file.entries {
        let _ = writeln!(
            text,
            "{:<36} {:<5} {:<19} {:<9} {:>6} {:>7.1}s  {}",
            entry.bug,
            entry.rule,
            entry.workload,
            if entry.detected { "yes" } else { "NO" },
            entry.seeds_to_first_detection.map_or_else(
                || format!(">{}", entry.seeds_run),
                |seeds| seeds.to_string()
            ),
            entry.wall_time_ms as f64 / 1000.0,
            if entry.detected {
                entry.rules_reported.join(",")
            } else {
                format!("(expected: {})", entry.expected_detection)
            }
        );
    }
    let _ = writeln!(
        text,
        "detected {} of {} planted bugs ({:.0}%)",
        file.detected,
        file.bugs,
        file.detection_rate * 100.0
    );
    for entry in file.entries.iter().filter(|entry| entry.detected) {
        if let Some(replay) = &entry.replay {
            let _ = writeln!(text, "  {}: {replay}", entry.bug);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planted_bug_has_exactly_one_campaign_in_registry_order() {
        let bugs: Vec<PlantedBug> = CAMPAIGNS.iter().map(|campaign| campaign.bug).collect();
        assert_eq!(bugs, PlantedBug::ALL.to_vec());
    }
}
