#!/usr/bin/env bash
# The committed capacity-planning sweeps (docs/capacity-planning.md): our
# server in process over loopback (memory backend) and s3s-fs 0.14.1, each
# into its own folder here, then `lockwell plan validate` on each.
#
#   results/sweeps/run.sh memory          # results/sweeps/memory-loopback
#   results/sweeps/run.sh s3s-fs          # results/sweeps/s3s-fs-loopback
#
# Each folder holds three grids, all CAS with 1 KiB payloads unless named:
# 1000 keys at zipf 0, 0.6, 0.9, 1.2; one hot key; and a 30% CAS / 70% GET
# mix at zipf 0, 0.9 and 1.2 (the mix at more than one skew lets a skew
# hold-out still learn what a read costs). s3s-fs writes every object to disk and fsyncs, so it
# gets 100 keys (the keys are written before each run) and racers up to 64.
# Resumable: rerunning skips measured repeats.
#
# Environment: LOCKWELL (default target/release/lockwell), REPEATS (5),
# DURATION (2s), WARMUP (500ms). The committed folders have 5 repeats.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo_root"
lockwell="${LOCKWELL:-target/release/lockwell}"
common=(--repeats "${REPEATS:-5}" --duration "${DURATION:-2s}" --warmup "${WARMUP:-500ms}")
s3s_pid=""
s3s_dir=""
trap '[[ -n "$s3s_pid" ]] && kill "$s3s_pid" 2>/dev/null; [[ -n "$s3s_dir" ]] && rm -rf "$s3s_dir"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for target in "$@"; do
    case "$target" in
        memory)
            out=results/sweeps/memory-loopback
            target_args=(--server memory)
            racers=1,2,4,8,16,32,64,128
            keys=1000
            ;;
        s3s-fs)
            out=results/sweeps/s3s-fs-loopback
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
            racers=1,2,4,8,16,32,64
            keys=100
            ;;
        *) echo "unknown target $target (memory, s3s-fs)" >&2; exit 2 ;;
    esac
    "$lockwell" bench sweep "${target_args[@]}" --out "$out" "${common[@]}" \
        --racers "$racers" --keys "$keys" --zipf 0,0.6,0.9,1.2
    "$lockwell" bench sweep "${target_args[@]}" --out "$out" "${common[@]}" \
        --racers "$racers" --keys 1 --zipf 0
    "$lockwell" bench sweep "${target_args[@]}" --out "$out" "${common[@]}" \
        --racers "$racers" --keys "$keys" --zipf 0,0.9,1.2 --mix 'cas=3,get=7'
    "$lockwell" plan validate "$out"
    if [[ -n "$s3s_pid" ]]; then
        kill "$s3s_pid"
        s3s_pid=""
    fi
done
