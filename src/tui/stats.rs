//! The stats overlay (`S`): ask for the last 30 days, show the answer when
//! it comes; an answer for a request that is no longer the overlay's (it
//! was closed, or reloaded) is dropped.

use super::app::{Effect, Overlay, ReqKind, State, StatsOverlay, quit};
use super::clean;
use super::keys::Command;
use crate::db::stats::Stats;
use chrono::Duration;
use crossterm::event::KeyEvent;

/// How far back the overlay looks.
pub const WINDOW_DAYS: i64 = 30;

/// Open the overlay and ask for the numbers.
pub fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let since = state.wall - Duration::days(WINDOW_DAYS);
    let mut o = StatsOverlay {
        since,
        req: None,
        stats: None,
        error: None,
    };
    if state.is_online() {
        let req = state.begin(ReqKind::Stats);
        o.req = Some(req);
        fx.push(Effect::LoadStats { req, since });
    } else {
        o.error = Some("offline — stats need the database; try again when reconnected".into());
    }
    state.overlay = Overlay::Stats(o);
}

/// Keys while the overlay is open: back / `S` closes, refresh reloads,
/// quit quits; the rest do nothing.
pub fn key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    match state.keymap.lookup(&key) {
        Some(Command::Back | Command::Stats | Command::Help) => close(state),
        Some(Command::Refresh) => {
            close(state);
            open(state, fx);
        }
        Some(Command::Quit) => {
            close(state);
            quit(state, fx);
        }
        _ => {}
    }
}

fn close(state: &mut State) {
    if let Overlay::Stats(o) = &state.overlay
        && let Some(req) = o.req
    {
        state.requests.remove(&req);
    }
    state.overlay = Overlay::None;
}

pub fn loaded(state: &mut State, req: u64, stats: Box<Stats>) {
    state.requests.remove(&req);
    if let Overlay::Stats(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.stats = Some(stats);
        o.error = None;
    }
}

pub fn failed(state: &mut State, req: u64, message: &str) {
    if let Overlay::Stats(o) = &mut state.overlay
        && o.req == Some(req)
    {
        o.req = None;
        o.error = Some(clean::line(message));
    }
}
