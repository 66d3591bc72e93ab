//! `checksum-summary`: a short checksum throughput report.
//!
//! Measures each algorithm through lockwell-core's engine (`MultiHasher`),
//! through the crate it wraps and through alternative crates, next to
//! memory read and `memcpy` bandwidth of the same buffer, the physical
//! limits. Subjects are measured interleaved (one repetition of each, then
//! the next round), so that a burst of noise on this shared machine hits
//! every subject alike; the report shows medians and the min-max spread,
//! and per algorithm the engine's throughput as a fraction of the fastest
//! crate's (the median of the per-round ratios: each round measures both
//! within a few hundred milliseconds). The criterion benches
//! (`cargo bench -p lockwell-bench`) are the thorough version.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use lockwell_bench::peers::{Implementation, Role, implementations};
use lockwell_bench::{CopyBuffers, Spread, memory_read_sum, pseudo_random_bytes};
use lockwell_core::checksum::ChecksumAlgorithm;
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
/// The engine must reach this fraction of the fastest crate's throughput
/// for every algorithm (the acceptance bar): wrapping may cost a
/// dispatch per update, not a slower algorithm.
const ENGINE_MIN_RATIO_TO_FASTEST_CRATE: f64 = 0.95;
/// `memcpy`'s destination lies half a page after its source: away from the
/// `rep movsb` cliff that `CopyBuffers` documents.
const MEMCPY_PAGE_OFFSET_DISTANCE_BYTES: usize = 2048;

/// Measure checksum throughput through lockwell-core's engine, the crate
/// it wraps and alternative crates, against memory read and memcpy.
///
/// Prints per algorithm the engine, the wrapped crate, the fastest crate,
/// the engine's fraction of the fastest crate and memcpy, then every
/// subject's median throughput in GiB/s over the repetitions, min-max
/// spread, and ratio to memory read bandwidth. Exit code 0 on success, 2 on
/// bad arguments.
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
    Memcpy,
    Checksum(ChecksumAlgorithm, Implementation),
}

impl Subject {
    fn all() -> Vec<Self> {
        [Self::MemoryRead, Self::Memcpy]
            .into_iter()
            .chain(ChecksumAlgorithm::ALL.into_iter().flat_map(|algorithm| {
                implementations(algorithm)
                    .into_iter()
                    .map(move |implementation| Self::Checksum(algorithm, implementation))
            }))
            .collect()
    }

    /// `memory-read`, `memcpy`, or `algorithm/implementation` such as
    /// `crc32c/multihasher`.
    fn name(self) -> String {
        match self {
            Self::MemoryRead => "memory-read".to_owned(),
            Self::Memcpy => "memcpy".to_owned(),
            Self::Checksum(algorithm, implementation) => {
                format!("{}/{}", algorithm.name(), implementation.name)
            }
        }
    }

    /// One pass over `bytes` (a copy of `copy`'s source for memcpy).
    fn run(self, bytes: &[u8], copy: &mut CopyBuffers) {
        match self {
            Self::MemoryRead => {
                black_box(memory_read_sum(black_box(bytes)));
            }
            Self::Memcpy => {
                copy.copy();
                black_box(copy.destination());
            }
            Self::Checksum(_, implementation) => {
                black_box((implementation.run)(black_box(bytes)));
            }
        }
    }

    /// Runs passes for at least `duration`; returns the throughput in GiB/s.
    #[allow(
        clippy::disallowed_methods,
        reason = "a benchmark measures real time; this binary never runs in the simulator"
    )]
    fn throughput_gib_per_s(self, bytes: &[u8], copy: &mut CopyBuffers, duration: Duration) -> f64 {
        let started = Instant::now();
        let mut passes: u64 = 0;
        while started.elapsed() < duration {
            self.run(bytes, copy);
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
    /// Per algorithm: the engine against the crates.
    algorithms: Vec<AlgorithmReport>,
    subjects: Vec<SubjectReport>,
}

#[derive(Debug, Serialize)]
struct AlgorithmReport {
    algorithm: &'static str,
    engine_gib_per_s: f64,
    wrapped_crate: CrateThroughput,
    /// The crate (wrapped or alternative) with the highest median.
    fastest_crate: CrateThroughput,
    /// Median over the repetition rounds of engine / fastest crate.
    engine_to_fastest_crate: f64,
    /// `engine_to_fastest_crate` is at least 0.95.
    engine_meets_bar: bool,
    memcpy_gib_per_s: f64,
}

#[derive(Debug, Serialize)]
struct CrateThroughput {
    name: &'static str,
    gib_per_s: f64,
}

#[derive(Debug, Serialize)]
struct SubjectReport {
    name: String,
    /// Throughput over the repetitions, GiB/s.
    gib_per_s: Spread,
    /// Median throughput over median memory read throughput.
    ratio_to_memory_read: f64,
    /// Every repetition's throughput in GiB/s, in the order measured.
    samples_gib_per_s: Vec<f64>,
}

fn measure(args: &Args) -> Report {
    let subjects = Subject::all();
    let bytes = pseudo_random_bytes(args.buffer_len_bytes, 0x5eed);
    let mut copy = CopyBuffers::new(args.buffer_len_bytes, MEMCPY_PAGE_OFFSET_DISTANCE_BYTES);
    let repetition = Duration::from_millis(args.repetition_ms);
    for subject in &subjects {
        subject.throughput_gib_per_s(&bytes, &mut copy, WARM_UP);
    }
    let mut samples_gib_per_s = vec![Vec::new(); subjects.len()];
    for _ in 0..args.repetitions {
        for (subject, samples) in subjects.iter().zip(&mut samples_gib_per_s) {
            samples.push(subject.throughput_gib_per_s(&bytes, &mut copy, repetition));
        }
    }
    let spreads: Vec<Spread> = samples_gib_per_s
        .iter()
        .map(|samples| Spread::of(samples).expect("at least one finite sample per subject"))
        .collect();
    let memory_read_median = spreads[0].median;
    let memcpy_median = spreads[1].median;
    let algorithms = ChecksumAlgorithm::ALL
        .into_iter()
        .map(|algorithm| {
            let of_algorithm: Vec<(Implementation, &Spread, &Vec<f64>)> = subjects
                .iter()
                .zip(&spreads)
                .zip(&samples_gib_per_s)
                .filter_map(|((subject, spread), samples)| match subject {
                    Subject::Checksum(of, implementation) if *of == algorithm => {
                        Some((*implementation, spread, samples))
                    }
                    _ => None,
                })
                .collect();
            algorithm_report(algorithm, &of_algorithm, memcpy_median)
        })
        .collect();
    Report {
        buffer_len_bytes: args.buffer_len_bytes,
        repetitions: args.repetitions,
        repetition_ms: args.repetition_ms,
        algorithms,
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

fn algorithm_report(
    algorithm: ChecksumAlgorithm,
    implementations: &[(Implementation, &Spread, &Vec<f64>)],
    memcpy_gib_per_s: f64,
) -> AlgorithmReport {
    let with_role = |role: Role| {
        implementations
            .iter()
            .find(|(implementation, ..)| implementation.role == role)
            .expect("every algorithm has an engine and a wrapped crate")
    };
    let (_, engine, engine_samples) = with_role(Role::Engine);
    let (wrapped, wrapped_spread, _) = with_role(Role::Wrapped);
    let (fastest, fastest_spread, fastest_samples) = implementations
        .iter()
        .filter(|(implementation, ..)| implementation.role != Role::Engine)
        .max_by(|left, right| left.1.median.total_cmp(&right.1.median))
        .expect("every algorithm has a crate");
    let ratios: Vec<f64> = engine_samples
        .iter()
        .zip(fastest_samples.iter())
        .map(|(engine, fastest)| engine / fastest)
        .collect();
    let engine_to_fastest_crate = Spread::of(&ratios)
        .expect("at least one finite ratio")
        .median;
    AlgorithmReport {
        algorithm: algorithm.name(),
        engine_gib_per_s: engine.median,
        wrapped_crate: CrateThroughput {
            name: wrapped.name,
            gib_per_s: wrapped_spread.median,
        },
        fastest_crate: CrateThroughput {
            name: fastest.name,
            gib_per_s: fastest_spread.median,
        },
        engine_to_fastest_crate,
        engine_meets_bar: engine_to_fastest_crate >= ENGINE_MIN_RATIO_TO_FASTEST_CRATE,
        memcpy_gib_per_s,
    }
}

fn print_table(report: &Report) {
    println!(
        "Checksum throughput, {} KiB buffer, medians of {} interleaved repetitions of {} ms (GiB/s)",
        report.buffer_len_bytes / 1024,
        report.repetitions,
        report.repetition_ms
    );
    println!(
        "{:<10} {:>8} {:>22} {:>22} {:>15} {:>7}",
        "algorithm", "engine", "wrapped crate", "fastest crate", "engine/fastest", "memcpy"
    );
    for algorithm in &report.algorithms {
        let named = |throughput: &CrateThroughput| {
            format!("{} {:.2}", throughput.name, throughput.gib_per_s)
        };
        println!(
            "{:<10} {:>8.2} {:>22} {:>22} {:>14.1}{} {:>7.2}",
            algorithm.algorithm,
            algorithm.engine_gib_per_s,
            named(&algorithm.wrapped_crate),
            named(&algorithm.fastest_crate),
            algorithm.engine_to_fastest_crate * 100.0,
            if algorithm.engine_meets_bar { "%" } else { "!" },
            algorithm.memcpy_gib_per_s
        );
    }
    println!(
        "(engine/fastest: median of per-round ratios; ! marks below {:.0}%)\n",
        ENGINE_MIN_RATIO_TO_FASTEST_CRATE * 100.0
    );
    println!(
        "{:<26} {:>13} {:>17} {:>15}",
        "subject", "median GiB/s", "min-max GiB/s", "vs memory read"
    );
    for subject in &report.subjects {
        let spread = subject.gib_per_s;
        println!(
            "{:<26} {:>13.2} {:>17} {:>14.1}%",
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
        let subject_count = Subject::all().len();
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
