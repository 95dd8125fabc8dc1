//! Reading mail to import: JSONL, mbox and Maildir become [`MailRecord`]s,
//! one per message, each with the position it came from. Readers never
//! panic on any input: a record they cannot use becomes a [`Rejected`] with
//! its position and a one-line reason, and reading goes on.
//!
//! This module does no I/O on the database; `db::import` threads and stores
//! what it yields.

pub mod corpus;
mod jsonl;
mod maildir;
pub mod marks;
mod mbox;
pub mod parse;
mod read;

pub use maildir::maildir_dirs;
pub use parse::parse_message;
pub use read::{
    ReadError, ReadOptions, detect, human_size, read, read_file_from, read_jsonl, read_maildir,
    read_mbox,
};

use crate::db::Direction;
use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// Where a record came from, for error messages: a JSONL line, an mbox byte
/// offset, a Maildir file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a JSONL file.
    Line(u64),
    /// Byte offset of the message's `From ` line in an mbox file.
    Offset(u64),
    /// A Maildir message file.
    File(PathBuf),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Offset(o) => write!(f, "byte offset {o}"),
            Position::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An attachment's metadata (the content itself is not stored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// One message, normalized, ready to thread and store.
#[derive(Debug, Clone, PartialEq)]
pub struct MailRecord {
    pub position: Position,
    /// `messages.source` / `leads.source`: the record's own, else the
    /// importer's `--source`, else "email" (mail) or "import" (JSONL).
    pub source: String,
    /// Unique with `source`: the Message-ID for mail (angle brackets
    /// included), JSONL's `external_id`, or a stable id derived from the
    /// content when there is neither.
    pub external_id: String,
    /// RFC 5322 Message-ID with angle brackets (`<a@b>`), when known.
    pub message_id: Option<String>,
    /// With angle brackets.
    pub in_reply_to: Option<String>,
    /// Oldest first, with angle brackets.
    pub references: Vec<String>,
    /// JSONL's conversation key: records with the same key share a
    /// conversation, whatever their headers say.
    pub conversation_key: Option<String>,
    /// Given by the record (JSONL); `None`: inferred from the reps' addresses.
    pub direction: Option<Direction>,
    /// Bare address, lowercased (`maria@example.com`).
    pub from_addr: String,
    /// Display name from the From header, if any.
    pub from_name: Option<String>,
    /// Bare addresses, lowercased: To then Cc.
    pub to_addrs: Vec<String>,
    /// Decoded (RFC 2047), never containing a newline.
    pub subject: String,
    pub sent_at: DateTime<Utc>,
    /// Decoded text body; for HTML-only mail, empty (the reader keeps HTML in
    /// `body_html`, the TUI converts it).
    pub body_text: String,
    pub body_html: Option<String>,
    /// Selected headers worth keeping (`{"Name": "value"}`), decoded.
    pub headers: serde_json::Value,
    pub attachments: Vec<Attachment>,
    /// Lead details a JSONL record may carry (name, phone).
    pub lead_name: Option<String>,
    pub lead_phone: Option<String>,
    /// Something was repaired and is worth telling (e.g. "no Message-ID:
    /// derived a stable id"); the record is still imported.
    pub notes: Vec<String>,
}

/// A record that could not be used, and why (one line, no record content
/// beyond what identifies it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub position: Position,
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

/// What a reader yields, in input order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(Box<MailRecord>),
    Rejected(Rejected),
}
