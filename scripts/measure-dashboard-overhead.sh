#!/usr/bin/env bash
# Throughput of `lockwell bench` with and without the live dashboard: the
# same run, alternately with the view (in a tmux terminal, so it is a TTY)
# and with --no-tui (in the same tmux), N times each; prints operations/s
# of every run and the medians. docs/dashboard.md quotes its output.
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

# Runs one bench in a 120x40 tmux window and waits for it to finish.
run_in_tmux() {
    local name="$1"
    shift
    tmux -L "$socket" -f /dev/null new-session -d -x 120 -y 40 -s "$name" \
        "$lockwell bench ${bench_args[*]} $* --out $out/$name.json > $out/$name.log 2>&1; tmux -L $socket wait-for -S $name-done"
    tmux -L "$socket" wait-for "$name-done"
}

ops_per_s() {
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics']['operations_per_s']['value'])" "$1"
}

plain=()
live=()
for run in $(seq 1 "$runs"); do
    run_in_tmux "plain-$run" --no-tui
    plain+=("$(ops_per_s "$out/plain-$run.json")")
    run_in_tmux "live-$run"
    live+=("$(ops_per_s "$out/live-$run.json")")
    echo "run $run: --no-tui ${plain[-1]} ops/s, live view ${live[-1]} ops/s"
done
python3 - "${plain[*]}" "${live[*]}" <<'PY'
import statistics, sys
plain = [float(x) for x in sys.argv[1].split()]
live = [float(x) for x in sys.argv[2].split()]
p, l = statistics.median(plain), statistics.median(live)
print(f"median --no-tui {p:.0f} ops/s, live view {l:.0f} ops/s: {100 * (l / p - 1):+.1f}%")
PY
