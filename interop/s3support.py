"""What the interop tests share: the endpoint under test, boto3 clients for
it, the values a correct server must produce (ETags, checksums) computed
independently of the server, and the few things boto3 has no parameter for
(an extra signed or unsigned header, the aws-chunked trailer over plain HTTP,
hand-built requests).

Everything here is client-side and talks to the server only through HTTP;
nothing assumes the server is Lockwell, so the same suite validates itself
against a peer (LOCKWELL_PEER=moto, see run-against-moto.sh).
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import http.client
import itertools
import os
import threading
import urllib.parse
import uuid
import zlib
from collections.abc import Iterator
from xml.etree import ElementTree

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.session
from awscrt import checksums as crt_checksums
from botocore.config import Config
from botocore.exceptions import ClientError

#: Seconds a single request may take before the test fails instead of hanging.
REQUEST_TIMEOUT_S = 30
#: S3's smallest part size for every part but the last of a multipart upload.
MIN_PART_SIZE_BYTES = 5 * 1024 * 1024
#: The header that carries an idempotency key (SPEC I1).
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """The server under test, as the environment describes it."""

    url: str
    access_key: str
    secret_key: str
    region: str
    #: Which implementation answers: "lockwell" (the default) or a peer such
    #: as "moto"; tests name the peer deviations they expect.
    peer: str

    @classmethod
    def from_env(cls) -> Endpoint:
        missing = [
            name
            for name in ("LOCKWELL_ENDPOINT", "LOCKWELL_ACCESS_KEY", "LOCKWELL_SECRET_KEY")
            if not os.environ.get(name)
        ]
        if missing:
            raise LookupError(
                f"{', '.join(missing)} not set: the interop suite needs an endpoint "
                "and a key pair (see interop/README.md)"
            )
        return cls(
            url=os.environ["LOCKWELL_ENDPOINT"].rstrip("/"),
            access_key=os.environ["LOCKWELL_ACCESS_KEY"],
            secret_key=os.environ["LOCKWELL_SECRET_KEY"],
            region=os.environ.get("LOCKWELL_REGION", "us-east-1"),
            peer=os.environ.get("LOCKWELL_PEER", "lockwell"),
        )

    @property
    def host_port(self) -> tuple[str, int]:
        parsed = urllib.parse.urlsplit(self.url)
        return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)


class Clients:
    """Makes boto3 S3 clients for one endpoint.

    One botocore session loads the service model once; each client made from
    it has its own connection pool and its own event hooks, so a test that
    registers a hook or races threads gets clients of its own. Clients are
    made on the calling thread (sessions are not thread-safe) and then may be
    used from any one thread.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._session = boto3.session.Session(botocore_session=botocore.session.get_session())

    def new(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        **config: object,
    ):
        """A fresh client. Retries are off (one attempt per call) so every
        test sees the server's own answer. Checksum behaviour is botocore's
        default, set explicitly so that AWS_* variables or a config file of
        the user's cannot change what the tests send; `config` overrides any
        botocore Config field."""
        settings = {
            "signature_version": "s3v4",
            "request_checksum_calculation": "when_supported",
            "response_checksum_validation": "when_supported",
            "s3": {"addressing_style": "path"},
            "retries": {"total_max_attempts": 1},
            "connect_timeout": REQUEST_TIMEOUT_S,
            "read_timeout": REQUEST_TIMEOUT_S,
            "max_pool_connections": 4,
        }
        settings.update(config)
        return self._session.client(
            "s3",
            endpoint_url=self.endpoint.url,
            region_name=self.endpoint.region,
            aws_access_key_id=access_key or self.endpoint.access_key,
            aws_secret_access_key=secret_key or self.endpoint.secret_key,
            config=Config(**settings),
        )


def unique_name(prefix: str) -> str:
    """A bucket-name-safe unique name (S3: 3-63 chars, lowercase, digits, '-')."""
    cleaned = "".join(c if c.isalnum() else "-" for c in prefix.lower()).strip("-")
    return f"{cleaned[:40].rstrip('-')}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- errors


def http_status(error: ClientError) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def describe(error: ClientError) -> str:
    return f"HTTP {http_status(error)} {error_code(error)}: {error.response.get('Error')}"


@contextlib.contextmanager
def expect_error(status: int, *codes: str) -> Iterator[list[ClientError]]:
    """Asserts the block raises a ClientError with this HTTP status and, when
    codes are given, one of these S3 error codes. Yields a list that holds the
    error afterwards, for further checks (C9's Condition element, ...)."""
    caught: list[ClientError] = []
    try:
        yield caught
    except ClientError as error:
        caught.append(error)
        assert http_status(error) == status, f"expected HTTP {status}, got {describe(error)}"
        if codes:
            assert error_code(error) in codes, f"expected one of {codes}, got {describe(error)}"
    else:
        raise AssertionError(f"expected HTTP {status} {codes}, but the request succeeded")


def assert_absent(client, bucket: str, key: str) -> None:
    """The key does not exist: HEAD answers 404 (C4, K2: nothing stored)."""
    with expect_error(404):
        client.head_object(Bucket=bucket, Key=key)


# ---------------------------------------------------------------- expected values


def quoted_md5(data: bytes) -> str:
    """E1: the ETag of a single-part upload."""
    return f'"{hashlib.md5(data).hexdigest()}"'


def multipart_etag(parts: list[bytes]) -> str:
    """E1: MD5 of the concatenated binary part MD5s, then '-N'."""
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def _crc_bytes(value: int, width_bytes: int) -> bytes:
    return value.to_bytes(width_bytes, "big")


#: K1: each algorithm's raw big-endian digest, computed without the server
#: and without botocore's own checksum code.
RAW_DIGEST = {
    "CRC32": lambda data: _crc_bytes(zlib.crc32(data), 4),
    "CRC32C": lambda data: _crc_bytes(crt_checksums.crc32c(data), 4),
    "CRC64NVME": lambda data: _crc_bytes(crt_checksums.crc64nvme(data), 8),
    "SHA1": lambda data: hashlib.sha1(data).digest(),
    "SHA256": lambda data: hashlib.sha256(data).digest(),
}


def checksum_b64(algorithm: str, data: bytes) -> str:
    """K1: the x-amz-checksum-<alg> value: base64 of the big-endian digest."""
    return base64.b64encode(RAW_DIGEST[algorithm](data)).decode()


def composite_checksum_b64(algorithm: str, parts: list[bytes]) -> str:
    """K5: a COMPOSITE multipart checksum: the digest of the concatenated
    part digests, base64, then '-N'."""
    joined = b"".join(RAW_DIGEST[algorithm](part) for part in parts)
    return f"{checksum_b64(algorithm, joined)}-{len(parts)}"


def wrong_checksum_b64(algorithm: str, data: bytes) -> str:
    """A well-formed value of the right length that does not match `data`."""
    return checksum_b64(algorithm, data + b"\0not the body")


@functools.lru_cache(maxsize=8)
def payload(size_bytes: int, seed: int) -> bytes:
    """Deterministic incompressible-looking bytes (a counter hashed in
    blocks): tests are reproducible and parts differ from each other."""
    blocks = (
        hashlib.sha256(seed.to_bytes(8, "big") + n.to_bytes(8, "big")).digest() for n in itertools.count()
    )
    out = bytearray()
    for block in blocks:
        if len(out) >= size_bytes:
            break
        out += block
    return bytes(out[:size_bytes])


# ---------------------------------------------------------------- event hooks


@contextlib.contextmanager
def _registered(client, event: str, handler) -> Iterator[None]:
    hook_id = f"interop-{uuid.uuid4().hex}"
    client.meta.events.register(event, handler, unique_id=hook_id)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=hook_id)


@contextlib.contextmanager
def signed_header(client, operation: str, name: str, value: str) -> Iterator[None]:
    """Adds a header before SigV4 signing, so it is among SignedHeaders (the
    way a client that knows the header sends it; SPEC I5, R5)."""

    def add(request, **_):
        request.headers[name] = value

    with _registered(client, f"before-sign.s3.{operation}", add):
        yield


@contextlib.contextmanager
def unsigned_header(client, operation: str, name: str, value: str) -> Iterator[None]:
    """Adds a header after signing: it travels with the request but is not
    covered by the signature (what a proxy or a careless client does)."""

    def add(request, **_):
        request.headers[name] = value

    with _registered(client, f"before-send.s3.{operation}", add):
        yield


@contextlib.contextmanager
def rewritten_header(client, operation: str, name: str, value: str) -> Iterator[None]:
    """Changes a header's value after signing (a tampered signed header, A1)."""

    def rewrite(request, **_):
        assert name in request.headers, f"{name} was not sent"
        del request.headers[name]
        request.headers[name] = value

    with _registered(client, f"before-send.s3.{operation}", rewrite):
        yield


def idempotency_key(client, operation: str, key: str):
    """SPEC I1/I5: the Idempotency-Key header, signed."""
    return signed_header(client, operation, IDEMPOTENCY_KEY_HEADER, key)


@contextlib.contextmanager
def sent_headers(client, operation: str) -> Iterator[list[dict[str, str]]]:
    """Collects the headers of every request the client sends for this
    operation, as the server will see them (after signing), with lowercase
    names."""
    sent: list[dict[str, str]] = []

    def record(request, **_):
        sent.append(
            {
                name.lower(): value.decode() if isinstance(value, bytes) else value
                for name, value in request.headers.items()
            }
        )

    with _registered(client, f"before-send.s3.{operation}", record):
        yield sent


@contextlib.contextmanager
def aws_chunked_trailer(client, operation: str = "PutObject") -> Iterator[list[dict[str, str]]]:
    """Makes botocore send the body as aws-chunked with a trailing checksum
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER), exactly as it does by default over
    TLS. Over plain http botocore puts the checksum in a header instead, so
    the test endpoint would otherwise never see the encoding (SPEC K3).
    Yields the sent headers, to show the encoding was really used."""

    def move_checksum_to_trailer(params, **_):
        algorithm = params["context"].get("checksum", {}).get("request_algorithm")
        assert isinstance(algorithm, dict), "botocore chose no request checksum"
        algorithm["in"] = "trailer"

    with (
        _registered(client, f"before-call.s3.{operation}", move_checksum_to_trailer),
        sent_headers(client, operation) as sent,
    ):
        yield sent


# ---------------------------------------------------------------- hand-built requests


@dataclasses.dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def error_code(self) -> str:
        """The <Code> of an S3 error body, or "" for any other body."""
        try:
            return ElementTree.fromstring(self.body).findtext("Code") or ""
        except ElementTree.ParseError:
            return ""


class _FixedPayloadSigner(botocore.auth.S3SigV4Auth):
    """botocore's S3 SigV4 signer with a chosen x-amz-content-sha256."""

    def __init__(self, endpoint: Endpoint, payload_hash: str) -> None:
        credentials = botocore.credentials.Credentials(endpoint.access_key, endpoint.secret_key)
        super().__init__(credentials, "s3", endpoint.region)
        self._payload_hash = payload_hash

    def payload(self, request) -> str:
        return self._payload_hash


class RawRequest:
    """A SigV4-signed request sent over http.client, for what botocore will
    not send: an aws-chunked body with a chosen (wrong) trailer, or a body
    that stalls half way while another request races it.

    The signature covers every header given here. `payload_hash` is the
    x-amz-content-sha256 value; by default the SHA-256 of `body`.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        method: str,
        bucket: str,
        key: str,
        *,
        headers: dict[str, str],
        body: bytes,
        payload_hash: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._method = method
        self._path = f"/{bucket}/{urllib.parse.quote(key, safe='/')}"
        self._body = body
        self._sent_bytes = 0
        self._connection: http.client.HTTPConnection | None = None
        headers = {"Content-Length": str(len(body)), **headers}
        request = botocore.awsrequest.AWSRequest(
            method=method, url=f"{endpoint.url}{self._path}", headers=headers, data=body
        )
        signer = _FixedPayloadSigner(endpoint, payload_hash or hashlib.sha256(body).hexdigest())
        signer.add_auth(request)
        self.headers = dict(request.headers.items())

    def start(self, first_bytes: int) -> None:
        """Sends the headers and the first bytes of the body, then stops:
        the request is in flight until `finish`."""
        host, port = self._endpoint.host_port
        self._connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        self._connection.putrequest(self._method, self._path, skip_accept_encoding=True)
        for name, value in self.headers.items():
            self._connection.putheader(name, value)
        self._connection.endheaders()
        self._connection.send(self._body[:first_bytes])
        self._sent_bytes = first_bytes

    def finish(self) -> RawResponse:
        """Sends the rest of the body and reads the response."""
        assert self._connection is not None, "start() first"
        self._connection.send(self._body[self._sent_bytes :])
        response = self._connection.getresponse()
        body = response.read()
        self._connection.close()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, body)

    def send(self) -> RawResponse:
        self.start(0)
        return self.finish()


def aws_chunked_body(data: bytes, chunk_size: int, trailer_name: str, trailer_value: str) -> bytes:
    """The unsigned aws-chunked encoding with a trailer, byte for byte as
    botocore's AwsChunkedWrapper writes it (SPEC K3)."""
    out = bytearray()
    for start in range(0, len(data), chunk_size):
        chunk = data[start : start + chunk_size]
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    out += f"0\r\n{trailer_name}:{trailer_value}\r\n\r\n".encode()
    return bytes(out)


# ---------------------------------------------------------------- multipart


def upload_parts(client, bucket: str, key: str, parts: list[bytes], **create_args) -> tuple[str, list[dict]]:
    """CreateMultipartUpload and UploadPart for each part; returns the upload
    id and the part list for CompleteMultipartUpload (with each part's
    checksum when `ChecksumAlgorithm` is among create_args)."""
    algorithm = create_args.get("ChecksumAlgorithm")
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **create_args)["UploadId"]
    completed = []
    for number, part in enumerate(parts, start=1):
        part_args = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        result = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part, **part_args
        )
        entry = {"PartNumber": number, "ETag": result["ETag"]}
        if algorithm:
            entry[f"Checksum{algorithm}"] = result[f"Checksum{algorithm}"]
        completed.append(entry)
    return upload_id, completed


def multipart_put(client, bucket: str, key: str, parts: list[bytes], **complete_args) -> dict:
    """A whole multipart upload; returns the CompleteMultipartUpload result."""
    upload_id, completed = upload_parts(client, bucket, key, parts)
    return client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": completed},
        **complete_args,
    )


# ---------------------------------------------------------------- races


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one request of a race got back."""

    status: int
    code: str
    result: dict | None

    @classmethod
    def of(cls, call) -> Outcome:
        try:
            result = call()
        except ClientError as error:
            return cls(http_status(error), error_code(error), None)
        return cls(result["ResponseMetadata"]["HTTPStatusCode"], "", result)


def run_concurrently(clients: list, action) -> list:
    """Runs action(client, index) on one thread per client, all released at
    once by a barrier; returns the results in client order and re-raises the
    first exception."""
    barrier = threading.Barrier(len(clients))

    def run(index: int):
        barrier.wait(timeout=REQUEST_TIMEOUT_S)
        return action(clients[index], index)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(run, range(len(clients))))


def race(clients: list, request) -> list[Outcome]:
    """Sends request(client, index) from every client at once; the outcomes
    in client order."""
    return run_concurrently(clients, lambda client, index: Outcome.of(lambda: request(client, index)))


#: Outcomes that mean "you lost" for a conditional write: 412, or 409 when
#: the server reports a conflicting write in flight (SPEC C5).
LOST_RACE_STATUSES = frozenset({412, 409})
