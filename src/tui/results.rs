//! Answers from the database and the listener, routed by request id. An
//! answer whose id is no longer expected (the filter changed, the cursor
//! moved on, a reload replaced it) is dropped.

use super::app::{
    Action, Done, Effect, Failure, Level, ReqKind, State, UndoSlot, mark_offline, mark_online,
    probe_failed, request_counts, request_thread,
};
use super::clean;
use super::editor::EditKind;
use super::keys::Command;
use super::thread::{LoadedThread, ShownMessage};
use crate::db::suggestions::Decision;

pub fn on_result(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::PageLoaded { req, rows } => {
            if state.requests.remove(&req).is_none() {
                return;
            }
            if let Some((expected, dir)) = state.inbox.loading
                && expected == req
            {
                state.inbox.apply_page(dir, rows);
                jump_if_wanted(state);
            }
        }
        Action::CountsLoaded { req, counts } => {
            state.requests.remove(&req);
            if state.counts_inflight == Some(req) {
                state.counts_inflight = None;
                state.counts = Some(counts);
            }
        }
        Action::ThreadLoaded {
            req,
            conv_id,
            thread,
            suggestion,
        } => {
            state.requests.remove(&req);
            if state.thread.inflight.map(|(r, _)| r) != Some(req) {
                return;
            }
            state.thread.inflight = None;
            if state.thread.wanted == Some(conv_id) {
                let same = state.thread.loaded.as_ref().map(|l| l.conv_id) == Some(conv_id);
                if !same {
                    state.thread.scroll_from_bottom = 0;
                    state.thread.sugg_scroll = 0;
                }
                state.thread.loaded = Some(LoadedThread::new(*thread, suggestion.map(|s| *s)));
                state.thread.version += 1;
                state.thread.error = None;
            }
            if state.thread.again || state.thread.wanted != Some(conv_id) {
                state.thread.again = false;
                request_thread(state, fx);
            }
        }
        Action::OlderLoaded {
            req,
            conv_id,
            messages,
            has_older,
        } => {
            state.requests.remove(&req);
            if state.thread.older_inflight != Some(req) {
                return;
            }
            state.thread.older_inflight = None;
            if let Some(l) = state.thread.current_mut()
                && l.conv_id == conv_id
            {
                let first = l.messages.first().map_or(i32::MAX, |m| m.meta.seq);
                let mut older: Vec<ShownMessage> = messages
                    .into_iter()
                    .filter(|m| m.seq < first)
                    .map(ShownMessage::new)
                    .collect();
                older.append(&mut l.messages);
                l.messages = older;
                l.has_older = has_older;
                state.thread.version += 1;
            }
        }
        Action::RowsLoaded { req, ids, mut rows } => {
            if state.requests.remove(&req).is_none() {
                return;
            }
            // Scope "mine": a row someone else claimed leaves the list.
            if let Some(me) = state.owner {
                let unassigned = state.unassigned;
                rows.retain(|r| {
                    r.owner_rep_id == Some(me) || unassigned && r.owner_rep_id.is_none()
                });
            }
            let gone: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| !rows.iter().any(|r| r.id == *id))
                .collect();
            state.inbox.upsert(rows, &gone);
            jump_if_wanted(state);
        }
        Action::Decided { req, done } => {
            let Some(r) = state.requests.remove(&req) else {
                return;
            };
            decided(state, r.started, req, done, fx);
        }
        Action::Failed { req, failure } => {
            let Some(r) = state.requests.remove(&req) else {
                return;
            };
            failed(state, r.kind, req, failure, fx);
        }
        Action::StatsLoaded { req, stats } => super::stats::loaded(state, req, stats),
        Action::SimilarLoaded { req, found } => super::similar::loaded(state, req, found),
        Action::SearchLoaded {
            req,
            results,
            matched,
            meaning,
            note,
        } => super::search::loaded(state, req, results, matched, meaning, note),
        Action::AroundLoaded { req, conv_id, rows } => {
            super::similar::around_loaded(state, req, conv_id, rows, fx)
        }
        Action::ProbeOk { req } => {
            state.requests.remove(&req);
            if state.probe_inflight == Some(req) {
                state.probe_inflight = None;
                mark_online(state, fx);
            }
        }
        Action::ListenerUp => {
            state.live = true;
            mark_online(state, fx);
        }
        Action::ListenerDown(reason) => {
            state.live = false;
            mark_offline(state, &reason);
        }
        Action::Notified(n) => {
            if n.resync {
                state.pending_resync = true;
            }
            state.pending_ids.extend(n.conversations);
            state.counts_dirty = true;
        }
        Action::DraftLoaded { conv_id, text } => {
            let mono = state.theme.mono;
            if let (Some(ed), Some(text)) = (&mut state.editor, text)
                && ed.conv_id == conv_id
                && !ed.touched
                && text != ed.original
            {
                ed.replace_text(&text, mono);
                ed.touched = true;
                ed.restored = true;
                state.say(
                    Level::Info,
                    "restored your unsent text for this conversation",
                );
            }
        }
        Action::DraftSaveFailed(why) => {
            state.say(
                Level::Error,
                format!("could not save the local draft: {}", clean::line(&why)),
            );
        }
        Action::ExternalEdited {
            conv_id,
            suggestion_id,
            result,
        } => match result {
            Ok(text) => {
                let lead = state
                    .inbox
                    .rows
                    .iter()
                    .find(|r| r.id == conv_id)
                    .map(|r| clean::line(&r.lead_name))
                    .unwrap_or_default();
                let original = state
                    .thread
                    .loaded
                    .as_ref()
                    .and_then(|l| l.suggestion.as_ref())
                    .filter(|s| s.id == suggestion_id)
                    .map_or(String::new(), |s| s.body.clone());
                let mut ed = super::editor::Editor::new(
                    EditKind::Edit { suggestion_id },
                    conv_id,
                    lead,
                    &original,
                    state.theme.mono,
                );
                ed.replace_text(&text, state.theme.mono);
                ed.touched = true;
                state.editor = Some(ed);
                let save = state.keymap.hint(Command::Save);
                state.say(
                    Level::Info,
                    format!("back from $EDITOR — check the text, {save} approves it"),
                );
            }
            Err(why) => state.say(
                Level::Error,
                format!("$EDITOR failed: {}", clean::line(&why)),
            ),
        },
        Action::Key(_)
        | Action::Paste(_)
        | Action::Tick { .. }
        | Action::Layout(_)
        | Action::Quit => {}
    }
}

fn jump_if_wanted(state: &mut State) {
    if let Some(id) = state.jump_to
        && state.inbox.select_id(id)
    {
        state.jump_to = None;
    }
}

/// After a change to one conversation: refresh its row, the counts and
/// (if open) its thread, without waiting for the notification.
fn refresh_conversation(state: &mut State, conv_id: i64, fx: &mut Vec<Effect>) {
    let req = state.begin(ReqKind::Rows);
    fx.push(Effect::LoadRows {
        req,
        ids: vec![conv_id],
    });
    request_counts(state, fx);
    if state.thread.wanted == Some(conv_id) {
        request_thread(state, fx);
    }
}

fn queued(state: &mut State, started: std::time::Instant, d: &Decision) {
    state.undo = Some(UndoSlot {
        outbox_id: d.queued.outbox_id,
        conv_id: d.conversation_id,
        deadline: started + state.undo_window,
    });
}

fn close_editor_for(state: &mut State, req: u64, fx: &mut Vec<Effect>) {
    if let Some(ed) = &state.editor
        && ed.saving == Some(req)
    {
        fx.push(Effect::DeleteDraft {
            conv_id: ed.conv_id,
        });
        state.editor = None;
    }
}

fn decided(
    state: &mut State,
    started: std::time::Instant,
    req: u64,
    done: Done,
    fx: &mut Vec<Effect>,
) {
    let undo_key = state.keymap.hint(Command::Undo);
    let secs = state.undo_window.as_secs();
    let conv_id = match done {
        Done::Approved(d) => {
            queued(state, started, &d);
            close_editor_for(state, req, fx);
            let how = match d.status {
                crate::db::SuggestionStatus::Edited => "edited reply queued",
                _ => "approved — reply queued",
            };
            state.say(
                Level::Success,
                format!("{how}; sends in {secs}s ({undo_key} to undo)"),
            );
            d.conversation_id
        }
        Done::Composed(d) => {
            queued(state, started, &d);
            close_editor_for(state, req, fx);
            state.say(
                Level::Success,
                format!("your reply is queued; sends in {secs}s ({undo_key} to undo)"),
            );
            d.conversation_id
        }
        Done::Rejected { conv_id, reason } => {
            let c = state.keymap.hint(Command::Compose);
            state.say(
                Level::Success,
                format!(
                    "draft rejected ({}) — {c} to write your own reply",
                    reason.label()
                ),
            );
            conv_id
        }
        Done::Undone(u) => {
            state.undo = None;
            state.jump_to = Some(u.conversation_id);
            let what = match u.suggestion_status {
                Some(crate::db::SuggestionStatus::Pending) => {
                    "undone — not sent; the draft is pending again"
                }
                Some(_) => "undone — not sent; a newer draft replaced the old one",
                None => "undone — not sent; your text is gone from the outbox",
            };
            state.say(Level::Success, what);
            u.conversation_id
        }
        Done::Archived { conv_id, changed } => {
            state.say(
                Level::Success,
                if changed {
                    "archived"
                } else {
                    "was already archived"
                },
            );
            conv_id
        }
        Done::Unarchived { conv_id, status } => {
            let text = match status {
                Some(s) => format!("unarchived — now {}", s.label()),
                None => "was not archived".to_string(),
            };
            state.say(Level::Success, text);
            conv_id
        }
        Done::Claimed { conv_id } => {
            state.say(Level::Success, "claimed — this conversation is yours");
            conv_id
        }
    };
    refresh_conversation(state, conv_id, fx);
}

fn failed(state: &mut State, kind: ReqKind, req: u64, f: Failure, fx: &mut Vec<Effect>) {
    if f.connection_lost {
        mark_offline(state, &f.message);
    }
    match kind {
        ReqKind::Page => {
            if state.inbox.loading.map(|(r, _)| r) == Some(req) {
                state.inbox.loading = None;
                if !f.connection_lost {
                    state.say(Level::Error, format!("inbox: {}", clean::line(&f.message)));
                }
            }
        }
        ReqKind::Counts => {
            if state.counts_inflight == Some(req) {
                state.counts_inflight = None;
            }
        }
        ReqKind::Thread => {
            if state.thread.inflight.map(|(r, _)| r) == Some(req) {
                let conv = state.thread.inflight.map(|(_, c)| c);
                state.thread.inflight = None;
                if conv == state.thread.wanted {
                    state.thread.error = Some(clean::line(&f.message));
                    state.thread.again = false;
                } else {
                    request_thread(state, fx);
                }
            }
        }
        ReqKind::Older => {
            if state.thread.older_inflight == Some(req) {
                state.thread.older_inflight = None;
            }
        }
        ReqKind::Rows => {}
        ReqKind::Stats => super::stats::failed(state, req, &f.message),
        ReqKind::Similar => super::similar::failed(state, req, &f.message),
        ReqKind::Search => super::search::failed(state, req, &f.message),
        ReqKind::Probe => {
            if state.probe_inflight == Some(req) {
                state.probe_inflight = None;
                if f.connection_lost {
                    probe_failed(state);
                } else {
                    // The server answered (with an error): it is reachable.
                    mark_online(state, fx);
                }
            }
        }
        ReqKind::Decision { conv_id, .. } => {
            if let Some(ed) = &mut state.editor
                && ed.saving == Some(req)
            {
                // The editor stays open with its text; the local draft keeps it too.
                ed.saving = None;
                fx.push(Effect::SaveDraft {
                    conv_id: ed.conv_id,
                    text: ed.text(),
                });
            }
            if f.connection_lost {
                state.say(
                    Level::Error,
                    format!(
                        "disconnected — nothing was changed ({}); retrying",
                        clean::line(&f.message)
                    ),
                );
            } else {
                state.say(Level::Error, clean::line(&f.message));
                if f.refresh {
                    if state.undo.is_some_and(|u| u.conv_id == conv_id) {
                        state.undo = None;
                    }
                    refresh_conversation(state, conv_id, fx);
                }
            }
        }
    }
}
