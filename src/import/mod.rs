//! `replydesk import`: records from a reader become threaded conversations,
//! idempotently (a `(source, external_id)` stored already is a duplicate),
//! keeping every good record when some are bad.
//!
//! The run ([`run`]), and where its time goes on two cores (1M JSONL
//! messages into an empty database: see `benches/import.rs`):
//! 1. **read + stage** ([`load`], ~45%): the reader on a blocking thread
//!    checks and encodes each record; binary COPY into an UNLOGGED staging
//!    table on one connection per core, where PostgreSQL computes the
//!    full-text vectors (the largest single cost: ~60 µs a message).
//! 2. **thread** ([`thread`], ~5%): in memory, against what the database
//!    holds, under the import lock (see [`crate::db::import`]).
//! 3. **merge** ([`crate::db::import::merge`], ~25%): conversations are
//!    split by lead into one partition per core (one when the import is
//!    small), each merged set-based in one transaction on its own
//!    connection; the vectors are copied, not computed again.
//! 4. **index** (~20%): for a load as large as half the table or more,
//!    the indexes that enforce nothing were dropped before the merge; the
//!    GIN index is built on one connection while the others build on a
//!    second, which then writes the `message.received` events.
//!
//! 5. **analyze**: the tables the import changed by more than a tenth get
//!    fresh planner statistics (see [`ANALYZE_FRACTION`]).
//!
//! Before threading, the team is looked for in the mail itself (see
//! [`team`]); [`import_path`] reads only what is new since the last import
//! of the same path (see [`source`]).
//!
//! A killed run leaves at most whole partitions committed (each
//! consistent), maybe dropped indexes and its staging table; the next
//! import builds the indexes and drops the table, and running the import
//! again completes it (what is stored is a duplicate).

pub mod load;
pub mod plan;
pub mod prepare;
pub mod source;
pub mod subject;
pub mod team;
pub mod thread;

mod run;

pub use run::import;
pub use source::{PathInput, import_path};
pub use team::FoundTeam;

use crate::db::DbError;
use crate::mail::{Position, ReadError, Rejected};

/// The tables an import writes rows to, whose planner statistics it keeps
/// current.
pub const ANALYZED_TABLES: [&str; 4] = ["messages", "conversations", "leads", "events"];

/// An import ANALYZEs a table it changed by more than this fraction of the
/// rows the table had (and any table never analyzed), at its end.
///
/// Not always: ANALYZE reads a sample of 30,000 rows whatever the change,
/// which on `messages` (wide rows, and the full-text column's lexeme
/// statistics) costs a second or more on a large table, while an everyday
/// import of a few hundred messages into a million leaves the statistics
/// as true as they were. Not never: autovacuum analyzes a table once a
/// tenth of it changed, but only at its next round (up to a minute, more
/// when it is busy), and until then the planner plans the inbox and search
/// right after a bulk load with the statistics of an empty or a much
/// smaller table. A tenth is autovacuum's own threshold
/// (`autovacuum_analyze_scale_factor`), so the import does no ANALYZE that
/// autovacuum would not do soon anyway; it only does it at once.
pub const ANALYZE_FRACTION: f64 = 0.1;

/// Whether changing `changed` rows of a table the planner estimates at
/// `estimate` rows (`None` or negative: never analyzed) calls for ANALYZE.
pub fn needs_analyze(changed: u64, estimate: Option<f64>) -> bool {
    match estimate {
        _ if changed == 0 => false,
        Some(rows) if rows >= 0.0 => changed as f64 > ANALYZE_FRACTION * rows,
        _ => true,
    }
}

/// Below this many messages an import is one transaction: a second
/// partition saves less than a connection and a transaction cost.
pub const PARTITION_MIN_ROWS: usize = 20_000;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Subject + participants join messages at most this far apart.
    pub thread_window: chrono::Duration,
    /// Besides the reps' addresses: whose mail is outbound (`@domain`
    /// for a whole domain).
    pub team_addresses: Vec<String>,
    /// Domains (and their subdomains) whose mail is outbound.
    pub team_domains: Vec<String>,
    /// Look for the team in the mail (see [`team`]) and apply what earlier
    /// imports found.
    pub detect_team: bool,
    /// COPY streams and merge partitions (one per core is right).
    pub streams: usize,
    /// `conversations.channel` of new conversations.
    pub channel: String,
    /// What is imported (a path), for the `import.completed` event.
    pub label: String,
    /// Who runs it (a rep's email), for the event.
    pub rep: Option<String>,
    /// Merge in `streams` partitions from this many messages on.
    pub partition_min_rows: usize,
}

impl Default for ImportOptions {
    /// The defaults of `[import]`, one stream per core.
    fn default() -> Self {
        ImportOptions {
            thread_window: chrono::Duration::days(30),
            team_addresses: Vec::new(),
            team_domains: Vec::new(),
            detect_team: true,
            streams: std::thread::available_parallelism().map_or(2, |n| n.get()),
            channel: "email".to_string(),
            label: String::new(),
            rep: None,
            partition_min_rows: PARTITION_MIN_ROWS,
        }
    }
}

/// The stages of a run, for progress and timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Read,
    Thread,
    Merge,
    Index,
}

/// What a run tells as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Progress(Progress),
    /// Senders found to be the team, told before anything is written.
    TeamFound(FoundTeam),
}

/// Progress: `total` is 0 while unknown (reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
}

/// Seconds spent in each stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Reading, checking and staging (full-text vectors included).
    pub read: f64,
    /// Waiting for another import to finish.
    pub wait: f64,
    /// Lookups and threading.
    pub thread: f64,
    pub merge: f64,
    /// Building the GIN index and analyzing.
    pub index: f64,
    pub total: f64,
}

/// How much of its input an import read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadScope {
    /// All of it: no earlier import of it is recorded (or it is a stream).
    #[default]
    All,
    /// All of it, as asked (`--full`).
    Full,
    /// All of it again: it changed since the last import other than by
    /// growing at its end.
    Changed,
    /// Nothing: unchanged since the last import.
    Unchanged,
    /// mbox/JSONL: what was appended since the last import.
    Appended { bytes: u64 },
    /// Maildir: the files new or changed since the last import.
    NewFiles { files: u64 },
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// How much of the input was read.
    pub scope: ReadScope,
    /// Items the reader yielded (records and rejections).
    pub read: u64,
    pub imported: u64,
    pub inbound: u64,
    pub new_conversations: u64,
    pub new_leads: u64,
    pub duplicates: u64,
    pub superseded: u64,
    /// In input order.
    pub rejected: Vec<Rejected>,
    /// Records imported after a repair, with what was repaired.
    pub notes: Vec<(Position, String)>,
    pub partitions: usize,
    /// The GIN index was dropped and built again after the load.
    pub rebuilt_search_index: bool,
    /// Senders found to be the team in this import's mail.
    pub team_found: FoundTeam,
    /// Tables analyzed at the end (see [`ANALYZE_FRACTION`]).
    pub analyzed: Vec<&'static str>,
    pub timings: Timings,
}

impl ImportReport {
    pub fn messages_per_second(&self) -> f64 {
        if self.timings.total > 0.0 {
            self.imported as f64 / self.timings.total
        } else {
            0.0
        }
    }

    /// Records imported with a repair note (a record may have several notes).
    pub fn repaired(&self) -> usize {
        let mut positions: Vec<&Position> = self.notes.iter().map(|(p, _)| p).collect();
        positions.dedup();
        positions.len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The input as a whole cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{0}")]
    Failed(String),
}

impl From<tokio_postgres::Error> for ImportError {
    fn from(e: tokio_postgres::Error) -> Self {
        ImportError::Db(DbError::Postgres(e))
    }
}

/// The stored form of a JSONL conversation key: `source:key`, the source
/// with `%` and `:` percent-encoded so two sources' keys never collide.
pub fn scoped_key(source: &str, key: &str) -> String {
    let source = source.replace('%', "%25").replace(':', "%3A");
    format!("{source}:{key}")
}

#[cfg(test)]
mod tests {
    use super::needs_analyze;

    #[test]
    fn a_tenth_changed_or_no_statistics_calls_for_analyze() {
        assert!(needs_analyze(1, None));
        assert!(needs_analyze(1, Some(-1.0)));
        assert!(needs_analyze(1, Some(0.0)));
        assert!(needs_analyze(101, Some(1000.0)));
        assert!(!needs_analyze(100, Some(1000.0)));
        assert!(!needs_analyze(0, None));
    }
}
