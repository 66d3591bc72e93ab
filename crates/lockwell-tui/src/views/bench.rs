//! The panels of a bench run, shared by the live view and the stored-run
//! view: percentiles per op and outcome, a latency distribution, the
//! outcome mix, and goodput and conflict rate over time.

use std::time::Duration;

use hdrhistogram::Histogram;
use lockwell_results::Percentiles;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::parts::{
    Series, framed, percentile_table, render_distribution, render_over_time, share_lines,
};
use crate::format;
use crate::labels;
use crate::measurements::{HistogramLabel, IntervalCounts, outcome_mix};

/// Labelled histograms in display order.
pub type LabelledHistograms = [(HistogramLabel, Histogram<u64>)];

/// The histogram a distribution pane shows first: the operation view's
/// (else the request view's) label with the most samples.
#[must_use]
pub fn default_distribution(histograms: &LabelledHistograms) -> usize {
    let view_rank = |label: &HistogramLabel| match label.view.as_str() {
        labels::OPERATION_VIEW => 0,
        labels::INTENDED_VIEW => 1,
        _ => 2,
    };
    histograms
        .iter()
        .enumerate()
        .min_by_key(|(index, (label, histogram))| {
            (view_rank(label), std::cmp::Reverse(histogram.len()), *index)
        })
        .map_or(0, |(index, _)| index)
}

/// Each histogram's percentiles, in the same order. Each one walks the
/// whole histogram several times: callers compute them when the data
/// changes, not per frame.
#[must_use]
pub fn percentile_rows(histograms: &LabelledHistograms) -> Vec<(HistogramLabel, Percentiles)> {
    histograms
        .iter()
        .map(|(label, histogram)| (label.clone(), Percentiles::of(histogram)))
        .collect()
}

/// The percentile table, from row `scroll` on.
pub fn render_percentiles(
    frame: &mut Frame,
    area: Rect,
    rows: &[(HistogramLabel, Percentiles)],
    scroll: usize,
) {
    let rows = rows.get(scroll..).unwrap_or_default();
    let title = if scroll > 0 {
        format!(" latency per op and outcome (from row {}) ", scroll + 1)
    } else {
        " latency per op and outcome ".to_owned()
    };
    if rows.is_empty() {
        frame.render_widget(Paragraph::new("no samples yet").block(framed(title)), area);
        return;
    }
    let block = framed(title);
    let width = block.inner(area).width;
    frame.render_widget(percentile_table(rows, width).block(block), area);
}

/// The latency distribution of `histograms[selected]`.
pub fn render_selected_distribution(
    frame: &mut Frame,
    area: Rect,
    histograms: &LabelledHistograms,
    selected: usize,
) {
    match histograms.get(selected) {
        Some((label, histogram)) => render_distribution(
            frame,
            area,
            framed(format!(
                " distribution {}/{}/{} ({} of {}) ",
                label.view,
                label.op,
                label.outcome,
                selected + 1,
                histograms.len()
            )),
            Some(histogram),
        ),
        None => render_distribution(frame, area, framed(" distribution "), None),
    }
}

/// Requests per outcome as shares.
pub fn render_outcome_mix(frame: &mut Frame, area: Rect, histograms: &LabelledHistograms) {
    let mix = outcome_mix(
        histograms
            .iter()
            .map(|(label, histogram)| (label, histogram.len())),
    );
    let block = framed(" outcome mix (requests) ");
    let inner = block.inner(area);
    let lines = if mix.is_empty() {
        vec![Line::from("no requests yet")]
    } else {
        share_lines(&mix, inner.width)
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Goodput and conflict rate of the intervals that end within `window`
/// before the last one (all of them without a window), side by side.
pub fn render_rates(
    frame: &mut Frame,
    area: Rect,
    intervals: &[IntervalCounts],
    window: Option<Duration>,
) {
    let last_end = intervals.last().map_or(Duration::ZERO, IntervalCounts::end);
    let window_start = window.map_or(Duration::ZERO, |window| last_end.saturating_sub(window));
    let shown: Vec<&IntervalCounts> = intervals
        .iter()
        .filter(|interval| interval.end() > window_start)
        .collect();
    let goodput: Vec<(f64, f64)> = shown
        .iter()
        .map(|interval| (interval.end().as_secs_f64(), interval.goodput_per_s()))
        .collect();
    let conflicts: Vec<(f64, f64)> = shown
        .iter()
        .filter_map(|interval| {
            interval
                .conflict_rate()
                .map(|rate| (interval.end().as_secs_f64(), rate * 100.0))
        })
        .collect();
    let x_bounds_s = [
        window_start.as_secs_f64(),
        last_end
            .as_secs_f64()
            .max(window.map_or(0.0, |window| window.as_secs_f64())),
    ];
    let window_text = window.map_or_else(
        || "whole run".to_owned(),
        |window| format!("last {}", format::duration(window)),
    );
    let latest = shown.last();
    let [left, right] = Layout::horizontal([Constraint::Percentage(50); 2]).areas(area);
    render_over_time(
        frame,
        left,
        framed(format!(
            " goodput writes/s, {window_text}: {} ",
            latest.map_or_else(
                || "-".to_owned(),
                |interval| format::count(interval.goodput_per_s())
            )
        )),
        &[Series {
            name: "goodput",
            points: &goodput,
            color: Color::Green,
        }],
        x_bounds_s,
        f64::INFINITY,
        format::count,
    );
    render_over_time(
        frame,
        right,
        framed(format!(
            " conflict rate: {} ",
            format::percent(latest.and_then(|interval| interval.conflict_rate()))
        )),
        &[Series {
            name: "conflict rate",
            points: &conflicts,
            color: Color::Yellow,
        }],
        x_bounds_s,
        100.0,
        |value| format!("{value:.0}%"),
    );
}
