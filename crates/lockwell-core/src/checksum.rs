//! Checksum engines (SPEC K1, K2, K5).
//!
//! The server computes every requested checksum plus the MD5 ETag in one
//! pass over the body (DESIGN.md, write path step 2) with [`MultiHasher`],
//! verifies supplied digests before commit with [`Digests::verify`] (K2), and
//! derives the object checksum of a multipart upload from its parts with
//! [`multipart_checksum`] (K5).
//!
//! Digests travel as base64 of the big-endian digest bytes, which is what the
//! `x-amz-checksum-*` headers and the native API's `checksums` map carry (K1).
//! The crate behind each algorithm was chosen by measurement; the figures sit
//! on the [`ChecksumAlgorithm`] variants.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::Digest as _;

/// The longest digest of any supported algorithm (SHA-256).
pub const MAX_DIGEST_LEN_BYTES: usize = 32;

/// The longest base64 text [`Digest::from_base64`] decodes. Longer input is
/// rejected before decoding, so a hostile header cannot make us decode (or
/// allocate for) more than a few bytes. 44 characters encode SHA-256; the
/// slack lets a slightly-too-long value still get a precise length error.
pub const MAX_DIGEST_BASE64_LEN_CHARS: usize = 64;

/// Bytes decoded from [`MAX_DIGEST_BASE64_LEN_CHARS`] characters at most.
const BASE64_SCRATCH_LEN_BYTES: usize = MAX_DIGEST_BASE64_LEN_CHARS / 4 * 3;

/// S3's limit on the number of parts of a multipart upload; K5 combines at
/// most this many part checksums.
pub const MAX_MULTIPART_PARTS: usize = 10_000;

/// A checksum algorithm of SPEC K1, plus MD5 for the ETag (E1).
///
/// Ordered in declaration order; that order is the order of [`Digests`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32/ISO-HDLC (the zlib/Ethernet CRC), via `crc-fast`.
    Crc32,
    /// CRC-32/ISCSI (Castagnoli), via `crc-fast`.
    Crc32c,
    /// CRC-64/NVME, via `crc-fast`.
    Crc64Nvme,
    /// SHA-1, via RustCrypto `sha1` (SHA-NI through `cpufeatures`).
    Sha1,
    /// SHA-256, via RustCrypto `sha2` (SHA-NI through `cpufeatures`).
    Sha256,
    /// MD5, via RustCrypto `md-5`. Not an S3 checksum header: it is the
    /// single-part ETag (E1) and `Content-MD5`.
    Md5,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in [`Ord`] order.
    pub const ALL: [Self; 6] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
        Self::Md5,
    ];

    /// Lowercase name, as in the native API's `checksums` map and in S3's
    /// header suffixes.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "crc32",
            Self::Crc32c => "crc32c",
            Self::Crc64Nvme => "crc64nvme",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
        }
    }

    /// The S3 header that carries this checksum (K1). MD5 has none: it
    /// travels as `Content-MD5` and is the ETag.
    #[must_use]
    pub const fn s3_header_name(self) -> Option<&'static str> {
        match self {
            Self::Crc32 => Some("x-amz-checksum-crc32"),
            Self::Crc32c => Some("x-amz-checksum-crc32c"),
            Self::Crc64Nvme => Some("x-amz-checksum-crc64nvme"),
            Self::Sha1 => Some("x-amz-checksum-sha1"),
            Self::Sha256 => Some("x-amz-checksum-sha256"),
            Self::Md5 => None,
        }
    }

    /// Length of the raw (not base64) digest.
    #[must_use]
    pub const fn digest_len_bytes(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// How S3 derives the object checksum of a multipart upload from its
    /// parts (K5). `None` for MD5, whose multipart form is the ETag rule of
    /// E1 (owned by the object model).
    #[must_use]
    pub const fn multipart_checksum_type(self) -> Option<MultipartChecksumType> {
        match self {
            Self::Crc32 | Self::Crc32c | Self::Crc64Nvme => Some(MultipartChecksumType::FullObject),
            Self::Sha1 | Self::Sha256 => Some(MultipartChecksumType::Composite),
            Self::Md5 => None,
        }
    }

    /// The `crc-fast` parameters of a CRC algorithm.
    const fn crc_fast_algorithm(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Self::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Self::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Self::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Self::Sha1 | Self::Sha256 | Self::Md5 => None,
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A checksum algorithm name that Lockwell does not know (B1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown checksum algorithm {name:?} (known: crc32, crc32c, crc64nvme, sha1, sha256, md5)")]
pub struct UnknownAlgorithm {
    /// The name as given.
    pub name: String,
}

impl FromStr for ChecksumAlgorithm {
    type Err = UnknownAlgorithm;

    /// Case-insensitive: S3's `x-amz-checksum-algorithm` says `CRC32C`, the
    /// native API and header suffixes say `crc32c`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownAlgorithm {
                name: name.to_owned(),
            })
    }
}

/// The two ways S3 derives a multipart object's checksum (K5); the values
/// of its `x-amz-checksum-type` header.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MultipartChecksumType {
    /// The checksum of the whole object, as if uploaded in one part; CRCs
    /// combine arithmetically from the part CRCs and lengths.
    FullObject,
    /// The checksum of the concatenated raw part checksums, shown as
    /// `base64-N` for N parts.
    Composite,
}

impl MultipartChecksumType {
    /// The `x-amz-checksum-type` header value.
    #[must_use]
    pub const fn s3_name(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }
}

/// A computed or supplied digest: its algorithm and raw big-endian bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: ChecksumAlgorithm,
    /// The first `algorithm.digest_len_bytes()` bytes are the digest; the
    /// rest stay zero so that derived equality is digest equality.
    bytes: [u8; MAX_DIGEST_LEN_BYTES],
}

/// Why a base64 digest was rejected (B1: 400 with a clear message).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    /// Longer than [`MAX_DIGEST_BASE64_LEN_CHARS`]; not decoded at all.
    #[error(
        "{algorithm} checksum is {len_chars} characters long; a base64 {algorithm} digest has {expected_len_chars}"
    )]
    TooLong {
        /// The algorithm the digest was meant for.
        algorithm: ChecksumAlgorithm,
        /// Length of the rejected text.
        len_chars: usize,
        /// Length of a well-formed base64 digest of `algorithm`.
        expected_len_chars: usize,
    },
    /// Not valid padded standard base64.
    #[error("{algorithm} checksum is not valid base64: {source}")]
    InvalidBase64 {
        /// The algorithm the digest was meant for.
        algorithm: ChecksumAlgorithm,
        /// What the decoder found.
        #[source]
        source: base64::DecodeError,
    },
    /// Valid base64 of the wrong number of bytes.
    #[error(
        "{algorithm} checksum decodes to {len_bytes} bytes; a {algorithm} digest has {expected_len_bytes}"
    )]
    WrongLength {
        /// The algorithm the digest was meant for.
        algorithm: ChecksumAlgorithm,
        /// Decoded length.
        len_bytes: usize,
        /// `algorithm.digest_len_bytes()`.
        expected_len_bytes: usize,
    },
}

impl Digest {
    /// A digest from raw bytes. Panics if `bytes` is not exactly
    /// `algorithm.digest_len_bytes()` long: callers hold engine output, so a
    /// wrong length is a bug, not input.
    fn from_raw(algorithm: ChecksumAlgorithm, raw: &[u8]) -> Self {
        assert_eq!(
            raw.len(),
            algorithm.digest_len_bytes(),
            "{algorithm} digest length"
        );
        let mut bytes = [0; MAX_DIGEST_LEN_BYTES];
        bytes[..raw.len()].copy_from_slice(raw);
        Self { algorithm, bytes }
    }

    /// A CRC digest from its register value: big-endian, as S3 encodes it.
    fn from_crc(algorithm: ChecksumAlgorithm, crc: u64) -> Self {
        match algorithm.digest_len_bytes() {
            4 => {
                let crc32 = u32::try_from(crc).expect("a 32-bit CRC fits in u32");
                Self::from_raw(algorithm, &crc32.to_be_bytes())
            }
            8 => Self::from_raw(algorithm, &crc.to_be_bytes()),
            len_bytes => unreachable!("{algorithm} is not a CRC ({len_bytes} bytes)"),
        }
    }

    /// The CRC register value of a CRC digest.
    fn crc_value(&self) -> u64 {
        self.as_bytes()
            .iter()
            .fold(0, |value, &byte| (value << 8) | u64::from(byte))
    }

    /// Parses the base64 text of an `x-amz-checksum-*` header or a native
    /// `checksums` entry (padded standard alphabet, as S3 sends).
    pub fn from_base64(algorithm: ChecksumAlgorithm, text: &str) -> Result<Self, DigestParseError> {
        if text.len() > MAX_DIGEST_BASE64_LEN_CHARS {
            return Err(DigestParseError::TooLong {
                algorithm,
                len_chars: text.len(),
                expected_len_chars: base64::encoded_len(algorithm.digest_len_bytes(), true)
                    .expect("digest lengths are tiny"),
            });
        }
        let mut scratch = [0; BASE64_SCRATCH_LEN_BYTES];
        let len_bytes = BASE64
            .decode_slice(text, &mut scratch)
            .map_err(|error| match error {
                base64::DecodeSliceError::DecodeError(source) => {
                    DigestParseError::InvalidBase64 { algorithm, source }
                }
                base64::DecodeSliceError::OutputSliceTooSmall => {
                    unreachable!("{MAX_DIGEST_BASE64_LEN_CHARS} base64 characters fit {BASE64_SCRATCH_LEN_BYTES} bytes")
                }
            })?;
        if len_bytes != algorithm.digest_len_bytes() {
            return Err(DigestParseError::WrongLength {
                algorithm,
                len_bytes,
                expected_len_bytes: algorithm.digest_len_bytes(),
            });
        }
        Ok(Self::from_raw(algorithm, &scratch[..len_bytes]))
    }

    /// The algorithm that produced this digest.
    #[must_use]
    pub const fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// Raw big-endian digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.digest_len_bytes()]
    }

    /// Base64 (padded, standard alphabet): the S3 header and native API form.
    #[must_use]
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.as_bytes())
    }

    /// Lowercase hex: the ETag form of MD5 (E1) and the form of published
    /// test vectors.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({}:{})", self.algorithm, self.to_hex())
    }
}

/// Digests keyed by algorithm, iterated in [`ChecksumAlgorithm`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    by_algorithm: BTreeMap<ChecksumAlgorithm, Digest>,
}

/// A supplied digest that the body does not match (K2: 400 BadDigest,
/// nothing stored).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestMismatch {
    /// The body's digest differs from the supplied one.
    #[error("{} checksum mismatch: supplied {}, computed {}", expected.algorithm(), expected.to_base64(), computed.to_base64())]
    Differs {
        /// What the request supplied.
        expected: Digest,
        /// What the body hashed to.
        computed: Digest,
    },
    /// The algorithm was not computed over the body, so nothing vouches for
    /// the supplied value. A server that hashes what it was asked to never
    /// returns this; it exists so that a missed algorithm fails closed.
    #[error("{} checksum was supplied but not computed over the body", expected.algorithm())]
    NotComputed {
        /// What the request supplied.
        expected: Digest,
    },
}

impl Digests {
    /// Adds a digest, returning the one it replaces for the same algorithm.
    pub fn insert(&mut self, digest: Digest) -> Option<Digest> {
        self.by_algorithm.insert(digest.algorithm(), digest)
    }

    /// The digest of `algorithm`, if present.
    #[must_use]
    pub fn get(&self, algorithm: ChecksumAlgorithm) -> Option<&Digest> {
        self.by_algorithm.get(&algorithm)
    }

    /// Digests in [`ChecksumAlgorithm`] order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Digest> {
        self.by_algorithm.values()
    }

    /// Number of digests held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_algorithm.len()
    }

    /// Whether no digest is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_algorithm.is_empty()
    }

    /// K2: checks every digest in `expected` against these computed ones;
    /// the first mismatch in algorithm order is the error.
    pub fn verify(&self, expected: &Self) -> Result<(), DigestMismatch> {
        for expected in expected.iter() {
            match self.get(expected.algorithm()) {
                Some(computed) if computed == expected => {}
                Some(computed) => {
                    return Err(DigestMismatch::Differs {
                        expected: *expected,
                        computed: *computed,
                    });
                }
                None => {
                    return Err(DigestMismatch::NotComputed {
                        expected: *expected,
                    });
                }
            }
        }
        Ok(())
    }
}

impl FromIterator<Digest> for Digests {
    fn from_iter<I: IntoIterator<Item = Digest>>(digests: I) -> Self {
        let mut collected = Self::default();
        for digest in digests {
            collected.insert(digest);
        }
        collected
    }
}

/// The running state of one algorithm.
#[derive(Clone)]
enum Engine {
    Crc {
        algorithm: ChecksumAlgorithm,
        state: crc_fast::Digest,
    },
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Md5(md5::Md5),
}

impl Engine {
    fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme => {
                let crc = algorithm
                    .crc_fast_algorithm()
                    .expect("CRC algorithms have crc-fast parameters");
                Self::Crc {
                    algorithm,
                    state: crc_fast::Digest::new(crc),
                }
            }
            ChecksumAlgorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            ChecksumAlgorithm::Md5 => Self::Md5(md5::Md5::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Crc { state, .. } => state.update(bytes),
            Self::Sha1(state) => state.update(bytes),
            Self::Sha256(state) => state.update(bytes),
            Self::Md5(state) => state.update(bytes),
        }
    }

    fn finalize(self) -> Digest {
        match self {
            Self::Crc { algorithm, state } => Digest::from_crc(algorithm, state.finalize()),
            Self::Sha1(state) => Digest::from_raw(ChecksumAlgorithm::Sha1, &state.finalize()),
            Self::Sha256(state) => Digest::from_raw(ChecksumAlgorithm::Sha256, &state.finalize()),
            Self::Md5(state) => Digest::from_raw(ChecksumAlgorithm::Md5, &state.finalize()),
        }
    }
}

/// Computes a set of digests over a byte stream in one pass (DESIGN.md,
/// write path step 2): feed each body chunk once with [`update`], read all
/// digests with [`finalize`].
///
/// [`update`]: MultiHasher::update
/// [`finalize`]: MultiHasher::finalize
#[derive(Clone)]
pub struct MultiHasher {
    /// One engine per distinct requested algorithm, in algorithm order.
    engines: Vec<Engine>,
}

impl MultiHasher {
    /// A hasher for `algorithms`; duplicates are computed once.
    #[must_use]
    pub fn new(algorithms: &[ChecksumAlgorithm]) -> Self {
        let mut distinct = algorithms.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        Self {
            engines: distinct.into_iter().map(Engine::new).collect(),
        }
    }

    /// Feeds the next bytes of the stream to every engine.
    pub fn update(&mut self, bytes: &[u8]) {
        for engine in &mut self.engines {
            engine.update(bytes);
        }
    }

    /// The digests of everything fed so far.
    #[must_use]
    pub fn finalize(self) -> Digests {
        self.engines.into_iter().map(Engine::finalize).collect()
    }
}

/// The digest of `bytes` under `algorithm`, in one call.
#[must_use]
pub fn digest(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> Digest {
    let mut engine = Engine::new(algorithm);
    engine.update(bytes);
    engine.finalize()
}

/// The checksum of one uploaded part, as verified at UploadPart (K5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartChecksum {
    /// The part's digest.
    pub digest: Digest,
    /// The part's length; full-object CRCs need it to combine.
    pub len_bytes: u64,
}

/// The object checksum of a completed multipart upload (K5).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartChecksum {
    /// Equal to the digest of the whole object (CRC types).
    FullObject(Digest),
    /// Digest of the concatenated raw part digests (SHA types).
    Composite {
        /// The digest of the concatenated part digests.
        digest: Digest,
        /// Number of parts, the `-N` suffix.
        part_count: usize,
    },
}

impl MultipartChecksum {
    /// Which rule produced this checksum.
    #[must_use]
    pub const fn checksum_type(&self) -> MultipartChecksumType {
        match self {
            Self::FullObject(_) => MultipartChecksumType::FullObject,
            Self::Composite { .. } => MultipartChecksumType::Composite,
        }
    }

    /// The `x-amz-checksum-*` header value: `base64` for a full-object
    /// checksum, `base64-N` for a composite one.
    #[must_use]
    pub fn to_s3_value(&self) -> String {
        match self {
            Self::FullObject(digest) => digest.to_base64(),
            Self::Composite { digest, part_count } => {
                format!("{}-{part_count}", digest.to_base64())
            }
        }
    }
}

/// Why part checksums could not be combined (K5).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartChecksumError {
    /// A multipart upload completes with at least one part.
    #[error("a multipart checksum needs at least one part")]
    NoParts,
    /// More than [`MAX_MULTIPART_PARTS`] parts.
    #[error("{part_count} parts exceed the limit of {MAX_MULTIPART_PARTS}")]
    TooManyParts {
        /// Number of parts given.
        part_count: usize,
    },
    /// A part's digest is of another algorithm than the upload's.
    #[error("part {part_number} has a {found} checksum; the upload uses {expected}")]
    PartAlgorithmMismatch {
        /// 1-based part number, as in S3.
        part_number: usize,
        /// The upload's algorithm.
        expected: ChecksumAlgorithm,
        /// The part's algorithm.
        found: ChecksumAlgorithm,
    },
    /// MD5 has no multipart checksum rule: its multipart form is the ETag
    /// (E1), computed by the object model.
    #[error("{algorithm} has no multipart checksum rule")]
    NoMultipartRule {
        /// The algorithm asked for.
        algorithm: ChecksumAlgorithm,
    },
}

/// K5: the object checksum of a multipart upload from its parts, in part
/// order. CRC types combine into the checksum of the whole object (what
/// hashing the concatenated part bodies would give); SHA types hash the
/// concatenated raw part digests and carry the part count.
pub fn multipart_checksum(
    algorithm: ChecksumAlgorithm,
    parts: &[PartChecksum],
) -> Result<MultipartChecksum, MultipartChecksumError> {
    let checksum_type = algorithm
        .multipart_checksum_type()
        .ok_or(MultipartChecksumError::NoMultipartRule { algorithm })?;
    if parts.is_empty() {
        return Err(MultipartChecksumError::NoParts);
    }
    if parts.len() > MAX_MULTIPART_PARTS {
        return Err(MultipartChecksumError::TooManyParts {
            part_count: parts.len(),
        });
    }
    if let Some((index, part)) = parts
        .iter()
        .enumerate()
        .find(|(_, part)| part.digest.algorithm() != algorithm)
    {
        return Err(MultipartChecksumError::PartAlgorithmMismatch {
            part_number: index + 1,
            expected: algorithm,
            found: part.digest.algorithm(),
        });
    }
    Ok(match checksum_type {
        MultipartChecksumType::FullObject => {
            let crc = algorithm
                .crc_fast_algorithm()
                .expect("full-object checksums are CRCs");
            let combined = parts[1..]
                .iter()
                .fold(parts[0].digest.crc_value(), |so_far, part| {
                    crc_fast::checksum_combine(crc, so_far, part.digest.crc_value(), part.len_bytes)
                });
            MultipartChecksum::FullObject(Digest::from_crc(algorithm, combined))
        }
        MultipartChecksumType::Composite => {
            let mut hasher = Engine::new(algorithm);
            for part in parts {
                hasher.update(part.digest.as_bytes());
            }
            MultipartChecksum::Composite {
                digest: hasher.finalize(),
                part_count: parts.len(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published check values: the "123456789" check of the CRC catalogue,
    /// FIPS 180 examples for SHA, the RFC 1321 suite for MD5.
    const KNOWN_ANSWERS: &[(ChecksumAlgorithm, &[u8], &str)] = &[
        (ChecksumAlgorithm::Crc32, b"123456789", "cbf43926"),
        (ChecksumAlgorithm::Crc32c, b"123456789", "e3069283"),
        (
            ChecksumAlgorithm::Crc64Nvme,
            b"123456789",
            "ae8b14860a799888",
        ),
        (
            ChecksumAlgorithm::Sha1,
            b"abc",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            ChecksumAlgorithm::Sha1,
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
        (
            ChecksumAlgorithm::Sha256,
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            ChecksumAlgorithm::Sha256,
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"",
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"a",
            "0cc175b9c0f1b6a831c399e269772661",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"abc",
            "900150983cd24fb0d6963f7d28e17f72",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"message digest",
            "f96b697d7cb7938d525a2f31aaf161d0",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            ChecksumAlgorithm::Md5,
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];

    #[test]
    fn k1_every_algorithm_matches_published_check_values() {
        for &(algorithm, input, expected_hex) in KNOWN_ANSWERS {
            assert_eq!(
                digest(algorithm, input).to_hex(),
                expected_hex,
                "{algorithm}"
            );
        }
        for algorithm in ChecksumAlgorithm::ALL {
            assert!(
                KNOWN_ANSWERS
                    .iter()
                    .any(|&(covered, ..)| covered == algorithm),
                "{algorithm} has no known-answer vector"
            );
        }
    }
}
