//! The results browser behind `lockwell dash`: its state, what each key
//! does to it, and how it draws. Pure: [`DashApp::handle_key`] and [`draw`]
//! touch no terminal, so tests drive them with key events and a
//! `TestBackend`; [`crate::terminal::run_dash`] runs them on a real one.

use std::collections::BTreeSet;

use hdrhistogram::Histogram;
use lockwell_results::{Comparison, RunResult, Thresholds};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::measurements::{HistogramLabel, merge_into};
use crate::results_dir::{Catalog, Content, ResultsDir, StoredRun};
use crate::views::{
    bench, campaign, catalog, checksum, compare, help, list, parts, run, sweep, text,
};

/// Rows a page key moves.
const PAGE_ROWS: usize = 10;

/// Which screen is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    List,
    /// The selected entry.
    Detail,
    /// The entries marked A against those marked B.
    Compare,
}

/// What the loop should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum DashAction {
    Continue,
    /// Read the folder again (new results may have been written).
    Reload,
    Quit,
}

/// A comparison, computed when asked for.
struct ComparisonView {
    a_paths: Vec<String>,
    b_paths: Vec<String>,
    result: Result<Comparison, String>,
    a_distribution: Option<(String, Histogram<u64>)>,
    b_distribution: Option<(String, Histogram<u64>)>,
}

/// The browser's state.
pub struct DashApp {
    dir: ResultsDir,
    screen: Screen,
    selected: usize,
    side_a: BTreeSet<usize>,
    side_b: BTreeSet<usize>,
    run_view: run::RunViewState,
    /// The selected violation of a campaign, or workload of a sweep.
    detail_item: usize,
    comparison: Option<ComparisonView>,
    help: bool,
    status: Option<String>,
}

impl DashApp {
    #[must_use]
    pub fn new(dir: ResultsDir) -> Self {
        let status = (!dir.unreadable.is_empty()).then(|| {
            let (path, reason) = &dir.unreadable[0];
            format!(
                "{} files not read; first: {}: {reason}",
                dir.unreadable.len(),
                path.display()
            )
        });
        Self {
            dir,
            screen: Screen::List,
            selected: 0,
            side_a: BTreeSet::new(),
            side_b: BTreeSet::new(),
            run_view: run::RunViewState::default(),
            detail_item: 0,
            comparison: None,
            help: false,
            status,
        }
    }

    /// Replaces the folder's entries, keeping the selection where it can.
    pub fn reload(&mut self, dir: ResultsDir) {
        let selected_path = self
            .dir
            .entries
            .get(self.selected)
            .map(|entry| entry.path.clone());
        let mut reloaded = Self::new(dir);
        reloaded.selected = selected_path
            .and_then(|path| {
                reloaded
                    .dir
                    .entries
                    .iter()
                    .position(|entry| entry.path == path)
            })
            .unwrap_or(0);
        *self = reloaded;
    }

    #[must_use]
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// Selects the first entry whose path starts with `prefix`; `false`
    /// if there is none.
    pub fn select_path(&mut self, prefix: &str) -> bool {
        let found = self
            .dir
            .entries
            .iter()
            .position(|entry| entry.path.to_string_lossy().starts_with(prefix));
        if let Some(index) = found {
            self.selected = index;
        }
        found.is_some()
    }

    /// Applies one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> DashAction {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return DashAction::Quit;
        }
        if self.help {
            self.help = false;
            return DashAction::Continue;
        }
        self.status = None;
        match key.code {
            KeyCode::Char('q') => return DashAction::Quit,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('r') => return DashAction::Reload,
            _ => match self.screen {
                Screen::List => self.list_key(key.code),
                Screen::Detail => self.detail_key(key.code),
                Screen::Compare => self.compare_key(key.code),
            },
        }
        DashAction::Continue
    }

    fn move_selection(&mut self, code: KeyCode) -> bool {
        let last = self.dir.entries.len().saturating_sub(1);
        self.selected = match code {
            KeyCode::Up | KeyCode::Char('k') => self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => (self.selected + 1).min(last),
            KeyCode::PageUp => self.selected.saturating_sub(PAGE_ROWS),
            KeyCode::PageDown => (self.selected + PAGE_ROWS).min(last),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => last,
            _ => return false,
        };
        true
    }

    fn list_key(&mut self, code: KeyCode) {
        if self.move_selection(code) {
            return;
        }
        match code {
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l')
                if !self.dir.entries.is_empty() =>
            {
                self.open_detail();
            }
            KeyCode::Char('a') => toggle_mark(&mut self.side_a, &mut self.side_b, self.selected),
            KeyCode::Char('b') => toggle_mark(&mut self.side_b, &mut self.side_a, self.selected),
            KeyCode::Char('x') => {
                self.side_a.clear();
                self.side_b.clear();
            }
            KeyCode::Char('c') => self.open_comparison(),
            _ => {}
        }
    }

    fn open_detail(&mut self) {
        self.screen = Screen::Detail;
        self.run_view = run::RunViewState::default();
        self.detail_item = 0;
    }

    fn detail_key(&mut self, code: KeyCode) {
        let Some(entry) = self.dir.entries.get(self.selected) else {
            self.screen = Screen::List;
            return;
        };
        match code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Left | KeyCode::Char('h') => {
                self.screen = Screen::List;
            }
            KeyCode::Char('n') => {
                self.selected = (self.selected + 1).min(self.dir.entries.len() - 1);
                self.open_detail();
            }
            KeyCode::Char('p') => {
                self.selected = self.selected.saturating_sub(1);
                self.open_detail();
            }
            KeyCode::Tab | KeyCode::BackTab => {
                if let Content::Sweep(sweep) = &entry.content {
                    let count = sweep.workloads.len().max(1);
                    self.detail_item = if code == KeyCode::Tab {
                        (self.detail_item + 1) % count
                    } else {
                        (self.detail_item + count - 1) % count
                    };
                } else if let Content::Run(stored) = &entry.content
                    && !stored.histograms.is_empty()
                {
                    let count = stored.histograms.len();
                    let current = self
                        .run_view
                        .distribution
                        .unwrap_or_else(|| bench::default_distribution(&stored.histograms));
                    let next = if code == KeyCode::Tab {
                        (current + 1) % count
                    } else {
                        (current + count - 1) % count
                    };
                    self.run_view.distribution = Some(next);
                }
            }
            KeyCode::Up | KeyCode::Char('k') => match &entry.content {
                Content::Campaign(_) | Content::Catalog(_) => {
                    self.detail_item = self.detail_item.saturating_sub(1);
                }
                _ => self.run_view.scroll = self.run_view.scroll.saturating_sub(1),
            },
            KeyCode::Down | KeyCode::Char('j') => match &entry.content {
                Content::Campaign(campaign) => {
                    self.detail_item =
                        (self.detail_item + 1).min(campaign.violations.len().saturating_sub(1));
                }
                Content::Catalog(found) => {
                    let count = match &**found {
                        Catalog::Planted(planted) => planted.entries.len(),
                        Catalog::Other(document) => catalog::bugs(document).len(),
                    };
                    self.detail_item = (self.detail_item + 1).min(count.saturating_sub(1));
                }
                _ => self.run_view.scroll += 1,
            },
            _ => {}
        }
    }

    fn compare_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Left | KeyCode::Char('h') => {
                self.screen = Screen::List;
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.run_view.scroll = self.run_view.scroll.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') => self.run_view.scroll += 1,
            _ => {}
        }
    }

    fn runs_of(&self, side: &BTreeSet<usize>) -> Vec<(String, &StoredRun)> {
        side.iter()
            .filter_map(|index| {
                let entry = self.dir.entries.get(*index)?;
                match &entry.content {
                    Content::Run(run) => Some((entry.path.display().to_string(), &**run)),
                    _ => None,
                }
            })
            .collect()
    }

    /// Marks the selected entry for side A (or B) of a comparison.
    pub fn mark(&mut self, side_a: bool) {
        if side_a {
            toggle_mark(&mut self.side_a, &mut self.side_b, self.selected);
        } else {
            toggle_mark(&mut self.side_b, &mut self.side_a, self.selected);
        }
    }

    fn open_comparison(&mut self) {
        let a = self.runs_of(&self.side_a);
        let b = self.runs_of(&self.side_b);
        if a.is_empty() || b.is_empty() {
            self.status = Some(
                "mark result files with a and b first (several per side for a verdict)".to_owned(),
            );
            return;
        }
        let results = |runs: &[(String, &StoredRun)]| -> Vec<RunResult> {
            runs.iter().map(|(_, run)| run.result.clone()).collect()
        };
        let result = lockwell_results::compare(&results(&a), &results(&b), &Thresholds::default())
            .map_err(|error| error.to_string());
        let label = a
            .first()
            .and_then(|(_, run)| {
                run.histograms
                    .get(bench::default_distribution(&run.histograms))
            })
            .map(|(label, _)| label.clone());
        let distribution = |runs: &[(String, &StoredRun)]| {
            let label = label.clone()?;
            let mut merged = std::collections::BTreeMap::new();
            for (_, run) in runs {
                for (_, histogram) in run.histograms.iter().filter(|(other, _)| *other == label) {
                    merge_into(&mut merged, label.clone(), histogram);
                }
            }
            let histogram = merged.remove(&label)?;
            Some((describe_label(&label), histogram))
        };
        self.comparison = Some(ComparisonView {
            a_distribution: distribution(&a),
            b_distribution: distribution(&b),
            a_paths: a.iter().map(|(path, _)| path.clone()).collect(),
            b_paths: b.iter().map(|(path, _)| path.clone()).collect(),
            result,
        });
        self.run_view = run::RunViewState::default();
        self.screen = Screen::Compare;
    }

    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        match self.screen {
            Screen::List => &[
                ("↑↓ PgUp PgDn", "select"),
                ("enter", "open"),
                ("a / b", "mark for side A / B"),
                ("c", "compare A with B"),
                ("x", "clear marks"),
                ("r", "reload"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Screen::Detail => &[
                ("esc", "back"),
                ("n / p", "next / previous entry"),
                ("tab", "next histogram / sweep workload"),
                ("↑↓", "scroll / select violation or bug"),
                ("r", "reload"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Screen::Compare => &[
                ("esc", "back"),
                ("↑↓", "scroll"),
                ("?", "help"),
                ("q", "quit"),
            ],
        }
    }
}

fn describe_label(label: &HistogramLabel) -> String {
    format!("{}/{}/{}", label.view, label.op, label.outcome)
}

/// Puts `index` on `side` (off the other side), or takes it off.
fn toggle_mark(side: &mut BTreeSet<usize>, other: &mut BTreeSet<usize>, index: usize) {
    if !side.remove(&index) {
        other.remove(&index);
        side.insert(index);
    }
}

/// Draws `app` over the whole frame.
pub fn draw(frame: &mut Frame, app: &DashApp) {
    let [body, footer] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(frame.area());
    let root = app.dir.root.display().to_string();
    match (app.screen, app.dir.entries.get(app.selected)) {
        (Screen::Detail, Some(entry)) => {
            let path = entry.path.display().to_string();
            match &entry.content {
                Content::Run(stored) => run::render(frame, body, &path, stored, &app.run_view),
                Content::Campaign(found) => {
                    campaign::render(frame, body, &path, found, app.detail_item);
                }
                Content::Sweep(found) => sweep::render(frame, body, &path, found, app.detail_item),
                Content::Checksum(summary) => checksum::render(frame, body, &path, summary),
                Content::Catalog(found) => {
                    catalog::render(frame, body, &path, found, app.detail_item);
                }
                Content::Text(report) => {
                    text::render(frame, body, &path, report, app.run_view.scroll)
                }
            }
        }
        (Screen::Compare, _) if app.comparison.is_some() => {
            let comparison = app.comparison.as_ref().expect("checked above");
            fn side<'a>(
                paths: &[String],
                distribution: &'a Option<(String, Histogram<u64>)>,
            ) -> compare::Side<'a> {
                compare::Side {
                    paths: paths.to_vec(),
                    distribution: distribution
                        .as_ref()
                        .map(|(label, histogram)| (label.clone(), histogram)),
                }
            }
            compare::render(
                frame,
                body,
                &side(&comparison.a_paths, &comparison.a_distribution),
                &side(&comparison.b_paths, &comparison.b_distribution),
                &comparison.result,
                app.run_view.scroll,
            );
        }
        _ if app.dir.entries.is_empty() => frame.render_widget(
            Paragraph::new(format!(
                "no results in {root}: run `cargo xtask run` or `lockwell bench` to make some"
            ))
            .block(parts::framed(format!(" {root} "))),
            body,
        ),
        _ => list::render(
            frame,
            body,
            &app.dir.entries,
            app.selected,
            &list::Marks {
                side_a: &app.side_a,
                side_b: &app.side_b,
            },
            &root,
        ),
    }
    let footer_line = app.status.as_ref().map_or_else(
        || parts::key_line(app.keys()),
        |status| Line::from(status.clone()),
    );
    frame.render_widget(Paragraph::new(footer_line), footer);
    if app.help {
        help::render(frame, body, "keys (any key closes)", app.keys());
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::results_dir::Entry;

    fn app_of_reports(count: usize) -> DashApp {
        let entries = (0..count)
            .map(|index| Entry {
                path: PathBuf::from(format!("report-{index}.txt")),
                content: Content::Text(format!("report {index}")),
            })
            .collect();
        DashApp::new(ResultsDir {
            root: PathBuf::from("results"),
            entries,
            unreadable: Vec::new(),
        })
    }

    fn press(app: &mut DashApp, code: KeyCode) -> DashAction {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn a_mark_moves_between_sides_and_a_second_press_removes_it() {
        let mut app = app_of_reports(2);
        let cases = [
            (KeyCode::Char('a'), vec![0], vec![]),
            (KeyCode::Char('b'), vec![], vec![0]),
            (KeyCode::Char('b'), vec![], vec![]),
            (KeyCode::Char('a'), vec![0], vec![]),
            (KeyCode::Char('x'), vec![], vec![]),
        ];
        for (code, side_a, side_b) in cases {
            assert_eq!(press(&mut app, code), DashAction::Continue);
            assert_eq!(
                app.side_a.iter().copied().collect::<Vec<_>>(),
                side_a,
                "{code:?}"
            );
            assert_eq!(
                app.side_b.iter().copied().collect::<Vec<_>>(),
                side_b,
                "{code:?}"
            );
        }
    }

    #[test]
    fn detail_keys_walk_the_entries_within_bounds_and_go_back() {
        let mut app = app_of_reports(3);
        let cases = [
            (KeyCode::Enter, Screen::Detail, 0),
            (KeyCode::Char('p'), Screen::Detail, 0),
            (KeyCode::Char('n'), Screen::Detail, 1),
            (KeyCode::Char('n'), Screen::Detail, 2),
            (KeyCode::Char('n'), Screen::Detail, 2),
            (KeyCode::Esc, Screen::List, 2),
            (KeyCode::Home, Screen::List, 0),
            (KeyCode::Up, Screen::List, 0),
            (KeyCode::End, Screen::List, 2),
            (KeyCode::Down, Screen::List, 2),
        ];
        for (code, screen, selected) in cases {
            assert_eq!(press(&mut app, code), DashAction::Continue);
            assert_eq!((app.screen, app.selected), (screen, selected), "{code:?}");
        }
    }

    #[test]
    fn help_closes_on_any_key_and_q_quits_from_any_screen() {
        let mut app = app_of_reports(1);
        assert_eq!(press(&mut app, KeyCode::Char('?')), DashAction::Continue);
        assert!(app.help);
        assert_eq!(
            press(&mut app, KeyCode::Char('q')),
            DashAction::Continue,
            "closes help only"
        );
        assert!(!app.help);
        assert_eq!(press(&mut app, KeyCode::Char('r')), DashAction::Reload);
        assert_eq!(press(&mut app, KeyCode::Enter), DashAction::Continue);
        assert_eq!(press(&mut app, KeyCode::Char('q')), DashAction::Quit);
    }
}
