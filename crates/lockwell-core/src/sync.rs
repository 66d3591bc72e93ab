//! The synchronisation primitives of the commit path and the idempotency
//! table: loom's under `--cfg loom`, so that the loom models in
//! `tests/loom.rs` explore every interleaving of the real code, and std's
//! otherwise. Code in this crate takes them from here, never from `std`.

#[cfg(loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};
#[cfg(loom)]
pub use loom::thread;

#[cfg(not(loom))]
pub use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, atomic};
#[cfg(not(loom))]
pub use std::thread;
