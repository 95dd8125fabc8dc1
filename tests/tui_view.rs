//! The screen as the rep sees it: every pane and overlay at 80×24 and
//! 120×40 (insta snapshots of a `TestBackend`), and hostile text that must
//! never reach the terminal.

mod tui_support;

use chrono::Duration as Days;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use replydesk::db::conversations::StatusCounts;
use replydesk::db::{Direction, OutboxStatus, SuggestionStatus};
use replydesk::tui::app::{self, Action, Done, Effect, Failure, State};
use replydesk::tui::{clean, view};
use std::time::Duration;
use tui_support::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn draw(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    for _ in 0..2 {
        let m = view::metrics(s, Rect::new(0, 0, w, h));
        app::update(s, Action::Layout(m));
    }
    term.draw(|f| view::view(s, f)).expect("draw");
    term
}

/// Snapshot `setup`'s state at both sizes.
fn snap(name: &str, setup: impl Fn() -> State) {
    for (w, h) in SIZES {
        let mut s = setup();
        let term = draw(&mut s, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), term.backend());
    }
}

fn approved(s: &mut State) {
    let fx = app::update(s, key('a'));
    let req = fx.iter().find_map(|e| match e {
        Effect::Approve { req, .. } => Some(*req),
        _ => None,
    });
    if let Some(req) = req {
        app::update(
            s,
            Action::Decided {
                req,
                done: Done::Approved(decision(1000, 5000)),
            },
        );
    }
}

#[test]
fn main_screen() {
    snap("main", || {
        let (mut s, _) = loaded();
        app::update(&mut s, Action::ListenerUp);
        answer(&mut s, Vec::new(), true);
        s.flash = None;
        s
    });
}

#[test]
fn main_screen_mono() {
    snap("main_mono", || {
        let mut settings = settings();
        settings.theme.name = "mono".into();
        let (mut s, _) = state_with(&settings);
        let fx = app::init(&mut s);
        answer(&mut s, fx, true);
        s
    });
}

#[test]
fn thread_focused_and_queued_reply_with_undo_countdown() {
    snap("queued", || {
        let (mut s, t0) = loaded();
        approved(&mut s);
        // The thread reloads and shows the queued reply counting down.
        let mut t = demo_thread(1000);
        let mut m = message(
            4,
            Direction::Outbound,
            "Hi Maria,\n\nSaturday at 11 works.",
            0,
        );
        m.delivery = Some(OutboxStatus::Queued);
        m.send_after = Some(wall() + Days::seconds(10));
        t.messages.push(m);
        let fx = app::update(
            &mut s,
            Action::Tick {
                now: t0 + Duration::from_millis(2500),
                wall: wall() + Days::milliseconds(2500),
            },
        );
        let _ = fx;
        let req = s.next_req;
        s.thread.inflight = Some((req, 1000));
        app::update(
            &mut s,
            Action::ThreadLoaded {
                req,
                conv_id: 1000,
                thread: Box::new(t),
                suggestion: Some(Box::new(suggestion(1000, 5000, SuggestionStatus::Approved))),
            },
        );
        app::update(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
        );
        s
    });
}

#[test]
fn help_overlay() {
    snap("help", || {
        let (mut s, _) = loaded();
        app::update(&mut s, key('?'));
        s
    });
}

#[test]
fn reject_picker() {
    snap("reject", || {
        let (mut s, _) = loaded();
        app::update(&mut s, key('r'));
        app::update(&mut s, key('4'));
        for c in "asks about parking, draft ignores it".chars() {
            app::update(&mut s, key(c));
        }
        s
    });
}

#[test]
fn inline_editor() {
    snap("editor", || {
        let (mut s, _) = loaded();
        app::update(&mut s, key('e'));
        for c in " PS: bring ID.".chars() {
            app::update(&mut s, key(c));
        }
        s
    });
}

#[test]
fn compose() {
    snap("compose", || {
        let (mut s, _) = loaded();
        app::update(&mut s, key('c'));
        for c in "Hi Maria, 11 works — see you Saturday!".chars() {
            app::update(&mut s, key(c));
        }
        s
    });
}

#[test]
fn discard_confirm() {
    snap("discard", || {
        let (mut s, _) = loaded();
        app::update(&mut s, key('e'));
        app::update(&mut s, key('!'));
        app::update(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        s
    });
}

#[test]
fn disconnected_banner() {
    snap("disconnected", || {
        let (mut s, _) = loaded();
        app::update(
            &mut s,
            Action::ListenerDown(
                "cannot reach PostgreSQL at alex@localhost:5432/replydesk (connection refused)"
                    .into(),
            ),
        );
        app::update(&mut s, key('a'));
        s
    });
}

#[test]
fn lost_race_message() {
    snap("lost_race", || {
        let (mut s, _) = loaded();
        let fx = app::update(&mut s, key('a'));
        let req = fx
            .iter()
            .find_map(|e| match e {
                Effect::Approve { req, .. } => Some(*req),
                _ => None,
            })
            .unwrap_or(0);
        let fx = app::update(
            &mut s,
            Action::Failed {
                req,
                failure: Failure {
                    message: "already approved by Dana Cruz <dana@acme.test> at 2025-03-14 15:09:20 UTC; nothing was changed".into(),
                    connection_lost: false,
                    refresh: true,
                },
            },
        );
        // The reload shows Dana's decision.
        for e in fx {
            if let Effect::LoadThread { req, conv_id, .. } = e {
                app::update(
                    &mut s,
                    Action::ThreadLoaded {
                        req,
                        conv_id,
                        thread: Box::new(demo_thread(conv_id)),
                        suggestion: Some(Box::new(suggestion(
                            conv_id,
                            5000,
                            SuggestionStatus::Approved,
                        ))),
                    },
                );
            }
        }
        s
    });
}

#[test]
fn empty_inbox() {
    snap("empty", || {
        let (mut s, _) = state();
        let fx = app::init(&mut s);
        for e in fx {
            match e {
                Effect::LoadPage { req, .. } => {
                    app::update(&mut s, Action::PageLoaded { req, rows: vec![] });
                }
                Effect::LoadCounts { req, .. } => {
                    app::update(
                        &mut s,
                        Action::CountsLoaded {
                            req,
                            counts: StatusCounts::default(),
                        },
                    );
                }
                _ => {}
            }
        }
        s
    });
}

const HOSTILE: &str = "Ça va? 日本語のメッセージです。🎉👍🏽 family: 👨‍👩‍👧\n\
    \x1b[2J\x1b[31mRED\x1b[0m \x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://evil.test\x1b\\link\x1b]8;;\x1b\\ \
    \x1bP+q544e\x1b\\ \u{9b}6n \u{85}nel \u{202e}txt.exe\u{202c} \u{2066}iso\u{2069} bell\x07 \
    nul\x00 del\x7f cr\rlf";

fn hostile_state() -> State {
    let (mut s, _) = state();
    let fx = app::init(&mut s);
    let mut evil_rows = rows(0..10);
    evil_rows[0].lead_name = "\x1b]0;pwned\x07Eve \u{202e}lanigiro".into();
    evil_rows[0].subject = "日本語 \x1b[5mblink\x1b[0m 🎉 subject".into();
    for e in fx {
        match e {
            Effect::LoadPage { req, .. } => {
                for a in app::update(
                    &mut s,
                    Action::PageLoaded {
                        req,
                        rows: evil_rows.clone(),
                    },
                ) {
                    if let Effect::LoadThread { req, conv_id, .. } = a {
                        let mut t = thread_for(
                            conv_id,
                            vec![
                                message(1, Direction::Inbound, HOSTILE, 60),
                                {
                                    let mut m = message(
                                        2,
                                        Direction::Inbound,
                                        "<p>Hello &#27;]52;c;aGk=&#7; <b>there</b></p>",
                                        30,
                                    );
                                    m.body_is_html = true;
                                    m
                                },
                                {
                                    let mut m = message(
                                        3,
                                        Direction::Inbound,
                                        "start of a very large body…",
                                        1,
                                    );
                                    m.body_bytes = 10 * 1024 * 1024;
                                    m
                                },
                            ],
                        );
                        t.conversation.lead_name = evil_rows[0].lead_name.clone();
                        t.conversation.subject = evil_rows[0].subject.clone();
                        t.conversation.owner = Some("\x1b[8mhidden\x1b[0m".into());
                        let mut sg = suggestion(conv_id, 5000, SuggestionStatus::Rejected);
                        sg.body = format!("Draft with {HOSTILE}");
                        sg.decided_by = Some("Mallory \x1b]52;c;eA==\x07".into());
                        sg.rejection_reason = Some(replydesk::db::RejectionReason::Other);
                        sg.rejection_note = Some("note \u{202e}reversed".into());
                        sg.sentiment = Some("\x1b[1mangry".into());
                        sg.context = serde_json::json!({"based_on": "\x1b]8;;x\x07y", "\u{202e}k": [1, "\x1b[2J"]});
                        app::update(
                            &mut s,
                            Action::ThreadLoaded {
                                req,
                                conv_id,
                                thread: Box::new(t),
                                suggestion: Some(Box::new(sg)),
                            },
                        );
                    }
                }
            }
            Effect::LoadCounts { req, .. } => {
                app::update(
                    &mut s,
                    Action::CountsLoaded {
                        req,
                        counts: counts(),
                    },
                );
            }
            _ => {}
        }
    }
    s.flash = Some(app::Flash {
        text: "already approved by \x1b[31mEve\u{202e} at now".into(),
        level: app::Level::Error,
    });
    s
}

#[test]
fn hostile_thread_snapshot() {
    snap("hostile", hostile_state);
}

#[test]
fn no_cell_holds_a_control_escape_or_bidi_character() {
    for (w, h) in [(80, 24), (120, 40), (50, 15), (200, 60)] {
        for focus_thread in [false, true] {
            let mut s = hostile_state();
            if focus_thread {
                app::update(
                    &mut s,
                    Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
                );
                app::update(&mut s, key('g'));
            }
            let term = draw(&mut s, w, h);
            let buf = term.backend().buffer();
            for cell in buf.content() {
                assert!(
                    clean::is_clean(cell.symbol()) && !cell.symbol().contains(['\n', '\t']),
                    "{w}x{h}: cell {:?} reached the screen",
                    cell.symbol()
                );
            }
            let all: String = buf.content().iter().map(|c| c.symbol()).collect();
            assert!(!all.contains("ZXZpbA=="), "OSC 52 payload leaked");
        }
    }
    // The editor and the reject note too: a paste full of escapes.
    let (mut s, _) = loaded();
    app::update(&mut s, key('c'));
    app::update(&mut s, Action::Paste(HOSTILE.into()));
    let term = draw(&mut s, 80, 24);
    for cell in term.backend().buffer().content() {
        assert!(clean::is_clean(cell.symbol()), "{:?}", cell.symbol());
    }
}

#[test]
fn every_size_from_tiny_to_huge_renders_without_panicking() {
    for (w, h) in [(1, 1), (10, 5), (30, 8), (79, 23), (80, 24), (300, 100)] {
        let mut s = hostile_state();
        draw(&mut s, w, h);
        app::update(&mut s, key('?'));
        draw(&mut s, w, h);
        app::update(&mut s, key('?'));
        app::update(&mut s, key('c'));
        draw(&mut s, w, h);
    }
}
