//! `lockwell-sim shrink`: reduces a failing run to a smaller one that
//! still fails, in the manner of test-case reduction (delta debugging over
//! the workload spec and its fault profile, not over the history).
//!
//! A seed is tied to its spec: the op streams and the fault schedule are
//! drawn from the seed *and* the spec, so once the spec shrinks, the
//! original seed replays a different run. The search therefore moves over
//! (spec, seed) pairs: each candidate spec (one simplification of the
//! best so far: fewer clients, ops per client or keys, one op kind or
//! condition kind less, one fault kind off, a fault rate halved, less
//! latency) runs with the current seed and seeds `0..--seeds-per-candidate`,
//! and the first candidate with a failing seed becomes the best, with the
//! failing seed of the fewest history entries. It fails "the same way" when
//! it breaks one of the rules the original run broke; `--any-violation`
//! accepts any violation. The linearizability checker giving up
//! ([`crate::workers::CHECKER_GAVE_UP_RULE`]) is no failure here. The search restarts from the first
//! simplification after each success and ends when none applies or after
//! `--budget-s` seconds of wall time.
//!
//! Every simplification strictly lowers a count or zeroes a weight or a
//! rate, so the search ends. The result is written as a workload spec
//! (`<out>/<workload>.toml`) and a fault profile (`<out>/faults.toml`,
//! table `shrunk`) that `run --workloads-dir <out> --faults-file
//! <out>/faults.toml --faults shrunk` reads; the printed replay command
//! does exactly that.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use lockwell_workload::{FaultProfile, WorkloadSpec};
use serde::Serialize;

use crate::cli::{crashed, load, replay_command, wall_clock};
use crate::workers::{SeedSummary, WorkerCommand, run_in_processes};

/// The table name of the shrunk fault profile in `faults.toml`.
const SHRUNK_PROFILE: &str = "shrunk";
/// The budget the issue sets for one shrink.
const DEFAULT_BUDGET_S: u64 = 60;
/// Seeds each candidate spec runs besides the current one.
const DEFAULT_SEEDS_PER_CANDIDATE: u64 = 6;
/// A fault rate at or below this is zeroed rather than halved.
const SMALLEST_HALVED_RATE_PER_S: f64 = 0.05;

#[derive(Debug, clap::Args)]
pub(crate) struct ShrinkArgs {
    #[arg(long)]
    pub(crate) workload: String,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Accept any violation, not only one of the rules the original run
    /// broke.
    #[arg(long)]
    any_violation: bool,
    /// Seeds each candidate spec runs besides the current seed.
    #[arg(long, default_value_t = DEFAULT_SEEDS_PER_CANDIDATE)]
    seeds_per_candidate: u64,
    /// Wall-clock seconds the search may take.
    #[arg(long, default_value_t = DEFAULT_BUDGET_S)]
    budget_s: u64,
    /// Where the shrunk spec and fault profile go (default:
    /// `results/shrink/<workload>[-<bug>]-<seed>`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seeds run at once, each in a process of its own (default: one per
    /// core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) jobs: Option<u64>,
}

/// A run that fails: the spec, the profile and the seed.
#[derive(Debug, Clone)]
struct Failing {
    spec: WorkloadSpec,
    profile: FaultProfile,
    seed: u64,
    entries: u64,
    rules: BTreeSet<String>,
}

/// What `shrink.json` records next to the shrunk spec.
#[derive(Debug, Serialize)]
struct ShrinkRecord {
    workload: String,
    bug: Option<String>,
    original_seed: u64,
    original_entries: u64,
    original_rules: Vec<String>,
    shrunk_seed: u64,
    shrunk_entries: u64,
    shrunk_rules: Vec<String>,
    accepted: &'static str,
    steps: Vec<String>,
    candidates_tried: u64,
    runs: u64,
    wall_time_ms: u64,
    replay: String,
}

pub(crate) fn shrink(
    args: &ShrinkArgs,
    original: &WorkerCommand,
    jobs: usize,
) -> Result<ExitCode, String> {
    let began = wall_clock();
    let budget = Duration::from_secs(args.budget_s);
    let (spec, profile) = load(original)?;
    let first = run_seeds(original, jobs, &[args.seed])?
        .into_iter()
        .next()
        .ok_or("the original seed ran without a verdict")?;
    if first.findings().next().is_none() {
        return Err(format!(
            "seed {} of {} finds nothing (it passes, or the linearizability checker gave up): \
             nothing to shrink",
            args.seed, original.workload
        ));
    }
    let original_rules = rules_of(&first);
    let mut best = Failing {
        spec,
        profile,
        seed: args.seed,
        entries: first.requests,
        rules: original_rules.clone(),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let bug = original
            .bug
            .as_ref()
            .map(|bug| format!("-{bug}"))
            .unwrap_or_default();
        PathBuf::from(format!(
            "results/shrink/{}{bug}-{}",
            original.workload, args.seed
        ))
    });
    let scratch = out.join("candidate");
    let accepts = |summary: &SeedSummary| {
        summary
            .findings()
            .any(|violation| args.any_violation || original_rules.contains(&violation.rule))
    };
    eprintln!(
        "shrink {} seed {}{}: fails {:?} with {} history entries",
        original.workload,
        args.seed,
        original
            .bug
            .as_ref()
            .map(|bug| format!(" (bug {bug})"))
            .unwrap_or_default(),
        original_rules,
        best.entries
    );
    let mut steps = Vec::new();
    let (mut candidates_tried, mut runs) = (0_u64, 1_u64);
    'search: loop {
        let mut improved = false;
        for (step, spec, profile) in simplifications(&best.spec, &best.profile) {
            if began.elapsed() >= budget {
                break 'search;
            }
            candidates_tried += 1;
            let workers = write_candidate(&scratch, original, args.seed, &spec, &profile)?;
            let mut seeds = vec![best.seed];
            seeds.extend((0..args.seeds_per_candidate).filter(|seed| *seed != best.seed));
            let summaries = run_seeds(&workers, jobs, &seeds)?;
            runs += summaries.len() as u64;
            let Some(failing) = summaries
                .into_iter()
                .filter(accepts)
                .min_by_key(|summary| (summary.requests, summary.seed))
            else {
                continue;
            };
            let line = format!(
                "{step} (seed {}): {} entries, {:?}",
                failing.seed,
                failing.requests,
                rules_of(&failing)
            );
            eprintln!("  {line}");
            steps.push(line);
            best = Failing {
                spec,
                profile,
                seed: failing.seed,
                entries: failing.requests,
                rules: rules_of(&failing),
            };
            improved = true;
            break;
        }
        if !improved {
            break;
        }
    }
    let _ = fs::remove_dir_all(&scratch);
    let shrunk = write_candidate(&out, original, args.seed, &best.spec, &best.profile)?;
    let replay = replay_command(&shrunk, best.seed);
    let spec_text = spec_toml(&best.spec, &original.workload, args.seed)?;
    let faults_text = faults_toml(&best.profile)?;
    let wall = began.elapsed();
    let record = ShrinkRecord {
        workload: original.workload.clone(),
        bug: original.bug.clone(),
        original_seed: args.seed,
        original_entries: first.requests,
        original_rules: original_rules.iter().cloned().collect(),
        shrunk_seed: best.seed,
        shrunk_entries: best.entries,
        shrunk_rules: best.rules.iter().cloned().collect(),
        accepted: if args.any_violation {
            "any violation"
        } else {
            "a violation of a rule the original run broke"
        },
        steps,
        candidates_tried,
        runs,
        wall_time_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        replay: replay.clone(),
    };
    let json = serde_json::to_string_pretty(&record).map_err(|error| error.to_string())?;
    let record_path = out.join("shrink.json");
    fs::write(&record_path, json + "\n")
        .map_err(|error| format!("{}: {error}", record_path.display()))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "shrunk {} seed {} in {:.1}s ({candidates_tried} candidate specs, {runs} runs): \
         {} -> {} history entries ({:.1}%), fails {:?} (accepting {})",
        original.workload,
        args.seed,
        wall.as_secs_f64(),
        first.requests,
        best.entries,
        100.0 * best.entries as f64 / first.requests.max(1) as f64,
        best.rules,
        record.accepted
    );
    let _ = writeln!(
        text,
        "a seed is tied to its spec: the shrunk spec fails with seed {} (each candidate ran \
         the current seed and seeds 0..{})",
        best.seed, args.seeds_per_candidate
    );
    let _ = writeln!(
        text,
        "--- {}",
        out.join(format!("{}.toml", original.workload)).display()
    );
    text.push_str(&spec_text);
    let _ = writeln!(text, "--- {}", out.join("faults.toml").display());
    text.push_str(&faults_text);
    let _ = writeln!(text, "replay: {replay}");
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The rules of a run's findings (the checker giving up is none).
fn rules_of(summary: &SeedSummary) -> BTreeSet<String> {
    summary
        .findings()
        .map(|violation| violation.rule.clone())
        .collect()
}

/// Runs `seeds` of what `workers` names; a crashed seed is a failing one.
fn run_seeds(
    workers: &WorkerCommand,
    jobs: usize,
    seeds: &[u64],
) -> Result<Vec<SeedSummary>, String> {
    let mut summaries = Vec::new();
    run_in_processes(workers, jobs, seeds, |seed, summary| {
        summaries.push(summary.unwrap_or_else(|error| crashed(workers, seed, error)));
    })?;
    summaries.sort_by_key(|summary| summary.seed);
    Ok(summaries)
}

/// Writes `spec` and `profile` (shrunk from `original`'s run of
/// `original_seed`) under `dir` and says how to run them.
fn write_candidate(
    dir: &Path,
    original: &WorkerCommand,
    original_seed: u64,
    spec: &WorkloadSpec,
    profile: &FaultProfile,
) -> Result<WorkerCommand, String> {
    fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let spec_path = dir.join(format!("{}.toml", original.workload));
    let faults_path = dir.join("faults.toml");
    let spec_text = spec_toml(spec, &original.workload, original_seed)?;
    fs::write(&spec_path, spec_text)
        .map_err(|error| format!("{}: {error}", spec_path.display()))?;
    fs::write(&faults_path, faults_toml(profile)?)
        .map_err(|error| format!("{}: {error}", faults_path.display()))?;
    Ok(WorkerCommand {
        workloads_dir: dir.to_owned(),
        workload: original.workload.clone(),
        faults: Some(SHRUNK_PROFILE.to_owned()),
        faults_file: Some(faults_path),
        bug: original.bug.clone(),
    })
}

/// `value` as a TOML table without its `name` (a file's stem or a table's
/// name, never a field).
fn without_name(value: &impl Serialize) -> Result<toml::Table, String> {
    let mut table = toml::Table::try_from(value).map_err(|error| error.to_string())?;
    table.remove("name");
    Ok(table)
}

fn spec_toml(spec: &WorkloadSpec, workload: &str, original_seed: u64) -> Result<String, String> {
    let mut table = without_name(spec)?;
    table.insert(
        "description".to_owned(),
        toml::Value::String(format!(
            "Shrunk by `lockwell-sim shrink` from workload {workload} (seed {original_seed}). \
             Its fault profile is the table `{SHRUNK_PROFILE}` of faults.toml next to it: run \
             with --faults-file <dir>/faults.toml --faults {SHRUNK_PROFILE}."
        )),
    );
    toml::to_string(&table).map_err(|error| error.to_string())
}

fn faults_toml(profile: &FaultProfile) -> Result<String, String> {
    let mut table = without_name(profile)?;
    table.insert(
        "description".to_owned(),
        toml::Value::String(format!("Shrunk from fault profile {}.", profile.name)),
    );
    let profiles = toml::Table::from_iter([(SHRUNK_PROFILE.to_owned(), toml::Value::Table(table))]);
    toml::to_string(&profiles).map_err(|error| error.to_string())
}

/// Every one-step simplification of (`spec`, `profile`) that validates,
/// biggest cuts first, each with what it changed.
fn simplifications(
    spec: &WorkloadSpec,
    profile: &FaultProfile,
) -> Vec<(String, WorkloadSpec, FaultProfile)> {
    let mut out: Vec<(String, WorkloadSpec, FaultProfile)> = Vec::new();
    let mut push_spec = |what: String, changed: WorkloadSpec| {
        if changed != *spec && changed.validate().is_ok() {
            out.push((what, changed, profile.clone()));
        }
    };
    for (field, value) in [
        ("clients", spec.clients),
        ("ops_per_client", spec.ops_per_client),
        ("keys", spec.keys),
    ] {
        for smaller in [value / 2, value * 3 / 4, value.saturating_sub(1)] {
            if smaller >= 1 && smaller < value {
                let mut changed = spec.clone();
                match field {
                    "clients" => changed.clients = smaller,
                    "ops_per_client" => changed.ops_per_client = smaller,
                    _ => changed.keys = smaller,
                }
                push_spec(format!("{field} {value} -> {smaller}"), changed);
            }
        }
    }
    for (index, (kind, weight)) in spec.mix.weights().into_iter().enumerate() {
        if weight > 0 {
            let mut changed = spec.clone();
            let weights = [
                &mut changed.mix.create_only,
                &mut changed.mix.cas,
                &mut changed.mix.put,
                &mut changed.mix.get,
                &mut changed.mix.delete,
                &mut changed.mix.conditional_delete,
                &mut changed.mix.copy,
                &mut changed.mix.multipart_complete,
                &mut changed.mix.idempotent_put,
            ];
            *weights.into_iter().nth(index).expect("nine op kinds") = 0;
            push_spec(format!("no {kind:?} ops"), changed);
        }
    }
    // Conditions, parts and attempts matter only to the ops that use them.
    let conditional_writes = spec.mix.idempotent_put + spec.mix.multipart_complete;
    for (index, (condition, weight)) in spec.write_conditions.weights().into_iter().enumerate() {
        if weight > 0 && conditional_writes > 0 {
            let mut changed = spec.clone();
            let weights = [
                &mut changed.write_conditions.none,
                &mut changed.write_conditions.if_absent,
                &mut changed.write_conditions.if_match_read,
            ];
            *weights.into_iter().nth(index).expect("three conditions") = 0;
            push_spec(format!("no {condition:?} writes"), changed);
        }
    }
    for (index, (condition, weight)) in spec.copy_conditions.weights().into_iter().enumerate() {
        if weight > 0 && spec.mix.copy > 0 {
            let mut changed = spec.clone();
            let weights = [
                &mut changed.copy_conditions.destination_absent,
                &mut changed.copy_conditions.destination_matches_read,
                &mut changed.copy_conditions.source_matches_read,
            ];
            *weights.into_iter().nth(index).expect("three conditions") = 0;
            push_spec(format!("no {condition:?} copies"), changed);
        }
    }
    if spec.multipart_parts > 1 && spec.mix.multipart_complete > 0 {
        let mut changed = spec.clone();
        changed.multipart_parts = 1;
        push_spec(
            format!("multipart_parts {} -> 1", spec.multipart_parts),
            changed,
        );
    }
    if spec.idempotent_attempts > 1 && spec.mix.idempotent_put > 0 {
        let mut changed = spec.clone();
        changed.idempotent_attempts -= 1;
        push_spec(
            format!(
                "idempotent_attempts {} -> {}",
                spec.idempotent_attempts, changed.idempotent_attempts
            ),
            changed,
        );
    }
    if spec.value_len_bytes > 0 {
        let mut changed = spec.clone();
        changed.value_len_bytes = 0;
        push_spec(
            format!("value_len_bytes {} -> 0", spec.value_len_bytes),
            changed,
        );
    }
    out.extend(
        fault_simplifications(profile)
            .into_iter()
            .filter_map(|(what, changed)| {
                (changed.validate().is_ok()).then(|| (what, spec.clone(), changed))
            }),
    );
    out
}

/// A fault profile's rate or probability field.
type RateField = fn(&mut FaultProfile) -> &mut f64;

/// One-step simplifications of a fault profile: a fault kind off, a rate
/// halved, the latency and fsync delays at their minimum.
fn fault_simplifications(profile: &FaultProfile) -> Vec<(String, FaultProfile)> {
    let mut out = Vec::new();
    let rates: [(&str, RateField); 6] = [
        ("packet_loss_rate", |profile| &mut profile.packet_loss_rate),
        ("clog_rate_per_s", |profile| &mut profile.clog_rate_per_s),
        ("partition_rate_per_s", |profile| {
            &mut profile.partition_rate_per_s
        }),
        ("server_kill_rate_per_s", |profile| {
            &mut profile.server_kill_rate_per_s
        }),
        ("lost_response_after_commit_probability", |profile| {
            &mut profile.lost_response_after_commit_probability
        }),
        ("clock_advance_rate_per_s", |profile| {
            &mut profile.clock_advance_rate_per_s
        }),
    ];
    for (field, rate) in rates {
        let mut current = profile.clone();
        let value = *rate(&mut current);
        if value > 0.0 {
            let mut off = profile.clone();
            *rate(&mut off) = 0.0;
            out.push((format!("{field} {value} -> 0"), off));
            if value > SMALLEST_HALVED_RATE_PER_S {
                let mut halved = profile.clone();
                *rate(&mut halved) = value / 2.0;
                out.push((format!("{field} {value} -> {}", value / 2.0), halved));
            }
        }
    }
    if profile.network_latency_ms.max > profile.network_latency_ms.min {
        let mut changed = profile.clone();
        changed.network_latency_ms.max = changed.network_latency_ms.min;
        out.push((
            format!(
                "network_latency_ms max {} -> {}",
                profile.network_latency_ms.max, profile.network_latency_ms.min
            ),
            changed,
        ));
    }
    if profile.fsync_delay_us.max > profile.fsync_delay_us.min {
        let mut changed = profile.clone();
        changed.fsync_delay_us.max = changed.fsync_delay_us.min;
        out.push((
            format!(
                "fsync_delay_us max {} -> {}",
                profile.fsync_delay_us.max, profile.fsync_delay_us.min
            ),
            changed,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec::parse(
            "racing-creators",
            r#"
            description = "test"
            clients = 4
            keys = 3
            ops_per_client = 10
            faults = "lossy"
            api = "mixed"
            [mix]
            create_only = 1
            get = 1
            "#,
        )
        .unwrap()
    }

    #[test]
    fn every_simplification_validates_and_makes_the_spec_or_profile_strictly_smaller() {
        let spec = spec();
        let profile = FaultProfile::named("lossy").unwrap();
        let candidates = simplifications(&spec, &profile);
        assert!(candidates.len() > 10, "{}", candidates.len());
        for (what, changed_spec, changed_profile) in candidates {
            assert!(changed_spec.validate().is_ok(), "{what}");
            assert!(changed_profile.validate().is_ok(), "{what}");
            assert!(
                changed_spec != spec || changed_profile != profile,
                "{what} changes nothing"
            );
            assert!(changed_spec.clients <= spec.clients, "{what}");
            assert!(changed_spec.ops_per_client <= spec.ops_per_client, "{what}");
            assert!(changed_spec.keys <= spec.keys, "{what}");
        }
    }

    #[test]
    fn a_spec_and_profile_with_nothing_left_to_cut_have_no_simplification() {
        // Conditions, parts and attempts of ops the mix has not are not cuts.
        let mut spec = spec();
        spec.clients = 1;
        spec.keys = 1;
        spec.ops_per_client = 1;
        spec.mix.get = 0;
        let profile = FaultProfile::named("none").unwrap();
        let mut profile = profile;
        profile.network_latency_ms.max = profile.network_latency_ms.min;
        let candidates = simplifications(&spec, &profile);
        let names: Vec<&str> = candidates.iter().map(|(what, ..)| what.as_str()).collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn a_shrunk_spec_and_profile_round_trip_through_their_toml() {
        let spec = spec();
        let text = spec_toml(&spec, "racing-creators", 7).unwrap();
        let parsed = WorkloadSpec::parse("racing-creators", &text).unwrap();
        assert_eq!(
            (parsed.clients, parsed.keys, parsed.mix),
            (spec.clients, spec.keys, spec.mix)
        );
        let profile = FaultProfile::named("chaos").unwrap();
        let profiles = FaultProfile::parse_all(&faults_toml(&profile).unwrap()).unwrap();
        let shrunk = &profiles[SHRUNK_PROFILE];
        assert_eq!(
            shrunk.server_kill_rate_per_s,
            profile.server_kill_rate_per_s
        );
        assert_eq!(shrunk.crash_modes, profile.crash_modes);
    }
}
