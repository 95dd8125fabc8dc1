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
            failure: Failure {
                message: "statement timeout".into(),
                connection_lost: false,
                refresh: false,
            },
        },
    );
    let fx = app::update(&mut s, key('u'));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Undo { .. })),
        "{fx:?}"
    );
}

#[test]
fn claim_key_claims_the_selected_conversation_and_says_so() {
    let (mut s, _) = loaded();
    s.inbox.rows[0].owner_rep_id = None;
    let fx = app::update(&mut s, key('m'));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Claim { req, conv_id: 1000 } => Some(*req),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no claim: {fx:?}"));
    let fx = app::update(
        &mut s,
        Action::Decided {
            req,
            done: Done::Claimed { conv_id: 1000 },
        },
    );
    assert!(flash(&s).contains("claimed"), "{}", flash(&s));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadRows { .. })));
    // Someone else won the race: told who, row reloaded.
    let fx = app::update(&mut s, key('m'));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Claim { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no second claim: {fx:?}"));
    let fx = app::update(
        &mut s,
        Action::Failed {
            req,
            failure: Failure {
                message: "conversation 1000 is already claimed by Dana Cruz <dana@acme.test>; nothing was changed: refresh".into(),
                connection_lost: false,
                refresh: true,
            },
        },
    );
    assert!(flash(&s).contains("Dana Cruz"), "{}", flash(&s));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadRows { .. })));
    // Already yours, and refused while disconnected.
    s.inbox.rows[0].owner_rep_id = Some(s.rep.id);
    assert!(app::update(&mut s, key('m')).is_empty());
    assert!(flash(&s).contains("already yours"), "{}", flash(&s));
    s.inbox.rows[0].owner_rep_id = None;
    app::update(&mut s, Action::ListenerDown("connection refused".into()));
    assert!(app::update(&mut s, key('m')).is_empty());
    assert!(flash(&s).starts_with("disconnected"), "{}", flash(&s));
}

#[test]
fn scope_mine_lists_own_and_unassigned_and_drops_rows_claimed_by_others() {
    let mut settings = settings();
    settings.scope = replydesk::config::Scope::Mine;
    let (mut s, _) = state_with(&settings);
    let fx = app::init(&mut s);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage { query, .. } if query.owner == Some(1) && query.unassigned
    )));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadCounts {
            owner: Some(1),
            unassigned: true,
            ..
        }
    )));
    answer(&mut s, fx, true);
    let id = s.inbox.rows[1].id;
    let mut claimed = s.inbox.rows[1].clone();
    claimed.owner_rep_id = Some(77);
    app::update(
        &mut s,
        Action::Notified(Notice {
            conversations: vec![id],
            resync: false,
        }),
    );
    let at = s.now + Duration::from_millis(100);
    let fx = tick(&mut s, at);
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no row reload: {fx:?}"));
    app::update(
        &mut s,
        Action::RowsLoaded {
            req,
            ids: vec![id],
            rows: vec![claimed],
        },
    );
    assert!(!s.inbox.rows.iter().any(|r| r.id == id));
}

fn stats_req(fx: &[Effect]) -> Option<u64> {
    fx.iter().find_map(|e| match e {
        Effect::LoadStats { req, .. } => Some(*req),
        _ => None,
    })
}

fn stats_overlay(s: &State) -> Option<&app::StatsOverlay> {
    match &s.overlay {
        Overlay::Stats(o) => Some(o),
        _ => None,
    }
}

#[test]
fn s_asks_for_thirty_days_of_stats_and_esc_closes_them() {
    let (mut s, _) = loaded();
    let fx = app::update(&mut s, key('S'));
    let since = fx.iter().find_map(|e| match e {
        Effect::LoadStats { since, .. } => Some(*since),
        _ => None,
    });
    assert_eq!(since, Some(wall() - Days::days(30)));
    let req = stats_req(&fx).expect("LoadStats");
    assert_eq!(stats_overlay(&s).and_then(|o| o.req), Some(req));
    // Keys for the inbox do nothing while the overlay is up.
    assert!(app::update(&mut s, key('a')).is_empty());
    app::update(
        &mut s,
        Action::StatsLoaded {
            req,
            stats: Box::new(stats()),
        },
    );
    let o = stats_overlay(&s).expect("still open");
    assert_eq!(o.req, None);
    assert_eq!(
        o.stats.as_ref().map(|st| st.total.responses.conversations),
        Some(360)
    );
    assert!(!s.requests.contains_key(&req));
    app::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.overlay, Overlay::None);
    assert!(!s.quitting, "Esc closes the overlay, not the app");
}

#[test]
fn a_stale_stats_answer_is_dropped() {
    let (mut s, _) = loaded();
    let first = stats_req(&app::update(&mut s, key('S'))).expect("first");
    app::update(&mut s, key('q'));
    assert_eq!(s.overlay, Overlay::None);
    assert!(
        !s.requests.contains_key(&first),
        "closing forgets the request"
    );
    // The answer to the closed overlay does not reopen it.
    app::update(
        &mut s,
        Action::StatsLoaded {
            req: first,
            stats: Box::new(stats()),
        },
    );
    assert_eq!(s.overlay, Overlay::None);
    // Nor does it fill a newer overlay still waiting for its own answer.
    let second = stats_req(&app::update(&mut s, key('S'))).expect("second");
    assert_ne!(first, second);
    app::update(
        &mut s,
        Action::StatsLoaded {
            req: first,
            stats: Box::new(stats()),
        },
    );
    let o = stats_overlay(&s).expect("open");
    assert!(o.stats.is_none() && o.req == Some(second));
    // R reloads: the answer to the replaced request is dropped too.
    let third = stats_req(&app::update(&mut s, key('R'))).expect("reload");
    app::update(
        &mut s,
        Action::Failed {
            req: second,
            failure: conn_lost(),
        },
    );
    let o = stats_overlay(&s).expect("open");
    assert!(o.error.is_none() && o.req == Some(third));
    app::update(
        &mut s,
        Action::Failed {
            req: third,
            failure: lost_race(),
        },
    );
    let o = stats_overlay(&s).expect("open");
    assert!(o.error.as_deref().is_some_and(|e| e.contains("Dana Cruz")));
}

#[test]
fn the_stats_key_is_remappable_and_listed_in_help() {
    let mut settings = settings();
    settings.keys.insert("stats".into(), "T".into());
    let (mut s, _) = state_with(&settings);
    let fx = app::init(&mut s);
    answer(&mut s, fx, true);
    assert!(stats_req(&app::update(&mut s, key('S'))).is_none());
    assert!(stats_req(&app::update(&mut s, key('T'))).is_some());
    assert_eq!(
        s.keymap.all_labels(replydesk::tui::keys::Command::Stats),
        "T"
    );
}

fn similar_req(fx: &[Effect]) -> Option<(u64, i64)> {
    fx.iter().find_map(|e| match e {
        Effect::LoadSimilar { req, conv_id } => Some((*req, *conv_id)),
        _ => None,
    })
}

fn similar_overlay(s: &State) -> Option<&replydesk::tui::similar::SimilarOverlay> {
    match &s.overlay {
        Overlay::Similar(o) => Some(o),
        _ => None,
    }
}

/// `s`, answered with the fixture's similar conversations.
fn similar_open(s: &mut State) {
    let (req, _) = similar_req(&app::update(s, key('s'))).expect("LoadSimilar");
    app::update(
        s,
        Action::SimilarLoaded {
            req,
            found: replydesk::tui::similar::Similars::Found(similar_found()),
        },
    );
}

#[test]
fn s_asks_for_the_conversations_similar_to_the_selected_one() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('j'));
    let fx = app::update(&mut s, key('s'));
    let (req, conv_id) = similar_req(&fx).expect("LoadSimilar");
    assert_eq!(conv_id, 1001);
    let o = similar_overlay(&s).expect("overlay open");
    assert_eq!(
        (o.req, o.conv_id, o.found.is_none()),
        (Some(req), 1001, true)
    );
    // Review keys do nothing while it is open.
    assert!(app::update(&mut s, key('a')).is_empty());
    app::update(
        &mut s,
        Action::SimilarLoaded {
            req,
            found: replydesk::tui::similar::Similars::Found(similar_found()),
        },
    );
    let o = similar_overlay(&s).expect("still open");
    assert_eq!(o.req, None);
    assert_eq!(o.selected().map(|c| c.conversation_id), Some(812));
    app::update(&mut s, key('j'));
    assert_eq!(
        similar_overlay(&s)
            .and_then(|o| o.selected())
            .map(|c| c.conversation_id),
        Some(455)
    );
    app::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.overlay, Overlay::None);
    assert!(!s.quitting, "Esc closes the overlay, not the app");
}

#[test]
fn a_stale_similar_answer_is_dropped() {
    let (mut s, _) = loaded();
    let (first, _) = similar_req(&app::update(&mut s, key('s'))).expect("first");
    app::update(&mut s, code(KeyCode::Esc));
    assert!(!s.requests.contains_key(&first), "closing forgets it");
    let found = || replydesk::tui::similar::Similars::Found(similar_found());
    app::update(
        &mut s,
        Action::SimilarLoaded {
            req: first,
            found: found(),
        },
    );
    assert_eq!(s.overlay, Overlay::None, "a late answer does not reopen it");
    let (second, _) = similar_req(&app::update(&mut s, key('s'))).expect("second");
    assert_ne!(first, second);
    app::update(
        &mut s,
        Action::SimilarLoaded {
            req: first,
            found: found(),
        },
    );
    let o = similar_overlay(&s).expect("open");
    assert!(o.found.is_none() && o.req == Some(second));
    app::update(
        &mut s,
        Action::SimilarLoaded {
            req: second,
            found: replydesk::tui::similar::Similars::NotEmbedded,
        },
    );
    assert_eq!(
        similar_overlay(&s).and_then(|o| o.found.clone()),
        Some(replydesk::tui::similar::Similars::NotEmbedded)
    );
}

#[test]
fn enter_on_a_similar_row_opens_that_conversation() {
    // In the loaded list: selected there, thread focused and loading.
    let (mut s, _) = loaded();
    similar_open(&mut s);
    app::update(&mut s, key('j'));
    app::update(&mut s, key('j'));
    let fx = app::update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.inbox.selected_id(), Some(1003));
    assert_eq!(s.focus, Focus::Thread);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1003, .. }))
    );

    // Not loaded, and "waiting" is not in "needs reply": the list switches
    // to "all" and loads a page starting at it.
    let (mut s, _) = loaded();
    similar_open(&mut s);
    let fx = app::update(&mut s, code(KeyCode::Enter));
    let (req, query) = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadAround {
                req,
                conv_id: 812,
                query,
                ..
            } => Some((*req, *query)),
            _ => None,
        })
        .expect("LoadAround for 812");
    assert_eq!(query.filter, StatusFilter::All);
    assert_eq!(s.inbox.filter, StatusFilter::All);
    assert!(flash(&s).contains("showing all"), "{}", flash(&s));
    let mut rows = rows(3..10);
    rows[0].id = 812;
    let fx = app::update(
        &mut s,
        Action::AroundLoaded {
            req,
            conv_id: 812,
            rows,
        },
    );
    assert_eq!(s.inbox.selected_id(), Some(812));
    assert_eq!(s.focus, Focus::Thread);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 812, .. }))
    );
    // Newer conversations above it are paged in as usual.
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage {
            page: Page::Before(_),
            ..
        }
    )));

    // Not in the rep's list at all (someone else's): back to the top, said so.
    let (mut s, _) = loaded();
    similar_open(&mut s);
    let fx = app::update(&mut s, code(KeyCode::Enter));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadAround { req, .. } => Some(*req),
            _ => None,
        })
        .expect("LoadAround");
    let fx = app::update(
        &mut s,
        Action::AroundLoaded {
            req,
            conv_id: 812,
            rows: Vec::new(),
        },
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadPage {
            page: Page::First,
            ..
        }
    )));
    assert!(flash(&s).contains("not in your list"), "{}", flash(&s));
}

#[test]
fn y_starts_the_reply_from_the_similar_answer() {
    // A pending draft: edit it, starting from Tom's reply, names swapped.
    let (mut s, _) = loaded();
    similar_open(&mut s);
    let fx = app::update(&mut s, key('y'));
    assert_eq!(s.overlay, Overlay::None);
    let ed = s.editor.as_ref().expect("editor open");
    assert_eq!(ed.conv_id, 1000);
    assert_eq!(
        ed.kind,
        replydesk::tui::editor::EditKind::Edit {
            suggestion_id: 5000
        }
    );
    assert!(
        ed.text()
            .starts_with("Hi Maria,\n\nYes, it is still available!"),
        "{}",
        ed.text()
    );
    assert!(ed.is_modified(), "Esc asks before dropping it");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadDraft { .. })),
        "no local copy is restored over the chosen text"
    );
    // Ctrl-S approves it as an edit of the pending draft.
    let fx = app::update(&mut s, ctrl('s'));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::ApproveEdited { suggestion_id: 5000, body, .. } if body.contains("parking is included")
    )));

    // No pending draft: compose with it.
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    answer(&mut s, fx, false);
    similar_open(&mut s);
    app::update(&mut s, key('y'));
    let ed = s.editor.as_ref().expect("editor open");
    assert!(ed.is_compose());
    assert!(ed.text().contains("Viewings are Tue–Sat"));

    // A rejected answer has nothing to copy.
    let (mut s, _) = loaded();
    similar_open(&mut s);
    app::update(&mut s, key('j'));
    app::update(&mut s, key('j'));
    app::update(&mut s, key('y'));
    assert!(s.editor.is_none());
    assert!(flash(&s).contains("no approved reply"), "{}", flash(&s));
}

fn search_reqs(fx: &[Effect]) -> Vec<(u64, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Search { req, text, .. } => Some((*req, text.clone())),
            _ => None,
        })
        .collect()
}

fn search_overlay(s: &State) -> Option<&replydesk::tui::search::SearchOverlay> {
    match &s.overlay {
        Overlay::Search(o) => Some(o),
        _ => None,
    }
}

fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| app::update(s, key(c))).collect()
}

#[test]
fn search_waits_for_a_pause_then_sends_only_the_latest_text() {
    let (mut s, t0) = loaded();
    assert!(app::update(&mut s, key('/')).is_empty());
    assert!(search_overlay(&s).is_some());
    // j, k, s, q … are text here, not commands.
    let fx = type_text(&mut s, "park sq");
    assert!(search_reqs(&fx).is_empty() && !s.quitting);
    assert!(search_reqs(&tick(&mut s, t0 + Duration::from_millis(100))).is_empty());
    // Still typing: the pause starts again.
    for _ in 0..3 {
        app::update(&mut s, code(KeyCode::Backspace));
    }
    type_text(&mut s, "ing");
    assert!(search_reqs(&tick(&mut s, t0 + Duration::from_millis(200))).is_empty());
    let fx = tick(&mut s, t0 + Duration::from_millis(300));
    let sent = search_reqs(&fx);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, "parking");
    let filter = fx.iter().find_map(|e| match e {
        Effect::Search { filter, .. } => Some(*filter),
        _ => None,
    });
    assert_eq!(
        filter.map(|f| f.status),
        Some(Some(ConversationStatus::NeedsReply)),
        "within the list's status filter"
    );
    // Nothing more until the text changes.
    assert!(search_reqs(&tick(&mut s, t0 + Duration::from_millis(600))).is_empty());
    // Ctrl-U clears: no search for an empty query.
    app::update(&mut s, ctrl('u'));
    assert_eq!(search_overlay(&s).map(|o| o.query.as_str()), Some(""));
    assert!(search_reqs(&tick(&mut s, t0 + Duration::from_millis(900))).is_empty());
    app::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.overlay, Overlay::None);
}

#[test]
fn a_stale_search_answer_is_dropped() {
    let (mut s, t0) = loaded();
    app::update(&mut s, key('/'));
    type_text(&mut s, "parking");
    let first = search_reqs(&tick(&mut s, t0 + Duration::from_millis(200)))[0].0;
    type_text(&mut s, " saturday");
    let second = search_reqs(&tick(&mut s, t0 + Duration::from_millis(400)))[0].0;
    assert_ne!(first, second);
    assert!(!s.requests.contains_key(&first));
    app::update(
        &mut s,
        Action::SearchLoaded {
            req: first,
            results: search_results()[1..].to_vec(),
            matched: replydesk::db::search::Matched::Exactly(4),
            meaning: replydesk::db::search::Meaning::Fused,
            note: None,
        },
    );
    let o = search_overlay(&s).expect("open");
    assert!(
        o.results.is_empty() && o.req == Some(second),
        "the older answer is dropped"
    );
    app::update(
        &mut s,
        Action::SearchLoaded {
            req: second,
            results: search_results(),
            matched: replydesk::db::search::Matched::Exactly(4),
            meaning: replydesk::db::search::Meaning::Off,
            note: Some("semantic search failed (timeout) — full text only".into()),
        },
    );
    let o = search_overlay(&s).expect("open");
    assert_eq!(o.results.len(), 4);
    assert_eq!(o.searched, "parking saturday");
    assert!(
        o.note
            .as_deref()
            .is_some_and(|n| n.contains("full text only"))
    );
}

#[test]
fn enter_on_a_search_hit_opens_it_with_the_words_highlighted() {
    let (mut s, t0) = loaded();
    let fx = app::update(&mut s, key('j'));
    answer(&mut s, fx, true);
    app::update(&mut s, key('/'));
    type_text(&mut s, "\"parking\" saturday -cats");
    let (req, _) = search_reqs(&tick(&mut s, t0 + Duration::from_millis(200)))[0].clone();
    app::update(
        &mut s,
        Action::SearchLoaded {
            req,
            results: search_results(),
            matched: replydesk::db::search::Matched::Exactly(4),
            meaning: replydesk::db::search::Meaning::Fused,
            note: None,
        },
    );
    let fx = app::update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.inbox.selected_id(), Some(1000));
    assert_eq!(s.focus, Focus::Thread);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadThread { conv_id: 1000, .. }))
    );
    let h = s.highlight.as_ref().expect("highlight");
    assert_eq!(h.conv_id, 1000);
    assert_eq!(h.terms, vec!["parking".to_string(), "saturday".to_string()]);

    // A hit outside the list: loaded around it, in "all" (it is archived).
    app::update(&mut s, key('/'));
    type_text(&mut s, "car");
    let (req, _) = search_reqs(&tick(&mut s, t0 + Duration::from_millis(500)))[0].clone();
    app::update(
        &mut s,
        Action::SearchLoaded {
            req,
            results: search_results(),
            matched: replydesk::db::search::Matched::Exactly(4),
            meaning: replydesk::db::search::Meaning::Fused,
            note: None,
        },
    );
    app::update(&mut s, code(KeyCode::Down));
    app::update(&mut s, code(KeyCode::Down));
    app::update(&mut s, code(KeyCode::Down));
    let fx = app::update(&mut s, code(KeyCode::Enter));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::LoadAround { conv_id: 455, query, .. } if query.filter == StatusFilter::All
    )));
    assert_eq!(s.highlight.as_ref().map(|h| h.conv_id), Some(455));
}

#[test]
fn similar_and_search_keys_are_remappable_and_listed_in_help() {
    use replydesk::tui::keys::Command;
    let mut settings = settings();
    settings.keys.insert("similar".into(), "F3".into());
    settings.keys.insert("search".into(), "ctrl-f".into());
    let (mut s, _) = state_with(&settings);
    let fx = app::init(&mut s);
    answer(&mut s, fx, true);
    assert!(similar_req(&app::update(&mut s, key('s'))).is_none());
    assert!(similar_req(&app::update(&mut s, code(KeyCode::F(3)))).is_some());
    app::update(&mut s, code(KeyCode::Esc));
    app::update(&mut s, ctrl('f'));
    assert!(search_overlay(&s).is_some());
    assert_eq!(s.keymap.all_labels(Command::Similar), "F3");
    assert_eq!(s.keymap.all_labels(Command::Search), "Ctrl-F");
    let d = replydesk::tui::keys::Keymap::default();
    assert_eq!(d.all_labels(Command::Similar), "s");
    assert_eq!(d.all_labels(Command::Search), "/");
}

#[test]
fn help_scrolls_when_it_does_not_fit() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('?'));
    s.metrics.help_overflow = 3;
    for _ in 0..5 {
        app::update(&mut s, key('j'));
    }
    assert_eq!((s.overlay.clone(), s.help_scroll), (Overlay::Help, 3));
    app::update(&mut s, key('k'));
    assert_eq!(s.help_scroll, 2);
    app::update(&mut s, key('x'));
    assert_eq!((s.overlay.clone(), s.help_scroll), (Overlay::None, 0));
}
