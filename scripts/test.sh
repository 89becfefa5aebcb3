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
# A CI run builds once from a clean checkout: incremental caches would only
# add gigabytes to target/ there.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The facade compiles warning-free with each feature alone and with none
# (all: above).
for features in "" pg mongo vector weaviate weaviate-grpc redis kafka platform cache stream testcontainers "vector,pg" "pg,testcontainers" "platform,mongo"; do
  echo "cargo clippy -p ai-data --no-default-features --features '$features'"
  cargo clippy --quiet -p ai-data --no-default-features --features "$features" -- -D warnings
done
# Each bench and example builds with exactly the features it requires (the
# commands its docs give), not only with all of them.
python3 - <<'PY' | while read -r kind name features; do
import tomllib
manifest = tomllib.load(open("Cargo.toml", "rb"))
for kind in ("bench", "example"):
    for target in manifest.get(kind, []):
        print(kind, target["name"], ",".join(target.get("required-features", [])) or "-")
PY
  [ "$features" = "-" ] && features=""
  echo "cargo clippy -p ai-data --no-default-features --features '$features' --$kind $name"
  cargo clippy --quiet -p ai-data --no-default-features --features "$features" "--$kind" "$name" -- -D warnings
done
cargo test --workspace --all-features
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
echo "[test] target/ uses $(du -sh target | cut -f1); free on its disk: $(df -h --output=avail target | tail -1)"
