//! State of the thread and suggestion panes: which conversation is wanted,
//! which request is in flight, what is loaded (already made safe to draw).

use super::clean;
use crate::db::messages::{ConversationDetail, MessageView, Thread};
use crate::db::suggestions::Suggestion;
use ratatui::text::Line;
use std::cell::RefCell;
use std::time::Instant;

/// A message as drawn: the database row without its raw body, plus the
/// body converted (HTML → text), sanitized and annotated when cut.
#[derive(Debug, Clone)]
pub struct ShownMessage {
    pub meta: MessageView,
    pub text: String,
}

impl ShownMessage {
    pub fn new(mut m: MessageView) -> ShownMessage {
        let text = clean::body(&m);
        m.body = String::new();
        ShownMessage { meta: m, text }
    }
}

#[derive(Debug, Clone)]
pub struct LoadedThread {
    pub conv_id: i64,
    pub detail: ConversationDetail,
    pub messages: Vec<ShownMessage>,
    pub has_older: bool,
    pub suggestion: Option<Suggestion>,
}

impl LoadedThread {
    pub fn new(thread: Thread, suggestion: Option<Suggestion>) -> LoadedThread {
        LoadedThread {
            conv_id: thread.conversation.id,
            detail: thread.conversation,
            messages: thread.messages.into_iter().map(ShownMessage::new).collect(),
            has_older: thread.has_older,
            suggestion,
        }
    }

    pub fn pending_suggestion(&self) -> Option<&Suggestion> {
        self.suggestion
            .as_ref()
            .filter(|s| s.status == crate::db::SuggestionStatus::Pending)
    }
}

/// Wrapped lines of the thread for one width, reused between frames.
#[derive(Debug, Clone, Default)]
pub struct WrapCache {
    pub key: (u16, u64, i64),
    pub lines: Vec<Line<'static>>,
}

#[derive(Debug, Default)]
pub struct ThreadPane {
    /// The conversation under the list cursor.
    pub wanted: Option<i64>,
    /// The thread request in flight: (request id, conversation id).
    pub inflight: Option<(u64, i64)>,
    /// Ask again when the request in flight returns (a notification came).
    pub again: bool,
    pub requested_at: Option<Instant>,
    pub loaded: Option<LoadedThread>,
    pub older_inflight: Option<u64>,
    pub error: Option<String>,
    /// Lines scrolled up from the newest message (0 = bottom).
    pub scroll_from_bottom: usize,
    pub sugg_scroll: usize,
    /// Bumped whenever the loaded messages change (invalidates the cache).
    pub version: u64,
    pub cache: RefCell<WrapCache>,
}

impl ThreadPane {
    /// The loaded thread, if it is the one the cursor is on.
    pub fn current(&self) -> Option<&LoadedThread> {
        self.loaded
            .as_ref()
            .filter(|l| Some(l.conv_id) == self.wanted)
    }

    pub fn current_mut(&mut self) -> Option<&mut LoadedThread> {
        let wanted = self.wanted;
        self.loaded.as_mut().filter(|l| Some(l.conv_id) == wanted)
    }
}
