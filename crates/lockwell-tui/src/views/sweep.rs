//! A sweep: measured goodput and p99 against concurrency (racers), the
//! capacity model's curves through them, and the points the model was not
//! fitted on marked, with its error there.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Row, Table, Wrap};

use super::parts::{framed, header_style};
use crate::format;
use crate::sweep::{SweepData, WorkloadCurves};

/// A chart of one quantity against racers on a log2 axis.
struct Quantity<'a> {
    title: String,
    /// `(racers, value)` of the model.
    curve: &'a [(f64, f64)],
    /// `(racers, value, held_out)` measured.
    measured: Vec<(f64, f64, bool)>,
    format_value: fn(f64) -> String,
}

fn render_against_racers(frame: &mut Frame, area: Rect, quantity: &Quantity<'_>) {
    let log2 = |racers: f64| racers.max(1.0).log2();
    let curve: Vec<(f64, f64)> = quantity.curve.iter().map(|(x, y)| (log2(*x), *y)).collect();
    let fitted: Vec<(f64, f64)> = quantity
        .measured
        .iter()
        .filter(|(_, _, held_out)| !held_out)
        .map(|(x, y, _)| (log2(*x), *y))
        .collect();
    let held: Vec<(f64, f64)> = quantity
        .measured
        .iter()
        .filter(|(_, _, held_out)| *held_out)
        .map(|(x, y, _)| (log2(*x), *y))
        .collect();
    // An even number of doublings, so that the middle label is a power
    // of two too.
    let x_top = curve
        .iter()
        .chain(&fitted)
        .chain(&held)
        .map(|(x, _)| *x)
        .fold(2.0_f64, f64::max);
    let x_top = (x_top / 2.0).ceil() * 2.0;
    let y_top = curve
        .iter()
        .chain(&fitted)
        .chain(&held)
        .map(|(_, y)| *y)
        .fold(0.0_f64, f64::max)
        * 1.1;
    let y_top = if y_top > 0.0 { y_top } else { 1.0 };
    let datasets = vec![
        Dataset::default()
            .name("model")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Cyan))
            .data(&curve),
        Dataset::default()
            .name("measured, fitted")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::default().fg(Color::Green))
            .data(&fitted),
        Dataset::default()
            .name("measured, held out")
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(Style::default().fg(Color::Yellow))
            .data(&held),
    ];
    let x_labels = [
        "1".to_owned(),
        format!("{:.0}", 2_f64.powf(x_top / 2.0)),
        format!("{:.0}", 2_f64.powf(x_top)),
    ];
    // The legend is in the title: inside the chart it would hide points.
    let chart = Chart::new(datasets)
        .block(framed(format!(
            "{}: ⠤ model, • fitted, █ held out ",
            quantity.title
        )))
        .legend_position(None)
        .x_axis(
            Axis::default()
                .title("racers (log)")
                .bounds([0.0, x_top])
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_top])
                .labels([(quantity.format_value)(0.0), (quantity.format_value)(y_top)]),
        );
    frame.render_widget(chart, area);
}

fn seconds(value_s: f64) -> String {
    format::nanos((value_s * 1e9).max(0.0) as u64)
}

fn error_text(predicted: f64, measured: f64) -> String {
    if measured > 0.0 {
        format!("{:+.0}%", (predicted / measured - 1.0) * 100.0)
    } else {
        "-".to_owned()
    }
}

/// Renders `sweep`, showing its `selected` workload.
pub fn render(frame: &mut Frame, area: Rect, path: &str, sweep: &SweepData, selected: usize) {
    let workload_count = sweep.workloads.len();
    let Some(curves) = sweep
        .workloads
        .get(selected.min(workload_count.saturating_sub(1)))
    else {
        frame.render_widget(
            Paragraph::new("no points").block(framed(format!(" {path} "))),
            area,
        );
        return;
    };
    let model_line = match &sweep.validation {
        Ok(summary) => format!(
            "{} · {} points fitted, {} held out · median |error| goodput {}, p99 {}",
            summary.hold_out,
            summary.fitted_points,
            summary.held_out_points,
            format::percent(summary.median_abs_goodput_error),
            format::percent(summary.median_abs_p99_error),
        ),
        Err(reason) => format!("no model: {reason}"),
    };
    let workload = &curves.workload;
    let header = vec![
        Line::from(model_line),
        Line::from(format!(
            "workload {} of {workload_count}: {} keys · zipf {} · mix {} · {} B · {}",
            selected.min(workload_count - 1) + 1,
            workload.key_count,
            workload.zipf_exponent,
            workload.mix,
            workload.payload_len_bytes,
            workload.backoff.map_or_else(
                || "retry at once".to_owned(),
                |backoff| format!("backoff {}-{} µs", backoff.base_us, backoff.cap_us)
            ),
        )),
    ];
    let header_width = usize::from(area.width.saturating_sub(2)).max(1);
    let header_rows: usize = header
        .iter()
        .map(|line| line.width().div_ceil(header_width).max(1))
        .sum();
    let [header_area, charts, table_area] = Layout::vertical([
        Constraint::Length(u16::try_from(header_rows + 2).unwrap_or(u16::MAX)),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(header)
            .wrap(Wrap { trim: true })
            .block(framed(format!(" {path}: {} points ", sweep.point_count))),
        header_area,
    );
    let [goodput_area, p99_area] =
        Layout::horizontal([Constraint::Percentage(50); 2]).areas(charts);
    render_against_racers(
        frame,
        goodput_area,
        &Quantity {
            title: " goodput writes/s".to_owned(),
            curve: &curves.goodput_curve,
            measured: curves
                .points
                .iter()
                .map(|point| {
                    (
                        f64::from(point.racers),
                        point.goodput_writes_per_s,
                        point.held_out,
                    )
                })
                .collect(),
            format_value: format::count,
        },
    );
    render_against_racers(
        frame,
        p99_area,
        &Quantity {
            title: " operation p99".to_owned(),
            curve: &curves.p99_curve,
            measured: curves
                .points
                .iter()
                .map(|point| {
                    (
                        f64::from(point.racers),
                        point.operation_p99_s,
                        point.held_out,
                    )
                })
                .collect(),
            format_value: seconds,
        },
    );
    render_points(frame, table_area, curves);
}

fn render_points(frame: &mut Frame, area: Rect, curves: &WorkloadCurves) {
    let rows = curves.points.iter().map(|point| {
        let (goodput_predicted, p99_predicted) = point.predicted.unwrap_or((f64::NAN, f64::NAN));
        let predicted = point.predicted.is_some();
        Row::new([
            point.racers.to_string(),
            if point.held_out { "held out" } else { "fitted" }.to_owned(),
            format::count(point.goodput_writes_per_s),
            if predicted {
                format::count(goodput_predicted)
            } else {
                "-".to_owned()
            },
            if predicted {
                error_text(goodput_predicted, point.goodput_writes_per_s)
            } else {
                "-".to_owned()
            },
            seconds(point.operation_p99_s),
            if predicted {
                seconds(p99_predicted)
            } else {
                "-".to_owned()
            },
            if predicted {
                error_text(p99_predicted, point.operation_p99_s)
            } else {
                "-".to_owned()
            },
        ])
        .style(if point.held_out {
            Style::default().fg(Color::Yellow)
        } else {
            Style::default()
        })
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(7),
        ],
    )
    .header(
        Row::new([
            "racers", "", "goodput", "model", "error", "p99", "model", "error",
        ])
        .style(header_style()),
    )
    .block(framed(" points (tab: next workload) "));
    frame.render_widget(table, area);
}
