#!/usr/bin/env bash
# The performance benchmark against PRODUCT §7, in three parts on one
# 200K-conversation database (replydesk_bench):
#   workflow — seeds it (unless --reuse) and times inbox pages, threads,
#              decisions and full-text search;
#   ai       — embeds its inbound messages (when not done yet), builds the
#              HNSW index, times similar (with recall@10) and hybrid search;
#   tui      — key press → frame, launch → first frame, memory after
#              scrolling the whole list.
# and, in its own small database (replydesk_bench_deliver):
#   deliver  — 5,000 due outbox rows sent to a local Postmark-compatible
#              server: messages/s and per-message latency.
# and in two fresh databases of its own (replydesk_bench_import_*):
#   import   — a generated 1M-message JSONL file and a 100K-message Maildir
#              imported with threading and full-text indexing: messages/s
#              (sizes: REPLYDESK_BENCH_IMPORT_JSONL / _MAILDIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DATABASE_URL="$(cat .setup/database_url)"
cargo bench --bench workflow -- "$@"
cargo bench --bench ai
cargo bench --bench tui -- "$@"
cargo bench --bench deliver
cargo bench --bench import
