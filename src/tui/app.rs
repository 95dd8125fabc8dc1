//! The Elm core: one [`State`], `update(&mut State, Action) -> Vec<Effect>`
//! with no I/O and no clock (time arrives in `Action::Tick`), and the types
//! the runner and the view share. Key handling for the review workflow is in
//! `workflow.rs`, results from the database in `results.rs`.

use super::editor::Editor;
use super::inbox::{Inbox, PageDir};
use super::keys::{Command, Keymap};
pub use super::model::*;
use super::theme::Theme;
use super::thread::ThreadPane;
use super::{results, workflow};
use crate::db::Rep;
use crate::db::conversations::{InboxQuery, Page, StatusCounts, StatusFilter};
use chrono::{DateTime, FixedOffset, Offset as _, Utc};
use crossterm::event::{KeyEvent, KeyEventKind};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Messages per thread request.
pub const THREAD_PAGE: i64 = 50;
/// A request outstanding this long shows the spinner.
pub const SPINNER_AFTER: Duration = Duration::from_millis(100);
/// Local drafts are written this long after the last keystroke.
pub const DRAFT_DEBOUNCE: Duration = Duration::from_millis(300);
/// More ids than this in one burst of notifications: reload instead.
const MAX_LIVE_IDS: usize = 500;

#[derive(Debug)]
pub struct State {
    pub keymap: Keymap,
    pub theme: Theme,
    pub rep: Rep,
    pub undo_window: Duration,
    /// Only this rep's conversations (scope "mine"); `None` for the team's.
    pub owner: Option<i64>,
    /// With `owner`: the unassigned conversations too.
    pub unassigned: bool,
    /// Offset used to show times (the local zone; UTC in tests).
    pub tz: FixedOffset,
    pub now: Instant,
    pub wall: DateTime<Utc>,
    pub frame: u64,
    pub inbox: Inbox,
    pub counts: Option<StatusCounts>,
    pub counts_inflight: Option<u64>,
    pub counts_dirty: bool,
    pub thread: ThreadPane,
    pub focus: Focus,
    pub overlay: Overlay,
    pub editor: Option<Editor>,
    pub flash: Option<Flash>,
    pub conn: Conn,
    /// The listener is up: changes by others appear by themselves.
    pub live: bool,
    pub undo: Option<UndoSlot>,
    pub requests: HashMap<u64, Request>,
    pub next_req: u64,
    pub metrics: Metrics,
    pub probe_inflight: Option<u64>,
    pub pending_ids: BTreeSet<i64>,
    pub pending_resync: bool,
    /// Select this conversation when it shows up in the list (after undo).
    pub jump_to: Option<i64>,
    /// Lines the help overlay is scrolled down (when it does not fit).
    pub help_scroll: usize,
    /// Words of the last search, marked in that conversation's thread.
    pub highlight: Option<super::search::Highlight>,
    pub quitting: bool,
}

impl State {
    pub fn new(
        settings: &crate::config::Settings,
        rep: Rep,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> State {
        let keymap = Keymap::new(&settings.keys);
        let flash = (!keymap.warnings.is_empty()).then(|| Flash {
            text: keymap.warnings.join("; "),
            level: Level::Error,
        });
        let mine = settings.scope == crate::config::Scope::Mine;
        State {
            keymap,
            theme: Theme::named(&settings.theme.name),
            owner: mine.then_some(rep.id),
            unassigned: mine,
            rep,
            undo_window: Duration::from_secs(settings.undo_window_secs),
            tz: Utc.fix(),
            now,
            wall,
            frame: 0,
            inbox: Inbox::new(StatusFilter::NeedsReply, settings.page_size as usize),
            counts: None,
            counts_inflight: None,
            counts_dirty: false,
            thread: ThreadPane::default(),
            focus: Focus::List,
            overlay: Overlay::None,
            editor: None,
            flash,
            conn: Conn::Online,
            live: false,
            undo: None,
            requests: HashMap::new(),
            next_req: 1,
            metrics: Metrics {
                list_height: 20,
                ..Metrics::default()
            },
            probe_inflight: None,
            pending_ids: BTreeSet::new(),
            pending_resync: false,
            jump_to: None,
            help_scroll: 0,
            highlight: None,
            quitting: false,
        }
    }

    pub fn is_online(&self) -> bool {
        matches!(self.conn, Conn::Online)
    }

    /// Register a request and return its id.
    pub fn begin(&mut self, kind: ReqKind) -> u64 {
        let req = self.next_req;
        self.next_req += 1;
        self.requests.insert(
            req,
            Request {
                kind,
                started: self.now,
            },
        );
        req
    }

    pub fn query(&self) -> InboxQuery {
        InboxQuery {
            filter: self.inbox.filter,
            owner: self.owner,
            unassigned: self.unassigned,
        }
    }

    /// What the spinner should say, if a request has been out too long.
    pub fn busy(&self) -> Option<&'static str> {
        self.requests
            .values()
            .filter(|r| self.now.saturating_duration_since(r.started) >= SPINNER_AFTER)
            .filter_map(|r| match r.kind {
                ReqKind::Page => Some("loading inbox"),
                ReqKind::Thread | ReqKind::Older => Some("loading thread"),
                ReqKind::Decision { what, .. } => Some(what),
                ReqKind::Stats => Some("loading stats"),
                ReqKind::Similar => Some("finding similar"),
                ReqKind::Search => Some("searching"),
                ReqKind::Counts | ReqKind::Rows | ReqKind::Probe => None,
            })
            .next()
    }

    pub fn decision_inflight(&self, conv_id: i64) -> bool {
        self.requests
            .values()
            .any(|r| matches!(r.kind, ReqKind::Decision { conv_id: c, .. } if c == conv_id))
    }

    /// Any approve, edit, reject, compose, undo or archive still running.
    pub fn any_decision_inflight(&self) -> bool {
        self.requests
            .values()
            .any(|r| matches!(r.kind, ReqKind::Decision { .. }))
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            level,
        });
    }

    /// Seconds left to undo, for the status bar.
    pub fn undo_left(&self) -> Option<u64> {
        let slot = self.undo?;
        let left = slot.deadline.saturating_duration_since(self.now);
        (!left.is_zero()).then(|| left.as_secs() + u64::from(left.subsec_millis() > 0))
    }
}

/// The first requests: the newest page and the counts.
pub fn init(state: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    request_page(state, &mut fx, Page::First, PageDir::First);
    request_counts(state, &mut fx);
    fx
}

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    match action {
        Action::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key, &mut fx),
        Action::Key(_) => {}
        Action::Paste(text) => workflow::on_paste(state, &text),
        Action::Tick { now, wall } => on_tick(state, now, wall, &mut fx),
        Action::Layout(m) => on_layout(state, m, &mut fx),
        Action::Quit => quit(state, &mut fx),
        other => results::on_result(state, other, &mut fx),
    }
    after(state, &mut fx);
    fx
}

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if state.editor.is_some() {
        return workflow::editor_key(state, key, fx);
    }
    if let Overlay::Reject(_) = state.overlay {
        return workflow::reject_key(state, key, fx);
    }
    if let Overlay::Stats(_) = state.overlay {
        return super::stats::key(state, key, fx);
    }
    if let Overlay::Similar(_) = state.overlay {
        return super::similar::key(state, key, fx);
    }
    if let Overlay::Search(_) = state.overlay {
        return super::search::key(state, key, fx);
    }
    if state.overlay == Overlay::Help {
        return help_key(state, key);
    }
    let Some(cmd) = state.keymap.lookup(&key) else {
        return;
    };
    match cmd {
        Command::Down => move_by(state, 1),
        Command::Up => move_by(state, -1),
        Command::PageDown => move_by(state, page_step(state) as isize),
        Command::PageUp => move_by(state, -(page_step(state) as isize)),
        Command::Top => jump(state, fx, true),
        Command::Bottom => jump(state, fx, false),
        Command::FocusNext => {
            state.focus = match state.focus {
                Focus::List => Focus::Thread,
                Focus::Thread => Focus::Suggestion,
                Focus::Suggestion => Focus::List,
            }
        }
        Command::Open => {
            if state.inbox.selected_row().is_some() {
                state.focus = Focus::Thread;
            }
        }
        Command::Help => {
            state.help_scroll = 0;
            state.overlay = Overlay::Help;
        }
        Command::Stats => super::stats::open(state, fx),
        Command::Similar => super::similar::open(state, fx),
        Command::Search => super::search::open(state),
        Command::Back => {
            if state.focus == Focus::List {
                quit(state, fx);
            } else {
                state.focus = Focus::List;
            }
        }
        Command::Quit => quit(state, fx),
        Command::FilterNeedsReply => set_filter(state, fx, StatusFilter::NeedsReply),
        Command::FilterWaiting => set_filter(state, fx, StatusFilter::Waiting),
        Command::FilterAll => set_filter(state, fx, StatusFilter::All),
        Command::FilterArchived => set_filter(state, fx, StatusFilter::Archived),
        Command::Refresh => {
            resync(state, fx);
            state.say(Level::Info, "reloading…");
        }
        Command::Save => {}
        Command::Approve
        | Command::Edit
        | Command::EditExternal
        | Command::Reject
        | Command::Compose
        | Command::Undo
        | Command::Archive
        | Command::Claim => workflow::command(state, cmd, fx),
    }
}

/// Help scrolls with the movement keys when it does not fit; any other
/// key closes it.
fn help_key(state: &mut State, key: KeyEvent) {
    let max = state.metrics.help_overflow;
    let page = state.metrics.list_height.max(2) - 1;
    let s = &mut state.help_scroll;
    match state.keymap.lookup(&key) {
        Some(Command::Down) => *s = (*s + 1).min(max),
        Some(Command::Up) => *s = s.saturating_sub(1),
        Some(Command::PageDown) => *s = (*s + page).min(max),
        Some(Command::PageUp) => *s = s.saturating_sub(page),
        Some(Command::Top) => *s = 0,
        Some(Command::Bottom) => *s = max,
        _ => {
            state.help_scroll = 0;
            state.overlay = Overlay::None;
        }
    }
}

fn page_step(state: &State) -> usize {
    let h = match state.focus {
        Focus::List => state.metrics.list_height,
        Focus::Thread => state.metrics.thread_height,
        Focus::Suggestion => state.metrics.sugg_height,
    };
    h.saturating_sub(1).max(1)
}

fn move_by(state: &mut State, delta: isize) {
    match state.focus {
        Focus::List => state.inbox.move_by(delta),
        Focus::Thread => {
            let t = &mut state.thread;
            t.scroll_from_bottom = t.scroll_from_bottom.saturating_add_signed(-delta);
            let max = state
                .metrics
                .thread_lines
                .saturating_sub(state.metrics.thread_height);
            t.scroll_from_bottom = t.scroll_from_bottom.min(max);
        }
        Focus::Suggestion => {
            let t = &mut state.thread;
            t.sugg_scroll = t.sugg_scroll.saturating_add_signed(delta);
            let max = state
                .metrics
                .sugg_lines
                .saturating_sub(state.metrics.sugg_height);
            t.sugg_scroll = t.sugg_scroll.min(max);
        }
    }
}

fn jump(state: &mut State, fx: &mut Vec<Effect>, top: bool) {
    match state.focus {
        Focus::List => {
            let inbox = &state.inbox;
            if top && inbox.has_newer {
                request_page(state, fx, Page::First, PageDir::First);
            } else if !top && inbox.has_older {
                request_page(state, fx, Page::Last, PageDir::Last);
            } else if top {
                state.inbox.selected = 0;
            } else {
                state.inbox.selected = state.inbox.rows.len().saturating_sub(1);
            }
        }
        Focus::Thread => {
            state.thread.scroll_from_bottom = if top {
                state
                    .metrics
                    .thread_lines
                    .saturating_sub(state.metrics.thread_height)
            } else {
                0
            }
        }
        Focus::Suggestion => {
            state.thread.sugg_scroll = if top {
                0
            } else {
                state
                    .metrics
                    .sugg_lines
                    .saturating_sub(state.metrics.sugg_height)
            }
        }
    }
}

pub fn set_filter(state: &mut State, fx: &mut Vec<Effect>, filter: StatusFilter) {
    if let Some((req, _)) = state.inbox.loading {
        state.requests.remove(&req);
    }
    state.inbox.reset(filter);
    state.focus = Focus::List;
    request_page(state, fx, Page::First, PageDir::First);
    request_counts(state, fx);
}

pub fn request_page(state: &mut State, fx: &mut Vec<Effect>, page: Page, dir: PageDir) {
    if let Some((old, _)) = state.inbox.loading {
        state.requests.remove(&old);
    }
    let req = state.begin(ReqKind::Page);
    state.inbox.loading = Some((req, dir));
    fx.push(Effect::LoadPage {
        req,
        query: state.query(),
        page,
        limit: state.inbox.page_size as i64,
    });
}

pub fn request_counts(state: &mut State, fx: &mut Vec<Effect>) {
    if state.counts_inflight.is_some() {
        state.counts_dirty = true;
        return;
    }
    let req = state.begin(ReqKind::Counts);
    state.counts_inflight = Some(req);
    state.counts_dirty = false;
    fx.push(Effect::LoadCounts {
        req,
        owner: state.owner,
        unassigned: state.unassigned,
    });
}

/// Ask for the wanted thread, or once more after the one in flight.
pub fn request_thread(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(conv_id) = state.thread.wanted else {
        return;
    };
    if state.thread.inflight.is_some() {
        state.thread.again = true;
        return;
    }
    let req = state.begin(ReqKind::Thread);
    state.thread.inflight = Some((req, conv_id));
    state.thread.requested_at = Some(state.now);
    state.thread.again = false;
    fx.push(Effect::LoadThread {
        req,
        conv_id,
        limit: THREAD_PAGE,
    });
}

/// Reload everything on screen (after a reconnect, `R`, or a resync notice).
pub fn resync(state: &mut State, fx: &mut Vec<Effect>) {
    state.pending_ids.clear();
    state.pending_resync = false;
    if state.inbox.rows.is_empty() {
        request_page(state, fx, Page::First, PageDir::First);
    } else {
        let page = state.inbox.reload_page();
        request_page(state, fx, page, PageDir::Reload);
    }
    request_counts(state, fx);
    request_thread(state, fx);
}

pub(super) fn quit(state: &mut State, fx: &mut Vec<Effect>) {
    if let Some(ed) = &mut state.editor
        && ed.touched
    {
        ed.dirty_since = None;
        fx.push(Effect::SaveDraft {
            conv_id: ed.conv_id,
            text: ed.text(),
        });
    }
    state.quitting = true;
    fx.push(Effect::Quit);
}

fn backoff(attempt: u32) -> Duration {
    const STEPS: [u64; 6] = [1, 2, 4, 8, 15, 30];
    Duration::from_secs(STEPS[(attempt as usize).min(STEPS.len() - 1)])
}

pub fn mark_offline(state: &mut State, reason: &str) {
    match &mut state.conn {
        Conn::Online => {
            state.conn = Conn::Offline {
                since: state.now,
                attempt: 0,
                next_probe: state.now + backoff(0),
                reason: reason.to_string(),
            }
        }
        Conn::Offline { reason: r, .. } => *r = reason.to_string(),
    }
}

pub fn mark_online(state: &mut State, fx: &mut Vec<Effect>) {
    if !state.is_online() {
        state.conn = Conn::Online;
        state.say(Level::Success, "reconnected — reloaded");
    }
    if let Some(req) = state.probe_inflight.take() {
        state.requests.remove(&req);
    }
    resync(state, fx);
}

pub fn probe_failed(state: &mut State) {
    if let Conn::Offline {
        attempt,
        next_probe,
        ..
    } = &mut state.conn
    {
        *attempt = attempt.saturating_add(1);
        *next_probe = state.now + backoff(*attempt);
    }
}

fn on_tick(state: &mut State, now: Instant, wall: DateTime<Utc>, fx: &mut Vec<Effect>) {
    state.now = now;
    state.wall = wall;
    state.frame = state.frame.wrapping_add(1);
    if state.undo.is_some_and(|u| now >= u.deadline) {
        state.undo = None;
    }
    if let Some(ed) = &mut state.editor
        && ed
            .dirty_since
            .is_some_and(|t| now.saturating_duration_since(t) >= DRAFT_DEBOUNCE)
    {
        ed.dirty_since = None;
        fx.push(Effect::SaveDraft {
            conv_id: ed.conv_id,
            text: ed.text(),
        });
    }
    super::search::tick(state, fx);
    if let Conn::Offline { next_probe, .. } = state.conn
        && now >= next_probe
        && state.probe_inflight.is_none()
    {
        let req = state.begin(ReqKind::Probe);
        state.probe_inflight = Some(req);
        fx.push(Effect::Probe { req });
    }
    if !state.is_online() {
        return;
    }
    if state.pending_resync || state.pending_ids.len() > MAX_LIVE_IDS {
        resync(state, fx);
    } else if !state.pending_ids.is_empty() {
        let ids: Vec<i64> = std::mem::take(&mut state.pending_ids).into_iter().collect();
        if state.thread.wanted.is_some_and(|w| ids.contains(&w)) {
            request_thread(state, fx);
        }
        let req = state.begin(ReqKind::Rows);
        fx.push(Effect::LoadRows { req, ids });
        request_counts(state, fx);
    } else if state.counts_dirty && state.counts_inflight.is_none() {
        request_counts(state, fx);
    }
}

fn on_layout(state: &mut State, m: Metrics, fx: &mut Vec<Effect>) {
    state.metrics = m;
    let t = &mut state.thread;
    let max = m.thread_lines.saturating_sub(m.thread_height);
    t.scroll_from_bottom = t.scroll_from_bottom.min(max);
    t.sugg_scroll = t
        .sugg_scroll
        .min(m.sugg_lines.saturating_sub(m.sugg_height));
    // Scrolled to the top of what is loaded: fetch older messages.
    let at_top = m.thread_lines > 0 && t.scroll_from_bottom >= max;
    let wants_older = state.focus == Focus::Thread && at_top && t.older_inflight.is_none();
    if wants_older
        && let Some(l) = t.current()
        && l.has_older
        && let Some(first) = l.messages.first()
    {
        let (conv_id, before_seq) = (l.conv_id, first.meta.seq);
        let req = state.begin(ReqKind::Older);
        state.thread.older_inflight = Some(req);
        fx.push(Effect::LoadOlder {
            req,
            conv_id,
            before_seq,
            limit: THREAD_PAGE,
        });
    }
}

/// Bookkeeping after every action: keep the selection visible, fetch the
/// next page near an edge, and load the thread under the cursor.
fn after(state: &mut State, fx: &mut Vec<Effect>) {
    if state.quitting {
        return;
    }
    state.inbox.scroll_into_view(state.metrics.list_height);
    if let Some((page, dir)) = state.inbox.wants() {
        request_page(state, fx, page, dir);
    }
    let selected = state.inbox.selected_id();
    if selected != state.thread.wanted {
        state.thread.wanted = selected;
        state.thread.scroll_from_bottom = 0;
        state.thread.sugg_scroll = 0;
        state.thread.error = None;
        if let Some(req) = state.thread.older_inflight.take() {
            state.requests.remove(&req);
        }
        if state.focus != Focus::List && selected.is_none() {
            state.focus = Focus::List;
        }
        request_thread(state, fx);
    }
}
