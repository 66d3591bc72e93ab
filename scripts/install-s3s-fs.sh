#!/usr/bin/env bash
# Installs s3s-fs 0.14.1 (an S3 server over a local directory, built on the
# s3s crate), the peer `lockwell bench --endpoint` is measured against in
# docs/benchmarks.md. 0.14.1 is the newest release that builds with this
# workspace's Rust 1.95; --locked keeps its dependency versions fixed.
# Prints the path of the binary as its last line; does nothing if that
# version is already installed.
set -euo pipefail

version="0.14.1"
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! cargo install --list | grep -q "^s3s-fs v${version}:"; then
    cargo install s3s-fs --version "$version" --locked --features binary
fi
echo "$cargo_bin/s3s-fs"
