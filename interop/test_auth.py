"""SPEC A1 (SigV4 header and presigned auth, 15-minute clock window) and
the part of A3 one key pair can check (an unknown principal learns nothing
about which keys exist)."""

from __future__ import annotations

import datetime
import urllib.error
import urllib.request

import botocore.auth
import pytest

from s3support import REQUEST_TIMEOUT_S, assert_absent, expect_error, rewritten_header, signed_header

BODY = b"authenticated contents"
NO_AUTH = pytest.mark.peer_deviation(moto="server mode does not check signatures unless IAM auth is set up")


@NO_AUTH
def test_a1_wrong_secret_is_403_signature_does_not_match_and_stores_nothing(endpoint, clients, s3, bucket):
    impostor = clients.new(secret_key=endpoint.secret_key + "x")
    with expect_error(403, "SignatureDoesNotMatch"):
        impostor.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert_absent(s3, bucket, "k")
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    with expect_error(403, "SignatureDoesNotMatch"):
        impostor.get_object(Bucket=bucket, Key="k")


@NO_AUTH
def test_a1_tampered_signed_header_is_403_signature_does_not_match(s3, bucket):
    with (
        signed_header(s3, "PutObject", "x-amz-meta-note", "signed value"),
        rewritten_header(s3, "PutObject", "x-amz-meta-note", "tampered value"),
        expect_error(403, "SignatureDoesNotMatch"),
    ):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert_absent(s3, bucket, "k")


@NO_AUTH
def test_a1_a3_unknown_access_key_is_403_alike_for_existing_and_missing_keys(clients, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exists", Body=BODY)
    stranger = clients.new(access_key="AKIDUNKNOWNPRINCIPAL", secret_key="not a secret anyone holds")
    codes = []
    for key in ("exists", "missing"):
        with expect_error(403, "InvalidAccessKeyId", "AccessDenied") as caught:
            stranger.get_object(Bucket=bucket, Key=key)
        codes.append(caught[0].response["Error"]["Code"])
    assert codes[0] == codes[1], "the answer reveals whether the key exists"


@pytest.fixture
def shifted_signing_clock(monkeypatch):
    """Makes botocore sign with the clock moved by the given offset."""
    real_now = botocore.auth.get_current_datetime

    def shift(offset: datetime.timedelta) -> None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now() + offset)

    return shift


@NO_AUTH
@pytest.mark.parametrize("offset_minutes", [-20, 20], ids=["signed_20_min_ago", "signed_20_min_ahead"])
def test_a1_request_signed_outside_15_minutes_is_403_request_time_too_skewed(
    s3, bucket, shifted_signing_clock, offset_minutes
):
    shifted_signing_clock(datetime.timedelta(minutes=offset_minutes))
    with expect_error(403, "RequestTimeTooSkewed"):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    shifted_signing_clock(datetime.timedelta(0))
    assert_absent(s3, bucket, "k")


def test_a1_request_signed_10_minutes_ago_is_accepted(s3, bucket, shifted_signing_clock):
    shifted_signing_clock(datetime.timedelta(minutes=-10))
    assert s3.put_object(Bucket=bucket, Key="k", Body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a1_presigned_get_url_works_without_credentials(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/k", Body=BODY)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/k"}, ExpiresIn=300)
    assert http_get(url) == (200, BODY)


@NO_AUTH
def test_a1_presigned_url_for_another_key_is_403(s3, bucket):
    for key in ("k", "other"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    status, body = http_get(url.replace(f"/{bucket}/k?", f"/{bucket}/other?"))
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body)


@NO_AUTH
def test_a1_expired_presigned_url_is_403(s3, bucket, shifted_signing_clock):
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    shifted_signing_clock(datetime.timedelta(hours=-2))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    status, body = http_get(url)
    assert status == 403 and b"AccessDenied" in body, (status, body)
