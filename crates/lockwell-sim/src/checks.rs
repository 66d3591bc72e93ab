//! The checks after a run (DESIGN.md "Instruments"): each reads only the
//! [`History`], so a saved history can be checked again, and each failure
//! names the SPEC rule it broke. Two layers: the rule checks below, cheap
//! and specific (a lost increment, two winners of a create round, a final
//! state no write explains), and lockwell-check's full linearizability
//! checker over every entry, the final reads included, which finds what
//! falls between them (a stale read in the middle of a run, a 412 no state
//! justifies) and draws the window that shows it.
//!
//! A run ends with a final read of every key by a process of its own (the
//! checker process), after faults healed and every client finished; the
//! checks compare those reads with what the clients were told.
//!
//! What a write may have left behind: an acknowledged write took effect
//! between its invocation and its completion; an indeterminate one at any
//! moment after its invocation, or never; a failed one never (C4). Under
//! I1, the sends of one idempotency key take effect at most once, and an
//! acknowledged send reports that one effect, so the effect happened before
//! the first acknowledged send completed.

use std::collections::{BTreeMap, BTreeSet};

use lockwell_check::Limits;
use lockwell_client::retry::DEFAULT_BASE_DELAY_MS;
use lockwell_core::ETag;
use lockwell_workload::spec::OpMix;
use lockwell_workload::{CounterValue, WorkloadSpec};

use crate::history::{Entry, History, OpResult, Outcome, Precondition, Request};

/// One broken rule, with the entries (ids) that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The SPEC rule id (`C1`, `E4`, `I1`, ...) or `liveness`.
    pub rule: &'static str,
    pub message: String,
    pub entries: Vec<u64>,
}

/// What a key held at the end of the run, as the checker read it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FinalState {
    Absent,
    Object { etag: String, value: String },
}

/// What a write may have installed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Absent,
    Etag(String),
    /// An unknown version (a copy or multipart complete whose answer was
    /// lost): the checks cannot tell which.
    Any,
}

/// Runs every check that applies to `spec`, then the linearizability
/// checker. `checker_process` is the process id of the final reads.
#[must_use]
pub fn check(history: &History, spec: &WorkloadSpec, checker_process: u32) -> Vec<Violation> {
    let mut violations = rule_checks(history, spec, checker_process);
    violations.extend(linearizability(history, &Limits::default(), &violations));
    violations
}

/// The linearizability checker's findings within `limits`, less those
/// already reported by a rule check with the same rule and entries. A
/// partition past the checker's bound fails the seed as `unchecked`: a
/// verdict of "passed" would claim what was not checked.
#[must_use]
pub fn linearizability(
    history: &History,
    limits: &Limits,
    reported: &[Violation],
) -> Vec<Violation> {
    let report = lockwell_check::check_with(history, limits);
    let found = report.violations.into_iter().map(|violation| Violation {
        rule: violation.rule,
        message: format!(
            "not linearizable on {}: {}\n{}",
            violation.keys.join(", "),
            violation.message,
            violation.timeline
        ),
        entries: violation.entries,
    });
    let unchecked = report.unknown.into_iter().map(|unknown| Violation {
        rule: "unchecked",
        message: format!(
            "the linearizability checker gave up on {}: {}",
            unknown.keys.join(", "),
            unknown.reason
        ),
        entries: Vec::new(),
    });
    found
        .filter(|violation| {
            !reported.iter().any(|earlier| {
                earlier.rule == violation.rule && earlier.entries == violation.entries
            })
        })
        .chain(unchecked)
        .collect()
}

/// The rule checks that apply to `spec`.
pub(crate) fn rule_checks(
    history: &History,
    spec: &WorkloadSpec,
    checker_process: u32,
) -> Vec<Violation> {
    rule_checks_with_mix(history, Some(spec.mix), checker_process)
}

/// What can be checked of a saved history without its workload: the rule
/// checks but the create rounds and the counters (which need the op mix),
/// when the header names the process of the final reads, else only R3 over
/// every entry; then the linearizability checker within `limits`.
#[must_use]
pub fn check_without_workload(history: &History, limits: &Limits) -> Vec<Violation> {
    let mut violations = match history.header.final_reader {
        Some(checker_process) => rule_checks_with_mix(history, None, checker_process),
        None => check_retry_backoff(&history.entries.iter().collect::<Vec<_>>()),
    };
    violations.extend(linearizability(history, limits, &violations));
    violations
}

/// The retries [`check_without_workload`] gives R3 to judge: those of
/// every process but the header's final reader.
#[must_use]
pub fn retries_judged_without_workload(history: &History) -> usize {
    history
        .entries
        .iter()
        .filter(|entry| Some(entry.process) != history.header.final_reader)
        .map(|entry| entry.retry_gaps_ns.len())
        .sum()
}

/// The rule checks; those of the create rounds and the counters only with
/// the op `mix` that makes them apply.
fn rule_checks_with_mix(
    history: &History,
    mix: Option<OpMix>,
    checker_process: u32,
) -> Vec<Violation> {
    let (final_states, mut violations) = final_states(history, checker_process);
    let client_entries: Vec<&Entry> = history
        .entries
        .iter()
        .filter(|entry| entry.process != checker_process)
        .collect();
    violations.extend(check_write_etags(&client_entries));
    violations.extend(check_idempotency(&client_entries));
    violations.extend(check_durability(&client_entries, &final_states));
    violations.extend(check_retry_backoff(&client_entries));
    let Some(mix) = mix else {
        return violations;
    };
    let writes_other_than = |kind_weight: u32| {
        let all_writes = mix.create_only
            + mix.cas
            + mix.put
            + mix.delete
            + mix.conditional_delete
            + mix.copy
            + mix.multipart_complete
            + mix.idempotent_put;
        all_writes - kind_weight
    };
    if mix.create_only > 0 && writes_other_than(mix.create_only) == 0 {
        violations.extend(check_create_rounds(&client_entries, &final_states));
    }
    if mix.cas > 0 && writes_other_than(mix.cas) == 0 {
        violations.extend(check_counters(&client_entries, &final_states));
    }
    violations
}

fn final_states(
    history: &History,
    checker_process: u32,
) -> (BTreeMap<String, FinalState>, Vec<Violation>) {
    let mut states = BTreeMap::new();
    let mut violations = Vec::new();
    for entry in history
        .entries
        .iter()
        .filter(|entry| entry.process == checker_process)
    {
        let Request::Get { key } = &entry.request else {
            continue;
        };
        match &entry.outcome {
            Outcome::Ok {
                result: OpResult::Absent,
            } => {
                states.insert(key.clone(), FinalState::Absent);
            }
            Outcome::Ok {
                result: OpResult::Read { value, etag },
            } => {
                states.insert(
                    key.clone(),
                    FinalState::Object {
                        etag: etag.clone(),
                        value: value.clone(),
                    },
                );
            }
            other => violations.push(Violation {
                rule: "liveness",
                message: format!(
                    "the final read of {key} after faults healed did not succeed: {other:?}"
                ),
                entries: vec![entry.id],
            }),
        }
    }
    (states, violations)
}

fn etag_of(value: &str) -> String {
    ETag::of_content(value.as_bytes()).to_string()
}

/// A retry that starts this soon after the answer before it drew a
/// backoff of 0 or 1 ms, or had none. The gap is never shorter than the
/// backoff drawn (it is measured from the answer, before the sleep), so a
/// draw of 2 ms or more is never quick; a shorter one may be a little
/// longer than drawn (live, the timer's granularity; simulated, a backoff
/// of 0 ms was seen to start the retry 1 ms after the answer).
const QUICK_RETRY_NS: u64 = 1_500_000;
/// Fewer retries than this in a history are not judged: too few to tell
/// a client without backoff from an unlucky one.
pub const MIN_RETRIES_JUDGED: usize = 10;
/// Standard deviations above the expected count of quick retries a
/// history may have (and 3 retries more) before it fails R3: a margin a
/// correct client does not reach in practice.
const QUICK_RETRY_SIGMAS: f64 = 6.0;

/// R3: a client backs off before each retry, with full jitter: the delay
/// is drawn uniformly in whole milliseconds from 0 to a ceiling of at
/// least the base (50 ms), so at most two retries in 51 (draws of 0 and
/// 1 ms) may start within [`QUICK_RETRY_NS`] of the answer before them.
/// A history whose retries start that soon far more often was made by a
/// client that does not back off: a retry storm against a failing server.
/// Both clients are judged: the native client's one request sent again
/// after a 401 re-mint (R1) is a request of its own, not a retry. Reads
/// only the entries, so a saved history can be judged alone; it judges
/// lockwell-client's default policy (R3's), not any client's.
#[must_use]
pub fn check_retry_backoff(entries: &[&Entry]) -> Vec<Violation> {
    let mut retries = 0_usize;
    let mut quick = 0_usize;
    let mut quick_entries = Vec::new();
    for entry in entries {
        retries += entry.retry_gaps_ns.len();
        let quick_here = entry
            .retry_gaps_ns
            .iter()
            .filter(|gap| **gap < QUICK_RETRY_NS)
            .count();
        if quick_here > 0 {
            quick += quick_here;
            quick_entries.push(entry.id);
        }
    }
    if retries < MIN_RETRIES_JUDGED {
        return Vec::new();
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts of retries and milliseconds are far below 2^52"
    )]
    let (retries_f, base_ms) = (retries as f64, DEFAULT_BASE_DELAY_MS as f64);
    let share = 2.0 / (base_ms + 1.0);
    let expected = retries_f * share;
    let bound = expected + QUICK_RETRY_SIGMAS * (expected * (1.0 - share)).sqrt() + 3.0;
    // Whole retries: the bound is at most a few hundred.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive bound far below usize::MAX"
    )]
    let allowed = bound.floor() as usize;
    if quick <= allowed {
        return Vec::new();
    }
    vec![Violation {
        rule: "R3",
        message: format!(
            "{quick} of {retries} retries started within 1.5 ms of the answer before them: \
             backoff with full jitter (base {DEFAULT_BASE_DELAY_MS} ms) makes about \
             {expected:.1} that quick, at most {allowed} here; the client retries without \
             backing off"
        ),
        entries: quick_entries,
    }]
}

/// E2 (with E1): a put's acknowledgement carries the ETag of its bytes.
fn check_write_etags(entries: &[&Entry]) -> Vec<Violation> {
    entries
        .iter()
        .filter_map(|entry| match (&entry.request, &entry.outcome) {
            (
                Request::Put { value, .. },
                Outcome::Ok {
                    result: OpResult::Written { etag },
                },
            ) if *etag != etag_of(value) => Some(Violation {
                rule: "E2",
                message: format!(
                    "a put of {value:?} was acknowledged with ETag {etag}, not {}",
                    etag_of(value)
                ),
                entries: vec![entry.id],
            }),
            _ => None,
        })
        .collect()
}

/// I1, I7: every answered send of one idempotency key reports the one
/// effect: the same ETag, or the same precondition failure.
fn check_idempotency(entries: &[&Entry]) -> Vec<Violation> {
    let mut groups: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        if let Some(key) = entry.request.idempotency_key() {
            groups.entry(key).or_default().push(entry);
        }
    }
    let mut violations = Vec::new();
    for (key, sends) in groups {
        let written: BTreeSet<&str> = sends
            .iter()
            .filter_map(|entry| match &entry.outcome {
                Outcome::Ok {
                    result: OpResult::Written { etag },
                } => Some(etag.as_str()),
                _ => None,
            })
            .collect();
        let lost_race = sends
            .iter()
            .any(|entry| matches!(entry.outcome, Outcome::Failed { status: 412, .. }));
        let ids = sends.iter().map(|entry| entry.id).collect();
        if written.len() > 1 {
            violations.push(Violation {
                rule: "I1",
                message: format!(
                    "idempotency key {key:?} was acknowledged with different ETags: {written:?}"
                ),
                entries: ids,
            });
        } else if !written.is_empty() && lost_race {
            violations.push(Violation {
                rule: "I7",
                message: format!(
                    "idempotency key {key:?} was answered both with success and with 412"
                ),
                entries: ids,
            });
        }
    }
    violations
}

/// The latest moment a write can have taken effect (`None`: any time).
fn latest_effect_ns(entry: &Entry, first_ack_by_key: &BTreeMap<&str, u64>) -> Option<u64> {
    let own = match entry.outcome {
        Outcome::Ok { .. } => Some(entry.complete_ns),
        _ => None,
    };
    let by_key = entry
        .request
        .idempotency_key()
        .and_then(|key| first_ack_by_key.get(key).copied());
    match (own, by_key) {
        (Some(own), Some(by_key)) => Some(own.min(by_key)),
        (own, by_key) => own.or(by_key),
    }
}

/// The earliest moment a write can have taken effect: its invocation, or
/// the first send of its idempotency key.
fn earliest_effect_ns(entry: &Entry, first_invoke_by_key: &BTreeMap<&str, u64>) -> u64 {
    entry
        .request
        .idempotency_key()
        .and_then(|key| first_invoke_by_key.get(key).copied())
        .unwrap_or(entry.invoke_ns)
}

fn effect(entry: &Entry) -> Option<Effect> {
    if matches!(entry.outcome, Outcome::Failed { .. }) {
        return None;
    }
    let acknowledged = match &entry.outcome {
        Outcome::Ok {
            result: OpResult::Written { etag },
        } => Some(etag.clone()),
        _ => None,
    };
    match &entry.request {
        Request::Get { .. } => None,
        Request::Put { value, .. } => Some(Effect::Etag(etag_of(value))),
        Request::Delete { .. } => Some(Effect::Absent),
        Request::Copy { .. } | Request::CompleteMultipart { .. } => {
            Some(acknowledged.map_or(Effect::Any, Effect::Etag))
        }
    }
}

/// E4: the final state of every key is what its last acknowledged write
/// left, or what a write that may have come after it left.
fn check_durability(
    entries: &[&Entry],
    final_states: &BTreeMap<String, FinalState>,
) -> Vec<Violation> {
    let mut first_ack_by_key: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in entries {
        if let (Some(key), Outcome::Ok { .. }) = (entry.request.idempotency_key(), &entry.outcome) {
            let first = first_ack_by_key.entry(key).or_insert(entry.complete_ns);
            *first = (*first).min(entry.complete_ns);
        }
    }
    let mut first_invoke_by_key: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in entries {
        if let Some(key) = entry.request.idempotency_key() {
            let first = first_invoke_by_key.entry(key).or_insert(entry.invoke_ns);
            *first = (*first).min(entry.invoke_ns);
        }
    }
    let mut writes_by_key: BTreeMap<&str, Vec<(&Entry, Effect)>> = BTreeMap::new();
    for entry in entries {
        if let Some(effect) = effect(entry) {
            writes_by_key
                .entry(entry.request.key())
                .or_default()
                .push((entry, effect));
        }
    }
    let mut violations = Vec::new();
    for (key, state) in final_states {
        let writes = writes_by_key
            .get(key.as_str())
            .map_or(&[][..], Vec::as_slice);
        // A write is superseded when an acknowledged write (of another
        // idempotency key, or none) began after it had certainly taken
        // effect; the sends of one key began with the first of them.
        let superseded = |candidate: &Entry| {
            latest_effect_ns(candidate, &first_ack_by_key).is_some_and(|latest_ns| {
                let group = candidate.request.idempotency_key();
                writes.iter().any(|(other, _)| {
                    let other_group = other.request.idempotency_key();
                    matches!(other.outcome, Outcome::Ok { .. })
                        && (group.is_none() || other_group != group)
                        && earliest_effect_ns(other, &first_invoke_by_key) > latest_ns
                })
            })
        };
        let explains = |effect: &Effect| match (effect, state) {
            (Effect::Any, _) | (Effect::Absent, FinalState::Absent) => true,
            (Effect::Etag(written), FinalState::Object { etag, .. }) => written == etag,
            _ => false,
        };
        let explained = writes
            .iter()
            .any(|(entry, effect)| explains(effect) && !superseded(entry))
            || (*state == FinalState::Absent
            // The key's state before the run: gone once any write is
            // acknowledged.
            && !writes
                .iter()
                .any(|(entry, _)| matches!(entry.outcome, Outcome::Ok { .. })));
        if !explained {
            let acknowledged: Vec<u64> = writes
                .iter()
                .filter(|(entry, _)| matches!(entry.outcome, Outcome::Ok { .. }))
                .map(|(entry, _)| entry.id)
                .collect();
            let last = acknowledged.iter().rev().take(5).rev().copied().collect();
            violations.push(Violation {
                rule: "E4",
                message: format!(
                    "{key} ended as {state:?}, which no write that may have come after its last \
                     acknowledged write installed: an acknowledged write was lost"
                ),
                entries: last,
            });
        }
    }
    violations
}

/// C1: of the racers creating one key, exactly one wins, and the key holds
/// the winner's value.
fn check_create_rounds(
    entries: &[&Entry],
    final_states: &BTreeMap<String, FinalState>,
) -> Vec<Violation> {
    let mut rounds: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        if let Request::Put {
            key,
            condition: Precondition::Absent,
            ..
        } = &entry.request
        {
            rounds.entry(key).or_default().push(entry);
        }
    }
    let mut violations = Vec::new();
    for (key, racers) in rounds {
        let ids: Vec<u64> = racers.iter().map(|entry| entry.id).collect();
        let winners: Vec<&&Entry> = racers
            .iter()
            .filter(|entry| matches!(entry.outcome, Outcome::Ok { .. }))
            .collect();
        let undecided = racers
            .iter()
            .any(|entry| matches!(entry.outcome, Outcome::Indeterminate { .. }));
        if winners.len() > 1 {
            violations.push(Violation {
                rule: "C1",
                message: format!("{} creators of {key} were all told they won", winners.len()),
                entries: winners.iter().map(|entry| entry.id).collect(),
            });
        } else if winners.is_empty() && !undecided {
            violations.push(Violation {
                rule: "C1",
                message: format!(
                    "every creator of {key} was told it lost, and none is in doubt: no winner"
                ),
                entries: ids,
            });
        } else if let (Some(winner), Some(FinalState::Object { value, .. })) =
            (winners.first(), final_states.get(key))
            && let Request::Put {
                value: winning_value,
                ..
            } = &winner.request
            && value != winning_value
        {
            violations.push(Violation {
                rule: "C1",
                message: format!("{key} holds {value:?}, not the winner's {winning_value:?}"),
                entries: vec![winner.id],
            });
        }
    }
    violations
}

/// C2, C3, C4 on counters: each acknowledged increment counts once, no
/// two acknowledged increments read the same count (a lost update), and
/// the final count is at least the acknowledged ones and at most those
/// plus the ones in doubt.
fn check_counters(
    entries: &[&Entry],
    final_states: &BTreeMap<String, FinalState>,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut by_key: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        if let Request::Put { key, .. } = &entry.request {
            by_key.entry(key).or_default().push(entry);
        }
    }
    for (key, writes) in by_key {
        let acknowledged: Vec<&&Entry> = writes
            .iter()
            .filter(|entry| matches!(entry.outcome, Outcome::Ok { .. }))
            .collect();
        let in_doubt = writes
            .iter()
            .filter(|entry| matches!(entry.outcome, Outcome::Indeterminate { .. }))
            .count() as u64;
        let mut counts: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for entry in &acknowledged {
            if let Request::Put { value, .. } = &entry.request
                && let Some(counter) = CounterValue::parse(value)
            {
                counts.entry(counter.count).or_default().push(entry.id);
            }
        }
        for (count, ids) in counts.iter().filter(|(_, ids)| ids.len() > 1) {
            violations.push(Violation {
                rule: "C3",
                message: format!(
                    "{} acknowledged increments of {key} both wrote count {count}: a lost update",
                    ids.len()
                ),
                entries: ids.clone(),
            });
        }
        let final_count = match final_states.get(key) {
            Some(FinalState::Object { value, .. }) => {
                CounterValue::parse(value).map_or(0, |counter| counter.count)
            }
            _ => 0,
        };
        let acknowledged_count = acknowledged.len() as u64;
        let last_ids = acknowledged
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(|entry| entry.id)
            .collect();
        if final_count < acknowledged_count {
            violations.push(Violation {
                rule: "C2",
                message: format!(
                    "{key} counts {final_count} after {acknowledged_count} acknowledged \
                     increments: an acknowledged increment was lost"
                ),
                entries: last_ids,
            });
        } else if final_count > acknowledged_count + in_doubt {
            violations.push(Violation {
                rule: "C4",
                message: format!(
                    "{key} counts {final_count}, more than {acknowledged_count} acknowledged \
                     plus {in_doubt} in doubt: a write reported as failed took effect"
                ),
                entries: last_ids,
            });
        }
    }
    violations
}

#[cfg(test)]
mod tests;
