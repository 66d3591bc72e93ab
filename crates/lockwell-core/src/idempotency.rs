//! The idempotency table (SPEC I1-I3, I7, I8).
//!
//! A write that carries an idempotency key first claims its
//! [`IdempotencyScope`] (DESIGN.md write path, step 1), streams and verifies
//! its body, then commits through `Store::put_claimed`, which installs the
//! object version and the stored result in one critical section and one
//! journal record (step 4, I8). A digest failure releases the claim and
//! records nothing (step 3).
//!
//! Scope: a record is keyed by (principal, idempotency key), and the target
//! path is part of the [`Fingerprint`]. I1 asks for at most one application
//! per (principal, bucket, key, idempotency key), which this keying
//! satisfies, and I2 asks that the same idempotency key sent for a different
//! target key be a 422 mismatch, which keying by path as well could never
//! detect.
//!
//! Bounds (TIGER_STYLE): records live for a retention time, counted from the
//! claim for an in-flight record (a lease, so that an abandoned request does
//! not block its key for ever) and from completion for a stored result. The
//! table holds at most a configured number of records. At capacity a claim
//! first evicts expired records; if none is expired it is refused
//! ([`ClaimOutcome::AtCapacity`], for the server a 503 SlowDown) rather than
//! dropping a stored result inside its retention window, which would let a
//! retry write twice (I1) or turn a lost race into a win (I7).
//!
//! Records expire at `start + retention`: alive while `now_ms < expires_at`.
//! Time comes from the `now_ms` arguments only.

use std::collections::BTreeMap;
use std::fmt;

use crate::checksum::Digest;
use crate::object::ObjectPath;
use crate::precondition::{Rejected, WriteConditions};
use crate::store::Committed;

/// How long a stored result is replayed (I1: 24 hours unless configured).
pub const DEFAULT_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// How many records the table holds by default. A record is a few hundred
/// bytes (two names, a path, a digest, an outcome), so this bounds the
/// table near 50 MB.
pub const DEFAULT_CAPACITY_RECORDS: usize = 100_000;

/// The longest idempotency key (I1).
pub const MAX_IDEMPOTENCY_KEY_LEN_BYTES: usize = 255;

/// Who sent a request, as authentication established it. Records are scoped
/// per principal, so one tenant never sees another's stored result (I8).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal(String);

impl Principal {
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an `Idempotency-Key` header was rejected (B1: 400).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyKeyError {
    #[error("idempotency key is empty")]
    Empty,
    #[error(
        "idempotency key is {len_bytes} bytes; it must be at most {MAX_IDEMPOTENCY_KEY_LEN_BYTES}"
    )]
    TooLong { len_bytes: usize },
    #[error(
        "idempotency key has {character:?} at byte {position_bytes}; only visible ASCII is allowed"
    )]
    InvalidCharacter {
        character: char,
        position_bytes: usize,
    },
}

/// An `Idempotency-Key`: 1 to [`MAX_IDEMPOTENCY_KEY_LEN_BYTES`] visible
/// ASCII characters (I1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: &str) -> Result<Self, IdempotencyKeyError> {
        if key.is_empty() {
            return Err(IdempotencyKeyError::Empty);
        }
        if key.len() > MAX_IDEMPOTENCY_KEY_LEN_BYTES {
            return Err(IdempotencyKeyError::TooLong {
                len_bytes: key.len(),
            });
        }
        if let Some((position_bytes, character)) =
            key.char_indices().find(|&(_, c)| !c.is_ascii_graphic())
        {
            return Err(IdempotencyKeyError::InvalidCharacter {
                character,
                position_bytes,
            });
        }
        Ok(Self(key.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What one idempotency record is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyScope {
    pub principal: Principal,
    pub idempotency_key: IdempotencyKey,
}

/// What makes a retry "the same request" (I2): same target, same verified
/// payload digest (I4, I5), same conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub path: ObjectPath,
    pub payload_digest: Digest,
    pub conditions: WriteConditions,
}

/// The result a replay returns (I1, I7): the commit's, or the precondition
/// failure's.
pub type StoredOutcome = Result<Committed, Rejected>;

/// A completed idempotent write, as journaled with its commit (I8) and as
/// recovered from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub scope: IdempotencyScope,
    pub fingerprint: Fingerprint,
    pub outcome: StoredOutcome,
    pub completed_at_ms: u64,
}

/// The right to commit one idempotent write. Consumed by
/// `Store::put_claimed` or `Store::release`.
#[must_use = "pass the ticket to Store::put_claimed or Store::release; a dropped ticket blocks its scope until the claim expires"]
#[derive(Debug, PartialEq, Eq)]
pub struct ClaimTicket {
    scope: IdempotencyScope,
    fingerprint: Fingerprint,
    /// Tells this claim apart from a later claim of the same scope made
    /// after this one expired.
    claim_id: u64,
}

impl ClaimTicket {
    #[must_use]
    pub fn scope(&self) -> &IdempotencyScope {
        &self.scope
    }

    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

/// The answer to a claim (DESIGN.md write path, step 1).
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// No live record: go ahead, then commit with the ticket.
    Claimed(ClaimTicket),
    /// The same request is in flight (I3: 409 IdempotencyKeyInFlight).
    InFlight,
    /// The same request completed: return its result, write nothing (I1,
    /// I7).
    Replay(StoredOutcome),
    /// A live record has another fingerprint (I2: 422
    /// IdempotencyKeyMismatch).
    Mismatch,
    /// The table is full of live records (503 SlowDown; retry later).
    AtCapacity,
}

/// Limits of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyConfig {
    pub retention_ms: u64,
    pub capacity_records: usize,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            retention_ms: DEFAULT_RETENTION_MS,
            capacity_records: DEFAULT_CAPACITY_RECORDS,
        }
    }
}

#[derive(Debug)]
enum EntryState {
    InFlight(Fingerprint),
    Done {
        fingerprint: Fingerprint,
        outcome: StoredOutcome,
    },
}

#[derive(Debug)]
struct Entry {
    claim_id: u64,
    expires_at_ms: u64,
    state: EntryState,
}

impl Entry {
    fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at_ms
    }
}

/// The records, without synchronisation: the store keeps the table behind
/// one lock, taken after the key's shard lock when a commit needs both.
#[derive(Debug)]
pub(crate) struct Table {
    config: IdempotencyConfig,
    entries: BTreeMap<IdempotencyScope, Entry>,
    /// Every entry by (expiry, claim id), oldest first, so that eviction
    /// stops at the first live record.
    expiries: BTreeMap<(u64, u64), IdempotencyScope>,
    next_claim_id: u64,
}

impl Table {
    pub(crate) fn new(config: IdempotencyConfig) -> Self {
        Self {
            config,
            entries: BTreeMap::new(),
            expiries: BTreeMap::new(),
            next_claim_id: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        debug_assert_eq!(self.entries.len(), self.expiries.len());
        self.entries.len()
    }

    /// The answer for a scope that has a live record; `None` when the scope
    /// is free (an expired record is dropped on the way).
    pub(crate) fn resolve_existing(
        &mut self,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now_ms: u64,
    ) -> Option<ClaimOutcome> {
        let entry = self.entries.get(scope)?;
        if !entry.is_live(now_ms) {
            self.remove(scope);
            return None;
        }
        Some(match &entry.state {
            EntryState::InFlight(claimed) if claimed == fingerprint => ClaimOutcome::InFlight,
            EntryState::Done {
                fingerprint: done,
                outcome,
            } if done == fingerprint => ClaimOutcome::Replay(outcome.clone()),
            EntryState::InFlight(_) | EntryState::Done { .. } => ClaimOutcome::Mismatch,
        })
    }

    /// Claims a scope that [`Table::resolve_existing`] found free, within the
    /// same critical section.
    pub(crate) fn insert_claim(
        &mut self,
        scope: IdempotencyScope,
        fingerprint: Fingerprint,
        now_ms: u64,
    ) -> ClaimOutcome {
        if self.len() >= self.config.capacity_records {
            self.purge_expired(now_ms);
            if self.len() >= self.config.capacity_records {
                return ClaimOutcome::AtCapacity;
            }
        }
        let claim_id = self.insert(
            scope.clone(),
            now_ms,
            EntryState::InFlight(fingerprint.clone()),
        );
        ClaimOutcome::Claimed(ClaimTicket {
            scope,
            fingerprint,
            claim_id,
        })
    }

    /// Whether `ticket` is still the live in-flight claim of its scope.
    pub(crate) fn holds(&self, ticket: &ClaimTicket, now_ms: u64) -> bool {
        self.entries.get(&ticket.scope).is_some_and(|entry| {
            entry.claim_id == ticket.claim_id
                && entry.is_live(now_ms)
                && matches!(entry.state, EntryState::InFlight(_))
        })
    }

    /// Stores a completed result, replacing the claim it completes (live
    /// commit, after [`Table::holds`]) or whatever an earlier journal record
    /// left (recovery). Never refused for capacity: the claim already held a
    /// slot, and a recovered result must not be lost (I8).
    pub(crate) fn record(&mut self, record: IdempotencyRecord) {
        self.remove(&record.scope);
        self.insert(
            record.scope,
            record.completed_at_ms,
            EntryState::Done {
                fingerprint: record.fingerprint,
                outcome: record.outcome,
            },
        );
    }

    /// Drops the claim `ticket` holds, if it still holds it.
    pub(crate) fn release(&mut self, ticket: &ClaimTicket) {
        let still_claimed = self.entries.get(&ticket.scope).is_some_and(|entry| {
            entry.claim_id == ticket.claim_id && matches!(entry.state, EntryState::InFlight(_))
        });
        if still_claimed {
            self.remove(&ticket.scope);
        }
    }

    /// Drops every expired record; returns how many.
    pub(crate) fn purge_expired(&mut self, now_ms: u64) -> usize {
        let mut purged = 0;
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now_ms {
                break;
            }
            let scope = entry.remove();
            let removed = self.entries.remove(&scope);
            debug_assert!(removed.is_some(), "expiry index names a missing entry");
            purged += 1;
        }
        purged
    }

    fn insert(&mut self, scope: IdempotencyScope, start_ms: u64, state: EntryState) -> u64 {
        let claim_id = self.next_claim_id;
        self.next_claim_id += 1;
        let expires_at_ms = start_ms.saturating_add(self.config.retention_ms);
        self.expiries
            .insert((expires_at_ms, claim_id), scope.clone());
        let replaced = self.entries.insert(
            scope,
            Entry {
                claim_id,
                expires_at_ms,
                state,
            },
        );
        debug_assert!(replaced.is_none(), "insert over a live entry");
        claim_id
    }

    fn remove(&mut self, scope: &IdempotencyScope) {
        if let Some(entry) = self.entries.remove(scope) {
            let indexed = self.expiries.remove(&(entry.expires_at_ms, entry.claim_id));
            debug_assert!(indexed.is_some(), "entry missing from the expiry index");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{ChecksumAlgorithm, digest};
    use crate::object::{BucketName, ETag, ObjectKey};
    use crate::precondition::{Condition, Rule};

    const RETENTION_MS: u64 = 1_000;

    fn table(capacity_records: usize) -> Table {
        Table::new(IdempotencyConfig {
            retention_ms: RETENTION_MS,
            capacity_records,
        })
    }

    fn scope(principal: &str, key: &str) -> IdempotencyScope {
        IdempotencyScope {
            principal: Principal::new(principal),
            idempotency_key: IdempotencyKey::parse(key).unwrap(),
        }
    }

    fn fingerprint(key: &str, payload: &[u8], conditions: WriteConditions) -> Fingerprint {
        Fingerprint {
            path: ObjectPath::new(
                BucketName::parse("bucket").unwrap(),
                ObjectKey::parse(key).unwrap(),
            ),
            payload_digest: digest(ChecksumAlgorithm::Sha256, payload),
            conditions,
        }
    }

    fn invoice() -> Fingerprint {
        fingerprint("invoice", b"payload", WriteConditions::default())
    }

    fn committed(sequence: u64) -> StoredOutcome {
        Ok(Committed {
            etag: ETag::of_content(b"payload"),
            sequence,
            last_modified_ms: 0,
        })
    }

    /// Claim as the store does: resolve, then insert, in one critical
    /// section.
    fn claim(
        table: &mut Table,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now_ms: u64,
    ) -> ClaimOutcome {
        table
            .resolve_existing(scope, fingerprint, now_ms)
            .unwrap_or_else(|| table.insert_claim(scope.clone(), fingerprint.clone(), now_ms))
    }

    fn complete(table: &mut Table, ticket: ClaimTicket, outcome: StoredOutcome, now_ms: u64) {
        assert!(table.holds(&ticket, now_ms));
        table.record(IdempotencyRecord {
            scope: ticket.scope,
            fingerprint: ticket.fingerprint,
            outcome,
            completed_at_ms: now_ms,
        });
    }

    fn claimed(outcome: ClaimOutcome) -> ClaimTicket {
        match outcome {
            ClaimOutcome::Claimed(ticket) => ticket,
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn i1_idempotency_key_rules() {
        let longest = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN_BYTES);
        let too_long = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN_BYTES + 1);
        let cases: &[(&str, Result<(), IdempotencyKeyError>)] = &[
            ("invoice-2026-001", Ok(())),
            ("!~", Ok(())),
            (&longest, Ok(())),
            ("", Err(IdempotencyKeyError::Empty)),
            (
                &too_long,
                Err(IdempotencyKeyError::TooLong { len_bytes: 256 }),
            ),
            (
                "with space",
                Err(IdempotencyKeyError::InvalidCharacter {
                    character: ' ',
                    position_bytes: 4,
                }),
            ),
            (
                "tab\t",
                Err(IdempotencyKeyError::InvalidCharacter {
                    character: '\t',
                    position_bytes: 3,
                }),
            ),
            (
                "ключ",
                Err(IdempotencyKeyError::InvalidCharacter {
                    character: 'к',
                    position_bytes: 0,
                }),
            ),
        ];
        for (key, expected) in cases {
            assert_eq!(&IdempotencyKey::parse(key).map(|_| ()), expected, "{key:?}");
        }
    }

    #[test]
    fn i1_replays_stored_result_until_retention_ends() {
        let mut table = table(8);
        let scope = scope("alice", "k1");
        let ticket = claimed(claim(&mut table, &scope, &invoice(), 0));
        complete(&mut table, ticket, committed(7), 100);

        let expires_at_ms = 100 + RETENTION_MS;
        assert_eq!(
            claim(&mut table, &scope, &invoice(), expires_at_ms - 1),
            ClaimOutcome::Replay(committed(7))
        );
        assert!(matches!(
            claim(&mut table, &scope, &invoice(), expires_at_ms),
            ClaimOutcome::Claimed(_)
        ));
    }

    #[test]
    fn i7_failed_precondition_is_replayed_too() {
        let mut table = table(8);
        let scope = scope("alice", "k1");
        let create_only = fingerprint("invoice", b"payload", WriteConditions::create_only());
        let lost_race = Err(Rejected::PreconditionFailed {
            rule: Rule::C1,
            condition: Condition::IfNoneMatch,
        });
        let ticket = claimed(claim(&mut table, &scope, &create_only, 0));
        complete(&mut table, ticket, lost_race.clone(), 0);
        assert_eq!(
            claim(&mut table, &scope, &create_only, 1),
            ClaimOutcome::Replay(lost_race)
        );
    }

    #[test]
    fn i2_different_fingerprint_is_a_mismatch_in_flight_and_done() {
        let different: [(&str, Fingerprint); 3] = [
            (
                "target key",
                fingerprint("other", b"payload", WriteConditions::default()),
            ),
            (
                "payload digest",
                fingerprint("invoice", b"other payload", WriteConditions::default()),
            ),
            (
                "conditions",
                fingerprint("invoice", b"payload", WriteConditions::create_only()),
            ),
        ];
        for (what, other) in different {
            let mut table = table(8);
            let scope = scope("alice", "k1");
            let ticket = claimed(claim(&mut table, &scope, &invoice(), 0));
            assert_eq!(
                claim(&mut table, &scope, &other, 1),
                ClaimOutcome::Mismatch,
                "different {what}, in flight"
            );
            complete(&mut table, ticket, committed(1), 2);
            assert_eq!(
                claim(&mut table, &scope, &other, 3),
                ClaimOutcome::Mismatch,
                "different {what}, done"
            );
        }
    }

    #[test]
    fn i3_same_request_in_flight_until_its_lease_ends() {
        let mut table = table(8);
        let scope = scope("alice", "k1");
        let ticket = claimed(claim(&mut table, &scope, &invoice(), 0));
        assert_eq!(
            claim(&mut table, &scope, &invoice(), RETENTION_MS - 1),
            ClaimOutcome::InFlight
        );
        assert!(table.holds(&ticket, RETENTION_MS - 1));
        assert!(!table.holds(&ticket, RETENTION_MS), "the lease ended");

        let successor = claimed(claim(&mut table, &scope, &invoice(), RETENTION_MS));
        assert!(!table.holds(&ticket, RETENTION_MS), "superseded");
        assert!(table.holds(&successor, RETENTION_MS));
        table.release(&ticket);
        assert!(
            table.holds(&successor, RETENTION_MS),
            "a stale ticket cannot release its successor's claim"
        );
    }

    #[test]
    fn i8_records_are_scoped_per_principal() {
        let mut table = table(8);
        let alice = scope("alice", "shared-key");
        let bob = scope("bob", "shared-key");
        let ticket = claimed(claim(&mut table, &alice, &invoice(), 0));
        complete(&mut table, ticket, committed(1), 0);
        assert!(matches!(
            claim(&mut table, &bob, &invoice(), 1),
            ClaimOutcome::Claimed(_)
        ));
    }

    #[test]
    fn release_frees_the_scope_and_records_nothing() {
        let mut table = table(8);
        let scope = scope("alice", "k1");
        let ticket = claimed(claim(&mut table, &scope, &invoice(), 0));
        table.release(&ticket);
        assert_eq!(table.len(), 0);
        assert!(!table.holds(&ticket, 0));
        assert!(matches!(
            claim(&mut table, &scope, &invoice(), 0),
            ClaimOutcome::Claimed(_)
        ));
    }

    #[test]
    fn capacity_refuses_new_claims_while_every_record_is_live() {
        const CAPACITY_RECORDS: usize = 3;
        let mut table = table(CAPACITY_RECORDS);
        for index in 0..CAPACITY_RECORDS {
            let at_ms = u64::try_from(index).unwrap();
            let ticket = claimed(claim(
                &mut table,
                &scope("alice", &format!("k{index}")),
                &invoice(),
                at_ms,
            ));
            complete(&mut table, ticket, committed(at_ms), at_ms);
        }
        assert_eq!(table.len(), CAPACITY_RECORDS);
        let newcomer = scope("alice", "new");
        assert_eq!(
            claim(&mut table, &newcomer, &invoice(), RETENTION_MS - 1),
            ClaimOutcome::AtCapacity,
            "all records live: none is dropped"
        );
        assert_eq!(
            claim(
                &mut table,
                &scope("alice", "k2"),
                &invoice(),
                RETENTION_MS - 1
            ),
            ClaimOutcome::Replay(committed(2)),
            "stored results survive a refused claim"
        );
        let ticket = claimed(claim(&mut table, &newcomer, &invoice(), RETENTION_MS));
        assert_eq!(
            table.len(),
            CAPACITY_RECORDS,
            "exactly the expired k0 was evicted"
        );
        assert!(table.holds(&ticket, RETENTION_MS));
        assert_eq!(
            claim(&mut table, &scope("alice", "k1"), &invoice(), RETENTION_MS),
            ClaimOutcome::Replay(committed(1)),
            "k1 expires at {}, still live",
            1 + RETENTION_MS
        );
    }

    #[test]
    fn purge_expired_drops_exactly_the_expired_records() {
        let mut table = table(8);
        for (index, at_ms) in [0, 10, 20].into_iter().enumerate() {
            let ticket = claimed(claim(
                &mut table,
                &scope("alice", &format!("k{index}")),
                &invoice(),
                at_ms,
            ));
            complete(&mut table, ticket, committed(at_ms), at_ms);
        }
        assert_eq!(table.purge_expired(RETENTION_MS + 9), 1);
        assert_eq!(table.purge_expired(RETENTION_MS + 10), 1);
        assert_eq!(table.len(), 1);
        assert_eq!(table.purge_expired(u64::MAX), 1);
        assert_eq!(table.len(), 0);
    }
}
