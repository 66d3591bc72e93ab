//! What S3 operations take and return.

use std::collections::BTreeMap;

use bytes::Bytes;
use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest};
use lockwell_core::idempotency::IdempotencyKey;

use crate::conditions::{ByteRange, ReadConditions, WriteCondition};

/// Options of a buffered or streamed PutObject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// `If-None-Match` / `If-Match` (SPEC C1, C1a, C2, C6).
    pub condition: Option<WriteCondition>,
    /// SPEC I1, I5: makes a buffered put replay-safe, and retryable (R4).
    /// A streamed put refuses it (I6).
    pub idempotency_key: Option<IdempotencyKey>,
    /// A buffered put sends this `x-amz-checksum-*` header (K1, K2); a
    /// streamed put sends it as the trailer (K3), CRC32 when `None`.
    pub checksum: Option<ChecksumAlgorithm>,
    pub content_type: Option<String>,
    /// `x-amz-meta-*`, names without the prefix.
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    #[must_use]
    pub fn condition(mut self, condition: WriteCondition) -> Self {
        self.condition = Some(condition);
        self
    }

    #[must_use]
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    #[must_use]
    pub fn checksum(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum = Some(algorithm);
        self
    }
}

/// What a write returns (SPEC E2, R6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutObjectOutput {
    pub etag: ETag,
    /// The checksum the server stored and reports, if it reports one.
    pub checksum: Option<Digest>,
}

/// Options of GetObject and HeadObject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// SPEC E5.
    pub conditions: ReadConditions,
    pub range: Option<ByteRange>,
    /// `x-amz-checksum-mode: ENABLED`: ask for the stored checksums (K4).
    pub checksum_mode: bool,
}

/// An object's headers as GET and HEAD return them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub etag: ETag,
    /// Of the body returned: the range's length for a range request.
    pub content_len_bytes: u64,
    pub content_type: Option<String>,
    pub last_modified_ms: Option<u64>,
    /// `Content-Range` of a 206.
    pub content_range: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Full-object checksums the server returned (with `checksum_mode`).
    pub checksums: Vec<Digest>,
}

/// GetObject's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetObjectOutput {
    pub info: ObjectInfo,
    pub body: Bytes,
}

/// The source object of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySource<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
}

/// Options of CopyObject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `x-amz-copy-source-if-*` (SPEC C8).
    pub source_conditions: ReadConditions,
    /// Destination `If-None-Match: *` / `If-Match` (SPEC C6, C7).
    pub destination_condition: Option<WriteCondition>,
    /// Replace the metadata instead of copying it (`REPLACE` directive).
    pub replace_metadata: Option<BTreeMap<String, String>>,
}

/// CopyObject's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyObjectOutput {
    pub etag: ETag,
    pub last_modified_ms: Option<u64>,
}

/// Options of DeleteObject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// SPEC C6a: delete only this version of the object.
    pub if_match: Option<ETag>,
}

/// One object of a DeleteObjects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTarget {
    pub key: String,
    /// SPEC C6a: the entry's `ETag` condition.
    pub if_match: Option<ETag>,
}

/// A per-object failure of DeleteObjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteObjectError {
    pub key: String,
    pub code: String,
    pub message: String,
}

/// DeleteObjects' answer: what was deleted and what was not (C6a).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteObjectsOutput {
    /// Empty in quiet mode.
    pub deleted: Vec<String>,
    pub errors: Vec<DeleteObjectError>,
}

/// A bucket as ListBuckets reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub creation_date_ms: Option<u64>,
}

/// Parameters of one ListObjectsV2 request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListObjectsV2Request {
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    /// 1 to 1,000; the server's default (1,000) when `None`.
    pub max_keys: Option<u32>,
    pub start_after: Option<String>,
    pub continuation_token: Option<String>,
}

/// An object as a listing reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub etag: ETag,
    pub size_bytes: u64,
    pub last_modified_ms: Option<u64>,
}

/// One page of ListObjectsV2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsV2Page {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    /// Present while there are more pages.
    pub next_continuation_token: Option<String>,
}

/// Options of CreateMultipartUpload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateMultipartOptions {
    /// The checksum algorithm every part carries (K5).
    pub checksum: Option<ChecksumAlgorithm>,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A started multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    /// What each part must carry, as created.
    pub checksum: Option<ChecksumAlgorithm>,
}

/// An uploaded part, as CompleteMultipartUpload lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub part_number: u16,
    pub etag: ETag,
    pub checksum: Option<Digest>,
}

/// Options of CompleteMultipartUpload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompleteOptions {
    /// SPEC C6: conditions on the key the upload completes into.
    pub condition: Option<WriteCondition>,
    /// SPEC I6: the part list is the payload the key covers; makes the
    /// complete retryable (R4).
    pub idempotency_key: Option<IdempotencyKey>,
}

/// CompleteMultipartUpload's answer (E2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteMultipartOutput {
    pub etag: ETag,
    pub checksum: Option<Digest>,
}
