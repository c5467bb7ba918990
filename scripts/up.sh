#!/usr/bin/env bash
# Start the whole system on its embedded defaults: host packages, a release build, then
# `sandboxd serve` (which builds the default image on first run, showing its progress).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release -p sandboxd
exec ./target/release/sandboxd serve "$@"
