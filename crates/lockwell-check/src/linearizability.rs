//! Linearizability of a [`History`] against the SPEC's object model.
//!
//! # The model
//!
//! Every key is a register: absent, or a version (a value and its ETag).
//! Puts install a version under their precondition (`None`, create-only
//! C1, If-Match C2/C6), deletes make the key absent (unconditionally, as
//! S3 does also for an absent key, or under If-Match C6a), gets read it,
//! a copy reads its source and installs the source's version (its ETag
//! included) on the destination under both sides' conditions (C7, C8), a
//! multipart complete installs its value (its ETag is what it or a read
//! answered: the history does not carry the part digests). A history is
//! linearizable when every operation can be given one instant within its
//! lifetime so that, taken in that order, the model gives the answers the
//! clients got. The `model` module says how each outcome constrains that instant:
//! acknowledged, between invocation and completion; a 412 or 404
//! NoSuchKey, likewise, and the state then must justify it; indeterminate,
//! at any instant after its invocation or never; other failures, never.
//! The sends of one idempotency key are one operation (I1): one effect at
//! most, and every answered send reports it, so the first answer bounds it.
//!
//! # Partitions: keys linked by copies
//!
//! Operations on different keys commute, so each key is checked on its
//! own (Porcupine's partitioning), which keeps each search small. A copy
//! reads one key and writes another, so it joins them: the partitions are
//! the connected components of the graph whose nodes are keys and whose
//! edges are copies (a union-find over the keys), each searched as a
//! whole with one register per key. The model is exact across a copy; the
//! price is a larger search where copies chain many keys. So a joined
//! partition of at most `JOINT_MAX_KEYS` keys gets a first search of at
//! most `JOINT_MAX_STATES` configurations; past either, its copies are
//! split into a read of the source and a write of the destination, and
//! each key is searched alone (`split_copies` says what that no longer
//! checks). A violation found then is a violation of the exact model too;
//! [`Stats::split_partitions`] counts the partitions checked that way.
//!
//! # The bound
//!
//! The search (the `search` module) is exponential in the worst case. It
//! explores at most [`Limits::max_states_per_partition`] configurations
//! per partition and refuses partitions of more than
//! [`Limits::max_operations_per_partition`] operations; past either, the
//! partition's verdict is [`Unknown`] with the reason, never a hang.
//!
//! # A violation
//!
//! When a partition has no linearization, the report names the operation
//! the search got furthest without placing and the SPEC rule that makes it
//! impossible there, shrinks the partition's operations to a small window
//! that still fails the same way (first those invoked before the failing
//! operation's deadline, then removing chunks while it still fails), and
//! draws that window as a text timeline.

#[cfg(test)]
mod brute_force;
mod model;
mod search;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::history::{Entry, History, OpResult, Outcome, Precondition, Request};

use model::{ABSENT, Action, Cond, Expect, KeyId, Model, Op, Origin, Rejection, Version};
use search::{Failure, SearchOutcome};

/// Default of [`Limits::max_states_per_partition`]: a few hundred
/// megabytes of memo at most, seconds of search.
pub const DEFAULT_MAX_STATES_PER_PARTITION: u64 = 2_000_000;

/// Default of [`Limits::max_operations_per_partition`].
pub const DEFAULT_MAX_OPERATIONS_PER_PARTITION: usize = 2_000_000;

/// Default of [`Limits::max_shrink_states`].
pub const DEFAULT_MAX_SHRINK_STATES: u64 = 200_000;

/// Default of [`Limits::max_joint_states_per_partition`].
pub const DEFAULT_MAX_JOINT_STATES_PER_PARTITION: u64 = 100_000;

/// The most keys a partition joined by copies may have to be searched as
/// a whole: a larger one goes straight to [`split_copies`], since its
/// joint search would mostly spend its bound.
const JOINT_MAX_KEYS: usize = 64;

/// The configurations one re-check explores while shrinking: a window
/// that needs more is not worth shrinking further.
const SHRINK_CHECK_MAX_STATES: u64 = 20_000;

/// The width of a timeline's bars, in characters.
const TIMELINE_WIDTH_CHARS: usize = 40;

/// The bounds of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Configurations explored per partition before its verdict is
    /// [`Verdict::Unknown`].
    pub max_states_per_partition: u64,
    /// Partitions with more operations are not searched ([`Unknown`]).
    pub max_operations_per_partition: usize,
    /// Configurations the re-checks that shrink a violation's window may
    /// explore in total.
    pub max_shrink_states: u64,
    /// Configurations the joint search of keys linked by copies may
    /// explore before the copies are split and each key is searched alone
    /// (see [`split_copies`]); with 0 the joint search gives up at its
    /// first configuration, unless it decides before exploring any.
    pub max_joint_states_per_partition: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_states_per_partition: DEFAULT_MAX_STATES_PER_PARTITION,
            max_operations_per_partition: DEFAULT_MAX_OPERATIONS_PER_PARTITION,
            max_shrink_states: DEFAULT_MAX_SHRINK_STATES,
            max_joint_states_per_partition: DEFAULT_MAX_JOINT_STATES_PER_PARTITION,
        }
    }
}

/// A set of operations that cannot be linearized, or answers that
/// contradict each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The SPEC rule id (`C1`, `C2`, `C4`, `C6`, `C6a`, `C7`, `C8`, `E2`,
    /// `E4`, `I1`, `I7`): best effort, from the operation that could not
    /// be placed and the state it met.
    pub rule: &'static str,
    /// The keys of the partition, sorted.
    pub keys: Vec<String>,
    pub message: String,
    /// The history entries of the smallest failing window found, in
    /// invocation order.
    pub entries: Vec<u64>,
    /// The window drawn as text, one line per entry.
    pub timeline: String,
}

/// A partition the check gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub keys: Vec<String>,
    pub operations: usize,
    pub reason: String,
}

/// What the check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations of the model (the sends of an idempotency key count
    /// once; definite non-effects not at all).
    pub operations: usize,
    pub partitions: usize,
    /// Configurations explored, over all partitions.
    pub states: u64,
    /// Partitions of keys joined by copies whose joint search was past
    /// its bound, checked key by key with their copies split (weaker).
    pub split_partitions: usize,
}

/// The verdict on a history.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// At least one violation (see [`Report::violations`]).
    Violated,
    /// No violation, but some partition was past the bound.
    Unknown,
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Sorted by their first entry.
    pub violations: Vec<Violation>,
    pub unknown: Vec<Unknown>,
    pub stats: Stats,
}

impl Report {
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        if !self.violations.is_empty() {
            Verdict::Violated
        } else if !self.unknown.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Linearizable
        }
    }
}

/// Checks `history` with the default [`Limits`].
#[must_use]
pub fn check(history: &History) -> Report {
    check_with(history, &Limits::default())
}

/// Checks `history` for linearizability, partition by partition, within
/// `limits`.
#[must_use]
pub fn check_with(history: &History, limits: &Limits) -> Report {
    let model = model::build(history, true);
    let mut report = Report {
        violations: Vec::new(),
        unknown: Vec::new(),
        stats: Stats {
            operations: model.ops.len(),
            ..Stats::default()
        },
    };
    for violation in &model.static_violations {
        let entries: BTreeSet<u64> = violation.entries.iter().copied().collect();
        report.violations.push(Violation {
            rule: violation.rule,
            keys: vec![model.keys[violation.key as usize].clone()],
            message: violation.message.clone(),
            entries: entries.iter().copied().collect(),
            timeline: timeline(history, &entries, &entries),
        });
    }
    for partition in partitions(&model) {
        report.stats.partitions += 1;
        let key_names: Vec<String> = partition
            .keys
            .iter()
            .map(|&key| model.keys[key as usize].clone())
            .collect();
        let mut sorted_names = key_names.clone();
        sorted_names.sort();
        if partition.ops.len() > limits.max_operations_per_partition {
            report.unknown.push(Unknown {
                keys: sorted_names,
                operations: partition.ops.len(),
                reason: format!(
                    "{} operations, more than the bound of {} per partition: not searched",
                    partition.ops.len(),
                    limits.max_operations_per_partition
                ),
            });
            continue;
        }
        let joined = partition.keys.len() > 1;
        let outcome = if partition.keys.len() > JOINT_MAX_KEYS {
            SearchOutcome::Unknown { states: 0 }
        } else if joined {
            let limit = limits
                .max_states_per_partition
                .min(limits.max_joint_states_per_partition);
            search::search(&partition.ops, partition.keys.len(), &model.versions, limit)
        } else {
            search::search(
                &partition.ops,
                partition.keys.len(),
                &model.versions,
                limits.max_states_per_partition,
            )
        };
        let judge = Judge {
            history,
            model: &model,
            key_names: &key_names,
            limits,
        };
        match outcome {
            SearchOutcome::Unknown { states } if joined => {
                report.stats.states += states;
                report.stats.split_partitions += 1;
                let (versions, by_key) = split_copies(&partition.ops, &model.versions, &key_names);
                for (key, ops) in by_key.iter().enumerate() {
                    if ops.is_empty() {
                        continue;
                    }
                    let outcome = search::search(
                        ops,
                        partition.keys.len(),
                        &versions,
                        limits.max_states_per_partition,
                    );
                    judge.record(
                        &mut report,
                        ops,
                        &versions,
                        vec![key_names[key].clone()],
                        outcome,
                    );
                }
            }
            outcome => {
                judge.record(
                    &mut report,
                    &partition.ops,
                    &model.versions,
                    sorted_names,
                    outcome,
                );
            }
        }
    }
    report
        .violations
        .sort_by(|a, b| (&a.entries, a.rule).cmp(&(&b.entries, b.rule)));
    report
}

/// What turns a search's outcome into the report's entries.
struct Judge<'a> {
    history: &'a History,
    model: &'a Model,
    key_names: &'a [String],
    limits: &'a Limits,
}

impl Judge<'_> {
    fn record(
        &self,
        report: &mut Report,
        ops: &[Op],
        versions: &[Version],
        keys: Vec<String>,
        outcome: SearchOutcome,
    ) {
        match outcome {
            SearchOutcome::Linearizable { states } => report.stats.states += states,
            SearchOutcome::Unknown { states } => {
                report.stats.states += states;
                report.unknown.push(Unknown {
                    keys,
                    operations: ops.len(),
                    reason: format!(
                        "the search explored more than the bound of {} configurations of {} \
                         operations without a verdict",
                        self.limits.max_states_per_partition,
                        ops.len()
                    ),
                });
            }
            SearchOutcome::Violated { failure, states } => {
                report.stats.states += states;
                let context = Context {
                    model: self.model,
                    versions,
                    ops,
                    key_names: self.key_names,
                };
                report.violations.push(context.violation(
                    self.history,
                    &failure,
                    keys,
                    self.limits.max_shrink_states,
                ));
            }
        }
    }
}

/// A partition's operations with its copies split in two: an
/// acknowledged copy becomes a read of its source that saw the version the
/// copy answered (its ETag) and a write of that version to the
/// destination under the destination's condition; an indeterminate one,
/// alternative optional writes to the destination, at most one of which
/// takes effect (an exclusive group), one per version the source could
/// have held that the destination's readers could tell apart; a refused
/// one is dropped. Each key can then be searched alone. Returned per key
/// (renamed `0..key_names.len()`), with the versions extended by the
/// ETags copies answered that no known version has (a multipart's nobody
/// read).
///
/// The versions the source could have held: those written to it or read
/// from it, and those indeterminate copies into it could bring, to a
/// fixed point; versions the destination's readers cannot tell apart are
/// one (the unobserved version). Without this bound an indeterminate copy would offer every
/// version its destination ever held, and the search would try them in
/// every combination.
///
/// A relaxation: the two halves of a copy no longer have to happen at the
/// same instant, an indeterminate copy's version is not tied to its
/// source's state at that instant, and a refusal is not checked against
/// the state. Whatever violates it violates the exact model; it may miss
/// what only the joint search would find.
fn split_copies(
    ops: &[Op],
    versions: &[Version],
    key_names: &[String],
) -> (Vec<Version>, Vec<Vec<Op>>) {
    let mut versions = versions.to_vec();
    let mut version_of_etag: HashMap<u32, u32> = HashMap::new();
    for (id, version) in versions.iter().enumerate() {
        if let Some(etag) = version.etag {
            version_of_etag
                .entry(etag)
                .or_insert(u32::try_from(id).expect("fewer than 2^32 versions"));
        }
    }
    let mut by_key: Vec<Vec<Op>> = vec![Vec::new(); key_names.len()];
    let mut in_doubt = Vec::new();
    for op in ops {
        let Action::Copy {
            source,
            destination,
            destination_cond,
            reply_etag,
            ..
        } = op.action
        else {
            by_key[op.action.keys().0 as usize].push(op.clone());
            continue;
        };
        match (op.expect, reply_etag) {
            (Expect::Effect, Some(etag)) => {
                // An ETag no version has is a multipart's that nobody
                // read: the source half cannot name its version, and is
                // dropped.
                let version = if let Some(&version) = version_of_etag.get(&etag) {
                    by_key[source as usize].push(Op {
                        action: Action::Read {
                            key: source,
                            seen: version,
                        },
                        ..op.clone()
                    });
                    version
                } else {
                    versions.push(Version {
                        value: model::UNOBSERVED_VALUE,
                        etag: Some(etag),
                    });
                    let version =
                        u32::try_from(versions.len() - 1).expect("fewer than 2^32 versions");
                    version_of_etag.insert(etag, version);
                    version
                };
                by_key[destination as usize].push(Op {
                    action: Action::Write {
                        key: destination,
                        version,
                        cond: destination_cond,
                    },
                    ..op.clone()
                });
            }
            (Expect::Rejected(_), _) => {}
            _ => in_doubt.push((op, source, destination, destination_cond)),
        }
    }
    let told_apart: Vec<BTreeSet<u32>> = by_key
        .iter()
        .map(|ops| {
            let mut told_apart = BTreeSet::from([model::UNOBSERVED_VERSION]);
            for other in ops {
                match other.action {
                    Action::Read { seen, .. } if seen != ABSENT => {
                        told_apart.insert(seen);
                    }
                    Action::Write {
                        cond: Cond::Matches(etag),
                        ..
                    }
                    | Action::Delete {
                        cond: Cond::Matches(etag),
                        ..
                    } => told_apart.extend(version_of_etag.get(&etag)),
                    _ => {}
                }
            }
            told_apart
        })
        .collect();
    let mut held: Vec<BTreeSet<u32>> = by_key
        .iter()
        .map(|ops| {
            ops.iter()
                .filter_map(|op| match op.action {
                    Action::Write { version, .. } => Some(version),
                    Action::Read { seen, .. } if seen != ABSENT => Some(seen),
                    _ => None,
                })
                .chain([model::UNOBSERVED_VERSION])
                .collect()
        })
        .collect();
    // What each key may hold, to a fixed point: an indeterminate copy into
    // a key may bring whatever its source may hold, whether or not the
    // key's own readers can tell it apart (a copy further on may carry it
    // to a key whose readers can).
    let mut changed = true;
    while changed {
        changed = false;
        for &(_, source, destination, _) in &in_doubt {
            let brought: Vec<u32> = held[source as usize]
                .difference(&held[destination as usize])
                .copied()
                .collect();
            if !brought.is_empty() {
                held[destination as usize].extend(brought);
                changed = true;
            }
        }
    }
    for (group, (op, source, destination, cond)) in in_doubt.into_iter().enumerate() {
        // Versions the destination's readers cannot tell apart are one:
        // the unobserved version, which `told_apart` always has.
        for &version in held[source as usize].intersection(&told_apart[destination as usize]) {
            by_key[destination as usize].push(Op {
                action: Action::Write {
                    key: destination,
                    version,
                    cond,
                },
                expect: Expect::Maybe,
                deadline_ns: None,
                exclusive_group: Some(u32::try_from(group).expect("fewer than 2^32 copies")),
                ..op.clone()
            });
        }
    }
    (versions, by_key)
}

/// The operations of a group of keys linked by copies, with the keys
/// renamed `0..keys.len()`.
struct Partition {
    keys: Vec<KeyId>,
    ops: Vec<Op>,
}

fn find(parents: &mut [KeyId], key: KeyId) -> KeyId {
    let mut root = key;
    while parents[root as usize] != root {
        root = parents[root as usize];
    }
    let mut node = key;
    while parents[node as usize] != root {
        let next = parents[node as usize];
        parents[node as usize] = root;
        node = next;
    }
    root
}

/// The connected components of keys under copies, in the order of their
/// first operation.
fn partitions(model: &Model) -> Vec<Partition> {
    let key_count = model.keys.len();
    let mut parents: Vec<KeyId> = (0..key_count)
        .map(|key| KeyId::try_from(key).expect("fewer than 2^32 keys"))
        .collect();
    for op in &model.ops {
        if let (key, Some(other)) = op.action.keys() {
            let (a, b) = (find(&mut parents, key), find(&mut parents, other));
            parents[a.max(b) as usize] = a.min(b);
        }
    }
    let mut local = vec![0u32; key_count];
    let mut by_root: BTreeMap<KeyId, Partition> = BTreeMap::new();
    for key in 0..key_count {
        let key = KeyId::try_from(key).expect("fewer than 2^32 keys");
        let partition = by_root
            .entry(find(&mut parents, key))
            .or_insert_with(|| Partition {
                keys: Vec::new(),
                ops: Vec::new(),
            });
        local[key as usize] = u32::try_from(partition.keys.len()).expect("fewer than 2^32 keys");
        partition.keys.push(key);
    }
    for op in &model.ops {
        let root = find(&mut parents, op.action.keys().0);
        let partition = by_root.get_mut(&root).expect("every key has a partition");
        partition.ops.push(Op {
            action: op.action.with_keys(|key| local[key as usize]),
            ..op.clone()
        });
    }
    let mut partitions: Vec<Partition> = by_root
        .into_values()
        .filter(|partition| !partition.ops.is_empty())
        .collect();
    partitions.sort_by_key(|partition| partition.ops[0].entries[0]);
    partitions
}

/// A partition being explained.
struct Context<'m> {
    model: &'m Model,
    versions: &'m [Version],
    ops: &'m [Op],
    key_names: &'m [String],
}

impl Context<'_> {
    fn key(&self, key: KeyId) -> &str {
        &self.key_names[key as usize]
    }

    fn show(&self, state: u32) -> String {
        if state == ABSENT {
            return "nothing (absent)".to_owned();
        }
        if self.model.unobserved_collapsed && state == model::UNOBSERVED_VERSION {
            // Which write it was, no later request can tell.
            return "a version no request read or named by its ETag".to_owned();
        }
        let version = self.versions[state as usize];
        let etag = version
            .etag
            .map_or("unknown", |etag| &self.model.etags[etag as usize]);
        if self.model.unobserved_collapsed && version.value == model::UNOBSERVED_VALUE {
            // A split copy's alternative: a version its source may have
            // held, told apart by its ETag alone.
            return format!("a value no request read (ETag {etag})");
        }
        format!(
            "{:?} (ETag {etag})",
            self.model.values[version.value as usize]
        )
    }

    /// The rule broken where `op` met `state`, and why.
    fn explain(&self, op: &Op, state: &[u32]) -> (&'static str, String) {
        let versions = self.versions;
        let entries = &op.entries;
        let condition_rule = |cond: Cond| match (op.origin, cond) {
            (Origin::Copy, _) => "C7",
            (_, Cond::Absent) => "C1",
            (Origin::Multipart, _) => "C6",
            (Origin::Delete | Origin::DeleteRetry, _) => "C6a",
            _ => "C2",
        };
        match (op.action, op.expect) {
            (Action::Read { key, seen }, _) => {
                let current = state[key as usize];
                let failed_writer = (seen != ABSENT)
                    .then(|| self.model.failed_writes.get(&versions[seen as usize].value))
                    .flatten();
                if let Some(failed) = failed_writer {
                    return (
                        "C4",
                        format!(
                            "get {entries:?} of {} returned {}, written by request(s) {failed:?} \
                             that failed: a failed write took effect",
                            self.key(key),
                            self.show(seen)
                        ),
                    );
                }
                let same_value_other_etag = seen != ABSENT
                    && current != ABSENT
                    && versions[seen as usize].value == versions[current as usize].value;
                let rule = match (op.origin, same_value_other_etag) {
                    // The read half of a split copy: the source state
                    // used is the state copied.
                    (Origin::Copy, _) => "C8",
                    (_, true) => "E2",
                    (_, false) => "E4",
                };
                (
                    rule,
                    format!(
                        "get {entries:?} of {} returned {}, but no order of the operations \
                         allows it: at the latest it can have happened, the key held {}",
                        self.key(key),
                        self.show(seen),
                        self.show(current)
                    ),
                )
            }
            (Action::Write { key, cond, .. } | Action::Delete { key, cond }, Expect::Effect) => {
                let current = state[key as usize];
                if model::cond_failures(cond, current, versions) == 0 {
                    return self.unplaceable(op);
                }
                (
                    condition_rule(cond),
                    format!(
                        "request {entries:?} on {} was acknowledged, but its precondition \
                         {cond:?} cannot have held: the key held {}",
                        self.key(key),
                        self.show(current)
                    ),
                )
            }
            (
                Action::Copy {
                    source,
                    destination,
                    source_if_match,
                    destination_cond,
                    ..
                },
                Expect::Effect,
            ) => {
                let (source_state, destination_state) =
                    (state[source as usize], state[destination as usize]);
                let source_failures = model::copy_failures(
                    source_state,
                    source_if_match,
                    ABSENT,
                    Cond::None,
                    versions,
                );
                let destination_failures =
                    model::cond_failures(destination_cond, destination_state, versions);
                let rule = match (source_failures, destination_failures) {
                    (0, 0) => return self.unplaceable(op),
                    (0, _) => "C7",
                    _ => "C8",
                };
                (
                    rule,
                    format!(
                        "copy {entries:?} {} -> {} was acknowledged, but its conditions cannot \
                         have held: the source held {}, the destination {}",
                        self.key(source),
                        self.key(destination),
                        self.show(source_state),
                        self.show(destination_state)
                    ),
                )
            }
            (action, Expect::Rejected(rejection)) => {
                let status = match rejection {
                    Rejection::PreconditionFailed => "412",
                    Rejection::NotFound => "404",
                };
                let rule = match action {
                    _ if op.idempotent => "I7",
                    Action::Write { cond, .. } | Action::Delete { cond, .. } => {
                        condition_rule(cond)
                    }
                    Action::Copy {
                        source_if_match, ..
                    } if source_if_match.is_some() || rejection == Rejection::NotFound => "C8",
                    _ => "C7",
                };
                let (key, _) = action.keys();
                (
                    rule,
                    format!(
                        "request {entries:?} on {} was refused with {status}, but no state it \
                         can have met justifies that: the key held {}",
                        self.key(key),
                        self.show(state[key as usize])
                    ),
                )
            }
            (_, Expect::Maybe) => self.unplaceable(op),
        }
    }

    /// An operation that could happen in the state it met, but not
    /// together with the operations that must follow it.
    fn unplaceable(&self, op: &Op) -> (&'static str, String) {
        let (key, _) = op.action.keys();
        (
            "E4",
            format!(
                "request {:?} on {} cannot be placed in any order consistent with the answers \
                 around it",
                op.entries,
                self.key(key)
            ),
        )
    }

    /// Whether `subset` of the operations still fails at the operation
    /// with first entry `target_entry`, breaking `rule`; the search spends
    /// from `budget_states`, and a search past its share is no failure.
    fn still_fails(
        &self,
        subset: &[usize],
        target_entry: u64,
        rule: &str,
        budget_states: &mut u64,
    ) -> bool {
        let ops: Vec<Op> = subset
            .iter()
            .map(|&index| self.ops[index].clone())
            .collect();
        let outcome = search::search(
            &ops,
            self.key_names.len(),
            self.versions,
            SHRINK_CHECK_MAX_STATES.min(*budget_states),
        );
        let (SearchOutcome::Linearizable { states }
        | SearchOutcome::Unknown { states }
        | SearchOutcome::Violated { states, .. }) = outcome;
        *budget_states = budget_states.saturating_sub(states.max(1));
        match outcome {
            SearchOutcome::Violated { failure, .. } => {
                let op = &ops[failure.target];
                op.entries[0] == target_entry && self.explain(op, &failure.state).0 == rule
            }
            _ => false,
        }
    }

    /// For each operation, the writes that produce what it observes: the
    /// version a read returned, the ETag a condition names. Removing all
    /// of them would make it fail for a reason the history does not have.
    fn producers(&self) -> Vec<Vec<Vec<usize>>> {
        let versions = self.versions;
        let mut by_version: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut by_etag: HashMap<u32, Vec<usize>> = HashMap::new();
        for (index, op) in self.ops.iter().enumerate() {
            if let Action::Write { version, .. } = op.action {
                by_version.entry(version).or_default().push(index);
                if let Some(etag) = versions[version as usize].etag {
                    by_etag.entry(etag).or_default().push(index);
                }
            }
        }
        let named = |cond: Cond| match cond {
            Cond::Matches(etag) => Some(etag),
            Cond::None | Cond::Absent => None,
        };
        self.ops
            .iter()
            .map(|op| {
                let (versions_seen, etags_named) = match op.action {
                    Action::Read { seen, .. } => (Some(seen), vec![]),
                    Action::Write { cond, .. } | Action::Delete { cond, .. } => {
                        (None, named(cond).into_iter().collect())
                    }
                    Action::Copy {
                        source_if_match,
                        destination_cond,
                        ..
                    } => (
                        None,
                        source_if_match
                            .into_iter()
                            .chain(named(destination_cond))
                            .collect(),
                    ),
                };
                versions_seen
                    .and_then(|seen| by_version.get(&seen).cloned())
                    .into_iter()
                    .chain(
                        etags_named
                            .iter()
                            .filter_map(|etag| by_etag.get(etag).cloned()),
                    )
                    .collect()
            })
            .collect()
    }

    /// The smallest window found that still fails as `failure` does.
    /// Copies are kept, and so is, for every operation kept, one writer of
    /// what it observed.
    fn shrink(&self, failure: &Failure, rule: &str, max_states: u64) -> Vec<usize> {
        let producers = self.producers();
        let explained = |subset: &[usize]| {
            let mut kept = vec![false; self.ops.len()];
            for &index in subset {
                kept[index] = true;
            }
            subset.iter().all(|&index| {
                producers[index]
                    .iter()
                    .all(|writers| writers.iter().any(|&writer| kept[writer]))
            })
        };
        let target = &self.ops[failure.target];
        let target_entry = target.entries[0];
        let deadline_ns = target.deadline_ns.unwrap_or(u64::MAX);
        let mut budget = max_states;
        let mut kept: Vec<usize> = (0..self.ops.len())
            .filter(|&index| self.ops[index].invoke_ns <= deadline_ns)
            .collect();
        if !self.still_fails(&kept, target_entry, rule, &mut budget) {
            kept = (0..self.ops.len()).collect();
        }
        let mut chunk = kept.len() / 2;
        while chunk > 0 && budget > 0 {
            let mut start = 0;
            while start < kept.len() && budget > 0 {
                let end = (start + chunk).min(kept.len());
                let removes_needed = kept[start..end].iter().any(|&index| {
                    index == failure.target || matches!(self.ops[index].action, Action::Copy { .. })
                });
                let candidate: Vec<usize> =
                    kept[..start].iter().chain(&kept[end..]).copied().collect();
                if removes_needed || !explained(&candidate) {
                    start = end;
                    continue;
                }
                if self.still_fails(&candidate, target_entry, rule, &mut budget) {
                    kept = candidate;
                } else {
                    start = end;
                }
            }
            chunk /= 2;
        }
        kept
    }

    fn violation(
        &self,
        history: &History,
        failure: &Failure,
        keys: Vec<String>,
        max_shrink_states: u64,
    ) -> Violation {
        let target = &self.ops[failure.target];
        let (rule, explanation) = self.explain(target, &failure.state);
        let window = self.shrink(failure, rule, max_shrink_states);
        let entries: BTreeSet<u64> = window
            .iter()
            .flat_map(|&index| self.ops[index].entries.iter().copied())
            .collect();
        let marked: BTreeSet<u64> = target.entries.iter().copied().collect();
        Violation {
            rule,
            keys,
            message: format!(
                "{explanation} (not linearizable; smallest failing window found: {} of {} \
                 operations)",
                window.len(),
                self.ops.len()
            ),
            entries: entries.iter().copied().collect(),
            timeline: timeline(history, &entries, &marked),
        }
    }
}

fn condition_text(condition: &Precondition) -> String {
    match condition {
        Precondition::None => String::new(),
        Precondition::Absent => " if-none-match:*".to_owned(),
        Precondition::Matches { etag } => format!(" if-match:{etag}"),
    }
}

fn request_text(request: &Request) -> String {
    let keyed = |idempotency_key: &Option<String>| {
        idempotency_key
            .as_deref()
            .map_or(String::new(), |key| format!(" idempotency-key:{key}"))
    };
    match request {
        Request::Put {
            key,
            value,
            condition,
            idempotency_key,
        } => format!(
            "put {key} {value:?}{}{}",
            condition_text(condition),
            keyed(idempotency_key)
        ),
        Request::Get { key } => format!("get {key}"),
        Request::Delete { key, condition } => format!("delete {key}{}", condition_text(condition)),
        Request::Copy {
            source,
            destination,
            destination_condition,
            source_if_match,
        } => format!(
            "copy {source} -> {destination}{}{}",
            source_if_match
                .as_deref()
                .map_or(String::new(), |etag| format!(" source-if-match:{etag}")),
            condition_text(destination_condition)
        ),
        Request::CompleteMultipart {
            key,
            value,
            part_count,
            condition,
            idempotency_key,
        } => format!(
            "complete-multipart {key} {value:?} ({part_count} parts){}{}",
            condition_text(condition),
            keyed(idempotency_key)
        ),
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok { result } => match result {
            OpResult::Written { etag } => format!("ok, ETag {etag}"),
            OpResult::Read { value, etag } => format!("read {value:?}, ETag {etag}"),
            OpResult::Absent => "absent".to_owned(),
            OpResult::Deleted => "deleted".to_owned(),
        },
        Outcome::Failed { status, code } => format!("{status} {code}"),
        Outcome::Indeterminate { reason } => format!("indeterminate ({reason})"),
    }
}

/// `entries` of `history` as a timeline: one line per entry, a bar over
/// its lifetime on a common scale, its process, request and outcome;
/// `marked` ones start with `*`.
pub(crate) fn timeline(
    history: &History,
    entries: &BTreeSet<u64>,
    marked: &BTreeSet<u64>,
) -> String {
    let shown: Vec<&Entry> = entries
        .iter()
        .filter_map(|&id| history.entries.get(usize::try_from(id).ok()?))
        .collect();
    let start_ns = shown.iter().map(|entry| entry.invoke_ns).min().unwrap_or(0);
    let end_ns = shown
        .iter()
        .map(|entry| entry.complete_ns)
        .max()
        .unwrap_or(0);
    let span_ns = u128::from((end_ns - start_ns).max(1));
    let column = |time_ns: u64| {
        usize::try_from(
            u128::from(time_ns - start_ns) * (TIMELINE_WIDTH_CHARS as u128 - 1) / span_ns,
        )
        .expect("a column")
    };
    let mut text = format!(
        "from {start_ns} ns to {end_ns} ns; bars: = answered, x failed, ? indeterminate \
         (may act later); * could not be placed\n"
    );
    for entry in shown {
        let (fill, open_ended) = match entry.outcome {
            Outcome::Ok { .. } => ('=', false),
            Outcome::Failed { .. } => ('x', false),
            Outcome::Indeterminate { .. } => ('?', true),
        };
        let (first, last) = (column(entry.invoke_ns), column(entry.complete_ns));
        let bar: String = (0..TIMELINE_WIDTH_CHARS)
            .map(|index| {
                if index >= first && (index <= last || open_ended) {
                    fill
                } else {
                    ' '
                }
            })
            .collect();
        let mark = if marked.contains(&entry.id) { '*' } else { ' ' };
        let sends = match (entry.attempts, &entry.outcome) {
            (0, Outcome::Indeterminate { .. }) => " (no attempt may have acted)".to_owned(),
            (0 | 1, _) => String::new(),
            (attempts, _) => format!(" ({attempts} attempts may have acted)"),
        };
        let _infallible = writeln!(
            text,
            "{mark}{:>7} p{:<3} |{bar}| {}{sends} -> {}",
            entry.id,
            entry.process,
            request_text(&entry.request),
            outcome_text(&entry.outcome)
        );
    }
    text
}
