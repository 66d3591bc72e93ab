//! Lockwell's clients and the plumbing they share.
//!
//! [`S3Client`] speaks plain S3 to any endpoint: SigV4 header signing
//! (SPEC R5), conditional writes (C1-C8), idempotency keys (I1, I5, I6),
//! and the idempotency-aware retry policy (R3, R4) with typed errors (R6).
//! [`NativeClient`] speaks the native API (`docs/native-api.md`) on the
//! same plumbing: bearer tokens refreshed before expiry and re-minted once
//! on a 401 (R1), streamed bodies never replayed (R2), a checksum required
//! with an idempotency key (I4).
//!
//! Shared by every client:
//! - [`transport`]: hyper's `client::conn::http1` over a stream from a
//!   [`Connector`] (TCP with TCP_NODELAY by default; the simulator's or a
//!   test's own), a bounded idle pool per endpoint, per-attempt timeouts,
//!   and whether a failed request can have reached the server;
//! - [`retry`]: the retry policy as data (verdict, jittered backoff,
//!   client-wide budget);
//! - [`error`]: the typed error with `is_retryable` / `has_no_side_effects`;
//! - [`observe`]: per-attempt and per-request events for the simulator's
//!   histories and the load generator's histograms;
//! - [`runtime`]: the clock and randomness, injected.
//!
//! [`native`] sits beside [`s3`]: it owns an `exec::HttpCore` (transport,
//! retry policy and budget, clock, randomness, observer), builds each
//! attempt's request in a closure (its bearer token instead of a
//! signature), and maps its JSON errors with [`Error::from_service`]. Its
//! operations are observed under the S3 operation of the same name.
//!
//! Runs under madsim unchanged (`tests/sim.rs`): tokio is madsim-tokio,
//! connections are driven by the runtime's `spawn`, timeouts and latencies
//! use the runtime's clock, wall-clock time comes from [`runtime::Clock`]
//! and randomness from a seeded [`runtime::Random`]. No hyper-util
//! executor or timer, no OS randomness, no threads.
mod body;
pub mod conditions;
pub mod error;
mod exec;
mod io;
pub mod native;
pub mod observe;
#[cfg(feature = "planted-bugs")]
pub mod planted;
mod pool;
pub mod retry;
pub mod runtime;
pub mod s3;
pub mod transport;

pub use body::STREAMING_CHUNK_LEN_BYTES;
pub use conditions::{ByteRange, ReadConditions, WriteCondition};
pub use error::{Error, RequestSent, ServiceError};
pub use exec::ClientRuntime;
pub use lockwell_core::ETag;
pub use lockwell_core::checksum::ChecksumAlgorithm;
pub use lockwell_core::idempotency::IdempotencyKey;
pub use native::{NativeClient, NativeConfig};
pub use observe::{AttemptEvent, Observer, Operation, Outcome, RequestEvent};
pub use retry::{BudgetConfig, RetryBudget, RetryPolicy};
pub use runtime::{Clock, Random, RuntimeClock, SeededRandom};
pub use s3::{ConfigError, S3Client, S3Config};
pub use transport::{Connector, Endpoint, TcpConnector, TransportConfig};
