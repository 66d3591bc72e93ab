//! `sigv4::sign` and `sigv4::presign` against `sigv4::verify`: the client's
//! signer and the server's verifier must agree on every request the signer
//! accepts, whatever its path, query, headers and payload hash (SPEC A1,
//! R5).
//!
//! Invariants: a signed request verifies, reporting the signer's key, the
//! payload hash and every header it signed, and the streaming context the
//! signer returned; verifying with another secret, another method, or with
//! one signed header's value changed fails with SignatureDoesNotMatch; a
//! presigned GET verifies as a presigned request.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use lockwell_fuzz::{FuzzHeader, assert_client_error, header_map, with_common_headers};
use lockwell_proto::sigv4::{
    AuthError, AuthMethod, ContentSha256, Credentials, SecretKey, SignedRequest, SigningParams,
    presign, sign, verify,
};

const ACCESS_KEY_ID: &str = "AKFUZZ";
const SECRET: &str = "fuzz-secret";
const REGION: &str = "us-east-1";

/// 2024-01-01T00:00:00Z; the input adds an offset.
const BASE_TIME_S: u64 = 1_704_067_200;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::HEAD,
    Method::DELETE,
];

const NAMES: &[&str] = &[
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-amz-checksum-crc32",
    "x-amz-meta-note",
    "user-agent",
    "expect",
    "connection",
    "x-amzn-trace-id",
];

#[derive(Debug, Arbitrary)]
enum Payload {
    Sha256([u8; 32]),
    Unsigned,
    StreamingSigned,
    StreamingSignedTrailer,
    StreamingUnsignedTrailer,
}

impl Payload {
    fn content_sha256(&self) -> ContentSha256 {
        match self {
            Self::Sha256(digest) => ContentSha256::Sha256(*digest),
            Self::Unsigned => ContentSha256::Unsigned,
            Self::StreamingSigned => ContentSha256::StreamingSigned,
            Self::StreamingSignedTrailer => ContentSha256::StreamingSignedTrailer,
            Self::StreamingUnsignedTrailer => ContentSha256::StreamingUnsignedTrailer,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    path: String,
    query: Option<String>,
    headers: Vec<FuzzHeader>,
    payload: Payload,
    time_offset_s: u32,
    /// Which signed header to alter (modulo their number).
    altered_header: u8,
    presign_expires_s: u32,
}

/// The headers proxies add or rewrite, which the signer leaves unsigned
/// (botocore's set), and `authorization` itself.
const PROXY_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "transfer-encoding",
    "user-agent",
    "x-amzn-trace-id",
];

fn credentials(secret: &str) -> Credentials {
    Credentials {
        access_key_id: ACCESS_KEY_ID.to_string(),
        secret_key: SecretKey::new(secret),
    }
}

fn secret_for(secret: &'static str) -> impl FnOnce(&str) -> Option<SecretKey> {
    move |id| (id == ACCESS_KEY_ID).then(|| SecretKey::new(secret))
}

fuzz_target!(|input: Input| {
    let method = &METHODS[usize::from(input.method) % METHODS.len()];
    let time = UNIX_EPOCH + Duration::from_secs(BASE_TIME_S + u64::from(input.time_offset_s));
    let own = credentials(SECRET);
    let params = SigningParams {
        credentials: &own,
        region: REGION,
        time,
    };
    let mut headers = header_map(&with_common_headers(NAMES), &input.headers);
    let payload = input.payload.content_sha256();
    let context = match sign(
        method,
        &input.path,
        input.query.as_deref(),
        &mut headers,
        &payload,
        &params,
    ) {
        Ok(context) => context,
        Err(error) => {
            assert_client_error(&error);
            return;
        }
    };
    let request = SignedRequest {
        method,
        path: &input.path,
        query: input.query.as_deref(),
        headers: &headers,
    };
    let verified = match verify(&request, REGION, secret_for(SECRET), time) {
        Ok(verified) => verified,
        // The query itself may carry presigning parameters: both auth
        // methods at once is refused, and rightly so.
        Err(AuthError::ConflictingAuth) if input.query.is_some() => return,
        Err(error) => panic!("a request signed by sign() failed verify(): {error:?}"),
    };
    assert_eq!(verified.access_key_id, ACCESS_KEY_ID);
    assert_eq!(verified.method, AuthMethod::Header);
    assert_eq!(verified.payload, payload);
    assert_eq!(verified.streaming, context);
    for name in headers.keys() {
        assert_eq!(
            verified.is_header_signed(name.as_str()),
            !PROXY_HEADERS.contains(&name.as_str()),
            "{name}"
        );
    }

    let wrong_secret = verify(&request, REGION, secret_for("another-secret"), time);
    assert_eq!(wrong_secret, Err(AuthError::SignatureMismatch));

    let other_method = &METHODS[(usize::from(input.method) + 1) % METHODS.len()];
    let moved = SignedRequest {
        method: other_method,
        ..request
    };
    assert_eq!(
        verify(&moved, REGION, secret_for(SECRET), time),
        Err(AuthError::SignatureMismatch)
    );

    // Any signed header but the date (whose change is a different refusal)
    // and the payload hash (whose change may be refused as malformed).
    let alterable: Vec<&String> = verified
        .signed_headers
        .iter()
        .filter(|name| !matches!(name.as_str(), "x-amz-date" | "x-amz-content-sha256"))
        .collect();
    if !alterable.is_empty() {
        let name = alterable[usize::from(input.altered_header) % alterable.len()].as_str();
        let mut altered = headers.clone();
        let mut value = altered[name].as_bytes().to_vec();
        value.push(b'x');
        altered.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a signed name is valid"),
            HeaderValue::from_bytes(&value).expect("appending a letter keeps a value valid"),
        );
        let tampered = SignedRequest {
            headers: &altered,
            ..request
        };
        assert_eq!(
            verify(&tampered, REGION, secret_for(SECRET), time),
            Err(AuthError::SignatureMismatch),
            "changing {name} went unnoticed"
        );
    }

    let Some(host) = headers.get("host").and_then(|host| host.to_str().ok()) else {
        return;
    };
    let expires_s = u64::from(input.presign_expires_s);
    let query = match presign(
        &Method::GET,
        &input.path,
        input.query.as_deref(),
        host,
        expires_s,
        &params,
    ) {
        Ok(query) => query,
        Err(error) => {
            assert_client_error(&error);
            return;
        }
    };
    let mut presigned_headers = http::HeaderMap::new();
    presigned_headers.insert("host", headers["host"].clone());
    let presigned = SignedRequest {
        method: &Method::GET,
        path: &input.path,
        query: Some(&query),
        headers: &presigned_headers,
    };
    match verify(&presigned, REGION, secret_for(SECRET), time) {
        Ok(verified) => assert_eq!(verified.method, AuthMethod::PresignedQuery),
        // The caller's own query may repeat an X-Amz-* parameter.
        Err(AuthError::MalformedQuery(_)) if input.query.is_some() => {}
        Err(error) => panic!("a presigned GET failed verify(): {error:?}"),
    }
});
