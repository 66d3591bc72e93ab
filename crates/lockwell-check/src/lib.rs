//! Lockwell's histories and the checks over them, pure: no clock (time
//! comes in as arguments), no madsim, no sockets. The simulator records a
//! history in simulated time; the live checker records one in real time;
//! both are checked by the same code.
//!
//! - [`history`]: the history format (JSON lines, a trace hash) and the
//!   recorder clients report to.
//! - [`generate`]: deterministic histories of a correct store, and
//!   mutations of them, for tests and benches.
//! - [`linearizability`]: whether a history is linearizable against the
//!   SPEC's object model ([`check`]), and if not, the rule broken, the
//!   smallest failing window and its timeline.

pub mod generate;
pub mod history;
pub mod linearizability;

pub use linearizability::{Limits, Report, Stats, Unknown, Verdict, Violation, check, check_with};
