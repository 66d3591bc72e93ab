//! A checksum summary: each algorithm's throughput through lockwell-core's
//! engine against the fastest crate and memory copy bandwidth.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Row, Table};

use super::parts::{bar, framed, header_style};
use crate::results_dir::ChecksumSummary;

/// Renders `summary`.
pub fn render(frame: &mut Frame, area: Rect, path: &str, summary: &ChecksumSummary) {
    let fastest = summary
        .algorithms
        .iter()
        .map(|algorithm| algorithm.memcpy_gib_per_s.max(algorithm.engine_gib_per_s))
        .fold(0.0_f64, f64::max);
    let rows = summary.algorithms.iter().map(|algorithm| {
        let share = if fastest > 0.0 {
            algorithm.engine_gib_per_s / fastest
        } else {
            0.0
        };
        Row::new([
            algorithm.algorithm.clone(),
            format!("{:.2}", algorithm.engine_gib_per_s),
            format!(
                "{} {:.2}",
                algorithm.fastest_crate.name, algorithm.fastest_crate.gib_per_s
            ),
            format!("{:.1}%", algorithm.engine_to_fastest_crate * 100.0),
            if algorithm.engine_meets_bar {
                "yes"
            } else {
                "NO"
            }
            .to_owned(),
            format!("{:.1}", algorithm.memcpy_gib_per_s),
            bar(share, 24),
        ])
        .style(if algorithm.engine_meets_bar {
            Style::default()
        } else {
            Style::default().fg(Color::Red)
        })
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(20),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new([
            "algorithm",
            "engine GiB/s",
            "fastest crate",
            "vs fastest",
            "meets",
            "memcpy",
            "engine vs memcpy",
        ])
        .style(header_style()),
    )
    .block(framed(format!(
        " {path}: {} KiB buffers, {} repetitions ",
        summary.buffer_len_bytes / 1024,
        summary.repetitions
    )));
    frame.render_widget(table, area);
}
