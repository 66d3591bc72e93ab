#!/usr/bin/env bash
# Runs lockwell-client's S3 conformance tests (crates/lockwell-client/tests/
# s3_moto.rs) against moto's S3 server on a free loopback port, in two passes:
#   1. moto without authentication: the client's requests and its parsing of
#      moto's XML and headers;
#   2. moto with IAM authentication, which verifies SigV4 signatures: proof
#      that the client signs the way AWS does, not only the way
#      lockwell-server verifies.
# moto comes from the interop venv (scripts/install-interop-deps.sh).
# Extra arguments go to the test binary, e.g.
#   scripts/client-vs-moto.sh moto_multipart
# Exits non-zero if either pass fails.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$("$repo_root/scripts/install-interop-deps.sh" | tail -n 1)"
# shellcheck source=../scripts/moto-server.sh
source "$repo_root/scripts/moto-server.sh"

cd "$repo_root"
# Build first, so that neither pass spends moto's time compiling.
cargo test --quiet -p lockwell-client --test s3_moto --no-run
status=0

echo "== pass 1: lockwell-client against moto (no authentication)"
start_moto LOCKWELL_MOTO_ENDPOINT
LOCKWELL_MOTO_ACCESS_KEY=moto-access-key LOCKWELL_MOTO_SECRET_KEY=moto-secret-key \
    cargo test --quiet -p lockwell-client --test s3_moto -- --ignored --skip moto_iam_ "$@" \
    || status=$?
stop_moto

echo "== pass 2: lockwell-client against moto with IAM authentication (SigV4 verified)"
# moto answers the first four requests without authentication: start_moto's
# readiness probe, then just enough to create a user with an allow-all policy
# and an access key for it.
start_moto LOCKWELL_MOTO_ENDPOINT INITIAL_NO_AUTH_ACTION_COUNT=4
read -r access_key secret_key < <("$python" - "$LOCKWELL_MOTO_ENDPOINT" <<'EOF'
import json, sys

import boto3

iam = boto3.client(
    "iam",
    endpoint_url=sys.argv[1],
    region_name="us-east-1",
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
)
iam.create_user(UserName="lockwell-client")
allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
iam.put_user_policy(UserName="lockwell-client", PolicyName="allow-all", PolicyDocument=json.dumps(allow_all))
key = iam.create_access_key(UserName="lockwell-client")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
EOF
)
LOCKWELL_MOTO_ACCESS_KEY="$access_key" LOCKWELL_MOTO_SECRET_KEY="$secret_key" \
    cargo test --quiet -p lockwell-client --test s3_moto -- --ignored "$@" || status=$?
stop_moto

exit "$status"
