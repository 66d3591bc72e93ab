//! `checksum-summary`: a short checksum throughput report.
//!
//! Measures each algorithm through `MultiHasher` and the memory read
//! bandwidth of the same buffer, as the physical limit a checksum cannot
//! beat, in a few seconds per subject. Subjects are measured interleaved
//! (one repetition of each, then the next round), so that a burst of noise
//! on this shared machine hits every subject alike; the report shows
//! medians and the min-max spread. The criterion benches
//! (`cargo bench -p lockwell-bench`) are the thorough version.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use lockwell_bench::{Spread, memory_read_sum, pseudo_random_bytes};
use lockwell_core::checksum::{ChecksumAlgorithm, MultiHasher};
use serde::Serialize;

const MIB: usize = 1024 * 1024;
const GIB: f64 = (1_u64 << 30) as f64;

/// More repetitions than this would run for minutes with no gain in the
/// median.
const MAX_REPETITIONS: u32 = 51;
/// Bounds the time of one repetition (and so of the whole run).
const MAX_REPETITION_MS: u64 = 5_000;
/// Bounds the buffer (the tool allocates one).
const MAX_BUFFER_LEN_BYTES: usize = 1 << 30;
/// Untimed running of each subject before the first repetition: page
/// faults, cache warm-up, CPU feature detection.
const WARM_UP: Duration = Duration::from_millis(50);

/// Measure checksum throughput through lockwell-core's MultiHasher against
/// memory read bandwidth.
///
/// Prints, per subject, the median throughput in GiB/s over the
/// repetitions, the min-max spread, and the ratio to memory read
/// bandwidth. Exit code 0 on success, 2 on bad arguments.
#[derive(Debug, Parser)]
#[command(name = "checksum-summary", version)]
struct Args {
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,

    /// Timed repetitions of each subject; medians and spreads are over these.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_REPETITIONS)))]
    repetitions: u32,

    /// Wall time of one repetition of one subject, in milliseconds.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=MAX_REPETITION_MS))]
    repetition_ms: u64,

    /// Length of the buffer hashed per call, in bytes.
    #[arg(long, default_value_t = MIB, value_parser = parse_buffer_len_bytes)]
    buffer_len_bytes: usize,
}

fn parse_buffer_len_bytes(text: &str) -> Result<usize, String> {
    let len_bytes: usize = text.parse().map_err(|error| format!("{error}"))?;
    if (1..=MAX_BUFFER_LEN_BYTES).contains(&len_bytes) {
        Ok(len_bytes)
    } else {
        Err(format!("must be between 1 and {MAX_BUFFER_LEN_BYTES}"))
    }
}

/// What one row of the report measures.
#[derive(Debug, Clone, Copy)]
enum Subject {
    MemoryRead,
    Checksum(ChecksumAlgorithm),
}

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Self::MemoryRead => "memory-read",
            Self::Checksum(algorithm) => algorithm.name(),
        }
    }

    /// One pass over `bytes`.
    fn run(self, bytes: &[u8]) {
        match self {
            Self::MemoryRead => {
                black_box(memory_read_sum(black_box(bytes)));
            }
            Self::Checksum(algorithm) => {
                let mut hasher = MultiHasher::new(&[algorithm]);
                hasher.update(black_box(bytes));
                black_box(hasher.finalize());
            }
        }
    }

    /// Runs passes for at least `duration`; returns the throughput in GiB/s.
    #[allow(
        clippy::disallowed_methods,
        reason = "a benchmark measures real time; this binary never runs in the simulator"
    )]
    fn throughput_gib_per_s(self, bytes: &[u8], duration: Duration) -> f64 {
        let started = Instant::now();
        let mut passes: u64 = 0;
        while started.elapsed() < duration {
            self.run(bytes);
            passes += 1;
        }
        let elapsed_s = started.elapsed().as_secs_f64();
        passes as f64 * bytes.len() as f64 / elapsed_s / GIB
    }
}

#[derive(Debug, Serialize)]
struct Report {
    buffer_len_bytes: usize,
    repetitions: u32,
    repetition_ms: u64,
    subjects: Vec<SubjectReport>,
}

#[derive(Debug, Serialize)]
struct SubjectReport {
    name: &'static str,
    /// Throughput over the repetitions, GiB/s.
    gib_per_s: Spread,
    /// Median throughput over median memory read throughput.
    ratio_to_memory_read: f64,
    /// Every repetition's throughput in GiB/s, in the order measured.
    samples_gib_per_s: Vec<f64>,
}

fn measure(args: &Args) -> Report {
    let subjects: Vec<Subject> = std::iter::once(Subject::MemoryRead)
        .chain(ChecksumAlgorithm::ALL.into_iter().map(Subject::Checksum))
        .collect();
    let bytes = pseudo_random_bytes(args.buffer_len_bytes, 0x5eed);
    let repetition = Duration::from_millis(args.repetition_ms);
    for subject in &subjects {
        subject.throughput_gib_per_s(&bytes, WARM_UP);
    }
    let mut samples_gib_per_s = vec![Vec::new(); subjects.len()];
    for _ in 0..args.repetitions {
        for (subject, samples) in subjects.iter().zip(&mut samples_gib_per_s) {
            samples.push(subject.throughput_gib_per_s(&bytes, repetition));
        }
    }
    let spreads: Vec<Spread> = samples_gib_per_s
        .iter()
        .map(|samples| Spread::of(samples).expect("at least one finite sample per subject"))
        .collect();
    let memory_read_median = spreads[0].median;
    Report {
        buffer_len_bytes: args.buffer_len_bytes,
        repetitions: args.repetitions,
        repetition_ms: args.repetition_ms,
        subjects: subjects
            .iter()
            .zip(spreads)
            .zip(samples_gib_per_s)
            .map(|((subject, spread), samples)| SubjectReport {
                name: subject.name(),
                gib_per_s: spread,
                ratio_to_memory_read: spread.median / memory_read_median,
                samples_gib_per_s: samples,
            })
            .collect(),
    }
}

fn print_table(report: &Report) {
    println!(
        "Checksum throughput via MultiHasher, {} KiB buffer, {} interleaved repetitions of {} ms",
        report.buffer_len_bytes / 1024,
        report.repetitions,
        report.repetition_ms
    );
    println!(
        "{:<12} {:>13} {:>17} {:>15}",
        "subject", "median GiB/s", "min-max GiB/s", "vs memory read"
    );
    for subject in &report.subjects {
        let spread = subject.gib_per_s;
        println!(
            "{:<12} {:>13.2} {:>17} {:>14.1}%",
            subject.name,
            spread.median,
            format!("{:.2}-{:.2}", spread.min, spread.max),
            subject.ratio_to_memory_read * 100.0
        );
    }
}

fn main() {
    let args = Args::parse();
    if !args.json {
        let subject_count = ChecksumAlgorithm::ALL.len() + 1;
        let total_s =
            u64::from(args.repetitions) * args.repetition_ms * subject_count as u64 / 1000;
        eprintln!("measuring {subject_count} subjects for about {total_s} s ...");
    }
    let report = measure(&args);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("the report serialises")
        );
    } else {
        print_table(&report);
    }
}
