//! The list of runs: one row per entry of the results folder with its kind,
//! date, commit, machine and headline figure.

use lockwell_results::{ResultKind, RunResult};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table, TableState};

use super::parts::{framed, header_style};
use crate::format;
use crate::results_dir::{Campaign, ChecksumSummary, Content, Entry};
use crate::sweep::SweepData;

/// Below this width the list leaves out the commit and machine columns.
const NARROW_WIDTH: u16 = 110;

/// The kind column.
#[must_use]
pub fn kind_name(entry: &Entry) -> &'static str {
    match &entry.content {
        Content::Run(run) => match run.result.kind {
            ResultKind::BenchRun => "bench",
            ResultKind::SweepPoint => "sweep point",
            ResultKind::CriterionSummary => "criterion",
            ResultKind::SimCampaign => "campaign",
            ResultKind::Instructions => "instructions",
            _ => "result",
        },
        Content::Campaign(_) => "sim campaign",
        Content::Checksum(_) => "checksums",
        Content::Catalog(_) => "bug catalog",
        Content::Sweep(_) => "sweep",
        Content::Text(_) => "report",
    }
}

/// The date column: when the run finished, UTC.
#[must_use]
pub fn date(entry: &Entry) -> String {
    match &entry.content {
        Content::Run(run) => format::utc_minute(run.result.created_at_unix_ms),
        _ => "-".to_owned(),
    }
}

/// The commit column, `+` when the tree was dirty.
#[must_use]
pub fn commit(entry: &Entry) -> String {
    match &entry.content {
        Content::Run(run) => run.result.git.as_ref().map_or_else(
            || "-".to_owned(),
            |git| {
                let dirty = if git.dirty { "+" } else { "" };
                format!("{}{dirty}", format::short_commit(&git.commit))
            },
        ),
        Content::Campaign(campaign) if !campaign.git_commit.is_empty() => {
            format::short_commit(&campaign.git_commit)
        }
        _ => "-".to_owned(),
    }
}

/// The machine column: CPU model and logical cores.
#[must_use]
pub fn machine(entry: &Entry) -> String {
    match &entry.content {
        Content::Run(run) if !run.result.machine.cpu_model.is_empty() => format!(
            "{} x{}",
            run.result.machine.cpu_model, run.result.machine.logical_cores
        ),
        _ => "-".to_owned(),
    }
}

/// The figure that says most about the entry.
#[must_use]
pub fn headline(entry: &Entry) -> String {
    match &entry.content {
        Content::Run(run) => run_headline(&run.result),
        Content::Campaign(campaign) => campaign_headline(campaign),
        Content::Checksum(summary) => checksum_headline(summary),
        Content::Catalog(catalog) => super::catalog::headline(catalog),
        Content::Sweep(sweep) => sweep_headline(sweep),
        Content::Text(text) => text
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("(empty)")
            .trim()
            .to_owned(),
    }
}

fn run_headline(result: &RunResult) -> String {
    let metric = |name: &str| result.metrics.get(name).map(|metric| metric.value);
    if let Some(operations_per_s) = metric("operations_per_s") {
        let mut text = match metric("goodput_writes_per_s") {
            Some(goodput) => format!("goodput {} w/s", format::count(goodput)),
            None => format!("{} ops/s", format::count(operations_per_s)),
        };
        if let Some(conflict_rate) = metric("conflict_rate") {
            text.push_str(&format!(
                ", conflicts {}",
                format::percent(Some(conflict_rate))
            ));
        }
        let p99 = result
            .metrics
            .iter()
            .find(|(name, _)| name.ends_with("_p99_ns") && !name.contains("_service_"));
        if let Some((name, p99)) = p99 {
            let op = name.trim_end_matches("_p99_ns");
            text.push_str(&format!(", {op} p99 {}", format::nanos(p99.value as u64)));
        }
        return text;
    }
    match result.metrics.iter().next() {
        Some((name, first)) => format!(
            "{} metrics; {name} {} {}",
            result.metrics.len(),
            format::three_digits(first.value),
            first.unit
        ),
        None => "no metrics".to_owned(),
    }
}

fn sweep_headline(sweep: &SweepData) -> String {
    let mut text = format!(
        "{} points, {} workloads",
        sweep.point_count,
        sweep.workloads.len()
    );
    match &sweep.validation {
        Ok(summary) => {
            if let Some(error) = summary.median_abs_goodput_error {
                text.push_str(&format!(
                    ", model off by {} (goodput, median) on {} held-out points",
                    format::percent(Some(error)),
                    summary.held_out_points
                ));
            }
        }
        Err(_) => text.push_str(", no model"),
    }
    text
}

fn campaign_headline(campaign: &Campaign) -> String {
    let fired = campaign
        .buggify
        .values()
        .filter(|point| point.fired > 0)
        .count();
    format!(
        "{} ({}): {} seeds, {} violations, buggify {fired}/{} fired",
        campaign.workload,
        campaign.fault_profile,
        campaign.seeds,
        campaign.violations.len(),
        campaign.buggify.len()
    )
}

fn checksum_headline(summary: &ChecksumSummary) -> String {
    let ratios = summary
        .algorithms
        .iter()
        .map(|algorithm| algorithm.engine_to_fastest_crate);
    let lowest = ratios.clone().fold(f64::INFINITY, f64::min);
    let highest = ratios.fold(f64::NEG_INFINITY, f64::max);
    if summary.algorithms.is_empty() {
        return "no algorithms".to_owned();
    }
    format!(
        "{} algorithms at {} KiB, engine {:.1}-{:.1}% of the fastest crate",
        summary.algorithms.len(),
        summary.buffer_len_bytes / 1024,
        lowest * 100.0,
        highest * 100.0
    )
}

/// Which entries are marked for the two sides of a comparison.
pub struct Marks<'a> {
    pub side_a: &'a std::collections::BTreeSet<usize>,
    pub side_b: &'a std::collections::BTreeSet<usize>,
}

/// Renders the list with `selected` highlighted and kept in view.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    entries: &[Entry],
    selected: usize,
    marks: &Marks<'_>,
    title: &str,
) {
    let narrow = area.width < NARROW_WIDTH;
    let longest_path = entries
        .iter()
        .map(|entry| entry.path.as_os_str().len())
        .max()
        .unwrap_or(0);
    let path_width = u16::try_from(longest_path)
        .unwrap_or(u16::MAX)
        .clamp(16, if narrow { 30 } else { 44 });
    let mark = |index: usize| match (marks.side_a.contains(&index), marks.side_b.contains(&index)) {
        (true, _) => "A",
        (_, true) => "B",
        _ => " ",
    };
    let rows = entries.iter().enumerate().map(|(index, entry)| {
        let mut cells = vec![
            mark(index).to_owned(),
            entry.path.display().to_string(),
            kind_name(entry).to_owned(),
            date(entry),
        ];
        if !narrow {
            cells.push(commit(entry));
            cells.push(machine(entry));
        }
        cells.push(headline(entry));
        Row::new(cells)
    });
    let mut header = vec!["", "path", "kind", "date (UTC)"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(path_width),
        Constraint::Length(12),
        Constraint::Length(16),
    ];
    if !narrow {
        header.extend(["commit", "machine"]);
        widths.extend([Constraint::Length(8), Constraint::Length(12)]);
    }
    header.push("headline");
    widths.push(Constraint::Fill(1));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(header_style()))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .block(framed(Line::from(format!(
            " {title}: {} entries ",
            entries.len()
        ))));
    // Rows visible below the header, inside the border.
    let visible_rows = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = (selected + 1).saturating_sub(visible_rows);
    let mut state = TableState::default()
        .with_offset(offset)
        .with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}
