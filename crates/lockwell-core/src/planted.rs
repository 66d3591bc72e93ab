//! PLANTED BUGS, compiled only with the `planted-bugs` feature, which no
//! shipped build turns on: the registry of deliberate SPEC violations that
//! the simulator must catch, to prove that it finds what it claims
//! (DESIGN.md, "a catalog of planted bugs"; `docs/planted-bugs.md`).
//!
//! Every bug is compiled into a planted build and OFF until switched on by
//! name, once, at the start of a process ([`enable`]): the simulator's
//! `--bug NAME` does it before its first seed, so one planted binary runs
//! every bug's campaign, each seed in a process of its own. The hooks at
//! the bug sites (lockwell-server's and lockwell-client's `planted`
//! modules) ask [`is_enabled`]; in a build without the feature neither the
//! registry nor the hooks exist.
//!
//! The setting is process-wide and never changes while a run is under way,
//! so a seed replays the same with the same `--bug`.
//!
//! Separate from this registry, the same feature opens a check-then-act
//! window in each of the store's commit-path operations under `--cfg loom`
//! only (`store.rs`): the loom models' planted bugs
//! (`cargo xtask loom --planted`). A synchronous window can only interleave
//! with another thread, which the single-threaded simulator has not.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where a planted bug lives.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Server,
    Client,
}

impl Layer {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }
}

/// Every planted bug. The name ([`PlantedBug::name`]) is what `--bug`
/// takes; the docs say what breaks and which real-world failure it models.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlantedBug {
    /// C3: a put's precondition is evaluated when the request arrives and
    /// the object is installed after its body is read, without evaluating
    /// it again.
    PutPreconditionBeforeBody,
    /// C4: a put whose precondition failed answers 412 and installs its
    /// object anyway.
    FailedPreconditionInstalls,
    /// E2: a put answers with the ETag of the version it replaced.
    PutAcksPreviousEtag,
    /// E4: a write is answered once its log record is ordered, before the
    /// log is durable up to it.
    AckBeforeFsync,
    /// E4: a log sync marks the log durable up to its end when the fsync
    /// returns, so records appended during the fsync are answered while
    /// still unsynced.
    GroupCommitAcksLateJoiners,
    /// E4: recovery takes the last complete record of the log for a torn
    /// one and truncates it.
    RecoveryDropsLastRecord,
    /// I1: an idempotent replay answers the key's current ETag instead of
    /// the stored result.
    ReplayReturnsCurrentObject,
    /// C7: a copy checks its destination condition, reads the source, and
    /// installs in a later step without checking again.
    CopyCheckThenAct,
    /// C2: If-Match on a missing key answers 412 instead of 404.
    IfMatchMissingKey412,
    /// C6: the S3 API's PutObject ignores If-None-Match and If-Match.
    S3PutIgnoresConditions,
    /// E4: a read cache in front of the store is invalidated by puts and
    /// copies but not by deletes.
    DeleteSkipsReadCache,
    /// R4: the S3 client retries a PutObject without an idempotency key.
    S3RetriesUnkeyedPut,
    /// R4: the native client takes a body checksum for an idempotency key
    /// and retries any checksummed put.
    NativeChecksumAsIdempotencyKey,
    /// R1: after a 401 the native client re-mints and sends again with the
    /// token it held before, without a bound.
    NativeRemintLoopsForever,
    /// R3: the clients retry without backoff and without their budget.
    RetriesWithoutBackoffOrBudget,
}

impl PlantedBug {
    /// Every planted bug, in catalog order.
    pub const ALL: [Self; 15] = [
        Self::PutPreconditionBeforeBody,
        Self::FailedPreconditionInstalls,
        Self::PutAcksPreviousEtag,
        Self::AckBeforeFsync,
        Self::GroupCommitAcksLateJoiners,
        Self::RecoveryDropsLastRecord,
        Self::ReplayReturnsCurrentObject,
        Self::CopyCheckThenAct,
        Self::IfMatchMissingKey412,
        Self::S3PutIgnoresConditions,
        Self::DeleteSkipsReadCache,
        Self::S3RetriesUnkeyedPut,
        Self::NativeChecksumAsIdempotencyKey,
        Self::NativeRemintLoopsForever,
        Self::RetriesWithoutBackoffOrBudget,
    ];

    /// The name `--bug` takes.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::PutPreconditionBeforeBody => "put-precondition-before-body",
            Self::FailedPreconditionInstalls => "failed-precondition-installs",
            Self::PutAcksPreviousEtag => "put-acks-previous-etag",
            Self::AckBeforeFsync => "ack-before-fsync",
            Self::GroupCommitAcksLateJoiners => "group-commit-acks-late-joiners",
            Self::RecoveryDropsLastRecord => "recovery-drops-last-record",
            Self::ReplayReturnsCurrentObject => "replay-returns-current-object",
            Self::CopyCheckThenAct => "copy-check-then-act",
            Self::IfMatchMissingKey412 => "if-match-missing-key-412",
            Self::S3PutIgnoresConditions => "s3-put-ignores-conditions",
            Self::DeleteSkipsReadCache => "delete-skips-read-cache",
            Self::S3RetriesUnkeyedPut => "s3-retries-unkeyed-put",
            Self::NativeChecksumAsIdempotencyKey => "native-checksum-as-idempotency-key",
            Self::NativeRemintLoopsForever => "native-remint-loops-forever",
            Self::RetriesWithoutBackoffOrBudget => "retries-without-backoff-or-budget",
        }
    }

    /// The bug named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|bug| bug.name() == name)
    }

    /// The SPEC rule the bug breaks.
    #[must_use]
    pub const fn rule(self) -> &'static str {
        match self {
            Self::PutPreconditionBeforeBody => "C3",
            Self::FailedPreconditionInstalls => "C4",
            Self::PutAcksPreviousEtag => "E2",
            Self::AckBeforeFsync | Self::GroupCommitAcksLateJoiners => "E4",
            Self::RecoveryDropsLastRecord | Self::DeleteSkipsReadCache => "E4",
            Self::ReplayReturnsCurrentObject => "I1",
            Self::CopyCheckThenAct => "C7",
            Self::IfMatchMissingKey412 => "C2",
            Self::S3PutIgnoresConditions => "C6",
            Self::S3RetriesUnkeyedPut | Self::NativeChecksumAsIdempotencyKey => "R4",
            Self::NativeRemintLoopsForever => "R1",
            Self::RetriesWithoutBackoffOrBudget => "R3",
        }
    }

    #[must_use]
    pub const fn layer(self) -> Layer {
        match self {
            Self::S3RetriesUnkeyedPut
            | Self::NativeChecksumAsIdempotencyKey
            | Self::NativeRemintLoopsForever
            | Self::RetriesWithoutBackoffOrBudget => Layer::Client,
            _ => Layer::Server,
        }
    }

    /// What the bug does, in a sentence.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::PutPreconditionBeforeBody => {
                "a put's If-None-Match/If-Match is evaluated before its body is read and the \
                 object installed afterwards without evaluating it again: two racers both pass"
            }
            Self::FailedPreconditionInstalls => {
                "a put whose precondition failed answers 412 but installs its object anyway"
            }
            Self::PutAcksPreviousEtag => {
                "an overwriting put answers with the ETag of the version it replaced"
            }
            Self::AckBeforeFsync => {
                "a write is answered once its log record is ordered, before the log is fsynced \
                 up to it"
            }
            Self::GroupCommitAcksLateJoiners => {
                "a log sync marks the log durable up to the log's end when its fsync returns, \
                 not up to the end it took before: records appended during the fsync are \
                 answered and stay unsynced"
            }
            Self::RecoveryDropsLastRecord => {
                "recovery takes the log's last complete record for a torn one and truncates it"
            }
            Self::ReplayReturnsCurrentObject => {
                "an idempotent replay answers the key's current ETag instead of the stored result"
            }
            Self::S3PutIgnoresConditions => {
                "the S3 API's PutObject drops If-None-Match and If-Match and writes \
                 unconditionally (the native API still honours them)"
            }
            Self::CopyCheckThenAct => {
                "a copy checks its conditions, then installs the source's bytes in a later step \
                 without checking the destination again"
            }
            Self::IfMatchMissingKey412 => {
                "If-Match on a missing key answers 412 PreconditionFailed instead of 404 NoSuchKey"
            }
            Self::DeleteSkipsReadCache => {
                "a read cache in front of the store is invalidated by puts and copies but not by \
                 deletes: a deleted object is still served"
            }
            Self::S3RetriesUnkeyedPut => {
                "the S3 client retries a PutObject without an idempotency key after a timeout or \
                 transport error"
            }
            Self::NativeChecksumAsIdempotencyKey => {
                "the native client treats a put's body checksum as if it were an idempotency key \
                 and retries every checksummed put"
            }
            Self::NativeRemintLoopsForever => {
                "after a 401 the native client re-mints and sends again, without a bound, with \
                 the token it held before the re-mint"
            }
            Self::RetriesWithoutBackoffOrBudget => {
                "both clients retry at once, without backoff, and without taking tokens from \
                 their retry budget"
            }
        }
    }

    /// The real-world failure the bug models.
    #[must_use]
    pub const fn models(self) -> &'static str {
        match self {
            Self::PutPreconditionBeforeBody => {
                "servers that check If-None-Match on the request headers and write the object \
                 when the upload finishes (S3 gateways over a plain filesystem; C3's \
                 'also not across a multi-step body upload')"
            }
            Self::FailedPreconditionInstalls => {
                "write-then-check servers that store first and answer the failed condition \
                 without rolling back (peers that keep the object after a BadDigest, K2)"
            }
            Self::PutAcksPreviousEtag => {
                "a response built from a metadata lookup made before the install (read-your-write \
                 bugs of caching front ends)"
            }
            Self::AckBeforeFsync => {
                "fsync skipped or made asynchronous for latency (write-back caches, \
                 `fsync = off`); acknowledged writes vanish in a power loss"
            }
            Self::GroupCommitAcksLateJoiners => {
                "the classic group-commit bug: publishing the current log end as durable after \
                 an fsync that covered only the records before its snapshot"
            }
            Self::RecoveryDropsLastRecord => {
                "an off-by-one in a write-ahead log's tail scan (end-of-file treated as a short \
                 read), losing the newest acknowledged write after every restart"
            }
            Self::ReplayReturnsCurrentObject => {
                "idempotency layers that store only 'done' and rebuild the answer from the \
                 current object (Stripe-style keys done wrong)"
            }
            Self::S3PutIgnoresConditions => {
                "S3 itself before August 2024 and many S3-compatible stores: the conditional \
                 headers of PutObject are accepted and silently ignored"
            }
            Self::CopyCheckThenAct => {
                "CopyObject implemented as HEAD destination, GET source, PUT destination"
            }
            Self::IfMatchMissingKey412 => {
                "RFC 9110's answer for If-Match on a missing resource (412) where AWS S3 answers \
                 404, which clients use to tell 'gone' from 'changed' (C2)"
            }
            Self::DeleteSkipsReadCache => {
                "a metadata cache whose invalidation was added to the write paths and forgotten \
                 on the delete path"
            }
            Self::S3RetriesUnkeyedPut => {
                "SDK retry policies that retry every request on a timeout, duplicating \
                 non-idempotent writes (a lost increment applied twice)"
            }
            Self::NativeChecksumAsIdempotencyKey => {
                "confusing integrity with idempotency: a checksum proves the bytes, not that the \
                 server has not applied them already"
            }
            Self::NativeRemintLoopsForever => {
                "token refresh loops that capture the old token in a closure and retry without a \
                 limit, hammering the auth service"
            }
            Self::RetriesWithoutBackoffOrBudget => {
                "retry storms: every client retrying at once against a failing server, keeping \
                 it down (R3's budget exists for this)"
            }
        }
    }
}

impl std::fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The bugs switched on in this process, one bit each (index in
/// [`PlantedBug::ALL`]).
static ENABLED: AtomicU64 = AtomicU64::new(0);

const _: () = assert!(PlantedBug::ALL.len() <= u64::BITS as usize);

fn bit(bug: PlantedBug) -> u64 {
    let index = PlantedBug::ALL
        .iter()
        .position(|candidate| *candidate == bug)
        .expect("every bug is in ALL");
    1 << index
}

/// Switches `bug` on for the rest of the process. Call before the first
/// run, not during one.
pub fn enable(bug: PlantedBug) {
    ENABLED.fetch_or(bit(bug), Ordering::SeqCst);
}

/// Whether `bug` is switched on in this process.
#[must_use]
pub fn is_enabled(bug: PlantedBug) -> bool {
    ENABLED.load(Ordering::Relaxed) & bit(bug) != 0
}

/// The bugs switched on in this process.
#[must_use]
pub fn enabled() -> Vec<PlantedBug> {
    PlantedBug::ALL
        .into_iter()
        .filter(|bug| is_enabled(*bug))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_bug_has_a_unique_name_that_round_trips_and_a_rule_and_documentation() {
        let names: BTreeSet<&str> = PlantedBug::ALL.iter().map(|bug| bug.name()).collect();
        assert_eq!(names.len(), PlantedBug::ALL.len());
        for bug in PlantedBug::ALL {
            assert_eq!(PlantedBug::from_name(bug.name()), Some(bug));
            assert!(!bug.rule().is_empty());
            assert!(bug.description().len() > 20, "{bug}");
            assert!(bug.models().len() > 20, "{bug}");
        }
        assert_eq!(PlantedBug::from_name("no-such-bug"), None);
    }

    #[test]
    fn a_bug_is_off_until_enabled_and_enabling_one_leaves_the_others_off() {
        // The only test that enables anything: the setting is process-wide.
        let bug = PlantedBug::IfMatchMissingKey412;
        assert!(!is_enabled(bug));
        enable(bug);
        assert!(is_enabled(bug));
        assert_eq!(enabled(), vec![bug]);
    }
}
