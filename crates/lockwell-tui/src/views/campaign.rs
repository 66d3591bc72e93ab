//! A simulator campaign: its seeds, the violations with their seeds and
//! rules, BUGGIFY coverage, and the command that replays a failing seed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::parts::{bar, framed, header_style};
use crate::format;
use crate::results_dir::Campaign;

/// Renders `campaign`; `selected` picks the violation whose replay command
/// shows.
pub fn render(frame: &mut Frame, area: Rect, path: &str, campaign: &Campaign, selected: usize) {
    let wall_s = campaign.wall_time_ms as f64 / 1000.0;
    let header = vec![
        Line::from(format!(
            "workload {} · faults {} · seeds {}..{}{} · commit {}",
            campaign.workload,
            campaign.fault_profile,
            campaign.start,
            campaign.start + campaign.seeds,
            campaign
                .shard
                .as_ref()
                .map(|shard| format!(" (shard {shard})"))
                .unwrap_or_default(),
            if campaign.git_commit.is_empty() {
                "-"
            } else {
                &campaign.git_commit
            },
        )),
        Line::from(format!(
            "{} seeds in {wall_s:.1} s on {} jobs ({:.1} seeds/s) · {} simulated requests · {} server kills · {} simulated",
            campaign.seeds,
            campaign.jobs,
            campaign.seeds_per_s,
            format::count(campaign.simulated_requests as f64),
            campaign.server_kills,
            format::duration(std::time::Duration::from_millis(campaign.simulated_time_ms)),
        )),
    ];
    let [header_area, violations_area, buggify_area, replay_area] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(4),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(header)
            .wrap(Wrap { trim: true })
            .block(framed(format!(" {path} "))),
        header_area,
    );

    let violations_title = format!(
        " violations: {} in {} seeds ",
        campaign.violations.len(),
        campaign.seeds
    );
    if campaign.violations.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "none: every seed's history passed every check",
                Style::default().fg(Color::Green),
            ))
            .block(framed(violations_title)),
            violations_area,
        );
    } else {
        // As wide as the longest rule id: `unchecked` and `liveness` are
        // longer than the SPEC's ids, and a cut-off rule reads as another.
        let rule_width = campaign
            .violations
            .iter()
            .map(|violation| violation.rule.chars().count())
            .max()
            .unwrap_or(0)
            .max("rule".len());
        let rows = campaign.violations.iter().map(|violation| {
            Row::new([
                violation.seed.to_string(),
                violation.rule.clone(),
                violation.message.clone(),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(u16::try_from(rule_width).unwrap_or(u16::MAX)),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(["seed", "rule", "message"]).style(header_style()))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .block(framed(violations_title).title_style(Style::default().fg(Color::Red)));
        let visible = usize::from(violations_area.height.saturating_sub(3)).max(1);
        let mut state = TableState::default()
            .with_offset((selected + 1).saturating_sub(visible))
            .with_selected(Some(selected));
        frame.render_stateful_widget(table, violations_area, &mut state);
    }

    let fired = campaign
        .buggify
        .values()
        .filter(|point| point.fired > 0)
        .count();
    let rows = campaign.buggify.iter().map(|(name, point)| {
        let share = if point.reached == 0 {
            0.0
        } else {
            point.fired as f64 / point.reached as f64
        };
        Row::new([
            name.clone(),
            format::count(point.reached as f64),
            format::count(point.fired as f64),
            format!("{:.1}%", share * 100.0),
            bar(share, 20),
        ])
        .style(if point.fired == 0 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        })
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(20),
        ],
    )
    .header(Row::new(["BUGGIFY point", "reached", "fired", "fired", ""]).style(header_style()))
    .block(framed(format!(
        " BUGGIFY coverage: {fired} of {} points fired{} ",
        campaign.buggify.len(),
        if campaign.buggify_never_fired.is_empty() {
            String::new()
        } else {
            format!("; never: {}", campaign.buggify_never_fired.join(", "))
        }
    )));
    frame.render_widget(table, buggify_area);

    let replay = match campaign.violations.get(selected) {
        Some(violation) => Line::from(vec![
            Span::styled(format!("seed {}: ", violation.seed), header_style()),
            Span::raw(campaign.replay_command(violation)),
        ]),
        None => Line::from("no failing seed to replay"),
    };
    frame.render_widget(
        Paragraph::new(replay)
            .wrap(Wrap { trim: false })
            .block(framed(" replay (copy) ")),
        replay_area,
    );
}
