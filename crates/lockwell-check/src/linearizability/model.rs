//! The SPEC's object model as the search sees it: a history's entries
//! turned into operations on registers, one register per key, and the one
//! step function that says whether an operation can happen in a state and
//! what state it leaves.
//!
//! An operation is one history entry, or the sends of one idempotency key
//! together (I1: they take effect at most once, and every answered send
//! reports that one result). What it may do follows from its outcome:
//!
//! - **Ok**: it took effect between its invocation and its completion,
//!   with the result it reported ([`Expect::Effect`]).
//! - **Failed with 412, or 404 NoSuchKey**: an observation. It did not
//!   take effect, and the state at its linearization point must justify
//!   the answer: a 412 needs a precondition that does not hold, a 404 an
//!   absent key the request depends on ([`Expect::Rejected`]).
//! - **Any other failure** (400, 409 ConditionalRequestConflict or
//!   IdempotencyKeyInFlight, 422, a 404 other than NoSuchKey): not an
//!   observation of the key's state, and no effect (C4). The operation is
//!   left out; a read of its value then has no writer.
//! - **Indeterminate**: may take effect once, at any moment after its
//!   invocation (no upper bound), or never ([`Expect::Maybe`]); unless
//!   none of its attempts may have acted ([`Entry::attempts`] is 0: it
//!   never left the client), then it is left out like a definite failure.
//!
//! Clients retry an unconditional DELETE by themselves (R4), and an
//! attempt whose answer was lost may have deleted, at any moment after it
//! was sent (a delayed request can reach the store after the client has
//! its answer from a later attempt). An entry whose
//! [`Entry::attempts`] says `n` attempts may have acted therefore brings
//! `n - 1` optional "earlier attempts", each like an indeterminate delete.
//! (A conditional delete needs none: once one attempt deleted, a later one
//! finds another ETag or no key and fails, and the driver records that
//! failure as indeterminate.)

//! Values are unique per write op, so a version is a (value, ETag) pair
//! and a read names the write that produced it. A put's ETag is the MD5 of
//! its value (E1); a multipart's is not computable from the history, so it
//! is what the complete answered, or what a read of its value said, or
//! unknown (then it matches no If-Match: nobody could have learned it). A
//! copy installs the source's version, ETag included (the store keeps the
//! source's ETag).
//!
//! Versions nobody can tell apart (no read returned their value and no
//! request or answer named their ETag) are collapsed into one "unobserved"
//! version, whose ETag matches nothing:
//! the model cannot distinguish them, and the search then treats the
//! writes of such values as interchangeable.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lockwell_core::ETag;

use crate::history::{
    Entry, History, MAX_ATTEMPTS_PER_ENTRY, OpResult, Outcome, Precondition, Request,
};

/// The register state of an absent key.
pub(crate) const ABSENT: u32 = u32::MAX;

/// The version every unobserved value collapses into, when collapsing,
/// and its value.
pub(crate) const UNOBSERVED_VERSION: u32 = 0;
pub(crate) const UNOBSERVED_VALUE: u32 = 0;

/// An index into [`Model::keys`].
pub(crate) type KeyId = u32;
/// An index into [`Model::versions`].
pub(crate) type VersionId = u32;
/// An index into [`Model::etags`].
pub(crate) type EtagId = u32;

/// A write's or delete's precondition on its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Cond {
    None,
    Absent,
    Matches(EtagId),
}

/// A definite failure that observes the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Rejection {
    /// 412: a precondition did not hold.
    PreconditionFailed,
    /// 404 NoSuchKey: a key the request depends on was absent.
    NotFound,
}

/// What the operation's outcome says it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Expect {
    Effect,
    Rejected(Rejection),
    Maybe,
}

/// What the operation does to the registers. Keys are indices into the
/// key table the operation list is built against (global or a
/// partition's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// A GET that saw `seen` (a version, or [`ABSENT`]).
    Read {
        key: KeyId,
        seen: u32,
    },
    /// A put or multipart complete installing `version`.
    Write {
        key: KeyId,
        version: VersionId,
        cond: Cond,
    },
    Delete {
        key: KeyId,
        cond: Cond,
    },
    /// A copy; `reply_etag` is the ETag an acknowledged copy answered.
    Copy {
        source: KeyId,
        destination: KeyId,
        source_if_match: Option<EtagId>,
        destination_cond: Cond,
        reply_etag: Option<EtagId>,
    },
}

impl Action {
    /// The keys the action reads or writes, to partition by.
    pub(crate) fn keys(&self) -> (KeyId, Option<KeyId>) {
        match *self {
            Self::Read { key, .. } | Self::Write { key, .. } | Self::Delete { key, .. } => {
                (key, None)
            }
            Self::Copy {
                source,
                destination,
                ..
            } => (destination, Some(source)),
        }
    }

    /// The action with its keys renamed.
    pub(crate) fn with_keys(self, rename: impl Fn(KeyId) -> KeyId) -> Self {
        match self {
            Self::Read { key, seen } => Self::Read {
                key: rename(key),
                seen,
            },
            Self::Write { key, version, cond } => Self::Write {
                key: rename(key),
                version,
                cond,
            },
            Self::Delete { key, cond } => Self::Delete {
                key: rename(key),
                cond,
            },
            Self::Copy {
                source,
                destination,
                source_if_match,
                destination_cond,
                reply_etag,
            } => Self::Copy {
                source: rename(source),
                destination: rename(destination),
                source_if_match,
                destination_cond,
                reply_etag,
            },
        }
    }
}

/// Which kind of request an operation came from, for naming the rule it
/// breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Get,
    Put,
    Multipart,
    Delete,
    /// An optional earlier attempt of a retried unconditional delete.
    DeleteRetry,
    Copy,
}

/// One operation of the model.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// The history entries it stands for (several for an idempotency key).
    pub(crate) entries: Vec<u64>,
    pub(crate) invoke_ns: u64,
    /// Required operations take effect by then. Optional ones have none
    /// (`None`): they may take effect any time after their invocation.
    pub(crate) deadline_ns: Option<u64>,
    pub(crate) action: Action,
    pub(crate) expect: Expect,
    pub(crate) origin: Origin,
    pub(crate) idempotent: bool,
    /// Optional operations of one group are alternatives: at most one of
    /// them takes effect (the versions an indeterminate copy may install
    /// once its copy is split, see `split_copies`).
    pub(crate) exclusive_group: Option<u32>,
}

impl Op {
    /// Whether the operation must be linearized.
    pub(crate) fn required(&self) -> bool {
        !matches!(self.expect, Expect::Maybe)
    }
}

/// A version: a value and its ETag (`None`: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Version {
    pub(crate) value: u32,
    pub(crate) etag: Option<EtagId>,
}

/// A problem visible without any search: the answers to one request, or
/// to the sends of one idempotency key, contradict each other.
#[derive(Debug, Clone)]
pub(crate) struct StaticViolation {
    pub(crate) rule: &'static str,
    pub(crate) key: KeyId,
    pub(crate) message: String,
    pub(crate) entries: Vec<u64>,
}

/// A history as operations on registers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    pub(crate) keys: Vec<String>,
    pub(crate) values: Vec<String>,
    pub(crate) etags: Vec<String>,
    pub(crate) versions: Vec<Version>,
    pub(crate) ops: Vec<Op>,
    pub(crate) static_violations: Vec<StaticViolation>,
    /// Values written by requests that failed definitely (C4), with the
    /// entries: a read of one of them names a failed write.
    pub(crate) failed_writes: HashMap<u32, Vec<u64>>,
    /// Whether [`UNOBSERVED_VERSION`] stands for every version nobody
    /// observed (see [`build`]).
    pub(crate) unobserved_collapsed: bool,
}

/// E3: ETags compare without their quotes.
fn normalize(etag: &str) -> &str {
    etag.trim_matches('"')
}

fn md5_etag(value: &str) -> String {
    normalize(&ETag::of_content(value.as_bytes()).to_string()).to_owned()
}

/// Whether a failure observes the state, and what it says.
pub(crate) fn rejection(status: u16, code: &str) -> Option<Rejection> {
    match (status, code) {
        (412, _) => Some(Rejection::PreconditionFailed),
        (404, "NoSuchKey") => Some(Rejection::NotFound),
        _ => None,
    }
}

/// The ETag a write's answers or reads show.
fn written_etag(entry: &Entry) -> Option<&str> {
    match &entry.outcome {
        Outcome::Ok {
            result: OpResult::Written { etag },
        } => Some(normalize(etag)),
        _ => None,
    }
}

#[derive(Default)]
struct Interner {
    keys: Vec<String>,
    key_ids: HashMap<String, KeyId>,
    values: Vec<String>,
    value_ids: HashMap<String, u32>,
    etags: Vec<String>,
    etag_ids: HashMap<String, EtagId>,
    versions: Vec<Version>,
    version_ids: HashMap<Version, VersionId>,
}

fn intern(table: &mut Vec<String>, ids: &mut HashMap<String, u32>, text: &str) -> u32 {
    if let Some(&id) = ids.get(text) {
        return id;
    }
    let id = u32::try_from(table.len()).expect("fewer than 2^32 names");
    table.push(text.to_owned());
    ids.insert(text.to_owned(), id);
    id
}

impl Interner {
    fn key(&mut self, key: &str) -> KeyId {
        intern(&mut self.keys, &mut self.key_ids, key)
    }

    fn value(&mut self, value: &str) -> u32 {
        intern(&mut self.values, &mut self.value_ids, value)
    }

    fn etag(&mut self, etag: &str) -> EtagId {
        intern(&mut self.etags, &mut self.etag_ids, normalize(etag))
    }

    fn version(&mut self, version: Version) -> VersionId {
        if let Some(&id) = self.version_ids.get(&version) {
            return id;
        }
        let id = u32::try_from(self.versions.len()).expect("fewer than 2^32 versions");
        self.versions.push(version);
        self.version_ids.insert(version, id);
        id
    }

    fn cond(&mut self, condition: &Precondition) -> Cond {
        match condition {
            Precondition::None => Cond::None,
            Precondition::Absent => Cond::Absent,
            Precondition::Matches { etag } => Cond::Matches(self.etag(etag)),
        }
    }
}

/// What the whole history tells about values and ETags before any
/// operation is built.
struct Observations<'h> {
    /// A multipart value's ETag: as its complete answered, else as a read
    /// of it said.
    multipart_etags: HashMap<&'h str, &'h str>,
    read_values: BTreeSet<&'h str>,
    named_etags: BTreeSet<&'h str>,
}

impl<'h> Observations<'h> {
    fn of(history: &'h History) -> Self {
        let mut multipart_etags = HashMap::new();
        let mut read_etags = HashMap::new();
        let mut read_values = BTreeSet::new();
        let mut named_etags = BTreeSet::new();
        for entry in &history.entries {
            match (&entry.request, &entry.outcome) {
                (
                    Request::Get { .. },
                    Outcome::Ok {
                        result: OpResult::Read { value, etag },
                    },
                ) => {
                    read_values.insert(value.as_str());
                    read_etags.entry(value.as_str()).or_insert(normalize(etag));
                }
                (Request::CompleteMultipart { value, .. }, _) => {
                    if let Some(etag) = written_etag(entry) {
                        multipart_etags.entry(value.as_str()).or_insert(etag);
                    }
                }
                (Request::Copy { .. }, _) => {
                    if let Some(etag) = written_etag(entry) {
                        named_etags.insert(etag);
                    }
                }
                _ => {}
            }
            match &entry.request {
                Request::Put {
                    condition: Precondition::Matches { etag },
                    ..
                }
                | Request::CompleteMultipart {
                    condition: Precondition::Matches { etag },
                    ..
                }
                | Request::Delete {
                    condition: Precondition::Matches { etag },
                    ..
                } => {
                    named_etags.insert(normalize(etag));
                }
                Request::Copy {
                    destination_condition,
                    source_if_match,
                    ..
                } => {
                    if let Precondition::Matches { etag } = destination_condition {
                        named_etags.insert(normalize(etag));
                    }
                    if let Some(etag) = source_if_match {
                        named_etags.insert(normalize(etag));
                    }
                }
                _ => {}
            }
        }
        for (value, etag) in read_etags {
            multipart_etags.entry(value).or_insert(etag);
        }
        Self {
            multipart_etags,
            read_values,
            named_etags,
        }
    }
}

/// An indeterminate request none of whose attempts may have acted (never
/// sent, or refused by the store): no effect, like a definite failure.
fn no_attempt_may_have_acted(entry: &Entry) -> bool {
    matches!(entry.outcome, Outcome::Indeterminate { .. }) && entry.attempts == 0
}

/// `entry.attempts`, at most [`MAX_ATTEMPTS_PER_ENTRY`]: a history built
/// in memory is not validated as a file is, and more earlier deletes than
/// that cannot tell a history apart.
fn acting_attempts(entry: &Entry) -> u32 {
    entry.attempts.min(MAX_ATTEMPTS_PER_ENTRY)
}

/// Builds the model of `history`. With `collapse_unobserved`, versions
/// nobody observed become one (see the module docs); without, every value
/// keeps its own version (what the brute-force checker uses, so that it
/// checks the collapse too).
pub(crate) fn build(history: &History, collapse_unobserved: bool) -> Model {
    let observations = Observations::of(history);
    let mut interner = Interner::default();
    if collapse_unobserved {
        // Its ETag matches nothing: the real ETags of unobserved values
        // are named by no request and no answer.
        let placeholder = interner.value("<a value nobody read>");
        debug_assert_eq!(placeholder, UNOBSERVED_VALUE);
        let placeholder_etag = interner.etag("<an ETag nobody named>");
        let unobserved = interner.version(Version {
            value: placeholder,
            etag: Some(placeholder_etag),
        });
        debug_assert_eq!(unobserved, UNOBSERVED_VERSION);
    }
    let mut builder = Builder {
        observations,
        interner,
        collapse_unobserved,
        ops: Vec::new(),
        static_violations: Vec::new(),
        failed_writes: HashMap::new(),
    };
    // Keyed by (key, idempotency key): the scope of I1. Sends with another
    // payload under the same key are refused (I2) and so take no effect.
    let mut idempotency_groups: BTreeMap<(&str, &str), Vec<&Entry>> = BTreeMap::new();
    for entry in &history.entries {
        match entry.request.idempotency_key() {
            Some(idempotency_key) => idempotency_groups
                .entry((entry.request.key(), idempotency_key))
                .or_default()
                .push(entry),
            None => builder.entry(entry),
        }
    }
    for sends in idempotency_groups.into_values() {
        let sends: Vec<&Entry> = sends
            .into_iter()
            .filter(|send| !no_attempt_may_have_acted(send))
            .collect();
        if !sends.is_empty() {
            builder.idempotent_sends(&sends);
        }
    }
    builder
        .ops
        .sort_by_key(|op| (op.entries[0], op.origin == Origin::DeleteRetry));
    let Builder {
        interner,
        ops,
        static_violations,
        failed_writes,
        collapse_unobserved,
        ..
    } = builder;
    Model {
        keys: interner.keys,
        values: interner.values,
        etags: interner.etags,
        versions: interner.versions,
        ops,
        static_violations,
        failed_writes,
        unobserved_collapsed: collapse_unobserved,
    }
}

struct Builder<'h> {
    observations: Observations<'h>,
    interner: Interner,
    collapse_unobserved: bool,
    ops: Vec<Op>,
    static_violations: Vec<StaticViolation>,
    failed_writes: HashMap<u32, Vec<u64>>,
}

impl Builder<'_> {
    /// The version a put or multipart of `value` installs.
    fn written_version(&mut self, value: &str, multipart: bool) -> VersionId {
        let etag = if multipart {
            self.observations
                .multipart_etags
                .get(value)
                .map(|etag| (*etag).to_owned())
        } else {
            Some(md5_etag(value))
        };
        // An unknown ETag may be one a copy answered: not collapsed.
        let observed = self.observations.read_values.contains(value)
            || etag
                .as_deref()
                .is_none_or(|etag| self.observations.named_etags.contains(etag));
        if self.collapse_unobserved && !observed {
            return UNOBSERVED_VERSION;
        }
        let value = self.interner.value(value);
        let etag = etag.map(|etag| self.interner.etag(&etag));
        self.interner.version(Version { value, etag })
    }

    fn read_version(&mut self, value: &str, etag: &str) -> VersionId {
        let value = self.interner.value(value);
        let etag = Some(self.interner.etag(etag));
        self.interner.version(Version { value, etag })
    }

    /// The action of `request`, with what a read saw.
    fn action(&mut self, request: &Request, outcome: &Outcome) -> Option<(Action, Origin)> {
        Some(match request {
            Request::Get { key } => {
                let seen = match outcome {
                    Outcome::Ok {
                        result: OpResult::Read { value, etag },
                    } => self.read_version(value, etag),
                    Outcome::Ok {
                        result: OpResult::Absent,
                    } => ABSENT,
                    Outcome::Failed { status, code }
                        if rejection(*status, code) == Some(Rejection::NotFound) =>
                    {
                        ABSENT
                    }
                    _ => return None,
                };
                let key = self.interner.key(key);
                (Action::Read { key, seen }, Origin::Get)
            }
            Request::Put {
                key,
                value,
                condition,
                ..
            } => {
                let version = self.written_version(value, false);
                let key = self.interner.key(key);
                let cond = self.interner.cond(condition);
                (Action::Write { key, version, cond }, Origin::Put)
            }
            Request::CompleteMultipart {
                key,
                value,
                condition,
                ..
            } => {
                let version = self.written_version(value, true);
                let key = self.interner.key(key);
                let cond = self.interner.cond(condition);
                (Action::Write { key, version, cond }, Origin::Multipart)
            }
            Request::Delete { key, condition } => {
                let key = self.interner.key(key);
                let cond = self.interner.cond(condition);
                (Action::Delete { key, cond }, Origin::Delete)
            }
            Request::Copy {
                source,
                destination,
                destination_condition,
                source_if_match,
            } => {
                let reply_etag = match outcome {
                    Outcome::Ok {
                        result: OpResult::Written { etag },
                    } => Some(self.interner.etag(etag)),
                    _ => None,
                };
                let action = Action::Copy {
                    source: self.interner.key(source),
                    destination: self.interner.key(destination),
                    source_if_match: source_if_match
                        .as_deref()
                        .map(|etag| self.interner.etag(etag)),
                    destination_cond: self.interner.cond(destination_condition),
                    reply_etag,
                };
                (action, Origin::Copy)
            }
        })
    }

    fn note_failed_write(&mut self, entry: &Entry) {
        if let Request::Put { value, .. } | Request::CompleteMultipart { value, .. } =
            &entry.request
        {
            let value = self.interner.value(value);
            self.failed_writes.entry(value).or_default().push(entry.id);
        }
    }

    /// E2: an acknowledged put names the ETag of its bytes.
    fn check_put_etag(&mut self, entry: &Entry, key: KeyId) {
        if let (Request::Put { value, .. }, Some(etag)) = (&entry.request, written_etag(entry))
            && etag != md5_etag(value)
        {
            self.static_violations.push(StaticViolation {
                rule: "E2",
                key,
                message: format!(
                    "a put of {value:?} was acknowledged with ETag {etag}, not {}",
                    md5_etag(value)
                ),
                entries: vec![entry.id],
            });
        }
    }

    fn entry(&mut self, entry: &Entry) {
        let expect = match &entry.outcome {
            Outcome::Ok { result } => {
                let fits = matches!(
                    (&entry.request, result),
                    (
                        Request::Get { .. },
                        OpResult::Read { .. } | OpResult::Absent
                    ) | (
                        Request::Put { .. }
                            | Request::CompleteMultipart { .. }
                            | Request::Copy { .. },
                        OpResult::Written { .. }
                    ) | (Request::Delete { .. }, OpResult::Deleted)
                );
                if !fits {
                    return;
                }
                Expect::Effect
            }
            Outcome::Failed { status, code } => match (&entry.request, rejection(*status, code)) {
                (Request::Get { .. }, Some(Rejection::NotFound)) => Expect::Effect,
                (Request::Get { .. }, _) => return,
                (_, Some(rejection)) => Expect::Rejected(rejection),
                (_, None) => {
                    self.note_failed_write(entry);
                    // The failing attempt changed nothing, but the ones
                    // counted before it may have (a delete that timed
                    // out, then was throttled).
                    if let Some((
                        action @ Action::Delete {
                            cond: Cond::None, ..
                        },
                        _,
                    )) = self.action(&entry.request, &entry.outcome)
                    {
                        self.earlier_deletes(entry, action, acting_attempts(entry));
                    }
                    return;
                }
            },
            Outcome::Indeterminate { .. } => {
                if matches!(entry.request, Request::Get { .. }) {
                    return;
                }
                if no_attempt_may_have_acted(entry) {
                    self.note_failed_write(entry);
                    return;
                }
                Expect::Maybe
            }
        };
        let Some((action, origin)) = self.action(&entry.request, &entry.outcome) else {
            return;
        };
        self.check_put_etag(entry, action.keys().0);
        let deadline_ns = (expect != Expect::Maybe).then_some(entry.complete_ns);
        let op = Op {
            entries: vec![entry.id],
            invoke_ns: entry.invoke_ns,
            deadline_ns,
            action,
            expect,
            origin,
            idempotent: false,
            exclusive_group: None,
        };
        if let Action::Delete {
            cond: Cond::None, ..
        } = action
            && matches!(expect, Expect::Effect | Expect::Maybe)
        {
            // The last attempt counted is the operation itself.
            let earlier = acting_attempts(entry).saturating_sub(1);
            self.earlier_deletes(entry, action, earlier);
        }
        self.ops.push(op);
    }

    /// `count` optional deletes for the earlier attempts of a retried
    /// unconditional delete whose answers were lost (R4): each may have
    /// deleted, at any time after it was sent.
    fn earlier_deletes(&mut self, entry: &Entry, action: Action, count: u32) {
        for _ in 0..count {
            self.ops.push(Op {
                entries: vec![entry.id],
                invoke_ns: entry.invoke_ns,
                deadline_ns: None,
                action,
                expect: Expect::Maybe,
                origin: Origin::DeleteRetry,
                idempotent: false,
                exclusive_group: None,
            });
        }
    }

    /// The sends of one idempotency key, as one operation (I1, I7).
    fn idempotent_sends(&mut self, sends: &[&Entry]) {
        let first = sends[0];
        let entries: Vec<u64> = sends.iter().map(|entry| entry.id).collect();
        let written: BTreeSet<&str> = sends
            .iter()
            .filter_map(|entry| written_etag(entry))
            .collect();
        let rejections: BTreeSet<(u16, Rejection)> = sends
            .iter()
            .filter_map(|entry| match &entry.outcome {
                Outcome::Failed { status, code } => {
                    rejection(*status, code).map(|rejection| (*status, rejection))
                }
                _ => None,
            })
            .collect();
        let answered_ns = sends
            .iter()
            .filter(|entry| {
                written_etag(entry).is_some()
                    || matches!(&entry.outcome, Outcome::Failed { status, code }
                        if rejection(*status, code).is_some())
            })
            .map(|entry| entry.complete_ns)
            .min();
        let Some((action, origin)) = self.action(&first.request, &first.outcome) else {
            return;
        };
        let key = action.keys().0;
        for entry in sends {
            self.check_put_etag(entry, key);
        }
        let idempotency_key = first.request.idempotency_key().unwrap_or_default();
        if written.len() > 1 {
            self.static_violations.push(StaticViolation {
                rule: "I1",
                key,
                message: format!(
                    "the sends of idempotency key {idempotency_key:?} were acknowledged with \
                     different ETags {written:?}: a replay must return the stored result"
                ),
                entries: entries.clone(),
            });
        }
        if !written.is_empty() && !rejections.is_empty() || rejections.len() > 1 {
            self.static_violations.push(StaticViolation {
                rule: "I7",
                key,
                message: format!(
                    "the sends of idempotency key {idempotency_key:?} were answered differently \
                     ({} acknowledged, failures {rejections:?}): a replay must return the first \
                     result",
                    written.len()
                ),
                entries: entries.clone(),
            });
        }
        let expect = if !written.is_empty() {
            Expect::Effect
        } else if let Some((_, rejection)) = rejections.first() {
            Expect::Rejected(*rejection)
        } else {
            if sends
                .iter()
                .all(|entry| matches!(entry.outcome, Outcome::Failed { .. }))
            {
                for entry in sends {
                    self.note_failed_write(entry);
                }
                return;
            }
            Expect::Maybe
        };
        self.ops.push(Op {
            entries,
            invoke_ns: sends.iter().map(|entry| entry.invoke_ns).min().unwrap_or(0),
            deadline_ns: if expect == Expect::Maybe {
                None
            } else {
                answered_ns
            },
            action,
            expect,
            origin,
            idempotent: true,
            exclusive_group: None,
        });
    }
}

/// Which rejections the state would justify for a write's precondition:
/// a bit set of [`PRECONDITION_FAILED`] and [`NOT_FOUND`]; empty when it
/// holds.
pub(crate) const PRECONDITION_FAILED: u8 = 1;
pub(crate) const NOT_FOUND: u8 = 2;

fn etag_of(versions: &[Version], state: u32) -> Option<EtagId> {
    versions[state as usize].etag
}

/// C1, C2, C6a: a put's, multipart's or delete's precondition against the
/// key's state.
pub(crate) fn cond_failures(cond: Cond, current: u32, versions: &[Version]) -> u8 {
    match cond {
        Cond::None => 0,
        Cond::Absent if current == ABSENT => 0,
        Cond::Absent => PRECONDITION_FAILED,
        Cond::Matches(_) if current == ABSENT => NOT_FOUND,
        Cond::Matches(etag) if etag_of(versions, current) == Some(etag) => 0,
        Cond::Matches(_) => PRECONDITION_FAILED,
    }
}

/// C7, C8: a copy's source and destination conditions. Which failure is
/// reported when several fail is the server's choice; any is accepted.
/// The native API answers 412 for `requireMatchEtag` on an absent
/// destination, the S3 API 404: both are accepted there.
pub(crate) fn copy_failures(
    source: u32,
    source_if_match: Option<EtagId>,
    destination: u32,
    destination_cond: Cond,
    versions: &[Version],
) -> u8 {
    let source_failures = match source_if_match {
        _ if source == ABSENT => NOT_FOUND,
        Some(etag) if etag_of(versions, source) != Some(etag) => PRECONDITION_FAILED,
        _ => 0,
    };
    let destination_failures = match cond_failures(destination_cond, destination, versions) {
        NOT_FOUND => NOT_FOUND | PRECONDITION_FAILED,
        other => other,
    };
    source_failures | destination_failures
}

const fn rejection_bit(rejection: Rejection) -> u8 {
    match rejection {
        Rejection::PreconditionFailed => PRECONDITION_FAILED,
        Rejection::NotFound => NOT_FOUND,
    }
}

/// The state change of a step: `(key, new state)`, or none.
pub(crate) type Change = Option<(KeyId, u32)>;

/// Whether `op` can happen in `state` (indexed by the op list's key ids),
/// and what it changes. For an optional operation, `None` also when its
/// conditions do not hold: then it would do nothing, which is the same as
/// never happening.
pub(crate) fn step(op: &Op, state: &[u32], versions: &[Version]) -> Option<Change> {
    let (failures, change) = match op.action {
        Action::Read { key, seen } => {
            return (state[key as usize] == seen).then_some(None);
        }
        Action::Write { key, version, cond } => (
            cond_failures(cond, state[key as usize], versions),
            Some((key, version)),
        ),
        Action::Delete { key, cond } => (
            cond_failures(cond, state[key as usize], versions),
            Some((key, ABSENT)),
        ),
        Action::Copy {
            source,
            destination,
            source_if_match,
            destination_cond,
            reply_etag,
        } => {
            let source_state = state[source as usize];
            let failures = copy_failures(
                source_state,
                source_if_match,
                state[destination as usize],
                destination_cond,
                versions,
            );
            if failures == 0
                && op.expect == Expect::Effect
                && let (Some(reply), Some(actual)) = (reply_etag, etag_of(versions, source_state))
                && reply != actual
            {
                return None;
            }
            (failures, Some((destination, source_state)))
        }
    };
    match op.expect {
        Expect::Effect | Expect::Maybe => (failures == 0).then_some(change),
        Expect::Rejected(rejection) => (failures & rejection_bit(rejection) != 0).then_some(None),
    }
}
