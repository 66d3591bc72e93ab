//! Shared by the client's integration tests: lockwell-server in-process on
//! 127.0.0.1:0 (memory backend), a fault-injecting HTTP proxy in front of
//! it, an observer that records what the client reports, and the
//! conformance scenarios that run against both our server and moto.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support module"
)]

pub mod conformance;
pub mod proxy;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockwell_client::retry::StopReason;
use lockwell_client::{
    AttemptEvent, ClientRuntime, Connector, Observer, Operation, Outcome, RequestEvent, S3Client,
    S3Config, SeededRandom,
};
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::HttpConfig;
use lockwell_server::storage::MemoryStorage;
use tokio::sync::oneshot;

pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "AKCLIENTTEST";
pub const SECRET_KEY: &str = "client-test-secret";

/// Parts other than the last must be this long in test servers.
pub const TEST_MIN_PART_SIZE_BYTES: u64 = 8;

/// The seed of every test client's backoff jitter.
pub const TEST_SEED: u64 = 0x5EED;

/// lockwell-server on a free loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let engine = Arc::new(
            Engine::open(
                Arc::new(MemoryStorage::new()),
                EngineConfig {
                    min_part_size_bytes: TEST_MIN_PART_SIZE_BYTES,
                    ..EngineConfig::default()
                },
            )
            .expect("a memory engine opens"),
        );
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(lockwell_server::http::serve(
            listener,
            engine,
            HttpConfig::single_key(ACCESS_KEY, SECRET_KEY, REGION),
            async move {
                let _ = signal.await;
            },
        ));
        Self {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

/// A client's configuration for `endpoint` with the test credentials.
pub fn config(endpoint: &str) -> S3Config {
    S3Config::new(endpoint, REGION, ACCESS_KEY, SECRET_KEY)
}

/// A request as the observer saw it end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub operation: Operation,
    pub attempts: u32,
    /// The status of the success, or of the error if it had one.
    pub status: Option<u16>,
    pub succeeded: bool,
    pub stopped: Option<StopReason>,
}

/// Records every finished request, and the backoff after each attempt.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: Mutex<Vec<Observed>>,
    backoffs: Mutex<Vec<Option<Duration>>>,
}

impl Recorder {
    /// The backoff after each attempt, in order (`None` after the last).
    pub fn backoffs(&self) -> Vec<Option<Duration>> {
        self.backoffs.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<Observed> {
        self.requests.lock().unwrap().clone()
    }

    /// The one request of `operation` the test made.
    pub fn only(&self, operation: Operation) -> Observed {
        let matching: Vec<Observed> = self
            .requests()
            .into_iter()
            .filter(|observed| observed.operation == operation)
            .collect();
        assert_eq!(matching.len(), 1, "{matching:?}");
        matching[0].clone()
    }
}

impl Observer for Recorder {
    fn on_attempt(&self, event: &AttemptEvent<'_>) {
        self.backoffs.lock().unwrap().push(event.retry_after);
    }

    fn on_request(&self, event: &RequestEvent<'_>) {
        let (status, succeeded) = match event.outcome {
            Outcome::Succeeded { status } => (Some(status), true),
            Outcome::Failed(error) => (error.status(), false),
        };
        self.requests.lock().unwrap().push(Observed {
            operation: event.operation,
            attempts: event.attempts,
            status,
            succeeded,
            stopped: event.stopped,
        });
    }
}

/// A client of `config` over `connector` whose requests `recorder` observes.
pub fn observed_client<C: Connector>(
    config: S3Config,
    connector: C,
    recorder: &Arc<Recorder>,
) -> S3Client<C> {
    let runtime = ClientRuntime::new(SeededRandom::new(TEST_SEED)).with_observer(recorder.clone());
    S3Client::with_connector(config, connector, runtime).expect("valid config")
}

/// A plain client of `endpoint`, for a test's setup and checks.
pub fn client(endpoint: &str) -> S3Client {
    S3Client::new(config(endpoint), SeededRandom::new(TEST_SEED)).expect("valid config")
}
