//! Pieces several views share: framed blocks, the percentile table, text
//! bar charts of a latency distribution and of an outcome mix, and the
//! over-time chart.

use hdrhistogram::Histogram;
use lockwell_results::Percentiles;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Borders, Chart, Dataset, GraphType, Paragraph, Row, Table,
};

use crate::format;
use crate::measurements::HistogramLabel;

/// Eighths of a cell, for bars finer than a character.
const BAR_EIGHTHS: [&str; 8] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const FULL_BAR: &str = "█";

/// A bordered block with a title.
#[must_use]
pub fn framed(title: impl Into<Line<'static>>) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .title(title.into())
}

/// Style of headers and selected rows.
#[must_use]
pub fn header_style() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// `fraction` of `width` cells as a bar of block characters.
#[must_use]
pub fn bar(fraction: f64, width: usize) -> String {
    let eighths = (fraction.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut text = FULL_BAR.repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        text.push_str(BAR_EIGHTHS[eighths % 8]);
    }
    text
}

/// The key line at the bottom of a screen: `key` bold, then what it does.
#[must_use]
pub fn key_line(keys: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, action) in keys {
        spans.push(Span::styled(format!(" {key}"), header_style()));
        spans.push(Span::raw(format!(" {action} ")));
    }
    Line::from(spans)
}

/// Below this inner width the percentile table leaves out p90 and p99.9.
const NARROW_TABLE_WIDTH: u16 = 76;

/// The short name of a histogram view in tables.
fn short_view(view: &str) -> &str {
    match view {
        crate::labels::REQUEST_VIEW => "req",
        crate::labels::OPERATION_VIEW => "op",
        crate::labels::INTENDED_VIEW => "intended",
        other => other,
    }
}

/// One row per histogram: count and percentiles, fitted to `width`.
#[must_use]
pub fn percentile_table(rows: &[(HistogramLabel, Percentiles)], width: u16) -> Table<'static> {
    let narrow = width < NARROW_TABLE_WIDTH;
    let mut header = vec!["view", "op", "outcome", "count", "p50"];
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(7),
    ];
    let percentile_columns: &[&str] = if narrow {
        &["p99", "max"]
    } else {
        &["p90", "p99", "p99.9", "max"]
    };
    header.extend(percentile_columns);
    widths.extend(percentile_columns.iter().map(|_| Constraint::Length(7)));
    let rows = rows.iter().map(|(label, percentiles)| {
        let mut cells = vec![
            short_view(&label.view).to_owned(),
            label.op.clone(),
            label.outcome.clone(),
            format::count(percentiles.count as f64),
            format::nanos(percentiles.p50),
        ];
        for column in percentile_columns {
            cells.push(format::nanos(match *column {
                "p90" => percentiles.p90,
                "p99" => percentiles.p99,
                "p99.9" => percentiles.p99_9,
                _ => percentiles.max,
            }));
        }
        Row::new(cells)
    });
    Table::new(rows, widths)
        .header(Row::new(header).style(header_style()))
        .column_spacing(1)
}

/// Counts of a histogram in buckets whose upper bounds grow by a constant
/// factor, from the power of two at or below the smallest value: the shape
/// of a latency distribution on a log axis. At most `max_buckets`.
#[must_use]
pub fn log_buckets(histogram: &Histogram<u64>, max_buckets: usize) -> Vec<(u64, u64)> {
    if histogram.is_empty() || max_buckets == 0 {
        return Vec::new();
    }
    let lowest = histogram.min().max(1);
    let lowest = 1_u64 << lowest.ilog2();
    let doublings = histogram.max().max(lowest).ilog2() - lowest.ilog2() + 1;
    let doublings_per_bucket = doublings.div_ceil(max_buckets as u32).max(1);
    let bucket_count = doublings.div_ceil(doublings_per_bucket) as usize;
    let upper_bound = |index: usize| {
        let shift = (index as u32 + 1) * doublings_per_bucket;
        lowest.checked_shl(shift).unwrap_or(u64::MAX)
    };
    let mut buckets: Vec<(u64, u64)> = (0..bucket_count)
        .map(|index| (upper_bound(index), 0))
        .collect();
    for value in histogram.iter_recorded() {
        let recorded = value.value_iterated_to();
        let index = ((recorded.max(lowest) / lowest).ilog2() / doublings_per_bucket) as usize;
        buckets[index.min(bucket_count - 1)].1 += value.count_since_last_iteration();
    }
    buckets
}

/// A latency distribution as lines `< 16.4µs ████▌ 1234`, `width` wide.
#[must_use]
pub fn distribution_lines(
    histogram: &Histogram<u64>,
    width: u16,
    max_lines: u16,
) -> Vec<Line<'static>> {
    let buckets = log_buckets(histogram, usize::from(max_lines));
    let largest = buckets.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let bar_width = usize::from(width).saturating_sub(9 + 8 + 2).max(1);
    buckets
        .iter()
        .map(|(upper_bound, count)| {
            let fraction = if largest == 0 {
                0.0
            } else {
                *count as f64 / largest as f64
            };
            Line::from(vec![
                Span::raw(format!("<{:>8} ", format::nanos(*upper_bound))),
                Span::styled(
                    format!("{:<bar_width$}", bar(fraction, bar_width)),
                    Style::default().fg(Color::Cyan),
                ),
                Span::raw(format!(" {:>7}", format::count(*count as f64))),
            ])
        })
        .collect()
}

/// Renders a latency distribution into `area` (inside `block`).
pub fn render_distribution(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    histogram: Option<&Histogram<u64>>,
) {
    let inner = block.inner(area);
    let lines = histogram.map_or_else(
        || vec![Line::from("no samples")],
        |histogram| distribution_lines(histogram, inner.width, inner.height),
    );
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Counts as bars with their share of the total: `412  ███▍  34.1%  1234`.
#[must_use]
pub fn share_lines(counts: &[(String, u64)], width: u16) -> Vec<Line<'static>> {
    let total: u64 = counts.iter().map(|(_, count)| count).sum();
    let label_width = counts
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 24);
    let bar_width = usize::from(width)
        .saturating_sub(label_width + 1 + 8 + 8 + 1)
        .max(1);
    counts
        .iter()
        .map(|(label, count)| {
            let share = if total == 0 {
                0.0
            } else {
                *count as f64 / total as f64
            };
            let color = outcome_color(label);
            Line::from(vec![
                Span::raw(format!("{label:<label_width$} ")),
                Span::styled(
                    format!("{:<bar_width$}", bar(share, bar_width)),
                    Style::default().fg(color),
                ),
                Span::raw(format!(
                    " {:>6.1}% {:>7}",
                    share * 100.0,
                    format::count(*count as f64)
                )),
            ])
        })
        .collect()
}

/// Green for answers, yellow for lost races, red for failures.
#[must_use]
pub fn outcome_color(outcome: &str) -> Color {
    if crate::labels::is_conflict(outcome) {
        Color::Yellow
    } else if crate::labels::is_error(outcome) {
        Color::Red
    } else {
        Color::Green
    }
}

/// A series over time: `(seconds, value)` points.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: &'a [(f64, f64)],
    pub color: Color,
}

/// A line chart of `series` over `[start_s, end_s]`, its y axis from zero to
/// a little above the largest value (at most `y_ceiling`), labelled with
/// `format_value`.
pub fn render_over_time(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    series: &[Series<'_>],
    x_bounds_s: [f64; 2],
    y_ceiling: f64,
    format_value: fn(f64) -> String,
) {
    let largest = series
        .iter()
        .flat_map(|series| series.points.iter().map(|(_, value)| *value))
        .fold(0.0_f64, f64::max);
    let y_top = if largest > 0.0 {
        (largest * 1.1).min(y_ceiling)
    } else {
        1.0
    };
    let datasets = series
        .iter()
        .map(|series| {
            Dataset::default()
                .name(series.name.to_owned())
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(series.color))
                .data(series.points)
        })
        .collect();
    let [start_s, end_s] = x_bounds_s;
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([start_s, end_s.max(start_s + 1e-3)])
                .labels([format!("{start_s:.0}s"), format!("{end_s:.0}s")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_top])
                .labels([format_value(0.0), format_value(y_top)]),
        );
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurements::empty_histogram;

    #[test]
    fn bars_fill_eighths_of_a_cell() {
        let cases = [
            (0.0, 4, ""),
            (1.0, 4, "████"),
            (0.5, 4, "██"),
            (1.0 / 32.0, 4, "▏"),
            (0.125, 4, "▌"),
            (2.0, 2, "██"),
        ];
        for (fraction, width, expected) in cases {
            assert_eq!(bar(fraction, width), expected, "{fraction} of {width}");
        }
    }

    #[test]
    fn log_buckets_double_and_hold_every_sample() {
        let mut histogram = empty_histogram();
        for (value, count) in [(1_000, 5), (3_000, 7), (70_000, 1)] {
            histogram.record_n(value, count).unwrap();
        }
        let buckets = log_buckets(&histogram, 100);
        assert_eq!(buckets.first(), Some(&(1024, 5)), "512 <= 1000 < 1024");
        assert_eq!(buckets.iter().map(|(_, count)| count).sum::<u64>(), 13);
        assert_eq!(buckets.len(), 8, "512 .. 131072 in doublings");
        let merged = log_buckets(&histogram, 3);
        assert!(merged.len() <= 3);
        assert_eq!(merged.iter().map(|(_, count)| count).sum::<u64>(), 13);
        assert!(log_buckets(&empty_histogram(), 10).is_empty());
    }
}
