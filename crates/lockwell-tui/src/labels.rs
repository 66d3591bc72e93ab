//! The names `lockwell bench` gives its histograms in result files, interval
//! logs and live intervals (`view/op/outcome`), and what they count as.
//!
//! They mirror `lockwell_bench::loadgen::HistogramKey`'s names; this crate
//! reads them as strings so that it depends on the result schema only, and
//! so that a result written by a later build with a new outcome still shows
//! (an unknown name is displayed, never counted as a write or a conflict).

/// The view of one request, send to response.
pub const REQUEST_VIEW: &str = "request";
/// The view of a whole operation from its actual start.
pub const OPERATION_VIEW: &str = "operation";
/// The view of a whole operation from its intended start (open loop).
pub const INTENDED_VIEW: &str = "intended";

/// Outcome codes in display order: answers first, then failures.
pub const OUTCOME_ORDER: [&str; 8] = [
    "200",
    "404",
    "409",
    "412",
    "5xx",
    "timeout",
    "other_4xx",
    "transport",
];

/// Request kinds whose 200 installs a new version (goodput).
const WRITE_KINDS: [&str; 3] = ["put", "put_if_none_match", "put_if_match"];
/// Request kinds with a precondition that can lose a race.
const CONDITIONAL_WRITE_KINDS: [&str; 2] = ["put_if_none_match", "put_if_match"];

/// A lost race: 412 (C1, C2) or 409 (C5).
#[must_use]
pub fn is_conflict(outcome: &str) -> bool {
    matches!(outcome, "409" | "412")
}

/// A failure that is not an answer about the data.
#[must_use]
pub fn is_error(outcome: &str) -> bool {
    matches!(outcome, "5xx" | "timeout" | "other_4xx" | "transport")
}

#[must_use]
pub fn is_write(request_kind: &str) -> bool {
    WRITE_KINDS.contains(&request_kind)
}

#[must_use]
pub fn is_conditional_write(request_kind: &str) -> bool {
    CONDITIONAL_WRITE_KINDS.contains(&request_kind)
}

/// Sort key of an outcome code: known codes in [`OUTCOME_ORDER`], unknown
/// ones after them by name.
#[must_use]
pub fn outcome_rank(outcome: &str) -> (usize, &str) {
    let rank = OUTCOME_ORDER
        .iter()
        .position(|known| *known == outcome)
        .unwrap_or(OUTCOME_ORDER.len());
    (rank, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_classify_as_the_load_generator_counts_them() {
        let cases = [
            ("200", false, false),
            ("404", false, false),
            ("409", true, false),
            ("412", true, false),
            ("5xx", false, true),
            ("timeout", false, true),
            ("other_4xx", false, true),
            ("transport", false, true),
            ("418-from-the-future", false, false),
        ];
        for (outcome, conflict, error) in cases {
            assert_eq!(is_conflict(outcome), conflict, "{outcome}");
            assert_eq!(is_error(outcome), error, "{outcome}");
        }
    }

    #[test]
    fn only_conditional_puts_can_conflict_and_gets_are_not_writes() {
        let cases = [
            ("get", false, false),
            ("put", true, false),
            ("put_if_none_match", true, true),
            ("put_if_match", true, true),
        ];
        for (kind, write, conditional) in cases {
            assert_eq!(is_write(kind), write, "{kind}");
            assert_eq!(is_conditional_write(kind), conditional, "{kind}");
        }
    }

    #[test]
    fn unknown_outcomes_sort_after_known_ones() {
        let mut outcomes = vec!["zzz", "transport", "412", "200", "aaa"];
        outcomes.sort_by_key(|outcome| outcome_rank(outcome));
        assert_eq!(outcomes, ["200", "412", "transport", "aaa", "zzz"]);
    }
}
