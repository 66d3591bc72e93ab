//! Typed S3 request headers.
//!
//! One function per concern, each a plain function of an [`HeaderMap`]
//! (the `parse_*` ones of a `&str`), each failing with the S3 error code a
//! client expects (SPEC B1): conditionals (C1-C8, E5), copy source,
//! checksums (K1-K4), Content-MD5, ranges, the idempotency key (I1), the
//! aws-chunked headers (K3) and user metadata.
//!
//! A header that may appear once and appears twice is refused rather than
//! guessed at; list-valued headers (`If-Match`, `If-None-Match`) are joined
//! as RFC 9110 says repeated list headers are.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, MultipartChecksumType};
use lockwell_core::idempotency::IdempotencyKey;
use lockwell_core::object::{BucketName, ObjectKey};
use lockwell_core::precondition::{
    DeleteConditions, ETagCondition, ValidatorConditions, WriteConditions,
};

use crate::error::{ProtoError, S3ErrorCode};
use crate::route::{parse_bucket_name, parse_object_key, percent_decode_utf8};
use crate::time::parse_http_date_ms;

/// S3's limit on user-defined metadata: the UTF-8 bytes of every
/// `x-amz-meta-*` name (without the prefix) and value, summed.
pub const MAX_USER_METADATA_LEN_BYTES: usize = 2048;

/// Base64 text longer than this cannot be a 16-byte Content-MD5 (24 chars);
/// refused before decoding.
const MAX_CONTENT_MD5_BASE64_LEN_CHARS: usize = 32;

const USER_METADATA_PREFIX: &str = "x-amz-meta-";
const CHECKSUM_HEADER_PREFIX: &str = "x-amz-checksum-";
/// `x-amz-checksum-*` headers that are not digests.
const CHECKSUM_CONTROL_HEADERS: &[&str] = &[
    "x-amz-checksum-algorithm",
    "x-amz-checksum-mode",
    "x-amz-checksum-type",
];

/// The value of a header that may appear at most once; InvalidArgument if
/// it repeats or is not visible ASCII.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ProtoError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ProtoError::invalid_argument(format!(
            "The {name} header may appear only once"
        )));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| ProtoError::invalid_argument(format!("The {name} header is not ASCII")))
}

/// A list-valued header's values joined by commas (RFC 9110 section 5.3).
fn joined(headers: &HeaderMap, name: &str) -> Result<Option<String>, ProtoError> {
    let mut joined: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value
            .to_str()
            .map_err(|_| ProtoError::invalid_argument(format!("The {name} header is not ASCII")))?;
        match &mut joined {
            Some(list) => {
                list.push(',');
                list.push_str(text);
            }
            None => joined = Some(text.to_string()),
        }
    }
    Ok(joined)
}

fn etag_condition(headers: &HeaderMap, name: &str) -> Result<Option<ETagCondition>, ProtoError> {
    joined(headers, name)?
        .map(|value| {
            ETagCondition::parse(&value)
                .map_err(|error| ProtoError::invalid_argument(format!("{name}: {error}")))
        })
        .transpose()
}

/// RFC 9110: an invalid HTTP date makes the condition ignored, not an error.
fn date_condition(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ProtoError> {
    Ok(single(headers, name)?.and_then(parse_http_date_ms))
}

/// `If-Match` / `If-None-Match` of a PutObject, CompleteMultipartUpload or
/// CopyObject destination (C1, C1a, C2, C6).
pub fn write_conditions(headers: &HeaderMap) -> Result<WriteConditions, ProtoError> {
    Ok(WriteConditions {
        if_match: etag_condition(headers, "if-match")?,
        if_none_match: etag_condition(headers, "if-none-match")?,
    })
}

/// `If-Match` of a DeleteObject (C6a). `If-None-Match` has no meaning S3
/// gives it on a delete; refused rather than silently ignored.
pub fn delete_conditions(headers: &HeaderMap) -> Result<DeleteConditions, ProtoError> {
    if headers.contains_key("if-none-match") {
        return Err(ProtoError::new(
            S3ErrorCode::NotImplemented,
            "If-None-Match on DeleteObject is not implemented",
        ));
    }
    Ok(DeleteConditions {
        if_match: etag_condition(headers, "if-match")?,
    })
}

/// The four validator conditions of a GET or HEAD (E5).
pub fn read_conditions(headers: &HeaderMap) -> Result<ValidatorConditions, ProtoError> {
    Ok(ValidatorConditions {
        if_match: etag_condition(headers, "if-match")?,
        if_none_match: etag_condition(headers, "if-none-match")?,
        if_modified_since_ms: date_condition(headers, "if-modified-since")?,
        if_unmodified_since_ms: date_condition(headers, "if-unmodified-since")?,
    })
}

/// The `x-amz-copy-source-if-*` conditions of a CopyObject or
/// UploadPartCopy source (C8).
pub fn copy_source_conditions(headers: &HeaderMap) -> Result<ValidatorConditions, ProtoError> {
    Ok(ValidatorConditions {
        if_match: etag_condition(headers, "x-amz-copy-source-if-match")?,
        if_none_match: etag_condition(headers, "x-amz-copy-source-if-none-match")?,
        if_modified_since_ms: date_condition(headers, "x-amz-copy-source-if-modified-since")?,
        if_unmodified_since_ms: date_condition(headers, "x-amz-copy-source-if-unmodified-since")?,
    })
}

/// Where a copy reads from (`x-amz-copy-source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: BucketName,
    pub key: ObjectKey,
    pub version_id: Option<String>,
}

/// Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=v]`, URL-encoded.
pub fn parse_copy_source(value: &str) -> Result<CopySource, ProtoError> {
    let invalid = || {
        ProtoError::invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    };
    // Split before decoding: a '?' inside the key arrives encoded as %3F.
    let (path, version_id) = match value.split_once('?') {
        Some((path, query)) => {
            let version = query.strip_prefix("versionId=").ok_or_else(invalid)?;
            (
                path,
                Some(percent_decode_utf8(version)?).filter(|v| !v.is_empty()),
            )
        }
        None => (value, None),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = path.split_once('/').ok_or_else(invalid)?;
    if key.is_empty() {
        return Err(invalid());
    }
    Ok(CopySource {
        bucket: parse_bucket_name(&percent_decode_utf8(bucket)?)?,
        key: parse_object_key(&percent_decode_utf8(key)?)?,
        version_id,
    })
}

/// `x-amz-copy-source`, if present.
pub fn copy_source(headers: &HeaderMap) -> Result<Option<CopySource>, ProtoError> {
    single(headers, "x-amz-copy-source")?
        .map(parse_copy_source)
        .transpose()
}

/// `x-amz-metadata-directive` of a CopyObject.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetadataDirective {
    /// Keep the source's metadata (S3's default).
    #[default]
    Copy,
    /// Take the metadata from this request's headers.
    Replace,
}

pub fn metadata_directive(headers: &HeaderMap) -> Result<MetadataDirective, ProtoError> {
    match single(headers, "x-amz-metadata-directive")? {
        None | Some("COPY") => Ok(MetadataDirective::Copy),
        Some("REPLACE") => Ok(MetadataDirective::Replace),
        Some(other) => Err(ProtoError::invalid_argument(format!(
            "Unknown metadata directive {other:?}; expected COPY or REPLACE"
        ))),
    }
}

/// The algorithms S3 accepts in checksum headers (K1): all but MD5, which
/// travels as Content-MD5.
fn s3_checksum_algorithm(name: &str, header: &str) -> Result<ChecksumAlgorithm, ProtoError> {
    name.parse::<ChecksumAlgorithm>()
        .ok()
        .filter(|algorithm| algorithm.s3_header_name().is_some())
        .ok_or_else(|| {
            ProtoError::invalid_request(format!("Value for {header} header is invalid."))
        })
}

/// The checksum a write supplies and the algorithm the SDK announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumHeaders {
    /// `x-amz-checksum-<alg>`: verified over the body before commit (K2).
    pub supplied: Option<Digest>,
    /// `x-amz-sdk-checksum-algorithm`: the algorithm of the supplied header
    /// or trailer.
    pub sdk_algorithm: Option<ChecksumAlgorithm>,
}

/// Parses the checksum headers of a PutObject or UploadPart (K1): at most
/// one `x-amz-checksum-<alg>`, of a known algorithm, valid base64 of the
/// right length, agreeing with `x-amz-sdk-checksum-algorithm`.
pub fn checksum_headers(headers: &HeaderMap) -> Result<ChecksumHeaders, ProtoError> {
    let sdk_algorithm = single(headers, "x-amz-sdk-checksum-algorithm")?
        .map(|name| s3_checksum_algorithm(name, "x-amz-sdk-checksum-algorithm"))
        .transpose()?;
    let mut supplied: Option<Digest> = None;
    for name in headers.keys() {
        let Some(suffix) = name.as_str().strip_prefix(CHECKSUM_HEADER_PREFIX) else {
            continue;
        };
        if CHECKSUM_CONTROL_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let algorithm = s3_checksum_algorithm(suffix, name.as_str())?;
        let value = single(headers, name.as_str())?.unwrap_or_default();
        let digest = Digest::from_base64(algorithm, value).map_err(|error| {
            ProtoError::invalid_request(format!("Value for {name} header is invalid: {error}"))
        })?;
        if supplied.replace(digest).is_some() {
            return Err(ProtoError::invalid_request(
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            ));
        }
    }
    if let (Some(sdk), Some(digest)) = (sdk_algorithm, &supplied)
        && sdk != digest.algorithm()
    {
        return Err(ProtoError::invalid_request(format!(
            "x-amz-sdk-checksum-algorithm is {sdk} but the checksum header is {}",
            digest.algorithm()
        )));
    }
    Ok(ChecksumHeaders {
        supplied,
        sdk_algorithm,
    })
}

/// `x-amz-checksum-algorithm` of a CreateMultipartUpload (K5).
pub fn multipart_checksum_algorithm(
    headers: &HeaderMap,
) -> Result<Option<ChecksumAlgorithm>, ProtoError> {
    single(headers, "x-amz-checksum-algorithm")?
        .map(|name| s3_checksum_algorithm(name, "x-amz-checksum-algorithm"))
        .transpose()
}

/// `x-amz-checksum-type` of a CreateMultipartUpload (K5).
pub fn multipart_checksum_type(
    headers: &HeaderMap,
) -> Result<Option<MultipartChecksumType>, ProtoError> {
    match single(headers, "x-amz-checksum-type")? {
        None => Ok(None),
        Some("FULL_OBJECT") => Ok(Some(MultipartChecksumType::FullObject)),
        Some("COMPOSITE") => Ok(Some(MultipartChecksumType::Composite)),
        Some(_) => Err(ProtoError::invalid_request(
            "Value for x-amz-checksum-type header is invalid.",
        )),
    }
}

/// `x-amz-checksum-mode: ENABLED` asks GET/HEAD for the stored checksum (K4).
pub fn checksum_mode_enabled(headers: &HeaderMap) -> Result<bool, ProtoError> {
    match single(headers, "x-amz-checksum-mode")? {
        None => Ok(false),
        Some(value) if value.eq_ignore_ascii_case("ENABLED") => Ok(true),
        Some(_) => Err(ProtoError::invalid_argument(
            "x-amz-checksum-mode must be ENABLED",
        )),
    }
}

/// Parses a Content-MD5 value: base64 of exactly 16 bytes, else InvalidDigest.
pub fn parse_content_md5(value: &str) -> Result<[u8; 16], ProtoError> {
    let invalid = || {
        ProtoError::new(
            S3ErrorCode::InvalidDigest,
            "The Content-MD5 you specified was invalid.",
        )
    };
    if value.len() > MAX_CONTENT_MD5_BASE64_LEN_CHARS {
        return Err(invalid());
    }
    let mut decoded = [0u8; MAX_CONTENT_MD5_BASE64_LEN_CHARS];
    let len_bytes = BASE64
        .decode_slice(value.trim(), &mut decoded)
        .map_err(|_| invalid())?;
    decoded
        .get(..len_bytes)
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
        .ok_or_else(invalid)
}

/// `Content-MD5`, verified over the body like any checksum (K2).
pub fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, ProtoError> {
    single(headers, "content-md5")?
        .map(parse_content_md5)
        .transpose()
}

/// A single byte range as `Range: bytes=...` states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-last`.
    FromTo { first: u64, last: u64 },
    /// `bytes=first-`.
    From { first: u64 },
    /// `bytes=-len`: the last `len` bytes.
    Suffix { len: u64 },
}

/// A satisfiable range resolved against an object's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end_inclusive: u64,
}

impl ByteRange {
    pub fn len_bytes(&self) -> u64 {
        self.end_inclusive - self.start + 1
    }

    /// The `Content-Range` header of a 206 answer.
    pub fn content_range(&self, object_len_bytes: u64) -> String {
        format!(
            "bytes {}-{}/{object_len_bytes}",
            self.start, self.end_inclusive
        )
    }
}

/// The `Content-Range` header of a 416 answer.
pub fn unsatisfied_content_range(object_len_bytes: u64) -> String {
    format!("bytes */{object_len_bytes}")
}

fn invalid_range() -> ProtoError {
    ProtoError::new(
        S3ErrorCode::InvalidRange,
        "The requested range is not satisfiable",
    )
}

impl RangeSpec {
    /// Resolves against the object length: the bytes to send, or 416
    /// InvalidRange when no byte of the object is in the range.
    pub fn resolve(self, object_len_bytes: u64) -> Result<ByteRange, ProtoError> {
        let last_byte = object_len_bytes.checked_sub(1).ok_or_else(invalid_range)?;
        let (start, end_inclusive) = match self {
            Self::FromTo { first, last } => (first, last.min(last_byte)),
            Self::From { first } => (first, last_byte),
            Self::Suffix { len: 0 } => return Err(invalid_range()),
            Self::Suffix { len } => (object_len_bytes - len.min(object_len_bytes), last_byte),
        };
        if start > last_byte {
            return Err(invalid_range());
        }
        Ok(ByteRange {
            start,
            end_inclusive,
        })
    }
}

/// Digits to a u64, saturating: `bytes=99999999999999999999-` is a valid
/// but unsatisfiable range, not a malformed one.
fn saturating_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

/// Parses a `Range` value. `None` means malformed, which S3 (and RFC 9110)
/// answers by ignoring the header and sending the whole object; several
/// ranges count as malformed too, since S3 serves one range per request.
pub fn parse_range(value: &str) -> Option<RangeSpec> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return None;
    }
    let (first, last) = set.trim().split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    match (first.is_empty(), last.is_empty()) {
        (false, false) => {
            let (first, last) = (saturating_digits(first)?, saturating_digits(last)?);
            (first <= last).then_some(RangeSpec::FromTo { first, last })
        }
        (false, true) => Some(RangeSpec::From {
            first: saturating_digits(first)?,
        }),
        (true, false) => Some(RangeSpec::Suffix {
            len: saturating_digits(last)?,
        }),
        (true, true) => None,
    }
}

/// The `Range` header of a GET; malformed or repeated ranges are ignored.
pub fn range(headers: &HeaderMap) -> Option<RangeSpec> {
    single(headers, "range")
        .ok()
        .flatten()
        .and_then(parse_range)
}

/// `x-amz-copy-source-range: bytes=first-last` of an UploadPartCopy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySourceRange {
    pub first: u64,
    pub last: u64,
}

impl CopySourceRange {
    /// Unlike `Range`, the whole range must lie inside the source.
    pub fn resolve(self, source_len_bytes: u64) -> Result<ByteRange, ProtoError> {
        if self.last >= source_len_bytes {
            return Err(ProtoError::invalid_argument(format!(
                "Range specified is not valid for source object of size: {source_len_bytes}"
            )));
        }
        Ok(ByteRange {
            start: self.first,
            end_inclusive: self.last,
        })
    }
}

/// Parses `x-amz-copy-source-range`; strict, unlike `Range`: a malformed
/// value is an error, never "copy everything".
pub fn parse_copy_source_range(value: &str) -> Result<CopySourceRange, ProtoError> {
    match parse_range(value) {
        Some(RangeSpec::FromTo { first, last }) => Ok(CopySourceRange { first, last }),
        _ => Err(ProtoError::invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first \
             and last are the zero-based offsets of the first and last bytes to copy",
        )),
    }
}

pub fn copy_source_range(headers: &HeaderMap) -> Result<Option<CopySourceRange>, ProtoError> {
    single(headers, "x-amz-copy-source-range")?
        .map(parse_copy_source_range)
        .transpose()
}

/// `Idempotency-Key` (SPEC I1): 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ProtoError> {
    single(headers, "idempotency-key")?
        .map(|value| {
            IdempotencyKey::parse(value)
                .map_err(|error| ProtoError::invalid_argument(format!("Idempotency-Key: {error}")))
        })
        .transpose()
}

/// `x-amz-decoded-content-length`: the payload length of an aws-chunked body.
pub fn decoded_content_length(headers: &HeaderMap) -> Result<Option<u64>, ProtoError> {
    single(headers, "x-amz-decoded-content-length")?
        .map(|value| {
            value
                .parse::<u64>()
                .ok()
                .filter(|_| value.bytes().all(|byte| byte.is_ascii_digit()))
                .ok_or_else(|| {
                    ProtoError::invalid_argument("x-amz-decoded-content-length is not a number")
                })
        })
        .transpose()
}

/// `x-amz-trailer`: the one checksum an aws-chunked body sends after its
/// data (K3). S3 names exactly one `x-amz-checksum-*` header here.
pub fn trailer(headers: &HeaderMap) -> Result<Option<ChecksumAlgorithm>, ProtoError> {
    let Some(value) = single(headers, "x-amz-trailer")? else {
        return Ok(None);
    };
    let name = value.trim().to_ascii_lowercase();
    ChecksumAlgorithm::ALL
        .into_iter()
        .find(|algorithm| algorithm.s3_header_name() == Some(name.as_str()))
        .map(Some)
        .ok_or_else(|| {
            ProtoError::invalid_request(format!(
                "x-amz-trailer {value:?} is not one x-amz-checksum-<algorithm> header"
            ))
        })
}

/// What `Content-Encoding` says about the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentEncoding {
    /// The body is aws-chunked framed and must go through the decoder.
    pub aws_chunked: bool,
    /// The other encodings, to store as the object's `Content-Encoding`
    /// (aws-chunked is a transfer detail and is not stored).
    pub stored: Option<String>,
}

pub fn content_encoding(headers: &HeaderMap) -> Result<ContentEncoding, ProtoError> {
    let Some(value) = joined(headers, "content-encoding")? else {
        return Ok(ContentEncoding::default());
    };
    let mut aws_chunked = false;
    let mut stored: Vec<&str> = Vec::new();
    for coding in value
        .split(',')
        .map(str::trim)
        .filter(|coding| !coding.is_empty())
    {
        if coding.eq_ignore_ascii_case("aws-chunked") {
            aws_chunked = true;
        } else {
            stored.push(coding);
        }
    }
    Ok(ContentEncoding {
        aws_chunked,
        stored: (!stored.is_empty()).then(|| stored.join(",")),
    })
}

/// The `x-amz-meta-*` headers: names lowercased without the prefix, in name
/// order; repeated headers joined by commas. Over
/// [`MAX_USER_METADATA_LEN_BYTES`] is MetadataTooLarge.
pub fn user_metadata(headers: &HeaderMap) -> Result<BTreeMap<String, String>, ProtoError> {
    let mut metadata = BTreeMap::new();
    let mut total_len_bytes = 0usize;
    for name in headers.keys() {
        let Some(suffix) = name.as_str().strip_prefix(USER_METADATA_PREFIX) else {
            continue;
        };
        if suffix.is_empty() {
            return Err(ProtoError::invalid_argument(
                "x-amz-meta- needs a name after the prefix",
            ));
        }
        let value = joined(headers, name.as_str())?.unwrap_or_default();
        total_len_bytes += suffix.len() + value.len();
        if total_len_bytes > MAX_USER_METADATA_LEN_BYTES {
            return Err(ProtoError::new(
                S3ErrorCode::MetadataTooLarge,
                format!(
                    "Your metadata headers exceed the maximum allowed metadata size of \
                     {MAX_USER_METADATA_LEN_BYTES} bytes"
                ),
            ));
        }
        metadata.insert(suffix.to_string(), value);
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};
    use lockwell_core::checksum::digest;
    use lockwell_core::object::ETag;
    use lockwell_core::precondition::RequestETag;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn etag(text: &str) -> ETag {
        ETag::parse(text).unwrap()
    }

    #[test]
    fn c1_c2_write_conditions_parse_star_and_etag_lists() {
        let conditions = write_conditions(&headers(&[("if-none-match", "*")])).unwrap();
        assert_eq!(conditions, WriteConditions::create_only());
        let conditions = write_conditions(&headers(&[("if-match", "\"abc\"")])).unwrap();
        assert_eq!(conditions, WriteConditions::if_match(etag("abc")));
        let conditions = write_conditions(&headers(&[
            ("if-none-match", "\"a\", W/\"b\""),
            ("if-none-match", "c"),
        ]))
        .unwrap();
        assert_eq!(
            conditions.if_none_match,
            Some(ETagCondition::OneOf(vec![
                RequestETag {
                    etag: etag("a"),
                    weak: false
                },
                RequestETag {
                    etag: etag("b"),
                    weak: true
                },
                RequestETag {
                    etag: etag("c"),
                    weak: false
                },
            ]))
        );
        let error = write_conditions(&headers(&[("if-match", "\"unterminated")])).unwrap_err();
        assert_eq!(error.code, S3ErrorCode::InvalidArgument);
        assert!(error.message.starts_with("if-match:"), "{}", error.message);
    }

    #[test]
    fn c6a_delete_takes_if_match_and_refuses_if_none_match() {
        let conditions = delete_conditions(&headers(&[("if-match", "*")])).unwrap();
        assert_eq!(conditions.if_match, Some(ETagCondition::Any));
        let error = delete_conditions(&headers(&[("if-none-match", "*")])).unwrap_err();
        assert_eq!(error.code, S3ErrorCode::NotImplemented);
    }

    #[test]
    fn e5_read_conditions_parse_dates_and_ignore_invalid_ones() {
        let conditions = read_conditions(&headers(&[
            ("if-modified-since", "Fri, 24 May 2013 00:00:00 GMT"),
            ("if-unmodified-since", "not a date"),
            ("if-none-match", "\"e\""),
        ]))
        .unwrap();
        assert_eq!(conditions.if_modified_since_ms, Some(1_369_353_600_000));
        assert_eq!(conditions.if_unmodified_since_ms, None);
        assert_eq!(
            conditions.if_none_match,
            Some(ETagCondition::one(etag("e")))
        );
        assert_eq!(conditions.if_match, None);
    }

    #[test]
    fn c8_copy_source_conditions_read_the_copy_source_headers() {
        let conditions = copy_source_conditions(&headers(&[
            ("if-match", "\"destination\""),
            ("x-amz-copy-source-if-match", "\"source\""),
            (
                "x-amz-copy-source-if-unmodified-since",
                "Fri, 24 May 2013 00:00:00 GMT",
            ),
        ]))
        .unwrap();
        assert_eq!(
            conditions.if_match,
            Some(ETagCondition::one(etag("source")))
        );
        assert_eq!(conditions.if_unmodified_since_ms, Some(1_369_353_600_000));
    }

    #[test]
    fn copy_source_parses_every_form_and_decodes_once() {
        let cases = [
            ("bucket/key", "bucket", "key", None),
            ("/bucket/dir/key", "bucket", "dir/key", None),
            ("bucket/a%20b%3Fc", "bucket", "a b?c", None),
            ("bucket/key?versionId=null", "bucket", "key", Some("null")),
            ("bucket/%2541", "bucket", "%41", None),
        ];
        for (value, bucket, key, version) in cases {
            let source = parse_copy_source(value).unwrap();
            assert_eq!(
                (
                    source.bucket.as_str(),
                    source.key.as_str(),
                    source.version_id.as_deref()
                ),
                (bucket, key, version),
                "{value}"
            );
        }
        let failures = [
            ("bucket", S3ErrorCode::InvalidArgument),
            ("bucket/", S3ErrorCode::InvalidArgument),
            ("bucket/key?other=1", S3ErrorCode::InvalidArgument),
            ("Bucket/key", S3ErrorCode::InvalidBucketName),
            ("bucket/%FF", S3ErrorCode::InvalidURI),
        ];
        for (value, code) in failures {
            assert_eq!(parse_copy_source(value).unwrap_err().code, code, "{value}");
        }
        let long = format!("bucket/{}", "k".repeat(1025));
        assert_eq!(
            parse_copy_source(&long).unwrap_err().code,
            S3ErrorCode::KeyTooLongError
        );
    }

    #[test]
    fn k1_checksum_headers_take_one_known_algorithm() {
        let crc32 = digest(ChecksumAlgorithm::Crc32, b"hello");
        let parsed = checksum_headers(&headers(&[
            ("x-amz-checksum-crc32", &crc32.to_base64()),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-mode", "ENABLED"),
        ]))
        .unwrap();
        assert_eq!(parsed.supplied, Some(crc32));
        assert_eq!(parsed.sdk_algorithm, Some(ChecksumAlgorithm::Crc32));
        assert_eq!(
            checksum_headers(&HeaderMap::new()).unwrap(),
            ChecksumHeaders::default()
        );

        let sha1 = digest(ChecksumAlgorithm::Sha1, b"hello").to_base64();
        let crc = crc32.to_base64();
        let failures: [&[(&str, &str)]; 6] = [
            &[("x-amz-checksum-crc32", "not base64!")],
            &[("x-amz-checksum-crc32", &sha1)],
            &[("x-amz-checksum-xxhash", "AAAA")],
            &[("x-amz-checksum-md5", "AAAAAAAAAAAAAAAAAAAAAA==")],
            &[
                ("x-amz-checksum-crc32", &crc),
                ("x-amz-checksum-sha1", &sha1),
            ],
            &[
                ("x-amz-checksum-crc32", &crc),
                ("x-amz-sdk-checksum-algorithm", "SHA256"),
            ],
        ];
        for pairs in failures {
            let error = checksum_headers(&headers(pairs)).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidRequest, "{pairs:?}");
        }
        let error =
            checksum_headers(&headers(&[("x-amz-sdk-checksum-algorithm", "MD5")])).unwrap_err();
        assert_eq!(error.code, S3ErrorCode::InvalidRequest);
    }

    #[test]
    fn k4_k5_checksum_mode_algorithm_and_type() {
        assert!(checksum_mode_enabled(&headers(&[("x-amz-checksum-mode", "ENABLED")])).unwrap());
        assert!(!checksum_mode_enabled(&HeaderMap::new()).unwrap());
        assert!(checksum_mode_enabled(&headers(&[("x-amz-checksum-mode", "ON")])).is_err());
        assert_eq!(
            multipart_checksum_algorithm(&headers(&[("x-amz-checksum-algorithm", "CRC64NVME")])),
            Ok(Some(ChecksumAlgorithm::Crc64Nvme))
        );
        assert_eq!(
            multipart_checksum_type(&headers(&[("x-amz-checksum-type", "FULL_OBJECT")])),
            Ok(Some(MultipartChecksumType::FullObject))
        );
        assert!(multipart_checksum_type(&headers(&[("x-amz-checksum-type", "full")])).is_err());
    }

    #[test]
    fn content_md5_must_be_base64_of_sixteen_bytes() {
        let md5 = [0x1bu8; 16];
        let encoded = BASE64.encode(md5);
        assert_eq!(
            content_md5(&headers(&[("content-md5", &encoded)])),
            Ok(Some(md5))
        );
        let failures = [
            "",
            "not base64",
            "AAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAA",
            &"A".repeat(1000),
        ];
        for value in failures {
            assert_eq!(
                parse_content_md5(value).unwrap_err().code,
                S3ErrorCode::InvalidDigest,
                "{value:?}"
            );
        }
    }

    /// Range handling as S3 does it: malformed ranges are ignored (None),
    /// unsatisfiable ones are 416.
    #[test]
    fn ranges_resolve_like_s3() {
        let resolved = |value: &str, len: u64| match parse_range(value) {
            None => "ignored".to_string(),
            Some(spec) => match spec.resolve(len) {
                Ok(range) => range.content_range(len),
                Err(error) => error.code.to_string(),
            },
        };
        let cases = [
            ("bytes=0-9", 100, "bytes 0-9/100"),
            ("bytes=90-200", 100, "bytes 90-99/100"),
            ("bytes=99-", 100, "bytes 99-99/100"),
            ("bytes=-10", 100, "bytes 90-99/100"),
            ("bytes=-1000", 100, "bytes 0-99/100"),
            ("BYTES = 5-5", 100, "bytes 5-5/100"),
            ("bytes=100-", 100, "InvalidRange"),
            ("bytes=100-200", 100, "InvalidRange"),
            ("bytes=-0", 100, "InvalidRange"),
            ("bytes=0-", 0, "InvalidRange"),
            ("bytes=-5", 0, "InvalidRange"),
            ("bytes=99999999999999999999-", 100, "InvalidRange"),
            ("bytes=0-99999999999999999999", 100, "bytes 0-99/100"),
            ("bytes=9-0", 100, "ignored"),
            ("bytes=0-1,5-6", 100, "ignored"),
            ("bytes=-", 100, "ignored"),
            ("bytes=a-b", 100, "ignored"),
            ("bytes=+1-2", 100, "ignored"),
            ("items=0-9", 100, "ignored"),
            ("bytes 0-9", 100, "ignored"),
        ];
        for (value, len, expected) in cases {
            assert_eq!(resolved(value, len), expected, "{value} of {len}");
        }
        assert_eq!(
            parse_range("bytes=3-7")
                .unwrap()
                .resolve(10)
                .unwrap()
                .len_bytes(),
            5
        );
        assert_eq!(unsatisfied_content_range(100), "bytes */100");
        assert_eq!(
            range(&headers(&[("range", "bytes=0-1"), ("range", "bytes=2-3")])),
            None
        );
    }

    #[test]
    fn copy_source_range_is_strict_and_must_fit_the_source() {
        let range = parse_copy_source_range("bytes=0-9").unwrap();
        assert_eq!(range.resolve(10).unwrap().len_bytes(), 10);
        assert_eq!(
            range.resolve(9).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
        for value in ["bytes=5-", "bytes=-5", "bytes=9-0", "0-9"] {
            assert_eq!(
                parse_copy_source_range(value).unwrap_err().code,
                S3ErrorCode::InvalidArgument
            );
        }
    }

    #[test]
    fn i1_idempotency_key_is_1_to_255_visible_ascii() {
        let at_limit = "k".repeat(255);
        assert_eq!(
            idempotency_key(&headers(&[("idempotency-key", &at_limit)]))
                .unwrap()
                .unwrap()
                .as_str(),
            at_limit
        );
        assert_eq!(idempotency_key(&HeaderMap::new()), Ok(None));
        for value in [String::new(), "k".repeat(256), "has space".into()] {
            let error = idempotency_key(&headers(&[("idempotency-key", &value)])).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidArgument, "{value:?}");
        }
        let twice = headers(&[("idempotency-key", "a"), ("idempotency-key", "b")]);
        assert_eq!(
            idempotency_key(&twice).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn k3_aws_chunked_headers() {
        let chunked = headers(&[
            ("content-encoding", "aws-chunked, gzip"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ]);
        assert_eq!(
            content_encoding(&chunked).unwrap(),
            ContentEncoding {
                aws_chunked: true,
                stored: Some("gzip".into())
            }
        );
        assert_eq!(decoded_content_length(&chunked), Ok(Some(66_560)));
        assert_eq!(trailer(&chunked), Ok(Some(ChecksumAlgorithm::Crc32c)));
        assert_eq!(
            content_encoding(&HeaderMap::new()).unwrap(),
            ContentEncoding::default()
        );
        for value in ["-1", "+5", "1e3", "18446744073709551616"] {
            let error =
                decoded_content_length(&headers(&[("x-amz-decoded-content-length", value)]));
            assert!(error.is_err(), "{value}");
        }
        for value in [
            "x-amz-checksum-md5",
            "x-amz-checksum-crc32,x-amz-checksum-sha1",
            "content-md5",
        ] {
            let error = trailer(&headers(&[("x-amz-trailer", value)])).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidRequest, "{value}");
        }
    }

    #[test]
    fn user_metadata_is_collected_in_name_order_up_to_the_limit() {
        let metadata = user_metadata(&headers(&[
            ("x-amz-meta-zeta", "z"),
            ("x-amz-meta-alpha", "a"),
            ("x-amz-meta-alpha", "b"),
            ("content-type", "text/plain"),
        ]))
        .unwrap();
        assert_eq!(
            metadata.into_iter().collect::<Vec<_>>(),
            vec![
                ("alpha".to_string(), "a,b".to_string()),
                ("zeta".to_string(), "z".to_string())
            ]
        );
        // "k" + value of 2047 bytes is exactly the limit.
        let at_limit = "v".repeat(MAX_USER_METADATA_LEN_BYTES - 1);
        assert!(user_metadata(&headers(&[("x-amz-meta-k", &at_limit)])).is_ok());
        let over = format!("{at_limit}v");
        assert_eq!(
            user_metadata(&headers(&[("x-amz-meta-k", &over)]))
                .unwrap_err()
                .code,
            S3ErrorCode::MetadataTooLarge
        );
    }

    #[test]
    fn metadata_directive_defaults_to_copy() {
        assert_eq!(
            metadata_directive(&HeaderMap::new()),
            Ok(MetadataDirective::Copy)
        );
        assert_eq!(
            metadata_directive(&headers(&[("x-amz-metadata-directive", "REPLACE")])),
            Ok(MetadataDirective::Replace)
        );
        assert!(metadata_directive(&headers(&[("x-amz-metadata-directive", "MOVE")])).is_err());
    }

    #[test]
    fn non_ascii_header_values_are_refused_not_misread() {
        let mut map = HeaderMap::new();
        map.insert("if-match", HeaderValue::from_bytes(b"\"\xff\"").unwrap());
        assert_eq!(
            write_conditions(&map).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
    }

    proptest::proptest! {
        #[test]
        fn string_parsers_never_panic(value in "\\PC{0,64}") {
            let _ = parse_range(&value);
            let _ = parse_copy_source_range(&value);
            let _ = parse_copy_source(&value);
            let _ = parse_content_md5(&value);
        }
    }
}
