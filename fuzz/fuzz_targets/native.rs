//! The native API's wire format (lockwell-proto's `native`): routing, the
//! `x-lockwell-checksum-*` headers, the JSON request bodies, bearer
//! tokens and their lifetimes (SPEC A2, C7, C8, I4, K1).
//!
//! Invariants: a route comes from its own method; accepted checksums are
//! at most one per algorithm, never MD5, each of its algorithm's length; an
//! accepted JSON body serializes back to itself; a token the fuzzer made up
//! never verifies, while a minted one verifies until it expires and names
//! its key; every refusal is a 4xx or 501 (B1).
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use lockwell_core::checksum::ChecksumAlgorithm;
use lockwell_fuzz::{FuzzHeader, assert_client_error, header_map, with_common_headers};
use lockwell_proto::native::{
    self, CopyObjectRequest, MAX_TOKEN_LEN_BYTES, MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS,
    MintTokenRequest, NativeRoute, TokenClaims, TokenError,
};

const SECRET: &str = "fuzz-native-secret";

const METHODS: [Method; 6] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::HEAD,
    Method::DELETE,
    Method::PATCH,
];

const NAMES: &[&str] = &[
    "x-lockwell-checksum-crc32",
    "x-lockwell-checksum-crc32c",
    "x-lockwell-checksum-crc64nvme",
    "x-lockwell-checksum-sha1",
    "x-lockwell-checksum-sha256",
    "x-lockwell-checksum-md5",
    "x-lockwell-checksum-",
    "idempotency-key",
];

/// A path under the native prefix most of the time.
#[derive(Debug, Arbitrary)]
enum FuzzPath {
    Tokens,
    Copy,
    Object { bucket: String, key: String },
    Raw(String),
}

impl FuzzPath {
    fn render(&self) -> String {
        match self {
            Self::Tokens => native::TOKENS_PATH.to_string(),
            Self::Copy => native::COPY_PATH.to_string(),
            Self::Object { bucket, key } => {
                format!("{}{bucket}/{key}", native::OBJECTS_PATH_PREFIX)
            }
            Self::Raw(raw) => raw.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    method: u8,
    path: FuzzPath,
    headers: Vec<FuzzHeader>,
    body: &'a [u8],
    made_up_token: &'a str,
    access_key_id: &'a str,
    expires_at_ms: u64,
    now_ms: u64,
    ttl_ms: Option<u64>,
}

fn check_route(method: &Method, path: &str) {
    let route = match native::route(method, path) {
        Ok(route) => route,
        Err(error) => return assert_client_error(&error),
    };
    assert!(native::is_native_path(path), "{path} routed natively");
    let expected = match route {
        NativeRoute::MintToken | NativeRoute::CopyObject => Method::POST,
        NativeRoute::PutObject(_) => Method::PUT,
        NativeRoute::GetObject(_) => Method::GET,
        NativeRoute::HeadObject(_) => Method::HEAD,
        NativeRoute::DeleteObject(_) => Method::DELETE,
    };
    assert_eq!(*method, expected, "{route:?}");
}

fn check_checksums(headers: &HeaderMap) {
    let digests = match native::checksum_headers(headers) {
        Ok(digests) => digests,
        Err(error) => return assert_client_error(&error),
    };
    let mut seen = Vec::new();
    for digest in digests.iter() {
        let algorithm = digest.algorithm();
        assert_ne!(algorithm, ChecksumAlgorithm::Md5);
        assert!(!seen.contains(&algorithm), "{algorithm} twice");
        seen.push(algorithm);
        assert_eq!(digest.as_bytes().len(), algorithm.digest_len_bytes());
    }
    if let Some(proof) = native::idempotency_proof(&digests) {
        assert!(digests.iter().any(|digest| *digest == proof));
    }
}

fn check_bodies(body: &[u8]) {
    match native::parse_json::<MintTokenRequest>(body) {
        Ok(request) => {
            let again = native::to_json(&request);
            assert_eq!(native::parse_json::<MintTokenRequest>(&again), Ok(request));
        }
        Err(error) => assert_client_error(&error),
    }
    match native::parse_json::<CopyObjectRequest>(body) {
        Ok(request) => {
            let again = native::to_json(&request);
            assert_eq!(
                native::parse_json::<CopyObjectRequest>(&again).as_ref(),
                Ok(&request)
            );
            for outcome in [request.source.path(), request.destination.path()] {
                if let Err(error) = outcome {
                    assert_client_error(&error);
                }
            }
            if let Err(error) = request.destination.require_match_etag() {
                assert_client_error(&error);
            }
        }
        Err(error) => assert_client_error(&error),
    }
}

fn check_tokens(input: &Input<'_>) {
    assert_eq!(
        native::verify_token(input.made_up_token, SECRET, input.now_ms),
        Err(TokenError::Invalid),
        "a made-up token verified"
    );
    let token = native::mint_token(input.access_key_id, SECRET, input.expires_at_ms);
    let verified = native::verify_token(&token, SECRET, input.now_ms);
    if input.access_key_id.is_empty() || token.len() > MAX_TOKEN_LEN_BYTES {
        assert_eq!(verified, Err(TokenError::Invalid));
        return;
    }
    assert_eq!(native::token_access_key_id(&token), Ok(input.access_key_id));
    let expected = if input.now_ms < input.expires_at_ms {
        Ok(TokenClaims {
            access_key_id: input.access_key_id.to_string(),
            expires_at_ms: input.expires_at_ms,
        })
    } else {
        Err(TokenError::Expired)
    };
    assert_eq!(verified, expected, "{token}");
    assert_eq!(
        native::verify_token(&token, "another-secret", input.now_ms),
        Err(TokenError::Invalid)
    );
    // Header values are read as ASCII; obs-text makes no bearer token.
    if token.is_ascii()
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value);
        if token.trim() == token && !token.is_empty() {
            assert_eq!(native::bearer_token(&headers), Some(token.as_str()));
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let method = &METHODS[usize::from(input.method) % METHODS.len()];
    check_route(method, &input.path.render());
    check_checksums(&header_map(&with_common_headers(NAMES), &input.headers));
    check_bodies(input.body);
    check_tokens(&input);
    match native::token_ttl_ms(input.ttl_ms) {
        Ok(ttl_ms) => assert!((MIN_TOKEN_TTL_MS..=MAX_TOKEN_TTL_MS).contains(&ttl_ms)),
        Err(error) => assert_client_error(&error),
    }
});
