//! The search overlay (`/`): an input line whose text is searched (words
//! and the operators of [`crate::query`], full text and by meaning, fused
//! by [`crate::db::search`]) once the
//! typing pauses. Time comes from `Action::Tick`: a keystroke marks the query
//! dirty, the first tick `DEBOUNCE` later sends it. Each search has its own
//! request id and only the latest one's answer is shown. `Enter` jumps to
//! the conversation (see `similar::go_to`) and marks the query's words in
//! its thread.

use super::app::{Effect, Overlay, ReqKind, State, quit};
use super::clean;
use super::keys::Command;
use super::similar;
use crate::db::ConversationStatus;
use crate::db::conversations::StatusFilter;
use crate::db::search::{Matched, Meaning, SearchFilter, SearchResult};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, Instant};

/// Quiet time after the last keystroke before the query is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// Results asked for.
pub const RESULTS: usize = 30;
/// Longest query kept (characters).
const MAX_QUERY: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOverlay {
    pub query: String,
    /// The list's status filter when the overlay opened: searched within.
    pub filter: StatusFilter,
    /// Typed at this instant and not sent yet.
    pub dirty_since: Option<Instant>,
    /// The latest request; answers to older ones are dropped.
    pub req: Option<u64>,
    /// The text of `req` while it runs.
    pub asking: String,
    /// The text the results are for.
    pub searched: String,
    pub results: Vec<SearchResult>,
    /// How many conversations match (the list shows at most [`RESULTS`]).
    pub matched: Matched,
    /// What the semantic half did.
    pub meaning: Meaning,
    /// Why the semantic half failed, if it did.
    pub note: Option<String>,
    pub error: Option<String>,
    pub cursor: usize,
}

/// Query words to mark in one conversation's thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Highlight {
    pub conv_id: i64,
    /// Lowercase.
    pub terms: Vec<String>,
}

pub fn open(state: &mut State) {
    state.overlay = Overlay::Search(SearchOverlay {
        query: String::new(),
        filter: state.inbox.filter,
        dirty_since: None,
        req: None,
        asking: String::new(),
        searched: String::new(),
        results: Vec::new(),
        matched: Matched::Exactly(0),
        meaning: Meaning::Off,
        note: None,
        error: None,
        cursor: 0,
    });
}

/// The status a list filter stands for (`All`: no filter).
pub fn filter_status(filter: StatusFilter) -> Option<ConversationStatus> {
    match filter {
        StatusFilter::NeedsReply => Some(ConversationStatus::NeedsReply),
        StatusFilter::Waiting => Some(ConversationStatus::Waiting),
        StatusFilter::Archived => Some(ConversationStatus::Archived),
        StatusFilter::All => None,
    }
}

pub fn key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if state.keymap.is(&key, Command::Quit) {
        close(state);
        return quit(state, fx);
    }
    let now = state.now;
    let Overlay::Search(o) = &mut state.overlay else {
        return;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let last = o.results.len().saturating_sub(1);
    match key.code {
        KeyCode::Esc => close(state),
        KeyCode::Enter => open_selected(state, fx),
        KeyCode::Down => o.cursor = (o.cursor + 1).min(last),
        KeyCode::Char('n') if ctrl => o.cursor = (o.cursor + 1).min(last),
        KeyCode::Up => o.cursor = o.cursor.saturating_sub(1),
        KeyCode::Char('p') if ctrl => o.cursor = o.cursor.saturating_sub(1),
        KeyCode::PageDown => o.cursor = (o.cursor + 5).min(last),
        KeyCode::PageUp => o.cursor = o.cursor.saturating_sub(5),
        KeyCode::Backspace if !o.query.is_empty() => {
            o.query.pop();
            edited(state, now);
        }
        KeyCode::Char('u') if ctrl => {
            o.query.clear();
            edited(state, now);
        }
        KeyCode::Char('w') if ctrl => {
            let kept = o.query.trim_end().len();
            let cut = o.query[..kept].rfind(' ').map_or(0, |i| i + 1);
            o.query.truncate(cut);
            edited(state, now);
        }
        KeyCode::Char(c)
            if !ctrl && !alt && !c.is_control() && o.query.chars().count() < MAX_QUERY =>
        {
            o.query.push(c);
            edited(state, now);
        }
        _ => {}
    }
}

/// Bracketed paste into the query line.
pub fn paste(state: &mut State, text: &str) {
    let now = state.now;
    if let Overlay::Search(o) = &mut state.overlay {
        let room = MAX_QUERY.saturating_sub(o.query.chars().count());
        o.query.extend(clean::line(text).chars().take(room));
        edited(state, now);
    }
}

/// The query changed: search again after the pause, or clear when empty.
fn edited(state: &mut State, now: Instant) {
    let Overlay::Search(o) = &mut state.overlay else {
        return;
    };
    if o.query.trim().is_empty() {
        let old = o.req.take();
        o.dirty_since = None;
        o.results.clear();
        o.searched.clear();
        o.note = None;
        o.error = None;
        o.cursor = 0;
        if let Some(old) = old {
            state.requests.remove(&old);
        }
    } else {
        o.dirty_since = Some(now);
    }
}

/// Called on every tick: send the query once typing has paused.
pub fn tick(state: &mut State, fx: &mut Vec<Effect>) {
    let (now, online) = (state.now, state.is_online());
    let Overlay::Search(o) = &mut state.overlay else {
        return;
    };
    let Some(since) = o.dirty_since else {
        return;
    };
    if now.saturating_duration_since(since) < DEBOUNCE {
        return;
    }
    o.dirty_since = None;
    if !online {
        o.error = Some("offline — search needs the database; type again when back".into());
        return;
    }
    let text = o.query.trim().to_string();
    let filter = SearchFilter {
        status: filter_status(o.filter),
        owner: None,
    };
    let old = o.req.take();
    if let Some(old) = old {
        state.requests.remove(&old);
    }
    let req = state.begin(ReqKind::Search);
    if let Overlay::Search(o) = &mut state.overlay {
        o.req = Some(req);
        o.asking = text.clone();
    }
    fx.push(Effect::Search { req, text, filter });
}

fn close(state: &mut State) {
    if let Overlay::Search(o) = &state.overlay
        && let Some(req) = o.req
    {
        state.requests.remove(&req);
    }
    state.overlay = Overlay::None;
}

fn open_selected(state: &mut State, fx: &mut Vec<Effect>) {
    let Overlay::Search(o) = &state.overlay else {
        return;
    };
    let Some(hit) = o.results.get(o.cursor) else {
        return;
    };
    let (conv_id, status) = (hit.conversation_id, hit.status);
    let terms = terms(&o.searched);
    close(state);
    state.highlight = (!terms.is_empty()).then_some(Highlight { conv_id, terms });
    similar::go_to(state, conv_id, status, fx);
}

pub fn loaded(
    state: &mut State,
    req: u64,
    results: Vec<SearchResult>,
    matched: Matched,
    meaning: Meaning,
    note: Option<String>,
) {
    state.requests.remove(&req);
    if let Overlay::Search(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.searched = std::mem::take(&mut o.asking);
        o.results = results;
        o.matched = matched;
        o.meaning = meaning;
        o.note = note.map(|n| clean::line(&n));
        o.error = None;
        o.cursor = 0;
    }
}

pub fn failed(state: &mut State, req: u64, message: &str) {
    if let Overlay::Search(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.error = Some(clean::line(message));
    }
}

/// The plain words of a websearch query, lowercased: quotes and operators
/// dropped, `-excluded` words and `or` left out, one-letter words too.
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in query.split_whitespace() {
        let raw = raw.trim_start_matches('"');
        if raw.starts_with('-') || raw.eq_ignore_ascii_case("or") {
            continue;
        }
        for w in raw.split(|c: char| !c.is_alphanumeric()) {
            let w: String = w.chars().flat_map(char::to_lowercase).collect();
            if w.chars().count() >= 2 && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_the_plain_words() {
        assert_eq!(
            terms("\"Parking spot\" or garage -cats Élan x"),
            vec!["parking", "spot", "garage", "élan"]
        );
        assert!(terms("  ").is_empty());
    }
}
