//! The `aws-chunked` body encoding: an incremental, push-style decoder and
//! the matching encoder (SPEC K3, B1).
//!
//! Wire format (`Content-Encoding: aws-chunked`):
//!
//! ```text
//! <hex-size>[;chunk-signature=<64 hex>]\r\n <size bytes> \r\n     (repeated)
//! 0[;chunk-signature=<64 hex>]\r\n                                (final chunk)
//! <name>:<value>\r\n                                              (trailers, optional)
//! [x-amz-trailer-signature:<64 hex>\r\n]
//! \r\n
//! ```
//!
//! Three variants, chosen by `x-amz-content-sha256`: unsigned chunks with a
//! trailing checksum (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what botocore
//! sends by default), signed chunks (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`),
//! and signed chunks with a signed trailer (`...-PAYLOAD-TRAILER`). Chunk
//! signatures chain from the request's seed signature, so reordered, dropped
//! or altered chunks fail.
//!
//! The decoder owns no I/O: the caller feeds whatever bytes arrived and gets
//! back payload slices borrowed from them. It buffers only a chunk header
//! line or the trailer section, each under a named limit, so memory is
//! bounded whatever the input. Payload is released before the chunk's
//! signature (and the trailing checksum) can be checked: the caller stages it
//! invisibly and commits only after [`ChunkedDecoder::finish`] succeeded
//! (DESIGN.md write path, steps 2-3).

use lockwell_core::checksum::{ChecksumAlgorithm, Digest};
use sha2::{Digest as _, Sha256};

use crate::error::{ProtoError, S3ErrorCode};
use crate::sigv4::{ContentSha256, StreamingContext, Verified};

/// Longest chunk header line, CRLF included. A signed header is ~90 bytes;
/// the slack admits chunk extensions some clients add.
pub const MAX_CHUNK_HEADER_LEN_BYTES: usize = 1024;

/// Largest chunk accepted. SDKs send 64 KiB to 1 MiB chunks; nothing is
/// buffered per chunk, so this only bounds how long a chunk signature stays
/// unchecked.
pub const MAX_CHUNK_SIZE_BYTES: u64 = 64 * 1024 * 1024;

/// Largest trailer section (all trailer lines and the final CRLF).
pub const MAX_TRAILER_SECTION_LEN_BYTES: usize = 4096;

/// Most trailer lines, the trailer signature included.
pub const MAX_TRAILER_LINES: usize = 8;

const CHUNK_SIGNATURE_EXTENSION: &str = "chunk-signature=";
const TRAILER_SIGNATURE_NAME: &str = "x-amz-trailer-signature";

/// Whether chunks carry signatures, and what they chain from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkSignatures {
    Unsigned,
    Signed(StreamingContext),
}

/// What one call to [`ChunkedDecoder::decode`] produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Decoded body bytes, borrowed from the input.
    Payload(&'a [u8]),
    /// The input is used up; feed more.
    NeedMoreInput,
    /// The body's framing ended correctly; call [`ChunkedDecoder::finish`].
    End,
}

/// The decoded body's summary, once its framing is complete and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedBody {
    pub decoded_len_bytes: u64,
    /// The trailing checksum, still to be compared with the body's digest
    /// (SPEC K2: mismatch -> BadDigest).
    pub trailing_checksum: Option<Digest>,
}

#[derive(Debug)]
enum State {
    /// Reading a chunk header line.
    ChunkHeader,
    /// Inside a chunk's data.
    ChunkData { remaining_bytes: u64 },
    /// Expecting the CRLF after a chunk's data; `seen_cr` once `\r` arrived.
    ChunkDataEnd { seen_cr: bool },
    /// Reading the trailer section after the final chunk.
    Trailers,
    /// The framing ended; `body` is the validated result.
    Done { body: ChunkedBody },
    /// An error was returned; the decoder refuses further input.
    Failed,
}

/// Incremental aws-chunked decoder; see the module docs.
#[derive(Debug)]
pub struct ChunkedDecoder {
    signatures: ChunkSignatures,
    expected_trailer: Option<ChecksumAlgorithm>,
    declared_len_bytes: u64,
    decoded_len_bytes: u64,
    state: State,
    /// The current header line or the trailer section, bounded by the limits.
    line: Vec<u8>,
    trailers: Vec<(String, String)>,
    /// Signature of the previous chunk (the seed before the first).
    previous_signature: [u8; 32],
    /// Signature claimed by the current chunk's header.
    claimed_signature: [u8; 32],
    chunk_hasher: Sha256,
}

fn framing(message: impl Into<String>) -> ProtoError {
    ProtoError::invalid_request(format!("aws-chunked framing: {}", message.into()))
}

fn signature_mismatch(what: &str) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::SignatureDoesNotMatch,
        format!("The {what} signature we calculated does not match the one you provided."),
    )
}

fn check_trailer_algorithm(trailer: Option<ChecksumAlgorithm>) -> Result<(), ProtoError> {
    match trailer {
        Some(algorithm) if algorithm.s3_header_name().is_none() => {
            Err(ProtoError::invalid_request(format!(
                "{algorithm} cannot be sent as a trailing checksum"
            )))
        }
        _ => Ok(()),
    }
}

impl ChunkedDecoder {
    /// A decoder for a body of `declared_len_bytes` decoded bytes
    /// (`x-amz-decoded-content-length`), expecting `trailer` (`x-amz-trailer`).
    /// With [`ChunkSignatures::Signed`] and a trailer, the trailer must be
    /// signed too.
    pub fn new(
        signatures: ChunkSignatures,
        trailer: Option<ChecksumAlgorithm>,
        declared_len_bytes: u64,
    ) -> Result<Self, ProtoError> {
        check_trailer_algorithm(trailer)?;
        let previous_signature = match &signatures {
            ChunkSignatures::Unsigned => [0; 32],
            ChunkSignatures::Signed(context) => context.seed_signature(),
        };
        Ok(Self {
            signatures,
            expected_trailer: trailer,
            declared_len_bytes,
            decoded_len_bytes: 0,
            state: State::ChunkHeader,
            line: Vec::new(),
            trailers: Vec::new(),
            previous_signature,
            claimed_signature: [0; 32],
            chunk_hasher: Sha256::new(),
        })
    }

    /// The decoder a verified request's headers call for: the variant from
    /// `x-amz-content-sha256`, checked against `x-amz-trailer`.
    pub fn for_request(
        verified: &Verified,
        trailer: Option<ChecksumAlgorithm>,
        declared_len_bytes: u64,
    ) -> Result<Self, ProtoError> {
        match verified.payload {
            ContentSha256::StreamingUnsignedTrailer => {
                Self::new(ChunkSignatures::Unsigned, trailer, declared_len_bytes)
            }
            ContentSha256::StreamingSigned if trailer.is_none() => Self::new(
                ChunkSignatures::Signed(verified.streaming.clone()),
                None,
                declared_len_bytes,
            ),
            ContentSha256::StreamingSignedTrailer if trailer.is_some() => Self::new(
                ChunkSignatures::Signed(verified.streaming.clone()),
                trailer,
                declared_len_bytes,
            ),
            ContentSha256::StreamingSigned => Err(ProtoError::invalid_request(
                "x-amz-trailer needs x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            )),
            ContentSha256::StreamingSignedTrailer => Err(ProtoError::invalid_request(
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER needs an x-amz-trailer header",
            )),
            _ => Err(ProtoError::invalid_request(
                "Content-Encoding aws-chunked needs a STREAMING-* x-amz-content-sha256",
            )),
        }
    }

    /// Decodes from the front of `input`, advancing it past what was used.
    ///
    /// Call in a loop: each [`Decoded::Payload`] is body bytes; on
    /// [`Decoded::NeedMoreInput`] feed the next bytes; on [`Decoded::End`]
    /// call [`finish`](Self::finish). After an error the decoder refuses
    /// everything.
    pub fn decode<'a>(&mut self, input: &mut &'a [u8]) -> Result<Decoded<'a>, ProtoError> {
        let result = self.step(input);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn step<'a>(&mut self, input: &mut &'a [u8]) -> Result<Decoded<'a>, ProtoError> {
        loop {
            match &mut self.state {
                State::Failed => return Err(framing("the body was already refused")),
                State::Done { .. } => {
                    return if input.is_empty() {
                        Ok(Decoded::End)
                    } else {
                        Err(framing("bytes follow the final chunk"))
                    };
                }
                _ if input.is_empty() => return Ok(Decoded::NeedMoreInput),
                State::ChunkHeader => {
                    if let Some(line) =
                        self.take_line(input, MAX_CHUNK_HEADER_LEN_BYTES, "chunk header")?
                    {
                        self.start_chunk(&line)?;
                    }
                }
                State::ChunkData { remaining_bytes } => {
                    let available = u64::try_from(input.len()).unwrap_or(u64::MAX);
                    let take =
                        usize::try_from((*remaining_bytes).min(available)).unwrap_or(input.len());
                    let (payload, rest) = input.split_at(take);
                    *input = rest;
                    *remaining_bytes -= take as u64;
                    if *remaining_bytes == 0 {
                        self.state = State::ChunkDataEnd { seen_cr: false };
                    }
                    if matches!(self.signatures, ChunkSignatures::Signed(_)) {
                        self.chunk_hasher.update(payload);
                    }
                    return Ok(Decoded::Payload(payload));
                }
                State::ChunkDataEnd { seen_cr } => {
                    let (&byte, rest) = input.split_first().ok_or_else(|| framing("no input"))?;
                    *input = rest;
                    match (*seen_cr, byte) {
                        (false, b'\r') => *seen_cr = true,
                        (true, b'\n') => {
                            self.check_chunk_signature()?;
                            self.state = State::ChunkHeader;
                        }
                        _ => return Err(framing("chunk data is not followed by CRLF")),
                    }
                }
                State::Trailers => {
                    let budget = MAX_TRAILER_SECTION_LEN_BYTES.saturating_sub(
                        self.trailers
                            .iter()
                            .map(|(name, value)| name.len() + value.len() + 3)
                            .sum(),
                    );
                    if let Some(line) = self.take_line(input, budget, "trailer section")? {
                        if line.is_empty() {
                            let body = self.complete()?;
                            self.state = State::Done { body };
                        } else {
                            self.push_trailer(&line)?;
                        }
                    }
                }
            }
        }
    }

    /// Accumulates one CRLF-terminated line across calls; returns it without
    /// the CRLF once complete.
    fn take_line(
        &mut self,
        input: &mut &[u8],
        limit_bytes: usize,
        what: &str,
    ) -> Result<Option<Vec<u8>>, ProtoError> {
        let (consumed, complete) = match input.iter().position(|&byte| byte == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (input.len(), false),
        };
        let (taken, rest) = input.split_at(consumed);
        if self.line.len() + taken.len() > limit_bytes {
            return Err(framing(format!(
                "{what} is longer than {limit_bytes} bytes"
            )));
        }
        self.line.extend_from_slice(taken);
        *input = rest;
        if !complete {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if line.pop() != Some(b'\n') || line.pop() != Some(b'\r') {
            return Err(framing(format!("{what} does not end in CRLF")));
        }
        Ok(Some(line))
    }

    fn start_chunk(&mut self, line: &[u8]) -> Result<(), ProtoError> {
        let line = std::str::from_utf8(line).map_err(|_| framing("chunk header is not ASCII"))?;
        let mut parts = line.split(';');
        let size_hex = parts.next().unwrap_or_default();
        let size = parse_chunk_size(size_hex)?;
        let signature =
            parts.find_map(|extension| extension.strip_prefix(CHUNK_SIGNATURE_EXTENSION));
        match (&self.signatures, signature) {
            (ChunkSignatures::Signed(_), Some(hex_signature)) => {
                if hex_signature.len() != 64
                    || hex::decode_to_slice(hex_signature, &mut self.claimed_signature).is_err()
                {
                    return Err(framing("chunk-signature is not 64 hex digits"));
                }
            }
            (ChunkSignatures::Signed(_), None) => {
                return Err(framing("a signed chunk has no chunk-signature"));
            }
            // Unsigned bodies: extensions carry nothing we check.
            (ChunkSignatures::Unsigned, _) => {}
        }
        let new_total = self.decoded_len_bytes.saturating_add(size);
        if new_total > self.declared_len_bytes {
            return Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                format!(
                    "The decoded body is longer than x-amz-decoded-content-length ({} bytes)",
                    self.declared_len_bytes
                ),
            ));
        }
        self.decoded_len_bytes = new_total;
        if size == 0 {
            // The final chunk signs empty data.
            self.check_chunk_signature()?;
            self.state = State::Trailers;
        } else {
            self.state = State::ChunkData {
                remaining_bytes: size,
            };
        }
        Ok(())
    }

    fn check_chunk_signature(&mut self) -> Result<(), ProtoError> {
        let chunk_sha256: [u8; 32] = std::mem::take(&mut self.chunk_hasher).finalize().into();
        if let ChunkSignatures::Signed(context) = &self.signatures {
            if !context.verify_chunk(
                &self.previous_signature,
                &chunk_sha256,
                &self.claimed_signature,
            ) {
                return Err(signature_mismatch("chunk"));
            }
            self.previous_signature = self.claimed_signature;
        }
        Ok(())
    }

    fn push_trailer(&mut self, line: &[u8]) -> Result<(), ProtoError> {
        if self.trailers.len() >= MAX_TRAILER_LINES {
            return Err(framing(format!("more than {MAX_TRAILER_LINES} trailers")));
        }
        let line = std::str::from_utf8(line).map_err(|_| framing("trailer is not ASCII"))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(framing("trailer is not name:value"));
        };
        let name = name.trim().to_ascii_lowercase();
        if self.trailers.iter().any(|(seen, _)| *seen == name) {
            return Err(framing(format!("trailer {name} appears twice")));
        }
        self.trailers.push((name, value.trim().to_string()));
        Ok(())
    }

    /// The context that signs the trailer section: signed chunks with a
    /// declared trailer must sign it too.
    fn trailer_context(&self) -> Option<&StreamingContext> {
        match &self.signatures {
            ChunkSignatures::Signed(context) if self.expected_trailer.is_some() => Some(context),
            _ => None,
        }
    }

    /// Checks the trailer section and the decoded length once the framing ended.
    fn complete(&mut self) -> Result<ChunkedBody, ProtoError> {
        let mut checksum_trailers: Vec<&(String, String)> = Vec::new();
        let mut trailer_signature = None;
        for trailer in &self.trailers {
            if trailer.0 == TRAILER_SIGNATURE_NAME {
                trailer_signature = Some(trailer.1.as_str());
            } else {
                checksum_trailers.push(trailer);
            }
        }
        let trailing_checksum = match (self.expected_trailer, checksum_trailers.as_slice()) {
            (None, []) => None,
            (Some(algorithm), [(name, value)])
                if Some(name.as_str()) == algorithm.s3_header_name() =>
            {
                Some(Digest::from_base64(algorithm, value).map_err(|error| {
                    ProtoError::invalid_request(format!(
                        "Value for {name} trailing header is invalid: {error}"
                    ))
                })?)
            }
            (Some(algorithm), []) => {
                return Err(ProtoError::invalid_request(format!(
                    "x-amz-trailer promised {} but the body has no such trailer",
                    algorithm.s3_header_name().unwrap_or_default()
                )));
            }
            (_, trailers) => {
                let names: Vec<&str> = trailers.iter().map(|(name, _)| name.as_str()).collect();
                return Err(ProtoError::invalid_request(format!(
                    "trailers {names:?} were not declared by x-amz-trailer"
                )));
            }
        };
        match (self.trailer_context(), trailer_signature) {
            (Some(context), Some(hex_signature)) => {
                let mut claimed = [0u8; 32];
                if hex_signature.len() != 64
                    || hex::decode_to_slice(hex_signature, &mut claimed).is_err()
                {
                    return Err(framing("x-amz-trailer-signature is not 64 hex digits"));
                }
                let mut canonical = Vec::new();
                for (name, value) in &checksum_trailers {
                    canonical.extend_from_slice(name.as_bytes());
                    canonical.push(b':');
                    canonical.extend_from_slice(value.as_bytes());
                    canonical.push(b'\n');
                }
                if !context.verify_trailer(&self.previous_signature, &canonical, &claimed) {
                    return Err(signature_mismatch("trailer"));
                }
            }
            (Some(_), None) => {
                return Err(framing("the signed trailer has no x-amz-trailer-signature"));
            }
            (None, Some(_)) => {
                return Err(framing("x-amz-trailer-signature on an unsigned trailer"));
            }
            (None, None) => {}
        }
        if self.decoded_len_bytes != self.declared_len_bytes {
            return Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                format!(
                    "The decoded body has {} bytes; x-amz-decoded-content-length says {}",
                    self.decoded_len_bytes, self.declared_len_bytes
                ),
            ));
        }
        Ok(ChunkedBody {
            decoded_len_bytes: self.decoded_len_bytes,
            trailing_checksum,
        })
    }

    /// Call at the end of the request body: the validated summary, or
    /// IncompleteBody if the framing did not end.
    pub fn finish(mut self) -> Result<ChunkedBody, ProtoError> {
        match self.state {
            State::Done { body } => Ok(body),
            // The AWS SDK for JavaScript ends an unsigned body with no
            // trailer right after `0\r\n`, without the empty trailer line.
            State::Trailers
                if self.line.is_empty()
                    && self.trailers.is_empty()
                    && self.expected_trailer.is_none()
                    && matches!(self.signatures, ChunkSignatures::Unsigned) =>
            {
                self.complete()
            }
            State::Failed => Err(framing("the body was already refused")),
            _ => Err(ProtoError::new(
                S3ErrorCode::IncompleteBody,
                "The request body ended before its final aws-chunked chunk",
            )),
        }
    }
}

fn parse_chunk_size(size_hex: &str) -> Result<u64, ProtoError> {
    // 64 MiB takes 7 hex digits; more than 16 cannot be a u64 anyway.
    if size_hex.is_empty()
        || size_hex.len() > 16
        || !size_hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(framing(format!(
            "chunk size {size_hex:?} is not hexadecimal"
        )));
    }
    let size =
        u64::from_str_radix(size_hex, 16).map_err(|_| framing("chunk size is not hexadecimal"))?;
    if size > MAX_CHUNK_SIZE_BYTES {
        return Err(framing(format!(
            "chunk of {size} bytes exceeds the {MAX_CHUNK_SIZE_BYTES}-byte limit"
        )));
    }
    Ok(size)
}

/// Frames a body as aws-chunked, signing chunks when asked: the client's
/// side of [`ChunkedDecoder`].
#[derive(Debug, Clone)]
pub struct ChunkedEncoder {
    signatures: ChunkSignatures,
    previous_signature: [u8; 32],
}

impl ChunkedEncoder {
    pub fn new(signatures: ChunkSignatures) -> Self {
        let previous_signature = match &signatures {
            ChunkSignatures::Unsigned => [0; 32],
            ChunkSignatures::Signed(context) => context.seed_signature(),
        };
        Self {
            signatures,
            previous_signature,
        }
    }

    fn header(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
        if let ChunkSignatures::Signed(context) = &self.signatures {
            let signature =
                context.chunk_signature(&self.previous_signature, &Sha256::digest(data).into());
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(hex::encode(signature).as_bytes());
            self.previous_signature = signature;
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Appends one data chunk. Empty `data` appends nothing: an empty chunk
    /// would end the body.
    pub fn encode_chunk(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        self.header(data, out);
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends the final chunk and the trailer section (signed when the
    /// chunks are).
    pub fn finish(mut self, trailer: Option<&Digest>, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        check_trailer_algorithm(trailer.map(Digest::algorithm))?;
        self.header(&[], out);
        if let Some(digest) = trailer {
            let line = format!(
                "{}:{}",
                digest.algorithm().s3_header_name().unwrap_or_default(),
                digest.to_base64()
            );
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let ChunkSignatures::Signed(context) = &self.signatures {
                let canonical = format!("{line}\n");
                let signature =
                    context.trailer_signature(&self.previous_signature, canonical.as_bytes());
                out.extend_from_slice(
                    format!("{TRAILER_SIGNATURE_NAME}:{}\r\n", hex::encode(signature)).as_bytes(),
                );
            }
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lockwell_core::checksum::digest;
    use proptest::prelude::*;

    use super::*;
    use crate::sigv4::{SecretKey, SigningKey};

    fn example_context(seed_hex: &str) -> StreamingContext {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(seed_hex, &mut seed).unwrap();
        StreamingContext::new(
            SigningKey::derive(
                &SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                "20130524",
                "us-east-1",
                "s3",
            ),
            "20130524T000000Z".into(),
            "20130524/us-east-1/s3/aws4_request".into(),
            seed,
        )
    }

    /// Feeds `body` in pieces of `piece_len` bytes; returns the payload and
    /// the outcome of `finish`.
    fn decode_in_pieces(
        mut decoder: ChunkedDecoder,
        body: &[u8],
        piece_len: usize,
    ) -> (Vec<u8>, Result<ChunkedBody, ProtoError>) {
        let mut payload = Vec::new();
        for piece in body.chunks(piece_len.max(1)) {
            let mut input = piece;
            loop {
                match decoder.decode(&mut input) {
                    Ok(Decoded::Payload(bytes)) => payload.extend_from_slice(bytes),
                    Ok(Decoded::NeedMoreInput | Decoded::End) => break,
                    Err(error) => return (payload, Err(error)),
                }
            }
        }
        (payload, decoder.finish())
    }

    /// The worked example of the S3 docs ("Transferring Payload in Multiple
    /// Chunks"): 65536 + 1024 bytes of 'a', seed 4f232c43...
    fn aws_signed_example(signatures: [&str; 3], trailer: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={}\r\n", signatures[0]).as_bytes());
        body.extend_from_slice(&[b'a'; 65_536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", signatures[1]).as_bytes());
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n", signatures[2]).as_bytes());
        body.extend_from_slice(trailer.as_bytes());
        body.extend_from_slice(b"\r\n");
        body
    }

    const AWS_SIGNED_SEED: &str =
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const AWS_SIGNED_CHUNKS: [&str; 3] = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];
    const AWS_TRAILER_SEED: &str =
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const AWS_TRAILER_CHUNKS: [&str; 3] = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ];
    const AWS_TRAILER: &str = "x-amz-checksum-crc32c:sOO8/Q==\r\n\
        x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n";

    #[test]
    fn k3_decodes_the_aws_signed_streaming_example() {
        let body = aws_signed_example(AWS_SIGNED_CHUNKS, "");
        assert_eq!(body.len(), 66_824, "the documented Content-Length");
        for piece_len in [1, 1000, body.len()] {
            let decoder = ChunkedDecoder::new(
                ChunkSignatures::Signed(example_context(AWS_SIGNED_SEED)),
                None,
                66_560,
            )
            .unwrap();
            let (payload, outcome) = decode_in_pieces(decoder, &body, piece_len);
            assert_eq!(payload, vec![b'a'; 66_560]);
            assert_eq!(
                outcome.unwrap(),
                ChunkedBody {
                    decoded_len_bytes: 66_560,
                    trailing_checksum: None
                }
            );
        }
    }

    /// End to end: the documented request verifies (its signature is the
    /// seed), and the decoder it calls for checks the documented chunks.
    #[test]
    fn a1_k3_the_documented_streaming_request_verifies_and_decodes() {
        use http::{HeaderMap, HeaderName, HeaderValue, Method};

        use crate::sigv4::{SignedRequest, verify};
        use crate::time::parse_amz_date;

        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class,Signature={AWS_SIGNED_SEED}"
        );
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("authorization", authorization.as_str()),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let request = SignedRequest {
            method: &Method::PUT,
            path: "/examplebucket/chunkObject.txt",
            query: None,
            headers: &headers,
        };
        let secret = |_: &str| Some(SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        let now = parse_amz_date("20130524T000000Z").unwrap();
        let verified = verify(&request, "us-east-1", secret, now).unwrap();
        assert_eq!(verified.streaming, example_context(AWS_SIGNED_SEED));
        let decoder = ChunkedDecoder::for_request(&verified, None, 66_560).unwrap();
        let body = aws_signed_example(AWS_SIGNED_CHUNKS, "");
        let (payload, outcome) = decode_in_pieces(decoder, &body, 4096);
        assert_eq!(payload.len(), 66_560);
        assert!(outcome.is_ok());
        assert!(
            ChunkedDecoder::for_request(&verified, Some(ChecksumAlgorithm::Crc32), 66_560).is_err(),
            "a trailer needs the -TRAILER variant"
        );
    }

    #[test]
    fn k3_decodes_the_aws_signed_trailer_example() {
        let body = aws_signed_example(AWS_TRAILER_CHUNKS, AWS_TRAILER);
        let decoder = ChunkedDecoder::new(
            ChunkSignatures::Signed(example_context(AWS_TRAILER_SEED)),
            Some(ChecksumAlgorithm::Crc32c),
            66_560,
        )
        .unwrap();
        let (payload, outcome) = decode_in_pieces(decoder, &body, 777);
        assert_eq!(payload.len(), 66_560);
        let checksum = outcome.unwrap().trailing_checksum.unwrap();
        assert_eq!(
            checksum,
            digest(ChecksumAlgorithm::Crc32c, &payload),
            "sOO8/Q== is the CRC32C"
        );
    }

    #[test]
    fn a1_any_changed_chunk_signature_or_byte_is_a_signature_mismatch() {
        let decoder = || {
            ChunkedDecoder::new(
                ChunkSignatures::Signed(example_context(AWS_SIGNED_SEED)),
                None,
                66_560,
            )
            .unwrap()
        };
        for index in 0..3 {
            let mut signatures = AWS_SIGNED_CHUNKS.map(String::from);
            signatures[index].replace_range(63.., "0");
            let body = aws_signed_example(signatures.each_ref().map(String::as_str), "");
            let (_, outcome) = decode_in_pieces(decoder(), &body, 4096);
            assert_eq!(
                outcome.unwrap_err().code,
                S3ErrorCode::SignatureDoesNotMatch,
                "chunk {index}"
            );
        }
        let mut body = aws_signed_example(AWS_SIGNED_CHUNKS, "");
        body[1000] = b'b';
        let (_, outcome) = decode_in_pieces(decoder(), &body, 4096);
        assert_eq!(
            outcome.unwrap_err().code,
            S3ErrorCode::SignatureDoesNotMatch
        );

        let tampered_trailer = AWS_TRAILER.replace("sOO8/Q==", "sOO8/A==");
        let body = aws_signed_example(AWS_TRAILER_CHUNKS, &tampered_trailer);
        let decoder = ChunkedDecoder::new(
            ChunkSignatures::Signed(example_context(AWS_TRAILER_SEED)),
            Some(ChecksumAlgorithm::Crc32c),
            66_560,
        )
        .unwrap();
        let (_, outcome) = decode_in_pieces(decoder, &body, 4096);
        assert_eq!(
            outcome.unwrap_err().code,
            S3ErrorCode::SignatureDoesNotMatch
        );
    }

    fn unsigned(trailer: Option<ChecksumAlgorithm>, declared: u64) -> ChunkedDecoder {
        ChunkedDecoder::new(ChunkSignatures::Unsigned, trailer, declared).unwrap()
    }

    /// Each malformed body and the error code it must get (SPEC B1).
    #[test]
    fn b1_broken_framing_is_refused_with_its_code() {
        use S3ErrorCode::{IncompleteBody, InvalidRequest};
        let crc32 = Some(ChecksumAlgorithm::Crc32);
        let good_trailer = format!(
            "x-amz-checksum-crc32:{}",
            digest(ChecksumAlgorithm::Crc32, b"hello").to_base64()
        );
        let cases: Vec<(&str, Option<ChecksumAlgorithm>, u64, String, S3ErrorCode)> = vec![
            (
                "size not hex",
                None,
                5,
                "zz\r\nhello\r\n0\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "empty size",
                None,
                5,
                "\r\nhello\r\n0\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "size too big",
                None,
                5,
                "ffffffffffffffffff\r\n".into(),
                InvalidRequest,
            ),
            (
                "bare LF header",
                None,
                5,
                "5\nhello\r\n0\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "data without CRLF",
                None,
                5,
                "5\r\nhelloX\r\n0\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "longer than declared",
                None,
                4,
                "5\r\nhello\r\n0\r\n\r\n".into(),
                IncompleteBody,
            ),
            (
                "shorter than declared",
                None,
                6,
                "5\r\nhello\r\n0\r\n\r\n".into(),
                IncompleteBody,
            ),
            (
                "cut inside data",
                None,
                5,
                "5\r\nhel".into(),
                IncompleteBody,
            ),
            (
                "cut before final chunk",
                None,
                5,
                "5\r\nhello\r\n".into(),
                IncompleteBody,
            ),
            (
                "bytes after the end",
                None,
                5,
                "5\r\nhello\r\n0\r\n\r\nX".into(),
                InvalidRequest,
            ),
            (
                "missing trailer",
                crc32,
                5,
                "5\r\nhello\r\n0\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "undeclared trailer",
                None,
                5,
                format!("5\r\nhello\r\n0\r\n{good_trailer}\r\n\r\n"),
                InvalidRequest,
            ),
            (
                "other trailer than declared",
                Some(ChecksumAlgorithm::Crc32c),
                5,
                format!("5\r\nhello\r\n0\r\n{good_trailer}\r\n\r\n"),
                InvalidRequest,
            ),
            (
                "trailer twice",
                crc32,
                5,
                format!("5\r\nhello\r\n0\r\n{good_trailer}\r\n{good_trailer}\r\n\r\n"),
                InvalidRequest,
            ),
            (
                "trailer not base64",
                crc32,
                5,
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:!!!!\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "trailer without colon",
                crc32,
                5,
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n".into(),
                InvalidRequest,
            ),
            (
                "trailer signature on unsigned body",
                crc32,
                5,
                format!("5\r\nhello\r\n0\r\n{good_trailer}\r\nx-amz-trailer-signature:00\r\n\r\n"),
                InvalidRequest,
            ),
            (
                "trailer cut",
                crc32,
                5,
                format!("5\r\nhello\r\n0\r\n{good_trailer}"),
                IncompleteBody,
            ),
        ];
        for (name, trailer, declared, body, code) in cases {
            for piece_len in [1, 3, body.len()] {
                let (_, outcome) =
                    decode_in_pieces(unsigned(trailer, declared), body.as_bytes(), piece_len);
                assert_eq!(
                    outcome.map_err(|error| error.code),
                    Err(code),
                    "{name} (pieces of {piece_len})"
                );
            }
        }
    }

    #[test]
    fn a_signed_chunk_without_a_signature_is_refused() {
        let decoder = ChunkedDecoder::new(
            ChunkSignatures::Signed(example_context(AWS_SIGNED_SEED)),
            None,
            5,
        )
        .unwrap();
        let (_, outcome) = decode_in_pieces(decoder, b"5\r\nhello\r\n0\r\n\r\n", 64);
        assert_eq!(outcome.unwrap_err().code, S3ErrorCode::InvalidRequest);
    }

    #[test]
    fn an_unsigned_body_may_end_right_after_the_final_chunk() {
        let (payload, outcome) = decode_in_pieces(unsigned(None, 5), b"5\r\nhello\r\n0\r\n", 2);
        assert_eq!(payload, b"hello");
        assert_eq!(outcome.unwrap().decoded_len_bytes, 5);
        let (_, outcome) = decode_in_pieces(
            unsigned(Some(ChecksumAlgorithm::Crc32), 5),
            b"5\r\nhello\r\n0\r\n",
            2,
        );
        assert_eq!(outcome.unwrap_err().code, S3ErrorCode::IncompleteBody);
    }

    #[test]
    fn chunk_header_limit_holds_at_the_limit() {
        // A header line of exactly the limit (CRLF included) is accepted.
        let extension = "x".repeat(MAX_CHUNK_HEADER_LEN_BYTES - "5;\r\n".len());
        let body = format!("5;{extension}\r\nhello\r\n0\r\n\r\n");
        let (_, outcome) = decode_in_pieces(unsigned(None, 5), body.as_bytes(), 100);
        assert!(outcome.is_ok());
        let body = format!("5;{extension}x\r\nhello\r\n0\r\n\r\n");
        let (_, outcome) = decode_in_pieces(unsigned(None, 5), body.as_bytes(), 100);
        assert_eq!(outcome.unwrap_err().code, S3ErrorCode::InvalidRequest);
    }

    #[test]
    fn chunk_size_limit_holds_at_the_limit() {
        assert_eq!(
            parse_chunk_size(&format!("{MAX_CHUNK_SIZE_BYTES:x}")),
            Ok(MAX_CHUNK_SIZE_BYTES)
        );
        assert!(parse_chunk_size(&format!("{:x}", MAX_CHUNK_SIZE_BYTES + 1)).is_err());
    }

    #[test]
    fn trailer_limits_hold() {
        let lines: String = (0..MAX_TRAILER_LINES + 1)
            .map(|i| format!("x-t{i}:v\r\n"))
            .collect();
        let body = format!("0\r\n{lines}\r\n");
        let (_, outcome) = decode_in_pieces(unsigned(None, 0), body.as_bytes(), 7);
        assert!(
            outcome
                .unwrap_err()
                .message
                .contains("more than 8 trailers")
        );
        let long = format!(
            "0\r\nx-amz-checksum-crc32:{}\r\n\r\n",
            "A".repeat(MAX_TRAILER_SECTION_LEN_BYTES)
        );
        let (_, outcome) = decode_in_pieces(
            unsigned(Some(ChecksumAlgorithm::Crc32), 0),
            long.as_bytes(),
            64,
        );
        assert!(outcome.unwrap_err().message.contains("longer than"));
    }

    #[test]
    fn md5_cannot_be_a_trailing_checksum() {
        assert!(
            ChunkedDecoder::new(ChunkSignatures::Unsigned, Some(ChecksumAlgorithm::Md5), 0)
                .is_err()
        );
    }

    #[test]
    fn after_an_error_the_decoder_refuses_everything() {
        let mut decoder = unsigned(None, 5);
        let mut input: &[u8] = b"zz\r\n";
        assert!(decoder.decode(&mut input).is_err());
        let mut input: &[u8] = b"5\r\nhello\r\n0\r\n\r\n";
        assert!(decoder.decode(&mut input).is_err());
        assert!(decoder.finish().is_err());
    }

    fn encode(
        signatures: ChunkSignatures,
        payload: &[u8],
        chunk_lens: &[usize],
        trailer: Option<&Digest>,
    ) -> Vec<u8> {
        let mut encoder = ChunkedEncoder::new(signatures);
        let mut out = Vec::new();
        let mut rest = payload;
        let mut lens = chunk_lens.iter().cycle();
        while !rest.is_empty() {
            let len = lens.next().copied().unwrap_or(1).clamp(1, rest.len());
            let (chunk, tail) = rest.split_at(len);
            encoder.encode_chunk(chunk, &mut out);
            rest = tail;
        }
        encoder.finish(trailer, &mut out).unwrap();
        out
    }

    #[test]
    fn the_encoder_reproduces_the_aws_signed_examples() {
        let payload = vec![b'a'; 66_560];
        let encoded = encode(
            ChunkSignatures::Signed(example_context(AWS_SIGNED_SEED)),
            &payload,
            &[65_536],
            None,
        );
        assert_eq!(encoded, aws_signed_example(AWS_SIGNED_CHUNKS, ""));
        let crc32c = digest(ChecksumAlgorithm::Crc32c, &payload);
        let encoded = encode(
            ChunkSignatures::Signed(example_context(AWS_TRAILER_SEED)),
            &payload,
            &[65_536],
            Some(&crc32c),
        );
        assert_eq!(encoded, aws_signed_example(AWS_TRAILER_CHUNKS, AWS_TRAILER));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Framing is invisible: however the body was chunked by the sender
        /// and split by the network, the decoder yields the same payload and
        /// trailer.
        #[test]
        fn any_chunking_and_any_split_decode_to_the_same_payload(
            payload in proptest::collection::vec(any::<u8>(), 0..2048),
            chunk_lens in proptest::collection::vec(1usize..300, 1..8),
            piece_len in 1usize..200,
            signed in any::<bool>(),
            with_trailer in any::<bool>(),
        ) {
            let checksum = digest(ChecksumAlgorithm::Sha256, &payload);
            let trailer = with_trailer.then_some(&checksum);
            let signatures = if signed {
                ChunkSignatures::Signed(example_context(AWS_SIGNED_SEED))
            } else {
                ChunkSignatures::Unsigned
            };
            let body = encode(signatures.clone(), &payload, &chunk_lens, trailer);
            let decoder = ChunkedDecoder::new(
                signatures,
                trailer.map(Digest::algorithm),
                payload.len() as u64,
            ).unwrap();
            let (decoded, outcome) = decode_in_pieces(decoder, &body, piece_len);
            prop_assert_eq!(&decoded, &payload);
            let outcome = outcome.unwrap();
            prop_assert_eq!(outcome.decoded_len_bytes, payload.len() as u64);
            prop_assert_eq!(outcome.trailing_checksum, trailer.copied());
        }

        /// The decoder never panics and never yields more payload than declared.
        #[test]
        fn arbitrary_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            piece_len in 1usize..64,
            declared in 0u64..512,
        ) {
            let (payload, _) = decode_in_pieces(unsigned(Some(ChecksumAlgorithm::Crc32), declared), &body, piece_len);
            prop_assert!(payload.len() as u64 <= declared);
        }
    }
}
