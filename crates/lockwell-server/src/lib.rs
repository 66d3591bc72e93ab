//! Lockwell's reference server: the S3 API (and later the native API) over
//! hyper http1, with its own accept loop over `tokio::net::TcpListener` so
//! the same code runs on tokio and, unchanged, under madsim.
//!
//! Layers, outermost first:
//! - [`http`]: accept loop, request parsing with lockwell-proto,
//!   authentication (SigV4), body streaming and checksum verification,
//!   S3 responses and error XML;
//! - [`engine`]: the server's state (buckets, objects through
//!   lockwell-core's commit path, multipart uploads, idempotency records)
//!   with every change made durable through [`storage`] before anyone can
//!   observe it;
//! - [`storage`]: where durability lives, behind a trait: memory, file
//!   (write-ahead log with group commit, data files, recovery), and the
//!   simulator's disk;
//! - [`clock`]: the one place that reads time;
//! - [`buggify`]: fault points that fire only in the simulator;
//! - `planted` (feature `planted-bugs` only): the server's planted bugs,
//!   switched on by name through `lockwell_core::planted`.
pub mod buggify;
pub mod clock;
pub mod engine;
pub mod http;
#[cfg(feature = "planted-bugs")]
mod planted;
pub mod storage;
