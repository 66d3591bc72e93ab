//! The native API's client (`docs/native-api.md`), on the plumbing the S3
//! client uses: transport and pool, retry policy and budget, clock,
//! randomness and observer ([`crate::exec`]).
//!
//! What it adds, as the SDK docs describe (SPEC R1, R2, R6, I4):
//! - a bearer token minted from the access key and secret, cached, and
//!   re-minted before it expires (within [`NativeConfig::token_refresh_margin_ms`]
//!   of its expiry, read on the injected [`crate::runtime::Clock`], which
//!   is madsim's under simulation);
//! - on a 401 the token is re-minted once and the request sent once more;
//!   a second 401 is the caller's (R1). A streamed body is never sent
//!   twice, not even then: the 401 re-mints the token for the caller's own
//!   retry, and is returned (R2);
//! - an idempotent put must carry a checksum (I4): refused before sending
//!   otherwise, and [`PutOptions::with_checksum_of`] computes one for a
//!   buffered body;
//! - every write returns its ETag; errors are [`Error`]'s typed variants,
//!   `is_precondition_failed()` among them, with the failed condition's
//!   native name from the JSON body (C9).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{HeaderValue, Method, Request};
use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, Digest, Digests, digest};
use lockwell_core::idempotency::IdempotencyKey;
use lockwell_proto::native::{
    self, CopyObjectRequest, ErrorBody, MintTokenRequest, MintTokenResponse, WriteResponse,
};
use lockwell_proto::sigv4::SecretKey;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::Mutex;

use crate::body::{BodyReader, ReaderBody, RequestBody};
use crate::error::{Error, ServiceError};
use crate::exec::{Call, ClientRuntime, HttpCore};
use crate::observe::Operation;
use crate::retry::{BodyKind, BudgetConfig, RequestClass, RetryBudget, RetryPolicy};
use crate::runtime::{Clock, Random};
use crate::s3::ConfigError;
use crate::transport::{CollectedResponse, Connector, Endpoint, TcpConnector, TransportConfig};

/// A token is re-minted when it has less than this left, by default: time
/// for a request sent with it to arrive before it expires.
pub const DEFAULT_TOKEN_REFRESH_MARGIN_MS: u64 = 60_000;

/// Bytes left unescaped in a path segment (RFC 3986 unreserved), `/` too
/// in keys.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const KEY_PATH: &AsciiSet = &PATH_SEGMENT.remove(b'/');

/// How a [`NativeClient`] reaches and authenticates to its server.
#[derive(Debug, Clone)]
pub struct NativeConfig {
    /// `http://host:port`.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_key: SecretKey,
    /// Token lifetime to ask for; the server's default when `None`.
    pub token_ttl_ms: Option<u64>,
    /// Re-mint a cached token once it has less than this left (R1).
    pub token_refresh_margin_ms: u64,
    pub transport: TransportConfig,
    pub retry: RetryPolicy,
    pub retry_budget: BudgetConfig,
}

impl NativeConfig {
    pub fn new(
        endpoint: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            access_key_id: access_key_id.into(),
            secret_key: SecretKey::new(secret_key),
            token_ttl_ms: None,
            token_refresh_margin_ms: DEFAULT_TOKEN_REFRESH_MARGIN_MS,
            transport: TransportConfig::default(),
            retry: RetryPolicy::default(),
            retry_budget: BudgetConfig::default(),
        }
    }
}

/// A put's body: buffered (a keyed put may be retried with it, R4) or a
/// reader of exactly `len_bytes` (sent once, R2).
pub enum PutBody {
    Buffered(Bytes),
    Stream { reader: BodyReader, len_bytes: u64 },
}

impl std::fmt::Debug for PutBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Buffered(bytes) => write!(f, "Buffered({} bytes)", bytes.len()),
            Self::Stream { len_bytes, .. } => write!(f, "Stream({len_bytes} bytes)"),
        }
    }
}

impl From<Bytes> for PutBody {
    fn from(bytes: Bytes) -> Self {
        Self::Buffered(bytes)
    }
}

impl From<&'static [u8]> for PutBody {
    fn from(bytes: &'static [u8]) -> Self {
        Self::Buffered(Bytes::from_static(bytes))
    }
}

impl From<Vec<u8>> for PutBody {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Buffered(Bytes::from(bytes))
    }
}

/// A put's options: the seed's `{ ifNoneMatch, ifMatch, idempotencyKey,
/// checksums }`.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// `"*"` for create-only (C1), or ETags (C1a).
    pub if_none_match: Option<String>,
    /// Overwrite-only (C2).
    pub if_match: Option<ETag>,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Verified by the server before commit (K2); required with an
    /// idempotency key (I4).
    pub checksums: Digests,
    pub content_type: Option<String>,
}

impl PutOptions {
    /// `ifNoneMatch: "*"`: create-only (C1).
    #[must_use]
    pub fn if_absent(mut self) -> Self {
        self.if_none_match = Some("*".to_string());
        self
    }

    /// `ifMatch: <etag>`: overwrite-only (C2).
    #[must_use]
    pub fn if_match(mut self, etag: ETag) -> Self {
        self.if_match = Some(etag);
        self
    }

    #[must_use]
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Adds a checksum the caller computed.
    #[must_use]
    pub fn checksum(mut self, digest: Digest) -> Self {
        self.checksums.insert(digest);
        self
    }

    /// Adds the `algorithm` checksum of a buffered body: what an idempotent
    /// put needs (I4).
    #[must_use]
    pub fn with_checksum_of(self, algorithm: ChecksumAlgorithm, body: &[u8]) -> Self {
        self.checksum(digest(algorithm, body))
    }
}

/// The answer to a put or a copy (E2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutput {
    pub etag: ETag,
    pub last_modified_ms: u64,
}

/// A read object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOutput {
    pub body: Bytes,
    pub etag: ETag,
    pub content_type: Option<String>,
}

/// What a HEAD tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadOutput {
    pub etag: ETag,
    pub content_len_bytes: u64,
}

/// A minted token and when it stops working (server clock).
#[derive(Debug, Clone)]
struct CachedToken {
    token: Arc<str>,
    expires_at_ms: u64,
}

#[derive(Debug)]
struct Inner<C> {
    core: HttpCore<C>,
    clock: Arc<dyn Clock>,
    config: NativeConfig,
    /// One mint at a time; callers waiting on it get its token.
    token: Mutex<Option<CachedToken>>,
}

/// The native API's client. Cheap to clone; clones share the token cache,
/// the connection pool and the retry budget.
#[derive(Debug)]
pub struct NativeClient<C = TcpConnector> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for NativeClient<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl NativeClient<TcpConnector> {
    /// Over TCP, with the runtime's clock and the given randomness.
    pub fn new(config: NativeConfig, random: impl Random + 'static) -> Result<Self, ConfigError> {
        Self::with_connector(config, TcpConnector, ClientRuntime::new(random))
    }
}

/// Whether a failed attempt may be repeated after a re-mint (R1, R2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnUnauthorized {
    RemintAndRetry,
    /// A streamed body is gone: re-mint for the caller's retry, but return.
    RemintOnly,
}

impl<C: Connector> NativeClient<C> {
    pub fn with_connector(
        config: NativeConfig,
        connector: C,
        runtime: ClientRuntime,
    ) -> Result<Self, ConfigError> {
        config.retry.validate()?;
        if config.access_key_id.is_empty() {
            return Err(ConfigError::MissingCredentials);
        }
        let endpoint = Endpoint::parse(&config.endpoint)?;
        let transport = crate::transport::Transport::new(endpoint, connector, config.transport);
        let clock = Arc::clone(&runtime.clock);
        let core = HttpCore::new(
            transport,
            config.retry,
            RetryBudget::new(config.retry_budget),
            runtime,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                clock,
                config,
                token: Mutex::new(None),
            }),
        })
    }

    /// PutObject: the new object's ETag, or why not.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<PutBody>,
        options: &PutOptions,
    ) -> Result<WriteOutput, Error> {
        if options.idempotency_key.is_some() && options.checksums.is_empty() {
            return Err(Error::InvalidInput(
                "an idempotent native put needs a body checksum (SPEC I4): the streamed body \
                 cannot be hashed before it is sent, so the server recognises a retry by its \
                 checksum; add one with PutOptions::checksum or with_checksum_of"
                    .into(),
            ));
        }
        let path = object_path(bucket, key);
        let (operation, body_kind, on_unauthorized) = match body.into() {
            PutBody::Buffered(bytes) => {
                let call = Call {
                    operation: Operation::PutObject,
                    class: RequestClass {
                        method: Method::PUT,
                        body: BodyKind::Buffered,
                        has_idempotency_key: options.idempotency_key.is_some(),
                    },
                };
                #[cfg(feature = "planted-bugs")]
                let call = Call {
                    class: RequestClass {
                        has_idempotency_key: crate::planted::native_put_is_keyed(
                            call.class.has_idempotency_key,
                            !options.checksums.is_empty(),
                        ),
                        ..call.class
                    },
                    ..call
                };
                return self
                    .send(
                        &call,
                        OnUnauthorized::RemintAndRetry,
                        |token| {
                            put_request(
                                &path,
                                options,
                                token,
                                RequestBody::Full(Some(bytes.clone())),
                            )
                        },
                        parse_write,
                    )
                    .await;
            }
            PutBody::Stream { reader, len_bytes } => (
                Operation::PutObjectStreaming,
                RequestBody::Reader(Box::new(ReaderBody::new(reader, len_bytes))),
                OnUnauthorized::RemintOnly,
            ),
        };
        let call = Call {
            operation,
            class: RequestClass {
                method: Method::PUT,
                body: BodyKind::Streaming,
                has_idempotency_key: options.idempotency_key.is_some(),
            },
        };
        // The policy never asks for a second attempt of a streamed body
        // (`Replayability::Never`); if anything did, it gets an error, not
        // an empty body.
        let mut body = Some(body_kind);
        self.send(
            &call,
            on_unauthorized,
            move |token| {
                let body = body.take().ok_or_else(|| {
                    Error::InvalidInput("a streamed body is sent once (SPEC R2)".into())
                })?;
                put_request(&path, options, token, body)
            },
            parse_write,
        )
        .await
    }

    /// GetObject: the bytes and their ETag.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<GetOutput, Error> {
        let path = object_path(bucket, key);
        self.send(
            &read_call(Operation::GetObject, Method::GET),
            OnUnauthorized::RemintAndRetry,
            |token| request(Method::GET, &path, token, RequestBody::Empty),
            |response| {
                let response = success(response)?;
                Ok(GetOutput {
                    etag: etag_header(&response)?,
                    content_type: header(&response, CONTENT_TYPE.as_str()).map(str::to_string),
                    body: response.body,
                })
            },
        )
        .await
    }

    /// HeadObject: the ETag and length.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<HeadOutput, Error> {
        let path = object_path(bucket, key);
        self.send(
            &read_call(Operation::HeadObject, Method::HEAD),
            OnUnauthorized::RemintAndRetry,
            |token| request(Method::HEAD, &path, token, RequestBody::Empty),
            |response| {
                let response = success(response)?;
                Ok(HeadOutput {
                    etag: etag_header(&response)?,
                    content_len_bytes: header(&response, CONTENT_LENGTH.as_str())
                        .and_then(|text| text.parse().ok())
                        .unwrap_or(0),
                })
            },
        )
        .await
    }

    /// DeleteObject, with `ifMatch` (C6a).
    pub async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&ETag>,
    ) -> Result<(), Error> {
        let path = object_path(bucket, key);
        self.send(
            &read_call(Operation::DeleteObject, Method::DELETE),
            OnUnauthorized::RemintAndRetry,
            |token| {
                let mut built = request(Method::DELETE, &path, token, RequestBody::Empty)?;
                if let Some(etag) = if_match {
                    set(&mut built, "if-match", &etag.to_string())?;
                }
                Ok(built)
            },
            |response| success(response).map(|_| ()),
        )
        .await
    }

    /// CopyObject with source (C8) and destination (C7) conditions.
    pub async fn copy_object(&self, copy: &CopyObjectRequest) -> Result<WriteOutput, Error> {
        let body = Bytes::from(native::to_json(copy));
        let call = Call {
            operation: Operation::CopyObject,
            class: RequestClass {
                method: Method::POST,
                body: BodyKind::Buffered,
                has_idempotency_key: false,
            },
        };
        self.send(
            &call,
            OnUnauthorized::RemintAndRetry,
            |token| {
                let mut built = request(
                    Method::POST,
                    native::COPY_PATH,
                    token,
                    RequestBody::Full(Some(body.clone())),
                )?;
                set(&mut built, CONTENT_TYPE.as_str(), native::JSON_CONTENT_TYPE)?;
                Ok(built)
            },
            parse_write,
        )
        .await
    }

    /// Sends a request with the cached token; on a 401, re-mints once and,
    /// if the body can be sent again, sends once more (R1).
    async fn send<T>(
        &self,
        call: &Call,
        on_unauthorized: OnUnauthorized,
        mut build: impl FnMut(&str) -> Result<Request<RequestBody>, Error>,
        parse: impl Fn(CollectedResponse) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let token = self.token(None).await?;
        let first = self
            .inner
            .core
            .execute(call, |_now| build(&token), &parse)
            .await;
        match first {
            Err(Error::Unauthorized(_)) => {
                let fresh = self.token(Some(&token)).await?;
                if on_unauthorized == OnUnauthorized::RemintOnly {
                    return first;
                }
                #[cfg(feature = "planted-bugs")]
                if crate::planted::native_remint_loops() {
                    loop {
                        let again = self
                            .inner
                            .core
                            .execute(call, |_now| build(&token), &parse)
                            .await;
                        if !matches!(again, Err(Error::Unauthorized(_))) {
                            return again;
                        }
                        self.token(Some(&token)).await?;
                    }
                }
                self.inner
                    .core
                    .execute(call, |_now| build(&fresh), &parse)
                    .await
            }
            other => other,
        }
    }

    /// The cached token, or a new one if it is within the refresh margin of
    /// its expiry, or is `rejected` (the token a 401 refused: another
    /// request may have replaced it already).
    async fn token(&self, rejected: Option<&Arc<str>>) -> Result<Arc<str>, Error> {
        let mut cached = self.inner.token.lock().await;
        let now_ms = millis_since_epoch(self.inner.clock.now());
        if let Some(current) = cached.as_ref() {
            let fresh = now_ms.saturating_add(self.inner.config.token_refresh_margin_ms)
                < current.expires_at_ms;
            let refused = rejected.is_some_and(|token| Arc::ptr_eq(token, &current.token));
            if fresh && !refused {
                return Ok(Arc::clone(&current.token));
            }
        }
        let minted = self.mint().await?;
        let token = Arc::clone(&minted.token);
        *cached = Some(minted);
        Ok(token)
    }

    /// `POST /_native/v1/tokens`: one attempt (a mint has no idempotency
    /// key; a failed one is the caller's to retry).
    async fn mint(&self) -> Result<CachedToken, Error> {
        let config = &self.inner.config;
        let body = Bytes::from(native::to_json(&MintTokenRequest {
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_key.expose().to_string(),
            ttl_ms: config.token_ttl_ms,
        }));
        let mut built = Request::builder()
            .method(Method::POST)
            .uri(native::TOKENS_PATH)
            .body(RequestBody::Full(Some(body)))
            .map_err(|error| Error::InvalidInput(error.to_string()))?;
        set(&mut built, CONTENT_TYPE.as_str(), native::JSON_CONTENT_TYPE)?;
        let response = success(self.inner.core.transport().send(built).await?)?;
        let minted: MintTokenResponse =
            native::parse_json(&response.body).map_err(|error| Error::InvalidResponse {
                status: response.status.as_u16(),
                reason: format!("not a token: {}", error.message),
            })?;
        Ok(CachedToken {
            token: Arc::from(minted.token),
            expires_at_ms: minted.expires_at_ms,
        })
    }
}

fn millis_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

fn read_call(operation: Operation, method: Method) -> Call {
    Call {
        operation,
        class: RequestClass {
            method,
            body: BodyKind::Empty,
            has_idempotency_key: false,
        },
    }
}

fn object_path(bucket: &str, key: &str) -> String {
    format!(
        "{}{}/{}",
        native::OBJECTS_PATH_PREFIX,
        utf8_percent_encode(bucket, PATH_SEGMENT),
        utf8_percent_encode(key, KEY_PATH)
    )
}

fn request(
    method: Method,
    path: &str,
    token: &str,
    body: RequestBody,
) -> Result<Request<RequestBody>, Error> {
    let mut built = Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .map_err(|error| Error::InvalidInput(format!("{path:?}: {error}")))?;
    set(
        &mut built,
        AUTHORIZATION.as_str(),
        &format!("Bearer {token}"),
    )?;
    Ok(built)
}

fn put_request(
    path: &str,
    options: &PutOptions,
    token: &str,
    body: RequestBody,
) -> Result<Request<RequestBody>, Error> {
    let len_bytes = http_body::Body::size_hint(&body).exact().unwrap_or(0);
    let mut built = request(Method::PUT, path, token, body)?;
    set(&mut built, CONTENT_LENGTH.as_str(), &len_bytes.to_string())?;
    if let Some(value) = &options.if_none_match {
        set(&mut built, "if-none-match", value)?;
    }
    if let Some(etag) = &options.if_match {
        set(&mut built, "if-match", &etag.to_string())?;
    }
    if let Some(key) = &options.idempotency_key {
        set(&mut built, native::IDEMPOTENCY_KEY_HEADER, key.as_str())?;
    }
    if let Some(content_type) = &options.content_type {
        set(&mut built, CONTENT_TYPE.as_str(), content_type)?;
    }
    for (name, value) in native::checksum_header_pairs(&options.checksums) {
        set(&mut built, &name, &value)?;
    }
    Ok(built)
}

fn set(request: &mut Request<RequestBody>, name: &str, value: &str) -> Result<(), Error> {
    let name = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|error| Error::InvalidInput(format!("header {name:?}: {error}")))?;
    let value = HeaderValue::from_str(value)
        .map_err(|error| Error::InvalidInput(format!("header {name}: {error}")))?;
    request.headers_mut().insert(name, value);
    Ok(())
}

fn header<'r>(response: &'r CollectedResponse, name: &str) -> Option<&'r str> {
    response
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

fn etag_header(response: &CollectedResponse) -> Result<ETag, Error> {
    let text = header(response, ETAG.as_str()).ok_or_else(|| Error::InvalidResponse {
        status: response.status.as_u16(),
        reason: "no ETag header".into(),
    })?;
    ETag::parse(text).map_err(|error| Error::InvalidResponse {
        status: response.status.as_u16(),
        reason: format!("ETag {text:?}: {error}"),
    })
}

/// A success response, or the typed error of its JSON body (C9, R6).
fn success(response: CollectedResponse) -> Result<CollectedResponse, Error> {
    if response.status.is_success() {
        return Ok(response);
    }
    let status = response.status.as_u16();
    if status == 304 {
        return Err(Error::NotModified {
            etag: etag_header(&response).ok(),
        });
    }
    let body: Option<ErrorBody> = native::parse_json(&response.body).ok();
    let request_id = header(&response, "x-amz-request-id").map(str::to_string);
    let (code, message, condition) = match body {
        Some(body) => (Some(body.code), Some(body.message), body.condition),
        None => (None, None, None),
    };
    Err(Error::from_service(
        ServiceError {
            status,
            code,
            message,
            request_id,
        },
        condition,
    ))
}

fn parse_write(response: CollectedResponse) -> Result<WriteOutput, Error> {
    let response = success(response)?;
    let etag = etag_header(&response)?;
    let body: WriteResponse =
        native::parse_json(&response.body).map_err(|error| Error::InvalidResponse {
            status: response.status.as_u16(),
            reason: error.message,
        })?;
    Ok(WriteOutput {
        etag,
        last_modified_ms: body.last_modified_ms,
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, StatusCode};

    use super::*;

    fn response(status: u16, body: &str) -> CollectedResponse {
        CollectedResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn object_paths_escape_segments_and_keep_key_slashes() {
        assert_eq!(
            object_path("bkt", "q1/summary (final).txt"),
            "/_native/v1/objects/bkt/q1/summary%20%28final%29.txt"
        );
        assert_eq!(object_path("bkt", "a+b"), "/_native/v1/objects/bkt/a%2Bb");
    }

    #[test]
    fn i4_c1_c2_put_requests_carry_their_options_as_headers() {
        let etag = ETag::of_content(b"v1");
        let options = PutOptions::default()
            .if_absent()
            .if_match(etag.clone())
            .idempotency_key(IdempotencyKey::parse("op-1").unwrap())
            .with_checksum_of(ChecksumAlgorithm::Sha256, b"body")
            .with_checksum_of(ChecksumAlgorithm::Crc32c, b"body");
        let built = put_request(
            "/p",
            &options,
            "tok",
            RequestBody::Full(Some(Bytes::from_static(b"body"))),
        )
        .unwrap();
        let header = |name: &str| built.headers().get(name).unwrap().to_str().unwrap();
        assert_eq!(header("authorization"), "Bearer tok");
        assert_eq!(header("content-length"), "4");
        assert_eq!(header("if-none-match"), "*");
        assert_eq!(header("if-match"), etag.to_string());
        assert_eq!(header("idempotency-key"), "op-1");
        assert_eq!(
            header("x-lockwell-checksum-sha256"),
            digest(ChecksumAlgorithm::Sha256, b"body").to_base64()
        );
        assert_eq!(
            header("x-lockwell-checksum-crc32c"),
            digest(ChecksumAlgorithm::Crc32c, b"body").to_base64()
        );
    }

    #[test]
    fn r6_c9_json_errors_become_typed_errors() {
        let precondition = r#"{"code":"PreconditionFailed","message":"m","condition":"ifMatch"}"#;
        // (status, body, check).
        type Check = fn(&Error) -> bool;
        let cases: [(u16, &str, Check); 7] = [
            (412, precondition, |error| {
                error.is_precondition_failed()
                    && matches!(error, Error::PreconditionFailed { condition: Some(c), .. } if c == "ifMatch")
            }),
            (401, r#"{"code":"ExpiredToken","message":"m"}"#, |error| {
                matches!(error, Error::Unauthorized(_)) && error.code() == Some("ExpiredToken")
            }),
            (404, r#"{"code":"NoSuchKey","message":"m"}"#, |error| {
                matches!(error, Error::NotFound(_))
            }),
            (
                409,
                r#"{"code":"IdempotencyKeyInFlight","message":"m"}"#,
                |error| matches!(error, Error::Conflict(_)),
            ),
            (
                422,
                r#"{"code":"IdempotencyKeyMismatch","message":"m"}"#,
                |error| matches!(error, Error::IdempotencyMismatch(_)),
            ),
            (400, r#"{"code":"BadDigest","message":"m"}"#, |error| {
                matches!(error, Error::BadDigest(_))
            }),
            (503, "not json", |error| {
                matches!(error, Error::Server(_)) && error.code().is_none()
            }),
        ];
        for (status, body, check) in cases {
            let error = success(response(status, body)).unwrap_err();
            assert!(check(&error), "{status} {body}: {error:?}");
            assert_eq!(error.status(), Some(status));
        }
        assert!(success(response(200, "")).is_ok());
    }
}
