//! A text report (such as `cargo xtask bench-ab`'s), scrolled.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::parts::framed;

/// Renders `text` from line `scroll` on.
pub fn render(frame: &mut Frame, area: Rect, path: &str, text: &str, scroll: usize) {
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(text.to_owned())
            .scroll((scroll, 0))
            .block(framed(format!(" {path} "))),
        area,
    );
}
