#!/usr/bin/env bash
# Installs the interop suite's Python clients (boto3, botocore with awscrt,
# the AWS CLI v1, pytest, and moto for validating the suite) into
# <repo>/.venv-interop, exactly as pinned in interop/requirements.txt.
#
# Idempotent and fast when nothing changed: a stamp file inside the venv
# records the sha256 of the requirements file it was installed from; a
# matching stamp and a working interpreter mean there is nothing to do.
# Prints the venv's path as its last line so callers can capture it.
#
# Environment: PYTHON (default python3) picks the interpreter the venv is
# made from.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo_root/.venv-interop"
requirements="$repo_root/interop/requirements.txt"
python="${PYTHON:-python3}"

requirements_sha256="$(sha256sum "$requirements" | cut -d' ' -f1)"
stamp="$venv/.installed-from-requirements-$requirements_sha256"

if [[ -f "$stamp" ]] && "$venv/bin/python" -c 'import boto3, awscrt, pytest' 2>/dev/null; then
    echo "$venv"
    exit 0
fi

echo "install-interop-deps: installing $requirements into $venv" >&2
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
rm -f "$venv"/.installed-from-requirements-*
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$requirements"
# Fail here, not in the middle of the suite, if the CLI and botocore pins
# ever stop fitting together.
"$venv/bin/python" -m pip check >&2
"$venv/bin/aws" --version >&2
touch "$stamp"
echo "$venv"
