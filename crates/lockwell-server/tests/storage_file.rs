//! The file backend: recovery restores every acknowledged change (E4, I8),
//! a torn tail recovers the prefix, staged bodies that never committed are
//! removed, and group commit shares fsyncs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lockwell_core::checksum::{ChecksumAlgorithm, Digests, digest};
use lockwell_core::idempotency::{IdempotencyKey, Principal};
use lockwell_core::object::ObjectKey;
use lockwell_core::precondition::{
    CopyDestinationCondition, DeleteConditions, ValidatorConditions, WriteConditions,
};
use lockwell_core::store::{CopyRequest, ListQuery, MetadataDirective};
use lockwell_core::{
    BucketName, ClaimOutcome, Committed, Fingerprint, IdempotencyScope, NewObject, ObjectPath,
    Rejected,
};
use lockwell_server::engine::{
    CompletedPart, Engine, EngineConfig, EngineError, NewPart, NewUpload, WriteMode,
};
use lockwell_server::storage::codec::{self, Frame};
use lockwell_server::storage::{
    FileStorage, FileStorageConfig, INLINE_CONTENT_MAX_BYTES, Storage, UploadId,
};

fn alice() -> Principal {
    Principal::new("alice")
}

fn bucket() -> BucketName {
    BucketName::parse("bucket").unwrap()
}

fn path(key: &str) -> ObjectPath {
    ObjectPath::new(bucket(), ObjectKey::parse(key).unwrap())
}

/// A scratch directory on the same disk as the build, not a tmpfs, so
/// fsyncs cost what they cost in production.
fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn config() -> EngineConfig {
    EngineConfig {
        min_part_size_bytes: 1,
        ..EngineConfig::default()
    }
}

fn open_storage(dir: &Path, group_commit: bool) -> Arc<FileStorage> {
    Arc::new(FileStorage::open(dir, FileStorageConfig { group_commit }).unwrap())
}

fn open(dir: &Path) -> Engine {
    Engine::open(open_storage(dir, true), config()).unwrap()
}

/// A body large enough to be staged in a data file.
fn large(byte: u8) -> Vec<u8> {
    vec![byte; INLINE_CONTENT_MAX_BYTES + 1]
}

async fn put(engine: &Engine, key: &str, content: &[u8]) -> Committed {
    engine
        .put_object(
            &alice(),
            &path(key),
            NewObject::single_part(content),
            WriteMode::Plain(WriteConditions::default()),
            10,
        )
        .await
        .unwrap()
        .unwrap()
}

async fn content(engine: &Engine, key: &str) -> Option<Vec<u8>> {
    let version = engine.get_object(&alice(), &path(key)).await.unwrap()?;
    Some(version.content.to_vec())
}

fn scope(key: &str) -> IdempotencyScope {
    IdempotencyScope {
        principal: alice(),
        idempotency_key: IdempotencyKey::parse(key).unwrap(),
    }
}

fn fingerprint(key: &str, content: &[u8], conditions: WriteConditions) -> Fingerprint {
    Fingerprint {
        path: path(key),
        payload_digest: digest(ChecksumAlgorithm::Sha256, content),
        conditions,
    }
}

async fn idempotent_put(
    engine: &Engine,
    idempotency_key: &str,
    key: &str,
    content: &[u8],
    conditions: WriteConditions,
) -> Result<Result<Committed, Rejected>, ClaimOutcome> {
    let claim = engine
        .claim_idempotency(
            scope(idempotency_key),
            fingerprint(key, content, conditions),
            20,
        )
        .await
        .unwrap();
    match claim {
        ClaimOutcome::Claimed(ticket) => Ok(engine
            .put_object(
                &alice(),
                &path(key),
                NewObject::single_part(content),
                WriteMode::Idempotent(ticket),
                20,
            )
            .await
            .unwrap()),
        ClaimOutcome::Replay(outcome) => Ok(outcome),
        other => Err(other),
    }
}

fn new_part(content: &[u8]) -> NewPart {
    let mut checksums = Digests::default();
    checksums.insert(digest(ChecksumAlgorithm::Crc32c, content));
    NewPart {
        content: Arc::from(content),
        md5: digest(ChecksumAlgorithm::Md5, content)
            .as_bytes()
            .try_into()
            .unwrap(),
        checksums,
    }
}

async fn upload(engine: &Engine, key: &str, parts: &[&[u8]]) -> (UploadId, Vec<CompletedPart>) {
    let upload_id = engine
        .create_upload(
            &alice(),
            &path(key),
            NewUpload {
                checksum_algorithm: Some(ChecksumAlgorithm::Crc32c),
                ..NewUpload::default()
            },
            30,
        )
        .await
        .unwrap();
    let mut completed = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let part_number = u32::try_from(index).unwrap() + 1;
        let summary = engine
            .upload_part(
                &alice(),
                &path(key),
                &upload_id,
                part_number,
                new_part(part),
                31,
            )
            .await
            .unwrap();
        completed.push(CompletedPart {
            part_number,
            etag: summary.etag,
            checksums: Digests::default(),
        });
    }
    (upload_id, completed)
}

async fn complete(engine: &Engine, key: &str, upload_id: &UploadId, parts: &[CompletedPart]) {
    engine
        .complete_upload(
            &alice(),
            &path(key),
            upload_id,
            parts,
            WriteMode::Plain(WriteConditions::default()),
            32,
        )
        .await
        .unwrap()
        .unwrap();
}

fn data_file_count(dir: &Path) -> usize {
    fs::read_dir(dir.join("data")).unwrap().count()
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("wal").join("log")
}

/// Byte offsets at which each frame of the log starts, and its end.
fn frame_offsets(dir: &Path) -> Vec<usize> {
    let bytes = fs::read(log_path(dir)).unwrap();
    let mut offsets = vec![codec::LOG_HEADER_LEN_BYTES];
    let mut offset = codec::LOG_HEADER_LEN_BYTES;
    while offset < bytes.len() {
        let Frame::Complete { len_bytes, .. } = codec::read_frame(&bytes[offset..]) else {
            panic!("a cleanly closed log holds whole frames");
        };
        offset += len_bytes;
        offsets.push(offset);
    }
    offsets
}

fn copy_dir(from: &Path, to: &Path) {
    for sub in ["wal", "data"] {
        fs::create_dir_all(to.join(sub)).unwrap();
        for entry in fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e4_i8_restart_restores_every_acknowledged_change() {
    let dir = scratch_dir();
    let (open_upload_id, small_copy, won, lost) = {
        let engine = open(dir.path());
        engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
        let doomed = BucketName::parse("doomed").unwrap();
        engine.create_bucket(&alice(), &doomed, 1).await.unwrap();
        engine.delete_bucket(&alice(), &doomed).await.unwrap();

        put(&engine, "small", b"small v1").await;
        put(&engine, "small", b"small v2").await;
        put(&engine, "large", &large(7)).await;
        put(&engine, "deleted", b"gone").await;
        engine
            .delete_object(&alice(), &path("deleted"), &DeleteConditions::default())
            .await
            .unwrap()
            .unwrap();
        let copy = |source: &str, destination: &str| CopyRequest {
            source: path(source),
            source_conditions: ValidatorConditions::default(),
            destination: path(destination),
            destination_condition: CopyDestinationCondition::RequireAbsent,
            metadata: MetadataDirective::Copy,
        };
        let small_copy = engine
            .copy_object(&alice(), &copy("small", "small-copy"), 11)
            .await
            .unwrap()
            .unwrap();
        engine
            .copy_object(&alice(), &copy("large", "large-copy"), 11)
            .await
            .unwrap()
            .unwrap();

        let (completed_id, parts) = upload(&engine, "multipart", &[&large(1), b"tail"]).await;
        complete(&engine, "multipart", &completed_id, &parts).await;
        let (aborted_id, _) = upload(&engine, "aborted", &[b"x"]).await;
        engine
            .abort_upload(&alice(), &path("aborted"), &aborted_id)
            .await
            .unwrap();
        let (open_upload_id, _) = upload(&engine, "open", &[&large(2), b"second"]).await;

        let won = idempotent_put(&engine, "won", "race", b"a", WriteConditions::create_only())
            .await
            .unwrap();
        let lost = idempotent_put(
            &engine,
            "lost",
            "race",
            b"b",
            WriteConditions::create_only(),
        )
        .await
        .unwrap();
        assert!(won.is_ok() && lost.is_err());
        (open_upload_id, small_copy, won, lost)
    };

    let engine = open(dir.path());
    assert_eq!(content(&engine, "small").await.unwrap(), b"small v2");
    assert_eq!(content(&engine, "large").await.unwrap(), large(7));
    assert_eq!(content(&engine, "large-copy").await.unwrap(), large(7));
    assert_eq!(content(&engine, "deleted").await, None);
    let copied = engine
        .get_object(&alice(), &path("small-copy"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Committed::from(&*copied), small_copy);
    let mut expected = large(1);
    expected.extend_from_slice(b"tail");
    let multipart = engine
        .get_object(&alice(), &path("multipart"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&*multipart.content, &expected[..]);
    assert_eq!(
        multipart.checksums.get(ChecksumAlgorithm::Crc32c),
        Some(&digest(ChecksumAlgorithm::Crc32c, &expected)),
        "K5 full-object checksum survives"
    );
    assert!(multipart.etag.as_str().ends_with("-2"));
    assert!(matches!(
        engine
            .head_bucket(&alice(), &BucketName::parse("doomed").unwrap())
            .await,
        Err(EngineError::NoSuchBucket(_))
    ));

    let uploads = engine.list_uploads(&alice(), &bucket()).await.unwrap();
    assert_eq!(
        uploads
            .iter()
            .map(|upload| &upload.upload_id)
            .collect::<Vec<_>>(),
        [&open_upload_id],
        "completed and aborted uploads stay gone"
    );
    let details = engine
        .list_parts(&alice(), &path("open"), &open_upload_id)
        .await
        .unwrap();
    assert_eq!(details.parts.len(), 2);
    let (new_upload_id, _) = upload(&engine, "new", &[]).await;
    assert!(
        new_upload_id.counter() > open_upload_id.counter(),
        "upload ids never repeat"
    );
    assert_eq!(
        idempotent_put(&engine, "won", "race", b"a", WriteConditions::create_only()).await,
        Ok(won),
        "I8: a won race replays as won after a restart"
    );
    assert_eq!(
        idempotent_put(
            &engine,
            "lost",
            "race",
            b"b",
            WriteConditions::create_only()
        )
        .await,
        Ok(lost),
        "I8: a lost race replays as lost after a restart"
    );
    let listed = engine
        .list_objects(&alice(), &bucket(), &ListQuery::default())
        .await
        .unwrap();
    let keys: Vec<&str> = listed.entries.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "large",
            "large-copy",
            "multipart",
            "race",
            "small",
            "small-copy"
        ]
    );
    assert!(
        put(&engine, "after", b"x").await.sequence > copied.sequence,
        "sequences continue after recovery"
    );
}

#[tokio::test]
async fn a_torn_last_record_recovers_the_prefix_at_every_cut() {
    let original = scratch_dir();
    {
        let engine = open(original.path());
        engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
        put(&engine, "first", b"1").await;
        put(&engine, "last", &large(9)).await;
    }
    let offsets = frame_offsets(original.path());
    let [.., last_start, end] = offsets[..] else {
        panic!("three records");
    };
    for cut in last_start..=end {
        let dir = scratch_dir();
        copy_dir(original.path(), dir.path());
        fs::OpenOptions::new()
            .write(true)
            .open(log_path(dir.path()))
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let engine = open(dir.path());
        assert_eq!(
            content(&engine, "first").await.unwrap(),
            b"1",
            "cut at {cut}"
        );
        let last = content(&engine, "last").await;
        if cut == end {
            assert_eq!(last.unwrap(), large(9));
            continue;
        }
        assert_eq!(last, None, "cut at {cut}");
        assert_eq!(
            data_file_count(dir.path()),
            0,
            "the orphaned body is removed"
        );
        put(&engine, "after", b"a").await;
        drop(engine);
        let engine = open(dir.path());
        assert_eq!(
            content(&engine, "after").await.unwrap(),
            b"a",
            "records after a repaired tail are recovered (cut at {cut})"
        );
    }
}

#[tokio::test]
async fn garbage_after_the_last_record_is_discarded() {
    let dir = scratch_dir();
    {
        let engine = open(dir.path());
        engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
        put(&engine, "k", b"v").await;
    }
    let clean_len = fs::metadata(log_path(dir.path())).unwrap().len();
    for garbage in [
        &[0_u8; 64][..],
        &[0xFF; 3][..],
        b"\x05\x00\x00\x00\x00\x00\x00\x00hello",
    ] {
        let mut bytes = fs::read(log_path(dir.path())).unwrap();
        bytes.extend_from_slice(garbage);
        fs::write(log_path(dir.path()), bytes).unwrap();
        let engine = open(dir.path());
        assert_eq!(content(&engine, "k").await.unwrap(), b"v");
        drop(engine);
        assert_eq!(
            fs::metadata(log_path(dir.path())).unwrap().len(),
            clean_len,
            "the tail is truncated away"
        );
    }
}

#[tokio::test]
async fn staged_bodies_that_never_committed_are_removed_at_recovery() {
    let dir = scratch_dir();
    {
        let storage = open_storage(dir.path(), true);
        let engine = Engine::open(storage.clone(), config()).unwrap();
        engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
        put(&engine, "kept", &large(1)).await;
        let rejected = engine
            .put_object(
                &alice(),
                &path("kept"),
                NewObject::single_part(large(2)),
                WriteMode::Plain(WriteConditions::create_only()),
                10,
            )
            .await
            .unwrap();
        assert!(rejected.is_err(), "C1");
        let abandoned: Arc<[u8]> = large(3).into();
        storage.stage(&abandoned).await.unwrap();
        assert_eq!(data_file_count(dir.path()), 3);
    }
    let engine = open(dir.path());
    assert_eq!(data_file_count(dir.path()), 1);
    assert_eq!(content(&engine, "kept").await.unwrap(), large(1));
    put(&engine, "next", &large(4)).await;
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(
        content(&engine, "next").await.unwrap(),
        large(4),
        "new data files do not reuse a removed file's id"
    );
}

#[tokio::test]
async fn damage_that_a_crash_cannot_cause_stops_recovery() {
    let original = scratch_dir();
    {
        let engine = open(original.path());
        engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
        put(&engine, "large", &large(5)).await;
    }
    let missing_data_file = scratch_dir();
    copy_dir(original.path(), missing_data_file.path());
    for entry in fs::read_dir(missing_data_file.path().join("data")).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let changed_data_file = scratch_dir();
    copy_dir(original.path(), changed_data_file.path());
    for entry in fs::read_dir(changed_data_file.path().join("data")).unwrap() {
        fs::write(entry.unwrap().path(), large(6)).unwrap();
    }
    let undecodable_record = scratch_dir();
    copy_dir(original.path(), undecodable_record.path());
    {
        let payload = [0xEE_u8; 5];
        let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
        let crc = crc32c::crc32c_append(crc32c::crc32c(&len), &payload);
        let mut bytes = fs::read(log_path(undecodable_record.path())).unwrap();
        bytes.extend_from_slice(&len);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(&payload);
        fs::write(log_path(undecodable_record.path()), bytes).unwrap();
    }
    let foreign_log = scratch_dir();
    fs::create_dir_all(foreign_log.path().join("wal")).unwrap();
    fs::write(log_path(foreign_log.path()), b"not a lockwell log at all").unwrap();

    for (what, dir) in [
        ("missing data file", &missing_data_file),
        ("changed data file", &changed_data_file),
        ("intact but undecodable record", &undecodable_record),
        ("foreign log", &foreign_log),
    ] {
        let error = Engine::open(open_storage(dir.path(), true), config()).unwrap_err();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::InvalidData,
            "{what}: {error}"
        );
    }
}

#[test]
fn a_data_directory_serves_one_server_at_a_time() {
    let dir = scratch_dir();
    let first = FileStorage::open(dir.path(), FileStorageConfig::default()).unwrap();
    let second = FileStorage::open(dir.path(), FileStorageConfig::default()).unwrap_err();
    assert_eq!(second.kind(), std::io::ErrorKind::WouldBlock);
    drop(first);
    FileStorage::open(dir.path(), FileStorageConfig::default()).unwrap();
}

/// `writers` concurrent conditional creates on distinct keys; returns the
/// log's fsync count.
async fn concurrent_creates(dir: &Path, group_commit: bool, writers: usize) -> u64 {
    let storage = open_storage(dir, group_commit);
    let engine = Arc::new(Engine::open(storage.clone(), config()).unwrap());
    engine.create_bucket(&alice(), &bucket(), 1).await.unwrap();
    let syncs_before = storage.log_sync_count();
    let handles: Vec<_> = (0..writers)
        .map(|writer| {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                engine
                    .put_object(
                        &alice(),
                        &path(&format!("key-{writer}")),
                        NewObject::single_part(&b"body"[..]),
                        WriteMode::Plain(WriteConditions::create_only()),
                        10,
                    )
                    .await
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap().unwrap().unwrap();
    }
    storage.log_sync_count() - syncs_before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_shares_fsyncs_among_concurrent_writers() {
    const WRITERS: usize = 64;
    let grouped = concurrent_creates(scratch_dir().path(), true, WRITERS).await;
    let one_each = concurrent_creates(scratch_dir().path(), false, WRITERS).await;
    assert_eq!(
        one_each, WRITERS as u64,
        "without group commit, one fsync per write"
    );
    assert!(
        grouped < WRITERS as u64 / 2,
        "{grouped} fsyncs for {WRITERS} concurrent writes"
    );
}
