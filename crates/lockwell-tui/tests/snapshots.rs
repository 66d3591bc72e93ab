//! Every view rendered into a `TestBackend` and compared, as text, with
//! the committed snapshot in `tests/snapshots/`. After an intended change
//! of a view, re-bless with `LOCKWELL_BLESS=1 cargo test -p lockwell-tui
//! --test snapshots` and review the diff of the `.txt` files.
//!
//! The stored views read the fixture folder `tests/fixtures/results/`
//! (copies of committed results plus a made-up failing campaign and
//! catalog); the live view is fed made-up intervals.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::Histogram;
use lockwell_plan::{Mix, Workload};
use lockwell_tui::dash::{self, DashApp, Screen};
use lockwell_tui::live::{self, LiveEvent, LivePlan, LiveView, RunLength};
use lockwell_tui::measurements::{HistogramLabel, IntervalCounts, empty_histogram};
use lockwell_tui::results_dir::Content;
use lockwell_tui::sweep::{DrawnPoint, SweepData, ValidationSummary, WorkloadCurves};
use lockwell_tui::views;
use lockwell_tui::{DashAction, ResultsDir};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Set to re-write the snapshots from what the views draw now.
const BLESS_VARIABLE: &str = "LOCKWELL_BLESS";
const LARGE: (u16, u16) = (120, 40);
const SMALL: (u16, u16) = (80, 24);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results")
}

/// The screen's text, one line per row, trailing blanks trimmed.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    let mut text = String::new();
    for row in buffer.content().chunks(width) {
        let line: String = row.iter().map(ratatui::buffer::Cell::symbol).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn check_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os(BLESS_VARIABLE).is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "no snapshot {} ({error}); run with {BLESS_VARIABLE}=1 to write it",
            path.display()
        )
    });
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "view {name} differs from {} from line {}:\n--- expected\n{expected}\n--- actual\n{actual}\n\
             (if the change is intended: {BLESS_VARIABLE}=1 cargo test -p lockwell-tui --test snapshots)",
            path.display(),
            first_difference + 1
        );
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn dash_app() -> DashApp {
    let mut dir = ResultsDir::load(&fixtures()).expect("the fixture folder reads");
    // The title shows the folder as given; the same on every checkout.
    dir.root = PathBuf::from("tests/fixtures/results");
    DashApp::new(dir)
}

fn draw_dash(app: &DashApp, (width, height): (u16, u16)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| dash::draw(frame, app)).unwrap();
    screen_text(&terminal)
}

fn press(app: &mut DashApp, codes: &[KeyCode]) {
    for code in codes {
        assert_eq!(app.handle_key(key(*code)), DashAction::Continue, "{code:?}");
    }
}

/// Opens the first entry under `prefix`.
fn open(prefix: &str) -> DashApp {
    let mut app = dash_app();
    assert!(app.select_path(prefix), "no fixture under {prefix}");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    app
}

#[test]
fn the_fixture_folder_reads_without_unreadable_files() {
    let dir = ResultsDir::load(&fixtures()).unwrap();
    assert!(dir.unreadable.is_empty(), "{:?}", dir.unreadable);
    assert_eq!(
        dir.entries.len(),
        21,
        "13 files, 7 sweep points and their sweep"
    );
}

#[test]
fn list_of_runs() {
    let app = dash_app();
    check_snapshot("dash-list-120x40", &draw_dash(&app, LARGE));
    check_snapshot("dash-list-80x24", &draw_dash(&app, SMALL));
}

#[test]
fn list_with_help_overlay() {
    let mut app = dash_app();
    press(&mut app, &[KeyCode::Char('?')]);
    check_snapshot("dash-help-80x24", &draw_dash(&app, SMALL));
    press(&mut app, &[KeyCode::Char('x')]);
    assert!(!draw_dash(&app, SMALL).contains("any key closes"));
}

#[test]
fn one_bench_run() {
    let app = open("http/memory/r256-k1-backoff-1");
    check_snapshot("dash-run-120x40", &draw_dash(&app, LARGE));
    check_snapshot("dash-run-80x24", &draw_dash(&app, SMALL));
}

#[test]
fn one_bench_run_with_the_next_histogram() {
    let mut app = open("inproc/run-1");
    press(&mut app, &[KeyCode::Tab]);
    check_snapshot("dash-run-inproc-tab-120x40", &draw_dash(&app, LARGE));
}

#[test]
fn instruction_counts_show_their_metrics() {
    let app = open("instructions/");
    check_snapshot("dash-instructions-120x40", &draw_dash(&app, LARGE));
}

#[test]
fn two_sets_of_runs_compared() {
    let mut app = dash_app();
    for (prefix, side) in [
        ("http/file/r256-k1-backoff-1", 'a'),
        ("http/file/r256-k1-backoff-2", 'a'),
        ("http/file/r256-k1-backoff-3", 'a'),
        ("http/memory/r256-k1-backoff-1", 'b'),
        ("http/memory/r256-k1-backoff-2", 'b'),
        ("http/memory/r256-k1-backoff-3", 'b'),
    ] {
        assert!(app.select_path(prefix));
        press(&mut app, &[KeyCode::Char(side)]);
    }
    check_snapshot("dash-list-marked-120x40", &draw_dash(&app, LARGE));
    press(&mut app, &[KeyCode::Char('c')]);
    assert_eq!(app.screen(), Screen::Compare);
    check_snapshot("dash-compare-120x40", &draw_dash(&app, LARGE));
    check_snapshot("dash-compare-80x24", &draw_dash(&app, SMALL));
}

#[test]
fn compare_without_marks_says_what_to_do() {
    let mut app = dash_app();
    press(&mut app, &[KeyCode::Char('c')]);
    assert_eq!(app.screen(), Screen::List);
    assert!(draw_dash(&app, LARGE).contains("mark result files with a and b first"));
}

#[test]
fn a_clean_campaign() {
    let app = open("sim/sim-campaign-cas-counter");
    check_snapshot("dash-campaign-clean-120x40", &draw_dash(&app, LARGE));
}

#[test]
fn a_campaign_with_violations_and_the_replay_of_the_selected_seed() {
    let mut app = open("sim/sim-campaign-racing-creators");
    press(&mut app, &[KeyCode::Down]);
    let text = draw_dash(&app, LARGE);
    assert!(
        text.contains("cargo xtask sim run --workload racing-creators --seed 93 --faults lossy")
    );
    check_snapshot("dash-campaign-violations-120x40", &text);
    check_snapshot("dash-campaign-violations-80x24", &draw_dash(&app, SMALL));
}

#[test]
fn checksum_summary() {
    let app = open("checksum/");
    check_snapshot("dash-checksum-120x40", &draw_dash(&app, LARGE));
}

#[test]
fn planted_bug_catalog_with_the_selected_bugs_replay() {
    let mut app = open("catalog.json");
    press(&mut app, &[KeyCode::Down]);
    let text = draw_dash(&app, LARGE);
    assert!(
        text.contains("--bug idempotency-record-after-ack"),
        "{text}"
    );
    check_snapshot("dash-catalog-120x40", &text);
    check_snapshot("dash-catalog-80x24", &draw_dash(&app, SMALL));
}

/// The fixture sweep loads as one entry whose model was validated on the
/// larger racer counts. Numbers are lockwell-plan's and change with its
/// model, so they are checked by its tests, not snapshotted here.
#[test]
fn a_sweep_folder_is_fitted_and_validated_on_held_out_racers() {
    let dir = ResultsDir::load(&fixtures()).unwrap();
    let sweep = dir
        .entries
        .iter()
        .find_map(|entry| match &entry.content {
            Content::Sweep(sweep) => Some(sweep),
            _ => None,
        })
        .expect("the sweep entry");
    let summary = sweep.validation.as_ref().expect("a model");
    assert_eq!((summary.fitted_points, summary.held_out_points), (4, 3));
    let curves = &sweep.workloads[0];
    assert_eq!(
        curves.goodput_curve.len(),
        lockwell_tui::sweep::CURVE_POINTS
    );
    let held_out: Vec<u32> = curves
        .points
        .iter()
        .filter(|point| point.held_out)
        .map(|point| point.racers)
        .collect();
    assert_eq!(held_out, [16, 32, 64]);
    assert!(curves.points.iter().all(|point| point.predicted.is_some()));
}

/// A sweep as the view gets it: measured points, the model's curves and
/// its predictions at the points (made up here, so that the snapshot does
/// not move with the model).
fn sweep_data() -> SweepData {
    let racers = [1_u32, 2, 4, 8, 16, 32, 64];
    let goodput = |racers: f64| {
        10_000.0 * racers / (1.0 + 0.05 * (racers - 1.0) + 0.0004 * racers * (racers - 1.0))
    };
    let p99_s = |racers: f64| 250e-6 * (1.0 + 0.04 * racers * racers / 8.0);
    let points = racers
        .iter()
        .map(|&count| {
            let x = f64::from(count);
            let measured = 1.0 + 0.03 * (x.log2() - 3.0);
            DrawnPoint {
                racers: count,
                goodput_writes_per_s: goodput(x) * measured,
                operation_p99_s: p99_s(x) / measured,
                held_out: count > 8,
                predicted: Some((goodput(x), p99_s(x))),
            }
        })
        .collect();
    let curve = |model: &dyn Fn(f64) -> f64| -> Vec<(f64, f64)> {
        (0..=24)
            .map(|step| 2_f64.powf(f64::from(step) / 4.0))
            .map(|x| (x, model(x)))
            .collect()
    };
    SweepData {
        folder: PathBuf::from("sweeps/quick"),
        point_count: racers.len(),
        validation: Ok(ValidationSummary {
            hold_out: "fit on racers <= 8, predict the larger counts".to_owned(),
            fitted_points: 4,
            held_out_points: 3,
            median_abs_goodput_error: Some(0.058),
            median_abs_p99_error: Some(0.061),
        }),
        workloads: vec![WorkloadCurves {
            workload: Workload {
                key_count: 1000,
                zipf_exponent: 0.99,
                mix: Mix::CAS_ONLY,
                payload_len_bytes: 1024,
                backoff: None,
            },
            points,
            goodput_curve: curve(&goodput),
            p99_curve: curve(&p99_s),
        }],
    }
}

fn draw_sweep(sweep: &SweepData, (width, height): (u16, u16)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| views::sweep::render(frame, frame.area(), "sweeps/quick/", sweep, 0))
        .unwrap();
    screen_text(&terminal)
}

#[test]
fn a_sweep_with_the_model_curves_and_held_out_points() {
    let sweep = sweep_data();
    let text = draw_sweep(&sweep, LARGE);
    assert!(text.contains("held out"), "{text}");
    check_snapshot("dash-sweep-120x40", &text);
    check_snapshot("dash-sweep-80x24", &draw_sweep(&sweep, SMALL));
}

#[test]
fn text_report_scrolls() {
    let mut app = open("bench-ab/");
    press(&mut app, &[KeyCode::Down, KeyCode::Down]);
    check_snapshot("dash-report-80x24", &draw_dash(&app, SMALL));
}

#[test]
fn an_empty_folder_says_how_to_fill_it() {
    let app = DashApp::new(ResultsDir::default());
    assert!(draw_dash(&app, SMALL).contains("no results in"));
}

/// A deterministic interval: `writes` successful If-Match puts, `lost` 412s
/// and `errors` 5xx, each with the latencies a contended CAS sees.
fn interval(index: u64, writes: u64, lost: u64, errors: u64) -> LiveEvent {
    let histogram = |base_ns: u64, count: u64| -> Histogram<u64> {
        let mut histogram = empty_histogram();
        for sample in 0..count {
            histogram
                .record(base_ns + (sample * 7919 % 97) * base_ns / 16)
                .unwrap();
        }
        histogram
    };
    let mut counts = IntervalCounts {
        start: Duration::from_secs(index),
        length: Duration::from_secs(1),
        ..IntervalCounts::default()
    };
    let labelled = [
        (
            HistogramLabel::new("request", "get", "200"),
            histogram(40_000, writes + lost),
        ),
        (
            HistogramLabel::new("request", "put_if_match", "200"),
            histogram(90_000, writes),
        ),
        (
            HistogramLabel::new("request", "put_if_match", "412"),
            histogram(70_000, lost),
        ),
        (
            HistogramLabel::new("request", "put_if_match", "5xx"),
            histogram(2_000_000, errors),
        ),
        (
            HistogramLabel::new("operation", "cas", "200"),
            histogram(300_000, writes),
        ),
    ];
    let histograms: Vec<(HistogramLabel, Histogram<u64>)> = labelled
        .into_iter()
        .filter(|(_, histogram)| !histogram.is_empty())
        .collect();
    for (label, histogram) in &histograms {
        counts.add(label, histogram.len());
    }
    LiveEvent::Interval { counts, histograms }
}

fn live_view() -> LiveView {
    let mut view = LiveView::new(LivePlan {
        title: "lockwell bench: lockwell-server (in process, loopback), memory".to_owned(),
        description:
            "closed loop, 64 racers · 1 keys (zipf 0.99) · mix cas=1 · 1024 B · cas retry backoff"
                .to_owned(),
        length: RunLength::Duration(Duration::from_secs(20)),
    });
    view.apply(LiveEvent::CreatingKeys { key_count: 1 });
    view.apply(LiveEvent::WarmingUp {
        duration: Duration::from_secs(1),
    });
    for second in 0..12 {
        view.tick(Duration::from_secs(second + 2));
        let errors = if second == 7 { 3 } else { 0 };
        view.apply(interval(
            second,
            400 + second * 10,
            150 + (second % 4) * 30,
            errors,
        ));
    }
    view.tick(Duration::from_millis(13_500));
    view
}

fn draw_live(view: &LiveView, (width, height): (u16, u16)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| live::draw(frame, view)).unwrap();
    screen_text(&terminal)
}

#[test]
fn live_latency_pane() {
    let view = live_view();
    check_snapshot("live-latency-120x40", &draw_live(&view, LARGE));
    check_snapshot("live-latency-80x24", &draw_live(&view, SMALL));
}

#[test]
fn live_outcomes_and_errors_panes() {
    let mut view = live_view();
    let _ = view.handle_key(key(KeyCode::Tab));
    check_snapshot("live-outcomes-120x40", &draw_live(&view, LARGE));
    let _ = view.handle_key(key(KeyCode::Tab));
    check_snapshot("live-errors-120x40", &draw_live(&view, LARGE));
}

#[test]
fn live_paused_with_a_narrow_window_and_help() {
    let mut view = live_view();
    for code in [KeyCode::Char('p'), KeyCode::Char('-')] {
        let _ = view.handle_key(key(code));
    }
    view.apply(interval(12, 1, 1, 0));
    check_snapshot("live-paused-120x40", &draw_live(&view, LARGE));
    let _ = view.handle_key(key(KeyCode::Char('?')));
    check_snapshot("live-help-80x24", &draw_live(&view, SMALL));
}
