//! SPEC A1: who sent a request. SigV4 header auth or a presigned query,
//! verified by lockwell-proto against the configured access keys, at the
//! server clock's time (so a skew past 15 minutes is 403
//! RequestTimeTooSkewed, also under the simulator's clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::request::Parts;
use lockwell_core::idempotency::Principal;
use lockwell_proto::ProtoError;
use lockwell_proto::sigv4::{self, SignedRequest, Verified};

use super::config::HttpConfig;

/// A request whose signature checked out, and who it acts for.
#[derive(Debug)]
pub(crate) struct Authenticated {
    pub(crate) principal: Principal,
    pub(crate) verified: Verified,
}

/// Verifies the request's signature at `now_ms` (milliseconds since the
/// Unix epoch, from [`crate::clock`]).
pub(crate) fn authenticate(
    parts: &Parts,
    config: &HttpConfig,
    now_ms: u64,
) -> Result<Authenticated, ProtoError> {
    let request = SignedRequest {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    let now = system_time(now_ms);
    let verified = sigv4::verify(
        &request,
        &config.region,
        |access_key_id| {
            config
                .access_keys
                .get(access_key_id)
                .map(|key| key.secret_key.clone())
        },
        now,
    )?;
    let principal = config
        .access_keys
        .get(&verified.access_key_id)
        .map(|key| key.principal.clone())
        .ok_or_else(|| ProtoError::from(sigv4::AuthError::UnknownAccessKey))?;
    Ok(Authenticated {
        principal,
        verified,
    })
}

/// The server clock as a `SystemTime`, for signatures and tests.
pub(crate) fn system_time(now_ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(now_ms)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, Method, Request};
    use lockwell_proto::S3ErrorCode;
    use lockwell_proto::sigv4::{
        ContentSha256, Credentials, EMPTY_PAYLOAD_SHA256, SecretKey, SigningParams,
    };

    use super::*;

    const NOW_MS: u64 = 1_700_000_000_000;
    const SKEW_LIMIT_MS: u64 = sigv4::MAX_CLOCK_SKEW_S * 1000;

    fn config() -> HttpConfig {
        HttpConfig::single_key("AKLOCKWELL", "secret", "us-east-1")
    }

    /// A GET / signed with `secret` at `signed_at_ms`.
    fn signed_parts(secret: &str, signed_at_ms: u64) -> Parts {
        let credentials = Credentials {
            access_key_id: "AKLOCKWELL".into(),
            secret_key: SecretKey::new(secret),
        };
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9000"));
        sigv4::sign(
            &Method::GET,
            "/",
            None,
            &mut headers,
            &ContentSha256::parse(EMPTY_PAYLOAD_SHA256).unwrap(),
            &SigningParams {
                credentials: &credentials,
                region: "us-east-1",
                time: system_time(signed_at_ms),
            },
        )
        .unwrap();
        let mut request = Request::builder()
            .method(Method::GET)
            .uri("/")
            .body(())
            .unwrap();
        *request.headers_mut() = headers;
        request.into_parts().0
    }

    #[test]
    fn a1_signature_and_clock_skew_decide_the_answer() {
        let cases: &[(&str, &str, u64, Result<&str, S3ErrorCode>)] = &[
            (
                "right secret, same time",
                "secret",
                NOW_MS,
                Ok("AKLOCKWELL"),
            ),
            (
                "right secret, skew at the limit",
                "secret",
                NOW_MS - SKEW_LIMIT_MS,
                Ok("AKLOCKWELL"),
            ),
            (
                "wrong secret",
                "other",
                NOW_MS,
                Err(S3ErrorCode::SignatureDoesNotMatch),
            ),
            (
                "signed past the skew limit",
                "secret",
                NOW_MS - SKEW_LIMIT_MS - 1000,
                Err(S3ErrorCode::RequestTimeTooSkewed),
            ),
            (
                "signed in the future past the limit",
                "secret",
                NOW_MS + SKEW_LIMIT_MS + 1000,
                Err(S3ErrorCode::RequestTimeTooSkewed),
            ),
        ];
        for (name, secret, signed_at_ms, expected) in cases {
            let outcome = authenticate(&signed_parts(secret, *signed_at_ms), &config(), NOW_MS)
                .map(|authenticated| authenticated.principal.as_str().to_string())
                .map_err(|error| error.code);
            assert_eq!(
                outcome.as_deref().map_err(|code| *code),
                *expected,
                "{name}"
            );
        }
    }
}
