//! The review keys: approve, edit, reject, compose, undo, archive, and the
//! keys inside the editor and the reject picker. Pure: they only change the
//! state and return effects.

use super::app::{Effect, Level, Overlay, RejectPicker, ReqKind, State};
use super::clean;
use super::editor::{EditKind, Editor};
use super::keys::Command;
use crate::db::{ConversationStatus, RejectionReason, SuggestionStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn command(state: &mut State, cmd: Command, fx: &mut Vec<Effect>) {
    let result = match cmd {
        Command::Approve => approve(state, fx),
        Command::Edit => edit(state, fx),
        Command::EditExternal => edit_external(state, fx),
        Command::Reject => reject(state),
        Command::Compose => compose(state, fx),
        Command::Undo => undo(state, fx),
        Command::Archive => archive(state, fx),
        Command::Claim => claim(state, fx),
        _ => Ok(()),
    };
    if let Err(why) = result {
        state.say(Level::Error, why);
    }
}

fn online(state: &State, doing: &str) -> Result<(), String> {
    if state.is_online() {
        Ok(())
    } else {
        Err(format!(
            "disconnected — cannot {doing} until the database is back (retrying)"
        ))
    }
}

/// The conversation under the cursor and its pending draft, as shown.
fn pending_draft(state: &State) -> Result<(i64, i64, String), String> {
    let row = state
        .inbox
        .selected_row()
        .ok_or("no conversation selected")?;
    let conv_id = row.id;
    if state.decision_inflight(conv_id) {
        return Err("still working on the previous decision…".into());
    }
    let loaded = state
        .thread
        .current()
        .ok_or("the draft is still loading — one moment")?;
    let s = loaded.suggestion.as_ref().ok_or_else(|| {
        format!(
            "no draft for this conversation — {} writes your own reply",
            state.keymap.hint(Command::Compose)
        )
    })?;
    if s.status != SuggestionStatus::Pending {
        let who = s
            .decided_by
            .as_deref()
            .map(|w| format!(" by {}", clean::line(w)))
            .unwrap_or_default();
        return Err(format!(
            "this draft is already {}{who} — nothing to decide",
            s.status.as_str()
        ));
    }
    Ok((conv_id, s.id, s.body.clone()))
}

fn lead_name(state: &State) -> String {
    state
        .inbox
        .selected_row()
        .map(|r| clean::line(&r.lead_name))
        .unwrap_or_default()
}

fn approve(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    online(state, "approve")?;
    let (conv_id, suggestion_id, _) = pending_draft(state)?;
    let req = state.begin(ReqKind::Decision {
        conv_id,
        what: "approving",
    });
    fx.push(Effect::Approve { req, suggestion_id });
    state.say(Level::Info, "approving…");
    Ok(())
}

fn edit(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    let (conv_id, suggestion_id, body) = pending_draft(state)?;
    let lead = lead_name(state);
    state.editor = Some(Editor::new(
        EditKind::Edit { suggestion_id },
        conv_id,
        lead,
        &body,
        state.theme.mono,
    ));
    fx.push(Effect::LoadDraft { conv_id });
    Ok(())
}

fn edit_external(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    let (conv_id, suggestion_id, body) = pending_draft(state)?;
    fx.push(Effect::ExternalEditor {
        conv_id,
        suggestion_id,
        text: clean::block(&body),
    });
    Ok(())
}

fn reject(state: &mut State) -> Result<(), String> {
    online(state, "reject")?;
    let (conv_id, suggestion_id, _) = pending_draft(state)?;
    state.overlay = Overlay::Reject(RejectPicker {
        suggestion_id,
        conv_id,
        cursor: 0,
        note: String::new(),
        typing: false,
    });
    Ok(())
}

fn compose(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    let row = state
        .inbox
        .selected_row()
        .ok_or("no conversation selected")?;
    let conv_id = row.id;
    let lead = clean::line(&row.lead_name);
    state.editor = Some(Editor::new(
        EditKind::Compose,
        conv_id,
        lead,
        "",
        state.theme.mono,
    ));
    fx.push(Effect::LoadDraft { conv_id });
    Ok(())
}

/// Open the inline editor on `conv_id` (the selected conversation) with
/// `text` to start from (a reply from the similar overlay): editing its
/// pending draft when it has one, else composing. No local draft is
/// restored over it; Esc asks before throwing it away.
pub fn edit_with(state: &mut State, conv_id: i64, text: &str) -> Result<(), String> {
    let row = state
        .inbox
        .selected_row()
        .filter(|r| r.id == conv_id)
        .ok_or("that conversation is no longer selected")?;
    if state.decision_inflight(conv_id) {
        return Err("still working on the previous decision…".into());
    }
    let lead = clean::line(&row.lead_name);
    let listed = row.pending_suggestion_id;
    let (kind, before) = match state.thread.current() {
        Some(l) => match l.pending_suggestion() {
            Some(s) => (
                EditKind::Edit {
                    suggestion_id: s.id,
                },
                clean::block(&s.body),
            ),
            None => (EditKind::Compose, String::new()),
        },
        None => match listed {
            Some(suggestion_id) => (EditKind::Edit { suggestion_id }, String::new()),
            None => (EditKind::Compose, String::new()),
        },
    };
    let mut ed = Editor::new(kind, conv_id, lead, text, state.theme.mono);
    ed.original = before;
    state.editor = Some(ed);
    Ok(())
}

fn undo(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    let slot = match state.undo {
        Some(slot) if state.now < slot.deadline => slot,
        _ => return Err("nothing to undo".into()),
    };
    online(state, "undo")?;
    // `u` means "the reply I just sent": while a decision is still on its
    // way, the slot holds the one before it, so wait rather than undo that.
    if state.any_decision_inflight() {
        return Err("still working on the last decision — press u again in a moment".into());
    }
    let req = state.begin(ReqKind::Decision {
        conv_id: slot.conv_id,
        what: "undoing",
    });
    fx.push(Effect::Undo {
        req,
        outbox_id: slot.outbox_id,
    });
    state.say(Level::Info, "undoing…");
    Ok(())
}

fn archive(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    online(state, "archive")?;
    let row = state
        .inbox
        .selected_row()
        .ok_or("no conversation selected")?;
    let (conv_id, archived) = (row.id, row.status == ConversationStatus::Archived);
    if state.decision_inflight(conv_id) {
        return Err("still working on the previous change…".into());
    }
    let what = if archived { "unarchiving" } else { "archiving" };
    let req = state.begin(ReqKind::Decision { conv_id, what });
    fx.push(if archived {
        Effect::Unarchive { req, conv_id }
    } else {
        Effect::Archive { req, conv_id }
    });
    Ok(())
}

fn claim(state: &mut State, fx: &mut Vec<Effect>) -> Result<(), String> {
    online(state, "claim")?;
    let row = state
        .inbox
        .selected_row()
        .ok_or("no conversation selected")?;
    let conv_id = row.id;
    if row.owner_rep_id == Some(state.rep.id) {
        return Err("this conversation is already yours".into());
    }
    if state.decision_inflight(conv_id) {
        return Err("still working on the previous change…".into());
    }
    let req = state.begin(ReqKind::Decision {
        conv_id,
        what: "claiming",
    });
    fx.push(Effect::Claim { req, conv_id });
    state.say(Level::Info, "claiming…");
    Ok(())
}

pub fn reject_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::Reject(picker) = &mut state.overlay else {
        return;
    };
    let n = RejectionReason::ALL.len();
    let other = RejectionReason::ALL.len() - 1;
    if picker.typing {
        match key.code {
            KeyCode::Esc => picker.typing = false,
            KeyCode::Enter => return submit_reject(state, fx),
            KeyCode::Backspace => {
                picker.note.pop();
            }
            KeyCode::Char(c)
                if !key.modifiers.contains(KeyModifiers::CONTROL)
                    && !c.is_control()
                    && picker.note.chars().count() < 500 =>
            {
                picker.note.push(c);
            }
            _ => {}
        }
        return;
    }
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => state.overlay = Overlay::None,
        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
            picker.cursor = (picker.cursor + 1) % n
        }
        KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => {
            picker.cursor = (picker.cursor + n - 1) % n
        }
        KeyCode::Char(c @ '1'..='4') => {
            picker.cursor = (c as usize - '1' as usize).min(n - 1);
            if picker.cursor == other {
                picker.typing = true;
            } else {
                submit_reject(state, fx);
            }
        }
        KeyCode::Enter if picker.cursor == other && picker.note.trim().is_empty() => {
            picker.typing = true;
        }
        KeyCode::Enter => submit_reject(state, fx),
        _ => {}
    }
}

fn submit_reject(state: &mut State, fx: &mut Vec<Effect>) {
    let Overlay::Reject(picker) = std::mem::replace(&mut state.overlay, Overlay::None) else {
        return;
    };
    if let Err(why) = online(state, "reject") {
        return state.say(Level::Error, why);
    }
    let reason = RejectionReason::ALL
        .get(picker.cursor)
        .copied()
        .unwrap_or(RejectionReason::Other);
    let note = Some(clean::line(&picker.note)).filter(|n| !n.is_empty());
    let req = state.begin(ReqKind::Decision {
        conv_id: picker.conv_id,
        what: "rejecting",
    });
    fx.push(Effect::Reject {
        req,
        suggestion_id: picker.suggestion_id,
        reason,
        note,
    });
    state.say(Level::Info, "rejecting…");
}

pub fn editor_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let save = state.keymap.is(&key, Command::Save);
    let online = state.is_online();
    let now = state.now;
    let Some(ed) = &mut state.editor else {
        return;
    };
    if ed.confirm_discard {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                let conv_id = ed.conv_id;
                state.editor = None;
                fx.push(Effect::DeleteDraft { conv_id });
                state.say(Level::Info, "edits discarded");
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => ed.confirm_discard = false,
            _ => {}
        }
        return;
    }
    if save {
        return save_editor(state, online, fx);
    }
    if key.code == KeyCode::Esc {
        if ed.saving.is_some() {
            return state.say(Level::Info, "saving… wait for the result");
        }
        if ed.is_modified() || (ed.is_compose() && !ed.text().trim().is_empty()) {
            ed.confirm_discard = true;
        } else {
            let conv_id = ed.conv_id;
            state.editor = None;
            fx.push(Effect::DeleteDraft { conv_id });
        }
        return;
    }
    if ed.saving.is_some() {
        return;
    }
    if ed.textarea.input(key) {
        ed.touched = true;
        ed.dirty_since = Some(now);
    }
}

fn save_editor(state: &mut State, online: bool, fx: &mut Vec<Effect>) {
    let Some(ed) = &mut state.editor else {
        return;
    };
    if ed.saving.is_some() {
        return;
    }
    let verb = if ed.is_compose() { "send" } else { "approve" };
    if !online {
        // The text stays in the editor and in the local draft.
        if ed.touched {
            ed.dirty_since = None;
            fx.push(Effect::SaveDraft {
                conv_id: ed.conv_id,
                text: ed.text(),
            });
        }
        return state.say(
            Level::Error,
            format!("disconnected — cannot {verb} now; your text is kept, try again when back"),
        );
    }
    let body = ed.text();
    if body.trim().is_empty() {
        return state.say(Level::Error, "the reply is empty — nothing to send");
    }
    let conv_id = ed.conv_id;
    let kind = ed.kind;
    let what = if ed.is_compose() {
        "sending"
    } else {
        "approving"
    };
    let req = state.begin(ReqKind::Decision { conv_id, what });
    if let Some(ed) = &mut state.editor {
        ed.saving = Some(req);
    }
    fx.push(match kind {
        EditKind::Edit { suggestion_id } => Effect::ApproveEdited {
            req,
            suggestion_id,
            body,
        },
        EditKind::Compose => Effect::Compose { req, conv_id, body },
    });
    state.say(Level::Info, format!("{what}…"));
}

/// Bracketed paste: into the editor or the reject note, never a command.
pub fn on_paste(state: &mut State, text: &str) {
    let now = state.now;
    if let Some(ed) = &mut state.editor {
        if ed.confirm_discard || ed.saving.is_some() {
            return;
        }
        let text = clean::block(&text.replace("\r\n", "\n").replace('\r', "\n"));
        if ed.textarea.insert_str(text) {
            ed.touched = true;
            ed.dirty_since = Some(now);
        }
    } else if let Overlay::Reject(p) = &mut state.overlay
        && p.typing
    {
        p.note.push_str(&clean::line(text));
    } else if let Overlay::Search(_) = state.overlay {
        super::search::paste(state, text);
    }
}
