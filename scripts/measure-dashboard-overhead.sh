#!/usr/bin/env bash
# Throughput of `lockwell bench` with and without the live dashboard: the
# same run, alternately with the view (in a tmux terminal, so it is a TTY)
# and with --no-tui (in the same tmux), N times each; prints operations/s
# and CPU time per operation of every run, and the medians. On a shared
# machine the rate swings with the neighbours' load; CPU per operation
# (the process's user+system time, view included, over the measured
# operations) is the steadier measure of what the view costs.
# docs/dashboard.md quotes its output.
#
# Usage: scripts/measure-dashboard-overhead.sh [RUNS] [-- BENCH ARGS...]
# Default bench: --inproc --racers 8 --keys 1 --duration 10s.
# Needs a release build of `lockwell` (cargo build --release -p lockwell-cli) and tmux.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
lockwell="$repo_root/target/release/lockwell"
runs="${1:-5}"
shift || true
[[ "${1:-}" == "--" ]] && shift
bench_args=("$@")
if [[ ${#bench_args[@]} -eq 0 ]]; then
    bench_args=(--inproc --racers 8 --keys 1 --duration 10s --warmup 1s)
fi
out="$(mktemp -d)"
socket="lockwell-overhead-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; rm -rf "$out"' EXIT

# Runs one bench in a 120x40 tmux window, waits for it to finish, and keeps
# its user+system CPU seconds in $out/NAME.cpu.
run_in_tmux() {
    local name="$1"
    shift
    tmux -L "$socket" -f /dev/null new-session -d -x 120 -y 40 -s "$name" \
        "bash -c 'TIMEFORMAT=\"%U %S\"; { time $lockwell bench ${bench_args[*]} $* --out $out/$name.json > $out/$name.log 2>&1; } 2> $out/$name.cpu'; tmux -L $socket wait-for -S $name-done"
    tmux -L "$socket" wait-for "$name-done"
}

# "ops/s cpu-µs-per-op": the measured rate, and the process's CPU time
# (warm-up and view included) over the measured operations.
measure() {
    python3 - "$1.json" "$1.cpu" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
ops_per_s = result["metrics"]["operations_per_s"]["value"]
duration_s = result["config"]["load"]["stop"]["duration_ms"] / 1000
user_s, system_s = (float(x) for x in open(sys.argv[2]).read().split())
print(f"{ops_per_s:.0f} {1e6 * (user_s + system_s) / (ops_per_s * duration_s):.3f}")
PY
}

plain=()
live=()
for run in $(seq 1 "$runs"); do
    run_in_tmux "plain-$run" --no-tui
    plain+=("$(measure "$out/plain-$run")")
    run_in_tmux "live-$run"
    live+=("$(measure "$out/live-$run")")
    echo "run $run: --no-tui ${plain[-1]% *} ops/s ${plain[-1]#* } CPU-µs/op, live view ${live[-1]% *} ops/s ${live[-1]#* } CPU-µs/op"
done
python3 - "${plain[*]}" "${live[*]}" <<'PY'
import statistics, sys
def columns(text):
    values = [float(x) for x in text.split()]
    return values[0::2], values[1::2]
plain_rate, plain_cpu = columns(sys.argv[1])
live_rate, live_cpu = columns(sys.argv[2])
p, l = statistics.median(plain_rate), statistics.median(live_rate)
print(f"median ops/s: --no-tui {p:.0f}, live view {l:.0f} ({100 * (l / p - 1):+.1f}%)")
p, l = statistics.median(plain_cpu), statistics.median(live_cpu)
print(f"median CPU-µs per op: --no-tui {p:.3f}, live view {l:.3f} ({100 * (l / p - 1):+.1f}%)")
PY
