//! What the HTTP layer is configured with: the region, the access keys and
//! the principals they authenticate, and the limits that bound every
//! connection and request (TIGER_STYLE: each limit named, with a default).

use std::collections::BTreeMap;
use std::time::Duration;

use lockwell_core::idempotency::Principal;
use lockwell_proto::sigv4::SecretKey;

/// Largest request body accepted, decoded (`x-amz-decoded-content-length`
/// for aws-chunked bodies). Bodies are held in memory until they are
/// verified and committed, so this times [`DEFAULT_MAX_IN_FLIGHT_REQUESTS`]
/// bounds the server's body memory. S3 clients switch to multipart uploads
/// at 8 MiB (boto3, the AWS CLI) or 5-100 MiB (other SDKs).
pub const DEFAULT_MAX_BODY_LEN_BYTES: u64 = 64 * 1024 * 1024;

/// Largest request header section accepted (names, values, separators and
/// line ends, the request line excluded), as AWS limits it: larger is 400
/// RequestHeaderSectionTooLarge.
pub const DEFAULT_MAX_HEADER_SECTION_LEN_BYTES: usize = 8 * 1024;

/// hyper's own limit on the request head (request line and headers) is this
/// multiple of the header section limit. It is a backstop that answers a
/// bare 431 and closes the connection; below it the server answers AWS's
/// XML error itself.
pub const HYPER_HEAD_LIMIT_FACTOR: usize = 4;

/// Most header lines in one request; more is refused by hyper with 431.
pub const MAX_HEADER_COUNT: usize = 128;

/// Requests handled at once; the next one gets 503 SlowDown at once, which
/// S3 clients back off from (SPEC R3).
pub const DEFAULT_MAX_IN_FLIGHT_REQUESTS: usize = 256;

/// Time a request's body may take to arrive; past it the request fails
/// with 400 and nothing is stored.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 120_000;

/// Time a connection may sit between requests (or take to send a request
/// head), and a response write may stall, before the connection is closed.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;

/// On shutdown, time given to requests in progress to finish before their
/// connections are dropped.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;

/// The region SigV4 signatures must be scoped to when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A secret and the principal its signatures authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub secret_key: SecretKey,
    /// Who acts: owns the buckets it creates (SPEC A3) and scopes the
    /// idempotency records of its writes (I8).
    pub principal: Principal,
}

/// The bounds of every connection and request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_body_len_bytes: u64,
    pub max_header_section_len_bytes: usize,
    pub max_in_flight_requests: usize,
    pub request_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_len_bytes: DEFAULT_MAX_BODY_LEN_BYTES,
            max_header_section_len_bytes: DEFAULT_MAX_HEADER_SECTION_LEN_BYTES,
            max_in_flight_requests: DEFAULT_MAX_IN_FLIGHT_REQUESTS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            shutdown_grace_ms: DEFAULT_SHUTDOWN_GRACE_MS,
        }
    }
}

impl Limits {
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// Everything the HTTP layer needs besides the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The region signatures are scoped to and GetBucketLocation reports.
    pub region: String,
    /// `Some("s3.example.com")` also routes virtual-hosted requests
    /// (`bucket.s3.example.com`); path-style requests always work.
    pub virtual_host_domain: Option<String>,
    /// Access key id -> its secret and principal. Several keys may share a
    /// principal.
    pub access_keys: BTreeMap<String, AccessKey>,
    pub limits: Limits,
}

impl HttpConfig {
    /// One access key whose principal is named after it, default limits.
    pub fn single_key(access_key_id: &str, secret_key: &str, region: &str) -> Self {
        Self {
            region: region.to_string(),
            virtual_host_domain: None,
            access_keys: BTreeMap::from([(
                access_key_id.to_string(),
                AccessKey {
                    secret_key: SecretKey::new(secret_key),
                    principal: Principal::new(access_key_id),
                },
            )]),
            limits: Limits::default(),
        }
    }
}
