//! The S3 client runs unchanged under madsim: against lockwell-server on
//! another simulated node, over madsim's TCP, with madsim's clock and
//! randomness. A keyed create-only put, a read and a lost race (C1, E2,
//! R6) go through under seeded latency; then, with the server's node
//! clogged (madsim refuses connects to it at once), a GET is retried until
//! the clog lifts (R3, R4), each refused attempt reported as never sent.
//!
//! Built only with `RUSTFLAGS="--cfg madsim"` (target dir `target/sim`).
#![cfg(madsim)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockwell_client::runtime::SimRandom;
use lockwell_client::s3::types::{GetOptions, PutOptions};
use lockwell_client::{
    AttemptEvent, ClientRuntime, ETag, IdempotencyKey, Observer, Outcome, RequestEvent,
    RequestSent, RetryPolicy, S3Client, S3Config, TcpConnector, WriteCondition,
};
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::{self as server_http, HttpConfig};
use lockwell_server::storage::MemoryStorage;
use madsim::net::NetSim;
use madsim::rand::{Rng, thread_rng};
use madsim::runtime::Handle;

const SERVER_ADDR: &str = "10.0.0.1:9000";
const CLIENT_IP: &str = "10.0.0.2";
const ACCESS_KEY: &str = "AKSIM";
const SECRET_KEY: &str = "sim-secret";
const REGION: &str = "us-east-1";
const MAX_LATENCY_MS: u64 = 20;
/// How long the server's node stays clogged.
const CLOG_MS: u64 = 200;

async fn run_server(addr: SocketAddr) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let engine = Engine::open(Arc::new(MemoryStorage::new()), EngineConfig::default())
        .expect("a memory engine opens");
    let config = HttpConfig::single_key(ACCESS_KEY, SECRET_KEY, REGION);
    server_http::serve(listener, Arc::new(engine), config, std::future::pending())
        .await
        .expect("serve");
}

/// Whether each attempt's failure had been sent, and attempts per request.
#[derive(Debug, Default)]
struct Attempts {
    failures_sent: Mutex<Vec<Option<RequestSent>>>,
    requests: Mutex<Vec<u32>>,
}

impl Observer for Attempts {
    fn on_attempt(&self, event: &AttemptEvent<'_>) {
        if let Outcome::Failed(error) = event.outcome {
            self.failures_sent.lock().unwrap().push(error.sent());
        }
    }

    fn on_request(&self, event: &RequestEvent<'_>) {
        self.requests.lock().unwrap().push(event.attempts);
    }
}

fn client(policy: RetryPolicy, observer: Arc<Attempts>) -> S3Client {
    let mut config = S3Config::new(
        format!("http://{SERVER_ADDR}"),
        REGION,
        ACCESS_KEY,
        SECRET_KEY,
    );
    config.retry = policy;
    let runtime = ClientRuntime::new(SimRandom).with_observer(observer);
    S3Client::with_connector(config, TcpConnector, runtime).expect("valid config")
}

#[madsim::test]
async fn the_s3_client_runs_under_madsim_and_retries_through_a_clogged_server() {
    let handle = Handle::current();
    let server_addr: SocketAddr = SERVER_ADDR.parse().expect("address");
    let max_latency_ms = thread_rng().gen_range(1..=MAX_LATENCY_MS);
    NetSim::current().update_config(|config| {
        config.send_latency = Duration::from_millis(1)..Duration::from_millis(1 + max_latency_ms);
    });
    let server = handle
        .create_node()
        .name("server")
        .ip(server_addr.ip())
        .build();
    server.spawn(run_server(server_addr));
    let server_id = server.id();
    let client_node = handle
        .create_node()
        .name("client")
        .ip(CLIENT_IP.parse().expect("ip"))
        .build();

    let outcome = client_node.spawn(async move {
        // Let the server bind before the first connect.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let attempts = Arc::new(Attempts::default());
        let s3 = client(RetryPolicy::default(), attempts.clone());
        s3.create_bucket("sim-bucket").await.expect("create bucket");
        let key = IdempotencyKey::parse("sim-put-1").unwrap();
        let options = PutOptions::default()
            .condition(WriteCondition::IfAbsent)
            .idempotency_key(key);
        let put = s3
            .put_object("sim-bucket", "k", "simulated", &options)
            .await
            .expect("C1: the first create wins");
        assert_eq!(put.etag, ETag::of_content(b"simulated"), "E2");
        let lost = s3
            .put_object(
                "sim-bucket",
                "k",
                "second",
                &PutOptions::default().condition(WriteCondition::IfAbsent),
            )
            .await
            .unwrap_err();
        assert!(lost.is_precondition_failed(), "C1: {lost:?}");
        let got = s3
            .get_object("sim-bucket", "k", &GetOptions::default())
            .await
            .expect("get");
        assert_eq!(got.info.etag, put.etag);

        // A fresh client (no pooled connection) against a clogged server:
        // every connect is refused until the clog lifts.
        NetSim::current().clog_node(server_id);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(CLOG_MS)).await;
            NetSim::current().unclog_node(server_id);
        });
        let retrying = Arc::new(Attempts::default());
        let patient = RetryPolicy {
            max_attempts: lockwell_client::retry::MAX_ATTEMPTS_LIMIT,
            ..RetryPolicy::default()
        };
        let got = client(patient, retrying.clone())
            .get_object("sim-bucket", "k", &GetOptions::default())
            .await
            .expect("R3: retried until the server is reachable");
        assert_eq!(got.info.etag, put.etag);
        let failures = retrying.failures_sent.lock().unwrap().clone();
        let requests = retrying.requests.lock().unwrap().clone();
        (failures, requests)
    });
    let (failures, requests) = outcome.await.expect("client task");
    assert!(
        !failures.is_empty(),
        "the clog refused at least one attempt"
    );
    assert!(
        failures.iter().all(|sent| *sent == Some(RequestSent::No)),
        "refused connects never sent a byte: {failures:?}"
    );
    assert_eq!(requests, [failures.len() as u32 + 1]);
}
