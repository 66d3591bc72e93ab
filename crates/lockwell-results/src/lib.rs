//! Lockwell's result files and the statistics that compare them.
//!
//! Every instrument run (a `lockwell bench` run, a sweep point, a criterion
//! summary, a simulator campaign) writes one [`RunResult`]: schema version,
//! git commit and dirty flag, machine fingerprint, toolchain, config, named
//! metrics with units and direction, and latency histograms stored losslessly
//! ([`histogram`]). [`compare`] decides regressions from repeated runs of
//! two builds ([`compare`](mod@compare) explains why it works the way it
//! does).
//!
//! The crate is pure: it reads and writes result files only through the
//! readers, writers and paths handed to it, and never collects anything
//! about the machine itself (the producer fills in [`MachineFingerprint`]).

pub mod compare;
pub mod histogram;
pub mod schema;
pub mod stats;

pub use compare::{
    Comparison, MetricComparison, Thresholds, Verdict, aa_noise_thresholds, compare,
};
pub use histogram::{HistogramRecord, Percentiles};
pub use schema::{
    Better, GitState, MachineFingerprint, Metric, ReadError, ResultKind, RunResult, SCHEMA_VERSION,
    SchemaVersion, WriteError, read_result, read_result_file, write_new_result_file, write_result,
};
