//! The one way in: [`detect`] tells the format of a path, [`read`] opens it
//! and yields its records as a synchronous, streaming iterator.

use super::Item;
use super::jsonl::JsonlReader;
use super::maildir::MaildirReader;
use super::marks::{MaildirKnown, MarkSink, Start};
use super::mbox::MboxReader;
use crate::cli::ImportFormat;
use std::fs::{self, File};
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The `import.max_body_bytes` default: 10 MB.
const DEFAULT_MAX_BODY_BYTES: usize = 10 << 20;

/// A single mail message (mbox or Maildir) larger than this is rejected
/// unread, whatever its bodies: attachments count here, not in
/// `max_body_bytes`.
const MIN_MESSAGE_CAP: usize = 128 << 20;

/// How much of a file [`detect`] looks at.
const SNIFF_BYTES: usize = 8 << 10;

/// How to read: defaults a record may lack, and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Default source when a record has none: None → "email" for
    /// mbox/Maildir, "import" for JSONL.
    pub source: Option<String>,
    /// A body (text or HTML) larger than this is rejected, not cut
    /// (`import.max_body_bytes`).
    pub max_body_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            source: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl ReadOptions {
    /// The source for a record that names none.
    pub(super) fn source_or(&self, format_default: &str) -> String {
        match &self.source {
            Some(source) if !source.trim().is_empty() => source.trim().to_owned(),
            _ => format_default.to_owned(),
        }
    }

    /// The longest raw mail message read: 4 × the body limit plus 1 MB
    /// (text, HTML and their transfer encodings), at least 128 MB.
    pub(super) fn message_cap(&self) -> usize {
        self.max_body_bytes
            .saturating_mul(4)
            .saturating_add(1 << 20)
            .max(MIN_MESSAGE_CAP)
    }

    /// The longest JSONL line read: 4 × the body limit plus 1 MB (text,
    /// HTML and JSON escaping).
    pub(super) fn line_cap(&self) -> usize {
        self.max_body_bytes
            .saturating_mul(4)
            .saturating_add(1 << 20)
    }
}

/// A failure of the whole input (a single record's problem is an
/// [`Item::Rejected`] instead). Each prints as one line: what, why, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: no such file or folder; check the path", .path.display())]
    NotFound { path: PathBuf },

    #[error("cannot read {}: {source}; check that it exists and that you may read it", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },

    #[error(
        "{}: cannot tell whether it is JSONL, mbox or Maildir; pass --format jsonl|mbox|maildir",
        .path.display()
    )]
    UnknownFormat { path: PathBuf },

    #[error(
        "{}: a folder, but not a Maildir (no cur/ or new/ inside); pass a Maildir folder, or a JSONL or mbox file",
        .path.display()
    )]
    NotMaildir { path: PathBuf },

    #[error(
        "{}: a folder, but --format {format} reads a file; pass the file, or --format maildir for a Maildir folder",
        .path.display()
    )]
    FolderNotFile { path: PathBuf, format: &'static str },

    #[error(
        "{}: a file, but --format maildir reads a folder with cur/ and new/; pass the folder, or --format jsonl|mbox",
        .path.display()
    )]
    FileNotFolder { path: PathBuf },

    #[error("{}: the file is empty; nothing to import", .path.display())]
    Empty { path: PathBuf },
}

/// Tells the format of `path`: a folder with `cur/` or `new/` is a Maildir,
/// a file whose first non-whitespace byte is `{` is JSONL, a file starting
/// with `From ` is an mbox. Anything else is an error asking for `--format`.
pub fn detect(path: &Path) -> Result<ImportFormat, ReadError> {
    let metadata = metadata(path)?;
    if metadata.is_dir() {
        return if is_maildir(path) {
            Ok(ImportFormat::Maildir)
        } else {
            Err(ReadError::NotMaildir { path: path.into() })
        };
    }
    let head = sniff(path)?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let Some(first) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(ReadError::Empty { path: path.into() });
    };
    let after_blank_lines = head
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .unwrap_or(0);
    if head[first] == b'{' {
        Ok(ImportFormat::Jsonl)
    } else if head[after_blank_lines..].starts_with(b"From ") {
        Ok(ImportFormat::Mbox)
    } else {
        Err(ReadError::UnknownFormat { path: path.into() })
    }
}

/// Opens `path` in `format` (detected when `None`) and returns its records
/// in input order: JSONL by line, mbox by message, Maildir by folder (the
/// Maildir itself, then its `.Sub` folders by name) and file name. Reading
/// streams; a failure after opening ends the iterator with one
/// [`Item::Rejected`] saying reading stopped.
pub fn read(
    path: &Path,
    format: Option<ImportFormat>,
    opts: &ReadOptions,
) -> Result<Box<dyn Iterator<Item = Item> + Send>, ReadError> {
    let format = match format {
        Some(format) => format,
        None => detect(path)?,
    };
    Ok(match format {
        ImportFormat::Jsonl => Box::new(JsonlReader::new(open_file(path, "jsonl")?, opts)),
        ImportFormat::Mbox => Box::new(MboxReader::new(open_file(path, "mbox")?, opts)),
        ImportFormat::Maildir => Box::new(MaildirReader::open(path, opts)?),
    })
}

/// Reads an open JSONL or mbox `file` (at `path`) from `start`, a record
/// boundary an earlier read published, numbering positions as a read from
/// the beginning would; publishes how far it got to `sink` when it stops.
pub fn read_file_from(
    path: &Path,
    mut file: File,
    format: ImportFormat,
    opts: &ReadOptions,
    start: Start,
    sink: MarkSink,
) -> Result<Box<dyn Iterator<Item = Item> + Send>, ReadError> {
    file.seek(SeekFrom::Start(start.offset))
        .map_err(|source| ReadError::Unreadable {
            path: path.into(),
            source,
        })?;
    Ok(match format {
        ImportFormat::Jsonl => Box::new(JsonlReader::starting(file, opts, start, Some(sink))),
        ImportFormat::Mbox => Box::new(MboxReader::starting(file, opts, start.offset, Some(sink))),
        ImportFormat::Maildir => return Err(ReadError::FileNotFolder { path: path.into() }),
    })
}

/// Reads the Maildir at `root` but what `known` says an earlier import
/// read and did not change since; publishes what it read and looked at to
/// `sink` when it has read everything.
pub fn read_maildir(
    root: &Path,
    opts: &ReadOptions,
    known: MaildirKnown,
    sink: MarkSink,
) -> Result<Box<dyn Iterator<Item = Item> + Send>, ReadError> {
    Ok(Box::new(MaildirReader::tracked(
        root,
        opts,
        known,
        Some(sink),
    )?))
}

/// Reads JSONL from any byte stream (stdin, a buffer), like [`read`] does
/// a file.
pub fn read_jsonl<R: Read + Send + 'static>(
    reader: R,
    opts: &ReadOptions,
) -> impl Iterator<Item = Item> + Send + use<R> {
    JsonlReader::new(reader, opts)
}

/// Reads an mbox from any byte stream (stdin, a buffer), like [`read`] does
/// a file.
pub fn read_mbox<R: Read + Send + 'static>(
    reader: R,
    opts: &ReadOptions,
) -> impl Iterator<Item = Item> + Send + use<R> {
    MboxReader::new(reader, opts)
}

/// The metadata of `path`, or the error to tell.
pub(super) fn metadata(path: &Path) -> Result<fs::Metadata, ReadError> {
    fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound { path: path.into() },
        _ => ReadError::Unreadable {
            path: path.into(),
            source,
        },
    })
}

/// Whether `dir` holds a `cur/` or `new/` folder.
pub(super) fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

fn open_file(path: &Path, format: &'static str) -> Result<File, ReadError> {
    if metadata(path)?.is_dir() {
        return Err(ReadError::FolderNotFile {
            path: path.into(),
            format,
        });
    }
    File::open(path).map_err(|source| ReadError::Unreadable {
        path: path.into(),
        source,
    })
}

fn sniff(path: &Path) -> Result<Vec<u8>, ReadError> {
    let unreadable = |source| ReadError::Unreadable {
        path: path.into(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    Ok(head)
}

/// Reads one line (through `\n` or to the end of input) and returns its
/// length, 0 at the end of input. At most `cap` bytes are kept in `buf`
/// (counting what it already holds); the rest of a longer line is consumed
/// and dropped, so a caller sees truncation as a length above what it got.
pub(super) fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<usize> {
    let room = cap.saturating_sub(buf.len());
    let kept = if room == 0 {
        0
    } else {
        reader.by_ref().take(room as u64).read_until(b'\n', buf)?
    };
    let cut = kept == room && !buf.ends_with(b"\n");
    Ok(if cut {
        kept + reader.skip_until(b'\n')?
    } else {
        kept
    })
}

/// A byte count for people: "12.3 MB", "512 KB", "100 bytes".
pub fn human_size(bytes: usize) -> String {
    const KB: f64 = 1024.0;
    const MB: f64 = KB * 1024.0;
    let b = bytes as f64;
    let (value, unit) = if b >= MB {
        (b / MB, "MB")
    } else if b >= KB {
        (b / KB, "KB")
    } else {
        return format!("{bytes} bytes");
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn lines(input: &[u8], cap: usize) -> Vec<(usize, Vec<u8>)> {
        let mut reader = BufReader::with_capacity(4, input);
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            match read_line_capped(&mut reader, &mut buf, cap) {
                Ok(0) | Err(_) => return out,
                Ok(n) => out.push((n, buf)),
            }
        }
    }

    #[test]
    fn lines_are_split_and_long_ones_truncated_but_consumed() {
        let got = lines(b"ab\nlong line\n\nend", 5);
        assert_eq!(
            got,
            vec![
                (3, b"ab\n".to_vec()),
                (10, b"long ".to_vec()),
                (1, b"\n".to_vec()),
                (3, b"end".to_vec()),
            ]
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(10 << 20), "10 MB");
        assert_eq!(human_size(12_900_000), "12.3 MB");
        assert_eq!(human_size(2048), "2 KB");
        assert_eq!(human_size(100), "100 bytes");
    }

    #[test]
    fn caps_grow_with_the_body_limit_and_never_overflow() {
        let opts = ReadOptions {
            source: None,
            max_body_bytes: usize::MAX,
        };
        assert_eq!(opts.line_cap(), usize::MAX);
        assert_eq!(ReadOptions::default().message_cap(), MIN_MESSAGE_CAP);
    }

    #[test]
    fn a_blank_source_option_means_the_format_default() {
        let opts = ReadOptions {
            source: Some("  ".into()),
            ..ReadOptions::default()
        };
        assert_eq!(opts.source_or("email"), "email");
    }
}
