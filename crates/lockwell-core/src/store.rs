//! The commit path (DESIGN.md write path, step 4): a concurrent in-memory
//! index of object versions, the part of Lockwell the loom models check.
//!
//! Keys are spread over a fixed number of shards by a deterministic hash of
//! their path (FNV-1a: the simulator needs the same layout in every run,
//! which std's `RandomState` would not give). Each shard is one `RwLock`.
//! Every commit on a key runs in one critical section under its shard's
//! write lock:
//!
//! 1. evaluate the preconditions against the current version (C1-C8);
//! 2. with an idempotency ticket, take the idempotency table's lock and check
//!    the ticket still holds its claim;
//! 3. append one [`CommitRecord`] to the [`Journal`] (the server's
//!    write-ahead log), carrying the new version and, for an idempotent
//!    write, its stored result (I8). If the append fails, nothing is
//!    installed and the caller answers 5xx;
//! 4. install the version (and the stored result), which makes it visible.
//!
//! So no write lands between a check and its install (C3), a rejected
//! request changes nothing (C4), and an acknowledged write is in the journal
//! (E4). Readers take the read lock just long enough to clone an `Arc` of
//! the current version: they never see half a write, and never block a
//! writer for longer than that.
//!
//! Lock order, which keeps the store free of deadlocks: shards in increasing
//! index (a copy takes its source's and destination's, or one lock when
//! they share a shard), then the idempotency table.
//!
//! The journal runs under the shard lock, so a slow append would delay the
//! other keys of its shard: the server's journal only orders the record and
//! makes it durable later, by group commit, before anyone can observe it
//! (see [`Journal`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::Bound;
use std::sync::Arc;

use crate::idempotency::{
    ClaimOutcome, ClaimTicket, Fingerprint, IdempotencyConfig, IdempotencyRecord, IdempotencyScope,
    Table,
};
use crate::object::{
    BucketName, ETag, NewObject, ObjectKey, ObjectMetadata, ObjectPath, ObjectVersion,
};
use crate::precondition::{
    CopyDestinationCondition, DeleteConditions, Rejected, ValidatorConditions, Validators,
    WriteConditions, evaluate_copy_destination, evaluate_copy_source, evaluate_delete,
    evaluate_write,
};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shards of a store built with [`StoreConfig::default`]: enough that
/// writers on different keys rarely share a lock even with dozens of
/// threads, few enough that a listing, which visits every shard, stays
/// cheap.
pub const DEFAULT_SHARD_COUNT: usize = 64;

/// S3's largest page of a listing (`max-keys`).
pub const MAX_LIST_KEYS: usize = 1000;

const POISONED: &str = "a commit panicked while holding a store lock, so its state may be \
                        half-applied; the store stops rather than serve it";

/// What a successful write returns (E2): enough to chain the next
/// conditional write without a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub etag: ETag,
    pub sequence: u64,
    pub last_modified_ms: u64,
}

impl From<&ObjectVersion> for Committed {
    fn from(version: &ObjectVersion) -> Self {
        Self {
            etag: version.etag.clone(),
            sequence: version.sequence,
            last_modified_ms: version.last_modified_ms,
        }
    }
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed; `None` when the key was already absent (S3
    /// answers 204 either way).
    pub removed_sequence: Option<u64>,
}

/// One durable step of the commit path, handed to the [`Journal`] before it
/// becomes visible and replayed by [`Store::apply_recovered`] after a
/// restart.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitRecord {
    /// A put or copy installed `version` at `path`; an idempotent put stores
    /// its result in the same step (I8).
    Install {
        path: ObjectPath,
        version: Arc<ObjectVersion>,
        idempotency: Option<IdempotencyRecord>,
    },
    /// The version `removed_sequence` at `path` was deleted.
    Remove {
        path: ObjectPath,
        removed_sequence: u64,
    },
    /// An idempotent put failed its preconditions; the failure is stored so
    /// that a retry replays it (I7) also after a restart (I8).
    IdempotentRejection(IdempotencyRecord),
}

/// Where the commit path makes a step durable: the server's write-ahead
/// log. Called under the key's lock, before the step becomes visible.
///
/// Contract: `Ok` means the record is ordered in the log, after every
/// record appended before it (so along each key, log order is commit
/// order); it is durable before anyone observes it. `append` runs under the
/// key's lock, so it must not wait for a disk: the server's log queues the
/// record and returns, the store installs it and releases the lock, and
/// the server waits for the log to be durable up to that record (group
/// commit) before any response reveals the new state. A crash may lose
/// records that are ordered but not yet durable, always a suffix of the
/// log, never one alone. `Err` means the record is not in the log and never
/// will be (a log that cannot tell, such as after a failed fsync, must stop
/// the server instead of returning). The store relies on it: after an
/// `Err` nothing is installed and an idempotency claim is released, so a
/// retry may write.
pub trait Journal {
    type Error: std::error::Error + Send + Sync + 'static;

    fn append(&mut self, record: &CommitRecord) -> Result<(), Self::Error>;
}

/// No durability: the memory backend, benchmarks of the index alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJournal;

impl Journal for NoJournal {
    type Error = Infallible;

    fn append(&mut self, _record: &CommitRecord) -> Result<(), Infallible> {
        Ok(())
    }
}

/// An in-memory journal that keeps every record, in commit order: recovery
/// tests, and the reference the simulator compares a disk journal with.
impl Journal for Vec<CommitRecord> {
    type Error = Infallible;

    fn append(&mut self, record: &CommitRecord) -> Result<(), Infallible> {
        self.push(record.clone());
        Ok(())
    }
}

/// Why an idempotent commit did not run. Either way nothing was installed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CommitError<E: std::error::Error + 'static> {
    #[error("journal append failed; nothing was installed")]
    Journal(#[source] E),
    /// The ticket's claim outlived its lease and was evicted or re-claimed
    /// before the commit: committing now could write twice (I1). The
    /// request fails; a retry claims afresh and replays or writes once.
    #[error("the idempotency claim expired before the commit; nothing was installed")]
    ClaimExpired,
}

/// Which metadata a copy's destination gets (S3 `x-amz-metadata-directive`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetadataDirective {
    #[default]
    Copy,
    Replace(ObjectMetadata),
}

/// A CopyObject: the source, the destination, and the conditions on each
/// (C7, C8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    pub source: ObjectPath,
    pub source_conditions: ValidatorConditions,
    pub destination: ObjectPath,
    pub destination_condition: CopyDestinationCondition,
    pub metadata: MetadataDirective,
}

/// A ListObjectsV2 page request, for one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub prefix: String,
    /// Only keys after this one (S3 `start-after`, or a continuation).
    pub start_after: Option<String>,
    /// Clamped to [`MAX_LIST_KEYS`].
    pub max_keys: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            start_after: None,
            max_keys: MAX_LIST_KEYS,
        }
    }
}

/// A page of a listing, in key order (UTF-8 bytes, as S3 lists).
///
/// Each entry is a committed version. The page is not a snapshot across
/// shards: a write that commits while the listing runs may or may not be on
/// it, as with S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<(ObjectKey, Arc<ObjectVersion>)>,
    pub is_truncated: bool,
}

/// Sizes of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    pub shard_count: usize,
    pub idempotency: IdempotencyConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            shard_count: DEFAULT_SHARD_COUNT,
            idempotency: IdempotencyConfig::default(),
        }
    }
}

/// The keys of one shard, by bucket then key, so that a listing is a range.
#[derive(Debug, Default)]
struct Shard {
    buckets: BTreeMap<BucketName, BTreeMap<ObjectKey, Arc<ObjectVersion>>>,
}

impl Shard {
    fn current(&self, path: &ObjectPath) -> Option<&Arc<ObjectVersion>> {
        self.buckets.get(&path.bucket)?.get(&path.key)
    }

    fn install(&mut self, path: ObjectPath, version: Arc<ObjectVersion>) {
        let sequence = version.sequence;
        let keys = self.buckets.entry(path.bucket).or_default();
        if let Some(previous) = keys.insert(path.key, version) {
            assert!(
                previous.sequence < sequence,
                "version {sequence} installed over the later version {}",
                previous.sequence
            );
        }
    }

    fn remove(&mut self, path: &ObjectPath) -> Option<Arc<ObjectVersion>> {
        let keys = self.buckets.get_mut(&path.bucket)?;
        let removed = keys.remove(&path.key);
        if keys.is_empty() {
            self.buckets.remove(&path.bucket);
        }
        removed
    }

    /// Up to `limit` entries of `bucket` after `lower`, while they start
    /// with `prefix`.
    fn scan(
        &self,
        bucket: &BucketName,
        prefix: &str,
        lower: Bound<&str>,
        limit: usize,
        into: &mut Vec<(ObjectKey, Arc<ObjectVersion>)>,
    ) {
        let Some(keys) = self.buckets.get(bucket) else {
            return;
        };
        into.extend(
            keys.range::<str, _>((lower, Bound::Unbounded))
                .take_while(|(key, _)| key.as_str().starts_with(prefix))
                .take(limit)
                .map(|(key, version)| (key.clone(), Arc::clone(version))),
        );
    }
}

/// Applies a journaled step to the locked state; shared by live commits
/// (after the journal accepted the record) and recovery, so that both
/// install exactly the same thing.
fn apply(shard: &mut Shard, table: Option<&mut Table>, record: CommitRecord) {
    let idempotency = match record {
        CommitRecord::Install {
            path,
            version,
            idempotency,
        } => {
            shard.install(path, version);
            idempotency
        }
        CommitRecord::Remove {
            path,
            removed_sequence,
        } => {
            let removed = shard.remove(&path);
            assert_eq!(
                removed.map(|version| version.sequence),
                Some(removed_sequence),
                "removed a version other than the journaled one at {path}"
            );
            None
        }
        CommitRecord::IdempotentRejection(record) => Some(record),
    };
    if let Some(record) = idempotency {
        table
            .expect("the idempotency table is locked for a record that has a result")
            .record(record);
    }
}

/// FNV-1a, 64 bits: deterministic across runs, processes and platforms.
fn fnv1a_64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.into_iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

/// The shard locks a copy holds: one when source and destination share a
/// shard, else both, taken in index order.
enum CopyLocks<'a> {
    SameShard(RwLockWriteGuard<'a, Shard>),
    TwoShards {
        source: RwLockReadGuard<'a, Shard>,
        destination: RwLockWriteGuard<'a, Shard>,
    },
}

impl CopyLocks<'_> {
    fn source(&self) -> &Shard {
        match self {
            Self::SameShard(shard) => shard,
            Self::TwoShards { source, .. } => source,
        }
    }

    fn destination(&mut self) -> &mut Shard {
        match self {
            Self::SameShard(shard) => shard,
            Self::TwoShards { destination, .. } => destination,
        }
    }
}

/// The object index, the idempotency table and the sequence counter.
pub struct Store {
    shards: Box<[RwLock<Shard>]>,
    idempotency: Mutex<Table>,
    next_sequence: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("shard_count", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// # Panics
    /// If `config.shard_count` is zero.
    #[must_use]
    pub fn new(config: StoreConfig) -> Self {
        assert!(config.shard_count > 0, "a store needs at least one shard");
        Self {
            shards: (0..config.shard_count)
                .map(|_| RwLock::new(Shard::default()))
                .collect(),
            idempotency: Mutex::new(Table::new(config.idempotency)),
            next_sequence: AtomicU64::new(1),
        }
    }

    /// The shard `path` lives in: FNV-1a over the bucket, a separator byte
    /// that UTF-8 never contains, and the key. Public so that tests and
    /// benchmarks can pick keys in the same or in different shards.
    #[must_use]
    pub fn shard_index(&self, path: &ObjectPath) -> usize {
        const SEPARATOR: u8 = 0xFF;
        let hash = fnv1a_64(
            path.bucket
                .as_str()
                .bytes()
                .chain([SEPARATOR])
                .chain(path.key.as_str().bytes()),
        );
        let shard_count = u64::try_from(self.shards.len()).expect("shard count fits u64");
        usize::try_from(hash % shard_count).expect("a shard index fits usize")
    }

    /// The current version at `path`: bytes, ETag and metadata of one
    /// write. Evaluate read conditions (E5) on it with
    /// [`crate::precondition::evaluate_read`].
    #[must_use]
    pub fn get(&self, path: &ObjectPath) -> Option<Arc<ObjectVersion>> {
        let shard_index = self.shard_index(path);
        let shard = self.read_shard(shard_index);
        let version = shard.current(path).cloned();
        #[cfg(all(feature = "planted-bugs", loom))]
        let version = {
            let shard = loom_window::reopen(shard, || self.read_shard(shard_index));
            loom_window::tear(version, shard.current(path))
        };
        version
    }

    /// PutObject or CompleteMultipartUpload without an idempotency key.
    pub fn put<J: Journal>(
        &self,
        path: &ObjectPath,
        object: NewObject,
        conditions: &WriteConditions,
        now_ms: u64,
        journal: &mut J,
    ) -> Result<Result<Committed, Rejected>, J::Error> {
        self.commit_put(path, object, conditions, None, now_ms, journal)
            .map_err(|error| match error {
                CommitError::Journal(error) => error,
                CommitError::ClaimExpired => unreachable!("a put without a claim cannot lose one"),
            })
    }

    /// An idempotent put: commits to the ticket's path under the ticket's
    /// conditions, and stores the outcome, success or precondition failure
    /// (I7), in the same step (I8). If the journal fails, the claim is
    /// released with nothing recorded, as after a digest failure.
    pub fn put_claimed<J: Journal>(
        &self,
        ticket: ClaimTicket,
        object: NewObject,
        now_ms: u64,
        journal: &mut J,
    ) -> Result<Result<Committed, Rejected>, CommitError<J::Error>> {
        let Fingerprint {
            path, conditions, ..
        } = ticket.fingerprint();
        self.commit_put(path, object, conditions, Some(&ticket), now_ms, journal)
    }

    fn commit_put<J: Journal>(
        &self,
        path: &ObjectPath,
        object: NewObject,
        conditions: &WriteConditions,
        claim: Option<&ClaimTicket>,
        now_ms: u64,
        journal: &mut J,
    ) -> Result<Result<Committed, Rejected>, CommitError<J::Error>> {
        #[cfg(feature = "planted-slowdown")]
        planted_slowdown::extra_work(path);
        let shard_index = self.shard_index(path);
        #[cfg_attr(
            all(feature = "planted-bugs", loom),
            allow(unused_mut, reason = "rebound by the planted window")
        )]
        let mut shard = self.write_shard(shard_index);
        let verdict = evaluate_write(shard.current(path).map(|version| &version.etag), conditions);
        #[cfg_attr(
            all(feature = "planted-bugs", loom),
            allow(unused_mut, reason = "rebound by the planted window")
        )]
        let mut table = match claim {
            None => None,
            Some(ticket) => {
                let table = self.lock_idempotency();
                if !table.holds(ticket, now_ms) {
                    return Err(CommitError::ClaimExpired);
                }
                Some(table)
            }
        };
        #[cfg(all(feature = "planted-bugs", loom))]
        let (mut shard, mut table) = loom_window::reopen((shard, table), || {
            let table = claim.map(|_| self.lock_idempotency());
            (self.write_shard(shard_index), table)
        });

        let version = verdict.map(|()| self.stamp(object, now_ms));
        let outcome = version.as_ref().map(Committed::from).map_err(Clone::clone);
        let idempotency = claim.map(|ticket| IdempotencyRecord {
            scope: ticket.scope().clone(),
            fingerprint: ticket.fingerprint().clone(),
            outcome: outcome.clone(),
            completed_at_ms: now_ms,
        });
        let record = match (version, idempotency) {
            (Ok(version), idempotency) => CommitRecord::Install {
                path: path.clone(),
                version: Arc::new(version),
                idempotency,
            },
            (Err(_), Some(idempotency)) => CommitRecord::IdempotentRejection(idempotency),
            (Err(rejected), None) => return Ok(Err(rejected)),
        };
        if let Err(error) = journal.append(&record) {
            // Nothing was installed, so the claim is given up as on a digest
            // failure (step 3): a retry claims afresh.
            if let (Some(table), Some(ticket)) = (table.as_deref_mut(), claim) {
                table.release(ticket);
            }
            return Err(CommitError::Journal(error));
        }
        apply(&mut shard, table.as_deref_mut(), record);
        Ok(outcome)
    }

    /// DeleteObject (C6a).
    pub fn delete<J: Journal>(
        &self,
        path: &ObjectPath,
        conditions: &DeleteConditions,
        journal: &mut J,
    ) -> Result<Result<Deleted, Rejected>, J::Error> {
        let shard_index = self.shard_index(path);
        #[cfg_attr(
            all(feature = "planted-bugs", loom),
            allow(unused_mut, reason = "rebound by the planted window")
        )]
        let mut shard = self.write_shard(shard_index);
        if let Err(rejected) =
            evaluate_delete(shard.current(path).map(|version| &version.etag), conditions)
        {
            return Ok(Err(rejected));
        }
        #[cfg(all(feature = "planted-bugs", loom))]
        let mut shard = loom_window::reopen(shard, || self.write_shard(shard_index));

        let Some(removed_sequence) = shard.current(path).map(|version| version.sequence) else {
            return Ok(Ok(Deleted {
                removed_sequence: None,
            }));
        };
        let record = CommitRecord::Remove {
            path: path.clone(),
            removed_sequence,
        };
        journal.append(&record)?;
        apply(&mut shard, None, record);
        Ok(Ok(Deleted {
            removed_sequence: Some(removed_sequence),
        }))
    }

    /// CopyObject: both sides' conditions (C7, C8) hold at one instant, and
    /// the source version they were evaluated against is the one copied. The
    /// copy shares the source's bytes and keeps its ETag and checksums.
    pub fn copy<J: Journal>(
        &self,
        request: &CopyRequest,
        now_ms: u64,
        journal: &mut J,
    ) -> Result<Result<Committed, Rejected>, J::Error> {
        #[cfg(feature = "planted-slowdown")]
        planted_slowdown::extra_work(&request.destination);
        let source_index = self.shard_index(&request.source);
        let destination_index = self.shard_index(&request.destination);
        let mut locks = self.lock_for_copy(source_index, destination_index);
        let source = locks.source().current(&request.source).cloned();
        let verdict = evaluate_copy_source(
            source.as_deref().map(Validators::from),
            &request.source_conditions,
        )
        .and_then(|()| {
            let destination = locks.destination().current(&request.destination);
            evaluate_copy_destination(
                destination.map(|version| &version.etag),
                &request.destination_condition,
            )
        });
        let source = match (verdict, source) {
            (Ok(()), Some(source)) => source,
            (Err(rejected), _) => return Ok(Err(rejected)),
            (Ok(()), None) => unreachable!("an absent source fails C8"),
        };
        #[cfg(all(feature = "planted-bugs", loom))]
        let (mut locks, source) = {
            let locks = loom_window::reopen(locks, || {
                self.lock_for_copy(source_index, destination_index)
            });
            let current = locks.source().current(&request.source).cloned();
            (locks, current.unwrap_or(source))
        };

        let metadata = match &request.metadata {
            MetadataDirective::Copy => source.metadata.clone(),
            MetadataDirective::Replace(metadata) => metadata.clone(),
        };
        let version = ObjectVersion {
            content: Arc::clone(&source.content),
            etag: source.etag.clone(),
            checksums: source.checksums.clone(),
            metadata,
            last_modified_ms: now_ms,
            sequence: self.next_sequence(),
        };
        let committed = Committed::from(&version);
        let record = CommitRecord::Install {
            path: request.destination.clone(),
            version: Arc::new(version),
            idempotency: None,
        };
        journal.append(&record)?;
        apply(locks.destination(), None, record);
        Ok(Ok(committed))
    }

    /// One page of `bucket`'s keys, in key order.
    #[must_use]
    pub fn list(&self, bucket: &BucketName, query: &ListQuery) -> Listing {
        let max_keys = query.max_keys.min(MAX_LIST_KEYS);
        let lower = match query.start_after.as_deref() {
            Some(start_after) if start_after >= query.prefix.as_str() => {
                Bound::Excluded(start_after)
            }
            _ => Bound::Included(query.prefix.as_str()),
        };
        // The first `max_keys + 1` keys overall are among the first
        // `max_keys + 1` of their shards; one more than a page tells whether
        // the listing is truncated.
        let mut entries = Vec::new();
        for shard in &self.shards {
            let shard = shard.read().expect(POISONED);
            shard.scan(bucket, &query.prefix, lower, max_keys + 1, &mut entries);
        }
        entries.sort_unstable_by(|(left, _), (right, _)| left.cmp(right));
        let is_truncated = entries.len() > max_keys;
        entries.truncate(max_keys);
        Listing {
            entries,
            is_truncated,
        }
    }

    /// Resolves an idempotency record (DESIGN.md write path, step 1):
    /// claims it when free, else says why not.
    pub fn claim(
        &self,
        scope: IdempotencyScope,
        fingerprint: Fingerprint,
        now_ms: u64,
    ) -> ClaimOutcome {
        let mut table = self.lock_idempotency();
        if let Some(existing) = table.resolve_existing(&scope, &fingerprint, now_ms) {
            return existing;
        }
        #[cfg(all(feature = "planted-bugs", loom))]
        let mut table = loom_window::reopen(table, || self.lock_idempotency());
        table.insert_claim(scope, fingerprint, now_ms)
    }

    /// Gives a claim up without a result (DESIGN.md write path, step 3: the
    /// body failed its digest). A retry claims afresh.
    pub fn release(&self, ticket: ClaimTicket) {
        self.lock_idempotency().release(&ticket);
    }

    /// Drops expired idempotency records, for a periodic sweep (claims also
    /// evict them when the table is full); returns how many.
    pub fn purge_expired_idempotency_records(&self, now_ms: u64) -> usize {
        self.lock_idempotency().purge_expired(now_ms)
    }

    /// Idempotency records held, live or expired but not yet purged.
    #[must_use]
    pub fn idempotency_record_count(&self) -> usize {
        self.lock_idempotency().len()
    }

    /// Rebuilds state from the journal after a restart: call with every
    /// record, in journal order, before serving. Installs without evaluating
    /// preconditions (they held when the record was written); panics on a
    /// record that contradicts the state (a sequence going backwards, a
    /// removal of a version that is not there), which means a corrupt or
    /// misordered journal.
    pub fn apply_recovered(&self, record: CommitRecord) {
        let (path, sequence) = match &record {
            CommitRecord::Install { path, version, .. } => (path, Some(version.sequence)),
            CommitRecord::Remove { path, .. } => (path, None),
            CommitRecord::IdempotentRejection(record) => (&record.fingerprint.path, None),
        };
        if let Some(sequence) = sequence {
            self.next_sequence
                .fetch_max(sequence + 1, Ordering::Relaxed);
        }
        let mut shard = self.write_shard(self.shard_index(path));
        let mut table = self.lock_idempotency();
        apply(&mut shard, Some(&mut table), record);
    }

    /// Stamps a new version with its time and the next sequence number.
    /// Called under the key's lock, so sequences increase along each key.
    fn stamp(&self, object: NewObject, now_ms: u64) -> ObjectVersion {
        ObjectVersion {
            content: object.content,
            etag: object.etag,
            checksums: object.checksums,
            metadata: object.metadata,
            last_modified_ms: now_ms,
            sequence: self.next_sequence(),
        }
    }

    /// Relaxed suffices: the counter only has to hand out distinct numbers,
    /// and the shard lock orders them along each key.
    fn next_sequence(&self) -> u64 {
        self.next_sequence.fetch_add(1, Ordering::Relaxed)
    }

    fn read_shard(&self, index: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[index].read().expect(POISONED)
    }

    fn write_shard(&self, index: usize) -> RwLockWriteGuard<'_, Shard> {
        self.shards[index].write().expect(POISONED)
    }

    fn lock_idempotency(&self) -> MutexGuard<'_, Table> {
        self.idempotency.lock().expect(POISONED)
    }

    fn lock_for_copy(&self, source_index: usize, destination_index: usize) -> CopyLocks<'_> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match source_index.cmp(&destination_index) {
            Equal => CopyLocks::SameShard(self.write_shard(destination_index)),
            Less => {
                let source = self.read_shard(source_index);
                let destination = self.write_shard(destination_index);
                CopyLocks::TwoShards {
                    source,
                    destination,
                }
            }
            Greater => {
                let destination = self.write_shard(destination_index);
                let source = self.read_shard(source_index);
                CopyLocks::TwoShards {
                    source,
                    destination,
                }
            }
        }
    }
}

/// PLANTED BUGS of the loom models, compiled only with the `planted-bugs`
/// feature under `--cfg loom` (the simulator's planted bugs are
/// [`crate::planted`]'s, switched on by name): each commit-path operation
/// drops its locks between checking and acting, yields
/// to let another thread in, and acts on whatever it finds when it gets the
/// locks back, without checking again. The loom models in `tests/loom.rs`
/// must fail against this build; if one passes, it cannot see the bug it
/// exists for.
#[cfg(all(feature = "planted-bugs", loom))]
mod loom_window {
    use std::sync::Arc;

    use crate::object::ObjectVersion;

    /// The check-then-act window: release `guards`, yield, take them again.
    pub(super) fn reopen<G>(guards: G, relock: impl FnOnce() -> G) -> G {
        drop(guards);
        crate::sync::thread::yield_now();
        relock()
    }

    /// A read that takes the metadata from one look and the bytes from a
    /// later one, as a server that stats and then opens would.
    pub(super) fn tear(
        first: Option<Arc<ObjectVersion>>,
        later: Option<&Arc<ObjectVersion>>,
    ) -> Option<Arc<ObjectVersion>> {
        let (first, later) = (first?, later?);
        Some(Arc::new(ObjectVersion {
            content: Arc::clone(&later.content),
            ..ObjectVersion::clone(&first)
        }))
    }
}

/// PLANTED SLOWDOWN, compiled only with the `planted-slowdown` feature:
/// extra FNV-1a rounds over the key on each put and copy commit, about 2%
/// of an uncontended put's instructions (measured with
/// `cargo xtask bench-instructions`, which must flag it on every commit-path
/// benchmark). Behaviour is unchanged; only the work grows.
#[cfg(feature = "planted-slowdown")]
mod planted_slowdown {
    use crate::object::ObjectPath;

    /// Tuned so that the uncontended put benchmark grows by about 2%: a
    /// round over a one-byte key is about 21 instructions, and the put
    /// about 3,240 (4 rounds measured +2.6%).
    const ROUNDS: u64 = 3;

    pub(super) fn extra_work(path: &ObjectPath) {
        for round in 0..ROUNDS {
            let hash = super::fnv1a_64(
                round
                    .to_le_bytes()
                    .into_iter()
                    .chain(path.key.as_str().bytes()),
            );
            std::hint::black_box(hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::convert::Infallible;

    use super::*;
    use crate::checksum::{ChecksumAlgorithm, digest};
    use crate::idempotency::{IdempotencyKey, Principal, StoredOutcome};
    use crate::precondition::{Condition, ETagCondition, Rule};

    const RETENTION_MS: u64 = 1_000;

    fn store() -> Store {
        Store::new(StoreConfig {
            shard_count: 8,
            idempotency: IdempotencyConfig {
                retention_ms: RETENTION_MS,
                capacity_records: 16,
            },
        })
    }

    fn bucket() -> BucketName {
        BucketName::parse("bucket").unwrap()
    }

    fn path(key: &str) -> ObjectPath {
        ObjectPath::new(bucket(), ObjectKey::parse(key).unwrap())
    }

    fn ok<T>(result: Result<T, Infallible>) -> T {
        let Ok(value) = result;
        value
    }

    fn put(
        store: &Store,
        key: &str,
        content: &str,
        conditions: &WriteConditions,
    ) -> Result<Committed, Rejected> {
        ok(store.put(
            &path(key),
            NewObject::single_part(content.as_bytes()),
            conditions,
            0,
            &mut NoJournal,
        ))
    }

    fn content(store: &Store, key: &str) -> Option<String> {
        store
            .get(&path(key))
            .map(|version| String::from_utf8(version.content.to_vec()).unwrap())
    }

    fn precondition_failed(rule: Rule, condition: Condition) -> Rejected {
        Rejected::PreconditionFailed { rule, condition }
    }

    /// Fails every append, as a full disk would.
    struct FailingJournal;

    impl Journal for FailingJournal {
        type Error = std::io::Error;

        fn append(&mut self, _record: &CommitRecord) -> Result<(), std::io::Error> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn shard_hash_is_fnv1a_64() {
        // Published FNV-1a 64 test vectors: the shard layout must not change
        // under the simulator's seeds.
        assert_eq!(fnv1a_64(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(*b"foobar"), 0x8594_4171_f739_67e8);
        let store = store();
        assert_eq!(store.shard_index(&path("k")), store.shard_index(&path("k")));
    }

    #[test]
    fn e1_e2_put_returns_the_etag_and_get_returns_the_same_version() {
        let store = store();
        let committed = put(&store, "k", "hello", &WriteConditions::default()).unwrap();
        assert_eq!(committed.etag, ETag::of_content(b"hello"));
        let version = store.get(&path("k")).unwrap();
        assert_eq!(Committed::from(&*version), committed);
        assert_eq!(&*version.content, b"hello");
        assert_eq!(store.get(&path("other")), None);
    }

    #[test]
    fn c1_create_only_rejects_existing_key_and_changes_nothing() {
        let store = store();
        let first = put(&store, "k", "first", &WriteConditions::create_only()).unwrap();
        assert_eq!(
            put(&store, "k", "second", &WriteConditions::create_only()),
            Err(precondition_failed(Rule::C1, Condition::IfNoneMatch))
        );
        let version = store.get(&path("k")).unwrap();
        assert_eq!(Committed::from(&*version), first, "C4: no new version");
        assert_eq!(content(&store, "k").as_deref(), Some("first"));
    }

    #[test]
    fn c2_if_match_overwrites_only_the_version_it_names() {
        let store = store();
        assert_eq!(
            put(
                &store,
                "k",
                "v1",
                &WriteConditions::if_match(ETag::of_content(b"v0"))
            ),
            Err(Rejected::NotFound { rule: Rule::C2 })
        );
        let v1 = put(&store, "k", "v1", &WriteConditions::default()).unwrap();
        let v2 = put(
            &store,
            "k",
            "v2",
            &WriteConditions::if_match(v1.etag.clone()),
        )
        .unwrap();
        assert!(v2.sequence > v1.sequence);
        assert_eq!(
            put(&store, "k", "v3", &WriteConditions::if_match(v1.etag)),
            Err(precondition_failed(Rule::C2, Condition::IfMatch))
        );
        assert_eq!(content(&store, "k").as_deref(), Some("v2"));
    }

    #[test]
    fn c6a_conditional_delete() {
        let store = store();
        let delete = |key: &str, if_match: Option<ETagCondition>| {
            ok(store.delete(&path(key), &DeleteConditions { if_match }, &mut NoJournal))
        };
        assert_eq!(
            delete("k", None),
            Ok(Deleted {
                removed_sequence: None
            })
        );
        assert_eq!(
            delete("k", Some(ETagCondition::Any)),
            Err(Rejected::NotFound { rule: Rule::C6a })
        );
        let v1 = put(&store, "k", "v1", &WriteConditions::default()).unwrap();
        assert_eq!(
            delete("k", Some(ETagCondition::one(ETag::of_content(b"other")))),
            Err(precondition_failed(Rule::C6a, Condition::IfMatch))
        );
        assert!(store.get(&path("k")).is_some());
        assert_eq!(
            delete("k", Some(ETagCondition::one(v1.etag))),
            Ok(Deleted {
                removed_sequence: Some(v1.sequence)
            })
        );
        assert_eq!(store.get(&path("k")), None);
    }

    /// Two keys in different shards and two in the same shard as `src`.
    fn copy_keys(store: &Store) -> (String, String, String) {
        let source_shard = store.shard_index(&path("src"));
        let key_where = |same: bool| {
            (0..)
                .map(|index| format!("dst-{index}"))
                .find(|key| (store.shard_index(&path(key)) == source_shard) == same)
                .unwrap()
        };
        ("src".to_owned(), key_where(false), key_where(true))
    }

    fn copy_request(source: &str, destination: &str) -> CopyRequest {
        CopyRequest {
            source: path(source),
            source_conditions: ValidatorConditions::default(),
            destination: path(destination),
            destination_condition: CopyDestinationCondition::Unconditional,
            metadata: MetadataDirective::Copy,
        }
    }

    #[test]
    fn copy_shares_bytes_and_keeps_etag_across_and_within_shards() {
        let store = store();
        let (source, other_shard, same_shard) = copy_keys(&store);
        let metadata = ObjectMetadata {
            content_type: Some("text/plain".to_owned()),
            user_metadata: BTreeMap::from([("owner".to_owned(), "alice".to_owned())]),
        };
        let object = NewObject {
            metadata: metadata.clone(),
            ..NewObject::single_part(&b"payload"[..])
        };
        ok(store.put(
            &path(&source),
            object,
            &WriteConditions::default(),
            1_000,
            &mut NoJournal,
        ))
        .unwrap();
        let original = store.get(&path(&source)).unwrap();
        for destination in [&other_shard, &same_shard] {
            let committed =
                ok(store.copy(&copy_request(&source, destination), 2_000, &mut NoJournal)).unwrap();
            let copy = store.get(&path(destination)).unwrap();
            assert_eq!(committed, Committed::from(&*copy));
            assert_eq!(copy.etag, original.etag);
            assert_eq!(copy.metadata, metadata);
            assert_eq!(copy.last_modified_ms, 2_000);
            assert!(
                Arc::ptr_eq(&copy.content, &original.content),
                "bytes are shared, not copied"
            );
        }
        let replaced = ObjectMetadata::default();
        let request = CopyRequest {
            metadata: MetadataDirective::Replace(replaced.clone()),
            ..copy_request(&source, &same_shard)
        };
        ok(store.copy(&request, 3_000, &mut NoJournal)).unwrap();
        assert_eq!(store.get(&path(&same_shard)).unwrap().metadata, replaced);
    }

    #[test]
    fn c7_c8_copy_conditions_reject_without_changing_the_destination() {
        let store = store();
        let (source, destination, _) = copy_keys(&store);
        assert_eq!(
            ok(store.copy(&copy_request(&source, &destination), 0, &mut NoJournal)),
            Err(Rejected::NotFound { rule: Rule::C8 })
        );
        put(&store, &source, "source", &WriteConditions::default()).unwrap();
        let existing = put(
            &store,
            &destination,
            "existing",
            &WriteConditions::default(),
        )
        .unwrap();
        let cases = [
            (
                CopyRequest {
                    source_conditions: ValidatorConditions {
                        if_match: Some(ETagCondition::one(ETag::of_content(b"stale"))),
                        ..ValidatorConditions::default()
                    },
                    ..copy_request(&source, &destination)
                },
                Err(precondition_failed(Rule::C8, Condition::CopySourceIfMatch)),
            ),
            (
                CopyRequest {
                    source_conditions: ValidatorConditions {
                        if_none_match: Some(ETagCondition::Any),
                        ..ValidatorConditions::default()
                    },
                    ..copy_request(&source, &destination)
                },
                Err(precondition_failed(
                    Rule::C8,
                    Condition::CopySourceIfNoneMatch,
                )),
            ),
            (
                CopyRequest {
                    destination_condition: CopyDestinationCondition::RequireAbsent,
                    ..copy_request(&source, &destination)
                },
                Err(precondition_failed(Rule::C7, Condition::RequireAbsent)),
            ),
            (
                CopyRequest {
                    destination_condition: CopyDestinationCondition::RequireMatchEtag(
                        ETag::of_content(b"stale"),
                    ),
                    ..copy_request(&source, &destination)
                },
                Err(precondition_failed(Rule::C7, Condition::RequireMatchEtag)),
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(
                ok(store.copy(&request, 0, &mut NoJournal)),
                expected,
                "{request:?}"
            );
            let current = store.get(&path(&destination)).unwrap();
            assert_eq!(Committed::from(&*current), existing, "C4: {request:?}");
        }
        let request = CopyRequest {
            destination_condition: CopyDestinationCondition::RequireMatchEtag(existing.etag),
            ..copy_request(&source, &destination)
        };
        ok(store.copy(&request, 0, &mut NoJournal)).unwrap();
        assert_eq!(content(&store, &destination).as_deref(), Some("source"));
    }

    #[test]
    fn e4_a_failed_journal_append_installs_nothing() {
        let store = store();
        put(&store, "k", "v1", &WriteConditions::default()).unwrap();
        let before = store.get(&path("k"));
        let put_failed = store.put(
            &path("k"),
            NewObject::single_part(&b"v2"[..]),
            &WriteConditions::default(),
            0,
            &mut FailingJournal,
        );
        assert!(put_failed.is_err());
        let delete_failed = store.delete(
            &path("k"),
            &DeleteConditions::default(),
            &mut FailingJournal,
        );
        assert!(delete_failed.is_err());
        let copy_failed = store.copy(&copy_request("k", "copy"), 0, &mut FailingJournal);
        assert!(copy_failed.is_err());
        assert_eq!(store.get(&path("k")), before);
        assert_eq!(store.get(&path("copy")), None);
    }

    #[test]
    fn e4_a_rejected_write_is_not_journaled() {
        let store = store();
        let mut journal = Vec::new();
        put(&store, "k", "v1", &WriteConditions::default()).unwrap();
        let outcome = store.put(
            &path("k"),
            NewObject::single_part(&b"v2"[..]),
            &WriteConditions::create_only(),
            0,
            &mut FailingJournal,
        );
        assert!(matches!(outcome, Ok(Err(_))), "rejected before the journal");
        ok(store.put(
            &path("k"),
            NewObject::single_part(&b"v2"[..]),
            &WriteConditions::create_only(),
            0,
            &mut journal,
        ))
        .unwrap_err();
        assert_eq!(journal, []);
    }

    fn scope(key: &str) -> IdempotencyScope {
        IdempotencyScope {
            principal: Principal::new("alice"),
            idempotency_key: IdempotencyKey::parse(key).unwrap(),
        }
    }

    fn fingerprint(key: &str, content: &str, conditions: WriteConditions) -> Fingerprint {
        Fingerprint {
            path: path(key),
            payload_digest: digest(ChecksumAlgorithm::Sha256, content.as_bytes()),
            conditions,
        }
    }

    /// An idempotent put as the server runs it: claim, then commit with the
    /// ticket; returns the claim outcome when it is not a claim.
    fn idempotent_put(
        store: &Store,
        idempotency_key: &str,
        key: &str,
        content: &str,
        conditions: WriteConditions,
        now_ms: u64,
    ) -> Result<StoredOutcome, Box<ClaimOutcome>> {
        match store.claim(
            scope(idempotency_key),
            fingerprint(key, content, conditions),
            now_ms,
        ) {
            ClaimOutcome::Claimed(ticket) => Ok(store
                .put_claimed(
                    ticket,
                    NewObject::single_part(content.as_bytes()),
                    now_ms,
                    &mut NoJournal,
                )
                .unwrap()),
            ClaimOutcome::Replay(stored) => Ok(stored),
            other => Err(Box::new(other)),
        }
    }

    #[test]
    fn i1_retry_replays_the_original_result_even_after_the_object_changed() {
        let store = store();
        let first = idempotent_put(&store, "op-1", "k", "v1", WriteConditions::default(), 0)
            .unwrap()
            .unwrap();
        put(&store, "k", "someone else", &WriteConditions::default()).unwrap();
        let replay =
            idempotent_put(&store, "op-1", "k", "v1", WriteConditions::default(), 1).unwrap();
        assert_eq!(replay, Ok(first));
        assert_eq!(
            content(&store, "k").as_deref(),
            Some("someone else"),
            "not written again"
        );
    }

    #[test]
    fn i7_a_lost_create_race_replays_as_412_and_a_won_one_as_200() {
        let store = store();
        let won = idempotent_put(
            &store,
            "winner",
            "k",
            "a",
            WriteConditions::create_only(),
            0,
        )
        .unwrap();
        let lost =
            idempotent_put(&store, "loser", "k", "b", WriteConditions::create_only(), 0).unwrap();
        assert!(won.is_ok());
        assert_eq!(
            lost,
            Err(precondition_failed(Rule::C1, Condition::IfNoneMatch))
        );
        ok(store.delete(&path("k"), &DeleteConditions::default(), &mut NoJournal)).unwrap();
        assert_eq!(
            idempotent_put(&store, "loser", "k", "b", WriteConditions::create_only(), 1).unwrap(),
            lost,
            "the retry of a lost race stays lost although the key is free now"
        );
        assert_eq!(
            idempotent_put(
                &store,
                "winner",
                "k",
                "a",
                WriteConditions::create_only(),
                1
            )
            .unwrap(),
            won,
            "the retry of a won race stays won although the key is free now"
        );
        assert_eq!(store.get(&path("k")), None);
    }

    #[test]
    fn i2_i3_mismatch_and_in_flight_write_nothing() {
        let store = store();
        let ClaimOutcome::Claimed(ticket) = store.claim(
            scope("op"),
            fingerprint("k", "v1", WriteConditions::default()),
            0,
        ) else {
            panic!("free scope");
        };
        assert_eq!(
            idempotent_put(&store, "op", "k", "v1", WriteConditions::default(), 1),
            Err(Box::new(ClaimOutcome::InFlight))
        );
        assert_eq!(
            idempotent_put(&store, "op", "k", "v2", WriteConditions::default(), 1),
            Err(Box::new(ClaimOutcome::Mismatch))
        );
        assert_eq!(store.get(&path("k")), None);
        store.release(ticket);
        assert!(idempotent_put(&store, "op", "k", "v2", WriteConditions::default(), 2).is_ok());
    }

    #[test]
    fn i1_an_expired_claim_cannot_commit() {
        let store = store();
        let ClaimOutcome::Claimed(stale) = store.claim(
            scope("op"),
            fingerprint("k", "v1", WriteConditions::default()),
            0,
        ) else {
            panic!("free scope");
        };
        let successor = idempotent_put(
            &store,
            "op",
            "k",
            "v1",
            WriteConditions::default(),
            RETENTION_MS,
        )
        .unwrap()
        .unwrap();
        let late = store.put_claimed(
            stale,
            NewObject::single_part(&b"v1"[..]),
            RETENTION_MS,
            &mut NoJournal,
        );
        assert!(matches!(late, Err(CommitError::ClaimExpired)));
        assert_eq!(
            Committed::from(&*store.get(&path("k")).unwrap()),
            successor,
            "one write"
        );
    }

    #[test]
    fn i8_a_failed_journal_append_releases_the_claim() {
        let store = store();
        let ClaimOutcome::Claimed(ticket) = store.claim(
            scope("op"),
            fingerprint("k", "v1", WriteConditions::default()),
            0,
        ) else {
            panic!("free scope");
        };
        let failed = store.put_claimed(
            ticket,
            NewObject::single_part(&b"v1"[..]),
            0,
            &mut FailingJournal,
        );
        assert!(matches!(failed, Err(CommitError::Journal(_))));
        assert_eq!(store.get(&path("k")), None);
        assert_eq!(store.idempotency_record_count(), 0);
        assert!(idempotent_put(&store, "op", "k", "v1", WriteConditions::default(), 1).is_ok());
    }

    #[test]
    fn i8_recovery_rebuilds_objects_results_and_sequences() {
        let store = store();
        let mut journal = Vec::new();
        let mut put_journaled = |key: &str, content: &str, conditions: &WriteConditions| {
            ok(store.put(
                &path(key),
                NewObject::single_part(content.as_bytes()),
                conditions,
                5,
                &mut journal,
            ))
        };
        put_journaled("a", "a1", &WriteConditions::default()).unwrap();
        put_journaled("b", "b1", &WriteConditions::default()).unwrap();
        put_journaled("a", "a2", &WriteConditions::default()).unwrap();
        put_journaled("b", "b2", &WriteConditions::create_only()).unwrap_err();
        ok(store.delete(&path("b"), &DeleteConditions::default(), &mut journal)).unwrap();
        ok(store.copy(&copy_request("a", "c"), 6, &mut journal)).unwrap();
        for (idempotency_key, conditions) in [
            ("won", WriteConditions::default()),
            ("lost", WriteConditions::create_only()),
        ] {
            let ClaimOutcome::Claimed(ticket) = store.claim(
                scope(idempotency_key),
                fingerprint("a", "a3", conditions),
                7,
            ) else {
                panic!("free scope");
            };
            store
                .put_claimed(ticket, NewObject::single_part(&b"a3"[..]), 7, &mut journal)
                .unwrap()
                .ok();
        }
        assert_eq!(
            journal.len(),
            7,
            "every change once, the plain rejection not at all"
        );

        let recovered = Store::new(StoreConfig {
            shard_count: 3,
            ..StoreConfig::default()
        });
        for record in journal {
            recovered.apply_recovered(record);
        }
        for key in ["a", "b", "c"] {
            assert_eq!(recovered.get(&path(key)), store.get(&path(key)), "{key}");
        }
        for idempotency_key in ["won", "lost"] {
            let conditions = if idempotency_key == "won" {
                WriteConditions::default()
            } else {
                WriteConditions::create_only()
            };
            assert_eq!(
                idempotent_put(
                    &recovered,
                    idempotency_key,
                    "a",
                    "a3",
                    conditions.clone(),
                    8
                ),
                idempotent_put(&store, idempotency_key, "a", "a3", conditions, 8),
                "{idempotency_key}"
            );
        }
        let latest = store.get(&path("a")).unwrap().sequence;
        let next = put(&recovered, "d", "d1", &WriteConditions::default()).unwrap();
        assert!(next.sequence > latest, "sequences continue after recovery");
    }

    #[test]
    #[should_panic(expected = "installed over the later version")]
    fn recovery_refuses_a_journal_whose_sequences_go_backwards() {
        let original = store();
        let mut journal = Vec::new();
        for content in ["v1", "v2"] {
            ok(original.put(
                &path("k"),
                NewObject::single_part(content.as_bytes()),
                &WriteConditions::default(),
                0,
                &mut journal,
            ))
            .unwrap();
        }
        let recovered = store();
        for record in journal.into_iter().rev() {
            recovered.apply_recovered(record);
        }
    }

    #[test]
    fn list_pages_keys_in_order_across_shards() {
        let store = store();
        for key in ["b/2", "a/1", "b/1", "c", "b/3", "a/2"] {
            put(&store, key, key, &WriteConditions::default()).unwrap();
        }
        let other_bucket = ObjectPath::new(
            BucketName::parse("other").unwrap(),
            ObjectKey::parse("b/0").unwrap(),
        );
        ok(store.put(
            &other_bucket,
            NewObject::single_part(&b"x"[..]),
            &WriteConditions::default(),
            0,
            &mut NoJournal,
        ))
        .unwrap();

        let query = |prefix: &str, start_after: Option<&str>, max_keys| ListQuery {
            prefix: prefix.to_owned(),
            start_after: start_after.map(str::to_owned),
            max_keys,
        };
        let cases = [
            (
                query("", None, 10),
                vec!["a/1", "a/2", "b/1", "b/2", "b/3", "c"],
                false,
            ),
            (query("b/", None, 10), vec!["b/1", "b/2", "b/3"], false),
            (query("b/", None, 2), vec!["b/1", "b/2"], true),
            (query("b/", Some("b/2"), 10), vec!["b/3"], false),
            (query("b/", Some("a"), 10), vec!["b/1", "b/2", "b/3"], false),
            (query("b/", Some("b/3"), 10), vec![], false),
            (query("", Some("b/3"), 1), vec!["c"], false),
            (query("d", None, 10), vec![], false),
            (
                query("", None, 6),
                vec!["a/1", "a/2", "b/1", "b/2", "b/3", "c"],
                false,
            ),
            (
                query("", None, 5),
                vec!["a/1", "a/2", "b/1", "b/2", "b/3"],
                true,
            ),
        ];
        for (query, expected, truncated) in cases {
            let listing = store.list(&bucket(), &query);
            let keys: Vec<&str> = listing
                .entries
                .iter()
                .map(|(key, _)| key.as_str())
                .collect();
            assert_eq!(
                (keys, listing.is_truncated),
                (expected, truncated),
                "{query:?}"
            );
        }
    }

    #[test]
    fn list_pages_are_at_most_max_list_keys() {
        let store = store();
        for index in 0..=MAX_LIST_KEYS {
            put(
                &store,
                &format!("k{index:05}"),
                "x",
                &WriteConditions::default(),
            )
            .unwrap();
        }
        let listing = store.list(
            &bucket(),
            &ListQuery {
                max_keys: usize::MAX,
                ..ListQuery::default()
            },
        );
        assert_eq!(listing.entries.len(), MAX_LIST_KEYS);
        assert!(listing.is_truncated);
        assert_eq!(listing.entries.last().unwrap().0.as_str(), "k00999");
    }
}
