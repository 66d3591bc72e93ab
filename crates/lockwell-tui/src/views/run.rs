//! One stored run: where and how it ran, then for a bench run the
//! percentile table, outcome mix, goodput and conflict rate over time and a
//! latency distribution; for other results the table of metrics.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, Wrap};
use serde_json::Value;

use super::bench;
use super::parts::{framed, header_style};
use crate::format;
use crate::results_dir::StoredRun;

/// What the run view shows besides the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunViewState {
    /// Which histogram the distribution pane shows.
    pub distribution: Option<usize>,
    /// First row of the percentile or metrics table.
    pub scroll: usize,
}

/// One line describing a bench config (`config.load` and
/// `config.target`), or the config's JSON for other results.
#[must_use]
pub fn describe_config(config: &Value) -> Vec<String> {
    let Some(load) = config.get("load") else {
        return if config.is_null() {
            Vec::new()
        } else {
            vec![format!("config {config}")]
        };
    };
    let text = |value: &Value, name: &str| {
        value
            .get(name)
            .map_or_else(String::new, |field| match field {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
    };
    let mode = load.get("mode").cloned().unwrap_or(Value::Null);
    let loop_shape = match text(&mode, "loop").as_str() {
        "open" => format!(
            "open loop, {}/s on {} workers",
            text(&mode, "rate_per_s"),
            text(&mode, "workers")
        ),
        _ => format!("closed loop, {} racers", text(&mode, "racers")),
    };
    let mix = load
        .get("mix")
        .and_then(Value::as_object)
        .map_or_else(String::new, |mix| {
            mix.iter()
                .filter(|(_, weight)| weight.as_u64() != Some(0))
                .map(|(name, weight)| format!("{name}={weight}"))
                .collect::<Vec<_>>()
                .join(",")
        });
    let stop = load.get("stop").cloned().unwrap_or(Value::Null);
    let length = if let Some(duration_ms) = stop.get("duration_ms").and_then(Value::as_u64) {
        format!("{duration_ms} ms")
    } else {
        format!("{} ops", text(&stop, "operations"))
    };
    let retry = load
        .get("cas_retry")
        .map_or_else(String::new, |retry| text(retry, "policy"));
    let mut lines = vec![format!(
        "{loop_shape} · {} keys (zipf {}) · mix {mix} · {} B · cas retry {retry} · {length} after {} ms warm-up",
        text(load, "key_count"),
        text(load, "zipf_exponent"),
        text(load, "payload_len_bytes"),
        text(load, "warmup_ms"),
    )];
    if let Some(target) = config.get("target") {
        let served_by = target.get("served_by").map_or_else(String::new, |served| {
            let server = text(served, "server");
            let storage = text(served, "storage");
            if storage.is_empty() {
                format!(" · {server}")
            } else {
                format!(" · {server}, {storage}")
            }
        });
        let endpoint = text(target, "endpoint");
        lines.push(format!(
            "target {}{}{served_by}",
            text(target, "target"),
            if endpoint.is_empty() {
                String::new()
            } else {
                format!(" {endpoint}")
            }
        ));
    }
    lines
}

/// Renders `run` into `area`.
pub fn render(frame: &mut Frame, area: Rect, path: &str, run: &StoredRun, state: &RunViewState) {
    let result = &run.result;
    let mut header = vec![Line::from(format!(
        "{} · {} · commit {} · {} · {}",
        result.kind.file_stem(),
        format::utc_minute(result.created_at_unix_ms),
        result.git.as_ref().map_or_else(
            || "-".to_owned(),
            |git| format!(
                "{}{}",
                format::short_commit(&git.commit),
                if git.dirty { " (dirty)" } else { "" }
            )
        ),
        if result.machine.cpu_model.is_empty() {
            "machine -".to_owned()
        } else {
            format!(
                "{} x{}",
                result.machine.cpu_model, result.machine.logical_cores
            )
        },
        result.toolchain,
    ))];
    header.extend(describe_config(&result.config).into_iter().map(Line::from));
    let header_height = u16::try_from(header.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let [header_area, body] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(header)
            .wrap(Wrap { trim: true })
            .block(framed(format!(" {path} "))),
        header_area,
    );
    if run.histograms.is_empty() {
        render_metrics(frame, body, run, state.scroll);
        return;
    }
    let [top, bottom] = Layout::vertical([Constraint::Fill(1); 2]).areas(body);
    let [percentiles, outcomes] =
        Layout::horizontal([Constraint::Percentage(68), Constraint::Percentage(32)]).areas(top);
    bench::render_percentiles(frame, percentiles, &run.percentiles, state.scroll);
    bench::render_outcome_mix(frame, outcomes, &run.histograms);
    let [rates, distribution] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom);
    if run.intervals.is_empty() {
        frame.render_widget(
            Paragraph::new("no interval log (.hlog) beside this result")
                .block(framed(" over time ")),
            rates,
        );
    } else {
        bench::render_rates(frame, rates, &run.intervals, None);
    }
    let selected = state
        .distribution
        .unwrap_or_else(|| bench::default_distribution(&run.histograms));
    bench::render_selected_distribution(frame, distribution, &run.histograms, selected);
}

fn render_metrics(frame: &mut Frame, area: Rect, run: &StoredRun, scroll: usize) {
    let rows = run
        .result
        .metrics
        .iter()
        .skip(scroll)
        .map(|(name, metric)| {
            let value = if metric.unit == "ns" {
                format::nanos(metric.value as u64)
            } else {
                format!("{} {}", format::three_digits(metric.value), metric.unit)
            };
            Row::new([
                name.clone(),
                value,
                format!("{:?}", metric.better).to_lowercase(),
                if metric.gate {
                    "gated"
                } else {
                    "informational"
                }
                .to_owned(),
            ])
        });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(2),
            Constraint::Length(22),
            Constraint::Length(8),
            Constraint::Length(14),
        ],
    )
    .header(Row::new(["metric", "value", "better", "gate"]).style(header_style()))
    .block(framed(format!(" {} metrics ", run.result.metrics.len())));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bench_config_reads_as_one_line_of_shape_and_one_of_target() {
        let config = serde_json::json!({
            "load": {
                "mode": {"loop": "closed", "racers": 8},
                "key_count": 1, "zipf_exponent": 0.99,
                "mix": {"cas": 1, "create": 0, "get": 0, "put": 0},
                "payload_len_bytes": 1024,
                "cas_retry": {"policy": "immediate"},
                "stop": {"duration_ms": 3000}, "warmup_ms": 500
            },
            "target": {"target": "inproc"}
        });
        assert_eq!(
            describe_config(&config),
            [
                "closed loop, 8 racers · 1 keys (zipf 0.99) · mix cas=1 · 1024 B · cas retry \
                 immediate · 3000 ms after 500 ms warm-up",
                "target inproc"
            ]
        );
        assert!(describe_config(&Value::Null).is_empty());
    }
}
