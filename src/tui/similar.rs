//! The similar overlay (`s`): the conversations nearest to the selected one
//! by the embedding of its latest inbound message, each with how it was
//! answered. `Enter` jumps there, `y` starts a reply from that answer. An
//! answer for a request that is no longer the overlay's is dropped.
//!
//! Jumping (also used by search): select the conversation when it is in the
//! loaded window; otherwise reload the list — in the current filter when it
//! admits the conversation, else in "all" (or "archived") — starting at it,
//! so the thread pane, the keys and the review flow work as usual.

use super::app::{Effect, Focus, Level, Overlay, ReqKind, State, quit, request_page};
use super::clean;
use super::inbox::PageDir;
use super::keys::Command;
use super::workflow;
use crate::db::ConversationStatus;
use crate::db::conversations::{ConversationRow, Page, StatusFilter};
use crate::db::embeddings::{Answer, SimilarConversation};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// How many similar conversations are asked for.
pub const SIMILAR_K: usize = 10;

/// What the runner found.
#[derive(Debug, Clone, PartialEq)]
pub enum Similars {
    /// Most similar first (may be empty: nothing else is embedded yet).
    Found(Vec<SimilarConversation>),
    /// This conversation has no embedded inbound message for the configured
    /// model (or the model has never been used): `replydesk embed` fixes it.
    NotEmbedded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimilarOverlay {
    /// The conversation the overlay is about.
    pub conv_id: i64,
    /// Its lead and subject, sanitized, for the title.
    pub lead: String,
    pub subject: String,
    pub req: Option<u64>,
    pub found: Option<Similars>,
    pub error: Option<String>,
    pub cursor: usize,
}

impl SimilarOverlay {
    /// The row under the cursor.
    pub fn selected(&self) -> Option<&SimilarConversation> {
        match &self.found {
            Some(Similars::Found(rows)) => rows.get(self.cursor),
            _ => None,
        }
    }

    fn len(&self) -> usize {
        match &self.found {
            Some(Similars::Found(rows)) => rows.len(),
            _ => 0,
        }
    }
}

/// Open the overlay for the selected conversation and ask for its neighbours.
pub fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = state.inbox.selected_row() else {
        return state.say(Level::Error, "no conversation selected");
    };
    let mut o = SimilarOverlay {
        conv_id: row.id,
        lead: clean::line(&row.lead_name),
        subject: clean::line(&row.subject),
        req: None,
        found: None,
        error: None,
        cursor: 0,
    };
    if state.is_online() {
        let req = state.begin(ReqKind::Similar);
        o.req = Some(req);
        fx.push(Effect::LoadSimilar {
            req,
            conv_id: o.conv_id,
        });
    } else {
        o.error = Some("offline — similar conversations need the database".into());
    }
    state.overlay = Overlay::Similar(o);
}

pub fn key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::Similar(o) = &mut state.overlay else {
        return;
    };
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if plain && key.code == KeyCode::Char('y') {
        return use_reply(state);
    }
    let last = o.len().saturating_sub(1);
    match state.keymap.lookup(&key) {
        Some(Command::Down) => o.cursor = (o.cursor + 1).min(last),
        Some(Command::Up) => o.cursor = o.cursor.saturating_sub(1),
        Some(Command::Top) => o.cursor = 0,
        Some(Command::Bottom) => o.cursor = last,
        Some(Command::Open) => {
            if let Some(sc) = o.selected() {
                let (conv_id, status) = (sc.conversation_id, sc.status);
                close(state);
                go_to(state, conv_id, status, fx);
            }
        }
        Some(Command::Refresh) => {
            close(state);
            open(state, fx);
        }
        Some(Command::Quit) => {
            close(state);
            quit(state, fx);
        }
        Some(Command::Back | Command::Similar | Command::Help) => close(state),
        _ => {}
    }
}

fn close(state: &mut State) {
    if let Overlay::Similar(o) = &state.overlay
        && let Some(req) = o.req
    {
        state.requests.remove(&req);
    }
    state.overlay = Overlay::None;
}

/// `y`: open the editor on this conversation with the similar reply as the
/// starting text (the other lead's first name swapped for this one's).
fn use_reply(state: &mut State) {
    let Overlay::Similar(o) = &state.overlay else {
        return;
    };
    let Some(sc) = o.selected() else {
        return;
    };
    let Answer::Reply { text, .. } = &sc.answer else {
        return state.say(
            Level::Error,
            "that conversation has no approved reply to start from",
        );
    };
    let conv_id = o.conv_id;
    let target = state
        .inbox
        .rows
        .iter()
        .find(|r| r.id == conv_id)
        .map(|r| r.lead_name.clone())
        .unwrap_or_default();
    let text = adapt(text, &sc.lead_name, &target);
    let from = clean::line(&sc.lead_name);
    close(state);
    match workflow::edit_with(state, conv_id, &text) {
        Ok(()) => state.say(
            Level::Info,
            format!(
                "started from the reply to {from} — edit it, {} to save",
                state.keymap.hint(Command::Save)
            ),
        ),
        Err(why) => state.say(Level::Error, why),
    }
}

/// The reply to another lead, adapted minimally: that lead's first name
/// becomes this lead's (whole words only). No AI, just the text.
pub fn adapt(reply: &str, from_lead: &str, to_lead: &str) -> String {
    let first = |name: &str| {
        name.split_whitespace()
            .next()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
            .filter(|w| w.chars().count() >= 2)
    };
    match (first(from_lead), first(to_lead)) {
        (Some(from), Some(to)) if from != to => replace_word(reply, &from, &to),
        _ => reply.to_string(),
    }
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = match rest[..i].chars().next_back() {
            Some(c) => Some(c),
            None => out.chars().next_back(),
        };
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        out.push_str(if boundary(before) && boundary(after) {
            with
        } else {
            word
        });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

pub fn loaded(state: &mut State, req: u64, found: Similars) {
    state.requests.remove(&req);
    if let Overlay::Similar(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.found = Some(found);
        o.error = None;
        o.cursor = 0;
    }
}

pub fn failed(state: &mut State, req: u64, message: &str) {
    if let Overlay::Similar(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.error = Some(clean::line(message));
    }
}

/// Show a conversation found by similar or search: select it when it is
/// loaded, else reload the list starting at it (see the module docs).
pub fn go_to(state: &mut State, conv_id: i64, status: ConversationStatus, fx: &mut Vec<Effect>) {
    if state.inbox.select_id(conv_id) {
        state.focus = Focus::Thread;
        return;
    }
    if !state.is_online() {
        return state.say(
            Level::Error,
            "disconnected — that conversation is not loaded; try again when back",
        );
    }
    let current = state.inbox.filter;
    let filter = if current.admits(status) {
        current
    } else if StatusFilter::All.admits(status) {
        StatusFilter::All
    } else {
        StatusFilter::Archived
    };
    if let Some((old, _)) = state.inbox.loading {
        state.requests.remove(&old);
    }
    state.inbox.reset(filter);
    state.focus = Focus::List;
    state.jump_to = None;
    let req = state.begin(ReqKind::Page);
    state.inbox.loading = Some((req, PageDir::Reload));
    fx.push(Effect::LoadAround {
        req,
        conv_id,
        query: state.query(),
        limit: state.inbox.page_size as i64,
    });
    if filter != current {
        state.say(
            Level::Info,
            format!(
                "showing {} — that conversation is not in {}",
                filter.label(),
                current.label()
            ),
        );
    }
}

/// The page that starts at the conversation jumped to.
pub fn around_loaded(
    state: &mut State,
    req: u64,
    conv_id: i64,
    rows: Vec<ConversationRow>,
    fx: &mut Vec<Effect>,
) {
    if state.requests.remove(&req).is_none() || state.inbox.loading.map(|(r, _)| r) != Some(req) {
        return;
    }
    if rows.iter().any(|r| r.id == conv_id) {
        state.inbox.apply_page(PageDir::Reload, rows);
        // Newer rows are fetched by the usual paging when the cursor is near
        // the top; none there just clears the flag again.
        state.inbox.has_newer = true;
        state.inbox.select_id(conv_id);
        state.focus = Focus::Thread;
    } else {
        state.inbox.loading = None;
        request_page(state, fx, Page::First, PageDir::First);
        state.say(
            Level::Error,
            "that conversation is not in your list (another rep's, or deleted)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapt_swaps_the_first_name_as_a_whole_word() {
        assert_eq!(
            adapt(
                "Hi Tom, Tomas said Tom's fine.",
                "Tom Becker",
                "Maria Gonzalez"
            ),
            "Hi Maria, Tomas said Maria's fine."
        );
        assert_eq!(adapt("Hi there", "", "Maria"), "Hi there");
        assert_eq!(adapt("Hi Ann", "Ann Lee", "Ann Roe"), "Hi Ann");
        assert_eq!(adapt("TomTom Tom", "Tom", "Sam"), "TomTom Sam");
    }
}
