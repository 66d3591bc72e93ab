//! The engine through the memory backend: every operation, the SPEC rule
//! each outcome stands for, and the durability waits (E4) through a backend
//! whose disk the test holds back.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lockwell_core::checksum::{ChecksumAlgorithm, Digests, digest};
use lockwell_core::idempotency::{IdempotencyKey, Principal};
use lockwell_core::object::ObjectKey;
use lockwell_core::precondition::{
    CopyDestinationCondition, DeleteConditions, ETagCondition, ValidatorConditions,
};
use lockwell_core::store::{CopyRequest, ListQuery, MetadataDirective};
use lockwell_core::{
    BucketName, ClaimOutcome, Committed, Condition, ETag, Fingerprint, IdempotencyScope, NewObject,
    ObjectPath, Rejected, Rule, precondition::WriteConditions,
};
use lockwell_server::engine::{
    CompletedPart, Engine, EngineConfig, EngineError, NewPart, NewUpload, WriteMode,
};
use lockwell_server::storage::{BoxFuture, LogRecord, Lsn, MemoryStorage, Storage, UploadId};
use tokio::sync::watch;

const MIN_PART_SIZE_BYTES: u64 = 4;

fn alice() -> Principal {
    Principal::new("alice")
}

fn bob() -> Principal {
    Principal::new("bob")
}

fn bucket() -> BucketName {
    BucketName::parse("bucket").unwrap()
}

fn path(key: &str) -> ObjectPath {
    ObjectPath::new(bucket(), ObjectKey::parse(key).unwrap())
}

fn config() -> EngineConfig {
    EngineConfig {
        min_part_size_bytes: MIN_PART_SIZE_BYTES,
        ..EngineConfig::default()
    }
}

async fn engine_on(storage: Arc<dyn Storage>, config: EngineConfig) -> Engine {
    let engine = Engine::open(storage, config).unwrap();
    engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
    engine
}

async fn engine() -> Engine {
    engine_on(Arc::new(MemoryStorage::new()), config()).await
}

async fn put(
    engine: &Engine,
    key: &str,
    content: &str,
    conditions: WriteConditions,
) -> Result<Committed, Rejected> {
    engine
        .put_object(
            &alice(),
            &path(key),
            NewObject::single_part(content.as_bytes()),
            WriteMode::Plain(conditions),
            10,
        )
        .await
        .unwrap()
}

async fn content(engine: &Engine, key: &str) -> Option<String> {
    let version = engine.get_object(&alice(), &path(key)).await.unwrap()?;
    Some(String::from_utf8(version.content.to_vec()).unwrap())
}

fn precondition_failed(rule: Rule, condition: Condition) -> Rejected {
    Rejected::PreconditionFailed { rule, condition }
}

// ---- Buckets ------------------------------------------------------------

#[tokio::test]
async fn buckets_are_created_once_listed_per_owner_and_deleted_when_empty() {
    let engine = engine().await;
    let other = BucketName::parse("other").unwrap();
    engine.create_bucket(&bob(), &other, 2).await.unwrap();
    assert!(matches!(
        engine.create_bucket(&alice(), &bucket(), 3).await,
        Err(EngineError::BucketAlreadyOwnedByYou(_))
    ));
    assert!(matches!(
        engine.create_bucket(&bob(), &bucket(), 3).await,
        Err(EngineError::BucketAlreadyExists(_))
    ));
    let listed = engine.list_buckets(&alice()).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|bucket| (bucket.name.as_str(), bucket.created_ms))
            .collect::<Vec<_>>(),
        [("bucket", 1)]
    );
    assert_eq!(
        engine.head_bucket(&bob(), &other).await.unwrap().created_ms,
        2
    );

    put(&engine, "k", "v", WriteConditions::default())
        .await
        .unwrap();
    assert!(matches!(
        engine.delete_bucket(&alice(), &bucket()).await,
        Err(EngineError::BucketNotEmpty(_))
    ));
    engine
        .delete_object(&alice(), &path("k"), &DeleteConditions::default())
        .await
        .unwrap()
        .unwrap();
    engine.delete_bucket(&alice(), &bucket()).await.unwrap();
    assert!(matches!(
        engine.head_bucket(&alice(), &bucket()).await,
        Err(EngineError::NoSuchBucket(_))
    ));
    let put_after_delete = engine
        .put_object(
            &alice(),
            &path("k"),
            NewObject::single_part(&b"v"[..]),
            WriteMode::Plain(WriteConditions::default()),
            4,
        )
        .await;
    assert!(matches!(
        put_after_delete,
        Err(EngineError::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn bucket_count_is_bounded_at_max_buckets() {
    let engine = engine_on(
        Arc::new(MemoryStorage::new()),
        EngineConfig {
            max_buckets: 2,
            ..config()
        },
    )
    .await;
    let second = BucketName::parse("second").unwrap();
    engine.create_bucket(&alice(), &second, 2).await.unwrap();
    let third = BucketName::parse("third").unwrap();
    assert!(matches!(
        engine.create_bucket(&alice(), &third, 3).await,
        Err(EngineError::TooManyBuckets { max_buckets: 2 })
    ));
    engine.delete_bucket(&alice(), &second).await.unwrap();
    engine.create_bucket(&alice(), &third, 4).await.unwrap();
}

#[tokio::test]
async fn a3_another_principal_is_denied_without_learning_whether_a_key_exists() {
    let engine = engine().await;
    put(&engine, "exists", "v", WriteConditions::default())
        .await
        .unwrap();
    for key in ["exists", "absent"] {
        let path = path(key);
        let denied = |result: Result<(), EngineError>| {
            assert!(
                matches!(result, Err(EngineError::AccessDenied)),
                "{key}: {result:?}"
            );
        };
        denied(engine.get_object(&bob(), &path).await.map(drop));
        denied(
            engine
                .put_object(
                    &bob(),
                    &path,
                    NewObject::single_part(&b"x"[..]),
                    WriteMode::Plain(WriteConditions::create_only()),
                    5,
                )
                .await
                .map(drop),
        );
        denied(
            engine
                .delete_object(&bob(), &path, &DeleteConditions::default())
                .await
                .map(drop),
        );
        denied(
            engine
                .copy_object(&bob(), &copy_request(key, "copy"), 5)
                .await
                .map(drop),
        );
        denied(
            engine
                .create_upload(&bob(), &path, NewUpload::default(), 5)
                .await
                .map(drop),
        );
        denied(
            engine
                .claim_idempotency(scope(&bob(), "op"), fingerprint(key, "x"), 5)
                .await
                .map(drop),
        );
    }
    assert!(matches!(
        engine
            .list_objects(&bob(), &bucket(), &ListQuery::default())
            .await,
        Err(EngineError::AccessDenied)
    ));
    assert!(matches!(
        engine.delete_bucket(&bob(), &bucket()).await,
        Err(EngineError::AccessDenied)
    ));
    assert_eq!(content(&engine, "exists").await.as_deref(), Some("v"));
    assert_eq!(content(&engine, "absent").await, None);
}

// ---- Conditional writes ---------------------------------------------------

#[tokio::test]
async fn c1_c1a_c2_conditional_puts_decide_against_the_current_version() {
    let engine = engine().await;
    let first = put(&engine, "k", "v1", WriteConditions::create_only())
        .await
        .unwrap();
    let stale = ETag::of_content(b"stale");
    let cases = [
        (
            WriteConditions::create_only(),
            Err(precondition_failed(Rule::C1, Condition::IfNoneMatch)),
        ),
        (
            WriteConditions {
                if_none_match: Some(ETagCondition::one(first.etag.clone())),
                ..WriteConditions::default()
            },
            Err(precondition_failed(Rule::C1a, Condition::IfNoneMatch)),
        ),
        (
            WriteConditions::if_match(stale.clone()),
            Err(precondition_failed(Rule::C2, Condition::IfMatch)),
        ),
    ];
    for (conditions, expected) in cases {
        assert_eq!(
            put(&engine, "k", "v2", conditions.clone()).await,
            expected,
            "{conditions:?}"
        );
        assert_eq!(content(&engine, "k").await.as_deref(), Some("v1"), "C4");
    }
    assert_eq!(
        put(&engine, "absent", "v", WriteConditions::if_match(stale)).await,
        Err(Rejected::NotFound { rule: Rule::C2 })
    );
    let second = put(&engine, "k", "v2", WriteConditions::if_match(first.etag))
        .await
        .unwrap();
    assert!(second.sequence > first.sequence);
    assert_eq!(content(&engine, "k").await.as_deref(), Some("v2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_racing_creators_have_exactly_one_winner() {
    const RACERS: usize = 32;
    let engine = Arc::new(engine().await);
    let racers: Vec<_> = (0..RACERS)
        .map(|racer| {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                put(
                    &engine,
                    "k",
                    &format!("racer {racer}"),
                    WriteConditions::create_only(),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (racer, handle) in racers.into_iter().enumerate() {
        match handle.await.unwrap() {
            Ok(_) => winners.push(racer),
            Err(rejected) => assert_eq!(
                rejected,
                precondition_failed(Rule::C1, Condition::IfNoneMatch)
            ),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        content(&engine, "k").await,
        Some(format!("racer {}", winners[0]))
    );
}

#[tokio::test]
async fn c6a_conditional_delete() {
    let engine = engine().await;
    let committed = put(&engine, "k", "v", WriteConditions::default())
        .await
        .unwrap();
    let delete = |etag: ETag| DeleteConditions {
        if_match: Some(ETagCondition::one(etag)),
    };
    let outcome = engine
        .delete_object(&alice(), &path("k"), &delete(ETag::of_content(b"other")))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Err(precondition_failed(Rule::C6a, Condition::IfMatch))
    );
    assert_eq!(content(&engine, "k").await.as_deref(), Some("v"));
    let deleted = engine
        .delete_object(&alice(), &path("k"), &delete(committed.etag.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.removed_sequence, Some(committed.sequence));
    assert_eq!(content(&engine, "k").await, None);
    let again = engine
        .delete_object(&alice(), &path("k"), &delete(committed.etag))
        .await
        .unwrap();
    assert_eq!(again, Err(Rejected::NotFound { rule: Rule::C6a }));
}

fn copy_request(source: &str, destination: &str) -> CopyRequest {
    CopyRequest {
        source: path(source),
        source_conditions: ValidatorConditions::default(),
        destination: path(destination),
        destination_condition: CopyDestinationCondition::Unconditional,
        metadata: MetadataDirective::Copy,
    }
}

#[tokio::test]
async fn c7_c8_copy_checks_both_sides_and_copies_what_it_checked() {
    let engine = engine().await;
    let source = put(&engine, "src", "source", WriteConditions::default())
        .await
        .unwrap();
    put(&engine, "dst", "old", WriteConditions::default())
        .await
        .unwrap();
    let cases = [
        (
            CopyRequest {
                destination_condition: CopyDestinationCondition::RequireAbsent,
                ..copy_request("src", "dst")
            },
            Err(precondition_failed(Rule::C7, Condition::RequireAbsent)),
        ),
        (
            CopyRequest {
                source_conditions: ValidatorConditions {
                    if_match: Some(ETagCondition::one(ETag::of_content(b"stale"))),
                    ..ValidatorConditions::default()
                },
                ..copy_request("src", "dst")
            },
            Err(precondition_failed(Rule::C8, Condition::CopySourceIfMatch)),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            engine.copy_object(&alice(), &request, 20).await.unwrap(),
            expected
        );
        assert_eq!(content(&engine, "dst").await.as_deref(), Some("old"), "C4");
    }
    let request = CopyRequest {
        source_conditions: ValidatorConditions {
            if_match: Some(ETagCondition::one(source.etag.clone())),
            ..ValidatorConditions::default()
        },
        ..copy_request("src", "dst")
    };
    let copied = engine
        .copy_object(&alice(), &request, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied.etag, source.etag, "E1: same bytes, same ETag");
    assert_eq!(content(&engine, "dst").await.as_deref(), Some("source"));
}

#[tokio::test]
async fn list_objects_pages_in_key_order() {
    let engine = engine().await;
    for key in ["b", "a/2", "c", "a/1"] {
        put(&engine, key, key, WriteConditions::default())
            .await
            .unwrap();
    }
    let page = |prefix: &str, start_after: Option<&str>, max_keys| ListQuery {
        prefix: prefix.to_owned(),
        start_after: start_after.map(str::to_owned),
        max_keys,
    };
    let cases = [
        (page("", None, 10), vec!["a/1", "a/2", "b", "c"], false),
        (page("a/", None, 10), vec!["a/1", "a/2"], false),
        (page("", None, 2), vec!["a/1", "a/2"], true),
        (page("", Some("a/2"), 2), vec!["b", "c"], false),
    ];
    for (query, keys, truncated) in cases {
        let listing = engine
            .list_objects(&alice(), &bucket(), &query)
            .await
            .unwrap();
        let listed: Vec<&str> = listing
            .entries
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(
            (listed, listing.is_truncated),
            (keys, truncated),
            "{query:?}"
        );
    }
}

// ---- Idempotency ----------------------------------------------------------

fn scope(principal: &Principal, key: &str) -> IdempotencyScope {
    IdempotencyScope {
        principal: principal.clone(),
        idempotency_key: IdempotencyKey::parse(key).unwrap(),
    }
}

fn fingerprint(key: &str, content: &str) -> Fingerprint {
    fingerprint_with(key, content, WriteConditions::default())
}

fn fingerprint_with(key: &str, content: &str, conditions: WriteConditions) -> Fingerprint {
    Fingerprint {
        path: path(key),
        payload_digest: digest(ChecksumAlgorithm::Sha256, content.as_bytes()),
        conditions,
    }
}

/// An idempotent put as the HTTP layer runs it.
async fn idempotent_put(
    engine: &Engine,
    idempotency_key: &str,
    key: &str,
    content: &str,
    conditions: WriteConditions,
) -> Result<Result<Committed, Rejected>, ClaimOutcome> {
    let claim = engine
        .claim_idempotency(
            scope(&alice(), idempotency_key),
            fingerprint_with(key, content, conditions),
            30,
        )
        .await
        .unwrap();
    match claim {
        ClaimOutcome::Claimed(ticket) => Ok(engine
            .put_object(
                &alice(),
                &path(key),
                NewObject::single_part(content.as_bytes()),
                WriteMode::Idempotent(ticket),
                30,
            )
            .await
            .unwrap()),
        ClaimOutcome::Replay(outcome) => Ok(outcome),
        other => Err(other),
    }
}

#[tokio::test]
async fn i1_i7_retries_replay_the_first_outcome() {
    let engine = engine().await;
    let won = idempotent_put(&engine, "won", "k", "a", WriteConditions::create_only())
        .await
        .unwrap();
    let lost = idempotent_put(&engine, "lost", "k", "b", WriteConditions::create_only())
        .await
        .unwrap();
    assert!(won.is_ok());
    assert_eq!(
        lost,
        Err(precondition_failed(Rule::C1, Condition::IfNoneMatch))
    );
    put(&engine, "k", "changed", WriteConditions::default())
        .await
        .unwrap();
    assert_eq!(
        idempotent_put(&engine, "won", "k", "a", WriteConditions::create_only()).await,
        Ok(won),
        "I1"
    );
    assert_eq!(
        idempotent_put(&engine, "lost", "k", "b", WriteConditions::create_only()).await,
        Ok(lost),
        "I7"
    );
    assert_eq!(content(&engine, "k").await.as_deref(), Some("changed"));
}

#[tokio::test]
async fn i2_i3_mismatch_and_in_flight_write_nothing() {
    let engine = engine().await;
    let ClaimOutcome::Claimed(ticket) = engine
        .claim_idempotency(scope(&alice(), "op"), fingerprint("k", "v1"), 30)
        .await
        .unwrap()
    else {
        panic!("a fresh key is claimed");
    };
    assert_eq!(
        idempotent_put(&engine, "op", "k", "v1", WriteConditions::default()).await,
        Err(ClaimOutcome::InFlight),
        "I3"
    );
    assert_eq!(
        idempotent_put(&engine, "op", "k", "v2", WriteConditions::default()).await,
        Err(ClaimOutcome::Mismatch),
        "I2"
    );
    assert_eq!(content(&engine, "k").await, None);
    engine.release_idempotency(ticket);
    assert!(
        idempotent_put(&engine, "op", "k", "v2", WriteConditions::default())
            .await
            .unwrap()
            .is_ok()
    );
}

// ---- Multipart uploads ----------------------------------------------------

fn new_part(content: &[u8], algorithm: Option<ChecksumAlgorithm>) -> NewPart {
    let mut checksums = Digests::default();
    if let Some(algorithm) = algorithm {
        checksums.insert(digest(algorithm, content));
    }
    NewPart {
        content: Arc::from(content),
        md5: digest(ChecksumAlgorithm::Md5, content)
            .as_bytes()
            .try_into()
            .unwrap(),
        checksums,
    }
}

async fn upload_with_parts(
    engine: &Engine,
    key: &str,
    algorithm: Option<ChecksumAlgorithm>,
    parts: &[&[u8]],
) -> (UploadId, Vec<CompletedPart>) {
    let upload_id = engine
        .create_upload(
            &alice(),
            &path(key),
            NewUpload {
                checksum_algorithm: algorithm,
                ..NewUpload::default()
            },
            40,
        )
        .await
        .unwrap();
    let mut completed = Vec::new();
    for (index, content) in parts.iter().enumerate() {
        let part_number = u32::try_from(index).unwrap() + 1;
        let summary = engine
            .upload_part(
                &alice(),
                &path(key),
                &upload_id,
                part_number,
                new_part(content, algorithm),
                41,
            )
            .await
            .unwrap();
        assert_eq!(summary.etag, ETag::of_content(content));
        completed.push(CompletedPart {
            part_number,
            etag: summary.etag,
            checksums: Digests::default(),
        });
    }
    (upload_id, completed)
}

#[tokio::test]
async fn e1_k5_completion_concatenates_parts_with_multipart_etag_and_checksum() {
    let engine = engine().await;
    let parts: [&[u8]; 3] = [b"first", b"second", b"3"];
    for algorithm in [ChecksumAlgorithm::Crc32, ChecksumAlgorithm::Sha256] {
        let (upload_id, completed) =
            upload_with_parts(&engine, "big", Some(algorithm), &parts).await;
        let details = engine
            .list_parts(&alice(), &path("big"), &upload_id)
            .await
            .unwrap();
        assert_eq!(
            details
                .parts
                .iter()
                .map(|part| (part.part_number, part.size_bytes))
                .collect::<Vec<_>>(),
            [(1, 5), (2, 6), (3, 1)]
        );
        let committed = engine
            .complete_upload(
                &alice(),
                &path("big"),
                &upload_id,
                &completed,
                WriteMode::Plain(WriteConditions::default()),
                42,
            )
            .await
            .unwrap()
            .unwrap();
        let md5s: Vec<[u8; 16]> = parts
            .iter()
            .map(|part| {
                digest(ChecksumAlgorithm::Md5, part)
                    .as_bytes()
                    .try_into()
                    .unwrap()
            })
            .collect();
        assert_eq!(committed.etag, ETag::multipart(&md5s).unwrap());
        assert!(committed.etag.as_str().ends_with("-3"));
        let version = engine
            .get_object(&alice(), &path("big"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&*version.content, b"firstsecond3");
        let stored = version.checksums.get(algorithm).copied();
        match algorithm {
            ChecksumAlgorithm::Crc32 => {
                assert_eq!(
                    stored,
                    Some(digest(algorithm, b"firstsecond3")),
                    "full object"
                );
            }
            _ => {
                let mut concatenated = Vec::new();
                for part in parts {
                    concatenated.extend_from_slice(digest(algorithm, part).as_bytes());
                }
                assert_eq!(stored, Some(digest(algorithm, &concatenated)), "composite");
            }
        }
        assert!(matches!(
            engine.list_parts(&alice(), &path("big"), &upload_id).await,
            Err(EngineError::NoSuchUpload)
        ));
    }
}

#[tokio::test]
async fn completion_enforces_s3_part_rules_and_leaves_the_upload_open() {
    let engine = engine().await;
    let (upload_id, parts) =
        upload_with_parts(&engine, "big", None, &[b"1234", b"12", b"1234"]).await;
    let with_checksum = {
        let mut part = parts[0].clone();
        part.checksums
            .insert(digest(ChecksumAlgorithm::Crc32, b"not the part"));
        part
    };
    let with_etag = |etag| CompletedPart {
        etag,
        ..parts[0].clone()
    };
    let unknown_part = CompletedPart {
        part_number: 9,
        ..parts[0].clone()
    };
    let cases: Vec<(Vec<CompletedPart>, &str)> = vec![
        (vec![], "EmptyPartList"),
        (vec![parts[1].clone(), parts[0].clone()], "InvalidPartOrder"),
        (vec![parts[0].clone(), parts[0].clone()], "InvalidPartOrder"),
        (vec![unknown_part], "InvalidPart { part_number: 9 }"),
        (
            vec![with_etag(ETag::of_content(b"x"))],
            "InvalidPart { part_number: 1 }",
        ),
        (vec![with_checksum], "InvalidPart { part_number: 1 }"),
        (
            parts.clone(),
            "EntityTooSmall { part_number: 2, size_bytes: 2, min_size_bytes: 4 }",
        ),
    ];
    for (requested, expected) in cases {
        let error = engine
            .complete_upload(
                &alice(),
                &path("big"),
                &upload_id,
                &requested,
                WriteMode::Plain(WriteConditions::default()),
                42,
            )
            .await
            .unwrap_err();
        assert_eq!(format!("{error:?}"), expected);
    }
    assert!(matches!(
        engine
            .complete_upload(
                &alice(),
                &path("other-key"),
                &upload_id,
                &parts,
                WriteMode::Plain(WriteConditions::default()),
                42,
            )
            .await,
        Err(EngineError::NoSuchUpload)
    ));
    let skipping_the_small_part = [parts[0].clone(), parts[2].clone()];
    let committed = engine
        .complete_upload(
            &alice(),
            &path("big"),
            &upload_id,
            &skipping_the_small_part,
            WriteMode::Plain(WriteConditions::default()),
            42,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(committed.etag.as_str().ends_with("-2"));
    assert_eq!(content(&engine, "big").await.as_deref(), Some("12341234"));
}

#[tokio::test]
async fn c1_rejected_completion_keeps_the_upload_and_i1_idempotent_completion_replays() {
    let engine = engine().await;
    put(&engine, "big", "existing", WriteConditions::default())
        .await
        .unwrap();
    let (upload_id, parts) = upload_with_parts(&engine, "big", None, &[b"part"]).await;
    let rejected = engine
        .complete_upload(
            &alice(),
            &path("big"),
            &upload_id,
            &parts,
            WriteMode::Plain(WriteConditions::create_only()),
            42,
        )
        .await
        .unwrap();
    assert_eq!(
        rejected,
        Err(precondition_failed(Rule::C1, Condition::IfNoneMatch))
    );
    assert_eq!(content(&engine, "big").await.as_deref(), Some("existing"));

    let claim =
        || engine.claim_idempotency(scope(&alice(), "complete"), fingerprint("big", "parts"), 43);
    let ClaimOutcome::Claimed(ticket) = claim().await.unwrap() else {
        panic!("a fresh key is claimed");
    };
    let committed = engine
        .complete_upload(
            &alice(),
            &path("big"),
            &upload_id,
            &parts,
            WriteMode::Idempotent(ticket),
            43,
        )
        .await
        .unwrap();
    assert!(committed.is_ok());
    assert_eq!(content(&engine, "big").await.as_deref(), Some("part"));
    assert_eq!(
        claim().await.unwrap(),
        ClaimOutcome::Replay(committed),
        "I1: the retry replays, although the upload is gone"
    );
}

#[tokio::test]
async fn part_numbers_checksums_and_algorithms_are_validated() {
    let engine = engine().await;
    let (upload_id, _) =
        upload_with_parts(&engine, "big", Some(ChecksumAlgorithm::Crc32c), &[]).await;
    for part_number in [0, 10_001] {
        assert!(matches!(
            engine
                .upload_part(&alice(), &path("big"), &upload_id, part_number, new_part(b"x", None), 41)
                .await,
            Err(EngineError::InvalidPartNumber { part_number: rejected }) if rejected == part_number
        ));
    }
    assert!(matches!(
        engine
            .upload_part(
                &alice(),
                &path("big"),
                &upload_id,
                1,
                new_part(b"x", None),
                41
            )
            .await,
        Err(EngineError::MissingPartChecksum {
            algorithm: ChecksumAlgorithm::Crc32c
        })
    ));
    engine
        .upload_part(
            &alice(),
            &path("big"),
            &upload_id,
            10_000,
            new_part(b"x", Some(ChecksumAlgorithm::Crc32c)),
            41,
        )
        .await
        .unwrap();
    assert!(matches!(
        engine
            .create_upload(
                &alice(),
                &path("md5"),
                NewUpload {
                    checksum_algorithm: Some(ChecksumAlgorithm::Md5),
                    ..NewUpload::default()
                },
                40
            )
            .await,
        Err(EngineError::UnsupportedChecksumAlgorithm {
            algorithm: ChecksumAlgorithm::Md5
        })
    ));
}

#[tokio::test]
async fn uploads_are_listed_by_key_aborted_once_and_bounded() {
    let engine = engine_on(
        Arc::new(MemoryStorage::new()),
        EngineConfig {
            max_open_uploads: 3,
            ..config()
        },
    )
    .await;
    let (b_id, _) = upload_with_parts(&engine, "b", None, &[b"1"]).await;
    let (a_first, _) = upload_with_parts(&engine, "a", None, &[]).await;
    let (a_second, _) = upload_with_parts(&engine, "a", None, &[]).await;
    assert_ne!(a_first, a_second);
    let listed: Vec<(String, UploadId)> = engine
        .list_uploads(&alice(), &bucket())
        .await
        .unwrap()
        .into_iter()
        .map(|upload| (upload.path.key.to_string(), upload.upload_id))
        .collect();
    assert_eq!(
        listed,
        [
            ("a".to_owned(), a_first.clone()),
            ("a".to_owned(), a_second.clone()),
            ("b".to_owned(), b_id.clone())
        ]
    );
    assert!(matches!(
        engine
            .create_upload(&alice(), &path("c"), NewUpload::default(), 40)
            .await,
        Err(EngineError::TooManyUploads {
            max_open_uploads: 3
        })
    ));
    assert!(matches!(
        engine.abort_upload(&alice(), &path("b"), &a_first).await,
        Err(EngineError::NoSuchUpload)
    ));
    engine
        .abort_upload(&alice(), &path("b"), &b_id)
        .await
        .unwrap();
    assert!(matches!(
        engine.abort_upload(&alice(), &path("b"), &b_id).await,
        Err(EngineError::NoSuchUpload)
    ));
    engine
        .create_upload(&alice(), &path("c"), NewUpload::default(), 40)
        .await
        .unwrap();
    engine.delete_bucket(&alice(), &bucket()).await.unwrap();
    engine.create_bucket(&alice(), &bucket(), 50).await.unwrap();
    assert_eq!(
        engine.list_uploads(&alice(), &bucket()).await.unwrap(),
        [],
        "deleting a bucket aborts its uploads"
    );
}

// ---- Durability (E4) and fail-stop ------------------------------------------

/// A backend whose disk the test controls: while held back, records become
/// durable only when the test says so; appends or waits can be made to
/// fail.
#[derive(Default)]
struct HeldBackStorage {
    appended: AtomicU64,
    durable: std::sync::Mutex<Option<watch::Sender<Lsn>>>,
    hold_back: AtomicBool,
    fail_appends: AtomicBool,
    fail_waits: AtomicBool,
}

impl HeldBackStorage {
    fn new() -> Arc<Self> {
        let storage = Self::default();
        *storage.durable.lock().unwrap() = Some(watch::channel(Lsn::ZERO).0);
        Arc::new(storage)
    }

    fn sender(&self) -> watch::Sender<Lsn> {
        self.durable.lock().unwrap().clone().unwrap()
    }

    fn make_durable(&self) {
        self.sender().send_replace(self.last_appended());
    }
}

impl Storage for HeldBackStorage {
    fn append(&self, _record: &LogRecord) -> io::Result<Lsn> {
        if self.fail_appends.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected append failure"));
        }
        Ok(Lsn(self.appended.fetch_add(1, Ordering::SeqCst) + 1))
    }

    fn last_appended(&self) -> Lsn {
        Lsn(self.appended.load(Ordering::SeqCst))
    }

    fn wait_durable(&self, lsn: Lsn) -> BoxFuture<'_, io::Result<()>> {
        let mut durable = self.sender().subscribe();
        Box::pin(async move {
            if self.fail_waits.load(Ordering::SeqCst) {
                return Err(io::Error::other("injected fsync failure"));
            }
            if !self.hold_back.load(Ordering::SeqCst) {
                return Ok(());
            }
            durable
                .wait_for(|durable| *durable >= lsn)
                .await
                .map(drop)
                .map_err(io::Error::other)
        })
    }

    fn stage<'a>(&'a self, _content: &'a Arc<[u8]>) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn stage_concatenation<'a>(
        &'a self,
        _whole: &'a Arc<[u8]>,
        _parts: &'a [Arc<[u8]>],
    ) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn recover(&self) -> io::Result<Vec<LogRecord>> {
        Ok(Vec::new())
    }
}

async fn yield_many() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn e4_no_answer_reveals_a_write_before_it_is_durable() {
    let storage = HeldBackStorage::new();
    storage.hold_back.store(true, Ordering::SeqCst);
    let engine = Arc::new(Engine::open(storage.clone(), config()).unwrap());
    let create = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { engine.create_bucket(&alice(), &bucket(), 1).await }
    });
    yield_many().await;
    assert!(!create.is_finished(), "the bucket is not durable yet");
    storage.make_durable();
    create.await.unwrap().unwrap();

    let writer = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { put(&engine, "k", "v", WriteConditions::create_only()).await }
    });
    yield_many().await;
    assert_eq!(storage.last_appended(), Lsn(2), "ordered in the log");
    // The version is installed (the next writer checks against it, C3), but
    // every answer that could reveal it waits for the disk.
    let reader = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { content(&engine, "k").await }
    });
    let loser = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { put(&engine, "k", "w", WriteConditions::create_only()).await }
    });
    yield_many().await;
    for (what, finished) in [
        ("writer", writer.is_finished()),
        ("reader", reader.is_finished()),
        ("rejected writer", loser.is_finished()),
    ] {
        assert!(!finished, "{what} answered before the write was durable");
    }
    storage.make_durable();
    assert!(writer.await.unwrap().is_ok());
    assert_eq!(reader.await.unwrap().as_deref(), Some("v"));
    assert_eq!(
        loser.await.unwrap(),
        Err(precondition_failed(Rule::C1, Condition::IfNoneMatch))
    );
}

#[tokio::test]
async fn e4_a_failed_append_installs_nothing_and_a_failed_sync_fails_the_request() {
    let storage = HeldBackStorage::new();
    let engine = engine_on(storage.clone(), config()).await;

    storage.fail_appends.store(true, Ordering::SeqCst);
    let failed = engine
        .put_object(
            &alice(),
            &path("k"),
            NewObject::single_part(&b"v"[..]),
            WriteMode::Plain(WriteConditions::default()),
            2,
        )
        .await;
    assert!(matches!(failed, Err(EngineError::Storage(_))));
    storage.fail_appends.store(false, Ordering::SeqCst);
    assert_eq!(
        engine.get_object(&alice(), &path("k")).await.unwrap(),
        None,
        "nothing installed"
    );

    storage.fail_waits.store(true, Ordering::SeqCst);
    let unsynced = engine
        .put_object(
            &alice(),
            &path("k"),
            NewObject::single_part(&b"v"[..]),
            WriteMode::Plain(WriteConditions::default()),
            3,
        )
        .await;
    assert!(matches!(unsynced, Err(EngineError::Storage(_))));
    assert!(
        matches!(
            engine.get_object(&alice(), &path("k")).await,
            Err(EngineError::Storage(_))
        ),
        "a read after a failed sync fails too: memory may be ahead of disk"
    );
}
