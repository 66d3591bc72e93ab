//! Scenarios any S3 endpoint must pass with this client: run against
//! lockwell-server (`s3_conformance.rs`) and against moto
//! (`s3_moto.rs`), so that the client's SigV4 and XML handling are checked
//! against an implementation that is not ours. Each scenario uses its own
//! bucket and cleans up after itself.

use std::collections::BTreeMap;

use bytes::Bytes;
use lockwell_client::s3::types::{
    CompleteOptions, CopyOptions, CopySource, CreateMultipartOptions, DeleteOptions, DeleteTarget,
    GetOptions, ListObjectsV2Request, PutOptions,
};
use lockwell_client::{
    ByteRange, ChecksumAlgorithm, ETag, Error, IdempotencyKey, ReadConditions, S3Client,
    WriteCondition,
};

/// Parts other than the last must be at least 5 MiB on moto and AWS.
pub const PORTABLE_MIN_PART_SIZE_BYTES: usize = 5 * 1024 * 1024;

pub fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).expect("a valid idempotency key")
}

async fn create_bucket(client: &S3Client, bucket: &str) {
    client.create_bucket(bucket).await.expect("create bucket");
}

/// Deletes every object, then the bucket.
pub async fn remove_bucket(client: &S3Client, bucket: &str) {
    let listing = client
        .list_all_objects(bucket, &ListObjectsV2Request::default())
        .await
        .expect("list for cleanup");
    for object in listing.objects {
        client
            .delete_object(bucket, &object.key, &DeleteOptions::default())
            .await
            .expect("delete for cleanup");
    }
    client.delete_bucket(bucket).await.expect("delete bucket");
}

/// Buckets: create, head, list, a missing one is NotFound, a non-empty one
/// cannot be deleted (409).
pub async fn buckets(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    client.head_bucket(bucket).await.expect("head bucket");
    let buckets = client.list_buckets().await.expect("list buckets");
    assert!(
        buckets.iter().any(|info| info.name == bucket),
        "{buckets:?}"
    );
    let missing = client.head_bucket(&format!("{bucket}-missing")).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    client
        .put_object(bucket, "k", "x", &PutOptions::default())
        .await
        .expect("put");
    let not_empty = client.delete_bucket(bucket).await.unwrap_err();
    assert!(matches!(not_empty, Error::Conflict(_)), "{not_empty:?}");
    assert_eq!(not_empty.code(), Some("BucketNotEmpty"));
    remove_bucket(client, bucket).await;
}

/// E1, E2, E5, K1: put returns the MD5 ETag, reads return it with the
/// body, metadata and ranges; conditional reads answer 304/412.
pub async fn objects_round_trip(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    let body = Bytes::from_static(b"hello, conditional world");
    let options = PutOptions {
        content_type: Some("text/plain".into()),
        metadata: BTreeMap::from([("colour".to_string(), "blue".to_string())]),
        ..PutOptions::default()
    }
    .checksum(ChecksumAlgorithm::Crc32c);
    let key_name = "dir/a b+ü.txt";
    let put = client
        .put_object(bucket, key_name, body.clone(), &options)
        .await
        .expect("put");
    assert_eq!(put.etag, ETag::of_content(&body), "E1: the MD5 ETag");

    let got = client
        .get_object(bucket, key_name, &GetOptions::default())
        .await
        .expect("get");
    assert_eq!(got.body, body);
    assert_eq!(got.info.etag, put.etag, "E2");
    assert_eq!(got.info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        got.info.metadata.get("colour").map(String::as_str),
        Some("blue")
    );
    assert!(got.info.last_modified_ms.is_some());

    let head = client
        .head_object(bucket, key_name, &GetOptions::default())
        .await
        .expect("head");
    assert_eq!(
        (head.etag, head.content_len_bytes),
        (put.etag.clone(), body.len() as u64)
    );

    let range = client
        .get_object(
            bucket,
            key_name,
            &GetOptions {
                range: Some(ByteRange::Inclusive { start: 7, end: 17 }),
                ..GetOptions::default()
            },
        )
        .await
        .expect("range get");
    assert_eq!(range.body, body.slice(7..=17));
    assert_eq!(range.info.content_range.as_deref(), Some("bytes 7-17/24"));

    let unchanged = client
        .get_object(
            bucket,
            key_name,
            &GetOptions {
                conditions: ReadConditions {
                    if_none_match: Some(put.etag.clone()),
                    ..ReadConditions::default()
                },
                ..GetOptions::default()
            },
        )
        .await;
    assert!(
        matches!(unchanged, Err(Error::NotModified { .. })),
        "E5: {unchanged:?}"
    );
    let moved = client
        .head_object(
            bucket,
            key_name,
            &GetOptions {
                conditions: ReadConditions {
                    if_match: Some(ETag::of_content(b"something else")),
                    ..ReadConditions::default()
                },
                ..GetOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(moved.is_precondition_failed(), "E5: {moved:?}");

    let missing = client
        .get_object(bucket, "no such key", &GetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    assert_eq!(missing.code(), Some("NoSuchKey"));
    remove_bucket(client, bucket).await;
}

/// C1, C2: create-only and overwrite-only puts.
pub async fn conditional_puts(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    let create_only = PutOptions::default().condition(WriteCondition::IfAbsent);
    let first = client
        .put_object(bucket, "k", "v1", &create_only)
        .await
        .expect("C1: the first create wins");
    let lost = client
        .put_object(bucket, "k", "v2", &create_only)
        .await
        .unwrap_err();
    assert!(lost.is_precondition_failed(), "C1: {lost:?}");
    assert_eq!(lost.status(), Some(412));

    let overwrite = client
        .put_object(
            bucket,
            "k",
            "v2",
            &PutOptions::default().condition(WriteCondition::IfMatch(first.etag.clone())),
        )
        .await
        .expect("C2: the matching ETag overwrites");
    assert_eq!(overwrite.etag, ETag::of_content(b"v2"));
    let stale = client
        .put_object(
            bucket,
            "k",
            "v3",
            &PutOptions::default().condition(WriteCondition::IfMatch(first.etag)),
        )
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed(), "C2: {stale:?}");
    let got = client
        .get_object(bucket, "k", &GetOptions::default())
        .await
        .expect("get");
    assert_eq!(
        got.body,
        Bytes::from_static(b"v2"),
        "C4: 412s stored nothing"
    );
    remove_bucket(client, bucket).await;
}

/// ListObjectsV2: pages, prefixes, delimiters, awkward keys.
pub async fn listing(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    // In UTF-8 byte order, the order S3 lists in.
    let keys = ["a/1", "a/2", "a/b/3", "c d", "z", "é/ü"];
    for key in keys {
        client
            .put_object(bucket, key, key.to_string(), &PutOptions::default())
            .await
            .expect("put");
    }
    let page = client
        .list_objects_v2(
            bucket,
            &ListObjectsV2Request {
                max_keys: Some(2),
                ..ListObjectsV2Request::default()
            },
        )
        .await
        .expect("first page");
    assert_eq!(page.objects.len(), 2);
    assert!(page.next_continuation_token.is_some());
    let all = client
        .list_all_objects(
            bucket,
            &ListObjectsV2Request {
                max_keys: Some(2),
                ..ListObjectsV2Request::default()
            },
        )
        .await
        .expect("every page");
    let listed: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, keys);
    assert!(listed.is_sorted());
    assert_eq!(all.objects[3].etag, ETag::of_content(b"c d"));
    assert_eq!(all.objects[3].size_bytes, 3);

    let grouped = client
        .list_objects_v2(
            bucket,
            &ListObjectsV2Request {
                prefix: Some("a/".into()),
                delimiter: Some("/".into()),
                ..ListObjectsV2Request::default()
            },
        )
        .await
        .expect("grouped");
    let listed: Vec<&str> = grouped.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed, ["a/1", "a/2"]);
    assert_eq!(grouped.common_prefixes, ["a/b/"]);
    remove_bucket(client, bucket).await;
}

/// CopyObject returns the copy's ETag (E2) and honours a source
/// condition (C8: `x-amz-copy-source-if-none-match`, the one moto
/// implements).
pub async fn copies(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    let source = client
        .put_object(bucket, "src key", "payload", &PutOptions::default())
        .await
        .expect("put");
    let source_ref = CopySource {
        bucket,
        key: "src key",
    };
    let copied = client
        .copy_object(&source_ref, bucket, "dst/key", &CopyOptions::default())
        .await
        .expect("copy");
    assert_eq!(copied.etag, source.etag, "E2: a copy has the source's ETag");
    let got = client
        .get_object(bucket, "dst/key", &GetOptions::default())
        .await
        .expect("get copy");
    assert_eq!(got.body, Bytes::from_static(b"payload"));

    let stale_source = client
        .copy_object(
            &source_ref,
            bucket,
            "dst/other",
            &CopyOptions {
                source_conditions: ReadConditions {
                    if_none_match: Some(source.etag.clone()),
                    ..ReadConditions::default()
                },
                ..CopyOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        stale_source.is_precondition_failed(),
        "C8: {stale_source:?}"
    );
    remove_bucket(client, bucket).await;
}

/// DeleteObject and DeleteObjects.
pub async fn deletes(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    for key in ["a", "b", "c"] {
        client
            .put_object(bucket, key, key, &PutOptions::default())
            .await
            .expect("put");
    }
    client
        .delete_object(bucket, "a", &DeleteOptions::default())
        .await
        .expect("delete");
    client
        .delete_object(bucket, "a", &DeleteOptions::default())
        .await
        .expect("deleting an absent key succeeds, as S3");
    let output = client
        .delete_objects(
            bucket,
            &[
                DeleteTarget {
                    key: "b".into(),
                    if_match: None,
                },
                DeleteTarget {
                    key: "c".into(),
                    if_match: None,
                },
            ],
            false,
        )
        .await
        .expect("delete objects");
    assert_eq!(output.deleted, ["b", "c"]);
    assert!(output.errors.is_empty(), "{output:?}");
    let left = client
        .list_all_objects(bucket, &ListObjectsV2Request::default())
        .await
        .expect("list");
    assert!(left.objects.is_empty(), "{left:?}");
    remove_bucket(client, bucket).await;
}

/// A multipart upload with per-part checksums, completed with an
/// idempotency key (I6) and a create-only condition (C6); an aborted one
/// leaves nothing.
pub async fn multipart(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    let upload = client
        .create_multipart_upload(
            bucket,
            "big",
            &CreateMultipartOptions {
                checksum: Some(ChecksumAlgorithm::Crc32),
                ..CreateMultipartOptions::default()
            },
        )
        .await
        .expect("create upload");
    let part_bodies = [
        Bytes::from(vec![b'a'; PORTABLE_MIN_PART_SIZE_BYTES]),
        Bytes::from_static(b"tail"),
    ];
    let mut parts = Vec::new();
    for (number, body) in (1..).zip(&part_bodies) {
        let part = client
            .upload_part(&upload, number, body.clone())
            .await
            .expect("upload part");
        assert_eq!(part.etag, ETag::of_content(body), "E1: a part's ETag");
        assert_eq!(
            part.checksum,
            Some(lockwell_core::checksum::digest(
                ChecksumAlgorithm::Crc32,
                body
            )),
            "K5: the part's checksum, for the complete"
        );
        parts.push(part);
    }
    let complete = client
        .complete_multipart_upload(
            &upload,
            &parts,
            &CompleteOptions {
                condition: Some(WriteCondition::IfAbsent),
                idempotency_key: Some(key("complete-big-1")),
            },
        )
        .await
        .expect("complete");
    let md5s: Vec<[u8; 16]> = part_bodies
        .iter()
        .map(|body| {
            let digest = lockwell_core::checksum::digest(ChecksumAlgorithm::Md5, body);
            digest.as_bytes().try_into().unwrap()
        })
        .collect();
    assert_eq!(
        complete.etag,
        ETag::multipart(&md5s).unwrap(),
        "E1: multipart ETag"
    );
    let head = client
        .head_object(bucket, "big", &GetOptions::default())
        .await
        .expect("head");
    assert_eq!(head.etag, complete.etag, "E2");
    assert_eq!(
        head.content_len_bytes,
        (PORTABLE_MIN_PART_SIZE_BYTES + 4) as u64
    );

    let aborted = client
        .create_multipart_upload(bucket, "gone", &CreateMultipartOptions::default())
        .await
        .expect("create upload");
    client
        .upload_part(&aborted, 1, "x")
        .await
        .expect("upload part");
    client
        .abort_multipart_upload(&aborted)
        .await
        .expect("abort");
    let missing = client
        .head_object(bucket, "gone", &GetOptions::default())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    remove_bucket(client, bucket).await;
}

/// K3: a streamed upload with a trailing checksum stores the bytes.
pub async fn streaming_put(client: &S3Client, bucket: &str) {
    create_bucket(client, bucket).await;
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let len_bytes = payload.len() as u64;
    let put = client
        .put_object_streaming(
            bucket,
            "streamed",
            std::io::Cursor::new(payload.clone()),
            len_bytes,
            &PutOptions::default().checksum(ChecksumAlgorithm::Crc32c),
        )
        .await
        .expect("streaming put");
    assert_eq!(put.etag, ETag::of_content(&payload));
    let got = client
        .get_object(bucket, "streamed", &GetOptions::default())
        .await
        .expect("get");
    assert_eq!(got.body, Bytes::from(payload));
    remove_bucket(client, bucket).await;
}
