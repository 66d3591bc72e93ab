//! `lockwell`: the workbench's command line.
//!
//! `lockwell serve` runs the reference S3 server. It prints
//! `listening on http://ADDR` as its first line on stdout, so a test
//! harness can start it with `--listen 127.0.0.1:0` and read the port; the
//! rest of its output tells a human how to point boto3 and the AWS CLI at
//! it. Logs go to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! `lockwell mb/put/get/head/cp/rm` are thin commands over
//! lockwell-client for trying conditional writes and idempotency keys by
//! hand (`object_commands`).
//!
//! Exit codes: 0 on success (for `serve`, after a clean shutdown on Ctrl-C
//! or SIGTERM), 1 on any error (the message says which), 2 for bad
//! arguments (clap's); the object commands add 3 for a failed precondition
//! (412) and 4 for a missing key (404).

mod check;
mod check_history;
mod dash;
mod live_bench;
mod object_commands;
mod plan;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use object_commands::{EXIT_CODES_HELP, ObjectCommand};

/// A workbench for conditional writes and idempotent retries in S3-style
/// object stores.
#[derive(Debug, Parser)]
#[command(name = "lockwell", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference S3 server (conditional writes, idempotency keys
    /// and checksums exactly as SPEC.md says).
    ///
    /// Without --access-key/--secret-key (or LOCKWELL_ACCESS_KEY and
    /// LOCKWELL_SECRET_KEY) it generates a key pair and prints it. The
    /// first line on stdout is `listening on http://ADDR`.
    Serve(serve::ServeArgs),
    /// Contended conditional writes: closed loop (--racers) or open loop
    /// (--rate), hot-key skew, op mix, CAS retry policy. Writes a result
    /// file and an HdrHistogram interval log (default: under results/).
    /// On a terminal it shows the live dashboard (--no-tui: progress
    /// lines).
    Bench(Box<lockwell_bench::cli::BenchArgs>),
    /// Compare repeated runs of two builds (result files or directories of
    /// them): per-run medians, Mann-Whitney U, A/A noise thresholds. Exits
    /// 1 when a gated metric got slower.
    Compare(lockwell_bench::cli::CompareArgs),
    /// Browse a results folder (default results/) in the terminal: runs,
    /// A/B comparisons, simulator campaigns, sweeps with the capacity
    /// model, the planted-bug catalog (docs/dashboard.md).
    Dash(dash::DashArgs),
    /// Work with result files: `merge` the runs of several generators.
    Results(lockwell_bench::cli::ResultsArgs),
    /// Capacity planning from a sweep (`lockwell bench sweep`): the largest
    /// concurrency meeting a latency SLO, goodput, conflicts and p99 there,
    /// instances for a client count or goodput target, cores for
    /// checksums; `plan validate` predicts held-out points.
    Plan(plan::PlanArgs),
    /// Create a bucket (over S3: the native API has no bucket operations).
    #[command(after_help = EXIT_CODES_HELP)]
    Mb(object_commands::MbArgs),
    /// Put an object from a file or stdin; prints the new ETag.
    ///
    /// --if-none-match makes it create-only, --if-match ETAG
    /// overwrite-only, --idempotency-key applies it at most once (a retry
    /// with the same key returns the first answer).
    #[command(after_help = EXIT_CODES_HELP)]
    Put(object_commands::PutArgs),
    /// Get an object's bytes (to stdout, or to -o FILE and print the ETag).
    #[command(after_help = EXIT_CODES_HELP)]
    Get(object_commands::GetArgs),
    /// Print an object's ETag, length and metadata as `name<TAB>value`
    /// lines, sorted by name.
    #[command(after_help = EXIT_CODES_HELP)]
    Head(object_commands::HeadArgs),
    /// Copy an object, with conditions on the source (--source-if-*) and
    /// the destination (--if-none-match, --if-match); prints the new ETag.
    #[command(after_help = EXIT_CODES_HELP)]
    Cp(object_commands::CpArgs),
    /// Delete an object, optionally only if its ETag is --if-match's.
    #[command(after_help = EXIT_CODES_HELP)]
    Rm(object_commands::RmArgs),
    /// Run a workload against any S3-compatible endpoint over real sockets
    /// and check its history as the simulator does (docs/live-checker.md).
    #[command(after_help = check::EXIT_CODES_HELP)]
    Check(check::CheckArgs),
    /// Check a saved history file again (from `lockwell check` or
    /// `lockwell-sim run --history`): the rule checks a history allows
    /// without its workload (R3's backoff among them) and linearizability
    /// against the SPEC's object model, each rule broken with its smallest
    /// failing window.
    #[command(after_help = check_history::EXIT_CODES_HELP)]
    CheckHistory(check_history::CheckHistoryArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let object_command = match cli.command {
        Command::Serve(args) => return serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => return live_bench::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Dash(args) => return dash::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Compare(args) => {
            return lockwell_bench::cli::run_compare(&args).map(|_| ExitCode::SUCCESS);
        }
        Command::Results(args) => {
            return lockwell_bench::cli::run_results(&args).map(|()| ExitCode::SUCCESS);
        }
        Command::Plan(args) => return plan::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Check(args) => return Ok(check::run(&args)),
        Command::CheckHistory(args) => return Ok(check_history::run(&args)),
        Command::Mb(args) => ObjectCommand::Mb(args),
        Command::Put(args) => ObjectCommand::Put(args),
        Command::Get(args) => ObjectCommand::Get(args),
        Command::Head(args) => ObjectCommand::Head(args),
        Command::Cp(args) => ObjectCommand::Cp(args),
        Command::Rm(args) => ObjectCommand::Rm(args),
    };
    Ok(object_commands::run(&object_command))
}
