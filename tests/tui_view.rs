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
use replydesk::db::search::{Matched, Meaning};
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

/// `S`, then the answer: the rep's numbers beside the team's, approval per
/// confidence bucket and decisions per day.
#[test]
fn stats_overlay() {
    snap("stats", || {
        let (mut s, _) = loaded();
        s.flash = None;
        let fx = app::update(&mut s, key('S'));
        let req = fx
            .iter()
            .find_map(|e| match e {
                Effect::LoadStats { req, .. } => Some(*req),
                _ => None,
            })
            .expect("S asks for the stats");
        app::update(
            &mut s,
            Action::StatsLoaded {
                req,
                stats: Box::new(stats()),
            },
        );
        s
    });
}

#[test]
fn stats_overlay_while_loading() {
    snap("stats_loading", || {
        let (mut s, _) = loaded();
        s.flash = None;
        app::update(&mut s, key('S'));
        s
    });
}

fn tick_at(s: &mut State, at: std::time::Instant) {
    app::update(
        s,
        Action::Tick {
            now: at,
            wall: wall(),
        },
    );
}

/// `s` on Maria's conversation, then the answer.
fn similar_with(found: replydesk::tui::similar::Similars) -> State {
    let (mut s, _) = loaded();
    s.flash = None;
    let fx = app::update(&mut s, key('s'));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadSimilar { req, .. } => Some(*req),
            _ => None,
        })
        .expect("s asks for similar conversations");
    app::update(&mut s, Action::SimilarLoaded { req, found });
    s
}

/// `s`: score, status mark, lead, subject, and how each was answered.
#[test]
fn similar_overlay() {
    snap("similar", || {
        let mut s = similar_with(replydesk::tui::similar::Similars::Found(similar_found()));
        app::update(&mut s, key('j'));
        s
    });
}

#[test]
fn similar_overlay_without_embeddings() {
    snap("similar_not_embedded", || {
        similar_with(replydesk::tui::similar::Similars::NotEmbedded)
    });
}

/// `/`, "parking saturday", the pause, the answer (all matches shown, fused).
fn searched(results: Vec<replydesk::db::search::SearchResult>, note: Option<String>) -> State {
    let n = results.len() as u64;
    searched_with(results, Matched::Exactly(n), Meaning::Fused, note)
}

fn searched_with(
    results: Vec<replydesk::db::search::SearchResult>,
    matched: Matched,
    meaning: Meaning,
    note: Option<String>,
) -> State {
    let (mut s, t0) = loaded();
    s.flash = None;
    app::update(&mut s, key('/'));
    for c in "parking saturday".chars() {
        app::update(&mut s, key(c));
    }
    tick_at(&mut s, t0 + Duration::from_millis(200));
    let req = match &s.overlay {
        app::Overlay::Search(o) => o.req.expect("searching"),
        _ => panic!("search overlay open"),
    };
    app::update(
        &mut s,
        Action::SearchLoaded {
            req,
            results,
            matched,
            meaning,
            note,
        },
    );
    s
}

#[test]
fn search_overlay() {
    snap("search", || {
        let mut s = searched(search_results(), None);
        app::update(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
        s
    });
}

#[test]
fn search_overlay_full_text_only() {
    snap("search_full_text_only", || {
        searched(
            search_results()[..3].to_vec(),
            Some("the embedding model took over 3s — full text only".into()),
        )
    });
}

/// More match than are listed, and the model has no vectors: the line says
/// both (full text only; `replydesk embed` adds meaning).
#[test]
fn search_overlay_capped_without_vectors() {
    snap("search_capped_no_vectors", || {
        searched_with(
            search_results(),
            Matched::Exactly(46),
            Meaning::NoVectors,
            None,
        )
    });
}

/// A word too common to rank every match.
#[test]
fn search_overlay_common_word() {
    snap("search_common_word", || {
        searched_with(search_results(), Matched::Common, Meaning::Off, None)
    });
}

/// Enter on a hit: the thread shows with the searched words reversed.
#[test]
fn a_search_hit_opens_with_the_words_marked() {
    use ratatui::style::Modifier;
    for (w, h) in SIZES {
        let mut s = searched(search_results(), None);
        app::update(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        let m = s.metrics;
        let fx = app::update(&mut s, Action::Layout(m));
        answer(&mut s, fx, true);
        let term = draw(&mut s, w, h);
        let buf = term.backend().buffer();
        let marked: Vec<String> = (0..h)
            .map(|y| {
                (0..w)
                    .filter_map(|x| buf.cell((x, y)))
                    .map(|c| {
                        if c.modifier.contains(Modifier::REVERSED) {
                            c.symbol().to_string()
                        } else {
                            " ".to_string()
                        }
                    })
                    .collect::<String>()
            })
            .collect();
        let words: Vec<&str> = marked.iter().flat_map(|l| l.split_whitespace()).collect();
        assert!(words.contains(&"parking"), "{w}x{h}: {words:?}");
        assert!(words.contains(&"Saturday"), "{w}x{h}: {words:?}");
        // The list's selected row is reversed by the theme, not by this:
        // only the thread pane's cells hold matches.
        assert!(
            words.iter().all(|m| {
                let m = m.to_lowercase();
                m == "parking" || m == "saturday"
            }),
            "{w}x{h}: {words:?}"
        );
    }
}

/// Too short for all the keys: help scrolls with j/k and says how much is left.
#[test]
fn help_scrolls_when_the_screen_is_short() {
    let (mut s, _) = loaded();
    app::update(&mut s, key('?'));
    let term = draw(&mut s, 80, 14);
    assert!(s.metrics.help_overflow > 0);
    let text = |t: &Terminal<TestBackend>| -> String {
        t.backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    };
    let before = text(&term);
    assert!(before.contains("j/k scroll"), "{before}");
    for _ in 0..50 {
        app::update(&mut s, key('j'));
    }
    assert_eq!(s.help_scroll, s.metrics.help_overflow);
    let after = text(&draw(&mut s, 80, 14));
    assert!(
        after.contains("undo / redo typing"),
        "the last line shows: {after}"
    );
    assert!(!after.contains("next row / scroll down"));
}

#[test]
fn similar_and_search_overlays_hold_no_escapes() {
    use replydesk::db::embeddings::Answer;
    let mut found = similar_found();
    found[0].lead_name = "\x1b]0;pwned\x07Eve \u{202e}lanigiro".into();
    found[0].subject = HOSTILE.into();
    found[0].answer = Answer::Reply {
        text: HOSTILE.into(),
        status: SuggestionStatus::Approved,
    };
    found[1].answer = Answer::Rejected {
        reason: replydesk::db::RejectionReason::Other,
        note: Some("\x1b]52;c;ZXZpbA==\x07 note".into()),
    };
    let mut hits = search_results();
    hits[0].snippet = HOSTILE.into();
    hits[1].lead_name = "\u{2066}Eve\x1b[8m".into();
    for (w, h) in [(80, 24), (120, 40), (40, 12)] {
        let mut a = similar_with(replydesk::tui::similar::Similars::Found(found.clone()));
        let mut b = searched(hits.clone(), Some("\x1b[31mred note".into()));
        app::update(&mut b, Action::Paste("\x1b[2J\u{202e}pasted".into()));
        for s in [&mut a, &mut b] {
            let term = draw(s, w, h);
            let buf = term.backend().buffer();
            for cell in buf.content() {
                assert!(
                    clean::is_clean(cell.symbol()) && !cell.symbol().contains(['\n', '\t']),
                    "{w}x{h}: {:?}",
                    cell.symbol()
                );
            }
            let all: String = buf.content().iter().map(|c| c.symbol()).collect();
            assert!(!all.contains("ZXZpbA=="), "OSC 52 payload leaked");
        }
    }
}

#[test]
fn similar_and_search_render_at_any_size() {
    for (w, h) in [(1, 1), (10, 5), (30, 8), (79, 23), (300, 100)] {
        let mut a = similar_with(replydesk::tui::similar::Similars::Found(similar_found()));
        draw(&mut a, w, h);
        let mut b = searched(search_results(), None);
        draw(&mut b, w, h);
        let mut c = similar_with(replydesk::tui::similar::Similars::NotEmbedded);
        draw(&mut c, w, h);
    }
}
