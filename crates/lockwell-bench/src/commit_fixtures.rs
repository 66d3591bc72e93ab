//! What the commit-path benchmarks share (the criterion bench
//! `benches/commit_path.rs` and the instruction-counted workloads of
//! [`crate::instructions`]): keys, objects with unique ETags, and a put on
//! lockwell-core's `Store` with no journal.

use std::sync::Arc;

use lockwell_core::checksum::Digests;
use lockwell_core::object::{BucketName, ETag, NewObject, ObjectKey, ObjectMetadata, ObjectPath};
use lockwell_core::precondition::WriteConditions;
use lockwell_core::store::{NoJournal, Store};

/// The body length of every object; the store never reads the bytes.
pub const BODY_LEN_BYTES: usize = 64;

/// `key` in the benchmarks' bucket.
#[must_use]
pub fn bench_path(key: &str) -> ObjectPath {
    ObjectPath::new(
        BucketName::parse("lockwell-bench").expect("valid bucket"),
        ObjectKey::parse(key).expect("valid key"),
    )
}

/// Hands out objects over one shared body, each with a unique ETag (a
/// stamp of writer and sequence number in place of the MD5, which the
/// store does not recompute), so that a stale If-Match never succeeds by
/// accident and no MD5 is timed.
pub struct ObjectWriter {
    body: Arc<[u8]>,
    writer_index: u64,
    sequence: u64,
}

impl ObjectWriter {
    /// The writer `writer_index` (a thread, say): writers never share ETags.
    #[must_use]
    pub fn new(writer_index: u64) -> Self {
        Self {
            body: Arc::from(vec![7_u8; BODY_LEN_BYTES]),
            writer_index,
            sequence: 0,
        }
    }

    /// The writer's next object.
    pub fn next_object(&mut self) -> NewObject {
        self.sequence += 1;
        let mut stamp = [0_u8; 16];
        stamp[..8].copy_from_slice(&self.writer_index.to_le_bytes());
        stamp[8..].copy_from_slice(&self.sequence.to_le_bytes());
        NewObject {
            content: Arc::clone(&self.body),
            etag: ETag::from_md5(stamp),
            checksums: Digests::default(),
            metadata: ObjectMetadata::default(),
        }
    }
}

/// Puts `object` at `path` under `conditions` with no journal; `true` when
/// it was installed.
pub fn put_unjournaled(
    store: &Store,
    path: &ObjectPath,
    object: NewObject,
    conditions: &WriteConditions,
) -> bool {
    match store.put(path, object, conditions, 0, &mut NoJournal) {
        Ok(outcome) => outcome.is_ok(),
        Err(infallible) => match infallible {},
    }
}
