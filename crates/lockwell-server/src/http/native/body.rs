//! Native request bodies: small JSON documents, and a put's streamed body
//! (DESIGN.md write path steps 2-3: read once, every digest computed in
//! one pass, exact length, refused on a mismatch before anything is
//! stored: SPEC I4, K2, B1).

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use lockwell_core::checksum::{ChecksumAlgorithm, Digests, MultiHasher};
use lockwell_proto::native::MAX_JSON_REQUEST_LEN_BYTES;
use lockwell_proto::{ProtoError, S3ErrorCode};

use crate::http::service::App;

/// Capacity reserved up front for a body, at most: a client that declares
/// a large body and sends nothing does not get the memory for it.
const MAX_INITIAL_BODY_CAPACITY_BYTES: u64 = 1024 * 1024;

/// A JSON request body, at most [`MAX_JSON_REQUEST_LEN_BYTES`], within the
/// request timeout.
pub(super) async fn read_json(
    app: &App,
    body: &mut Option<Incoming>,
) -> Result<Vec<u8>, ProtoError> {
    let Some(incoming) = body.as_mut() else {
        return Ok(Vec::new());
    };
    let read = read_bounded(incoming, MAX_JSON_REQUEST_LEN_BYTES as u64, || {
        ProtoError::new(
            S3ErrorCode::InvalidRequest,
            format!("the JSON body is longer than {MAX_JSON_REQUEST_LEN_BYTES} bytes"),
        )
    });
    let content = within(app.config().limits.request_timeout(), read).await?;
    *body = None;
    Ok(content)
}

async fn read_bounded<B>(
    body: &mut B,
    max_len_bytes: u64,
    too_long: impl Fn() -> ProtoError,
) -> Result<Vec<u8>, ProtoError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut content = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(ended_early)?.into_data() else {
            continue;
        };
        if content.len() as u64 + data.len() as u64 > max_len_bytes {
            return Err(too_long());
        }
        content.extend_from_slice(&data);
    }
    Ok(content)
}

fn ended_early(error: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::IncompleteBody,
        format!("The request body ended early: {error}"),
    )
}

async fn within<T>(
    timeout: Duration,
    work: impl Future<Output = Result<T, ProtoError>>,
) -> Result<T, ProtoError> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_elapsed| {
            Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                format!(
                    "The request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            ))
        })
}

/// What a put's headers promise about its body.
#[derive(Debug)]
pub(super) struct PutBody {
    declared_len_bytes: u64,
    expected: Digests,
}

/// A put body whose length and digests checked out.
#[derive(Debug)]
pub(super) struct ReceivedBody {
    pub(super) content: Vec<u8>,
    /// The single-part ETag (E1).
    pub(super) md5: [u8; 16],
    /// The checksums the request stated, verified: stored with the object.
    pub(super) checksums: Digests,
}

impl PutBody {
    /// `Content-Length` is required (a native put is never chunked by the
    /// client) and bounded by `max_body_len_bytes`.
    pub(super) fn from_headers(
        headers: &HeaderMap,
        expected: &Digests,
        max_body_len_bytes: u64,
    ) -> Result<Self, ProtoError> {
        let declared_len_bytes = headers
            .get(CONTENT_LENGTH)
            .ok_or_else(|| {
                ProtoError::new(
                    S3ErrorCode::MissingContentLength,
                    "A native put needs a Content-Length header.",
                )
            })?
            .to_str()
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| {
                ProtoError::new(
                    S3ErrorCode::InvalidArgument,
                    "Content-Length is not a number",
                )
            })?;
        if declared_len_bytes > max_body_len_bytes {
            return Err(ProtoError::new(
                S3ErrorCode::EntityTooLarge,
                format!(
                    "Your proposed upload of {declared_len_bytes} bytes exceeds the maximum \
                     allowed size of {max_body_len_bytes} bytes"
                ),
            ));
        }
        Ok(Self {
            declared_len_bytes,
            expected: expected.clone(),
        })
    }

    /// Reads the whole body within `timeout`, then verifies its length and
    /// every stated digest (K2: a mismatch is 400 BadDigest).
    pub(super) async fn receive<B>(
        self,
        body: &mut B,
        timeout: Duration,
    ) -> Result<ReceivedBody, ProtoError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        within(timeout, self.receive_unbounded(body)).await
    }

    async fn receive_unbounded<B>(self, body: &mut B) -> Result<ReceivedBody, ProtoError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut algorithms: Vec<ChecksumAlgorithm> = self
            .expected
            .iter()
            .map(|digest| digest.algorithm())
            .collect();
        algorithms.push(ChecksumAlgorithm::Md5);
        let mut hasher = MultiHasher::new(&algorithms);
        let initial_capacity = self.declared_len_bytes.min(MAX_INITIAL_BODY_CAPACITY_BYTES);
        let mut content = Vec::with_capacity(usize::try_from(initial_capacity).unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(ended_early)?.into_data() else {
                continue;
            };
            if content.len() as u64 + data.len() as u64 > self.declared_len_bytes {
                return Err(ProtoError::new(
                    S3ErrorCode::IncompleteBody,
                    format!(
                        "The request body is longer than Content-Length ({} bytes)",
                        self.declared_len_bytes
                    ),
                ));
            }
            hasher.update(&data);
            content.extend_from_slice(&data);
        }
        if content.len() as u64 != self.declared_len_bytes {
            return Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                format!(
                    "{} of the {} bytes Content-Length declares arrived",
                    content.len(),
                    self.declared_len_bytes
                ),
            ));
        }
        let computed = hasher.finalize();
        if let Some(expected) = self
            .expected
            .iter()
            .find(|expected| computed.get(expected.algorithm()) != Some(*expected))
        {
            return Err(ProtoError::new(
                S3ErrorCode::BadDigest,
                format!(
                    "The x-lockwell-checksum-{} you specified did not match the calculated \
                     checksum; nothing was stored.",
                    expected.algorithm().name()
                ),
            ));
        }
        let md5 = computed
            .get(ChecksumAlgorithm::Md5)
            .and_then(|digest| <[u8; 16]>::try_from(digest.as_bytes()).ok())
            .ok_or_else(|| ProtoError::new(S3ErrorCode::InternalError, "MD5 was not computed"))?;
        Ok(ReceivedBody {
            content,
            md5,
            checksums: self.expected,
        })
    }
}
