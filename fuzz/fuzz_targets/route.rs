//! `Router::route` over arbitrary methods, hosts, paths and queries, both
//! path-style only and with a virtual-host base domain.
//!
//! Invariants: every operation comes from the method S3 routes it from,
//! copies only from requests with `x-amz-copy-source`, page sizes never
//! exceed `MAX_LIST_KEYS`, part numbers stay within 1..=`MAX_PART_NUMBER`.
#![no_main]

use arbitrary::Arbitrary;
use http::Method;
use libfuzzer_sys::fuzz_target;
use lockwell_proto::route::{MAX_LIST_KEYS, RouteRequest, Router, S3Operation};
use lockwell_proto::xml::MAX_PART_NUMBER;

#[derive(Debug, Arbitrary)]
enum FuzzMethod {
    Get,
    Head,
    Put,
    Post,
    Delete,
    Options,
    Other(String),
}

/// Query parameter names the router reads (indexed modulo the list).
const QUERY_NAMES: &[&str] = &[
    "uploads",
    "uploadId",
    "partNumber",
    "versionId",
    "delete",
    "location",
    "versioning",
    "versions",
    "list-type",
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "max-uploads",
    "max-parts",
    "part-number-marker",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "encoding-type",
    "key-marker",
    "version-id-marker",
    "upload-id-marker",
    "tagging",
    "acl",
    "X-Amz-Algorithm",
];

#[derive(Debug, Arbitrary)]
enum QueryParam {
    Known { name: u8, value: String },
    Other { name: String, value: String },
    Bare(u8),
}

#[derive(Debug, Arbitrary)]
enum FuzzQuery {
    Params(Vec<QueryParam>),
    Raw(String),
}

impl FuzzQuery {
    fn render(&self) -> String {
        let params = match self {
            Self::Raw(raw) => return raw.clone(),
            Self::Params(params) => params,
        };
        let known = |index: &u8| QUERY_NAMES[usize::from(*index) % QUERY_NAMES.len()];
        params
            .iter()
            .map(|param| match param {
                QueryParam::Known { name, value } => format!("{}={value}", known(name)),
                QueryParam::Other { name, value } => format!("{name}={value}"),
                QueryParam::Bare(name) => known(name).to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: FuzzMethod,
    base_domain: Option<String>,
    host: Option<String>,
    path: String,
    query: Option<FuzzQuery>,
    has_copy_source: bool,
}

fn method_of(method: &FuzzMethod) -> Option<Method> {
    Some(match method {
        FuzzMethod::Get => Method::GET,
        FuzzMethod::Head => Method::HEAD,
        FuzzMethod::Put => Method::PUT,
        FuzzMethod::Post => Method::POST,
        FuzzMethod::Delete => Method::DELETE,
        FuzzMethod::Options => Method::OPTIONS,
        FuzzMethod::Other(name) => Method::from_bytes(name.as_bytes()).ok()?,
    })
}

/// The one method each implemented operation is routed from.
fn routed_from(operation: &S3Operation) -> Option<Method> {
    Some(match operation {
        S3Operation::ListBuckets
        | S3Operation::GetBucketLocation { .. }
        | S3Operation::GetBucketVersioning { .. }
        | S3Operation::ListObjects { .. }
        | S3Operation::ListObjectsV2 { .. }
        | S3Operation::ListObjectVersions { .. }
        | S3Operation::ListMultipartUploads { .. }
        | S3Operation::GetObject { .. }
        | S3Operation::ListParts { .. } => Method::GET,
        S3Operation::HeadBucket { .. } | S3Operation::HeadObject { .. } => Method::HEAD,
        S3Operation::CreateBucket { .. }
        | S3Operation::PutObject { .. }
        | S3Operation::CopyObject { .. }
        | S3Operation::UploadPart { .. }
        | S3Operation::UploadPartCopy { .. } => Method::PUT,
        S3Operation::DeleteObjects { .. }
        | S3Operation::CreateMultipartUpload { .. }
        | S3Operation::CompleteMultipartUpload { .. } => Method::POST,
        S3Operation::DeleteBucket { .. }
        | S3Operation::DeleteObject { .. }
        | S3Operation::AbortMultipartUpload { .. } => Method::DELETE,
        _ => return None,
    })
}

fn assert_part_number(part_number: u16) {
    assert!(
        (1..=MAX_PART_NUMBER).contains(&part_number),
        "part number {part_number} out of range"
    );
}

fuzz_target!(|input: Input| {
    let Some(method) = method_of(&input.method) else {
        return;
    };
    let router = match &input.base_domain {
        Some(domain) => Router::with_base_domain(domain),
        None => Router::path_style_only(),
    };
    let query = input.query.as_ref().map(FuzzQuery::render);
    let request = RouteRequest {
        method: &method,
        host: input.host.as_deref(),
        path: &input.path,
        query: query.as_deref(),
        has_copy_source: input.has_copy_source,
    };
    let Ok(operation) = router.route(&request) else {
        return;
    };
    if let Some(expected) = routed_from(&operation) {
        assert_eq!(method, expected, "{operation:?} routed from {method}");
    }
    match &operation {
        S3Operation::CopyObject { .. } | S3Operation::UploadPartCopy { .. } => {
            assert!(input.has_copy_source, "{operation:?} without a copy source");
        }
        S3Operation::PutObject { .. } | S3Operation::UploadPart { .. } => {
            assert!(
                !input.has_copy_source,
                "{operation:?} ignored the copy source"
            );
        }
        _ => {}
    }
    match &operation {
        S3Operation::ListObjects { params, .. } => assert!(params.max_keys <= MAX_LIST_KEYS),
        S3Operation::ListObjectsV2 { params, .. } => assert!(params.max_keys <= MAX_LIST_KEYS),
        S3Operation::ListObjectVersions { params, .. } => {
            assert!(params.max_keys <= MAX_LIST_KEYS);
        }
        S3Operation::ListMultipartUploads { params, .. } => {
            assert!(params.max_uploads <= MAX_LIST_KEYS);
        }
        S3Operation::ListParts { params, .. } => {
            assert!(params.max_parts <= MAX_LIST_KEYS);
            assert!(params.part_number_marker <= MAX_PART_NUMBER);
        }
        S3Operation::UploadPart { part_number, .. }
        | S3Operation::UploadPartCopy { part_number, .. } => assert_part_number(*part_number),
        S3Operation::GetObject { part_number, .. }
        | S3Operation::HeadObject { part_number, .. } => {
            part_number.map(assert_part_number);
        }
        _ => {}
    }
});
