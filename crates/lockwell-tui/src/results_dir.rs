//! Reading a results folder (`results/` by default) into the entries the
//! browser lists.
//!
//! Every `*.json` below the folder is classified by its content, not its
//! name: a result file (`schema_version`), a simulator campaign
//! (`format: lockwell-sim-campaign`), a checksum summary, or the
//! planted-bug catalog (`catalog.json`); `*.txt` reports (such as `cargo
//! xtask bench-ab`'s) are shown as text. A folder of sweep points is one
//! more entry: the sweep, with the capacity model's curves. A bench run's interval log
//! (`.hlog` beside its JSON) gives its goodput over time. Files that do not
//! read are listed apart with the reason, never silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lockwell_results::{Percentiles, RunResult, read_result};
use serde::Deserialize;

use hdrhistogram::Histogram;

use crate::measurements::{HistogramLabel, IntervalCounts, intervals_of_log, sort_for_display};
use crate::sweep::{SweepData, sweeps_by_folder};

/// Largest file the browser reads; result files are kilobytes.
pub const MAX_FILE_LEN_BYTES: u64 = 64 * 1024 * 1024;
/// Deepest folder below the root that is searched.
pub const MAX_DEPTH: usize = 6;
/// Most entries listed; a folder with more is not a results folder.
pub const MAX_ENTRIES: usize = 10_000;

/// A results folder, read.
#[derive(Debug, Default)]
pub struct ResultsDir {
    pub root: PathBuf,
    /// Sorted by path.
    pub entries: Vec<Entry>,
    /// Files that looked like results but did not read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// One file of the folder.
#[derive(Debug)]
pub struct Entry {
    /// Relative to the folder's root.
    pub path: PathBuf,
    pub content: Content,
}

/// What a file holds.
#[non_exhaustive]
#[derive(Debug)]
pub enum Content {
    /// A result file, with the intervals of its interval log if any.
    Run(Box<StoredRun>),
    Campaign(Campaign),
    Checksum(ChecksumSummary),
    /// The planted-bug catalog.
    Catalog(Box<Catalog>),
    /// A folder of sweep points, with the capacity model's curves.
    Sweep(Box<SweepData>),
    Text(String),
}

/// A result file, its histograms decoded, and its interval log's
/// intervals.
#[derive(Debug)]
pub struct StoredRun {
    pub result: RunResult,
    /// In display order (see [`sort_for_display`]).
    pub histograms: Vec<(HistogramLabel, Histogram<u64>)>,
    /// The histograms' percentiles, in the same order.
    pub percentiles: Vec<(HistogramLabel, Percentiles)>,
    pub intervals: Vec<IntervalCounts>,
}

impl StoredRun {
    /// A result file's decoded histograms and its interval log's intervals.
    ///
    /// # Errors
    /// A histogram that does not decode.
    pub fn new(result: RunResult, intervals: Vec<IntervalCounts>) -> Result<Self, String> {
        let mut histograms = result
            .histograms
            .iter()
            .map(|record| {
                record
                    .histogram()
                    .map(|histogram| {
                        (
                            HistogramLabel::new(&record.view, &record.op, &record.outcome),
                            histogram,
                        )
                    })
                    .map_err(|error| {
                        format!(
                            "histogram {}/{}/{}: {}",
                            record.view,
                            record.op,
                            record.outcome,
                            error_chain(&error)
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        sort_for_display(&mut histograms);
        Ok(Self {
            percentiles: crate::views::bench::percentile_rows(&histograms),
            result,
            histograms,
            intervals,
        })
    }
}

/// A simulator campaign (`lockwell-sim campaign`'s JSON). Every field has
/// a default so that older and newer versions read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Campaign {
    pub version: u32,
    pub git_commit: String,
    pub workload: String,
    pub fault_profile: String,
    pub start: u64,
    pub seeds: u64,
    pub shard: Option<String>,
    pub violations: Vec<CampaignViolation>,
    pub buggify: BTreeMap<String, BuggifyPoint>,
    pub buggify_never_fired: Vec<String>,
    pub simulated_requests: u64,
    pub server_kills: u64,
    pub jobs: u64,
    pub wall_time_ms: u64,
    pub simulated_time_ms: u64,
    pub seeds_per_s: f64,
}

/// A failing seed of a campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CampaignViolation {
    pub seed: u64,
    /// The SPEC rule it broke.
    pub rule: String,
    pub message: String,
}

/// How often a BUGGIFY point was reached and fired over a campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BuggifyPoint {
    pub reached: u64,
    pub fired: u64,
}

impl Campaign {
    /// The command that replays `violation`'s seed with its history written
    /// out (as `lockwell-sim` prints it).
    #[must_use]
    pub fn replay_command(&self, violation: &CampaignViolation) -> String {
        let faults = if self.fault_profile.is_empty() {
            String::new()
        } else {
            format!(" --faults {}", self.fault_profile)
        };
        format!(
            "cargo xtask sim run --workload {workload} --seed {seed}{faults} --history \
             {workload}-{seed}.jsonl",
            workload = self.workload,
            seed = violation.seed
        )
    }
}

/// The `format` of `lockwell-sim catalog`'s `results/catalog.json`.
pub const PLANTED_CATALOG_FORMAT: &str = "lockwell-sim-catalog";

/// A planted-bug catalog: `lockwell-sim catalog`'s file, or another
/// `catalog.json` shown as it comes.
#[derive(Debug, Clone, PartialEq)]
pub enum Catalog {
    Planted(PlantedCatalog),
    Other(serde_json::Value),
}

/// `lockwell-sim catalog`'s result (format [`PLANTED_CATALOG_FORMAT`],
/// lockwell-sim's `CatalogFile`). Every field has a default: later
/// versions only add fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PlantedCatalog {
    pub version: u32,
    pub git_commit: String,
    pub jobs: u64,
    pub max_seeds: u64,
    pub budget_cpu_s: u64,
    pub bugs: u64,
    pub detected: u64,
    pub detection_rate: f64,
    pub entries: Vec<PlantedBugEntry>,
}

/// One planted bug's campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PlantedBugEntry {
    /// The `--bug` name.
    pub bug: String,
    /// `server` or `client`.
    pub layer: String,
    /// The SPEC rule the bug breaks.
    pub rule: String,
    pub description: String,
    /// The real-world failure it models.
    pub models: String,
    pub workload: String,
    pub fault_profile: String,
    /// Which check should see it, or why none can.
    pub expected_detection: String,
    pub detected: bool,
    pub seeds_run: u64,
    pub seeds_to_first_detection: Option<u64>,
    pub failing_seed: Option<u64>,
    pub wall_time_ms: u64,
    pub cpu_time_ms: u64,
    /// The rules the first failing seed's checks named.
    pub rules_reported: Vec<String>,
    pub first_violation: Option<String>,
    /// The command that replays the failing seed.
    pub replay: Option<String>,
}

/// `checksum-summary`'s JSON: throughput per algorithm.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChecksumSummary {
    pub buffer_len_bytes: u64,
    pub repetitions: u64,
    pub algorithms: Vec<ChecksumAlgorithm>,
}

/// One algorithm of a checksum summary.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChecksumAlgorithm {
    pub algorithm: String,
    pub engine_gib_per_s: f64,
    pub fastest_crate: NamedThroughput,
    pub engine_to_fastest_crate: f64,
    pub engine_meets_bar: bool,
    pub memcpy_gib_per_s: f64,
}

/// A crate's throughput.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NamedThroughput {
    pub name: String,
    pub gib_per_s: f64,
}

impl ResultsDir {
    /// Reads every result below `root`.
    ///
    /// # Errors
    /// `root` cannot be listed.
    pub fn load(root: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        collect_files(root, 0, &mut files)?;
        files.sort_by_key(|file| natural_order(file));
        let mut dir = Self {
            root: root.to_owned(),
            ..Self::default()
        };
        for file in files {
            if dir.entries.len() >= MAX_ENTRIES {
                dir.unreadable.push((
                    PathBuf::from("..."),
                    format!("more than {MAX_ENTRIES} entries; the rest are not listed"),
                ));
                break;
            }
            let relative = file.strip_prefix(root).unwrap_or(&file).to_owned();
            match read_entry(&file) {
                Ok(Some(content)) => dir.entries.push(Entry {
                    path: relative,
                    content,
                }),
                Ok(None) => {}
                Err(reason) => dir.unreadable.push((relative, reason)),
            }
        }
        dir.add_sweeps();
        Ok(dir)
    }
}

impl ResultsDir {
    /// One entry per folder of sweep points (`<folder>/`), after its
    /// points.
    fn add_sweeps(&mut self) {
        let runs = self
            .entries
            .iter()
            .filter_map(|entry| match &entry.content {
                Content::Run(run) => Some((entry.path.clone(), &run.result)),
                _ => None,
            });
        let sweeps = sweeps_by_folder(runs);
        for (folder, (points, errors)) in sweeps {
            for error in errors {
                self.unreadable.push((folder.clone(), error));
            }
            if !points.is_empty() {
                self.entries.push(Entry {
                    path: folder.join(""),
                    content: Content::Sweep(Box::new(SweepData::new(folder, points))),
                });
            }
        }
        self.entries.sort_by_key(|entry| natural_order(&entry.path));
    }
}

/// A sort key under which `r2` comes before `r16`: runs of digits
/// compare as numbers, everything else as text.
#[must_use]
pub fn natural_order(path: &Path) -> Vec<(String, u128)> {
    let text = path.to_string_lossy();
    let mut key = Vec::new();
    let mut rest = text.as_ref();
    while !rest.is_empty() {
        let digits_at = rest
            .find(|character: char| character.is_ascii_digit())
            .unwrap_or(rest.len());
        let (prefix, tail) = rest.split_at(digits_at);
        let digits_len = tail
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(tail.len());
        let (digits, after) = tail.split_at(digits_len);
        // Longer runs than u128 holds compare as their largest value.
        key.push((prefix.to_owned(), digits.parse().unwrap_or(u128::MAX)));
        rest = after;
    }
    key
}

fn collect_files(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() && depth < MAX_DEPTH {
            collect_files(&path, depth + 1, files)?;
        } else if file_type.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension == "json" || extension == "txt")
        {
            files.push(path);
        }
    }
    Ok(())
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let len_bytes = std::fs::metadata(path)
        .map_err(|error| error.to_string())?
        .len();
    if len_bytes > MAX_FILE_LEN_BYTES {
        return Err(format!("larger than {MAX_FILE_LEN_BYTES} bytes"));
    }
    std::fs::read(path).map_err(|error| error.to_string())
}

/// The content of one file; `None` for JSON that is no kind of result.
fn read_entry(path: &Path) -> Result<Option<Content>, String> {
    let bytes = read_bounded(path)?;
    if path.extension().is_some_and(|extension| extension == "txt") {
        return Ok(Some(Content::Text(
            String::from_utf8_lossy(&bytes).into_owned(),
        )));
    }
    let document: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|error| format!("not JSON: {error}"))?;
    let field = |name: &str| document.get(name);
    if field("schema_version").is_some() {
        let result = read_result(&bytes[..]).map_err(|error| error_chain(&error))?;
        let intervals = read_intervals(&path.with_extension("hlog"))?;
        return StoredRun::new(result, intervals).map(|run| Some(Content::Run(Box::new(run))));
    }
    if field("format").and_then(serde_json::Value::as_str) == Some("lockwell-sim-campaign") {
        return serde_json::from_value(document)
            .map(|campaign| Some(Content::Campaign(campaign)))
            .map_err(|error| format!("not a campaign: {error}"));
    }
    if field("algorithms").is_some() && field("buffer_len_bytes").is_some() {
        return serde_json::from_value(document)
            .map(|summary| Some(Content::Checksum(summary)))
            .map_err(|error| format!("not a checksum summary: {error}"));
    }
    let format = field("format").and_then(serde_json::Value::as_str);
    if format == Some(PLANTED_CATALOG_FORMAT) {
        return serde_json::from_value(document)
            .map(|catalog| Some(Content::Catalog(Box::new(Catalog::Planted(catalog)))))
            .map_err(|error| format!("not a planted-bug catalog: {error}"));
    }
    if path.file_name().is_some_and(|name| name == "catalog.json") {
        return Ok(Some(Content::Catalog(Box::new(Catalog::Other(document)))));
    }
    Ok(None)
}

/// The intervals of a run's interval log; none when it has no log.
fn read_intervals(log_path: &Path) -> Result<Vec<IntervalCounts>, String> {
    if !log_path.exists() {
        return Ok(Vec::new());
    }
    let bytes = read_bounded(log_path)?;
    let logged = lockwell_results::histogram::read_interval_log(&bytes)
        .map_err(|error| format!("{}: {}", log_path.display(), error_chain(&error)))?;
    Ok(intervals_of_log(&logged))
}

/// An error and its sources, `: `-separated.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_with_numbers_in_numeric_order() {
        let mut paths: Vec<PathBuf> = ["r16.json", "r2.json", "r1.json", "a/r10", "a/r9", "b"]
            .iter()
            .map(PathBuf::from)
            .collect();
        paths.sort_by_key(|path| natural_order(path));
        let sorted: Vec<String> = paths
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        assert_eq!(
            sorted,
            ["a/r9", "a/r10", "b", "r1.json", "r2.json", "r16.json"]
        );
    }
}
