//! What `replydesk doctor` asks the database: server and pgvector versions,
//! indexes and their validity, HNSW indexes per embedding model, the outbox
//! backlog, and a LISTEN/NOTIFY round trip. Read-only, except `pg_notify`.

use super::DbError;
use super::migrate::MIGRATIONS;
use tokio_postgres::Client;

/// The channel the notification round trip uses (never the app's own).
pub const DOCTOR_CHANNEL: &str = "replydesk_doctor";

#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// `server_version`, e.g. "15.20 (Debian 15.20-0+deb12u1)".
    pub version: String,
    /// `server_version_num`, e.g. 150020.
    pub version_num: i32,
}

pub async fn server(client: &Client) -> Result<ServerInfo, DbError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'),
                    current_setting('server_version_num')::int",
            &[],
        )
        .await?;
    Ok(ServerInfo {
        version: row.get(0),
        version_num: row.get(1),
    })
}

/// pgvector as this database sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pgvector {
    /// The version the server could create (`pg_available_extensions`);
    /// `None`: pgvector is not installed on the server at all.
    pub available: Option<String>,
    /// The version created in this database (`pg_extension`).
    pub created: Option<String>,
}

pub async fn pgvector(client: &Client) -> Result<Pgvector, DbError> {
    let row = client
        .query_one(
            "SELECT (SELECT default_version FROM pg_available_extensions WHERE name = 'vector'),
                    (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
            &[],
        )
        .await?;
    Ok(Pgvector {
        available: row.get(0),
        created: row.get(1),
    })
}

/// True when replydesk's tables exist (at least the one named).
pub async fn table_exists(client: &Client, table: &str) -> Result<bool, DbError> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?;
    Ok(row.get(0))
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexState {
    pub name: String,
    pub table: String,
    /// False for an index left behind by a failed `CREATE INDEX CONCURRENTLY`
    /// (or one still being built): the planner does not use it.
    pub valid: bool,
}

/// Every index in the current schema, with its validity.
pub async fn indexes(client: &Client) -> Result<Vec<IndexState>, DbError> {
    let rows = client
        .query(
            "SELECT ic.relname, tc.relname, i.indisvalid AND i.indisready
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_class tc ON tc.oid = i.indrelid
              WHERE ic.relnamespace = current_schema()::regnamespace
              ORDER BY ic.relname",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| IndexState {
            name: r.get(0),
            table: r.get(1),
            valid: r.get(2),
        })
        .collect())
}

/// The indexes the applied migrations create, by name: every
/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON table` in the
/// up files of `applied` versions, in order, minus the ones a later up file
/// removes with `DROP INDEX name` or `DROP TABLE table`. Indexes that back a
/// PRIMARY KEY or UNIQUE constraint are not listed (PostgreSQL keeps those
/// with their constraint); any invalid index is reported regardless.
pub fn expected_indexes(applied: &[i64]) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| applied.contains(&m.version)) {
        apply_index_ddl(&mut out, m.up);
    }
    out.into_iter().map(|(name, _)| name).collect()
}

/// Fold the index DDL of one SQL file into `(index, table)` pairs.
pub fn apply_index_ddl(out: &mut Vec<(String, String)>, sql: &str) {
    let text: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['(', ')', ';', ','], " ");
    let tokens: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.eq_ignore_ascii_case(word));
    let name_at = |i: usize| tokens.get(i).map(|t| unquote(t)).unwrap_or_default();
    let mut i = 0;
    while i < tokens.len() {
        if is(i, "CREATE") {
            let mut j = i + 1;
            if is(j, "UNIQUE") {
                j += 1;
            }
            if is(j, "INDEX") {
                j += 1;
                if is(j, "CONCURRENTLY") {
                    j += 1;
                }
                if is(j, "IF") && is(j + 1, "NOT") && is(j + 2, "EXISTS") {
                    j += 3;
                }
                // An unnamed index (`CREATE INDEX ON t`) has a generated name.
                if !is(j, "ON") {
                    let name = name_at(j);
                    let mut k = j + 1;
                    let table = if is(k, "ON") {
                        k += 1;
                        if is(k, "ONLY") {
                            k += 1;
                        }
                        name_at(k)
                    } else {
                        String::new()
                    };
                    if !name.is_empty() && !out.iter().any(|(n, _)| *n == name) {
                        out.push((name, table));
                    }
                }
                i = j;
            }
        } else if is(i, "DROP") && (is(i + 1, "INDEX") || is(i + 1, "TABLE")) {
            let index = is(i + 1, "INDEX");
            let mut j = i + 2;
            if is(j, "CONCURRENTLY") {
                j += 1;
            }
            if is(j, "IF") && is(j + 1, "EXISTS") {
                j += 2;
            }
            let name = name_at(j);
            out.retain(|(n, t)| if index { *n != name } else { *t != name });
            i = j;
        }
        i += 1;
    }
}

/// `"Name"` → `Name`, `public.name` → `name`, `Name` → `name` (SQL folding).
fn unquote(token: &str) -> String {
    let last = token.rsplit('.').next().unwrap_or(token);
    match last.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => last.to_ascii_lowercase(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingModel {
    pub name: String,
    pub dimensions: i32,
    /// `cosine`, `l2` or `inner_product`.
    pub distance: String,
}

pub async fn embedding_models(client: &Client) -> Result<Vec<EmbeddingModel>, DbError> {
    let rows = client
        .query(
            "SELECT name, dimensions, distance FROM embedding_models ORDER BY name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| EmbeddingModel {
            name: r.get(0),
            dimensions: r.get(1),
            distance: r.get(2),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct HnswIndex {
    pub name: String,
    /// The partial index's `WHERE`, e.g. `(model = 'hashed-lexical-384'::text)`.
    pub predicate: Option<String>,
    pub valid: bool,
}

/// The HNSW indexes on `message_embeddings`.
pub async fn hnsw_indexes(client: &Client) -> Result<Vec<HnswIndex>, DbError> {
    let rows = client
        .query(
            "SELECT ic.relname, pg_get_expr(i.indpred, i.indrelid), i.indisvalid AND i.indisready
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_am am ON am.oid = ic.relam
              WHERE i.indrelid = to_regclass('message_embeddings') AND am.amname = 'hnsw'
                -- The queries order by the halfvec expression; an index on
                -- the plain vector (an older layout) serves none of them.
                AND pg_get_indexdef(i.indexrelid) LIKE '%halfvec_cosine_ops%'
              ORDER BY ic.relname",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HnswIndex {
            name: r.get(0),
            predicate: r.get(1),
            valid: r.get(2),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutboxBacklog {
    /// Rows waiting to be sent (`queued`), due or not.
    pub queued: i64,
    /// Of those, the ones whose undo window is over (`send_after < now()`).
    pub due: i64,
    /// How long the oldest due row has been due, in seconds.
    pub oldest_due_secs: Option<f64>,
    /// Rows that gave up (`failed`).
    pub failed: i64,
}

pub async fn outbox_backlog(client: &Client) -> Result<OutboxBacklog, DbError> {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE status = 'queued'),
                    count(*) FILTER (WHERE status = 'queued' AND send_after < now()),
                    extract(epoch FROM now() - min(send_after)
                      FILTER (WHERE status = 'queued' AND send_after < now()))::float8,
                    count(*) FILTER (WHERE status = 'failed')
               FROM outbox
              WHERE status IN ('queued', 'failed')",
            &[],
        )
        .await?;
    Ok(OutboxBacklog {
        queued: row.get(0),
        due: row.get(1),
        oldest_due_secs: row.get(2),
        failed: row.get(3),
    })
}

/// Start listening on the doctor's channel (on a dedicated connection).
pub async fn listen(client: &Client) -> Result<(), DbError> {
    client
        .batch_execute(&format!("LISTEN {DOCTOR_CHANNEL}"))
        .await?;
    Ok(())
}

/// Send `payload` on the doctor's channel.
pub async fn notify(client: &Client, payload: &str) -> Result<(), DbError> {
    client
        .execute("SELECT pg_notify($1, $2)", &[&DOCTOR_CHANNEL, &payload])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_indexes_come_from_the_applied_migrations() {
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        let names = expected_indexes(&all);
        for n in [
            "reps_email_key",
            "conversations_recent_idx",
            "messages_search_idx",
            "suggestions_one_pending_idx",
            "outbox_due_idx",
            "events_at_idx",
        ] {
            assert!(names.contains(&n.to_string()), "{n} in {names:?}");
        }
        assert!(expected_indexes(&[1]).is_empty(), "0001 creates no index");
    }

    #[test]
    fn later_drops_remove_indexes() {
        let mut out = Vec::new();
        apply_index_ddl(
            &mut out,
            "CREATE UNIQUE INDEX IF NOT EXISTS a_idx ON ONLY public.t (x);\n\
             -- CREATE INDEX commented_idx ON t (x);\n\
             CREATE INDEX CONCURRENTLY \"B_idx\" ON u USING gin (y);\n\
             CREATE INDEX ON t (z);\n\
             CREATE INDEX c_idx ON t (z);",
        );
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a_idx", "B_idx", "c_idx"]);
        apply_index_ddl(&mut out, "DROP INDEX IF EXISTS a_idx; DROP TABLE t;");
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["B_idx"]);
    }
}
