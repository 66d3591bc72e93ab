//! The one error type of the S3 wire layer.
//!
//! Every parser in this crate fails with a [`ProtoError`]: an AWS error code
//! (which fixes the HTTP status), and a message for the `<Message>` element.
//! The server renders it with [`crate::xml::ErrorResponse`]; nothing here
//! decides *whether* to answer with an error, only how it is named on the
//! wire (SPEC B1: a malformed request gets a 4xx with a clear code).

use std::fmt;

use http::StatusCode;

/// The AWS S3 error codes Lockwell answers with, each with its HTTP status.
///
/// The names are the exact strings AWS puts in `<Code>`; clients such as
/// botocore dispatch on them, so they are part of the wire contract.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum S3ErrorCode {
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    /// SPEC C5: a conflicting conditional write on the same key is in flight.
    ConditionalRequestConflict,
    EntityTooLarge,
    EntityTooSmall,
    /// SPEC I3.
    IdempotencyKeyInFlight,
    /// SPEC I2.
    IdempotencyKeyMismatch,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidDigest,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    InvalidURI,
    KeyTooLongError,
    MalformedXML,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NotImplemented,
    PreconditionFailed,
    RequestHeaderSectionTooLarge,
    RequestTimeTooSkewed,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    XAmzContentSHA256Mismatch,
}

impl S3ErrorCode {
    /// The string AWS puts in the `<Code>` element.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDenied",
            Self::AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            Self::AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            Self::BadDigest => "BadDigest",
            Self::BucketAlreadyExists => "BucketAlreadyExists",
            Self::BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            Self::BucketNotEmpty => "BucketNotEmpty",
            Self::ConditionalRequestConflict => "ConditionalRequestConflict",
            Self::EntityTooLarge => "EntityTooLarge",
            Self::EntityTooSmall => "EntityTooSmall",
            Self::IdempotencyKeyInFlight => "IdempotencyKeyInFlight",
            Self::IdempotencyKeyMismatch => "IdempotencyKeyMismatch",
            Self::IncompleteBody => "IncompleteBody",
            Self::InternalError => "InternalError",
            Self::InvalidAccessKeyId => "InvalidAccessKeyId",
            Self::InvalidArgument => "InvalidArgument",
            Self::InvalidBucketName => "InvalidBucketName",
            Self::InvalidDigest => "InvalidDigest",
            Self::InvalidPart => "InvalidPart",
            Self::InvalidPartOrder => "InvalidPartOrder",
            Self::InvalidRange => "InvalidRange",
            Self::InvalidRequest => "InvalidRequest",
            Self::InvalidURI => "InvalidURI",
            Self::KeyTooLongError => "KeyTooLongError",
            Self::MalformedXML => "MalformedXML",
            Self::MetadataTooLarge => "MetadataTooLarge",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::MissingContentLength => "MissingContentLength",
            Self::NoSuchBucket => "NoSuchBucket",
            Self::NoSuchKey => "NoSuchKey",
            Self::NoSuchUpload => "NoSuchUpload",
            Self::NotImplemented => "NotImplemented",
            Self::PreconditionFailed => "PreconditionFailed",
            Self::RequestHeaderSectionTooLarge => "RequestHeaderSectionTooLarge",
            Self::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::SlowDown => "SlowDown",
            Self::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
        }
    }

    /// The HTTP status AWS answers this code with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::AuthorizationHeaderMalformed
            | Self::AuthorizationQueryParametersError
            | Self::BadDigest
            | Self::EntityTooLarge
            | Self::EntityTooSmall
            | Self::IncompleteBody
            | Self::InvalidArgument
            | Self::InvalidBucketName
            | Self::InvalidDigest
            | Self::InvalidPart
            | Self::InvalidPartOrder
            | Self::InvalidRequest
            | Self::InvalidURI
            | Self::KeyTooLongError
            | Self::MalformedXML
            | Self::MetadataTooLarge
            | Self::RequestHeaderSectionTooLarge
            | Self::XAmzContentSHA256Mismatch => StatusCode::BAD_REQUEST,
            Self::AccessDenied
            | Self::InvalidAccessKeyId
            | Self::RequestTimeTooSkewed
            | Self::SignatureDoesNotMatch => StatusCode::FORBIDDEN,
            Self::NoSuchBucket | Self::NoSuchKey | Self::NoSuchUpload => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BucketAlreadyExists
            | Self::BucketAlreadyOwnedByYou
            | Self::BucketNotEmpty
            | Self::ConditionalRequestConflict
            | Self::IdempotencyKeyInFlight => StatusCode::CONFLICT,
            Self::MissingContentLength => StatusCode::LENGTH_REQUIRED,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::IdempotencyKeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Self::ServiceUnavailable | Self::SlowDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request the wire layer refuses: an AWS error code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProtoError {
    pub code: S3ErrorCode,
    pub message: String,
}

impl ProtoError {
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status to answer with; fixed by the code.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(S3ErrorCode::InvalidArgument, message)
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(S3ErrorCode::InvalidRequest, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_the_status_aws_answers_with() {
        let cases = [
            (S3ErrorCode::InvalidArgument, 400),
            (S3ErrorCode::InvalidDigest, 400),
            (S3ErrorCode::BadDigest, 400),
            (S3ErrorCode::MalformedXML, 400),
            (S3ErrorCode::IncompleteBody, 400),
            (S3ErrorCode::SignatureDoesNotMatch, 403),
            (S3ErrorCode::RequestTimeTooSkewed, 403),
            (S3ErrorCode::NoSuchKey, 404),
            (S3ErrorCode::ConditionalRequestConflict, 409),
            (S3ErrorCode::MissingContentLength, 411),
            (S3ErrorCode::PreconditionFailed, 412),
            (S3ErrorCode::InvalidRange, 416),
            (S3ErrorCode::IdempotencyKeyMismatch, 422),
            (S3ErrorCode::NotImplemented, 501),
        ];
        for (code, status) in cases {
            assert_eq!(code.status().as_u16(), status, "{code}");
        }
    }

    #[test]
    fn display_names_the_code_then_the_message() {
        let error = ProtoError::new(S3ErrorCode::InvalidDigest, "Content-MD5 is not base64");
        assert_eq!(
            error.to_string(),
            "InvalidDigest: Content-MD5 is not base64"
        );
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
