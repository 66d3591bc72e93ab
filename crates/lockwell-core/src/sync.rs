//! The synchronisation primitives of the commit path and the idempotency
//! table: loom's under `--cfg loom`, so that the loom models in
//! `tests/loom.rs` explore every interleaving of the real code, and std's
//! otherwise. The store's locks and atomics come from here, never from
//! `std`. Immutable values shared through an `Arc` (object versions and
//! their bytes) use std's: there is nothing in them to interleave, and
//! loom's `Arc` would only multiply the executions to explore.

#[cfg(loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};
#[cfg(loom)]
pub use loom::thread;

#[cfg(not(loom))]
pub use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};
#[cfg(not(loom))]
pub use std::thread;
