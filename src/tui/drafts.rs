//! Local copies of text being written, so a crash, a closed terminal or a
//! lost database loses nothing: `<data dir>/drafts/<conversation id>.txt`,
//! written atomically, readable by the owner only.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Drafts {
    dir: Option<PathBuf>,
}

impl Drafts {
    /// The platform data dir (`~/.local/share/replydesk/drafts` on Linux).
    pub fn platform() -> Drafts {
        Drafts {
            dir: directories::ProjectDirs::from("", "", "replydesk")
                .map(|d| d.data_dir().join("drafts")),
        }
    }

    pub fn in_dir(dir: impl Into<PathBuf>) -> Drafts {
        Drafts {
            dir: Some(dir.into()),
        }
    }

    pub fn path(&self, conv_id: i64) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{conv_id}.txt")))
    }

    fn ensure_dir(&self) -> io::Result<&Path> {
        let dir = self.dir.as_deref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no home directory for drafts")
        })?;
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
        Ok(dir)
    }

    pub fn load(&self, conv_id: i64) -> io::Result<Option<String>> {
        let Some(path) = self.path(conv_id) else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, conv_id: i64, text: &str) -> io::Result<PathBuf> {
        let dir = self.ensure_dir()?;
        let path = dir.join(format!("{conv_id}.txt"));
        let tmp = dir.join(format!(".{conv_id}.{}.tmp", std::process::id()));
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub fn delete(&self, conv_id: i64) -> io::Result<()> {
        let Some(path) = self.path(conv_id) else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_delete() {
        let dir =
            std::env::temp_dir().join(format!("replydesk-drafts-test-{}", std::process::id()));
        let d = Drafts::in_dir(&dir);
        assert_eq!(d.load(7).ok().flatten(), None);
        assert!(d.save(7, "hello\nthere").is_ok());
        assert_eq!(d.load(7).ok().flatten().as_deref(), Some("hello\nthere"));
        assert!(d.delete(7).is_ok());
        assert_eq!(d.load(7).ok().flatten(), None);
        assert!(d.delete(7).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
