//! Per-request observability hooks: what the simulator records into its
//! histories and the load generator into its histograms.
//!
//! An [`Observer`] hears of every attempt (its latency, outcome, and the
//! backoff before the next one) and of every request as the caller sees it
//! (attempts made, total latency including backoffs, final outcome, and
//! why retrying stopped). Latencies come from `tokio::time`, so they are
//! virtual under madsim. Observers are called inline: they must be quick
//! and must not block (send to a channel, bump a histogram).

use std::time::Duration;

use crate::error::Error;
use crate::retry::StopReason;

/// Which client operation a request is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    ListObjectsV2,
    PutObject,
    PutObjectStreaming,
    GetObject,
    HeadObject,
    DeleteObject,
    DeleteObjects,
    CopyObject,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
}

impl Operation {
    /// A stable name, for metric labels and history records.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::CreateBucket => "CreateBucket",
            Self::HeadBucket => "HeadBucket",
            Self::DeleteBucket => "DeleteBucket",
            Self::ListObjectsV2 => "ListObjectsV2",
            Self::PutObject => "PutObject",
            Self::PutObjectStreaming => "PutObjectStreaming",
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::DeleteObject => "DeleteObject",
            Self::DeleteObjects => "DeleteObjects",
            Self::CopyObject => "CopyObject",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::CompleteMultipartUpload => "CompleteMultipartUpload",
            Self::AbortMultipartUpload => "AbortMultipartUpload",
        }
    }
}

/// How an attempt or a request ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The server answered with the success status the operation expects.
    Succeeded { status: u16 },
    /// Anything else; [`Error::has_no_side_effects`] tells a definite
    /// failure from an indeterminate one.
    Failed(&'a Error),
}

/// One attempt of a request.
#[derive(Debug, Clone, Copy)]
pub struct AttemptEvent<'a> {
    pub operation: Operation,
    /// 1-based.
    pub attempt: u32,
    pub latency: Duration,
    pub outcome: Outcome<'a>,
    /// The backoff before the next attempt, if there is one.
    pub retry_after: Option<Duration>,
}

/// A request as the caller saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestEvent<'a> {
    pub operation: Operation,
    pub attempts: u32,
    /// From the first attempt's start to the answer, backoffs included.
    pub latency: Duration,
    pub outcome: Outcome<'a>,
    /// Why the last failure was not retried; `None` on success.
    pub stopped: Option<StopReason>,
}

/// Receives request and attempt events.
pub trait Observer: Send + Sync {
    fn on_attempt(&self, _event: &AttemptEvent<'_>) {}

    fn on_request(&self, event: &RequestEvent<'_>);
}

impl std::fmt::Debug for dyn Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Observer")
    }
}

/// A closure observes requests (not attempts).
impl<F> Observer for F
where
    F: Fn(&RequestEvent<'_>) + Send + Sync,
{
    fn on_request(&self, event: &RequestEvent<'_>) {
        self(event);
    }
}
