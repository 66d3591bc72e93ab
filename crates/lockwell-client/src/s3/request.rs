//! One S3 request, built and SigV4-signed afresh for every attempt
//! (SPEC R5).
//!
//! The request is signed with header auth over every header it carries,
//! so an `Idempotency-Key` is always among the signed headers (I5), and
//! `x-amz-content-sha256` is the body's SHA-256 for a buffered body,
//! computed once and re-used by every attempt. A streamed body is
//! `STREAMING-UNSIGNED-PAYLOAD-TRAILER` aws-chunked (K3), and can be built
//! into a request only once.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::sigv4::{self, ContentSha256, Credentials, SigningParams};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::body::{AwsChunkedBody, RequestBody};
use crate::error::Error;
use crate::retry::{BodyKind, RequestClass};
use crate::transport::Endpoint;

/// RFC 3986 unreserved characters: what SigV4 leaves unencoded.
const URI_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The same with `/` kept: object keys in a path.
const URI_PATH: &AsciiSet = &URI_UNRESERVED.remove(b'/');

pub(crate) const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// A key as it goes into a path or a copy source: percent-encoded once,
/// `/` kept.
pub(crate) fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, URI_PATH).to_string()
}

/// Where and as whom requests are signed.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) region: String,
    /// `/bucket/key` rather than `bucket.host/key`.
    pub(crate) path_style: bool,
}

#[derive(Debug)]
enum Payload {
    Empty,
    Buffered {
        body: Bytes,
        sha256: [u8; 32],
    },
    /// `None` once sent.
    Streaming(Option<Box<AwsChunkedBody>>),
}

/// An S3 request before signing.
#[derive(Debug)]
pub(crate) struct S3Request {
    method: Method,
    bucket: Option<String>,
    key: Option<String>,
    /// Decoded names and values; `None` for a bare subresource (`?uploads`).
    query: Vec<(&'static str, Option<String>)>,
    headers: HeaderMap,
    payload: Payload,
}

impl S3Request {
    pub(crate) fn new(method: Method, bucket: Option<&str>, key: Option<&str>) -> Self {
        Self {
            method,
            bucket: bucket.map(str::to_string),
            key: key.map(str::to_string),
            query: Vec::new(),
            headers: HeaderMap::new(),
            payload: Payload::Empty,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, Some(value.into())));
        self
    }

    pub(crate) fn subresource(mut self, name: &'static str) -> Self {
        self.query.push((name, None));
        self
    }

    /// Adds a header; a value HTTP cannot carry is the caller's error.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::InvalidInput(format!("{name:?} is not a header name")))?;
        // Servers read header values as ASCII (lockwell-server refuses
        // anything else): refuse here, with the header's name, not there.
        let header_value = Some(value)
            .filter(|value| {
                value
                    .bytes()
                    .all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
            })
            .and_then(|value| HeaderValue::from_str(value).ok())
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the value of {name} must be visible ASCII, not {value:?}"
                ))
            })?;
        self.headers.append(header_name, header_value);
        Ok(self)
    }

    /// A body held in memory, hashed once for every attempt's signature.
    pub(crate) fn buffered(mut self, body: Bytes) -> Self {
        let sha256 = digest(ChecksumAlgorithm::Sha256, &body)
            .as_bytes()
            .try_into()
            .expect("a SHA-256 digest is 32 bytes");
        self.payload = Payload::Buffered { body, sha256 };
        self
    }

    /// A streamed body: aws-chunked with a trailing `algorithm` checksum.
    pub(crate) fn streaming(
        self,
        body: AwsChunkedBody,
        decoded_len_bytes: u64,
        algorithm: ChecksumAlgorithm,
    ) -> Result<Self, Error> {
        let trailer = algorithm
            .s3_header_name()
            .ok_or_else(|| Error::InvalidInput(format!("{algorithm} is not an S3 checksum")))?;
        let mut request = self
            .header("content-encoding", "aws-chunked")?
            .header(
                "x-amz-decoded-content-length",
                &decoded_len_bytes.to_string(),
            )?
            .header("x-amz-trailer", trailer)?
            .header(
                "x-amz-sdk-checksum-algorithm",
                &algorithm.name().to_ascii_uppercase(),
            )?;
        request.payload = Payload::Streaming(Some(Box::new(body)));
        Ok(request)
    }

    /// What the retry policy needs to know (R4).
    pub(crate) fn class(&self) -> RequestClass {
        RequestClass {
            method: self.method.clone(),
            body: match self.payload {
                Payload::Empty => BodyKind::Empty,
                Payload::Buffered { .. } => BodyKind::Buffered,
                Payload::Streaming(_) => BodyKind::Streaming,
            },
            has_idempotency_key: self.headers.contains_key(IDEMPOTENCY_KEY_HEADER),
        }
    }

    fn host_and_path(&self, target: &Target) -> (String, String) {
        let key_path = self
            .key
            .as_deref()
            .map(|key| format!("/{}", encode_key(key)))
            .unwrap_or_default();
        match (&self.bucket, target.path_style) {
            (Some(bucket), true) => (
                target.endpoint.authority(),
                format!("/{}{key_path}", encode_key(bucket)),
            ),
            (Some(bucket), false) => (
                format!("{bucket}.{}", target.endpoint.authority()),
                if key_path.is_empty() {
                    "/".to_string()
                } else {
                    key_path
                },
            ),
            (None, _) => (target.endpoint.authority(), "/".to_string()),
        }
    }

    fn query_string(&self) -> Option<String> {
        if self.query.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={}", utf8_percent_encode(value, URI_UNRESERVED)),
                None => (*name).to_string(),
            })
            .collect();
        Some(pairs.join("&"))
    }

    /// This attempt's request, signed at `time`.
    pub(crate) fn build(
        &mut self,
        target: &Target,
        time: SystemTime,
    ) -> Result<Request<RequestBody>, Error> {
        let (host, path) = self.host_and_path(target);
        let query = self.query_string();
        let mut headers = self.headers.clone();
        headers.insert(
            HOST,
            HeaderValue::from_str(&host)
                .map_err(|_| Error::InvalidInput(format!("{host:?} is not a valid host")))?,
        );
        let writes = self.method == Method::PUT || self.method == Method::POST;
        let (body, payload_hash) = match &mut self.payload {
            Payload::Empty => {
                if writes {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
                }
                (
                    RequestBody::Empty,
                    ContentSha256::parse(sigv4::EMPTY_PAYLOAD_SHA256)
                        .expect("the empty payload's hash is a valid SHA-256"),
                )
            }
            Payload::Buffered { body, sha256 } => {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                (
                    RequestBody::Full(Some(body.clone())),
                    ContentSha256::Sha256(*sha256),
                )
            }
            Payload::Streaming(body) => {
                let body = body.take().ok_or_else(|| {
                    Error::InvalidInput("a streamed body cannot be sent twice (R2, R4)".into())
                })?;
                let body = RequestBody::AwsChunked(body);
                headers.insert(
                    CONTENT_LENGTH,
                    HeaderValue::from(http_body::Body::size_hint(&body).exact().unwrap_or(0)),
                );
                (body, ContentSha256::StreamingUnsignedTrailer)
            }
        };
        let params = SigningParams {
            credentials: &target.credentials,
            region: &target.region,
            time,
        };
        sigv4::sign(
            &self.method,
            &path,
            query.as_deref(),
            &mut headers,
            &payload_hash,
            &params,
        )
        .map_err(|error| Error::InvalidInput(format!("cannot sign the request: {error}")))?;
        let uri = match &query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&uri)
            .body(body)
            .map_err(|error| Error::InvalidInput(format!("{uri:?}: {error}")))?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lockwell_proto::sigv4::{SecretKey, SignedRequest, verify};

    use super::*;

    fn target(path_style: bool) -> Target {
        Target {
            endpoint: Endpoint::new("127.0.0.1", 9000),
            credentials: Credentials {
                access_key_id: "AKTEST".into(),
                secret_key: SecretKey::new("secret"),
            },
            region: "us-east-1".into(),
            path_style,
        }
    }

    fn time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    /// Checks `request` with the server's verifier, as it arrives.
    fn verify_signed(request: &Request<RequestBody>) -> lockwell_proto::sigv4::Verified {
        let signed = SignedRequest {
            method: request.method(),
            path: request.uri().path(),
            query: request.uri().query(),
            headers: request.headers(),
        };
        verify(
            &signed,
            "us-east-1",
            |id| (id == "AKTEST").then(|| SecretKey::new("secret")),
            time(),
        )
        .expect("the server accepts the client's signature")
    }

    #[test]
    fn r5_i5_buffered_put_signs_the_body_hash_and_the_idempotency_key() {
        let mut request = S3Request::new(Method::PUT, Some("bucket"), Some("dir/a b+c.txt"))
            .header(IDEMPOTENCY_KEY_HEADER, "invoice-2026-001")
            .unwrap()
            .buffered(Bytes::from_static(b"invoice-payload"));
        let built = request.build(&target(true), time()).unwrap();
        assert_eq!(built.uri().path(), "/bucket/dir/a%20b%2Bc.txt");
        let verified = verify_signed(&built);
        assert!(verified.is_header_signed(IDEMPOTENCY_KEY_HEADER), "I5");
        assert_eq!(
            verified.payload,
            ContentSha256::Sha256(
                digest(ChecksumAlgorithm::Sha256, b"invoice-payload")
                    .as_bytes()
                    .try_into()
                    .unwrap()
            )
        );
        assert_eq!(built.headers()[CONTENT_LENGTH], "15");
        // Every attempt is signed again, with its own time.
        let later = request
            .build(&target(true), time() + Duration::from_secs(1))
            .unwrap();
        assert_ne!(
            later.headers()["authorization"],
            built.headers()["authorization"]
        );
    }

    #[test]
    fn r5_queries_and_subresources_are_signed_as_the_server_reads_them() {
        let mut request = S3Request::new(Method::GET, Some("bucket"), None)
            .query("list-type", "2")
            .query("prefix", "a b/ü&=")
            .subresource("uploads");
        let built = request.build(&target(true), time()).unwrap();
        assert_eq!(
            built.uri().query(),
            Some("list-type=2&prefix=a%20b%2F%C3%BC%26%3D&uploads")
        );
        verify_signed(&built);
    }

    #[test]
    fn virtual_hosted_requests_put_the_bucket_in_the_host() {
        let mut request = S3Request::new(Method::GET, Some("bucket"), Some("k"));
        let built = request.build(&target(false), time()).unwrap();
        assert_eq!(built.headers()[HOST], "bucket.127.0.0.1:9000");
        assert_eq!(built.uri().path(), "/k");
        verify_signed(&built);
        let mut bucket_only = S3Request::new(Method::GET, Some("bucket"), None);
        assert_eq!(
            bucket_only
                .build(&target(false), time())
                .unwrap()
                .uri()
                .path(),
            "/"
        );
    }

    #[test]
    fn r2_r4_a_streamed_body_is_built_once() {
        let reader: crate::body::BodyReader = Box::pin(std::io::Cursor::new(vec![7u8; 10]));
        let body = AwsChunkedBody::new(reader, 10, ChecksumAlgorithm::Crc32);
        let mut request = S3Request::new(Method::PUT, Some("b"), Some("k"))
            .streaming(body, 10, ChecksumAlgorithm::Crc32)
            .unwrap();
        assert_eq!(request.class().body, BodyKind::Streaming);
        let built = request.build(&target(true), time()).unwrap();
        let verified = verify_signed(&built);
        assert_eq!(verified.payload, ContentSha256::StreamingUnsignedTrailer);
        assert_eq!(built.headers()["x-amz-trailer"], "x-amz-checksum-crc32");
        assert!(matches!(
            request.build(&target(true), time()),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn header_values_http_cannot_carry_are_refused_before_sending() {
        for value in ["é", "a\nb", "\u{7f}"] {
            let refused =
                S3Request::new(Method::PUT, Some("b"), Some("k")).header("x-amz-meta-n", value);
            assert!(matches!(refused, Err(Error::InvalidInput(_))), "{value:?}");
        }
        assert!(
            S3Request::new(Method::PUT, Some("b"), Some("k"))
                .header("x-amz-meta-n", "a b\tc~")
                .is_ok()
        );
    }
}
