//! The native API (`docs/native-api.md`, wire format in
//! [`lockwell_proto::native`]): requests under `/_native/v1/`, handed here
//! by [`super::service`] before SigV4 authentication.
//!
//! Every operation calls the same [`crate::engine::Engine`] methods as its
//! S3 counterpart, with the same idempotency table, scoped per principal
//! and bucket exactly as S3 writes scope it (SPEC I8): an S3 retry of a
//! native write with the same key and payload replays the native record.
//!
//! A put follows DESIGN.md's write path like the S3 one: step 1 the
//! idempotency claim (which needs a checksum up front, I4), steps 2-3 the
//! body read once while every digest is computed, refused on any mismatch
//! before anything is stored (K2), step 4 the engine's commit.

mod body;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use lockwell_core::idempotency::{ClaimOutcome, Fingerprint, IdempotencyScope, Principal};
use lockwell_core::object::ObjectMetadata;
use lockwell_core::precondition::{
    CopyDestinationCondition, ETagCondition, Rejected, ValidatorConditions, Validators,
    evaluate_read,
};
use lockwell_core::store::{Committed, CopyRequest, MetadataDirective};
use lockwell_core::{ETag, NewObject, ObjectPath, ObjectVersion};
use lockwell_proto::native::{
    self, CopyObjectRequest, ErrorBody, MintTokenRequest, MintTokenResponse, NativeRoute,
    TokenError, WriteResponse, codes,
};
use lockwell_proto::time::format_http_date_ms;
use lockwell_proto::{ProtoError, S3ErrorCode, headers};

use super::handlers::bucket_scoped_key;
use super::response::{Body, Failure};
use super::service::App;
use crate::clock;
use crate::engine::WriteMode;

/// The message of every 412 body, as S3 words it (C9).
const PRECONDITION_FAILED_MESSAGE: &str =
    "At least one of the pre-conditions you specified did not hold";

/// Why a native request was not served; rendered as a JSON [`ErrorBody`].
#[derive(Debug)]
enum NativeFailure {
    /// Any S3-named refusal (400, 403, 404, 409, 422, 5xx ...).
    Refused(ProtoError),
    /// A precondition outcome (412, 404, 304).
    Rejected(Rejected),
    /// 401 (A2), with a native code from [`codes`].
    Unauthorized { code: &'static str, message: String },
}

impl From<ProtoError> for NativeFailure {
    fn from(error: ProtoError) -> Self {
        Self::Refused(error)
    }
}

impl From<Rejected> for NativeFailure {
    fn from(rejected: Rejected) -> Self {
        Self::Rejected(rejected)
    }
}

impl From<Failure> for NativeFailure {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(error) => Self::Refused(error),
            Failure::Rejected(rejected) => Self::Rejected(rejected),
        }
    }
}

impl From<crate::engine::EngineError> for NativeFailure {
    fn from(error: crate::engine::EngineError) -> Self {
        Failure::from(error).into()
    }
}

impl From<TokenError> for NativeFailure {
    fn from(error: TokenError) -> Self {
        Self::Unauthorized {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

impl NativeFailure {
    fn into_response(self) -> Response<Body> {
        let (status, body) = match self {
            Self::Refused(error) => (
                error.status(),
                ErrorBody {
                    code: error.code.as_str().to_string(),
                    message: error.message,
                    condition: None,
                },
            ),
            Self::Unauthorized { code, message } => (
                StatusCode::UNAUTHORIZED,
                ErrorBody {
                    code: code.to_string(),
                    message,
                    condition: None,
                },
            ),
            Self::Rejected(rejected) => {
                let status = StatusCode::from_u16(rejected.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let body = match &rejected {
                    Rejected::PreconditionFailed { condition, .. } => ErrorBody {
                        code: S3ErrorCode::PreconditionFailed.as_str().to_string(),
                        message: PRECONDITION_FAILED_MESSAGE.to_string(),
                        condition: Some(condition.native_name().to_string()),
                    },
                    Rejected::NotModified { .. } => return empty(StatusCode::NOT_MODIFIED),
                    Rejected::NotFound { .. } => ErrorBody {
                        code: S3ErrorCode::NoSuchKey.as_str().to_string(),
                        message: "The specified key does not exist.".to_string(),
                        condition: None,
                    },
                    other => ErrorBody {
                        code: S3ErrorCode::InternalError.as_str().to_string(),
                        message: other.to_string(),
                        condition: None,
                    },
                };
                (status, body)
            }
        };
        json(status, native::to_json(&body))
    }
}

/// Answers one native request; errors become JSON bodies, never XML.
pub(crate) async fn serve(app: &App, parts: &Parts, body: &mut Option<Incoming>) -> Response<Body> {
    match serve_routed(app, parts, body).await {
        Ok(response) => response,
        Err(failure) => {
            tracing::debug!(method = %parts.method, path = parts.uri.path(), ?failure, "native request refused");
            failure.into_response()
        }
    }
}

async fn serve_routed(
    app: &App,
    parts: &Parts,
    body: &mut Option<Incoming>,
) -> Result<Response<Body>, NativeFailure> {
    let route = native::route(&parts.method, parts.uri.path())?;
    // Minting is the one request without a token.
    let principal = || authenticate(app, parts, clock::now_ms());
    match route {
        NativeRoute::MintToken => mint_token(app, body).await,
        NativeRoute::PutObject(path) => put_object(app, parts, body, &principal()?, path).await,
        NativeRoute::GetObject(path) => get_object(app, parts, &principal()?, &path, true).await,
        NativeRoute::HeadObject(path) => get_object(app, parts, &principal()?, &path, false).await,
        NativeRoute::DeleteObject(path) => delete_object(app, parts, &principal()?, &path).await,
        NativeRoute::CopyObject => copy_object(app, body, &principal()?).await,
    }
}

/// SPEC A2: the bearer token's principal, or 401.
fn authenticate(app: &App, parts: &Parts, now_ms: u64) -> Result<Principal, NativeFailure> {
    let token = native::bearer_token(&parts.headers).ok_or(NativeFailure::Unauthorized {
        code: codes::MISSING_TOKEN,
        message: "native requests need an Authorization: Bearer <token> header; mint one with \
                  POST /_native/v1/tokens"
            .to_string(),
    })?;
    let access_key_id = native::token_access_key_id(token)?;
    let access_key = app
        .config()
        .access_keys
        .get(access_key_id)
        .ok_or(TokenError::Invalid)?;
    native::verify_token(token, access_key.secret_key.expose(), now_ms)?;
    Ok(access_key.principal.clone())
}

/// `POST /_native/v1/tokens` (A2).
async fn mint_token(
    app: &App,
    body: &mut Option<Incoming>,
) -> Result<Response<Body>, NativeFailure> {
    let request: MintTokenRequest = native::parse_json(&body::read_json(app, body).await?)?;
    let invalid = || NativeFailure::Unauthorized {
        code: codes::INVALID_CREDENTIALS,
        message: "the access key id or secret is wrong".to_string(),
    };
    let access_key = app
        .config()
        .access_keys
        .get(&request.access_key_id)
        .ok_or_else(invalid)?;
    if !constant_time_eq(
        access_key.secret_key.expose().as_bytes(),
        request.secret_access_key.as_bytes(),
    ) {
        return Err(invalid());
    }
    let ttl_ms = native::token_ttl_ms(request.ttl_ms)?;
    let expires_at_ms = clock::now_ms().saturating_add(ttl_ms);
    let token = native::mint_token(
        &request.access_key_id,
        access_key.secret_key.expose(),
        expires_at_ms,
    );
    Ok(json(
        StatusCode::OK,
        native::to_json(&MintTokenResponse {
            token,
            expires_at_ms,
        }),
    ))
}

/// Compares secrets without an early exit, so the time taken says nothing
/// about how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `PUT /_native/v1/objects/{bucket}/{key}` (C1-C4, I1-I4, I7, I8, K2).
async fn put_object(
    app: &App,
    parts: &Parts,
    body: &mut Option<Incoming>,
    principal: &Principal,
    path: ObjectPath,
) -> Result<Response<Body>, NativeFailure> {
    // A3 before a byte of the body is read.
    app.engine().authorize(principal, &path.bucket).await?;
    let conditions = headers::write_conditions(&parts.headers)?;
    let checksums = native::checksum_headers(&parts.headers)?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|value| {
            value.to_str().map(str::to_string).map_err(|_| {
                ProtoError::new(S3ErrorCode::InvalidArgument, "Content-Type is not ASCII")
            })
        })
        .transpose()?;
    let expectation = body::PutBody::from_headers(
        &parts.headers,
        &checksums,
        app.config().limits.max_body_len_bytes,
    )?;
    let mode = match headers::idempotency_key(&parts.headers)? {
        None => WriteMode::Plain(conditions),
        Some(idempotency_key) => {
            // I4: the streamed body is not known when the claim is made;
            // its checksum is what makes a retry recognisable.
            let payload_digest = native::idempotency_proof(&checksums).ok_or_else(|| {
                ProtoError::new(
                    S3ErrorCode::InvalidRequest,
                    "SPEC I4: an idempotent native put (Idempotency-Key) must carry a body \
                     checksum header, x-lockwell-checksum-<sha256|sha1|crc32|crc32c|crc64nvme>",
                )
            })?;
            let scope = IdempotencyScope {
                principal: principal.clone(),
                idempotency_key: bucket_scoped_key(&path.bucket, &idempotency_key),
            };
            let fingerprint = Fingerprint {
                path: path.clone(),
                payload_digest,
                conditions,
            };
            match app
                .engine()
                .claim_idempotency(scope, fingerprint, clock::now_ms())
                .await?
            {
                ClaimOutcome::Claimed(ticket) => WriteMode::Idempotent(ticket),
                ClaimOutcome::Replay(outcome) => {
                    return outcome
                        .map(|committed| write_response(&committed))
                        .map_err(Into::into);
                }
                ClaimOutcome::InFlight => {
                    return Err(ProtoError::new(
                        S3ErrorCode::IdempotencyKeyInFlight,
                        "A request with this Idempotency-Key is still in progress; retry after \
                         it completes",
                    )
                    .into());
                }
                ClaimOutcome::Mismatch => {
                    return Err(ProtoError::new(
                        S3ErrorCode::IdempotencyKeyMismatch,
                        "This Idempotency-Key was used for a request with a different target, \
                         payload or conditions",
                    )
                    .into());
                }
                ClaimOutcome::AtCapacity => {
                    return Err(ProtoError::new(
                        S3ErrorCode::SlowDown,
                        "The idempotency table is full; retry later",
                    )
                    .into());
                }
                _ => return Err(Failure::internal("unknown idempotency claim outcome").into()),
            }
        }
    };
    let received = match body.as_mut() {
        Some(incoming) => {
            expectation
                .receive(incoming, app.config().limits.request_timeout())
                .await
        }
        None => Err(ProtoError::new(
            S3ErrorCode::InternalError,
            "the request body was already read",
        )),
    };
    let received = match received {
        Ok(received) => {
            *body = None;
            received
        }
        Err(error) => {
            if let WriteMode::Idempotent(ticket) = mode {
                app.engine().release_idempotency(ticket);
            }
            return Err(error.into());
        }
    };
    let object = NewObject {
        content: Arc::from(received.content),
        etag: ETag::from_md5(received.md5),
        checksums: received.checksums,
        metadata: ObjectMetadata {
            content_type,
            ..ObjectMetadata::default()
        },
    };
    let committed = app
        .engine()
        .put_object(principal, &path, object, mode, clock::now_ms())
        .await??;
    Ok(write_response(&committed))
}

/// A write's answer (E2): the ETag as a header and in the JSON body.
fn write_response(committed: &Committed) -> Response<Body> {
    let mut response = json(
        StatusCode::OK,
        native::to_json(&WriteResponse {
            etag: committed.etag.to_string(),
            last_modified_ms: committed.last_modified_ms,
        }),
    );
    set_header(&mut response, ETAG, &committed.etag.to_string());
    response
}

/// `GET` and `HEAD` (E2, E5): the bytes (GET) with ETag, Last-Modified,
/// Content-Type and the stored checksums as `x-lockwell-checksum-*`.
async fn get_object(
    app: &App,
    parts: &Parts,
    principal: &Principal,
    path: &ObjectPath,
    with_body: bool,
) -> Result<Response<Body>, NativeFailure> {
    let conditions = headers::read_conditions(&parts.headers)?;
    let version = app
        .engine()
        .get_object(principal, path)
        .await?
        .ok_or_else(no_such_key)?;
    if let Err(rejected) = evaluate_read(Some(Validators::from(version.as_ref())), &conditions) {
        if let Rejected::NotModified { .. } = rejected {
            let mut response = empty(StatusCode::NOT_MODIFIED);
            set_validators(&mut response, &version);
            return Ok(response);
        }
        return Err(rejected.into());
    }
    let len_bytes = version.content.len() as u64;
    let mut response = if with_body {
        Response::new(Full::new(Bytes::from_owner(Arc::clone(&version.content))))
    } else {
        empty(StatusCode::OK)
    };
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(len_bytes));
    set_validators(&mut response, &version);
    if let Some(content_type) = &version.metadata.content_type {
        set_header(&mut response, CONTENT_TYPE, content_type);
    }
    for (name, value) in native::checksum_header_pairs(&version.checksums) {
        if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
            set_header(&mut response, name, &value);
        }
    }
    Ok(response)
}

fn no_such_key() -> ProtoError {
    ProtoError::new(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
}

fn set_validators(response: &mut Response<Body>, version: &ObjectVersion) {
    set_header(response, ETAG, &version.etag.to_string());
    set_header(
        response,
        LAST_MODIFIED,
        &format_http_date_ms(version.last_modified_ms),
    );
}

/// `DELETE` with an optional `If-Match` (C6a): 204.
async fn delete_object(
    app: &App,
    parts: &Parts,
    principal: &Principal,
    path: &ObjectPath,
) -> Result<Response<Body>, NativeFailure> {
    let conditions = headers::delete_conditions(&parts.headers)?;
    app.engine()
        .delete_object(principal, path, &conditions)
        .await??;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /_native/v1/copy` (C7, C8): source and destination conditions,
/// evaluated by the engine atomically with the commit.
async fn copy_object(
    app: &App,
    body: &mut Option<Incoming>,
    principal: &Principal,
) -> Result<Response<Body>, NativeFailure> {
    let request: CopyObjectRequest = native::parse_json(&body::read_json(app, body).await?)?;
    let etag_condition = |name: &str, value: Option<&str>| {
        value
            .map(|text| {
                ETagCondition::parse(text).map_err(|error| {
                    ProtoError::new(S3ErrorCode::InvalidArgument, format!("{name}: {error}"))
                })
            })
            .transpose()
    };
    let source_conditions = ValidatorConditions {
        if_match: etag_condition("source.ifMatch", request.source.if_match.as_deref())?,
        if_none_match: etag_condition(
            "source.ifNoneMatch",
            request.source.if_none_match.as_deref(),
        )?,
        if_modified_since_ms: request.source.if_modified_since_ms,
        if_unmodified_since_ms: request.source.if_unmodified_since_ms,
    };
    let destination_condition = match (
        request.destination.require_absent,
        request.destination.require_match_etag()?,
    ) {
        (false, None) => CopyDestinationCondition::Unconditional,
        (true, None) => CopyDestinationCondition::RequireAbsent,
        (false, Some(etag)) => CopyDestinationCondition::RequireMatchEtag(etag),
        (true, Some(_)) => {
            return Err(ProtoError::new(
                S3ErrorCode::InvalidArgument,
                "destination.requireAbsent and destination.requireMatchEtag exclude each other",
            )
            .into());
        }
    };
    let copy = CopyRequest {
        source: request.source.path()?,
        source_conditions,
        destination: request.destination.path()?,
        destination_condition,
        metadata: MetadataDirective::Copy,
    };
    let committed = app
        .engine()
        .copy_object(principal, &copy, clock::now_ms())
        .await??;
    Ok(write_response(&committed))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(native::JSON_CONTENT_TYPE),
    );
    response
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn set_header(response: &mut Response<Body>, name: http::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
