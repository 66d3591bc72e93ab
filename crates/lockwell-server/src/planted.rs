//! PLANTED BUGS of the server, compiled only with the `planted-bugs`
//! feature (never in a shipped build) and each inert until switched on by
//! name ([`lockwell_core::planted`], the registry; `docs/planted-bugs.md`,
//! the catalog). The hooks at the bug sites call into this module, so a
//! site carries one `#[cfg(feature = "planted-bugs")]` line and the bug's
//! logic lives here, next to the others.
//!
//! The simulator is single-threaded: a check-then-act window only opens
//! where the code awaits between checking and acting, so the windows here
//! sleep for [`CHECK_THEN_ACT_WINDOW_MS`], the time a body upload or a
//! second round trip to a metadata service would take.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockwell_core::planted::{PlantedBug, is_enabled};
use lockwell_core::precondition::{
    Condition, CopyDestinationCondition, ValidatorConditions, Validators, WriteConditions,
    evaluate_copy_destination, evaluate_copy_source, evaluate_write,
};
use lockwell_core::store::{CopyRequest, Store};
use lockwell_core::{Committed, ETag, NewObject, ObjectPath, ObjectVersion, Rejected, Rule};

use crate::engine::WriteMode;

/// How long a planted check-then-act window stays open: about a body
/// upload over the simulator's network.
pub(crate) const CHECK_THEN_ACT_WINDOW_MS: u64 = 20;

async fn check_then_act_window() {
    tokio::time::sleep(Duration::from_millis(CHECK_THEN_ACT_WINDOW_MS)).await;
}

/// [`PlantedBug::S3PutIgnoresConditions`]: the conditions an S3 PutObject
/// is committed under.
pub(crate) fn s3_put_conditions(conditions: WriteConditions) -> WriteConditions {
    if is_enabled(PlantedBug::S3PutIgnoresConditions) {
        WriteConditions::default()
    } else {
        conditions
    }
}

/// The planted bugs of one PutObject around its commit.
pub(crate) struct PutHooks {
    /// [`PlantedBug::PutAcksPreviousEtag`]: the ETag the key had before.
    previous_etag: Option<ETag>,
    /// [`PlantedBug::FailedPreconditionInstalls`]: the object, kept to be
    /// installed after a rejection.
    installed_despite_rejection: Option<NewObject>,
    /// [`PlantedBug::IfMatchMissingKey412`]: the put carried If-Match.
    had_if_match: bool,
}

impl PutHooks {
    /// Before the commit. [`PlantedBug::PutPreconditionBeforeBody`]
    /// evaluates a plain put's conditions here, answers a failure at once,
    /// and otherwise waits (the body's upload) and commits with none.
    pub(crate) async fn before_commit(
        store: &Store,
        path: &ObjectPath,
        object: &NewObject,
        mode: WriteMode,
    ) -> Result<(WriteMode, Self), Rejected> {
        let plain = match &mode {
            WriteMode::Plain(conditions) => Some(conditions),
            WriteMode::Idempotent(_) => None,
        };
        let hooks = Self {
            previous_etag: is_enabled(PlantedBug::PutAcksPreviousEtag)
                .then(|| store.get(path).map(|version| version.etag.clone()))
                .flatten(),
            installed_despite_rejection: (is_enabled(PlantedBug::FailedPreconditionInstalls)
                && plain.is_some())
            .then(|| object.clone()),
            had_if_match: plain.is_some_and(|conditions| conditions.if_match.is_some()),
        };
        let mode = match plain {
            Some(conditions)
                if is_enabled(PlantedBug::PutPreconditionBeforeBody)
                    && *conditions != WriteConditions::default() =>
            {
                let current = store.get(path);
                evaluate_write(current.as_ref().map(|version| &version.etag), conditions)?;
                check_then_act_window().await;
                WriteMode::Plain(WriteConditions::default())
            }
            _ => mode,
        };
        Ok((mode, hooks))
    }

    /// [`PlantedBug::FailedPreconditionInstalls`]: the object to install
    /// although the commit was rejected.
    pub(crate) fn install_despite(
        &mut self,
        result: &Result<Result<Committed, Rejected>, crate::engine::EngineError>,
    ) -> Option<NewObject> {
        match result {
            Ok(Err(Rejected::PreconditionFailed { .. })) => self.installed_despite_rejection.take(),
            _ => None,
        }
    }

    /// The answer the put gives: [`PlantedBug::PutAcksPreviousEtag`] and
    /// [`PlantedBug::IfMatchMissingKey412`].
    pub(crate) fn answer<E>(
        self,
        result: Result<Result<Committed, Rejected>, E>,
    ) -> Result<Result<Committed, Rejected>, E> {
        result.map(|outcome| match outcome {
            Ok(mut committed) => {
                if let Some(previous) = self.previous_etag {
                    committed.etag = previous;
                }
                Ok(committed)
            }
            Err(Rejected::NotFound { rule: Rule::C2 })
                if self.had_if_match && is_enabled(PlantedBug::IfMatchMissingKey412) =>
            {
                Err(Rejected::PreconditionFailed {
                    rule: Rule::C2,
                    condition: Condition::IfMatch,
                })
            }
            Err(rejected) => Err(rejected),
        })
    }
}

/// [`PlantedBug::ReplayReturnsCurrentObject`]: the result a replay
/// answers, rebuilt from the key's current version.
pub(crate) fn replayed(
    store: &Store,
    path: &ObjectPath,
    stored: Result<Committed, Rejected>,
) -> Result<Committed, Rejected> {
    if !is_enabled(PlantedBug::ReplayReturnsCurrentObject) {
        return stored;
    }
    stored.map(|committed| match store.get(path) {
        Some(current) => Committed::from(current.as_ref()),
        None => committed,
    })
}

/// [`PlantedBug::CopyCheckThenAct`]: checks the copy's conditions now,
/// waits, and returns the request to commit afterwards without them (the
/// source copied is whatever is there then); `Ok(None)` when the bug is
/// off.
pub(crate) async fn copy_check_then_act(
    store: &Store,
    request: &CopyRequest,
) -> Result<Option<CopyRequest>, Rejected> {
    if !is_enabled(PlantedBug::CopyCheckThenAct) {
        return Ok(None);
    }
    let source = store.get(&request.source);
    evaluate_copy_source(
        source.as_deref().map(Validators::from),
        &request.source_conditions,
    )?;
    let destination = store.get(&request.destination);
    evaluate_copy_destination(
        destination.as_ref().map(|version| &version.etag),
        &request.destination_condition,
    )?;
    check_then_act_window().await;
    Ok(Some(CopyRequest {
        source_conditions: ValidatorConditions::default(),
        destination_condition: CopyDestinationCondition::Unconditional,
        ..request.clone()
    }))
}

/// [`PlantedBug::DeleteSkipsReadCache`]: a cache of versions in front of
/// the store, filled by reads, emptied for a key by the writes that
/// install (puts, completions, copies) and not by deletes. Empty and
/// unused while the bug is off.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    versions: Mutex<BTreeMap<ObjectPath, Arc<ObjectVersion>>>,
}

impl ReadCache {
    /// The version a read answers: the cached one, else the store's (then
    /// cached).
    pub(crate) fn read_through(
        &self,
        path: &ObjectPath,
        stored: Option<Arc<ObjectVersion>>,
    ) -> Option<Arc<ObjectVersion>> {
        if !is_enabled(PlantedBug::DeleteSkipsReadCache) {
            return stored;
        }
        let mut versions = self.versions.lock().expect("the cache is never poisoned");
        if let Some(cached) = versions.get(path) {
            return Some(Arc::clone(cached));
        }
        if let Some(version) = &stored {
            versions.insert(path.clone(), Arc::clone(version));
        }
        stored
    }

    /// A write installed a new version at `path`.
    pub(crate) fn invalidate(&self, path: &ObjectPath) {
        if is_enabled(PlantedBug::DeleteSkipsReadCache) {
            self.versions
                .lock()
                .expect("the cache is never poisoned")
                .remove(path);
        }
    }
}

/// [`PlantedBug::AckBeforeFsync`]: whether answers skip the wait for the
/// log to be durable up to what they observed.
pub(crate) fn ack_before_fsync() -> bool {
    is_enabled(PlantedBug::AckBeforeFsync)
}

/// [`PlantedBug::GroupCommitAcksLateJoiners`]: whether a sync marks the
/// log durable up to its end when the fsync returns, instead of up to the
/// end it took before the fsync.
pub(crate) fn group_commit_acks_late_joiners() -> bool {
    is_enabled(PlantedBug::GroupCommitAcksLateJoiners)
}

/// [`PlantedBug::RecoveryDropsLastRecord`]: whether recovery drops the
/// last complete record of the log.
pub(crate) fn recovery_drops_last_record() -> bool {
    is_enabled(PlantedBug::RecoveryDropsLastRecord)
}
