#!/usr/bin/env bash
# The README's main-job command: installs and starts the local stores, then
# runs the platform tour against them. The stores keep running afterwards
# (stop them with scripts/stores.sh stop).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/stores.sh start
set -a
# shellcheck disable=SC1090
source "$(scripts/stores.sh env-file)"
# Point the library's own variables at the local stores.
AI_DATA_PG_URL=$AI_DATA_TEST_PG_URL
AI_DATA_MONGO_URL=$AI_DATA_TEST_MONGO_URL
AI_DATA_MONGO_DATABASE=ai_platform
AI_DATA_REDIS_URL=$AI_DATA_TEST_REDIS_URL
AI_DATA_KAFKA_BOOTSTRAP_SERVERS=$AI_DATA_TEST_KAFKA_BROKERS
AI_DATA_KAFKA_TOPIC_REPLICATION=1
set +a

cargo run --quiet -p ai-data-testkit --all-features --example store_versions
cargo run --quiet --features platform,pg,mongo,vector,weaviate,redis,kafka --example platform_tour
