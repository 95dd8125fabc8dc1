//! Maildir (and Maildir++): the messages in `cur/` and `new/` (never
//! `tmp/`), then those of each `.Sub` folder (`.Sent`, `.Archive`…) by
//! folder name; within a folder, by file name. Dotfiles are skipped, and so
//! are folders whose mail was never sent or is not wanted: Trash, Deleted
//! Messages/Items, Junk, Spam, Drafts, Templates.

use super::marks::{
    MaildirKnown, MarkSink, Marks, SeenDir, SeenFile, maildir_unique_name, mtime_ns, trusted_mtime,
};
use super::parse::parse_message;
use super::read::{ReadError, ReadOptions, human_size, is_maildir, metadata};
use super::{Item, Position, Rejected};
use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Maildir++ folders not read (compared case-insensitively with the last
/// part of the folder name: `.INBOX.Trash` → `Trash`).
const SKIPPED_FOLDERS: [&str; 7] = [
    "trash",
    "deleted messages",
    "deleted items",
    "junk",
    "spam",
    "drafts",
    "templates",
];

/// Streams a Maildir file by file; each folder is listed when reached.
/// Given what an earlier import read ([`MaildirKnown`]), it skips folders
/// whose mtime did not change and files it read then (same unique name,
/// size and mtime), and publishes what it read and looked at.
pub(super) struct MaildirReader {
    opts: ReadOptions,
    root: PathBuf,
    folders: VecDeque<PathBuf>,
    /// The files to read next, with the index of their folder in `marks.dirs`.
    files: std::vec::IntoIter<(PathBuf, usize)>,
    /// Folder listing failures, told before the folder's messages.
    queued: VecDeque<Item>,
    buf: Vec<u8>,
    known: MaildirKnown,
    marks: Marks,
    sink: Option<MarkSink>,
    done: bool,
}

impl MaildirReader {
    pub(super) fn open(root: &Path, opts: &ReadOptions) -> Result<Self, ReadError> {
        Self::tracked(root, opts, MaildirKnown::default(), None)
    }

    /// Reads what is not in `known` and publishes what it read to `sink`
    /// when it has read everything.
    pub(super) fn tracked(
        root: &Path,
        opts: &ReadOptions,
        known: MaildirKnown,
        sink: Option<MarkSink>,
    ) -> Result<Self, ReadError> {
        let folders = folders(root)?;
        Ok(MaildirReader {
            opts: opts.clone(),
            root: root.to_path_buf(),
            folders: folders.into(),
            files: Vec::new().into_iter(),
            queued: VecDeque::new(),
            buf: Vec::with_capacity(64 << 10),
            known,
            marks: Marks::default(),
            sink,
            done: false,
        })
    }

    /// Lists `folder`'s `cur/` and `new/` as the files to read next
    /// (neither when unchanged since an earlier import).
    fn list(&mut self, folder: &Path) {
        let mut files: Vec<(std::ffi::OsString, PathBuf, usize)> = Vec::new();
        for sub in ["cur", "new"] {
            let dir = folder.join(sub);
            let Ok(meta) = fs::metadata(&dir) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            let name = dir_name(&self.root, folder, sub);
            let mtime = mtime_ns(&meta);
            if self.known.dirs.get(&name) == Some(&mtime) {
                self.marks.dirs.push(SeenDir {
                    dir: name,
                    mtime_ns: Some(mtime),
                });
                continue;
            }
            let index = self.marks.dirs.len();
            let trusted = trusted_mtime(mtime, SystemTime::now());
            let listed = list_messages(&dir, index, &self.known, &mut files);
            let mtime_ns = match listed {
                Ok(unchanged) => {
                    self.marks.unchanged_files += unchanged;
                    trusted
                }
                Err(e) => {
                    self.queued.push_back(Item::Rejected(Rejected {
                        position: Position::File(dir),
                        reason: format!("cannot list the folder: {e}"),
                    }));
                    None
                }
            };
            self.marks.dirs.push(SeenDir {
                dir: name,
                mtime_ns,
            });
        }
        files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.files = files
            .into_iter()
            .map(|(_, path, dir)| (path, dir))
            .collect::<Vec<_>>()
            .into_iter();
    }

    fn read_file(&mut self, path: PathBuf, dir: usize) -> Item {
        let cap = self.opts.message_cap();
        self.buf.clear();
        let read = File::open(&path).and_then(|mut file| {
            let meta = file.metadata()?;
            (&mut file)
                .take(cap as u64 + 1)
                .read_to_end(&mut self.buf)?;
            Ok(meta)
        });
        let meta = match read {
            Ok(meta) => meta,
            Err(e) => {
                // Not read: its folder must be listed again next time.
                if let Some(seen) = self.marks.dirs.get_mut(dir) {
                    seen.mtime_ns = None;
                }
                return Item::Rejected(Rejected {
                    position: Position::File(path),
                    reason: format!("cannot read the file: {e}"),
                });
            }
        };
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            self.marks.files.push(SeenFile {
                name: maildir_unique_name(name).to_owned(),
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            });
        }
        if self.buf.len() > cap {
            return Item::Rejected(Rejected {
                position: Position::File(path),
                reason: format!(
                    "message is {}, over the {} one message may have",
                    human_size(meta.len() as usize),
                    human_size(cap)
                ),
            });
        }
        parse_message(&self.buf, Position::File(path), &self.opts)
    }
}

impl Iterator for MaildirReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queued.pop_front() {
                return Some(item);
            }
            if let Some((path, dir)) = self.files.next() {
                return Some(self.read_file(path, dir));
            }
            let Some(folder) = self.folders.pop_front() else {
                if !self.done {
                    self.done = true;
                    if let Some(sink) = &self.sink {
                        self.marks.complete = true;
                        sink.publish(std::mem::take(&mut self.marks));
                    }
                }
                return None;
            };
            self.list(&folder);
        }
    }
}

/// The Maildir itself, then its Maildir++ folders worth reading, by name.
fn folders(root: &Path) -> Result<Vec<PathBuf>, ReadError> {
    if !metadata(root)?.is_dir() {
        return Err(ReadError::FileNotFolder { path: root.into() });
    }
    if !is_maildir(root) {
        return Err(ReadError::NotMaildir { path: root.into() });
    }
    let mut folders = vec![root.to_path_buf()];
    folders.extend(subfolders(root).map_err(|source| ReadError::Unreadable {
        path: root.into(),
        source,
    })?);
    Ok(folders)
}

/// The cur/ and new/ folders a read of the Maildir at `root` looks at, by
/// name (as [`SeenDir::dir`]), with their mtime.
pub fn maildir_dirs(root: &Path) -> Result<Vec<(String, i64)>, ReadError> {
    let mut out = Vec::new();
    for folder in folders(root)? {
        for sub in ["cur", "new"] {
            if let Ok(meta) = fs::metadata(folder.join(sub))
                && meta.is_dir()
            {
                out.push((dir_name(root, &folder, sub), mtime_ns(&meta)));
            }
        }
    }
    Ok(out)
}

/// `cur`, `new`, `.Sent/cur` …
fn dir_name(root: &Path, folder: &Path, sub: &str) -> String {
    match folder
        .strip_prefix(root)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
    {
        Some(rel) => format!("{}/{sub}", rel.to_string_lossy()),
        None => sub.to_owned(),
    }
}

/// The message files of one `cur/` or `new/` folder that are to be read:
/// (file name, path, `dir`). Returns how many were left out as unchanged
/// since an earlier import.
fn list_messages(
    dir: &Path,
    index: usize,
    known: &MaildirKnown,
    out: &mut Vec<(std::ffi::OsString, PathBuf, usize)>,
) -> io::Result<u64> {
    let mut unchanged = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") || entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        if !known.files.is_empty()
            && let Some(&(size, mtime)) = name
                .to_str()
                .and_then(|n| known.files.get(maildir_unique_name(n)))
            && let Ok(meta) = fs::metadata(&path)
            && meta.len() == size
            && mtime_ns(&meta) == mtime
        {
            unchanged += 1;
            continue;
        }
        out.push((name, path, index));
    }
    Ok(unchanged)
}

/// The Maildir++ folders of `root` worth reading, by name.
fn subfolders(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(folder) = name.strip_prefix('.') else {
            continue;
        };
        let path = entry.path();
        if folder.is_empty() || folder == "." || is_skipped(folder) || !path.is_dir() {
            continue;
        }
        if is_maildir(&path) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn is_skipped(folder: &str) -> bool {
    let last = folder.rsplit('.').next().unwrap_or(folder);
    SKIPPED_FOLDERS
        .iter()
        .any(|skipped| last.eq_ignore_ascii_case(skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwanted_folders_are_skipped_by_their_last_name_part() {
        assert!(is_skipped("Trash"));
        assert!(is_skipped("INBOX.junk"));
        assert!(is_skipped("Deleted Messages"));
        assert!(!is_skipped("Sent"));
        assert!(!is_skipped("Archive.2024"));
    }
}
