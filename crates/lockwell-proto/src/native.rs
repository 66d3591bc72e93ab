//! Sans-I/O wire format of Lockwell's native API (`docs/native-api.md`).
//!
//! The native API sits beside the S3 API on the same port, under
//! [`NATIVE_PATH_PREFIX`]. It authenticates with a bearer token minted from
//! an access key and its secret (SPEC A2), takes conditional writes and
//! idempotency keys as headers, a body's checksums as
//! `x-lockwell-checksum-<algorithm>` headers (K1, I4), copies with a JSON
//! body (C7, C8), and answers errors as JSON `{code, message, condition}`
//! (C9).
//!
//! Everything here is a plain function of strings, bytes and times given
//! by the caller: routing ([`route`]), the checksum headers
//! ([`checksum_headers`]), the JSON bodies, and bearer tokens
//! ([`mint_token`], [`verify_token`]).
//!
//! A token is `<access key id>.<expires at ms>.<hex HMAC-SHA256>`, the MAC
//! keyed by the access key's own secret over a domain tag, the key id and
//! the expiry. The server keeps no token table: any server holding the
//! key's secret verifies it, a removed or rotated key revokes its tokens,
//! and the token reveals nothing a caller could not read off it anyway.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, Digests};
use lockwell_core::{ETag, ObjectPath};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::route::{parse_bucket_name, parse_object_key};
use crate::{ProtoError, S3ErrorCode};

/// Every native request's path starts with this; anything else is S3.
pub const NATIVE_PATH_PREFIX: &str = "/_native/v1/";
/// `POST`: mint a token (A2).
pub const TOKENS_PATH: &str = "/_native/v1/tokens";
/// `PUT`, `GET`, `HEAD`, `DELETE` `/_native/v1/objects/{bucket}/{key}`.
pub const OBJECTS_PATH_PREFIX: &str = "/_native/v1/objects/";
/// `POST`: copy an object (C7, C8).
pub const COPY_PATH: &str = "/_native/v1/copy";

/// A body checksum header is this prefix and the algorithm's lowercase
/// name (`x-lockwell-checksum-sha256`); the value is base64 of the
/// big-endian digest, as in S3 (K1).
pub const CHECKSUM_HEADER_PREFIX: &str = "x-lockwell-checksum-";
/// The idempotency key header, shared with the S3 API (I1).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// A token lives this long unless the mint request asks for less.
pub const DEFAULT_TOKEN_TTL_MS: u64 = 15 * 60 * 1000;
/// Longest token lifetime a mint request may ask for (12 hours).
pub const MAX_TOKEN_TTL_MS: u64 = 12 * 60 * 60 * 1000;
/// Shortest token lifetime a mint request may ask for.
pub const MIN_TOKEN_TTL_MS: u64 = 1000;
/// Largest JSON request body (token mint, copy): a few names and ETags.
pub const MAX_JSON_REQUEST_LEN_BYTES: usize = 16 * 1024;
/// Longest token accepted; longer is malformed without parsing it.
pub const MAX_TOKEN_LEN_BYTES: usize = 512;

/// Separates the MAC input's fields; no access key id contains it.
const TOKEN_DOMAIN_TAG: &str = "lockwell-native-token-v1";

/// A native request, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeRoute {
    MintToken,
    PutObject(ObjectPath),
    GetObject(ObjectPath),
    HeadObject(ObjectPath),
    DeleteObject(ObjectPath),
    CopyObject,
}

/// Whether a request path belongs to the native API.
#[must_use]
pub fn is_native_path(path: &str) -> bool {
    path.starts_with(NATIVE_PATH_PREFIX)
}

/// Routes a native request by method and (still percent-encoded) path.
pub fn route(method: &Method, path: &str) -> Result<NativeRoute, ProtoError> {
    if path == TOKENS_PATH {
        return only(method, &Method::POST, NativeRoute::MintToken);
    }
    if path == COPY_PATH {
        return only(method, &Method::POST, NativeRoute::CopyObject);
    }
    let Some(rest) = path.strip_prefix(OBJECTS_PATH_PREFIX) else {
        return Err(ProtoError::new(
            S3ErrorCode::InvalidURI,
            format!("{path} names no native API resource"),
        ));
    };
    let object_path = parse_object_path(rest)?;
    match *method {
        Method::PUT => Ok(NativeRoute::PutObject(object_path)),
        Method::GET => Ok(NativeRoute::GetObject(object_path)),
        Method::HEAD => Ok(NativeRoute::HeadObject(object_path)),
        Method::DELETE => Ok(NativeRoute::DeleteObject(object_path)),
        _ => Err(method_not_allowed(method)),
    }
}

fn only(method: &Method, allowed: &Method, route: NativeRoute) -> Result<NativeRoute, ProtoError> {
    if method == allowed {
        Ok(route)
    } else {
        Err(method_not_allowed(method))
    }
}

fn method_not_allowed(method: &Method) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on this native API resource"),
    )
}

/// `{bucket}/{key}`, each percent-decoded; the key may contain `/`.
fn parse_object_path(rest: &str) -> Result<ObjectPath, ProtoError> {
    let (bucket, key) = rest.split_once('/').ok_or_else(|| {
        ProtoError::new(
            S3ErrorCode::InvalidURI,
            "an object path is /_native/v1/objects/{bucket}/{key}",
        )
    })?;
    let decode = |text: &str| {
        percent_decode_str(text)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| ProtoError::new(S3ErrorCode::InvalidURI, "the path is not UTF-8"))
    };
    Ok(ObjectPath::new(
        parse_bucket_name(&decode(bucket)?)?,
        parse_object_key(&decode(key)?)?,
    ))
}

/// The body's checksums from `x-lockwell-checksum-<algorithm>` headers
/// (K1). An unknown algorithm or bad base64 is 400 (B1); MD5 is the ETag,
/// not a checksum header.
pub fn checksum_headers(headers: &HeaderMap) -> Result<Digests, ProtoError> {
    let mut digests = Digests::default();
    for (name, value) in headers {
        let Some(algorithm_name) = name.as_str().strip_prefix(CHECKSUM_HEADER_PREFIX) else {
            continue;
        };
        let algorithm: ChecksumAlgorithm = algorithm_name
            .parse()
            .ok()
            .filter(|algorithm| *algorithm != ChecksumAlgorithm::Md5)
            .ok_or_else(|| {
                ProtoError::new(
                    S3ErrorCode::InvalidRequest,
                    format!(
                        "{name}: unknown checksum algorithm (known: crc32, crc32c, crc64nvme, sha1, sha256)"
                    ),
                )
            })?;
        let text = value.to_str().map_err(|_| invalid_digest(name.as_str()))?;
        let digest =
            Digest::from_base64(algorithm, text).map_err(|_| invalid_digest(name.as_str()))?;
        if digests.insert(digest).is_some() {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidRequest,
                format!("{name} is given more than once"),
            ));
        }
    }
    Ok(digests)
}

fn invalid_digest(name: &str) -> ProtoError {
    ProtoError::new(
        S3ErrorCode::InvalidDigest,
        format!("{name} is not the base64 of a digest of its algorithm"),
    )
}

/// The digest that proves an idempotent put's payload (I4): SHA-256 when
/// given (what an S3 put signs, so both APIs fingerprint the same payload
/// alike, I8), else the first given in algorithm order.
#[must_use]
pub fn idempotency_proof(checksums: &Digests) -> Option<Digest> {
    checksums
        .get(ChecksumAlgorithm::Sha256)
        .or_else(|| checksums.iter().next())
        .copied()
}

/// `POST /_native/v1/tokens` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MintTokenRequest {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Lifetime asked for, within [`MIN_TOKEN_TTL_MS`]..=[`MAX_TOKEN_TTL_MS`];
    /// [`DEFAULT_TOKEN_TTL_MS`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// `POST /_native/v1/tokens` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MintTokenResponse {
    pub token: String,
    /// Milliseconds since the Unix epoch, server clock.
    pub expires_at_ms: u64,
}

/// Answer of a put or a copy (E2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteResponse {
    pub etag: String,
    pub last_modified_ms: u64,
}

/// `POST /_native/v1/copy` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyObjectRequest {
    pub source: CopySource,
    pub destination: CopyDestination,
}

/// The object copied and its conditions (C8): a failure is 412.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    /// An ETag, a comma-separated list, or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_modified_since_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_unmodified_since_ms: Option<u64>,
}

/// Where the copy goes, and its conditions (C7), at most one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyDestination {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_absent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_match_etag: Option<String>,
}

impl CopySource {
    pub fn path(&self) -> Result<ObjectPath, ProtoError> {
        object_path(&self.bucket, &self.key)
    }
}

impl CopyDestination {
    pub fn path(&self) -> Result<ObjectPath, ProtoError> {
        object_path(&self.bucket, &self.key)
    }

    /// The destination ETag `requireMatchEtag` names, quoted or not (E3).
    pub fn require_match_etag(&self) -> Result<Option<ETag>, ProtoError> {
        self.require_match_etag
            .as_deref()
            .map(|text| {
                text.parse::<ETag>().map_err(|error| {
                    ProtoError::invalid_argument(format!("requireMatchEtag: {error}"))
                })
            })
            .transpose()
    }
}

fn object_path(bucket: &str, key: &str) -> Result<ObjectPath, ProtoError> {
    Ok(ObjectPath::new(
        parse_bucket_name(bucket)?,
        parse_object_key(key)?,
    ))
}

/// Parses a JSON request body, bounded by [`MAX_JSON_REQUEST_LEN_BYTES`].
pub fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ProtoError> {
    if body.len() > MAX_JSON_REQUEST_LEN_BYTES {
        return Err(ProtoError::new(
            S3ErrorCode::InvalidRequest,
            format!("the JSON body is longer than {MAX_JSON_REQUEST_LEN_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        ProtoError::new(
            S3ErrorCode::InvalidRequest,
            format!("malformed JSON body: {error}"),
        )
    })
}

/// A response body as JSON bytes. Serializing these plain structs of
/// strings and integers cannot fail.
#[must_use]
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("native API bodies serialize")
}

/// Every native error body (C9). `condition` is set on a 412 and names
/// the native option that failed (`ifMatch`, `requireAbsent`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// Error codes of the native API that S3 does not have; the others are
/// S3's names ([`S3ErrorCode::as_str`]).
pub mod codes {
    /// 401: no `Authorization: Bearer` header.
    pub const MISSING_TOKEN: &str = "MissingToken";
    /// 401: a token this server did not mint, or for a key it no longer has.
    pub const INVALID_TOKEN: &str = "InvalidToken";
    /// 401: a token past its expiry.
    pub const EXPIRED_TOKEN: &str = "ExpiredToken";
    /// 401: the mint request's access key or secret is wrong.
    pub const INVALID_CREDENTIALS: &str = "InvalidCredentials";
}

/// Why a token was refused (401, A2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or was not minted by this server")]
    Invalid,
    #[error("the token expired")]
    Expired,
}

impl TokenError {
    /// The error code of the 401 body.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Invalid => codes::INVALID_TOKEN,
            Self::Expired => codes::EXPIRED_TOKEN,
        }
    }
}

/// A token's claims, once its MAC checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub access_key_id: String,
    pub expires_at_ms: u64,
}

fn token_mac(secret: &str, access_key_id: &str, expires_at_ms: u64) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(TOKEN_DOMAIN_TAG.as_bytes());
    mac.update(b"\0");
    mac.update(access_key_id.as_bytes());
    mac.update(b"\0");
    mac.update(&expires_at_ms.to_be_bytes());
    mac
}

/// Mints a token for `access_key_id`, whose secret is `secret`, valid
/// until `expires_at_ms`.
#[must_use]
pub fn mint_token(access_key_id: &str, secret: &str, expires_at_ms: u64) -> String {
    let tag = token_mac(secret, access_key_id, expires_at_ms)
        .finalize()
        .into_bytes();
    format!("{access_key_id}.{expires_at_ms}.{}", hex::encode(tag))
}

/// The access key a token names, without checking it: to look its secret
/// up before [`verify_token`].
pub fn token_access_key_id(token: &str) -> Result<&str, TokenError> {
    if token.len() > MAX_TOKEN_LEN_BYTES {
        return Err(TokenError::Invalid);
    }
    token
        .rsplitn(3, '.')
        .nth(2)
        .filter(|id| !id.is_empty())
        .ok_or(TokenError::Invalid)
}

/// Checks a token's MAC with the secret of the key it names, then its
/// expiry against `now_ms` (a token is valid while `now_ms <
/// expires_at_ms`).
pub fn verify_token(token: &str, secret: &str, now_ms: u64) -> Result<TokenClaims, TokenError> {
    let access_key_id = token_access_key_id(token)?;
    let mut fields = token[access_key_id.len() + 1..].split('.');
    let (Some(expiry), Some(tag), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err(TokenError::Invalid);
    };
    let expires_at_ms: u64 = expiry
        .parse()
        .ok()
        .filter(|_| expiry.bytes().all(|byte| byte.is_ascii_digit()))
        .ok_or(TokenError::Invalid)?;
    let tag = hex::decode(tag).map_err(|_| TokenError::Invalid)?;
    token_mac(secret, access_key_id, expires_at_ms)
        .verify_slice(&tag)
        .map_err(|_| TokenError::Invalid)?;
    if now_ms >= expires_at_ms {
        return Err(TokenError::Expired);
    }
    Ok(TokenClaims {
        access_key_id: access_key_id.to_string(),
        expires_at_ms,
    })
}

/// The lifetime a mint request gets: its ask, bounded, or the default.
pub fn token_ttl_ms(asked_ms: Option<u64>) -> Result<u64, ProtoError> {
    match asked_ms {
        None => Ok(DEFAULT_TOKEN_TTL_MS),
        Some(ttl_ms) if (MIN_TOKEN_TTL_MS..=MAX_TOKEN_TTL_MS).contains(&ttl_ms) => Ok(ttl_ms),
        Some(ttl_ms) => Err(ProtoError::invalid_argument(format!(
            "ttlMs {ttl_ms} is outside {MIN_TOKEN_TTL_MS}..={MAX_TOKEN_TTL_MS}"
        ))),
    }
}

/// The `Authorization: Bearer <token>` value, if the header is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Headers of a native put, in the order a client sends them: checksums
/// by algorithm name (sorted), so a request is built the same every time.
#[must_use]
pub fn checksum_header_pairs(checksums: &Digests) -> BTreeMap<String, String> {
    checksums
        .iter()
        .map(|digest| {
            (
                format!("{CHECKSUM_HEADER_PREFIX}{}", digest.algorithm().name()),
                digest.to_base64(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use lockwell_core::checksum::digest;

    use super::*;

    const NOW_MS: u64 = 1_700_000_000_000;

    #[test]
    fn routes_by_method_and_path() {
        let path = |bucket: &str, key: &str| {
            ObjectPath::new(
                parse_bucket_name(bucket).unwrap(),
                parse_object_key(key).unwrap(),
            )
        };
        let cases: Vec<(Method, &str, Result<NativeRoute, S3ErrorCode>)> = vec![
            (Method::POST, TOKENS_PATH, Ok(NativeRoute::MintToken)),
            (Method::GET, TOKENS_PATH, Err(S3ErrorCode::MethodNotAllowed)),
            (Method::POST, COPY_PATH, Ok(NativeRoute::CopyObject)),
            (
                Method::PUT,
                "/_native/v1/objects/bkt/a/b%20c",
                Ok(NativeRoute::PutObject(path("bkt", "a/b c"))),
            ),
            (
                Method::GET,
                "/_native/v1/objects/bkt/k",
                Ok(NativeRoute::GetObject(path("bkt", "k"))),
            ),
            (
                Method::HEAD,
                "/_native/v1/objects/bkt/k",
                Ok(NativeRoute::HeadObject(path("bkt", "k"))),
            ),
            (
                Method::DELETE,
                "/_native/v1/objects/bkt/k",
                Ok(NativeRoute::DeleteObject(path("bkt", "k"))),
            ),
            (
                Method::POST,
                "/_native/v1/objects/bkt/k",
                Err(S3ErrorCode::MethodNotAllowed),
            ),
            (
                Method::GET,
                "/_native/v1/objects/bkt",
                Err(S3ErrorCode::InvalidURI),
            ),
            (
                Method::GET,
                "/_native/v1/other",
                Err(S3ErrorCode::InvalidURI),
            ),
            (
                Method::GET,
                "/_native/v1/objects/Not_A_Bucket/k",
                Err(S3ErrorCode::InvalidBucketName),
            ),
            (
                Method::GET,
                "/_native/v1/objects/bkt/%FF",
                Err(S3ErrorCode::InvalidURI),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                route(&method, path).map_err(|error| error.code),
                expected,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn a2_tokens_verify_until_they_expire_and_only_with_their_secret() {
        let token = mint_token("AKALICE", "secret", NOW_MS + 1000);
        let claims = TokenClaims {
            access_key_id: "AKALICE".into(),
            expires_at_ms: NOW_MS + 1000,
        };
        let tampered_expiry =
            token.replace(&(NOW_MS + 1000).to_string(), &(NOW_MS + 9000).to_string());
        // (case, token, secret, now, verdict)
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            u64,
            Result<TokenClaims, TokenError>,
        );
        let cases: Vec<Case<'_>> = vec![
            ("valid", &token, "secret", NOW_MS, Ok(claims.clone())),
            ("last valid ms", &token, "secret", NOW_MS + 999, Ok(claims)),
            (
                "at expiry",
                &token,
                "secret",
                NOW_MS + 1000,
                Err(TokenError::Expired),
            ),
            (
                "wrong secret",
                &token,
                "other",
                NOW_MS,
                Err(TokenError::Invalid),
            ),
            (
                "tampered expiry",
                &tampered_expiry,
                "secret",
                NOW_MS,
                Err(TokenError::Invalid),
            ),
            (
                "garbage",
                "not-a-token",
                "secret",
                NOW_MS,
                Err(TokenError::Invalid),
            ),
            ("empty", "", "secret", NOW_MS, Err(TokenError::Invalid)),
            (
                "no key id",
                ".1.00",
                "secret",
                NOW_MS,
                Err(TokenError::Invalid),
            ),
        ];
        for (name, token, secret, now_ms, expected) in cases {
            assert_eq!(verify_token(token, secret, now_ms), expected, "{name}");
        }
    }

    #[test]
    fn a2_a_token_at_the_length_limit_is_parsed_and_longer_is_not() {
        let id_at_limit = "k".repeat(MAX_TOKEN_LEN_BYTES - ".1.".len() - 64);
        let token = mint_token(&id_at_limit, "s", 2);
        assert_eq!(token.len(), MAX_TOKEN_LEN_BYTES);
        assert_eq!(token_access_key_id(&token), Ok(id_at_limit.as_str()));
        let longer = mint_token(&format!("{id_at_limit}k"), "s", 2);
        assert_eq!(token_access_key_id(&longer), Err(TokenError::Invalid));
    }

    #[test]
    fn a2_token_lifetimes_are_bounded() {
        let cases = [
            (None, Ok(DEFAULT_TOKEN_TTL_MS)),
            (Some(MIN_TOKEN_TTL_MS), Ok(MIN_TOKEN_TTL_MS)),
            (Some(MAX_TOKEN_TTL_MS), Ok(MAX_TOKEN_TTL_MS)),
            (
                Some(MIN_TOKEN_TTL_MS - 1),
                Err(S3ErrorCode::InvalidArgument),
            ),
            (
                Some(MAX_TOKEN_TTL_MS + 1),
                Err(S3ErrorCode::InvalidArgument),
            ),
        ];
        for (asked, expected) in cases {
            assert_eq!(
                token_ttl_ms(asked).map_err(|e| e.code),
                expected,
                "{asked:?}"
            );
        }
    }

    #[test]
    fn k1_checksum_headers_parse_or_name_the_bad_one() {
        let sha = digest(ChecksumAlgorithm::Sha256, b"x");
        let crc = digest(ChecksumAlgorithm::Crc32c, b"x");
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            map
        };
        let both: Digests = [sha, crc].into_iter().collect();
        type Case<'a> = (Vec<(&'a str, String)>, Result<Digests, S3ErrorCode>);
        let cases: Vec<Case<'_>> = vec![
            (vec![], Ok(Digests::default())),
            (
                vec![
                    ("x-lockwell-checksum-sha256", sha.to_base64()),
                    ("x-lockwell-checksum-crc32c", crc.to_base64()),
                ],
                Ok(both),
            ),
            (
                vec![("x-lockwell-checksum-md5", sha.to_base64())],
                Err(S3ErrorCode::InvalidRequest),
            ),
            (
                vec![("x-lockwell-checksum-blake3", sha.to_base64())],
                Err(S3ErrorCode::InvalidRequest),
            ),
            (
                vec![("x-lockwell-checksum-sha256", crc.to_base64())],
                Err(S3ErrorCode::InvalidDigest),
            ),
            (
                vec![
                    ("x-lockwell-checksum-sha256", sha.to_base64()),
                    ("x-lockwell-checksum-sha256", sha.to_base64()),
                ],
                Err(S3ErrorCode::InvalidRequest),
            ),
        ];
        for (pairs, expected) in cases {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(
                checksum_headers(&headers(&borrowed)).map_err(|e| e.code),
                expected,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn i4_i8_the_idempotency_proof_prefers_sha256() {
        let sha = digest(ChecksumAlgorithm::Sha256, b"x");
        let crc = digest(ChecksumAlgorithm::Crc32, b"x");
        let cases = [
            (vec![], None),
            (vec![crc], Some(crc)),
            (vec![crc, sha], Some(sha)),
        ];
        for (given, expected) in cases {
            let digests: Digests = given.iter().copied().collect();
            assert_eq!(idempotency_proof(&digests), expected, "{given:?}");
        }
    }

    #[test]
    fn c7_c8_copy_bodies_round_trip_and_refuse_unknown_fields() {
        let body = br#"{"source":{"bucket":"live","key":"state.json","ifMatch":"\"abc\""},
            "destination":{"bucket":"snapshots","key":"latest.json","requireAbsent":true}}"#;
        let parsed: CopyObjectRequest = parse_json(body).unwrap();
        assert_eq!(parsed.source.if_match.as_deref(), Some("\"abc\""));
        assert!(parsed.destination.require_absent);
        let again: CopyObjectRequest =
            parse_json(serde_json::to_string(&parsed).unwrap().as_bytes()).unwrap();
        assert_eq!(again, parsed);
        let unknown = br#"{"source":{"bucket":"a","key":"b","ifMatchh":"x"},"destination":{"bucket":"c","key":"d"}}"#;
        assert_eq!(
            parse_json::<CopyObjectRequest>(unknown).map_err(|e| e.code),
            Err(S3ErrorCode::InvalidRequest)
        );
        let too_long = vec![b' '; MAX_JSON_REQUEST_LEN_BYTES + 1];
        assert_eq!(
            parse_json::<CopyObjectRequest>(&too_long).map_err(|e| e.code),
            Err(S3ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn c9_error_bodies_carry_the_condition_only_when_set() {
        let failed = ErrorBody {
            code: "PreconditionFailed".into(),
            message: "m".into(),
            condition: Some("ifMatch".into()),
        };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"code":"PreconditionFailed","message":"m","condition":"ifMatch"}"#
        );
        let plain = ErrorBody {
            condition: None,
            ..failed
        };
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"code":"PreconditionFailed","message":"m"}"#
        );
    }

    #[test]
    fn a2_bearer_tokens_are_read_from_authorization() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(value).unwrap(),
            );
            headers
        };
        assert_eq!(bearer_token(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(bearer_token(&with("AWS4-HMAC-SHA256 x")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
