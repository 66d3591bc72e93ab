//! S3 XML bodies: the responses Lockwell writes and the requests it parses.
//!
//! Responses are plain structs serialized with quick-xml + serde into the
//! S3 namespace ([`S3_XMLNS`]), element for element as AWS documents them
//! (checked against the S3 API reference examples in the golden tests).
//! Times are milliseconds since the Unix epoch (lockwell-core's unit) and
//! are written as `2009-10-12T17:50:30.000Z`; ETags are written quoted.
//!
//! Requests (`CreateBucketConfiguration`, `Delete`, `CompleteMultipartUpload`)
//! are parsed by plain functions of bytes: size-limited before parsing, the
//! root element checked, and every failure a MalformedXML (or the more
//! precise code S3 uses) rather than a panic (SPEC B1). quick-xml expands no
//! custom entities, so a hostile DTD cannot blow up memory.

use lockwell_core::checksum::{ChecksumAlgorithm, Digest, MAX_MULTIPART_PARTS, MultipartChecksum};
use lockwell_core::object::ETag;
use lockwell_core::precondition::{Condition, ETagCondition};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{ProtoError, S3ErrorCode};
use crate::time::format_iso8601_ms;

/// The S3 namespace every response root element carries.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Largest XML request body parsed. The largest legitimate ones: a
/// CompleteMultipartUpload of 10,000 parts with SHA-256 checksums (~2.2 MB)
/// and a Delete of 1,000 keys of 1,024 bytes whose characters all need
/// escaping (~5 MB as `&amp;`).
pub const MAX_REQUEST_XML_LEN_BYTES: usize = 8 * 1024 * 1024;

/// S3's limit on keys per DeleteObjects request.
pub const MAX_DELETE_OBJECTS: usize = 1000;

/// S3's largest part number.
pub const MAX_PART_NUMBER: u16 = 10_000;

const MALFORMED_XML_MESSAGE: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

/// Serializes a response body with the XML declaration in front.
pub trait XmlResponse: Serialize {
    fn to_xml(&self) -> String {
        let body = quick_xml::se::to_string(self)
            .expect("response structs hold only strings, numbers and booleans");
        format!("{XML_DECLARATION}\n{body}")
    }
}

fn iso8601<S: Serializer>(epoch_ms: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_iso8601_ms(*epoch_ms))
}

fn quoted_etag<S: Serializer>(etag: &ETag, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(etag)
}

/// The storage class of every object: Lockwell has one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum StorageClass {
    #[default]
    #[serde(rename = "STANDARD")]
    Standard,
}

/// A bucket or upload owner, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

/// A checksum as S3 writes it in XML: `<ChecksumCRC32>value</ChecksumCRC32>`.
/// The value is base64, or `base64-N` for a composite multipart checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ChecksumElement {
    #[serde(rename = "ChecksumCRC32")]
    Crc32(String),
    #[serde(rename = "ChecksumCRC32C")]
    Crc32c(String),
    #[serde(rename = "ChecksumCRC64NVME")]
    Crc64Nvme(String),
    #[serde(rename = "ChecksumSHA1")]
    Sha1(String),
    #[serde(rename = "ChecksumSHA256")]
    Sha256(String),
}

impl ChecksumElement {
    fn new(algorithm: ChecksumAlgorithm, value: String) -> Option<Self> {
        match algorithm {
            ChecksumAlgorithm::Crc32 => Some(Self::Crc32(value)),
            ChecksumAlgorithm::Crc32c => Some(Self::Crc32c(value)),
            ChecksumAlgorithm::Crc64Nvme => Some(Self::Crc64Nvme(value)),
            ChecksumAlgorithm::Sha1 => Some(Self::Sha1(value)),
            ChecksumAlgorithm::Sha256 => Some(Self::Sha256(value)),
            // MD5 is the ETag, never a checksum element.
            _ => None,
        }
    }

    /// The element of a part or single-part object checksum; `None` for MD5.
    pub fn from_digest(digest: &Digest) -> Option<Self> {
        Self::new(digest.algorithm(), digest.to_base64())
    }

    /// The element of a completed multipart upload's checksum (K5).
    pub fn from_multipart(checksum: &MultipartChecksum) -> Option<Self> {
        let algorithm = match checksum {
            MultipartChecksum::FullObject(digest) | MultipartChecksum::Composite { digest, .. } => {
                digest.algorithm()
            }
            _ => return None,
        };
        Self::new(algorithm, checksum.to_s3_value())
    }
}

/// `GET /` (ListBuckets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListAllMyBucketsResult")]
pub struct ListAllMyBucketsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "Buckets")]
    pub buckets: Buckets,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Buckets {
    #[serde(rename = "Bucket")]
    pub buckets: Vec<BucketEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketEntry {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CreationDate", serialize_with = "iso8601")]
    pub creation_date_ms: u64,
}

impl XmlResponse for ListAllMyBucketsResult {}

/// One `<Contents>` entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "LastModified", serialize_with = "iso8601")]
    pub last_modified_ms: u64,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "Size")]
    pub size_bytes: u64,
    #[serde(rename = "StorageClass")]
    pub storage_class: StorageClass,
    /// Always in v1 listings; in v2 only with `fetch-owner=true`.
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// One `<CommonPrefixes>` entry: keys rolled up by the delimiter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommonPrefix {
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

/// `encoding-type=url`: keys and prefixes in the body are URL-encoded, so
/// keys that XML 1.0 cannot carry still list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EncodingType {
    #[serde(rename = "url")]
    Url,
}

/// `GET /bucket` (ListObjects, v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListBucketResult")]
pub struct ListObjectsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "Marker")]
    pub marker: String,
    /// Only when a delimiter was given and the listing is truncated, as S3.
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "MaxKeys")]
    pub max_keys: u32,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<EncodingType>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Contents")]
    pub contents: Vec<ObjectEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlResponse for ListObjectsResult {}

/// `GET /bucket?list-type=2` (ListObjectsV2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListBucketResult")]
pub struct ListObjectsV2Result {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "StartAfter", skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(
        rename = "NextContinuationToken",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_continuation_token: Option<String>,
    #[serde(rename = "KeyCount")]
    pub key_count: u32,
    #[serde(rename = "MaxKeys")]
    pub max_keys: u32,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<EncodingType>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Contents")]
    pub contents: Vec<ObjectEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlResponse for ListObjectsV2Result {}

/// One `<Version>` of ListObjectVersions. Buckets are never versioned, so
/// every object is listed once, with VersionId `null` and IsLatest true, as
/// AWS lists an unversioned bucket (and no `<DeleteMarker>` ever appears).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "VersionId")]
    pub version_id: String,
    #[serde(rename = "IsLatest")]
    pub is_latest: bool,
    #[serde(rename = "LastModified", serialize_with = "iso8601")]
    pub last_modified_ms: u64,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "Size")]
    pub size_bytes: u64,
    #[serde(rename = "StorageClass")]
    pub storage_class: StorageClass,
    #[serde(rename = "Owner")]
    pub owner: Owner,
}

/// `GET /bucket?versions` (ListObjectVersions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListVersionsResult")]
pub struct ListVersionsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Prefix")]
    pub prefix: String,
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    #[serde(rename = "VersionIdMarker")]
    pub version_id_marker: String,
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    #[serde(
        rename = "NextVersionIdMarker",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_version_id_marker: Option<String>,
    #[serde(rename = "MaxKeys")]
    pub max_keys: u32,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<EncodingType>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Version")]
    pub versions: Vec<VersionEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlResponse for ListVersionsResult {}

/// `GET /bucket?location`. Empty for us-east-1, as AWS answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "LocationConstraint")]
pub struct LocationConstraint {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$text", skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl LocationConstraint {
    /// The answer for a bucket in `region`.
    pub fn for_region(region: &str) -> Self {
        Self {
            xmlns: S3_XMLNS,
            region: (region != "us-east-1").then(|| region.to_string()),
        }
    }
}

impl XmlResponse for LocationConstraint {}

/// `GET /bucket?versioning`: an empty configuration, the answer for a bucket
/// that has never had versioning enabled (Lockwell's buckets never do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "VersioningConfiguration")]
pub struct VersioningConfiguration {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
}

impl Default for VersioningConfiguration {
    fn default() -> Self {
        Self { xmlns: S3_XMLNS }
    }
}

impl XmlResponse for VersioningConfiguration {}

/// CopyObject's body (SPEC E2: the new ETag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "CopyObjectResult")]
pub struct CopyObjectResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "LastModified", serialize_with = "iso8601")]
    pub last_modified_ms: u64,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "$value", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumElement>,
}

impl XmlResponse for CopyObjectResult {}

/// UploadPartCopy's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "CopyPartResult")]
pub struct CopyPartResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "LastModified", serialize_with = "iso8601")]
    pub last_modified_ms: u64,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "$value", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumElement>,
}

impl XmlResponse for CopyPartResult {}

/// CreateMultipartUpload's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "InitiateMultipartUploadResult")]
pub struct InitiateMultipartUploadResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
}

impl XmlResponse for InitiateMultipartUploadResult {}

/// CompleteMultipartUpload's body (SPEC E2, K5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "CompleteMultipartUploadResult")]
pub struct CompleteMultipartUploadResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Location")]
    pub location: String,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "$value", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumElement>,
    /// `FULL_OBJECT` or `COMPOSITE`, with a checksum.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<&'static str>,
}

impl XmlResponse for CompleteMultipartUploadResult {}

/// One `<Part>` of ListParts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartEntry {
    #[serde(rename = "PartNumber")]
    pub part_number: u16,
    #[serde(rename = "LastModified", serialize_with = "iso8601")]
    pub last_modified_ms: u64,
    #[serde(rename = "ETag", serialize_with = "quoted_etag")]
    pub etag: ETag,
    #[serde(rename = "Size")]
    pub size_bytes: u64,
    #[serde(rename = "$value", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumElement>,
}

/// `GET /bucket/key?uploadId=...` (ListParts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListPartsResult")]
pub struct ListPartsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: StorageClass,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u16,
    #[serde(rename = "NextPartNumberMarker")]
    pub next_part_number_marker: u16,
    #[serde(rename = "MaxParts")]
    pub max_parts: u32,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Part")]
    pub parts: Vec<PartEntry>,
}

impl XmlResponse for ListPartsResult {}

/// One `<Upload>` of ListMultipartUploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    #[serde(rename = "Owner")]
    pub owner: Owner,
    #[serde(rename = "StorageClass")]
    pub storage_class: StorageClass,
    #[serde(rename = "Initiated", serialize_with = "iso8601")]
    pub initiated_ms: u64,
}

/// `GET /bucket?uploads` (ListMultipartUploads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "ListMultipartUploadsResult")]
pub struct ListMultipartUploadsResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    #[serde(rename = "UploadIdMarker")]
    pub upload_id_marker: String,
    #[serde(rename = "NextKeyMarker")]
    pub next_key_marker: String,
    #[serde(rename = "NextUploadIdMarker")]
    pub next_upload_id_marker: String,
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "MaxUploads")]
    pub max_uploads: u32,
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<EncodingType>,
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "Upload")]
    pub uploads: Vec<UploadEntry>,
    #[serde(rename = "CommonPrefixes")]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlResponse for ListMultipartUploadsResult {}

/// One entry of a DeleteResult, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DeleteResultEntry {
    Deleted {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
        version_id: Option<String>,
    },
    /// SPEC C6a: a failed per-object `ETag` condition is an `Error` entry
    /// with Code PreconditionFailed, while the other objects are deleted.
    Error {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
        version_id: Option<String>,
        #[serde(rename = "Code")]
        code: S3ErrorCodeText,
        #[serde(rename = "Message")]
        message: String,
    },
}

/// An error code as the text of a `<Code>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3ErrorCodeText(pub S3ErrorCode);

impl Serialize for S3ErrorCodeText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

/// DeleteObjects' body. In quiet mode the server leaves `Deleted` entries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "DeleteResult")]
pub struct DeleteResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$value")]
    pub entries: Vec<DeleteResultEntry>,
}

impl XmlResponse for DeleteResult {}

/// AWS's error body. `Condition` names the failed header on a 412 (SPEC C9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "Error")]
pub struct ErrorResponse {
    #[serde(rename = "Code")]
    pub code: S3ErrorCodeText,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub condition: Option<&'static str>,
    #[serde(rename = "RequestId")]
    pub request_id: String,
}

impl ErrorResponse {
    /// The body for a refused request.
    pub fn from_error(error: &ProtoError, resource: Option<String>, request_id: String) -> Self {
        Self {
            code: S3ErrorCodeText(error.code),
            message: error.message.clone(),
            resource,
            condition: None,
            request_id,
        }
    }

    /// The 412 body of SPEC C9, naming the header whose condition failed.
    pub fn precondition_failed(
        condition: Condition,
        resource: Option<String>,
        request_id: String,
    ) -> Self {
        Self {
            code: S3ErrorCodeText(S3ErrorCode::PreconditionFailed),
            message: "At least one of the pre-conditions you specified did not hold".into(),
            resource,
            condition: Some(condition.s3_header_name()),
            request_id,
        }
    }
}

impl XmlResponse for ErrorResponse {}

fn malformed() -> ProtoError {
    ProtoError::new(S3ErrorCode::MalformedXML, MALFORMED_XML_MESSAGE)
}

/// Checks size, encoding, the root element's name and the absence of a
/// document type declaration, then deserializes.
fn parse_request<'de, T: Deserialize<'de>>(body: &'de [u8], root: &str) -> Result<T, ProtoError> {
    if body.len() > MAX_REQUEST_XML_LEN_BYTES {
        return Err(ProtoError::new(
            S3ErrorCode::MalformedXML,
            format!("The XML body is longer than {MAX_REQUEST_XML_LEN_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    if root_element_name(text).as_deref() != Some(root) || contains_doctype(text) {
        return Err(malformed());
    }
    quick_xml::de::from_str(text).map_err(|_| malformed())
}

/// Whether a document type declaration appears anywhere before the first
/// syntax error. S3 request bodies never carry one, and quick-xml 0.38's
/// deserializer panics (`unreachable!` in `read_text`) on one between two
/// runs of text, as in `<Key>a<!DOCTYPE x>b</Key>` (found by the `xml_*`
/// fuzz targets; fixed upstream in quick-xml 0.41). Where the scan stops
/// at a syntax error, the deserializer, reading the same tokens, stops
/// there too.
fn contains_doctype(text: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::DocType(_)) => return true,
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// The local name of the first element, skipping the declaration, comments
/// and whitespace; `None` if the text has no element or is not XML.
fn root_element_name(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(element) | Event::Empty(element) => {
                let name = element.local_name();
                return std::str::from_utf8(name.as_ref()).ok().map(str::to_string);
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
            _ => return None,
        }
    }
}

#[derive(Deserialize)]
struct CreateBucketConfigurationXml {
    #[serde(rename = "LocationConstraint")]
    location_constraint: Option<String>,
}

/// Parses a CreateBucket body: the requested region, if any. An empty body
/// is no configuration (what most clients send for us-east-1).
pub fn parse_create_bucket_configuration(body: &[u8]) -> Result<Option<String>, ProtoError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let configuration: CreateBucketConfigurationXml =
        parse_request(body, "CreateBucketConfiguration")?;
    Ok(configuration
        .location_constraint
        .filter(|region| !region.is_empty()))
}

#[derive(Deserialize)]
struct DeleteXml {
    #[serde(rename = "Quiet", default)]
    quiet: bool,
    #[serde(rename = "Object", default)]
    objects: Vec<ObjectIdentifierXml>,
}

#[derive(Deserialize)]
struct ObjectIdentifierXml {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "VersionId")]
    version_id: Option<String>,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    #[serde(rename = "LastModifiedTime")]
    last_modified_time: Option<String>,
    #[serde(rename = "Size")]
    size: Option<String>,
}

/// A parsed DeleteObjects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    pub quiet: bool,
    pub objects: Vec<DeleteObjectEntry>,
}

/// One object to delete. The key is validated per entry by the server so
/// that a bad key is an `Error` entry, not a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteObjectEntry {
    pub key: String,
    pub version_id: Option<String>,
    /// SPEC C6a: the `ETag` element, an If-Match condition for this object.
    pub if_match: Option<ETagCondition>,
}

/// Parses a DeleteObjects body (`<Delete>`): 1 to [`MAX_DELETE_OBJECTS`]
/// objects.
pub fn parse_delete(body: &[u8]) -> Result<DeleteRequest, ProtoError> {
    let delete: DeleteXml = parse_request(body, "Delete")?;
    if delete.objects.is_empty() || delete.objects.len() > MAX_DELETE_OBJECTS {
        return Err(ProtoError::new(
            S3ErrorCode::MalformedXML,
            format!("A Delete request names 1 to {MAX_DELETE_OBJECTS} objects"),
        ));
    }
    let objects = delete
        .objects
        .into_iter()
        .map(|object| {
            if object.last_modified_time.is_some() || object.size.is_some() {
                return Err(ProtoError::new(
                    S3ErrorCode::NotImplemented,
                    "LastModifiedTime and Size conditions in DeleteObjects are not implemented",
                ));
            }
            let if_match = object
                .etag
                .map(|etag| {
                    ETagCondition::parse(&etag).map_err(|error| {
                        ProtoError::invalid_argument(format!(
                            "ETag of key {:?}: {error}",
                            object.key
                        ))
                    })
                })
                .transpose()?;
            Ok(DeleteObjectEntry {
                key: object.key,
                version_id: object.version_id,
                if_match,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(DeleteRequest {
        quiet: delete.quiet,
        objects,
    })
}

#[derive(Deserialize)]
struct CompleteMultipartUploadXml {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletedPartXml>,
}

#[derive(Deserialize)]
struct CompletedPartXml {
    #[serde(rename = "PartNumber")]
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
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

/// One part as CompleteMultipartUpload lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u16,
    pub etag: ETag,
    /// The part checksum the client expects (K5); at most one algorithm.
    pub checksum: Option<Digest>,
}

impl CompletedPartXml {
    fn into_part(self) -> Result<CompletedPart, ProtoError> {
        let part_number = u16::try_from(self.part_number)
            .ok()
            .filter(|number| (1..=MAX_PART_NUMBER).contains(number))
            .ok_or_else(|| {
                ProtoError::invalid_argument(format!(
                    "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
                ))
            })?;
        let etag = ETag::parse(&self.etag).map_err(|error| {
            ProtoError::new(
                S3ErrorCode::InvalidPart,
                format!("Part {part_number} has an invalid ETag: {error}"),
            )
        })?;
        let candidates = [
            (ChecksumAlgorithm::Crc32, self.crc32),
            (ChecksumAlgorithm::Crc32c, self.crc32c),
            (ChecksumAlgorithm::Crc64Nvme, self.crc64nvme),
            (ChecksumAlgorithm::Sha1, self.sha1),
            (ChecksumAlgorithm::Sha256, self.sha256),
        ];
        let mut checksum = None;
        for (algorithm, value) in candidates {
            let Some(value) = value else { continue };
            if checksum.is_some() {
                return Err(ProtoError::invalid_request(format!(
                    "Part {part_number} has more than one checksum"
                )));
            }
            checksum = Some(Digest::from_base64(algorithm, &value).map_err(|error| {
                ProtoError::invalid_request(format!("Part {part_number}: {error}"))
            })?);
        }
        Ok(CompletedPart {
            part_number,
            etag,
            checksum,
        })
    }
}

/// Parses a CompleteMultipartUpload body: 1 to 10,000 parts in strictly
/// ascending part-number order (else InvalidPartOrder, as S3).
pub fn parse_complete_multipart_upload(body: &[u8]) -> Result<Vec<CompletedPart>, ProtoError> {
    let complete: CompleteMultipartUploadXml = parse_request(body, "CompleteMultipartUpload")?;
    if complete.parts.is_empty() || complete.parts.len() > MAX_MULTIPART_PARTS {
        return Err(ProtoError::new(
            S3ErrorCode::MalformedXML,
            format!("A multipart upload completes with 1 to {MAX_MULTIPART_PARTS} parts"),
        ));
    }
    let parts: Vec<CompletedPart> = complete
        .parts
        .into_iter()
        .map(CompletedPartXml::into_part)
        .collect::<Result<_, _>>()?;
    if parts
        .windows(2)
        .any(|pair| matches!(pair, [before, after] if before.part_number >= after.part_number))
    {
        return Err(ProtoError::new(
            S3ErrorCode::InvalidPartOrder,
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use lockwell_core::checksum::digest;

    use super::*;

    fn check(response: &impl XmlResponse, expected: Expect) {
        expected.assert_eq(&response.to_xml());
    }

    fn etag(text: &str) -> ETag {
        ETag::parse(text).unwrap()
    }

    fn owner() -> Owner {
        Owner {
            id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a".into(),
            display_name: "webfile".into(),
        }
    }

    /// 2009-10-12T17:50:30.000Z, the timestamp of the AWS examples.
    const EXAMPLE_MS: u64 = 1_255_369_830_000;

    #[test]
    fn list_buckets_matches_the_aws_example() {
        check(
            &ListAllMyBucketsResult {
                xmlns: S3_XMLNS,
                owner: owner(),
                buckets: Buckets {
                    buckets: vec![
                        BucketEntry {
                            name: "quotes".into(),
                            creation_date_ms: 1_172_250_839_000,
                        },
                        BucketEntry {
                            name: "samples".into(),
                            creation_date_ms: 1_172_250_839_000,
                        },
                    ],
                },
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><Buckets><Bucket><Name>quotes</Name><CreationDate>2007-02-23T17:13:59.000Z</CreationDate></Bucket><Bucket><Name>samples</Name><CreationDate>2007-02-23T17:13:59.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#]],
        );
    }

    fn object_entry(key: &str, owner: Option<Owner>) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            last_modified_ms: EXAMPLE_MS,
            etag: etag("\"fba9dede5f27731c9771645a39863328\""),
            size_bytes: 434_234,
            storage_class: StorageClass::Standard,
            owner,
        }
    }

    #[test]
    fn list_objects_v2_with_common_prefixes_and_continuation() {
        check(
            &ListObjectsV2Result {
                xmlns: S3_XMLNS,
                name: "bucket".into(),
                prefix: String::new(),
                start_after: None,
                continuation_token: Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=".into()),
                next_continuation_token: Some("1ueGcxLPRx1Tr".into()),
                key_count: 2,
                max_keys: 1000,
                delimiter: Some("/".into()),
                encoding_type: None,
                is_truncated: true,
                contents: vec![object_entry("my-image.jpg", None)],
                common_prefixes: vec![CommonPrefix {
                    prefix: "photos/".into(),
                }],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix/><ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken><NextContinuationToken>1ueGcxLPRx1Tr</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><Contents><Key>my-image.jpg</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes></ListBucketResult>"#]],
        );
    }

    #[test]
    fn list_objects_v1_shows_owner_and_escapes_keys() {
        check(
            &ListObjectsResult {
                xmlns: S3_XMLNS,
                name: "bucket".into(),
                prefix: "a&b".into(),
                marker: String::new(),
                next_marker: None,
                max_keys: 1000,
                delimiter: None,
                encoding_type: Some(EncodingType::Url),
                is_truncated: false,
                contents: vec![object_entry("a&b<c>.txt", Some(owner()))],
                common_prefixes: vec![],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>a&amp;b</Prefix><Marker/><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b&lt;c&gt;.txt</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner></Contents></ListBucketResult>"#]],
        );
    }

    #[test]
    fn list_versions_lists_unversioned_objects_with_version_null() {
        check(
            &ListVersionsResult {
                xmlns: S3_XMLNS,
                name: "bucket".into(),
                prefix: "my".into(),
                key_marker: String::new(),
                version_id_marker: String::new(),
                next_key_marker: None,
                next_version_id_marker: None,
                max_keys: 5,
                delimiter: None,
                encoding_type: None,
                is_truncated: false,
                versions: vec![VersionEntry {
                    key: "my-image.jpg".into(),
                    version_id: "null".into(),
                    is_latest: true,
                    last_modified_ms: EXAMPLE_MS,
                    etag: etag("fba9dede5f27731c9771645a39863328"),
                    size_bytes: 434_234,
                    storage_class: StorageClass::Standard,
                    owner: owner(),
                }],
                common_prefixes: vec![],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>my</Prefix><KeyMarker/><VersionIdMarker/><MaxKeys>5</MaxKeys><IsTruncated>false</IsTruncated><Version><Key>my-image.jpg</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner></Version></ListVersionsResult>"#]],
        );
    }

    #[test]
    fn location_is_empty_for_us_east_1_and_named_elsewhere() {
        check(
            &LocationConstraint::for_region("us-east-1"),
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#]],
        );
        check(
            &LocationConstraint::for_region("eu-west-1"),
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#]],
        );
        check(
            &VersioningConfiguration::default(),
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#]],
        );
    }

    #[test]
    fn e2_copy_and_complete_results_carry_the_new_etag_and_checksum() {
        let crc32 = digest(ChecksumAlgorithm::Crc32, b"hello");
        check(
            &CopyObjectResult {
                xmlns: S3_XMLNS,
                last_modified_ms: EXAMPLE_MS,
                etag: etag("9b2cf535f27731c974343645a3985328"),
                checksum: ChecksumElement::from_digest(&crc32),
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag><ChecksumCRC32>NhCmhg==</ChecksumCRC32></CopyObjectResult>"#]],
        );
        check(
            &CopyPartResult {
                xmlns: S3_XMLNS,
                last_modified_ms: EXAMPLE_MS,
                etag: etag("b62bab1a4fbb7ac1d4e2d1ec1bc1ab43"),
                checksum: None,
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"b62bab1a4fbb7ac1d4e2d1ec1bc1ab43"</ETag></CopyPartResult>"#]],
        );
        let sha256 = digest(ChecksumAlgorithm::Sha256, b"part");
        let composite = MultipartChecksum::Composite {
            digest: sha256,
            part_count: 3,
        };
        check(
            &CompleteMultipartUploadResult {
                xmlns: S3_XMLNS,
                location: "http://localhost:9000/example-bucket/example-object".into(),
                bucket: "example-bucket".into(),
                key: "example-object".into(),
                etag: etag("3858f62230ac3c915f300c664312c11f-3"),
                checksum: ChecksumElement::from_multipart(&composite),
                checksum_type: Some(composite.checksum_type().s3_name()),
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://localhost:9000/example-bucket/example-object</Location><Bucket>example-bucket</Bucket><Key>example-object</Key><ETag>"3858f62230ac3c915f300c664312c11f-3"</ETag><ChecksumSHA256>N6aAEzvQk0L5NK+43Sx9nhtiTaXzXjo4rbED43wFXtE=-3</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>"#]],
        );
        assert_eq!(
            ChecksumElement::from_digest(&digest(ChecksumAlgorithm::Md5, b"")),
            None
        );
    }

    #[test]
    fn multipart_listings_match_the_aws_examples() {
        check(
            &InitiateMultipartUploadResult {
                xmlns: S3_XMLNS,
                bucket: "example-bucket".into(),
                key: "example-object".into(),
                upload_id: "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA".into(),
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>"#]],
        );
        check(
            &ListPartsResult {
                xmlns: S3_XMLNS,
                bucket: "example-bucket".into(),
                key: "example-object".into(),
                upload_id: "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA".into(),
                initiator: owner(),
                owner: owner(),
                storage_class: StorageClass::Standard,
                part_number_marker: 1,
                next_part_number_marker: 3,
                max_parts: 2,
                is_truncated: true,
                parts: vec![PartEntry {
                    part_number: 2,
                    last_modified_ms: EXAMPLE_MS,
                    etag: etag("\"7778aef83f66abc1fa1e8477f296d394\""),
                    size_bytes: 10_485_760,
                    checksum: ChecksumElement::from_digest(&digest(ChecksumAlgorithm::Crc32c, b"")),
                }],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId><Initiator><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Initiator><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass><PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>2</PartNumber><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag><Size>10485760</Size><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part></ListPartsResult>"#]],
        );
        check(
            &ListMultipartUploadsResult {
                xmlns: S3_XMLNS,
                bucket: "bucket".into(),
                key_marker: String::new(),
                upload_id_marker: String::new(),
                next_key_marker: "my-movie.m2ts".into(),
                next_upload_id_marker: "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ".into(),
                prefix: None,
                delimiter: None,
                max_uploads: 3,
                encoding_type: None,
                is_truncated: true,
                uploads: vec![UploadEntry {
                    key: "my-divisor".into(),
                    upload_id: "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw".into(),
                    initiator: owner(),
                    owner: owner(),
                    storage_class: StorageClass::Standard,
                    initiated_ms: 1_289_422_113_000,
                }],
                common_prefixes: vec![],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><KeyMarker/><UploadIdMarker/><NextKeyMarker>my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker><MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId><Initiator><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Initiator><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload></ListMultipartUploadsResult>"#]],
        );
    }

    #[test]
    fn c6a_delete_result_keeps_request_order_of_deleted_and_error_entries() {
        check(
            &DeleteResult {
                xmlns: S3_XMLNS,
                entries: vec![
                    DeleteResultEntry::Deleted {
                        key: "sample1.txt".into(),
                        version_id: None,
                    },
                    DeleteResultEntry::Error {
                        key: "sample2.txt".into(),
                        version_id: Some("null".into()),
                        code: S3ErrorCodeText(S3ErrorCode::PreconditionFailed),
                        message: "At least one of the pre-conditions you specified did not hold"
                            .into(),
                    },
                ],
            },
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>sample1.txt</Key></Deleted><Error><Key>sample2.txt</Key><VersionId>null</VersionId><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error></DeleteResult>"#]],
        );
    }

    #[test]
    fn c9_precondition_failed_names_the_condition() {
        check(
            &ErrorResponse::precondition_failed(
                Condition::IfMatch,
                Some("/bucket/key".into()),
                "4442587FB7D0A2F9".into(),
            ),
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Resource>/bucket/key</Resource><Condition>If-Match</Condition><RequestId>4442587FB7D0A2F9</RequestId></Error>"#]],
        );
        check(
            &ErrorResponse::from_error(
                &ProtoError::new(S3ErrorCode::NoSuchKey, "The specified key does not exist."),
                Some("/mybucket/myfoto.jpg".into()),
                "4442587FB7D0A2F9".into(),
            ),
            expect![[r#"
                <?xml version="1.0" encoding="UTF-8"?>
                <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"#]],
        );
    }

    #[test]
    fn create_bucket_configuration_parses_region_or_nothing() {
        let cases: [(&str, Option<&str>); 4] = [
            ("", None),
            ("  \n", None),
            (
                r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#,
                Some("eu-west-1"),
            ),
            ("<CreateBucketConfiguration/>", None),
        ];
        for (body, region) in cases {
            assert_eq!(
                parse_create_bucket_configuration(body.as_bytes())
                    .unwrap()
                    .as_deref(),
                region,
                "{body}"
            );
        }
    }

    #[test]
    fn c6a_delete_request_parses_keys_versions_and_etags() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Object><Key>sample1.txt</Key></Object>
              <Object><Key>a&amp;b</Key><VersionId>null</VersionId><ETag>"abc"</ETag></Object>
              <Object><Key>any</Key><ETag>*</ETag></Object>
              <Quiet>true</Quiet>
            </Delete>"#;
        let request = parse_delete(body.as_bytes()).unwrap();
        assert!(request.quiet);
        assert_eq!(
            request.objects,
            vec![
                DeleteObjectEntry {
                    key: "sample1.txt".into(),
                    version_id: None,
                    if_match: None,
                },
                DeleteObjectEntry {
                    key: "a&b".into(),
                    version_id: Some("null".into()),
                    if_match: Some(ETagCondition::one(etag("abc"))),
                },
                DeleteObjectEntry {
                    key: "any".into(),
                    version_id: None,
                    if_match: Some(ETagCondition::Any),
                },
            ]
        );
    }

    #[test]
    fn complete_multipart_upload_parses_parts_and_checksums() {
        let crc = digest(ChecksumAlgorithm::Crc32, b"part one");
        let body = format!(
            r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag><ChecksumCRC32>{}</ChecksumCRC32></Part>
              <Part><ETag>0c78aef83f66abc1fa1e8477f296d394</ETag><PartNumber>2</PartNumber></Part>
            </CompleteMultipartUpload>"#,
            crc.to_base64()
        );
        assert_eq!(
            parse_complete_multipart_upload(body.as_bytes()).unwrap(),
            vec![
                CompletedPart {
                    part_number: 1,
                    etag: etag("a54357aff0632cce46d942af68356b38"),
                    checksum: Some(crc),
                },
                CompletedPart {
                    part_number: 2,
                    etag: etag("0c78aef83f66abc1fa1e8477f296d394"),
                    checksum: None,
                },
            ]
        );
    }

    fn part(number: &str) -> String {
        format!("<Part><PartNumber>{number}</PartNumber><ETag>\"e\"</ETag></Part>")
    }

    type ParseFn = fn(&[u8]) -> Result<(), ProtoError>;

    fn parse_delete_only(body: &[u8]) -> Result<(), ProtoError> {
        parse_delete(body).map(drop)
    }

    fn parse_complete_only(body: &[u8]) -> Result<(), ProtoError> {
        parse_complete_multipart_upload(body).map(drop)
    }

    fn parse_create_only(body: &[u8]) -> Result<(), ProtoError> {
        parse_create_bucket_configuration(body).map(drop)
    }

    /// SPEC B1: each malformed request body and the code it gets.
    #[test]
    fn b1_malformed_request_bodies_are_refused_with_their_codes() {
        use S3ErrorCode::{
            InvalidArgument, InvalidPart, InvalidPartOrder, InvalidRequest, MalformedXML,
            NotImplemented,
        };
        let complete =
            |parts: &str| format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
        let delete = |objects: &str| format!("<Delete>{objects}</Delete>");
        let cases: Vec<(&str, ParseFn, String, S3ErrorCode)> = vec![
            ("not xml", parse_delete_only, "garbage".into(), MalformedXML),
            ("not utf-8", parse_delete_only, "<Delete>\u{0}\u{ff}".into(), MalformedXML),
            ("unclosed", parse_delete_only, "<Delete><Object><Key>a</Key></Object>".into(), MalformedXML),
            ("wrong root", parse_delete_only, "<Other><Object><Key>a</Key></Object></Other>".into(), MalformedXML),
            ("no objects", parse_delete_only, delete(""), MalformedXML),
            ("object without key", parse_delete_only, delete("<Object></Object>"), MalformedXML),
            ("two keys in one object", parse_delete_only, delete("<Object><Key>a</Key><Key>b</Key></Object>"), MalformedXML),
            ("quiet not boolean", parse_delete_only, delete("<Quiet>maybe</Quiet><Object><Key>a</Key></Object>"), MalformedXML),
            ("bad etag condition", parse_delete_only, delete("<Object><Key>a</Key><ETag>\"a</ETag></Object>"), InvalidArgument),
            ("size condition", parse_delete_only, delete("<Object><Key>a</Key><Size>3</Size></Object>"), NotImplemented),
            ("too many objects", parse_delete_only, delete(&"<Object><Key>a</Key></Object>".repeat(MAX_DELETE_OBJECTS + 1)), MalformedXML),
            ("no parts", parse_complete_only, complete(""), MalformedXML),
            ("part number zero", parse_complete_only, complete(&part("0")), InvalidArgument),
            ("part number too big", parse_complete_only, complete(&part("10001")), InvalidArgument),
            ("part number not a number", parse_complete_only, complete(&part("one")), MalformedXML),
            ("parts out of order", parse_complete_only, complete(&(part("2") + &part("1"))), InvalidPartOrder),
            ("duplicate part", parse_complete_only, complete(&(part("1") + &part("1"))), InvalidPartOrder),
            ("weak part etag", parse_complete_only, complete("<Part><PartNumber>1</PartNumber><ETag>W/\"e\"</ETag></Part>"), InvalidPart),
            (
                "bad part checksum",
                parse_complete_only,
                complete("<Part><PartNumber>1</PartNumber><ETag>e</ETag><ChecksumCRC32>!!</ChecksumCRC32></Part>"),
                InvalidRequest,
            ),
            (
                "two part checksums",
                parse_complete_only,
                complete("<Part><PartNumber>1</PartNumber><ETag>e</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part>"),
                InvalidRequest,
            ),
            (
                "bad location constraint",
                parse_create_only,
                "<CreateBucketConfiguration><LocationConstraint><x/></LocationConstraint></CreateBucketConfiguration>".into(),
                MalformedXML,
            ),
            // quick-xml 0.38 panicked on a DTD between two runs of text; the
            // first case is the fuzzer's minimized input.
            ("doctype in a key, unclosed", parse_delete_only, "<Delete><Object><Key>s<!DOCTYPe.>x".into(), MalformedXML),
            ("doctype in a key", parse_delete_only, delete("<Object><Key>a<!DOCTYPE x>b</Key></Object>"), MalformedXML),
            ("doctype before the root", parse_delete_only, format!("<!DOCTYPE Delete>{}", delete("<Object><Key>a</Key></Object>")), MalformedXML),
            (
                "doctype in a part etag",
                parse_complete_only,
                complete("<Part><PartNumber>1</PartNumber><ETag>\"a<!DOCTYPE x>b\"</ETag></Part>"),
                MalformedXML,
            ),
            (
                "doctype in a location constraint",
                parse_create_only,
                "<CreateBucketConfiguration><LocationConstraint>eu<!DOCTYPE x>-west-1</LocationConstraint></CreateBucketConfiguration>".into(),
                MalformedXML,
            ),
        ];
        for (name, parse, body, code) in cases {
            assert_eq!(
                parse(body.as_bytes()).map_err(|error| error.code),
                Err(code),
                "{name}"
            );
        }
    }

    #[test]
    fn request_size_limit_holds_at_the_limit() {
        let filler = |len: usize| {
            let head = "<Delete><Object><Key>a</Key></Object>";
            let tail = "</Delete>";
            format!("{head}{}{tail}", " ".repeat(len - head.len() - tail.len()))
        };
        assert!(parse_delete(filler(MAX_REQUEST_XML_LEN_BYTES).as_bytes()).is_ok());
        let error = parse_delete(filler(MAX_REQUEST_XML_LEN_BYTES + 1).as_bytes()).unwrap_err();
        assert_eq!(error.code, S3ErrorCode::MalformedXML);
        assert!(error.message.contains("longer than"), "{}", error.message);
    }

    #[test]
    fn a_delete_of_exactly_the_maximum_number_of_objects_parses() {
        let body = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>a</Key></Object>".repeat(MAX_DELETE_OBJECTS)
        );
        assert_eq!(
            parse_delete(body.as_bytes()).unwrap().objects.len(),
            MAX_DELETE_OBJECTS
        );
    }

    proptest::proptest! {
        #[test]
        fn request_parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse_delete(&body);
            let _ = parse_complete_multipart_upload(&body);
            let _ = parse_create_bucket_configuration(&body);
        }
    }
}
