//! NativeClient against lockwell-server over loopback (through the
//! fault-injecting proxy where a test needs to see or break requests), and
//! against a scripted stub server where a test needs the server to say 401
//! on cue: SPEC R1 (token refresh, one re-mint and retry on 401), R2
//! (streamed bodies never replayed), R6 (ETags and typed errors), I4
//! (checksum required client-side), I1 (a keyed buffered put retried after
//! a lost answer writes once), C1/C2/C7/C8 through the client.
#![cfg(not(madsim))]

mod support;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use lockwell_client::native::{NativeClient, NativeConfig, PutBody, PutOptions};
use lockwell_client::{
    ChecksumAlgorithm, ClientRuntime, Clock, Error, IdempotencyKey, SeededRandom, TcpConnector,
};
use lockwell_core::checksum::digest;
use lockwell_proto::native::{self, CopyDestination, CopyObjectRequest, CopySource};
use lockwell_server::http::io::TokioIo;
use support::proxy::{Fault, FaultProxy};
use support::{ACCESS_KEY, SECRET_KEY, TEST_SEED, TestServer};
use tokio::net::TcpListener;

/// A wall clock the test moves by hand, starting at the real time (the
/// server compares token expiry with its own real clock).
#[derive(Debug)]
struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    fn starting_now() -> Arc<Self> {
        #[allow(
            clippy::disallowed_methods,
            reason = "the test clock starts at the time the real server reads"
        )]
        let now = SystemTime::now();
        let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        Arc::new(Self {
            now_ms: AtomicU64::new(now_ms),
        })
    }

    fn advance(&self, by: Duration) {
        self.now_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_ms.load(Ordering::SeqCst))
    }
}

fn native_config(endpoint: &str) -> NativeConfig {
    NativeConfig::new(endpoint, ACCESS_KEY, SECRET_KEY)
}

fn native_client(config: NativeConfig, clock: Option<Arc<ManualClock>>) -> NativeClient {
    let mut runtime = ClientRuntime::new(SeededRandom::new(TEST_SEED));
    if let Some(clock) = clock {
        runtime = runtime.with_clock(clock);
    }
    NativeClient::with_connector(config, TcpConnector, runtime).expect("valid config")
}

/// A server with bucket `bkt`, a proxy in front of it.
async fn setup() -> (TestServer, FaultProxy) {
    let server = TestServer::start().await;
    support::client(&server.endpoint())
        .create_bucket("bkt")
        .await
        .expect("bucket");
    let proxy = FaultProxy::start(server.addr).await;
    (server, proxy)
}

fn count(proxy: &FaultProxy, method: Method, path_prefix: &str) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|seen| seen.method == method && seen.path_and_query.starts_with(path_prefix))
        .count()
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

#[tokio::test]
async fn r6_c1_c2_writes_return_etags_and_errors_are_typed() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let created = client
        .put_object(
            "bkt",
            "k",
            b"v1".as_slice(),
            &PutOptions::default().if_absent(),
        )
        .await
        .expect("C1 create");
    let read = client.get_object("bkt", "k").await.unwrap();
    assert_eq!(
        (read.body.as_ref(), &read.etag),
        (b"v1".as_slice(), &created.etag),
        "E2"
    );
    assert_eq!(
        client.head_object("bkt", "k").await.unwrap().etag,
        created.etag
    );

    let lost = client
        .put_object(
            "bkt",
            "k",
            b"v2".as_slice(),
            &PutOptions::default().if_absent(),
        )
        .await
        .unwrap_err();
    assert!(lost.is_precondition_failed(), "{lost}");
    assert!(
        matches!(&lost, Error::PreconditionFailed { condition: Some(c), .. } if c == "ifNoneMatch"),
        "C9: {lost:?}"
    );
    let updated = client
        .put_object(
            "bkt",
            "k",
            b"v2".as_slice(),
            &PutOptions::default().if_match(created.etag.clone()),
        )
        .await
        .expect("C2 overwrite");
    let stale = client
        .put_object(
            "bkt",
            "k",
            b"v3".as_slice(),
            &PutOptions::default().if_match(created.etag.clone()),
        )
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed());
    let stale_delete = client.delete_object("bkt", "k", Some(&created.etag)).await;
    assert!(stale_delete.unwrap_err().is_precondition_failed(), "C6a");
    client
        .delete_object("bkt", "k", Some(&updated.etag))
        .await
        .expect("C6a delete");
    assert!(matches!(
        client.get_object("bkt", "k").await,
        Err(Error::NotFound(_))
    ));

    let keyed = |body: &'static [u8]| {
        PutOptions::default()
            .idempotency_key(key("op-1"))
            .with_checksum_of(ChecksumAlgorithm::Sha256, body)
    };
    client
        .put_object("bkt", "i", b"a".as_slice(), &keyed(b"a"))
        .await
        .unwrap();
    let mismatch = client
        .put_object("bkt", "i", b"b".as_slice(), &keyed(b"b"))
        .await
        .unwrap_err();
    assert!(
        matches!(mismatch, Error::IdempotencyMismatch(_)),
        "{mismatch:?}"
    );
    let wrong_checksum = PutOptions::default().with_checksum_of(ChecksumAlgorithm::Sha256, b"a");
    let bad_digest = client
        .put_object("bkt", "d", b"b".as_slice(), &wrong_checksum)
        .await
        .unwrap_err();
    assert!(matches!(bad_digest, Error::BadDigest(_)), "{bad_digest:?}");
    server.stop().await;
}

#[tokio::test]
async fn c7_c8_copy_through_the_client() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let source = client
        .put_object("bkt", "src", b"state".as_slice(), &PutOptions::default())
        .await
        .unwrap();
    let copy = |require_absent: bool, source_if_match: Option<String>| CopyObjectRequest {
        source: CopySource {
            bucket: "bkt".into(),
            key: "src".into(),
            if_match: source_if_match,
            if_none_match: None,
            if_modified_since_ms: None,
            if_unmodified_since_ms: None,
        },
        destination: CopyDestination {
            bucket: "bkt".into(),
            key: "dst".into(),
            require_absent,
            require_match_etag: None,
        },
    };
    let copied = client
        .copy_object(&copy(true, Some(source.etag.to_string())))
        .await
        .expect("C7 create-only copy");
    assert_eq!(copied.etag, source.etag);
    let again = client.copy_object(&copy(true, None)).await.unwrap_err();
    assert!(
        matches!(&again, Error::PreconditionFailed { condition: Some(c), .. } if c == "requireAbsent"),
        "{again:?}"
    );
    let stale_source = client
        .copy_object(&copy(
            false,
            Some("\"0123456789abcdef0123456789abcdef\"".into()),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&stale_source, Error::PreconditionFailed { condition: Some(c), .. } if c == "sourceIfMatch"),
        "{stale_source:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn i4_idempotent_put_without_checksum_is_refused_before_sending() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let refused = client
        .put_object(
            "bkt",
            "k",
            b"v".as_slice(),
            &PutOptions::default().idempotency_key(key("op")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidInput(message) if message.contains("checksum")),
        "{refused:?}"
    );
    assert!(proxy.seen().is_empty(), "nothing was sent, not even a mint");
    server.stop().await;
}

#[tokio::test]
async fn r1_token_is_cached_and_reminted_within_the_refresh_margin() {
    let (server, proxy) = setup().await;
    let clock = ManualClock::starting_now();
    let config = NativeConfig {
        token_ttl_ms: Some(60_000),
        token_refresh_margin_ms: 10_000,
        ..native_config(&proxy.endpoint())
    };
    let client = native_client(config, Some(clock.clone()));
    let mints = || count(&proxy, Method::POST, native::TOKENS_PATH);
    let options = PutOptions::default();
    let put = || client.put_object("bkt", "k", b"v".as_slice(), &options);
    put().await.unwrap();
    put().await.unwrap();
    assert_eq!(mints(), 1, "cached");
    // The server stamped the expiry with its own clock a few ms after the
    // test clock started: steps of seconds keep the test off that edge.
    clock.advance(Duration::from_millis(45_000));
    put().await.unwrap();
    assert_eq!(
        mints(),
        1,
        "15 s left, outside the 10 s margin: still cached"
    );
    clock.advance(Duration::from_millis(10_000));
    put().await.unwrap();
    assert_eq!(mints(), 2, "inside the margin: re-minted before sending");
    server.stop().await;
}

#[tokio::test]
async fn r1_a_401_remints_once_and_retries_once() {
    let (server, proxy) = setup().await;
    // The client's clock stands still, so it keeps a token the server has
    // expired: the server's 401 is what makes it re-mint.
    let clock = ManualClock::starting_now();
    let config = NativeConfig {
        token_ttl_ms: Some(native::MIN_TOKEN_TTL_MS),
        token_refresh_margin_ms: 0,
        ..native_config(&proxy.endpoint())
    };
    let client = native_client(config, Some(clock));
    let options = PutOptions::default();
    let put = || client.put_object("bkt", "k", b"v".as_slice(), &options);
    put().await.unwrap();
    tokio::time::sleep(Duration::from_millis(native::MIN_TOKEN_TTL_MS + 100)).await;
    put().await.expect("re-minted and retried");
    assert_eq!(count(&proxy, Method::POST, native::TOKENS_PATH), 2);
    assert_eq!(count(&proxy, Method::PUT, native::OBJECTS_PATH_PREFIX), 3);
    server.stop().await;
}

/// A stub native server: mints any token, answers other requests with the
/// next scripted status (401 when the script is empty), and counts.
struct Stub {
    addr: SocketAddr,
    script: Arc<Mutex<VecDeque<u16>>>,
    seen: Arc<Mutex<Vec<(Method, String)>>>,
}

impl Stub {
    async fn start(script: impl IntoIterator<Item = u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(script.into_iter().collect::<VecDeque<_>>()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (accept_script, accept_seen) = (script.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, seen) = (accept_script.clone(), accept_seen.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (script, seen) = (script.clone(), seen.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let _ = body.collect().await;
                            seen.lock()
                                .unwrap()
                                .push((parts.method.clone(), parts.uri.path().to_string()));
                            let (status, body) = if parts.uri.path() == native::TOKENS_PATH {
                                (200, r#"{"token":"t","expiresAtMs":18446744073709551615}"#)
                            } else {
                                let status = script.lock().unwrap().pop_front().unwrap_or(401);
                                (status, r#"{"code":"ExpiredToken","message":"scripted"}"#)
                            };
                            let mut response = Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, script, seen }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<(Method, String)> {
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn r1_a_second_401_is_returned_to_the_caller() {
    let stub = Stub::start([401, 401]).await;
    let client = native_client(native_config(&stub.endpoint()), None);
    let error = client.get_object("bkt", "k").await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error:?}");
    let methods: Vec<Method> = stub.seen().into_iter().map(|(method, _)| method).collect();
    assert_eq!(
        methods,
        [Method::POST, Method::GET, Method::POST, Method::GET],
        "mint, 401, one re-mint, one retry, then the caller's"
    );
    assert!(stub.script.lock().unwrap().is_empty());
}

#[tokio::test]
async fn r2_a_streamed_put_is_never_replayed_not_even_after_a_401() {
    let stub = Stub::start([401]).await;
    let client = native_client(native_config(&stub.endpoint()), None);
    let body = PutBody::Stream {
        reader: Box::pin(std::io::Cursor::new(b"streamed".to_vec())),
        len_bytes: 8,
    };
    let error = client
        .put_object("bkt", "k", body, &PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error:?}");
    let methods: Vec<Method> = stub.seen().into_iter().map(|(method, _)| method).collect();
    assert_eq!(
        methods,
        [Method::POST, Method::PUT, Method::POST],
        "the token is re-minted for the caller's retry; the body is not sent again"
    );
}

#[tokio::test]
async fn r2_i1_lost_answers_retry_keyed_buffered_puts_only() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    client.head_object("bkt", "none").await.unwrap_err(); // mints the token
    let keyed = PutOptions::default()
        .idempotency_key(key("op-stream"))
        .with_checksum_of(ChecksumAlgorithm::Sha256, b"streamed");

    proxy.inject([Fault::DropResponseAfterCommit]);
    let streamed = PutBody::Stream {
        reader: Box::pin(std::io::Cursor::new(b"streamed".to_vec())),
        len_bytes: 8,
    };
    let error = client
        .put_object("bkt", "s", streamed, &keyed)
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "a lost answer: {error:?}");
    let puts = || count(&proxy, Method::PUT, native::OBJECTS_PATH_PREFIX);
    assert_eq!(puts(), 1, "R2: a streamed body is sent once");
    // The caller retries with the same key and checksum: collapsed (I1).
    let streamed_again = PutBody::Stream {
        reader: Box::pin(std::io::Cursor::new(b"streamed".to_vec())),
        len_bytes: 8,
    };
    let replayed = client
        .put_object("bkt", "s", streamed_again, &keyed)
        .await
        .expect("the caller's retry replays");
    assert_eq!(
        replayed.etag.as_str(),
        digest(ChecksumAlgorithm::Md5, b"streamed").to_hex()
    );

    proxy.inject([Fault::DropResponseAfterCommit]);
    let buffered = PutOptions::default()
        .idempotency_key(key("op-buffered"))
        .with_checksum_of(ChecksumAlgorithm::Sha256, b"buffered");
    client
        .put_object("bkt", "b", b"buffered".as_slice(), &buffered)
        .await
        .expect("R4: a keyed buffered put is retried");
    assert_eq!(puts(), 4, "one more attempt for the buffered put");
    server.stop().await;
}

/// A native copy of `bkt/src` to `bkt/dst` with these source conditions.
fn copy_with_source(source: CopySource) -> CopyObjectRequest {
    CopyObjectRequest {
        source,
        destination: CopyDestination {
            bucket: "bkt".into(),
            key: "dst".into(),
            require_absent: false,
            require_match_etag: None,
        },
    }
}

#[tokio::test]
async fn c1a_if_none_match_with_etags_writes_unless_the_current_etag_is_listed() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let current = client
        .put_object("bkt", "k", b"v1".as_slice(), &PutOptions::default())
        .await
        .unwrap();
    let unless = |etag: &lockwell_client::ETag| PutOptions {
        if_none_match: Some(etag.to_string()),
        ..PutOptions::default()
    };
    let listed = client
        .put_object("bkt", "k", b"v2".as_slice(), &unless(&current.etag))
        .await
        .unwrap_err();
    assert!(
        matches!(&listed, Error::PreconditionFailed { condition: Some(c), .. } if c == "ifNoneMatch"),
        "C1a: the current ETag is listed: {listed:?}"
    );
    assert_eq!(
        client.get_object("bkt", "k").await.unwrap().body.as_ref(),
        b"v1",
        "C4: nothing changed"
    );
    let other = lockwell_client::ETag::of_content(b"other");
    let written = client
        .put_object("bkt", "k", b"v2".as_slice(), &unless(&other))
        .await
        .expect("C1a: the current ETag is not listed");
    assert_eq!(written.etag, lockwell_client::ETag::of_content(b"v2"));
    server.stop().await;
}

#[tokio::test]
async fn c8_native_copy_source_time_conditions_follow_s3_precedence() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let source = client
        .put_object("bkt", "src", b"state".as_slice(), &PutOptions::default())
        .await
        .unwrap();
    let etag = Some(source.etag.to_string());
    let stale = Some(lockwell_client::ETag::of_content(b"stale").to_string());
    let conditions = |if_match: Option<String>,
                      if_none_match: Option<String>,
                      if_modified_since_ms: Option<u64>,
                      if_unmodified_since_ms: Option<u64>| CopySource {
        bucket: "bkt".into(),
        key: "src".into(),
        if_match,
        if_none_match,
        if_modified_since_ms,
        if_unmodified_since_ms,
    };
    // The epoch is before the source's last modification; its own
    // last-modified time is not after itself.
    let (before_ms, at_ms) = (Some(0), Some(source.last_modified_ms));
    // (case, source conditions, Ok or the condition a 412 names).
    let cases: [(&str, CopySource, Result<(), &str>); 7] = [
        (
            "If-Unmodified-Since fails",
            conditions(None, None, None, before_ms),
            Err("sourceIfUnmodifiedSince"),
        ),
        (
            "If-Unmodified-Since holds",
            conditions(None, None, None, at_ms),
            Ok(()),
        ),
        (
            "If-Modified-Since fails: 412, never 304",
            conditions(None, None, at_ms, None),
            Err("sourceIfModifiedSince"),
        ),
        (
            "If-Modified-Since holds",
            conditions(None, None, before_ms, None),
            Ok(()),
        ),
        (
            "If-Match holds: a failing If-Unmodified-Since is ignored",
            conditions(etag.clone(), None, None, before_ms),
            Ok(()),
        ),
        (
            "If-None-Match fails: a passing If-Modified-Since does not rescue it",
            conditions(None, etag.clone(), before_ms, None),
            Err("sourceIfNoneMatch"),
        ),
        (
            "If-Match fails whatever the dates say",
            conditions(stale, None, before_ms, at_ms),
            Err("sourceIfMatch"),
        ),
    ];
    for (name, source_conditions, expected) in cases {
        let outcome = client
            .copy_object(&copy_with_source(source_conditions))
            .await;
        match (outcome, expected) {
            (Ok(copied), Ok(())) => assert_eq!(copied.etag, source.etag, "{name}"),
            (Err(Error::PreconditionFailed { condition, .. }), Err(expected)) => {
                assert_eq!(condition.as_deref(), Some(expected), "{name}");
            }
            (outcome, expected) => panic!("{name}: {outcome:?}, expected {expected:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn c6a_native_delete_if_match_of_an_absent_key_is_404_and_unconditional_is_204() {
    let (server, proxy) = setup().await;
    let client = native_client(native_config(&proxy.endpoint()), None);
    let etag = lockwell_client::ETag::of_content(b"v");
    let absent = client
        .delete_object("bkt", "absent", Some(&etag))
        .await
        .unwrap_err();
    assert!(matches!(absent, Error::NotFound(_)), "C6a: {absent:?}");
    client
        .delete_object("bkt", "absent", None)
        .await
        .expect("an unconditional delete of an absent key succeeds");
    server.stop().await;
}
