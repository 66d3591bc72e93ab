//! Loom models of the commit path and the idempotency table: every
//! interleaving (up to the preemption bound) of a few threads racing on one
//! key, against the real `Store`, whose locks and atomics come from loom
//! under `--cfg loom` (see `lockwell_core::sync`).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p lockwell-core --release --test loom --target-dir target/loom
//! ```
//!
//! Each model must also FAIL with `--features planted-bugs`, which opens a
//! check-then-act window in every operation (`cargo xtask loom --planted`);
//! a model that passes there cannot see the bug it exists for. Each model
//! prints how many executions it explored (or explored before it failed).
//!
//! The preemption bound is `LOOM_MAX_PREEMPTIONS`, or
//! [`DEFAULT_PREEMPTION_BOUND`] when unset: every race here needs one
//! preemption to show, and three keep a full run well under a minute.
#![cfg(loom)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_core::idempotency::{
    ClaimOutcome, Fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyScope, Principal,
};
use lockwell_core::object::{BucketName, ETag, NewObject, ObjectKey, ObjectPath};
use lockwell_core::precondition::{
    Condition, CopyDestinationCondition, DeleteConditions, ETagCondition, Rejected, Rule,
    ValidatorConditions, WriteConditions,
};
use lockwell_core::store::{
    CommitError, Committed, CopyRequest, MetadataDirective, NoJournal, Store, StoreConfig,
};
use lockwell_core::sync::{Arc, thread};

const DEFAULT_PREEMPTION_BOUND: usize = 3;

/// Two shards: enough to put a copy's source and destination in different
/// shards or the same one, few enough to keep each execution cheap.
const SHARD_COUNT: usize = 2;

const RETENTION_MS: u64 = 1_000;

/// Prints the number of executions explored when the model ends, also when
/// it ends by failing.
struct ExecutionReport {
    model: &'static str,
    executions: std::sync::Arc<AtomicUsize>,
}

impl Drop for ExecutionReport {
    fn drop(&mut self) {
        let executions = self.executions.load(Ordering::Relaxed);
        if std::thread::panicking() {
            eprintln!(
                "loom model {}: FAILED in execution {executions}",
                self.model
            );
        } else {
            eprintln!("loom model {}: passed, {executions} executions", self.model);
        }
    }
}

fn explore(model: &'static str, body: impl Fn() + Send + Sync + 'static) {
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let _report = ExecutionReport {
        model,
        executions: std::sync::Arc::clone(&executions),
    };
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(DEFAULT_PREEMPTION_BOUND));
    builder.check(move || {
        executions.fetch_add(1, Ordering::Relaxed);
        body();
    });
}

fn new_store() -> Arc<Store> {
    Arc::new(Store::new(StoreConfig {
        shard_count: SHARD_COUNT,
        idempotency: IdempotencyConfig {
            retention_ms: RETENTION_MS,
            capacity_records: 8,
        },
    }))
}

fn path(key: &str) -> ObjectPath {
    ObjectPath::new(
        BucketName::parse("bucket").unwrap(),
        ObjectKey::parse(key).unwrap(),
    )
}

/// A key whose shard is (`same`) or is not (`!same`) the shard of `other`.
fn key_in_shard(store: &Store, other: &ObjectPath, same: bool) -> ObjectPath {
    let other_shard = store.shard_index(other);
    (0..)
        .map(|index| path(&format!("key-{index}")))
        .find(|candidate| (store.shard_index(candidate) == other_shard) == same)
        .expect("some key hashes to each shard")
}

fn ok<T>(result: Result<T, Infallible>) -> T {
    let Ok(value) = result;
    value
}

fn put(
    store: &Store,
    path: &ObjectPath,
    content: &str,
    conditions: &WriteConditions,
) -> Result<Committed, Rejected> {
    ok(store.put(
        path,
        NewObject::single_part(content.as_bytes()),
        conditions,
        0,
        &mut NoJournal,
    ))
}

fn content_of(store: &Store, path: &ObjectPath) -> Option<String> {
    store
        .get(path)
        .map(|version| String::from_utf8(version.content.to_vec()).unwrap())
}

fn precondition_failed(rule: Rule, condition: Condition) -> Rejected {
    Rejected::PreconditionFailed { rule, condition }
}

/// Waits for every racer, returning their results in spawn order.
fn join_all<T>(racers: Vec<thread::JoinHandle<T>>) -> Vec<T> {
    racers
        .into_iter()
        .map(|racer| racer.join().expect("racer panicked"))
        .collect()
}

#[test]
fn c1_racing_creators_have_exactly_one_winner() {
    explore("c1_racing_creators_have_exactly_one_winner", || {
        let store = new_store();
        let target = path("report");
        let contents = ["alpha", "beta", "gamma"];
        let outcomes = join_all(
            contents
                .into_iter()
                .map(|content| {
                    let (store, target) = (Arc::clone(&store), target.clone());
                    thread::spawn(move || {
                        put(&store, &target, content, &WriteConditions::create_only())
                    })
                })
                .collect(),
        );
        let winners: Vec<usize> = (0..outcomes.len())
            .filter(|&i| outcomes[i].is_ok())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "C1: exactly one creator wins: {outcomes:?}"
        );
        let winner = winners[0];
        for (index, outcome) in outcomes.iter().enumerate().filter(|&(i, _)| i != winner) {
            assert_eq!(
                outcome,
                &Err(precondition_failed(Rule::C1, Condition::IfNoneMatch)),
                "C1: creator {index} lost"
            );
        }
        let stored = store.get(&target).unwrap();
        assert_eq!(
            &*stored.content,
            contents[winner].as_bytes(),
            "the winner's bytes"
        );
        assert_eq!(Ok(Committed::from(&*stored)), outcomes[winner]);
    });
}

#[test]
fn c2_racing_overwriters_from_one_etag_lose_no_update() {
    explore("c2_racing_overwriters_from_one_etag_lose_no_update", || {
        let store = new_store();
        let counter = path("counter");
        let base = put(&store, &counter, "0", &WriteConditions::default()).unwrap();
        let contents = ["1 by a", "1 by b", "1 by c"];
        let outcomes = join_all(
            contents
                .into_iter()
                .map(|content| {
                    let (store, counter) = (Arc::clone(&store), counter.clone());
                    let if_match = WriteConditions::if_match(base.etag.clone());
                    thread::spawn(move || put(&store, &counter, content, &if_match))
                })
                .collect(),
        );
        let winners: Vec<usize> = (0..outcomes.len())
            .filter(|&i| outcomes[i].is_ok())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "C2: exactly one overwriter wins: {outcomes:?}"
        );
        let winner = winners[0];
        for (index, outcome) in outcomes.iter().enumerate().filter(|&(i, _)| i != winner) {
            assert_eq!(
                outcome,
                &Err(precondition_failed(Rule::C2, Condition::IfMatch)),
                "C2: overwriter {index} lost"
            );
        }
        assert_eq!(
            content_of(&store, &counter).as_deref(),
            Some(contents[winner])
        );
    });
}

/// What one idempotent request ended with.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Committed(Result<Committed, Rejected>),
    InFlight,
    Replayed(Result<Committed, Rejected>),
    ClaimExpired,
}

fn idempotent_put(store: &Store, fingerprint: Fingerprint, content: &str, now_ms: u64) -> Attempt {
    let scope = IdempotencyScope {
        principal: Principal::new("alice"),
        idempotency_key: IdempotencyKey::parse("invoice-1").unwrap(),
    };
    match store.claim(scope, fingerprint, now_ms) {
        ClaimOutcome::Claimed(ticket) => {
            match store.put_claimed(
                ticket,
                NewObject::single_part(content.as_bytes()),
                now_ms,
                &mut NoJournal,
            ) {
                Ok(outcome) => Attempt::Committed(outcome),
                Err(CommitError::ClaimExpired) => Attempt::ClaimExpired,
                Err(error) => panic!("{error}"),
            }
        }
        ClaimOutcome::InFlight => Attempt::InFlight,
        ClaimOutcome::Replay(stored) => Attempt::Replayed(stored),
        other => panic!("unexpected claim outcome {other:?}"),
    }
}

fn invoice_fingerprint(target: &ObjectPath, content: &str) -> Fingerprint {
    Fingerprint {
        path: target.clone(),
        payload_digest: digest(ChecksumAlgorithm::Sha256, content.as_bytes()),
        conditions: WriteConditions::default(),
    }
}

#[test]
fn i1_i3_racing_retries_of_one_idempotent_write_apply_it_once() {
    explore(
        "i1_i3_racing_retries_of_one_idempotent_write_apply_it_once",
        || {
            let store = new_store();
            let target = path("invoice");
            let attempts = join_all(
                (0..2)
                    .map(|_| {
                        let (store, target) = (Arc::clone(&store), target.clone());
                        thread::spawn(move || {
                            idempotent_put(&store, invoice_fingerprint(&target, "pay"), "pay", 0)
                        })
                    })
                    .collect(),
            );
            let committed: Vec<&Attempt> = attempts
                .iter()
                .filter(|attempt| matches!(attempt, Attempt::Committed(_)))
                .collect();
            assert_eq!(committed.len(), 1, "I1: one effect: {attempts:?}");
            let Attempt::Committed(result) = committed[0] else {
                unreachable!()
            };
            let result = result.clone().expect("an unconditional write commits");
            for attempt in &attempts {
                assert!(
                    matches!(attempt, Attempt::Committed(_) | Attempt::InFlight)
                        || *attempt == Attempt::Replayed(Ok(result.clone())),
                    "I3: the other retry waits or replays: {attempts:?}"
                );
            }
            let stored = store.get(&target).unwrap();
            assert_eq!(Committed::from(&*stored), result, "never a second version");
        },
    );
}

#[test]
fn i1_a_claim_whose_lease_expired_never_commits_after_its_successor_claimed() {
    explore(
        "i1_a_claim_whose_lease_expired_never_commits_after_its_successor_claimed",
        || {
            let store = new_store();
            let target = path("invoice");
            let fingerprint = invoice_fingerprint(&target, "pay");
            let scope = IdempotencyScope {
                principal: Principal::new("alice"),
                idempotency_key: IdempotencyKey::parse("invoice-1").unwrap(),
            };
            let ClaimOutcome::Claimed(stale) = store.claim(scope, fingerprint.clone(), 0) else {
                panic!("free scope");
            };
            // The first request commits late but inside its lease; the retry
            // arrives exactly when that lease ends.
            let late_commit = {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    store.put_claimed(
                        stale,
                        NewObject::single_part(&b"pay"[..]),
                        RETENTION_MS - 1,
                        &mut NoJournal,
                    )
                })
            };
            let retry = {
                let (store, target) = (Arc::clone(&store), target.clone());
                thread::spawn(move || {
                    idempotent_put(
                        &store,
                        invoice_fingerprint(&target, "pay"),
                        "pay",
                        RETENTION_MS,
                    )
                })
            };
            let late_commit = late_commit.join().unwrap();
            let retry = retry.join().unwrap();

            let retry_committed = matches!(retry, Attempt::Committed(_));
            match &late_commit {
                Ok(first) => {
                    assert!(
                        !retry_committed,
                        "I1: the successor claimed, yet the stale ticket committed: {retry:?}"
                    );
                    assert_eq!(
                        retry,
                        Attempt::Replayed(first.clone()),
                        "I1: the retry replays"
                    );
                }
                Err(CommitError::ClaimExpired) => {
                    assert!(
                        retry_committed,
                        "the stale ticket lost its claim to the retry: {retry:?}"
                    );
                }
                Err(error) => panic!("{error}"),
            }
            let stored = store.get(&target).unwrap();
            assert_eq!(stored.sequence, 1, "exactly one version was ever stamped");
        },
    );
}

#[test]
fn e1_a_reader_racing_writes_sees_etag_and_bytes_of_one_version() {
    explore(
        "e1_a_reader_racing_writes_sees_etag_and_bytes_of_one_version",
        || {
            let store = new_store();
            let target = path("doc");
            put(&store, &target, "version 1", &WriteConditions::default()).unwrap();
            let writer = {
                let (store, target) = (Arc::clone(&store), target.clone());
                thread::spawn(move || {
                    for content in ["version 2", "version 3"] {
                        put(&store, &target, content, &WriteConditions::default()).unwrap();
                    }
                })
            };
            for _ in 0..2 {
                let version = store.get(&target).unwrap();
                assert_eq!(
                    version.etag,
                    ETag::of_content(&version.content),
                    "E1: ETag {} with the bytes {:?}",
                    version.etag,
                    String::from_utf8_lossy(&version.content)
                );
            }
            writer.join().unwrap();
        },
    );
}

fn copy_request(source: &ObjectPath, destination: &ObjectPath) -> CopyRequest {
    CopyRequest {
        source: source.clone(),
        source_conditions: ValidatorConditions::default(),
        destination: destination.clone(),
        destination_condition: CopyDestinationCondition::Unconditional,
        metadata: MetadataDirective::Copy,
    }
}

#[test]
fn c7_create_only_copy_racing_create_only_put_has_one_winner() {
    explore(
        "c7_create_only_copy_racing_create_only_put_has_one_winner",
        || {
            let store = new_store();
            let source = path("live-state");
            let destination = key_in_shard(&store, &source, false);
            put(&store, &source, "snapshot", &WriteConditions::default()).unwrap();
            let copier = {
                let store = Arc::clone(&store);
                let request = CopyRequest {
                    destination_condition: CopyDestinationCondition::RequireAbsent,
                    ..copy_request(&source, &destination)
                };
                thread::spawn(move || ok(store.copy(&request, 0, &mut NoJournal)))
            };
            let creator = {
                let (store, destination) = (Arc::clone(&store), destination.clone());
                thread::spawn(move || {
                    put(
                        &store,
                        &destination,
                        "direct",
                        &WriteConditions::create_only(),
                    )
                })
            };
            let copied = copier.join().unwrap();
            let created = creator.join().unwrap();
            match (&copied, &created) {
                (Ok(_), Err(lost)) => {
                    assert_eq!(lost, &precondition_failed(Rule::C1, Condition::IfNoneMatch));
                    assert_eq!(
                        content_of(&store, &destination).as_deref(),
                        Some("snapshot")
                    );
                }
                (Err(lost), Ok(_)) => {
                    assert_eq!(
                        lost,
                        &precondition_failed(Rule::C7, Condition::RequireAbsent)
                    );
                    assert_eq!(content_of(&store, &destination).as_deref(), Some("direct"));
                }
                _ => panic!(
                    "C7: exactly one creator of the destination wins: copy {copied:?}, put {created:?}"
                ),
            }
        },
    );
}

#[test]
fn c8_a_copy_copies_the_source_version_its_conditions_held_for() {
    explore(
        "c8_a_copy_copies_the_source_version_its_conditions_held_for",
        || {
            let store = new_store();
            let source = path("live-state");
            let destination = key_in_shard(&store, &source, true);
            let checked = put(&store, &source, "state 1", &WriteConditions::default()).unwrap();
            let copier = {
                let store = Arc::clone(&store);
                let request = CopyRequest {
                    source_conditions: ValidatorConditions {
                        if_match: Some(ETagCondition::one(checked.etag.clone())),
                        ..ValidatorConditions::default()
                    },
                    ..copy_request(&source, &destination)
                };
                thread::spawn(move || ok(store.copy(&request, 0, &mut NoJournal)))
            };
            let writer = {
                let (store, source) = (Arc::clone(&store), source.clone());
                thread::spawn(move || put(&store, &source, "state 2", &WriteConditions::default()))
            };
            let copied = copier.join().unwrap();
            writer.join().unwrap().unwrap();
            match copied {
                Ok(committed) => {
                    assert_eq!(
                        committed.etag, checked.etag,
                        "C8: the copy has the checked ETag"
                    );
                    assert_eq!(
                        content_of(&store, &destination).as_deref(),
                        Some("state 1"),
                        "C8: and its bytes"
                    );
                }
                Err(rejected) => {
                    assert_eq!(
                        rejected,
                        precondition_failed(Rule::C8, Condition::CopySourceIfMatch)
                    );
                    assert_eq!(store.get(&destination), None);
                }
            }
        },
    );
}

#[test]
fn c7_c8_opposing_conditional_copies_neither_deadlock_nor_both_win() {
    explore(
        "c7_c8_opposing_conditional_copies_neither_deadlock_nor_both_win",
        || {
            let store = new_store();
            let left = path("left");
            let right = key_in_shard(&store, &left, false);
            let left_version = put(&store, &left, "left", &WriteConditions::default()).unwrap();
            let right_version = put(&store, &right, "right", &WriteConditions::default()).unwrap();
            // Each copy overwrites the other side only if neither side changed.
            let guarded_copy =
                |from: &ObjectPath, from_etag: &ETag, to: &ObjectPath, to_etag: &ETag| {
                    let store = Arc::clone(&store);
                    let request = CopyRequest {
                        source_conditions: ValidatorConditions {
                            if_match: Some(ETagCondition::one(from_etag.clone())),
                            ..ValidatorConditions::default()
                        },
                        destination_condition: CopyDestinationCondition::RequireMatchEtag(
                            to_etag.clone(),
                        ),
                        ..copy_request(from, to)
                    };
                    thread::spawn(move || ok(store.copy(&request, 0, &mut NoJournal)))
                };
            let rightward = guarded_copy(&left, &left_version.etag, &right, &right_version.etag);
            let leftward = guarded_copy(&right, &right_version.etag, &left, &left_version.etag);
            let rightward = rightward.join().unwrap();
            let leftward = leftward.join().unwrap();
            assert_eq!(
                u8::from(rightward.is_ok()) + u8::from(leftward.is_ok()),
                1,
                "C7/C8: the second copy sees the first one's change: {rightward:?} {leftward:?}"
            );
            assert_eq!(
                content_of(&store, &left),
                content_of(&store, &right),
                "both sides hold the winner's bytes"
            );
        },
    );
}

#[test]
fn c6a_conditional_delete_racing_conditional_overwrite_has_one_winner() {
    explore(
        "c6a_conditional_delete_racing_conditional_overwrite_has_one_winner",
        || {
            let store = new_store();
            let target = path("lease");
            let base = put(&store, &target, "held by a", &WriteConditions::default()).unwrap();
            let deleter = {
                let (store, target) = (Arc::clone(&store), target.clone());
                let conditions = DeleteConditions {
                    if_match: Some(ETagCondition::one(base.etag.clone())),
                };
                thread::spawn(move || ok(store.delete(&target, &conditions, &mut NoJournal)))
            };
            let overwriter = {
                let (store, target) = (Arc::clone(&store), target.clone());
                let conditions = WriteConditions::if_match(base.etag.clone());
                thread::spawn(move || put(&store, &target, "held by b", &conditions))
            };
            let deleted = deleter.join().unwrap();
            let overwritten = overwriter.join().unwrap();
            match (&deleted, &overwritten) {
                (Ok(_), Err(lost)) => {
                    assert_eq!(lost, &Rejected::NotFound { rule: Rule::C2 });
                    assert_eq!(store.get(&target), None);
                }
                (Err(lost), Ok(_)) => {
                    assert_eq!(lost, &precondition_failed(Rule::C6a, Condition::IfMatch));
                    assert_eq!(content_of(&store, &target).as_deref(), Some("held by b"));
                }
                _ => panic!(
                    "C6a: exactly one of delete {deleted:?} and overwrite {overwritten:?} wins"
                ),
            }
        },
    );
}
