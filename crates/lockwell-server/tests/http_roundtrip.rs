//! Every S3 operation of the server over real sockets, signed with
//! lockwell-proto's SigV4 signer: the happy path and the SPEC rules each
//! operation owns (E1-E5, C1-C9, I1-I3, I5-I7, K1-K5, A1, A3).

mod support;

use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::sigv4::{self, ContentSha256, SigningParams};
use support::{ALICE, BOB, Client, TestRequest, TestServer};

fn md5_etag(body: &[u8]) -> String {
    ETag::of_content(body).to_string()
}

async fn create_bucket(client: &Client, bucket: &str) {
    let response = client
        .send(TestRequest::put(&format!("/{bucket}"), ""))
        .await;
    assert_eq!(response.status, 200, "create {bucket}: {}", response.text());
}

async fn put(client: &Client, path: &str, body: &[u8]) -> String {
    let response = client.send(TestRequest::put(path, body)).await;
    assert_eq!(response.status, 200, "put {path}: {}", response.text());
    response.etag()
}

#[tokio::test]
async fn e1_e2_put_get_head_delete_round_trip() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "photos").await;

    let body = b"hello lockwell".to_vec();
    let put = alice
        .send(
            TestRequest::put("/photos/a%20b/c.txt", body.clone())
                .header("content-type", "text/plain")
                .header("x-amz-meta-colour", "blue"),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        put.etag(),
        md5_etag(&body),
        "E1: single-part ETag is the quoted MD5"
    );

    let get = alice.send(TestRequest::get("/photos/a%20b/c.txt")).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body, body);
    assert_eq!(get.etag(), put.etag(), "E2: GET returns the ETag");
    assert_eq!(get.header("content-type"), Some("text/plain"));
    assert_eq!(get.header("x-amz-meta-colour"), Some("blue"));
    assert!(get.header("last-modified").is_some());

    let head = alice.send(TestRequest::head("/photos/a%20b/c.txt")).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(head.etag(), put.etag());

    let delete = alice.send(TestRequest::delete("/photos/a%20b/c.txt")).await;
    assert_eq!(delete.status, 204);
    let gone = alice.send(TestRequest::get("/photos/a%20b/c.txt")).await;
    assert_eq!(gone.outcome(), (404, Some("NoSuchKey".into())));
    let head_gone = alice.send(TestRequest::head("/photos/a%20b/c.txt")).await;
    assert_eq!(head_gone.status, 404);
    let delete_again = alice.send(TestRequest::delete("/photos/a%20b/c.txt")).await;
    assert_eq!(
        delete_again.status, 204,
        "deleting an absent key is 204, as S3"
    );
    server.stop().await;
}

#[tokio::test]
async fn bucket_operations_round_trip() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "b-one").await;
    create_bucket(&alice, "b-two").await;
    // us-east-1: the owner creating again gets 200, as AWS.
    create_bucket(&alice, "b-one").await;

    let list = alice.send(TestRequest::get("/")).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.elements("Name"), ["b-one", "b-two"]);

    assert_eq!(alice.send(TestRequest::head("/b-one")).await.status, 200);
    assert_eq!(
        alice
            .send(TestRequest::head("/missing-bucket"))
            .await
            .status,
        404
    );

    let location = alice.send(TestRequest::get("/b-one?location")).await;
    assert_eq!(location.status, 200);
    assert!(
        location.text().contains("<LocationConstraint"),
        "{}",
        location.text()
    );

    let versioning = alice.send(TestRequest::get("/b-one?versioning")).await;
    assert_eq!(versioning.status, 200);
    assert!(versioning.text().contains("<VersioningConfiguration"));
    assert!(!versioning.text().contains("<Status>"), "never versioned");

    put(&alice, "/b-one/k", b"x").await;
    let not_empty = alice.send(TestRequest::delete("/b-one")).await;
    assert_eq!(not_empty.outcome(), (409, Some("BucketNotEmpty".into())));
    alice.send(TestRequest::delete("/b-one/k")).await;
    assert_eq!(alice.send(TestRequest::delete("/b-one")).await.status, 204);
    let list = alice.send(TestRequest::get("/")).await;
    assert_eq!(list.elements("Name"), ["b-two"]);

    let wrong_region = alice
        .send(TestRequest::put(
            "/b-three",
            "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
        ))
        .await;
    assert_eq!(
        wrong_region.outcome(),
        (400, Some("InvalidArgument".into()))
    );
    server.stop().await;
}

#[tokio::test]
async fn a3_principals_act_only_on_their_own_buckets() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.client(ALICE), server.client(BOB));
    create_bucket(&alice, "alices").await;
    put(&alice, "/alices/secret", b"mine").await;

    let taken = bob.send(TestRequest::put("/alices", "")).await;
    assert_eq!(taken.outcome(), (409, Some("BucketAlreadyExists".into())));
    for request in [
        TestRequest::get("/alices/secret"),
        TestRequest::get("/alices/no-such-key"),
        TestRequest::put("/alices/new", "bob was here"),
        TestRequest::delete("/alices/secret"),
        TestRequest::get("/alices?list-type=2"),
        TestRequest::get("/alices?versions"),
        TestRequest::get("/alices?location"),
        TestRequest::new(http::Method::POST, "/alices/k?uploads"),
    ] {
        let response = bob.send(request.clone()).await;
        assert_eq!(
            response.outcome(),
            (403, Some("AccessDenied".into())),
            "{} {}: the same answer whether or not the key exists",
            request.method,
            request.path
        );
    }
    assert_eq!(
        bob.send(TestRequest::get("/")).await.elements("Name"),
        Vec::<String>::new()
    );
    let still_there = alice.send(TestRequest::get("/alices/secret")).await;
    assert_eq!(still_there.body, b"mine");
    server.stop().await;
}

#[tokio::test]
async fn e5_conditional_get_and_head() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let etag = put(&alice, "/bkt/k", b"content").await;
    let other = md5_etag(b"other");
    let cases: &[(&str, String, u16, Option<&str>)] = &[
        ("if-match", etag.clone(), 200, None),
        ("if-match", other.clone(), 412, Some("If-Match")),
        ("if-match", "*".into(), 200, None),
        ("if-none-match", etag.clone(), 304, None),
        ("if-none-match", other.clone(), 200, None),
        (
            "if-modified-since",
            "Sat, 01 Jan 2000 00:00:00 GMT".into(),
            200,
            None,
        ),
        (
            "if-modified-since",
            "Fri, 01 Jan 2100 00:00:00 GMT".into(),
            304,
            None,
        ),
        (
            "if-unmodified-since",
            "Sat, 01 Jan 2000 00:00:00 GMT".into(),
            412,
            Some("If-Unmodified-Since"),
        ),
        (
            "if-unmodified-since",
            "Fri, 01 Jan 2100 00:00:00 GMT".into(),
            200,
            None,
        ),
    ];
    for (name, value, status, condition) in cases {
        let get = alice
            .send(TestRequest::get("/bkt/k").header(name, value.clone()))
            .await;
        assert_eq!(get.status, *status, "GET {name}: {value}");
        assert_eq!(
            get.element("Condition").as_deref(),
            *condition,
            "GET {name}: {value}"
        );
        if *status == 304 {
            assert_eq!(get.etag(), etag, "a 304 carries the ETag");
        }
        let head = alice
            .send(TestRequest::head("/bkt/k").header(name, value.clone()))
            .await;
        assert_eq!(head.status, *status, "HEAD {name}: {value}");
    }
    server.stop().await;
}

#[tokio::test]
async fn get_ranges_answer_206_or_416() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    put(&alice, "/bkt/k", b"0123456789").await;
    let cases: &[(&str, u16, &[u8], Option<&str>)] = &[
        ("bytes=0-3", 206, b"0123", Some("bytes 0-3/10")),
        ("bytes=7-", 206, b"789", Some("bytes 7-9/10")),
        ("bytes=-2", 206, b"89", Some("bytes 8-9/10")),
        ("bytes=5-100", 206, b"56789", Some("bytes 5-9/10")),
        ("bytes=10-", 416, b"", Some("bytes */10")),
        ("bytes=3-1", 200, b"0123456789", None),
        ("lines=1-2", 200, b"0123456789", None),
    ];
    for (range, status, body, content_range) in cases {
        let response = alice
            .send(TestRequest::get("/bkt/k").header("range", *range))
            .await;
        assert_eq!(response.status, *status, "{range}");
        assert_eq!(response.header("content-range"), *content_range, "{range}");
        if *status == 416 {
            assert_eq!(response.code().as_deref(), Some("InvalidRange"));
        } else {
            assert_eq!(response.body, *body, "{range}");
        }
    }
    let part_one = alice.send(TestRequest::get("/bkt/k?partNumber=1")).await;
    assert_eq!(part_one.body, b"0123456789");
    server.stop().await;
}

#[tokio::test]
async fn c1_c2_c9_conditional_puts() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;

    let created = alice
        .send(TestRequest::put("/bkt/k", "v1").header("if-none-match", "*"))
        .await;
    assert_eq!(created.status, 200);
    let lost = alice
        .send(TestRequest::put("/bkt/k", "v2").header("if-none-match", "*"))
        .await;
    assert_eq!(
        lost.outcome(),
        (412, Some("PreconditionFailed".into())),
        "C1"
    );
    assert_eq!(
        lost.element("Condition").as_deref(),
        Some("If-None-Match"),
        "C9"
    );

    let stale = alice
        .send(TestRequest::put("/bkt/k", "v2").header("if-match", md5_etag(b"old")))
        .await;
    assert_eq!(
        stale.outcome(),
        (412, Some("PreconditionFailed".into())),
        "C2"
    );
    assert_eq!(
        stale.element("Condition").as_deref(),
        Some("If-Match"),
        "C9"
    );

    let swapped = alice
        .send(TestRequest::put("/bkt/k", "v2").header("if-match", created.etag()))
        .await;
    assert_eq!(swapped.status, 200, "C2 with the current ETag");
    assert_eq!(swapped.etag(), md5_etag(b"v2"));

    let absent = alice
        .send(TestRequest::put("/bkt/absent", "v").header("if-match", created.etag()))
        .await;
    assert_eq!(
        absent.outcome(),
        (404, Some("NoSuchKey".into())),
        "C2: absent key is 404"
    );

    let c1a = alice
        .send(TestRequest::put("/bkt/k", "v3").header("if-none-match", swapped.etag()))
        .await;
    assert_eq!(c1a.status, 412, "C1a: the current ETag is listed");
    let c1a_ok = alice
        .send(TestRequest::put("/bkt/k", "v3").header("if-none-match", md5_etag(b"zzz")))
        .await;
    assert_eq!(c1a_ok.status, 200, "C1a: the current ETag is not listed");

    let get = alice.send(TestRequest::get("/bkt/k")).await;
    assert_eq!(get.body, b"v3", "C4: failed preconditions stored nothing");
    server.stop().await;
}

#[tokio::test]
async fn c6a_conditional_delete_and_delete_objects() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let etag = put(&alice, "/bkt/k", b"v").await;

    let wrong = alice
        .send(TestRequest::delete("/bkt/k").header("if-match", md5_etag(b"x")))
        .await;
    assert_eq!(wrong.outcome(), (412, Some("PreconditionFailed".into())));
    let absent = alice
        .send(TestRequest::delete("/bkt/absent").header("if-match", etag.clone()))
        .await;
    assert_eq!(absent.outcome(), (404, Some("NoSuchKey".into())));
    let bad_version = alice
        .send(TestRequest::delete("/bkt/k?versionId=abc"))
        .await;
    assert_eq!(bad_version.outcome(), (400, Some("InvalidArgument".into())));
    let right = alice
        .send(TestRequest::delete("/bkt/k?versionId=null").header("if-match", etag))
        .await;
    assert_eq!(right.status, 204);

    let etag_one = put(&alice, "/bkt/one", b"1").await;
    put(&alice, "/bkt/two", b"2").await;
    put(&alice, "/bkt/three", b"3").await;
    let delete = format!(
        "<Delete>\
           <Object><Key>one</Key><ETag>{etag_one}</ETag></Object>\
           <Object><Key>two</Key><ETag>\"00000000000000000000000000000000\"</ETag></Object>\
           <Object><Key>three</Key><VersionId>null</VersionId></Object>\
           <Object><Key>missing</Key></Object>\
         </Delete>"
    );
    let response = alice
        .send(TestRequest::post("/bkt?delete", delete).checksum(ChecksumAlgorithm::Crc32))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.elements("Key"), ["one", "two", "three", "missing"]);
    assert_eq!(
        response.elements("Code"),
        ["PreconditionFailed"],
        "C6a: per-object ETag"
    );
    let listing = alice.send(TestRequest::get("/bkt?list-type=2")).await;
    assert_eq!(listing.elements("Key"), ["two"], "the others were deleted");
    server.stop().await;
}

#[tokio::test]
async fn c8_copy_object_with_source_and_destination_conditions() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let source_etag = put(&alice, "/bkt/src", b"source bytes").await;
    let copy = |destination: &str| {
        TestRequest::put(destination, "").header("x-amz-copy-source", "/bkt/src")
    };

    let copied = alice.send(copy("/bkt/dst")).await;
    assert_eq!(copied.status, 200, "{}", copied.text());
    assert_eq!(
        copied
            .element("ETag")
            .map(|etag| etag.replace("&quot;", "\"")),
        Some(source_etag.clone()),
        "E2"
    );
    let get = alice.send(TestRequest::get("/bkt/dst")).await;
    assert_eq!(get.body, b"source bytes");
    assert_eq!(get.etag(), source_etag, "E1: same bytes, same ETag");

    let source_mismatch = alice
        .send(copy("/bkt/dst2").header("x-amz-copy-source-if-match", md5_etag(b"x")))
        .await;
    assert_eq!(source_mismatch.status, 412, "C8");
    assert_eq!(
        source_mismatch.element("Condition").as_deref(),
        Some("x-amz-copy-source-if-match")
    );
    let source_none_match = alice
        .send(copy("/bkt/dst2").header("x-amz-copy-source-if-none-match", source_etag.clone()))
        .await;
    assert_eq!(source_none_match.status, 412, "C8: never 304");

    let exists = alice
        .send(copy("/bkt/dst").header("if-none-match", "*"))
        .await;
    assert_eq!(exists.status, 412, "C6/C7: create-only destination exists");
    let created = alice
        .send(copy("/bkt/dst3").header("if-none-match", "*"))
        .await;
    assert_eq!(created.status, 200);

    let to_itself = alice
        .send(TestRequest::put("/bkt/src", "").header("x-amz-copy-source", "/bkt/src"))
        .await;
    assert_eq!(to_itself.outcome(), (400, Some("InvalidRequest".into())));
    let replace = alice
        .send(
            TestRequest::put("/bkt/src", "")
                .header("x-amz-copy-source", "/bkt/src")
                .header("x-amz-metadata-directive", "REPLACE")
                .header("x-amz-meta-new", "yes"),
        )
        .await;
    assert_eq!(replace.status, 200, "{}", replace.text());
    let head = alice.send(TestRequest::head("/bkt/src")).await;
    assert_eq!(head.header("x-amz-meta-new"), Some("yes"));
    let missing = alice
        .send(TestRequest::put("/bkt/x", "").header("x-amz-copy-source", "/bkt/nope"))
        .await;
    assert_eq!(missing.outcome(), (404, Some("NoSuchKey".into())));
    server.stop().await;
}

#[tokio::test]
async fn k1_k4_checksums_are_verified_stored_and_returned() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let body = b"checksummed body".to_vec();
    for algorithm in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ] {
        let name = algorithm.s3_header_name().unwrap();
        let expected = digest(algorithm, &body).to_base64();
        let put = alice
            .send(TestRequest::put("/bkt/k", body.clone()).checksum(algorithm))
            .await;
        assert_eq!(put.status, 200, "{algorithm}: {}", put.text());
        assert_eq!(
            put.header(name),
            Some(expected.as_str()),
            "{algorithm}: PutObject echoes it"
        );
        let plain = alice.send(TestRequest::get("/bkt/k")).await;
        assert_eq!(
            plain.header(name),
            None,
            "{algorithm}: only with checksum mode"
        );
        for request in [TestRequest::get("/bkt/k"), TestRequest::head("/bkt/k")] {
            let response = alice
                .send(request.header("x-amz-checksum-mode", "ENABLED"))
                .await;
            assert_eq!(
                response.header(name),
                Some(expected.as_str()),
                "K4 {algorithm}"
            );
            assert_eq!(response.header("x-amz-checksum-type"), Some("FULL_OBJECT"));
        }
    }
    let wrong = alice
        .send(TestRequest::put("/bkt/k", b"other body".to_vec()).header(
            "x-amz-checksum-crc32",
            digest(ChecksumAlgorithm::Crc32, b"x").to_base64(),
        ))
        .await;
    assert_eq!(wrong.outcome(), (400, Some("BadDigest".into())), "K2");
    assert_eq!(
        alice.send(TestRequest::get("/bkt/k")).await.body,
        body,
        "K2: nothing stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn k3_aws_chunked_uploads_signed_and_unsigned() {
    use lockwell_proto::chunked::{ChunkSignatures, ChunkedEncoder};
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let crc = digest(ChecksumAlgorithm::Crc32c, &body);
    let cases = [
        (
            "unsigned trailer",
            ContentSha256::StreamingUnsignedTrailer,
            Some(crc),
        ),
        ("signed chunks", ContentSha256::StreamingSigned, None),
        (
            "signed chunks and trailer",
            ContentSha256::StreamingSignedTrailer,
            Some(crc),
        ),
    ];
    for (name, payload, trailer) in cases {
        let mut request = TestRequest::put("/bkt/chunked", Vec::new())
            .payload(payload)
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", body.len().to_string());
        if trailer.is_some() {
            request = request.header("x-amz-trailer", "x-amz-checksum-crc32c");
        }
        let (headers, streaming) = alice.sign(&request);
        let signatures = match payload {
            ContentSha256::StreamingUnsignedTrailer => ChunkSignatures::Unsigned,
            _ => ChunkSignatures::Signed(streaming),
        };
        let mut encoder = ChunkedEncoder::new(signatures);
        let mut encoded = Vec::new();
        for chunk in body.chunks(64 * 1024) {
            encoder.encode_chunk(chunk, &mut encoded);
        }
        encoder.finish(trailer.as_ref(), &mut encoded).unwrap();
        let mut bytes = alice.head(&request, &headers, encoded.len() as u64);
        bytes.extend_from_slice(&encoded);
        let response = support::send_raw(alice.addr, &bytes, false, false).await;
        assert_eq!(response.status, 200, "{name}: {}", response.text());
        assert_eq!(response.etag(), md5_etag(&body), "{name}");
        let get = alice
            .send(TestRequest::get("/bkt/chunked").header("x-amz-checksum-mode", "ENABLED"))
            .await;
        assert_eq!(get.body, body, "{name}");
        if trailer.is_some() {
            assert_eq!(
                get.header("x-amz-checksum-crc32c"),
                Some(crc.to_base64().as_str()),
                "{name}"
            );
        }
        alice.send(TestRequest::delete("/bkt/chunked")).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn i1_i2_i3_i5_i7_idempotency_keys() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    let bob = server.client(BOB);
    create_bucket(&alice, "bkt").await;
    create_bucket(&bob, "bobs").await;
    let idempotent = |path: &str, body: &str, key: &str| {
        TestRequest::put(path, body)
            .header("idempotency-key", key)
            .header("if-none-match", "*")
    };

    let first = alice.send(idempotent("/bkt/k", "v1", "key-1")).await;
    assert_eq!(first.status, 200);
    put(&alice, "/bkt/k", b"changed since").await;
    let replay = alice.send(idempotent("/bkt/k", "v1", "key-1")).await;
    assert_eq!(
        replay.status, 200,
        "I1: the replay returns the original result"
    );
    assert_eq!(
        replay.etag(),
        first.etag(),
        "I1: the original ETag, though the object changed"
    );
    assert_eq!(
        alice.send(TestRequest::get("/bkt/k")).await.body,
        b"changed since",
        "I1: not written again"
    );

    let mismatch = alice.send(idempotent("/bkt/k", "v2", "key-1")).await;
    assert_eq!(
        mismatch.outcome(),
        (422, Some("IdempotencyKeyMismatch".into())),
        "I2: other payload"
    );
    let other_key = alice.send(idempotent("/bkt/other", "v1", "key-1")).await;
    assert_eq!(other_key.status, 422, "I2: other target key");
    create_bucket(&alice, "bkt2").await;
    let other_bucket = alice.send(idempotent("/bkt2/k", "v1", "key-1")).await;
    assert_eq!(other_bucket.status, 200, "I1: records are per bucket");

    let lost = alice.send(idempotent("/bkt/k", "late", "key-2")).await;
    assert_eq!(lost.status, 412);
    alice.send(TestRequest::delete("/bkt/k")).await;
    let lost_again = alice.send(idempotent("/bkt/k", "late", "key-2")).await;
    assert_eq!(
        lost_again.status, 412,
        "I7: a lost race replays as 412 though the key is free now"
    );

    let unsigned_key = alice
        .send(TestRequest::put("/bkt/u", "v").unsigned_header("idempotency-key", "key-3"))
        .await;
    assert_eq!(
        unsigned_key.outcome(),
        (400, Some("InvalidRequest".into())),
        "I5: key not signed"
    );
    let unsigned_payload = alice
        .send(
            TestRequest::put("/bkt/u", "v")
                .payload(ContentSha256::Unsigned)
                .header("idempotency-key", "key-4"),
        )
        .await;
    assert_eq!(
        unsigned_payload.status, 400,
        "I5: UNSIGNED-PAYLOAD needs a checksum header"
    );
    let unsigned_with_checksum = alice
        .send(
            TestRequest::put("/bkt/u", "v")
                .payload(ContentSha256::Unsigned)
                .header("idempotency-key", "key-4")
                .checksum(ChecksumAlgorithm::Sha256),
        )
        .await;
    assert_eq!(
        unsigned_with_checksum.status, 200,
        "I5: the checksum header proves the payload"
    );

    let bobs = bob.send(idempotent("/bobs/k", "v1", "key-1")).await;
    assert_eq!(bobs.status, 200, "I8: records are per principal");
    server.stop().await;
}

#[tokio::test]
async fn i3_a_key_in_flight_is_409() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    // The first request declares more bytes than it sends, so it stays in
    // flight (holding its claim) until the request timeout.
    let stalled = TestRequest::put("/bkt/k", "part")
        .payload(ContentSha256::Unsigned)
        .checksum(ChecksumAlgorithm::Crc32)
        .header("idempotency-key", "in-flight")
        .content_length(100);
    let stalled_client = server.client(ALICE);
    let first = tokio::spawn(async move { stalled_client.send(stalled).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = alice
        .send(
            TestRequest::put("/bkt/k", "part")
                .payload(ContentSha256::Unsigned)
                .checksum(ChecksumAlgorithm::Crc32)
                .header("idempotency-key", "in-flight"),
        )
        .await;
    assert_eq!(
        second.outcome(),
        (409, Some("IdempotencyKeyInFlight".into())),
        "I3"
    );
    let first = first.await.unwrap();
    assert_eq!(first.outcome(), (400, Some("IncompleteBody".into())));
    let retry = alice
        .send(
            TestRequest::put("/bkt/k", "part")
                .payload(ContentSha256::Unsigned)
                .checksum(ChecksumAlgorithm::Crc32)
                .header("idempotency-key", "in-flight"),
        )
        .await;
    assert_eq!(retry.status, 200, "the failed body released the claim");
    server.stop().await;
}

#[tokio::test]
async fn list_objects_v1_v2_and_versions_paginate_with_delimiters() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    for key in ["a", "dir/x", "dir/y", "dir/sub/z", "e+f g", "z"] {
        let encoded: String = key.replace('+', "%2B").replace(' ', "%20");
        put(&alice, &format!("/bkt/{encoded}"), key.as_bytes()).await;
    }
    let v2 = alice
        .send(TestRequest::get("/bkt?list-type=2&delimiter=%2F"))
        .await;
    assert_eq!(v2.elements("Key"), ["a", "e+f g", "z"]);
    assert_eq!(v2.elements("CommonPrefixes"), ["<Prefix>dir/</Prefix>"]);
    assert_eq!(v2.element("KeyCount").as_deref(), Some("4"));

    let encoded = alice
        .send(TestRequest::get("/bkt?list-type=2&encoding-type=url"))
        .await;
    assert!(
        encoded.elements("Key").contains(&"e%2Bf%20g".to_string()),
        "{}",
        encoded.text()
    );

    // V2 pagination, two at a time, through opaque continuation tokens.
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = match &token {
            Some(token) => format!(
                "list-type=2&max-keys=2&continuation-token={}",
                token
                    .replace('=', "%3D")
                    .replace('+', "%2B")
                    .replace('/', "%2F")
            ),
            None => "list-type=2&max-keys=2".to_string(),
        };
        let page = alice.send(TestRequest::get(&format!("/bkt?{query}"))).await;
        assert_eq!(page.status, 200, "{}", page.text());
        keys.extend(page.elements("Key"));
        match page.element("NextContinuationToken") {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(keys, ["a", "dir/sub/z", "dir/x", "dir/y", "e+f g", "z"]);

    let v1 = alice
        .send(TestRequest::get(
            "/bkt?prefix=dir%2F&delimiter=%2F&max-keys=1",
        ))
        .await;
    assert_eq!(v1.elements("Key"), Vec::<String>::new());
    assert_eq!(v1.element("IsTruncated").as_deref(), Some("true"));
    assert_eq!(v1.element("NextMarker").as_deref(), Some("dir/sub/"));
    let v1_next = alice
        .send(TestRequest::get(
            "/bkt?prefix=dir%2F&delimiter=%2F&marker=dir%2Fsub%2F",
        ))
        .await;
    assert_eq!(v1_next.elements("Key"), ["dir/x", "dir/y"]);

    let versions = alice.send(TestRequest::get("/bkt?versions")).await;
    assert_eq!(versions.elements("Key").len(), 6, "each object once");
    assert!(versions.elements("VersionId").iter().all(|id| id == "null"));
    assert!(
        versions
            .elements("IsLatest")
            .iter()
            .all(|latest| latest == "true")
    );

    let bad_token = alice
        .send(TestRequest::get(
            "/bkt?list-type=2&continuation-token=%21%21",
        ))
        .await;
    assert_eq!(bad_token.outcome(), (400, Some("InvalidArgument".into())));
    server.stop().await;
}

fn complete_xml(parts: &[(u16, String)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (number, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

#[tokio::test]
async fn multipart_upload_round_trip() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    put(&alice, "/bkt/source", b"0123456789abcdef").await;

    let create = alice
        .send(
            TestRequest::new(http::Method::POST, "/bkt/big?uploads")
                .header("x-amz-checksum-algorithm", "CRC32"),
        )
        .await;
    assert_eq!(create.status, 200, "{}", create.text());
    let upload_id = create.element("UploadId").expect("an upload id");

    let part_one = b"first part!".to_vec();
    let one = alice
        .send(
            TestRequest::put(
                &format!("/bkt/big?partNumber=1&uploadId={upload_id}"),
                part_one.clone(),
            )
            .checksum(ChecksumAlgorithm::Crc32),
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.etag(), md5_etag(&part_one));
    let missing_checksum = alice
        .send(TestRequest::put(
            &format!("/bkt/big?partNumber=3&uploadId={upload_id}"),
            "no checksum",
        ))
        .await;
    assert_eq!(
        missing_checksum.outcome(),
        (400, Some("InvalidRequest".into())),
        "K5"
    );

    let two = alice
        .send(
            TestRequest::put(&format!("/bkt/big?partNumber=2&uploadId={upload_id}"), "")
                .header("x-amz-copy-source", "/bkt/source")
                .header("x-amz-copy-source-range", "bytes=2-11"),
        )
        .await;
    assert_eq!(two.status, 200, "UploadPartCopy: {}", two.text());
    let two_etag = two.element("ETag").unwrap().replace("&quot;", "\"");
    assert_eq!(two_etag, md5_etag(b"23456789ab"));

    let parts = alice
        .send(TestRequest::get(&format!("/bkt/big?uploadId={upload_id}")))
        .await;
    assert_eq!(parts.elements("PartNumber"), ["1", "2"]);
    let uploads = alice.send(TestRequest::get("/bkt?uploads")).await;
    assert_eq!(
        uploads.elements("UploadId"),
        std::slice::from_ref(&upload_id)
    );

    let listed = [(1, one.etag()), (2, two_etag)];
    let complete = alice
        .send(
            TestRequest::post(
                &format!("/bkt/big?uploadId={upload_id}"),
                complete_xml(&listed),
            )
            .header("if-none-match", "*"),
        )
        .await;
    assert_eq!(complete.status, 200, "{}", complete.text());
    let whole = [part_one.as_slice(), b"23456789ab"].concat();
    let crc = digest(ChecksumAlgorithm::Crc32, &whole).to_base64();
    assert_eq!(
        complete.element("ChecksumCRC32").as_deref(),
        Some(crc.as_str()),
        "K5 full object"
    );
    let etag = complete.element("ETag").unwrap().replace("&quot;", "\"");
    assert!(etag.ends_with("-2\""), "E1: multipart ETag {etag}");
    let get = alice
        .send(TestRequest::get("/bkt/big").header("x-amz-checksum-mode", "ENABLED"))
        .await;
    assert_eq!(get.body, whole);
    assert_eq!(get.etag(), etag);
    assert_eq!(get.header("x-amz-checksum-crc32"), Some(crc.as_str()));

    let again = alice
        .send(TestRequest::post(
            &format!("/bkt/big?uploadId={upload_id}"),
            complete_xml(&listed),
        ))
        .await;
    assert_eq!(
        again.outcome(),
        (404, Some("NoSuchUpload".into())),
        "the upload ended"
    );

    let aborted = alice
        .send(TestRequest::new(http::Method::POST, "/bkt/gone?uploads"))
        .await;
    let aborted_id = aborted.element("UploadId").unwrap();
    let abort = alice
        .send(TestRequest::delete(&format!(
            "/bkt/gone?uploadId={aborted_id}"
        )))
        .await;
    assert_eq!(abort.status, 204);
    let uploads = alice.send(TestRequest::get("/bkt?uploads")).await;
    assert_eq!(uploads.elements("UploadId"), Vec::<String>::new());
    server.stop().await;
}

#[tokio::test]
async fn c6_i6_multipart_completion_is_conditional_and_idempotent() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    put(&alice, "/bkt/k", b"existing").await;
    let create = alice
        .send(TestRequest::new(http::Method::POST, "/bkt/k?uploads"))
        .await;
    let upload_id = create.element("UploadId").unwrap();
    let part = alice
        .send(TestRequest::put(
            &format!("/bkt/k?partNumber=1&uploadId={upload_id}"),
            "only part",
        ))
        .await;
    let listed = complete_xml(&[(1, part.etag())]);
    let complete = |key: &str| {
        TestRequest::post(&format!("/bkt/k?uploadId={upload_id}"), listed.clone())
            .header("if-none-match", "*")
            .header("idempotency-key", key)
    };
    let lost = alice.send(complete("complete-1")).await;
    assert_eq!(
        lost.status, 412,
        "C6: create-only completion over an existing key"
    );
    let replay = alice.send(complete("complete-1")).await;
    assert_eq!(replay.status, 412, "I7 replay");
    alice.send(TestRequest::delete("/bkt/k")).await;
    let won = alice.send(complete("complete-2")).await;
    assert_eq!(
        won.status,
        200,
        "the upload stayed open after the 412: {}",
        won.text()
    );
    let won_again = alice.send(complete("complete-2")).await;
    assert_eq!(
        won_again.status, 200,
        "I1: replayed, though the upload is gone"
    );
    assert_eq!(won_again.element("ETag"), won.element("ETag"));
    server.stop().await;
}

#[tokio::test]
async fn a1_presigned_get_and_wrong_credentials() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    put(&alice, "/bkt/shared", b"presigned content").await;

    #[allow(
        clippy::disallowed_methods,
        reason = "presigning with the clock the server reads"
    )]
    let now = std::time::SystemTime::now();
    let query = sigv4::presign(
        &http::Method::GET,
        "/bkt/shared",
        None,
        &alice.addr.to_string(),
        60,
        &SigningParams {
            credentials: &alice.credentials,
            region: support::REGION,
            time: now,
        },
    )
    .unwrap();
    let raw = format!(
        "GET /bkt/shared?{query} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        alice.addr
    );
    let presigned = support::send_raw(alice.addr, raw.as_bytes(), false, false).await;
    assert_eq!(presigned.status, 200, "{}", presigned.text());
    assert_eq!(presigned.body, b"presigned content");

    let tampered = raw.replace("/bkt/shared?", "/bkt/other?");
    let refused = support::send_raw(alice.addr, tampered.as_bytes(), false, false).await;
    assert_eq!(
        refused.outcome(),
        (403, Some("SignatureDoesNotMatch".into()))
    );

    let wrong_secret = server.client(("AKALICE", "not-the-secret"));
    let response = wrong_secret.send(TestRequest::get("/bkt/shared")).await;
    assert_eq!(
        response.outcome(),
        (403, Some("SignatureDoesNotMatch".into()))
    );
    let unknown = server.client(("AKNOBODY", "x"));
    let response = unknown.send(TestRequest::get("/bkt/shared")).await;
    assert_eq!(response.outcome(), (403, Some("InvalidAccessKeyId".into())));
    let skewed = alice
        .send(TestRequest::get("/bkt/shared").signing_offset_s(-16 * 60))
        .await;
    assert_eq!(skewed.outcome(), (403, Some("RequestTimeTooSkewed".into())));
    let anonymous = support::send_raw(
        alice.addr,
        format!(
            "GET /bkt/shared HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            alice.addr
        )
        .as_bytes(),
        false,
        false,
    )
    .await;
    assert_eq!(anonymous.outcome(), (403, Some("AccessDenied".into())));
    server.stop().await;
}

#[tokio::test]
async fn unknown_operations_answer_501_in_aws_xml() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    for request in [
        TestRequest::get("/bkt?acl"),
        TestRequest::put("/bkt?tagging", "<Tagging/>"),
        TestRequest::get("/bkt/k?torrent"),
        TestRequest::new(http::Method::POST, "/bkt"),
    ] {
        let response = alice.send(request.clone()).await;
        assert_eq!(
            response.outcome(),
            (501, Some("NotImplemented".into())),
            "{} {}",
            request.method,
            request.path
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn connections_are_kept_alive_across_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let mut stream = tokio::net::TcpStream::connect(alice.addr).await.unwrap();
    for i in 0..3 {
        let request = TestRequest::get("/bkt?list-type=2");
        let (headers, _) = alice.sign(&request);
        let head = String::from_utf8(alice.head(&request, &headers, 0))
            .unwrap()
            .replace("connection: close\r\n", "");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let read = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..read]);
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "request {i} on one connection: {text}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn expect_100_continue_is_honoured_and_a_refusal_comes_before_the_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let body = b"sent after 100 Continue".to_vec();

    let accepted = TestRequest::put("/bkt/k", body.clone()).header("expect", "100-continue");
    let (headers, _) = alice.sign(&accepted);
    let mut stream = tokio::net::TcpStream::connect(alice.addr).await.unwrap();
    stream
        .write_all(&alice.head(&accepted, &headers, body.len() as u64))
        .await
        .unwrap();
    let mut interim = vec![0u8; 64];
    let read = stream.read(&mut interim).await.unwrap();
    assert!(
        interim[..read].starts_with(b"HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&interim[..read])
    );
    stream.write_all(&body).await.unwrap();
    assert_eq!(support::read_response(&mut stream, false).await.status, 200);

    let wrong_secret = server.client(("AKALICE", "not-the-secret"));
    let refused = TestRequest::put("/bkt/k", body.clone()).header("expect", "100-continue");
    let (headers, _) = wrong_secret.sign(&refused);
    let mut stream = tokio::net::TcpStream::connect(alice.addr).await.unwrap();
    stream
        .write_all(&wrong_secret.head(&refused, &headers, body.len() as u64))
        .await
        .unwrap();
    let response = support::read_response(&mut stream, false).await;
    assert_eq!(
        response.outcome(),
        (403, Some("SignatureDoesNotMatch".into())),
        "refused without inviting the body"
    );
    assert_eq!(alice.send(TestRequest::get("/bkt/k")).await.body, body);
    server.stop().await;
}

#[tokio::test]
async fn i1_i3_a_connection_lost_mid_body_gives_its_claim_back() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    create_bucket(&alice, "bkt").await;
    let body = vec![b'x'; 64 * 1024];
    let request =
        TestRequest::put("/bkt/k", body.clone()).header("idempotency-key", "lost-mid-body");
    for _ in 0..3 {
        let (headers, _) = alice.sign(&request);
        let mut stream = tokio::net::TcpStream::connect(alice.addr).await.unwrap();
        stream
            .write_all(&alice.head(&request, &headers, body.len() as u64))
            .await
            .unwrap();
        stream.write_all(&body[..1000]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Gone without a word: the request's body can never complete.
        drop(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let retry = alice.send(request).await;
    assert_eq!(
        retry.status,
        200,
        "the abandoned attempts released their claim: {}",
        retry.text()
    );
    server.stop().await;
}
