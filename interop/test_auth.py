"""SPEC A1 (SigV4 header and presigned auth, 15-minute clock window) and
the part of A3 one key pair can check (an unknown principal learns nothing
about which keys exist)."""

from __future__ import annotations

import datetime
import urllib.error
import urllib.parse
import urllib.request

import botocore.auth
import botocore.crt.auth
import botocore.utils
import pytest

from s3support import (
    REQUEST_TIMEOUT_S,
    assert_absent,
    expect_error,
    rewritten_header,
    sent_headers,
    signed_header,
)

BODY = b"authenticated contents"
pytestmark = pytest.mark.signing

NO_AUTH = pytest.mark.peer_deviation(
    moto="server mode does not check signatures unless IAM auth is set up", moto_iam=None
)
NO_CLOCK_CHECK = pytest.mark.peer_deviation(
    moto="server mode does not check signatures unless IAM auth is set up",
    moto_iam="checks the signature but not the request time",
)
PRESIGNED_BROKEN = pytest.mark.peer_deviation(
    moto="server mode does not check signatures unless IAM auth is set up",
    moto_iam="answers presigned GETs with 500 when IAM auth is on",
)


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
        sent_headers(s3, "PutObject") as sent,
        expect_error(403, "SignatureDoesNotMatch"),
    ):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert sent[0]["x-amz-meta-note"] == "tampered value"
    assert "x-amz-meta-note" in sent[0]["authorization"], "the header was not among SignedHeaders"
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
    """Makes botocore sign with the clock moved by the given offset, in both
    of its SigV4 signers: the Python one and the awscrt one it prefers when
    awscrt is installed (as here: CRC64NVME needs it)."""
    real_now = botocore.utils.get_current_datetime

    def shift(offset: datetime.timedelta) -> None:
        def shifted_now(*args, **kwargs):
            return real_now(*args, **kwargs) + offset

        for signer_module in (botocore.auth, botocore.crt.auth):
            monkeypatch.setattr(signer_module, "get_current_datetime", shifted_now)

    return shift


@NO_CLOCK_CHECK
@pytest.mark.parametrize("offset_minutes", [-20, 20], ids=["signed_20_min_ago", "signed_20_min_ahead"])
def test_a1_request_signed_outside_15_minutes_is_403_request_time_too_skewed(
    s3, bucket, shifted_signing_clock, offset_minutes
):
    offset = datetime.timedelta(minutes=offset_minutes)
    shifted_signing_clock(offset)
    with sent_headers(s3, "PutObject") as sent, expect_error(403, "RequestTimeTooSkewed"):
        s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert_signed_at(sent[0]["x-amz-date"], offset)
    shifted_signing_clock(datetime.timedelta(0))
    assert_absent(s3, bucket, "k")


def assert_signed_at(amz_date: str, offset: datetime.timedelta) -> None:
    """The request really carried the shifted time (within a minute)."""
    signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    drift = signed_at - (datetime.datetime.now(datetime.timezone.utc) + offset)
    assert abs(drift) < datetime.timedelta(minutes=1), (amz_date, offset)


def test_a1_request_signed_10_minutes_ago_is_accepted(s3, bucket, shifted_signing_clock):
    offset = datetime.timedelta(minutes=-10)
    shifted_signing_clock(offset)
    with sent_headers(s3, "PutObject") as sent:
        assert s3.put_object(Bucket=bucket, Key="k", Body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert_signed_at(sent[0]["x-amz-date"], offset)


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.peer_deviation(moto_iam="answers presigned GETs with 500 when IAM auth is on")
def test_a1_presigned_get_url_works_without_credentials(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/k", Body=BODY)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/k"}, ExpiresIn=300)
    assert http_get(url) == (200, BODY)


@PRESIGNED_BROKEN
def test_a1_presigned_url_for_another_key_is_403(s3, bucket):
    for key in ("k", "other"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    status, body = http_get(url.replace(f"/{bucket}/k?", f"/{bucket}/other?"))
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body)


@PRESIGNED_BROKEN
def test_a1_expired_presigned_url_is_403(s3, bucket, shifted_signing_clock):
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    shifted_signing_clock(datetime.timedelta(hours=-2))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert_signed_at(query["X-Amz-Date"][0], datetime.timedelta(hours=-2))
    status, body = http_get(url)
    assert status == 403 and b"AccessDenied" in body, (status, body)
