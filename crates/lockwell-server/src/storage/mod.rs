//! Where durability lives: the write-ahead log and staged object bodies,
//! behind the object-safe [`Storage`] trait.
//!
//! Backends: [`memory`] (nothing survives the process; every record is
//! durable the moment it is appended), [`file`] (the default: a log file
//! with group commit, data files for large bodies, recovery on start), and
//! the simulator's disk (in lockwell-sim). Nothing in this trait touches
//! `tokio::fs` or threads, so the simulator can implement it; the file
//! backend uses blocking `std::fs` on threads of its own and never runs
//! under madsim.
//!
//! # The durability contract (DESIGN.md, write path step 4)
//!
//! 1. [`Storage::append`] runs under the key's lock inside lockwell-core's
//!    commit path, so it is synchronous and cheap: it orders the record in
//!    the log and returns its [`Lsn`]. Log order is commit order along every
//!    key, because each key's records are appended under that key's lock.
//!    After `Ok` the record may still be lost by a crash, together with
//!    every record after it, never alone: recovery replays a prefix of the
//!    log.
//! 2. The engine installs the change in memory and releases the key's lock
//!    at once ("early lock release"), so the next writer on that key checks
//!    its preconditions against the new version (C3) without waiting for a
//!    disk.
//! 3. Before any answer that reveals state leaves the server, the engine
//!    awaits [`Storage::wait_durable`] up to the LSN of everything that
//!    answer observed: its own record for a write, and for a read or a
//!    rejection [`Storage::last_appended`] taken after the observation.
//!    So nobody outside ever sees a state that a crash could take back
//!    (E4, I8). Group commit lives behind this wait: concurrent writers'
//!    records share one write and one fsync.
//! 4. A failed write or fsync of the log leaves memory ahead of disk for
//!    ever: the backend fails stop, and every later append and wait returns
//!    an error, so the server answers 5xx to everything rather than serve
//!    state that may vanish on restart.
//!
//! Large bodies do not travel through the log: [`Storage::stage`] writes
//! them to data files and syncs them before their record is appended, and
//! the record refers to them. Bodies up to [`INLINE_CONTENT_MAX_BYTES`] go
//! inline in the record, so that group commit covers them too.
//!
//! There is no log compaction: the log and the data files it references
//! grow with every write, and recovery replays all of it. That is the
//! reference server's trade of simplicity for space, written down here.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use lockwell_core::checksum::{ChecksumAlgorithm, Digests};
use lockwell_core::idempotency::Principal;
use lockwell_core::object::ObjectMetadata;
use lockwell_core::{BucketName, CommitRecord, ObjectPath};

pub mod codec;
pub mod file;
pub mod memory;
pub mod sim_disk;

pub use file::{FileStorage, FileStorageConfig};
pub use memory::MemoryStorage;

/// Bodies up to this size are written inline in their log record; larger
/// ones are staged in a data file of their own. 64 KiB keeps a group
/// commit's single write small next to its fsync while covering the
/// typical small object.
pub const INLINE_CONTENT_MAX_BYTES: usize = 64 * 1024;

/// A future that a `dyn Storage` can return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Log sequence number: the position of a record in the log, from 1.
/// `Lsn::ZERO` comes before every record ("nothing appended yet").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    pub const ZERO: Self = Self(0);

    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// The id of a multipart upload, as S3's `uploadId` carries it: the
/// creation time and a counter that never repeats within one data
/// directory, in hex. Deterministic (no OS randomness), so simulator runs
/// replay; the time keeps ids from an earlier, wiped data directory from
/// naming a new upload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UploadId {
    pub(crate) created_ms: u64,
    pub(crate) counter: u64,
}

/// Hex digits of each half of an [`UploadId`].
const UPLOAD_ID_HALF_LEN_CHARS: usize = 16;

impl UploadId {
    /// Parses the text form; `None` for text this server never produced
    /// (which S3 answers with 404 NoSuchUpload, as for an unknown id).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 2 * UPLOAD_ID_HALF_LEN_CHARS
            || !text
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let (created, counter) = text.split_at(UPLOAD_ID_HALF_LEN_CHARS);
        Some(Self {
            created_ms: u64::from_str_radix(created, 16).ok()?,
            counter: u64::from_str_radix(counter, 16).ok()?,
        })
    }

    /// The counter half: recovery continues after the largest one seen.
    #[must_use]
    pub const fn counter(&self) -> u64 {
        self.counter
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}{:016x}", self.created_ms, self.counter)
    }
}

/// A multipart upload as created (CreateMultipartUpload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadCreated {
    pub upload_id: UploadId,
    pub path: ObjectPath,
    pub initiator: Principal,
    pub metadata: ObjectMetadata,
    /// `x-amz-checksum-algorithm`: every part carries this checksum and the
    /// object gets its multipart checksum (K5).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub initiated_ms: u64,
}

/// One uploaded part (UploadPart), its digests verified by the HTTP layer
/// (K5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUploaded {
    pub upload_id: UploadId,
    pub part_number: u32,
    /// MD5 of the part: its ETag, and an input of the multipart ETag (E1).
    pub md5: [u8; 16],
    pub checksums: Digests,
    pub content: Arc<[u8]>,
    pub uploaded_ms: u64,
}

/// One step of the server's state, as the log holds it. Every change of
/// state is exactly one record, so a crash leaves each change whole or
/// absent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// A step of lockwell-core's commit path (objects and idempotency
    /// results, I8). A CompleteMultipartUpload's install names its upload
    /// here, so the object appears and the upload ends in one record.
    Commit {
        record: CommitRecord,
        completes_upload: Option<UploadId>,
    },
    BucketCreated {
        bucket: BucketName,
        owner: Principal,
        created_ms: u64,
    },
    /// Also ends the bucket's open multipart uploads.
    BucketDeleted {
        bucket: BucketName,
    },
    UploadCreated(UploadCreated),
    PartUploaded(PartUploaded),
    UploadAborted {
        upload_id: UploadId,
    },
}

/// A durable home for the log and for staged bodies. See the module docs
/// for the contract; `Arc<dyn Storage>` is what the engine holds.
pub trait Storage: Send + Sync {
    /// Orders `record` in the log and returns its LSN, without waiting for
    /// a disk: called under the key's lock. `Err` means the record is not
    /// in the log and never will be; after a failure the backend fails
    /// stop (every later call errs). A body in `record` larger than
    /// [`INLINE_CONTENT_MAX_BYTES`] must have been [`staged`](Self::stage).
    fn append(&self, record: &LogRecord) -> io::Result<Lsn>;

    /// The LSN of the latest appended record ([`Lsn::ZERO`] if none). Taken
    /// after observing state, it covers everything observed.
    fn last_appended(&self) -> Lsn;

    /// Resolves once every record up to `lsn` is durable: a crash from then
    /// on cannot lose it. Errs if the log failed before getting there.
    fn wait_durable(&self, lsn: Lsn) -> BoxFuture<'_, io::Result<()>>;

    /// Makes `content` durable on its own, before the record that refers to
    /// it is appended (DESIGN.md write path, step 2). Bodies up to
    /// [`INLINE_CONTENT_MAX_BYTES`] need nothing: their record carries them.
    /// Staged bytes that no record ever refers to are removed at recovery.
    fn stage<'a>(&'a self, content: &'a Arc<[u8]>) -> BoxFuture<'a, io::Result<()>>;

    /// Makes `whole`, the concatenation of `parts` (each already staged or
    /// appended in a [`PartUploaded`] record), durable: typically by
    /// referring to the parts' bytes rather than writing them again.
    fn stage_concatenation<'a>(
        &'a self,
        whole: &'a Arc<[u8]>,
        parts: &'a [Arc<[u8]>],
    ) -> BoxFuture<'a, io::Result<()>>;

    /// Every record of the log, in log order, with the bodies they refer to;
    /// repairs a torn tail and removes staged bytes that never committed.
    /// Called once, before the first append.
    fn recover(&self) -> io::Result<Vec<LogRecord>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_id_round_trips_and_rejects_foreign_text() {
        let id = UploadId {
            created_ms: 1_700_000_000_123,
            counter: 42,
        };
        let text = id.to_string();
        assert_eq!(text.len(), 2 * UPLOAD_ID_HALF_LEN_CHARS);
        assert_eq!(UploadId::parse(&text), Some(id));
        let max = UploadId {
            created_ms: u64::MAX,
            counter: u64::MAX,
        };
        assert_eq!(UploadId::parse(&max.to_string()), Some(max));
        for foreign in [
            "",
            "abc",
            "00000000000000000000000000000000a",
            "0000000000000000000000000000000G",
            "0000000000000000000000000000000A",
            "+000000000000000000000000000000a",
        ] {
            assert_eq!(UploadId::parse(foreign), None, "{foreign:?}");
        }
    }
}
