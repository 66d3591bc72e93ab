//! The S3 client against lockwell-server over loopback: the portable
//! conformance scenarios (also run against moto), then what only our
//! server implements and the client must surface as typed errors (SPEC
//! C1-C9, I1-I2, I5-I6, K2, K4, R6).

// Real loopback sockets and an in-process server: the simulator has its
// own test (`sim.rs`).
#![cfg(not(madsim))]

mod support;

use bytes::Bytes;
use lockwell_client::s3::types::{
    CopyOptions, CopySource, DeleteOptions, DeleteTarget, GetOptions, PutOptions,
};
use lockwell_client::{ChecksumAlgorithm, ETag, Error, WriteCondition};
use support::conformance::{self, key};
use support::proxy::{Fault, FaultProxy};
use support::{TestServer, client};

#[tokio::test]
async fn conformance_buckets() {
    let server = TestServer::start().await;
    conformance::buckets(&client(&server.endpoint()), "buckets").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_objects_round_trip() {
    let server = TestServer::start().await;
    conformance::objects_round_trip(&client(&server.endpoint()), "objects").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_conditional_puts() {
    let server = TestServer::start().await;
    conformance::conditional_puts(&client(&server.endpoint()), "conditional").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_listing() {
    let server = TestServer::start().await;
    conformance::listing(&client(&server.endpoint()), "listing").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_copies() {
    let server = TestServer::start().await;
    conformance::copies(&client(&server.endpoint()), "copies").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_deletes() {
    let server = TestServer::start().await;
    conformance::deletes(&client(&server.endpoint()), "deletes").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_multipart() {
    let server = TestServer::start().await;
    conformance::multipart(&client(&server.endpoint()), "multipart").await;
    server.stop().await;
}

#[tokio::test]
async fn conformance_streaming_put() {
    let server = TestServer::start().await;
    conformance::streaming_put(&client(&server.endpoint()), "streaming").await;
    server.stop().await;
}

#[tokio::test]
async fn c9_r6_a_failed_condition_names_its_header() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    let first = client
        .put_object("bkt", "k", "v1", &PutOptions::default())
        .await
        .unwrap();
    let cases = [
        (WriteCondition::IfAbsent, "If-None-Match"),
        (
            WriteCondition::IfMatch(ETag::of_content(b"other")),
            "If-Match",
        ),
        (
            WriteCondition::IfNoneMatch(first.etag.clone()),
            "If-None-Match",
        ),
    ];
    for (condition, header) in cases {
        let error = client
            .put_object(
                "bkt",
                "k",
                "v2",
                &PutOptions::default().condition(condition.clone()),
            )
            .await
            .unwrap_err();
        match &error {
            Error::PreconditionFailed { condition, details } => {
                assert_eq!(condition.as_deref(), Some(header), "C9");
                assert_eq!(details.code.as_deref(), Some("PreconditionFailed"));
            }
            other => panic!("{condition:?}: {other:?}"),
        }
    }
    let absent = client
        .put_object(
            "bkt",
            "absent",
            "v",
            &PutOptions::default().condition(WriteCondition::IfMatch(first.etag)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(absent, Error::NotFound(_)),
        "C2: If-Match on an absent key is 404: {absent:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn i1_i2_r6_keyed_puts_replay_and_a_reused_key_is_a_mismatch() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("billing").await.unwrap();
    let options = PutOptions::default().idempotency_key(key("invoice-2026-001"));
    let first = client
        .put_object("billing", "invoices/1.json", "invoice-payload", &options)
        .await
        .unwrap();
    client
        .put_object(
            "billing",
            "invoices/1.json",
            "overwritten",
            &PutOptions::default(),
        )
        .await
        .unwrap();
    let replay = client
        .put_object("billing", "invoices/1.json", "invoice-payload", &options)
        .await
        .expect("I1: the replay returns the stored result");
    assert_eq!(replay.etag, first.etag, "I1: the original ETag");
    let got = client
        .get_object("billing", "invoices/1.json", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        got.body,
        Bytes::from_static(b"overwritten"),
        "I1: the replay wrote nothing"
    );
    let mismatch = client
        .put_object("billing", "invoices/1.json", "other payload", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(mismatch, Error::IdempotencyMismatch(_)),
        "I2: {mismatch:?}"
    );
    assert_eq!(mismatch.status(), Some(422));
    server.stop().await;
}

#[tokio::test]
async fn i7_a_replayed_lost_create_stays_lost() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    client
        .put_object("bkt", "k", "winner", &PutOptions::default())
        .await
        .unwrap();
    let options = PutOptions::default()
        .condition(WriteCondition::IfAbsent)
        .idempotency_key(key("create-k"));
    for _ in 0..2 {
        let lost = client
            .put_object("bkt", "k", "loser", &options)
            .await
            .unwrap_err();
        assert!(lost.is_precondition_failed(), "I7: {lost:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn i6_a_streamed_put_refuses_an_idempotency_key_before_sending() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr).await;
    let client = client(&proxy.endpoint());
    let refused = client
        .put_object_streaming(
            "bkt",
            "k",
            std::io::Cursor::new(vec![0u8; 10]),
            10,
            &PutOptions::default().idempotency_key(key("stream-1")),
        )
        .await
        .unwrap_err();
    match &refused {
        Error::InvalidInput(message) => assert!(message.contains("I6"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(refused.has_no_side_effects());
    assert!(proxy.seen().is_empty(), "nothing was sent");
    server.stop().await;
}

#[tokio::test]
async fn k2_r6_a_body_corrupted_in_transit_is_bad_digest_and_stores_nothing() {
    let server = TestServer::start().await;
    let setup = client(&server.endpoint());
    setup.create_bucket("bkt").await.unwrap();
    let proxy = FaultProxy::start(server.addr).await;
    let client = client(&proxy.endpoint());
    let cases = [
        // The signed SHA-256 catches it (I5).
        PutOptions::default(),
        // A checksum header too (K2): the server checks both.
        PutOptions::default().checksum(ChecksumAlgorithm::Sha1),
    ];
    for options in cases {
        proxy.inject([Fault::CorruptBody]);
        let error = client
            .put_object("bkt", "k", "some bytes", &options)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::BadDigest(_)), "{error:?}");
        assert!(!error.is_retryable());
    }
    let missing = setup.head_object("bkt", "k", &GetOptions::default()).await;
    assert!(
        matches!(missing, Err(Error::NotFound(_))),
        "K2: {missing:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn k4_stored_checksums_come_back_when_asked() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    let put = client
        .put_object(
            "bkt",
            "k",
            "checked",
            &PutOptions::default().checksum(ChecksumAlgorithm::Crc64Nvme),
        )
        .await
        .unwrap();
    let expected = lockwell_core::checksum::digest(ChecksumAlgorithm::Crc64Nvme, b"checked");
    assert_eq!(put.checksum, Some(expected));
    let plain = client
        .head_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap();
    assert!(plain.checksums.is_empty());
    let asked = client
        .get_object(
            "bkt",
            "k",
            &GetOptions {
                checksum_mode: true,
                ..GetOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(asked.info.checksums, [expected]);
    server.stop().await;
}

#[tokio::test]
async fn c6_c7_c8_copy_conditions_on_source_and_destination() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("live").await.unwrap();
    client.create_bucket("snapshots").await.unwrap();
    let state = client
        .put_object("live", "state.json", "{}", &PutOptions::default())
        .await
        .unwrap();
    let source = CopySource {
        bucket: "live",
        key: "state.json",
    };
    let create_only = CopyOptions {
        destination_condition: Some(WriteCondition::IfAbsent),
        ..CopyOptions::default()
    };
    let first = client
        .copy_object(&source, "snapshots", "latest.json", &create_only)
        .await
        .expect("C7: the first snapshot is created");
    assert_eq!(first.etag, state.etag);
    let again = client
        .copy_object(&source, "snapshots", "latest.json", &create_only)
        .await
        .unwrap_err();
    assert!(
        again.is_precondition_failed(),
        "C7 requireAbsent: {again:?}"
    );
    let stale = client
        .copy_object(
            &source,
            "snapshots",
            "latest.json",
            &CopyOptions {
                destination_condition: Some(WriteCondition::IfMatch(ETag::of_content(b"old"))),
                ..CopyOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        stale.is_precondition_failed(),
        "C7 requireMatchEtag: {stale:?}"
    );
    let source_moved = client
        .copy_object(
            &source,
            "snapshots",
            "other.json",
            &CopyOptions {
                source_conditions: lockwell_client::ReadConditions {
                    if_none_match: Some(state.etag.clone()),
                    ..Default::default()
                },
                ..CopyOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        source_moved.status(),
        Some(412),
        "C8: a failed source condition is 412, never 304"
    );
    let source_stale = client
        .copy_object(
            &source,
            "snapshots",
            "other.json",
            &CopyOptions {
                source_conditions: lockwell_client::ReadConditions {
                    if_match: Some(ETag::of_content(b"old")),
                    ..Default::default()
                },
                ..CopyOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        source_stale.is_precondition_failed(),
        "C8: {source_stale:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn c6a_conditional_deletes() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    let a = client
        .put_object("bkt", "a", "a", &PutOptions::default())
        .await
        .unwrap();
    let stale = DeleteOptions {
        if_match: Some(ETag::of_content(b"old")),
    };
    let refused = client.delete_object("bkt", "a", &stale).await.unwrap_err();
    assert!(refused.is_precondition_failed(), "C6a: {refused:?}");
    let absent = client
        .delete_object("bkt", "none", &stale)
        .await
        .unwrap_err();
    assert!(matches!(absent, Error::NotFound(_)), "C6a: {absent:?}");
    client
        .delete_object(
            "bkt",
            "a",
            &DeleteOptions {
                if_match: Some(a.etag),
            },
        )
        .await
        .expect("C6a: the matching ETag deletes");

    for key in ["x", "y"] {
        client
            .put_object("bkt", key, key, &PutOptions::default())
            .await
            .unwrap();
    }
    let output = client
        .delete_objects(
            "bkt",
            &[
                DeleteTarget {
                    key: "x".into(),
                    if_match: Some(ETag::of_content(b"not x")),
                },
                DeleteTarget {
                    key: "y".into(),
                    if_match: Some(ETag::of_content(b"y")),
                },
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(output.deleted, ["y"]);
    assert_eq!(output.errors.len(), 1);
    assert_eq!(
        (
            output.errors[0].key.as_str(),
            output.errors[0].code.as_str()
        ),
        ("x", "PreconditionFailed"),
        "C6a: a per-object error while the others are deleted"
    );
    server.stop().await;
}

#[tokio::test]
async fn delete_objects_limits_are_enforced_client_side_at_the_limit() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    let targets = |count: usize| -> Vec<DeleteTarget> {
        (0..count)
            .map(|i| DeleteTarget {
                key: format!("k{i}"),
                if_match: None,
            })
            .collect()
    };
    let limit = lockwell_proto::xml::MAX_DELETE_OBJECTS;
    let at_limit = client.delete_objects("bkt", &targets(limit), true).await;
    assert_eq!(at_limit.unwrap().errors, []);
    for count in [0, limit + 1] {
        let refused = client.delete_objects("bkt", &targets(count), true).await;
        assert!(matches!(refused, Err(Error::InvalidInput(_))), "{count}");
    }
    server.stop().await;
}

#[tokio::test]
async fn list_page_size_is_checked_client_side_at_the_limit() {
    let server = TestServer::start().await;
    let client = client(&server.endpoint());
    client.create_bucket("bkt").await.unwrap();
    let with_max_keys = |max_keys| lockwell_client::s3::types::ListObjectsV2Request {
        max_keys: Some(max_keys),
        ..Default::default()
    };
    let limit = lockwell_client::s3::MAX_LIST_KEYS;
    assert!(
        client
            .list_objects_v2("bkt", &with_max_keys(limit))
            .await
            .is_ok()
    );
    for max_keys in [0, limit + 1] {
        let refused = client
            .list_objects_v2("bkt", &with_max_keys(max_keys))
            .await;
        assert!(matches!(refused, Err(Error::InvalidInput(_))), "{max_keys}");
    }
    server.stop().await;
}

#[tokio::test]
async fn response_bodies_are_bounded_at_the_limit() {
    const LIMIT_BYTES: u64 = 16;
    let server = TestServer::start().await;
    let setup = client(&server.endpoint());
    setup.create_bucket("bkt").await.unwrap();
    let mut config = support::config(&server.endpoint());
    config.transport.max_response_body_len_bytes = LIMIT_BYTES;
    let bounded =
        lockwell_client::S3Client::new(config, lockwell_client::SeededRandom::new(1)).unwrap();
    let at_limit = vec![b'a'; LIMIT_BYTES as usize];
    let over_limit = vec![b'b'; LIMIT_BYTES as usize + 1];
    setup
        .put_object("bkt", "at", at_limit.clone(), &PutOptions::default())
        .await
        .unwrap();
    setup
        .put_object("bkt", "over", over_limit, &PutOptions::default())
        .await
        .unwrap();
    let got = bounded
        .get_object("bkt", "at", &GetOptions::default())
        .await
        .expect("a body at the limit is read");
    assert_eq!(got.body, Bytes::from(at_limit));
    let refused = bounded
        .get_object("bkt", "over", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::InvalidResponse { status: 200, .. }),
        "{refused:?}"
    );
    server.stop().await;
}
