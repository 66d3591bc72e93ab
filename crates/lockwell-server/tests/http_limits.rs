//! The HTTP layer's limits, each tested at the limit: in-flight requests
//! (503 SlowDown), body size (EntityTooLarge one byte past it), the idle
//! timeout, and a graceful shutdown that lets a request in progress finish.

mod support;

use std::time::Duration;

use lockwell_proto::sigv4::ContentSha256;
use lockwell_server::http::{HttpConfig, Limits};
use support::{ALICE, TestRequest, TestServer, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config_with(limits: impl FnOnce(&mut Limits)) -> HttpConfig {
    let mut config = test_config();
    limits(&mut config.limits);
    config
}

#[tokio::test]
async fn the_request_past_the_in_flight_limit_gets_503_slow_down() {
    let server =
        TestServer::start_with(config_with(|limits| limits.max_in_flight_requests = 1)).await;
    let alice = server.client(ALICE);
    assert_eq!(alice.send(TestRequest::put("/bkt", "")).await.status, 200);
    // Holds the only slot: it declares ten more bytes than it sends, so it
    // waits for them until the request timeout.
    let stalled_client = server.client(ALICE);
    let stalled = tokio::spawn(async move {
        stalled_client
            .send(
                TestRequest::put("/bkt/k", "abcd")
                    .payload(ContentSha256::Unsigned)
                    .content_length(14),
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = alice.send(TestRequest::get("/")).await;
    assert_eq!(refused.outcome(), (503, Some("SlowDown".into())));
    assert_eq!(
        stalled.await.unwrap().outcome(),
        (400, Some("IncompleteBody".into()))
    );
    assert_eq!(
        alice.send(TestRequest::get("/")).await.status,
        200,
        "the slot is free again"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_body_at_the_size_limit_is_accepted_and_one_byte_more_is_not() {
    const LIMIT_BYTES: u64 = 4096;
    let server = TestServer::start_with(config_with(|limits| {
        limits.max_body_len_bytes = LIMIT_BYTES
    }))
    .await;
    let alice = server.client(ALICE);
    assert_eq!(alice.send(TestRequest::put("/bkt", "")).await.status, 200);
    let at_limit = alice
        .send(TestRequest::put("/bkt/k", vec![b'x'; LIMIT_BYTES as usize]))
        .await;
    assert_eq!(at_limit.status, 200);
    let over = alice
        .send(TestRequest::put(
            "/bkt/k2",
            vec![b'x'; LIMIT_BYTES as usize + 1],
        ))
        .await;
    assert_eq!(over.outcome(), (400, Some("EntityTooLarge".into())));
    let listing = alice.send(TestRequest::get("/bkt?list-type=2")).await;
    assert_eq!(listing.elements("Key"), ["k"]);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    const IDLE_TIMEOUT_MS: u64 = 200;
    let server = TestServer::start_with(config_with(|limits| {
        limits.idle_timeout_ms = IDLE_TIMEOUT_MS
    }))
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(
        Duration::from_millis(IDLE_TIMEOUT_MS * 10),
        idle.read(&mut buf),
    )
    .await
    .expect("the server closes an idle connection");
    assert_eq!(closed.unwrap_or(0), 0, "closed without an answer");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_progress_and_accepts_no_more() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    assert_eq!(alice.send(TestRequest::put("/bkt", "")).await.status, 200);
    let addr = server.addr;
    let request = TestRequest::put("/bkt/k", "first half, second half");
    let (headers, _) = alice.sign(&request);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&alice.head(&request, &headers, request.body.len() as u64))
        .await
        .unwrap();
    stream.write_all(&request.body[..11]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );
    stream.write_all(&request.body[11..]).await.unwrap();
    let response = support::read_response(&mut stream, false).await;
    assert_eq!(response.status, 200, "the request in progress finished");
    stopping.await.expect("the server stopped");
}
