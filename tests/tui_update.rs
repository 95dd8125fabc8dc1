//! `update` without a terminal or a database: keys and answers in, state
//! and effects out. Time is injected with `Action::Tick`.

mod tui_support;

use chrono::Duration as Days;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use replydesk::db::conversations::{Page, StatusFilter};
use replydesk::db::{ConversationStatus, RejectionReason, SuggestionStatus};
use replydesk::tui::app::{
    self, Action, Conn, Done, Effect, Failure, Focus, Level, Notice, Overlay, State,
};
use std::time::{Duration, Instant};
use tui_support::*;

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(k: KeyCode) -> Action {
    Action::Key(KeyEvent::new(k, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn tick(s: &mut State, at: Instant) -> Vec<Effect> {
    let wall = wall() + Days::from_std(at.saturating_duration_since(s.now)).unwrap_or_default();
    app::update(s, Action::Tick { now: at, wall })
}

fn flash(s: &State) -> String {
    s.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

fn req_of(fx: &[Effect]) -> Option<u64> {
    fx.iter().find_map(|e| match e {
        Effect::Approve { req, .. }
        | Effect::ApproveEdited { req, .. }
        | Effect::Reject { req, .. }
        | Effect::Compose { req, .. }
        | Effect::Undo { req, .. }
        | Effect::Archive { req, .. }
        | Effect::Probe { req } => Some(*req),
        _ => None,
    })
}

fn lost_race() -> Failure {
    Failure {
        message: "already approved by Dana Cruz <dana@acme.test> at 2025-03-14 15:09:20 UTC; nothing was changed".into(),
        connection_lost: false,
        refresh: true,
    }
}

fn conn_lost() -> Failure {
    Failure {
        message: "cannot reach PostgreSQL at x@localhost:5432/replydesk (connection refused)"
            .into(),
        connection_lost: true,
        refresh: false,
    }
}

#[test]
fn init_asks_for_the_first_page_and_counts() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage { page: Page::First, limit: 10, query, .. } if query.filter == StatusFilter::NeedsReply
    )));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCounts { .. })));
}

#[test]
fn a_page_selects_the_first_row_and_loads_its_thread() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req, .. }) = fx.first().cloned() else {
        panic!("no page request: {fx:?}");
    };
    let fx = app::update(
        &mut s,
        Action::PageLoaded {
            req,
            rows: rows(0..10),
        },
    );
    assert_eq!(s.inbox.selected_id(), Some(1000));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1000, .. }))
    );
}

#[test]
fn approve_sends_the_pending_draft_id() {
    let (mut s, _) = loaded();
    let fx = app::update(&mut s, key('a'));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Approve {
                suggestion_id: 5000,
                ..
            }
        )),
        "{fx:?}"
    );
}

#[test]
fn approve_without_a_pending_draft_only_explains() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    answer(&mut s, fx, false);
    let fx = app::update(&mut s, key('a'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(
        flash(&s).contains("already approved by Dana Cruz"),
        "{}",
        flash(&s)
    );
    assert_eq!(s.flash.as_ref().map(|f| f.level), Some(Level::Error));
}

#[test]
fn approve_before_the_draft_is_shown_is_refused() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req, .. }) = fx.first().cloned() else {
        panic!("no page request");
    };
    app::update(
        &mut s,
        Action::PageLoaded {
            req,
            rows: rows(0..10),
        },
    );
    let fx = app::update(&mut s, key('a'));
    assert!(fx.is_empty());
    assert!(flash(&s).contains("loading"));
}

#[test]
fn decisions_are_refused_while_disconnected() {
    let (mut s, _) = loaded();
    app::update(&mut s, Action::ListenerDown("connection refused".into()));
    assert!(matches!(s.conn, Conn::Offline { .. }));
    for k in ['a', 'r', 'x'] {
        let fx = app::update(&mut s, key(k));
        assert!(fx.is_empty(), "{k}: {fx:?}");
        assert!(flash(&s).starts_with("disconnected"), "{k}: {}", flash(&s));
        assert_eq!(s.overlay, Overlay::None);
    }
}

#[test]
fn filters_reset_paging_and_request_a_page() {
    let (mut s, _) = loaded();
    assert!(!s.inbox.rows.is_empty());
    for (k, filter) in [
        ('2', StatusFilter::Waiting),
        ('3', StatusFilter::All),
        ('4', StatusFilter::Archived),
        ('1', StatusFilter::NeedsReply),
    ] {
        s.inbox.move_by(3);
        let fx = app::update(&mut s, key(k));
        assert_eq!(s.inbox.filter, filter);
        assert!(s.inbox.rows.is_empty());
        assert_eq!(s.inbox.selected, 0);
        assert!(!s.inbox.has_newer && !s.inbox.has_older);
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::LoadPage { page: Page::First, query, .. } if query.filter == filter
            )),
            "{k}: {fx:?}"
        );
        answer(&mut s, fx, true);
    }
}

#[test]
fn a_page_for_an_old_filter_is_dropped() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req: old, .. }) = fx.first().cloned() else {
        panic!("no page request");
    };
    app::update(&mut s, key('2'));
    app::update(
        &mut s,
        Action::PageLoaded {
            req: old,
            rows: rows(0..10),
        },
    );
    assert!(s.inbox.rows.is_empty(), "a stale page was applied");
}

#[test]
fn undo_counts_down_with_injected_time_and_expires() {
    let (mut s, t0) = loaded();
    let fx = app::update(&mut s, key('a'));
    let req = req_of(&fx).expect("approve request");
    app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Approved(decision(1000, 5000)),
        },
    );
    assert_eq!(s.undo_left(), Some(10));
    assert!(flash(&s).contains("queued"));
    tick(&mut s, t0 + Duration::from_millis(3200));
    assert_eq!(s.undo_left(), Some(7));
    let fx = app::update(&mut s, key('u'));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Undo {
                outbox_id: 4242,
                ..
            }
        )),
        "{fx:?}"
    );
    // A second approach: let the window run out.
    let (mut s, t0) = loaded();
    let fx = app::update(&mut s, key('a'));
    let req = req_of(&fx).expect("approve request");
    app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Approved(decision(1000, 5000)),
        },
    );
    tick(&mut s, t0 + Duration::from_millis(10_001));
    assert_eq!(s.undo_left(), None);
    assert!(s.undo.is_none());
    let fx = app::update(&mut s, key('u'));
    assert!(fx.is_empty());
    assert_eq!(flash(&s), "nothing to undo");
}

#[test]
fn an_older_thread_answer_is_ignored() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req, .. }) = fx.first().cloned() else {
        panic!("no page request");
    };
    let fx = app::update(
        &mut s,
        Action::PageLoaded {
            req,
            rows: rows(0..10),
        },
    );
    let Some(Effect::LoadThread {
        req: first,
        conv_id: 1000,
        ..
    }) = fx
        .iter()
        .find(|e| matches!(e, Effect::LoadThread { .. }))
        .cloned()
    else {
        panic!("no thread request: {fx:?}");
    };
    // Move on twice while the first load is out: nothing new is fired yet.
    assert!(
        app::update(&mut s, key('j'))
            .iter()
            .all(|e| !matches!(e, Effect::LoadThread { .. }))
    );
    app::update(&mut s, key('j'));
    assert_eq!(s.thread.wanted, Some(1002));
    // The answer for 1000 arrives: dropped, and the latest selection is asked for.
    let fx = app::update(
        &mut s,
        Action::ThreadLoaded {
            req: first,
            conv_id: 1000,
            thread: Box::new(demo_thread(1000)),
            suggestion: None,
        },
    );
    assert!(s.thread.current().is_none());
    let Some(Effect::LoadThread {
        req: latest,
        conv_id: 1002,
        ..
    }) = fx
        .iter()
        .find(|e| matches!(e, Effect::LoadThread { .. }))
        .cloned()
    else {
        panic!("latest selection not requested: {fx:?}");
    };
    // An answer nobody asked for (an old generation) changes nothing.
    app::update(
        &mut s,
        Action::ThreadLoaded {
            req: first,
            conv_id: 1002,
            thread: Box::new(demo_thread(1002)),
            suggestion: None,
        },
    );
    assert!(s.thread.current().is_none());
    app::update(
        &mut s,
        Action::ThreadLoaded {
            req: latest,
            conv_id: 1002,
            thread: Box::new(demo_thread(1002)),
            suggestion: Some(Box::new(suggestion(1002, 5002, SuggestionStatus::Pending))),
        },
    );
    assert_eq!(s.thread.current().map(|l| l.conv_id), Some(1002));
}

#[test]
fn holding_j_moves_the_cursor_without_waiting() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req, .. }) = fx.first().cloned() else {
        panic!("no page request");
    };
    app::update(
        &mut s,
        Action::PageLoaded {
            req,
            rows: rows(0..10),
        },
    );
    let mut thread_loads = 0;
    for _ in 0..6 {
        let fx = app::update(&mut s, key('j'));
        thread_loads += fx
            .iter()
            .filter(|e| matches!(e, Effect::LoadThread { .. }))
            .count();
    }
    assert_eq!(s.inbox.selected, 6);
    assert_eq!(thread_loads, 0, "one thread load in flight at a time");
}

#[test]
fn reconnect_goes_offline_probes_with_backoff_and_resyncs() {
    let (mut s, t0) = loaded();
    app::update(&mut s, Action::ListenerDown("connection refused".into()));
    assert!(!s.is_online());
    assert!(!s.live);
    // Too early for a probe.
    let fx = tick(&mut s, t0 + Duration::from_millis(500));
    assert!(req_of(&fx).is_none(), "{fx:?}");
    let fx = tick(&mut s, t0 + Duration::from_millis(1000));
    let probe = req_of(&fx).expect("a probe after 1 s");
    app::update(
        &mut s,
        Action::Failed {
            req: probe,
            failure: conn_lost(),
        },
    );
    let Conn::Offline {
        attempt,
        next_probe,
        ..
    } = s.conn.clone()
    else {
        panic!("should still be offline");
    };
    assert_eq!(attempt, 1);
    assert_eq!(
        next_probe,
        t0 + Duration::from_millis(1000) + Duration::from_secs(2)
    );
    // The listener comes back first: online, and everything is reloaded.
    let fx = app::update(&mut s, Action::ListenerUp);
    assert!(s.is_online());
    assert!(s.live);
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{fx:?}"
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCounts { .. })));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1000, .. }))
    );
    assert!(flash(&s).contains("reconnected"));
}

#[test]
fn a_probe_that_succeeds_brings_the_app_back() {
    let (mut s, t0) = loaded();
    app::update(
        &mut s,
        Action::Failed {
            req: 999_999,
            failure: conn_lost(),
        },
    );
    assert!(s.is_online(), "an unknown request id is ignored");
    let fx = app::update(&mut s, key('x'));
    let req = req_of(&fx).expect("archive");
    app::update(
        &mut s,
        Action::Failed {
            req,
            failure: conn_lost(),
        },
    );
    assert!(!s.is_online());
    assert!(flash(&s).starts_with("disconnected"));
    let fx = tick(&mut s, t0 + Duration::from_secs(2));
    let probe = req_of(&fx).expect("probe");
    let fx = app::update(&mut s, Action::ProbeOk { req: probe });
    assert!(s.is_online());
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
}

#[test]
fn a_lost_race_shows_who_won_and_reloads() {
    let (mut s, _) = loaded();
    let fx = app::update(&mut s, key('a'));
    let req = req_of(&fx).expect("approve");
    let fx = app::update(
        &mut s,
        Action::Failed {
            req,
            failure: lost_race(),
        },
    );
    assert!(
        flash(&s).starts_with("already approved by Dana Cruz"),
        "{}",
        flash(&s)
    );
    assert_eq!(s.flash.as_ref().map(|f| f.level), Some(Level::Error));
    assert!(s.is_online());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadRows { ids, .. } if ids == &vec![1000]))
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCounts { .. })));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1000, .. }))
    );
}

#[test]
fn notifications_refresh_named_rows_counts_and_the_open_thread() {
    let (mut s, t0) = loaded();
    let fx = app::update(
        &mut s,
        Action::Notified(Notice {
            conversations: vec![1000, 1005],
            resync: false,
        }),
    );
    assert!(fx.is_empty(), "coalesced until the next tick");
    let fx = tick(&mut s, t0 + Duration::from_millis(100));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadRows { ids, .. } if ids == &vec![1000, 1005]))
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadCounts { .. })));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1000, .. }))
    );
    // The fresh row says 1000 was answered: it leaves the "needs reply" list.
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { req, .. } => Some(*req),
            _ => None,
        })
        .expect("rows request");
    let mut fresh = row(0);
    fresh.status = ConversationStatus::Waiting;
    app::update(
        &mut s,
        Action::RowsLoaded {
            req,
            ids: vec![1000, 1005],
            rows: vec![fresh, row(5)],
        },
    );
    assert!(s.inbox.rows.iter().all(|r| r.id != 1000));
    assert_eq!(
        s.inbox.selected_id(),
        Some(1001),
        "the next row moves under the cursor"
    );
    // A resync notice reloads everything.
    app::update(
        &mut s,
        Action::Notified(Notice {
            conversations: vec![],
            resync: true,
        }),
    );
    let fx = tick(&mut s, t0 + Duration::from_millis(200));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{fx:?}"
    );
}

#[test]
fn the_window_stays_bounded_and_pages_both_ways() {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let Some(Effect::LoadPage { req, .. }) = fx.first().cloned() else {
        panic!("no page request");
    };
    app::update(
        &mut s,
        Action::PageLoaded {
            req,
            rows: rows(0..10),
        },
    );
    assert!(s.inbox.has_older);
    let mut next = 10;
    for _ in 0..70 {
        let fx = app::update(&mut s, key('j'));
        if let Some(Effect::LoadPage { req, page, .. }) = fx
            .iter()
            .find(|e| matches!(e, Effect::LoadPage { .. }))
            .cloned()
        {
            assert!(matches!(page, Page::After(_)), "{page:?}");
            app::update(
                &mut s,
                Action::PageLoaded {
                    req,
                    rows: rows(next..next + 10),
                },
            );
            next += 10;
        }
        assert!(s.inbox.rows.len() <= 50);
    }
    // 70 moves down: pages were dropped at the top, the cursor is where it was sent.
    assert!(s.inbox.has_newer);
    assert_eq!(s.inbox.selected_id(), Some(1070));
    assert!(s.inbox.rows.len() <= 50);
    // Going back up fetches the newer rows that were dropped.
    let mut saw_before = false;
    for _ in 0..40 {
        let fx = app::update(&mut s, key('k'));
        if let Some(Effect::LoadPage { req, page, .. }) = fx
            .iter()
            .find(|e| matches!(e, Effect::LoadPage { .. }))
            .cloned()
        {
            let Page::Before(c) = page else {
                panic!("expected a newer page, got {page:?}");
            };
            saw_before = true;
            let first = (c.id - 1000) as usize;
            app::update(
                &mut s,
                Action::PageLoaded {
                    req,
                    rows: rows(first.saturating_sub(10)..first),
                },
            );
        }
        assert!(s.inbox.rows.len() <= 50);
    }
    assert!(saw_before);
    assert_eq!(s.inbox.selected_id(), Some(1030));
    // `g` asks for the first page again.
    let fx = app::update(&mut s, key('g'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage {
            page: Page::First,
            ..
        }
    )));
    let fx = app::update(&mut s, key('G'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage {
            page: Page::Last,
            ..
        }
    )));
}

#[test]
fn inline_edit_saves_locally_approves_and_survives_a_lost_connection() {
    let (mut s, t0) = loaded();
    let fx = app::update(&mut s, key('e'));
    assert!(s.editor.is_some());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadDraft { conv_id: 1000 }))
    );
    app::update(&mut s, key('!'));
    app::update(
        &mut s,
        Action::Paste("\x1b[31m P.S.\x1b]52;c;aGk=\x07".into()),
    );
    let text = s.editor.as_ref().map(|e| e.text()).unwrap_or_default();
    assert!(text.ends_with("Alex! P.S."), "{text:?}");
    // The draft is written 300 ms after the last keystroke, not before.
    let fx = tick(&mut s, t0 + Duration::from_millis(100));
    assert!(!fx.iter().any(|e| matches!(e, Effect::SaveDraft { .. })));
    let fx = tick(&mut s, t0 + Duration::from_millis(400));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::SaveDraft { conv_id: 1000, text: t } if t == &text))
    );
    // Ctrl-S approves the edited text; the connection drops: the editor stays.
    let fx = app::update(&mut s, ctrl('s'));
    let req = req_of(&fx).expect("approve edited");
    assert!(fx.iter().any(
        |e| matches!(e, Effect::ApproveEdited { suggestion_id: 5000, body, .. } if body == &text)
    ));
    app::update(
        &mut s,
        Action::Failed {
            req,
            failure: conn_lost(),
        },
    );
    assert_eq!(s.editor.as_ref().map(|e| e.text()), Some(text.clone()));
    // Offline, Ctrl-S is refused and the text stays.
    let fx = app::update(&mut s, ctrl('s'));
    assert!(req_of(&fx).is_none());
    assert!(s.editor.is_some());
    // Back online, it goes through and the local copy is deleted.
    app::update(&mut s, Action::ListenerUp);
    let fx = app::update(&mut s, ctrl('s'));
    let req = req_of(&fx).expect("approve edited");
    let fx = app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Approved(decision(1000, 5000)),
        },
    );
    assert!(s.editor.is_none());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::DeleteDraft { conv_id: 1000 }))
    );
}

#[test]
fn escape_asks_before_discarding_edits() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('e'));
    app::update(&mut s, key('x'));
    app::update(&mut s, code(KeyCode::Esc));
    assert!(s.editor.as_ref().is_some_and(|e| e.confirm_discard));
    app::update(&mut s, key('n'));
    assert!(s.editor.as_ref().is_some_and(|e| !e.confirm_discard));
    app::update(&mut s, code(KeyCode::Esc));
    let fx = app::update(&mut s, key('y'));
    assert!(s.editor.is_none());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::DeleteDraft { conv_id: 1000 }))
    );
    // Unchanged text closes without asking.
    app::update(&mut s, key('e'));
    app::update(&mut s, code(KeyCode::Esc));
    assert!(s.editor.is_none());
}

#[test]
fn a_restored_draft_replaces_untouched_text() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('e'));
    app::update(
        &mut s,
        Action::DraftLoaded {
            conv_id: 1000,
            text: Some("my earlier edit".into()),
        },
    );
    assert_eq!(
        s.editor.as_ref().map(|e| e.text()).as_deref(),
        Some("my earlier edit")
    );
}

#[test]
fn reject_picks_a_reason_with_a_note_then_offers_compose() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('r'));
    assert!(matches!(s.overlay, Overlay::Reject(_)));
    app::update(&mut s, key('4'));
    for c in "too pushy".chars() {
        app::update(&mut s, key(c));
    }
    let fx = app::update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.overlay, Overlay::None);
    let req = req_of(&fx).expect("reject");
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Reject { suggestion_id: 5000, reason: RejectionReason::Other, note: Some(n), .. } if n == "too pushy"
    )));
    app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Rejected {
                conv_id: 1000,
                reason: RejectionReason::Other,
            },
        },
    );
    assert!(
        flash(&s).contains("c to write your own reply"),
        "{}",
        flash(&s)
    );
    // Quick pick by number.
    let (mut s, _) = loaded();
    app::update(&mut s, key('r'));
    let fx = app::update(&mut s, key('2'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Reject {
            reason: RejectionReason::WrongTone,
            note: None,
            ..
        }
    )));
}

#[test]
fn compose_sends_the_reps_own_text() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('c'));
    assert!(s.editor.as_ref().is_some_and(|e| e.is_compose()));
    for c in "See you at 11".chars() {
        app::update(&mut s, key(c));
    }
    let fx = app::update(&mut s, ctrl('s'));
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Compose { conv_id: 1000, body, .. } if body == "See you at 11")
    ));
}

#[test]
fn focus_back_and_quit() {
    let (mut s, _) = loaded();
    app::update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Focus::Thread);
    app::update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Focus::Suggestion);
    let fx = app::update(&mut s, key('q'));
    assert!(fx.is_empty());
    assert_eq!(s.focus, Focus::List);
    app::update(&mut s, key('?'));
    assert_eq!(s.overlay, Overlay::Help);
    app::update(&mut s, key('q'));
    assert_eq!(s.overlay, Overlay::None);
    let fx = app::update(&mut s, key('q'));
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn quitting_mid_edit_keeps_the_text() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('c'));
    app::update(&mut s, key('h'));
    let fx = app::update(&mut s, Action::Quit);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::SaveDraft { conv_id: 1000, text } if text == "h"))
    );
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn undo_after_undo_reselects_the_conversation() {
    let (mut s, t0) = loaded();
    let fx = app::update(&mut s, key('a'));
    let req = req_of(&fx).expect("approve");
    let fx = app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Approved(decision(1000, 5000)),
        },
    );
    let rows_req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { req, .. } => Some(*req),
            _ => None,
        })
        .expect("rows refresh");
    let mut waiting = row(0);
    waiting.status = ConversationStatus::Waiting;
    app::update(
        &mut s,
        Action::RowsLoaded {
            req: rows_req,
            ids: vec![1000],
            rows: vec![waiting],
        },
    );
    assert_ne!(s.inbox.selected_id(), Some(1000));
    tick(&mut s, t0 + Duration::from_secs(2));
    let fx = app::update(&mut s, key('u'));
    let req = req_of(&fx).expect("undo");
    let fx = app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Undone(replydesk::db::suggestions::Undone {
                conversation_id: 1000,
                suggestion_id: Some(5000),
                suggestion_status: Some(SuggestionStatus::Pending),
            }),
        },
    );
    assert!(s.undo.is_none());
    let rows_req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { req, .. } => Some(*req),
            _ => None,
        })
        .expect("rows refresh");
    app::update(
        &mut s,
        Action::RowsLoaded {
            req: rows_req,
            ids: vec![1000],
            rows: vec![row(0)],
        },
    );
    assert_eq!(s.inbox.selected_id(), Some(1000));
}

#[test]
fn undo_waits_while_another_decision_is_in_flight() {
    let (mut s, _) = loaded();
    let fx = app::update(&mut s, key('a'));
    let req = req_of(&fx).expect("approve request");
    app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Approved(decision(1000, 5000)),
        },
    );
    assert!(s.undo_left().is_some());
    // A second decision is sent but not answered yet: `u` must not take back
    // the first one, which the rep no longer means.
    let fx = app::update(&mut s, key('x'));
    let archive = req_of(&fx).expect("archive request");
    let fx = app::update(&mut s, key('u'));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Undo { .. })),
        "{fx:?}"
    );
    assert!(flash(&s).contains("still working"), "{}", flash(&s));
    // Once it is answered, `u` works again.
    app::update(
        &mut s,
        Action::Failed {
            req: archive,
            failure: lost_race(),
        },
    );
    let fx = app::update(&mut s, key('u'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Undo { .. })), "{fx:?}");
}
