//! Durable conditional puts per second with the file backend, group commit
//! against one fsync per write, in one run. A measurement, not a check:
//! ignored by default, and it asserts only correctness, never a speed.
//!
//! ```text
//! cargo test --release -p lockwell-server --test storage_throughput -- --ignored --nocapture
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lockwell_core::idempotency::Principal;
use lockwell_core::object::ObjectKey;
use lockwell_core::precondition::WriteConditions;
use lockwell_core::{BucketName, NewObject, ObjectPath};
use lockwell_server::engine::{Engine, EngineConfig, WriteMode};
use lockwell_server::storage::{FileStorage, FileStorageConfig};

const WRITERS: usize = 64;
const BODY_LEN_BYTES: usize = 1024;
const RUN_DURATION: Duration = Duration::from_secs(5);

struct Measured {
    writes: u64,
    elapsed: Duration,
    fsyncs: u64,
}

/// Each writer updates its own key in a compare-and-swap chain (`If-Match`
/// the ETag of its previous write; the first write is create-only) until
/// the run ends.
async fn measure(dir: &Path, group_commit: bool) -> Measured {
    let storage = Arc::new(FileStorage::open(dir, FileStorageConfig { group_commit }).unwrap());
    let engine = Arc::new(Engine::open(storage.clone(), EngineConfig::default()).unwrap());
    let principal = Principal::new("bench");
    let bucket = BucketName::parse("bench").unwrap();
    engine.create_bucket(&principal, &bucket, 0).await.unwrap();
    let fsyncs_before = storage.log_sync_count();
    // Wall-clock time is what is being measured; this never runs in the
    // simulator.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let engine = Arc::clone(&engine);
            let principal = principal.clone();
            let path = ObjectPath::new(
                bucket.clone(),
                ObjectKey::parse(&format!("writer-{writer}")).unwrap(),
            );
            tokio::spawn(async move {
                let mut conditions = WriteConditions::create_only();
                let mut writes = 0_u64;
                while start.elapsed() < RUN_DURATION {
                    let mut body = vec![0_u8; BODY_LEN_BYTES];
                    body[..8].copy_from_slice(&writes.to_le_bytes());
                    let committed = engine
                        .put_object(
                            &principal,
                            &path,
                            NewObject::single_part(body),
                            WriteMode::Plain(conditions),
                            1,
                        )
                        .await
                        .unwrap()
                        .expect("the only writer of its key never loses a race");
                    conditions = WriteConditions::if_match(committed.etag);
                    writes += 1;
                }
                writes
            })
        })
        .collect();
    let mut writes = 0;
    for writer in writers {
        writes += writer.await.unwrap();
    }
    Measured {
        writes,
        elapsed: start.elapsed(),
        fsyncs: storage.log_sync_count() - fsyncs_before,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement of several seconds; run it with --ignored --nocapture"]
async fn durable_conditional_puts_per_second_group_commit_vs_fsync_per_write() {
    println!(
        "{WRITERS} writers on distinct keys, {BODY_LEN_BYTES} B bodies, If-Match chains, \
         file backend in {}",
        env!("CARGO_TARGET_TMPDIR")
    );
    for group_commit in [true, false] {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let measured = measure(dir.path(), group_commit).await;
        let seconds = measured.elapsed.as_secs_f64();
        println!(
            "group_commit={group_commit:<5}  {:>7} writes in {seconds:.2} s = {:>8.0} durable puts/s  \
             {:>6} fsyncs ({:.1} writes per fsync, {:.2} ms per fsync)",
            measured.writes,
            measured.writes as f64 / seconds,
            measured.fsyncs,
            measured.writes as f64 / measured.fsyncs as f64,
            seconds * 1000.0 / measured.fsyncs as f64,
        );
    }
}
