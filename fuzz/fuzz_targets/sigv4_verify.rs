//! `sigv4::verify` on arbitrary requests: the `Authorization` header parser,
//! the presigned-query parser, the date checks and canonicalisation (SPEC
//! A1), plus `ContentSha256::parse` and `parse_amz_date`, which verify
//! calls on header values.
//!
//! Invariants: a request the fuzzer made up never verifies unless it
//! carries the signature computed with the real secret (it cannot, so any
//! acceptance is a crash); every refusal maps to a 4xx; `parse_amz_date`
//! and `ContentSha256::parse` round-trip through their formatters.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use http::Method;
use libfuzzer_sys::fuzz_target;
use lockwell_fuzz::{FuzzHeader, assert_client_error, header_map, with_common_headers};
use lockwell_proto::ProtoError;
use lockwell_proto::sigv4::{ContentSha256, SecretKey, SignedRequest, verify};
use lockwell_proto::time::{format_amz_date, parse_amz_date};

const ACCESS_KEY_ID: &str = "AKFUZZ";
const REGION: &str = "us-east-1";

/// 2024-01-01T00:00:00Z, the server's clock reading unless the input moves it.
const NOW_S: u64 = 1_704_067_200;

const NAMES: &[&str] = &["date", "x-amz-security-token", "idempotency-key"];

/// A header value assembled from the pieces `verify` looks for, so that
/// the fuzzer reaches the checks behind the syntax.
#[derive(Debug, Arbitrary)]
enum AuthorizationValue {
    Raw(String),
    Fields {
        credential: String,
        signed_headers: String,
        signature: String,
        separator: u8,
    },
}

impl AuthorizationValue {
    fn render(&self) -> String {
        match self {
            Self::Raw(raw) => raw.clone(),
            Self::Fields {
                credential,
                signed_headers,
                signature,
                separator,
            } => {
                let separator = [",", ", ", ",\t", " "][usize::from(*separator) % 4];
                format!(
                    "AWS4-HMAC-SHA256 Credential={credential}{separator}\
                     SignedHeaders={signed_headers}{separator}Signature={signature}"
                )
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    path: String,
    query: Option<String>,
    authorization: Option<AuthorizationValue>,
    amz_date: Option<String>,
    content_sha256: Option<String>,
    headers: Vec<FuzzHeader>,
    /// Seconds added to `NOW_S` for the server's clock.
    clock_offset_s: u32,
}

fuzz_target!(|input: Input| {
    if let Some(text) = &input.amz_date
        && let Some(time) = parse_amz_date(text)
    {
        assert_eq!(&format_amz_date(time), text);
    }
    if let Some(text) = &input.content_sha256
        && let Ok(payload) = ContentSha256::parse(text)
    {
        assert_eq!(ContentSha256::parse(&payload.header_value()), Ok(payload));
        assert!(payload.header_value().eq_ignore_ascii_case(text));
    }
    let method = [
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::HEAD,
        Method::DELETE,
    ][usize::from(input.method) % 5]
        .clone();
    let mut headers = header_map(&with_common_headers(NAMES), &input.headers);
    let mut set = |name: &'static str, value: Option<String>| {
        if let Some(value) = value.and_then(|value| http::HeaderValue::from_str(&value).ok()) {
            headers.insert(name, value);
        }
    };
    set(
        "authorization",
        input.authorization.as_ref().map(AuthorizationValue::render),
    );
    set("x-amz-date", input.amz_date);
    set("x-amz-content-sha256", input.content_sha256);
    let request = SignedRequest {
        method: &method,
        path: &input.path,
        query: input.query.as_deref(),
        headers: &headers,
    };
    let now = UNIX_EPOCH + Duration::from_secs(NOW_S + u64::from(input.clock_offset_s));
    let secret_for = |id: &str| (id == ACCESS_KEY_ID).then(|| SecretKey::new("fuzz-secret"));
    match verify(&request, REGION, secret_for, now) {
        Ok(verified) => panic!("a made-up request verified: {verified:?}"),
        Err(error) => assert_client_error(&ProtoError::from(error)),
    }
});
