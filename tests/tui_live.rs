//! The TUI's runner and listener against the real PostgreSQL, without a
//! terminal: keys go into `update`, effects run on tokio tasks, answers and
//! notifications come back through the channel, as in `tui::run`.

mod common;
mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use replydesk::db::SuggestionStatus;
use replydesk::tui::app::{self, Action, Effect, State};
use replydesk::tui::drafts::Drafts;
use replydesk::tui::listen;
use replydesk::tui::runner::Runner;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct Harness {
    state: State,
    runner: Runner,
    rx: mpsc::UnboundedReceiver<Action>,
}

impl Harness {
    fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            self.runner.spawn(e);
        }
    }

    fn send(&mut self, action: Action) {
        let fx = app::update(&mut self.state, action);
        self.run(fx);
    }

    /// Feed answers (and ticks) until `done` holds or 10 s pass.
    async fn until(&mut self, what: &str, done: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.state) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            let action = match tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await
            {
                Ok(Some(a)) => a,
                _ => Action::Tick {
                    now: Instant::now(),
                    wall: chrono::Utc::now(),
                },
            };
            self.send(action);
        }
    }
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_live_update_and_lost_race_against_postgres() {
    let t = common::TestDb::new().await;
    let alex = t.rep("alex@acme.test", "Alex Morgan").await;
    let dana = t.rep("dana@acme.test", "Dana Cruz").await;
    let (conv_a, sid_a) = t.conversation_with_draft("a").await;
    let (conv_b, sid_b) = t.conversation_with_draft("b").await;

    let (tx, rx) = mpsc::unbounded_channel();
    let drafts_dir = std::env::temp_dir().join(format!("replydesk-live-{}", std::process::id()));
    let runner = Runner {
        pool: t.pool.clone(),
        rep: alex.clone(),
        undo_window: Duration::from_secs(30),
        drafts: Drafts::in_dir(&drafts_dir),
        tx: tx.clone(),
        embedder: Err("not used in this test".into()),
    };
    let listener = tokio::spawn(listen::run(t.db.clone(), tx.clone()));
    let mut settings = tui_support::settings();
    settings.undo_window_secs = 30;
    let state = State::new(&settings, alex.clone(), Instant::now(), chrono::Utc::now());
    let mut h = Harness { state, runner, rx };
    let fx = app::init(&mut h.state);
    h.run(fx);

    h.until("live and the inbox loaded with a draft shown", |s| {
        s.live
            && s.inbox.rows.len() == 2
            && s.counts.is_some_and(|c| c.needs_reply == 2)
            && s.thread
                .current()
                .is_some_and(|l| l.pending_suggestion().is_some())
    })
    .await;
    // Newest first: b was created last.
    assert_eq!(h.state.inbox.selected_id(), Some(conv_b));

    // Approve b: it leaves the "needs reply" list and can be undone.
    h.send(key('a'));
    h.until("b approved and gone from the list", |s| {
        s.undo.is_some() && s.inbox.rows.iter().all(|r| r.id != conv_b)
    })
    .await;
    assert_eq!(h.state.inbox.selected_id(), Some(conv_a));
    h.until("counts refreshed", |s| {
        s.counts
            .is_some_and(|c| c.needs_reply == 1 && c.waiting == 1)
    })
    .await;

    // Undo: b is back, pending again, and selected.
    h.send(key('u'));
    h.until("b back after undo", |s| {
        s.undo.is_none() && s.inbox.selected_id() == Some(conv_b)
    })
    .await;
    h.until("b's draft pending again", |s| {
        s.thread
            .current()
            .and_then(|l| l.suggestion.as_ref())
            .is_some_and(|sg| sg.id == sid_b && sg.status == SuggestionStatus::Pending)
    })
    .await;

    // Another rep approves a behind our back: the notification updates the screen.
    h.send(key('j'));
    h.until("a shown", |s| {
        s.thread
            .current()
            .is_some_and(|l| l.conv_id == conv_a && l.pending_suggestion().is_some())
    })
    .await;
    {
        let mut c = t.client().await;
        replydesk::db::suggestions::approve(&mut c, sid_a, &dana, Duration::from_secs(30))
            .await
            .expect("dana approves");
    }
    h.until("a's decision by Dana appears without a key press", |s| {
        s.inbox.rows.iter().all(|r| r.id != conv_a)
    })
    .await;

    // A decision that loses the race says who won and reloads.
    let (conv_c, sid_c) = t.conversation_with_draft("c").await;
    h.until("c appears live", |s| {
        s.inbox.rows.iter().any(|r| r.id == conv_c)
    })
    .await;
    h.send(key('g'));
    h.until("c shown", |s| {
        s.thread
            .current()
            .is_some_and(|l| l.conv_id == conv_c && l.pending_suggestion().is_some())
    })
    .await;
    // Dana's approval commits; our screen has not caught up yet when we press `a`.
    {
        let mut c = t.client().await;
        replydesk::db::suggestions::approve(&mut c, sid_c, &dana, Duration::from_secs(30))
            .await
            .expect("dana approves c");
    }
    h.send(key('a'));
    h.until("the lost race is explained", |s| {
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.starts_with("already approved by Dana Cruz"))
    })
    .await;
    h.until("and the reload drops c from the list", |s| {
        s.inbox.rows.iter().all(|r| r.id != conv_c)
    })
    .await;

    listener.abort();
    let _ = std::fs::remove_dir_all(drafts_dir);
}
