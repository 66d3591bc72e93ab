//! `ChunkedDecoder`: the aws-chunked body decoder (SPEC K3, B1), fed in
//! arbitrary splits, unsigned and signed, with and without a trailer.
//!
//! Two shapes of input: arbitrary bytes, and a body framed by
//! `ChunkedEncoder` from arbitrary chunks, then optionally damaged in one
//! byte.
//!
//! Invariants, for every input:
//! - each call consumes only what it was given, and a payload slice is never
//!   longer than the input it came from, so the decoded body never exceeds
//!   the bytes fed;
//! - the decoded body never exceeds `x-amz-decoded-content-length`, and a
//!   body that `finish` accepts has exactly that length;
//! - the outcome (payload bytes, accepted summary or error) does not depend
//!   on how the input was split;
//! - a refusal is a 4xx (B1).
//!
//! And for encoder-framed bodies: an undamaged body decodes to exactly the
//! chunks and the trailer that were framed; a damaged *signed* body either
//! fails or still decodes to them (a byte flip can hit a hex digit's case).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, digest};
use lockwell_fuzz::assert_client_error;
use lockwell_proto::ProtoError;
use lockwell_proto::chunked::{
    ChunkSignatures, ChunkedBody, ChunkedDecoder, ChunkedEncoder, Decoded,
};
use lockwell_proto::sigv4::{SecretKey, SigningKey, StreamingContext};

#[derive(Debug, Arbitrary)]
struct Framing {
    signed: bool,
    /// Index into `ChecksumAlgorithm::ALL`, MD5 included (which must be
    /// refused as a trailer).
    trailer: Option<u8>,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Raw {
        framing: Framing,
        declared_len_bytes: u64,
        body: Vec<u8>,
        /// Lengths of the successive pieces the body is fed in.
        splits: Vec<u16>,
    },
    Encoded {
        framing: Framing,
        chunks: Vec<Vec<u8>>,
        /// Flips the bits of one byte (position modulo the body length).
        damage: Option<(u16, u8)>,
        splits: Vec<u16>,
    },
}

fn context() -> StreamingContext {
    StreamingContext::new(
        SigningKey::derive(
            &SecretKey::new("fuzz-secret"),
            "20240101",
            "us-east-1",
            "s3",
        ),
        "20240101T000000Z".to_string(),
        "20240101/us-east-1/s3/aws4_request".to_string(),
        [7; 32],
    )
}

impl Framing {
    fn signatures(&self) -> ChunkSignatures {
        if self.signed {
            ChunkSignatures::Signed(context())
        } else {
            ChunkSignatures::Unsigned
        }
    }

    fn trailer(&self) -> Option<ChecksumAlgorithm> {
        self.trailer
            .map(|index| ChecksumAlgorithm::ALL[usize::from(index) % ChecksumAlgorithm::ALL.len()])
    }
}

/// What decoding one body produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    payload: Vec<u8>,
    result: Result<ChunkedBody, ProtoError>,
}

/// Feeds `body` in pieces of the given lengths (the rest in one last
/// piece), checking the per-call invariants.
fn decode(mut decoder: ChunkedDecoder, body: &[u8], splits: &[u16], declared: u64) -> Outcome {
    let mut payload = Vec::new();
    let mut fed_len_bytes = 0usize;
    let mut rest = body;
    let mut pieces = splits
        .iter()
        .map(|&len| usize::from(len))
        .chain(std::iter::once(usize::MAX));
    while !rest.is_empty() {
        let piece_len = pieces.next().unwrap_or(usize::MAX).min(rest.len());
        let (mut piece, after) = rest.split_at(piece_len);
        rest = after;
        fed_len_bytes += piece_len;
        loop {
            let before_len = piece.len();
            match decoder.decode(&mut piece) {
                Ok(Decoded::Payload(bytes)) => {
                    assert!(!bytes.is_empty(), "an empty payload slice");
                    assert!(bytes.len() <= before_len - piece.len());
                    payload.extend_from_slice(bytes);
                    assert!(payload.len() <= fed_len_bytes);
                    assert!(payload.len() as u64 <= declared);
                }
                Ok(Decoded::NeedMoreInput) => {
                    assert!(piece.is_empty(), "asked for input with input left");
                    break;
                }
                Ok(Decoded::End) => {
                    assert!(piece.is_empty(), "ended with input left");
                    break;
                }
                Err(error) => {
                    assert_client_error(&error);
                    return Outcome {
                        payload,
                        result: Err(error),
                    };
                }
            }
            assert!(piece.len() <= before_len);
        }
    }
    let result = decoder.finish();
    match &result {
        Ok(summary) => {
            assert_eq!(summary.decoded_len_bytes, payload.len() as u64);
            assert_eq!(summary.decoded_len_bytes, declared);
        }
        Err(error) => assert_client_error(error),
    }
    Outcome { payload, result }
}

/// Decodes in the given splits and in one piece, and requires the same
/// outcome. `None` when the framing itself is refused up front.
fn decode_both_ways(
    framing: &Framing,
    body: &[u8],
    splits: &[u16],
    declared: u64,
) -> Option<Outcome> {
    let new_decoder = || ChunkedDecoder::new(framing.signatures(), framing.trailer(), declared);
    let decoder = match new_decoder() {
        Ok(decoder) => decoder,
        Err(error) => {
            assert_client_error(&error);
            return None;
        }
    };
    let split = decode(decoder, body, splits, declared);
    let whole = decode(new_decoder().ok()?, body, &[], declared);
    assert_eq!(split, whole, "the outcome depends on the split");
    Some(split)
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw {
            framing,
            declared_len_bytes,
            body,
            splits,
        } => {
            decode_both_ways(&framing, &body, &splits, declared_len_bytes);
        }
        Input::Encoded {
            framing,
            chunks,
            damage,
            splits,
        } => {
            let sent: Vec<u8> = chunks.concat();
            let trailing: Option<Digest> = framing
                .trailer()
                .filter(|algorithm| algorithm.s3_header_name().is_some())
                .map(|algorithm| digest(algorithm, &sent));
            let framing = Framing {
                signed: framing.signed,
                trailer: framing.trailer.filter(|_| trailing.is_some()),
            };
            let mut encoder = ChunkedEncoder::new(framing.signatures());
            let mut body = Vec::new();
            for chunk in &chunks {
                encoder.encode_chunk(chunk, &mut body);
            }
            encoder
                .finish(trailing.as_ref(), &mut body)
                .expect("the encoder frames every S3 trailer algorithm");
            let declared = sent.len() as u64;
            let intact = ChunkedBody {
                decoded_len_bytes: declared,
                trailing_checksum: trailing,
            };
            match damage {
                None => {
                    let outcome = decode_both_ways(&framing, &body, &splits, declared)
                        .expect("the encoder's framing is accepted");
                    assert_eq!(outcome.payload, sent);
                    assert_eq!(outcome.result, Ok(intact));
                }
                Some((position, flip)) => {
                    let position = usize::from(position) % body.len();
                    body[position] ^= flip;
                    let outcome = decode_both_ways(&framing, &body, &splits, declared)
                        .expect("the framing was accepted undamaged");
                    if framing.signed && outcome.result.is_ok() {
                        assert_eq!(outcome.payload, sent, "a damaged signed chunk was accepted");
                        assert_eq!(outcome.result, Ok(intact));
                    }
                }
            }
        }
    }
});
