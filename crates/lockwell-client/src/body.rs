//! Request bodies as hyper sends them, and response bodies as the client
//! collects them.
//!
//! A request body is empty, buffered (re-readable: a retry sends the same
//! bytes), or a caller's reader framed as aws-chunked with a trailing
//! checksum (SPEC K3). The aws-chunked body is produced as it is sent, one
//! fixed-size chunk at a time, hashing as it goes: the object is never held
//! whole in memory, and its exact encoded length is known up front
//! ([`aws_chunked_len`]) so the request carries a `Content-Length`, which S3
//! requires of uploads.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use lockwell_core::checksum::{ChecksumAlgorithm, MultiHasher};
use lockwell_proto::chunked::{ChunkSignatures, ChunkedEncoder};
use tokio::io::{AsyncRead, ReadBuf};

/// Payload bytes per aws-chunked chunk, as the AWS SDKs send: small
/// enough to keep per-request memory low, large enough that framing is
/// noise.
pub const STREAMING_CHUNK_LEN_BYTES: usize = 64 * 1024;

/// A caller's streamed body.
pub type BodyReader = Pin<Box<dyn AsyncRead + Send>>;

/// The body of one request.
pub(crate) enum RequestBody {
    Empty,
    /// Taken when sent.
    Full(Option<Bytes>),
    AwsChunked(Box<AwsChunkedBody>),
    /// A caller's reader sent as is, `Content-Length` long (the native
    /// API's streamed put): read once, never replayed (SPEC R2).
    Reader(Box<ReaderBody>),
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Full(bytes) => write!(f, "Full({:?} bytes)", bytes.as_ref().map(Bytes::len)),
            Self::AwsChunked(body) => write!(f, "AwsChunked({} bytes left)", body.remaining_bytes),
            Self::Reader(body) => write!(f, "Reader({} bytes left)", body.remaining_bytes),
        }
    }
}

/// A failure of the caller's reader, told apart from transport failures
/// when hyper hands it back.
#[derive(Debug, thiserror::Error)]
#[error("the request body reader failed: {0}")]
pub(crate) struct BodySourceError(pub(crate) io::Error);

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodySourceError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodySourceError>>> {
        match self.get_mut() {
            Self::Empty => Poll::Ready(None),
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::AwsChunked(body) => body.poll_next_frame(cx),
            Self::Reader(body) => body.poll_next_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Full(bytes) => bytes.is_none(),
            Self::AwsChunked(body) => body.finished,
            Self::Reader(body) => body.remaining_bytes == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::AwsChunked(body) => SizeHint::with_exact(body.encoded_len_bytes),
            Self::Reader(body) => SizeHint::with_exact(body.remaining_bytes),
        }
    }
}

/// Length of `len_bytes` of payload framed as unsigned aws-chunked in
/// `chunk_len_bytes` chunks, with a trailing `algorithm` checksum: what
/// [`AwsChunkedBody`] produces, byte for byte.
pub(crate) fn aws_chunked_len(
    len_bytes: u64,
    chunk_len_bytes: u64,
    algorithm: ChecksumAlgorithm,
) -> u64 {
    debug_assert!(chunk_len_bytes > 0);
    // "<hex size>\r\n<data>\r\n"
    let framed = |size: u64| format!("{size:x}").len() as u64 + 2 + size + 2;
    let full_chunks = len_bytes / chunk_len_bytes;
    let last_len_bytes = len_bytes % chunk_len_bytes;
    let chunks = full_chunks * framed(chunk_len_bytes)
        + if last_len_bytes > 0 {
            framed(last_len_bytes)
        } else {
            0
        };
    let header_name = algorithm.s3_header_name().unwrap_or_default();
    let base64_len = algorithm.digest_len_bytes().div_ceil(3) * 4;
    // "0\r\n" "<name>:<base64>\r\n" "\r\n"
    let trailer = 3 + (header_name.len() + 1 + base64_len + 2) as u64 + 2;
    chunks + trailer
}

/// A reader's bytes framed as unsigned aws-chunked
/// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) with a trailing checksum.
pub(crate) struct AwsChunkedBody {
    reader: BodyReader,
    /// Payload bytes still to read from the caller.
    remaining_bytes: u64,
    chunk: Box<[u8]>,
    /// Bytes of `chunk` read so far.
    filled_bytes: usize,
    /// The chunk framing and the trailer's hasher, until the trailer is
    /// written.
    framing: Option<(ChunkedEncoder, MultiHasher)>,
    algorithm: ChecksumAlgorithm,
    encoded_len_bytes: u64,
    finished: bool,
}

impl fmt::Debug for AwsChunkedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsChunkedBody")
            .field("remaining_bytes", &self.remaining_bytes)
            .field("algorithm", &self.algorithm)
            .field("encoded_len_bytes", &self.encoded_len_bytes)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl AwsChunkedBody {
    /// `len_bytes` must be exactly what `reader` yields: fewer is an error
    /// (the server would refuse the body), more is not read.
    pub(crate) fn new(reader: BodyReader, len_bytes: u64, algorithm: ChecksumAlgorithm) -> Self {
        Self::with_chunk_len(reader, len_bytes, algorithm, STREAMING_CHUNK_LEN_BYTES)
    }

    fn with_chunk_len(
        reader: BodyReader,
        len_bytes: u64,
        algorithm: ChecksumAlgorithm,
        chunk_len_bytes: usize,
    ) -> Self {
        Self {
            reader,
            remaining_bytes: len_bytes,
            chunk: vec![0; chunk_len_bytes].into_boxed_slice(),
            filled_bytes: 0,
            framing: Some((
                ChunkedEncoder::new(ChunkSignatures::Unsigned),
                MultiHasher::new(&[algorithm]),
            )),
            algorithm,
            encoded_len_bytes: aws_chunked_len(len_bytes, chunk_len_bytes as u64, algorithm),
            finished: false,
        }
    }

    fn poll_next_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodySourceError>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            let target_bytes = usize::try_from(self.remaining_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(self.filled_bytes)
                .min(self.chunk.len());
            if self.filled_bytes == target_bytes {
                return Poll::Ready(Some(self.emit().map(Frame::data)));
            }
            let mut buf = ReadBuf::new(&mut self.chunk[self.filled_bytes..target_bytes]);
            match self.reader.as_mut().poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Some(Err(BodySourceError(error)))),
                Poll::Ready(Ok(())) => {
                    let read_bytes = buf.filled().len();
                    if read_bytes == 0 {
                        return Poll::Ready(Some(Err(BodySourceError(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "the body ended {} bytes short of its declared length",
                                self.remaining_bytes
                            ),
                        )))));
                    }
                    self.filled_bytes += read_bytes;
                    self.remaining_bytes -= read_bytes as u64;
                }
            }
        }
    }

    /// The next frame once a chunk is full: the chunk, or, when the
    /// payload is all read, the final chunk and the trailer.
    fn emit(&mut self) -> Result<Bytes, BodySourceError> {
        let mut out = Vec::with_capacity(self.filled_bytes + 64);
        if self.filled_bytes > 0 {
            let (encoder, hasher) = self
                .framing
                .as_mut()
                .expect("the framing lives until the trailer is written");
            let data = &self.chunk[..self.filled_bytes];
            hasher.update(data);
            encoder.encode_chunk(data, &mut out);
            self.filled_bytes = 0;
            return Ok(Bytes::from(out));
        }
        debug_assert_eq!(self.remaining_bytes, 0);
        let (encoder, hasher) = self
            .framing
            .take()
            .expect("the trailer is written once: `finished` stops polling");
        let digests = hasher.finalize();
        encoder
            .finish(digests.get(self.algorithm), &mut out)
            .map_err(|error| BodySourceError(io::Error::other(error.to_string())))?;
        self.finished = true;
        Ok(Bytes::from(out))
    }
}

/// A reader's bytes as they are, in chunks of at most
/// [`STREAMING_CHUNK_LEN_BYTES`], exactly `len_bytes` of them.
pub(crate) struct ReaderBody {
    reader: BodyReader,
    remaining_bytes: u64,
    chunk: Box<[u8]>,
}

impl ReaderBody {
    /// `len_bytes` must be exactly what `reader` yields: fewer is an error,
    /// more is not read.
    pub(crate) fn new(reader: BodyReader, len_bytes: u64) -> Self {
        let chunk_len_bytes = usize::try_from(len_bytes)
            .unwrap_or(usize::MAX)
            .clamp(1, STREAMING_CHUNK_LEN_BYTES);
        Self {
            reader,
            remaining_bytes: len_bytes,
            chunk: vec![0; chunk_len_bytes].into_boxed_slice(),
        }
    }

    fn poll_next_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodySourceError>>> {
        if self.remaining_bytes == 0 {
            return Poll::Ready(None);
        }
        let want_bytes = usize::try_from(self.remaining_bytes)
            .unwrap_or(usize::MAX)
            .min(self.chunk.len());
        let mut buf = ReadBuf::new(&mut self.chunk[..want_bytes]);
        match self.reader.as_mut().poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(BodySourceError(error)))),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                Poll::Ready(Some(Err(BodySourceError(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the body ended {} bytes short of its declared length",
                        self.remaining_bytes
                    ),
                )))))
            }
            Poll::Ready(Ok(())) => {
                let data = Bytes::copy_from_slice(buf.filled());
                self.remaining_bytes -= data.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
        }
    }
}

/// Why a response body could not be collected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CollectError {
    #[error("the response body is longer than the {limit_bytes}-byte limit")]
    TooLong { limit_bytes: u64 },
    #[error(transparent)]
    Transport(#[from] hyper::Error),
}

/// Reads a whole response body, refusing more than `limit_bytes`.
pub(crate) async fn collect(
    mut body: hyper::body::Incoming,
    limit_bytes: u64,
) -> Result<Bytes, CollectError> {
    use http_body::Body as _;
    if body.size_hint().lower() > limit_bytes {
        return Err(CollectError::TooLong { limit_bytes });
    }
    let mut collected: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if (collected.len() + data.len()) as u64 > limit_bytes {
                return Err(CollectError::TooLong { limit_bytes });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(collected))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use lockwell_core::checksum::{Digest, digest};
    use lockwell_proto::chunked::{ChunkedDecoder, Decoded};

    use super::*;

    async fn encode(payload: &[u8], chunk_len_bytes: usize, algorithm: ChecksumAlgorithm) -> Bytes {
        let reader: BodyReader = Box::pin(std::io::Cursor::new(payload.to_vec()));
        let body = AwsChunkedBody::with_chunk_len(
            reader,
            payload.len() as u64,
            algorithm,
            chunk_len_bytes,
        );
        RequestBody::AwsChunked(Box::new(body))
            .collect()
            .await
            .unwrap()
            .to_bytes()
    }

    fn decode(encoded: &[u8], len_bytes: u64, algorithm: ChecksumAlgorithm) -> (Vec<u8>, Digest) {
        let mut decoder =
            ChunkedDecoder::new(ChunkSignatures::Unsigned, Some(algorithm), len_bytes).unwrap();
        let mut input = encoded;
        let mut payload = Vec::new();
        loop {
            match decoder.decode(&mut input).unwrap() {
                Decoded::Payload(bytes) => payload.extend_from_slice(bytes),
                Decoded::End => break,
                Decoded::NeedMoreInput => panic!("the encoding ended early"),
            }
        }
        let body = decoder.finish().unwrap();
        (payload, body.trailing_checksum.unwrap())
    }

    /// K3: what the client frames, the server's decoder reads back, with
    /// the right trailer, and the length promised up front is exact.
    #[tokio::test]
    async fn k3_aws_chunked_body_decodes_and_its_length_is_exact() {
        let algorithms = [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        ];
        for (len_bytes, chunk_len_bytes) in [
            (0, 16),
            (1, 16),
            (15, 16),
            (16, 16),
            (17, 16),
            (64, 16),
            (1_000, 7),
            (70_000, STREAMING_CHUNK_LEN_BYTES),
        ] {
            let payload: Vec<u8> = (0..len_bytes).map(|i| (i % 251) as u8).collect();
            for algorithm in algorithms {
                let encoded = encode(&payload, chunk_len_bytes, algorithm).await;
                assert_eq!(
                    encoded.len() as u64,
                    aws_chunked_len(len_bytes as u64, chunk_len_bytes as u64, algorithm),
                    "{len_bytes} bytes in {chunk_len_bytes}-byte chunks, {algorithm}"
                );
                let (decoded, trailer) = decode(&encoded, len_bytes as u64, algorithm);
                assert_eq!(decoded, payload);
                assert_eq!(trailer, digest(algorithm, &payload));
            }
        }
    }

    #[tokio::test]
    async fn a_reader_shorter_than_declared_fails_the_body() {
        let reader: BodyReader = Box::pin(std::io::Cursor::new(vec![1u8; 10]));
        let body = AwsChunkedBody::with_chunk_len(reader, 20, ChecksumAlgorithm::Crc32, 8);
        let error = RequestBody::AwsChunked(Box::new(body))
            .collect()
            .await
            .unwrap_err();
        assert_eq!(error.0.kind(), io::ErrorKind::UnexpectedEof);
    }
}
