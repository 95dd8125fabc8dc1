#!/usr/bin/env bash
# The performance benchmark: seeds 200K conversations into its own database
# (replydesk_bench) and prints p50/p95/p99 against the budgets of PRODUCT §7.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DATABASE_URL="$(cat .setup/database_url)"
cargo bench --bench workflow -- "$@"
cargo bench --bench tui -- "$@"
