//! The client's side of S3's XML: response bodies parsed, request bodies
//! written.
//!
//! lockwell-proto holds the server's side (response writers, request
//! parsers); this is the mirror image, and the round-trip tests run one
//! against the other. Parsers are lenient where servers differ (unknown
//! elements and the namespace are ignored, optional elements may be
//! missing) and strict where a wrong answer would mislead the caller (a
//! missing ETag or upload id is an [`Error::InvalidResponse`]).

use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest};
use lockwell_proto::time::{parse_amz_date, to_epoch_ms};
use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ServiceError};
use crate::s3::types::{
    BucketInfo, DeleteObjectError, DeleteObjectsOutput, ListObjectsV2Page, ObjectSummary,
    UploadedPart,
};

fn invalid(status: u16, what: impl Into<String>) -> Error {
    Error::InvalidResponse {
        status,
        reason: what.into(),
    }
}

fn from_xml<'de, T: Deserialize<'de>>(
    status: u16,
    body: &'de [u8],
    what: &str,
) -> Result<T, Error> {
    let text =
        std::str::from_utf8(body).map_err(|_| invalid(status, format!("{what}: not UTF-8")))?;
    quick_xml::de::from_str(text).map_err(|error| invalid(status, format!("{what}: {error}")))
}

fn parse_etag(status: u16, text: &str) -> Result<ETag, Error> {
    ETag::parse(text).map_err(|error| invalid(status, format!("ETag {text:?}: {error}")))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (S3's XML timestamps) to milliseconds since
/// the Unix epoch.
pub(crate) fn parse_iso8601_ms(text: &str) -> Option<u64> {
    let without_zone = text.strip_suffix('Z')?;
    let (seconds_part, fraction) = match without_zone.split_once('.') {
        Some((seconds, fraction)) => (seconds, fraction),
        None => (without_zone, ""),
    };
    if fraction.len() > 9 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    // The compact form SigV4 dates use: YYYYMMDDTHHMMSSZ.
    let compact: String = seconds_part
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .chain(std::iter::once('Z'))
        .collect();
    if seconds_part.len() != 19 {
        return None;
    }
    parse_amz_date(&compact).map(|time| to_epoch_ms(time) + millis)
}

/// Which element names a response's root, if it is XML at all.
pub(crate) fn root_element(body: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(element) | Event::Empty(element) => {
                return std::str::from_utf8(element.local_name().as_ref())
                    .ok()
                    .map(str::to_string);
            }
            Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

#[derive(Deserialize)]
struct ErrorXml {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Condition")]
    condition: Option<String>,
    #[serde(rename = "RequestId")]
    request_id: Option<String>,
}

/// An `<Error>` body's details and its `Condition` (SPEC C9). A body that
/// is not an S3 error (a proxy's HTML page, nothing at all) gives the
/// status alone.
pub(crate) fn parse_error(status: u16, body: &[u8]) -> (ServiceError, Option<String>) {
    let parsed: Option<ErrorXml> = (root_element(body).as_deref() == Some("Error"))
        .then(|| std::str::from_utf8(body).ok())
        .flatten()
        .and_then(|text| quick_xml::de::from_str(text).ok());
    match parsed {
        Some(xml) => (
            ServiceError {
                status,
                code: xml.code,
                message: xml.message,
                request_id: xml.request_id,
            },
            xml.condition,
        ),
        None => (
            ServiceError {
                status,
                ..ServiceError::default()
            },
            None,
        ),
    }
}

#[derive(Deserialize)]
struct ListAllMyBucketsXml {
    #[serde(rename = "Buckets", default)]
    buckets: BucketsXml,
}

#[derive(Deserialize, Default)]
struct BucketsXml {
    #[serde(rename = "Bucket", default)]
    buckets: Vec<BucketXml>,
}

#[derive(Deserialize)]
struct BucketXml {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "CreationDate")]
    creation_date: Option<String>,
}

pub(crate) fn parse_list_buckets(status: u16, body: &[u8]) -> Result<Vec<BucketInfo>, Error> {
    let xml: ListAllMyBucketsXml = from_xml(status, body, "ListAllMyBucketsResult")?;
    Ok(xml
        .buckets
        .buckets
        .into_iter()
        .map(|bucket| BucketInfo {
            name: bucket.name,
            creation_date_ms: bucket.creation_date.as_deref().and_then(parse_iso8601_ms),
        })
        .collect())
}

#[derive(Deserialize)]
struct ListBucketV2Xml {
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextContinuationToken")]
    next_continuation_token: Option<String>,
    #[serde(rename = "EncodingType")]
    encoding_type: Option<String>,
    #[serde(rename = "Contents", default)]
    contents: Vec<ContentsXml>,
    #[serde(rename = "CommonPrefixes", default)]
    common_prefixes: Vec<CommonPrefixXml>,
}

#[derive(Deserialize)]
struct ContentsXml {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "Size")]
    size: u64,
    #[serde(rename = "LastModified")]
    last_modified: Option<String>,
}

#[derive(Deserialize)]
struct CommonPrefixXml {
    #[serde(rename = "Prefix")]
    prefix: String,
}

/// A ListObjectsV2 page. Keys and prefixes are URL-decoded when the server
/// says it encoded them (the client asks for `encoding-type=url`, so keys
/// XML cannot carry, such as control characters, survive).
pub(crate) fn parse_list_objects_v2(status: u16, body: &[u8]) -> Result<ListObjectsV2Page, Error> {
    let xml: ListBucketV2Xml = from_xml(status, body, "ListBucketResult")?;
    let url_encoded = xml.encoding_type.as_deref() == Some("url");
    let decode = |text: String| -> Result<String, Error> {
        if !url_encoded {
            return Ok(text);
        }
        percent_decode_str(&text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| invalid(status, format!("key {text:?} is not URL-encoded UTF-8")))
    };
    let objects = xml
        .contents
        .into_iter()
        .map(|entry| {
            Ok(ObjectSummary {
                key: decode(entry.key)?,
                etag: parse_etag(status, &entry.etag)?,
                size_bytes: entry.size,
                last_modified_ms: entry.last_modified.as_deref().and_then(parse_iso8601_ms),
            })
        })
        .collect::<Result<_, Error>>()?;
    let common_prefixes = xml
        .common_prefixes
        .into_iter()
        .map(|prefix| decode(prefix.prefix))
        .collect::<Result<_, Error>>()?;
    if xml.is_truncated && xml.next_continuation_token.is_none() {
        return Err(invalid(
            status,
            "a truncated listing without a NextContinuationToken",
        ));
    }
    Ok(ListObjectsV2Page {
        objects,
        common_prefixes,
        next_continuation_token: xml.next_continuation_token.filter(|_| xml.is_truncated),
    })
}

#[derive(Deserialize)]
struct InitiateXml {
    #[serde(rename = "UploadId")]
    upload_id: String,
}

pub(crate) fn parse_initiate_multipart_upload(status: u16, body: &[u8]) -> Result<String, Error> {
    let xml: InitiateXml = from_xml(status, body, "InitiateMultipartUploadResult")?;
    if xml.upload_id.is_empty() {
        return Err(invalid(status, "an empty UploadId"));
    }
    Ok(xml.upload_id)
}

/// The elements CopyObjectResult and CompleteMultipartUploadResult share.
#[derive(Deserialize)]
struct WriteResultXml {
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "LastModified")]
    last_modified: Option<String>,
    #[serde(rename = "ChecksumCRC32")]
    crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME")]
    crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1")]
    sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    sha256: Option<String>,
}

/// What a copy or a completed upload reports about the object it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteResult {
    pub(crate) etag: ETag,
    pub(crate) last_modified_ms: Option<u64>,
    /// Full-object checksums only: a composite (`-N`) one is not the digest
    /// of the object's bytes, so it is not reported as one.
    pub(crate) checksum: Option<Digest>,
}

/// A CopyObjectResult or CompleteMultipartUploadResult. S3 may answer 200
/// and still fail, with an `<Error>` body: that is returned as the error
/// it names (a 500 when it names no status), so a keyed complete is
/// retried like any server error.
pub(crate) fn parse_write_result(
    status: u16,
    body: &[u8],
    root: &str,
) -> Result<WriteResult, Error> {
    if root_element(body).as_deref() == Some("Error") {
        let (mut details, condition) = parse_error(status, body);
        details.status = 500;
        return Err(Error::from_service(details, condition));
    }
    let xml: WriteResultXml = from_xml(status, body, root)?;
    let candidates = [
        (ChecksumAlgorithm::Crc32, xml.crc32),
        (ChecksumAlgorithm::Crc32c, xml.crc32c),
        (ChecksumAlgorithm::Crc64Nvme, xml.crc64nvme),
        (ChecksumAlgorithm::Sha1, xml.sha1),
        (ChecksumAlgorithm::Sha256, xml.sha256),
    ];
    let checksum = candidates.into_iter().find_map(|(algorithm, value)| {
        value.and_then(|value| Digest::from_base64(algorithm, &value).ok())
    });
    Ok(WriteResult {
        etag: parse_etag(status, &xml.etag)?,
        last_modified_ms: xml.last_modified.as_deref().and_then(parse_iso8601_ms),
        checksum,
    })
}

#[derive(Deserialize)]
struct DeleteResultXml {
    #[serde(rename = "$value", default)]
    entries: Vec<DeleteEntryXml>,
}

#[derive(Deserialize)]
enum DeleteEntryXml {
    Deleted {
        #[serde(rename = "Key")]
        key: String,
    },
    Error {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Code")]
        code: String,
        #[serde(rename = "Message", default)]
        message: String,
    },
}

pub(crate) fn parse_delete_result(status: u16, body: &[u8]) -> Result<DeleteObjectsOutput, Error> {
    let xml: DeleteResultXml = from_xml(status, body, "DeleteResult")?;
    let mut output = DeleteObjectsOutput::default();
    for entry in xml.entries {
        match entry {
            DeleteEntryXml::Deleted { key } => output.deleted.push(key),
            DeleteEntryXml::Error { key, code, message } => {
                output.errors.push(DeleteObjectError { key, code, message });
            }
        }
    }
    Ok(output)
}

#[derive(Serialize)]
#[serde(rename = "Delete")]
struct DeleteXml<'a> {
    #[serde(rename = "Quiet")]
    quiet: bool,
    #[serde(rename = "Object")]
    objects: Vec<ObjectIdentifierXml<'a>>,
}

#[derive(Serialize)]
struct ObjectIdentifierXml<'a> {
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
}

/// A DeleteObjects body; `ETag` per object is its If-Match (SPEC C6a).
pub(crate) fn delete_body(objects: &[(&str, Option<&ETag>)], quiet: bool) -> String {
    let xml = DeleteXml {
        quiet,
        objects: objects
            .iter()
            .map(|(key, etag)| ObjectIdentifierXml {
                key,
                etag: etag.map(ToString::to_string),
            })
            .collect(),
    };
    quick_xml::se::to_string(&xml).expect("strings and booleans always serialize")
}

#[derive(Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
struct CompleteXml {
    #[serde(rename = "Part")]
    parts: Vec<CompletedPartXml>,
}

#[derive(Serialize)]
struct CompletedPartXml {
    #[serde(rename = "PartNumber")]
    part_number: u16,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none")]
    crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none")]
    crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none")]
    crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

/// A CompleteMultipartUpload body: the parts with their ETags and
/// checksums, which are the payload an idempotency key covers (SPEC I6).
pub(crate) fn complete_body(parts: &[UploadedPart]) -> String {
    let xml = CompleteXml {
        parts: parts
            .iter()
            .map(|part| {
                let value = |algorithm: ChecksumAlgorithm| {
                    part.checksum
                        .filter(|digest| digest.algorithm() == algorithm)
                        .map(|digest| digest.to_base64())
                };
                CompletedPartXml {
                    part_number: part.part_number,
                    etag: part.etag.to_string(),
                    crc32: value(ChecksumAlgorithm::Crc32),
                    crc32c: value(ChecksumAlgorithm::Crc32c),
                    crc64nvme: value(ChecksumAlgorithm::Crc64Nvme),
                    sha1: value(ChecksumAlgorithm::Sha1),
                    sha256: value(ChecksumAlgorithm::Sha256),
                }
            })
            .collect(),
    };
    quick_xml::se::to_string(&xml).expect("strings and numbers always serialize")
}

/// A CreateBucket body naming the region; none for us-east-1, as S3 wants.
pub(crate) fn create_bucket_body(region: &str) -> Option<String> {
    (region != "us-east-1").then(|| {
        format!(
            "<CreateBucketConfiguration xmlns=\"{}\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            lockwell_proto::xml::S3_XMLNS,
            quick_xml::escape::escape(region)
        )
    })
}

#[cfg(test)]
mod tests {
    use lockwell_core::checksum::digest;
    use lockwell_core::precondition::{ETagCondition, RequestETag};
    use lockwell_proto::time::format_iso8601_ms;
    use lockwell_proto::xml::{
        self as server_xml, CompleteMultipartUploadResult, CopyObjectResult, DeleteResult,
        DeleteResultEntry, ErrorResponse, ObjectEntry, S3ErrorCodeText, StorageClass, XmlResponse,
    };
    use lockwell_proto::{ProtoError, S3ErrorCode};

    use super::*;

    const EXAMPLE_MS: u64 = 1_255_369_830_000;

    fn etag(text: &str) -> ETag {
        ETag::parse(text).unwrap()
    }

    #[test]
    fn iso8601_times_parse_and_round_trip_with_the_server_format() {
        let cases = [
            ("2009-10-12T17:50:30.000Z", Some(EXAMPLE_MS)),
            ("2009-10-12T17:50:30Z", Some(EXAMPLE_MS)),
            ("2009-10-12T17:50:30.5Z", Some(EXAMPLE_MS + 500)),
            ("2009-10-12T17:50:30.123456Z", Some(EXAMPLE_MS + 123)),
            ("1970-01-01T00:00:00.000Z", Some(0)),
            ("2009-10-12T17:50:30.000", None),
            ("2009-10-12 17:50:30Z", None),
            ("2009-13-12T17:50:30Z", None),
            ("2009-10-12T17:50:30.x0Z", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_iso8601_ms(text), expected, "{text:?}");
        }
        for epoch_ms in [0, 1, 999, EXAMPLE_MS, 4_102_444_800_123] {
            assert_eq!(
                parse_iso8601_ms(&format_iso8601_ms(epoch_ms)),
                Some(epoch_ms)
            );
        }
    }

    #[test]
    fn c9_error_bodies_give_code_message_and_condition() {
        let body = ErrorResponse::precondition_failed(
            lockwell_core::precondition::Condition::IfMatch,
            Some("/b/k".into()),
            "req-1".into(),
        )
        .to_xml();
        let (details, condition) = parse_error(412, body.as_bytes());
        assert_eq!(details.code.as_deref(), Some("PreconditionFailed"));
        assert_eq!(details.request_id.as_deref(), Some("req-1"));
        assert_eq!(condition.as_deref(), Some("If-Match"));

        let refused = ErrorResponse::from_error(
            &ProtoError::new(S3ErrorCode::NoSuchKey, "The specified key does not exist."),
            None,
            "req-2".into(),
        )
        .to_xml();
        let (details, condition) = parse_error(404, refused.as_bytes());
        assert_eq!(
            (
                details.code.as_deref(),
                details.message.as_deref(),
                condition
            ),
            (
                Some("NoSuchKey"),
                Some("The specified key does not exist."),
                None
            )
        );

        for body in [&b""[..], b"<html>bad gateway</html>", b"\xff\xfe"] {
            let (details, condition) = parse_error(502, body);
            assert_eq!((details.status, details.code, condition), (502, None, None));
        }
    }

    #[test]
    fn list_objects_v2_pages_parse_from_the_server_writer() {
        let entry = |key: &str| ObjectEntry {
            key: key.to_string(),
            last_modified_ms: EXAMPLE_MS,
            etag: ETag::of_content(key.as_bytes()),
            size_bytes: 3,
            storage_class: StorageClass::default(),
            owner: None,
        };
        let page = server_xml::ListObjectsV2Result {
            xmlns: server_xml::S3_XMLNS,
            name: "b".into(),
            prefix: String::new(),
            start_after: None,
            continuation_token: None,
            next_continuation_token: Some("token-2".into()),
            key_count: 2,
            max_keys: 2,
            delimiter: Some("/".into()),
            encoding_type: Some(server_xml::EncodingType::Url),
            is_truncated: true,
            contents: vec![entry("a%20b"), entry("c")],
            common_prefixes: vec![server_xml::CommonPrefix {
                prefix: "dir%2F".into(),
            }],
        };
        let parsed = parse_list_objects_v2(200, page.to_xml().as_bytes()).unwrap();
        assert_eq!(
            parsed
                .objects
                .iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>(),
            ["a b", "c"]
        );
        assert_eq!(parsed.objects[1].etag, ETag::of_content(b"c"));
        assert_eq!(parsed.objects[0].last_modified_ms, Some(EXAMPLE_MS));
        assert_eq!(parsed.common_prefixes, ["dir/"]);
        assert_eq!(parsed.next_continuation_token.as_deref(), Some("token-2"));

        let last = "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>";
        let parsed = parse_list_objects_v2(200, last.as_bytes()).unwrap();
        assert!(parsed.objects.is_empty() && parsed.next_continuation_token.is_none());

        let lying = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
        assert!(matches!(
            parse_list_objects_v2(200, lying.as_bytes()),
            Err(Error::InvalidResponse { .. })
        ));
    }

    #[test]
    fn write_results_parse_etag_and_checksum_and_embedded_errors_fail() {
        let crc = digest(ChecksumAlgorithm::Crc32c, b"x");
        let copy = CopyObjectResult {
            xmlns: server_xml::S3_XMLNS,
            last_modified_ms: EXAMPLE_MS,
            etag: etag("abc"),
            checksum: server_xml::ChecksumElement::from_digest(&crc),
        };
        let parsed = parse_write_result(200, copy.to_xml().as_bytes(), "CopyObjectResult").unwrap();
        assert_eq!(
            parsed,
            WriteResult {
                etag: etag("abc"),
                last_modified_ms: Some(EXAMPLE_MS),
                checksum: Some(crc),
            }
        );

        let complete = CompleteMultipartUploadResult {
            xmlns: server_xml::S3_XMLNS,
            location: "/b/k".into(),
            bucket: "b".into(),
            key: "k".into(),
            etag: etag("abc-2"),
            checksum: None,
            checksum_type: None,
        };
        let parsed = parse_write_result(
            200,
            complete.to_xml().as_bytes(),
            "CompleteMultipartUploadResult",
        )
        .unwrap();
        assert_eq!(parsed.etag, etag("abc-2"));

        let embedded = "<Error><Code>InternalError</Code><Message>retry</Message></Error>";
        let error = parse_write_result(200, embedded.as_bytes(), "CopyObjectResult").unwrap_err();
        assert!(
            matches!(&error, Error::Server(details) if details.code.as_deref() == Some("InternalError")),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }

    #[test]
    fn c6a_delete_results_keep_per_object_errors() {
        let result = DeleteResult {
            xmlns: server_xml::S3_XMLNS,
            entries: vec![
                DeleteResultEntry::Deleted {
                    key: "a".into(),
                    version_id: None,
                },
                DeleteResultEntry::Error {
                    key: "b".into(),
                    version_id: None,
                    code: S3ErrorCodeText(S3ErrorCode::PreconditionFailed),
                    message: "nope".into(),
                },
                DeleteResultEntry::Deleted {
                    key: "c".into(),
                    version_id: None,
                },
            ],
        };
        let parsed = parse_delete_result(200, result.to_xml().as_bytes()).unwrap();
        assert_eq!(parsed.deleted, ["a", "c"]);
        assert_eq!(
            parsed.errors,
            [DeleteObjectError {
                key: "b".into(),
                code: "PreconditionFailed".into(),
                message: "nope".into(),
            }]
        );
    }

    #[test]
    fn request_bodies_parse_with_the_server_parsers() {
        let tag = etag("0123");
        let body = delete_body(&[("a&b", Some(&tag)), ("c", None)], true);
        let parsed = server_xml::parse_delete(body.as_bytes()).unwrap();
        assert!(parsed.quiet);
        assert_eq!(parsed.objects[0].key, "a&b");
        assert_eq!(
            parsed.objects[0].if_match,
            Some(ETagCondition::OneOf(vec![RequestETag {
                etag: tag.clone(),
                weak: false
            }]))
        );
        assert_eq!(parsed.objects[1].if_match, None);

        let sha = digest(ChecksumAlgorithm::Sha256, b"part");
        let parts = [
            UploadedPart {
                part_number: 1,
                etag: etag("p1"),
                checksum: Some(sha),
            },
            UploadedPart {
                part_number: 2,
                etag: etag("p2"),
                checksum: None,
            },
        ];
        let parsed =
            server_xml::parse_complete_multipart_upload(complete_body(&parts).as_bytes()).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            (parsed[0].part_number, &parsed[0].etag, parsed[0].checksum),
            (1, &etag("p1"), Some(sha))
        );
        assert_eq!((parsed[1].part_number, parsed[1].checksum), (2, None));

        assert_eq!(create_bucket_body("us-east-1"), None);
        let body = create_bucket_body("eu-west-1").unwrap();
        assert_eq!(
            server_xml::parse_create_bucket_configuration(body.as_bytes()),
            Ok(Some("eu-west-1".to_string()))
        );
    }

    #[test]
    fn list_buckets_and_initiate_parse() {
        let buckets = server_xml::ListAllMyBucketsResult {
            xmlns: server_xml::S3_XMLNS,
            owner: server_xml::Owner {
                id: "o".into(),
                display_name: "o".into(),
            },
            buckets: server_xml::Buckets {
                buckets: vec![server_xml::BucketEntry {
                    name: "photos".into(),
                    creation_date_ms: EXAMPLE_MS,
                }],
            },
        };
        assert_eq!(
            parse_list_buckets(200, buckets.to_xml().as_bytes()).unwrap(),
            [BucketInfo {
                name: "photos".into(),
                creation_date_ms: Some(EXAMPLE_MS)
            }]
        );
        let initiate = server_xml::InitiateMultipartUploadResult {
            xmlns: server_xml::S3_XMLNS,
            bucket: "b".into(),
            key: "k".into(),
            upload_id: "u-1".into(),
        };
        assert_eq!(
            parse_initiate_multipart_upload(200, initiate.to_xml().as_bytes()).unwrap(),
            "u-1"
        );
        assert!(parse_initiate_multipart_upload(200, b"<x/>").is_err());
    }
}
