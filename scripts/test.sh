#!/usr/bin/env bash
# The test command: host packages, then unit tests and integration tests against the real
# Docker engine (tests build their own tiny image; nothing is pulled).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec cargo test --workspace "$@"
