#!/usr/bin/env bash
# Validates the interop suite itself against a real peer, moto's S3 server on
# a free loopback port, in two passes:
#   1. the whole suite with LOCKWELL_PEER=moto: tests moto is known to fail
#      become strict xfails (conftest.py), so they must still fail there;
#   2. the tests marked `signing` with LOCKWELL_PEER=moto_iam, against a moto
#      with IAM authentication on, which checks SigV4 signatures: this proves
#      the suite's hand-signed requests and signing hooks are valid SigV4 and
#      that its wrong-signature requests really are wrong.
# Extra arguments go to pytest in both passes, e.g.
#   interop/run-against-moto.sh -q -k conditional
# Exits non-zero if either pass fails.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$("$repo_root/scripts/install-interop-deps.sh" | tail -n 1)"
# shellcheck source=../scripts/moto-server.sh
source "$repo_root/scripts/moto-server.sh"

export LOCKWELL_REGION=us-east-1
export PYTHONDONTWRITEBYTECODE=1
cd "$repo_root/interop"
status=0

echo "== pass 1: the whole suite against moto (no authentication)"
start_moto LOCKWELL_ENDPOINT
LOCKWELL_PEER=moto LOCKWELL_ACCESS_KEY=moto-access-key LOCKWELL_SECRET_KEY=moto-secret-key \
    "$python" -m pytest "$@" || status=$?
stop_moto

echo "== pass 2: signing tests against moto with IAM authentication"
# moto answers the first four requests without authentication: start_moto's
# readiness probe, then just enough to create a user with an allow-all policy
# and an access key for it.
start_moto LOCKWELL_ENDPOINT INITIAL_NO_AUTH_ACTION_COUNT=4
read -r access_key secret_key < <("$python" - "$LOCKWELL_ENDPOINT" <<'EOF'
import json, sys

import boto3

iam = boto3.client(
    "iam",
    endpoint_url=sys.argv[1],
    region_name="us-east-1",
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
)
iam.create_user(UserName="interop")
allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
iam.put_user_policy(UserName="interop", PolicyName="allow-all", PolicyDocument=json.dumps(allow_all))
key = iam.create_access_key(UserName="interop")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
EOF
)
LOCKWELL_PEER=moto_iam LOCKWELL_ACCESS_KEY="$access_key" LOCKWELL_SECRET_KEY="$secret_key" \
    "$python" -m pytest -m signing "$@" || status=$?
stop_moto

exit "$status"
