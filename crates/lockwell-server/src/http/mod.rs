//! The S3 API over HTTP/1.1: hyper's http1 connection driver on an accept
//! loop of our own, so the same code runs on tokio and, unchanged, under
//! madsim (no hyper-util executors or timers, no axum).
//!
//! A request goes through, in order (DESIGN.md write path steps 1-3 for
//! writes; [`crate::engine`] does step 4):
//! - [`listener`]: accept, TCP_NODELAY, hyper http1 with the header-size
//!   and idle limits, graceful shutdown;
//! - [`service`]: the in-flight limit (503 SlowDown), the header section
//!   limit, authentication ([`auth`], SPEC A1), routing
//!   (lockwell-proto), panics turned into 500;
//! - [`handlers`]: one module per operation family; writes resolve their
//!   idempotency claim first (I1-I3, I5, I6), then stream the body once
//!   through [`body`] (aws-chunked decoding, every digest in one pass,
//!   exact lengths, K2/K3) and only then call the engine;
//! - [`response`]: XML bodies and AWS error XML, with `Condition` on 412
//!   (C9).
//!
//! Requests under `/_native/v1/` go to [`native`] instead, the native
//! API, before SigV4 authentication (it has bearer tokens of its own).
//!
//! Every limit is a named constant in [`config`] with a field of
//! [`HttpConfig`] to change it.
mod auth;
mod body;
pub mod config;
mod handlers;
pub mod io;
mod listener;
mod native;
mod response;
mod service;

pub use config::{AccessKey, HttpConfig, Limits};
pub use listener::serve;
pub use lockwell_proto::sigv4::SecretKey;
