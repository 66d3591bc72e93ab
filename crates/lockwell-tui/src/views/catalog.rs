//! The planted-bug catalog (`results/catalog.json`): for `lockwell-sim
//! catalog`'s file, each bug with its rule, campaign, whether and how fast
//! the simulator caught it, and the selected bug's story and replay
//! command; any other `catalog.json` is shown without a fixed schema, its
//! scalar fields as a header and its array of bugs as a table whose
//! columns are the bugs' scalar fields.

use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};
use serde_json::{Map, Value};

use super::parts::{framed, header_style};
use crate::results_dir::{Catalog, PlantedCatalog};

/// Columns shown first when a bug has them, in this order.
const LEADING_COLUMNS: [&str; 8] = [
    "name", "bug", "id", "rule", "workload", "caught", "detected", "seed",
];
/// Field names whose `true` (or non-null seed) means the bug was caught.
const CAUGHT_FIELDS: [&str; 4] = ["caught", "detected", "found", "first_failing_seed"];

/// The catalog's bugs: a top-level array, or the first array of objects
/// among its fields (`bugs` or `entries` preferred).
#[must_use]
pub fn bugs(catalog: &Value) -> Vec<&Map<String, Value>> {
    fn objects(array: &[Value]) -> Vec<&Map<String, Value>> {
        array.iter().filter_map(Value::as_object).collect()
    }
    match catalog {
        Value::Array(array) => objects(array),
        Value::Object(fields) => ["bugs", "entries"]
            .iter()
            .filter_map(|name| fields.get(*name))
            .chain(fields.values())
            .filter_map(Value::as_array)
            .map(|array| objects(array))
            .find(|bugs| !bugs.is_empty())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn is_caught(bug: &Map<String, Value>) -> Option<bool> {
    CAUGHT_FIELDS.iter().find_map(|name| match bug.get(*name)? {
        Value::Bool(caught) => Some(*caught),
        Value::Null => Some(false),
        Value::Number(_) => Some(true),
        _ => None,
    })
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some("-".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `N planted bugs, M caught`.
#[must_use]
pub fn headline(catalog: &Catalog) -> String {
    match catalog {
        Catalog::Planted(planted) => format!(
            "{} planted bugs, {} detected ({:.0}%)",
            planted.bugs,
            planted.detected,
            planted.detection_rate * 100.0
        ),
        Catalog::Other(document) => untyped_headline(document),
    }
}

fn untyped_headline(catalog: &Value) -> String {
    let bugs = bugs(catalog);
    let caught = bugs
        .iter()
        .filter(|bug| is_caught(bug) == Some(true))
        .count();
    let judged = bugs.iter().any(|bug| is_caught(bug).is_some());
    if judged {
        format!("{} planted bugs, {caught} caught", bugs.len())
    } else {
        format!("{} planted bugs", bugs.len())
    }
}

/// Renders the catalog; `selected` is the bug whose details show.
pub fn render(frame: &mut Frame, area: Rect, path: &str, catalog: &Catalog, selected: usize) {
    match catalog {
        Catalog::Planted(planted) => render_planted(frame, area, path, planted, selected),
        Catalog::Other(document) => render_untyped(frame, area, path, document, selected),
    }
}

fn render_planted(
    frame: &mut Frame,
    area: Rect,
    path: &str,
    catalog: &PlantedCatalog,
    selected: usize,
) {
    let [header_area, table_area, details_area] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(8),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(format!(
            "commit {} · {} jobs · at most {} seeds or {} CPU s per bug",
            catalog.git_commit, catalog.jobs, catalog.max_seeds, catalog.budget_cpu_s
        ))
        .block(framed(format!(
            " {path}: {} ",
            headline(&Catalog::Planted(catalog.clone()))
        ))),
        header_area,
    );
    let rows = catalog.entries.iter().map(|entry| {
        Row::new([
            entry.bug.clone(),
            entry.layer.clone(),
            entry.rule.clone(),
            entry.workload.clone(),
            entry.fault_profile.clone(),
            if entry.detected { "yes" } else { "NO" }.to_owned(),
            entry.seeds_to_first_detection.map_or_else(
                || format!("-/{}", entry.seeds_run),
                |seeds| seeds.to_string(),
            ),
            entry
                .failing_seed
                .map_or_else(|| "-".to_owned(), |seed| seed.to_string()),
            entry.rules_reported.join(","),
        ])
        .style(Style::default().fg(if entry.detected {
            Color::Green
        } else {
            Color::Red
        }))
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(3),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new([
            "bug", "layer", "rule", "workload", "faults", "found", "seeds", "seed", "reported",
        ])
        .style(header_style()),
    )
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
    .block(framed(" bugs (↑↓ select) "));
    let visible = usize::from(table_area.height.saturating_sub(3)).max(1);
    let mut state = TableState::default()
        .with_offset((selected + 1).saturating_sub(visible))
        .with_selected(Some(selected));
    frame.render_stateful_widget(table, table_area, &mut state);
    let details = catalog
        .entries
        .get(selected)
        .map_or_else(Vec::new, |entry| {
            vec![
                Line::from(format!("{}: {}", entry.bug, entry.description)),
                Line::from(format!("models: {}", entry.models)),
                Line::from(format!("expected: {}", entry.expected_detection)),
                Line::from(format!(
                    "first violation: {}",
                    entry.first_violation.as_deref().unwrap_or("-")
                )),
                Line::from(format!(
                    "replay: {}",
                    entry.replay.as_deref().unwrap_or("-")
                )),
            ]
        });
    frame.render_widget(
        Paragraph::new(details)
            .wrap(Wrap { trim: true })
            .block(framed(" selected bug ")),
        details_area,
    );
}

fn render_untyped(frame: &mut Frame, area: Rect, path: &str, catalog: &Value, scroll: usize) {
    let header: Vec<Line> = catalog
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|(name, value)| Some(format!("{name}: {}", scalar(value)?)))
                .collect::<Vec<_>>()
        })
        .filter(|fields| !fields.is_empty())
        .map(|fields| vec![Line::from(fields.join(" · "))])
        .unwrap_or_default();
    let bugs = bugs(catalog);
    let mut columns: Vec<String> = LEADING_COLUMNS
        .iter()
        .filter(|name| {
            bugs.iter()
                .any(|bug| bug.get(**name).and_then(scalar).is_some())
        })
        .map(|name| (*name).to_owned())
        .collect();
    let others: BTreeSet<&String> = bugs
        .iter()
        .flat_map(|bug| bug.iter())
        .filter(|(name, value)| {
            !LEADING_COLUMNS.contains(&name.as_str()) && scalar(value).is_some()
        })
        .map(|(name, _)| name)
        .collect();
    columns.extend(others.into_iter().cloned());
    let rows = bugs.iter().skip(scroll).map(|bug| {
        let style = match is_caught(bug) {
            Some(true) => Style::default().fg(Color::Green),
            Some(false) => Style::default().fg(Color::Red),
            None => Style::default(),
        };
        Row::new(
            columns
                .iter()
                .map(|column| bug.get(column).and_then(scalar).unwrap_or_default()),
        )
        .style(style)
    });
    let widths = vec![Constraint::Fill(1); columns.len().max(1)];
    let table = Table::new(rows, widths)
        .header(Row::new(columns.clone()).style(header_style()))
        .block(framed(format!(" {path}: {} ", untyped_headline(catalog))));
    let header_height = if header.is_empty() { 0 } else { 4 };
    let [header_area, table_area] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Fill(1)]).areas(area);
    if !header.is_empty() {
        frame.render_widget(
            Paragraph::new(header)
                .wrap(Wrap { trim: true })
                .block(framed(" catalog ")),
            header_area,
        );
    }
    frame.render_widget(table, table_area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bugs_are_found_at_the_top_or_in_the_first_array_of_objects() {
        let cases = [
            (serde_json::json!([{"name": "a"}, {"name": "b"}]), 2),
            (
                serde_json::json!({"commit": "x", "bugs": [{"name": "a"}]}),
                1,
            ),
            (
                serde_json::json!({"version": 1, "results": [{"name": "a"}, {}]}),
                2,
            ),
            (serde_json::json!({"version": 1, "names": ["a", "b"]}), 0),
            (serde_json::json!("text"), 0),
        ];
        for (catalog, expected) in cases {
            assert_eq!(bugs(&catalog).len(), expected, "{catalog}");
        }
    }

    #[test]
    fn caught_bugs_are_counted_from_a_flag_or_a_failing_seed() {
        let catalog = serde_json::json!({"bugs": [
            {"name": "a", "caught": true},
            {"name": "b", "caught": false},
            {"name": "c", "first_failing_seed": 17},
            {"name": "d", "first_failing_seed": null},
        ]});
        assert_eq!(untyped_headline(&catalog), "4 planted bugs, 2 caught");
        assert_eq!(
            untyped_headline(&serde_json::json!([{"name": "a"}])),
            "1 planted bugs"
        );
    }
}
