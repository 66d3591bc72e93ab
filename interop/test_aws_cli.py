"""The AWS CLI (v1, with its own vendored botocore) against the server:
`aws s3 cp` of a multipart-sized file both ways with checksums, and
`aws s3api put-object --if-none-match '*'` (SPEC C1) from the command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from s3support import checksum_b64, composite_checksum_b64, multipart_etag, payload

#: Small enough that a 20 MiB file goes up as 4 parts.
MULTIPART_CHUNK_BYTES = 5 * 1024 * 1024
FILE_SIZE_BYTES = 20 * 1024 * 1024
CLI_TIMEOUT_S = 120


def aws_executable() -> str:
    beside_python = Path(sys.executable).parent / "aws"
    found = str(beside_python) if beside_python.exists() else shutil.which("aws")
    assert found, "the AWS CLI is not installed (scripts/install-interop-deps.sh installs it)"
    return found


@pytest.fixture
def aws(endpoint, tmp_path):
    """Runs the AWS CLI against the endpoint with a throw-away config: the
    test's key pair, path-style addressing and a 5 MiB multipart threshold.
    Nothing from the user's ~/.aws is read."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\n"
        f"region = {endpoint.region}\n"
        "s3 =\n"
        "    addressing_style = path\n"
        f"    multipart_threshold = {MULTIPART_CHUNK_BYTES}\n"
        f"    multipart_chunksize = {MULTIPART_CHUNK_BYTES}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials-file"),
        "AWS_ACCESS_KEY_ID": endpoint.access_key,
        "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [aws_executable(), "--endpoint-url", endpoint.url, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )

    return run


@pytest.mark.peer_deviation(moto="reports the COMPOSITE CRC32 of a multipart object without its -N suffix")
def test_cli_s3_cp_multipart_upload_and_download_round_trip_20_mib(aws, s3, bucket, tmp_path):
    data = payload(FILE_SIZE_BYTES, seed=11)
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    up = aws("s3", "cp", str(source), f"s3://{bucket}/big.bin", "--checksum-algorithm", "CRC32")
    assert up.returncode == 0, up.stderr

    target = tmp_path / "download.bin"
    down = aws("s3", "cp", f"s3://{bucket}/big.bin", str(target), "--checksum-mode", "ENABLED")
    assert down.returncode == 0, down.stderr
    assert target.read_bytes() == data

    parts = [
        data[start : start + MULTIPART_CHUNK_BYTES] for start in range(0, len(data), MULTIPART_CHUNK_BYTES)
    ]
    head = s3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(parts), "the CLI did not upload 4 parts of 5 MiB"
    # The CLI does not say which multipart checksum type it wants; either
    # S3 rule (K5) is a correct answer, anything else is not.
    assert head["ChecksumCRC32"] in (checksum_b64("CRC32", data), composite_checksum_b64("CRC32", parts))


def test_cli_s3api_put_object_if_none_match_twice_second_is_412(aws, s3, bucket, tmp_path):
    first_body, second_body = tmp_path / "first", tmp_path / "second"
    first_body.write_bytes(b"first writer")
    second_body.write_bytes(b"second writer")
    put = ["s3api", "put-object", "--bucket", bucket, "--key", "k", "--if-none-match", "*"]

    first = aws(*put, "--body", str(first_body))
    assert first.returncode == 0, first.stderr
    etag = json.loads(first.stdout)["ETag"]

    second = aws(*put, "--body", str(second_body), "--debug")
    assert second.returncode != 0
    assert "An error occurred (PreconditionFailed) when calling the PutObject operation" in second.stderr
    # urllib3's debug line carries the HTTP status of the request.
    assert re.search(rf'"PUT /{bucket}/k HTTP/1.1" 412 ', second.stderr), second.stderr[-2000:]

    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ETag"], got["Body"].read()) == (etag, b"first writer")
