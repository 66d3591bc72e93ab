//! The native API over loopback, request by request (raw HTTP/1.1, so each
//! header and body is exactly what the test says): tokens (SPEC A2),
//! conditional puts and deletes (C1, C2, C4, C6a), copies (C7, C8), JSON
//! error bodies (C9), idempotency (I1-I4, I7) and its sharing with the S3
//! API per principal (I8).

mod support;

use std::net::SocketAddr;

use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::native::{self, ErrorBody, MintTokenResponse, WriteResponse, parse_json};
use support::{ALICE, BOB, TestRequest, TestResponse, TestServer, read_response, send_raw};
use tokio::io::AsyncWriteExt;

/// A native request: method, path, headers, body.
struct NativeRequest {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl NativeRequest {
    fn new(method: &'static str, path: &str) -> Self {
        Self {
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn object(method: &'static str, bucket: &str, key: &str) -> Self {
        Self::new(method, &format!("/_native/v1/objects/{bucket}/{key}"))
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn token(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// `x-lockwell-checksum-sha256` of the body.
    fn sha256(self) -> Self {
        let value = digest(ChecksumAlgorithm::Sha256, &self.body).to_base64();
        self.header("x-lockwell-checksum-sha256", value)
    }

    async fn send(self, server: &TestServer) -> TestResponse {
        self.send_to(server.addr).await
    }

    /// The request line and headers, `Content-Length` the body's length.
    fn head(&self, addr: SocketAddr) -> Vec<u8> {
        let mut bytes =
            format!("{} {} HTTP/1.1\r\nhost: {addr}\r\n", self.method, self.path).into_bytes();
        for (name, value) in &self.headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        bytes
    }

    async fn send_to(self, addr: SocketAddr) -> TestResponse {
        let mut bytes = self.head(addr);
        bytes.extend_from_slice(&self.body);
        send_raw(addr, &bytes, false, self.method == "HEAD").await
    }
}

fn error_body(response: &TestResponse) -> ErrorBody {
    parse_json(&response.body)
        .unwrap_or_else(|error| panic!("not a JSON error body: {error:?} {}", response.text()))
}

fn etag_of(response: &TestResponse) -> String {
    let body: WriteResponse = parse_json(&response.body).expect("a write response body");
    assert_eq!(response.header("etag"), Some(body.etag.as_str()), "E2");
    body.etag
}

async fn mint(server: &TestServer, (id, secret): (&str, &str)) -> String {
    let response = NativeRequest::new("POST", native::TOKENS_PATH)
        .body(format!(
            r#"{{"accessKeyId":"{id}","secretAccessKey":"{secret}"}}"#
        ))
        .send(server)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let minted: MintTokenResponse = parse_json(&response.body).expect("a token");
    minted.token
}

/// A server with bucket `bkt` owned by Alice, and Alice's token.
async fn server_with_bucket() -> (TestServer, String) {
    let server = TestServer::start().await;
    let created = server
        .client(ALICE)
        .send(TestRequest::put("/bkt", Vec::new()))
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let token = mint(&server, ALICE).await;
    (server, token)
}

#[tokio::test]
async fn a2_tokens_are_minted_from_a_key_and_refused_when_wrong_or_expired() {
    let (server, token) = server_with_bucket().await;
    let wrong_secret = NativeRequest::new("POST", native::TOKENS_PATH)
        .body(r#"{"accessKeyId":"AKALICE","secretAccessKey":"nope"}"#)
        .send(&server)
        .await;
    assert_eq!(wrong_secret.status, 401);
    assert_eq!(
        error_body(&wrong_secret).code,
        native::codes::INVALID_CREDENTIALS
    );

    let (alice_id, alice_secret) = ALICE;
    let expired = native::mint_token(alice_id, alice_secret, 1);
    let forged = native::mint_token(alice_id, "not-alice-secret", u64::MAX);
    let unknown_key = native::mint_token("AKNOBODY", alice_secret, u64::MAX);
    let get = || NativeRequest::object("GET", "bkt", "k");
    let cases = [
        ("no token", get(), 401, Some(native::codes::MISSING_TOKEN)),
        (
            "expired",
            get().token(&expired),
            401,
            Some(native::codes::EXPIRED_TOKEN),
        ),
        (
            "forged",
            get().token(&forged),
            401,
            Some(native::codes::INVALID_TOKEN),
        ),
        (
            "unknown key",
            get().token(&unknown_key),
            401,
            Some(native::codes::INVALID_TOKEN),
        ),
        (
            "garbage",
            get().token("xyz"),
            401,
            Some(native::codes::INVALID_TOKEN),
        ),
        (
            "valid, absent key",
            get().token(&token),
            404,
            Some("NoSuchKey"),
        ),
    ];
    for (name, request, status, code) in cases {
        let response = request.send(&server).await;
        assert_eq!(response.status, status, "{name}: {}", response.text());
        assert_eq!(error_body(&response).code.as_str(), code.unwrap(), "{name}");
    }

    let short_lived = NativeRequest::new("POST", native::TOKENS_PATH)
        .body(r#"{"accessKeyId":"AKALICE","secretAccessKey":"alice-secret","ttlMs":1000}"#)
        .send(&server)
        .await;
    let minted: MintTokenResponse = parse_json(&short_lived.body).unwrap();
    assert_eq!(
        NativeRequest::object("GET", "bkt", "k")
            .token(&minted.token)
            .send(&server)
            .await
            .status,
        404
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = NativeRequest::object("GET", "bkt", "k")
        .token(&minted.token)
        .send(&server)
        .await;
    assert_eq!(after.status, 401, "the token expired");
    assert_eq!(error_body(&after).code, native::codes::EXPIRED_TOKEN);
    server.stop().await;
}

#[tokio::test]
async fn c1_c2_c9_conditional_puts_and_their_json_412() {
    let (server, token) = server_with_bucket().await;
    let put = |body: &str| {
        NativeRequest::object("PUT", "bkt", "k")
            .token(&token)
            .body(body)
    };
    let created = put("v1").header("if-none-match", "*").send(&server).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let etag = etag_of(&created);
    assert_eq!(
        etag,
        format!("\"{}\"", digest(ChecksumAlgorithm::Md5, b"v1").to_hex()),
        "E1"
    );

    let again = put("v2").header("if-none-match", "*").send(&server).await;
    assert_eq!(again.status, 412);
    assert_eq!(
        again.header("content-type"),
        Some(native::JSON_CONTENT_TYPE)
    );
    let body = error_body(&again);
    assert_eq!(body.code, "PreconditionFailed");
    assert_eq!(body.condition.as_deref(), Some("ifNoneMatch"), "C9");

    let stale = put("v2")
        .header("if-match", "\"0123456789abcdef0123456789abcdef\"")
        .send(&server)
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(
        error_body(&stale).condition.as_deref(),
        Some("ifMatch"),
        "C9"
    );

    let absent = NativeRequest::object("PUT", "bkt", "absent")
        .token(&token)
        .body("x")
        .header("if-match", etag.clone())
        .send(&server)
        .await;
    assert_eq!(absent.status, 404, "C2: If-Match on an absent key");

    let updated = put("v2")
        .header("if-match", etag.clone())
        .send(&server)
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());

    let read = NativeRequest::object("GET", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(
        (read.status, read.body.as_slice()),
        (200, b"v2".as_slice()),
        "C4"
    );
    assert_eq!(read.header("etag"), Some(etag_of(&updated).as_str()), "E2");
    let head = NativeRequest::object("HEAD", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(head.header("etag"), read.header("etag"));
    server.stop().await;
}

#[tokio::test]
async fn c6a_delete_with_if_match() {
    let (server, token) = server_with_bucket().await;
    let created = NativeRequest::object("PUT", "bkt", "k")
        .token(&token)
        .body("v")
        .send(&server)
        .await;
    let etag = etag_of(&created);
    let delete = || NativeRequest::object("DELETE", "bkt", "k").token(&token);
    let stale = delete()
        .header("if-match", "\"0123456789abcdef0123456789abcdef\"")
        .send(&server)
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(error_body(&stale).condition.as_deref(), Some("ifMatch"));
    assert_eq!(
        delete().header("if-match", etag).send(&server).await.status,
        204
    );
    let gone = NativeRequest::object("GET", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(gone.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn c7_c8_copy_with_destination_and_source_conditions() {
    let (server, token) = server_with_bucket().await;
    let source = NativeRequest::object("PUT", "bkt", "src")
        .token(&token)
        .body("state")
        .send(&server)
        .await;
    let source_etag = etag_of(&source);
    let copy = |body: String| {
        NativeRequest::new("POST", native::COPY_PATH)
            .token(&token)
            .body(body)
    };
    let request = |source_conditions: &str, destination_conditions: &str| {
        format!(
            r#"{{"source":{{"bucket":"bkt","key":"src"{source_conditions}}},"destination":{{"bucket":"bkt","key":"dst"{destination_conditions}}}}}"#
        )
    };
    let stale = r#""\"0123456789abcdef0123456789abcdef\"""#;
    let source_match = format!(r#","ifMatch":{}"#, serde_quote(&source_etag));
    // (case, request, status, condition named by a 412).
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        (
            "C7 create-only on absent",
            request("", r#","requireAbsent":true"#),
            200,
            None,
        ),
        (
            "C7 create-only on present",
            request("", r#","requireAbsent":true"#),
            412,
            Some("requireAbsent"),
        ),
        (
            "C7 overwrite-only, stale",
            request("", &format!(r#","requireMatchEtag":{stale}"#)),
            412,
            Some("requireMatchEtag"),
        ),
        (
            "C7 overwrite-only, current",
            request(
                "",
                &format!(r#","requireMatchEtag":{}"#, serde_quote(&source_etag)),
            ),
            200,
            None,
        ),
        (
            "C8 source ifMatch holds",
            request(&source_match, ""),
            200,
            None,
        ),
        (
            "C8 source ifMatch fails",
            request(&format!(r#","ifMatch":{stale}"#), ""),
            412,
            Some("sourceIfMatch"),
        ),
        (
            "C8 source ifNoneMatch fails: 412, never 304",
            request(
                &format!(r#","ifNoneMatch":{}"#, serde_quote(&source_etag)),
                "",
            ),
            412,
            Some("sourceIfNoneMatch"),
        ),
        (
            "both destination conditions",
            request(
                "",
                &format!(r#","requireAbsent":true,"requireMatchEtag":{stale}"#),
            ),
            400,
            None,
        ),
        ("malformed JSON", "{".to_string(), 400, None),
    ];
    for (name, body, status, condition) in cases {
        let response = copy(body).send(&server).await;
        assert_eq!(response.status, status, "{name}: {}", response.text());
        if status == 200 {
            assert_eq!(
                etag_of(&response),
                source_etag,
                "{name}: E1 same bytes, same ETag"
            );
        } else {
            assert_eq!(
                error_body(&response).condition.as_deref(),
                condition,
                "{name}"
            );
        }
    }
    server.stop().await;
}

/// A JSON string literal of `text` (quotes and backslashes escaped).
fn serde_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[tokio::test]
async fn i4_k2_idempotent_put_needs_a_checksum_and_a_mismatch_stores_nothing() {
    let (server, token) = server_with_bucket().await;
    let put = || {
        NativeRequest::object("PUT", "bkt", "k")
            .token(&token)
            .body("payload")
    };
    let unproven = put().header("idempotency-key", "op-1").send(&server).await;
    assert_eq!(unproven.status, 400);
    let message = error_body(&unproven).message;
    assert!(
        message.contains("I4") && message.contains("checksum"),
        "{message}"
    );

    let wrong = digest(ChecksumAlgorithm::Sha256, b"other").to_base64();
    for (name, request) in [
        ("keyed", put().header("idempotency-key", "op-1")),
        ("unkeyed", put()),
    ] {
        let mismatch = request
            .header("x-lockwell-checksum-sha256", wrong.clone())
            .send(&server)
            .await;
        assert_eq!(mismatch.status, 400, "{name}");
        assert_eq!(error_body(&mismatch).code, "BadDigest", "{name}");
    }
    let read = NativeRequest::object("GET", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(read.status, 404, "K2: nothing stored");

    // The released claim does not block the right payload under the same key.
    let right = put()
        .header("idempotency-key", "op-1")
        .sha256()
        .send(&server)
        .await;
    assert_eq!(right.status, 200, "{}", right.text());
    let crc = NativeRequest::object("PUT", "bkt", "crc")
        .token(&token)
        .body("payload")
        .header("idempotency-key", "op-crc")
        .header(
            "x-lockwell-checksum-crc32c",
            digest(ChecksumAlgorithm::Crc32c, b"payload").to_base64(),
        )
        .send(&server)
        .await;
    assert_eq!(
        crc.status, 200,
        "I4: any supported algorithm proves the payload"
    );
    server.stop().await;
}

#[tokio::test]
async fn i1_i2_i7_replays_mismatches_and_recorded_412s() {
    let (server, token) = server_with_bucket().await;
    let put = |key: &str, body: &str, idempotency_key: &str| {
        NativeRequest::object("PUT", "bkt", key)
            .token(&token)
            .body(body.to_string())
            .header("idempotency-key", idempotency_key)
            .sha256()
    };
    let first = put("k", "v1", "op-1").send(&server).await;
    let etag = etag_of(&first);
    let overwritten = NativeRequest::object("PUT", "bkt", "k")
        .token(&token)
        .body("v2")
        .send(&server)
        .await;
    assert_eq!(overwritten.status, 200);

    let replay = put("k", "v1", "op-1").send(&server).await;
    assert_eq!(
        (replay.status, etag_of(&replay)),
        (200, etag),
        "I1: the original result"
    );
    let read = NativeRequest::object("GET", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(read.body, b"v2", "I1: not written again");

    for (name, request) in [
        ("other payload", put("k", "v3", "op-1")),
        ("other key", put("k2", "v1", "op-1")),
        (
            "other conditions",
            put("k", "v1", "op-1").header("if-none-match", "*"),
        ),
    ] {
        let response = request.send(&server).await;
        assert_eq!(response.status, 422, "I2 {name}: {}", response.text());
        assert_eq!(error_body(&response).code, "IdempotencyKeyMismatch");
    }

    let lost = put("k", "v4", "op-2")
        .header("if-none-match", "*")
        .send(&server)
        .await;
    assert_eq!(lost.status, 412);
    NativeRequest::object("DELETE", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    let lost_again = put("k", "v4", "op-2")
        .header("if-none-match", "*")
        .send(&server)
        .await;
    assert_eq!(lost_again.status, 412, "I7: a lost race stays lost");
    assert_eq!(
        error_body(&lost_again).condition.as_deref(),
        Some("ifNoneMatch")
    );
    server.stop().await;
}

#[tokio::test]
async fn i8_native_and_s3_share_records_per_principal_only() {
    let (server, token) = server_with_bucket().await;
    let native_put = NativeRequest::object("PUT", "bkt", "k")
        .token(&token)
        .body("v1")
        .header("idempotency-key", "shared-op")
        .sha256()
        .send(&server)
        .await;
    let etag = etag_of(&native_put);
    let alice = server.client(ALICE);
    let overwrite = alice.send(TestRequest::put("/bkt/k", b"v2".to_vec())).await;
    assert_eq!(overwrite.status, 200);

    // S3 signs the body's SHA-256: the same payload proof as the native
    // sha256 checksum, so the S3 retry is the native request again.
    let s3_retry = alice
        .send(TestRequest::put("/bkt/k", b"v1".to_vec()).header("idempotency-key", "shared-op"))
        .await;
    assert_eq!(s3_retry.status, 200, "{}", s3_retry.text());
    assert_eq!(s3_retry.etag(), etag, "I8: S3 sees the native record");
    let s3_other = alice
        .send(TestRequest::put("/bkt/k", b"v3".to_vec()).header("idempotency-key", "shared-op"))
        .await;
    assert_eq!(s3_other.status, 422, "I2 across APIs");
    let read = NativeRequest::object("GET", "bkt", "k")
        .token(&token)
        .send(&server)
        .await;
    assert_eq!(read.body, b"v2", "the S3 replay wrote nothing");

    // Bob cannot reach Alice's record (nor her bucket: A3).
    let bob_token = mint(&server, BOB).await;
    let bob = NativeRequest::object("PUT", "bkt", "k")
        .token(&bob_token)
        .body("v1")
        .header("idempotency-key", "shared-op")
        .sha256()
        .send(&server)
        .await;
    assert_eq!(bob.status, 403, "{}", bob.text());
    assert!(bob.header("etag").is_none(), "I8: no stored result leaks");
    server.stop().await;
}

#[tokio::test]
async fn i3_the_same_key_in_flight_is_409_and_never_a_second_write() {
    let (server, token) = server_with_bucket().await;
    let put = || {
        NativeRequest::object("PUT", "bkt", "k")
            .token(&token)
            .body("0123456789")
            .header("idempotency-key", "op-slow")
            .sha256()
    };
    // The first request's head and half its body: its claim is held.
    let first = put();
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(&first.head(server.addr)).await.unwrap();
    slow.write_all(&first.body[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let concurrent = put().send(&server).await;
    assert_eq!(concurrent.status, 409, "{}", concurrent.text());
    assert_eq!(error_body(&concurrent).code, "IdempotencyKeyInFlight");

    slow.write_all(&first.body[5..]).await.unwrap();
    let completed = read_response(&mut slow, false).await;
    assert_eq!(completed.status, 200, "{}", completed.text());
    let replay = put().send(&server).await;
    assert_eq!(etag_of(&replay), etag_of(&completed), "I1 after I3");
    server.stop().await;
}

#[tokio::test]
async fn c1_c3_racing_native_creates_have_one_winner() {
    const RACERS: usize = 16;
    const ROUNDS: usize = 8;
    let (server, token) = server_with_bucket().await;
    for round in 0..ROUNDS {
        let racers: Vec<_> = (0..RACERS)
            .map(|racer| {
                let request = NativeRequest::object("PUT", "bkt", &format!("race-{round}"))
                    .token(&token)
                    .header("if-none-match", "*")
                    .body(format!("racer-{racer}"));
                tokio::spawn(request.send_to(server.addr))
            })
            .collect();
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.unwrap().status);
        }
        statuses.sort_unstable();
        let winners = statuses.iter().filter(|status| **status == 200).count();
        assert_eq!(winners, 1, "round {round}: {statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|status| matches!(status, 200 | 409 | 412)),
            "round {round}: {statuses:?}"
        );
    }
    server.stop().await;
}
