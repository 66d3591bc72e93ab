//! The server's state engine: buckets, objects (through lockwell-core's
//! commit path), multipart uploads and idempotency records, every change
//! made durable through [`Storage`] before anyone can observe it.
//!
//! The HTTP layer calls the async methods of [`Engine`] with parsed,
//! authenticated requests and gets domain outcomes back, no HTTP types:
//! `Result<Result<Committed, Rejected>, EngineError>` for conditional
//! writes (a [`Rejected`] is an outcome naming its SPEC rule, an
//! [`EngineError`] is a failure or a 4xx of S3's own), plain values
//! otherwise.
//!
//! # Write path (DESIGN.md "The write path", with this engine's steps)
//!
//! 1. The HTTP layer authenticates, parses, and for an idempotent write
//!    calls [`Engine::claim_idempotency`] (absent -> a ticket; in flight ->
//!    I3; done -> replay or mismatch, stop).
//! 2. It streams the body, computes the digests and verifies them (K2),
//!    releasing the claim on failure.
//! 3. [`Engine::put_object`] checks the bucket (A3), [`Storage::stage`]s a
//!    large body (durable, invisible), then commits under the bucket
//!    table's read lock and the key's lock: preconditions, one log record
//!    (object version and idempotency result together, I8), install. The
//!    locks are released as soon as the record is *ordered* in the log.
//! 4. Before answering, the engine waits until the log is durable up to
//!    that record. Every other answer that observed state (reads, 412s,
//!    404s, replays, even AccessDenied) waits until the log is durable up
//!    to the last record appended when it looked, so no client ever sees a
//!    state that a crash could take back (E4). A storage failure fails the
//!    request and, the log being fail-stop, every request after it.
//!
//! Lock order, which keeps the engine free of deadlocks: the bucket table,
//! then the store's shard locks and idempotency table (inside
//! lockwell-core), or the upload table; the upload table is never held
//! while taking the bucket table or a shard lock.
//!
//! Authorization (A3): a principal acts only on buckets it owns. Another
//! principal's bucket answers AccessDenied before any key is looked at, so
//! it never learns whether a key exists; a bucket that does not exist
//! answers NoSuchBucket, as AWS does (bucket names are global). Grants to
//! other principals are not implemented.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use lockwell_core::checksum::{
    ChecksumAlgorithm, Digests, MAX_MULTIPART_PARTS, MultipartChecksum, PartChecksum,
    multipart_checksum,
};
use lockwell_core::idempotency::{
    ClaimOutcome, ClaimTicket, Fingerprint, IdempotencyScope, Principal,
};
use lockwell_core::object::ObjectMetadata;
use lockwell_core::precondition::{DeleteConditions, WriteConditions};
use lockwell_core::store::{
    CommitError, CommitRecord, Committed, CopyRequest, Deleted, Journal, ListQuery, Listing, Store,
    StoreConfig,
};
use lockwell_core::{BucketName, ETag, NewObject, ObjectPath, ObjectVersion, Rejected};

use crate::storage::{LogRecord, Lsn, PartUploaded, Storage, UploadCreated, UploadId};

/// S3's smallest part other than the last (EntityTooSmall below it).
pub const DEFAULT_MIN_PART_SIZE_BYTES: u64 = 5 * 1024 * 1024;

/// S3's part numbers: 1 to 10,000.
pub const MAX_PART_NUMBER: u32 = 10_000;
const _: () = assert!(MAX_PART_NUMBER as usize == MAX_MULTIPART_PARTS);

/// Buckets the server holds at most (AWS's per-account quota can be raised
/// to 10,000 too). Bounds the bucket table's memory.
pub const DEFAULT_MAX_BUCKETS: usize = 10_000;

/// Multipart uploads open at once, across all buckets. Each holds its parts
/// in memory until completed or aborted, so this bounds the upload table.
pub const DEFAULT_MAX_OPEN_UPLOADS: usize = 10_000;

/// Limits and sizes of an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    pub store: StoreConfig,
    /// Parts other than the last must be at least this long; tests lower it
    /// to exercise multipart without megabytes of data.
    pub min_part_size_bytes: u64,
    pub max_buckets: usize,
    pub max_open_uploads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            store: StoreConfig::default(),
            min_part_size_bytes: DEFAULT_MIN_PART_SIZE_BYTES,
            max_buckets: DEFAULT_MAX_BUCKETS,
            max_open_uploads: DEFAULT_MAX_OPEN_UPLOADS,
        }
    }
}

/// Why a request failed. Precondition outcomes are not here: they are
/// [`Rejected`] values inside `Ok`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The log or a data file failed (500). After a log failure every
    /// request fails this way until the server restarts (fail-stop).
    #[error("storage failed: {0}")]
    Storage(#[source] io::Error),
    /// 404 NoSuchBucket.
    #[error("bucket {0} does not exist")]
    NoSuchBucket(BucketName),
    /// 403 AccessDenied (A3): the bucket belongs to another principal.
    #[error("access denied")]
    AccessDenied,
    /// 409 BucketAlreadyExists: another principal owns the name.
    #[error("bucket {0} already exists and is owned by someone else")]
    BucketAlreadyExists(BucketName),
    /// 409 BucketAlreadyOwnedByYou (AWS answers 200 in us-east-1; the HTTP
    /// layer decides).
    #[error("bucket {0} already exists and is yours")]
    BucketAlreadyOwnedByYou(BucketName),
    /// 409 BucketNotEmpty: it holds objects, or an upload is completing.
    #[error("bucket {0} is not empty")]
    BucketNotEmpty(BucketName),
    /// 400 TooManyBuckets.
    #[error("the server holds its maximum of {max_buckets} buckets")]
    TooManyBuckets { max_buckets: usize },
    /// 404 NoSuchUpload: unknown, aborted, completed, or of another key.
    #[error("no such upload")]
    NoSuchUpload,
    /// 503 SlowDown: the upload table is full.
    #[error("the server holds its maximum of {max_open_uploads} open multipart uploads")]
    TooManyUploads { max_open_uploads: usize },
    /// 409 ConditionalRequestConflict (C5): the upload is being completed
    /// by another request right now.
    #[error("the upload is being completed by another request")]
    UploadConflict,
    /// 400 InvalidArgument: part numbers are 1 to [`MAX_PART_NUMBER`].
    #[error("part number {part_number} is not between 1 and {MAX_PART_NUMBER}")]
    InvalidPartNumber { part_number: u32 },
    /// 400 InvalidRequest: the upload was created with a checksum algorithm
    /// and the part does not carry that checksum (K5).
    #[error("the upload uses {algorithm} checksums and the part carries none")]
    MissingPartChecksum { algorithm: ChecksumAlgorithm },
    /// 400 InvalidRequest: no multipart checksum rule exists for it (MD5).
    #[error("{algorithm} cannot be a multipart upload's checksum algorithm")]
    UnsupportedChecksumAlgorithm { algorithm: ChecksumAlgorithm },
    /// 400 MalformedXML: a CompleteMultipartUpload must list a part.
    #[error("the part list is empty")]
    EmptyPartList,
    /// 400 InvalidPartOrder: part numbers must increase strictly.
    #[error("the part list is not in ascending part number order")]
    InvalidPartOrder,
    /// 400 InvalidPart: not uploaded, or its ETag or checksum differs.
    #[error("part {part_number} was not uploaded, or its ETag or checksum does not match")]
    InvalidPart { part_number: u32 },
    /// 400 EntityTooSmall: a part other than the last is too small.
    #[error(
        "part {part_number} is {size_bytes} bytes; every part but the last needs {min_size_bytes}"
    )]
    EntityTooSmall {
        part_number: u32,
        size_bytes: u64,
        min_size_bytes: u64,
    },
    /// 503 (retryable): the idempotency claim outlived its lease before the
    /// commit; nothing was written and a retry claims afresh.
    #[error("the idempotency claim expired before the commit; nothing was written")]
    IdempotencyClaimExpired,
}

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: BucketName,
    pub owner: Principal,
    pub created_ms: u64,
}

/// How a write commits: with its own conditions, or under an idempotency
/// claim whose fingerprint holds the target and the conditions (I1-I8).
#[derive(Debug)]
pub enum WriteMode {
    Plain(WriteConditions),
    Idempotent(ClaimTicket),
}

impl WriteMode {
    fn target<'a>(&'a self, path: &'a ObjectPath) -> &'a ObjectPath {
        match self {
            Self::Plain(_) => path,
            Self::Idempotent(ticket) => &ticket.fingerprint().path,
        }
    }
}

/// CreateMultipartUpload's parameters besides the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUpload {
    pub metadata: ObjectMetadata,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// An UploadPart body, its digests already verified by the HTTP layer (K5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPart {
    pub content: Arc<[u8]>,
    pub md5: [u8; 16],
    pub checksums: Digests,
}

/// An uploaded part as ListParts shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSummary {
    pub part_number: u32,
    pub etag: ETag,
    pub size_bytes: u64,
    pub checksums: Digests,
    pub uploaded_ms: u64,
}

/// A part as CompleteMultipartUpload names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: ETag,
    /// Checksums the client lists for the part; each must equal the one
    /// stored at UploadPart.
    pub checksums: Digests,
}

/// An open upload as ListMultipartUploads shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    pub upload_id: UploadId,
    pub path: ObjectPath,
    pub initiator: Principal,
    pub initiated_ms: u64,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// An open upload with its parts, in part number order (ListParts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDetails {
    pub upload: UploadSummary,
    pub parts: Vec<PartSummary>,
}

#[derive(Debug)]
struct BucketEntry {
    owner: Principal,
    created_ms: u64,
}

#[derive(Debug)]
struct Part {
    md5: [u8; 16],
    checksums: Digests,
    content: Arc<[u8]>,
    uploaded_ms: u64,
}

impl Part {
    fn summary(&self, part_number: u32) -> PartSummary {
        PartSummary {
            part_number,
            etag: ETag::from_md5(self.md5),
            size_bytes: self.content.len() as u64,
            checksums: self.checksums.clone(),
            uploaded_ms: self.uploaded_ms,
        }
    }
}

#[derive(Debug)]
struct Upload {
    created: UploadCreated,
    parts: BTreeMap<u32, Part>,
    /// A CompleteMultipartUpload is between its checks and its commit:
    /// parts, aborts and other completions wait their turn (409).
    completing: bool,
}

impl Upload {
    fn summary(&self) -> UploadSummary {
        UploadSummary {
            upload_id: self.created.upload_id.clone(),
            path: self.created.path.clone(),
            initiator: self.created.initiator.clone(),
            initiated_ms: self.created.initiated_ms,
            checksum_algorithm: self.created.checksum_algorithm,
        }
    }
}

#[derive(Debug, Default)]
struct Uploads {
    open: BTreeMap<UploadId, Upload>,
    /// The next [`UploadId`] counter; after recovery, past every one seen.
    next_counter: u64,
}

impl Uploads {
    /// The open upload `upload_id` of `path`, unless another request is
    /// completing it.
    fn get_mut(
        &mut self,
        path: &ObjectPath,
        upload_id: &UploadId,
    ) -> Result<&mut Upload, EngineError> {
        let upload = self
            .open
            .get_mut(upload_id)
            .filter(|upload| upload.created.path == *path)
            .ok_or(EngineError::NoSuchUpload)?;
        if upload.completing {
            return Err(EngineError::UploadConflict);
        }
        Ok(upload)
    }
}

/// A completion that passed its checks: the object to commit and the
/// parts' bodies it concatenates.
type PlannedCompletion = (NewObject, Vec<Arc<[u8]>>);

/// The [`Journal`] lockwell-core's commit path appends to: wraps each
/// commit record in a [`LogRecord`] and remembers its LSN.
struct LogJournal<'a> {
    storage: &'a dyn Storage,
    completes_upload: Option<&'a UploadId>,
    appended: Option<Lsn>,
}

impl<'a> LogJournal<'a> {
    fn new(storage: &'a dyn Storage, completes_upload: Option<&'a UploadId>) -> Self {
        Self {
            storage,
            completes_upload,
            appended: None,
        }
    }

    /// What the caller must wait for before answering: its own record, or,
    /// when the commit appended nothing (a rejection, a delete of an absent
    /// key), everything appended before it looked.
    fn observed(&self) -> Lsn {
        self.appended
            .unwrap_or_else(|| self.storage.last_appended())
    }
}

impl Journal for LogJournal<'_> {
    type Error = io::Error;

    fn append(&mut self, record: &CommitRecord) -> io::Result<()> {
        // Only an install completes an upload: a rejected idempotent
        // completion is recorded, and the upload stays open.
        let completes_upload = match record {
            CommitRecord::Install { .. } => self.completes_upload.cloned(),
            _ => None,
        };
        let lsn = self.storage.append(&LogRecord::Commit {
            record: record.clone(),
            completes_upload,
        })?;
        self.appended = Some(lsn);
        Ok(())
    }
}

const POISONED: &str = "a request panicked while holding an engine lock, so its state may be \
                        half-applied; the engine stops rather than serve it";

/// An error about the log's contents, found during recovery.
fn corrupt_log(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the log contradicts itself: {what}"),
    )
}

/// The state of one server.
pub struct Engine {
    storage: Arc<dyn Storage>,
    config: EngineConfig,
    store: Store,
    buckets: RwLock<BTreeMap<BucketName, BucketEntry>>,
    uploads: Mutex<Uploads>,
    #[cfg(feature = "planted-bugs")]
    read_cache: crate::planted::ReadCache,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Recovers the state `storage` holds and returns an engine serving it.
    /// Fails if the log cannot be read or contradicts itself.
    pub fn open(storage: Arc<dyn Storage>, config: EngineConfig) -> io::Result<Self> {
        let records = storage.recover()?;
        let engine = Self {
            storage,
            config,
            store: Store::new(config.store),
            buckets: RwLock::new(BTreeMap::new()),
            uploads: Mutex::new(Uploads::default()),
            #[cfg(feature = "planted-bugs")]
            read_cache: crate::planted::ReadCache::default(),
        };
        let record_count = records.len();
        for record in records {
            engine.apply_recovered(record)?;
        }
        tracing::info!(
            record_count,
            bucket_count = engine.read_buckets().len(),
            open_upload_count = engine.lock_uploads().open.len(),
            "recovered engine state from the log"
        );
        Ok(engine)
    }

    /// Replays one record: the same change the live operation made, with
    /// the checks that a consistent log always passes.
    fn apply_recovered(&self, record: LogRecord) -> io::Result<()> {
        let mut buckets = self.write_buckets();
        let mut uploads = self.lock_uploads();
        match record {
            LogRecord::Commit {
                record,
                completes_upload,
            } => {
                if let Some(upload_id) = completes_upload
                    && uploads.open.remove(&upload_id).is_none()
                {
                    return Err(corrupt_log(format!("upload {upload_id} completed twice")));
                }
                self.store.apply_recovered(record);
            }
            LogRecord::BucketCreated {
                bucket,
                owner,
                created_ms,
            } => {
                if buckets.contains_key(&bucket) {
                    return Err(corrupt_log(format!("bucket {bucket} created twice")));
                }
                buckets.insert(bucket, BucketEntry { owner, created_ms });
            }
            LogRecord::BucketDeleted { bucket } => {
                if buckets.remove(&bucket).is_none() {
                    return Err(corrupt_log(format!("absent bucket {bucket} deleted")));
                }
                uploads
                    .open
                    .retain(|_, upload| upload.created.path.bucket != bucket);
            }
            LogRecord::UploadCreated(created) => {
                let upload_id = created.upload_id.clone();
                uploads.next_counter = uploads.next_counter.max(upload_id.counter() + 1);
                let upload = Upload {
                    created,
                    parts: BTreeMap::new(),
                    completing: false,
                };
                if uploads.open.insert(upload_id.clone(), upload).is_some() {
                    return Err(corrupt_log(format!("upload {upload_id} created twice")));
                }
            }
            LogRecord::PartUploaded(part) => {
                let upload = uploads.open.get_mut(&part.upload_id).ok_or_else(|| {
                    corrupt_log(format!("part of absent upload {}", part.upload_id))
                })?;
                upload.parts.insert(
                    part.part_number,
                    Part {
                        md5: part.md5,
                        checksums: part.checksums,
                        content: part.content,
                        uploaded_ms: part.uploaded_ms,
                    },
                );
            }
            LogRecord::UploadAborted { upload_id } => {
                if uploads.open.remove(&upload_id).is_none() {
                    return Err(corrupt_log(format!("absent upload {upload_id} aborted")));
                }
            }
        }
        Ok(())
    }

    // ---- Buckets ----------------------------------------------------------

    /// CreateBucket.
    pub async fn create_bucket(
        &self,
        principal: &Principal,
        bucket: &BucketName,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let (result, observed) = {
            let mut buckets = self.write_buckets();
            let result = match buckets.get(bucket) {
                Some(entry) if entry.owner == *principal => {
                    Err(EngineError::BucketAlreadyOwnedByYou(bucket.clone()))
                }
                Some(_) => Err(EngineError::BucketAlreadyExists(bucket.clone())),
                None if buckets.len() >= self.config.max_buckets => {
                    Err(EngineError::TooManyBuckets {
                        max_buckets: self.config.max_buckets,
                    })
                }
                None => self
                    .storage
                    .append(&LogRecord::BucketCreated {
                        bucket: bucket.clone(),
                        owner: principal.clone(),
                        created_ms: now_ms,
                    })
                    .map_err(EngineError::Storage)
                    .inspect(|_| {
                        buckets.insert(
                            bucket.clone(),
                            BucketEntry {
                                owner: principal.clone(),
                                created_ms: now_ms,
                            },
                        );
                    }),
            };
            match result {
                Ok(lsn) => (Ok(()), lsn),
                Err(error) => (Err(error), self.storage.last_appended()),
            }
        };
        self.settle(result, observed).await
    }

    /// DeleteBucket: only an empty bucket; its open multipart uploads are
    /// aborted with it (tools that empty a bucket do not abort uploads), but
    /// not while one is being completed.
    pub async fn delete_bucket(
        &self,
        principal: &Principal,
        bucket: &BucketName,
    ) -> Result<(), EngineError> {
        let (result, observed) = {
            let mut buckets = self.write_buckets();
            let result = check_owner(&buckets, principal, bucket).map(|_| ());
            let result = result.and_then(|()| {
                let one_key = ListQuery {
                    max_keys: 1,
                    ..ListQuery::default()
                };
                if !self.store.list(bucket, &one_key).entries.is_empty() {
                    return Err(EngineError::BucketNotEmpty(bucket.clone()));
                }
                let mut uploads = self.lock_uploads();
                let in_bucket = |upload: &Upload| upload.created.path.bucket == *bucket;
                if uploads
                    .open
                    .values()
                    .any(|upload| in_bucket(upload) && upload.completing)
                {
                    return Err(EngineError::BucketNotEmpty(bucket.clone()));
                }
                let lsn = self
                    .storage
                    .append(&LogRecord::BucketDeleted {
                        bucket: bucket.clone(),
                    })
                    .map_err(EngineError::Storage)?;
                uploads.open.retain(|_, upload| !in_bucket(upload));
                buckets.remove(bucket);
                Ok(lsn)
            });
            match result {
                Ok(lsn) => (Ok(()), lsn),
                Err(error) => (Err(error), self.storage.last_appended()),
            }
        };
        self.settle(result, observed).await
    }

    /// HeadBucket.
    pub async fn head_bucket(
        &self,
        principal: &Principal,
        bucket: &BucketName,
    ) -> Result<Bucket, EngineError> {
        let result = {
            let buckets = self.read_buckets();
            check_owner(&buckets, principal, bucket).map(|entry| Bucket {
                name: bucket.clone(),
                owner: entry.owner.clone(),
                created_ms: entry.created_ms,
            })
        };
        self.settle(result, self.storage.last_appended()).await
    }

    /// ListBuckets: the principal's buckets, by name.
    pub async fn list_buckets(&self, principal: &Principal) -> Result<Vec<Bucket>, EngineError> {
        let owned: Vec<Bucket> = self
            .read_buckets()
            .iter()
            .filter(|(_, entry)| entry.owner == *principal)
            .map(|(name, entry)| Bucket {
                name: name.clone(),
                owner: entry.owner.clone(),
                created_ms: entry.created_ms,
            })
            .collect();
        self.settle(Ok(owned), self.storage.last_appended()).await
    }

    /// Whether `principal` may act on `bucket` (A3): NoSuchBucket,
    /// AccessDenied, or `Ok`. Every operation checks this itself; the HTTP
    /// layer calls it to fail early, before streaming a body.
    pub async fn authorize(
        &self,
        principal: &Principal,
        bucket: &BucketName,
    ) -> Result<(), EngineError> {
        let result = check_owner(&self.read_buckets(), principal, bucket).map(|_| ());
        self.settle(result, self.storage.last_appended()).await
    }

    // ---- Idempotency ------------------------------------------------------

    /// Resolves an idempotency key (write path step 1): a ticket to commit
    /// with, or I3 in flight, an I1/I7 replay, an I2 mismatch, or a full
    /// table. Checks A3 on the target bucket first.
    pub async fn claim_idempotency(
        &self,
        scope: IdempotencyScope,
        fingerprint: Fingerprint,
        now_ms: u64,
    ) -> Result<ClaimOutcome, EngineError> {
        #[cfg(feature = "planted-bugs")]
        let path = fingerprint.path.clone();
        let result = check_owner(
            &self.read_buckets(),
            &scope.principal,
            &fingerprint.path.bucket,
        )
        .map(|_| self.store.claim(scope, fingerprint, now_ms));
        #[cfg(feature = "planted-bugs")]
        let result = result.map(|outcome| match outcome {
            ClaimOutcome::Replay(stored) => {
                ClaimOutcome::Replay(crate::planted::replayed(&self.store, &path, stored))
            }
            other => other,
        });
        // A replay reveals a stored result: it waits like a read. A ticket
        // waits for nothing it could reveal, but the wait is free then.
        self.settle(result, self.storage.last_appended()).await
    }

    /// Gives up a claim without a result (write path step 3: the body
    /// failed its digest, or the request ended before the commit).
    pub fn release_idempotency(&self, ticket: ClaimTicket) {
        self.store.release(ticket);
    }

    /// Drops expired idempotency records (a periodic sweep); returns how
    /// many.
    pub fn purge_expired_idempotency_records(&self, now_ms: u64) -> usize {
        self.store.purge_expired_idempotency_records(now_ms)
    }

    // ---- Objects ----------------------------------------------------------

    /// PutObject (C1, C1a, C2; I1-I8 with an idempotent mode). With
    /// [`WriteMode::Idempotent`] the ticket's fingerprint names the target,
    /// which must be `path`; the claim is consumed either way.
    pub async fn put_object(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        object: NewObject,
        mode: WriteMode,
        now_ms: u64,
    ) -> Result<Result<Committed, Rejected>, EngineError> {
        debug_assert_eq!(mode.target(path), path, "the claim is for another key");
        if let Err(error) = self.authorize(principal, &mode.target(path).bucket).await {
            self.release_mode(mode);
            return Err(error);
        }
        if let Err(error) = self.storage.stage(&object.content).await {
            self.release_mode(mode);
            return Err(EngineError::Storage(error));
        }
        #[cfg(feature = "planted-bugs")]
        let (mode, mut planted) =
            match crate::planted::PutHooks::before_commit(&self.store, path, &object, mode).await {
                Ok(hooked) => hooked,
                Err(rejected) => {
                    return self
                        .settle(Ok(Err(rejected)), self.storage.last_appended())
                        .await;
                }
            };
        let (result, observed) = self.commit_write(principal, path, object, mode, None, now_ms);
        #[cfg(feature = "planted-bugs")]
        let (result, observed) = match planted.install_despite(&result) {
            Some(object) => {
                let unconditional = WriteMode::Plain(WriteConditions::default());
                let (_, installed) =
                    self.commit_write(principal, path, object, unconditional, None, now_ms);
                (result, installed)
            }
            None => (planted.answer(result), observed),
        };
        self.settle(result, observed).await
    }

    /// GetObject / HeadObject: the current version, whole (bytes, ETag,
    /// metadata of one write). Evaluate E5 on it with
    /// `lockwell_core::precondition::evaluate_read`.
    pub async fn get_object(
        &self,
        principal: &Principal,
        path: &ObjectPath,
    ) -> Result<Option<Arc<ObjectVersion>>, EngineError> {
        let result = check_owner(&self.read_buckets(), principal, &path.bucket)
            .map(|_| self.store.get(path));
        #[cfg(feature = "planted-bugs")]
        let result = result.map(|version| self.read_cache.read_through(path, version));
        self.settle(result, self.storage.last_appended()).await
    }

    /// DeleteObject (C6a).
    pub async fn delete_object(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        conditions: &DeleteConditions,
    ) -> Result<Result<Deleted, Rejected>, EngineError> {
        let (result, observed) = {
            let buckets = self.read_buckets();
            let mut journal = LogJournal::new(&*self.storage, None);
            let result = check_owner(&buckets, principal, &path.bucket).and_then(|_| {
                self.store
                    .delete(path, conditions, &mut journal)
                    .map_err(EngineError::Storage)
            });
            (result, journal.observed())
        };
        self.settle(result, observed).await
    }

    /// CopyObject (C7, C8): both buckets must be the principal's.
    pub async fn copy_object(
        &self,
        principal: &Principal,
        request: &CopyRequest,
        now_ms: u64,
    ) -> Result<Result<Committed, Rejected>, EngineError> {
        #[cfg(feature = "planted-bugs")]
        let unchecked = match crate::planted::copy_check_then_act(&self.store, request).await {
            Ok(unchecked) => unchecked,
            Err(rejected) => {
                return self
                    .settle(Ok(Err(rejected)), self.storage.last_appended())
                    .await;
            }
        };
        #[cfg(feature = "planted-bugs")]
        let request = unchecked.as_ref().unwrap_or(request);
        let (result, observed) = {
            let buckets = self.read_buckets();
            let mut journal = LogJournal::new(&*self.storage, None);
            let result = check_owner(&buckets, principal, &request.source.bucket)
                .and_then(|_| check_owner(&buckets, principal, &request.destination.bucket))
                .and_then(|_| {
                    self.store
                        .copy(request, now_ms, &mut journal)
                        .map_err(EngineError::Storage)
                });
            (result, journal.observed())
        };
        #[cfg(feature = "planted-bugs")]
        self.read_cache.invalidate(&request.destination);
        self.settle(result, observed).await
    }

    /// One page of ListObjects: keys in order, each with its whole current
    /// version. Delimiters and continuation tokens are the HTTP layer's.
    pub async fn list_objects(
        &self,
        principal: &Principal,
        bucket: &BucketName,
        query: &ListQuery,
    ) -> Result<Listing, EngineError> {
        let result = check_owner(&self.read_buckets(), principal, bucket)
            .map(|_| self.store.list(bucket, query));
        self.settle(result, self.storage.last_appended()).await
    }

    // ---- Multipart uploads ------------------------------------------------

    /// CreateMultipartUpload.
    pub async fn create_upload(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload: NewUpload,
        now_ms: u64,
    ) -> Result<UploadId, EngineError> {
        let (result, observed) = {
            let buckets = self.read_buckets();
            let result = check_owner(&buckets, principal, &path.bucket).and_then(|_| {
                if let Some(algorithm) = upload.checksum_algorithm
                    && algorithm.multipart_checksum_type().is_none()
                {
                    return Err(EngineError::UnsupportedChecksumAlgorithm { algorithm });
                }
                let mut uploads = self.lock_uploads();
                if uploads.open.len() >= self.config.max_open_uploads {
                    return Err(EngineError::TooManyUploads {
                        max_open_uploads: self.config.max_open_uploads,
                    });
                }
                let created = UploadCreated {
                    upload_id: UploadId {
                        created_ms: now_ms,
                        counter: uploads.next_counter,
                    },
                    path: path.clone(),
                    initiator: principal.clone(),
                    metadata: upload.metadata,
                    checksum_algorithm: upload.checksum_algorithm,
                    initiated_ms: now_ms,
                };
                let lsn = self
                    .storage
                    .append(&LogRecord::UploadCreated(created.clone()))
                    .map_err(EngineError::Storage)?;
                uploads.next_counter += 1;
                let upload_id = created.upload_id.clone();
                uploads.open.insert(
                    upload_id.clone(),
                    Upload {
                        created,
                        parts: BTreeMap::new(),
                        completing: false,
                    },
                );
                Ok((upload_id, lsn))
            });
            match result {
                Ok((upload_id, lsn)) => (Ok(upload_id), lsn),
                Err(error) => (Err(error), self.storage.last_appended()),
            }
        };
        self.settle(result, observed).await
    }

    /// UploadPart (and UploadPartCopy, whose source bytes the HTTP layer
    /// read with [`Engine::get_object`]). A part uploaded again under the
    /// same number replaces the earlier one, as in S3.
    pub async fn upload_part(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload_id: &UploadId,
        part_number: u32,
        part: NewPart,
        now_ms: u64,
    ) -> Result<PartSummary, EngineError> {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(EngineError::InvalidPartNumber { part_number });
        }
        // Check before staging, so that a bad request writes no data file;
        // check again when appending, since the upload may end meanwhile.
        let checked = self.check_part(principal, path, upload_id, &part.checksums);
        if let Err(error) = checked {
            return self.settle(Err(error), self.storage.last_appended()).await;
        }
        self.storage
            .stage(&part.content)
            .await
            .map_err(EngineError::Storage)?;
        let (result, observed) = {
            let mut uploads = self.lock_uploads();
            let result = uploads.get_mut(path, upload_id).and_then(|upload| {
                let record = PartUploaded {
                    upload_id: upload_id.clone(),
                    part_number,
                    md5: part.md5,
                    checksums: part.checksums,
                    content: part.content,
                    uploaded_ms: now_ms,
                };
                let lsn = self
                    .storage
                    .append(&LogRecord::PartUploaded(record.clone()))
                    .map_err(EngineError::Storage)?;
                let stored = Part {
                    md5: record.md5,
                    checksums: record.checksums,
                    content: record.content,
                    uploaded_ms: now_ms,
                };
                let summary = stored.summary(part_number);
                upload.parts.insert(part_number, stored);
                Ok((summary, lsn))
            });
            match result {
                Ok((summary, lsn)) => (Ok(summary), lsn),
                Err(error) => (Err(error), self.storage.last_appended()),
            }
        };
        self.settle(result, observed).await
    }

    fn check_part(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload_id: &UploadId,
        checksums: &Digests,
    ) -> Result<(), EngineError> {
        check_owner(&self.read_buckets(), principal, &path.bucket)?;
        let mut uploads = self.lock_uploads();
        let upload = uploads.get_mut(path, upload_id)?;
        match upload.created.checksum_algorithm {
            Some(algorithm) if checksums.get(algorithm).is_none() => {
                Err(EngineError::MissingPartChecksum { algorithm })
            }
            _ => Ok(()),
        }
    }

    /// ListParts: the upload and its parts in part number order.
    pub async fn list_parts(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload_id: &UploadId,
    ) -> Result<UploadDetails, EngineError> {
        let result = check_owner(&self.read_buckets(), principal, &path.bucket).and_then(|_| {
            let uploads = self.lock_uploads();
            let upload = uploads
                .open
                .get(upload_id)
                .filter(|upload| upload.created.path == *path)
                .ok_or(EngineError::NoSuchUpload)?;
            Ok(UploadDetails {
                upload: upload.summary(),
                parts: upload
                    .parts
                    .iter()
                    .map(|(&part_number, part)| part.summary(part_number))
                    .collect(),
            })
        });
        self.settle(result, self.storage.last_appended()).await
    }

    /// ListMultipartUploads: the bucket's open uploads by key, then by
    /// upload id (which orders by initiation time, as S3 lists).
    pub async fn list_uploads(
        &self,
        principal: &Principal,
        bucket: &BucketName,
    ) -> Result<Vec<UploadSummary>, EngineError> {
        let result = check_owner(&self.read_buckets(), principal, bucket).map(|_| {
            let mut summaries: Vec<UploadSummary> = self
                .lock_uploads()
                .open
                .values()
                .filter(|upload| upload.created.path.bucket == *bucket)
                .map(Upload::summary)
                .collect();
            summaries.sort_by(|left, right| {
                (&left.path.key, &left.upload_id).cmp(&(&right.path.key, &right.upload_id))
            });
            summaries
        });
        self.settle(result, self.storage.last_appended()).await
    }

    /// AbortMultipartUpload.
    pub async fn abort_upload(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload_id: &UploadId,
    ) -> Result<(), EngineError> {
        let (result, observed) = {
            let result =
                check_owner(&self.read_buckets(), principal, &path.bucket).and_then(|_| {
                    let mut uploads = self.lock_uploads();
                    uploads.get_mut(path, upload_id)?;
                    let lsn = self
                        .storage
                        .append(&LogRecord::UploadAborted {
                            upload_id: upload_id.clone(),
                        })
                        .map_err(EngineError::Storage)?;
                    uploads.open.remove(upload_id);
                    Ok(lsn)
                });
            match result {
                Ok(lsn) => (Ok(()), lsn),
                Err(error) => (Err(error), self.storage.last_appended()),
            }
        };
        self.settle(result, observed).await
    }

    /// CompleteMultipartUpload: S3's part rules (ascending, each part
    /// uploaded with the listed ETag and checksums, all but the last at
    /// least the minimum size), the multipart ETag (E1) and checksum (K5),
    /// then a conditional commit exactly like a put (C1-C3, C6; I6 with an
    /// idempotent mode). The object appears and the upload ends in one log
    /// record; a rejected commit leaves the upload open.
    pub async fn complete_upload(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        upload_id: &UploadId,
        requested: &[CompletedPart],
        mode: WriteMode,
        now_ms: u64,
    ) -> Result<Result<Committed, Rejected>, EngineError> {
        debug_assert_eq!(mode.target(path), path, "the claim is for another key");
        let planned = check_owner(&self.read_buckets(), principal, &path.bucket)
            .and_then(|_| self.plan_completion(path, upload_id, requested));
        let (object, part_contents) = match planned {
            Ok(planned) => planned,
            Err(error) => {
                self.release_mode(mode);
                return self.settle(Err(error), self.storage.last_appended()).await;
            }
        };
        if let Err(error) = self
            .storage
            .stage_concatenation(&object.content, &part_contents)
            .await
        {
            self.end_completion(upload_id, false);
            self.release_mode(mode);
            return Err(EngineError::Storage(error));
        }
        let (result, observed) =
            self.commit_write(principal, path, object, mode, Some(upload_id), now_ms);
        self.end_completion(upload_id, matches!(result, Ok(Ok(_))));
        self.settle(result, observed).await
    }

    /// Checks a completion's part list against the upload, builds the
    /// object, and marks the upload as completing.
    fn plan_completion(
        &self,
        path: &ObjectPath,
        upload_id: &UploadId,
        requested: &[CompletedPart],
    ) -> Result<PlannedCompletion, EngineError> {
        let mut uploads = self.lock_uploads();
        let upload = uploads.get_mut(path, upload_id)?;
        let Some(last) = requested.last() else {
            return Err(EngineError::EmptyPartList);
        };
        if requested
            .windows(2)
            .any(|pair| pair[0].part_number >= pair[1].part_number)
        {
            return Err(EngineError::InvalidPartOrder);
        }
        let mut parts = Vec::with_capacity(requested.len());
        for wanted in requested {
            let part_number = wanted.part_number;
            let part = upload
                .parts
                .get(&part_number)
                .filter(|part| ETag::from_md5(part.md5) == wanted.etag)
                .filter(|part| {
                    wanted
                        .checksums
                        .iter()
                        .all(|digest| part.checksums.get(digest.algorithm()) == Some(digest))
                })
                .ok_or(EngineError::InvalidPart { part_number })?;
            let size_bytes = part.content.len() as u64;
            if part_number != last.part_number && size_bytes < self.config.min_part_size_bytes {
                return Err(EngineError::EntityTooSmall {
                    part_number,
                    size_bytes,
                    min_size_bytes: self.config.min_part_size_bytes,
                });
            }
            parts.push(part);
        }

        let md5s: Vec<[u8; 16]> = parts.iter().map(|part| part.md5).collect();
        let etag = ETag::multipart(&md5s).expect("1 to MAX_PART_NUMBER parts, checked above");
        let mut checksums = Digests::default();
        if let Some(algorithm) = upload.created.checksum_algorithm {
            let part_checksums: Vec<PartChecksum> = parts
                .iter()
                .map(|part| PartChecksum {
                    digest: *part
                        .checksums
                        .get(algorithm)
                        .expect("upload_part requires the upload's checksum on every part"),
                    len_bytes: part.content.len() as u64,
                })
                .collect();
            let combined = multipart_checksum(algorithm, &part_checksums)
                .expect("a multipart algorithm, checked at create_upload, and 1 to MAX parts");
            // A composite checksum keeps only its digest: the part count of
            // its `-N` form is the ETag's.
            checksums.insert(match combined {
                MultipartChecksum::FullObject(digest)
                | MultipartChecksum::Composite { digest, .. } => digest,
                _ => unreachable!(
                    "lockwell-core's MultipartChecksum grew a form this engine does not store"
                ),
            });
        }
        let part_contents: Vec<Arc<[u8]>> =
            parts.iter().map(|part| Arc::clone(&part.content)).collect();
        let content = match part_contents.as_slice() {
            [only] => Arc::clone(only),
            many => Arc::from(many.concat()),
        };
        let object = NewObject {
            content,
            etag,
            checksums,
            metadata: upload.created.metadata.clone(),
        };
        upload.completing = true;
        Ok((object, part_contents))
    }

    /// Ends a completion: the upload is gone if its object was installed,
    /// else open again.
    fn end_completion(&self, upload_id: &UploadId, installed: bool) {
        let mut uploads = self.lock_uploads();
        if installed {
            let removed = uploads.open.remove(upload_id);
            debug_assert!(
                removed.is_some(),
                "a completing upload cannot end otherwise"
            );
        } else if let Some(upload) = uploads.open.get_mut(upload_id) {
            upload.completing = false;
        }
    }

    // ---- Shared steps -----------------------------------------------------

    /// Step 3 of the write path for puts and completions: under the bucket
    /// table's read lock (so the bucket cannot be deleted in between) and
    /// lockwell-core's key lock, check, append, install. Returns the
    /// outcome and the LSN to wait for.
    fn commit_write(
        &self,
        principal: &Principal,
        path: &ObjectPath,
        object: NewObject,
        mode: WriteMode,
        completes_upload: Option<&UploadId>,
        now_ms: u64,
    ) -> (Result<Result<Committed, Rejected>, EngineError>, Lsn) {
        let buckets = self.read_buckets();
        if let Err(error) = check_owner(&buckets, principal, &mode.target(path).bucket) {
            drop(buckets);
            self.release_mode(mode);
            return (Err(error), self.storage.last_appended());
        }
        let mut journal = LogJournal::new(&*self.storage, completes_upload);
        let result = match mode {
            WriteMode::Plain(conditions) => self
                .store
                .put(path, object, &conditions, now_ms, &mut journal)
                .map_err(EngineError::Storage),
            WriteMode::Idempotent(ticket) => self
                .store
                .put_claimed(ticket, object, now_ms, &mut journal)
                .map_err(|error| match error {
                    CommitError::Journal(error) => EngineError::Storage(error),
                    CommitError::ClaimExpired => EngineError::IdempotencyClaimExpired,
                    other => EngineError::Storage(io::Error::other(other)),
                }),
        };
        drop(buckets);
        #[cfg(feature = "planted-bugs")]
        self.read_cache.invalidate(path);
        (result, journal.observed())
    }

    fn release_mode(&self, mode: WriteMode) {
        if let WriteMode::Idempotent(ticket) = mode {
            self.store.release(ticket);
        }
    }

    /// Step 4: the answer leaves only once everything it observed is
    /// durable.
    async fn settle<T>(
        &self,
        result: Result<T, EngineError>,
        observed: Lsn,
    ) -> Result<T, EngineError> {
        #[cfg(feature = "planted-bugs")]
        if crate::planted::ack_before_fsync() {
            return result;
        }
        self.storage
            .wait_durable(observed)
            .await
            .map_err(EngineError::Storage)?;
        result
    }

    fn read_buckets(&self) -> RwLockReadGuard<'_, BTreeMap<BucketName, BucketEntry>> {
        self.buckets.read().expect(POISONED)
    }

    fn write_buckets(&self) -> RwLockWriteGuard<'_, BTreeMap<BucketName, BucketEntry>> {
        self.buckets.write().expect(POISONED)
    }

    fn lock_uploads(&self) -> MutexGuard<'_, Uploads> {
        self.uploads.lock().expect(POISONED)
    }
}

/// A3: `bucket` exists and `principal` owns it.
fn check_owner<'a>(
    buckets: &'a BTreeMap<BucketName, BucketEntry>,
    principal: &Principal,
    bucket: &BucketName,
) -> Result<&'a BucketEntry, EngineError> {
    match buckets.get(bucket) {
        None => Err(EngineError::NoSuchBucket(bucket.clone())),
        Some(entry) if entry.owner != *principal => Err(EngineError::AccessDenied),
        Some(entry) => Ok(entry),
    }
}
