#!/usr/bin/env bash
# Set up everything, seed a demo inbox (once), and open replydesk on it.
# Idempotent: run it again to reopen the same inbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DATABASE_URL="$(cat .setup/database_url)"
cargo build --release --quiet
bin=target/release/replydesk
"$bin" --migrate --no-tui
"$bin" seed-demo --if-empty --conversations "${DEMO_CONVERSATIONS:-5000}"
# An inbox seeded earlier (or imported) gets whatever embeddings it lacks.
"$bin" embed
exec "$bin" --rep "${DEMO_REP:-dana.cruz@example.com}" "$@"
