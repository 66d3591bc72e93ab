//! The result file: one JSON document per run of an instrument, versioned so
//! that stored baselines stay readable while the schema grows.
//!
//! Versioning rule: a minor version only adds optional fields or new
//! [`ResultKind`]s, so a reader accepts any minor version of its own major
//! (unknown fields are ignored, an unknown kind reads as
//! [`ResultKind::Unknown`]). A major version changes the meaning of existing
//! fields; a reader refuses other majors with an error that names both
//! versions instead of misreading numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::histogram::HistogramRecord;

/// The schema this build writes, and whose major version it reads.
///
/// 1.1 added [`ResultKind::Instructions`].
pub const SCHEMA_VERSION: SchemaVersion = SchemaVersion { major: 1, minor: 1 };

/// Largest result file a reader accepts. A run's histograms are a few
/// kilobytes each; anything near this is not a result file.
pub const MAX_RESULT_FILE_LEN_BYTES: u64 = 64 * 1024 * 1024;

/// `MAJOR.MINOR`, serialized as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.major, self.minor)
    }
}

/// A schema version that is not `MAJOR.MINOR` in decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema version {text:?} is not MAJOR.MINOR")]
pub struct MalformedSchemaVersion {
    pub text: String,
}

impl FromStr for SchemaVersion {
    type Err = MalformedSchemaVersion;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || MalformedSchemaVersion {
            text: text.to_owned(),
        };
        let (major, minor) = text.split_once('.').ok_or_else(malformed)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(malformed());
            }
            part.parse::<u32>().map_err(|_| malformed())
        };
        Ok(Self {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What produced a result file.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// One run of `lockwell bench`.
    BenchRun,
    /// One point of a sweep (one concurrency and skew), input to capacity fits.
    SweepPoint,
    /// The medians of a criterion bench run.
    CriterionSummary,
    /// A seed campaign of the simulator.
    SimCampaign,
    /// Instructions per iteration of deterministic workloads, counted by
    /// callgrind (`cargo xtask bench-instructions`).
    Instructions,
    /// A kind added by a later minor version of the schema.
    #[serde(other)]
    Unknown,
}

impl ResultKind {
    /// The kebab-case name used in file names.
    #[must_use]
    pub const fn file_stem(self) -> &'static str {
        match self {
            Self::BenchRun => "bench-run",
            Self::SweepPoint => "sweep-point",
            Self::CriterionSummary => "criterion-summary",
            Self::SimCampaign => "sim-campaign",
            Self::Instructions => "instructions",
            Self::Unknown => "unknown",
        }
    }
}

/// The source a run was built from. Seeds and numbers reproduce only within
/// one build, so a result without a clean commit is a hint, not a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// Full hash of `HEAD`.
    pub commit: String,
    /// Whether the work tree had uncommitted changes to tracked files.
    pub dirty: bool,
}

/// The machine a run measured. Filled in by the collecting code (which
/// reads `/proc/cpuinfo`); this crate only defines it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineFingerprint {
    pub cpu_model: String,
    pub logical_cores: u32,
    /// The CPU flags that change what is measured (`sha_ni`, `avx2`,
    /// `pclmulqdq`, ...), sorted.
    pub cpu_features: BTreeSet<String>,
}

/// Which way a metric improves.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughput, goodput.
    Higher,
    /// Latency, conflict rate, instruction count.
    Lower,
}

/// A named scalar of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Finite (JSON has no NaN or infinity; [`write_result`] refuses them).
    pub value: f64,
    /// Free-form unit such as `ns`, `ops/s`, `ratio`, `GiB/s`.
    pub unit: String,
    pub better: Better,
    /// Whether a change of this metric may fail a comparison. Tail
    /// percentiles and maxima are reported but not gated: on a shared
    /// machine one preemption moves them by milliseconds.
    #[serde(default = "gate_by_default")]
    pub gate: bool,
}

const fn gate_by_default() -> bool {
    true
}

impl Metric {
    /// A gated metric.
    #[must_use]
    pub fn gated(value: f64, unit: &str, better: Better) -> Self {
        Self {
            value,
            unit: unit.to_owned(),
            better,
            gate: true,
        }
    }

    /// A metric that is reported and compared but never fails a comparison.
    #[must_use]
    pub fn informational(value: f64, unit: &str, better: Better) -> Self {
        Self {
            gate: false,
            ..Self::gated(value, unit, better)
        }
    }
}

/// One result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: SchemaVersion,
    pub kind: ResultKind,
    /// When the run finished, milliseconds since the Unix epoch.
    pub created_at_unix_ms: u64,
    /// `None` outside a git checkout.
    pub git: Option<GitState>,
    pub machine: MachineFingerprint,
    /// `rustc -V` of the toolchain.
    pub toolchain: String,
    /// What was run, as the producer describes it; compared for equality
    /// only (a comparison notes runs whose configs differ).
    pub config: serde_json::Value,
    /// Named scalars, in name order.
    #[serde(default)]
    pub metrics: BTreeMap<String, Metric>,
    /// Latency histograms, sorted by (view, op, outcome).
    #[serde(default)]
    pub histograms: Vec<HistogramRecord>,
}

impl RunResult {
    /// A result of the current schema version with no metrics or
    /// histograms yet.
    #[must_use]
    pub fn new(kind: ResultKind, created_at_unix_ms: u64) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind,
            created_at_unix_ms,
            git: None,
            machine: MachineFingerprint::default(),
            toolchain: String::new(),
            config: serde_json::Value::Null,
            metrics: BTreeMap::new(),
            histograms: Vec::new(),
        }
    }

    /// A file name that sorts by time: `<kind>-<UTC timestamp>.json`, such as
    /// `bench-run-20250301T140502.123Z.json`.
    #[must_use]
    pub fn default_file_name(&self) -> String {
        format!(
            "{}-{}.json",
            self.kind.file_stem(),
            compact_utc_timestamp(self.created_at_unix_ms)
        )
    }
}

/// `YYYYMMDDTHHMMSS.mmmZ` for milliseconds since the Unix epoch.
#[must_use]
pub fn compact_utc_timestamp(unix_ms: u64) -> String {
    const MS_PER_DAY: u64 = 86_400_000;
    let days = unix_ms / MS_PER_DAY;
    let ms_of_day = unix_ms % MS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let seconds_of_day = ms_of_day / 1000;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60,
        ms_of_day % 1000
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days_since_epoch: u64) -> (u64, u64, u64) {
    const DAYS_PER_ERA: u64 = 146_097;
    let shifted = days_since_epoch + 719_468;
    let era = shifted / DAYS_PER_ERA;
    let day_of_era = shifted % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Why a result file could not be read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the result file")]
    Io(#[from] io::Error),
    #[error("the result file is larger than {MAX_RESULT_FILE_LEN_BYTES} bytes")]
    TooLarge,
    #[error("the result file is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the result file has no schema_version string")]
    MissingSchemaVersion,
    #[error(transparent)]
    MalformedSchemaVersion(#[from] MalformedSchemaVersion),
    #[error(
        "the result file has schema version {found}, but this build reads only major version \
         {} (it writes {supported}); read it with a build of a matching version",
        supported.major
    )]
    UnsupportedMajorVersion {
        found: SchemaVersion,
        supported: SchemaVersion,
    },
    #[error("the result file does not match schema {version}")]
    Schema {
        version: SchemaVersion,
        #[source]
        source: serde_json::Error,
    },
}

/// Why a result could not be written.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the result file")]
    Io(#[from] io::Error),
    #[error("metric {name:?} is {value}, which JSON cannot hold")]
    NonFiniteMetric { name: String, value: f64 },
    #[error("cannot serialize the result")]
    Json(#[from] serde_json::Error),
}

/// Reads one result, refusing other major schema versions before looking at
/// any other field.
///
/// # Errors
/// See [`ReadError`].
pub fn read_result(reader: impl Read) -> Result<RunResult, ReadError> {
    let mut text = Vec::new();
    reader
        .take(MAX_RESULT_FILE_LEN_BYTES + 1)
        .read_to_end(&mut text)?;
    if text.len() as u64 > MAX_RESULT_FILE_LEN_BYTES {
        return Err(ReadError::TooLarge);
    }
    let document: serde_json::Value = serde_json::from_slice(&text).map_err(ReadError::NotJson)?;
    let version: SchemaVersion = document
        .get("schema_version")
        .and_then(serde_json::Value::as_str)
        .ok_or(ReadError::MissingSchemaVersion)?
        .parse()?;
    if version.major != SCHEMA_VERSION.major {
        return Err(ReadError::UnsupportedMajorVersion {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(document).map_err(|source| ReadError::Schema { version, source })
}

/// [`read_result`] from a file.
///
/// # Errors
/// See [`ReadError`].
pub fn read_result_file(path: &Path) -> Result<RunResult, ReadError> {
    read_result(BufReader::new(File::open(path)?))
}

/// Writes `result` as pretty JSON with a trailing newline (stable diffs
/// for committed baselines).
///
/// # Errors
/// A non-finite metric, or the writer's error.
pub fn write_result(mut writer: impl Write, result: &RunResult) -> Result<(), WriteError> {
    if let Some((name, metric)) = result
        .metrics
        .iter()
        .find(|(_, metric)| !metric.value.is_finite())
    {
        return Err(WriteError::NonFiniteMetric {
            name: name.clone(),
            value: metric.value,
        });
    }
    serde_json::to_writer_pretty(&mut writer, result)?;
    writer.write_all(b"\n")?;
    writer.flush()?;
    Ok(())
}

/// [`write_result`] to a new file; refuses to overwrite an existing one so
/// that a run never replaces a baseline by accident.
///
/// # Errors
/// The file exists, or see [`WriteError`].
pub fn write_new_result_file(path: &Path, result: &RunResult) -> Result<(), WriteError> {
    let file = File::options().write(true).create_new(true).open(path)?;
    write_result(BufWriter::new(file), result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunResult {
        let mut result = RunResult::new(ResultKind::BenchRun, 1_700_000_000_123);
        result.git = Some(GitState {
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            dirty: true,
        });
        result.machine = MachineFingerprint {
            cpu_model: "AMD EPYC".to_owned(),
            logical_cores: 2,
            cpu_features: ["avx2", "sha_ni"].map(str::to_owned).into(),
        };
        result.toolchain = "rustc 1.95.0".to_owned();
        result.config = serde_json::json!({ "racers": 8 });
        result.metrics.insert(
            "goodput_writes_per_s".to_owned(),
            Metric::gated(1234.5, "writes/s", Better::Higher),
        );
        result
    }

    fn to_json(result: &RunResult) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_result(&mut bytes, result).unwrap();
        bytes
    }

    #[test]
    fn a_written_result_reads_back_equal() {
        let result = sample();
        assert_eq!(read_result(&to_json(&result)[..]).unwrap(), result);
    }

    #[test]
    fn schema_versions_parse_only_major_dot_minor() {
        let cases = [
            ("1.0", Some((1, 0))),
            ("2.17", Some((2, 17))),
            ("1", None),
            ("1.", None),
            (".1", None),
            ("1.0.0", None),
            ("+1.0", None),
            ("v1.0", None),
            ("99999999999.0", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<SchemaVersion>().ok();
            assert_eq!(
                parsed.map(|version| (version.major, version.minor)),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn readers_accept_a_later_minor_version_with_unknown_fields_and_kinds() {
        let mut document: serde_json::Value = serde_json::from_slice(&to_json(&sample())).unwrap();
        document["schema_version"] = "1.7".into();
        document["kind"] = "profile_capture".into();
        document["field_from_the_future"] = serde_json::json!({ "x": 1 });
        let result = read_result(document.to_string().as_bytes()).unwrap();
        assert_eq!(result.kind, ResultKind::Unknown);
        assert_eq!(result.schema_version.minor, 7);
    }

    #[test]
    fn readers_refuse_another_major_version_naming_both() {
        for found in ["0.9", "2.0"] {
            let mut document: serde_json::Value =
                serde_json::from_slice(&to_json(&sample())).unwrap();
            document["schema_version"] = found.into();
            document["metrics"] = "a field whose meaning changed".into();
            let error = read_result(document.to_string().as_bytes()).unwrap_err();
            assert!(
                matches!(error, ReadError::UnsupportedMajorVersion { .. }),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(message.contains(found), "{message}");
            assert!(message.contains(&SCHEMA_VERSION.to_string()), "{message}");
        }
    }

    #[test]
    fn readers_name_what_is_wrong_with_a_broken_file() {
        type IsExpected = fn(&ReadError) -> bool;
        let cases: [(&str, IsExpected); 4] = [
            ("not json", |e| matches!(e, ReadError::NotJson(_))),
            ("{}", |e| matches!(e, ReadError::MissingSchemaVersion)),
            (r#"{"schema_version": "one"}"#, |e| {
                matches!(e, ReadError::MalformedSchemaVersion(_))
            }),
            (r#"{"schema_version": "1.0"}"#, |e| {
                matches!(e, ReadError::Schema { .. })
            }),
        ];
        for (text, expected) in cases {
            let error = read_result(text.as_bytes()).unwrap_err();
            assert!(expected(&error), "{text}: {error:?}");
        }
    }

    #[test]
    fn readers_refuse_files_over_the_size_limit() {
        let limit = usize::try_from(MAX_RESULT_FILE_LEN_BYTES).unwrap();
        let document = r#"{"schema_version": "1.0"}"#;
        let at_limit = document.to_owned() + &" ".repeat(limit - document.len());
        assert!(matches!(
            read_result(at_limit.as_bytes()),
            Err(ReadError::Schema { .. })
        ));
        let over_limit = format!("{at_limit} ");
        assert!(matches!(
            read_result(over_limit.as_bytes()),
            Err(ReadError::TooLarge)
        ));
    }

    #[test]
    fn writers_refuse_non_finite_metrics() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut result = sample();
            result.metrics.insert(
                "broken".to_owned(),
                Metric::gated(value, "ns", Better::Lower),
            );
            let error = write_result(Vec::new(), &result).unwrap_err();
            assert!(
                matches!(error, WriteError::NonFiniteMetric { ref name, .. } if name == "broken"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn metrics_without_a_gate_field_are_gated() {
        let metric: Metric =
            serde_json::from_str(r#"{"value": 1.0, "unit": "ns", "better": "lower"}"#).unwrap();
        assert!(metric.gate);
    }

    #[test]
    fn file_names_carry_kind_and_utc_time() {
        let cases = [
            (0, "bench-run-19700101T000000.000Z.json"),
            (951_782_400_000, "bench-run-20000229T000000.000Z.json"),
            (1_700_000_000_123, "bench-run-20231114T221320.123Z.json"),
            (4_102_444_799_999, "bench-run-20991231T235959.999Z.json"),
        ];
        for (unix_ms, expected) in cases {
            let result = RunResult::new(ResultKind::BenchRun, unix_ms);
            assert_eq!(result.default_file_name(), expected, "{unix_ms}");
        }
    }

    #[test]
    fn new_result_files_never_overwrite() {
        let directory = std::env::temp_dir().join(format!(
            "lockwell-results-test-{}-overwrite",
            std::process::id()
        ));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("result.json");
        let _ = std::fs::remove_file(&path);
        write_new_result_file(&path, &sample()).unwrap();
        assert_eq!(read_result_file(&path).unwrap(), sample());
        assert!(matches!(
            write_new_result_file(&path, &sample()),
            Err(WriteError::Io(error)) if error.kind() == io::ErrorKind::AlreadyExists
        ));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
