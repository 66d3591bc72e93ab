#!/usr/bin/env bash
# Reproduces results/live/: `lockwell check` of every shipped workload
# against one endpoint, started here on a free loopback port:
#   results/live/run.sh lockwell   # lockwell serve, file backend, --api mixed
#   results/live/run.sh moto       # moto_server from .venv-interop (scripts/install-interop-deps.sh)
#   results/live/run.sh s3s-fs     # s3s-fs 0.14.1 (scripts/install-s3s-fs.sh)
# Writes each verdict to results/live/<endpoint>/<workload>.txt and its
# JSON summary (every finding) beside it; the histories (tens of MB) go to
# target/live/<endpoint>/.
# Environment: LOCKWELL (the binary, default target/release/lockwell),
# DURATION (default 20s), SEED (default 1), WORKLOADS (default all six).
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
endpoint_kind="${1:?usage: run.sh lockwell|moto|s3s-fs}"
lockwell="${LOCKWELL:-$repo_root/target/release/lockwell}"
duration="${DURATION:-20s}"
seed="${SEED:-1}"
workloads="${WORKLOADS:-racing-creators cas-counter idempotent-retries copy-snapshots multipart-conditional mixed-with-deletes}"
out="$repo_root/results/live/$endpoint_kind"
scratch="$repo_root/target/live/$endpoint_kind"
mkdir -p "$out" "$scratch"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

api="s3"
case "$endpoint_kind" in
    lockwell)
        access_key="AKLIVECHECK"
        secret_key="live-check-secret"
        data="$(mktemp -d -t lockwell-live.XXXXXX)"
        port="$(free_port)"
        "$lockwell" serve --data "$data" --listen "127.0.0.1:$port" \
            --access-key "$access_key" --secret-key "$secret_key" >"$scratch/serve.log" 2>&1 &
        server_pid=$!
        trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$data"' EXIT
        endpoint="http://127.0.0.1:$port"
        api="mixed"
        ;;
    moto)
        venv="$("$repo_root/scripts/install-interop-deps.sh" | tail -n 1)"
        # shellcheck source=../../scripts/moto-server.sh
        source "$repo_root/scripts/moto-server.sh"
        start_moto MOTO_ENDPOINT
        endpoint="$MOTO_ENDPOINT"
        # moto without IAM accepts any credentials.
        access_key="moto-access-key"
        secret_key="moto-secret-key"
        ;;
    s3s-fs)
        s3s_fs="$("$repo_root/scripts/install-s3s-fs.sh" | tail -n 1)"
        access_key="AKS3SFS"
        secret_key="s3s-fs-secret"
        root="$(mktemp -d -t s3s-fs-live.XXXXXX)"
        port="$(free_port)"
        "$s3s_fs" --host 127.0.0.1 --port "$port" --access-key "$access_key" \
            --secret-key "$secret_key" "$root" >"$scratch/s3s-fs.log" 2>&1 &
        server_pid=$!
        trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$root"' EXIT
        endpoint="http://127.0.0.1:$port"
        ;;
    *)
        echo "unknown endpoint kind $endpoint_kind: lockwell, moto or s3s-fs" >&2
        exit 2
        ;;
esac
sleep 1

status=0
for workload in $workloads; do
    # Single-part uploads: S3 stores refuse the workloads' small non-last
    # parts (EntityTooSmall), which would leave the completes unchecked.
    command=("$lockwell" check --endpoint "$endpoint" --workload "$workload"
        --workloads-dir "$repo_root/workloads" --access-key "$access_key"
        --secret-key "$secret_key" --api "$api" --duration "$duration" --seed "$seed"
        --multipart-parts 1 --quiet
        --history-out "$scratch/$workload.jsonl" --summary-out "$out/$workload.json")
    echo "== ${command[*]}" | sed "s|$repo_root/||g"
    "${command[@]}" | sed "s|$repo_root/||g" | tee "$out/$workload.txt" || status=1
    if [[ -f "$out/$workload.json" ]]; then
        sed -i "s|$repo_root/||g" "$out/$workload.json"
    fi
done
exit "$status"
