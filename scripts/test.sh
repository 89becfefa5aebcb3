#!/usr/bin/env bash
# The README's test command: installs what is missing, starts the local
# stores, checks formatting and lints, runs every test against the real
# servers (a missing store fails, never skips), and stops the stores it
# started even when something fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/stores.sh start
trap 'scripts/stores.sh stop' EXIT
set -a
# shellcheck disable=SC1090
source "$(scripts/stores.sh env-file)"
set +a
export AI_DATA_TEST_REQUIRE_STORES=1

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The facade compiles warning-free with each feature alone and with none
# (all: above).
for features in "" pg mongo vector weaviate weaviate-grpc redis kafka platform cache stream testcontainers "vector,pg" "pg,testcontainers" "platform,mongo"; do
  echo "cargo clippy -p ai-data --no-default-features --features '$features'"
  cargo clippy --quiet -p ai-data --no-default-features --features "$features" -- -D warnings
done
cargo test --workspace --all-features
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
