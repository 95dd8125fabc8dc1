//! `view(&State, &mut Frame)`: no I/O, no clock (times come from the state).
//! One file per pane; this one lays them out and measures them.

mod list;
mod overlays;
mod search;
mod similar;
mod stats;
mod status;
mod suggestion;
mod thread;
pub mod wrap;

use super::app::{Conn, Metrics, State};
use chrono::{DateTime, Datelike as _, FixedOffset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

/// Where each pane goes for a given screen size.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub banner: Rect,
    pub list: Rect,
    pub thread: Rect,
    /// The suggestion pane, or the editor when one is open.
    pub lower: Rect,
    pub status: Rect,
}

pub fn areas(state: &State, area: Rect) -> Areas {
    let offline = !matches!(state.conn, Conn::Online);
    let status_h = 1 + status::flash_lines(state, area.width) as u16;
    let [banner, main, status] = Layout::vertical([
        Constraint::Length(u16::from(offline)),
        Constraint::Min(3),
        Constraint::Length(status_h),
    ])
    .areas(area);
    let list_w = (u32::from(main.width) * 38 / 100).clamp(28, 64) as u16;
    let [list, right] = Layout::horizontal([
        Constraint::Length(list_w.min(main.width)),
        Constraint::Min(0),
    ])
    .areas(main);
    let lower_pct = if state.editor.is_some() { 60 } else { 42 };
    let [thread, lower] = Layout::vertical([
        Constraint::Percentage(100 - lower_pct),
        Constraint::Percentage(lower_pct),
    ])
    .areas(right);
    Areas {
        banner,
        list,
        thread,
        lower,
        status,
    }
}

/// Inner size of a bordered pane.
fn inner(r: Rect) -> (usize, usize) {
    (
        r.width.saturating_sub(2) as usize,
        r.height.saturating_sub(2) as usize,
    )
}

/// The sizes `update` needs for scrolling, computed like the view does.
pub fn metrics(state: &State, area: Rect) -> Metrics {
    let a = areas(state, area);
    let (list_w, list_h) = inner(a.list);
    let (tw, th) = inner(a.thread);
    let (sw, sh) = inner(a.lower);
    Metrics {
        list_height: list_h / list::lines_per_row(list_w),
        thread_height: th,
        thread_lines: thread::line_count(state, tw as u16),
        sugg_height: sh,
        sugg_lines: suggestion::line_count(state, sw as u16),
        help_overflow: if state.overlay == super::app::Overlay::Help {
            overlays::help_overflow(state, area)
        } else {
            0
        },
    }
}

pub fn view(state: &State, f: &mut Frame) {
    let a = areas(state, f.area());
    if a.banner.height > 0 {
        status::banner(state, f, a.banner);
    }
    list::render(state, f, a.list);
    thread::render(state, f, a.thread);
    search::highlight(state, f, a.thread);
    match &state.editor {
        Some(ed) => overlays::editor(state, ed, f, a.lower),
        None => suggestion::render(state, f, a.lower),
    }
    status::render(state, f, a.status);
    overlays::render(state, f, f.area());
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(state: &State) -> &'static str {
    SPINNER[(state.frame % SPINNER.len() as u64) as usize]
}

/// At most three columns: "now", "3m", "2h", "5d", "15w", "2y".
pub fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    const DAY: i64 = 86_400;
    let secs = (now - at).num_seconds();
    match secs {
        s if s < 60 => "now".to_string(),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < DAY => format!("{}h", s / 3600),
        s if s < 100 * DAY => format!("{}d", s / DAY),
        s if s < 700 * DAY => format!("{}w", s / (7 * DAY)),
        s => format!("{}y", (s / (365 * DAY)).min(99)),
    }
}

/// "14:02" today, "Mar 12 14:02" this year, "2023-03-12" before.
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>, tz: FixedOffset) -> String {
    let (at, now) = (at.with_timezone(&tz), now.with_timezone(&tz));
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else if at.year() == now.year() {
        at.format("%b %d %H:%M").to_string()
    } else {
        at.format("%Y-%m-%d").to_string()
    }
}

/// Centered rectangle of at most `w` × `h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
