//! The log's binary format: frames of length-prefixed, CRC-checked records,
//! written by hand so that every byte is accounted for, nothing depends on
//! a serialisation crate's stability, and the decoder is a fuzz target
//! that never panics and never allocates more than its input justifies.
//!
//! ```text
//! log    = header frame*
//! header = "LKWLWAL" 0x00, format version u32
//! frame  = payload length u32, CRC-32C of (length, payload) u32, payload
//! ```
//!
//! Integers are little-endian. A payload is one [`LogRecord`]: a tag byte,
//! then its fields in declaration order. Strings are a u32 length and
//! UTF-8; names are validated again on decode (a record that does not
//! parse is corruption, not input). Enums of lockwell-core (rules,
//! conditions, checksum algorithms) are encoded as their position in the
//! tables below, which only ever grow at the end.
//!
//! Object bodies are a list of pieces: inline bytes, or a reference to a
//! data file (id, length, CRC-32C) written and synced before the record
//! (see [`super::Storage::stage`]). The encoder asks a layout function how
//! a body is stored; the decoder hands the pieces to a loader that turns
//! them back into one body.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, Digests};
use lockwell_core::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyScope, Principal,
};
use lockwell_core::object::{ObjectKey, ObjectMetadata};
use lockwell_core::precondition::{ETagCondition, RequestETag, WriteConditions};
use lockwell_core::{
    BucketName, CommitRecord, Committed, Condition, ETag, ObjectPath, ObjectVersion, Rejected, Rule,
};

use super::{INLINE_CONTENT_MAX_BYTES, LogRecord, PartUploaded, UploadCreated, UploadId};

/// The first bytes of a log file.
pub const LOG_MAGIC: [u8; 8] = *b"LKWLWAL\0";

/// The version of this format, after the magic. A log of another version
/// is refused, never guessed at.
pub const LOG_FORMAT_VERSION: u32 = 1;

/// Bytes of the log header.
pub const LOG_HEADER_LEN_BYTES: usize = LOG_MAGIC.len() + 4;

/// Bytes of a frame before its payload: length and CRC.
pub const FRAME_HEADER_LEN_BYTES: usize = 8;

/// The largest payload a frame may hold. Inline bodies are at most
/// [`INLINE_CONTENT_MAX_BYTES`] and larger ones are references, so real
/// records stay far below this (a 10,000-part completion is about 300
/// KiB); the bound keeps a corrupt length from asking for gigabytes.
pub const MAX_RECORD_LEN_BYTES: usize = 16 * 1024 * 1024;

/// The most entity tags one condition holds
/// (`lockwell_core::precondition::MAX_ETAGS_PER_CONDITION`, which fits a
/// byte).
const MAX_ETAGS_PER_CONDITION: usize = lockwell_core::precondition::MAX_ETAGS_PER_CONDITION;

/// Rules by their code in the log. Append only.
const RULES: [Rule; 7] = [
    Rule::C1,
    Rule::C1a,
    Rule::C2,
    Rule::C6a,
    Rule::C7,
    Rule::C8,
    Rule::E5,
];

/// Conditions by their code in the log. Append only.
const CONDITIONS: [Condition; 10] = [
    Condition::IfMatch,
    Condition::IfNoneMatch,
    Condition::IfModifiedSince,
    Condition::IfUnmodifiedSince,
    Condition::CopySourceIfMatch,
    Condition::CopySourceIfNoneMatch,
    Condition::CopySourceIfModifiedSince,
    Condition::CopySourceIfUnmodifiedSince,
    Condition::RequireAbsent,
    Condition::RequireMatchEtag,
];

/// Checksum algorithms by their code in the log. Append only.
const ALGORITHMS: [ChecksumAlgorithm; 6] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
    ChecksumAlgorithm::Md5,
];

mod tag {
    pub(super) const COMMIT: u8 = 1;
    pub(super) const BUCKET_CREATED: u8 = 2;
    pub(super) const BUCKET_DELETED: u8 = 3;
    pub(super) const UPLOAD_CREATED: u8 = 4;
    pub(super) const PART_UPLOADED: u8 = 5;
    pub(super) const UPLOAD_ABORTED: u8 = 6;

    pub(super) const INSTALL: u8 = 1;
    pub(super) const REMOVE: u8 = 2;
    pub(super) const IDEMPOTENT_REJECTION: u8 = 3;

    pub(super) const PIECE_INLINE: u8 = 1;
    pub(super) const PIECE_DATA_FILE: u8 = 2;

    pub(super) const CONDITION_ANY: u8 = 1;
    pub(super) const CONDITION_ONE_OF: u8 = 2;

    pub(super) const PRECONDITION_FAILED: u8 = 1;
    pub(super) const NOT_FOUND: u8 = 2;
    pub(super) const NOT_MODIFIED: u8 = 3;
}

/// How a body is stored, if not simply inline: `None` means inline (when
/// small enough).
pub type LayoutOf<'a> = dyn Fn(&Arc<[u8]>) -> Option<Arc<[Piece]>> + 'a;

/// Turns a decoded body's pieces into its bytes.
pub type LoadContent<'a> = dyn FnMut(&[DecodedPiece<'_>]) -> Result<Arc<[u8]>, DecodeError> + 'a;

/// A data file holding one staged body, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataFile {
    pub id: u64,
    pub len_bytes: u64,
    /// CRC-32C of the file's bytes, checked when recovery reads it back.
    pub crc32c: u32,
}

/// How a run of a body's bytes is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// In the record itself.
    Inline {
        len_bytes: u64,
    },
    DataFile(DataFile),
}

impl Piece {
    #[must_use]
    pub const fn len_bytes(&self) -> u64 {
        match self {
            Self::Inline { len_bytes } | Self::DataFile(DataFile { len_bytes, .. }) => *len_bytes,
        }
    }
}

/// A piece as decoded: inline bytes are borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodedPiece<'a> {
    Inline(&'a [u8]),
    DataFile(DataFile),
}

/// Why a record could not be encoded; the append fails and nothing is
/// installed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "a body of {len_bytes} bytes was neither staged nor small enough to go inline \
         (at most {INLINE_CONTENT_MAX_BYTES} bytes)"
    )]
    NotStaged { len_bytes: usize },
    #[error("the record is {len_bytes} bytes; a log record holds at most {MAX_RECORD_LEN_BYTES}")]
    TooLarge { len_bytes: usize },
    #[error("lockwell-core's {0} has a variant this log format cannot store")]
    UnknownVariant(&'static str),
}

/// Why bytes are not a record.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the record ends early")]
    Truncated,
    #[error("{0} bytes follow the record")]
    TrailingBytes(usize),
    #[error("unknown {what} code {code}")]
    UnknownCode { what: &'static str, code: u8 },
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },
    #[error("loading a body failed: {0}")]
    Content(String),
}

/// What a log file's bytes hold, frame by frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole, CRC-valid payload, and the frame's length with its header.
    Complete { payload: &'a [u8], len_bytes: usize },
    /// The bytes end inside the frame: a write the crash cut short.
    Torn,
    /// The CRC does not match, or the length is impossible.
    Corrupt,
}

/// Reads the frame at the start of `bytes` (which must not be empty).
#[must_use]
pub fn read_frame(bytes: &[u8]) -> Frame<'_> {
    let Some((header, rest)) = bytes.split_first_chunk::<FRAME_HEADER_LEN_BYTES>() else {
        return Frame::Torn;
    };
    let len_field: [u8; 4] = header[..4].try_into().expect("four bytes");
    let crc_field: [u8; 4] = header[4..].try_into().expect("four bytes");
    let len_bytes = u32::from_le_bytes(len_field) as usize;
    if len_bytes > MAX_RECORD_LEN_BYTES {
        return Frame::Corrupt;
    }
    let Some(payload) = rest.get(..len_bytes) else {
        return Frame::Torn;
    };
    if frame_crc(len_field, payload) != u32::from_le_bytes(crc_field) {
        return Frame::Corrupt;
    }
    Frame::Complete {
        payload,
        len_bytes: FRAME_HEADER_LEN_BYTES + len_bytes,
    }
}

fn frame_crc(len_field: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len_field), payload)
}

/// The log header.
#[must_use]
pub fn log_header() -> [u8; LOG_HEADER_LEN_BYTES] {
    let mut header = [0; LOG_HEADER_LEN_BYTES];
    header[..LOG_MAGIC.len()].copy_from_slice(&LOG_MAGIC);
    header[LOG_MAGIC.len()..].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    header
}

/// Encodes `record` as one frame. `layout` says how a body is stored when
/// it is not simply inline (`None`: inline, if small enough).
pub fn encode_frame(record: &LogRecord, layout: &LayoutOf<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer {
        out: vec![0; FRAME_HEADER_LEN_BYTES],
        layout,
    };
    writer.record(record)?;
    let mut frame = writer.out;
    let len_bytes = frame.len() - FRAME_HEADER_LEN_BYTES;
    if len_bytes > MAX_RECORD_LEN_BYTES {
        return Err(EncodeError::TooLarge { len_bytes });
    }
    let len_field = u32::try_from(len_bytes)
        .expect("bounded by MAX_RECORD_LEN_BYTES")
        .to_le_bytes();
    let crc = frame_crc(len_field, &frame[FRAME_HEADER_LEN_BYTES..]);
    frame[..4].copy_from_slice(&len_field);
    frame[4..FRAME_HEADER_LEN_BYTES].copy_from_slice(&crc.to_le_bytes());
    Ok(frame)
}

/// Decodes one payload. `load` turns a body's pieces into its bytes.
pub fn decode_record(payload: &[u8], load: &mut LoadContent<'_>) -> Result<LogRecord, DecodeError> {
    let mut reader = Reader {
        bytes: payload,
        load,
    };
    let record = reader.record()?;
    if !reader.bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(reader.bytes.len()));
    }
    Ok(record)
}

/// Joins decoded pieces whose data files are unavailable: for fuzzing and
/// tests, where a data file's bytes are its id repeated.
pub fn load_without_files(pieces: &[DecodedPiece<'_>]) -> Result<Arc<[u8]>, DecodeError> {
    let mut bytes = Vec::new();
    for piece in pieces {
        match piece {
            DecodedPiece::Inline(inline) => bytes.extend_from_slice(inline),
            DecodedPiece::DataFile(file) => {
                let len = usize::try_from(file.len_bytes)
                    .ok()
                    .filter(|&len| len <= MAX_RECORD_LEN_BYTES)
                    .ok_or_else(|| DecodeError::Content("data file too large to fake".into()))?;
                bytes.resize(bytes.len() + len, file.id.to_le_bytes()[0]);
            }
        }
    }
    Ok(bytes.into())
}

struct Writer<'a> {
    out: Vec<u8>,
    layout: &'a LayoutOf<'a>,
}

impl Writer<'_> {
    fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = u32::try_from(len).map_err(|_| EncodeError::TooLarge { len_bytes: len })?;
        self.u32(len);
        Ok(())
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.len(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn str(&mut self, text: &str) -> Result<(), EncodeError> {
        self.bytes(text.as_bytes())
    }

    fn flag(&mut self, present: bool) {
        self.u8(u8::from(present));
    }

    fn code<T: PartialEq>(
        &mut self,
        table: &[T],
        value: &T,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        let code = table
            .iter()
            .position(|known| known == value)
            .ok_or(EncodeError::UnknownVariant(what))?;
        self.u8(u8::try_from(code).expect("tables are short"));
        Ok(())
    }

    fn path(&mut self, path: &ObjectPath) -> Result<(), EncodeError> {
        self.str(path.bucket.as_str())?;
        self.str(path.key.as_str())
    }

    fn upload_id(&mut self, upload_id: &UploadId) {
        self.u64(upload_id.created_ms);
        self.u64(upload_id.counter);
    }

    fn digest(&mut self, digest: &Digest) -> Result<(), EncodeError> {
        self.code(&ALGORITHMS, &digest.algorithm(), "ChecksumAlgorithm")?;
        self.bytes(digest.as_bytes())
    }

    fn digests(&mut self, digests: &Digests) -> Result<(), EncodeError> {
        self.u8(u8::try_from(digests.len()).expect("one digest per algorithm"));
        digests.iter().try_for_each(|digest| self.digest(digest))
    }

    fn metadata(&mut self, metadata: &ObjectMetadata) -> Result<(), EncodeError> {
        self.flag(metadata.content_type.is_some());
        if let Some(content_type) = &metadata.content_type {
            self.str(content_type)?;
        }
        self.len(metadata.user_metadata.len())?;
        for (name, value) in &metadata.user_metadata {
            self.str(name)?;
            self.str(value)?;
        }
        Ok(())
    }

    fn content(&mut self, content: &Arc<[u8]>) -> Result<(), EncodeError> {
        let pieces = match (self.layout)(content) {
            Some(pieces) => pieces,
            None if content.len() <= INLINE_CONTENT_MAX_BYTES => Arc::new([Piece::Inline {
                len_bytes: content.len() as u64,
            }]),
            None => {
                return Err(EncodeError::NotStaged {
                    len_bytes: content.len(),
                });
            }
        };
        debug_assert_eq!(
            pieces.iter().map(Piece::len_bytes).sum::<u64>(),
            content.len() as u64,
            "a layout covers its body exactly"
        );
        self.len(pieces.len())?;
        let mut offset = 0;
        for piece in pieces.iter() {
            let len = usize::try_from(piece.len_bytes()).expect("within the body");
            match piece {
                Piece::Inline { .. } => {
                    self.u8(tag::PIECE_INLINE);
                    self.bytes(&content[offset..offset + len])?;
                }
                Piece::DataFile(file) => {
                    self.u8(tag::PIECE_DATA_FILE);
                    self.u64(file.id);
                    self.u64(file.len_bytes);
                    self.u32(file.crc32c);
                }
            }
            offset += len;
        }
        Ok(())
    }

    fn etag_condition(&mut self, condition: Option<&ETagCondition>) -> Result<(), EncodeError> {
        match condition {
            None => self.u8(0),
            Some(ETagCondition::Any) => self.u8(tag::CONDITION_ANY),
            Some(ETagCondition::OneOf(tags)) => {
                self.u8(tag::CONDITION_ONE_OF);
                self.u8(u8::try_from(tags.len()).expect("at most MAX_ETAGS_PER_CONDITION"));
                for tag in tags {
                    self.flag(tag.weak);
                    self.str(tag.etag.as_str())?;
                }
            }
        }
        Ok(())
    }

    fn committed(&mut self, committed: &Committed) -> Result<(), EncodeError> {
        self.str(committed.etag.as_str())?;
        self.u64(committed.sequence);
        self.u64(committed.last_modified_ms);
        Ok(())
    }

    fn rejected(&mut self, rejected: &Rejected) -> Result<(), EncodeError> {
        match rejected {
            Rejected::PreconditionFailed { rule, condition } => {
                self.u8(tag::PRECONDITION_FAILED);
                self.code(&RULES, rule, "Rule")?;
                self.code(&CONDITIONS, condition, "Condition")
            }
            Rejected::NotFound { rule } => {
                self.u8(tag::NOT_FOUND);
                self.code(&RULES, rule, "Rule")
            }
            Rejected::NotModified { condition } => {
                self.u8(tag::NOT_MODIFIED);
                self.code(&CONDITIONS, condition, "Condition")
            }
            _ => Err(EncodeError::UnknownVariant("Rejected")),
        }
    }

    fn idempotency(&mut self, record: &IdempotencyRecord) -> Result<(), EncodeError> {
        self.str(record.scope.principal.as_str())?;
        self.str(record.scope.idempotency_key.as_str())?;
        self.path(&record.fingerprint.path)?;
        self.digest(&record.fingerprint.payload_digest)?;
        self.etag_condition(record.fingerprint.conditions.if_match.as_ref())?;
        self.etag_condition(record.fingerprint.conditions.if_none_match.as_ref())?;
        match &record.outcome {
            Ok(committed) => {
                self.flag(true);
                self.committed(committed)?;
            }
            Err(rejected) => {
                self.flag(false);
                self.rejected(rejected)?;
            }
        }
        self.u64(record.completed_at_ms);
        Ok(())
    }

    fn version(&mut self, version: &ObjectVersion) -> Result<(), EncodeError> {
        self.content(&version.content)?;
        self.str(version.etag.as_str())?;
        self.digests(&version.checksums)?;
        self.metadata(&version.metadata)?;
        self.u64(version.last_modified_ms);
        self.u64(version.sequence);
        Ok(())
    }

    fn commit(&mut self, record: &CommitRecord) -> Result<(), EncodeError> {
        match record {
            CommitRecord::Install {
                path,
                version,
                idempotency,
            } => {
                self.u8(tag::INSTALL);
                self.path(path)?;
                self.version(version)?;
                self.flag(idempotency.is_some());
                if let Some(idempotency) = idempotency {
                    self.idempotency(idempotency)?;
                }
            }
            CommitRecord::Remove {
                path,
                removed_sequence,
            } => {
                self.u8(tag::REMOVE);
                self.path(path)?;
                self.u64(*removed_sequence);
            }
            CommitRecord::IdempotentRejection(idempotency) => {
                self.u8(tag::IDEMPOTENT_REJECTION);
                self.idempotency(idempotency)?;
            }
            _ => return Err(EncodeError::UnknownVariant("CommitRecord")),
        }
        Ok(())
    }

    fn record(&mut self, record: &LogRecord) -> Result<(), EncodeError> {
        match record {
            LogRecord::Commit {
                record,
                completes_upload,
            } => {
                self.u8(tag::COMMIT);
                self.commit(record)?;
                self.flag(completes_upload.is_some());
                if let Some(upload_id) = completes_upload {
                    self.upload_id(upload_id);
                }
            }
            LogRecord::BucketCreated {
                bucket,
                owner,
                created_ms,
            } => {
                self.u8(tag::BUCKET_CREATED);
                self.str(bucket.as_str())?;
                self.str(owner.as_str())?;
                self.u64(*created_ms);
            }
            LogRecord::BucketDeleted { bucket } => {
                self.u8(tag::BUCKET_DELETED);
                self.str(bucket.as_str())?;
            }
            LogRecord::UploadCreated(created) => {
                self.u8(tag::UPLOAD_CREATED);
                self.upload_id(&created.upload_id);
                self.path(&created.path)?;
                self.str(created.initiator.as_str())?;
                self.metadata(&created.metadata)?;
                self.flag(created.checksum_algorithm.is_some());
                if let Some(algorithm) = &created.checksum_algorithm {
                    self.code(&ALGORITHMS, algorithm, "ChecksumAlgorithm")?;
                }
                self.u64(created.initiated_ms);
            }
            LogRecord::PartUploaded(part) => {
                self.u8(tag::PART_UPLOADED);
                self.upload_id(&part.upload_id);
                self.u32(part.part_number);
                self.out.extend_from_slice(&part.md5);
                self.digests(&part.checksums)?;
                self.content(&part.content)?;
                self.u64(part.uploaded_ms);
            }
            LogRecord::UploadAborted { upload_id } => {
                self.u8(tag::UPLOAD_ABORTED);
                self.upload_id(upload_id);
            }
        }
        Ok(())
    }
}

fn invalid(what: &'static str, error: impl std::fmt::Display) -> DecodeError {
    DecodeError::Invalid {
        what,
        message: error.to_string(),
    }
}

struct Reader<'a, 'l> {
    bytes: &'a [u8],
    load: &'l mut LoadContent<'l>,
}

impl<'a> Reader<'a, '_> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let (taken, rest) = self
            .bytes
            .split_at_checked(len)
            .ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A count of items that each take at least one byte: never more than
    /// the bytes left, so a corrupt count cannot make us allocate.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let count = self.u32()? as usize;
        if count > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(count)
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|error| invalid(what, error))
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            code => Err(DecodeError::UnknownCode { what: "flag", code }),
        }
    }

    fn code<T: Copy>(&mut self, table: &[T], what: &'static str) -> Result<T, DecodeError> {
        let code = self.u8()?;
        table
            .get(usize::from(code))
            .copied()
            .ok_or(DecodeError::UnknownCode { what, code })
    }

    fn bucket(&mut self) -> Result<BucketName, DecodeError> {
        BucketName::parse(self.str("bucket name")?).map_err(|error| invalid("bucket name", error))
    }

    fn path(&mut self) -> Result<ObjectPath, DecodeError> {
        let bucket = self.bucket()?;
        let key = ObjectKey::parse(self.str("object key")?)
            .map_err(|error| invalid("object key", error))?;
        Ok(ObjectPath::new(bucket, key))
    }

    fn principal(&mut self) -> Result<Principal, DecodeError> {
        Ok(Principal::new(self.str("principal")?))
    }

    fn etag(&mut self) -> Result<ETag, DecodeError> {
        ETag::parse(self.str("ETag")?).map_err(|error| invalid("ETag", error))
    }

    fn upload_id(&mut self) -> Result<UploadId, DecodeError> {
        Ok(UploadId {
            created_ms: self.u64()?,
            counter: self.u64()?,
        })
    }

    fn digest(&mut self) -> Result<Digest, DecodeError> {
        let algorithm = self.code(&ALGORITHMS, "checksum algorithm")?;
        // lockwell-core builds digests from their base64 form only; the
        // detour costs a few bytes per digest, at recovery.
        Digest::from_base64(algorithm, &BASE64.encode(self.bytes()?))
            .map_err(|error| invalid("digest", error))
    }

    fn digests(&mut self) -> Result<Digests, DecodeError> {
        let count = self.u8()?;
        let mut digests = Digests::default();
        for _ in 0..count {
            if digests.insert(self.digest()?).is_some() {
                return Err(invalid("digests", "two digests of one algorithm"));
            }
        }
        Ok(digests)
    }

    fn metadata(&mut self) -> Result<ObjectMetadata, DecodeError> {
        let content_type = if self.flag()? {
            Some(self.str("content type")?.to_owned())
        } else {
            None
        };
        let mut metadata = ObjectMetadata {
            content_type,
            ..ObjectMetadata::default()
        };
        for _ in 0..self.count()? {
            let name = self.str("metadata name")?.to_owned();
            let value = self.str("metadata value")?.to_owned();
            if metadata.user_metadata.insert(name, value).is_some() {
                return Err(invalid("metadata", "a name twice"));
            }
        }
        Ok(metadata)
    }

    fn content(&mut self) -> Result<Arc<[u8]>, DecodeError> {
        let count = self.count()?;
        let mut pieces = Vec::with_capacity(count);
        for _ in 0..count {
            pieces.push(match self.u8()? {
                tag::PIECE_INLINE => DecodedPiece::Inline(self.bytes()?),
                tag::PIECE_DATA_FILE => DecodedPiece::DataFile(DataFile {
                    id: self.u64()?,
                    len_bytes: self.u64()?,
                    crc32c: self.u32()?,
                }),
                code => {
                    return Err(DecodeError::UnknownCode {
                        what: "piece",
                        code,
                    });
                }
            });
        }
        (self.load)(&pieces)
    }

    fn etag_condition(&mut self) -> Result<Option<ETagCondition>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            tag::CONDITION_ANY => Ok(Some(ETagCondition::Any)),
            tag::CONDITION_ONE_OF => {
                let count = usize::from(self.u8()?);
                if !(1..=MAX_ETAGS_PER_CONDITION).contains(&count) {
                    return Err(invalid("condition", format!("{count} entity tags")));
                }
                let tags = (0..count)
                    .map(|_| {
                        Ok(RequestETag {
                            weak: self.flag()?,
                            etag: self.etag()?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                Ok(Some(ETagCondition::OneOf(tags)))
            }
            code => Err(DecodeError::UnknownCode {
                what: "condition",
                code,
            }),
        }
    }

    fn committed(&mut self) -> Result<Committed, DecodeError> {
        Ok(Committed {
            etag: self.etag()?,
            sequence: self.u64()?,
            last_modified_ms: self.u64()?,
        })
    }

    fn rejected(&mut self) -> Result<Rejected, DecodeError> {
        match self.u8()? {
            tag::PRECONDITION_FAILED => Ok(Rejected::PreconditionFailed {
                rule: self.code(&RULES, "rule")?,
                condition: self.code(&CONDITIONS, "condition")?,
            }),
            tag::NOT_FOUND => Ok(Rejected::NotFound {
                rule: self.code(&RULES, "rule")?,
            }),
            tag::NOT_MODIFIED => Ok(Rejected::NotModified {
                condition: self.code(&CONDITIONS, "condition")?,
            }),
            code => Err(DecodeError::UnknownCode {
                what: "rejection",
                code,
            }),
        }
    }

    fn idempotency(&mut self) -> Result<IdempotencyRecord, DecodeError> {
        let principal = self.principal()?;
        let idempotency_key = IdempotencyKey::parse(self.str("idempotency key")?)
            .map_err(|error| invalid("idempotency key", error))?;
        let fingerprint = Fingerprint {
            path: self.path()?,
            payload_digest: self.digest()?,
            conditions: WriteConditions {
                if_match: self.etag_condition()?,
                if_none_match: self.etag_condition()?,
            },
        };
        let outcome = if self.flag()? {
            Ok(self.committed()?)
        } else {
            Err(self.rejected()?)
        };
        Ok(IdempotencyRecord {
            scope: IdempotencyScope {
                principal,
                idempotency_key,
            },
            fingerprint,
            outcome,
            completed_at_ms: self.u64()?,
        })
    }

    fn version(&mut self) -> Result<ObjectVersion, DecodeError> {
        Ok(ObjectVersion {
            content: self.content()?,
            etag: self.etag()?,
            checksums: self.digests()?,
            metadata: self.metadata()?,
            last_modified_ms: self.u64()?,
            sequence: self.u64()?,
        })
    }

    fn commit(&mut self) -> Result<CommitRecord, DecodeError> {
        match self.u8()? {
            tag::INSTALL => {
                let path = self.path()?;
                let version = Arc::new(self.version()?);
                let idempotency = if self.flag()? {
                    Some(self.idempotency()?)
                } else {
                    None
                };
                Ok(CommitRecord::Install {
                    path,
                    version,
                    idempotency,
                })
            }
            tag::REMOVE => Ok(CommitRecord::Remove {
                path: self.path()?,
                removed_sequence: self.u64()?,
            }),
            tag::IDEMPOTENT_REJECTION => Ok(CommitRecord::IdempotentRejection(self.idempotency()?)),
            code => Err(DecodeError::UnknownCode {
                what: "commit record",
                code,
            }),
        }
    }

    fn record(&mut self) -> Result<LogRecord, DecodeError> {
        match self.u8()? {
            tag::COMMIT => {
                let record = self.commit()?;
                let completes_upload = if self.flag()? {
                    Some(self.upload_id()?)
                } else {
                    None
                };
                Ok(LogRecord::Commit {
                    record,
                    completes_upload,
                })
            }
            tag::BUCKET_CREATED => Ok(LogRecord::BucketCreated {
                bucket: self.bucket()?,
                owner: self.principal()?,
                created_ms: self.u64()?,
            }),
            tag::BUCKET_DELETED => Ok(LogRecord::BucketDeleted {
                bucket: self.bucket()?,
            }),
            tag::UPLOAD_CREATED => Ok(LogRecord::UploadCreated(UploadCreated {
                upload_id: self.upload_id()?,
                path: self.path()?,
                initiator: self.principal()?,
                metadata: self.metadata()?,
                checksum_algorithm: if self.flag()? {
                    Some(self.code(&ALGORITHMS, "checksum algorithm")?)
                } else {
                    None
                },
                initiated_ms: self.u64()?,
            })),
            tag::PART_UPLOADED => Ok(LogRecord::PartUploaded(PartUploaded {
                upload_id: self.upload_id()?,
                part_number: self.u32()?,
                md5: self.array()?,
                checksums: self.digests()?,
                content: self.content()?,
                uploaded_ms: self.u64()?,
            })),
            tag::UPLOAD_ABORTED => Ok(LogRecord::UploadAborted {
                upload_id: self.upload_id()?,
            }),
            code => Err(DecodeError::UnknownCode {
                what: "log record",
                code,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use lockwell_core::checksum::digest;
    use lockwell_core::object::NewObject;
    use proptest::prelude::*;

    use super::*;

    fn path(key: &str) -> ObjectPath {
        ObjectPath::new(
            BucketName::parse("bucket").unwrap(),
            ObjectKey::parse(key).unwrap(),
        )
    }

    fn version(content: &[u8], sequence: u64) -> Arc<ObjectVersion> {
        let object = NewObject::single_part(content);
        let mut checksums = Digests::default();
        checksums.insert(digest(ChecksumAlgorithm::Crc32c, content));
        checksums.insert(digest(ChecksumAlgorithm::Sha256, content));
        Arc::new(ObjectVersion {
            content: object.content,
            etag: object.etag,
            checksums,
            metadata: ObjectMetadata {
                content_type: Some("text/plain".to_owned()),
                user_metadata: [("colour".to_owned(), "blue".to_owned())].into(),
            },
            last_modified_ms: 1_700_000_000_000,
            sequence,
        })
    }

    fn idempotency(outcome: Result<Committed, Rejected>) -> IdempotencyRecord {
        IdempotencyRecord {
            scope: IdempotencyScope {
                principal: Principal::new("alice"),
                idempotency_key: IdempotencyKey::parse("op-1").unwrap(),
            },
            fingerprint: Fingerprint {
                path: path("k"),
                payload_digest: digest(ChecksumAlgorithm::Sha256, b"v"),
                conditions: WriteConditions {
                    if_match: Some(ETagCondition::OneOf(vec![
                        RequestETag {
                            etag: ETag::of_content(b"a"),
                            weak: false,
                        },
                        RequestETag {
                            etag: ETag::parse("abc-2").unwrap(),
                            weak: true,
                        },
                    ])),
                    if_none_match: Some(ETagCondition::Any),
                },
            },
            outcome,
            completed_at_ms: 7,
        }
    }

    fn upload_id() -> UploadId {
        UploadId {
            created_ms: 5,
            counter: 9,
        }
    }

    /// One record of every kind and every nested variant.
    fn every_kind_of_record() -> Vec<LogRecord> {
        let installed = version(b"hello", 3);
        let mut records = vec![
            LogRecord::Commit {
                record: CommitRecord::Install {
                    path: path("k"),
                    version: Arc::clone(&installed),
                    idempotency: None,
                },
                completes_upload: None,
            },
            LogRecord::Commit {
                record: CommitRecord::Install {
                    path: path("k"),
                    version: version(b"", 4),
                    idempotency: Some(idempotency(Ok(Committed::from(&*installed)))),
                },
                completes_upload: Some(upload_id()),
            },
            LogRecord::Commit {
                record: CommitRecord::Remove {
                    path: path("k"),
                    removed_sequence: 4,
                },
                completes_upload: None,
            },
            LogRecord::BucketCreated {
                bucket: BucketName::parse("bucket").unwrap(),
                owner: Principal::new("alice"),
                created_ms: 11,
            },
            LogRecord::BucketDeleted {
                bucket: BucketName::parse("bucket").unwrap(),
            },
            LogRecord::UploadCreated(UploadCreated {
                upload_id: upload_id(),
                path: path("big"),
                initiator: Principal::new("alice"),
                metadata: ObjectMetadata::default(),
                checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
                initiated_ms: 12,
            }),
            LogRecord::UploadCreated(UploadCreated {
                upload_id: upload_id(),
                path: path("big"),
                initiator: Principal::new("alice"),
                metadata: ObjectMetadata::default(),
                checksum_algorithm: None,
                initiated_ms: 12,
            }),
            LogRecord::PartUploaded(PartUploaded {
                upload_id: upload_id(),
                part_number: 10_000,
                md5: [7; 16],
                checksums: installed.checksums.clone(),
                content: Arc::from(&b"part bytes"[..]),
                uploaded_ms: 13,
            }),
            LogRecord::UploadAborted {
                upload_id: upload_id(),
            },
        ];
        let rejections =
            RULES
                .iter()
                .zip(CONDITIONS.iter().cycle())
                .flat_map(|(&rule, &condition)| {
                    [
                        Rejected::PreconditionFailed { rule, condition },
                        Rejected::NotFound { rule },
                        Rejected::NotModified { condition },
                    ]
                });
        records.extend(rejections.map(|rejected| LogRecord::Commit {
            record: CommitRecord::IdempotentRejection(idempotency(Err(rejected))),
            completes_upload: None,
        }));
        records
    }

    fn inline(_: &Arc<[u8]>) -> Option<Arc<[Piece]>> {
        None
    }

    fn payload(frame: &[u8]) -> &[u8] {
        match read_frame(frame) {
            Frame::Complete { payload, len_bytes } => {
                assert_eq!(len_bytes, frame.len());
                payload
            }
            other => panic!("a fresh frame reads as {other:?}"),
        }
    }

    #[test]
    fn every_kind_of_record_round_trips() {
        for record in every_kind_of_record() {
            let frame = encode_frame(&record, &inline).unwrap();
            let decoded = decode_record(payload(&frame), &mut load_without_files).unwrap();
            assert_eq!(decoded, record);
        }
    }

    #[test]
    fn tables_hold_every_variant_once() {
        for algorithm in ChecksumAlgorithm::ALL {
            assert_eq!(
                ALGORITHMS
                    .iter()
                    .filter(|&&known| known == algorithm)
                    .count(),
                1,
                "{algorithm}"
            );
        }
        for (index, rule) in RULES.iter().enumerate() {
            assert!(!RULES[index + 1..].contains(rule), "{rule}");
        }
        for (index, condition) in CONDITIONS.iter().enumerate() {
            assert!(
                !CONDITIONS[index + 1..].contains(condition),
                "{condition:?}"
            );
        }
    }

    #[test]
    fn large_bodies_are_written_as_their_layout_says() {
        let content: Arc<[u8]> = vec![1; INLINE_CONTENT_MAX_BYTES + 3].into();
        let file = DataFile {
            id: 17,
            len_bytes: INLINE_CONTENT_MAX_BYTES as u64,
            crc32c: 0xDEAD_BEEF,
        };
        let layout: Arc<[Piece]> =
            Arc::new([Piece::DataFile(file), Piece::Inline { len_bytes: 3 }]);
        let record = LogRecord::PartUploaded(PartUploaded {
            upload_id: upload_id(),
            part_number: 1,
            md5: [0; 16],
            checksums: Digests::default(),
            content: Arc::clone(&content),
            uploaded_ms: 0,
        });
        let frame = encode_frame(&record, &|body| {
            Arc::ptr_eq(body, &content).then(|| Arc::clone(&layout))
        })
        .unwrap();
        assert!(
            frame.len() < 200,
            "the data file's bytes are not in the record"
        );
        let mut seen = Vec::new();
        decode_record(payload(&frame), &mut |pieces| {
            seen.extend(pieces.iter().map(|piece| format!("{piece:?}")));
            load_without_files(pieces)
        })
        .unwrap();
        let expected = [
            DecodedPiece::DataFile(file),
            DecodedPiece::Inline(&[1, 1, 1]),
        ]
        .map(|piece| format!("{piece:?}"));
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_large_body_that_was_not_staged_is_refused() {
        let at_limit: Arc<[u8]> = vec![0; INLINE_CONTENT_MAX_BYTES].into();
        let over_limit: Arc<[u8]> = vec![0; INLINE_CONTENT_MAX_BYTES + 1].into();
        let part = |content| {
            LogRecord::PartUploaded(PartUploaded {
                upload_id: upload_id(),
                part_number: 1,
                md5: [0; 16],
                checksums: Digests::default(),
                content,
                uploaded_ms: 0,
            })
        };
        assert!(encode_frame(&part(at_limit), &inline).is_ok());
        assert!(matches!(
            encode_frame(&part(over_limit), &inline),
            Err(EncodeError::NotStaged { len_bytes }) if len_bytes == INLINE_CONTENT_MAX_BYTES + 1
        ));
    }

    #[test]
    fn every_prefix_of_a_frame_is_torn() {
        let frame = encode_frame(&every_kind_of_record()[1], &inline).unwrap();
        for len in 0..frame.len() {
            assert_eq!(
                read_frame(&frame[..len]),
                Frame::Torn,
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let frame = encode_frame(&every_kind_of_record()[1], &inline).unwrap();
        for position in 0..frame.len() {
            for bit in 0..8 {
                let mut damaged = frame.clone();
                damaged[position] ^= 1 << bit;
                assert!(
                    !matches!(read_frame(&damaged), Frame::Complete { .. }),
                    "bit {bit} of byte {position}"
                );
            }
        }
    }

    #[test]
    fn every_prefix_of_a_payload_fails_to_decode() {
        for record in every_kind_of_record() {
            let frame = encode_frame(&record, &inline).unwrap();
            let payload = payload(&frame);
            for len in 0..payload.len() {
                assert!(
                    decode_record(&payload[..len], &mut load_without_files).is_err(),
                    "{record:?} cut at {len}"
                );
            }
            let mut longer = payload.to_vec();
            longer.push(0);
            assert_eq!(
                decode_record(&longer, &mut load_without_files),
                Err(DecodeError::TrailingBytes(1))
            );
        }
    }

    #[test]
    fn a_length_beyond_the_limit_is_corrupt_not_torn() {
        let mut frame = vec![0; FRAME_HEADER_LEN_BYTES];
        let too_long = u32::try_from(MAX_RECORD_LEN_BYTES + 1).unwrap();
        frame[..4].copy_from_slice(&too_long.to_le_bytes());
        assert_eq!(read_frame(&frame), Frame::Corrupt);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_frame(&bytes);
            let _ = decode_record(&bytes, &mut load_without_files);
        }

        #[test]
        fn mutated_records_never_panic_the_decoder(
            index in 0..9_usize,
            position in any::<prop::sample::Index>(),
            value in any::<u8>(),
        ) {
            let record = &every_kind_of_record()[index];
            let frame = encode_frame(record, &inline).unwrap();
            let mut payload = payload(&frame).to_vec();
            let position = position.index(payload.len());
            payload[position] = value;
            let _ = decode_record(&payload, &mut load_without_files);
        }
    }
}
