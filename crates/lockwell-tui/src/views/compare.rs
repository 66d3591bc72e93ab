//! Two sets of runs compared: `lockwell compare`'s verdict per metric, and
//! the two sides' latency distributions side by side.

use hdrhistogram::Histogram;
use lockwell_results::{Comparison, Verdict};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::parts::{framed, header_style, render_distribution};
use crate::format;

/// A compared side: its files and its merged latency of the main
/// operation.
pub struct Side<'a> {
    pub paths: Vec<String>,
    /// `(label, histogram)` of the distribution shown for this side.
    pub distribution: Option<(String, &'a Histogram<u64>)>,
}

fn verdict_cell(verdict: Verdict, gate: bool) -> Cell<'static> {
    let (text, color) = match verdict {
        Verdict::Faster => ("better", Color::Green),
        Verdict::Slower if gate => ("WORSE", Color::Red),
        Verdict::Slower => ("worse (not gated)", Color::Yellow),
        _ => ("same", Color::Reset),
    };
    Cell::from(text).style(Style::default().fg(color))
}

fn value(value: f64, unit: &str) -> String {
    if unit == "ns" {
        format::nanos(value.max(0.0) as u64)
    } else if unit == "ratio" {
        format::percent(Some(value))
    } else {
        format::three_digits(value)
    }
}

/// Renders the comparison of `a` and `b` (or why there is none).
pub fn render(
    frame: &mut Frame,
    area: Rect,
    a: &Side<'_>,
    b: &Side<'_>,
    comparison: &Result<Comparison, String>,
    scroll: usize,
) {
    let describe = |name: &str, side: &Side<'_>| {
        let first = side.paths.first().cloned().unwrap_or_default();
        let more = side.paths.len().saturating_sub(1);
        if more > 0 {
            format!(
                "{name}: {first} and {more} more ({} runs)",
                side.paths.len()
            )
        } else {
            format!("{name}: {first}")
        }
    };
    let notes: Vec<String> = comparison
        .as_ref()
        .map(|comparison| comparison.notes.clone())
        .unwrap_or_default();
    let mut header = vec![Line::from(describe("A", a)), Line::from(describe("B", b))];
    header.extend(
        notes
            .iter()
            .take(3)
            .map(|note| Line::from(format!("note: {note}"))),
    );
    let header_height = u16::try_from(header.len()).unwrap_or(u16::MAX) + 2;
    let [header_area, table_area, charts] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(header).block(framed(" compare A with B ")),
        header_area,
    );
    match comparison {
        Err(reason) => frame.render_widget(
            Paragraph::new(format!("cannot compare: {reason}")).block(framed(" verdicts ")),
            table_area,
        ),
        Ok(comparison) => {
            let rows = comparison.metrics.iter().skip(scroll).map(|metric| {
                Row::new([
                    Cell::from(metric.name.clone()),
                    Cell::from(format!("{}/{}", metric.a.runs, metric.b.runs)),
                    Cell::from(value(metric.a.median, &metric.unit)),
                    Cell::from(value(metric.b.median, &metric.unit)),
                    Cell::from(format::percent(metric.relative_shift)),
                    Cell::from(format!("{:.3}", metric.p_value)),
                    Cell::from(format!("{:.1}%", metric.threshold * 100.0)),
                    verdict_cell(metric.verdict, metric.gate),
                ])
            });
            let table = Table::new(
                rows,
                [
                    Constraint::Fill(1),
                    Constraint::Length(5),
                    Constraint::Length(9),
                    Constraint::Length(9),
                    Constraint::Length(8),
                    Constraint::Length(6),
                    Constraint::Length(7),
                    Constraint::Length(17),
                ],
            )
            .header(
                Row::new([
                    "metric", "runs", "A median", "B median", "shift", "p", "noise", "verdict",
                ])
                .style(header_style()),
            )
            .block(framed(format!(
                " verdicts: {} metrics, {} regressions ",
                comparison.metrics.len(),
                comparison.regressions().count()
            )));
            frame.render_widget(table, table_area);
        }
    }
    let [left, right] = Layout::horizontal([Constraint::Percentage(50); 2]).areas(charts);
    for (side_name, side, area) in [("A", a, left), ("B", b, right)] {
        match &side.distribution {
            Some((label, histogram)) => render_distribution(
                frame,
                area,
                framed(format!(" {side_name}: {label} ")),
                Some(histogram),
            ),
            None => render_distribution(frame, area, framed(format!(" {side_name} ")), None),
        }
    }
}
