//! S3 responses into results and typed errors (SPEC R6).

use std::collections::BTreeMap;

use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest};
use lockwell_proto::time::parse_http_date_ms;

use crate::error::{Error, ServiceError};
use crate::s3::types::ObjectInfo;
use crate::s3::xml::parse_error;
use crate::transport::CollectedResponse;

const USER_METADATA_PREFIX: &str = "x-amz-meta-";

/// The response if its status is a success, else the error it says.
pub(crate) fn success(response: CollectedResponse) -> Result<CollectedResponse, Error> {
    if response.status.is_success() {
        Ok(response)
    } else {
        Err(error_of(&response))
    }
}

/// The typed error of a non-success response: a 304 with the ETag it
/// names, anything else classified from the `<Error>` body (or the status
/// alone, for HEAD and bodies that are not S3 errors).
pub(crate) fn error_of(response: &CollectedResponse) -> Error {
    let status = response.status.as_u16();
    if status == 304 {
        return Error::NotModified {
            etag: header(&response.headers, ETAG.as_str()).and_then(|text| ETag::parse(text).ok()),
        };
    }
    let (details, condition) = parse_error(status, &response.body);
    Error::from_service(
        ServiceError {
            request_id: details
                .request_id
                .or_else(|| header(&response.headers, "x-amz-request-id").map(str::to_string)),
            ..details
        },
        condition,
    )
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The ETag a write or read must return (E2).
pub(crate) fn etag(response: &CollectedResponse) -> Result<ETag, Error> {
    let status = response.status.as_u16();
    let text = header(&response.headers, ETAG.as_str()).ok_or_else(|| Error::InvalidResponse {
        status,
        reason: "no ETag header".into(),
    })?;
    ETag::parse(text).map_err(|error| Error::InvalidResponse {
        status,
        reason: format!("ETag {text:?}: {error}"),
    })
}

/// The full-object `x-amz-checksum-*` headers, in algorithm order; a
/// composite multipart value (`base64-N`) is not a digest of the bytes and
/// is left out.
pub(crate) fn checksums(headers: &HeaderMap) -> Vec<Digest> {
    ChecksumAlgorithm::ALL
        .iter()
        .filter_map(|algorithm| {
            let name = algorithm.s3_header_name()?;
            Digest::from_base64(*algorithm, header(headers, name)?).ok()
        })
        .collect()
}

/// An object's headers as GET and HEAD return them.
pub(crate) fn object_info(response: &CollectedResponse) -> Result<ObjectInfo, Error> {
    let headers = &response.headers;
    let content_len_bytes = match header(headers, CONTENT_LENGTH.as_str()) {
        Some(text) => text.parse().map_err(|_| Error::InvalidResponse {
            status: response.status.as_u16(),
            reason: format!("Content-Length {text:?} is not a number"),
        })?,
        None => response.body.len() as u64,
    };
    let metadata: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix(USER_METADATA_PREFIX)?;
            Some((name.to_string(), value.to_str().ok()?.to_string()))
        })
        .collect();
    Ok(ObjectInfo {
        etag: etag(response)?,
        content_len_bytes,
        content_type: header(headers, CONTENT_TYPE.as_str()).map(str::to_string),
        last_modified_ms: header(headers, LAST_MODIFIED.as_str()).and_then(parse_http_date_ms),
        content_range: header(headers, CONTENT_RANGE.as_str()).map(str::to_string),
        metadata,
        checksums: checksums(headers),
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::StatusCode;
    use lockwell_core::checksum::digest;

    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> CollectedResponse {
        CollectedResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value.parse().unwrap(),
                    )
                })
                .collect(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn r6_error_responses_become_typed_errors() {
        let precondition = response(
            412,
            &[("x-amz-request-id", "r-1")],
            "<Error><Code>PreconditionFailed</Code><Message>no</Message><Condition>If-None-Match</Condition></Error>",
        );
        match error_of(&precondition) {
            Error::PreconditionFailed { condition, details } => {
                assert_eq!(condition.as_deref(), Some("If-None-Match"));
                assert_eq!(details.request_id.as_deref(), Some("r-1"));
            }
            other => panic!("{other:?}"),
        }
        let not_modified = response(304, &[("etag", "\"abc\"")], "");
        assert!(matches!(
            error_of(&not_modified),
            Error::NotModified { etag: Some(etag) } if etag.as_str() == "abc"
        ));
        let head_404 = response(404, &[], "");
        assert!(matches!(error_of(&head_404), Error::NotFound(_)));
        assert!(success(response(204, &[], "")).is_ok());
        assert!(success(response(301, &[], "")).is_err());
    }

    #[test]
    fn k4_object_headers_give_etag_metadata_and_full_object_checksums() {
        let crc = digest(ChecksumAlgorithm::Crc32c, b"hello");
        let sha = digest(ChecksumAlgorithm::Sha256, b"hello");
        let composite = format!("{}-2", sha.to_base64());
        let crc_base64 = crc.to_base64();
        let info = object_info(&response(
            200,
            &[
                ("etag", "\"5d41402abc4b2a76b9719d911017c592\""),
                ("content-length", "5"),
                ("content-type", "text/plain"),
                ("last-modified", "Mon, 12 Oct 2009 17:50:30 GMT"),
                ("x-amz-meta-colour", "blue"),
                ("x-amz-checksum-crc32c", &crc_base64),
                ("x-amz-checksum-sha256", &composite),
            ],
            "hello",
        ))
        .unwrap();
        assert_eq!(info.etag, ETag::of_content(b"hello"));
        assert_eq!(info.content_len_bytes, 5);
        assert_eq!(info.last_modified_ms, Some(1_255_369_830_000));
        assert_eq!(info.metadata["colour"], "blue");
        assert_eq!(info.checksums, [crc]);
        assert!(matches!(
            object_info(&response(200, &[], "")),
            Err(Error::InvalidResponse { .. })
        ));
    }
}
