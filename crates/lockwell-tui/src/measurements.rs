//! What the views draw, whether it comes from a running bench or from a
//! stored result: labelled latency histograms and per-interval counts.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use lockwell_results::histogram::LoggedInterval;

use crate::labels;

/// What one histogram measured, as `lockwell bench` names it
/// (`view/op/outcome`, see [`labels`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HistogramLabel {
    pub view: String,
    pub op: String,
    pub outcome: String,
}

impl HistogramLabel {
    #[must_use]
    pub fn new(view: &str, op: &str, outcome: &str) -> Self {
        Self {
            view: view.to_owned(),
            op: op.to_owned(),
            outcome: outcome.to_owned(),
        }
    }

    /// The label of an interval-log tag `view/op/outcome`; `None` for any
    /// other shape.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        let mut parts = tag.split('/');
        let label = Self::new(parts.next()?, parts.next()?, parts.next()?);
        parts.next().is_none().then_some(label)
    }

    /// Rows sort by view, then op, then outcome in display order.
    fn display_order(&self) -> (&str, &str, (usize, &str)) {
        (&self.view, &self.op, labels::outcome_rank(&self.outcome))
    }
}

/// Sorts labelled items for display: view, op, then outcomes in
/// [`labels::OUTCOME_ORDER`].
pub fn sort_for_display<T>(items: &mut [(HistogramLabel, T)]) {
    items.sort_by(|(a, _), (b, _)| a.display_order().cmp(&b.display_order()));
}

/// Counts of one measured interval of a bench run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IntervalCounts {
    /// Since the end of the warm-up.
    pub start: Duration,
    pub length: Duration,
    pub operations: u64,
    pub requests: u64,
    /// Writes answered 200.
    pub successful_writes: u64,
    pub conditional_writes: u64,
    /// Conditional writes answered 409 or 412.
    pub conflicts: u64,
    pub errors: u64,
}

impl IntervalCounts {
    /// Counts `count` samples of `label` the way the load generator's
    /// tally does: operations from the operation view, everything else
    /// from the request view.
    pub fn add(&mut self, label: &HistogramLabel, count: u64) {
        match label.view.as_str() {
            labels::OPERATION_VIEW => self.operations += count,
            labels::REQUEST_VIEW => {
                self.requests += count;
                if labels::is_write(&label.op) && label.outcome == "200" {
                    self.successful_writes += count;
                }
                if labels::is_conditional_write(&label.op) {
                    self.conditional_writes += count;
                    if labels::is_conflict(&label.outcome) {
                        self.conflicts += count;
                    }
                }
                if labels::is_error(&label.outcome) {
                    self.errors += count;
                }
            }
            _ => {}
        }
    }

    /// `count` per second of this interval.
    #[must_use]
    pub fn per_second(&self, count: u64) -> f64 {
        let seconds = self.length.as_secs_f64();
        if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        }
    }

    #[must_use]
    pub fn goodput_per_s(&self) -> f64 {
        self.per_second(self.successful_writes)
    }

    /// Lost conditional writes per conditional write; `None` without any.
    #[must_use]
    pub fn conflict_rate(&self) -> Option<f64> {
        (self.conditional_writes > 0)
            .then(|| self.conflicts as f64 / self.conditional_writes as f64)
    }

    /// When this interval ended.
    #[must_use]
    pub fn end(&self) -> Duration {
        self.start + self.length
    }
}

/// The intervals of an interval log, one per distinct start time, on a
/// time axis that starts at the first interval.
#[must_use]
pub fn intervals_of_log(logged: &[LoggedInterval]) -> Vec<IntervalCounts> {
    let Some(first_start) = logged.iter().map(|interval| interval.start).min() else {
        return Vec::new();
    };
    let mut by_start: BTreeMap<Duration, IntervalCounts> = BTreeMap::new();
    for interval in logged {
        let start = interval.start.saturating_sub(first_start);
        let counts = by_start.entry(start).or_insert_with(|| IntervalCounts {
            start,
            length: interval.length,
            ..IntervalCounts::default()
        });
        counts.length = counts.length.max(interval.length);
        if let Some(label) = HistogramLabel::from_tag(&interval.tag) {
            counts.add(&label, interval.histogram.len());
        }
    }
    by_start.into_values().collect()
}

/// The requests of each outcome, in display order.
#[must_use]
pub fn outcome_mix<'a>(
    counts: impl IntoIterator<Item = (&'a HistogramLabel, u64)>,
) -> Vec<(String, u64)> {
    let mut mix: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for (label, count) in counts {
        if label.view == labels::REQUEST_VIEW {
            let (rank, outcome) = labels::outcome_rank(&label.outcome);
            *mix.entry((rank, outcome.to_owned())).or_default() += count;
        }
    }
    mix.into_iter()
        .map(|((_, outcome), count)| (outcome, count))
        .collect()
}

/// Errors by request kind and outcome, largest first (then by name).
#[must_use]
pub fn errors_by_kind<'a>(
    counts: impl IntoIterator<Item = (&'a HistogramLabel, u64)>,
) -> Vec<(String, u64)> {
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for (label, count) in counts {
        if label.view == labels::REQUEST_VIEW && labels::is_error(&label.outcome) && count > 0 {
            *errors
                .entry(format!("{} {}", label.op, label.outcome))
                .or_default() += count;
        }
    }
    let mut errors: Vec<(String, u64)> = errors.into_iter().collect();
    errors.sort_by(|(a_name, a_count), (b_name, b_count)| {
        b_count.cmp(a_count).then_with(|| a_name.cmp(b_name))
    });
    errors
}

/// A fresh histogram with the load generator's bounds (1 ns to 60 s, three
/// significant digits), for merging.
#[must_use]
pub fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Adds `histogram` into `totals[label]`; histograms whose bounds do not
/// fit are skipped (they cannot come from one generator).
pub fn merge_into(
    totals: &mut BTreeMap<HistogramLabel, Histogram<u64>>,
    label: HistogramLabel,
    histogram: &Histogram<u64>,
) {
    let total = totals.entry(label).or_insert_with(|| {
        let mut total = empty_histogram();
        total.auto(true);
        total
    });
    // An auto-resizing total accepts any value; addition fails only on a
    // resize that cannot allocate.
    let _ = total.add(histogram);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(count: u64) -> Histogram<u64> {
        let mut histogram = empty_histogram();
        histogram.record_n(1000, count).unwrap();
        histogram
    }

    fn logged(start_ms: u64, tag: &str, count: u64) -> LoggedInterval {
        LoggedInterval {
            tag: tag.to_owned(),
            start: Duration::from_millis(1_000_000 + start_ms),
            length: Duration::from_millis(500),
            histogram: histogram_of(count),
        }
    }

    #[test]
    fn tags_parse_only_with_three_parts() {
        assert_eq!(
            HistogramLabel::from_tag("request/put_if_match/412"),
            Some(HistogramLabel::new("request", "put_if_match", "412"))
        );
        for bad in ["", "request", "request/get", "a/b/c/d"] {
            assert_eq!(HistogramLabel::from_tag(bad), None, "{bad}");
        }
    }

    /// C2 under contention: a lost If-Match put is a conflict, a 200 one is
    /// goodput, a GET is neither; only the operation view counts operations.
    #[test]
    fn c2_interval_counts_classify_like_the_generator() {
        let log = [
            logged(0, "request/put_if_match/200", 30),
            logged(0, "request/put_if_match/412", 10),
            logged(0, "request/get/200", 40),
            logged(0, "operation/cas/200", 30),
            logged(0, "request/put_if_match/5xx", 2),
            logged(500, "request/put_if_match/200", 5),
        ];
        let intervals = intervals_of_log(&log);
        assert_eq!(intervals.len(), 2);
        let first = intervals[0];
        assert_eq!(first.start, Duration::ZERO);
        assert_eq!(first.operations, 30);
        assert_eq!(first.requests, 82);
        assert_eq!(first.successful_writes, 30);
        assert_eq!(first.conditional_writes, 42);
        assert_eq!(first.conflicts, 10);
        assert_eq!(first.errors, 2);
        assert_eq!(first.goodput_per_s(), 60.0);
        assert_eq!(first.conflict_rate(), Some(10.0 / 42.0));
        assert_eq!(intervals[1].start, Duration::from_millis(500));
        assert_eq!(intervals[1].end(), Duration::from_millis(1000));
    }

    #[test]
    fn an_interval_without_conditional_writes_has_no_conflict_rate() {
        let mut counts = IntervalCounts::default();
        counts.add(&HistogramLabel::new("request", "get", "200"), 5);
        assert_eq!(counts.conflict_rate(), None);
        assert_eq!(counts.goodput_per_s(), 0.0, "a zero-length interval");
    }

    #[test]
    fn outcome_mix_counts_requests_in_display_order() {
        let labels = [
            HistogramLabel::new("request", "put_if_match", "412"),
            HistogramLabel::new("request", "get", "200"),
            HistogramLabel::new("request", "put_if_match", "200"),
            HistogramLabel::new("operation", "cas", "200"),
            HistogramLabel::new("request", "put", "timeout"),
        ];
        let counts = [3, 4, 5, 100, 1];
        let mix = outcome_mix(labels.iter().zip(counts));
        assert_eq!(
            mix,
            [
                ("200".to_owned(), 9),
                ("412".to_owned(), 3),
                ("timeout".to_owned(), 1)
            ]
        );
        assert_eq!(
            errors_by_kind(labels.iter().zip(counts)),
            [("put timeout".to_owned(), 1)]
        );
    }
}
