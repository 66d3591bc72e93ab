//! Shared by the `http_*` integration tests: a server on 127.0.0.1:0 over
//! the memory backend with two principals, and a client that signs with
//! lockwell-proto's SigV4 signer and speaks HTTP/1.1 over a raw socket, so
//! that tests can also send what no well-behaved client would (broken
//! framing, lying lengths, oversized headers).
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support module"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_core::idempotency::Principal;
use lockwell_proto::sigv4::{
    self, ContentSha256, Credentials, SecretKey, SigningParams, StreamingContext,
};
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::{AccessKey, HttpConfig, Limits};
use lockwell_server::storage::{FileStorage, FileStorageConfig, MemoryStorage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub const REGION: &str = "us-east-1";
pub const ALICE: (&str, &str) = ("AKALICE", "alice-secret");
pub const BOB: (&str, &str) = ("AKBOB", "bob-secret");

/// Longest a test waits for one response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The request body timeout of test servers: short, so the test of a body
/// that never completes finishes quickly.
pub const TEST_REQUEST_TIMEOUT_MS: u64 = 2_000;

pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn test_config() -> HttpConfig {
    let key = |(id, secret): (&str, &str), principal: &str| {
        (
            id.to_string(),
            AccessKey {
                secret_key: SecretKey::new(secret),
                principal: Principal::new(principal),
            },
        )
    };
    HttpConfig {
        region: REGION.to_string(),
        virtual_host_domain: None,
        access_keys: BTreeMap::from([key(ALICE, "alice"), key(BOB, "bob")]),
        limits: Limits {
            request_timeout_ms: TEST_REQUEST_TIMEOUT_MS,
            ..Limits::default()
        },
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: HttpConfig) -> Self {
        Self::start_on(memory_engine(), config).await
    }

    /// A server over `engine` (a file-backed one, say).
    pub async fn start_on(engine: Arc<Engine>, config: HttpConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(lockwell_server::http::serve(
            listener,
            engine,
            config,
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

    pub fn client(&self, (access_key_id, secret): (&str, &str)) -> Client {
        Client {
            addr: self.addr,
            credentials: Credentials {
                access_key_id: access_key_id.to_string(),
                secret_key: SecretKey::new(secret),
            },
        }
    }

    /// Stops the server and waits for it to return.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

/// Parts other than the last must be this long in test servers: small, so
/// multipart tests need no megabytes.
pub const TEST_MIN_PART_SIZE_BYTES: u64 = 8;

pub fn memory_engine() -> Arc<Engine> {
    let config = EngineConfig {
        min_part_size_bytes: TEST_MIN_PART_SIZE_BYTES,
        ..EngineConfig::default()
    };
    Arc::new(Engine::open(Arc::new(MemoryStorage::new()), config).expect("a memory engine opens"))
}

/// An engine over the durable file backend in `dir` (group commit on).
pub fn file_engine(dir: &std::path::Path) -> Arc<Engine> {
    let storage = FileStorage::open(dir, FileStorageConfig::default()).expect("file storage opens");
    Arc::new(Engine::open(Arc::new(storage), EngineConfig::default()).expect("a file engine opens"))
}

/// What the signature says about the payload.
#[derive(Debug, Clone, Copy)]
pub enum Payload {
    /// The SHA-256 of the body as sent (what boto3 signs for buffered puts).
    SignedSha256,
    /// Whatever the test says.
    Declared(ContentSha256),
}

/// A request as a test builds it.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub method: Method,
    /// The path as sent: already percent-encoded.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub payload: Payload,
    /// `Content-Length` to send; `None` sends the body's length.
    pub content_length: Option<u64>,
    /// Send no `Content-Length` at all.
    pub omit_content_length: bool,
    /// Shut down the write side after the body (a client that sent less
    /// than it declared and gave up).
    pub half_close: bool,
    /// Seconds to move the signing time away from now (clock skew tests).
    pub signing_offset_s: i64,
    /// Headers to add after signing (tamper tests).
    pub unsigned_headers: Vec<(String, String)>,
}

impl TestRequest {
    pub fn new(method: Method, path: &str) -> Self {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (path.to_string(), None),
        };
        Self {
            method,
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            payload: Payload::SignedSha256,
            content_length: None,
            omit_content_length: false,
            half_close: false,
            signing_offset_s: 0,
            unsigned_headers: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn head(path: &str) -> Self {
        Self::new(Method::HEAD, path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn put(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new(Method::PUT, path).body(body)
    }

    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new(Method::POST, path).body(body)
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn unsigned_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.unsigned_headers.push((name.to_string(), value.into()));
        self
    }

    pub fn payload(mut self, payload: ContentSha256) -> Self {
        self.payload = Payload::Declared(payload);
        self
    }

    pub fn content_length(mut self, len_bytes: u64) -> Self {
        self.content_length = Some(len_bytes);
        self
    }

    pub fn without_content_length(mut self) -> Self {
        self.omit_content_length = true;
        self
    }

    pub fn half_close(mut self) -> Self {
        self.half_close = true;
        self
    }

    pub fn signing_offset_s(mut self, offset_s: i64) -> Self {
        self.signing_offset_s = offset_s;
        self
    }

    /// Adds `x-amz-checksum-<alg>` with the digest of the body.
    pub fn checksum(self, algorithm: ChecksumAlgorithm) -> Self {
        let value = digest(algorithm, &self.body).to_base64();
        let name = algorithm
            .s3_header_name()
            .expect("an S3 checksum algorithm");
        self.header(name, value)
    }
}

/// A response as the test sees it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The text of the first `<name>` element of the body.
    pub fn element(&self, name: &str) -> Option<String> {
        self.elements(name).into_iter().next()
    }

    /// The texts of every `<name>` element of the body, in order.
    pub fn elements(&self, name: &str) -> Vec<String> {
        let text = self.text();
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut found = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            found.push(after[..end].to_string());
            rest = &after[end + close.len()..];
        }
        found
    }

    /// The S3 error code, if the body is an error.
    pub fn code(&self) -> Option<String> {
        self.element("Code")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag header").to_string()
    }

    /// `(status, code)` for table-driven assertions.
    pub fn outcome(&self) -> (u16, Option<String>) {
        (self.status, self.code())
    }
}

pub struct Client {
    pub addr: SocketAddr,
    pub credentials: Credentials,
}

fn signing_time(offset_s: i64) -> SystemTime {
    #[allow(
        clippy::disallowed_methods,
        reason = "tests sign with the real clock the server reads"
    )]
    let now = SystemTime::now();
    if offset_s >= 0 {
        now + Duration::from_secs(offset_s.unsigned_abs())
    } else {
        now - Duration::from_secs(offset_s.unsigned_abs())
    }
}

impl Client {
    /// Signs `request`: its headers with `host`, `x-amz-date`,
    /// `x-amz-content-sha256` and `authorization`, and the context to sign
    /// aws-chunked chunks with.
    pub fn sign(&self, request: &TestRequest) -> (HeaderMap, StreamingContext) {
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_str(&self.addr.to_string()).expect("host"),
        );
        for (name, value) in &request.headers {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let payload = match request.payload {
            Payload::SignedSha256 => ContentSha256::Sha256(
                digest(ChecksumAlgorithm::Sha256, &request.body)
                    .as_bytes()
                    .try_into()
                    .expect("32 bytes"),
            ),
            Payload::Declared(payload) => payload,
        };
        let streaming = sigv4::sign(
            &request.method,
            &request.path,
            request.query.as_deref(),
            &mut headers,
            &payload,
            &SigningParams {
                credentials: &self.credentials,
                region: REGION,
                time: signing_time(request.signing_offset_s),
            },
        )
        .expect("sign");
        (headers, streaming)
    }

    /// The request line and header section to send: `headers` as signed,
    /// then the unsigned ones, `content-length: body_len_bytes` (unless the
    /// request overrides it) and `connection: close`.
    pub fn head(&self, request: &TestRequest, headers: &HeaderMap, body_len_bytes: u64) -> Vec<u8> {
        let target = match &request.query {
            Some(query) => format!("{}?{query}", request.path),
            None => request.path.clone(),
        };
        let mut head = format!("{} {target} HTTP/1.1\r\n", request.method).into_bytes();
        for (name, value) in headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        for (name, value) in &request.unsigned_headers {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if !request.omit_content_length {
            let content_length = request.content_length.unwrap_or(body_len_bytes);
            head.extend_from_slice(format!("content-length: {content_length}\r\n").as_bytes());
        }
        head.extend_from_slice(b"connection: close\r\n\r\n");
        head
    }

    pub async fn send(&self, request: TestRequest) -> TestResponse {
        let (headers, _) = self.sign(&request);
        let mut bytes = self.head(&request, &headers, request.body.len() as u64);
        bytes.extend_from_slice(&request.body);
        send_raw(
            self.addr,
            &bytes,
            request.half_close,
            request.method == Method::HEAD,
        )
        .await
    }
}

/// Writes `bytes` on a new connection and reads one response until the
/// server closes the connection.
pub async fn send_raw(
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
    head_request: bool,
) -> TestResponse {
    tokio::time::timeout(RESPONSE_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        // The server may answer (and close) before it read everything; a
        // failed write is then expected and the answer is still readable.
        let _ = stream.write_all(bytes).await;
        if half_close {
            let _ = stream.shutdown().await;
        }
        read_response(&mut stream, head_request).await
    })
    .await
    .expect("the server answered in time")
}

/// Reads one response from `stream`: its head, then `Content-Length` bytes
/// (none for HEAD, 204 and 304).
pub async fn read_response(stream: &mut TcpStream, head_request: bool) -> TestResponse {
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let mut buf = [0u8; 8192];
        let read = stream.read(&mut buf).await.expect("read response head");
        assert!(
            read > 0,
            "connection closed before a response head: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
            HeaderValue::from_str(value.trim()).expect("value"),
        );
    }
    let mut body = received[head_end + 4..].to_vec();
    let body_len: usize = if head_request || status == 204 || status == 304 {
        0
    } else {
        headers
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse().ok())
            .expect("responses carry a content-length")
    };
    while body.len() < body_len {
        let mut buf = vec![0u8; 64 * 1024];
        let read = stream.read(&mut buf).await.expect("read body");
        assert!(
            read > 0,
            "connection closed after {} of {body_len} body bytes",
            body.len()
        );
        body.extend_from_slice(&buf[..read]);
    }
    body.truncate(body_len);
    TestResponse {
        status,
        headers,
        body,
    }
}
