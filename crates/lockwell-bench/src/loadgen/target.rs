//! What the load generator aims at: a [`Target`] hands each worker a
//! [`Connection`] that executes one request at a time, synchronously.
//!
//! Synchronous on purpose: every worker is an OS thread with its own
//! connection, so a request's latency is never queueing behind another
//! request of the same generator in a shared runtime. An HTTP target runs a
//! current-thread runtime (or a blocking client) inside its connection.

use std::error::Error;

/// A request the generator issues. Keys are object keys within the target's
/// bucket; bodies are the exact bytes to store.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    Get {
        key: &'a str,
    },
    Put {
        key: &'a str,
        body: &'a [u8],
        condition: PutCondition<'a>,
    },
}

impl Request<'_> {
    /// The name histograms use: `get`, `put`, `put_if_none_match` or
    /// `put_if_match`.
    #[must_use]
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::Get { .. } => RequestKind::Get,
            Self::Put { condition, .. } => match condition {
                PutCondition::None => RequestKind::Put,
                PutCondition::IfNoneMatchAny => RequestKind::PutIfNoneMatch,
                PutCondition::IfMatch(_) => RequestKind::PutIfMatch,
            },
        }
    }
}

/// The precondition of a put (SPEC C1, C2).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutCondition<'a> {
    /// Unconditional.
    None,
    /// `If-None-Match: *`: create-only (C1).
    IfNoneMatchAny,
    /// `If-Match: <etag>`: overwrite only this version (C2). The ETag as
    /// the target returned it.
    IfMatch(&'a str),
}

/// Requests by what they do to the store, for histogram names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    Get,
    Put,
    PutIfNoneMatch,
    PutIfMatch,
}

impl RequestKind {
    pub const ALL: [Self; 4] = [Self::Get, Self::Put, Self::PutIfNoneMatch, Self::PutIfMatch];

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::PutIfNoneMatch => "put_if_none_match",
            Self::PutIfMatch => "put_if_match",
        }
    }

    /// Whether a 200 installs a new version.
    #[must_use]
    pub const fn is_write(self) -> bool {
        !matches!(self, Self::Get)
    }

    /// Whether the write carries a precondition that can lose a race.
    #[must_use]
    pub const fn is_conditional_write(self) -> bool {
        matches!(self, Self::PutIfNoneMatch | Self::PutIfMatch)
    }
}

/// How a request ended, by the HTTP status class a client sees. An
/// in-process target maps its outcomes to the same codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// 200: read or written.
    Ok,
    /// 404: no such key (a GET, or an If-Match put on an absent key, C2).
    NotFound,
    /// 409: a conflicting conditional write was in flight (C5).
    Conflict,
    /// 412: the precondition failed (C1, C2).
    PreconditionFailed,
    /// Any 5xx.
    ServerError,
    /// No response within the target's timeout.
    Timeout,
    /// Any 4xx other than 404, 409 and 412 (a refused signature, say): the
    /// generator or its configuration is wrong, not the race.
    OtherClientError,
    /// The connection failed (refused, reset, closed early) or the answer
    /// was unreadable: no status to count.
    TransportError,
}

impl Outcome {
    pub const ALL: [Self; 8] = [
        Self::Ok,
        Self::NotFound,
        Self::Conflict,
        Self::PreconditionFailed,
        Self::ServerError,
        Self::Timeout,
        Self::OtherClientError,
        Self::TransportError,
    ];

    /// The code histograms use: `200`, `404`, `409`, `412`, `5xx`,
    /// `timeout`, `other_4xx`, `transport`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Ok => "200",
            Self::NotFound => "404",
            Self::Conflict => "409",
            Self::PreconditionFailed => "412",
            Self::ServerError => "5xx",
            Self::Timeout => "timeout",
            Self::OtherClientError => "other_4xx",
            Self::TransportError => "transport",
        }
    }

    /// A lost race: the writer should re-read and try again (C5 makes 409
    /// mean the same as 412 to a client).
    #[must_use]
    pub const fn is_conflict(self) -> bool {
        matches!(self, Self::Conflict | Self::PreconditionFailed)
    }

    /// Counted as an error: the request failed for a reason other than
    /// the data (a lost race or an absent key are answers, not errors).
    #[must_use]
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            Self::ServerError | Self::Timeout | Self::OtherClientError | Self::TransportError
        )
    }
}

/// What a request returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub outcome: Outcome,
    /// The object's ETag after a successful read or write (E2).
    pub etag: Option<String>,
}

/// Why a worker could not get a connection.
pub type ConnectError = Box<dyn Error + Send + Sync>;

/// A system under test.
pub trait Target: Sync {
    type Connection: Connection;

    /// A connection for worker `worker_index`, made before the run starts.
    ///
    /// # Errors
    /// The target cannot be reached; the run does not start.
    fn connect(&self, worker_index: usize) -> Result<Self::Connection, ConnectError>;

    /// What the target is, for the result file's config (`{"target":
    /// "inproc", ...}`).
    fn describe(&self) -> serde_json::Value;
}

/// One worker's connection: one request at a time.
pub trait Connection: Send {
    fn execute(&mut self, request: &Request<'_>) -> Response;
}
