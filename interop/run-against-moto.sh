#!/usr/bin/env bash
# Validates the interop suite itself against a real peer: starts moto's S3
# server on a free loopback port, runs the suite with LOCKWELL_PEER=moto (so
# the tests that moto is known to fail become strict xfails, see
# conftest.py), and stops the server. Extra arguments go to pytest, e.g.
#   interop/run-against-moto.sh -k conditional -x
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$("$repo_root/scripts/install-interop-deps.sh" | tail -n 1)"

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp -t moto-server.XXXXXX.log)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
stop_moto() {
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    rm -f "$log"
}
trap stop_moto EXIT

export LOCKWELL_ENDPOINT="http://127.0.0.1:$port"
if ! "$venv/bin/python" - "$LOCKWELL_ENDPOINT" <<'EOF'; then
import sys, time, urllib.request

deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
    echo "moto_server did not answer on $LOCKWELL_ENDPOINT within 30 s:" >&2
    cat "$log" >&2
    exit 1
fi

export LOCKWELL_ACCESS_KEY=moto-access-key
export LOCKWELL_SECRET_KEY=moto-secret-key
export LOCKWELL_REGION=us-east-1
export LOCKWELL_PEER=moto
export PYTHONDONTWRITEBYTECODE=1
cd "$repo_root/interop"
"$venv/bin/python" -m pytest "$@"
