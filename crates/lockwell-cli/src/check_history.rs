//! `lockwell check-history`: a saved history checked again, without a run.
//!
//! The histories `lockwell check --history-out` and `lockwell-sim run
//! --history` write are what stays of a run: a live run's interleaving
//! cannot be had again, and a seed replays only on the build that drew
//! it. This command puts such a file through lockwell-check's
//! linearizability checker against the SPEC's object model, exactly as
//! the run's own checks did (the same conversion of its verdicts, by
//! [`lockwell_sim::checks::linearizability`]), and through the rule checks
//! a history allows on its own ([`lockwell_sim::checks::check_without_workload`]),
//! and prints the verdict with each rule broken and the smallest failing
//! window drawn as a timeline, and what it checked.
//!
//! The create-round and counter checks are not repeated: they need the
//! workload's op mix, which the history does not record, and the
//! linearizability check covers what they find. The others need the
//! process of the final reads, which a version 3 header names; without it
//! (a version 2 history) only R3 and linearizability run. A history written by another tool in the same
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
use lockwell_sim::history::History;
use serde::Serialize;

use crate::check::{
    Finding, SummaryFinding, mix_line, outcome_mix, rule_counts, verdict_word, whole_ms,
    write_findings,
};

/// Exit status: no rule broken.
const EXIT_PASS: u8 = 0;
/// Exit status: a rule broken, or a partition past the bound.
const EXIT_VIOLATIONS: u8 = 1;
/// Exit status: the file could not be read as a history, or the summary
/// could not be written.
const EXIT_CANNOT_CHECK: u8 = 3;

/// Appended to `lockwell check-history --help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  no rule broken
  1  a rule broken (not linearizable, R3, a final read without an
     answer, ...), or part of the history past --max-configurations
     (`unchecked`): printed
  2  bad arguments
  3  the file could not be read as a history, or --summary-out could not
     be written";

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
    let findings: Vec<Finding> = checks::check_without_workload(&history, &limits)
        .into_iter()
        .map(Finding::from)
        .collect();
    let elapsed = started.elapsed();
    let final_reads = history.header.final_reader.map_or(0, |reader| {
        history
            .entries
            .iter()
            .filter(|entry| entry.process == reader)
            .count() as u64
    });
    let report = Report {
        path,
        history: &history,
        findings: &findings,
        elapsed,
        final_reads,
        retries: checks::retries_judged_without_workload(&history) as u64,
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
    /// The requests of the header's final reader.
    final_reads: u64,
    /// The retries R3 judges.
    retries: u64,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    format: &'static str,
    version: u32,
    verdict: &'static str,
    history: String,
    workload: &'a str,
    seed: u64,
    /// The clients' requests: the final reads apart, when the header names
    /// their process.
    requests: u64,
    final_reads: u64,
    /// The clients' retries, and whether R3 judged them.
    retries: u64,
    r3_judged: bool,
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

    fn client_requests(&self) -> u64 {
        self.history.entries.len() as u64 - self.final_reads
    }

    fn r3_judged(&self) -> bool {
        self.retries >= checks::MIN_RETRIES_JUDGED as u64
    }

    /// What was checked, in words.
    fn checks_made(&self) -> String {
        let rules = if self.history.header.final_reader.is_some() {
            "the rule checks but the create rounds and counters (they need the workload's op mix)"
        } else {
            "no rule checks but R3 (the header names no final reader: a version 2 history or \
             another tool's)"
        };
        let retries = self.retries;
        let r3 = if self.history.header.version < 3 {
            "R3 not judged (a version 2 history records no retry gaps)".to_owned()
        } else if self.r3_judged() {
            format!("R3 over {retries} retries")
        } else {
            format!(
                "R3 not judged ({retries} retries, fewer than {})",
                checks::MIN_RETRIES_JUDGED
            )
        };
        format!("{rules}; {r3}; linearizability against the SPEC's object model")
    }

    fn summary(&self) -> Summary<'_> {
        Summary {
            format: SUMMARY_FORMAT,
            version: SUMMARY_VERSION,
            verdict: self.verdict(),
            history: self.path.display().to_string(),
            workload: &self.history.header.workload,
            seed: self.history.header.seed,
            requests: self.client_requests(),
            final_reads: self.final_reads,
            retries: self.retries,
            r3_judged: self.r3_judged(),
            check_ms: whole_ms(self.elapsed),
            outcomes: outcome_mix(self.history, self.history.header.final_reader),
            rules: rule_counts(self.findings),
            findings: self.findings.iter().map(SummaryFinding::from).collect(),
        }
    }

    /// A line of counts, the outcome mix of the clients' requests, what
    /// was checked, then the rules broken and the first findings of each
    /// with its timeline.
    fn text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{} history={} workload={} seed={} requests={} final_reads={} violations={}",
            self.verdict(),
            self.path.display(),
            self.history.header.workload,
            self.history.header.seed,
            self.client_requests(),
            self.final_reads,
            self.findings.len(),
        );
        let _ = writeln!(
            text,
            "  outcomes: {}",
            mix_line(&outcome_mix(self.history, self.history.header.final_reader))
        );
        let _ = writeln!(
            text,
            "  checked in {:.1}s: {}",
            self.elapsed.as_secs_f64(),
            self.checks_made()
        );
        write_findings(&mut text, self.findings, self.history);
        text
    }
}
