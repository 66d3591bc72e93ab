//! The HTTP target: any S3 endpoint (ours, MinIO, s3s-fs, AWS) through
//! lockwell-client's [`S3Client`], or our own lockwell-server started in
//! this process on a loopback port ([`LocalServer`]).
//!
//! Each worker gets its own client (so its own connection) and its own
//! current-thread tokio runtime, and blocks on one request at a time: the
//! generator's workers stay OS threads, and no request waits behind
//! another worker's in a shared runtime. The client's retries are off, so
//! every latency is one attempt and every 5xx or timeout is counted as the
//! server gave it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use lockwell_client::s3::types::{GetOptions, PutOptions};
use lockwell_client::{
    ConfigError, ETag, Error, RetryPolicy, S3Client, S3Config, SeededRandom, WriteCondition,
};
use lockwell_core::idempotency::Principal;
use lockwell_proto::sigv4::SecretKey;
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::{AccessKey, HttpConfig, Limits};
use lockwell_server::storage::{FileStorage, FileStorageConfig, MemoryStorage, Storage};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use super::target::{ConnectError, Connection, Outcome, PutCondition, Request, Response, Target};

/// Where an S3 target lives and how to sign for it.
#[derive(Debug, Clone)]
pub struct S3Endpoint {
    /// `http://host:port`.
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_key: String,
    /// Created if it does not exist.
    pub bucket: String,
}

/// Why an HTTP target could not be set up.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HttpTargetError {
    #[error("cannot start a tokio runtime")]
    Runtime(#[source] io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot find or create bucket {bucket}")]
    Bucket {
        bucket: String,
        #[source]
        source: Error,
    },
    #[error("cannot open the server's storage in {}", dir.display())]
    Storage {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the in-process server")]
    Server(#[source] io::Error),
}

/// A bucket on an S3 endpoint, one client per worker.
pub struct S3Target {
    endpoint: S3Endpoint,
    /// Says what serves the endpoint, for the result file (e.g. our
    /// in-process server and its storage backend).
    served_by: serde_json::Value,
    seed: u64,
}

fn current_thread_runtime() -> Result<Runtime, HttpTargetError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(HttpTargetError::Runtime)
}

fn client(endpoint: &S3Endpoint, seed: u64) -> Result<S3Client, ConfigError> {
    let mut config = S3Config::new(
        &endpoint.url,
        &endpoint.region,
        &endpoint.access_key_id,
        &endpoint.secret_key,
    );
    // Raw latencies: a retried request would hide its first attempt's 5xx
    // or timeout inside a longer success.
    config.retry = RetryPolicy::no_retries();
    S3Client::new(config, SeededRandom::new(seed))
}

impl S3Target {
    /// Checks the endpoint is reachable with these credentials and creates
    /// the bucket if it is missing. `served_by` goes into the result's
    /// target description (`{"server": "s3s-fs 0.14.1"}`, say).
    ///
    /// # Errors
    /// A bad endpoint URL, or the bucket can neither be found nor created.
    pub fn new(
        endpoint: S3Endpoint,
        served_by: serde_json::Value,
        seed: u64,
    ) -> Result<Self, HttpTargetError> {
        let runtime = current_thread_runtime()?;
        let client = client(&endpoint, seed)?;
        let bucket = endpoint.bucket.clone();
        runtime
            .block_on(async {
                match client.head_bucket(&bucket).await {
                    Err(Error::NotFound(_)) => client.create_bucket(&bucket).await,
                    found => found,
                }
            })
            .map_err(|source| HttpTargetError::Bucket { bucket, source })?;
        Ok(Self {
            endpoint,
            served_by,
            seed,
        })
    }
}

impl Target for S3Target {
    type Connection = S3Connection;

    fn connect(&self, worker_index: usize) -> Result<S3Connection, ConnectError> {
        Ok(S3Connection {
            runtime: current_thread_runtime()?,
            client: client(&self.endpoint, self.seed ^ worker_index as u64)?,
            bucket: self.endpoint.bucket.clone(),
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "target": "s3",
            "endpoint": self.endpoint.url,
            "region": self.endpoint.region,
            "bucket": self.endpoint.bucket,
            "served_by": self.served_by,
            "client_retries": false,
        })
    }
}

/// One worker's client and the runtime it blocks on.
pub struct S3Connection {
    runtime: Runtime,
    client: S3Client,
    bucket: String,
}

/// The outcome of a failed request, by the status class the generator
/// counts.
fn outcome_of(error: &Error) -> Outcome {
    match error {
        Error::Timeout { .. } => Outcome::Timeout,
        Error::Transport { .. } => Outcome::TransportError,
        _ => match error.status() {
            Some(404) => Outcome::NotFound,
            Some(409) => Outcome::Conflict,
            Some(412) => Outcome::PreconditionFailed,
            Some(500..=599) => Outcome::ServerError,
            Some(400..=499) => Outcome::OtherClientError,
            // No status: the client refused to send it or could not read
            // the answer; neither is the server's verdict.
            _ => Outcome::TransportError,
        },
    }
}

fn response(result: Result<ETag, Error>) -> Response {
    match result {
        Ok(etag) => Response {
            outcome: Outcome::Ok,
            etag: Some(etag.as_str().to_owned()),
        },
        Err(error) => Response {
            outcome: outcome_of(&error),
            etag: None,
        },
    }
}

impl Connection for S3Connection {
    fn execute(&mut self, request: &Request<'_>) -> Response {
        let (client, bucket) = (&self.client, self.bucket.as_str());
        let result = match *request {
            Request::Get { key } => self.runtime.block_on(async {
                client
                    .get_object(bucket, key, &GetOptions::default())
                    .await
                    .map(|read| read.info.etag)
            }),
            Request::Put {
                key,
                body,
                condition,
            } => {
                let condition = match condition {
                    PutCondition::None => None,
                    PutCondition::IfNoneMatchAny => Some(WriteCondition::IfAbsent),
                    PutCondition::IfMatch(etag) => Some(WriteCondition::IfMatch(
                        ETag::parse(etag).expect("ETags come from the target's responses"),
                    )),
                };
                let options = PutOptions {
                    condition,
                    ..PutOptions::default()
                };
                let body = Bytes::copy_from_slice(body);
                self.runtime.block_on(async {
                    client
                        .put_object(bucket, key, body, &options)
                        .await
                        .map(|written| written.etag)
                })
            }
        };
        response(result)
    }
}

/// The storage backend of an in-process server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerStorage {
    /// Nothing durable: the HTTP layer and the commit path.
    Memory,
    /// The write-ahead log with group commit and fsync, as `lockwell serve`
    /// runs by default.
    File,
}

impl ServerStorage {
    const fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::File => "file",
        }
    }
}

/// The access key id of the in-process server's one principal.
pub const LOCAL_SERVER_ACCESS_KEY_ID: &str = "LWBENCH";
/// Its secret: the server listens on loopback only, for this process.
pub const LOCAL_SERVER_SECRET_KEY: &str = "lockwell-bench-loopback-secret";
/// The region the in-process server signs in.
pub const LOCAL_SERVER_REGION: &str = "us-east-1";
/// Tokio worker threads of the in-process server: the cores of the
/// machine kind the baselines come from.
pub const LOCAL_SERVER_WORKER_THREADS: usize = 2;

/// lockwell-server on `127.0.0.1`, a free port, in this process, on a
/// multi-threaded runtime of its own. Stops when dropped; a data directory
/// it made itself is removed then.
pub struct LocalServer {
    address: SocketAddr,
    storage: ServerStorage,
    data_dir: Option<PathBuf>,
    remove_data_dir: bool,
    shutdown: Option<oneshot::Sender<()>>,
    runtime: Option<Runtime>,
}

impl LocalServer {
    /// Starts a server over `storage`; the file backend writes under
    /// `data_dir`, or a fresh directory in the system's temp dir.
    ///
    /// # Errors
    /// The runtime, the storage or the listening socket cannot be set up.
    pub fn start(storage: ServerStorage, data_dir: Option<&Path>) -> Result<Self, HttpTargetError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(LOCAL_SERVER_WORKER_THREADS)
            .thread_name("lockwell-bench-server")
            .enable_all()
            .build()
            .map_err(HttpTargetError::Runtime)?;
        let (backend, data_dir, remove_data_dir): (Arc<dyn Storage>, _, _) = match storage {
            ServerStorage::Memory => (Arc::new(MemoryStorage::new()), None, false),
            ServerStorage::File => {
                let (dir, remove) = match data_dir {
                    Some(dir) => (dir.to_owned(), false),
                    None => (fresh_temp_dir(), true),
                };
                let file =
                    FileStorage::open(&dir, FileStorageConfig::default()).map_err(|source| {
                        HttpTargetError::Storage {
                            dir: dir.clone(),
                            source,
                        }
                    })?;
                (Arc::new(file), Some(dir), remove)
            }
        };
        let engine = Engine::open(backend, EngineConfig::default()).map_err(|error| {
            HttpTargetError::Server(io::Error::other(format!("recovering the engine: {error}")))
        })?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .map_err(HttpTargetError::Server)?;
        let address = listener.local_addr().map_err(HttpTargetError::Server)?;
        let (shutdown, stop) = oneshot::channel::<()>();
        runtime.spawn(lockwell_server::http::serve(
            listener,
            Arc::new(engine),
            local_server_config(),
            async move {
                let _ = stop.await;
            },
        ));
        Ok(Self {
            address,
            storage,
            data_dir,
            remove_data_dir,
            shutdown: Some(shutdown),
            runtime: Some(runtime),
        })
    }

    /// How to reach it, with `bucket`.
    #[must_use]
    pub fn endpoint(&self, bucket: &str) -> S3Endpoint {
        S3Endpoint {
            url: format!("http://{}", self.address),
            region: LOCAL_SERVER_REGION.to_owned(),
            access_key_id: LOCAL_SERVER_ACCESS_KEY_ID.to_owned(),
            secret_key: LOCAL_SERVER_SECRET_KEY.to_owned(),
            bucket: bucket.to_owned(),
        }
    }

    /// What the result file says serves the endpoint.
    #[must_use]
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "server": "lockwell-server (in process, loopback)",
            "storage": self.storage.name(),
            "server_worker_threads": LOCAL_SERVER_WORKER_THREADS,
        })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Dropping the runtime waits for its worker threads; the file
        // backend's files are closed before the directory goes.
        drop(self.runtime.take());
        if self.remove_data_dir
            && let Some(dir) = &self.data_dir
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn local_server_config() -> HttpConfig {
    HttpConfig {
        region: LOCAL_SERVER_REGION.to_owned(),
        virtual_host_domain: None,
        access_keys: [(
            LOCAL_SERVER_ACCESS_KEY_ID.to_owned(),
            AccessKey {
                secret_key: SecretKey::new(LOCAL_SERVER_SECRET_KEY),
                principal: Principal::new("bench"),
            },
        )]
        .into(),
        limits: Limits::default(),
    }
}

/// A directory no other run uses: process id and wall-clock time.
fn fresh_temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "lockwell-bench-{}-{}",
        std::process::id(),
        crate::environment::unix_ms_now()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(server: &LocalServer) -> S3Connection {
        let target = S3Target::new(server.endpoint("bench-test"), server.describe(), 1).unwrap();
        target.connect(0).unwrap()
    }

    /// SPEC C1, C2 over HTTP: the same outcomes as the in-process target
    /// (inproc.rs), on both storage backends.
    #[test]
    fn c1_c2_outcomes_map_to_http_codes_over_http() {
        for storage in [ServerStorage::Memory, ServerStorage::File] {
            let server = LocalServer::start(storage, None).unwrap();
            let mut connection = connect(&server);
            let mut put = |body: &[u8], condition| {
                connection.execute(&Request::Put {
                    key: "k",
                    body,
                    condition,
                })
            };
            let stale = lockwell_core::object::ETag::of_content(b"never written");
            assert_eq!(
                put(b"v0", PutCondition::IfMatch(stale.as_str())).outcome,
                Outcome::NotFound,
                "C2: If-Match on an absent key is 404 ({storage:?})"
            );
            let created = put(b"v1", PutCondition::IfNoneMatchAny);
            assert_eq!(created.outcome, Outcome::Ok);
            assert_eq!(
                put(b"v2", PutCondition::IfNoneMatchAny).outcome,
                Outcome::PreconditionFailed,
                "C1: create-only on an existing key is 412 ({storage:?})"
            );
            let etag = created.etag.unwrap();
            assert_eq!(
                put(b"v3", PutCondition::IfMatch(&etag)).outcome,
                Outcome::Ok
            );
            assert_eq!(
                put(b"v4", PutCondition::IfMatch(&etag)).outcome,
                Outcome::PreconditionFailed,
                "C2: a stale ETag is 412 ({storage:?})"
            );
            let read = connection.execute(&Request::Get { key: "k" });
            assert_eq!(read.outcome, Outcome::Ok);
            assert_eq!(
                connection.execute(&Request::Get { key: "absent" }).outcome,
                Outcome::NotFound
            );
        }
    }

    #[test]
    fn wrong_credentials_are_an_other_4xx_outcome_and_a_closed_port_a_transport_error() {
        let server = LocalServer::start(ServerStorage::Memory, None).unwrap();
        let target = S3Target::new(server.endpoint("bench-test"), server.describe(), 1).unwrap();
        let mut wrong_secret = S3Target {
            endpoint: S3Endpoint {
                secret_key: "not-the-secret".to_owned(),
                ..server.endpoint("bench-test")
            },
            ..target
        }
        .connect(0)
        .unwrap();
        assert_eq!(
            wrong_secret.execute(&Request::Get { key: "k" }).outcome,
            Outcome::OtherClientError,
            "A1: a bad signature is 403"
        );
        let closed = S3Endpoint {
            url: format!("http://{}", server.address),
            ..server.endpoint("bench-test")
        };
        drop(server);
        let mut refused = S3Target {
            endpoint: closed,
            served_by: serde_json::Value::Null,
            seed: 1,
        }
        .connect(0)
        .unwrap();
        assert_eq!(
            refused.execute(&Request::Get { key: "k" }).outcome,
            Outcome::TransportError
        );
    }

    #[test]
    fn a_missing_bucket_is_created_and_an_existing_one_reused() {
        let server = LocalServer::start(ServerStorage::Memory, None).unwrap();
        let first = S3Target::new(server.endpoint("made-here"), server.describe(), 1).unwrap();
        let mut connection = first.connect(0).unwrap();
        let written = connection.execute(&Request::Put {
            key: "k",
            body: b"v",
            condition: PutCondition::None,
        });
        assert_eq!(written.outcome, Outcome::Ok);
        let second = S3Target::new(server.endpoint("made-here"), server.describe(), 2).unwrap();
        let read = second
            .connect(3)
            .unwrap()
            .execute(&Request::Get { key: "k" });
        assert_eq!(read.etag, written.etag, "the second target sees the bucket");
        assert_eq!(second.describe()["served_by"]["storage"], "memory");
    }
}
