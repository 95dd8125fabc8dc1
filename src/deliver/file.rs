//! Sinks for demos, tests and relays that pick up files: one `.eml` per
//! outbox row in a folder, or the messages printed to stdout.
//!
//! The file sink is idempotent by outbox id: `<dir>/<id>.eml` is written
//! whole (temp file, fsync, rename) or not at all, and a file already there
//! means that row was sent.

use super::eml;
use super::transport::{Outgoing, SendError, Sent, Transport};
use futures::future::BoxFuture;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    /// Creates `dir` if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<FileTransport> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(FileTransport { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where outbox row `outbox_id` goes.
    pub fn path_for(&self, outbox_id: i64) -> PathBuf {
        self.dir.join(file_name(outbox_id))
    }
}

fn file_name(outbox_id: i64) -> String {
    format!("{outbox_id}.eml")
}

fn write_once(dir: &Path, outbox_id: i64, raw: &[u8]) -> std::io::Result<bool> {
    let target = dir.join(file_name(outbox_id));
    if target.exists() {
        return Ok(false);
    }
    // Hidden and unique, so a relay watching for *.eml never sees half a file
    // and two senders never share one.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{outbox_id}.eml.{}.{nanos}.tmp",
        std::process::id()
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(raw)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable once the folder is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
}

impl Transport for FileTransport {
    fn name(&self) -> &'static str {
        "file"
    }

    fn send<'a>(&'a self, email: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let raw = eml::render(email);
            let dir = self.dir.clone();
            let id = email.outbox_id;
            let written = tokio::task::spawn_blocking(move || write_once(&dir, id, &raw))
                .await
                .map_err(|e| SendError::transient(format!("writing the .eml stopped: {e}")))?;
            match written {
                Ok(_) => Ok(Sent {
                    provider_message_id: Some(file_name(id)),
                }),
                Err(e) => Err(SendError::transient(format!(
                    "cannot write {}: {e}",
                    self.path_for(id).display()
                ))),
            }
        })
    }
}

/// Prints each message to stdout, whole (concurrent sends never interleave).
pub struct StdoutTransport;

impl Transport for StdoutTransport {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn send<'a>(&'a self, email: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let mut raw = eml::render(email);
            raw.extend_from_slice(b"\r\n");
            let id = email.outbox_id;
            let printed = tokio::task::spawn_blocking(move || {
                let mut out = std::io::stdout().lock();
                out.write_all(&raw)?;
                out.flush()
            })
            .await
            .map_err(|e| SendError::transient(format!("printing stopped: {e}")))?;
            printed.map_err(|e| SendError::Permanent(format!("cannot write to stdout: {e}")))?;
            Ok(Sent {
                provider_message_id: Some(format!("stdout-{id}")),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_write_of_the_same_row_is_a_no_op() {
        let dir = std::env::temp_dir().join(format!("replydesk-file-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(write_once(&dir, 5, b"first").unwrap());
        assert!(!write_once(&dir, 5, b"second").unwrap());
        assert_eq!(std::fs::read(dir.join("5.eml")).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
