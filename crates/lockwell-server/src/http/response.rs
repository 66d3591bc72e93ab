//! Building responses: XML bodies, AWS error XML (with `Condition` on a 412,
//! SPEC C9), and the headers every response carries.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use lockwell_core::precondition::Rejected;
use lockwell_proto::xml::{ErrorResponse, XmlResponse};
use lockwell_proto::{ProtoError, S3ErrorCode};

/// Every response body: one buffer, already complete.
pub(crate) type Body = Full<Bytes>;

const XML_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/xml");
pub(crate) const X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");

/// Why a request was not served as asked. Rendered by [`Failure::into_response`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// A refused request: AWS code, status and message.
    Refused(ProtoError),
    /// A precondition outcome of lockwell-core (412, 404 or 304).
    Rejected(Rejected),
}

impl From<ProtoError> for Failure {
    fn from(error: ProtoError) -> Self {
        Self::Refused(error)
    }
}

impl From<Rejected> for Failure {
    fn from(rejected: Rejected) -> Self {
        Self::Rejected(rejected)
    }
}

impl Failure {
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Refused(ProtoError::new(S3ErrorCode::InternalError, message))
    }

    /// The S3 code the response carries; 304 has none.
    pub(crate) fn code(&self) -> Option<S3ErrorCode> {
        match self {
            Self::Refused(error) => Some(error.code),
            Self::Rejected(Rejected::PreconditionFailed { .. }) => {
                Some(S3ErrorCode::PreconditionFailed)
            }
            Self::Rejected(Rejected::NotFound { .. }) => Some(S3ErrorCode::NoSuchKey),
            Self::Rejected(Rejected::NotModified { .. }) => None,
            Self::Rejected(_) => Some(S3ErrorCode::InternalError),
        }
    }

    /// The error response; `resource` is the request path, as AWS puts it
    /// in `<Resource>`.
    pub(crate) fn into_response(self, resource: &str, request_id: &str) -> Response<Body> {
        let resource = Some(resource.to_string());
        let request_id = request_id.to_string();
        match self {
            Self::Refused(error) => xml_response(
                error.status(),
                &ErrorResponse::from_error(&error, resource, request_id),
            ),
            Self::Rejected(Rejected::PreconditionFailed { condition, .. }) => xml_response(
                StatusCode::PRECONDITION_FAILED,
                &ErrorResponse::precondition_failed(condition, resource, request_id),
            ),
            Self::Rejected(Rejected::NotFound { .. }) => {
                let error = no_such_key();
                xml_response(
                    error.status(),
                    &ErrorResponse::from_error(&error, resource, request_id),
                )
            }
            Self::Rejected(Rejected::NotModified { .. }) => empty(StatusCode::NOT_MODIFIED),
            Self::Rejected(other) => {
                let error = ProtoError::new(S3ErrorCode::InternalError, other.to_string());
                xml_response(
                    error.status(),
                    &ErrorResponse::from_error(&error, resource, request_id),
                )
            }
        }
    }
}

pub(crate) fn no_such_key() -> ProtoError {
    ProtoError::new(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
}

pub(crate) fn no_such_bucket() -> ProtoError {
    ProtoError::new(
        S3ErrorCode::NoSuchBucket,
        "The specified bucket does not exist",
    )
}

pub(crate) fn no_such_upload() -> ProtoError {
    ProtoError::new(
        S3ErrorCode::NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may \
         have been aborted or completed.",
    )
}

pub(crate) fn access_denied() -> ProtoError {
    ProtoError::new(S3ErrorCode::AccessDenied, "Access Denied")
}

/// A response with an XML body.
pub(crate) fn xml_response(status: StatusCode, body: &impl XmlResponse) -> Response<Body> {
    let bytes = Bytes::from(body.to_xml());
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, XML_CONTENT_TYPE);
    response
}

/// 200 with an XML body.
pub(crate) fn xml_ok(body: &impl XmlResponse) -> Response<Body> {
    xml_response(StatusCode::OK, body)
}

/// A response without a body.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// A bodiless response that announces `content_len_bytes` (HEAD).
pub(crate) fn head_of(status: StatusCode, content_len_bytes: u64) -> Response<Body> {
    let mut response = empty(status);
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(content_len_bytes));
    response
}

/// Sets a header whose value the server built. A value that is not a valid
/// header (user metadata is checked on the way in, so this means a bug) is
/// left out rather than failing the response.
pub(crate) fn set_header(response: &mut Response<Body>, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    } else {
        tracing::warn!(name, "left out a response header that is not valid HTTP");
    }
}
