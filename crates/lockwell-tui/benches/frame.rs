//! What one frame of the live view costs: the CPU the dashboard takes from
//! a run is this times the frame rate (`terminal::LIVE_FRAME_PERIOD`), plus
//! one channel message per interval. Rendered into a `TestBackend` at
//! 120x40 after 60 one-second intervals of five histograms each, the shape
//! of a contended compare-and-swap run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lockwell_tui::live::{self, LiveEvent, LivePlan, LiveView, RunLength};
use lockwell_tui::measurements::{HistogramLabel, IntervalCounts, empty_histogram};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn interval(index: u64) -> LiveEvent {
    let labels = [
        ("request", "get", "200", 40_000),
        ("request", "put_if_match", "200", 90_000),
        ("request", "put_if_match", "412", 70_000),
        ("request", "put_if_match", "5xx", 2_000_000),
        ("operation", "cas", "200", 300_000),
    ];
    let mut counts = IntervalCounts {
        start: Duration::from_secs(index),
        length: Duration::from_secs(1),
        ..IntervalCounts::default()
    };
    let histograms = labels
        .iter()
        .map(|(view, op, outcome, base_ns)| {
            let mut histogram = empty_histogram();
            for sample in 0..5_000_u64 {
                histogram
                    .record(base_ns + sample * 7919 % 10_007 * base_ns / 1000)
                    .expect("in range");
            }
            let label = HistogramLabel::new(view, op, outcome);
            counts.add(&label, histogram.len());
            (label, histogram)
        })
        .collect();
    LiveEvent::Interval { counts, histograms }
}

fn live_frame(criterion: &mut Criterion) {
    let mut view = LiveView::new(LivePlan {
        title: "lockwell bench".to_owned(),
        description: "closed loop, 64 racers".to_owned(),
        length: RunLength::Duration(Duration::from_secs(120)),
    });
    view.apply(LiveEvent::WarmingUp {
        duration: Duration::from_secs(1),
    });
    for index in 0..60 {
        view.tick(Duration::from_secs(index + 2));
        view.apply(interval(index));
    }
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("a test terminal");
    criterion.bench_function("live view frame 120x40", |bencher| {
        bencher.iter(|| {
            terminal
                .draw(|frame| live::draw(frame, black_box(&view)))
                .expect("draws");
        });
    });
}

criterion_group!(benches, live_frame);
criterion_main!(benches);
