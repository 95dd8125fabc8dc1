//! What a reader got through, so an import can remember it and the next
//! one read only what is new: how far an mbox or JSONL file was read (to
//! the end of its last whole record), which Maildir files and folders were
//! read, and fingerprints that tell a file that only grew from one that
//! changed.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many bytes each fingerprint covers.
pub const FINGERPRINT_BYTES: u64 = 64 << 10;

/// A folder whose mtime is this close to the moment it was looked at may
/// change again within the same mtime tick (2 s on the coarsest common
/// file systems) without its mtime showing it, so it is not trusted.
const MTIME_TRUST_MARGIN: Duration = Duration::from_secs(2);

/// Where reading an mbox or JSONL file starts: a byte offset on a record
/// boundary and how many lines come before it (JSONL numbers its lines
/// from there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Start {
    pub offset: u64,
    pub line: u64,
}

/// How far a reader got, published when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// It reached the end of the input (no read error stopped it).
    pub complete: bool,
    /// mbox/JSONL: the end of the last whole record read (where the next
    /// one starts), from the start of the file.
    pub boundary: u64,
    /// JSONL: lines up to `boundary`.
    pub lines: u64,
    /// mbox/JSONL: where reading ended, from the start of the file.
    pub consumed: u64,
    /// Maildir: the message files read (a file that could not be read is
    /// not here), by unique name.
    pub files: Vec<SeenFile>,
    /// Maildir: the cur/ and new/ folders looked at.
    pub dirs: Vec<SeenDir>,
    /// Maildir: files not read, being unchanged since an earlier import.
    pub unchanged_files: u64,
}

/// A Maildir message file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFile {
    /// The unique part of its name (before `:2,`).
    pub name: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A Maildir cur/ or new/ folder as looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDir {
    /// Relative to the Maildir: `cur`, `.Sent/new`.
    pub dir: String,
    /// Its mtime before it was listed; `None` when that cannot be trusted
    /// to show the next change (too recent, or a file in it could not be
    /// read, or it could not be listed).
    pub mtime_ns: Option<i64>,
}

/// The marks a reader publishes, shared with whoever runs it.
#[derive(Debug, Clone, Default)]
pub struct MarkSink(Arc<Mutex<Option<Marks>>>);

impl MarkSink {
    pub fn new() -> MarkSink {
        MarkSink::default()
    }

    /// What the reader published (`None`: it has not stopped yet).
    pub fn take(&self) -> Option<Marks> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub(super) fn publish(&self, marks: Marks) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(marks);
    }
}

/// What an earlier import read from a Maildir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaildirKnown {
    /// Unique name → (size, mtime in ns) of each file read.
    pub files: HashMap<String, (u64, i64)>,
    /// Folder (as [`SeenDir::dir`]) → its trusted mtime in ns.
    pub dirs: HashMap<String, i64>,
}

/// SHA-256 of a file's first [`FINGERPRINT_BYTES`] up to an offset and
/// of the [`FINGERPRINT_BYTES`] before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub head: Vec<u8>,
    pub before: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of `file` at `offset` (which must not pass its end).
    pub fn of(mut file: &File, offset: u64) -> io::Result<Fingerprint> {
        let head_len = offset.min(FINGERPRINT_BYTES);
        let before_from = offset.saturating_sub(FINGERPRINT_BYTES);
        Ok(Fingerprint {
            head: hash_range(&mut file, 0, head_len)?,
            before: hash_range(&mut file, before_from, offset - before_from)?,
        })
    }
}

fn hash_range(file: &mut &File, from: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file is shorter than it was",
        ));
    }
    Ok(Sha256::digest(&bytes).to_vec())
}

/// Whether the bytes at `offset` start an mbox message: blank lines, then
/// a `From ` line.
pub fn mbox_message_starts_at(mut file: &File, offset: u64) -> io::Result<bool> {
    file.seek(SeekFrom::Start(offset))?;
    let mut head = Vec::with_capacity(1 << 10);
    file.take(1 << 10).read_to_end(&mut head)?;
    let blank = head
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .unwrap_or(head.len());
    Ok(head[blank..].starts_with(b"From "))
}

/// A file's mtime in nanoseconds since the epoch (negative before it).
pub fn mtime_ns(metadata: &Metadata) -> i64 {
    let Ok(modified) = metadata.modified() else {
        return 0;
    };
    match modified.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// `mtime_ns` if it is old enough, at `now`, that a later change shows
/// as a different mtime.
pub(super) fn trusted_mtime(mtime_ns: i64, now: SystemTime) -> Option<i64> {
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())?;
    let margin = MTIME_TRUST_MARGIN.as_nanos() as i64;
    (mtime_ns.saturating_add(margin) < now_ns).then_some(mtime_ns)
}

/// The unique part of a Maildir file name: what comes before the info
/// (`:2,S`), which changes with the flags.
pub fn maildir_unique_name(file_name: &str) -> &str {
    file_name.split(':').next().unwrap_or(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unique_name_drops_the_flags() {
        assert_eq!(maildir_unique_name("1700.M1P2.host:2,S"), "1700.M1P2.host");
        assert_eq!(maildir_unique_name("1700.M1P2.host:2,"), "1700.M1P2.host");
        assert_eq!(maildir_unique_name("1700.M1P2.host"), "1700.M1P2.host");
    }

    #[test]
    fn recent_mtimes_are_not_trusted() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let ns = |s: u64| (s * 1_000_000_000) as i64;
        assert_eq!(trusted_mtime(ns(990), now), Some(ns(990)));
        assert_eq!(trusted_mtime(ns(999), now), None);
    }
}
