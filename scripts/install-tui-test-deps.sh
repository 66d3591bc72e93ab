#!/usr/bin/env bash
# Installs tmux, which the dashboard's end-to-end tests drive
# (crates/lockwell-cli/tests/dash_tmux.rs: send-keys and capture-pane
# against `lockwell dash` and `lockwell bench` in a real terminal).
#
# Idempotent and instant when tmux is already on PATH. `cargo xtask test`
# runs it before the tests; run it by hand before a bare `cargo test`.
set -euo pipefail

if command -v tmux >/dev/null 2>&1; then
    exit 0
fi

echo "install-tui-test-deps: installing tmux" >&2
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tui-test-deps: no apt-get here; install tmux with this system's package manager" >&2
    exit 1
fi
as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    as_root=(sudo)
fi
"${as_root[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq tmux >&2
tmux -V >&2
