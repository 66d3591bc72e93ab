//! The linearizability checker's speed (issue 7, part 2): whole histories
//! of a correct store (`lockwell_check::generate`) checked on one core, by
//! size, by concurrency and by the share of indeterminate requests, and
//! how long it takes to refuse past its bound.
//!
//! `cargo bench -p lockwell-check --bench linearizability`; each case
//! first prints the verdict and the configurations explored, so a case
//! that stopped being linearizable (or hit the bound) shows.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lockwell_check::generate::{self, GeneratorConfig};
use lockwell_check::history::History;
use lockwell_check::{Limits, check, check_with};

fn history(
    entries: usize,
    keys: usize,
    processes: u32,
    indeterminate_per_mille: u32,
    copies: bool,
) -> History {
    generate::generate(&GeneratorConfig {
        seed: 1,
        entries,
        keys,
        processes,
        indeterminate_per_mille,
        copies,
    })
}

fn describe(name: &str, history: &History, limits: &Limits) {
    let report = check_with(history, limits);
    eprintln!(
        "{name}: {} entries, {:?}, {} partitions, {} configurations",
        history.entries.len(),
        report.verdict(),
        report.stats.partitions,
        report.stats.states
    );
}

/// The targets: 100,000 requests over 1,000 keys under 1 s,
/// 1,000,000 under 10 s.
fn size(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("size");
    group.sample_size(10);
    for (entries, copies) in [(100_000, false), (100_000, true), (1_000_000, false)] {
        let history = history(entries, 1_000, 16, 100, copies);
        let name = format!(
            "{entries}-entries-1000-keys{}",
            if copies { "-copies" } else { "" }
        );
        describe(&name, &history, &Limits::default());
        group.bench_function(name, |bencher| bencher.iter(|| check(&history)));
    }
    group.finish();
}

/// One group over `parameters`: for each, the history `history_of` makes,
/// described (verdict, configurations) and timed.
fn sweep(
    criterion: &mut Criterion,
    group_name: &str,
    label: &str,
    parameters: &[u32],
    history_of: impl Fn(u32) -> History,
) {
    let mut group = criterion.benchmark_group(group_name);
    group.sample_size(10);
    for &parameter in parameters {
        let history = history_of(parameter);
        describe(
            &format!("{label} {parameter}"),
            &history,
            &Limits::default(),
        );
        group.bench_with_input(
            BenchmarkId::from_parameter(parameter),
            &history,
            |bencher, history| bencher.iter(|| check(history)),
        );
    }
    group.finish();
}

/// Concurrency per key: 20,000 requests over 10 keys, 10% indeterminate.
fn concurrency(criterion: &mut Criterion) {
    // 64 processes on 10 keys go past the bound in some partitions
    // (Unknown after 2,000,000 configurations each): about 20 s per
    // check, too slow to sample.
    sweep(
        criterion,
        "processes",
        "processes",
        &[2, 4, 8, 16, 32],
        |processes| history(20_000, 10, processes, 100, false),
    );
}

/// The share of writes whose answer is lost: 20,000 requests over 10
/// keys, 8 processes.
fn indeterminate(criterion: &mut Criterion) {
    sweep(
        criterion,
        "indeterminate-per-mille",
        "indeterminate",
        &[0, 100, 200, 300, 400, 500],
        |per_mille| history(20_000, 10, 8, per_mille, false),
    );
}

/// The worst case: copies join 4 hot keys into one partition of many
/// concurrent indeterminate requests. With a bound of 100,000
/// configurations, the time to give up.
fn bound(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("bound");
    group.sample_size(10);
    let limits = Limits {
        max_states_per_partition: 100_000,
        ..Limits::default()
    };
    for per_mille in [100, 300, 500] {
        let history = history(5_000, 4, 16, per_mille, true);
        describe(
            &format!("copies, 4 keys, indeterminate {per_mille}"),
            &history,
            &limits,
        );
        group.bench_with_input(
            BenchmarkId::new("copies-4-keys-indeterminate-per-mille", per_mille),
            &history,
            |bencher, history| bencher.iter(|| check_with(history, &limits)),
        );
    }
    group.finish();
}

criterion_group!(benches, size, concurrency, indeterminate, bound);
criterion_main!(benches);
