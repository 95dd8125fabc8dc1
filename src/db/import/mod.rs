//! The SQL of `replydesk import`: a staging table filled by parallel binary
//! COPY ([`stage`]), the lookups threading needs, and a set-based merge per
//! partition of conversations ([`merge`]).
//!
//! Concurrency: an import holds a session-level advisory lock
//! ([`lock_imports`]) from the moment it looks at what is stored (duplicates,
//! threads, leads) until its merge is committed and the full-text index is
//! back, so two imports never thread against each other's half-written
//! state and the second one finds the first one's messages as duplicates.
//! Reps keep working meanwhile: the merge locks only the existing
//! conversations it appends to (see [`merge`]).

pub mod merge;
pub mod sources;
pub mod stage;

pub use merge::{Merged, NewConversation, NewLead, Partition, PlanRow, merge};
pub use stage::{Columns, Encoded, StageRow, Staging};

use super::DbError;
use super::pool::DbConfig;
use crate::import::thread::{Candidate, Existing};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

/// The advisory lock key that serialises imports ("rdimport").
const IMPORT_LOCK_KEY: i64 = 0x7264_696d_706f_7274;

/// The types of replydesk's enums, for binary COPY.
#[derive(Debug, Clone)]
pub struct Types {
    pub direction: Type,
    pub conversation_status: Type,
}

impl Types {
    pub async fn load(client: &Client) -> Result<Types, DbError> {
        let stmt = client
            .prepare("SELECT $1::message_direction, $2::conversation_status")
            .await?;
        let p = stmt.params();
        Ok(Types {
            direction: p[0].clone(),
            conversation_status: p[1].clone(),
        })
    }
}

/// A dedicated connection for bulk work: no statement timeout (a merge of a
/// million rows takes longer than the interactive limit) and room to hash.
pub async fn session(db: &DbConfig) -> Result<Client, DbError> {
    let mut cfg = db.clone();
    let bulk = "-c statement_timeout=0 -c work_mem=64MB";
    let options = match cfg.pg.get_options() {
        Some(o) if !o.is_empty() => format!("{o} {bulk}"),
        _ => bulk.to_string(),
    };
    cfg.pg.options(&options);
    Ok(cfg.connect_dedicated().await?.0)
}

/// This session's backend pid (names the staging table).
pub async fn backend_pid(client: &Client) -> Result<i32, DbError> {
    Ok(client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0))
}

/// Wait until no other import runs, then hold the import lock until
/// [`unlock_imports`] or the end of the session.
pub async fn lock_imports(client: &Client) -> Result<(), DbError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&IMPORT_LOCK_KEY])
        .await?;
    Ok(())
}

pub async fn unlock_imports(client: &Client) -> Result<(), DbError> {
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&IMPORT_LOCK_KEY])
        .await?;
    Ok(())
}

/// The reps' addresses, lowercased: mail from them is outbound.
pub async fn rep_addresses(client: &Client) -> Result<Vec<String>, DbError> {
    let rows = client.query("SELECT lower(email) FROM reps", &[]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether `messages` holds fewer than `limit` rows (counts at most that many).
pub async fn messages_below(client: &Client, limit: i64) -> Result<bool, DbError> {
    let row = client
        .query_one(
            "SELECT count(*) < $1 FROM (SELECT 1 FROM messages LIMIT $1) s",
            &[&limit],
        )
        .await?;
    Ok(row.get(0))
}

/// Whether any conversation exists (else nothing can be threaded to).
pub async fn has_conversations(client: &Client) -> Result<bool, DbError> {
    let row = client
        .query_one("SELECT EXISTS (SELECT 1 FROM conversations)", &[])
        .await?;
    Ok(row.get(0))
}

/// Stored messages that staged rows name (as their own id, In-Reply-To or
/// a reference), by Message-ID. Where several conversations hold the same
/// id, the oldest conversation wins.
pub async fn known_messages(
    client: &Client,
    stage: &Staging,
) -> Result<HashMap<String, Existing>, DbError> {
    let rows = client
        .query(
            &format!(
                "SELECT x.id, m.conversation_id, c.lead_id
                 FROM {} s
                 CROSS JOIN LATERAL unnest(s.\"references\" || s.in_reply_to
                                           || coalesce(s.message_id, s.external_id)) AS x(id)
                 JOIN messages m ON coalesce(m.message_id, m.external_id) = x.id
                 JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL",
                stage.table
            ),
            &[],
        )
        .await?;
    let mut out: HashMap<String, Existing> = HashMap::new();
    for r in &rows {
        let found = Existing {
            id: r.get(1),
            lead_id: r.get(2),
        };
        out.entry(r.get(0))
            .and_modify(|e| {
                if found.id < e.id {
                    *e = found;
                }
            })
            .or_insert(found);
    }
    Ok(out)
}

/// Conversations that already carry one of `keys`.
pub async fn known_keys(
    client: &Client,
    keys: &[&str],
) -> Result<HashMap<String, Existing>, DbError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT external_key, id, lead_id FROM conversations
             WHERE external_key = ANY($1) AND deleted_at IS NULL",
            &[&keys],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let e = Existing {
                id: r.get(1),
                lead_id: r.get(2),
            };
            (r.get(0), e)
        })
        .collect())
}

/// Existing leads by lowercased address (the oldest lead of an address).
pub async fn known_leads(
    client: &Client,
    addresses: &[&str],
) -> Result<HashMap<String, i64>, DbError> {
    if addresses.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT DISTINCT ON (lower(email)) lower(email), id FROM leads
             WHERE lower(email) = ANY($1) AND deleted_at IS NULL
             ORDER BY lower(email), id",
            &[&addresses],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The conversations of these leads, for joining by subject.
pub async fn candidates(client: &Client, addresses: &[&str]) -> Result<Vec<Candidate>, DbError> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT c.id, c.lead_id, lower(l.email), c.subject, c.created_at, c.last_message_at
             FROM leads l JOIN conversations c ON c.lead_id = l.id
             WHERE lower(l.email) = ANY($1) AND l.deleted_at IS NULL AND c.deleted_at IS NULL",
            &[&addresses],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let first_at: DateTime<Utc> = r.get(4);
            let last_at: DateTime<Utc> = r.get(5);
            Candidate {
                conversation: Existing {
                    id: r.get(0),
                    lead_id: r.get(1),
                },
                lead: r.get(2),
                subject: r.get(3),
                first_at: first_at.min(last_at),
                last_at,
            }
        })
        .collect())
}

/// `n` fresh ids from the identity sequence of `table` (leads or
/// conversations), so rows can be written with their ids on any connection.
pub async fn allocate_ids(client: &Client, table: IdTable, n: usize) -> Result<Vec<i64>, DbError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let row = client
        .query_one(
            "SELECT array_agg(nextval(pg_get_serial_sequence($1, 'id')))
             FROM generate_series(1, $2::bigint)",
            &[&table.name(), &(n as i64)],
        )
        .await?;
    Ok(row.get::<_, Option<Vec<i64>>>(0).unwrap_or_default())
}

/// Tables whose ids an import allocates ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTable {
    Leads,
    Conversations,
}

impl IdTable {
    fn name(self) -> &'static str {
        match self {
            IdTable::Leads => "leads",
            IdTable::Conversations => "conversations",
        }
    }
}

/// Indexes a large load drops first and builds after: built once they
/// cost a fraction of what maintaining them row by row does (the GIN index
/// most of all; the conversations' inbox indexes are 60% of the cost of
/// writing a conversation). None of them enforces anything: the unique
/// indexes stay. The definitions are those of the migrations (a test holds
/// them to it).
pub const DEFERRED_INDEXES: [(&str, &str); 14] = [
    (
        "messages_search_idx",
        "CREATE INDEX messages_search_idx ON messages USING gin (search)",
    ),
    (
        "messages_latest_inbound_idx",
        "CREATE INDEX messages_latest_inbound_idx ON messages (conversation_id, seq DESC) WHERE direction = 'inbound'",
    ),
    (
        "messages_message_id_idx",
        "CREATE INDEX messages_message_id_idx ON messages ((coalesce(message_id, external_id)))",
    ),
    (
        "messages_from_idx",
        "CREATE INDEX messages_from_idx ON messages (lower(from_addr) text_pattern_ops)",
    ),
    (
        "messages_from_domain_idx",
        "CREATE INDEX messages_from_domain_idx ON messages (split_part(lower(from_addr), '@', 2))",
    ),
    (
        "messages_to_idx",
        "CREATE INDEX messages_to_idx ON messages USING gin (replydesk_lower_addrs(to_addrs))",
    ),
    (
        "messages_sent_at_idx",
        "CREATE INDEX messages_sent_at_idx ON messages (sent_at)",
    ),
    (
        "conversations_inbox_idx",
        "CREATE INDEX conversations_inbox_idx ON conversations (status, last_message_at DESC, id DESC) WHERE deleted_at IS NULL",
    ),
    (
        "conversations_owner_inbox_idx",
        "CREATE INDEX conversations_owner_inbox_idx ON conversations (owner_rep_id, status, last_message_at DESC, id DESC) WHERE deleted_at IS NULL",
    ),
    (
        "conversations_recent_idx",
        "CREATE INDEX conversations_recent_idx ON conversations (last_message_at DESC, id DESC) WHERE deleted_at IS NULL",
    ),
    (
        "conversations_owner_recent_idx",
        "CREATE INDEX conversations_owner_recent_idx ON conversations (owner_rep_id, last_message_at DESC, id DESC) WHERE deleted_at IS NULL",
    ),
    (
        "conversations_lead_idx",
        "CREATE INDEX conversations_lead_idx ON conversations (lead_id)",
    ),
    (
        "conversations_unassigned_inbox_idx",
        "CREATE INDEX conversations_unassigned_inbox_idx ON conversations (status, last_message_at DESC, id DESC) WHERE deleted_at IS NULL AND owner_rep_id IS NULL",
    ),
    (
        "conversations_unassigned_recent_idx",
        "CREATE INDEX conversations_unassigned_recent_idx ON conversations (last_message_at DESC, id DESC) WHERE deleted_at IS NULL AND owner_rep_id IS NULL",
    ),
];

/// The full-text index: the longest to build, so it gets a connection of
/// its own while the others build on a second one.
pub const SEARCH_INDEX: &str = "messages_search_idx";

/// The deferred indexes that are missing or invalid (an interrupted run).
pub async fn missing_indexes(client: &Client) -> Result<Vec<&'static str>, DbError> {
    let names: Vec<&str> = DEFERRED_INDEXES.iter().map(|(n, _)| *n).collect();
    let rows = client
        .query(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace
               AND i.indisvalid",
            &[&names],
        )
        .await?;
    let valid: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    Ok(names
        .into_iter()
        .filter(|n| !valid.iter().any(|v| v == n))
        .collect())
}

/// Drop the deferred indexes before a large load, unless a reader holds
/// the table for more than two seconds (then the load maintains them).
/// Returns whether they were dropped.
pub async fn drop_deferred_indexes(client: &Client) -> Result<bool, DbError> {
    let names: Vec<&str> = DEFERRED_INDEXES.iter().map(|(n, _)| *n).collect();
    client.batch_execute("SET lock_timeout = '2s'").await?;
    let dropped = client
        .batch_execute(&format!("DROP INDEX IF EXISTS {}", names.join(", ")))
        .await;
    client.batch_execute("RESET lock_timeout").await?;
    match dropped {
        Ok(()) => Ok(true),
        Err(e) if e.code().is_some_and(|c| c.code() == "55P03") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Build one deferred index (replacing an invalid leftover). Writers wait
/// while it builds; readers do not. Several may build at once on
/// different connections.
pub async fn build_index(client: &Client, name: &str) -> Result<(), DbError> {
    let Some((_, definition)) = DEFERRED_INDEXES.iter().find(|(n, _)| *n == name) else {
        return Ok(());
    };
    client
        .batch_execute(&format!(
            "SET maintenance_work_mem = '512MB';
             SET max_parallel_maintenance_workers = 0;
             DROP INDEX IF EXISTS {name};
             {definition};
             RESET maintenance_work_mem;
             RESET max_parallel_maintenance_workers;"
        ))
        .await?;
    Ok(())
}

/// The planner's row estimate of each of `tables` (`pg_class.reltuples`;
/// -1 for a table never analyzed or vacuumed).
pub async fn row_estimates(
    client: &Client,
    tables: &[&str],
) -> Result<HashMap<String, f64>, DbError> {
    let rows = client
        .query(
            "SELECT c.relname, c.reltuples::float8 FROM pg_class c
             WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace
               AND c.relkind = 'r'",
            &[&tables],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Fresh planner statistics for `tables` (names from
/// [`crate::import::ANALYZED_TABLES`], never from outside).
pub async fn analyze(client: &Client, tables: &[&str]) -> Result<(), DbError> {
    if tables.is_empty() {
        return Ok(());
    }
    client
        .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
        .await?;
    Ok(())
}

/// One `message.received` event per inbound message this import stored:
/// those with an id in `ids` (the range the partitions inserted) and a
/// staged `(source, external_id)`, which leaves out a rep's reply sent
/// meanwhile. Written after the merge, set-based, while the indexes build.
pub async fn record_received(
    client: &Client,
    stage: &Staging,
    ids: (i64, i64),
    run: &str,
) -> Result<u64, DbError> {
    let n = client
        .execute(
            &format!(
                "INSERT INTO events (kind, conversation_id, details)
                 SELECT 'message.received', m.conversation_id,
                        jsonb_build_object('message_id', m.id, 'import', $3::text)
                 FROM messages m
                 WHERE m.id BETWEEN $1 AND $2 AND m.direction = 'inbound'
                   AND EXISTS (SELECT 1 FROM {} s
                               WHERE s.source = m.source AND s.external_id = m.external_id)",
                stage.table
            ),
            &[&ids.0, &ids.1, &run],
        )
        .await?;
    Ok(n)
}

/// The `import.completed` event: who ran it (when they are a rep) and the counts.
pub async fn record_completed(
    client: &Client,
    rep_email: Option<&str>,
    details: &serde_json::Value,
) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO events (rep_id, kind, details)
             VALUES ((SELECT id FROM reps WHERE lower(email) = lower($1)), 'import.completed', $2)",
            &[&rep_email, details],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::DEFERRED_INDEXES;
    use crate::db::migrate::MIGRATIONS;

    fn squash(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn deferred_indexes_are_defined_as_the_migrations_define_them() {
        let all: Vec<String> = MIGRATIONS.iter().map(|m| squash(m.up)).collect();
        for (name, definition) in DEFERRED_INDEXES {
            assert!(definition.contains(name));
            let want = squash(definition) + ";";
            assert!(
                all.iter().any(|up| up.contains(&want)),
                "{name}: no migration says {want}"
            );
        }
    }
}
