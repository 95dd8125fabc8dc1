//! Staging: one UNLOGGED table per import run, filled by binary COPY from
//! several connections at once. Its generated column computes each
//! message's full-text vector with the function `messages.search` uses, so
//! that cost is spread over every COPY stream (one per core) and the merge
//! only copies the vector.

use super::Types;
use crate::db::{DbError, Direction};
use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::{SinkExt, pin_mut};
use tokio_postgres::Client;
use tokio_postgres::types::{IsNull, ToSql, Type};

/// Every staging table's name starts so; then the backend pid of the
/// importing session, so a later import can tell a dead run's table.
pub const PREFIX: &str = "replydesk_import_";

/// One message as staged (what `messages` will hold, but its place),
/// borrowed from the record it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageRow<'a> {
    /// The record's number in this run (input order among usable records).
    pub row_no: i64,
    pub source: &'a str,
    pub external_id: &'a str,
    /// Only when it differs from `external_id` (see migration 0004).
    pub message_id: Option<&'a str>,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub direction: Direction,
    /// As displayed: `Name <address>` or the bare address.
    pub from_addr: &'a str,
    pub to_addrs: &'a [String],
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    pub headers: &'a serde_json::Value,
    pub attachments: &'a serde_json::Value,
    pub sent_at: DateTime<Utc>,
}

/// The staging table of one run. It is never analyzed: the planner sizes
/// it from its pages, which is all the merge's hash join needs, while
/// statistics on its vectors would cost seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging {
    /// Unquoted; made of `[a-z0-9_]` only, so it is safe to format into SQL.
    pub table: String,
}

impl Staging {
    /// A name no other run uses: the session's backend pid and a nonce.
    pub fn named(backend_pid: i32) -> Staging {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Staging {
            table: format!("{PREFIX}{}_{:08x}", backend_pid.max(0), nanos),
        }
    }

    pub async fn create(&self, client: &Client) -> Result<(), DbError> {
        client
            .batch_execute(&format!(
                "CREATE UNLOGGED TABLE {} (
                   row_no        bigint NOT NULL,
                   source        text NOT NULL,
                   external_id   text NOT NULL,
                   message_id    text,
                   in_reply_to   text,
                   \"references\" text[] NOT NULL,
                   direction     message_direction NOT NULL,
                   from_addr     text NOT NULL,
                   to_addrs      text[] NOT NULL,
                   subject       text NOT NULL,
                   body_text     text NOT NULL,
                   body_html     text,
                   headers       jsonb NOT NULL,
                   attachments   jsonb NOT NULL,
                   sent_at       timestamptz NOT NULL,
                   search        tsvector GENERATED ALWAYS AS
                                   (replydesk_message_search(subject, body_text)) STORED
                 ) WITH (autovacuum_enabled = false)",
                self.table
            ))
            .await?;
        Ok(())
    }

    /// Drop the table (it may already be gone).
    pub async fn drop_table(&self, client: &Client) -> Result<(), DbError> {
        client
            .batch_execute(&format!("DROP TABLE IF EXISTS {}", self.table))
            .await?;
        Ok(())
    }
}

/// Drop the staging tables of runs whose session is gone (a killed import).
pub async fn drop_stale(client: &Client) -> Result<usize, DbError> {
    let rows = client
        .query(
            "SELECT c.relname FROM pg_class c
             WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
               AND starts_with(c.relname, $1)
               AND NOT EXISTS (
                 SELECT 1 FROM pg_stat_activity a
                 WHERE starts_with(c.relname, $1 || a.pid::text || '_'))",
            &[&PREFIX],
        )
        .await?;
    for row in &rows {
        let name: String = row.get(0);
        if name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            client
                .batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
                .await?;
        }
    }
    Ok(rows.len())
}

const COLUMNS: &str = "row_no, source, external_id, message_id, in_reply_to, \"references\", direction, \
                       from_addr, to_addrs, subject, body_text, body_html, headers, attachments, sent_at";

/// The COPY header of the binary format, then flags and extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
const TRAILER: &[u8] = &[0xff, 0xff];

/// Staged rows encoded for a binary COPY, built in memory so a chunk goes
/// to the server as one message (tokio-postgres's writer sends every 4 KB,
/// each a round trip between tasks), and encoded where the record is read,
/// so its strings are never copied.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    data: BytesMut,
    /// Row number and end offset of each row.
    rows: Vec<(i64, usize)>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes encoded so far.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    pub fn row_numbers(&self) -> impl Iterator<Item = i64> + '_ {
        self.rows.iter().map(|(n, _)| *n)
    }

    /// Append a row, or say why it cannot be sent (nothing is appended).
    pub fn push(&mut self, row: &StageRow<'_>, columns: &Columns) -> Result<(), String> {
        let values: [&(dyn ToSql + Sync); 15] = [
            &row.row_no,
            &row.source,
            &row.external_id,
            &row.message_id,
            &row.in_reply_to,
            &row.references,
            &row.direction,
            &row.from_addr,
            &row.to_addrs,
            &row.subject,
            &row.body_text,
            &row.body_html,
            row.headers,
            row.attachments,
            &row.sent_at,
        ];
        let start = self.data.len();
        match encode_row(&mut self.data, &values, &columns.0) {
            Ok(()) => {
                self.rows.push((row.row_no, self.data.len()));
                Ok(())
            }
            Err(reason) => {
                self.data.truncate(start);
                Err(reason)
            }
        }
    }

    /// Each row on its own: (row number, its bytes).
    fn each(&self) -> impl Iterator<Item = (i64, &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.rows.iter().map(|(_, end)| *end));
        self.rows
            .iter()
            .zip(starts)
            .map(|((n, end), start)| (*n, &self.data[start..*end]))
    }

    /// The rows whose numbers `keep` accepts.
    pub fn only(&self, keep: impl Fn(i64) -> bool) -> Encoded {
        let mut out = Encoded::default();
        for (n, bytes) in self.each().filter(|(n, _)| keep(*n)) {
            out.data.put_slice(bytes);
            out.rows.push((n, out.data.len()));
        }
        out
    }

    /// Each row as its own one-row chunk.
    pub fn split(&self) -> Vec<Encoded> {
        self.each()
            .map(|(n, bytes)| Encoded {
                data: BytesMut::from(bytes),
                rows: vec![(n, bytes.len())],
            })
            .collect()
    }

    fn framed(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER.len() + self.data.len() + TRAILER.len());
        out.put_slice(HEADER);
        out.put_slice(&self.data);
        out.put_slice(TRAILER);
        out.freeze()
    }
}

/// The staging table's column types, in COPY order.
#[derive(Debug, Clone)]
pub struct Columns([Type; 15]);

impl Columns {
    pub fn new(types: &Types) -> Columns {
        Columns(column_types(types))
    }
}

fn column_types(types: &Types) -> [Type; 15] {
    [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        types.direction.clone(),
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::JSONB,
        Type::JSONB,
        Type::TIMESTAMPTZ,
    ]
}

/// One row: the field count, then each field's length and bytes (-1: NULL).
fn encode_row(
    buf: &mut BytesMut,
    values: &[&(dyn ToSql + Sync)],
    types: &[Type],
) -> Result<(), String> {
    buf.put_i16(values.len() as i16);
    for (value, ty) in values.iter().zip(types) {
        let at = buf.len();
        buf.put_i32(0);
        let written = value
            .to_sql_checked(ty, buf)
            .map_err(|e| format!("cannot send it to PostgreSQL: {e}"))?;
        let len = match written {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(buf.len() - at - 4)
                .map_err(|_| "a field is larger than PostgreSQL takes".to_string())?,
        };
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// COPY encoded rows into the staging table in one statement.
pub async fn copy_rows(
    client: &Client,
    stage: &Staging,
    rows: &Encoded,
) -> Result<(), tokio_postgres::Error> {
    let sink = client
        .copy_in::<_, Bytes>(&format!(
            "COPY {} ({COLUMNS}) FROM STDIN (FORMAT binary)",
            stage.table
        ))
        .await?;
    pin_mut!(sink);
    sink.send(rows.framed()).await?;
    sink.as_mut().finish().await?;
    Ok(())
}

/// Whether a failed COPY was about the data (one record PostgreSQL would
/// not take) rather than the connection or the server.
pub fn is_data_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| {
        let class = &d.code().code()[..2];
        matches!(class, "22" | "23" | "54")
    })
}

/// Which of these `(row number, source, external_id)` are stored already.
pub async fn stored(client: &Client, keys: &[(i64, String, String)]) -> Result<Vec<i64>, DbError> {
    let numbers: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let sources: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    let found = client
        .query(
            "SELECT u.row_no FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(row_no, source, external_id)
             WHERE EXISTS (SELECT 1 FROM messages m
                           WHERE m.source = u.source AND m.external_id = u.external_id)",
            &[&numbers, &sources, &ids],
        )
        .await?;
    Ok(found.iter().map(|r| r.get(0)).collect())
}

/// The staged rows that are stored already (another import committed them
/// since they were checked), by row number.
pub async fn stored_since(client: &Client, stage: &Staging) -> Result<Vec<i64>, DbError> {
    let rows = client
        .query(
            &format!(
                "SELECT s.row_no FROM {} s
                 WHERE EXISTS (SELECT 1 FROM messages m
                               WHERE m.source = s.source AND m.external_id = s.external_id)",
                stage.table
            ),
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
