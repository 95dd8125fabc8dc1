//! The terminal UI. `run` owns the loop: draw, wait for the next key,
//! database answer, notification or tick, `update`, hand the effects to the
//! runner. The loop itself never awaits the database.

pub mod app;
pub mod clean;
pub mod drafts;
pub mod editor;
pub mod inbox;
pub mod keys;
pub mod listen;
pub mod model;
mod results;
pub mod runner;
pub mod search;
pub mod similar;
mod stats;
pub mod terminal;
pub mod theme;
pub mod thread;
pub mod view;
mod workflow;

use crate::config::Settings;
use crate::db::pool::DbConfig;
use crate::db::{Pool, Rep};
use app::{Action, Effect, State};
use chrono::{Local, Offset as _, Utc};
use crossterm::event::{Event, EventStream};
use futures::StreamExt as _;
use runner::Runner;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Everything the TUI needs from `main`.
pub struct Launch {
    pub settings: Settings,
    pub db: DbConfig,
    pub pool: Pool,
    pub rep: Rep,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Launch({})", self.db.target())
    }
}

const TICK: Duration = Duration::from_millis(100);
/// Actions handled between two frames at most (key repeat, bursts).
const BATCH: usize = 64;

/// Open the TUI and run until the rep quits (or SIGTERM / SIGHUP).
pub async fn run(launch: Launch) -> std::io::Result<()> {
    let Launch {
        settings,
        db,
        pool,
        rep,
    } = launch;
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    // Created once: similar and search embed with the configured model.
    let embedder = crate::ai::embedder_from(&settings.ai).map_err(|e| e.to_string());
    let runner = Runner {
        pool,
        rep: rep.clone(),
        undo_window: Duration::from_secs(settings.undo_window_secs),
        drafts: drafts::Drafts::platform(),
        tx: tx.clone(),
        embedder,
    };
    let mut state = State::new(&settings, rep, Instant::now(), Utc::now());
    state.tz = Local::now().offset().fix();

    let mut term = terminal::enter()?;
    let _guard = terminal::Guard;
    let listener = tokio::spawn(listen::run(db, tx.clone()));
    spawn_signals(tx.clone());

    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut pending: Vec<Effect> = app::init(&mut state);
    'main: loop {
        for effect in pending.drain(..) {
            match effect {
                Effect::Quit => break 'main,
                Effect::ExternalEditor {
                    conv_id,
                    suggestion_id,
                    text,
                } => {
                    drop(events);
                    let result = external_editor(&mut term, &runner, conv_id, &text).await;
                    events = EventStream::new();
                    let _ = tx.send(Action::ExternalEdited {
                        conv_id,
                        suggestion_id,
                        result,
                    });
                }
                other => runner.spawn(other),
            }
        }
        terminal::recover_after_caught_panic(&mut term)?;
        let size = term.size()?;
        let metrics = view::metrics(&state, size.into());
        if metrics != state.metrics {
            pending.extend(app::update(&mut state, Action::Layout(metrics)));
            if !pending.is_empty() {
                continue;
            }
        }
        term.draw(|f| view::view(&state, f))?;

        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => event_action(ev),
                Some(Err(_)) | None => Some(Action::Quit),
            },
            Some(a) = rx.recv() => Some(a),
            _ = ticker.tick() => Some(tick_action()),
        };
        let mut batch: Vec<Action> = first.into_iter().collect();
        while batch.len() < BATCH {
            if let Ok(a) = rx.try_recv() {
                batch.push(a);
            // Poll with this task's own waker: crossterm's stream keeps the
            // waker of its first pending poll, so a no-op waker here
            // (`now_or_never`) would leave keys waiting for the next tick.
            } else if let std::task::Poll::Ready(Some(Ok(ev))) = futures::poll!(events.next()) {
                batch.extend(event_action(ev));
            } else {
                break;
            }
        }
        for action in batch {
            pending.extend(app::update(&mut state, action));
        }
    }
    // On the way out: write any draft that is still only in memory.
    if let Some(ed) = &state.editor
        && ed.touched
    {
        runner.save_draft_now(ed.conv_id, &ed.text());
    }
    listener.abort();
    terminal::restore()?;
    Ok(())
}

fn tick_action() -> Action {
    Action::Tick {
        now: Instant::now(),
        wall: Utc::now(),
    }
}

fn event_action(ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) => Some(Action::Key(k)),
        Event::Paste(s) => Some(Action::Paste(s)),
        Event::Resize(..) => Some(tick_action()),
        _ => None,
    }
}

fn spawn_signals(tx: mpsc::UnboundedSender<Action>) {
    use tokio::signal::unix::{SignalKind, signal};
    for kind in [SignalKind::terminate(), SignalKind::hangup()] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(Action::Quit);
                }
            });
        }
    }
}

/// Suspend the screen, edit `text` in `$VISUAL` / `$EDITOR` (else `vi`) on
/// the local draft file, come back. The draw loop is paused meanwhile; the
/// result opens in the inline editor for a last look before approving.
async fn external_editor(
    term: &mut terminal::Term,
    runner: &Runner,
    conv_id: i64,
    text: &str,
) -> Result<String, String> {
    let drafts = runner.drafts.clone();
    let existing = drafts.load(conv_id).ok().flatten();
    let start = existing.unwrap_or_else(|| text.to_string());
    let path = drafts
        .save(conv_id, &start)
        .map_err(|e| format!("cannot write the draft file: {e}"))?;
    terminal::suspend(term).map_err(|e| e.to_string())?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status()
            .map(|s| (s, path))
    })
    .await;
    let resumed = terminal::resume(term);
    let (status, path) = match status {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return Err(format!("cannot start the editor: {e}")),
        Err(e) => return Err(format!("the editor task failed: {e}")),
    };
    resumed.map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!(
            "the editor exited with {status}; the draft is kept"
        ));
    }
    std::fs::read(&path)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .map_err(|e| format!("cannot read the draft back: {e}"))
}
