//! Deterministic simulation of Lockwell under madsim.
//!
//! Built for real only in the simulation mode (`RUSTFLAGS="--cfg madsim"`,
//! target dir `target/sim`), where `tokio` is madsim's deterministic
//! runtime: every node, socket, timer and random draw comes from one seed,
//! so a failing run replays bit-for-bit from that seed within the same
//! build.
//!
//! - [`history`]: the history format, re-exported from lockwell-check
//!   (free of madsim, shared with the live checker);
//! - [`checks`]: the checks after a run, over a history (free of madsim);
//! - [`driver`]: a workload's ops as client requests, recorded in a
//!   history (both modes: the simulator's clients and `lockwell check`'s);
//! - `world` (simulation mode only): the server node over a simulated
//!   disk, the client nodes running their workload, the fault schedule;
//! - `runner` (simulation mode only): one seed in a fresh runtime, with
//!   its verdict;
//! - the `lockwell-sim` binary: `run`, `campaign` and `determinism`,
//!   wrapped by `cargo xtask sim`.

pub mod checks;
pub mod driver;
pub use lockwell_check::history;
#[cfg(madsim)]
pub mod runner;
#[cfg(madsim)]
pub mod world;
