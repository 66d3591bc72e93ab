"""SPEC K1-K5: flexible checksums, verified before commit (a mismatch stores
nothing), aws-chunked uploads with trailing checksums, and the multipart
checksum rules. Expected values are computed here (zlib, awscrt, hashlib),
never taken from botocore's own checksum code or from the server."""

from __future__ import annotations

import base64
import hashlib

import pytest

from s3support import (
    MIN_PART_SIZE_BYTES,
    RawRequest,
    assert_absent,
    aws_chunked_body,
    aws_chunked_trailer,
    checksum_b64,
    composite_checksum_b64,
    expect_error,
    payload,
    quoted_md5,
    upload_parts,
    wrong_checksum_b64,
)

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
BODY = b"checksummed contents\n" * 100
STORES_BAD_DIGESTS = pytest.mark.peer_deviation(
    moto="stores the object although the supplied checksum does not match (the peer bug K2 names)"
)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_k1_k4_put_with_checksum_algorithm_returns_it_on_put_get_and_head(s3, bucket, algorithm):
    expected = checksum_b64(algorithm, BODY)
    put = s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == expected
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == expected
    assert got["Body"].read() == BODY
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected


@STORES_BAD_DIGESTS
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_k2_put_with_wrong_checksum_is_400_bad_digest_and_stores_nothing(s3, bucket, algorithm):
    with expect_error(400, "BadDigest"):
        s3.put_object(
            Bucket=bucket, Key="k", Body=BODY, **{f"Checksum{algorithm}": wrong_checksum_b64(algorithm, BODY)}
        )
    assert_absent(s3, bucket, "k")


@STORES_BAD_DIGESTS
def test_k2_wrong_checksum_on_existing_key_leaves_the_old_object(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    with expect_error(400, "BadDigest"):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY, ChecksumSHA256=wrong_checksum_b64("SHA256", BODY))
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ETag"], got["Body"].read()) == (etag, b"old")


def test_k2_put_with_matching_content_md5_is_stored(s3, bucket):
    content_md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    assert s3.put_object(Bucket=bucket, Key="k", Body=BODY, ContentMD5=content_md5)["ETag"] == quoted_md5(
        BODY
    )


# (case, Content-MD5 value, expected error code)
BAD_CONTENT_MD5 = [
    ("md5_of_other_bytes", base64.b64encode(hashlib.md5(b"other").digest()).decode(), "BadDigest"),
    ("not_base64", "definitely not base64!", "InvalidDigest"),
    ("base64_of_wrong_length", base64.b64encode(b"short").decode(), "InvalidDigest"),
]


@pytest.mark.peer_deviation(moto="stores the object whatever Content-MD5 says")
@pytest.mark.parametrize(
    "content_md5,code", [case[1:] for case in BAD_CONTENT_MD5], ids=[case[0] for case in BAD_CONTENT_MD5]
)
def test_k2_put_with_bad_content_md5_is_400_and_stores_nothing(s3, bucket, content_md5, code):
    with expect_error(400, code):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY, ContentMD5=content_md5)
    assert_absent(s3, bucket, "k")


# ---------------------------------------------------------------- K3 aws-chunked


@pytest.mark.signing
@pytest.mark.parametrize("algorithm", ["CRC32", "CRC64NVME", "SHA256"])
def test_k3_botocore_aws_chunked_upload_with_trailing_checksum_is_decoded(s3, bucket, algorithm):
    body = payload(3 * 1024 * 1024 + 17, seed=6)  # several of botocore's 1 MiB chunks
    with aws_chunked_trailer(s3) as sent:
        put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    headers = sent[0]
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["content-encoding"] == "aws-chunked"
    assert headers["x-amz-trailer"] == f"x-amz-checksum-{algorithm.lower()}"
    assert headers["x-amz-decoded-content-length"] == str(len(body))
    assert put["ETag"] == quoted_md5(body)
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ContentLength"] == len(body)
    assert got[f"Checksum{algorithm}"] == checksum_b64(algorithm, body)
    assert "aws-chunked" not in got.get("ContentEncoding", ""), "the transfer encoding was stored"


CHUNK_SIZE_BYTES = 64 * 1024


def raw_aws_chunked_put(endpoint, bucket, key, body, trailer_value):
    encoded = aws_chunked_body(body, CHUNK_SIZE_BYTES, "x-amz-checksum-crc32", trailer_value)
    return RawRequest(
        endpoint,
        "PUT",
        bucket,
        key,
        headers={
            "Content-Encoding": "aws-chunked",
            "X-Amz-Trailer": "x-amz-checksum-crc32",
            "X-Amz-Decoded-Content-Length": str(len(body)),
            "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
        },
        body=encoded,
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    ).send()


@pytest.mark.signing
def test_k3_aws_chunked_with_content_length_framing_and_correct_trailer_is_stored(endpoint, s3, bucket):
    """The same encoding framed by Content-Length instead of HTTP chunked
    transfer encoding (as other SDKs send it)."""
    body = payload(200 * 1024, seed=7)
    answer = raw_aws_chunked_put(endpoint, bucket, "k", body, checksum_b64("CRC32", body))
    assert answer.status == 200, answer.body
    assert answer.header("etag") == quoted_md5(body)
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (got["Body"].read(), got["ChecksumCRC32"]) == (body, checksum_b64("CRC32", body))


@pytest.mark.signing
@STORES_BAD_DIGESTS
def test_k2_k3_aws_chunked_with_wrong_trailing_checksum_is_400_bad_digest_and_stores_nothing(
    endpoint, s3, bucket
):
    body = payload(200 * 1024, seed=8)
    answer = raw_aws_chunked_put(endpoint, bucket, "k", body, wrong_checksum_b64("CRC32", body))
    assert (answer.status, answer.error_code()) == (400, "BadDigest"), answer.body
    assert_absent(s3, bucket, "k")


# ---------------------------------------------------------------- K5 multipart

MULTIPART_PARTS = [payload(MIN_PART_SIZE_BYTES, seed=9), payload(100 * 1024, seed=10)]

# (algorithm, ChecksumType at create, the object's checksum after complete)
MULTIPART_CHECKSUM_RULES = [
    ("CRC64NVME", "FULL_OBJECT", checksum_b64("CRC64NVME", b"".join(MULTIPART_PARTS))),
    ("CRC32", "FULL_OBJECT", checksum_b64("CRC32", b"".join(MULTIPART_PARTS))),
    ("SHA256", "COMPOSITE", composite_checksum_b64("SHA256", MULTIPART_PARTS)),
]


@pytest.mark.peer_deviation(moto="CompleteMultipartUpload returns no object checksum")
@pytest.mark.parametrize(
    "algorithm,checksum_type,expected",
    MULTIPART_CHECKSUM_RULES,
    ids=[f"{rule[0]}-{rule[1]}" for rule in MULTIPART_CHECKSUM_RULES],
)
def test_k5_multipart_checksum_is_full_object_for_crc_and_composite_for_sha(
    s3, bucket, algorithm, checksum_type, expected
):
    upload_id, completed = upload_parts(
        s3, bucket, "k", MULTIPART_PARTS, ChecksumAlgorithm=algorithm, ChecksumType=checksum_type
    )
    for part, entry in zip(MULTIPART_PARTS, completed, strict=True):
        assert entry[f"Checksum{algorithm}"] == checksum_b64(algorithm, part), "K5: per-part checksum"
    result = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": completed}
    )
    assert result[f"Checksum{algorithm}"] == expected
    assert result["ChecksumType"] == checksum_type
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head[f"Checksum{algorithm}"], head["ChecksumType"]) == (expected, checksum_type)


@STORES_BAD_DIGESTS
def test_k5_upload_part_with_wrong_checksum_is_400_bad_digest(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")["UploadId"]
    part = b"a part whose checksum is wrong"
    with expect_error(400, "BadDigest"):
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=part,
            ChecksumCRC32=wrong_checksum_b64("CRC32", part),
        )
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", [])
    assert parts == [], "the part with the wrong checksum was kept"


@pytest.mark.peer_deviation(
    moto="CompleteMultipartUpload does not verify the full-object checksum it is given"
)
def test_k5_complete_with_wrong_full_object_checksum_is_400_bad_digest_and_stores_nothing(s3, bucket):
    upload_id, completed = upload_parts(
        s3, bucket, "k", MULTIPART_PARTS, ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )
    with expect_error(400, "BadDigest"):
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": completed},
            ChecksumCRC64NVME=wrong_checksum_b64("CRC64NVME", b"".join(MULTIPART_PARTS)),
            ChecksumType="FULL_OBJECT",
        )
    assert_absent(s3, bucket, "k")
