#!/usr/bin/env bash
# Installs cargo-fuzz, pinned, from crates.io if this version is not already
# on PATH. `cargo xtask fuzz` calls it before fuzzing.
#
# cargo-fuzz drives libFuzzer with `-Zsanitizer` and friends, which need a
# nightly compiler; this project's toolchain is stable, so the fuzz task
# runs it with RUSTC_BOOTSTRAP=1 (see xtask's `fuzz`). cargo-fuzz itself
# builds on stable.
set -euo pipefail

version="0.13.2"

if installed="$(cargo fuzz --version 2>/dev/null)" && [[ "$installed" == *" $version"* ]]; then
    exit 0
fi

echo "install-cargo-fuzz: installing cargo-fuzz $version" >&2
cargo install cargo-fuzz --version "$version" --locked
cargo fuzz --version >&2
