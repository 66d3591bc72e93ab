//! The S3 client's retry behaviour against lockwell-server, through a
//! fault-injecting proxy (SPEC R3, R4, R5, A1): what is retried, what is
//! not, and that a retried keyed write is applied exactly once.

// Real loopback sockets and an in-process server: the simulator has its
// own test (`sim.rs`).
#![cfg(not(madsim))]

mod support;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use lockwell_client::retry::StopReason;
use lockwell_client::s3::types::{
    CompleteOptions, CreateMultipartOptions, DeleteOptions, GetOptions, ListObjectsV2Request,
    PutOptions,
};
use lockwell_client::transport::Endpoint;
use lockwell_client::{
    BudgetConfig, ChecksumAlgorithm, ClientRuntime, Clock, Connector, ETag, Error, Operation,
    RequestSent, RetryPolicy, S3Client, SeededRandom, TcpConnector, WriteCondition,
};
use support::conformance::key;
use support::proxy::{Fault, FaultProxy};
use support::{Observed, Recorder, TestServer, client, config, observed_client};

/// A server, a proxy in front of it, a client of the proxy whose requests
/// are recorded, and a client of the server itself for setup and checks.
struct Rig {
    server: TestServer,
    proxy: FaultProxy,
    recorder: Arc<Recorder>,
    client: S3Client,
    direct: S3Client,
}

impl Rig {
    async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    async fn with_config(adjust: impl FnOnce(&mut lockwell_client::S3Config)) -> Self {
        let server = TestServer::start().await;
        let proxy = FaultProxy::start(server.addr).await;
        let recorder = Arc::new(Recorder::default());
        let mut proxied = config(&proxy.endpoint());
        adjust(&mut proxied);
        let client = observed_client(proxied, TcpConnector, &recorder);
        let direct = client_of(&server);
        direct.create_bucket("bkt").await.expect("create bucket");
        Self {
            server,
            proxy,
            recorder,
            client,
            direct,
        }
    }

    async fn stop(self) {
        drop(self.proxy);
        self.server.stop().await;
    }
}

fn client_of(server: &TestServer) -> S3Client {
    client(&server.endpoint())
}

fn unavailable() -> Fault {
    Fault::Unavailable {
        code: "ServiceUnavailable",
    }
}

fn observed(operation: Operation, attempts: u32, status: Option<u16>) -> Observed {
    Observed {
        operation,
        attempts,
        status,
        succeeded: status.is_some_and(|status| status < 300),
        stopped: None,
    }
}

fn stopped(observed: Observed, reason: StopReason) -> Observed {
    Observed {
        stopped: Some(reason),
        ..observed
    }
}

#[tokio::test]
async fn r3_a_get_is_retried_through_two_503s_then_succeeds() {
    let rig = Rig::start().await;
    rig.direct
        .put_object("bkt", "k", "value", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([unavailable(), unavailable()]);
    let got = rig
        .client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .expect("R3: the third attempt succeeds");
    assert_eq!(got.body, Bytes::from_static(b"value"));
    assert_eq!(
        rig.recorder.only(Operation::GetObject),
        observed(Operation::GetObject, 3, Some(200))
    );
    assert_eq!(
        rig.proxy.forwarded(),
        1,
        "only the third reached the server"
    );
    let backoffs = rig.recorder.backoffs();
    assert_eq!(backoffs.len(), 3);
    assert!(
        backoffs[0].unwrap() <= Duration::from_millis(50)
            && backoffs[1].unwrap() <= Duration::from_millis(100)
            && backoffs[2].is_none(),
        "R3: full jitter under 50 ms, then 100 ms: {backoffs:?}"
    );
    rig.stop().await;
}

#[tokio::test]
async fn r3_three_503s_use_up_the_three_attempts() {
    let rig = Rig::start().await;
    rig.proxy
        .inject([unavailable(), unavailable(), unavailable()]);
    let error = rig
        .client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Server(_)), "{error:?}");
    assert_eq!(
        rig.recorder.only(Operation::GetObject),
        stopped(
            observed(Operation::GetObject, 3, Some(503)),
            StopReason::AttemptsExhausted
        )
    );
    rig.stop().await;
}

#[tokio::test]
async fn r3_throttling_backs_off_from_the_throttling_base() {
    let rig = Rig::with_config(|config| {
        config.retry = RetryPolicy {
            throttling_base_delay_ms: 20,
            base_delay_ms: 1,
            ..RetryPolicy::default()
        };
    })
    .await;
    rig.direct
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([Fault::Unavailable { code: "SlowDown" }]);
    rig.client
        .head_object("bkt", "k", &GetOptions::default())
        .await
        .expect("R3: retried after SlowDown");
    assert_eq!(
        rig.recorder.only(Operation::HeadObject),
        observed(Operation::HeadObject, 2, Some(200))
    );
    rig.stop().await;
}

#[tokio::test]
async fn r3_a_412_is_never_retried() {
    let rig = Rig::start().await;
    rig.direct
        .put_object("bkt", "k", "v1", &PutOptions::default())
        .await
        .unwrap();
    let options = PutOptions::default()
        .condition(WriteCondition::IfAbsent)
        .idempotency_key(key("create-k"));
    let lost = rig
        .client
        .put_object("bkt", "k", "v2", &options)
        .await
        .unwrap_err();
    assert!(lost.is_precondition_failed());
    assert_eq!(
        rig.recorder.only(Operation::PutObject),
        stopped(
            observed(Operation::PutObject, 1, Some(412)),
            StopReason::NotRetryable
        )
    );
    assert_eq!(rig.proxy.seen().len(), 1);
    rig.stop().await;
}

#[tokio::test]
async fn r3_404_and_409_are_never_retried() {
    let rig = Rig::start().await;
    let missing = rig
        .client
        .get_object("bkt", "missing", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)));
    rig.direct
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .unwrap();
    // A DELETE is always replayable, but a 409 is never retried.
    let not_empty = rig.client.delete_bucket("bkt").await.unwrap_err();
    assert!(matches!(not_empty, Error::Conflict(_)), "{not_empty:?}");
    assert_eq!(
        rig.recorder.requests(),
        [
            stopped(
                observed(Operation::GetObject, 1, Some(404)),
                StopReason::NotRetryable
            ),
            stopped(
                observed(Operation::DeleteBucket, 1, Some(409)),
                StopReason::NotRetryable
            ),
        ]
    );
    assert_eq!(rig.proxy.seen().len(), 2);
    rig.stop().await;
}

#[tokio::test]
async fn r3_an_empty_retry_budget_stops_retries_until_successes_refill_it() {
    let rig = Rig::with_config(|config| {
        config.retry_budget = BudgetConfig {
            capacity_tokens: 5,
            ..BudgetConfig::default()
        };
    })
    .await;
    rig.proxy
        .inject([unavailable(), unavailable(), unavailable()]);
    let error = rig
        .client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Server(_)));
    assert_eq!(
        rig.recorder.only(Operation::GetObject),
        stopped(
            observed(Operation::GetObject, 2, Some(503)),
            StopReason::BudgetExhausted
        ),
        "R3: one retry (5 tokens) empties the bucket"
    );
    assert_eq!(rig.client.retry_budget().available_tokens(), 0);
    // The third fault is still queued: this one fails without a retry.
    let error = rig
        .client
        .head_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Server(_)));
    rig.client
        .list_objects_v2("bkt", &ListObjectsV2Request::default())
        .await
        .expect("no fault left");
    assert_eq!(rig.client.retry_budget().available_tokens(), 1);
    rig.stop().await;
}

/// The rule the issue names: a keyed PutObject whose first response is
/// lost is retried and produces exactly one version.
#[tokio::test]
async fn r4_i1_a_keyed_put_whose_response_is_lost_is_retried_and_writes_once() {
    let rig = Rig::start().await;
    rig.proxy.inject([Fault::DropResponseAfterCommit]);
    // Create-only as well as keyed: had the retry been applied as a second
    // write, it would have lost to the first and answered 412.
    let options = PutOptions::default()
        .condition(WriteCondition::IfAbsent)
        .idempotency_key(key("invoice-2026-001"));
    let put = rig
        .client
        .put_object("bkt", "invoice.json", "invoice-payload", &options)
        .await
        .expect("R4: the keyed retry is answered with the stored result");
    assert_eq!(put.etag, ETag::of_content(b"invoice-payload"));
    assert_eq!(
        rig.recorder.only(Operation::PutObject),
        observed(Operation::PutObject, 2, Some(200))
    );
    assert_eq!(rig.proxy.forwarded(), 2, "both attempts reached the server");

    let got = rig
        .direct
        .get_object("bkt", "invoice.json", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (got.body, got.info.etag),
        (Bytes::from_static(b"invoice-payload"), put.etag.clone())
    );
    let listing = rig
        .direct
        .list_all_objects("bkt", &ListObjectsV2Request::default())
        .await
        .unwrap();
    assert_eq!(listing.objects.len(), 1, "one object");
    // A later replay of the same key answers the same stored result.
    let replay = rig
        .direct
        .put_object("bkt", "invoice.json", "invoice-payload", &options)
        .await
        .expect("I1: replayed, not refused by If-None-Match");
    assert_eq!(replay.etag, put.etag);
    rig.stop().await;
}

#[tokio::test]
async fn r4_an_unkeyed_put_whose_response_is_lost_is_attempted_once() {
    let rig = Rig::start().await;
    rig.proxy.inject([Fault::DropResponseAfterCommit]);
    let error = rig
        .client
        .put_object("bkt", "k", "payload", &PutOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport {
                sent: RequestSent::Maybe,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        !error.has_no_side_effects(),
        "the write may have happened: it did"
    );
    assert_eq!(
        rig.recorder.only(Operation::PutObject),
        stopped(
            observed(Operation::PutObject, 1, None),
            StopReason::NotReplayable
        )
    );
    assert_eq!(rig.proxy.forwarded(), 1);
    let stored = rig
        .direct
        .head_object("bkt", "k", &GetOptions::default())
        .await;
    assert!(stored.is_ok(), "committed although unacknowledged");
    rig.stop().await;
}

#[tokio::test]
async fn r4_an_unkeyed_put_cut_off_after_sending_is_not_retried() {
    let rig = Rig::start().await;
    rig.proxy.inject([Fault::CloseBeforeForwarding]);
    let error = rig
        .client
        .put_object("bkt", "k", "payload", &PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.sent(), Some(RequestSent::Maybe));
    assert_eq!(rig.recorder.only(Operation::PutObject).attempts, 1);
    assert_eq!(rig.proxy.forwarded(), 0);
    rig.stop().await;
}

#[tokio::test]
async fn r4_a_get_is_retried_after_a_connection_reset() {
    let rig = Rig::start().await;
    rig.direct
        .put_object("bkt", "k", "value", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([Fault::CloseBeforeForwarding]);
    let got = rig
        .client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .expect("R4: a GET is always retried");
    assert_eq!(got.body, Bytes::from_static(b"value"));
    assert_eq!(
        rig.recorder.only(Operation::GetObject),
        observed(Operation::GetObject, 2, Some(200))
    );
    rig.stop().await;
}

#[tokio::test]
async fn r4_a_delete_is_retried_after_a_503() {
    let rig = Rig::start().await;
    rig.direct
        .put_object("bkt", "k", "value", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([unavailable()]);
    rig.client
        .delete_object("bkt", "k", &DeleteOptions::default())
        .await
        .expect("R4: a DELETE is always retried");
    assert_eq!(
        rig.recorder.only(Operation::DeleteObject),
        observed(Operation::DeleteObject, 2, Some(204))
    );
    rig.stop().await;
}

#[tokio::test]
async fn r4_unkeyed_writes_and_streams_get_one_attempt_at_a_503() {
    let rig = Rig::start().await;
    rig.proxy.inject([unavailable(), unavailable()]);
    let unkeyed = rig
        .client
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .unwrap_err();
    let streamed = rig
        .client
        .put_object_streaming(
            "bkt",
            "s",
            std::io::Cursor::new(vec![1u8; 100]),
            100,
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    for error in [unkeyed, streamed] {
        assert!(matches!(error, Error::Server(_)), "{error:?}");
    }
    assert_eq!(
        rig.recorder.requests(),
        [
            stopped(
                observed(Operation::PutObject, 1, Some(503)),
                StopReason::NotReplayable
            ),
            stopped(
                observed(Operation::PutObjectStreaming, 1, Some(503)),
                StopReason::NotReplayable
            ),
        ]
    );
    rig.stop().await;
}

#[tokio::test]
async fn r4_i6_a_keyed_complete_whose_response_is_lost_is_retried_and_completes_once() {
    let rig = Rig::start().await;
    let upload = rig
        .direct
        .create_multipart_upload("bkt", "big", &CreateMultipartOptions::default())
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (number, body) in [(1, "first part"), (2, "last")] {
        parts.push(rig.direct.upload_part(&upload, number, body).await.unwrap());
    }
    rig.proxy.inject([Fault::DropResponseAfterCommit]);
    let options = CompleteOptions {
        condition: Some(WriteCondition::IfAbsent),
        idempotency_key: Some(key("complete-big")),
    };
    let complete = rig
        .client
        .complete_multipart_upload(&upload, &parts, &options)
        .await
        .expect("R4: a keyed complete is retried and replayed");
    assert!(
        complete.etag.as_str().ends_with("-2"),
        "{:?}",
        complete.etag
    );
    assert_eq!(
        rig.recorder.only(Operation::CompleteMultipartUpload),
        observed(Operation::CompleteMultipartUpload, 2, Some(200))
    );
    let got = rig
        .direct
        .get_object("bkt", "big", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(got.body, Bytes::from_static(b"first partlast"));
    assert_eq!(got.info.etag, complete.etag);
    rig.stop().await;
}

/// Refuses the first `refusals` connects, then connects over TCP.
#[derive(Debug)]
struct RefusingConnector {
    refusals_left: AtomicU32,
}

impl Connector for RefusingConnector {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<Self::Stream> {
        let refuse = self
            .refusals_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if refuse {
            return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
        }
        TcpConnector.connect(endpoint).await
    }
}

#[tokio::test]
async fn r4_an_unkeyed_put_that_never_left_the_client_is_sent_again() {
    let server = TestServer::start().await;
    client_of(&server).create_bucket("bkt").await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let connector = RefusingConnector {
        refusals_left: AtomicU32::new(1),
    };
    let client = observed_client(config(&server.endpoint()), connector, &recorder);
    let put = client
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .expect("R4: the server never saw the first attempt");
    assert_eq!(put.etag, ETag::of_content(b"v"));
    assert_eq!(
        recorder.only(Operation::PutObject),
        observed(Operation::PutObject, 2, Some(200))
    );

    // Refused every time: a transport error that, certainly, did nothing.
    let refusing = RefusingConnector {
        refusals_left: AtomicU32::new(u32::MAX),
    };
    let recorder = Arc::new(Recorder::default());
    let client = observed_client(config(&server.endpoint()), refusing, &recorder);
    let error = client
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.sent(), Some(RequestSent::No));
    assert!(error.has_no_side_effects());
    assert_eq!(recorder.only(Operation::PutObject).attempts, 3);
    server.stop().await;
}

#[tokio::test]
async fn r3_a_stalled_attempt_times_out_and_a_get_is_retried() {
    let rig = Rig::with_config(|config| config.transport.attempt_timeout_ms = 200).await;
    rig.direct
        .put_object("bkt", "k", "value", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([Fault::Stall]);
    rig.client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .expect("the second attempt is answered");
    assert_eq!(rig.recorder.only(Operation::GetObject).attempts, 2);

    rig.proxy.inject([Fault::Stall]);
    let error = rig
        .client
        .put_object("bkt", "k2", "v", &PutOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                sent: RequestSent::Maybe,
                after_ms: 200
            }
        ),
        "{error:?}"
    );
    assert_eq!(rig.recorder.only(Operation::PutObject).attempts, 1);
    rig.stop().await;
}

#[tokio::test]
async fn r5_i5_requests_sign_the_idempotency_key_and_the_body_hash() {
    let rig = Rig::start().await;
    let body = "invoice-payload";
    rig.client
        .put_object(
            "bkt",
            "k",
            body,
            &PutOptions::default()
                .idempotency_key(key("invoice-1"))
                .checksum(ChecksumAlgorithm::Sha256),
        )
        .await
        .expect("the server accepts the signature");
    let seen = rig.proxy.seen();
    let headers = &seen[0].headers;
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKCLIENTTEST/"));
    let signed = authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap();
    let signed: Vec<&str> = signed.split(';').collect();
    for header in [
        "host",
        "idempotency-key",
        "x-amz-checksum-sha256",
        "x-amz-content-sha256",
        "x-amz-date",
    ] {
        assert!(signed.contains(&header), "R5: {header} in {signed:?}");
    }
    let sha256 = lockwell_core::checksum::digest(ChecksumAlgorithm::Sha256, body.as_bytes());
    assert_eq!(headers["x-amz-content-sha256"], sha256.to_hex(), "R5");
    rig.stop().await;
}

#[tokio::test]
async fn a1_r3_a_wrong_secret_is_refused_and_not_retried() {
    let rig = Rig::with_config(|config| {
        config.secret_key = lockwell_proto::sigv4::SecretKey::new("wrong");
    })
    .await;
    let error = rig
        .client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AccessDenied(_)), "{error:?}");
    assert_eq!(error.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(rig.recorder.only(Operation::GetObject).attempts, 1);
    rig.stop().await;
}

/// A clock 20 minutes behind.
#[derive(Debug)]
struct SkewedClock;

impl Clock for SkewedClock {
    fn now(&self) -> SystemTime {
        lockwell_client::RuntimeClock.now() - Duration::from_secs(20 * 60)
    }
}

#[tokio::test]
async fn a1_r3_a_request_signed_with_a_skewed_clock_is_refused_and_not_retried() {
    let server = TestServer::start().await;
    let recorder = Arc::new(Recorder::default());
    let runtime = ClientRuntime::new(SeededRandom::new(1))
        .with_clock(Arc::new(SkewedClock))
        .with_observer(recorder.clone());
    let client =
        S3Client::with_connector(config(&server.endpoint()), TcpConnector, runtime).unwrap();
    let error = client.list_buckets().await.unwrap_err();
    assert!(matches!(error, Error::AccessDenied(_)), "{error:?}");
    assert_eq!(error.code(), Some("RequestTimeTooSkewed"));
    assert_eq!(recorder.only(Operation::ListBuckets).attempts, 1);
    server.stop().await;
}

#[tokio::test]
async fn connections_are_pooled_across_requests() {
    let rig = Rig::start().await;
    for _ in 0..5 {
        rig.client
            .list_objects_v2("bkt", &ListObjectsV2Request::default())
            .await
            .unwrap();
    }
    assert_eq!(rig.proxy.connections(), 1, "one connection, reused");
    // A response lost mid-connection closes it; the retry opens another.
    rig.direct
        .put_object("bkt", "k", "v", &PutOptions::default())
        .await
        .unwrap();
    rig.proxy.inject([Fault::CloseBeforeForwarding]);
    rig.client
        .get_object("bkt", "k", &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(rig.proxy.connections(), 2);
    rig.stop().await;
}
