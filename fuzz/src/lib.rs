//! Input shapes shared by the fuzz targets in `fuzz_targets/`.
//!
//! Targets that take raw bytes (XML bodies, header values) hand them to the
//! parser as they come. Targets whose parser takes a structure (a
//! `HeaderMap`, a routed request, a signed request) derive it with
//! `arbitrary`, drawing header names mostly from the list the parser reads so
//! that the fuzzer spends its time inside the parser rather than in front of
//! it; any other name and any value bytes a `HeaderValue` admits (obs-text
//! included, so the "not ASCII" paths run) are still reachable.

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};

/// A header as the fuzzer proposes it.
#[derive(Debug, Arbitrary)]
pub struct FuzzHeader {
    pub name: FuzzHeaderName,
    pub value: Vec<u8>,
}

/// A header name: one of the names the target's parser reads (indexed
/// modulo the list), or any other name.
#[derive(Debug, Arbitrary)]
pub enum FuzzHeaderName {
    Known(u8),
    Other(String),
}

impl FuzzHeaderName {
    fn resolve(&self, known: &[&str]) -> Option<HeaderName> {
        match self {
            Self::Known(index) if !known.is_empty() => {
                HeaderName::from_bytes(known[usize::from(*index) % known.len()].as_bytes()).ok()
            }
            Self::Known(_) => None,
            Self::Other(name) => HeaderName::from_bytes(name.as_bytes()).ok(),
        }
    }
}

/// Builds the `HeaderMap` a server would have handed the parser: headers
/// whose name or value HTTP itself refuses are dropped, repeated names are
/// appended (kept as repeats, which the parsers must handle).
pub fn header_map(known: &[&str], headers: &[FuzzHeader]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for header in headers {
        let (Some(name), Ok(value)) = (
            header.name.resolve(known),
            HeaderValue::from_bytes(&header.value),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    map
}

/// Header names every S3 request may carry, mixed into each target's own
/// list so that parsers meet the neighbours they must ignore.
pub const COMMON_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
];

/// `known` followed by [`COMMON_HEADERS`].
pub fn with_common_headers(known: &[&'static str]) -> Vec<&'static str> {
    known.iter().chain(COMMON_HEADERS).copied().collect()
}

/// SPEC B1: whatever a parser refuses is the client's fault (4xx) or an
/// operation we do not implement (501), never a 5xx that blames the server.
pub fn assert_client_error(error: &lockwell_proto::ProtoError) {
    let status = error.status();
    assert!(
        status.is_client_error() || status == http::StatusCode::NOT_IMPLEMENTED,
        "{error} answers {status}"
    );
}
