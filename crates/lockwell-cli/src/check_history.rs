//! `lockwell check-history`: a saved history checked again, without a run.
//!
//! The histories `lockwell check --history-out` and `lockwell-sim run
//! --history` write are what stays of a run: a live run's interleaving
//! cannot be had again, and a seed replays only on the build that drew
//! it. This command puts such a file through lockwell-check's
//! linearizability checker against the SPEC's object model, exactly as
//! the run's own checks did (the same conversion of its verdicts, by
//! [`lockwell_sim::checks::linearizability`]), and through the R3 check of
//! the retries' backoff, and prints the verdict with each rule broken and
//! the smallest failing window drawn as a timeline.
//!
//! The run's other rule checks are not repeated: they read the workload's
//! op mix and which process made the final reads, which the history does
//! not record, and the linearizability check covers what they find. A
//! history written by another tool in the same
//! format (lockwell-check's `history` module) is checked the same way.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use lockwell_check::Limits;
use lockwell_check::linearizability::DEFAULT_MAX_STATES_PER_PARTITION;
use lockwell_sim::checks;
use lockwell_sim::history::{Entry, History};
use serde::Serialize;

use crate::check::{
    Finding, SummaryFinding, mix_line, outcome_mix, rule_counts, verdict_word, whole_ms,
    write_findings,
};

/// Exit status: linearizable.
const EXIT_PASS: u8 = 0;
/// Exit status: violations, or a partition past the bound.
const EXIT_VIOLATIONS: u8 = 1;
/// Exit status: the file could not be read as a history.
const EXIT_CANNOT_CHECK: u8 = 3;

/// Appended to `lockwell check-history --help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  the history is linearizable
  1  it is not, or part of it was past --max-configurations
     (`unchecked`): printed
  2  bad arguments
  3  the file could not be read as a history";

/// The format of `--summary-out` files.
const SUMMARY_FORMAT: &str = "lockwell-history-check";
const SUMMARY_VERSION: u32 = 1;

#[derive(Debug, Args)]
pub(crate) struct CheckHistoryArgs {
    /// The history: JSON lines, as `lockwell check --history-out` and
    /// `lockwell-sim run --history` write them.
    history: PathBuf,
    /// Configurations the search may explore per partition (the keys one
    /// request or a chain of copies ties together) before it gives up on
    /// that partition, which then fails the check as `unchecked`.
    #[arg(long, default_value_t = DEFAULT_MAX_STATES_PER_PARTITION)]
    max_configurations: u64,
    /// Also write the verdict as JSON here.
    #[arg(long)]
    summary_out: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `lockwell check-history`; prints the verdict on stdout.
pub(crate) fn run(args: &CheckHistoryArgs) -> ExitCode {
    match check_history(args) {
        Ok(verdict) => {
            print!("{}", verdict.text);
            ExitCode::from(if verdict.findings == 0 {
                EXIT_PASS
            } else {
                EXIT_VIOLATIONS
            })
        }
        Err(error) => {
            eprintln!("lockwell check-history: {error:#}");
            ExitCode::from(EXIT_CANNOT_CHECK)
        }
    }
}

/// What `run` prints, and how many findings it shows.
struct Verdict {
    text: String,
    findings: usize,
}

fn check_history(args: &CheckHistoryArgs) -> anyhow::Result<Verdict> {
    let path = &args.history;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let history = History::read_jsonl(BufReader::new(file))
        .with_context(|| format!("reading {}", path.display()))?;
    if !args.quiet {
        eprintln!(
            "check-history: {} requests of {} seed {}; checking them",
            history.entries.len(),
            history.header.workload,
            history.header.seed
        );
    }
    let limits = Limits {
        max_states_per_partition: args.max_configurations,
        ..Limits::default()
    };
    // How long the check took, for the verdict line: this command never
    // runs in a simulation.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let entries: Vec<&Entry> = history.entries.iter().collect();
    let findings: Vec<Finding> = checks::check_retry_backoff(&entries)
        .into_iter()
        .chain(checks::linearizability(&history, &limits, &[]))
        .map(Finding::from)
        .collect();
    let report = Report {
        path,
        history: &history,
        findings: &findings,
        elapsed: started.elapsed(),
    };
    if let Some(summary_path) = &args.summary_out {
        let file = File::create(summary_path)
            .with_context(|| format!("creating {}", summary_path.display()))?;
        let mut writer = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut writer, &report.summary())
            .map_err(std::io::Error::from)
            .and_then(|()| writer.flush())
            .with_context(|| format!("writing {}", summary_path.display()))?;
    }
    Ok(Verdict {
        text: report.text(),
        findings: findings.len(),
    })
}

/// The verdict on one history file.
struct Report<'a> {
    path: &'a Path,
    history: &'a History,
    findings: &'a [Finding],
    elapsed: Duration,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    format: &'static str,
    version: u32,
    verdict: &'static str,
    history: String,
    workload: &'a str,
    seed: u64,
    requests: u64,
    check_ms: u64,
    outcomes: BTreeMap<String, u64>,
    /// How many findings of each rule.
    rules: BTreeMap<&'static str, usize>,
    findings: Vec<SummaryFinding<'a>>,
}

impl Report<'_> {
    fn verdict(&self) -> &'static str {
        verdict_word(self.findings)
    }

    fn summary(&self) -> Summary<'_> {
        Summary {
            format: SUMMARY_FORMAT,
            version: SUMMARY_VERSION,
            verdict: self.verdict(),
            history: self.path.display().to_string(),
            workload: &self.history.header.workload,
            seed: self.history.header.seed,
            requests: self.history.entries.len() as u64,
            check_ms: whole_ms(self.elapsed),
            outcomes: outcome_mix(self.history, None),
            rules: rule_counts(self.findings),
            findings: self.findings.iter().map(SummaryFinding::from).collect(),
        }
    }

    /// A line of counts, the outcome mix, then the rules broken and the
    /// first findings of each with its timeline.
    fn text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{} history={} workload={} seed={} requests={} violations={}",
            self.verdict(),
            self.path.display(),
            self.history.header.workload,
            self.history.header.seed,
            self.history.entries.len(),
            self.findings.len(),
        );
        let _ = writeln!(
            text,
            "  outcomes: {}",
            mix_line(&outcome_mix(self.history, None))
        );
        let _ = writeln!(
            text,
            "  checked in {:.1}s: the retries' backoff (R3) and linearizability against the \
             SPEC's object model",
            self.elapsed.as_secs_f64()
        );
        write_findings(&mut text, self.findings, self.history);
        text
    }
}
