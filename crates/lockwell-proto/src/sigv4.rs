//! AWS Signature Version 4 for S3, shared by the server's verifier and the
//! client's signer (SPEC A1, I5, R5).
//!
//! Both sides build the same canonical request from the same inputs, so a
//! bug in canonicalisation shows up as a failing round trip here, not as a
//! 403 between our own client and server. The AWS-published examples in the
//! tests pin the canonicalisation to what real SDKs produce.
//!
//! S3 specifics that differ from the generic SigV4 rules:
//! - the canonical URI is the path URI-encoded exactly once, `/` kept, with
//!   no dot-segment normalisation (keys may contain `./`);
//! - `x-amz-content-sha256` is mandatory with header auth and its value, not
//!   a hash of the body, is the last line of the canonical request.
//!
//! Time is always an argument: [`verify`] never reads a clock.

use std::fmt;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use http::header::{AUTHORIZATION, DATE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest as _, Sha256};

use crate::error::{ProtoError, S3ErrorCode};
use crate::time::{format_amz_date, from_epoch_ms, parse_amz_date, parse_http_date_ms};

type HmacSha256 = Hmac<Sha256>;

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// SPEC A1: a header-signed request whose time differs from the server's by
/// more than this is refused with RequestTimeTooSkewed (AWS uses 15 min).
pub const MAX_CLOCK_SKEW_S: u64 = 15 * 60;

/// Longest validity a presigned URL may ask for (`X-Amz-Expires`), one week
/// as AWS allows.
pub const MAX_PRESIGNED_EXPIRES_S: u64 = 7 * 24 * 3600;

/// Most headers a request may list in `SignedHeaders`; bounds the work of
/// canonicalisation on hostile input.
pub const MAX_SIGNED_HEADERS: usize = 64;

/// Longest access key id accepted (AWS's are 16-128 characters).
pub const MAX_ACCESS_KEY_ID_BYTES: usize = 128;

/// The SHA-256 of an empty payload, what GET/HEAD/DELETE requests sign.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SERVICE: &str = "s3";
const TERMINATOR: &str = "aws4_request";
const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Characters SigV4 leaves unencoded: RFC 3986 unreserved.
pub(crate) const URI_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, but `/` kept: S3 object keys in the canonical URI.
pub(crate) const URI_PATH: &AsciiSet = &URI_UNRESERVED.remove(b'/');

/// Headers the signer never signs: they are added or rewritten by proxies
/// and HTTP stacks after signing (the set botocore also leaves out).
const UNSIGNABLE_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "transfer-encoding",
    "user-agent",
    "x-amzn-trace-id",
];

/// A secret access key. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// An access key id and its secret, what a client signs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_key: SecretKey,
}

/// What the request says its payload hash is (`x-amz-content-sha256`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentSha256 {
    /// The body's SHA-256; the server must check the body against it
    /// (XAmzContentSHA256Mismatch) before committing (SPEC I5).
    Sha256([u8; 32]),
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: aws-chunked, every chunk signed.
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a
    /// signed trailer.
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned chunks, a
    /// trailing checksum (what botocore >= 1.36 sends by default; SPEC K3).
    StreamingUnsignedTrailer,
}

impl ContentSha256 {
    /// Parses the header value. ECDSA (SigV4a) streaming is NotImplemented.
    pub fn parse(value: &str) -> Result<Self, ProtoError> {
        Ok(match value {
            "UNSIGNED-PAYLOAD" => Self::Unsigned,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => Self::StreamingSigned,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => Self::StreamingSignedTrailer,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => Self::StreamingUnsignedTrailer,
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
            | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER" => {
                return Err(ProtoError::new(
                    S3ErrorCode::NotImplemented,
                    "SigV4a (ECDSA) streaming signatures are not implemented",
                ));
            }
            other => {
                let mut digest = [0u8; 32];
                if other.len() != 64 || hex::decode_to_slice(other, &mut digest).is_err() {
                    return Err(ProtoError::invalid_argument(
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, \
                         or a hex SHA-256",
                    ));
                }
                Self::Sha256(digest)
            }
        })
    }

    /// The header value, as signed.
    pub fn header_value(&self) -> String {
        match self {
            Self::Sha256(digest) => hex::encode(digest),
            Self::Unsigned => "UNSIGNED-PAYLOAD".to_string(),
            Self::StreamingSigned => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_string(),
            Self::StreamingSignedTrailer => {
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER".to_string()
            }
            Self::StreamingUnsignedTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_string(),
        }
    }

    /// Whether the body is aws-chunked framed.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            Self::StreamingSigned | Self::StreamingSignedTrailer | Self::StreamingUnsignedTrailer
        )
    }
}

/// The HMAC key of one (secret, day, region, service), derived by SigV4's
/// HMAC chain. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    pub fn derive(secret: &SecretKey, date_yyyymmdd: &str, region: &str, service: &str) -> Self {
        let date_key = hmac(format!("AWS4{}", secret.expose()).as_bytes(), date_yyyymmdd);
        let region_key = hmac(&date_key, region);
        let service_key = hmac(&region_key, service);
        Self(hmac(&service_key, TERMINATOR))
    }

    fn sign(&self, string_to_sign: &[u8]) -> [u8; 32] {
        hmac(&self.0, string_to_sign)
    }

    /// Constant-time check of `claimed` against the signature of `string_to_sign`.
    fn verify(&self, string_to_sign: &[u8], claimed: &[u8; 32]) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(string_to_sign);
        mac.verify_slice(claimed).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

fn hmac(key: &[u8], message: impl AsRef<[u8]>) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message.as_ref());
    mac.finalize().into_bytes().into()
}

/// What the chunk and trailer signatures of an aws-chunked body chain from:
/// the request's signing key, time and scope, and its seed signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingContext {
    signing_key: SigningKey,
    amz_date: String,
    scope: String,
    seed_signature: [u8; 32],
}

impl StreamingContext {
    pub fn new(
        signing_key: SigningKey,
        amz_date: String,
        scope: String,
        seed_signature: [u8; 32],
    ) -> Self {
        Self {
            signing_key,
            amz_date,
            scope,
            seed_signature,
        }
    }

    /// The request's own signature, from which the chunk chain starts.
    pub fn seed_signature(&self) -> [u8; 32] {
        self.seed_signature
    }

    fn chunk_string_to_sign(&self, previous: &[u8; 32], chunk_sha256: &[u8; 32]) -> String {
        format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_PAYLOAD_SHA256}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(previous),
            hex::encode(chunk_sha256)
        )
    }

    fn trailer_string_to_sign(&self, previous: &[u8; 32], canonical_trailers: &[u8]) -> String {
        format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(previous),
            hex::encode(Sha256::digest(canonical_trailers))
        )
    }

    /// The signature of a chunk whose data hashes to `chunk_sha256`.
    pub fn chunk_signature(&self, previous: &[u8; 32], chunk_sha256: &[u8; 32]) -> [u8; 32] {
        self.signing_key
            .sign(self.chunk_string_to_sign(previous, chunk_sha256).as_bytes())
    }

    /// The signature of the trailer section; `canonical_trailers` is each
    /// trailer as `name:value\n`, in the order sent.
    pub fn trailer_signature(&self, previous: &[u8; 32], canonical_trailers: &[u8]) -> [u8; 32] {
        self.signing_key.sign(
            self.trailer_string_to_sign(previous, canonical_trailers)
                .as_bytes(),
        )
    }

    pub(crate) fn verify_chunk(
        &self,
        previous: &[u8; 32],
        chunk_sha256: &[u8; 32],
        claimed: &[u8; 32],
    ) -> bool {
        self.signing_key.verify(
            self.chunk_string_to_sign(previous, chunk_sha256).as_bytes(),
            claimed,
        )
    }

    pub(crate) fn verify_trailer(
        &self,
        previous: &[u8; 32],
        canonical_trailers: &[u8],
        claimed: &[u8; 32],
    ) -> bool {
        self.signing_key.verify(
            self.trailer_string_to_sign(previous, canonical_trailers)
                .as_bytes(),
            claimed,
        )
    }
}

/// The parts of an HTTP request a signature covers, raw as received: the
/// path and query still percent-encoded.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

/// How the request was authenticated.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Header,
    PresignedQuery,
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub method: AuthMethod,
    /// Lowercase header names covered by the signature, sorted.
    pub signed_headers: Vec<String>,
    pub payload: ContentSha256,
    /// Context to verify an aws-chunked body's chunk signatures.
    pub streaming: StreamingContext,
}

impl Verified {
    /// SPEC I5: the idempotency key only proves anything if it was signed.
    pub fn is_header_signed(&self, name: &str) -> bool {
        self.signed_headers
            .binary_search_by(|signed| signed.as_str().cmp(name))
            .is_ok()
    }
}

/// Why a request is not authenticated. Each maps to the AWS code S3 uses.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request carries no signature")]
    Anonymous,
    #[error("only AWS4-HMAC-SHA256 is supported")]
    UnsupportedAlgorithm,
    #[error("the request is signed both by header and by query")]
    ConflictingAuth,
    #[error("authorization header malformed: {0}")]
    MalformedHeader(String),
    #[error("presigned query parameters malformed: {0}")]
    MalformedQuery(String),
    #[error("the region '{got}' is wrong; expecting '{expected}'")]
    WrongRegion { got: String, expected: String },
    #[error("no such access key id")]
    UnknownAccessKey,
    #[error("signature does not match")]
    SignatureMismatch,
    #[error("request time differs from server time by more than {MAX_CLOCK_SKEW_S} s")]
    TimeTooSkewed,
    #[error("presigned URL has expired")]
    Expired,
    #[error("presigned URL is not valid yet")]
    NotYetValid,
    #[error("no valid x-amz-date or Date header")]
    MissingDate,
    #[error("missing x-amz-content-sha256")]
    MissingContentSha256,
    #[error("bad x-amz-content-sha256: {0}")]
    BadContentSha256(ProtoError),
}

impl From<AuthError> for ProtoError {
    fn from(error: AuthError) -> Self {
        use S3ErrorCode as C;
        let (code, message) = match &error {
            AuthError::Anonymous => (C::AccessDenied, "Anonymous access is not allowed".into()),
            AuthError::UnsupportedAlgorithm => (
                C::InvalidRequest,
                "The authorization mechanism you have provided is not supported. \
                 Please use AWS4-HMAC-SHA256."
                    .into(),
            ),
            AuthError::ConflictingAuth => (
                C::InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or \
                 the Authorization header should be specified"
                    .into(),
            ),
            AuthError::MalformedHeader(detail) => (
                C::AuthorizationHeaderMalformed,
                format!("The authorization header is malformed; {detail}"),
            ),
            AuthError::MalformedQuery(detail) => (
                C::AuthorizationQueryParametersError,
                format!("Query-string authentication is malformed; {detail}"),
            ),
            AuthError::WrongRegion { got, expected } => (
                C::AuthorizationHeaderMalformed,
                format!(
                    "The authorization header is malformed; the region '{got}' is wrong; \
                     expecting '{expected}'"
                ),
            ),
            AuthError::UnknownAccessKey => (
                C::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.".into(),
            ),
            AuthError::SignatureMismatch => (
                C::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you \
                 provided. Check your key and signing method."
                    .into(),
            ),
            AuthError::TimeTooSkewed => (
                C::RequestTimeTooSkewed,
                "The difference between the request time and the current time is too large.".into(),
            ),
            AuthError::Expired => (C::AccessDenied, "Request has expired".into()),
            AuthError::NotYetValid => (C::AccessDenied, "Request is not valid yet".into()),
            AuthError::MissingDate => (
                C::AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header".into(),
            ),
            AuthError::MissingContentSha256 => (
                C::InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256".into(),
            ),
            AuthError::BadContentSha256(inner) => return inner.clone(),
        };
        ProtoError::new(code, message)
    }
}

/// The parsed `Credential=AK/date/region/s3/aws4_request` value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Credential {
    access_key_id: String,
    date: String,
    region: String,
}

impl Credential {
    fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split('/');
        let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminator)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err("Credential must have five '/'-separated parts".into());
        };
        if parts.next().is_some() {
            return Err("Credential must have five '/'-separated parts".into());
        }
        if access_key_id.is_empty() || access_key_id.len() > MAX_ACCESS_KEY_ID_BYTES {
            return Err("the access key id is empty or too long".into());
        }
        if date.len() != 8 || !date.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!("the credential date '{date}' is not YYYYMMDD"));
        }
        if region.is_empty() {
            return Err("the credential region is empty".into());
        }
        if service != SERVICE {
            return Err(format!("incorrect service '{service}'; expecting 's3'"));
        }
        if terminator != TERMINATOR {
            return Err(format!(
                "incorrect terminal '{terminator}'; expecting 'aws4_request'"
            ));
        }
        Ok(Self {
            access_key_id: access_key_id.to_string(),
            date: date.to_string(),
            region: region.to_string(),
        })
    }

    fn scope(&self) -> String {
        format!("{}/{}/{SERVICE}/{TERMINATOR}", self.date, self.region)
    }
}

/// The three fields of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthorizationHeader {
    credential: Credential,
    signed_headers: Vec<String>,
    signature: [u8; 32],
}

impl AuthorizationHeader {
    fn parse(value: &str) -> Result<Self, AuthError> {
        let malformed = |message: String| AuthError::MalformedHeader(message);
        let Some(fields) = value.strip_prefix(ALGORITHM) else {
            return Err(AuthError::UnsupportedAlgorithm);
        };
        if !fields.starts_with([' ', '\t']) {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for field in fields.split(',').map(str::trim) {
            let Some((name, value)) = field.split_once('=') else {
                return Err(malformed(format!("'{field}' is not name=value")));
            };
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                other => return Err(malformed(format!("unknown field '{other}'"))),
            };
            if slot.replace(value).is_some() {
                return Err(malformed(format!("'{name}' appears twice")));
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err(malformed(
                "Credential, SignedHeaders and Signature are all required".into(),
            ));
        };
        Ok(Self {
            credential: Credential::parse(credential).map_err(malformed)?,
            signed_headers: parse_signed_headers(signed_headers).map_err(malformed)?,
            signature: parse_signature(signature).map_err(malformed)?,
        })
    }
}

fn parse_signed_headers(text: &str) -> Result<Vec<String>, String> {
    let names: Vec<&str> = text.split(';').take(MAX_SIGNED_HEADERS + 1).collect();
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(format!("more than {MAX_SIGNED_HEADERS} signed headers"));
    }
    // Canonical order is strictly ascending lowercase; anything else would
    // give two spellings of one signature.
    for pair in names.windows(2) {
        if let [before, after] = pair
            && before >= after
        {
            return Err("SignedHeaders must be sorted and unique".into());
        }
    }
    for name in &names {
        if name.is_empty()
            || name.bytes().any(|byte| byte.is_ascii_uppercase())
            || HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return Err(format!("'{name}' is not a lowercase header name"));
        }
    }
    if !names.contains(&"host") {
        return Err("'host' must be a signed header".into());
    }
    Ok(names.into_iter().map(str::to_string).collect())
}

fn parse_signature(text: &str) -> Result<[u8; 32], String> {
    let mut signature = [0u8; 32];
    if text.len() != 64 || hex::decode_to_slice(text, &mut signature).is_err() {
        return Err("Signature must be 64 hex digits".into());
    }
    Ok(signature)
}

/// Percent-decodes then re-encodes with SigV4's set, so that a path sent with
/// any valid encoding canonicalises to the one an SDK signed (never encoding
/// twice).
fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_string();
    }
    let decoded: Vec<u8> = percent_decode_str(raw_path).collect();
    percent_encoding::percent_encode(&decoded, URI_PATH).to_string()
}

/// Decoded `(name, value)` pairs of a raw query string, in order. `+` is a
/// literal plus: SDKs encode spaces as `%20`.
pub(crate) fn parse_query(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(name), decode_component(value))
        })
        .collect()
}

fn decode_component(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn canonical_query(pairs: &[(String, String)], skip: Option<&str>) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| Some(name.as_str()) != skip)
        .map(|(name, value)| {
            (
                utf8_percent_encode(name, URI_UNRESERVED).to_string(),
                utf8_percent_encode(value, URI_UNRESERVED).to_string(),
            )
        })
        .collect();
    encoded.sort();
    let mut query = String::new();
    for (index, (name, value)) in encoded.iter().enumerate() {
        if index > 0 {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(value);
    }
    query
}

/// Trims a header value and collapses runs of spaces (SigV4's "Trimall").
fn push_trimmed_value(out: &mut Vec<u8>, value: &[u8]) {
    let trimmed = value.trim_ascii();
    let mut previous_was_space = false;
    for &byte in trimmed {
        let is_space = byte == b' ' || byte == b'\t';
        if is_space && previous_was_space {
            continue;
        }
        out.push(if is_space { b' ' } else { byte });
        previous_was_space = is_space;
    }
}

/// The canonical request, as bytes: header values may carry non-UTF-8 bytes
/// and must be signed exactly as sent.
fn canonical_request(
    method: &Method,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &HeaderMap,
    signed_headers: &[String],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (index, value) in headers.get_all(name.as_str()).iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            push_trimmed_value(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request))
    )
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn abs_diff(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b)
        .unwrap_or_else(|earlier| earlier.duration())
}

/// Verifies a request signed by header or by presigned query.
///
/// `secret_for` maps an access key id to its secret (`None`: unknown key);
/// `region` is the server's; `now` is the server's clock reading.
pub fn verify<F>(
    request: &SignedRequest<'_>,
    region: &str,
    secret_for: F,
    now: SystemTime,
) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<SecretKey>,
{
    let query = request.query.map(parse_query).unwrap_or_default();
    let presigned = query.iter().any(|(name, _)| name == "X-Amz-Algorithm");
    match (request.headers.get(AUTHORIZATION), presigned) {
        (Some(_), true) => Err(AuthError::ConflictingAuth),
        (Some(value), false) => {
            let value = value
                .to_str()
                .map_err(|_| AuthError::MalformedHeader("it is not ASCII".into()))?;
            verify_header(request, &query, value, region, secret_for, now)
        }
        (None, true) => verify_presigned(request, &query, region, secret_for, now),
        (None, false) => Err(AuthError::Anonymous),
    }
}

fn verify_header<F>(
    request: &SignedRequest<'_>,
    query: &[(String, String)],
    authorization: &str,
    region: &str,
    secret_for: F,
    now: SystemTime,
) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<SecretKey>,
{
    let header = AuthorizationHeader::parse(authorization)?;
    check_region(&header.credential, region)?;
    let request_time = match header_str(request.headers, X_AMZ_DATE) {
        Some(text) => parse_amz_date(text).ok_or(AuthError::MissingDate)?,
        None => header_str(request.headers, DATE.as_str())
            .and_then(parse_http_date_ms)
            .map(from_epoch_ms)
            .ok_or(AuthError::MissingDate)?,
    };
    if abs_diff(now, request_time) > Duration::from_secs(MAX_CLOCK_SKEW_S) {
        return Err(AuthError::TimeTooSkewed);
    }
    let amz_date = format_amz_date(request_time);
    if !amz_date.starts_with(&header.credential.date) {
        return Err(AuthError::MalformedHeader(format!(
            "invalid credential date '{}': it is not the date of the request",
            header.credential.date
        )));
    }
    let payload_hash =
        header_str(request.headers, X_AMZ_CONTENT_SHA256).ok_or(AuthError::MissingContentSha256)?;
    let payload = ContentSha256::parse(payload_hash).map_err(AuthError::BadContentSha256)?;
    let secret = secret_for(&header.credential.access_key_id).ok_or(AuthError::UnknownAccessKey)?;
    check_signature(
        request,
        &canonical_query(query, None),
        &header.credential,
        &header.signed_headers,
        payload_hash,
        &amz_date,
        &secret,
        &header.signature,
    )?;
    Ok(Verified {
        access_key_id: header.credential.access_key_id.clone(),
        method: AuthMethod::Header,
        streaming: StreamingContext::new(
            SigningKey::derive(
                &secret,
                &header.credential.date,
                &header.credential.region,
                SERVICE,
            ),
            amz_date,
            header.credential.scope(),
            header.signature,
        ),
        signed_headers: header.signed_headers,
        payload,
    })
}

fn verify_presigned<F>(
    request: &SignedRequest<'_>,
    query: &[(String, String)],
    region: &str,
    secret_for: F,
    now: SystemTime,
) -> Result<Verified, AuthError>
where
    F: FnOnce(&str) -> Option<SecretKey>,
{
    let malformed = |message: String| AuthError::MalformedQuery(message);
    let single = |name: &str| -> Result<&str, AuthError> {
        let mut values = query
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(value),
            (None, _) => Err(malformed(format!("{name} is missing"))),
            (Some(_), Some(_)) => Err(malformed(format!("{name} appears twice"))),
        }
    };
    if single("X-Amz-Algorithm")? != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let credential = Credential::parse(single("X-Amz-Credential")?).map_err(malformed)?;
    check_region(&credential, region)?;
    let amz_date = single("X-Amz-Date")?;
    let request_time = parse_amz_date(amz_date)
        .ok_or_else(|| malformed("X-Amz-Date is not YYYYMMDDTHHMMSSZ".into()))?;
    if !amz_date.starts_with(&credential.date) {
        return Err(malformed(format!(
            "invalid credential date '{}': it is not the date of X-Amz-Date",
            credential.date
        )));
    }
    let expires_s: u64 = single("X-Amz-Expires")?
        .parse()
        .ok()
        .filter(|seconds| *seconds <= MAX_PRESIGNED_EXPIRES_S)
        .ok_or_else(|| {
            malformed(format!(
                "X-Amz-Expires must be a number of seconds from 0 to {MAX_PRESIGNED_EXPIRES_S}"
            ))
        })?;
    if request_time > now + Duration::from_secs(MAX_CLOCK_SKEW_S) {
        return Err(AuthError::NotYetValid);
    }
    if now > request_time + Duration::from_secs(expires_s) {
        return Err(AuthError::Expired);
    }
    let signed_headers = parse_signed_headers(single("X-Amz-SignedHeaders")?).map_err(malformed)?;
    let signature = parse_signature(single("X-Amz-Signature")?).map_err(malformed)?;
    // Presigned URLs sign no body unless the request states a hash.
    let payload_hash =
        header_str(request.headers, X_AMZ_CONTENT_SHA256).unwrap_or("UNSIGNED-PAYLOAD");
    let payload = ContentSha256::parse(payload_hash).map_err(AuthError::BadContentSha256)?;
    let secret = secret_for(&credential.access_key_id).ok_or(AuthError::UnknownAccessKey)?;
    check_signature(
        request,
        &canonical_query(query, Some("X-Amz-Signature")),
        &credential,
        &signed_headers,
        payload_hash,
        amz_date,
        &secret,
        &signature,
    )?;
    Ok(Verified {
        access_key_id: credential.access_key_id.clone(),
        method: AuthMethod::PresignedQuery,
        streaming: StreamingContext::new(
            SigningKey::derive(&secret, &credential.date, &credential.region, SERVICE),
            amz_date.to_string(),
            credential.scope(),
            signature,
        ),
        signed_headers,
        payload,
    })
}

fn check_region(credential: &Credential, region: &str) -> Result<(), AuthError> {
    if credential.region == region {
        Ok(())
    } else {
        Err(AuthError::WrongRegion {
            got: credential.region.clone(),
            expected: region.to_string(),
        })
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call per auth method, all inputs distinct"
)]
fn check_signature(
    request: &SignedRequest<'_>,
    canonical_query: &str,
    credential: &Credential,
    signed_headers: &[String],
    payload_hash: &str,
    amz_date: &str,
    secret: &SecretKey,
    claimed: &[u8; 32],
) -> Result<(), AuthError> {
    let canonical = canonical_request(
        request.method,
        &canonical_uri(request.path),
        canonical_query,
        request.headers,
        signed_headers,
        payload_hash,
    );
    let to_sign = string_to_sign(amz_date, &credential.scope(), &canonical);
    let key = SigningKey::derive(secret, &credential.date, &credential.region, SERVICE);
    if key.verify(to_sign.as_bytes(), claimed) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

/// Who signs, where, and when.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    pub time: SystemTime,
}

impl SigningParams<'_> {
    fn credential(&self) -> Credential {
        let amz_date = format_amz_date(self.time);
        Credential {
            access_key_id: self.credentials.access_key_id.clone(),
            date: amz_date.get(..8).unwrap_or_default().to_string(),
            region: self.region.to_string(),
        }
    }

    fn signing_key(&self, credential: &Credential) -> SigningKey {
        SigningKey::derive(
            &self.credentials.secret_key,
            &credential.date,
            &credential.region,
            SERVICE,
        )
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("signer output is visible ASCII")
}

/// Signs a request in place with header auth: sets `x-amz-date`,
/// `x-amz-content-sha256` and `Authorization`, signing every header present
/// (the `Host` header must be) except those proxies rewrite. Returns the
/// context to sign aws-chunked bodies with.
pub fn sign(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &mut HeaderMap,
    payload: &ContentSha256,
    params: &SigningParams<'_>,
) -> Result<StreamingContext, ProtoError> {
    if !headers.contains_key(HOST) {
        return Err(ProtoError::invalid_request(
            "a request to sign needs a Host header",
        ));
    }
    let credential = params.credential();
    let amz_date = format_amz_date(params.time);
    let payload_hash = payload.header_value();
    headers.remove(AUTHORIZATION);
    headers.insert(X_AMZ_DATE, header_value(&amz_date));
    headers.insert(X_AMZ_CONTENT_SHA256, header_value(&payload_hash));
    let mut signed_headers: Vec<String> = headers
        .keys()
        .map(|name| name.as_str().to_string())
        .filter(|name| !UNSIGNABLE_HEADERS.contains(&name.as_str()))
        .collect();
    signed_headers.sort();
    signed_headers.dedup();
    if signed_headers.len() > MAX_SIGNED_HEADERS {
        return Err(ProtoError::invalid_request(format!(
            "more than {MAX_SIGNED_HEADERS} headers to sign"
        )));
    }
    let query = query.map(parse_query).unwrap_or_default();
    let canonical = canonical_request(
        method,
        &canonical_uri(path),
        &canonical_query(&query, None),
        headers,
        &signed_headers,
        &payload_hash,
    );
    let key = params.signing_key(&credential);
    let signature = key.sign(string_to_sign(&amz_date, &credential.scope(), &canonical).as_bytes());
    let authorization = format!(
        "{ALGORITHM} Credential={}/{},SignedHeaders={},Signature={}",
        credential.access_key_id,
        credential.scope(),
        signed_headers.join(";"),
        hex::encode(signature)
    );
    headers.insert(AUTHORIZATION, header_value(&authorization));
    Ok(StreamingContext::new(
        key,
        amz_date,
        credential.scope(),
        signature,
    ))
}

/// Presigns a request: returns the full query string (the given `query`
/// plus the `X-Amz-*` parameters) to put in the URL. Only `Host` is signed,
/// and the payload is `UNSIGNED-PAYLOAD`.
pub fn presign(
    method: &Method,
    path: &str,
    query: Option<&str>,
    host: &str,
    expires_s: u64,
    params: &SigningParams<'_>,
) -> Result<String, ProtoError> {
    if expires_s > MAX_PRESIGNED_EXPIRES_S {
        return Err(ProtoError::invalid_argument(format!(
            "X-Amz-Expires must be at most {MAX_PRESIGNED_EXPIRES_S} seconds"
        )));
    }
    let host_value = HeaderValue::from_str(host)
        .map_err(|_| ProtoError::invalid_argument("the host is not a valid header value"))?;
    let credential = params.credential();
    let amz_date = format_amz_date(params.time);
    let mut pairs = query.map(parse_query).unwrap_or_default();
    pairs.extend([
        ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
        (
            "X-Amz-Credential".to_string(),
            format!("{}/{}", credential.access_key_id, credential.scope()),
        ),
        ("X-Amz-Date".to_string(), amz_date.clone()),
        ("X-Amz-Expires".to_string(), expires_s.to_string()),
        ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
    ]);
    let mut headers = HeaderMap::new();
    headers.insert(HOST, host_value);
    let canonical_query = canonical_query(&pairs, None);
    let canonical = canonical_request(
        method,
        &canonical_uri(path),
        &canonical_query,
        &headers,
        &["host".to_string()],
        "UNSIGNED-PAYLOAD",
    );
    let signature = params
        .signing_key(&credential)
        .sign(string_to_sign(&amz_date, &credential.scope(), &canonical).as_bytes());
    Ok(format!(
        "{canonical_query}&X-Amz-Signature={}",
        hex::encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    const EXAMPLE_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_HOST: &str = "examplebucket.s3.amazonaws.com";

    fn example_time() -> SystemTime {
        parse_amz_date("20130524T000000Z").unwrap()
    }

    fn example_credentials() -> Credentials {
        Credentials {
            access_key_id: EXAMPLE_ACCESS_KEY.into(),
            secret_key: SecretKey::new(EXAMPLE_SECRET),
        }
    }

    fn lookup(access_key_id: &str) -> Option<SecretKey> {
        (access_key_id == EXAMPLE_ACCESS_KEY).then(|| SecretKey::new(EXAMPLE_SECRET))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn authorization(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={EXAMPLE_ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders={signed_headers},Signature={signature}"
        )
    }

    /// The four header-auth examples of the S3 API reference ("Signature
    /// Calculations for the Authorization Header: Transferring Payload in a
    /// Single Chunk"), verified as a server would receive them.
    #[test]
    fn a1_verifies_the_aws_s3_documentation_examples() {
        struct Case {
            name: &'static str,
            method: Method,
            path: &'static str,
            query: Option<&'static str>,
            extra_headers: &'static [(&'static str, &'static str)],
            payload_hash: &'static str,
            signed_headers: &'static str,
            signature: &'static str,
        }
        let cases = [
            Case {
                name: "GET object with Range",
                method: Method::GET,
                path: "/test.txt",
                query: None,
                extra_headers: &[("range", "bytes=0-9")],
                payload_hash: EMPTY_PAYLOAD_SHA256,
                signed_headers: "host;range;x-amz-content-sha256;x-amz-date",
                signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            },
            Case {
                name: "PUT object",
                method: Method::PUT,
                path: "/test%24file.text",
                query: None,
                extra_headers: &[
                    ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                payload_hash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                signed_headers: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            },
            Case {
                name: "GET bucket lifecycle",
                method: Method::GET,
                path: "/",
                query: Some("lifecycle"),
                extra_headers: &[],
                payload_hash: EMPTY_PAYLOAD_SHA256,
                signed_headers: "host;x-amz-content-sha256;x-amz-date",
                signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            },
            Case {
                name: "GET bucket (list objects)",
                method: Method::GET,
                path: "/",
                query: Some("max-keys=2&prefix=J"),
                extra_headers: &[],
                payload_hash: EMPTY_PAYLOAD_SHA256,
                signed_headers: "host;x-amz-content-sha256;x-amz-date",
                signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            },
        ];
        for case in cases {
            let auth = authorization(case.signed_headers, case.signature);
            let mut pairs = vec![
                ("host", EXAMPLE_HOST),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", case.payload_hash),
                ("authorization", auth.as_str()),
            ];
            pairs.extend_from_slice(case.extra_headers);
            let headers = headers(&pairs);
            let request = SignedRequest {
                method: &case.method,
                path: case.path,
                query: case.query,
                headers: &headers,
            };
            let verified = verify(&request, "us-east-1", lookup, example_time())
                .unwrap_or_else(|error| panic!("{}: {error}", case.name));
            assert_eq!(verified.access_key_id, EXAMPLE_ACCESS_KEY);
            assert_eq!(verified.method, AuthMethod::Header);
            assert_eq!(verified.signed_headers.join(";"), case.signed_headers);

            // Our signer produces the same signature from the same inputs.
            let mut unsigned = headers.clone();
            unsigned.remove(AUTHORIZATION);
            let mut to_sign = HeaderMap::new();
            for name in case.signed_headers.split(';') {
                for value in unsigned.get_all(name) {
                    to_sign.append(
                        HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value.clone(),
                    );
                }
            }
            let credentials = example_credentials();
            let params = SigningParams {
                credentials: &credentials,
                region: "us-east-1",
                time: example_time(),
            };
            let context = sign(
                &case.method,
                case.path,
                case.query,
                &mut to_sign,
                &ContentSha256::parse(case.payload_hash).unwrap(),
                &params,
            )
            .unwrap();
            assert_eq!(
                hex::encode(context.seed_signature()),
                case.signature,
                "{}",
                case.name
            );
            assert_eq!(to_sign[AUTHORIZATION], auth.as_str(), "{}", case.name);
        }
    }

    #[test]
    fn a1_verifies_and_produces_the_aws_presigned_url_example() {
        let credentials = example_credentials();
        let params = SigningParams {
            credentials: &credentials,
            region: "us-east-1",
            time: example_time(),
        };
        let query = presign(
            &Method::GET,
            "/test.txt",
            None,
            EXAMPLE_HOST,
            86_400,
            &params,
        )
        .unwrap();
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        let headers = headers(&[("host", EXAMPLE_HOST)]);
        let request = SignedRequest {
            method: &Method::GET,
            path: "/test.txt",
            query: Some(&query),
            headers: &headers,
        };
        let at = |seconds: u64| example_time() + Duration::from_secs(seconds);
        let verified = verify(&request, "us-east-1", lookup, at(86_400)).unwrap();
        assert_eq!(verified.method, AuthMethod::PresignedQuery);
        assert_eq!(verified.payload, ContentSha256::Unsigned);
        assert_eq!(
            verify(&request, "us-east-1", lookup, at(86_401)),
            Err(AuthError::Expired)
        );
        let too_early = example_time() - Duration::from_secs(MAX_CLOCK_SKEW_S + 1);
        assert_eq!(
            verify(&request, "us-east-1", lookup, too_early),
            Err(AuthError::NotYetValid)
        );
    }

    /// The generic SigV4 test suite (`get-vanilla`, `get-vanilla-query-order-key-case`)
    /// and the "Deriving the signing key" example, checked on the building
    /// blocks because they use a service other than s3.
    #[test]
    fn matches_the_aws_sigv4_test_suite() {
        // The generic suite's secret has a '+' where the S3 examples have a '/'.
        let suite_secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let key = SigningKey::derive(&suite_secret, "20120215", "us-east-1", "iam");
        assert_eq!(
            hex::encode(key.0),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );

        let key = SigningKey::derive(&suite_secret, "20150830", "us-east-1", "service");
        let headers = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ]);
        let signed = ["host".to_string(), "x-amz-date".to_string()];
        let cases = [
            (
                "",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "Param2=value2&Param1=value1",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
        ];
        for (query, expected) in cases {
            let canonical = canonical_request(
                &Method::GET,
                &canonical_uri("/"),
                &canonical_query(&parse_query(query), None),
                &headers,
                &signed,
                EMPTY_PAYLOAD_SHA256,
            );
            let to_sign = string_to_sign(
                "20150830T123600Z",
                "20150830/us-east-1/service/aws4_request",
                &canonical,
            );
            assert_eq!(
                hex::encode(key.sign(to_sign.as_bytes())),
                expected,
                "{query:?}"
            );
        }
    }

    #[test]
    fn canonical_uri_encodes_once_and_keeps_slashes() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("/test$file.text", "/test%24file.text"),
            ("/test%24file.text", "/test%24file.text"),
            ("/a%20b/c d", "/a%20b/c%20d"),
            ("/a+b", "/a%2Bb"),
            ("/%C3%A7%C3%A3o", "/%C3%A7%C3%A3o"),
            ("/./a/../b", "/./a/../b"),
            ("/%zz", "/%25zz"),
            ("/~user/x_y-z.txt", "/~user/x_y-z.txt"),
        ];
        for (raw, canonical) in cases {
            assert_eq!(canonical_uri(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn canonical_query_sorts_encodes_and_gives_bare_names_a_value() {
        let cases = [
            ("lifecycle", "lifecycle="),
            ("prefix=J&max-keys=2", "max-keys=2&prefix=J"),
            ("a=2&a=1", "a=1&a=2"),
            ("prefix=a%2Fb&x=c d", "prefix=a%2Fb&x=c%20d"),
            ("k=a+b", "k=a%2Bb"),
            ("&&uploads&", "uploads="),
        ];
        for (raw, canonical) in cases {
            assert_eq!(
                canonical_query(&parse_query(raw), None),
                canonical,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn canonical_header_values_are_trimmed_and_joined() {
        let headers = headers(&[
            ("host", "h"),
            ("x-amz-meta-a", "  a   b  "),
            ("x-amz-meta-b", "one"),
            ("x-amz-meta-b", "two"),
        ]);
        let signed: Vec<String> = ["host", "x-amz-meta-a", "x-amz-meta-b"]
            .map(String::from)
            .to_vec();
        let canonical = canonical_request(&Method::PUT, "/k", "", &headers, &signed, "h");
        assert_eq!(
            String::from_utf8(canonical).unwrap(),
            "PUT\n/k\n\nhost:h\nx-amz-meta-a:a b\nx-amz-meta-b:one,two\n\n\
             host;x-amz-meta-a;x-amz-meta-b\nh"
        );
    }

    fn signed_get(time: SystemTime, extra: &[(&str, &str)]) -> HeaderMap {
        let credentials = example_credentials();
        let params = SigningParams {
            credentials: &credentials,
            region: "us-east-1",
            time,
        };
        let mut map = headers(&[("host", "localhost:9000")]);
        for (name, value) in extra {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        sign(
            &Method::GET,
            "/bucket/key",
            Some("versionId=null"),
            &mut map,
            &ContentSha256::Sha256(Sha256::digest(b"").into()),
            &params,
        )
        .unwrap();
        map
    }

    fn verify_get(headers: &HeaderMap, now: SystemTime) -> Result<Verified, AuthError> {
        let request = SignedRequest {
            method: &Method::GET,
            path: "/bucket/key",
            query: Some("versionId=null"),
            headers,
        };
        verify(&request, "us-east-1", lookup, now)
    }

    #[test]
    fn a1_request_time_skew_limit_is_fifteen_minutes_either_way() {
        let signed_at = example_time();
        let headers = signed_get(signed_at, &[]);
        let limit = Duration::from_secs(MAX_CLOCK_SKEW_S);
        let one = Duration::from_secs(1);
        assert!(verify_get(&headers, signed_at + limit).is_ok());
        assert!(verify_get(&headers, signed_at - limit).is_ok());
        assert_eq!(
            verify_get(&headers, signed_at + limit + one),
            Err(AuthError::TimeTooSkewed)
        );
        assert_eq!(
            verify_get(&headers, signed_at - limit - one),
            Err(AuthError::TimeTooSkewed)
        );
    }

    #[test]
    fn a1_tampering_with_any_signed_part_is_a_signature_mismatch() {
        let now = example_time();
        let headers = signed_get(now, &[("idempotency-key", "k-1")]);
        let verified = verify_get(&headers, now).unwrap();
        assert!(
            verified.is_header_signed("idempotency-key"),
            "SPEC I5 needs it signed"
        );

        let mut tampered_header = headers.clone();
        tampered_header.insert("idempotency-key", HeaderValue::from_static("k-2"));
        assert_eq!(
            verify_get(&tampered_header, now),
            Err(AuthError::SignatureMismatch)
        );

        let request = SignedRequest {
            method: &Method::GET,
            path: "/bucket/other-key",
            query: Some("versionId=null"),
            headers: &headers,
        };
        assert_eq!(
            verify(&request, "us-east-1", lookup, now),
            Err(AuthError::SignatureMismatch)
        );

        let wrong_secret = |_: &str| Some(SecretKey::new("not the secret"));
        let request = SignedRequest {
            method: &Method::GET,
            path: "/bucket/key",
            query: Some("versionId=null"),
            headers: &headers,
        };
        assert_eq!(
            verify(&request, "us-east-1", wrong_secret, now),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            verify(&request, "us-east-1", |_| None, now),
            Err(AuthError::UnknownAccessKey)
        );
        assert!(matches!(
            verify(&request, "eu-west-1", lookup, now),
            Err(AuthError::WrongRegion { .. })
        ));
    }

    #[test]
    fn unsigned_headers_added_after_signing_do_not_break_the_signature() {
        let now = example_time();
        let mut headers = signed_get(now, &[]);
        headers.insert("user-agent", HeaderValue::from_static("curl"));
        assert!(verify_get(&headers, now).is_ok());
    }

    #[test]
    fn malformed_authorization_headers_are_named() {
        let sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let cases: [(String, &str); 10] = [
            (
                "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".into(),
                "UnsupportedAlgorithm",
            ),
            (
                "AWS4-HMAC-SHA256Credential=x".into(),
                "UnsupportedAlgorithm",
            ),
            ("AWS4-HMAC-SHA256 Credential=a/b".into(), "MalformedHeader"),
            (authorization("host;x-amz-date", "abc"), "MalformedHeader"),
            (authorization("x-amz-date;host", sig), "MalformedHeader"),
            (authorization("x-amz-date", sig), "MalformedHeader"),
            (authorization("Host;x-amz-date", sig), "MalformedHeader"),
            (authorization("host;;x-amz-date", sig), "MalformedHeader"),
            (
                format!("{}, Signature={sig}", authorization("host", sig)),
                "MalformedHeader",
            ),
            (
                format!(
                    "AWS4-HMAC-SHA256 Credential={EXAMPLE_ACCESS_KEY}/20130524/us-east-1/ec2/aws4_request,\
                     SignedHeaders=host,Signature={sig}"
                ),
                "MalformedHeader",
            ),
        ];
        for (value, expected) in cases {
            let error = AuthorizationHeader::parse(&value).unwrap_err();
            let name = format!("{error:?}");
            assert!(name.starts_with(expected), "{value}: {name}");
        }
    }

    #[test]
    fn signed_headers_limit_is_enforced_at_the_limit() {
        let names = |count: usize| {
            let mut names: Vec<String> = (0..count - 1).map(|i| format!("x-h{i:03}")).collect();
            names.insert(0, "host".into());
            names.join(";")
        };
        assert!(parse_signed_headers(&names(MAX_SIGNED_HEADERS)).is_ok());
        assert!(parse_signed_headers(&names(MAX_SIGNED_HEADERS + 1)).is_err());
    }

    #[test]
    fn a1_errors_map_to_the_aws_codes() {
        let cases = [
            (
                AuthError::SignatureMismatch,
                S3ErrorCode::SignatureDoesNotMatch,
                403,
            ),
            (
                AuthError::TimeTooSkewed,
                S3ErrorCode::RequestTimeTooSkewed,
                403,
            ),
            (AuthError::Anonymous, S3ErrorCode::AccessDenied, 403),
            (AuthError::Expired, S3ErrorCode::AccessDenied, 403),
            (
                AuthError::UnknownAccessKey,
                S3ErrorCode::InvalidAccessKeyId,
                403,
            ),
            (
                AuthError::MalformedHeader("x".into()),
                S3ErrorCode::AuthorizationHeaderMalformed,
                400,
            ),
            (
                AuthError::MissingContentSha256,
                S3ErrorCode::InvalidRequest,
                400,
            ),
        ];
        for (error, code, status) in cases {
            let proto = ProtoError::from(error);
            assert_eq!((proto.code, proto.status().as_u16()), (code, status));
        }
    }

    #[test]
    fn header_auth_requires_a_date_and_a_content_sha256() {
        let now = example_time();
        let mut no_sha = signed_get(now, &[]);
        no_sha.remove(X_AMZ_CONTENT_SHA256);
        assert_eq!(
            verify_get(&no_sha, now),
            Err(AuthError::MissingContentSha256)
        );
        let mut no_date = signed_get(now, &[]);
        no_date.remove(X_AMZ_DATE);
        assert_eq!(verify_get(&no_date, now), Err(AuthError::MissingDate));
        let mut both = signed_get(now, &[]);
        let request = SignedRequest {
            method: &Method::GET,
            path: "/bucket/key",
            query: Some("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            headers: &both,
        };
        assert_eq!(
            verify(&request, "us-east-1", lookup, now),
            Err(AuthError::ConflictingAuth)
        );
        both.remove(AUTHORIZATION);
        assert_eq!(verify_get(&both, now), Err(AuthError::Anonymous));
        assert_eq!(
            verify_get(&HeaderMap::new(), UNIX_EPOCH),
            Err(AuthError::Anonymous)
        );
    }

    #[test]
    fn content_sha256_values_parse_and_round_trip() {
        for value in [
            "UNSIGNED-PAYLOAD",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            EMPTY_PAYLOAD_SHA256,
        ] {
            assert_eq!(ContentSha256::parse(value).unwrap().header_value(), value);
        }
        let cases = [
            (
                "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                S3ErrorCode::NotImplemented,
            ),
            ("e3b0", S3ErrorCode::InvalidArgument),
            ("unsigned-payload", S3ErrorCode::InvalidArgument),
        ];
        for (value, code) in cases {
            assert_eq!(
                ContentSha256::parse(value).unwrap_err().code,
                code,
                "{value}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever key, query and metadata a client signs, the server's
        /// canonicalisation of what arrives agrees with the signer's.
        #[test]
        fn a1_sign_then_verify_round_trips(
            key in "\\PC{1,40}",
            prefix in "\\PC{0,20}",
            meta in "[ -~]{0,40}",
        ) {
            let credentials = example_credentials();
            let params = SigningParams { credentials: &credentials, region: "us-east-1", time: example_time() };
            let path = format!("/bucket/{}", utf8_percent_encode(&key, URI_PATH));
            let query = format!("prefix={}&list-type=2", utf8_percent_encode(&prefix, URI_UNRESERVED));
            let mut map = headers(&[("host", "localhost:9000"), ("x-amz-meta-note", &meta)]);
            sign(&Method::GET, &path, Some(&query), &mut map, &ContentSha256::Unsigned, &params).unwrap();
            let request = SignedRequest { method: &Method::GET, path: &path, query: Some(&query), headers: &map };
            proptest::prop_assert!(verify(&request, "us-east-1", lookup, example_time()).is_ok());
        }

        /// Hostile Authorization headers and queries never panic.
        #[test]
        fn verify_never_panics(authorization in "[ -~]{0,200}", query in "[ -~]{0,200}") {
            let mut map = headers(&[("host", "h"), ("x-amz-date", "20130524T000000Z")]);
            if let Ok(value) = HeaderValue::from_str(&authorization) {
                map.insert(AUTHORIZATION, value);
            }
            let request = SignedRequest { method: &Method::GET, path: "/b/k", query: Some(&query), headers: &map };
            let _ = verify(&request, "us-east-1", lookup, example_time());
        }
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let credentials = example_credentials();
        let debug = format!("{credentials:?}");
        assert!(!debug.contains(EXAMPLE_SECRET), "{debug}");
        let key = SigningKey::derive(&credentials.secret_key, "20130524", "us-east-1", "s3");
        assert!(!format!("{key:?}").contains(&hex::encode(key.0)));
    }
}
