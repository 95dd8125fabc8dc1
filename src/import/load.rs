//! Reading and staging. The reader (a synchronous iterator) runs on a
//! blocking thread that also checks each record, encodes its staged row
//! for a binary COPY, and keeps what threading needs (the record's strings
//! move there, nothing is copied). Chunks of encoded rows go through a
//! channel to one COPY stream per core, each on its own connection, where
//! PostgreSQL computes the full-text vectors as the rows arrive. The
//! bodies are not kept.

use super::prepare::{Kept, Team, prepare};
use super::team::Evidence;
use super::{ImportError, Phase, Progress, thread};
use crate::db::import::{self as dbi, Columns, Encoded, Staging, Types};
use crate::db::pool::DbConfig;
use crate::mail::{Item, Position, Rejected};
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

/// Encoded bytes per COPY statement (and per chunk through the channel).
const CHUNK_BYTES: usize = 2 << 20;

/// What reading and staging leave behind.
#[derive(Debug, Default)]
pub struct Loaded {
    /// By row number (staged records in input order).
    pub kept: Vec<Kept>,
    /// By row number.
    pub messages: Vec<thread::Message>,
    /// By row number: not to be merged (stored already, or refused by
    /// PostgreSQL when staged).
    pub skip: Vec<bool>,
    /// Items the reader yielded.
    pub read: u64,
    pub duplicates: u64,
    /// With the item's index in the input, to report in input order.
    pub rejected: Vec<(u64, Rejected)>,
    /// Repair notes, with the row number of their record.
    pub notes: Vec<(usize, Position, String)>,
    /// By row number: who wrote to whom (when the team is to be detected).
    pub evidence: Evidence,
}

impl Loaded {
    /// Mark a staged row as stored already.
    pub fn duplicate(&mut self, row_no: i64) {
        if let Some(skip) = self.skip.get_mut(row_no as usize)
            && !*skip
        {
            *skip = true;
            self.duplicates += 1;
        }
    }

    /// Refuse a staged row with a reason (reported with its position).
    pub fn reject(&mut self, row_no: usize, reason: String) {
        if let Some(kept) = self.kept.get(row_no) {
            let rejected = Rejected {
                position: kept.position.clone(),
                reason,
            };
            self.rejected.push((kept.index, rejected));
        }
        if let Some(skip) = self.skip.get_mut(row_no) {
            *skip = true;
        }
    }
}

/// Rows for one COPY, and their keys when they are to be looked up among
/// stored messages first.
struct Chunk {
    rows: Encoded,
    keys: Vec<(i64, String, String)>,
}

/// What one COPY stream found.
#[derive(Default)]
struct StreamResult {
    stored: Vec<i64>,
    refused: Vec<(i64, String)>,
}

/// How to stage.
pub struct Staged<'a> {
    pub db: &'a DbConfig,
    pub stage: &'a Staging,
    pub types: &'a Types,
    pub team: Team,
    pub streams: usize,
    /// Look each chunk up among stored messages first (pointless in an
    /// empty database; saves the vectors of a re-import).
    pub check_stored: bool,
    /// Keep who wrote to whom, to find the team in the mail.
    pub evidence: bool,
}

/// Read every item, stage the usable records, keep what threading needs.
pub async fn load(
    how: Staged<'_>,
    items: Box<dyn Iterator<Item = Item> + Send>,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Loaded, ImportError> {
    let (tx, rx) = mpsc::channel::<Chunk>(how.streams.max(1) * 2);
    let rx = Arc::new(Mutex::new(rx));
    let mut streams = Vec::new();
    for _ in 0..how.streams.max(1) {
        let (db, stage, rx) = (how.db.clone(), how.stage.clone(), rx.clone());
        streams.push(tokio::spawn(async move { stream(&db, &stage, rx).await }));
    }
    let reader = Reader {
        team: how.team,
        columns: Columns::new(how.types),
        check_stored: how.check_stored,
        evidence: how.evidence,
        progress,
    };
    let produced = tokio::task::spawn_blocking(move || reader.produce(items, &tx)).await;
    let mut first_err = None;
    let mut loaded = match produced {
        Ok(loaded) => loaded,
        Err(e) => {
            first_err = Some(ImportError::Failed(format!("the reader failed: {e}")));
            Loaded::default()
        }
    };
    loaded.skip = vec![false; loaded.kept.len()];
    for s in streams {
        match s.await {
            Ok(Ok(result)) => {
                for row_no in result.stored {
                    loaded.duplicate(row_no);
                }
                for (row_no, reason) in result.refused {
                    loaded.reject(row_no as usize, reason);
                }
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(ImportError::Failed(format!("a COPY stream failed: {e}")));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(loaded),
    }
}

/// The reading thread's state.
struct Reader {
    team: Team,
    columns: Columns,
    check_stored: bool,
    evidence: bool,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
}

impl Reader {
    /// Check and encode each record, drop repeats within the input, send
    /// chunks; return what is kept.
    fn produce(
        self,
        items: Box<dyn Iterator<Item = Item> + Send>,
        tx: &mpsc::Sender<Chunk>,
    ) -> Loaded {
        let mut loaded = Loaded::default();
        let mut seen = Seen::default();
        let mut chunk = self.chunk();
        for (n, item) in items.enumerate() {
            loaded.read += 1;
            let record = match item {
                Item::Rejected(r) => {
                    loaded.rejected.push((n as u64, r));
                    continue;
                }
                Item::Record(record) => record,
            };
            let key = seen.key(&record.source, &record.external_id);
            if seen.contains(key) {
                loaded.duplicates += 1;
                continue;
            }
            let row_no = loaded.kept.len() as i64;
            let position = record.position.clone();
            let notes = record.notes.clone();
            let lookup = self
                .check_stored
                .then(|| (row_no, record.source.clone(), record.external_id.clone()));
            if self.evidence {
                let given = record.direction.is_some();
                loaded
                    .evidence
                    .push(&record.from_addr, &record.to_addrs, given);
            }
            match prepare(*record, row_no, &self.team, &mut chunk.rows, &self.columns) {
                Ok((mut kept, message)) => {
                    seen.insert(key);
                    kept.index = n as u64;
                    loaded.kept.push(kept);
                    loaded.messages.push(message);
                    loaded.notes.extend(
                        notes
                            .into_iter()
                            .map(|note| (row_no as usize, position.clone(), note)),
                    );
                    chunk.keys.extend(lookup);
                }
                Err(reason) => {
                    if self.evidence {
                        loaded.evidence.pop();
                    }
                    loaded
                        .rejected
                        .push((n as u64, Rejected { position, reason }))
                }
            }
            if chunk.rows.bytes() >= CHUNK_BYTES {
                let full = std::mem::replace(&mut chunk, self.chunk());
                if tx.blocking_send(full).is_err() {
                    return loaded;
                }
                (self.progress)(Progress {
                    phase: Phase::Read,
                    done: loaded.read,
                    total: 0,
                });
            }
        }
        if !chunk.rows.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
        loaded
    }

    fn chunk(&self) -> Chunk {
        Chunk {
            rows: Encoded::default(),
            keys: Vec::new(),
        }
    }
}

/// `(source, external_id)` pairs seen in the input, as 128-bit hashes (two
/// keyed SipHashes): no copy of the strings, and a false match is as
/// likely as a cosmic ray.
#[derive(Default)]
struct Seen {
    hashes: HashSet<u128>,
    keys: (std::hash::RandomState, std::hash::RandomState),
}

impl Seen {
    fn key(&self, source: &str, external_id: &str) -> u128 {
        let half = |state: &std::hash::RandomState| state.hash_one((source, external_id));
        (u128::from(half(&self.keys.0)) << 64) | u128::from(half(&self.keys.1))
    }

    fn contains(&self, key: u128) -> bool {
        self.hashes.contains(&key)
    }

    fn insert(&mut self, key: u128) {
        self.hashes.insert(key);
    }
}

/// One COPY stream: its own connection, chunks from the shared channel.
async fn stream(
    db: &DbConfig,
    stage: &Staging,
    rx: Arc<Mutex<mpsc::Receiver<Chunk>>>,
) -> Result<StreamResult, ImportError> {
    let client = dbi::session(db).await?;
    let mut result = StreamResult::default();
    loop {
        let next = rx.lock().await.recv().await;
        let Some(chunk) = next else { break };
        let mut rows = chunk.rows;
        if !chunk.keys.is_empty() {
            let stored = dbi::stage::stored(&client, &chunk.keys).await?;
            if !stored.is_empty() {
                let set: HashSet<i64> = stored.iter().copied().collect();
                rows = rows.only(|n| !set.contains(&n));
                result.stored.extend(stored);
            }
        }
        if !rows.is_empty() {
            result
                .refused
                .extend(copy_or_isolate(&client, stage, &rows).await?);
        }
    }
    Ok(result)
}

/// COPY a chunk; when PostgreSQL refuses it for its data, COPY its rows
/// one by one and return the refused ones with the server's reason.
async fn copy_or_isolate(
    client: &tokio_postgres::Client,
    stage: &Staging,
    rows: &Encoded,
) -> Result<Vec<(i64, String)>, ImportError> {
    match dbi::stage::copy_rows(client, stage, rows).await {
        Ok(()) => return Ok(Vec::new()),
        Err(e) if dbi::stage::is_data_error(&e) => {}
        Err(e) => return Err(crate::db::DbError::from(e).into()),
    }
    let mut refused = Vec::new();
    for row in rows.split() {
        match dbi::stage::copy_rows(client, stage, &row).await {
            Ok(()) => {}
            Err(e) if dbi::stage::is_data_error(&e) => {
                for n in row.row_numbers() {
                    refused.push((
                        n,
                        format!("PostgreSQL refused it: {}", crate::db::error::describe(&e)),
                    ));
                }
            }
            Err(e) => return Err(crate::db::DbError::from(e).into()),
        }
    }
    Ok(refused)
}
