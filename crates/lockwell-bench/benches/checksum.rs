//! Checksum throughput (DESIGN.md, Benchmarks): every algorithm through
//! lockwell-core's `MultiHasher`, through the crate it wraps, and through
//! peer crates; memory read and copy as the physical limit; the sets a server
//! computes per PUT in one pass against split over two threads.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use lockwell_bench::peers::implementations;
use lockwell_bench::{
    CopyBuffers, SERVER_CHECKSUM_SETS, digest_split_across_two_threads, memory_read_sum,
    pseudo_random_bytes, set_name,
};
use lockwell_core::checksum::{ChecksumAlgorithm, MultiHasher};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Buffer sizes: a small body chunk, a typical read buffer, a typical body
/// part, and a buffer larger than L2 that streams from L3 or DRAM.
const BUFFER_LENS_BYTES: [usize; 4] = [4 * KIB, 64 * KIB, MIB, 16 * MIB];

/// From this size on, one iteration takes milliseconds: fewer samples.
const LARGE_BUFFER_LEN_BYTES: usize = 16 * MIB;

/// From this size on, every sample runs the same number of iterations.
const FLAT_SAMPLING_FROM_LEN_BYTES: usize = MIB;

/// Copy benchmarks, by the distance of destination after source modulo the
/// page: half a page apart is the physical limit; 16 bytes apart shows the
/// `rep movsb` cliff that `CopyBuffers` documents.
const COPY_PLACEMENTS: [(&str, usize); 2] = [("memcpy", 2048), ("memcpy-16b-past-source", 16)];

/// Fewer samples for the largest buffers, where one iteration takes
/// milliseconds and the default would stretch the suite to many minutes;
/// flat sampling from 1 MiB, where the slow peers (table CRCs, MD5, software
/// SHA-1) would otherwise overrun the measurement time.
fn configure_for(group: &mut BenchmarkGroup<'_, WallTime>, len_bytes: usize) {
    group.throughput(Throughput::Bytes(len_bytes as u64));
    group.sampling_mode(if len_bytes >= FLAT_SAMPLING_FROM_LEN_BYTES {
        SamplingMode::Flat
    } else {
        SamplingMode::Auto
    });
    if len_bytes >= LARGE_BUFFER_LEN_BYTES {
        group
            .sample_size(10)
            .measurement_time(Duration::from_millis(1500));
    } else {
        group
            .sample_size(20)
            .measurement_time(Duration::from_millis(700));
    }
}

fn memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    for len_bytes in BUFFER_LENS_BYTES {
        configure_for(&mut group, len_bytes);
        let source = pseudo_random_bytes(len_bytes, 1);
        group.bench_with_input(
            BenchmarkId::new("read", len_bytes),
            &source,
            |bench, source| {
                bench.iter(|| memory_read_sum(black_box(source)));
            },
        );
        for (name, page_offset_distance_bytes) in COPY_PLACEMENTS {
            let mut buffers = CopyBuffers::new(len_bytes, page_offset_distance_bytes);
            group.bench_function(BenchmarkId::new(name, len_bytes), |bench| {
                bench.iter(|| {
                    buffers.copy();
                    black_box(buffers.destination());
                });
            });
        }
    }
    group.finish();
}

fn algorithms(c: &mut Criterion) {
    for algorithm in ChecksumAlgorithm::ALL {
        let mut group = c.benchmark_group(algorithm.name());
        for len_bytes in BUFFER_LENS_BYTES {
            configure_for(&mut group, len_bytes);
            let bytes = pseudo_random_bytes(len_bytes, 2);
            for implementation in implementations(algorithm) {
                group.bench_with_input(
                    BenchmarkId::new(implementation.name, len_bytes),
                    &bytes,
                    |bench, bytes| {
                        bench.iter(|| (implementation.run)(black_box(bytes)));
                    },
                );
            }
        }
        group.finish();
    }
}

fn server_sets(c: &mut Criterion) {
    for set in SERVER_CHECKSUM_SETS {
        let mut group = c.benchmark_group(format!("server-set/{}", set_name(&set)));
        for len_bytes in BUFFER_LENS_BYTES {
            configure_for(&mut group, len_bytes);
            let bytes = pseudo_random_bytes(len_bytes, 3);
            group.bench_with_input(
                BenchmarkId::new("one-pass", len_bytes),
                &bytes,
                |bench, bytes| {
                    bench.iter(|| {
                        let mut hasher = MultiHasher::new(&set);
                        hasher.update(black_box(bytes));
                        hasher.finalize()
                    });
                },
            );
            group.bench_with_input(
                BenchmarkId::new("two-threads", len_bytes),
                &bytes,
                |bench, bytes| {
                    bench.iter(|| digest_split_across_two_threads(&set, black_box(bytes)));
                },
            );
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = memory, algorithms, server_sets
}
criterion_main!(benches);
