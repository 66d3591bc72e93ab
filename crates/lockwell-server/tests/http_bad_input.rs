//! SPEC B1: malformed requests, one table. Each gets its 4xx and its S3
//! error code; after all of them the server still serves, and nothing was
//! stored: the target bucket lists no object, the open upload has no part,
//! and no bucket was created.

mod support;

use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::chunked::{ChunkSignatures, ChunkedEncoder};
use lockwell_proto::sigv4::{ContentSha256, StreamingContext};
use support::{ALICE, Client, TestRequest, TestServer};

const BODY: &[u8] = b"a body that must never be stored";

/// How a case reaches the server.
enum Input {
    /// Signed by the test client and sent as is.
    Signed(TestRequest),
    /// Signed, then this aws-chunked body (built from the signature's
    /// streaming context) after the head.
    Chunked(TestRequest, fn(&StreamingContext) -> Vec<u8>),
    /// Signed, then one header line of the head rewritten: what a proxy
    /// or an attacker changes after signing.
    Tampered(TestRequest, &'static str, &'static str),
    /// Bytes on the wire, no signing.
    Raw(String),
}

struct Case {
    name: &'static str,
    input: Input,
    status: u16,
    code: &'static str,
}

fn case(name: &'static str, input: Input, status: u16, code: &'static str) -> Case {
    Case {
        name,
        input,
        status,
        code,
    }
}

/// An aws-chunked upload of BODY to the target bucket, unsigned chunks and
/// a CRC32 trailer, declaring `decoded_len` payload bytes.
fn chunked_put(decoded_len: usize) -> TestRequest {
    TestRequest::put("/target/chunked", Vec::new())
        .payload(ContentSha256::StreamingUnsignedTrailer)
        .header("content-encoding", "aws-chunked")
        .header("x-amz-trailer", "x-amz-checksum-crc32")
        .header("x-amz-decoded-content-length", decoded_len.to_string())
}

fn unsigned_chunks(trailer_of: &[u8]) -> Vec<u8> {
    let mut encoder = ChunkedEncoder::new(ChunkSignatures::Unsigned);
    let mut out = Vec::new();
    encoder.encode_chunk(BODY, &mut out);
    encoder
        .finish(
            Some(&digest(ChecksumAlgorithm::Crc32, trailer_of)),
            &mut out,
        )
        .unwrap();
    out
}

fn correct_chunks(_: &StreamingContext) -> Vec<u8> {
    unsigned_chunks(BODY)
}

fn wrong_trailer_chunks(_: &StreamingContext) -> Vec<u8> {
    unsigned_chunks(b"something else")
}

fn non_hex_chunk_size(_: &StreamingContext) -> Vec<u8> {
    b"zz\r\nabc\r\n0\r\n\r\n".to_vec()
}

fn chunk_without_crlf(_: &StreamingContext) -> Vec<u8> {
    b"3\r\nabcXY0\r\n\r\n".to_vec()
}

fn framing_cut_short(_: &StreamingContext) -> Vec<u8> {
    let mut chunks = unsigned_chunks(BODY);
    chunks.truncate(chunks.len() / 2);
    chunks
}

/// Signed chunks whose signatures chain from a different seed.
fn forged_chunk_signatures(context: &StreamingContext) -> Vec<u8> {
    let forged = StreamingContext::new(
        lockwell_proto::sigv4::SigningKey::derive(
            &lockwell_proto::sigv4::SecretKey::new("not the secret"),
            "20200101",
            support::REGION,
            "s3",
        ),
        "20200101T000000Z".into(),
        "20200101/us-east-1/s3/aws4_request".into(),
        context.seed_signature(),
    );
    let mut encoder = ChunkedEncoder::new(ChunkSignatures::Signed(forged));
    let mut out = Vec::new();
    encoder.encode_chunk(BODY, &mut out);
    encoder.finish(None, &mut out).unwrap();
    out
}

fn delete_xml(keys: usize) -> String {
    let objects: String = (0..keys)
        .map(|i| format!("<Object><Key>k{i}</Key></Object>"))
        .collect();
    format!("<Delete>{objects}</Delete>")
}

fn cases(upload_id: &str, addr: &str) -> Vec<Case> {
    use Input::{Chunked, Raw, Signed, Tampered};
    let put = || TestRequest::put("/target/k", BODY);
    let part = |number: &str| {
        TestRequest::put(
            &format!("/target/mp?partNumber={number}&uploadId={upload_id}"),
            BODY,
        )
    };
    let crc32 = digest(ChecksumAlgorithm::Crc32, BODY).to_base64();
    let md5_of_other = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(digest(ChecksumAlgorithm::Md5, b"other").as_bytes())
    };
    let anonymous =
        |line: &str| format!("{line} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    vec![
        // XML bodies.
        case(
            "DeleteObjects body is not XML",
            Signed(TestRequest::post("/target?delete", "<Delete><Object>")),
            400,
            "MalformedXML",
        ),
        case(
            "DeleteObjects with another root",
            Signed(TestRequest::post("/target?delete", "<Remove/>")),
            400,
            "MalformedXML",
        ),
        case(
            "DeleteObjects of 1001 keys",
            Signed(TestRequest::post("/target?delete", delete_xml(1001))),
            400,
            "MalformedXML",
        ),
        case(
            "CreateBucket configuration is not XML",
            Signed(TestRequest::put(
                "/bad-xml-bucket",
                "<CreateBucketConfiguration>",
            )),
            400,
            "MalformedXML",
        ),
        case(
            "CompleteMultipartUpload body is not XML",
            Signed(TestRequest::post(
                &format!("/target/mp?uploadId={upload_id}"),
                "not xml",
            )),
            400,
            "MalformedXML",
        ),
        case(
            "CompleteMultipartUpload parts out of order",
            Signed(TestRequest::post(
                &format!("/target/mp?uploadId={upload_id}"),
                "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>\"a\"</ETag></Part>\
                 <Part><PartNumber>1</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>",
            )),
            400,
            "InvalidPartOrder",
        ),
        // aws-chunked framing (K3).
        case(
            "chunk size is not hex",
            Chunked(chunked_put(3), non_hex_chunk_size),
            400,
            "InvalidRequest",
        ),
        case(
            "chunk data not followed by CRLF",
            Chunked(chunked_put(3), chunk_without_crlf),
            400,
            "InvalidRequest",
        ),
        case(
            "framing cut short",
            Chunked(chunked_put(BODY.len()), framing_cut_short),
            400,
            "IncompleteBody",
        ),
        case(
            "decoded length says more",
            Chunked(chunked_put(BODY.len() + 1), correct_chunks),
            400,
            "IncompleteBody",
        ),
        case(
            "decoded length says less",
            Chunked(chunked_put(BODY.len() - 1), correct_chunks),
            400,
            "IncompleteBody",
        ),
        case(
            "wrong trailing checksum",
            Chunked(chunked_put(BODY.len()), wrong_trailer_chunks),
            400,
            "BadDigest",
        ),
        case(
            "aws-chunked without a decoded length",
            Chunked(
                TestRequest::put("/target/chunked", Vec::new())
                    .payload(ContentSha256::StreamingUnsignedTrailer)
                    .header("content-encoding", "aws-chunked")
                    .header("x-amz-trailer", "x-amz-checksum-crc32"),
                correct_chunks,
            ),
            411,
            "MissingContentLength",
        ),
        case(
            "forged chunk signatures",
            Chunked(
                TestRequest::put("/target/chunked", Vec::new())
                    .payload(ContentSha256::StreamingSigned)
                    .header("content-encoding", "aws-chunked")
                    .header("x-amz-decoded-content-length", BODY.len().to_string()),
                forged_chunk_signatures,
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        case(
            "I6: aws-chunked with an Idempotency-Key",
            Chunked(
                chunked_put(BODY.len()).header("idempotency-key", "op"),
                correct_chunks,
            ),
            400,
            "InvalidRequest",
        ),
        case(
            "x-amz-trailer on a plain body",
            Signed(put().header("x-amz-trailer", "x-amz-checksum-crc32")),
            400,
            "InvalidRequest",
        ),
        // Digests (K1, K2).
        case(
            "Content-MD5 is not base64",
            Signed(put().header("content-md5", "not*base64")),
            400,
            "InvalidDigest",
        ),
        case(
            "Content-MD5 of 10 bytes",
            Signed(put().header("content-md5", "AAAAAAAAAAAAAA==")),
            400,
            "InvalidDigest",
        ),
        case(
            "Content-MD5 of other bytes",
            Signed(put().header("content-md5", md5_of_other)),
            400,
            "BadDigest",
        ),
        case(
            "checksum is not base64",
            Signed(put().header("x-amz-checksum-crc32", "***")),
            400,
            "InvalidRequest",
        ),
        case(
            "checksum of the wrong length",
            Signed(put().header("x-amz-checksum-sha256", crc32.clone())),
            400,
            "InvalidRequest",
        ),
        case(
            "unknown checksum algorithm",
            Signed(put().header("x-amz-checksum-md7", crc32.clone())),
            400,
            "InvalidRequest",
        ),
        case(
            "unknown SDK checksum algorithm",
            Signed(put().header("x-amz-sdk-checksum-algorithm", "ADLER32")),
            400,
            "InvalidRequest",
        ),
        case(
            "two checksum headers",
            Signed(
                put()
                    .checksum(ChecksumAlgorithm::Crc32)
                    .checksum(ChecksumAlgorithm::Sha1),
            ),
            400,
            "InvalidRequest",
        ),
        case(
            "checksum of other bytes",
            Signed(put().header(
                "x-amz-checksum-crc32",
                digest(ChecksumAlgorithm::Crc32, b"x").to_base64(),
            )),
            400,
            "BadDigest",
        ),
        case(
            "signed SHA-256 of other bytes",
            Signed(put().payload(ContentSha256::Sha256([7; 32]))),
            400,
            "XAmzContentSHA256Mismatch",
        ),
        // Lengths and sizes.
        case(
            "header section over 8 KiB",
            Signed(put().header("x-pad", "p".repeat(9000))),
            400,
            "RequestHeaderSectionTooLarge",
        ),
        case(
            "user metadata over 2 KiB",
            Signed(put().header("x-amz-meta-big", "m".repeat(2100))),
            400,
            "MetadataTooLarge",
        ),
        case(
            "key of 1025 bytes",
            Signed(TestRequest::put(
                &format!("/target/{}", "k".repeat(1025)),
                BODY,
            )),
            400,
            "KeyTooLongError",
        ),
        case(
            "bucket name with capitals",
            Signed(TestRequest::put("/Bad_Bucket", "")),
            400,
            "InvalidBucketName",
        ),
        case(
            "body shorter than Content-Length",
            Signed(put().content_length(BODY.len() as u64 + 10).half_close()),
            400,
            "IncompleteBody",
        ),
        case(
            "body shorter than Content-Length, never finished",
            Signed(
                put()
                    .payload(ContentSha256::Unsigned)
                    .content_length(BODY.len() as u64 + 10),
            ),
            400,
            "IncompleteBody",
        ),
        case(
            "body longer than Content-Length",
            Signed(put().content_length(BODY.len() as u64 - 4)),
            400,
            "XAmzContentSHA256Mismatch",
        ),
        case(
            "PutObject without Content-Length",
            Signed(
                put()
                    .payload(ContentSha256::Unsigned)
                    .without_content_length(),
            ),
            411,
            "MissingContentLength",
        ),
        case(
            "declared body over the limit",
            Signed(
                TestRequest::put("/target/k", Vec::new())
                    .payload(ContentSha256::Unsigned)
                    .content_length(1 << 40),
            ),
            400,
            "EntityTooLarge",
        ),
        // Multipart.
        case("part number 0", Signed(part("0")), 400, "InvalidArgument"),
        case(
            "part number 10001",
            Signed(part("10001")),
            400,
            "InvalidArgument",
        ),
        case(
            "part number not a number",
            Signed(part("one")),
            400,
            "InvalidArgument",
        ),
        case(
            "unknown upload id",
            Signed(TestRequest::put(
                "/target/mp?partNumber=1&uploadId=0123",
                BODY,
            )),
            404,
            "NoSuchUpload",
        ),
        case(
            "malformed copy-source range",
            Signed(
                TestRequest::put(&format!("/target/mp?partNumber=1&uploadId={upload_id}"), "")
                    .header("x-amz-copy-source", "/fixtures/obj")
                    .header("x-amz-copy-source-range", "bytes=5-"),
            ),
            400,
            "InvalidArgument",
        ),
        // Reads and listings.
        case(
            "range past the end",
            Signed(TestRequest::get("/fixtures/obj").header("range", "bytes=100-200")),
            416,
            "InvalidRange",
        ),
        case(
            "unknown encoding type",
            Signed(TestRequest::get("/target?encoding-type=base64")),
            400,
            "InvalidArgument",
        ),
        case(
            "list-type 3",
            Signed(TestRequest::get("/target?list-type=3")),
            400,
            "InvalidArgument",
        ),
        case(
            "max-keys not a number",
            Signed(TestRequest::get("/target?max-keys=many")),
            400,
            "InvalidArgument",
        ),
        case(
            "version id other than null",
            Signed(TestRequest::get("/fixtures/obj?versionId=v2")),
            400,
            "InvalidArgument",
        ),
        // Conditions and copies.
        case(
            "If-Match with an unbalanced quote",
            Signed(put().header("if-match", "\"abc")),
            400,
            "InvalidArgument",
        ),
        case(
            "copy source without a key",
            Signed(TestRequest::put("/target/copy", "").header("x-amz-copy-source", "fixtures")),
            400,
            "InvalidArgument",
        ),
        case(
            "unknown metadata directive",
            Signed(
                TestRequest::put("/target/copy", "")
                    .header("x-amz-copy-source", "/fixtures/obj")
                    .header("x-amz-metadata-directive", "MERGE"),
            ),
            400,
            "InvalidArgument",
        ),
        // Idempotency keys (I1, I5).
        case(
            "Idempotency-Key of 256 characters",
            Signed(put().header("idempotency-key", "i".repeat(256))),
            400,
            "InvalidArgument",
        ),
        case(
            "Idempotency-Key with a space",
            Signed(put().header("idempotency-key", "op 1")),
            400,
            "InvalidArgument",
        ),
        case(
            "Idempotency-Key outside the signature",
            Signed(put().unsigned_header("idempotency-key", "op-1")),
            400,
            "InvalidRequest",
        ),
        case(
            "Idempotency-Key with UNSIGNED-PAYLOAD and no checksum",
            Signed(
                put()
                    .payload(ContentSha256::Unsigned)
                    .header("idempotency-key", "op-2"),
            ),
            400,
            "InvalidRequest",
        ),
        // Authentication (A1).
        case(
            "a signed header changed after signing",
            Tampered(
                put().header("x-amz-meta-a", "1"),
                "x-amz-meta-a: 1",
                "x-amz-meta-a: 2",
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        case(
            "signed an hour ago",
            Signed(put().signing_offset_s(-3600)),
            403,
            "RequestTimeTooSkewed",
        ),
        case(
            "malformed Authorization",
            Raw(anonymous("PUT /target/k").replace(
                "connection:",
                "authorization: AWS4-HMAC-SHA256 garbage\r\nconnection:",
            )),
            400,
            "AuthorizationHeaderMalformed",
        ),
        case(
            "x-amz-content-sha256 is not a digest",
            Tampered(
                put().payload(ContentSha256::Unsigned),
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "x-amz-content-sha256: nonsense",
            ),
            400,
            "InvalidArgument",
        ),
        case(
            "no signature at all",
            Raw(anonymous("GET /target")),
            403,
            "AccessDenied",
        ),
        case(
            "unsupported method",
            Signed(TestRequest::new(http::Method::PATCH, "/target/k")),
            405,
            "MethodNotAllowed",
        ),
    ]
}

async fn send(client: &Client, input: Input) -> support::TestResponse {
    match input {
        Input::Signed(request) => client.send(request).await,
        Input::Chunked(request, body) => {
            let (headers, context) = client.sign(&request);
            let body = body(&context);
            let mut bytes = client.head(&request, &headers, body.len() as u64);
            bytes.extend_from_slice(&body);
            support::send_raw(client.addr, &bytes, false, false).await
        }
        Input::Tampered(request, from, to) => {
            let (headers, _) = client.sign(&request);
            let head =
                String::from_utf8(client.head(&request, &headers, request.body.len() as u64))
                    .expect("heads are ASCII");
            assert!(
                head.contains(from),
                "the head has no {from:?} to tamper with"
            );
            let mut bytes = head.replace(from, to).into_bytes();
            bytes.extend_from_slice(&request.body);
            support::send_raw(client.addr, &bytes, false, false).await
        }
        Input::Raw(text) => support::send_raw(client.addr, text.as_bytes(), false, false).await,
    }
}

#[tokio::test]
async fn b1_malformed_requests_get_their_4xx_and_change_nothing() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    for bucket in ["/target", "/fixtures"] {
        assert_eq!(alice.send(TestRequest::put(bucket, "")).await.status, 200);
    }
    assert_eq!(
        alice
            .send(TestRequest::put("/fixtures/obj", "0123456789"))
            .await
            .status,
        200
    );
    let upload = alice
        .send(TestRequest::new(http::Method::POST, "/target/mp?uploads"))
        .await;
    let upload_id = upload.element("UploadId").expect("an upload id");

    let cases = cases(&upload_id, &alice.addr.to_string());
    assert!(
        cases.len() >= 30,
        "SPEC B1 asks for at least 30 cases, the table has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let response = send(&alice, case.input).await;
        let got = (response.status, response.code().unwrap_or_default());
        if got != (case.status, case.code.to_string()) {
            failures.push(format!(
                "{}: expected {} {}, got {} {} ({})",
                case.name,
                case.status,
                case.code,
                got.0,
                got.1,
                response.element("Message").unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases answered wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let listing = alice.send(TestRequest::get("/target?list-type=2")).await;
    assert_eq!(listing.status, 200, "the server still serves");
    assert_eq!(
        listing.elements("Key"),
        Vec::<String>::new(),
        "nothing was stored"
    );
    let parts = alice
        .send(TestRequest::get(&format!(
            "/target/mp?uploadId={upload_id}"
        )))
        .await;
    assert_eq!(
        parts.elements("PartNumber"),
        Vec::<String>::new(),
        "no part was stored"
    );
    let buckets = alice.send(TestRequest::get("/")).await;
    assert_eq!(
        buckets.elements("Name"),
        ["fixtures", "target"],
        "no bucket was created"
    );
    let fine = alice.send(TestRequest::put("/target/k", BODY)).await;
    assert_eq!(fine.status, 200, "a well-formed write still succeeds");
    server.stop().await;
}

#[tokio::test]
async fn b1_a_request_head_past_hypers_limit_is_431_and_the_server_goes_on() {
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    let huge = format!(
        "GET /target HTTP/1.1\r\nhost: {}\r\nx-pad: {}\r\nconnection: close\r\n\r\n",
        alice.addr,
        "p".repeat(64 * 1024)
    );
    let response = support::send_raw(alice.addr, huge.as_bytes(), false, false).await;
    assert_eq!(response.status, 431);
    assert_eq!(alice.send(TestRequest::get("/")).await.status, 200);
    server.stop().await;
}
