//! Lockwell's histories and the checks over them, pure: no clock (time
//! comes in as arguments), no madsim, no sockets. The simulator records a
//! history in simulated time; the live checker records one in real time;
//! both are checked by the same code.
//!
//! - [`history`]: the history format (JSON lines, a trace hash) and the
//!   recorder clients report to.

pub mod history;
