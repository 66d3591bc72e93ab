//! The `?` overlay: every key of the screen it is shown over.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::parts::{framed, header_style};

/// Renders `keys` in a box centred over `area`.
pub fn render(frame: &mut Frame, area: Rect, title: &str, keys: &[(&str, &str)]) {
    let height = u16::try_from(keys.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let width = keys
        .iter()
        .map(|(key, action)| key.chars().count() + action.chars().count() + 4)
        .max()
        .unwrap_or(0)
        .max(title.chars().count() + 4);
    let width = u16::try_from(width).unwrap_or(u16::MAX).saturating_add(2);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let key_width = keys
        .iter()
        .map(|(key, _)| key.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = keys
        .iter()
        .map(|(key, action)| {
            Line::from(vec![
                Span::styled(format!(" {key:>key_width$}  "), header_style()),
                Span::raw((*action).to_owned()),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(framed(format!(" {title} "))),
        popup,
    );
}
