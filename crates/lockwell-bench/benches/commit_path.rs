//! The commit path (DESIGN.md write path, step 4) under criterion:
//! lockwell-core's `Store` alone, no journal, no network.
//!
//! - `uncontended`: one thread, one key: an unconditional put, and a
//!   compare-and-swap (GET, then put If-Match).
//! - `one_key`: N threads on one key, compare-and-swap retried until it
//!   wins (time per successful swap), and create-only racers on the key's
//!   successive generations (time per attempt, won or lost).
//! - `zipf_keys`: N threads compare-and-swapping 10,000 keys drawn with
//!   zipf exponent 0.99.
//!
//! Every write carries a unique ETag (a stamp of thread and sequence in
//! place of the MD5, which the store does not recompute), so a stale
//! If-Match never succeeds by accident and no MD5 is timed. The reference
//! machine has 2 cores: 8 and 64 threads measure oversubscription, where a
//! racer is preempted between its read and its write.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lockwell_bench::commit_fixtures::{ObjectWriter, bench_path, put_unjournaled};
use lockwell_bench::rng::SplitMix64;
use lockwell_bench::zipf::Zipf;
use lockwell_core::object::ObjectPath;
use lockwell_core::precondition::WriteConditions;
use lockwell_core::store::{Store, StoreConfig};

const THREAD_COUNTS: [usize; 4] = [1, 2, 8, 64];
const ZIPF_KEY_COUNT: usize = 10_000;
const ZIPF_EXPONENT: f64 = 0.99;

/// Reads `path` and puts If-Match until a put wins.
fn compare_and_swap(store: &Store, path: &ObjectPath, writer: &mut ObjectWriter) {
    loop {
        let current = store.get(path).expect("benchmark keys exist");
        let conditions = WriteConditions::if_match(current.etag.clone());
        if put_unjournaled(store, path, writer.next_object(), &conditions) {
            return;
        }
    }
}

fn store_with_keys(keys: &[ObjectPath]) -> Store {
    let store = Store::new(StoreConfig::default());
    let mut writer = ObjectWriter::new(u64::MAX);
    for key in keys {
        put_unjournaled(
            &store,
            key,
            writer.next_object(),
            &WriteConditions::default(),
        );
    }
    store
}

/// Runs `iterations` operations split over `threads` threads that start
/// together; returns the wall time from the start to the last finish.
fn run_threads(threads: usize, iterations: u64, operation: impl Fn(usize, u64) + Sync) -> Duration {
    let start = Barrier::new(threads + 1);
    let per_thread = iterations / threads as u64;
    let remainder = iterations % threads as u64;
    std::thread::scope(|scope| {
        for thread_index in 0..threads {
            let count = per_thread + u64::from((thread_index as u64) < remainder);
            let (start, operation) = (&start, &operation);
            scope.spawn(move || {
                start.wait();
                operation(thread_index, count);
            });
        }
        start.wait();
        now()
    })
    // The scope joined every thread before it returned.
    .elapsed()
}

#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the real clock; never simulated"
)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

fn uncontended(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("commit_path/uncontended");
    group.throughput(Throughput::Elements(1));
    let key = bench_path("k");
    let store = store_with_keys(std::slice::from_ref(&key));
    let mut writer = ObjectWriter::new(0);
    group.bench_function("put", |bencher| {
        bencher.iter(|| {
            black_box(put_unjournaled(
                &store,
                &key,
                writer.next_object(),
                &WriteConditions::default(),
            ))
        });
    });
    group.bench_function("cas", |bencher| {
        bencher.iter(|| compare_and_swap(&store, &key, &mut writer));
    });
    group.finish();
}

fn one_key(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("commit_path/one_key");
    group.throughput(Throughput::Elements(1));
    for threads in THREAD_COUNTS {
        group.bench_with_input(
            BenchmarkId::new("cas", threads),
            &threads,
            |bencher, &threads| {
                bencher.iter_custom(|iterations| {
                    let key = bench_path("k");
                    let store = store_with_keys(std::slice::from_ref(&key));
                    run_threads(threads, iterations, |thread_index, count| {
                        let mut writer = ObjectWriter::new(thread_index as u64);
                        for _ in 0..count {
                            compare_and_swap(&store, &key, &mut writer);
                        }
                    })
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("create", threads),
            &threads,
            |bencher, &threads| {
                bencher.iter_custom(|iterations| {
                    let store = Store::new(StoreConfig::default());
                    run_threads(threads, iterations, |thread_index, count| {
                        let mut writer = ObjectWriter::new(thread_index as u64);
                        // Every thread walks the same generations; the first
                        // to reach one creates it, the others lose (C1).
                        for generation in 0..count {
                            let key = bench_path(&format!("k/g{generation}"));
                            black_box(put_unjournaled(
                                &store,
                                &key,
                                writer.next_object(),
                                &WriteConditions::create_only(),
                            ));
                        }
                    })
                });
            },
        );
    }
    group.finish();
}

fn zipf_keys(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("commit_path/zipf_keys");
    group.throughput(Throughput::Elements(1));
    let keys: Vec<ObjectPath> = (0..ZIPF_KEY_COUNT)
        .map(|rank| bench_path(&format!("k{rank:08}")))
        .collect();
    let zipf = Zipf::new(ZIPF_KEY_COUNT, ZIPF_EXPONENT).expect("valid distribution");
    for threads in THREAD_COUNTS {
        group.bench_with_input(
            BenchmarkId::new("cas", threads),
            &threads,
            |bencher, &threads| {
                bencher.iter_custom(|iterations| {
                    let store = store_with_keys(&keys);
                    run_threads(threads, iterations, |thread_index, count| {
                        let mut writer = ObjectWriter::new(thread_index as u64);
                        let mut rng = SplitMix64::for_worker(1, thread_index);
                        for _ in 0..count {
                            let key = &keys[zipf.sample(&mut rng)];
                            compare_and_swap(&store, key, &mut writer);
                        }
                    })
                });
            },
        );
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = uncontended, one_key, zipf_keys
}
criterion_main!(benches);
