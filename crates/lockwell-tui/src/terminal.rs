//! The real terminal: raw mode and the alternate screen for as long as a
//! [`TerminalGuard`] lives, restored when it drops (on return and on
//! error) and by ratatui's panic hook (on panic); and the two loops that
//! draw the views on it.
//!
//! ratatui draws into a back buffer and writes only the cells that changed,
//! so a redraw never flickers; a resize event just triggers the next draw
//! at the new size.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::dash::{self, DashAction, DashApp};
use crate::live::{self, LiveAction, LiveEvent, LiveView};
use crate::results_dir::ResultsDir;

/// How often the live view redraws: often enough to look live, seldom
/// enough to cost the generator nothing measurable (see docs/dashboard.md).
pub const LIVE_FRAME_PERIOD: Duration = Duration::from_millis(100);

/// The terminal in raw mode on the alternate screen; restored on drop.
pub struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, and installs a panic hook
    /// that restores the terminal before the panic message prints.
    ///
    /// # Errors
    /// The terminal refused raw mode or the alternate screen.
    pub fn enter() -> io::Result<Self> {
        Ok(Self {
            terminal: ratatui::try_init()?,
        })
    }

    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Browses the results under `root` until `q`.
///
/// # Errors
/// `root` cannot be listed, or the terminal fails.
pub fn run_dash(root: &Path, select: Option<&str>) -> io::Result<()> {
    let mut app = DashApp::new(ResultsDir::load(root)?);
    if let Some(prefix) = select {
        app.select_path(prefix);
    }
    let mut guard = TerminalGuard::enter()?;
    loop {
        guard.terminal().draw(|frame| dash::draw(frame, &app))?;
        // Blocks until a key or a resize; either way the loop redraws.
        if let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            match app.handle_key(key) {
                DashAction::Continue => {}
                DashAction::Reload => app.reload(ResultsDir::load(root)?),
                DashAction::Quit => return Ok(()),
            }
        }
    }
}

/// Shows `view` while the generator sends `events`, at a fixed frame rate,
/// until the run is over; `q` sets `stop`, which ends the run early (it
/// still sends its `Finished`). Returns the view as last drawn.
///
/// # Errors
/// The terminal fails (the run goes on; the caller sets `stop`).
pub fn run_live(
    mut view: LiveView,
    events: &Receiver<LiveEvent>,
    stop: &AtomicBool,
) -> io::Result<LiveView> {
    let mut guard = TerminalGuard::enter()?;
    // The dashboard's own clock: the live view is never simulated.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    loop {
        let frame_start = started.elapsed();
        view.tick(frame_start);
        loop {
            match events.try_recv() {
                Ok(event) => view.apply(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if !view.is_over() {
                        view.apply(LiveEvent::Failed {
                            message: "the generator ended without a result".to_owned(),
                        });
                    }
                    break;
                }
            }
        }
        guard.terminal().draw(|frame| live::draw(frame, &view))?;
        if view.is_over() {
            return Ok(view);
        }
        let next_frame =
            LIVE_FRAME_PERIOD.saturating_sub(started.elapsed().saturating_sub(frame_start));
        if event::poll(next_frame)?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
            && view.handle_key(key) == LiveAction::Stop
        {
            stop.store(true, Ordering::Relaxed);
        }
    }
}
