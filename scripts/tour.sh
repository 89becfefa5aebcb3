#!/usr/bin/env bash
# The README's main-job command: installs and starts the local stores, then
# runs the tour of the library against them. The stores keep running
# afterwards (stop them with scripts/stores.sh stop).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/stores.sh start
set -a
# shellcheck disable=SC1090
source "$(scripts/stores.sh env-file)"
set +a

cargo run --quiet -p ai-data-testkit --all-features --example store_versions
