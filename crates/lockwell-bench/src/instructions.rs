//! Deterministic workloads for instruction counting under callgrind
//! (`instruction-bench`, driven by `cargo xtask bench-instructions`).
//!
//! Wall-clock benchmarks on a shared 2-core machine move by several
//! percent between identical builds; the number of instructions a
//! single-threaded, input-fixed workload executes does not move at all.
//! So each workload here runs on one thread, over fixed inputs, with no
//! randomness and no clock: the same build executes the same instructions
//! on every run, and any change in the count is a change in the code.
//!
//! The driver runs a workload at `n` and at `2n` iterations and divides
//! the difference by `n`: process start-up, the setup before the loop and
//! the first iteration's one-time allocations appear in both runs and
//! cancel.

use std::convert::Infallible;
use std::hint::black_box;

use http::{HeaderMap, HeaderValue, Method};

use lockwell_core::checksum::{ChecksumAlgorithm, MultiHasher, digest};
use lockwell_core::idempotency::{
    ClaimOutcome, Fingerprint, IdempotencyKey, IdempotencyScope, Principal,
};
use lockwell_core::object::ObjectPath;
use lockwell_core::precondition::{CopyDestinationCondition, WriteConditions};
use lockwell_core::store::{CopyRequest, MetadataDirective, NoJournal, Store, StoreConfig};
use lockwell_proto::headers;

use crate::commit_fixtures::{ObjectWriter, bench_path, put_unjournaled};
use lockwell_proto::route::{RouteRequest, Router, S3Operation};
use lockwell_proto::sigv4::{self, ContentSha256, Credentials, SecretKey, SignedRequest};

/// The checksum workloads' buffer: the size of a server's body chunk, large
/// enough that per-call overhead is a rounding error.
pub const CHECKSUM_BUFFER_LEN_BYTES: usize = 64 * 1024;

/// Iterations between the two runs of a commit-path workload: a put costs
/// a few thousand instructions, so the difference is millions, far above
/// anything start-up could leave over.
const COMMIT_ITERATIONS: u64 = 1000;

/// Iterations between the two runs of a checksum workload: one 64 KiB
/// update is already 10^5 to 10^6 instructions.
const CHECKSUM_ITERATIONS: u64 = 4;

/// Iterations between the two runs of the request-parsing workload: a
/// SigV4 verification is tens of thousands of instructions (SHA-256 in
/// software: callgrind's CPU reports no SHA-NI).
const PROTO_ITERATIONS: u64 = 200;

/// One instruction-counted workload.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// An unconditional put over one existing key.
    PutUncontended,
    /// A compare-and-swap: read the key, put If-Match its ETag (always wins
    /// on one thread).
    PutIfMatch,
    /// A create-only put (If-None-Match: *) on an existing key: rejected
    /// (C1), nothing installed.
    CreateOnlyReject,
    /// The retry of a completed idempotent put: the claim finds the stored
    /// outcome and replays it (I1), writing nothing.
    IdempotentReplay,
    /// An unconditional copy of one object onto another key (C7).
    Copy,
    /// [`MultiHasher`] with one algorithm over [`CHECKSUM_BUFFER_LEN_BYTES`].
    Checksum(ChecksumAlgorithm),
    /// What the server does with a PutObject request before its body: route
    /// it, parse its conditionals, checksum and idempotency headers, and
    /// verify its SigV4 signature.
    ProtoPutObject,
}

impl Workload {
    /// Every workload, in the order reports list them.
    #[must_use]
    pub fn all() -> Vec<Self> {
        let commit_path = [
            Self::PutUncontended,
            Self::PutIfMatch,
            Self::CreateOnlyReject,
            Self::IdempotentReplay,
            Self::Copy,
        ];
        commit_path
            .into_iter()
            .chain(ChecksumAlgorithm::ALL.map(Self::Checksum))
            .chain([Self::ProtoPutObject])
            .collect()
    }

    /// The name on the command line and in result files.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::PutUncontended => "commit/put-uncontended".to_owned(),
            Self::PutIfMatch => "commit/put-if-match".to_owned(),
            Self::CreateOnlyReject => "commit/create-only-reject".to_owned(),
            Self::IdempotentReplay => "commit/idempotent-replay".to_owned(),
            Self::Copy => "commit/copy".to_owned(),
            Self::Checksum(algorithm) => format!("checksum/{}-64KiB", algorithm.name()),
            Self::ProtoPutObject => "proto/put-object-request".to_owned(),
        }
    }

    /// The workload called `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|workload| workload.name() == name)
    }

    /// How many iterations apart the driver's two runs should be.
    #[must_use]
    pub const fn iterations_per_measurement(self) -> u64 {
        match self {
            Self::Checksum(_) => CHECKSUM_ITERATIONS,
            Self::ProtoPutObject => PROTO_ITERATIONS,
            Self::PutUncontended
            | Self::PutIfMatch
            | Self::CreateOnlyReject
            | Self::IdempotentReplay
            | Self::Copy => COMMIT_ITERATIONS,
        }
    }

    /// Sets the workload up and runs `iterations` of it; returns how many
    /// iterations had the expected outcome (all of them, or the workload is
    /// broken), so that the caller can check and the optimiser cannot skip
    /// the work.
    #[must_use]
    pub fn run(self, iterations: u64) -> u64 {
        match self {
            Self::PutUncontended => put_uncontended(iterations),
            Self::PutIfMatch => put_if_match(iterations),
            Self::CreateOnlyReject => create_only_reject(iterations),
            Self::IdempotentReplay => idempotent_replay(iterations),
            Self::Copy => copy(iterations),
            Self::Checksum(algorithm) => checksum(algorithm, iterations),
            Self::ProtoPutObject => proto_put_object(iterations),
        }
    }
}

/// A store holding `key`, and the object source that wrote it.
fn store_with(key: &ObjectPath) -> (Store, ObjectWriter) {
    let store = Store::new(StoreConfig::default());
    let mut objects = ObjectWriter::new(0);
    assert!(put_unjournaled(
        &store,
        key,
        objects.next_object(),
        &WriteConditions::default()
    ));
    (store, objects)
}

fn put_uncontended(iterations: u64) -> u64 {
    let key = bench_path("k");
    let (store, mut objects) = store_with(&key);
    (0..iterations)
        .map(|_| {
            let object = black_box(objects.next_object());
            u64::from(put_unjournaled(
                &store,
                &key,
                object,
                &WriteConditions::default(),
            ))
        })
        .sum()
}

fn put_if_match(iterations: u64) -> u64 {
    let key = bench_path("k");
    let (store, mut objects) = store_with(&key);
    (0..iterations)
        .map(|_| {
            let current = store.get(&key).expect("the key exists");
            let conditions = WriteConditions::if_match(current.etag.clone());
            u64::from(put_unjournaled(
                &store,
                &key,
                objects.next_object(),
                &conditions,
            ))
        })
        .sum()
}

fn create_only_reject(iterations: u64) -> u64 {
    let key = bench_path("k");
    let (store, mut objects) = store_with(&key);
    (0..iterations)
        .map(|_| {
            let won = put_unjournaled(
                &store,
                &key,
                objects.next_object(),
                &WriteConditions::create_only(),
            );
            u64::from(!won)
        })
        .sum()
}

fn idempotent_replay(iterations: u64) -> u64 {
    const NOW_MS: u64 = 1_000;
    let key = bench_path("k");
    let store = Store::new(StoreConfig::default());
    let scope = IdempotencyScope {
        principal: Principal::new("bench"),
        idempotency_key: IdempotencyKey::parse("replayed-request").expect("valid key"),
    };
    let mut objects = ObjectWriter::new(0);
    let object = objects.next_object();
    let fingerprint = Fingerprint {
        path: key,
        payload_digest: digest(ChecksumAlgorithm::Md5, &object.content),
        conditions: WriteConditions::create_only(),
    };
    let ClaimOutcome::Claimed(ticket) = store.claim(scope.clone(), fingerprint.clone(), NOW_MS)
    else {
        panic!("a fresh store has no record to conflict with");
    };
    let committed = store.put_claimed(ticket, object, NOW_MS, &mut NoJournal);
    assert!(matches!(committed, Ok(Ok(_))), "the first write commits");
    (0..iterations)
        .map(|_| {
            let outcome = store.claim(scope.clone(), fingerprint.clone(), NOW_MS);
            u64::from(matches!(black_box(outcome), ClaimOutcome::Replay(_)))
        })
        .sum()
}

fn copy(iterations: u64) -> u64 {
    let source = bench_path("source");
    let (store, _) = store_with(&source);
    let request = CopyRequest {
        source,
        source_conditions: Default::default(),
        destination: bench_path("destination"),
        destination_condition: CopyDestinationCondition::Unconditional,
        metadata: MetadataDirective::Copy,
    };
    (0..iterations)
        .map(|_| {
            let outcome: Result<_, Infallible> = store.copy(&request, 0, &mut NoJournal);
            u64::from(matches!(outcome, Ok(Ok(_))))
        })
        .sum()
}

/// A fixed, non-constant buffer: byte `i` is `i * 31 + 7` (mod 256).
fn checksum_input() -> Vec<u8> {
    (0..CHECKSUM_BUFFER_LEN_BYTES)
        .map(|index| (index.wrapping_mul(31).wrapping_add(7) & 0xFF) as u8)
        .collect()
}

fn checksum(algorithm: ChecksumAlgorithm, iterations: u64) -> u64 {
    let input = checksum_input();
    (0..iterations)
        .map(|_| {
            let mut hasher = MultiHasher::new(&[algorithm]);
            hasher.update(black_box(&input));
            let digests = hasher.finalize();
            u64::from(digests.get(algorithm).is_some())
        })
        .sum()
}

/// The request-parsing workload's fixed request: a keyed, conditional,
/// checksummed PutObject, signed once at a fixed time.
struct SignedPutObject {
    method: Method,
    path: &'static str,
    headers: HeaderMap,
    secret: SecretKey,
    now: std::time::SystemTime,
}

const PROTO_REGION: &str = "us-east-1";
const PROTO_ACCESS_KEY: &str = "LWINSTRUCTIONS";

impl SignedPutObject {
    fn new() -> Self {
        // A fixed instant (2026-01-01T00:00:00Z): no clock is read.
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
        let secret = SecretKey::new("lockwell-instruction-count-secret");
        let credentials = Credentials {
            access_key_id: PROTO_ACCESS_KEY.to_owned(),
            secret_key: secret.clone(),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:9000"),
            ("content-length", "1024"),
            ("content-type", "application/octet-stream"),
            ("if-match", "\"0123456789abcdef0123456789abcdef\""),
            ("x-amz-checksum-crc32c", "yZRlqg=="),
            ("idempotency-key", "instruction-count-0001"),
            ("x-amz-meta-writer", "instruction-bench"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let method = Method::PUT;
        let path = "/lockwell-bench/objects/k00000042";
        let payload = ContentSha256::Unsigned;
        let params = sigv4::SigningParams {
            credentials: &credentials,
            region: PROTO_REGION,
            time: now,
        };
        sigv4::sign(&method, path, None, &mut headers, &payload, &params)
            .expect("the fixed request signs");
        Self {
            method,
            path,
            headers,
            secret,
            now,
        }
    }

    /// Parses and verifies the request as the server does; `true` when it
    /// is a well-formed, correctly signed, conditional keyed PutObject.
    fn parse(&self, router: &Router) -> bool {
        let route = router.route(&RouteRequest {
            method: &self.method,
            host: Some("127.0.0.1:9000"),
            path: self.path,
            query: None,
            has_copy_source: false,
        });
        let conditions = headers::write_conditions(&self.headers);
        let checksums = headers::checksum_headers(&self.headers);
        let key = headers::idempotency_key(&self.headers);
        let metadata = headers::user_metadata(&self.headers);
        let verified = sigv4::verify(
            &SignedRequest {
                method: &self.method,
                path: self.path,
                query: None,
                headers: &self.headers,
            },
            PROTO_REGION,
            |access_key| (access_key == PROTO_ACCESS_KEY).then(|| self.secret.clone()),
            self.now,
        );
        matches!(route, Ok(S3Operation::PutObject { .. }))
            && conditions.is_ok()
            && checksums.is_ok()
            && matches!(key, Ok(Some(_)))
            && metadata.is_ok_and(|metadata| metadata.len() == 1)
            && verified.is_ok_and(|verified| verified.is_header_signed("idempotency-key"))
    }
}

fn proto_put_object(iterations: u64) -> u64 {
    let request = SignedPutObject::new();
    let router = Router::path_style_only();
    (0..iterations)
        .map(|_| u64::from(black_box(&request).parse(black_box(&router))))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_has_its_expected_outcome_on_every_iteration() {
        for workload in Workload::all() {
            assert_eq!(workload.run(3), 3, "{}", workload.name());
            assert_eq!(workload.run(0), 0, "{}", workload.name());
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        let workloads = Workload::all();
        let names: std::collections::BTreeSet<String> =
            workloads.iter().map(|workload| workload.name()).collect();
        assert_eq!(names.len(), workloads.len());
        for workload in workloads {
            assert_eq!(Workload::from_name(&workload.name()), Some(workload));
        }
        assert_eq!(Workload::from_name("commit/unknown"), None);
    }

    #[test]
    fn the_checksum_input_is_not_constant() {
        let input = checksum_input();
        assert_eq!(input.len(), CHECKSUM_BUFFER_LEN_BYTES);
        assert_eq!(&input[..3], &[7, 38, 69]);
    }
}
