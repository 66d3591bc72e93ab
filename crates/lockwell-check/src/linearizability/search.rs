//! The search for a linearization of one partition's operations: Wing and
//! Gong's depth-first search with Lowe's just-in-time linearization and
//! memoisation of visited configurations, as Porcupine does.
//!
//! The search walks the required operations in the order of their
//! deadlines (their completion, or the first answer of an idempotency
//! key). At each one, the target, it either linearizes the target now, or
//! first linearizes another operation that may come before it: one whose
//! invocation is not after the target's deadline. Operations are thus
//! linearized as late as possible, and an optional one (indeterminate) only
//! when something needs it. A configuration is the target's position, the
//! registers, and which operations that could still matter are used; one
//! seen before is not explored again.
//!
//! Prunings, all exact (the brute-force cross-check in the tests holds
//! them to it):
//! - just in time: when the target can happen now, nothing is placed
//!   before it that could as well come after it (see [`needed`]); on a
//!   single key, an optional operation is placed only if it enables the
//!   target or another candidate (see [`enabling`]);
//! - optional operations with the same action (the same key, condition
//!   and version, e.g. two indeterminate puts of values nobody read) are
//!   interchangeable once both are invoked, so only the first unused one of
//!   each kind is tried;
//! - an optional operation that would not change the registers is never
//!   tried: doing nothing is the same as never taking effect.
//!
//! Of a group of alternatives (an operation's `exclusive_group`) at most
//! one is placed: once one is used, the others are no candidates.
//!
//! Optional operations have no deadline and stay available to the end;
//! which of them are used, which required operations from the first one
//! not yet placed on are used, and the registers go into the configuration as
//! 128-bit Zobrist hashes (two independent 64-bit ones), kept up to date
//! as operations are placed and undone. So a configuration is a few
//! words, hashed and compared in constant time, however long the
//! partition, however many requests overlap, and however many keys
//! copies join into it. Two different ones share a hash with a
//! probability near 2^-128 per pair; a collision could only make the
//! search skip a configuration it has not seen.
//!
//! The search explores at most a given number of configurations and then
//! gives up: [`SearchOutcome::Unknown`], never a hang.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::model::{self, ABSENT, Action, Change, Cond, Expect, Op, Rejection, Version};

/// FxHash (rustc's): fast and good enough for configurations, which are
/// not chosen by an adversary.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u32(&mut self, word: u32) {
        self.add(u64::from(word));
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// SplitMix64: the Zobrist keys, from the operation's index.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How a partition's search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SearchOutcome {
    Linearizable {
        states: u64,
    },
    /// No linearization: `failure` is where the search got furthest.
    Violated {
        failure: Failure,
        states: u64,
    },
    /// The bound was reached first.
    Unknown {
        states: u64,
    },
}

/// The required operation the search got furthest without placing, and
/// the registers it was tried against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) target: usize,
    pub(crate) state: Vec<u32>,
}

/// The operations in the orders the search walks them.
struct Prepared<'o> {
    ops: &'o [Op],
    /// Required operations by (deadline, index).
    returns: Vec<usize>,
    /// Operations with a deadline by (invocation, index).
    timed: Vec<usize>,
    timed_invokes_ns: Vec<u64>,
    /// Optional operations without a deadline by (invocation, index).
    floating: Vec<usize>,
    floating_invokes_ns: Vec<u64>,
    /// Per operation: its kind among the floating ones.
    class: Vec<u32>,
    zobrist: Vec<(u64, u64)>,
    /// Per key: whether a copy reads it.
    copied_from: Vec<bool>,
    /// Whether every operation is on one key, and no copy.
    single_key: bool,
}

impl<'o> Prepared<'o> {
    fn new(ops: &'o [Op], key_count: usize) -> Self {
        debug_assert!(
            ops.iter()
                .all(|op| op.required() || op.deadline_ns.is_none()),
            "an optional operation may take effect any time after its invocation"
        );
        let mut copied_from = vec![false; key_count];
        for op in ops {
            if let Action::Copy { source, .. } = op.action {
                copied_from[source as usize] = true;
            }
        }
        let mut returns: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].required()).collect();
        returns.sort_by_key(|&i| (ops[i].deadline_ns, i));
        let mut timed: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].deadline_ns.is_some())
            .collect();
        timed.sort_by_key(|&i| (ops[i].invoke_ns, i));
        let mut floating: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].deadline_ns.is_none())
            .collect();
        floating.sort_by_key(|&i| (ops[i].invoke_ns, i));
        // Alternatives of different groups are not interchangeable: one's
        // group may be spent while the other's is not.
        let mut classes: HashMap<(Action, Option<u32>), u32, FxBuild> = HashMap::default();
        let mut class = vec![u32::MAX; ops.len()];
        for &i in &floating {
            let next = u32::try_from(classes.len()).expect("fewer than 2^32 kinds");
            class[i] = *classes
                .entry((ops[i].action, ops[i].exclusive_group))
                .or_insert(next);
        }
        let zobrist = (0..ops.len() as u64)
            .map(|i| (splitmix64(2 * i), splitmix64(2 * i + 1)))
            .collect();
        Self {
            ops,
            timed_invokes_ns: timed.iter().map(|&i| ops[i].invoke_ns).collect(),
            floating_invokes_ns: floating.iter().map(|&i| ops[i].invoke_ns).collect(),
            single_key: ops
                .iter()
                .all(|op| op.action.keys() == (ops[0].action.keys().0, None)),
            copied_from,
            returns,
            timed,
            floating,
            class,
            zobrist,
        }
    }

    fn deadline_ns(&self, op: usize) -> u64 {
        self.ops[op].deadline_ns.unwrap_or(u64::MAX)
    }
}

/// One step of the walk: the target at `returns[r]`, and how it was
/// reached.
struct Frame {
    r: usize,
    /// First operation in `timed` that is not used.
    timed_low: usize,
    /// Zobrist hash of the used operations in `timed[..timed_low]`: they
    /// no longer matter, so the configuration leaves them out.
    used_below_timed_low: (u64, u64),
    /// First operation in `floating` that is not used.
    floating_low: usize,
    /// The operation linearized to get here, and the register it changed
    /// with its previous state.
    undo: Option<(usize, Change)>,
    tried_target: bool,
    /// Whether an optional operation was placed before a target that
    /// overwrites (see [`needed`]): then the target waits for a required
    /// operation.
    obligated: bool,
    /// What the candidates were chosen for, once they are.
    needed: Needed,
    candidates: Option<Vec<usize>>,
    cursor: usize,
}

/// The mutable part of the walk.
struct Walk {
    state: Vec<u32>,
    /// Zobrist hash of `state` (absent keys contribute nothing).
    state_hash: (u64, u64),
    used: Vec<bool>,
    /// Zobrist hash of the used floating operations.
    used_floating: (u64, u64),
    /// Zobrist hash of the used operations with a deadline.
    used_timed: (u64, u64),
    /// Per exclusive group: whether one of its operations is used.
    group_used: Vec<bool>,
}

/// What decides the rest of the search: the target's position, the
/// registers, which required operations from the first one not yet placed
/// on are used, and which optional ones are used. The memo keeps only its 128-bit
/// [`Configuration::fingerprint`], 16 bytes a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Configuration {
    r: u32,
    timed_low: u32,
    obligated: bool,
    used_floating: (u64, u64),
    state: (u64, u64),
    /// The used operations in `timed[timed_low..]`.
    used_timed_window: (u64, u64),
}

impl Configuration {
    /// Two independent 64-bit hashes: the Zobrist halves, each with the
    /// position mixed in. The used floating and timed operations are
    /// disjoint sets over one Zobrist table, so their XOR is the hash of
    /// their union; the registers' keys are another table, rotated apart.
    /// The position goes through SplitMix64 twice, salted in between, so
    /// that its keys are not the Zobrist keys of small inputs.
    fn fingerprint(&self) -> u128 {
        let position =
            u64::from(self.r) << 33 | u64::from(self.timed_low) << 1 | u64::from(self.obligated);
        let half = |salt: u64, used_floating: u64, state: u64, window: u64| {
            splitmix64(splitmix64(position) ^ salt) ^ used_floating ^ window ^ state.rotate_left(29)
        };
        let high = half(
            0x9e37_79b9_7f4a_7c15,
            self.used_floating.0,
            self.state.0,
            self.used_timed_window.0,
        );
        let low = half(
            0x2545_f491_4f6c_dd1d,
            self.used_floating.1,
            self.state.1,
            self.used_timed_window.1,
        );
        u128::from(high) << 64 | u128::from(low)
    }
}

/// Searches for a linearization of `ops` (keys `0..key_count`, all absent
/// at first), exploring at most `max_states` configurations.
pub(crate) fn search(
    ops: &[Op],
    key_count: usize,
    versions: &[Version],
    max_states: u64,
) -> SearchOutcome {
    let prepared = Prepared::new(ops, key_count);
    if prepared.returns.is_empty() {
        return SearchOutcome::Linearizable { states: 0 };
    }
    let mut walk = Walk {
        state: vec![ABSENT; key_count],
        state_hash: (0, 0),
        used: vec![false; ops.len()],
        used_floating: (0, 0),
        used_timed: (0, 0),
        group_used: vec![
            false;
            ops.iter()
                .filter_map(|op| op.exclusive_group)
                .max()
                .map_or(0, |group| group as usize + 1)
        ],
    };
    let mut memo: HashSet<u128, FxBuild> = HashSet::default();
    let mut states = 0u64;
    let mut deepest = Failure {
        target: prepared.returns[0],
        state: walk.state.clone(),
    };
    let mut deepest_r = 0;
    let mut stack = vec![Frame {
        r: 0,
        timed_low: 0,
        used_below_timed_low: (0, 0),
        floating_low: 0,
        undo: None,
        tried_target: false,
        obligated: false,
        needed: Needed::Anything,
        candidates: None,
        cursor: 0,
    }];
    while let Some(frame) = stack.last_mut() {
        let target = prepared.returns[frame.r];
        // The target first (unless obligated), then the candidates.
        let next = if !frame.tried_target && !frame.obligated {
            frame.tried_target = true;
            Some(target)
        } else {
            if frame.candidates.is_none() {
                frame.needed = if frame.obligated {
                    Needed::Anything
                } else {
                    needed(&ops[target], &walk.state, versions, &prepared.copied_from)
                };
                frame.candidates = Some(candidates(
                    &prepared,
                    frame,
                    target,
                    &walk,
                    frame.needed,
                    versions,
                ));
            }
            let next = frame
                .candidates
                .as_ref()
                .and_then(|candidates| candidates.get(frame.cursor).copied());
            frame.cursor += 1;
            next
        };
        let Some(op) = next else {
            if let Some((undone, change)) = frame.undo {
                undo(&prepared, &mut walk, undone, change);
            }
            stack.pop();
            continue;
        };
        let Some(change) = model::step(&ops[op], &walk.state, versions) else {
            continue;
        };
        if !ops[op].required()
            && let Some((key, new)) = change
            && walk.state[key as usize] == new
        {
            continue;
        }
        let previous = change.map(|(key, new)| {
            let previous = walk.state[key as usize];
            set_register(&mut walk, key, new);
            (key, previous)
        });
        walk.used[op] = true;
        toggle_used_hash(&prepared, &mut walk, op);
        if let Some(group) = ops[op].exclusive_group {
            walk.group_used[group as usize] = true;
        }
        let obligated = !ops[op].required()
            && (frame.obligated || frame.needed == Needed::RequiredBeforeOverwrite);
        let mut r = frame.r;
        while r < prepared.returns.len() && walk.used[prepared.returns[r]] {
            r += 1;
        }
        if r == prepared.returns.len() {
            return SearchOutcome::Linearizable { states };
        }
        let mut timed_low = frame.timed_low;
        let mut used_below_timed_low = frame.used_below_timed_low;
        while timed_low < prepared.timed.len() && walk.used[prepared.timed[timed_low]] {
            let timed = prepared.timed[timed_low];
            if walk.used[timed] {
                xor(&mut used_below_timed_low, prepared.zobrist[timed]);
            }
            timed_low += 1;
        }
        let mut floating_low = frame.floating_low;
        while floating_low < prepared.floating.len() && walk.used[prepared.floating[floating_low]] {
            floating_low += 1;
        }
        let configuration = Configuration {
            r: u32::try_from(r).expect("fewer than 2^32 operations"),
            timed_low: u32::try_from(timed_low).expect("fewer than 2^32 operations"),
            obligated,
            used_floating: walk.used_floating,
            state: walk.state_hash,
            used_timed_window: (
                walk.used_timed.0 ^ used_below_timed_low.0,
                walk.used_timed.1 ^ used_below_timed_low.1,
            ),
        };
        if !memo.insert(configuration.fingerprint()) {
            undo(&prepared, &mut walk, op, previous);
            continue;
        }
        states += 1;
        if states > max_states {
            return SearchOutcome::Unknown { states };
        }
        if r > deepest_r {
            deepest_r = r;
            deepest = Failure {
                target: prepared.returns[r],
                state: walk.state.clone(),
            };
        }
        stack.push(Frame {
            r,
            timed_low,
            used_below_timed_low,
            floating_low,
            undo: Some((op, previous)),
            tried_target: false,
            obligated,
            needed: Needed::Anything,
            candidates: None,
            cursor: 0,
        });
    }
    SearchOutcome::Violated {
        failure: deepest,
        states,
    }
}

fn xor(hash: &mut (u64, u64), key: (u64, u64)) {
    hash.0 ^= key.0;
    hash.1 ^= key.1;
}

/// Adds `op` to, or takes it out of, the hash of the used operations of
/// its kind (floating or timed).
fn toggle_used_hash(prepared: &Prepared<'_>, walk: &mut Walk, op: usize) {
    let hash = if prepared.ops[op].deadline_ns.is_none() {
        &mut walk.used_floating
    } else {
        &mut walk.used_timed
    };
    xor(hash, prepared.zobrist[op]);
}

/// The Zobrist key of `key` holding `register`.
fn register_hash(key: u32, register: u32) -> (u64, u64) {
    if register == ABSENT {
        return (0, 0);
    }
    let seed = (u64::from(key) << 32 | u64::from(register)).wrapping_mul(3);
    (splitmix64(seed), splitmix64(seed + 1))
}

fn set_register(walk: &mut Walk, key: u32, register: u32) {
    let old = register_hash(key, walk.state[key as usize]);
    let new = register_hash(key, register);
    walk.state_hash.0 ^= old.0 ^ new.0;
    walk.state_hash.1 ^= old.1 ^ new.1;
    walk.state[key as usize] = register;
}

fn undo(prepared: &Prepared<'_>, walk: &mut Walk, op: usize, change: Change) {
    if let Some((key, previous)) = change {
        set_register(walk, key, previous);
    }
    walk.used[op] = false;
    toggle_used_hash(prepared, walk, op);
    if let Some(group) = prepared.ops[op].exclusive_group {
        walk.group_used[group as usize] = false;
    }
}

/// Which operations may usefully be linearized before the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needed {
    /// The target cannot happen now (or is a copy, whose result depends
    /// on its source; or overwrites a key copies read, which can see the
    /// key's intermediate versions): anything that may come before it.
    Anything,
    /// The target can happen now and changes nothing (a read, a refusal):
    /// nothing, since whatever would come before it can as well come
    /// after it.
    Nothing,
    /// The target can happen now and overwrites its key, which no copy
    /// reads: anything, but after an optional operation a required one
    /// must come before the target.
    RequiredBeforeOverwrite,
}

/// Just-in-time linearization (Lowe): when the target can happen in the
/// current state, placing first an operation that could as well come
/// after it gains nothing.
///
/// A read or refusal leaves the state as it is, so whatever would go
/// before it sees the same state after it (optional operations have no
/// deadline, so none has to come before it).
///
/// A write or delete of a key erases what the operations before it did
/// to the key, and commutes with operations on other keys that do not
/// read it: unless a copy reads the key, optional operations just before
/// it are useless; they matter only when a required operation between
/// them and the target needs their effect. The frame after an
/// optional operation placed there is therefore "obligated": the target
/// is not tried until a required operation has been placed.
fn needed(target: &Op, state: &[u32], versions: &[Version], copied_from: &[bool]) -> Needed {
    if model::step(target, state, versions).is_none() {
        return Needed::Anything;
    }
    match (target.action, target.expect) {
        (Action::Copy { .. }, _) => Needed::Anything,
        (Action::Write { key, .. } | Action::Delete { key, .. }, Expect::Effect)
            if copied_from[key as usize] =>
        {
            Needed::Anything
        }
        (Action::Write { .. } | Action::Delete { .. }, Expect::Effect) => {
            Needed::RequiredBeforeOverwrite
        }
        _ => Needed::Nothing,
    }
}

/// The operations that may be linearized before `target`, most promising
/// first: those that produce what the target needs, then those writing a
/// key it depends on; required before optional; earliest first.
fn candidates(
    prepared: &Prepared<'_>,
    frame: &Frame,
    target: usize,
    walk: &Walk,
    needed: Needed,
    versions: &[Version],
) -> Vec<usize> {
    let ops = prepared.ops;
    if needed == Needed::Nothing {
        return Vec::new();
    }
    let group_spent = |op: usize| {
        ops[op]
            .exclusive_group
            .is_some_and(|group| walk.group_used[group as usize])
    };
    let deadline_ns = prepared.deadline_ns(target);
    let timed_high = prepared
        .timed_invokes_ns
        .partition_point(|&invoke_ns| invoke_ns <= deadline_ns);
    let floating_high = prepared
        .floating_invokes_ns
        .partition_point(|&invoke_ns| invoke_ns <= deadline_ns);
    let mut found = Vec::new();
    for &op in &prepared.timed[frame.timed_low..timed_high.max(frame.timed_low)] {
        if op != target && !walk.used[op] && !group_spent(op) {
            found.push(op);
        }
    }
    let mut seen_classes: HashSet<u32, FxBuild> = HashSet::default();
    for &op in &prepared.floating[frame.floating_low..floating_high.max(frame.floating_low)] {
        if !walk.used[op] && !group_spent(op) && seen_classes.insert(prepared.class[op]) {
            found.push(op);
        }
    }
    if prepared.single_key && needed == Needed::Anything && !frame.obligated {
        found = enabling(prepared, target, found, &walk.state, versions);
    }
    found.sort_by_key(|&op| {
        (
            promise(&ops[target], &ops[op]),
            !ops[op].required(),
            ops[op].invoke_ns,
            op,
        )
    });
    found
}

/// On a single key, an optional operation placed before the target is
/// useful only if the operation right after it needs it: a read or
/// refusal would otherwise see the same state without it, a write would
/// erase it. So in a shortest linearization every optional operation
/// enables the next one (which fails before it and can happen after it),
/// the last one the target. The optional candidates that enable neither the
/// target nor another candidate are dropped.
fn enabling(
    prepared: &Prepared<'_>,
    target: usize,
    found: Vec<usize>,
    state: &[u32],
    versions: &[Version],
) -> Vec<usize> {
    let ops = prepared.ops;
    let mut after = state.to_vec();
    let blocked: Vec<usize> = found
        .iter()
        .copied()
        .chain([target])
        .filter(|&op| model::step(&ops[op], state, versions).is_none())
        .collect();
    found
        .iter()
        .copied()
        .filter(|&op| {
            if ops[op].required() {
                return true;
            }
            let Some(Some((key, new))) = model::step(&ops[op], state, versions) else {
                return true;
            };
            after[key as usize] = new;
            let enables = blocked
                .iter()
                .any(|&next| next != op && model::step(&ops[next], &after, versions).is_some());
            after[key as usize] = state[key as usize];
            enables
        })
        .collect()
}

/// 0: `candidate` installs what `target` needs; 1: it writes a key the
/// target depends on; 2: neither.
fn promise(target: &Op, candidate: &Op) -> u8 {
    let written = match candidate.action {
        Action::Write { key, .. } | Action::Delete { key, .. } => Some(key),
        Action::Copy { destination, .. } => Some(destination),
        Action::Read { .. } => None,
    };
    let Some(written) = written else {
        return 2;
    };
    let (key, other) = target.action.keys();
    if written != key && Some(written) != other {
        return 2;
    }
    let needs_absent = match target.action {
        Action::Read { seen, .. } => seen == ABSENT,
        Action::Write { cond, .. } | Action::Delete { cond, .. } => {
            cond == Cond::Absent && target.expect == Expect::Effect
                || matches!(cond, Cond::Matches(_))
                    && target.expect == Expect::Rejected(Rejection::NotFound)
        }
        Action::Copy { .. } => false,
    };
    let exact = match (target.action, candidate.action) {
        (Action::Read { seen, .. }, Action::Write { version, .. }) => seen == version,
        (_, Action::Delete { .. }) => needs_absent,
        (_, Action::Copy { .. }) => true,
        _ => false,
    };
    if exact { 0 } else { 1 }
}
