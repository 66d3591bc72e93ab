//! Latency histograms in result files, and the merge of interval logs.
//!
//! A histogram is stored losslessly as HdrHistogram's V2 encoding with
//! deflate, in base64: the encoding of the standard `.hlog` interval log,
//! so any HdrHistogram tool (Java's `HistogramLogProcessor`, Python's
//! `hdrhistogram`) decodes it, and histograms of several runs or generator
//! machines add up exactly. Readers that only want numbers use the
//! precomputed [`Percentiles`].

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Summary of a histogram for readers that do not decode it. Values are in
/// the histogram's unit, each the highest value equivalent to the recorded
/// ones within the histogram's precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    #[serde(rename = "p99.9")]
    pub p99_9: u64,
    pub max: u64,
}

impl Percentiles {
    #[must_use]
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            count: histogram.len(),
            min: histogram.min(),
            mean: histogram.mean(),
            p50: histogram.value_at_quantile(0.5),
            p90: histogram.value_at_quantile(0.9),
            p99: histogram.value_at_quantile(0.99),
            p99_9: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

/// One latency histogram of a run: what was measured (`view`, `op`,
/// `outcome`), the summary, and the lossless encoding.
///
/// The producer names the fields; `lockwell bench` uses `view` =
/// `request` (one request, send to response), `operation` (a whole
/// operation, such as a compare-and-swap with its retries, from when it
/// started) or `intended` (the same from when the open-loop schedule
/// intended it to start, corrected for coordinated omission), and
/// `outcome` = `200`, `404`, `409`, `412`, `5xx` or `timeout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramRecord {
    pub view: String,
    pub op: String,
    pub outcome: String,
    /// Unit of the recorded values, such as `ns`.
    pub unit: String,
    pub summary: Percentiles,
    /// HdrHistogram V2 + deflate, base64 (standard alphabet, padded).
    pub encoded: String,
}

/// A histogram that could not be encoded or decoded.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    #[error("cannot encode the histogram")]
    Encode(#[source] hdrhistogram::serialization::V2DeflateSerializeError),
    #[error("the encoded histogram is not base64")]
    Base64(#[source] base64::DecodeError),
    #[error("the encoded histogram is not an HdrHistogram")]
    Decode(#[source] hdrhistogram::serialization::DeserializeError),
    #[error("interval log line at byte {offset} cannot be parsed")]
    IntervalLog { offset: usize },
    #[error("histograms of tag {tag:?} cannot be added")]
    Add {
        tag: String,
        #[source]
        source: hdrhistogram::AdditionError,
    },
}

/// Encodes `histogram` the way `.hlog` interval logs do.
///
/// # Errors
/// Only if the serializer fails, which for an in-memory buffer means a bug
/// in the histogram.
pub fn encode(histogram: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(HistogramError::Encode)?;
    Ok(BASE64.encode(bytes))
}

/// Decodes a histogram encoded by [`encode`] or taken from an interval log.
///
/// # Errors
/// The text is not base64 or not an HdrHistogram encoding.
pub fn decode(encoded: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(HistogramError::Base64)?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(HistogramError::Decode)
}

impl HistogramRecord {
    /// Summarises and encodes `histogram`.
    ///
    /// # Errors
    /// See [`encode`].
    pub fn new(
        view: &str,
        op: &str,
        outcome: &str,
        unit: &str,
        histogram: &Histogram<u64>,
    ) -> Result<Self, HistogramError> {
        Ok(Self {
            view: view.to_owned(),
            op: op.to_owned(),
            outcome: outcome.to_owned(),
            unit: unit.to_owned(),
            summary: Percentiles::of(histogram),
            encoded: encode(histogram)?,
        })
    }

    /// The recorded histogram.
    ///
    /// # Errors
    /// See [`decode`].
    pub fn histogram(&self) -> Result<Histogram<u64>, HistogramError> {
        decode(&self.encoded)
    }
}

/// Adds every interval of an HdrHistogram interval log (`.hlog`) into
/// `totals`, one histogram per tag (untagged intervals under `""`). Call it
/// once per log to merge the logs of several generator processes or
/// machines; returns how many intervals this log held.
///
/// # Errors
/// A line that is not an interval log line, or an interval that does not
/// decode.
pub fn merge_interval_log(
    log: &[u8],
    totals: &mut BTreeMap<String, Histogram<u64>>,
) -> Result<usize, HistogramError> {
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(log) {
        let entry = entry.map_err(|error| match error {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                HistogramError::IntervalLog { offset }
            }
        })?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let tag = interval.tag().map_or("", |tag| tag.as_str()).to_owned();
        let histogram = decode(interval.encoded_histogram())?;
        match totals.get_mut(&tag) {
            Some(total) => total
                .add(&histogram)
                .map_err(|source| HistogramError::Add { tag, source })?,
            None => {
                let mut total = histogram;
                // Later intervals may have recorded larger values.
                total.auto(true);
                totals.insert(tag, total);
            }
        }
        intervals += 1;
    }
    Ok(intervals)
}

/// One interval of an interval log, placed on the log's time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedInterval {
    /// The interval's tag; `""` when untagged.
    pub tag: String,
    /// Since the Unix epoch when the log has a `BaseTime` or `StartTime`
    /// (as `lockwell bench`'s logs do), else the timestamp as recorded.
    pub start: Duration,
    pub length: Duration,
    pub histogram: Histogram<u64>,
}

/// Every interval of an HdrHistogram interval log (`.hlog`), in log order,
/// with timestamps made absolute: relative to `BaseTime` if the log has
/// one, else to `StartTime`.
///
/// # Errors
/// A line that is not an interval log line, or an interval that does not
/// decode.
pub fn read_interval_log(log: &[u8]) -> Result<Vec<LoggedInterval>, HistogramError> {
    let mut start_time = None;
    let mut base_time = None;
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(log) {
        let entry = entry.map_err(|error| match error {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                HistogramError::IntervalLog { offset }
            }
        })?;
        match entry {
            LogEntry::StartTime(time) => start_time = Some(time),
            LogEntry::BaseTime(time) => base_time = Some(time),
            LogEntry::Interval(interval) => {
                let offset = base_time.or(start_time).unwrap_or_default();
                intervals.push(LoggedInterval {
                    tag: interval.tag().map_or("", |tag| tag.as_str()).to_owned(),
                    start: offset + interval.start_timestamp(),
                    length: interval.duration(),
                    histogram: decode(interval.encoded_histogram())?,
                });
            }
        }
    }
    Ok(intervals)
}

/// Writes `intervals` as one interval log whose `StartTime` and `BaseTime`
/// are the earliest interval's start (so that timestamps are offsets
/// from it, as in `lockwell bench`'s own logs), with `comment` at the top
/// and values divided by `max_value_divisor` in the `#max` column.
///
/// # Errors
/// The writer's error.
pub fn write_interval_log(
    writer: &mut impl io::Write,
    comment: &str,
    max_value_divisor: f64,
    intervals: &[LoggedInterval],
) -> io::Result<()> {
    let base = intervals
        .iter()
        .map(|interval| interval.start)
        .min()
        .unwrap_or_default();
    let base_time: SystemTime = UNIX_EPOCH + base;
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        .with_start_time(base_time)
        .with_base_time(base_time)
        .with_max_value_divisor(max_value_divisor)
        .begin_log_with(writer, &mut serializer)?;
    for interval in intervals {
        let tag = (!interval.tag.is_empty())
            .then(|| Tag::new(&interval.tag))
            .flatten();
        log.write_histogram(
            &interval.histogram,
            interval.start - base,
            interval.length,
            tag,
        )
        .map_err(|error| io::Error::other(error.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(values: &[u64]) -> Histogram<u64> {
        let mut histogram = Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for &value in values {
            histogram.record(value).unwrap();
        }
        histogram
    }

    #[test]
    fn records_round_trip_losslessly_with_percentiles() {
        let values: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        let histogram = histogram_of(&values);
        let record =
            HistogramRecord::new("request", "put_if_match", "412", "ns", &histogram).unwrap();
        assert_eq!(record.histogram().unwrap(), histogram);
        let summary = record.summary;
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.min, 1000);
        let within_precision =
            |actual: u64, expected: u64| actual.abs_diff(expected) * 1000 <= expected;
        for (actual, expected) in [
            (summary.p50, 500_000),
            (summary.p90, 900_000),
            (summary.p99, 990_000),
            (summary.p99_9, 999_000),
            (summary.max, 1_000_000),
        ] {
            assert!(within_precision(actual, expected), "{actual} vs {expected}");
        }
        let json = serde_json::to_value(record.summary).unwrap();
        assert!(json.get("p99.9").is_some(), "{json}");
    }

    #[test]
    fn decoding_rejects_text_that_is_not_a_histogram() {
        assert!(matches!(
            decode("not base64!"),
            Err(HistogramError::Base64(_))
        ));
        assert!(matches!(
            decode(&BASE64.encode(b"not an hdr histogram")),
            Err(HistogramError::Decode(_))
        ));
    }

    fn interval_log(intervals: &[(&str, &[u64])]) -> Vec<u8> {
        let mut log = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment("test log")
            .begin_log_with(&mut log, &mut serializer)
            .unwrap();
        for (index, (tag, values)) in intervals.iter().enumerate() {
            writer
                .write_histogram(
                    &histogram_of(values),
                    Duration::from_secs(index as u64),
                    Duration::from_secs(1),
                    Tag::new(tag),
                )
                .unwrap();
        }
        log
    }

    #[test]
    fn interval_logs_of_several_generators_merge_per_tag() {
        let first = interval_log(&[("get/200", &[10, 20]), ("put/412", &[5])]);
        let second = interval_log(&[("get/200", &[30, 40_000_000_000]), ("get/200", &[50])]);
        let mut totals = BTreeMap::new();
        assert_eq!(merge_interval_log(&first, &mut totals).unwrap(), 2);
        assert_eq!(merge_interval_log(&second, &mut totals).unwrap(), 2);
        assert_eq!(
            totals.keys().map(String::as_str).collect::<Vec<_>>(),
            ["get/200", "put/412"]
        );
        assert_eq!(
            totals["get/200"],
            histogram_of(&[10, 20, 30, 40_000_000_000, 50])
        );
        assert_eq!(totals["put/412"].len(), 1);
    }

    #[test]
    fn interval_logs_read_back_on_an_absolute_time_axis() {
        let log = interval_log(&[("get/200", &[10, 20]), ("", &[5])]);
        let intervals = read_interval_log(&log).unwrap();
        // interval_log() writes no StartTime or BaseTime: timestamps as
        // recorded.
        assert_eq!(
            intervals
                .iter()
                .map(|interval| (
                    interval.tag.as_str(),
                    interval.start,
                    interval.histogram.len()
                ))
                .collect::<Vec<_>>(),
            [
                ("get/200", Duration::from_secs(0), 2),
                ("", Duration::from_secs(1), 1)
            ]
        );

        let shifted: Vec<LoggedInterval> = intervals
            .iter()
            .map(|interval| LoggedInterval {
                start: interval.start + Duration::from_secs(1_700_000_000),
                ..interval.clone()
            })
            .collect();
        let mut written = Vec::new();
        write_interval_log(&mut written, "merged", 1e6, &shifted).unwrap();
        let text = String::from_utf8(written.clone()).unwrap();
        assert!(text.contains("#[StartTime: 1700000000"), "{text}");
        assert!(text.contains("#[BaseTime: 1700000000"), "{text}");
        assert_eq!(read_interval_log(&written).unwrap(), shifted);
    }

    #[test]
    fn a_corrupt_interval_log_is_an_error() {
        let mut log = interval_log(&[("get/200", &[10])]);
        log.extend_from_slice(b"this is not an interval\n");
        let error = merge_interval_log(&log, &mut BTreeMap::new()).unwrap_err();
        assert!(
            matches!(error, HistogramError::IntervalLog { .. }),
            "{error:?}"
        );
    }
}
