//! Schema migrations: plain SQL files in `migrations/`, embedded in the
//! binary, applied in order under a PostgreSQL advisory lock so that any
//! number of `replydesk --migrate` started at once end with one schema.
//!
//! Each file runs in its own transaction, unless its first line is
//! `-- replydesk:no-transaction` (for `CREATE INDEX CONCURRENTLY`); such a
//! file holds one statement per `;`-terminated line group.

use super::DbError;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

macro_rules! migration {
    ($version:literal, $stem:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!("../../migrations/", $stem, "_", $name, ".up.sql")),
            down: include_str!(concat!("../../migrations/", $stem, "_", $name, ".down.sql")),
        }
    };
}

/// Every migration this binary knows, in order.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001", "pgvector"),
    migration!(2, "0002", "core"),
    migration!(3, "0003", "ownership_rls"),
    migration!(4, "0004", "import"),
    migration!(5, "0005", "import_sources"),
    migration!(6, "0006", "search"),
    migration!(7, "0007", "drafts"),
];

/// The advisory lock key that serialises migration runs ("replydsk").
const LOCK_KEY: i64 = 0x7265_706c_7964_736b;
const NO_TRANSACTION: &str = "-- replydesk:no-transaction";

pub fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file changed since.
    Drifted,
    /// Applied by a newer binary; this one has no such file.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct StatusRow {
    pub version: i64,
    pub name: String,
    pub state: State,
    pub checksum: String,
    pub applied_at: Option<DateTime<Utc>>,
}

/// What a database looks like to this binary.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaState {
    /// Nothing of replydesk is there yet: first launch.
    Empty,
    Current,
    Behind {
        pending: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i64,
    pub name: &'static str,
    pub took: Duration,
}

struct AppliedRow {
    version: i64,
    name: String,
    checksum: String,
    applied_at: DateTime<Utc>,
}

async fn table_exists(client: &Client) -> Result<bool, DbError> {
    let row = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?;
    Ok(row.get(0))
}

async fn applied_rows(client: &Client) -> Result<Vec<AppliedRow>, DbError> {
    if !table_exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AppliedRow {
            version: r.get(0),
            name: r.get(1),
            checksum: r.get(2),
            applied_at: r.get(3),
        })
        .collect())
}

/// Applied and pending migrations with checksums and drift.
pub async fn status(client: &Client) -> Result<Vec<StatusRow>, DbError> {
    let applied = applied_rows(client).await?;
    let mut out = Vec::new();
    for m in MIGRATIONS {
        let sum = checksum(m.up);
        match applied.iter().find(|a| a.version == m.version) {
            Some(a) => out.push(StatusRow {
                version: m.version,
                name: m.name.to_string(),
                state: if a.checksum == sum {
                    State::Applied
                } else {
                    State::Drifted
                },
                checksum: a.checksum.clone(),
                applied_at: Some(a.applied_at),
            }),
            None => out.push(StatusRow {
                version: m.version,
                name: m.name.to_string(),
                state: State::Pending,
                checksum: sum,
                applied_at: None,
            }),
        }
    }
    for a in applied
        .iter()
        .filter(|a| MIGRATIONS.iter().all(|m| m.version != a.version))
    {
        out.push(StatusRow {
            version: a.version,
            name: a.name.clone(),
            state: State::Unknown,
            checksum: a.checksum.clone(),
            applied_at: Some(a.applied_at),
        });
    }
    Ok(out)
}

/// Refuse drift and a schema from a newer binary; otherwise say how far behind.
pub async fn check(client: &Client) -> Result<SchemaState, DbError> {
    let rows = status(client).await?;
    verify(&rows)?;
    let pending = rows.iter().filter(|r| r.state == State::Pending).count();
    if pending == MIGRATIONS.len() {
        Ok(SchemaState::Empty)
    } else if pending == 0 {
        Ok(SchemaState::Current)
    } else {
        Ok(SchemaState::Behind { pending })
    }
}

fn verify(rows: &[StatusRow]) -> Result<(), DbError> {
    if let Some(r) = rows.iter().find(|r| r.state == State::Unknown) {
        return Err(DbError::SchemaAhead { version: r.version });
    }
    if let Some(r) = rows.iter().find(|r| r.state == State::Drifted) {
        return Err(DbError::Drift {
            version: r.version,
            name: r.name.clone(),
        });
    }
    Ok(())
}

async fn with_lock<T>(
    client: &mut Client,
    work: impl AsyncFnOnce(&mut Client) -> Result<T, DbError>,
) -> Result<T, DbError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = work(client).await;
    // The lock dies with the session anyway; unlocking is a courtesy.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn ensure_table(client: &Client) -> Result<(), DbError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
               version     bigint PRIMARY KEY,
               name        text NOT NULL,
               checksum    text NOT NULL,
               applied_at  timestamptz NOT NULL DEFAULT now(),
               duration_ms integer NOT NULL DEFAULT 0
             )",
        )
        .await?;
    Ok(())
}

/// The one-line error for a migration that failed (pgvector missing or not
/// creatable get their own instructions).
pub fn map_failure(m: &Migration, e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        if db.message().contains("pgvector is not installed") {
            return DbError::PgvectorMissing;
        }
        if db.code().code() == "42501" && m.up.contains("CREATE EXTENSION") {
            return DbError::PgvectorNeedsSuperuser;
        }
        if db.code().code() == "0A000" && db.message().contains("extension \"vector\"") {
            return DbError::PgvectorMissing;
        }
    }
    DbError::Migration {
        version: m.version,
        name: m.name.to_string(),
        reason: super::error::describe(&e),
    }
}

async fn run_sql(client: &mut Client, sql: &str) -> Result<(), tokio_postgres::Error> {
    if sql.starts_with(NO_TRANSACTION) {
        for stmt in sql.split(";\n").map(str::trim).filter(|s| {
            !s.lines()
                .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
        }) {
            client.batch_execute(stmt).await?;
        }
        Ok(())
    } else {
        client.batch_execute(sql).await
    }
}

/// Apply every pending migration (up to `target` when given).
pub async fn up(client: &mut Client, target: Option<i64>) -> Result<Vec<Applied>, DbError> {
    with_lock(client, async |client: &mut Client| {
        ensure_table(client).await?;
        verify(&status(client).await?)?;
        let done: Vec<i64> = applied_rows(client)
            .await?
            .iter()
            .map(|a| a.version)
            .collect();
        let mut applied = Vec::new();
        for m in MIGRATIONS
            .iter()
            .filter(|m| !done.contains(&m.version))
            .filter(|m| target.is_none_or(|t| m.version <= t))
        {
            let started = Instant::now();
            let in_tx = !m.up.starts_with(NO_TRANSACTION);
            if in_tx {
                client.batch_execute("BEGIN").await?;
            }
            let result = run_sql(client, m.up).await;
            if let Err(e) = result {
                if in_tx {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                return Err(map_failure(m, e));
            }
            let took = started.elapsed();
            client
                .execute(
                    "INSERT INTO schema_migrations (version, name, checksum, duration_ms)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &m.version,
                        &m.name,
                        &checksum(m.up),
                        &(took.as_millis().min(i32::MAX as u128) as i32),
                    ],
                )
                .await?;
            if in_tx {
                client.batch_execute("COMMIT").await?;
            }
            applied.push(Applied {
                version: m.version,
                name: m.name,
                took,
            });
        }
        Ok(applied)
    })
    .await
}

/// Roll back the last `n` applied migrations, newest first.
pub async fn down(client: &mut Client, n: usize) -> Result<Vec<Applied>, DbError> {
    with_lock(client, async |client: &mut Client| {
        ensure_table(client).await?;
        verify(&status(client).await?)?;
        let mut done: Vec<i64> = applied_rows(client)
            .await?
            .iter()
            .map(|a| a.version)
            .collect();
        done.sort_unstable_by(|a, b| b.cmp(a));
        let mut reverted = Vec::new();
        for version in done.into_iter().take(n) {
            let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else {
                return Err(DbError::SchemaAhead { version });
            };
            let started = Instant::now();
            let in_tx = !m.down.starts_with(NO_TRANSACTION);
            if in_tx {
                client.batch_execute("BEGIN").await?;
            }
            if let Err(e) = run_sql(client, m.down).await {
                if in_tx {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                return Err(map_failure(m, e));
            }
            client
                .execute(
                    "DELETE FROM schema_migrations WHERE version = $1",
                    &[&m.version],
                )
                .await?;
            if in_tx {
                client.batch_execute("COMMIT").await?;
            }
            reverted.push(Applied {
                version: m.version,
                name: m.name,
                took: started.elapsed(),
            });
        }
        Ok(reverted)
    })
    .await
}
