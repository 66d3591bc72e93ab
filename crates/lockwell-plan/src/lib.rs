//! Capacity planning for Lockwell: a model fitted to a measured sweep
//! (`lockwell bench sweep`), its predictions with intervals, answers to
//! capacity questions, and hold-out validation that shows how wrong the
//! model is on points it never saw.
//!
//! The parts, each documented in its module with its formula, assumptions
//! and where it breaks:
//!
//! - [`usl`]: request throughput against requests in flight (Universal
//!   Scalability Law, least squares, or its logarithmic-coherency variant
//!   when that extrapolates better within the fitted points; a factor for
//!   a lone request in flight);
//! - [`keys`]: per-key access probabilities under zipf skew;
//! - [`conflict`]: the probability that a compare-and-swap loses, retry
//!   amplification, backoff sleep;
//! - [`latency`]: mean latency from Little's law, p50/p99 from a fitted
//!   tail shape, and the Little's-law check of every measured point;
//! - [`checksum`]: CPU-seconds per GiB and cores for an ingest rate;
//! - [`model`]: [`fit`] a [`Sweep`] into a [`Model`], whose
//!   [`Model::predict`] composes the parts for any workload and
//!   concurrency;
//! - [`answer`]: capacity questions (SLO, clients, goodput target);
//! - [`validate`](mod@validate): fit on part of a sweep, predict the rest.
//!
//! The crate is pure: it reads nothing and writes nothing; callers hand it
//! parsed result files ([`lockwell_results::RunResult`]) and JSON values.

pub mod answer;
pub mod checksum;
pub mod conflict;
pub mod keys;
pub mod latency;
pub mod model;
pub mod sweep;
pub mod usl;
pub mod validate;

pub use answer::{Answer, GoodputAnswer, Question, Refusal, Slo, SloAnswer, answer};
pub use checksum::{ChecksumCosts, CoresEstimate};
pub use model::{Estimate, FitError, Model, PredictError, Prediction, fit};
pub use sweep::{Measured, Mix, Sweep, SweepPoint, Workload};
pub use validate::{HoldOut, Validation, ValidationRow, validate};
