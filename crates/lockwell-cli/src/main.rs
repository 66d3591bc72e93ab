//! `lockwell`: the workbench's command line.
//!
//! `lockwell serve` runs the reference S3 server. It prints
//! `listening on http://ADDR` as its first line on stdout, so a test
//! harness can start it with `--listen 127.0.0.1:0` and read the port; the
//! rest of its output tells a human how to point boto3 and the AWS CLI at
//! it. Logs go to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Exit codes: 0 after a clean shutdown (Ctrl-C or SIGTERM), 1 on any
//! error (the message says which), 2 for bad arguments (clap's).

mod serve;

use clap::{Parser, Subcommand};

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
    Bench(lockwell_bench::cli::BenchArgs),
    /// Compare repeated runs of two builds (result files or directories of
    /// them): per-run medians, Mann-Whitney U, A/A noise thresholds. Exits
    /// 1 when a gated metric got slower.
    Compare(lockwell_bench::cli::CompareArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => lockwell_bench::cli::run_bench(&args).map(|_| ()),
        Command::Compare(args) => lockwell_bench::cli::run_compare(&args).map(|_| ()),
    }
}
