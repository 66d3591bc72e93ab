# Shared by interop/run-against-moto.sh and scripts/client-vs-moto.sh (sourced,
# not run): starts and stops moto's S3 server on a free loopback port.
# The caller sets `venv` (the interop venv) before sourcing.
python="$venv/bin/python"
moto_pid=""
moto_log="$(mktemp -t moto-server.XXXXXX)"

stop_moto() {
    if [[ -n "$moto_pid" ]]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
        moto_pid=""
    fi
}
trap 'stop_moto; rm -f "$moto_log"' EXIT

# start_moto VAR [ENV=VALUE...]: starts moto_server with the given environment
# and exports its endpoint as VAR once it answers.
start_moto() {
    local endpoint_var="$1" port endpoint
    shift
    port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    env "$@" "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
    endpoint="http://127.0.0.1:$port"
    export "$endpoint_var=$endpoint"
    if ! "$python" - "$endpoint" <<'EOF'; then
import sys, time, urllib.error, urllib.request

deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1).read()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # answering, if only with an auth error
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
        echo "moto_server did not answer on $endpoint within 30 s:" >&2
        cat "$moto_log" >&2
        exit 1
    fi
}
