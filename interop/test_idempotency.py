"""SPEC I1-I3, I5-I7 on the S3 API: the Idempotency-Key header, sent the way
a client that knows it sends it (added before SigV4 signing, so it is among
SignedHeaders).

Idempotency keys are Lockwell's own extension: a peer that ignores the header
writes again on every retry, which these tests detect (each one fails against
moto, and is marked so)."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from s3support import (
    IDEMPOTENCY_KEY_HEADER,
    RawRequest,
    assert_absent,
    aws_chunked_trailer,
    expect_error,
    idempotency_key,
    multipart_etag,
    payload,
    quoted_md5,
    sent_headers,
    unsigned_header,
    upload_parts,
    wrong_checksum_b64,
)

IGNORES_KEYS = pytest.mark.peer_deviation(
    moto="no idempotency keys (a Lockwell extension): every retry writes again"
)

BODY = b"written once, acknowledged many times"
OTHER = b"written by someone else in between"


def signed_header_names(headers: dict[str, str]) -> list[str]:
    """The SignedHeaders list of a SigV4 Authorization header."""
    return headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


def idempotent_put(s3, bucket, key, idem_key, body, **args):
    with idempotency_key(s3, "PutObject", idem_key), sent_headers(s3, "PutObject") as sent:
        result = s3.put_object(Bucket=bucket, Key=key, Body=body, **args)
    assert sent[0]["idempotency-key"] == idem_key
    assert "idempotency-key" in signed_header_names(sent[0]), "the key was not signed (I5)"
    return result


@IGNORES_KEYS
def test_i1_replay_returns_the_original_etag_without_writing_again(s3, bucket):
    first = idempotent_put(s3, bucket, "k", "op-1", BODY)
    other = s3.put_object(Bucket=bucket, Key="k", Body=OTHER)
    replay = idempotent_put(s3, bucket, "k", "op-1", BODY)
    assert replay["ETag"] == first["ETag"] == quoted_md5(BODY)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ETag"], got["Body"].read()) == (other["ETag"], OTHER), "the replay wrote again"


@IGNORES_KEYS
def test_i2_same_key_different_payload_is_422_and_writes_nothing(s3, bucket):
    first = idempotent_put(s3, bucket, "k", "op-1", BODY)
    with expect_error(422, "IdempotencyKeyMismatch"):
        idempotent_put(s3, bucket, "k", "op-1", BODY + b" but different")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ETag"], got["Body"].read()) == (first["ETag"], BODY)


@IGNORES_KEYS
def test_i2_same_key_different_conditionals_is_422(s3, bucket):
    idempotent_put(s3, bucket, "k", "op-1", BODY)
    with expect_error(422, "IdempotencyKeyMismatch"):
        idempotent_put(s3, bucket, "k", "op-1", BODY, IfNoneMatch="*")


@IGNORES_KEYS
def test_i7_failed_create_replays_as_412_even_after_the_key_is_gone(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=OTHER)
    with expect_error(412, "PreconditionFailed"):
        idempotent_put(s3, bucket, "k", "create-1", BODY, IfNoneMatch="*")
    s3.delete_object(Bucket=bucket, Key="k")
    with expect_error(412, "PreconditionFailed"):
        idempotent_put(s3, bucket, "k", "create-1", BODY, IfNoneMatch="*")
    assert_absent(s3, bucket, "k")


@IGNORES_KEYS
def test_i7_won_create_replays_as_success_never_412(s3, bucket):
    won = idempotent_put(s3, bucket, "k", "create-1", BODY, IfNoneMatch="*")
    replay = idempotent_put(s3, bucket, "k", "create-1", BODY, IfNoneMatch="*")
    assert replay["ETag"] == won["ETag"]


@pytest.mark.peer_deviation(moto="stores the object although x-amz-checksum-sha256 does not match (K2)")
def test_i1_c4_a_request_that_failed_its_digest_leaves_no_record(s3, bucket):
    """A BadDigest attempt stores nothing, not even an idempotency record:
    the corrected retry under the same key is a first write."""
    with expect_error(400, "BadDigest"):
        idempotent_put(s3, bucket, "k", "op-1", BODY, ChecksumSHA256=wrong_checksum_b64("SHA256", BODY))
    assert_absent(s3, bucket, "k")
    written = idempotent_put(s3, bucket, "k", "op-1", BODY)
    assert written["ETag"] == quoted_md5(BODY)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY


# (case, key, accepted?) SPEC I1: 1..255 visible ASCII characters.
KEY_SHAPES = [
    ("longest_255", "k" * 255, True),
    ("visible_punctuation", "order-42/retry:1~!", True),
    ("too_long_256", "k" * 256, False),
    ("contains_space", "two words", False),
]


@pytest.mark.parametrize(
    "idem_key,accepted",
    [pytest.param(*case[1:], id=case[0], marks=[] if case[2] else [IGNORES_KEYS]) for case in KEY_SHAPES],
)
def test_i1_idempotency_key_must_be_1_to_255_visible_ascii(s3, bucket, idem_key, accepted):
    if accepted:
        assert idempotent_put(s3, bucket, "k", idem_key, BODY)["ETag"] == quoted_md5(BODY)
    else:
        with expect_error(400):
            idempotent_put(s3, bucket, "k", idem_key, BODY)
        assert_absent(s3, bucket, "k")


@pytest.mark.signing
@IGNORES_KEYS
def test_i5_idempotency_key_outside_the_signed_headers_is_400(s3, bucket):
    with (
        unsigned_header(s3, "PutObject", IDEMPOTENCY_KEY_HEADER, "op-1"),
        sent_headers(s3, "PutObject") as sent,
        expect_error(400),
    ):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert sent[0]["idempotency-key"] == "op-1"
    assert "idempotency-key" not in signed_header_names(sent[0])
    assert_absent(s3, bucket, "k")


@pytest.mark.signing
@IGNORES_KEYS
def test_i5_unsigned_payload_with_key_and_checksum_header_is_idempotent(clients, bucket):
    """UNSIGNED-PAYLOAD plus an explicit checksum header (botocore's default
    CRC32) is the payload proof instead of the signed SHA-256."""
    s3 = clients.new(s3={"addressing_style": "path", "payload_signing_enabled": False})
    with sent_headers(s3, "PutObject") as sent:
        first = idempotent_put(s3, bucket, "k", "op-1", BODY)
    s3.put_object(Bucket=bucket, Key="k", Body=OTHER)
    replay = idempotent_put(s3, bucket, "k", "op-1", BODY)
    assert sent[0]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-checksum-crc32" in sent[0]
    assert replay["ETag"] == first["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == OTHER, "the replay wrote again"


@IGNORES_KEYS
def test_i5_unsigned_payload_with_key_and_no_checksum_is_400(clients, bucket):
    s3 = clients.new(
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        request_checksum_calculation="when_required",
    )
    with sent_headers(s3, "PutObject") as sent, expect_error(400):
        idempotent_put(s3, bucket, "k", "op-1", BODY)
    assert sent[0]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert not any(name.startswith("x-amz-checksum-") for name in sent[0])
    assert_absent(s3, bucket, "k")


@pytest.mark.signing
@IGNORES_KEYS
def test_i6_aws_chunked_streaming_upload_with_key_is_400(s3, bucket):
    with aws_chunked_trailer(s3) as sent, expect_error(400):
        idempotent_put(s3, bucket, "k", "op-1", BODY)
    assert sent[0]["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert_absent(s3, bucket, "k")


@IGNORES_KEYS
def test_i6_complete_multipart_upload_accepts_a_key_and_replays(s3, bucket):
    parts = [b"part one of a multipart upload"]
    upload_id, completed = upload_parts(s3, bucket, "k", parts)

    def complete():
        with idempotency_key(s3, "CompleteMultipartUpload", "complete-1"):
            return s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": completed}
            )

    first = complete()
    assert first["ETag"] == multipart_etag(parts)
    s3.put_object(Bucket=bucket, Key="k", Body=OTHER)
    assert complete()["ETag"] == first["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == OTHER, "the replay completed again"


#: How long the second request may take to answer 409 while the first is
#: stalled; a server that waits for the first instead answers after it.
IN_FLIGHT_ANSWER_WAIT_S = 1.0
#: A head start for the first request's headers, so that the server claims
#: its key before the second arrives. Nothing signals the claim, so on a
#: loaded machine the second may still claim first: the test accepts that
#: order too (see below).
FIRST_CLAIM_HEAD_START_S = 0.2


@pytest.mark.signing
@IGNORES_KEYS
def test_i3_same_key_while_the_first_is_in_flight_is_409_or_waits_never_a_second_write(endpoint, s3, bucket):
    """The first request stalls half way through its body. The second, with
    the same key and payload, must get 409 IdempotencyKeyInFlight, or wait for
    the first and replay its result. A plain write from someone else lands in
    between; the final object shows whether both keyed requests wrote."""
    body = payload(256 * 1024, seed=5)
    headers = {IDEMPOTENCY_KEY_HEADER: "op-1"}
    first = RawRequest(endpoint, "PUT", bucket, "k", headers=headers, body=body)
    second = RawRequest(endpoint, "PUT", bucket, "k", headers=headers, body=body)
    first.start(first_bytes=len(body) // 2)
    time.sleep(FIRST_CLAIM_HEAD_START_S)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        second_answer = pool.submit(second.send)
        try:
            early = second_answer.result(timeout=IN_FLIGHT_ANSWER_WAIT_S)
        except concurrent.futures.TimeoutError:
            early = None
        s3.put_object(Bucket=bucket, Key="k", Body=OTHER)
        first_answer = first.finish()
        late = second_answer.result()

    # Usually the first claims the key and the second gets 409 or waits.
    # If the server saw the second's headers first, the second claims the
    # key and commits at once (its whole body was sent), and the first, in
    # flight against it, gets 409 or replays the second's result.
    second_claimed_first = early is not None and early.status == 200
    assert first_answer.status in ((200, 409) if second_claimed_first else (200,)), (
        first_answer.status,
        first_answer.body,
    )
    for answer in (first_answer, late):
        assert answer.status in (200, 409), (answer.status, answer.body)
        if answer.status == 409:
            assert answer.error_code() == "IdempotencyKeyInFlight"
        else:
            assert answer.header("etag") == quoted_md5(body)
    final = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    if early is not None and early.status == 200:
        # The second request committed first, so the first must have replayed
        # it: writing again would have overwritten the write in between.
        assert final == OTHER, "both keyed requests wrote"
    else:
        assert final == body
