#!/usr/bin/env bash
# Contended compare-and-swap over HTTP: the matrix of docs/benchmarks.md
# ("Over HTTP"). For each target: 1, 8, 64 and 256 racers, on 1 key and on
# 10,000 keys (zipf 0.99), a 412 answered at once or after a jittered
# backoff, REPS short runs each, interleaved (every cell's first run before
# any cell's second). Result files and interval logs go to
# results/http/<target>/.
#
#   results/http/run.sh memory file          # our server in process
#   results/http/run.sh s3s-fs               # s3s-fs 0.14.1 on a free port
#
# Environment: REPS (default 3), DURATION (default 3s), WARMUP (500ms),
# LOCKWELL (default target/release/lockwell), KEYS (default "1 10000"),
# RACERS (default "1 8 64 256"), RETRIES (default "immediate backoff"; also
# backoff-wide: base 1 ms, cap 100 ms, scaled to a loopback round trip
# rather than to the in-process commit path).
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo_root"
lockwell="${LOCKWELL:-target/release/lockwell}"
reps="${REPS:-3}"
duration="${DURATION:-3s}"
warmup="${WARMUP:-500ms}"
s3s_pid=""
s3s_dir=""
trap '[[ -n "$s3s_pid" ]] && kill "$s3s_pid" 2>/dev/null; [[ -n "$s3s_dir" ]] && rm -rf "$s3s_dir"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for target in "$@"; do
    out="results/http/$target"
    mkdir -p "$out"
    case "$target" in
        memory | file) target_args=(--server "$target") ;;
        s3s-fs)
            s3s_fs="$(scripts/install-s3s-fs.sh | tail -n 1)"
            s3s_dir="$(mktemp -d -t s3s-fs.XXXXXX)"
            port="$(free_port)"
            "$s3s_fs" --host 127.0.0.1 --port "$port" \
                --access-key LWBENCH --secret-key lockwell-bench-loopback-secret \
                "$s3s_dir" >"$s3s_dir.log" 2>&1 &
            s3s_pid=$!
            sleep 1
            target_args=(--endpoint "http://127.0.0.1:$port" --access-key LWBENCH
                --secret-key lockwell-bench-loopback-secret --served-by "s3s-fs 0.14.1")
            ;;
        *) echo "unknown target $target (memory, file, s3s-fs)" >&2; exit 2 ;;
    esac
    for rep in $(seq 1 "$reps"); do
        for keys in ${KEYS:-1 10000}; do
            for racers in ${RACERS:-1 8 64 256}; do
                for retry in ${RETRIES:-immediate backoff}; do
                    case "$retry" in
                        backoff-wide) retry_args=(--cas-retry backoff --backoff-base-us 1000 --backoff-cap-us 100000) ;;
                        *) retry_args=(--cas-retry "$retry") ;;
                    esac
                    name="r${racers}-k${keys}-${retry}-${rep}"
                    [[ -e "$out/$name.json" ]] && continue
                    echo "$target $name" >&2
                    "$lockwell" bench "${target_args[@]}" --mix cas \
                        --racers "$racers" --keys "$keys" "${retry_args[@]}" \
                        --duration "$duration" --warmup "$warmup" --interval 1s \
                        --bucket "bench-k$keys" --quiet --out "$out/$name.json" >/dev/null
                done
            done
        done
    done
    if [[ -n "$s3s_pid" ]]; then
        kill "$s3s_pid"
        s3s_pid=""
    fi
done
