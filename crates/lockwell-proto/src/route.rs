//! S3 request routing: method + host + path + query -> [`S3Operation`].
//!
//! Both addressing styles are understood: path-style (`/bucket/key`) and
//! virtual-hosted style (`bucket.<base domain>/key`) when the server is given
//! a base domain. Keys are percent-decoded exactly once and validated by
//! lockwell-core's [`ObjectKey`], bucket names by [`BucketName`], so nothing
//! behind the router holds an invalid name (SPEC B1).
//!
//! Operations Lockwell does not implement (`?acl`, `?tagging`, `?policy`,
//! `?lifecycle`, ...) route to [`S3Operation::NotImplemented`], never to a
//! neighbouring operation: a PUT `?acl` must not overwrite the object.

use http::Method;
use lockwell_core::object::{BucketName, ObjectKey, ObjectKeyError, ObjectPath};
use percent_encoding::percent_decode_str;

use crate::error::{ProtoError, S3ErrorCode};
use crate::sigv4::parse_query;
use crate::xml::{EncodingType, MAX_PART_NUMBER};

/// S3's default and largest page size for every listing.
pub const MAX_LIST_KEYS: u32 = 1000;

/// Subresources that select an operation Lockwell does not implement. A
/// request carrying one of them is answered 501, whatever its method.
pub const NOT_IMPLEMENTED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "website",
];

/// Parameters of ListObjects (v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub marker: String,
    pub max_keys: u32,
    pub encoding_type: Option<EncodingType>,
}

/// Parameters of ListObjectsV2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsV2Params {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub max_keys: u32,
    pub fetch_owner: bool,
    pub encoding_type: Option<EncodingType>,
}

/// Parameters of ListObjectVersions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersionsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: String,
    pub version_id_marker: String,
    pub max_keys: u32,
    pub encoding_type: Option<EncodingType>,
}

/// Parameters of ListMultipartUploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUploadsParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: String,
    pub upload_id_marker: String,
    pub max_uploads: u32,
    pub encoding_type: Option<EncodingType>,
}

/// Parameters of ListParts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartsParams {
    pub max_parts: u32,
    /// Parts after this number are listed; 0 lists from the first.
    pub part_number_marker: u16,
}

/// What an S3 request asks for.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Operation {
    ListBuckets,
    CreateBucket {
        bucket: BucketName,
    },
    HeadBucket {
        bucket: BucketName,
    },
    DeleteBucket {
        bucket: BucketName,
    },
    GetBucketLocation {
        bucket: BucketName,
    },
    GetBucketVersioning {
        bucket: BucketName,
    },
    ListObjects {
        bucket: BucketName,
        params: ListObjectsParams,
    },
    ListObjectsV2 {
        bucket: BucketName,
        params: ListObjectsV2Params,
    },
    ListObjectVersions {
        bucket: BucketName,
        params: ListVersionsParams,
    },
    ListMultipartUploads {
        bucket: BucketName,
        params: ListUploadsParams,
    },
    /// `POST /bucket?delete`.
    DeleteObjects {
        bucket: BucketName,
    },
    PutObject {
        path: ObjectPath,
    },
    /// `PUT` with `x-amz-copy-source`.
    CopyObject {
        path: ObjectPath,
    },
    GetObject {
        path: ObjectPath,
        version_id: Option<String>,
        part_number: Option<u16>,
    },
    HeadObject {
        path: ObjectPath,
        version_id: Option<String>,
        part_number: Option<u16>,
    },
    DeleteObject {
        path: ObjectPath,
        version_id: Option<String>,
    },
    /// `POST /bucket/key?uploads`.
    CreateMultipartUpload {
        path: ObjectPath,
    },
    /// `PUT /bucket/key?partNumber=N&uploadId=U`.
    UploadPart {
        path: ObjectPath,
        upload_id: String,
        part_number: u16,
    },
    /// UploadPart with `x-amz-copy-source`.
    UploadPartCopy {
        path: ObjectPath,
        upload_id: String,
        part_number: u16,
    },
    /// `GET /bucket/key?uploadId=U`.
    ListParts {
        path: ObjectPath,
        upload_id: String,
        params: ListPartsParams,
    },
    /// `POST /bucket/key?uploadId=U`.
    CompleteMultipartUpload {
        path: ObjectPath,
        upload_id: String,
    },
    /// `DELETE /bucket/key?uploadId=U`.
    AbortMultipartUpload {
        path: ObjectPath,
        upload_id: String,
    },
    /// Anything else: answered 501 NotImplemented. `what` names it.
    NotImplemented {
        what: String,
    },
}

/// The parts of a request the router looks at, raw as received.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    pub method: &'a Method,
    /// The `Host` header, port included or not.
    pub host: Option<&'a str>,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The query string, still percent-encoded.
    pub query: Option<&'a str>,
    /// Whether `x-amz-copy-source` is present (CopyObject, UploadPartCopy).
    pub has_copy_source: bool,
}

/// Maps requests to operations; knows the base domain of virtual-hosted
/// style addressing, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Router {
    base_domain: Option<String>,
}

/// Parses a bucket name with S3's error code for a bad one.
pub fn parse_bucket_name(name: &str) -> Result<BucketName, ProtoError> {
    BucketName::parse(name)
        .map_err(|error| ProtoError::new(S3ErrorCode::InvalidBucketName, error.to_string()))
}

/// Parses an (already decoded) object key with S3's error code for a bad one.
pub fn parse_object_key(key: &str) -> Result<ObjectKey, ProtoError> {
    ObjectKey::parse(key).map_err(|error| {
        let code = match error {
            ObjectKeyError::TooLong { .. } => S3ErrorCode::KeyTooLongError,
            _ => S3ErrorCode::InvalidArgument,
        };
        ProtoError::new(code, error.to_string())
    })
}

/// Percent-decodes one URI component to UTF-8; InvalidURI when the bytes
/// are not UTF-8.
pub(crate) fn percent_decode_utf8(text: &str) -> Result<String, ProtoError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| ProtoError::new(S3ErrorCode::InvalidURI, "Couldn't parse the specified URI."))
}

/// Decoded query parameters, first occurrence wins.
struct Query(Vec<(String, String)>);

impl Query {
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn string(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Absent and empty are the same for optional string parameters.
    fn non_empty(&self, name: &str) -> Option<String> {
        self.get(name)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    }

    /// A page size: default and cap [`MAX_LIST_KEYS`], as S3.
    fn page_size(&self, name: &str) -> Result<u32, ProtoError> {
        match self.get(name) {
            None => Ok(MAX_LIST_KEYS),
            Some(text) => text
                .parse::<u32>()
                .map(|size| size.min(MAX_LIST_KEYS))
                .map_err(|_| {
                    ProtoError::invalid_argument(format!(
                        "Provided {name} not an integer or within integer range"
                    ))
                }),
        }
    }

    fn encoding_type(&self) -> Result<Option<EncodingType>, ProtoError> {
        match self.get("encoding-type") {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("url") => Ok(Some(EncodingType::Url)),
            Some(_) => Err(ProtoError::invalid_argument(
                "Invalid Encoding Method specified in Request",
            )),
        }
    }

    fn part_number(&self) -> Result<Option<u16>, ProtoError> {
        self.get("partNumber").map(parse_part_number).transpose()
    }

    fn upload_id(&self) -> Result<Option<String>, ProtoError> {
        match self.get("uploadId") {
            None => Ok(None),
            Some("") => Err(ProtoError::invalid_argument("uploadId must not be empty")),
            Some(upload_id) => Ok(Some(upload_id.to_string())),
        }
    }
}

fn parse_part_number(text: &str) -> Result<u16, ProtoError> {
    text.parse::<u16>()
        .ok()
        .filter(|number| (1..=MAX_PART_NUMBER).contains(number))
        .ok_or_else(|| {
            ProtoError::invalid_argument(format!(
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            ))
        })
}

fn not_implemented(what: impl Into<String>) -> S3Operation {
    S3Operation::NotImplemented { what: what.into() }
}

impl Router {
    /// A router for path-style requests only.
    pub fn path_style_only() -> Self {
        Self { base_domain: None }
    }

    /// A router that also takes `bucket.<base_domain>` hosts as
    /// virtual-hosted style (e.g. `s3.localhost`).
    pub fn with_base_domain(base_domain: &str) -> Self {
        Self {
            base_domain: Some(base_domain.trim_end_matches('.').to_ascii_lowercase()),
        }
    }

    /// The bucket a virtual-hosted `Host` names, if it is one.
    fn virtual_host_bucket<'h>(&self, host: &'h str) -> Option<&'h str> {
        let base = self.base_domain.as_deref()?;
        let host = strip_port(host);
        let bucket_len = host.len().checked_sub(base.len() + 1)?;
        let (bucket, suffix) = host.split_at_checked(bucket_len)?;
        let domain = suffix.strip_prefix('.')?;
        (domain.eq_ignore_ascii_case(base) && !bucket.is_empty()).then_some(bucket)
    }

    /// Routes one request.
    pub fn route(&self, request: &RouteRequest<'_>) -> Result<S3Operation, ProtoError> {
        let Some(path) = request.path.strip_prefix('/') else {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidURI,
                "Couldn't parse the specified URI.",
            ));
        };
        let (bucket, raw_key) = match request.host.and_then(|host| self.virtual_host_bucket(host)) {
            // Host names are case-insensitive; bucket names are lowercase.
            Some(bucket) => (bucket.to_ascii_lowercase(), path),
            None => {
                let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
                (percent_decode_utf8(bucket)?, key)
            }
        };
        let query = Query(request.query.map(parse_query).unwrap_or_default());
        if let Some(subresource) = NOT_IMPLEMENTED_SUBRESOURCES
            .iter()
            .find(|name| query.has(name))
        {
            return Ok(not_implemented(format!(
                "{} ?{subresource}",
                request.method
            )));
        }
        if !matches!(
            *request.method,
            Method::GET | Method::HEAD | Method::PUT | Method::POST | Method::DELETE
        ) {
            if *request.method == Method::OPTIONS {
                return Ok(not_implemented("OPTIONS (CORS preflight)"));
            }
            return Err(ProtoError::new(
                S3ErrorCode::MethodNotAllowed,
                format!(
                    "The method {} is not allowed against this resource.",
                    request.method
                ),
            ));
        }
        if bucket.is_empty() {
            return Ok(match *request.method {
                Method::GET => S3Operation::ListBuckets,
                _ => not_implemented(format!("{} on the service", request.method)),
            });
        }
        let bucket = parse_bucket_name(&bucket)?;
        if raw_key.is_empty() {
            return route_bucket(request, bucket, &query);
        }
        let key = parse_object_key(&percent_decode_utf8(raw_key)?)?;
        route_object(request, ObjectPath::new(bucket, key), &query)
    }
}

fn strip_port(host: &str) -> &str {
    // An IPv6 literal keeps its colons inside brackets.
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

fn route_bucket(
    request: &RouteRequest<'_>,
    bucket: BucketName,
    query: &Query,
) -> Result<S3Operation, ProtoError> {
    let method = request.method;
    let operation = if query.has("location") {
        match *method {
            Method::GET => S3Operation::GetBucketLocation { bucket },
            _ => not_implemented(format!("{method} ?location")),
        }
    } else if query.has("versioning") {
        match *method {
            Method::GET => S3Operation::GetBucketVersioning { bucket },
            _ => not_implemented(format!("{method} ?versioning")),
        }
    } else {
        match *method {
            Method::PUT => S3Operation::CreateBucket { bucket },
            Method::HEAD => S3Operation::HeadBucket { bucket },
            Method::DELETE => S3Operation::DeleteBucket { bucket },
            Method::POST if query.has("delete") => S3Operation::DeleteObjects { bucket },
            Method::POST => not_implemented("POST object (browser upload)"),
            _ if query.has("versions") => S3Operation::ListObjectVersions {
                bucket,
                params: ListVersionsParams {
                    prefix: query.string("prefix"),
                    delimiter: query.non_empty("delimiter"),
                    key_marker: query.string("key-marker"),
                    version_id_marker: query.string("version-id-marker"),
                    max_keys: query.page_size("max-keys")?,
                    encoding_type: query.encoding_type()?,
                },
            },
            _ if query.has("uploads") => S3Operation::ListMultipartUploads {
                bucket,
                params: ListUploadsParams {
                    prefix: query.string("prefix"),
                    delimiter: query.non_empty("delimiter"),
                    key_marker: query.string("key-marker"),
                    upload_id_marker: query.string("upload-id-marker"),
                    max_uploads: query.page_size("max-uploads")?,
                    encoding_type: query.encoding_type()?,
                },
            },
            _ => match query.get("list-type") {
                Some("2") => S3Operation::ListObjectsV2 {
                    bucket,
                    params: ListObjectsV2Params {
                        prefix: query.string("prefix"),
                        delimiter: query.non_empty("delimiter"),
                        continuation_token: query.non_empty("continuation-token"),
                        start_after: query.non_empty("start-after"),
                        max_keys: query.page_size("max-keys")?,
                        fetch_owner: query.get("fetch-owner") == Some("true"),
                        encoding_type: query.encoding_type()?,
                    },
                },
                None => S3Operation::ListObjects {
                    bucket,
                    params: ListObjectsParams {
                        prefix: query.string("prefix"),
                        delimiter: query.non_empty("delimiter"),
                        marker: query.string("marker"),
                        max_keys: query.page_size("max-keys")?,
                        encoding_type: query.encoding_type()?,
                    },
                },
                Some(other) => {
                    return Err(ProtoError::invalid_argument(format!(
                        "Invalid list-type {other:?}; only 2 is supported"
                    )));
                }
            },
        }
    };
    Ok(operation)
}

fn route_object(
    request: &RouteRequest<'_>,
    path: ObjectPath,
    query: &Query,
) -> Result<S3Operation, ProtoError> {
    let method = request.method;
    let upload_id = query.upload_id()?;
    let part_number = query.part_number()?;
    let version_id = query.non_empty("versionId");
    let operation = match (method.clone(), upload_id, part_number) {
        (Method::PUT, Some(upload_id), Some(part_number)) => {
            if request.has_copy_source {
                S3Operation::UploadPartCopy {
                    path,
                    upload_id,
                    part_number,
                }
            } else {
                S3Operation::UploadPart {
                    path,
                    upload_id,
                    part_number,
                }
            }
        }
        (Method::PUT, Some(_), None) => {
            return Err(ProtoError::invalid_argument(
                "UploadPart needs both partNumber and uploadId",
            ));
        }
        (Method::PUT, None, _) if request.has_copy_source => S3Operation::CopyObject { path },
        (Method::PUT, None, _) => S3Operation::PutObject { path },
        (Method::GET, Some(upload_id), _) => S3Operation::ListParts {
            path,
            upload_id,
            params: ListPartsParams {
                max_parts: query.page_size("max-parts")?,
                part_number_marker: match query.get("part-number-marker") {
                    None | Some("") | Some("0") => 0,
                    Some(marker) => parse_part_number(marker)?,
                },
            },
        },
        (Method::GET, None, part_number) => S3Operation::GetObject {
            path,
            version_id,
            part_number,
        },
        (Method::HEAD, _, part_number) => S3Operation::HeadObject {
            path,
            version_id,
            part_number,
        },
        (Method::DELETE, Some(upload_id), _) => {
            S3Operation::AbortMultipartUpload { path, upload_id }
        }
        (Method::DELETE, None, _) => S3Operation::DeleteObject { path, version_id },
        (Method::POST, Some(upload_id), _) => {
            S3Operation::CompleteMultipartUpload { path, upload_id }
        }
        (Method::POST, None, _) if query.has("uploads") => {
            S3Operation::CreateMultipartUpload { path }
        }
        (other, _, _) => not_implemented(format!("{other} on an object")),
    };
    Ok(operation)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use lockwell_core::object::MAX_OBJECT_KEY_LEN_BYTES;

    use super::*;

    fn route_with(router: &Router, method: Method, host: &str, target: &str, copy: bool) -> String {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let request = RouteRequest {
            method: &method,
            host: Some(host),
            path,
            query,
            has_copy_source: copy,
        };
        match router.route(&request) {
            Ok(operation) => format!("{operation:?}"),
            Err(error) => format!("Err({}: {})", error.code, error.message),
        }
    }

    /// Routes each `METHOD target [copy]` line path-style and prints one
    /// line per request, so a table of cases reads as data.
    fn check(cases: &str, expected: Expect) {
        let router = Router::with_base_domain("s3.local");
        let mut out = String::new();
        for line in cases.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let mut words = line.split_whitespace();
            let method = Method::from_bytes(words.next().unwrap().as_bytes()).unwrap();
            let target = words.next().unwrap();
            let copy = words.next() == Some("copy");
            let routed = route_with(&router, method, "localhost:9000", target, copy);
            out.push_str(&format!("{line:<44} => {routed}\n"));
        }
        expected.assert_eq(&out);
    }

    #[test]
    fn every_implemented_operation_routes_path_style() {
        check(
            "
            GET /
            PUT /bucket
            HEAD /bucket
            DELETE /bucket
            GET /bucket?location
            GET /bucket?versioning
            POST /bucket?delete
            PUT /bucket/key
            PUT /bucket/key copy
            GET /bucket/key
            HEAD /bucket/key?versionId=null
            DELETE /bucket/key?versionId=null
            POST /bucket/key?uploads
            PUT /bucket/key?partNumber=3&uploadId=U1
            PUT /bucket/key?partNumber=3&uploadId=U1 copy
            GET /bucket/key?uploadId=U1
            POST /bucket/key?uploadId=U1
            DELETE /bucket/key?uploadId=U1
            ",
            expect![[r#"
                GET /                                        => ListBuckets
                PUT /bucket                                  => CreateBucket { bucket: BucketName("bucket") }
                HEAD /bucket                                 => HeadBucket { bucket: BucketName("bucket") }
                DELETE /bucket                               => DeleteBucket { bucket: BucketName("bucket") }
                GET /bucket?location                         => GetBucketLocation { bucket: BucketName("bucket") }
                GET /bucket?versioning                       => GetBucketVersioning { bucket: BucketName("bucket") }
                POST /bucket?delete                          => DeleteObjects { bucket: BucketName("bucket") }
                PUT /bucket/key                              => PutObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") } }
                PUT /bucket/key copy                         => CopyObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") } }
                GET /bucket/key                              => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, version_id: None, part_number: None }
                HEAD /bucket/key?versionId=null              => HeadObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, version_id: Some("null"), part_number: None }
                DELETE /bucket/key?versionId=null            => DeleteObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, version_id: Some("null") }
                POST /bucket/key?uploads                     => CreateMultipartUpload { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") } }
                PUT /bucket/key?partNumber=3&uploadId=U1     => UploadPart { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U1", part_number: 3 }
                PUT /bucket/key?partNumber=3&uploadId=U1 copy => UploadPartCopy { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U1", part_number: 3 }
                GET /bucket/key?uploadId=U1                  => ListParts { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U1", params: ListPartsParams { max_parts: 1000, part_number_marker: 0 } }
                POST /bucket/key?uploadId=U1                 => CompleteMultipartUpload { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U1" }
                DELETE /bucket/key?uploadId=U1               => AbortMultipartUpload { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U1" }
            "#]],
        );
    }

    #[test]
    fn listings_parse_their_parameters() {
        check(
            "
            GET /bucket
            GET /bucket?prefix=photos%2F&delimiter=%2F&marker=m&max-keys=2
            GET /bucket?list-type=2&continuation-token=t&start-after=a&fetch-owner=true&max-keys=5000
            GET /bucket?list-type=2&encoding-type=url&delimiter=
            GET /bucket?versions&key-marker=k&version-id-marker=null
            GET /bucket?uploads&max-uploads=10&upload-id-marker=u
            GET /bucket/key?uploadId=U&max-parts=2&part-number-marker=7
            ",
            expect![[r#"
                GET /bucket                                  => ListObjects { bucket: BucketName("bucket"), params: ListObjectsParams { prefix: "", delimiter: None, marker: "", max_keys: 1000, encoding_type: None } }
                GET /bucket?prefix=photos%2F&delimiter=%2F&marker=m&max-keys=2 => ListObjects { bucket: BucketName("bucket"), params: ListObjectsParams { prefix: "photos/", delimiter: Some("/"), marker: "m", max_keys: 2, encoding_type: None } }
                GET /bucket?list-type=2&continuation-token=t&start-after=a&fetch-owner=true&max-keys=5000 => ListObjectsV2 { bucket: BucketName("bucket"), params: ListObjectsV2Params { prefix: "", delimiter: None, continuation_token: Some("t"), start_after: Some("a"), max_keys: 1000, fetch_owner: true, encoding_type: None } }
                GET /bucket?list-type=2&encoding-type=url&delimiter= => ListObjectsV2 { bucket: BucketName("bucket"), params: ListObjectsV2Params { prefix: "", delimiter: None, continuation_token: None, start_after: None, max_keys: 1000, fetch_owner: false, encoding_type: Some(Url) } }
                GET /bucket?versions&key-marker=k&version-id-marker=null => ListObjectVersions { bucket: BucketName("bucket"), params: ListVersionsParams { prefix: "", delimiter: None, key_marker: "k", version_id_marker: "null", max_keys: 1000, encoding_type: None } }
                GET /bucket?uploads&max-uploads=10&upload-id-marker=u => ListMultipartUploads { bucket: BucketName("bucket"), params: ListUploadsParams { prefix: "", delimiter: None, key_marker: "", upload_id_marker: "u", max_uploads: 10, encoding_type: None } }
                GET /bucket/key?uploadId=U&max-parts=2&part-number-marker=7 => ListParts { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("key") }, upload_id: "U", params: ListPartsParams { max_parts: 2, part_number_marker: 7 } }
            "#]],
        );
    }

    #[test]
    fn unimplemented_subresources_never_reach_a_neighbouring_operation() {
        check(
            "
            PUT /bucket/key?acl
            GET /bucket/key?tagging
            PUT /bucket?policy
            PUT /bucket?lifecycle
            PUT /bucket?versioning
            POST /bucket/key?restore
            POST /bucket/key?select&select-type=2
            POST /bucket
            POST /bucket/key
            OPTIONS /bucket/key
            PUT /
            ",
            expect![[r#"
                PUT /bucket/key?acl                          => NotImplemented { what: "PUT ?acl" }
                GET /bucket/key?tagging                      => NotImplemented { what: "GET ?tagging" }
                PUT /bucket?policy                           => NotImplemented { what: "PUT ?policy" }
                PUT /bucket?lifecycle                        => NotImplemented { what: "PUT ?lifecycle" }
                PUT /bucket?versioning                       => NotImplemented { what: "PUT ?versioning" }
                POST /bucket/key?restore                     => NotImplemented { what: "POST ?restore" }
                POST /bucket/key?select&select-type=2        => NotImplemented { what: "POST ?select" }
                POST /bucket                                 => NotImplemented { what: "POST object (browser upload)" }
                POST /bucket/key                             => NotImplemented { what: "POST on an object" }
                OPTIONS /bucket/key                          => NotImplemented { what: "OPTIONS (CORS preflight)" }
                PUT /                                        => NotImplemented { what: "PUT on the service" }
            "#]],
        );
    }

    #[test]
    fn keys_are_percent_decoded_once_and_validated() {
        check(
            "
                GET /bucket/a%20b/c%2Fd
                GET /bucket/%2541
                GET /bucket//leading-slash
                GET /bucket/a+b
                GET /bucket/%C3%A7%C3%A3o
                GET /bucket/%FF
                GET /bucket/%0A
                GET /Bucket/key
                GET /ab/key
                PATCH /bucket/key
                GET /bucket/key?partNumber=0
                GET /bucket/key?partNumber=10001
                PUT /bucket/key?uploadId=U
                PUT /bucket/key?partNumber=1&uploadId=
                GET /bucket?max-keys=-1
                GET /bucket?encoding-type=base64
            GET /bucket?list-type=3
            ",
            expect![[r#"
                GET /bucket/a%20b/c%2Fd                      => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("a b/c/d") }, version_id: None, part_number: None }
                GET /bucket/%2541                            => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("%41") }, version_id: None, part_number: None }
                GET /bucket//leading-slash                   => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("/leading-slash") }, version_id: None, part_number: None }
                GET /bucket/a+b                              => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("a+b") }, version_id: None, part_number: None }
                GET /bucket/%C3%A7%C3%A3o                    => GetObject { path: ObjectPath { bucket: BucketName("bucket"), key: ObjectKey("ção") }, version_id: None, part_number: None }
                GET /bucket/%FF                              => Err(InvalidURI: Couldn't parse the specified URI.)
                GET /bucket/%0A                              => Err(InvalidArgument: object key has control character U+000A at byte 0; U+0000 to U+001F are not allowed)
                GET /Bucket/key                              => Err(InvalidBucketName: bucket name has 'B' at byte 0; only lowercase letters, digits, '.' and '-' are allowed)
                GET /ab/key                                  => Err(InvalidBucketName: bucket name is 2 bytes; it must be at least 3)
                PATCH /bucket/key                            => Err(MethodNotAllowed: The method PATCH is not allowed against this resource.)
                GET /bucket/key?partNumber=0                 => Err(InvalidArgument: Part number must be an integer between 1 and 10000, inclusive)
                GET /bucket/key?partNumber=10001             => Err(InvalidArgument: Part number must be an integer between 1 and 10000, inclusive)
                PUT /bucket/key?uploadId=U                   => Err(InvalidArgument: UploadPart needs both partNumber and uploadId)
                PUT /bucket/key?partNumber=1&uploadId=       => Err(InvalidArgument: uploadId must not be empty)
                GET /bucket?max-keys=-1                      => Err(InvalidArgument: Provided max-keys not an integer or within integer range)
                GET /bucket?encoding-type=base64             => Err(InvalidArgument: Invalid Encoding Method specified in Request)
                GET /bucket?list-type=3                      => Err(InvalidArgument: Invalid list-type "3"; only 2 is supported)
            "#]],
        );
    }

    #[test]
    fn key_length_limit_holds_at_the_limit() {
        let router = Router::path_style_only();
        let at_limit = format!("/bucket/{}", "k".repeat(MAX_OBJECT_KEY_LEN_BYTES));
        assert!(route_with(&router, Method::GET, "h", &at_limit, false).starts_with("GetObject"));
        // Encoded bytes count once decoded: 1024 'k' plus one '%20' is 1025 bytes.
        let over = format!("{at_limit}%20");
        assert!(
            route_with(&router, Method::GET, "h", &over, false).starts_with("Err(KeyTooLongError")
        );
    }

    #[test]
    fn virtual_hosted_style_takes_the_bucket_from_the_host() {
        let router = Router::with_base_domain("s3.local");
        let cases = [
            ("bucket.s3.local", "/key", "PutObject"),
            ("bucket.s3.local:9000", "/a/b", "PutObject"),
            ("my.dotted.bucket.S3.LOCAL", "/key", "PutObject"),
            ("s3.local:9000", "/bucket/key", "PutObject"),
            ("127.0.0.1:9000", "/bucket/key", "PutObject"),
            ("[::1]:9000", "/bucket/key", "PutObject"),
            ("bucket.s3.local", "/", "CreateBucket"),
        ];
        for (host, path, operation) in cases {
            let routed = route_with(&router, Method::PUT, host, path, false);
            assert!(routed.starts_with(operation), "{host}{path}: {routed}");
        }
        assert_eq!(
            route_with(&router, Method::PUT, "bucket.s3.local:9000", "/a/b", false),
            route_with(&router, Method::PUT, "localhost", "/bucket/a/b", false),
        );
        let dotted = route_with(
            &router,
            Method::GET,
            "my.dotted.bucket.s3.local",
            "/",
            false,
        );
        assert!(dotted.contains("\"my.dotted.bucket\""), "{dotted}");
        let path_only = Router::path_style_only();
        let routed = route_with(&path_only, Method::PUT, "bucket.s3.local", "/key", false);
        assert!(routed.starts_with("CreateBucket"), "{routed}");
    }

    #[test]
    fn page_sizes_cap_at_the_limit() {
        let query = Query(parse_query("max-keys=1000&a=1001&b=0"));
        assert_eq!(query.page_size("max-keys"), Ok(MAX_LIST_KEYS));
        assert_eq!(query.page_size("a"), Ok(MAX_LIST_KEYS));
        assert_eq!(query.page_size("b"), Ok(0));
    }

    proptest::proptest! {
        #[test]
        fn routing_never_panics(
            host in "[a-z0-9.:\\[\\]]{0,30}",
            path in "/[ -~]{0,40}",
            query in "[ -~]{0,40}",
            copy in proptest::prelude::any::<bool>(),
        ) {
            let router = Router::with_base_domain("s3.local");
            for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::HEAD] {
                let _ = router.route(&RouteRequest {
                    method: &method,
                    host: Some(&host),
                    path: &path,
                    query: Some(&query),
                    has_copy_source: copy,
                });
            }
        }
    }
}
