//! The object model: validated names, ETags and immutable object versions
//! (SPEC E1-E3).
//!
//! Names are parsed once at the edge ([`BucketName::parse`],
//! [`ObjectKey::parse`]) so that everything behind it holds only valid ones.
//! An [`ObjectVersion`] never changes after it is built; the store hands out
//! `Arc`s of whole versions, so a reader always gets the ETag, the bytes and
//! the metadata of one and the same write.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use md5::{Digest as _, Md5};

use crate::checksum::{Digests, MAX_MULTIPART_PARTS};

/// S3's shortest bucket name.
pub const MIN_BUCKET_NAME_LEN_BYTES: usize = 3;

/// S3's longest bucket name (it must fit one DNS label).
pub const MAX_BUCKET_NAME_LEN_BYTES: usize = 63;

/// Prefixes S3 reserves for its own bucket kinds (punycode DNS labels,
/// internal names, documentation examples).
pub const RESERVED_BUCKET_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];

/// Suffixes S3 reserves for access point aliases, Object Lambda,
/// Multi-Region Access Points, directory buckets and table buckets.
pub const RESERVED_BUCKET_SUFFIXES: [&str; 5] =
    ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// S3's longest object key, in bytes of its UTF-8 encoding.
pub const MAX_OBJECT_KEY_LEN_BYTES: usize = 1024;

/// The longest entity tag [`ETag::parse`] accepts, without quotes. Ours are
/// at most 38 characters (32 hex digits, `-` and a part count up to 10,000);
/// a longer tag from a client can never match one of them and would only
/// cost memory in an idempotency fingerprint.
pub const MAX_ETAG_LEN_BYTES: usize = 128;

/// Why a bucket name was rejected; each variant names the S3 naming rule it
/// breaks (B1: 400 InvalidBucketName with this message).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketNameError {
    #[error("bucket name is {len_bytes} bytes; it must be at least {MIN_BUCKET_NAME_LEN_BYTES}")]
    TooShort { len_bytes: usize },
    #[error("bucket name is {len_bytes} bytes; it must be at most {MAX_BUCKET_NAME_LEN_BYTES}")]
    TooLong { len_bytes: usize },
    #[error(
        "bucket name has {character:?} at byte {position_bytes}; only lowercase letters, digits, '.' and '-' are allowed"
    )]
    InvalidCharacter {
        character: char,
        position_bytes: usize,
    },
    #[error("bucket name must begin and end with a lowercase letter or a digit")]
    BadFirstOrLastCharacter,
    #[error("bucket name must not contain two adjacent periods")]
    AdjacentPeriods,
    #[error("bucket name must not be formatted as an IP address")]
    FormattedAsIpAddress,
    #[error("bucket name must not begin with the reserved prefix {0:?}")]
    ReservedPrefix(&'static str),
    #[error("bucket name must not end with the reserved suffix {0:?}")]
    ReservedSuffix(&'static str),
}

/// A bucket name that satisfies S3's rules for general purpose buckets.
///
/// Ordered by bytes, the order in which S3 lists buckets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketName(String);

impl BucketName {
    /// Validates `name` against S3's bucket naming rules, checked in the
    /// order they are listed in [`BucketNameError`].
    pub fn parse(name: &str) -> Result<Self, BucketNameError> {
        let len_bytes = name.len();
        if len_bytes < MIN_BUCKET_NAME_LEN_BYTES {
            return Err(BucketNameError::TooShort { len_bytes });
        }
        if len_bytes > MAX_BUCKET_NAME_LEN_BYTES {
            return Err(BucketNameError::TooLong { len_bytes });
        }
        if let Some((position_bytes, character)) = name
            .char_indices()
            .find(|&(_, c)| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-'))
        {
            return Err(BucketNameError::InvalidCharacter {
                character,
                position_bytes,
            });
        }
        let is_letter_or_digit = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
        let bytes = name.as_bytes();
        if !is_letter_or_digit(bytes[0]) || !is_letter_or_digit(bytes[len_bytes - 1]) {
            return Err(BucketNameError::BadFirstOrLastCharacter);
        }
        if name.contains("..") {
            return Err(BucketNameError::AdjacentPeriods);
        }
        if is_formatted_as_ipv4(name) {
            return Err(BucketNameError::FormattedAsIpAddress);
        }
        if let Some(prefix) = RESERVED_BUCKET_PREFIXES
            .into_iter()
            .find(|prefix| name.starts_with(prefix))
        {
            return Err(BucketNameError::ReservedPrefix(prefix));
        }
        if let Some(suffix) = RESERVED_BUCKET_SUFFIXES
            .into_iter()
            .find(|suffix| name.ends_with(suffix))
        {
            return Err(BucketNameError::ReservedSuffix(suffix));
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Four dot-separated groups of one to three digits. Broader than a valid
/// IPv4 address on purpose (`999.1.1.1`, `01.2.3.4`): S3 rejects names
/// "formatted as" an address, and a lenient resolver may read any of these
/// as one.
fn is_formatted_as_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups.iter().all(|group| {
            (1..=3).contains(&group.len()) && group.bytes().all(|b| b.is_ascii_digit())
        })
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BucketName {
    type Err = BucketNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
    }
}

/// Lets ordered maps keyed by [`BucketName`] be searched with a `&str`.
/// Sound because the derived `Eq`/`Ord`/`Hash` are those of the inner string.
impl Borrow<str> for BucketName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Why an object key was rejected (B1: 400 with this message).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectKeyError {
    #[error("object key is empty")]
    Empty,
    #[error("object key is {len_bytes} bytes; it must be at most {MAX_OBJECT_KEY_LEN_BYTES}")]
    TooLong { len_bytes: usize },
    #[error(
        "object key has control character U+{code_point:04X} at byte {position_bytes}; U+0000 to U+001F are not allowed"
    )]
    ControlCharacter {
        code_point: u32,
        position_bytes: usize,
    },
}

/// An object key: 1 to [`MAX_OBJECT_KEY_LEN_BYTES`] bytes of UTF-8 without
/// C0 control characters.
///
/// S3 accepts U+0000 to U+001F in keys but advises against them; we reject
/// them because XML 1.0, the body format of ListObjects and of S3 errors,
/// cannot carry U+0000 and most other C0 controls at all, and XML parsers
/// turn CR and CRLF into LF, so a key holding one would be listed under a
/// name that does not round-trip. Keys with them also corrupt log lines and
/// terminals. U+007F and other characters are left alone, as in S3.
///
/// Ordered by UTF-8 bytes, the order of S3 listings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(key: &str) -> Result<Self, ObjectKeyError> {
        if key.is_empty() {
            return Err(ObjectKeyError::Empty);
        }
        if key.len() > MAX_OBJECT_KEY_LEN_BYTES {
            return Err(ObjectKeyError::TooLong {
                len_bytes: key.len(),
            });
        }
        if let Some((position_bytes, character)) = key.char_indices().find(|&(_, c)| c <= '\u{1F}')
        {
            return Err(ObjectKeyError::ControlCharacter {
                code_point: u32::from(character),
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

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ObjectKey {
    type Err = ObjectKeyError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::parse(key)
    }
}

/// Lets listings range over maps keyed by [`ObjectKey`] with a `&str`
/// prefix. Sound because the derived `Eq`/`Ord`/`Hash` are those of the
/// inner string.
impl Borrow<str> for ObjectKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Where an object lives. Ordered by bucket, then key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectPath {
    pub bucket: BucketName,
    pub key: ObjectKey,
}

impl ObjectPath {
    #[must_use]
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self { bucket, key }
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.bucket, self.key)
    }
}

/// Why a client-supplied entity tag was rejected (B1: 400).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ETagParseError {
    #[error("entity tag is empty")]
    Empty,
    #[error("entity tag is {len_bytes} bytes; at most {MAX_ETAG_LEN_BYTES} are accepted")]
    TooLong { len_bytes: usize },
    #[error("entity tag has an opening quote without a closing one, or the reverse")]
    UnbalancedQuotes,
    #[error(
        "entity tag has {character:?} at byte {position_bytes}; only visible ASCII other than '\"' is allowed"
    )]
    InvalidCharacter {
        character: char,
        position_bytes: usize,
    },
    #[error(
        "weak entity tags (W/) are not ETags of this store; use ETagCondition for header lists"
    )]
    Weak,
}

/// Why a multipart ETag could not be formed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartETagError {
    #[error("a multipart upload needs at least one part")]
    NoParts,
    #[error("{count} parts; a multipart upload has at most {MAX_MULTIPART_PARTS}")]
    TooManyParts { count: usize },
}

/// An object's entity tag (SPEC E1-E3), held without its quotes.
///
/// Always strong: this store never produces `W/` (E3). Equality is equality
/// of the opaque tag, so `"abc"` and `abc` parse to equal values. Displayed
/// quoted, as it goes into the `ETag` header and XML bodies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ETag(String);

impl ETag {
    /// The single-part ETag (E1): lowercase hex of the body's MD5.
    #[must_use]
    pub fn from_md5(digest: [u8; 16]) -> Self {
        Self(hex::encode(digest))
    }

    /// The single-part ETag of `content`, for callers that hold the whole
    /// body (copies of small objects, tests, reference models). The upload
    /// path computes the MD5 while streaming and calls [`ETag::from_md5`].
    #[must_use]
    pub fn of_content(content: &[u8]) -> Self {
        Self::from_md5(Md5::digest(content).into())
    }

    /// The multipart ETag (E1): the MD5 of the concatenated part MD5s, in
    /// hex, then `-` and the number of parts.
    pub fn multipart(part_md5s: &[[u8; 16]]) -> Result<Self, MultipartETagError> {
        if part_md5s.is_empty() {
            return Err(MultipartETagError::NoParts);
        }
        if part_md5s.len() > MAX_MULTIPART_PARTS {
            return Err(MultipartETagError::TooManyParts {
                count: part_md5s.len(),
            });
        }
        let mut hasher = Md5::new();
        for part_md5 in part_md5s {
            hasher.update(part_md5);
        }
        let digest: [u8; 16] = hasher.finalize().into();
        Ok(Self(format!("{}-{}", hex::encode(digest), part_md5s.len())))
    }

    /// Parses a strong entity tag as a client sends it, quoted or not
    /// (E3: comparison ignores surrounding quotes).
    pub fn parse(text: &str) -> Result<Self, ETagParseError> {
        if text.starts_with("W/") {
            return Err(ETagParseError::Weak);
        }
        let opaque = match (text.strip_prefix('"'), text.ends_with('"')) {
            (Some(rest), true) if !rest.is_empty() => &rest[..rest.len() - 1],
            (None, false) => text,
            _ => return Err(ETagParseError::UnbalancedQuotes),
        };
        if opaque.is_empty() {
            return Err(ETagParseError::Empty);
        }
        if opaque.len() > MAX_ETAG_LEN_BYTES {
            return Err(ETagParseError::TooLong {
                len_bytes: opaque.len(),
            });
        }
        // RFC 9110 etagc without obs-text: visible ASCII except DQUOTE.
        if let Some((position_bytes, character)) = opaque
            .char_indices()
            .find(|&(_, c)| !matches!(c, '!' | '#'..='~'))
        {
            return Err(ETagParseError::InvalidCharacter {
                character,
                position_bytes,
            });
        }
        Ok(Self(opaque.to_owned()))
    }

    /// The tag without quotes.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl FromStr for ETag {
    type Err = ETagParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// What a client says about an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMetadata {
    pub content_type: Option<String>,
    /// `x-amz-meta-*` headers, names lowercased, in name order.
    pub user_metadata: BTreeMap<String, String>,
}

/// An object about to be committed: what the upload path produced after the
/// body was streamed and its digests verified (DESIGN.md write path, steps
/// 2-3). The store stamps it with a time and a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject {
    pub content: Arc<[u8]>,
    pub etag: ETag,
    /// Verified checksums, returned on GET/HEAD when asked (K4).
    pub checksums: Digests,
    pub metadata: ObjectMetadata,
}

impl NewObject {
    /// A single-part object with no checksums and no metadata; its ETag is
    /// the MD5 of `content` (E1).
    #[must_use]
    pub fn single_part(content: impl Into<Arc<[u8]>>) -> Self {
        let content = content.into();
        Self {
            etag: ETag::of_content(&content),
            content,
            checksums: Digests::default(),
            metadata: ObjectMetadata::default(),
        }
    }
}

/// One committed version of an object. Immutable once built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The bytes. A std `Arc`, also under loom: the bytes are immutable and
    /// shared between a version and its copies, not part of the concurrency
    /// being modelled.
    pub content: Arc<[u8]>,
    pub etag: ETag,
    pub checksums: Digests,
    pub metadata: ObjectMetadata,
    /// Milliseconds since the Unix epoch, as passed to the commit.
    pub last_modified_ms: u64,
    /// Store-wide commit number: unique, and increasing along the history of
    /// every key (not dense: a commit whose journal append fails skips one).
    pub sequence: u64,
}

impl ObjectVersion {
    #[must_use]
    pub fn content_len_bytes(&self) -> usize {
        self.content.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_name_rules() {
        let long = "a".repeat(MAX_BUCKET_NAME_LEN_BYTES);
        let too_long = "a".repeat(MAX_BUCKET_NAME_LEN_BYTES + 1);
        let cases: &[(&str, Result<(), BucketNameError>)] = &[
            ("abc", Ok(())),
            ("my-bucket.2024", Ok(())),
            ("0bucket9", Ok(())),
            (&long, Ok(())),
            ("ab", Err(BucketNameError::TooShort { len_bytes: 2 })),
            (&too_long, Err(BucketNameError::TooLong { len_bytes: 64 })),
            (
                "My-bucket",
                Err(BucketNameError::InvalidCharacter {
                    character: 'M',
                    position_bytes: 0,
                }),
            ),
            (
                "my_bucket",
                Err(BucketNameError::InvalidCharacter {
                    character: '_',
                    position_bytes: 2,
                }),
            ),
            (
                "bücket",
                Err(BucketNameError::InvalidCharacter {
                    character: 'ü',
                    position_bytes: 1,
                }),
            ),
            ("-bucket", Err(BucketNameError::BadFirstOrLastCharacter)),
            ("bucket.", Err(BucketNameError::BadFirstOrLastCharacter)),
            ("my..bucket", Err(BucketNameError::AdjacentPeriods)),
            ("192.168.5.4", Err(BucketNameError::FormattedAsIpAddress)),
            ("999.1.1.1", Err(BucketNameError::FormattedAsIpAddress)),
            ("1.2.3.4.5", Ok(())),
            ("1.2.3", Ok(())),
            ("1.2.3.a", Ok(())),
            ("1234.1.1.1", Ok(())),
            ("xn--bucket", Err(BucketNameError::ReservedPrefix("xn--"))),
            (
                "sthree-bucket",
                Err(BucketNameError::ReservedPrefix("sthree-")),
            ),
            (
                "amzn-s3-demo-bucket",
                Err(BucketNameError::ReservedPrefix("amzn-s3-demo-")),
            ),
            (
                "bucket-s3alias",
                Err(BucketNameError::ReservedSuffix("-s3alias")),
            ),
            (
                "bucket--ol-s3",
                Err(BucketNameError::ReservedSuffix("--ol-s3")),
            ),
            ("bucket.mrap", Err(BucketNameError::ReservedSuffix(".mrap"))),
            (
                "bucket--x-s3",
                Err(BucketNameError::ReservedSuffix("--x-s3")),
            ),
            (
                "bucket--table-s3",
                Err(BucketNameError::ReservedSuffix("--table-s3")),
            ),
            ("s3alias-bucket", Ok(())),
        ];
        for (name, expected) in cases {
            let parsed = BucketName::parse(name);
            assert_eq!(
                parsed.as_ref().map(|_| ()),
                expected.as_ref().map(|_| ()),
                "{name:?}"
            );
            if let Ok(bucket) = parsed {
                assert_eq!(bucket.as_str(), *name);
            }
        }
    }

    #[test]
    fn object_key_rules() {
        let longest = "k".repeat(MAX_OBJECT_KEY_LEN_BYTES);
        let too_long = "k".repeat(MAX_OBJECT_KEY_LEN_BYTES + 1);
        // 1023 ASCII bytes + a 2-byte character: 1025 bytes in 1024 chars.
        let too_long_in_bytes = format!("{}é", "k".repeat(MAX_OBJECT_KEY_LEN_BYTES - 1));
        let cases: &[(&str, Result<(), ObjectKeyError>)] = &[
            ("a", Ok(())),
            ("photos/2024/ü 🎉.jpg", Ok(())),
            ("trailing/", Ok(())),
            ("tab\u{7F}del", Ok(())),
            (&longest, Ok(())),
            ("", Err(ObjectKeyError::Empty)),
            (&too_long, Err(ObjectKeyError::TooLong { len_bytes: 1025 })),
            (
                &too_long_in_bytes,
                Err(ObjectKeyError::TooLong { len_bytes: 1025 }),
            ),
            (
                "nul\0",
                Err(ObjectKeyError::ControlCharacter {
                    code_point: 0,
                    position_bytes: 3,
                }),
            ),
            (
                "line\nbreak",
                Err(ObjectKeyError::ControlCharacter {
                    code_point: 0x0A,
                    position_bytes: 4,
                }),
            ),
            (
                "cr\r",
                Err(ObjectKeyError::ControlCharacter {
                    code_point: 0x0D,
                    position_bytes: 2,
                }),
            ),
            (
                "unit\u{1F}sep",
                Err(ObjectKeyError::ControlCharacter {
                    code_point: 0x1F,
                    position_bytes: 4,
                }),
            ),
        ];
        for (key, expected) in cases {
            let parsed = ObjectKey::parse(key);
            assert_eq!(
                parsed.as_ref().map(|_| ()),
                expected.as_ref().map(|_| ()),
                "{key:?}"
            );
            if let Ok(parsed) = parsed {
                assert_eq!(parsed.as_str(), *key);
            }
        }
    }

    #[test]
    fn e1_single_part_etag_is_quoted_lowercase_hex_md5() {
        // RFC 1321 test vectors.
        let cases: &[(&[u8], &str)] = &[
            (b"", "\"d41d8cd98f00b204e9800998ecf8427e\""),
            (b"abc", "\"900150983cd24fb0d6963f7d28e17f72\""),
            (b"message digest", "\"f96b697d7cb7938d525a2f31aaf161d0\""),
        ];
        for (content, expected) in cases {
            assert_eq!(ETag::of_content(content).to_string(), *expected);
        }
    }

    #[test]
    fn e1_multipart_etag_is_md5_of_part_md5s_with_part_count() {
        let part_md5s: Vec<[u8; 16]> = [b"part one".as_slice(), b"part two"]
            .iter()
            .map(|part| Md5::digest(part).into())
            .collect();
        let concatenated: Vec<u8> = part_md5s.concat();
        let expected = format!("\"{}-2\"", hex::encode(Md5::digest(&concatenated)));
        assert_eq!(ETag::multipart(&part_md5s).unwrap().to_string(), expected);

        let one_part = ETag::multipart(&part_md5s[..1]).unwrap();
        assert!(one_part.as_str().ends_with("-1"));
        assert_ne!(one_part, ETag::from_md5(part_md5s[0]));
    }

    #[test]
    fn e1_multipart_etag_part_count_limits() {
        assert_eq!(ETag::multipart(&[]), Err(MultipartETagError::NoParts));
        let most = vec![[7u8; 16]; MAX_MULTIPART_PARTS];
        let etag = ETag::multipart(&most).unwrap();
        assert!(etag.as_str().ends_with("-10000"));
        assert_eq!(etag.as_str().len(), 38, "the longest ETag we produce");
        let too_many = vec![[7u8; 16]; MAX_MULTIPART_PARTS + 1];
        assert_eq!(
            ETag::multipart(&too_many),
            Err(MultipartETagError::TooManyParts { count: 10_001 })
        );
    }

    #[test]
    fn e3_etag_parse_ignores_surrounding_quotes() {
        let ours = ETag::of_content(b"abc");
        let longest = "a".repeat(MAX_ETAG_LEN_BYTES);
        let too_long = "a".repeat(MAX_ETAG_LEN_BYTES + 1);
        let cases: &[(&str, Result<&str, ETagParseError>)] = &[
            ("\"900150983cd24fb0d6963f7d28e17f72\"", Ok(ours.as_str())),
            ("900150983cd24fb0d6963f7d28e17f72", Ok(ours.as_str())),
            ("\"abc-3\"", Ok("abc-3")),
            ("\"a,b\"", Ok("a,b")),
            (&longest, Ok(&longest)),
            (&too_long, Err(ETagParseError::TooLong { len_bytes: 129 })),
            ("\"\"", Err(ETagParseError::Empty)),
            ("", Err(ETagParseError::Empty)),
            ("\"", Err(ETagParseError::UnbalancedQuotes)),
            ("\"abc", Err(ETagParseError::UnbalancedQuotes)),
            ("abc\"", Err(ETagParseError::UnbalancedQuotes)),
            ("W/\"abc\"", Err(ETagParseError::Weak)),
            (
                "\"a b\"",
                Err(ETagParseError::InvalidCharacter {
                    character: ' ',
                    position_bytes: 1,
                }),
            ),
            (
                "\"a\"b\"",
                Err(ETagParseError::InvalidCharacter {
                    character: '"',
                    position_bytes: 1,
                }),
            ),
        ];
        for (text, expected) in cases {
            let parsed = ETag::parse(text);
            assert_eq!(
                parsed.as_ref().map(ETag::as_str).map_err(Clone::clone),
                *expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn e3_etag_display_round_trips_and_is_never_weak() {
        let etag = ETag::of_content(b"round trip");
        let shown = etag.to_string();
        assert!(shown.starts_with('"') && shown.ends_with('"'));
        assert!(!shown.starts_with("W/"));
        assert_eq!(shown.parse::<ETag>().unwrap(), etag);
    }

    #[test]
    fn object_paths_order_by_bucket_then_key() {
        let path = |bucket: &str, key: &str| {
            ObjectPath::new(
                BucketName::parse(bucket).unwrap(),
                ObjectKey::parse(key).unwrap(),
            )
        };
        let mut paths = [path("bbb", "a"), path("aaa", "z"), path("aaa", "b")];
        paths.sort();
        let shown: Vec<String> = paths.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["aaa/b", "aaa/z", "bbb/a"]);
    }
}
