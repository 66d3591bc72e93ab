//! Sans-I/O domain of Lockwell.
//!
//! Everything a server, a client, the simulator's reference model and the
//! history checker must agree on lives here: the object model and ETags
//! (SPEC E1-E3), precondition evaluation (C1-C8), the store's commit path
//! (the part the loom models check), the idempotency table (I1-I3, I7) and
//! the checksum engines (K1).
//!
//! This crate performs no I/O: no sockets, no files, no clocks, no OS
//! randomness. Time comes in as arguments; a tidy test enforces that it
//! depends on no I/O crate.
pub mod checksum;
pub mod idempotency;
pub mod object;
#[cfg(feature = "planted-bugs")]
pub mod planted;
pub mod precondition;
pub mod store;
pub mod sync;

pub use idempotency::{ClaimOutcome, ClaimTicket, Fingerprint, IdempotencyScope};
pub use object::{BucketName, ETag, NewObject, ObjectKey, ObjectPath, ObjectVersion};
pub use precondition::{Condition, Rejected, Rule};
pub use store::{CommitError, CommitRecord, Committed, Journal, NoJournal, Store, StoreConfig};
