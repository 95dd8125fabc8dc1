//! Maildir (and Maildir++): the messages in `cur/` and `new/` (never
//! `tmp/`), then those of each `.Sub` folder (`.Sent`, `.Archive`…) by
//! folder name; within a folder, by file name. Dotfiles are skipped, and so
//! are folders whose mail was never sent or is not wanted: Trash, Deleted
//! Messages/Items, Junk, Spam, Drafts, Templates.

use super::parse::parse_message;
use super::read::{ReadError, ReadOptions, human_size, is_maildir, metadata};
use super::{Item, Position, Rejected};
use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

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
pub(super) struct MaildirReader {
    opts: ReadOptions,
    folders: VecDeque<PathBuf>,
    files: std::vec::IntoIter<PathBuf>,
    /// Folder listing failures, told before the folder's messages.
    queued: VecDeque<Item>,
    buf: Vec<u8>,
}

impl MaildirReader {
    pub(super) fn open(root: &Path, opts: &ReadOptions) -> Result<Self, ReadError> {
        if !metadata(root)?.is_dir() {
            return Err(ReadError::FileNotFolder { path: root.into() });
        }
        if !is_maildir(root) {
            return Err(ReadError::NotMaildir { path: root.into() });
        }
        let mut folders = VecDeque::from([root.to_path_buf()]);
        folders.extend(subfolders(root).map_err(|source| ReadError::Unreadable {
            path: root.into(),
            source,
        })?);
        Ok(MaildirReader {
            opts: opts.clone(),
            folders,
            files: Vec::new().into_iter(),
            queued: VecDeque::new(),
            buf: Vec::with_capacity(64 << 10),
        })
    }

    /// Lists `folder`'s `cur/` and `new/` as the files to read next.
    fn list(&mut self, folder: &Path) {
        let mut files: Vec<(std::ffi::OsString, PathBuf)> = Vec::new();
        for dir in [folder.join("cur"), folder.join("new")] {
            if !dir.is_dir() {
                continue;
            }
            if let Err(e) = list_messages(&dir, &mut files) {
                self.queued.push_back(Item::Rejected(Rejected {
                    position: Position::File(dir),
                    reason: format!("cannot list the folder: {e}"),
                }));
            }
        }
        files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.files = files
            .into_iter()
            .map(|(_, path)| path)
            .collect::<Vec<_>>()
            .into_iter();
    }

    fn read_file(&mut self, path: PathBuf) -> Item {
        let cap = self.opts.message_cap();
        self.buf.clear();
        let read =
            File::open(&path).and_then(|file| file.take(cap as u64 + 1).read_to_end(&mut self.buf));
        let reason = match read {
            Err(e) => format!("cannot read the file: {e}"),
            Ok(len) if len > cap => {
                let size = fs::metadata(&path).map_or(len, |m| m.len() as usize);
                format!(
                    "message is {}, over the {} one message may have",
                    human_size(size),
                    human_size(cap)
                )
            }
            Ok(_) => return parse_message(&self.buf, Position::File(path), &self.opts),
        };
        Item::Rejected(Rejected {
            position: Position::File(path),
            reason,
        })
    }
}

impl Iterator for MaildirReader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queued.pop_front() {
                return Some(item);
            }
            if let Some(path) = self.files.next() {
                return Some(self.read_file(path));
            }
            let folder = self.folders.pop_front()?;
            self.list(&folder);
        }
    }
}

/// The message files of one `cur/` or `new/` folder: (file name, path).
fn list_messages(dir: &Path, out: &mut Vec<(std::ffi::OsString, PathBuf)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") || entry.file_type()?.is_dir() {
            continue;
        }
        out.push((name, entry.path()));
    }
    Ok(())
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
