//! The real server runs unchanged in the simulator: a server node serves
//! lockwell-server's HTTP layer (its own accept loop, hyper http1, SigV4)
//! over madsim's TCP, and a client node talks to it with hyper's
//! `client::conn::http1` under a network latency drawn from the seed. A
//! create, a conditional create that must lose (C1), a read (E1, E2) and a
//! conditional read (E5) go through.
#![cfg(madsim)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::sigv4::{self, ContentSha256, Credentials, SecretKey, SigningParams};
use lockwell_server::http::io::TokioIo;
use madsim::net::NetSim;
use madsim::rand::{Rng, thread_rng};
use madsim::runtime::Handle;
use madsim::time::TimeHandle;

use support::{ACCESS_KEY, CLIENT_IP, REGION, SECRET_KEY, SERVER_ADDR, run_memory_server};

/// Upper bound of the seeded one-way latency.
const MAX_LATENCY_MS: u64 = 50;

type Sender = http1::SendRequest<Full<Bytes>>;

/// Signs and sends one request on the connection; returns status, headers
/// and body.
async fn send(
    sender: &mut Sender,
    method: Method,
    path: &str,
    extra_headers: &[(&'static str, String)],
    body: &[u8],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static(SERVER_ADDR));
    for (name, value) in extra_headers {
        headers.insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    let payload_sha256 = digest(ChecksumAlgorithm::Sha256, body);
    let payload = ContentSha256::Sha256(payload_sha256.as_bytes().try_into().expect("32 bytes"));
    let credentials = Credentials {
        access_key_id: ACCESS_KEY.into(),
        secret_key: SecretKey::new(SECRET_KEY),
    };
    sigv4::sign(
        &method,
        path,
        None,
        &mut headers,
        &payload,
        &SigningParams {
            credentials: &credentials,
            region: REGION,
            time: TimeHandle::current().now_time(),
        },
    )
    .expect("sign");
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("request");
    *request.headers_mut() = headers;
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("response body").to_bytes();
    (parts.status, parts.headers, body)
}

#[madsim::test]
async fn put_and_get_round_trip_through_the_real_server_under_seeded_latency() {
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
    server.spawn(run_memory_server(server_addr));
    let client = handle
        .create_node()
        .name("client")
        .ip(CLIENT_IP.parse().expect("ip"))
        .build();

    let exchange = client.spawn(async move {
        // Let the server bind before the first connect.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let stream = tokio::net::TcpStream::connect(server_addr)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let started = TimeHandle::current().now_instant();

        let (status, _, body) = send(&mut sender, Method::PUT, "/sim-bucket", &[], b"").await;
        assert_eq!(status, StatusCode::OK, "CreateBucket: {body:?}");

        let content = b"simulated bytes".as_slice();
        let create_only = [("if-none-match", "*".to_string())];
        let (status, headers, _) = send(
            &mut sender,
            Method::PUT,
            "/sim-bucket/k",
            &create_only,
            content,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let etag = ETag::of_content(content).to_string();
        assert_eq!(
            headers.get("etag").and_then(|v| v.to_str().ok()),
            Some(etag.as_str()),
            "E2"
        );

        let (status, _, body) = send(
            &mut sender,
            Method::PUT,
            "/sim-bucket/k",
            &create_only,
            b"second",
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "C1");
        assert!(String::from_utf8_lossy(&body).contains("<Condition>If-None-Match</Condition>"));

        let (status, headers, body) =
            send(&mut sender, Method::GET, "/sim-bucket/k", &[], b"").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_ref(), content, "E1: the first create's bytes");
        assert_eq!(
            headers.get("etag").and_then(|v| v.to_str().ok()),
            Some(etag.as_str())
        );

        let if_none_match = [("if-none-match", etag.clone())];
        let (status, _, _) = send(
            &mut sender,
            Method::GET,
            "/sim-bucket/k",
            &if_none_match,
            b"",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "E5");

        TimeHandle::current().now_instant() - started
    });
    let elapsed = exchange.await.expect("client task");
    // Five request/response exchanges each cross the network twice: the
    // seeded latency must show, or the simulation proved nothing about it.
    assert!(
        elapsed >= Duration::from_millis(10),
        "five round trips under up to {max_latency_ms} ms latency took only {elapsed:?}"
    );
}
