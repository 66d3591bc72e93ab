//! Seeds run in child processes of this binary, several at once.
//!
//! The simulator is single-threaded, so a campaign uses more than one core
//! by running seeds in several processes at a time. Each seed gets a fresh
//! process of its own (`lockwell-sim run --seed S --json-summary`), so a
//! campaign's verdict on a seed is exactly what `run` replays: state that
//! outlives a run inside one process cannot leak into the next seed. Such
//! state has leaked before: tokio seeds its thread RNG from a
//! process-wide counter, and both an unbiased `select!` and a `watch`
//! channel with several waiters drew from it, so partition and chaos
//! seeds came out differently after other seeds in the same process.
//! Both are gone and `tests/in_process_replay.rs` holds a run after others
//! to a fresh process's hash; the fresh process stays as the guarantee
//! for what that test does not cover. It costs a few milliseconds; a seed
//! runs for tens.
//!
//! Results arrive in completion order; callers aggregate them in ways that
//! do not depend on that order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

/// A BUGGIFY point's counts over one or more seeds.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct PointRecord {
    pub(crate) reached: u64,
    pub(crate) fired: u64,
}

/// A violation as a worker reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ViolationLine {
    pub(crate) rule: String,
    pub(crate) message: String,
}

/// The rule the checks name when the linearizability checker gave up on
/// a history (`checks::linearizability`): the seed fails, since a pass
/// would claim what was not checked, but it found nothing about the
/// system under test.
pub(crate) const CHECKER_GAVE_UP_RULE: &str = "unchecked";

/// What a campaign needs from one seed's run: one JSON line of a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SeedSummary {
    pub(crate) seed: u64,
    pub(crate) trace_hash: String,
    pub(crate) requests: u64,
    pub(crate) simulated_ns: u64,
    pub(crate) server_kills: u64,
    pub(crate) buggify: BTreeMap<String, PointRecord>,
    /// Empty when the seed passed.
    pub(crate) violations: Vec<ViolationLine>,
    /// The verdict as `run` prints it (rules broken, requests involved,
    /// replay command), for a failing seed only.
    pub(crate) report: Option<String>,
}

impl SeedSummary {
    /// The violations that are findings: all but the checker giving up.
    pub(crate) fn findings(&self) -> impl Iterator<Item = &ViolationLine> {
        self.violations
            .iter()
            .filter(|violation| violation.rule != CHECKER_GAVE_UP_RULE)
    }
}

/// How to run one seed: this binary with the campaign's workload, fault
/// profile and planted bug.
#[derive(Debug, Clone)]
pub(crate) struct WorkerCommand {
    pub(crate) workloads_dir: PathBuf,
    pub(crate) workload: String,
    pub(crate) faults: Option<String>,
    /// Fault profiles besides the shipped ones (`--faults-file`).
    pub(crate) faults_file: Option<PathBuf>,
    /// The planted bug switched on (`--bug`, planted builds only).
    pub(crate) bug: Option<String>,
}

impl WorkerCommand {
    /// The global options of this binary that select what a seed runs.
    pub(crate) fn global_args(&self) -> Vec<String> {
        let mut args = vec![
            "--workloads-dir".to_owned(),
            self.workloads_dir.display().to_string(),
        ];
        if let Some(faults_file) = &self.faults_file {
            args.extend([
                "--faults-file".to_owned(),
                faults_file.display().to_string(),
            ]);
        }
        if let Some(faults) = &self.faults {
            args.extend(["--faults".to_owned(), faults.clone()]);
        }
        if let Some(bug) = &self.bug {
            args.extend(["--bug".to_owned(), bug.clone()]);
        }
        args
    }

    fn command(&self, seed: u64) -> Result<Command, String> {
        let exe = std::env::current_exe().map_err(|error| error.to_string())?;
        let mut command = Command::new(exe);
        command.args(self.global_args());
        command
            .args(["run", "--workload", &self.workload, "--seed"])
            .arg(seed.to_string())
            .arg("--json-summary")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        Ok(command)
    }
}

/// A seed's summary from its process's output.
fn parse_summary(seed: u64, output: std::io::Result<Output>) -> Result<SeedSummary, String> {
    let output = output.map_err(|error| format!("running seed {seed}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let summary: SeedSummary = serde_json::from_str(line).map_err(|_| {
        format!(
            "seed {seed} ended ({}) without a verdict (its output is above)",
            output.status
        )
    })?;
    if summary.seed != seed {
        return Err(format!(
            "the process of seed {seed} reported seed {}",
            summary.seed
        ));
    }
    Ok(summary)
}

/// Runs `seeds`, each in a process of its own with at most `jobs` at once,
/// and calls `on_result` with each seed and its summary as it arrives
/// (completion order), or why there is none: a seed whose process crashed
/// is that seed's finding, not the end of the campaign.
#[allow(clippy::disallowed_methods)] // The campaign's driver, outside any simulation.
pub(crate) fn run_in_processes(
    command: &WorkerCommand,
    jobs: usize,
    seeds: &[u64],
    mut on_result: impl FnMut(u64, Result<SeedSummary, String>),
) -> Result<(), String> {
    let jobs = jobs.max(1);
    let (sender, receiver) = mpsc::channel::<(u64, std::io::Result<Output>)>();
    let mut queue = seeds.iter().copied();
    let mut running = 0usize;
    let mut start_next = |running: &mut usize| -> Result<(), String> {
        if let Some(seed) = queue.next() {
            let child = command
                .command(seed)?
                .spawn()
                .map_err(|error| format!("starting seed {seed}: {error}"))?;
            let sender = sender.clone();
            // A thread per child collects its output and waits for it, so
            // the parent waits on all of them at once.
            std::thread::spawn(move || {
                let output = child.wait_with_output();
                let _receiver_gone = sender.send((seed, output));
            });
            *running += 1;
        }
        Ok(())
    };
    for _ in 0..jobs {
        start_next(&mut running)?;
    }
    while running > 0 {
        let (seed, output) = receiver
            .recv()
            .map_err(|_| "a seed's process vanished".to_owned())?;
        running -= 1;
        on_result(seed, parse_summary(seed, output));
        start_next(&mut running)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::*;

    fn output(code: i32, stdout: &str) -> std::io::Result<Output> {
        Ok(Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        })
    }

    fn summary_line(seed: u64) -> String {
        serde_json::to_string(&SeedSummary {
            seed,
            trace_hash: "00ff".to_owned(),
            requests: 3,
            simulated_ns: 5,
            server_kills: 1,
            buggify: BTreeMap::new(),
            violations: vec![ViolationLine {
                rule: "C1".to_owned(),
                message: "two winners".to_owned(),
            }],
            report: Some("FAIL ...\n".to_owned()),
        })
        .unwrap()
    }

    #[test]
    fn a_seeds_summary_is_its_process_last_stdout_line_even_when_the_seed_failed() {
        let stdout = format!("something else\n{}\n", summary_line(7));
        let summary = parse_summary(7, output(1, &stdout)).unwrap();
        assert_eq!((summary.seed, summary.requests), (7, 3));
        assert_eq!(summary.violations[0].rule, "C1");
    }

    #[test]
    fn a_process_without_a_verdict_or_with_another_seeds_is_an_error_naming_the_seed() {
        let cases = [
            (output(101, ""), "seed 7 ended"),
            (output(0, "not json\n"), "seed 7 ended"),
            (output(0, &summary_line(8)), "reported seed 8"),
            (Err(std::io::Error::other("no such file")), "running seed 7"),
        ];
        for (output, expected) in cases {
            let error = parse_summary(7, output).unwrap_err();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
