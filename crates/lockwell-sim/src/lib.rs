//! Deterministic simulation of Lockwell under madsim.
//!
//! Built only in the simulation mode (`RUSTFLAGS="--cfg madsim"`, target dir
//! `target/sim`), where `tokio` is madsim's deterministic runtime: every node,
//! socket, timer and random draw comes from one seed, so a failing run replays
//! bit-for-bit from that seed within the same build.
//!
//! This crate grows into the full world of DESIGN.md (server and client nodes,
//! fault schedules, history recording); today it holds the history format
//! ([`history`], free of madsim so it is tested in normal builds too) and the
//! tests that prove the simulation mode itself works on a clean machine.

pub mod history;
