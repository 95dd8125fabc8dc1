//! `replydesk import PATH` again reads only what is new: what earlier
//! imports read of a path is recorded (migration 0005) once it is
//! committed, keyed by the canonical path, the format and `--source`.
//!
//! - **mbox / JSONL**: unchanged (same size and mtime, same fingerprints)
//!   → nothing is read; grown at the end (the first 64 KiB and the 64 KiB
//!   before the recorded offset as they were, and for mbox a `From ` line
//!   at that offset) → read from the offset on, numbering lines and
//!   offsets as a full read would; anything else → read in full (what is
//!   stored is a duplicate, as ever).
//! - **Maildir**: a cur/ or new/ folder whose mtime is the one recorded
//!   is not listed (adding, removing or renaming a file changes it); in a
//!   folder that changed, a file whose unique name (before `:2,`), size
//!   and mtime are recorded is not read, so a flag change or a move from
//!   new/ to cur/ is not new mail. Only new or changed files are parsed.
//!
//! Nothing is recorded for a run that fails or is killed before its merge
//! commits, so the next run reads that mail again; a file that could not
//! be read is not recorded either. `--full` reads everything and records
//! afresh.

use super::run::{self, Events};
use super::{Event, ImportError, ImportOptions, ImportReport, ReadScope};
use crate::cli::ImportFormat;
use crate::db::import::sources::{self, FileState, Record, SourceKey, Stored};
use crate::db::pool::DbConfig;
use crate::mail::marks::{
    Fingerprint, MaildirKnown, MarkSink, Start, mbox_message_starts_at, mtime_ns,
};
use crate::mail::{self, ReadError, ReadOptions};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A path to import.
#[derive(Debug, Clone)]
pub struct PathInput<'a> {
    pub path: &'a Path,
    /// `None`: detected.
    pub format: Option<ImportFormat>,
    pub read: ReadOptions,
    /// Read everything, whatever earlier imports read (`--full`).
    pub full: bool,
}

/// Import what is new at `input.path` since it was last imported (all of
/// it the first time, or with `full`).
pub async fn import_path(
    db: &DbConfig,
    input: &PathInput<'_>,
    opts: &ImportOptions,
    events: impl Fn(Event) + Send + Sync + 'static,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let events: Events = Arc::new(events);
    let format = match input.format {
        Some(f) => f,
        None => mail::detect(input.path)?,
    };
    let key = source_key(input.path, format, &input.read)?;
    let control = run::connect(db).await?;
    let stored = match &key {
        Some(key) if !input.full => sources::find(&control, key).await?,
        _ => None,
    };
    let fresh = if input.full {
        ReadScope::Full
    } else {
        ReadScope::All
    };
    let (items, incremental) = match format {
        ImportFormat::Jsonl | ImportFormat::Mbox => {
            let file = open(input.path, format)?;
            let unreadable = |source| ReadError::Unreadable {
                path: input.path.into(),
                source,
            };
            let meta = file.metadata().map_err(unreadable)?;
            let mtime = mtime_ns(&meta);
            let stored_file = stored.as_ref().and_then(|s| s.file.as_ref());
            let (start, scope) =
                match decide(&file, meta.len(), mtime, stored_file, format).map_err(unreadable)? {
                    Decision::Unchanged => return unchanged(&control, opts, started).await,
                    Decision::Tail(start) => (start, ReadScope::Appended { bytes: 0 }),
                    Decision::Changed => (Start::default(), ReadScope::Changed),
                    Decision::New => (Start::default(), fresh),
                };
            let handle = file.try_clone().map_err(unreadable)?;
            let sink = MarkSink::new();
            let items =
                mail::read_file_from(input.path, file, format, &input.read, start, sink.clone())?;
            let incremental = key.map(|key| Incremental {
                key,
                sink,
                scope,
                what: What::File {
                    file: handle,
                    mtime_ns: mtime,
                    start,
                },
            });
            (items, incremental)
        }
        ImportFormat::Maildir => {
            let dirs = mail::maildir_dirs(input.path)?;
            if let Some(stored) = &stored
                && unchanged_dirs(&dirs, stored)
            {
                return unchanged(&control, opts, started).await;
            }
            let known = match &stored {
                Some(stored) => sources::maildir_known(&control, stored).await?,
                None => MaildirKnown::default(),
            };
            let sink = MarkSink::new();
            let mut items = mail::read_maildir(input.path, &input.read, known, sink.clone())?;
            if let (Some(_), Some(key)) = (&stored, &key) {
                let (first, rest) = tokio::task::spawn_blocking(move || {
                    let first = items.next();
                    (first, items)
                })
                .await
                .map_err(|e| ImportError::Failed(format!("the reader failed: {e}")))?;
                let Some(first) = first else {
                    // Listed, nothing new: remember the folders' mtimes.
                    if let Some(marks) = sink.take() {
                        let record = Record::Maildir {
                            dirs: marks.dirs,
                            files: Vec::new(),
                            replace: false,
                        };
                        sources::record(&control, key, &record).await?;
                    }
                    return unchanged(&control, opts, started).await;
                };
                items = Box::new(std::iter::once(first).chain(rest));
            }
            let scope = if stored.is_some() {
                ReadScope::NewFiles { files: 0 }
            } else {
                fresh
            };
            let incremental = key.map(|key| Incremental {
                key,
                sink,
                scope,
                what: What::Maildir {
                    replace: input.full,
                },
            });
            (items, incremental)
        }
    };
    let mut report = run::run_on(db, &control, items, opts, events, incremental, started).await?;
    if report.scope == ReadScope::All && input.full {
        report.scope = ReadScope::Full;
    }
    Ok(report)
}

/// What to record of a run once it committed.
pub(super) struct Incremental {
    key: SourceKey,
    sink: MarkSink,
    /// The report's scope; its counts are filled from the marks.
    scope: ReadScope,
    what: What,
}

enum What {
    File {
        /// The file as read (the same one, even if renamed or replaced since).
        file: File,
        mtime_ns: i64,
        start: Start,
    },
    Maildir {
        replace: bool,
    },
}

impl Incremental {
    pub(super) fn key(&self) -> &SourceKey {
        &self.key
    }

    /// What to record, from what the reader published (nothing when it did
    /// not get to the end); sets the report's scope.
    pub(super) fn finish(&self, report: &mut ImportReport) -> Result<Option<Record>, ImportError> {
        let Some(marks) = self.sink.take() else {
            return Ok(None);
        };
        report.scope = match self.scope {
            ReadScope::Appended { .. } => {
                let from = match &self.what {
                    What::File { start, .. } => start.offset,
                    What::Maildir { .. } => 0,
                };
                ReadScope::Appended {
                    bytes: marks.consumed.saturating_sub(from),
                }
            }
            ReadScope::NewFiles { .. } => ReadScope::NewFiles {
                files: marks.files.len() as u64,
            },
            other => other,
        };
        Ok(Some(match &self.what {
            What::File { file, mtime_ns, .. } => {
                let fingerprint = Fingerprint::of(file, marks.boundary).map_err(|e| {
                    ImportError::Failed(format!(
                        "cannot read {} again to note how far it was imported: {e}",
                        self.key.path
                    ))
                })?;
                Record::File(FileState {
                    size: marks.consumed,
                    mtime_ns: *mtime_ns,
                    offset: marks.boundary,
                    lines: marks.lines,
                    head: fingerprint.head,
                    before: fingerprint.before,
                })
            }
            What::Maildir { replace } => Record::Maildir {
                dirs: marks.dirs,
                files: marks.files,
                replace: *replace,
            },
        }))
    }
}

/// What to read of an mbox or JSONL file, given what was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// No record of it.
    New,
    Unchanged,
    /// Grown at its end: read from here.
    Tail(Start),
    /// Changed otherwise: read it all.
    Changed,
}

fn decide(
    file: &File,
    size: u64,
    mtime_ns: i64,
    stored: Option<&FileState>,
    format: ImportFormat,
) -> std::io::Result<Decision> {
    let Some(st) = stored else {
        return Ok(Decision::New);
    };
    if size < st.offset {
        return Ok(Decision::Changed);
    }
    let now = Fingerprint::of(file, st.offset)?;
    if now.head != st.head || now.before != st.before {
        return Ok(Decision::Changed);
    }
    if (size == st.size && mtime_ns == st.mtime_ns) || size == st.offset {
        return Ok(Decision::Unchanged);
    }
    if st.offset == 0 || (format == ImportFormat::Mbox && !mbox_message_starts_at(file, st.offset)?)
    {
        return Ok(Decision::Changed);
    }
    Ok(Decision::Tail(Start {
        offset: st.offset,
        line: st.lines,
    }))
}

/// Every folder there is has its recorded, trusted mtime (and no other
/// folder was recorded).
fn unchanged_dirs(dirs: &[(String, i64)], stored: &Stored) -> bool {
    dirs.len() == stored.dir_count
        && dirs
            .iter()
            .all(|(dir, mtime)| stored.dirs.get(dir) == Some(mtime))
}

/// Nothing to read: the report says so, and the run is an event.
async fn unchanged(
    control: &tokio_postgres::Client,
    opts: &ImportOptions,
    started: Instant,
) -> Result<ImportReport, ImportError> {
    let details = serde_json::json!({
        "source": opts.label,
        "read": 0,
        "imported": 0,
        "unchanged": true,
    });
    crate::db::import::record_completed(control, opts.rep.as_deref(), &details).await?;
    let mut report = ImportReport {
        scope: ReadScope::Unchanged,
        ..ImportReport::default()
    };
    report.timings.total = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The source's key, or `None` when its path has no UTF-8 form to record
/// (then it is read in full every time).
fn source_key(
    path: &Path,
    format: ImportFormat,
    read: &ReadOptions,
) -> Result<Option<SourceKey>, ReadError> {
    let canonical = std::fs::canonicalize(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound { path: path.into() },
        _ => ReadError::Unreadable {
            path: path.into(),
            source,
        },
    })?;
    let Some(canonical) = canonical.to_str() else {
        return Ok(None);
    };
    Ok(Some(SourceKey {
        path: canonical.to_owned(),
        format: match format {
            ImportFormat::Jsonl => "jsonl",
            ImportFormat::Mbox => "mbox",
            ImportFormat::Maildir => "maildir",
        },
        source: read
            .source
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_owned(),
    }))
}

fn open(path: &Path, format: ImportFormat) -> Result<File, ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound { path: path.into() },
        _ => ReadError::Unreadable {
            path: path.into(),
            source,
        },
    })?;
    if meta.is_dir() {
        return Err(ReadError::FolderNotFile {
            path: path.into(),
            format: if format == ImportFormat::Mbox {
                "mbox"
            } else {
                "jsonl"
            },
        });
    }
    File::open(path).map_err(|source| ReadError::Unreadable {
        path: path.into(),
        source,
    })
}
