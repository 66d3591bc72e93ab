//! The live view of a running `lockwell bench`: progress and ETA, goodput
//! and conflict rate over time, latency percentiles and distribution per
//! op and outcome, the outcome mix, and errors.
//!
//! The load generator's collector sends one [`LiveEvent`] per closed
//! interval (the workers' per-interval histograms, already merged), so the
//! generator pays nothing per operation for the view. [`LiveView`] is the
//! state those events build; the terminal loop ticks its clock and draws it
//! at a fixed frame rate ([`crate::terminal::run_live`]).

use std::time::Duration;

use hdrhistogram::Histogram;
use lockwell_results::Percentiles;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Gauge, Paragraph, Tabs};

use crate::format;
use crate::measurements::{HistogramLabel, IntervalCounts, errors_by_kind, sort_for_display};
use crate::views::{bench, help, parts};

/// The time windows of the over-time charts, smallest first; `None` is the
/// whole run.
pub const TIME_WINDOWS: [Option<Duration>; 5] = [
    Some(Duration::from_secs(10)),
    Some(Duration::from_secs(30)),
    Some(Duration::from_secs(60)),
    Some(Duration::from_secs(300)),
    None,
];
/// Lines the event log keeps.
pub const MAX_LOG_LINES: usize = 200;

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLength {
    Duration(Duration),
    Operations(u64),
    /// A stop condition this view does not know: no progress or ETA.
    Unknown,
}

/// What is being run, known before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePlan {
    /// `lockwell bench: <target>`.
    pub title: String,
    /// The load's shape in one line.
    pub description: String,
    pub length: RunLength,
}

/// What the generator reports.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    CreatingKeys {
        key_count: usize,
    },
    WarmingUp {
        duration: Duration,
    },
    /// A measured interval closed, with its histograms.
    Interval {
        counts: IntervalCounts,
        histograms: Vec<(HistogramLabel, Histogram<u64>)>,
    },
    /// The run ended; its result is at `result_path`.
    Finished {
        result_path: String,
    },
    Failed {
        message: String,
    },
}

/// Where the run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Starting,
    CreatingKeys {
        key_count: usize,
    },
    WarmingUp,
    Measuring,
    /// `q` was pressed: the workers stop at their next operation and the
    /// run writes what it measured.
    Stopping,
    Finished {
        result_path: String,
    },
    Failed {
        message: String,
    },
}

/// The lower pane `tab` switches between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Latency,
    Outcomes,
    Errors,
}

impl Pane {
    const ALL: [Self; 3] = [Self::Latency, Self::Outcomes, Self::Errors];

    const fn title(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Outcomes => "outcomes",
            Self::Errors => "errors",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|pane| *pane == self).unwrap_or(0)
    }
}

/// What the loop should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum LiveAction {
    Continue,
    /// End the run early (it still writes its result).
    Stop,
}

/// Everything measured so far; what a pause freezes.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    phase: Phase,
    intervals: Vec<IntervalCounts>,
    /// Totals since the warm-up, in display order.
    totals: Vec<(HistogramLabel, Histogram<u64>)>,
    /// The totals' percentiles, computed once per interval (a frame that
    /// computed them would cost ten times more).
    percentiles: Vec<(HistogramLabel, Percentiles)>,
    /// Since the view started.
    now: Duration,
    /// When measuring started (estimated from the warm-up or the first
    /// interval), since the view started.
    measure_start: Option<Duration>,
    log: Vec<String>,
}

/// The live view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveView {
    plan: LivePlan,
    measured: Measured,
    /// What a pause shows.
    frozen: Option<Measured>,
    pane: Pane,
    window: usize,
    help: bool,
    distribution: Option<usize>,
}

impl LiveView {
    /// A view of `plan`; its time window the narrowest that holds a timed
    /// run, else 30 s.
    #[must_use]
    pub fn new(plan: LivePlan) -> Self {
        let window = match plan.length {
            RunLength::Duration(length) => TIME_WINDOWS
                .iter()
                .position(|window| window.is_none_or(|window| window >= length))
                .unwrap_or(TIME_WINDOWS.len() - 1),
            RunLength::Operations(_) | RunLength::Unknown => 1,
        };
        Self {
            plan,
            measured: Measured {
                phase: Phase::Starting,
                intervals: Vec::new(),
                totals: Vec::new(),
                percentiles: Vec::new(),
                now: Duration::ZERO,
                measure_start: None,
                log: Vec::new(),
            },
            frozen: None,
            pane: Pane::Latency,
            window,
            help: false,
            distribution: None,
        }
    }

    /// Advances the view's clock (time since it started).
    pub fn tick(&mut self, now: Duration) {
        self.measured.now = now;
    }

    /// Whether the run has ended, well or not.
    #[must_use]
    pub fn is_over(&self) -> bool {
        matches!(
            self.measured.phase,
            Phase::Finished { .. } | Phase::Failed { .. }
        )
    }

    #[must_use]
    pub fn phase(&self) -> &Phase {
        &self.measured.phase
    }

    fn log(&mut self, message: String) {
        let measured = &mut self.measured;
        measured
            .log
            .push(format!("[{:>7.1} s] {message}", measured.now.as_secs_f64()));
        if measured.log.len() > MAX_LOG_LINES {
            measured.log.remove(0);
        }
    }

    /// Applies one event from the generator.
    pub fn apply(&mut self, event: LiveEvent) {
        match event {
            LiveEvent::CreatingKeys { key_count } => {
                self.measured.phase = Phase::CreatingKeys { key_count };
                self.log(format!("creating {key_count} keys"));
            }
            LiveEvent::WarmingUp { duration } => {
                self.measured.phase = Phase::WarmingUp;
                self.measured.measure_start = Some(self.measured.now + duration);
                self.log(format!("warming up for {}", format::duration(duration)));
            }
            LiveEvent::Interval { counts, histograms } => {
                if self.measured.phase == Phase::WarmingUp
                    || matches!(
                        self.measured.phase,
                        Phase::Starting | Phase::CreatingKeys { .. }
                    )
                {
                    self.measured.phase = Phase::Measuring;
                }
                if self.measured.intervals.is_empty() {
                    self.measured.measure_start =
                        Some(self.measured.now.saturating_sub(counts.end()));
                }
                if counts.errors > 0 {
                    let labelled = histograms
                        .iter()
                        .map(|(label, histogram)| (label, histogram.len()));
                    let kinds: Vec<String> = errors_by_kind(labelled)
                        .into_iter()
                        .map(|(kind, count)| format!("{kind} x{count}"))
                        .collect();
                    self.log(format!(
                        "{} errors by {}: {}",
                        counts.errors,
                        format::duration(counts.end()),
                        kinds.join(", ")
                    ));
                }
                self.measured.intervals.push(counts);
                for (label, histogram) in histograms {
                    add_total(&mut self.measured.totals, label, &histogram);
                }
                self.measured.percentiles = bench::percentile_rows(&self.measured.totals);
            }
            LiveEvent::Finished { result_path } => {
                self.log(format!("finished; result {result_path}"));
                self.measured.phase = Phase::Finished { result_path };
            }
            LiveEvent::Failed { message } => {
                self.log(format!("failed: {message}"));
                self.measured.phase = Phase::Failed { message };
            }
        }
    }

    /// Applies one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> LiveAction {
        let control_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.help && !control_c {
            self.help = false;
            return LiveAction::Continue;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return self.stop(),
            _ if control_c => return self.stop(),
            KeyCode::Char('p') | KeyCode::Char(' ') => {
                self.frozen = match self.frozen {
                    Some(_) => None,
                    None => Some(self.measured.clone()),
                };
            }
            KeyCode::Tab => self.pane = Pane::ALL[(self.pane.index() + 1) % Pane::ALL.len()],
            KeyCode::BackTab => {
                self.pane = Pane::ALL[(self.pane.index() + Pane::ALL.len() - 1) % Pane::ALL.len()];
            }
            KeyCode::Char('+') | KeyCode::Char('=') => {
                self.window = (self.window + 1).min(TIME_WINDOWS.len() - 1);
            }
            KeyCode::Char('-') => self.window = self.window.saturating_sub(1),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Up | KeyCode::Down => {
                let count = self.shown().totals.len().max(1);
                let current = self
                    .distribution
                    .unwrap_or_else(|| bench::default_distribution(&self.shown().totals));
                self.distribution = Some(if key.code == KeyCode::Down {
                    (current + 1) % count
                } else {
                    (current + count - 1) % count
                });
            }
            _ => {}
        }
        LiveAction::Continue
    }

    fn stop(&mut self) -> LiveAction {
        if !self.is_over() && self.measured.phase != Phase::Stopping {
            self.measured.phase = Phase::Stopping;
            self.log("stop requested: finishing the operations in flight".to_owned());
        }
        LiveAction::Stop
    }

    fn shown(&self) -> &Measured {
        self.frozen.as_ref().unwrap_or(&self.measured)
    }

    const KEYS: [(&'static str, &'static str); 7] = [
        ("q", "stop the run (its result is still written)"),
        ("p", "pause / resume the view"),
        ("tab", "next pane"),
        ("+ / -", "wider / narrower time window"),
        ("↑↓", "histogram shown in the distribution"),
        ("?", "help"),
        ("ctrl-c", "stop the run"),
    ];
}

fn add_total(
    totals: &mut Vec<(HistogramLabel, Histogram<u64>)>,
    label: HistogramLabel,
    histogram: &Histogram<u64>,
) {
    if let Some((_, total)) = totals.iter_mut().find(|(existing, _)| *existing == label) {
        // Totals auto-resize; adding fails only when a resize cannot
        // allocate, and then the view shows fewer samples rather than stop.
        let _ = total.add(histogram);
        return;
    }
    let mut total = crate::measurements::empty_histogram();
    total.auto(true);
    let _ = total.add(histogram);
    totals.push((label, total));
    sort_for_display(totals);
}

/// Progress in `[0, 1]` and the estimated time left.
fn progress(plan: &LivePlan, measured: &Measured) -> (f64, Option<Duration>) {
    let measured_ops: u64 = measured
        .intervals
        .iter()
        .map(|interval| interval.operations)
        .sum();
    let elapsed = measured
        .measure_start
        .map(|start| measured.now.saturating_sub(start));
    match plan.length {
        RunLength::Duration(length) => {
            let Some(elapsed) = elapsed else {
                return (0.0, None);
            };
            let until_start = measured
                .measure_start
                .map_or(Duration::ZERO, |start| start.saturating_sub(measured.now));
            let fraction = elapsed.as_secs_f64() / length.as_secs_f64().max(1e-9);
            (
                fraction.min(1.0),
                Some(length.saturating_sub(elapsed) + until_start),
            )
        }
        RunLength::Operations(count) => {
            let fraction = measured_ops as f64 / count.max(1) as f64;
            let rate = measured
                .intervals
                .iter()
                .rev()
                .take(3)
                .fold((0, Duration::ZERO), |(ops, time), interval| {
                    (ops + interval.operations, time + interval.length)
                });
            let eta = (rate.0 > 0).then(|| {
                let per_s = rate.0 as f64 / rate.1.as_secs_f64().max(1e-9);
                Duration::from_secs_f64(count.saturating_sub(measured_ops) as f64 / per_s)
            });
            (fraction.min(1.0), eta)
        }
        RunLength::Unknown => (0.0, None),
    }
}

fn phase_text(phase: &Phase) -> (String, Color) {
    match phase {
        Phase::Starting => ("connecting".to_owned(), Color::Reset),
        Phase::CreatingKeys { key_count } => (format!("creating {key_count} keys"), Color::Reset),
        Phase::WarmingUp => ("warming up".to_owned(), Color::Yellow),
        Phase::Measuring => ("measuring".to_owned(), Color::Green),
        Phase::Stopping => ("stopping".to_owned(), Color::Yellow),
        Phase::Finished { .. } => ("finished".to_owned(), Color::Green),
        Phase::Failed { message } => (format!("FAILED: {message}"), Color::Red),
    }
}

/// Draws `view` over the whole frame.
pub fn draw(frame: &mut Frame, view: &LiveView) {
    let shown = view.shown();
    let [header, gauge, rates, tabs, pane, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Length(1),
        Constraint::Fill(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let totals: IntervalCounts =
        shown
            .intervals
            .iter()
            .fold(IntervalCounts::default(), |mut sum, interval| {
                sum.operations += interval.operations;
                sum.requests += interval.requests;
                sum.successful_writes += interval.successful_writes;
                sum.conditional_writes += interval.conditional_writes;
                sum.conflicts += interval.conflicts;
                sum.errors += interval.errors;
                sum.length += interval.length;
                sum
            });
    let (phase, color) = phase_text(&shown.phase);
    let paused = if view.frozen.is_some() {
        " · PAUSED (p resumes)"
    } else {
        ""
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(view.plan.description.clone()),
            Line::styled(
                format!(
                    "{phase}{paused} · {} ops · goodput {} w/s · conflicts {} · errors {}",
                    format::count(totals.operations as f64),
                    format::count(totals.goodput_per_s()),
                    format::percent(totals.conflict_rate()),
                    totals.errors,
                ),
                Style::default().fg(color),
            ),
        ])
        .block(parts::framed(format!(" {} ", view.plan.title))),
        header,
    );

    let (fraction, eta) = progress(&view.plan, shown);
    let planned = match view.plan.length {
        RunLength::Duration(length) => format::duration(length),
        RunLength::Operations(count) => format!("{} ops", format::count(count as f64)),
        RunLength::Unknown => "an unknown length".to_owned(),
    };
    frame.render_widget(
        Gauge::default()
            .ratio(fraction)
            .gauge_style(Style::default().fg(Color::Blue))
            .label(format!(
                "{:.0}% of {planned} · ETA {}",
                fraction * 100.0,
                eta.map_or_else(|| "-".to_owned(), format::duration)
            )),
        gauge,
    );

    bench::render_rates(frame, rates, &shown.intervals, TIME_WINDOWS[view.window]);

    frame.render_widget(
        Tabs::new(Pane::ALL.iter().map(|pane| pane.title()))
            .select(view.pane.index())
            .highlight_style(parts::header_style().fg(Color::Cyan))
            .divider("|"),
        tabs,
    );
    render_pane(frame, pane, view, shown, &totals);
    frame.render_widget(
        Paragraph::new(parts::key_line(&[
            ("q", "stop"),
            ("p", "pause"),
            ("tab", "pane"),
            ("+/-", "window"),
            ("↑↓", "histogram"),
            ("?", "help"),
        ])),
        footer,
    );
    if view.help {
        help::render(
            frame,
            frame.area(),
            "keys (any key closes)",
            &LiveView::KEYS,
        );
    }
}

fn render_pane(
    frame: &mut Frame,
    area: Rect,
    view: &LiveView,
    shown: &Measured,
    totals: &IntervalCounts,
) {
    match view.pane {
        Pane::Latency => {
            let [table, distribution] =
                Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                    .areas(area);
            bench::render_percentiles(frame, table, &shown.percentiles, 0);
            let selected = view
                .distribution
                .unwrap_or_else(|| bench::default_distribution(&shown.totals));
            bench::render_selected_distribution(frame, distribution, &shown.totals, selected);
        }
        Pane::Outcomes => {
            let [mix, counts] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(area);
            bench::render_outcome_mix(frame, mix, &shown.totals);
            let lines = vec![
                Line::from(format!("operations      {:>12}", totals.operations)),
                Line::from(format!("requests        {:>12}", totals.requests)),
                Line::from(format!("writes 200      {:>12}", totals.successful_writes)),
                Line::from(format!("conditional     {:>12}", totals.conditional_writes)),
                Line::from(format!("lost (409/412)  {:>12}", totals.conflicts)),
                Line::from(format!("errors          {:>12}", totals.errors)),
            ];
            frame.render_widget(
                Paragraph::new(lines).block(parts::framed(" totals since warm-up ")),
                counts,
            );
        }
        Pane::Errors => {
            let [kinds, log] =
                Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                    .areas(area);
            let errors = errors_by_kind(
                shown
                    .totals
                    .iter()
                    .map(|(label, histogram)| (label, histogram.len())),
            );
            let lines: Vec<Line> = if errors.is_empty() {
                vec![Line::styled("no errors", Style::default().fg(Color::Green))]
            } else {
                errors
                    .iter()
                    .map(|(kind, count)| {
                        Line::styled(
                            format!("{kind:<28} {count:>8}"),
                            Style::default().fg(Color::Red),
                        )
                    })
                    .collect()
            };
            frame.render_widget(
                Paragraph::new(lines).block(parts::framed(" errors by request and outcome ")),
                kinds,
            );
            let visible = usize::from(log.height.saturating_sub(2));
            let tail: Vec<Line> = shown
                .log
                .iter()
                .skip(shown.log.len().saturating_sub(visible))
                .map(|line| Line::from(line.clone()))
                .collect();
            frame.render_widget(Paragraph::new(tail).block(parts::framed(" events ")), log);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn plan(length: RunLength) -> LivePlan {
        LivePlan {
            title: "lockwell bench".to_owned(),
            description: "closed loop".to_owned(),
            length,
        }
    }

    fn interval(end_s: u64, operations: u64) -> LiveEvent {
        LiveEvent::Interval {
            counts: IntervalCounts {
                start: Duration::from_secs(end_s - 1),
                length: Duration::from_secs(1),
                operations,
                ..IntervalCounts::default()
            },
            histograms: Vec::new(),
        }
    }

    #[test]
    fn a_timed_run_estimates_what_is_left_from_the_warm_up() {
        let mut view = LiveView::new(plan(RunLength::Duration(Duration::from_secs(10))));
        view.apply(LiveEvent::WarmingUp {
            duration: Duration::from_secs(2),
        });
        view.tick(Duration::from_secs(1));
        assert_eq!(
            progress(&view.plan, &view.measured),
            (0.0, Some(Duration::from_secs(11)))
        );
        view.tick(Duration::from_secs(7));
        assert_eq!(
            progress(&view.plan, &view.measured),
            (0.5, Some(Duration::from_secs(5)))
        );
    }

    #[test]
    fn a_counted_run_estimates_what_is_left_from_the_recent_rate() {
        let mut view = LiveView::new(plan(RunLength::Operations(1000)));
        view.tick(Duration::from_secs(1));
        view.apply(interval(1, 100));
        view.tick(Duration::from_secs(2));
        view.apply(interval(2, 100));
        assert_eq!(
            progress(&view.plan, &view.measured),
            (0.2, Some(Duration::from_secs(8)))
        );
    }

    #[test]
    fn pause_freezes_what_is_shown_while_events_keep_arriving() {
        let mut view = LiveView::new(plan(RunLength::Operations(1000)));
        view.apply(interval(1, 100));
        assert_eq!(
            view.handle_key(key(KeyCode::Char('p'))),
            LiveAction::Continue
        );
        view.apply(interval(2, 100));
        assert_eq!(view.shown().intervals.len(), 1);
        assert_eq!(view.measured.intervals.len(), 2);
        let _ = view.handle_key(key(KeyCode::Char('p')));
        assert_eq!(view.shown().intervals.len(), 2);
    }

    #[test]
    fn keys_switch_panes_and_windows_within_their_limits() {
        let mut view = LiveView::new(plan(RunLength::Operations(1)));
        let cases = [
            (KeyCode::Tab, Pane::Outcomes, 1),
            (KeyCode::Tab, Pane::Errors, 1),
            (KeyCode::Tab, Pane::Latency, 1),
            (KeyCode::BackTab, Pane::Errors, 1),
            (KeyCode::Char('-'), Pane::Errors, 0),
            (KeyCode::Char('-'), Pane::Errors, 0),
            (KeyCode::Char('+'), Pane::Errors, 1),
        ];
        for (code, pane, window) in cases {
            let _ = view.handle_key(key(code));
            assert_eq!((view.pane, view.window), (pane, window), "{code:?}");
        }
        for _ in 0..10 {
            let _ = view.handle_key(key(KeyCode::Char('+')));
        }
        assert_eq!(
            TIME_WINDOWS[view.window], None,
            "the widest window is the whole run"
        );
    }

    #[test]
    fn quit_stops_the_run_and_waits_for_its_result() {
        let mut view = LiveView::new(plan(RunLength::Operations(1)));
        assert_eq!(view.handle_key(key(KeyCode::Char('q'))), LiveAction::Stop);
        assert_eq!(view.phase(), &Phase::Stopping);
        assert!(!view.is_over());
        view.apply(LiveEvent::Finished {
            result_path: "r.json".to_owned(),
        });
        assert!(view.is_over());
    }
}
