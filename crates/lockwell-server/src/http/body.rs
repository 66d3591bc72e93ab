//! Request bodies: DESIGN.md write path steps 2 and 3.
//!
//! A body is read once, as it arrives: decoded from aws-chunked when
//! `Content-Encoding` or `x-amz-content-sha256` says so, fed to one
//! [`MultiHasher`] computing the MD5 ETag, every checksum the request names
//! and the SHA-256 the signature covers, and held in memory (bounded by
//! [`Limits::max_body_len_bytes`]) where nobody can see it. Only when the
//! framing ended cleanly, the length is exactly the declared one and every
//! digest matches does the caller get the bytes to commit; on any failure
//! they are dropped and nothing was stored (SPEC K2, B1).

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, Digests, MultiHasher};
use lockwell_proto::chunked::{ChunkedDecoder, Decoded};
use lockwell_proto::headers;
use lockwell_proto::sigv4::{ContentSha256, Verified};
use lockwell_proto::{ProtoError, S3ErrorCode};

/// Capacity reserved up front for a body, at most; larger bodies grow as
/// their bytes arrive, so a client that declares a large body and sends
/// nothing does not get the memory for it.
const MAX_INITIAL_BODY_CAPACITY_BYTES: u64 = 1024 * 1024;

/// How the body's bytes are framed on the wire.
#[derive(Debug)]
enum Framing {
    /// The bytes are the payload; `Content-Length` is its length.
    Plain,
    /// aws-chunked (SPEC K3).
    AwsChunked(Box<ChunkedDecoder>),
}

/// What a missing `Content-Length` (on a body that is not aws-chunked)
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthRule {
    /// 411 MissingContentLength, as S3 answers an object upload without one.
    Required,
    /// No body (HTTP/1.1 without `Content-Length` or chunked framing): what
    /// a CreateBucket without a configuration sends.
    AbsentMeansEmpty,
}

/// What a request's headers promise about its body, checked while it is
/// read.
#[derive(Debug)]
pub(crate) struct BodyExpectation {
    framing: Framing,
    /// Payload length after decoding.
    declared_len_bytes: u64,
    /// `x-amz-content-sha256` as a digest (signed payload, SPEC I5).
    content_sha256: Option<[u8; 32]>,
    content_md5: Option<[u8; 16]>,
    /// `x-amz-checksum-<alg>` (K2).
    supplied_checksum: Option<Digest>,
    /// Algorithms whose digests are kept with the object (K4).
    kept_algorithms: Vec<ChecksumAlgorithm>,
}

/// A body whose framing, length and digests all checked out.
#[derive(Debug)]
pub(crate) struct VerifiedBody {
    pub(crate) content: Vec<u8>,
    /// MD5 of the payload: the single-part ETag (E1).
    pub(crate) md5: [u8; 16],
    /// The digests of [`BodyExpectation`]'s kept algorithms.
    pub(crate) checksums: Digests,
}

fn missing_content_length() -> ProtoError {
    ProtoError::new(
        S3ErrorCode::MissingContentLength,
        "You must provide the Content-Length HTTP header.",
    )
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ProtoError> {
    headers
        .get(CONTENT_LENGTH)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| {
                    ProtoError::new(
                        S3ErrorCode::InvalidArgument,
                        "Content-Length is not a number",
                    )
                })
        })
        .transpose()
}

impl BodyExpectation {
    /// Reads the body headers of a request: framing, declared length and
    /// digests.
    pub(crate) fn from_headers(
        headers: &HeaderMap,
        verified: &Verified,
        max_body_len_bytes: u64,
        length_rule: LengthRule,
    ) -> Result<Self, ProtoError> {
        let encoding = headers::content_encoding(headers)?;
        let trailer = headers::trailer(headers)?;
        let checksum_headers = headers::checksum_headers(headers)?;
        let streaming = encoding.aws_chunked || verified.payload.is_streaming();
        let (framing, declared_len_bytes) = if streaming {
            let declared_len_bytes =
                headers::decoded_content_length(headers)?.ok_or_else(missing_content_length)?;
            let decoder = ChunkedDecoder::for_request(verified, trailer, declared_len_bytes)?;
            (Framing::AwsChunked(Box::new(decoder)), declared_len_bytes)
        } else {
            if trailer.is_some() {
                return Err(ProtoError::new(
                    S3ErrorCode::InvalidRequest,
                    "x-amz-trailer is only valid with an aws-chunked body",
                ));
            }
            let declared_len_bytes = match (content_length(headers)?, length_rule) {
                (Some(len_bytes), _) => len_bytes,
                (None, LengthRule::AbsentMeansEmpty) => 0,
                (None, LengthRule::Required) => return Err(missing_content_length()),
            };
            (Framing::Plain, declared_len_bytes)
        };
        if declared_len_bytes > max_body_len_bytes {
            return Err(ProtoError::new(
                S3ErrorCode::EntityTooLarge,
                format!(
                    "Your proposed upload of {declared_len_bytes} bytes exceeds the maximum \
                     allowed size of {max_body_len_bytes} bytes"
                ),
            ));
        }
        if let (Some(trailer), Some(supplied)) = (trailer, &checksum_headers.supplied) {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidRequest,
                format!(
                    "Expecting a single checksum: x-amz-trailer names {trailer} and the {} \
                     header is present too",
                    supplied.algorithm()
                ),
            ));
        }
        if let (Some(trailer), Some(sdk)) = (trailer, checksum_headers.sdk_algorithm)
            && trailer != sdk
        {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidRequest,
                format!("x-amz-sdk-checksum-algorithm is {sdk} but x-amz-trailer names {trailer}"),
            ));
        }
        let content_sha256 = match verified.payload {
            ContentSha256::Sha256(digest) => Some(digest),
            _ => None,
        };
        let mut kept_algorithms: Vec<ChecksumAlgorithm> = [
            checksum_headers.supplied.map(|digest| digest.algorithm()),
            trailer,
            checksum_headers.sdk_algorithm,
        ]
        .into_iter()
        .flatten()
        .collect();
        kept_algorithms.sort_unstable();
        kept_algorithms.dedup();
        Ok(Self {
            framing,
            declared_len_bytes,
            content_sha256,
            content_md5: headers::content_md5(headers)?,
            supplied_checksum: checksum_headers.supplied,
            kept_algorithms,
        })
    }

    /// The digest an idempotent write proves its payload by before the body
    /// is read (SPEC I5): the signed SHA-256, else the checksum header;
    /// `None` when the request carries neither. An aws-chunked body cannot
    /// prove it up front and is refused (I6).
    pub(crate) fn idempotency_proof(&self) -> Result<Option<Digest>, ProtoError> {
        if matches!(self.framing, Framing::AwsChunked(_)) {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidRequest,
                "An aws-chunked (streaming) upload does not accept an Idempotency-Key: its \
                 payload digest is not known before the body. Send a buffered body signed with \
                 its SHA-256, or a checksum header.",
            ));
        }
        Ok(match (self.content_sha256, self.supplied_checksum) {
            // lockwell-core builds digests from base64 only (its raw
            // constructor is private); 32 bytes always make a SHA-256.
            (Some(sha256), _) => {
                Digest::from_base64(ChecksumAlgorithm::Sha256, &base64_of(&sha256)).ok()
            }
            (None, supplied) => supplied,
        })
    }

    /// Reads the whole body within `timeout` and verifies it. On failure
    /// the rest of `body` is left for the caller to drain.
    pub(crate) async fn receive<B>(
        self,
        body: &mut B,
        timeout: Duration,
    ) -> Result<VerifiedBody, ProtoError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        match tokio::time::timeout(timeout, self.receive_unbounded(body)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                format!(
                    "The request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            )),
        }
    }

    async fn receive_unbounded<B>(mut self, body: &mut B) -> Result<VerifiedBody, ProtoError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut algorithms = self.kept_algorithms.clone();
        algorithms.push(ChecksumAlgorithm::Md5);
        if self.content_sha256.is_some() {
            algorithms.push(ChecksumAlgorithm::Sha256);
        }
        let mut hasher = MultiHasher::new(&algorithms);
        let initial_capacity = self.declared_len_bytes.min(MAX_INITIAL_BODY_CAPACITY_BYTES);
        let mut content = Vec::with_capacity(usize::try_from(initial_capacity).unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                ProtoError::new(
                    S3ErrorCode::IncompleteBody,
                    format!("The request body ended early: {error}"),
                )
            })?;
            // HTTP trailers (not aws-chunked ones) carry nothing S3 reads.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            match &mut self.framing {
                Framing::Plain => {
                    let total = content.len() as u64 + data.len() as u64;
                    if total > self.declared_len_bytes {
                        return Err(body_longer_than_declared(self.declared_len_bytes));
                    }
                    hasher.update(&data);
                    content.extend_from_slice(&data);
                }
                Framing::AwsChunked(decoder) => {
                    let mut input: &[u8] = &data;
                    // `NeedMoreInput` and `End` both wait for the next
                    // frame: after `End`, only the end of the body may
                    // follow (the decoder refuses more bytes).
                    while let Decoded::Payload(payload) = decoder.decode(&mut input)? {
                        hasher.update(payload);
                        content.extend_from_slice(payload);
                    }
                }
            }
        }
        let trailing_checksum = match self.framing {
            Framing::Plain => {
                if content.len() as u64 != self.declared_len_bytes {
                    return Err(ProtoError::new(
                        S3ErrorCode::IncompleteBody,
                        format!(
                            "You did not provide the number of bytes specified by the \
                             Content-Length HTTP header: {} of {} bytes arrived",
                            content.len(),
                            self.declared_len_bytes
                        ),
                    ));
                }
                None
            }
            Framing::AwsChunked(decoder) => decoder.finish()?.trailing_checksum,
        };
        let digests = hasher.finalize();
        verify(
            &digests,
            self.content_sha256,
            self.content_md5,
            self.supplied_checksum.or(trailing_checksum),
        )?;
        let md5 = digests
            .get(ChecksumAlgorithm::Md5)
            .and_then(|digest| <[u8; 16]>::try_from(digest.as_bytes()).ok())
            .ok_or_else(|| ProtoError::new(S3ErrorCode::InternalError, "MD5 was not computed"))?;
        let checksums = self
            .kept_algorithms
            .iter()
            .filter_map(|algorithm| digests.get(*algorithm).copied())
            .collect();
        Ok(VerifiedBody {
            content,
            md5,
            checksums,
        })
    }
}

fn body_longer_than_declared(declared_len_bytes: u64) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::IncompleteBody,
        format!("The request body is longer than Content-Length ({declared_len_bytes} bytes)"),
    )
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DESIGN.md write path step 3: every digest the request stated against
/// what the body hashed to.
fn verify(
    computed: &Digests,
    content_sha256: Option<[u8; 32]>,
    content_md5: Option<[u8; 16]>,
    checksum: Option<Digest>,
) -> Result<(), ProtoError> {
    let computed_bytes = |algorithm| computed.get(algorithm).map(Digest::as_bytes);
    if let Some(expected) = content_sha256
        && computed_bytes(ChecksumAlgorithm::Sha256) != Some(expected.as_slice())
    {
        return Err(ProtoError::new(
            S3ErrorCode::XAmzContentSHA256Mismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    if let Some(expected) = content_md5
        && computed_bytes(ChecksumAlgorithm::Md5) != Some(expected.as_slice())
    {
        return Err(ProtoError::new(
            S3ErrorCode::BadDigest,
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    if let Some(expected) = checksum {
        let expected_only: Digests = std::iter::once(expected).collect();
        computed.verify(&expected_only).map_err(|_| {
            ProtoError::new(
                S3ErrorCode::BadDigest,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    expected.algorithm().name().to_ascii_uppercase()
                ),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};
    use lockwell_core::checksum::digest;
    use lockwell_proto::chunked::{ChunkSignatures, ChunkedEncoder};
    use lockwell_proto::sigv4::{AuthMethod, Verified};

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// What receiving a test body ends in: the body checked out, or the
    /// error code.
    type Outcome = Result<(), S3ErrorCode>;
    const BODY: &[u8] = b"the quick brown fox jumps over the lazy dog";

    fn verified(payload: ContentSha256) -> Verified {
        let credentials = lockwell_proto::sigv4::Credentials {
            access_key_id: "AK".into(),
            secret_key: lockwell_proto::sigv4::SecretKey::new("secret"),
        };
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost"));
        let streaming = lockwell_proto::sigv4::sign(
            &http::Method::PUT,
            "/b/k",
            None,
            &mut headers,
            &payload,
            &lockwell_proto::sigv4::SigningParams {
                credentials: &credentials,
                region: "us-east-1",
                time: std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            },
        )
        .unwrap();
        Verified {
            access_key_id: "AK".into(),
            method: AuthMethod::Header,
            signed_headers: vec!["host".into()],
            payload,
            streaming,
        }
    }

    fn header_map(pairs: &[(&str, String)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                )
            })
            .collect()
    }

    fn sha256_payload(bytes: &[u8]) -> ContentSha256 {
        let digest = digest(ChecksumAlgorithm::Sha256, bytes);
        ContentSha256::Sha256(digest.as_bytes().try_into().unwrap())
    }

    fn unsigned_trailer_chunks(body: &[u8], trailer: Option<&Digest>) -> Vec<u8> {
        let mut encoder = ChunkedEncoder::new(ChunkSignatures::Unsigned);
        let mut out = Vec::new();
        for chunk in body.chunks(10) {
            encoder.encode_chunk(chunk, &mut out);
        }
        encoder.finish(trailer, &mut out).unwrap();
        out
    }

    /// A body delivered in the given pieces, one frame each.
    struct Pieces(std::collections::VecDeque<Bytes>);

    impl http_body::Body for Pieces {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(
                self.0
                    .pop_front()
                    .map(|piece| Ok(http_body::Frame::data(piece))),
            )
        }
    }

    /// A body whose next bytes never arrive.
    struct NeverEnds;

    impl http_body::Body for NeverEnds {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Pending
        }
    }

    /// Receives `wire` delivered in pieces of `piece_len_bytes`.
    async fn receive(
        headers: &HeaderMap,
        payload: ContentSha256,
        wire: Vec<u8>,
        piece_len_bytes: usize,
    ) -> Result<VerifiedBody, S3ErrorCode> {
        let expectation = BodyExpectation::from_headers(
            headers,
            &verified(payload),
            1 << 20,
            LengthRule::Required,
        )
        .map_err(|error| error.code)?;
        let pieces = wire
            .chunks(piece_len_bytes)
            .map(Bytes::copy_from_slice)
            .collect();
        expectation
            .receive(&mut Pieces(pieces), TIMEOUT)
            .await
            .map_err(|error| error.code)
    }

    #[tokio::test]
    async fn k2_plain_bodies_verify_every_stated_digest() {
        let md5 = base64_of(digest(ChecksumAlgorithm::Md5, BODY).as_bytes());
        let crc32 = digest(ChecksumAlgorithm::Crc32, BODY).to_base64();
        let wrong_crc32 = digest(ChecksumAlgorithm::Crc32, b"other").to_base64();
        let len = BODY.len().to_string();
        // (name, headers, signed payload, outcome); the body is always BODY.
        type Headers<'a> = Vec<(&'a str, String)>;
        let cases: Vec<(&str, Headers, ContentSha256, Outcome)> = vec![
            (
                "signed sha256 matches",
                vec![("content-length", len.clone())],
                sha256_payload(BODY),
                Ok(()),
            ),
            (
                "signed sha256 of other bytes",
                vec![("content-length", len.clone())],
                sha256_payload(b"other"),
                Err(S3ErrorCode::XAmzContentSHA256Mismatch),
            ),
            (
                "content-md5 matches",
                vec![
                    ("content-length", len.clone()),
                    ("content-md5", md5.clone()),
                ],
                ContentSha256::Unsigned,
                Ok(()),
            ),
            (
                "content-md5 of other bytes",
                vec![
                    ("content-length", len.clone()),
                    (
                        "content-md5",
                        base64_of(digest(ChecksumAlgorithm::Md5, b"x").as_bytes()),
                    ),
                ],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::BadDigest),
            ),
            (
                "crc32 header matches",
                vec![
                    ("content-length", len.clone()),
                    ("x-amz-checksum-crc32", crc32.clone()),
                ],
                ContentSha256::Unsigned,
                Ok(()),
            ),
            (
                "crc32 header of other bytes",
                vec![
                    ("content-length", len.clone()),
                    ("x-amz-checksum-crc32", wrong_crc32.clone()),
                ],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::BadDigest),
            ),
            (
                "body shorter than content-length",
                vec![("content-length", (BODY.len() + 1).to_string())],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::IncompleteBody),
            ),
            (
                "body longer than content-length",
                vec![("content-length", (BODY.len() - 1).to_string())],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::IncompleteBody),
            ),
            (
                "no content-length",
                vec![],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::MissingContentLength),
            ),
            (
                "declared over the body limit",
                vec![("content-length", ((1 << 20) + 1).to_string())],
                ContentSha256::Unsigned,
                Err(S3ErrorCode::EntityTooLarge),
            ),
        ];
        for (name, pairs, payload, expected) in cases {
            for piece_len_bytes in [1, 7, 4096] {
                let outcome = receive(&header_map(&pairs), payload, BODY.to_vec(), piece_len_bytes)
                    .await
                    .map(|body| assert_eq!(body.content, BODY, "{name}"));
                assert_eq!(outcome, expected, "{name}, pieces of {piece_len_bytes}");
            }
        }
    }

    #[tokio::test]
    async fn k3_aws_chunked_bodies_decode_and_verify_the_trailer() {
        let crc32 = digest(ChecksumAlgorithm::Crc32, BODY);
        let wrong = digest(ChecksumAlgorithm::Crc32, b"other");
        let headers_for = |decoded_len: usize| {
            header_map(&[
                ("content-encoding", "aws-chunked".into()),
                ("x-amz-trailer", "x-amz-checksum-crc32".into()),
                ("x-amz-decoded-content-length", decoded_len.to_string()),
            ])
        };
        let mut truncated = unsigned_trailer_chunks(BODY, Some(&crc32));
        truncated.truncate(truncated.len() - 5);
        // (name, headers, bytes on the wire, outcome).
        let cases: Vec<(&str, HeaderMap, Vec<u8>, Outcome)> = vec![
            (
                "right trailer",
                headers_for(BODY.len()),
                unsigned_trailer_chunks(BODY, Some(&crc32)),
                Ok(()),
            ),
            (
                "wrong trailer",
                headers_for(BODY.len()),
                unsigned_trailer_chunks(BODY, Some(&wrong)),
                Err(S3ErrorCode::BadDigest),
            ),
            (
                "decoded length says more",
                headers_for(BODY.len() + 1),
                unsigned_trailer_chunks(BODY, Some(&crc32)),
                Err(S3ErrorCode::IncompleteBody),
            ),
            (
                "decoded length says less",
                headers_for(BODY.len() - 1),
                unsigned_trailer_chunks(BODY, Some(&crc32)),
                Err(S3ErrorCode::IncompleteBody),
            ),
            (
                "framing cut short",
                headers_for(BODY.len()),
                truncated,
                Err(S3ErrorCode::IncompleteBody),
            ),
            (
                "garbage chunk size",
                headers_for(BODY.len()),
                b"zz\r\nabc\r\n0\r\n\r\n".to_vec(),
                Err(S3ErrorCode::InvalidRequest),
            ),
        ];
        for (name, headers, wire, expected) in cases {
            for piece_len_bytes in [1, 3, 4096] {
                let outcome = receive(
                    &headers,
                    ContentSha256::StreamingUnsignedTrailer,
                    wire.clone(),
                    piece_len_bytes,
                )
                .await
                .map(|body| {
                    assert_eq!(body.content, BODY, "{name}");
                    assert_eq!(
                        body.checksums.get(ChecksumAlgorithm::Crc32),
                        Some(&crc32),
                        "{name}"
                    );
                });
                assert_eq!(outcome, expected, "{name}, pieces of {piece_len_bytes}");
            }
        }
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out_with_incomplete_body() {
        let headers = header_map(&[("content-length", "10".into())]);
        let expectation = BodyExpectation::from_headers(
            &headers,
            &verified(ContentSha256::Unsigned),
            1 << 20,
            LengthRule::Required,
        )
        .unwrap();
        let outcome = expectation
            .receive(&mut NeverEnds, Duration::from_millis(20))
            .await;
        assert_eq!(
            outcome.map(|_| ()).map_err(|error| error.code),
            Err(S3ErrorCode::IncompleteBody)
        );
    }
}
