#!/usr/bin/env bash
# Set up everything and run the whole test suite (unit, integration,
# snapshot, end-to-end in tmux) against the real PostgreSQL with pgvector.
# Each test makes and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DATABASE_URL="$(cat .setup/database_url)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
