//! The vocabulary of the Elm loop: actions (keys, time, answers), effects
//! (work for the runner) and the small types they carry.

use crate::db::conversations::{ConversationRow, InboxQuery, Page, StatusCounts};
use crate::db::messages::{MessageView, Thread};
use crate::db::suggestions::{Decision, Suggestion, Undone};
use crate::db::{ConversationStatus, RejectionReason};
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Thread,
    Suggestion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Error,
}

/// The last action's result, shown in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Online,
    Offline {
        since: Instant,
        attempt: u32,
        next_probe: Instant,
        reason: String,
    },
}

/// A reply that can still be taken back with `u`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UndoSlot {
    pub outbox_id: i64,
    pub conv_id: i64,
    pub deadline: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RejectPicker {
    pub suggestion_id: i64,
    pub conv_id: i64,
    pub cursor: usize,
    pub note: String,
    /// Typing the free-text note for "other".
    pub typing: bool,
}

/// The stats overlay (`S`): the request in flight, then its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsOverlay {
    /// The window: stats since this time.
    pub since: DateTime<Utc>,
    pub req: Option<u64>,
    pub stats: Option<Box<crate::db::stats::Stats>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    Reject(RejectPicker),
    Stats(StatsOverlay),
    Similar(super::similar::SimilarOverlay),
    Search(super::search::SearchOverlay),
}

/// What a request is for, so its answer (or failure) can be routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqKind {
    Page,
    Counts,
    Thread,
    Older,
    Rows,
    Probe,
    Stats,
    Similar,
    Search,
    Decision { conv_id: i64, what: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub kind: ReqKind,
    pub started: Instant,
}

/// Sizes the view needs to know to scroll (sent by the runner before drawing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    pub list_height: usize,
    pub thread_height: usize,
    pub thread_lines: usize,
    pub sugg_height: usize,
    pub sugg_lines: usize,
    /// Lines of the help overlay below its box (0 when it fits).
    pub help_overflow: usize,
}

/// A database failure, already turned into one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub connection_lost: bool,
    /// The state on screen is stale (someone else decided, a draft was
    /// superseded, a row vanished): reload it.
    pub refresh: bool,
}

/// What a `NOTIFY replydesk` said.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notice {
    pub conversations: Vec<i64>,
    pub resync: bool,
}

/// A successful decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Approved(Decision),
    Composed(Decision),
    Rejected {
        conv_id: i64,
        reason: RejectionReason,
    },
    Undone(Undone),
    Archived {
        conv_id: i64,
        changed: bool,
    },
    Unarchived {
        conv_id: i64,
        status: Option<ConversationStatus>,
    },
    Claimed {
        conv_id: i64,
    },
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Tick {
        now: Instant,
        wall: DateTime<Utc>,
    },
    Layout(Metrics),
    Quit,
    PageLoaded {
        req: u64,
        rows: Vec<ConversationRow>,
    },
    CountsLoaded {
        req: u64,
        counts: StatusCounts,
    },
    ThreadLoaded {
        req: u64,
        conv_id: i64,
        thread: Box<Thread>,
        suggestion: Option<Box<Suggestion>>,
    },
    OlderLoaded {
        req: u64,
        conv_id: i64,
        messages: Vec<MessageView>,
        has_older: bool,
    },
    RowsLoaded {
        req: u64,
        ids: Vec<i64>,
        rows: Vec<ConversationRow>,
    },
    Decided {
        req: u64,
        done: Done,
    },
    Failed {
        req: u64,
        failure: Failure,
    },
    ProbeOk {
        req: u64,
    },
    StatsLoaded {
        req: u64,
        stats: Box<crate::db::stats::Stats>,
    },
    SimilarLoaded {
        req: u64,
        found: super::similar::Similars,
    },
    SearchLoaded {
        req: u64,
        results: Vec<crate::db::search::SearchResult>,
        /// How many conversations the words and operators match.
        matched: crate::db::search::Matched,
        /// What the semantic half did.
        meaning: crate::db::search::Meaning,
        /// Why the semantic half failed, if it did.
        note: Option<String>,
    },
    /// A page of the list around one conversation (jumping to it).
    AroundLoaded {
        req: u64,
        conv_id: i64,
        rows: Vec<ConversationRow>,
    },
    ListenerUp,
    ListenerDown(String),
    Notified(Notice),
    DraftLoaded {
        conv_id: i64,
        text: Option<String>,
    },
    DraftSaveFailed(String),
    ExternalEdited {
        conv_id: i64,
        suggestion_id: i64,
        result: Result<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadPage {
        req: u64,
        query: InboxQuery,
        page: Page,
        limit: i64,
    },
    LoadCounts {
        req: u64,
        owner: Option<i64>,
        /// With `owner`: count the unassigned too (scope "mine").
        unassigned: bool,
    },
    LoadThread {
        req: u64,
        conv_id: i64,
        limit: i64,
    },
    LoadOlder {
        req: u64,
        conv_id: i64,
        before_seq: i32,
        limit: i64,
    },
    LoadRows {
        req: u64,
        ids: Vec<i64>,
    },
    Approve {
        req: u64,
        suggestion_id: i64,
    },
    ApproveEdited {
        req: u64,
        suggestion_id: i64,
        body: String,
    },
    Reject {
        req: u64,
        suggestion_id: i64,
        reason: RejectionReason,
        note: Option<String>,
    },
    Compose {
        req: u64,
        conv_id: i64,
        body: String,
    },
    Undo {
        req: u64,
        outbox_id: i64,
    },
    Archive {
        req: u64,
        conv_id: i64,
    },
    Unarchive {
        req: u64,
        conv_id: i64,
    },
    Claim {
        req: u64,
        conv_id: i64,
    },
    Probe {
        req: u64,
    },
    LoadStats {
        req: u64,
        since: DateTime<Utc>,
    },
    /// The conversations most similar to this one (`s`).
    LoadSimilar {
        req: u64,
        conv_id: i64,
    },
    /// Full-text + semantic search (`/`).
    Search {
        req: u64,
        text: String,
        filter: crate::db::search::SearchFilter,
    },
    /// A page of the list starting at `conv_id` (it is not loaded).
    LoadAround {
        req: u64,
        conv_id: i64,
        query: InboxQuery,
        limit: i64,
    },
    LoadDraft {
        conv_id: i64,
    },
    SaveDraft {
        conv_id: i64,
        text: String,
    },
    DeleteDraft {
        conv_id: i64,
    },
    /// Suspend the screen and edit `text` in `$EDITOR`.
    ExternalEditor {
        conv_id: i64,
        suggestion_id: i64,
        text: String,
    },
    Quit,
}
