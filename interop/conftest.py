"""Fixtures of the interop suite: the endpoint from the environment, boto3
clients, and a uniquely named bucket per test that is emptied and deleted
afterwards.

Peer deviations: a test that a known peer fails on purpose carries
`@pytest.mark.peer_deviation(moto="what moto does instead")`. When
LOCKWELL_PEER names that peer the test becomes a strict xfail, so it must
still fail there (proof that the test can fail) and an XPASS means the note
is stale. Against Lockwell (LOCKWELL_PEER unset) the marker does nothing:
nothing is skipped.

A test that a peer fails only sometimes (a race inside the peer) carries
`@pytest.mark.peer_flaky(moto="...")` instead: a non-strict xfail there, so
both outcomes are reported (XPASS when the peer got it right this time).

Peer `moto_iam` is moto with IAM authentication switched on (it then checks
SigV4 signatures); it shares moto's deviations except where a marker names
it explicitly (`moto_iam=None`: it passes there).
"""

from __future__ import annotations

import os

import pytest

from s3support import Clients, Endpoint, unique_name

_PEER_DEVIATION = "peer_deviation"
_PEER_FLAKY = "peer_flaky"
#: A peer whose deviations are another's unless a marker names it.
_PEER_FALLBACK = {"moto_iam": "moto"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_PEER_DEVIATION}(**peer_reasons): a known peer fails this test on purpose; "
        "the keyword names the peer (LOCKWELL_PEER) and its value says what it does instead",
    )
    config.addinivalue_line(
        "markers",
        f"{_PEER_FLAKY}(**peer_reasons): a known peer fails this test only sometimes "
        "(a race inside the peer); a non-strict xfail there",
    )
    config.addinivalue_line(
        "markers",
        "signing: the test's point is the SigV4 signature, or it signs requests by hand "
        "(run-against-moto.sh runs these again against moto with IAM auth on)",
    )
    try:
        Endpoint.from_env()
    except LookupError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    peer = os.environ.get("LOCKWELL_PEER", "lockwell")
    for item in items:
        for marker_name, strict in ((_PEER_DEVIATION, True), (_PEER_FLAKY, False)):
            for marker in item.iter_markers(marker_name):
                named = peer if peer in marker.kwargs else _PEER_FALLBACK.get(peer)
                reason = marker.kwargs.get(named)
                if reason is not None:
                    item.add_marker(pytest.mark.xfail(reason=f"{peer}: {reason}", strict=strict))


def pytest_report_header(config: pytest.Config) -> str:
    endpoint = Endpoint.from_env()
    return f"interop endpoint: {endpoint.url} region={endpoint.region} peer={endpoint.peer}"


@pytest.fixture(scope="session")
def endpoint() -> Endpoint:
    return Endpoint.from_env()


@pytest.fixture(scope="session")
def clients(endpoint: Endpoint) -> Clients:
    return Clients(endpoint)


@pytest.fixture
def s3(clients: Clients):
    """A client of this test's own: hooks a test registers die with it."""
    return clients.new()


def create_bucket(client, endpoint: Endpoint, name: str) -> None:
    if endpoint.region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": endpoint.region})


def empty_and_delete_bucket(client, name: str) -> None:
    """Deletes every object (S3 DeleteBucket requires an empty bucket) and
    every unfinished multipart upload, then the bucket."""
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
        if keys:
            result = client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
            assert not result.get("Errors"), f"cleanup of {name} failed: {result['Errors']}"
    client.delete_bucket(Bucket=name)


@pytest.fixture
def bucket(request: pytest.FixtureRequest, clients: Clients, endpoint: Endpoint):
    """A new bucket named after the test; emptied and deleted afterwards."""
    client = clients.new()
    name = unique_name(request.node.name.removeprefix("test_")[:30])
    create_bucket(client, endpoint, name)
    yield name
    empty_and_delete_bucket(client, name)
