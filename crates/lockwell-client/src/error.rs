//! The clients' one error type (SPEC R6).
//!
//! A refusal the server answered is classified by status and code into the
//! variants callers branch on (`PreconditionFailed`, `Conflict`, ...), each
//! keeping the server's [`ServiceError`] details. Failures where no answer
//! came back say whether the request may have reached the server
//! ([`RequestSent`]), which decides whether it can have had an effect.
//!
//! Two questions are answered per error, not by scattered `if`s:
//! [`Error::is_retryable`] (would sending it again be useful: transport
//! failures, timeouts, 5xx, throttling; never 400/403/404/409/412/422,
//! SPEC R3) and [`Error::has_no_side_effects`] (is it certain the request
//! changed nothing: a definite refusal, or a request that never left).
//! [`crate::retry`] combines them with the request's replayability (R4).

use std::fmt;
use std::io;

use lockwell_core::ETag;

/// Whether any byte of a failed request reached the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSent {
    /// Nothing was written: the server cannot have seen the request.
    No,
    /// Some or all of it was written: the server may have acted on it.
    Maybe,
}

/// What the server said about a refused request: its status and, where the
/// body carried them, its error code, message and request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Error codes S3-compatible servers throttle with (the set the AWS SDKs'
/// standard retry mode recognises), whatever status carries them.
const THROTTLING_CODES: &[&str] = &[
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];

/// Codes that say the body did not match the digest the request declared
/// (SPEC K2, I5): nothing was stored.
const BAD_DIGEST_CODES: &[&str] = &["BadDigest", "XAmzContentSHA256Mismatch"];

/// 5xx statuses worth another attempt; 501 and 505 say the request itself
/// will never work.
const RETRYABLE_SERVER_STATUSES: &[u16] = &[500, 502, 503, 504];

/// An error of a client operation.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 412: a condition of the request did not hold, nothing changed (C1,
    /// C2, C4). `condition` names the header that failed, where the server
    /// says (C9).
    #[error("precondition failed{}: {details}", condition.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    PreconditionFailed {
        condition: Option<String>,
        details: Box<ServiceError>,
    },
    /// 304 on a conditional read (E5).
    #[error("not modified")]
    NotModified { etag: Option<ETag> },
    /// 404: NoSuchKey, NoSuchBucket, NoSuchUpload.
    #[error("not found: {0}")]
    NotFound(Box<ServiceError>),
    /// 409: IdempotencyKeyInFlight (I3), ConditionalRequestConflict (C5),
    /// BucketAlreadyExists, BucketNotEmpty, ...
    #[error("conflict: {0}")]
    Conflict(Box<ServiceError>),
    /// 422: the idempotency key was used for a different request (I2).
    #[error("idempotency key mismatch: {0}")]
    IdempotencyMismatch(Box<ServiceError>),
    /// The body did not match its declared digest; nothing stored (K2).
    #[error("bad digest: {0}")]
    BadDigest(Box<ServiceError>),
    /// 401: no valid credentials (the native API's expired token, A2).
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ServiceError>),
    /// 403: signature, clock skew or permission refused (A1, A3).
    #[error("access denied: {0}")]
    AccessDenied(Box<ServiceError>),
    /// 429, or a throttling code such as 503 SlowDown.
    #[error("throttled: {0}")]
    Throttled(Box<ServiceError>),
    /// Any other 5xx.
    #[error("server error: {0}")]
    Server(Box<ServiceError>),
    /// Any other 4xx (400 InvalidRequest, 411, 416, ...).
    #[error("refused: {0}")]
    Refused(Box<ServiceError>),
    /// The connection failed: refused, reset, or closed before a complete
    /// response.
    #[error("transport error (request sent: {sent:?}): {source}")]
    Transport {
        sent: RequestSent,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No complete response within the attempt's time limit.
    #[error("timed out after {after_ms} ms (request sent: {sent:?})")]
    Timeout { sent: RequestSent, after_ms: u64 },
    /// Reading the caller's streamed body failed.
    #[error("reading the request body failed: {0}")]
    Body(#[source] io::Error),
    /// The client refused the request before sending it.
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// The server's answer could not be understood.
    #[error("invalid response (HTTP {status}): {reason}")]
    InvalidResponse { status: u16, reason: String },
}

impl Error {
    /// Classifies a refusal by its status, then by its code.
    pub fn from_service(details: ServiceError, condition: Option<String>) -> Self {
        let code_in = |codes: &[&str]| {
            details
                .code
                .as_deref()
                .is_some_and(|code| codes.contains(&code))
        };
        let (throttling, bad_digest) = (code_in(THROTTLING_CODES), code_in(BAD_DIGEST_CODES));
        let details = Box::new(details);
        if throttling {
            return Self::Throttled(details);
        }
        if bad_digest {
            return Self::BadDigest(details);
        }
        match details.status {
            304 => Self::NotModified { etag: None },
            401 => Self::Unauthorized(details),
            403 => Self::AccessDenied(details),
            404 => Self::NotFound(details),
            409 => Self::Conflict(details),
            412 => Self::PreconditionFailed { condition, details },
            422 => Self::IdempotencyMismatch(details),
            429 => Self::Throttled(details),
            500..=599 => Self::Server(details),
            _ => Self::Refused(details),
        }
    }

    /// The server's details, for errors that carry them.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::PreconditionFailed { details, .. }
            | Self::NotFound(details)
            | Self::Conflict(details)
            | Self::IdempotencyMismatch(details)
            | Self::BadDigest(details)
            | Self::Unauthorized(details)
            | Self::AccessDenied(details)
            | Self::Throttled(details)
            | Self::Server(details)
            | Self::Refused(details) => Some(details),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::NotModified { .. } => Some(304),
            Self::InvalidResponse { status, .. } => Some(*status),
            other => other.service_error().map(|details| details.status),
        }
    }

    /// The server's error code (`PreconditionFailed`, `NoSuchKey`, ...).
    pub fn code(&self) -> Option<&str> {
        self.service_error()
            .and_then(|details| details.code.as_deref())
    }

    /// SPEC C9: the helper every client library offers.
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, Self::PreconditionFailed { .. })
    }

    /// Whether the server asked the client to slow down: retries wait on
    /// the longer throttling base delay (R3).
    pub fn is_throttling(&self) -> bool {
        matches!(self, Self::Throttled(_))
    }

    /// For failures without an answer: whether the request may have
    /// reached the server.
    pub fn sent(&self) -> Option<RequestSent> {
        match self {
            Self::Transport { sent, .. } | Self::Timeout { sent, .. } => Some(*sent),
            _ => None,
        }
    }

    /// SPEC R3: transport errors, timeouts, 500/502/503/504, 429 and
    /// throttling codes may succeed when sent again; nothing else does
    /// (never 400, 403, 404, 409, 412 or 422).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Timeout { .. } | Self::Throttled(_) => true,
            Self::Server(details) => RETRYABLE_SERVER_STATUSES.contains(&details.status),
            _ => false,
        }
    }

    /// Whether the request certainly changed nothing on the server: it
    /// never left the client, or the server refused it with a 304 or 4xx
    /// (a refused request changes nothing: C4, K2, B1). A 5xx, a timeout
    /// or a transport failure after bytes were written are indeterminate:
    /// the write may have committed and only its answer been lost.
    pub fn has_no_side_effects(&self) -> bool {
        match self {
            Self::Transport { sent, .. } | Self::Timeout { sent, .. } => *sent == RequestSent::No,
            Self::InvalidInput(_) => true,
            Self::Server(_) | Self::Body(_) | Self::InvalidResponse { .. } => false,
            Self::PreconditionFailed { .. }
            | Self::NotModified { .. }
            | Self::NotFound(_)
            | Self::Conflict(_)
            | Self::IdempotencyMismatch(_)
            | Self::BadDigest(_)
            | Self::Unauthorized(_)
            | Self::AccessDenied(_)
            | Self::Throttled(_)
            | Self::Refused(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: Option<&str>) -> ServiceError {
        ServiceError {
            status,
            code: code.map(str::to_string),
            message: Some("m".into()),
            request_id: None,
        }
    }

    fn transport(sent: RequestSent) -> Error {
        Error::Transport {
            sent,
            source: Box::new(io::Error::from(io::ErrorKind::ConnectionReset)),
        }
    }

    /// (status, code, variant, retryable, no side effects), SPEC R3/R6.
    #[test]
    fn r3_r6_refusals_classify_by_status_then_code() {
        let cases: &[(u16, Option<&str>, &str, bool, bool)] = &[
            (400, Some("InvalidRequest"), "Refused", false, true),
            (400, Some("BadDigest"), "BadDigest", false, true),
            (
                400,
                Some("XAmzContentSHA256Mismatch"),
                "BadDigest",
                false,
                true,
            ),
            (401, None, "Unauthorized", false, true),
            (
                403,
                Some("SignatureDoesNotMatch"),
                "AccessDenied",
                false,
                true,
            ),
            (404, Some("NoSuchKey"), "NotFound", false, true),
            (409, Some("IdempotencyKeyInFlight"), "Conflict", false, true),
            (
                409,
                Some("ConditionalRequestConflict"),
                "Conflict",
                false,
                true,
            ),
            (
                412,
                Some("PreconditionFailed"),
                "PreconditionFailed",
                false,
                true,
            ),
            (416, Some("InvalidRange"), "Refused", false, true),
            (
                422,
                Some("IdempotencyKeyMismatch"),
                "IdempotencyMismatch",
                false,
                true,
            ),
            (429, None, "Throttled", true, true),
            (500, Some("InternalError"), "Server", true, false),
            (501, Some("NotImplemented"), "Server", false, false),
            (502, None, "Server", true, false),
            (503, Some("SlowDown"), "Throttled", true, true),
            (503, Some("ServiceUnavailable"), "Server", true, false),
            (504, None, "Server", true, false),
            (400, Some("Throttling"), "Throttled", true, true),
        ];
        for &(status, code, variant, retryable, no_side_effects) in cases {
            let error = Error::from_service(service(status, code), None);
            let name = format!("{error:?}");
            assert!(name.starts_with(variant), "{status} {code:?}: {name}");
            assert_eq!(error.status(), Some(status), "{status} {code:?}");
            assert_eq!(error.code(), code, "{status}");
            assert_eq!(error.is_retryable(), retryable, "{status} {code:?}");
            assert_eq!(
                error.has_no_side_effects(),
                no_side_effects,
                "{status} {code:?}"
            );
        }
    }

    #[test]
    fn c9_precondition_failed_names_its_condition() {
        let error = Error::from_service(
            service(412, Some("PreconditionFailed")),
            Some("If-Match".into()),
        );
        assert!(error.is_precondition_failed());
        assert!(!Error::from_service(service(409, None), None).is_precondition_failed());
        assert!(error.to_string().contains("(If-Match)"), "{error}");
        match error {
            Error::PreconditionFailed { condition, .. } => {
                assert_eq!(condition.as_deref(), Some("If-Match"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn transport_failures_have_side_effects_only_once_bytes_were_sent() {
        let cases = [
            (transport(RequestSent::No), true, true),
            (transport(RequestSent::Maybe), true, false),
            (
                Error::Timeout {
                    sent: RequestSent::No,
                    after_ms: 1,
                },
                true,
                true,
            ),
            (
                Error::Timeout {
                    sent: RequestSent::Maybe,
                    after_ms: 1,
                },
                true,
                false,
            ),
            (
                Error::Body(io::Error::from(io::ErrorKind::UnexpectedEof)),
                false,
                false,
            ),
            (Error::InvalidInput("x".into()), false, true),
        ];
        for (error, retryable, no_side_effects) in cases {
            assert_eq!(error.is_retryable(), retryable, "{error}");
            assert_eq!(error.has_no_side_effects(), no_side_effects, "{error}");
            assert_eq!(error.status(), None, "{error}");
        }
    }
}
