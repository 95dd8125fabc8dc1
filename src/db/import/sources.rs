//! What earlier imports read from each source (migration 0005), and the
//! team addresses they found in the mail.

use crate::db::DbError;
use crate::mail::marks::{MaildirKnown, SeenDir, SeenFile};
use futures::pin_mut;
use std::collections::HashMap;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// A source: a canonical absolute path read as one format with one
/// `--source` (empty when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKey {
    pub path: String,
    /// `jsonl`, `mbox` or `maildir`.
    pub format: &'static str,
    pub source: String,
}

/// How far an mbox or JSONL file was read (see the migration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub size: u64,
    pub mtime_ns: i64,
    pub offset: u64,
    pub lines: u64,
    pub head: Vec<u8>,
    pub before: Vec<u8>,
}

/// A source as an earlier import left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    /// mbox/JSONL.
    pub file: Option<FileState>,
    /// Maildir: folder → its trusted mtime; folders whose mtime is not
    /// to be trusted are left out.
    pub dirs: HashMap<String, i64>,
    /// Maildir: every folder recorded, trusted or not.
    pub dir_count: usize,
}

/// What to record after an import committed what it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    File(FileState),
    Maildir {
        dirs: Vec<SeenDir>,
        files: Vec<SeenFile>,
        /// Forget what was recorded before (`--full`).
        replace: bool,
    },
}

/// The source's record, if an import recorded one.
pub async fn find(client: &Client, key: &SourceKey) -> Result<Option<Stored>, DbError> {
    let Some(row) = client
        .query_opt(
            "SELECT id, size, mtime_ns, read_offset, read_lines, head_sha256, tail_sha256
             FROM import_sources WHERE path = $1 AND format = $2 AND source = $3",
            &[&key.path, &key.format, &key.source],
        )
        .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let file = match (
        row.get::<_, Option<i64>>(1),
        row.get::<_, Option<i64>>(2),
        row.get::<_, Option<i64>>(3),
        row.get::<_, Option<Vec<u8>>>(5),
        row.get::<_, Option<Vec<u8>>>(6),
    ) {
        (Some(size), Some(mtime_ns), Some(offset), Some(head), Some(before)) => Some(FileState {
            size: size.max(0) as u64,
            mtime_ns,
            offset: offset.max(0) as u64,
            lines: row.get::<_, Option<i64>>(4).unwrap_or(0).max(0) as u64,
            head,
            before,
        }),
        _ => None,
    };
    let rows = client
        .query(
            "SELECT dir, mtime_ns FROM import_source_dirs WHERE source_id = $1",
            &[&id],
        )
        .await?;
    let dir_count = rows.len();
    let dirs = rows
        .iter()
        .filter_map(|r| Some((r.get::<_, String>(0), r.get::<_, Option<i64>>(1)?)))
        .collect();
    Ok(Some(Stored {
        id,
        file,
        dirs,
        dir_count,
    }))
}

/// The Maildir files an import of source `id` read, for [`MaildirKnown`].
pub async fn files(client: &Client, id: i64) -> Result<HashMap<String, (u64, i64)>, DbError> {
    let rows = client
        .query(
            "SELECT name, size, mtime_ns FROM import_source_files WHERE source_id = $1",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let size: i64 = r.get(1);
            (r.get(0), (size.max(0) as u64, r.get(2)))
        })
        .collect())
}

/// What a Maildir source's earlier imports read, ready for its reader.
pub async fn maildir_known(client: &Client, stored: &Stored) -> Result<MaildirKnown, DbError> {
    Ok(MaildirKnown {
        files: files(client, stored.id).await?,
        dirs: stored.dirs.clone(),
    })
}

/// Record what an import read of `key`, in one transaction. Returns the
/// source's id.
pub async fn record(client: &Client, key: &SourceKey, what: &Record) -> Result<i64, DbError> {
    client.batch_execute("BEGIN").await?;
    let result = record_in_transaction(client, key, what).await;
    match result {
        Ok(id) => {
            client.batch_execute("COMMIT").await?;
            Ok(id)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn record_in_transaction(
    client: &Client,
    key: &SourceKey,
    what: &Record,
) -> Result<i64, DbError> {
    let file = match what {
        Record::File(f) => Some(f),
        Record::Maildir { .. } => None,
    };
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let row = client
        .query_one(
            "INSERT INTO import_sources AS s (path, format, source, size, mtime_ns, read_offset,
                                              read_lines, head_sha256, tail_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (path, format, source) DO UPDATE SET
               size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns,
               read_offset = EXCLUDED.read_offset, read_lines = EXCLUDED.read_lines,
               head_sha256 = EXCLUDED.head_sha256, tail_sha256 = EXCLUDED.tail_sha256,
               imported_at = now()
             RETURNING id",
            &[
                &key.path,
                &key.format,
                &key.source,
                &file.map(|f| as_i64(f.size)),
                &file.map(|f| f.mtime_ns),
                &file.map(|f| as_i64(f.offset)),
                &file.map(|f| as_i64(f.lines)),
                &file.map(|f| f.head.as_slice()),
                &file.map(|f| f.before.as_slice()),
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    if let Record::Maildir {
        dirs,
        files,
        replace,
    } = what
    {
        if *replace {
            client
                .execute(
                    "DELETE FROM import_source_dirs WHERE source_id = $1",
                    &[&id],
                )
                .await?;
            client
                .execute(
                    "DELETE FROM import_source_files WHERE source_id = $1",
                    &[&id],
                )
                .await?;
        }
        record_dirs(client, id, dirs).await?;
        record_files(client, id, files).await?;
    }
    Ok(id)
}

async fn record_dirs(client: &Client, id: i64, dirs: &[SeenDir]) -> Result<(), DbError> {
    if dirs.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = dirs.iter().map(|d| d.dir.as_str()).collect();
    let mtimes: Vec<Option<i64>> = dirs.iter().map(|d| d.mtime_ns).collect();
    client
        .execute(
            "INSERT INTO import_source_dirs (source_id, dir, mtime_ns)
             SELECT DISTINCT ON (dir) $1, dir, mtime_ns
             FROM unnest($2::text[], $3::bigint[]) AS d(dir, mtime_ns)
             ORDER BY dir, mtime_ns NULLS FIRST
             ON CONFLICT (source_id, dir) DO UPDATE SET mtime_ns = EXCLUDED.mtime_ns",
            &[&id, &names, &mtimes],
        )
        .await?;
    Ok(())
}

/// The files through binary COPY (a first import records every file of a
/// Maildir: 100K rows and more).
async fn record_files(client: &Client, id: i64, files: &[SeenFile]) -> Result<(), DbError> {
    if files.is_empty() {
        return Ok(());
    }
    client
        .batch_execute(
            "CREATE TEMP TABLE IF NOT EXISTS replydesk_import_files (
               name text NOT NULL, size bigint NOT NULL, mtime_ns bigint NOT NULL
             ) ON COMMIT DELETE ROWS",
        )
        .await?;
    let sink = client
        .copy_in("COPY replydesk_import_files (name, size, mtime_ns) FROM STDIN (FORMAT binary)")
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8, Type::INT8]);
    pin_mut!(writer);
    for f in files {
        let size = i64::try_from(f.size).unwrap_or(i64::MAX);
        let row: [&(dyn ToSql + Sync); 3] = [&f.name, &size, &f.mtime_ns];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    client
        .execute(
            "INSERT INTO import_source_files (source_id, name, size, mtime_ns)
             SELECT DISTINCT ON (name) $1, name, size, mtime_ns FROM replydesk_import_files
             ORDER BY name
             ON CONFLICT (source_id, name) DO UPDATE
               SET size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns",
            &[&id],
        )
        .await?;
    Ok(())
}

/// The team addresses earlier imports found (`@domain` for a domain).
pub async fn team_found(client: &Client) -> Result<Vec<String>, DbError> {
    let rows = client
        .query(
            "SELECT address FROM import_team_addresses ORDER BY address",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Remember team addresses (`@domain` for a domain) an import found.
pub async fn remember_team(
    client: &Client,
    addresses: &[String],
    source_id: Option<i64>,
) -> Result<(), DbError> {
    if addresses.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "INSERT INTO import_team_addresses (address, source_id)
             SELECT lower(a), $2 FROM unnest($1::text[]) AS a
             WHERE a LIKE '%@%'
             ON CONFLICT (address) DO NOTHING",
            &[&addresses, &source_id],
        )
        .await?;
    Ok(())
}
