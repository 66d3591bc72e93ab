//! `instruction-bench WORKLOAD ITERATIONS`: runs one deterministic
//! workload of `lockwell_bench::instructions` for callgrind to count.
//! `instruction-bench --list` prints each workload's name and how many
//! iterations apart to measure it, tab-separated, one per line.
//!
//! Run it through `cargo xtask bench-instructions`, which runs each
//! workload at two iteration counts under callgrind and reports the
//! difference per iteration.

use std::process::ExitCode;

use clap::Parser;
use lockwell_bench::instructions::Workload;

#[derive(Parser)]
#[command(
    name = "instruction-bench",
    about = "One deterministic workload, for callgrind to count"
)]
struct Args {
    /// Print the workloads (name, iterations per measurement) and exit.
    #[arg(long, conflicts_with_all = ["workload", "iterations"])]
    list: bool,
    /// A workload name, as `--list` prints it.
    #[arg(required_unless_present = "list")]
    workload: Option<String>,
    /// How many times to run it.
    #[arg(required_unless_present = "list")]
    iterations: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for workload in Workload::all() {
            println!(
                "{}\t{}",
                workload.name(),
                workload.iterations_per_measurement()
            );
        }
        return ExitCode::SUCCESS;
    }
    let (Some(name), Some(iterations)) = (args.workload, args.iterations) else {
        unreachable!("clap requires both without --list");
    };
    let Some(workload) = Workload::from_name(&name) else {
        eprintln!("instruction-bench: no workload {name:?}; see --list");
        return ExitCode::from(2);
    };
    let as_expected = workload.run(iterations);
    if as_expected != iterations {
        eprintln!(
            "instruction-bench: {name}: {as_expected} of {iterations} iterations had the expected outcome"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
