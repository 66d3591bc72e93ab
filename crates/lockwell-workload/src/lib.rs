//! Lockwell's workloads: what the clients of a run do, as data, and the
//! deterministic generator that turns a spec and a seed into each client's
//! ops. Shared by the simulator, the live checker and the load generator,
//! so that a workload means the same thing to all three.
//!
//! - [`spec`]: [`WorkloadSpec`], read from `workloads/<name>.toml` (a
//!   workload is named by its file's stem) and validated with errors that
//!   name the field.
//! - [`faults`]: [`FaultProfile`]s by name (`none`, `latency`, `lossy`,
//!   `partitions`, `crashes`, `slow-disk`, `chaos`): what the simulator
//!   injects and how often.
//! - [`op`] and [`generator`]: abstract ops ([`Op`]) and [`OpGenerator`],
//!   one independent seeded stream per client.
//! - [`rng`] and [`zipf`]: the seeded stream and the key-skew sampler.
//!
//! # Conventions the checker relies on
//!
//! - Every written value is unique within a run: it carries its client and
//!   op index (`c3-o17`), so a value read (or an ETag, which is the MD5 of
//!   the value, E1) names the one write that produced it.
//! - An idempotency key is unique per (client, op) and belongs to exactly
//!   one object key, so a retry never turns into I2's 422 by accident; it
//!   carries the seed too, so runs against a live endpoint do not collide.
//! - Keys are valid S3 object keys (`k00000042`).
//!
//! This crate does no I/O but reading spec files, and depends on no other
//! Lockwell crate than lockwell-core.

pub mod faults;
pub mod generator;
pub mod op;
pub mod rng;
pub mod spec;
pub mod zipf;

pub use faults::{Bounds, CrashModeWeights, FaultProfile};
pub use generator::{ClientOps, OpGenerator};
pub use op::{CopyCondition, CounterValue, Op, OpKind, WriteCondition};
pub use spec::{Api, ClientApi, KeyChoice, SpecError, WorkloadSpec, workload_names};
