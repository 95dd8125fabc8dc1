//! The thread: messages oldest → newest, inbound and outbound told apart by
//! marker and colour, wrapped by display width, scrolled from the bottom.

use super::wrap::wrap;
use super::{spinner, when};
use crate::db::{Direction, OutboxStatus};
use crate::tui::app::{Focus, State};
use crate::tui::clean;
use crate::tui::thread::{LoadedThread, ShownMessage, WrapCache};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Where delivery of an outbound message stands, e.g. "queued — sends in 7s".
pub fn delivery(state: &State, m: &ShownMessage) -> Option<String> {
    let status = m.meta.delivery?;
    Some(match status {
        OutboxStatus::Queued => match m.meta.send_after {
            Some(at) if at > state.wall => {
                let secs = (at - state.wall).num_milliseconds().max(0) as u64;
                format!("queued — sends in {}s", secs.div_ceil(1000))
            }
            _ => "queued — sending shortly".to_string(),
        },
        OutboxStatus::Sending => "sending…".to_string(),
        OutboxStatus::Sent => "sent ✓".to_string(),
        OutboxStatus::Failed => "failed ✗ — not delivered".to_string(),
        OutboxStatus::Cancelled => "cancelled".to_string(),
    })
}

fn counting_down(state: &State, l: &LoadedThread) -> bool {
    l.messages.iter().any(|m| {
        m.meta.delivery == Some(OutboxStatus::Queued)
            && m.meta.send_after.is_some_and(|at| at > state.wall)
    })
}

fn build(state: &State, l: &LoadedThread, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let mut out: Vec<Line<'static>> = Vec::new();
    let d = &l.detail;
    let mut facts = vec![clean::line(d.lead_email.as_deref().unwrap_or("no email"))];
    if let Some(p) = d.lead_phone.as_deref().filter(|p| !p.is_empty()) {
        facts.push(clean::line(p));
    }
    facts.push(clean::line(&d.lead_source));
    if let Some(o) = &d.owner {
        facts.push(format!("owner {}", clean::line(o)));
    }
    facts.push(format!("{} messages", d.message_count));
    for line in wrap(&facts.join(" · "), width) {
        out.push(Line::styled(line, t.muted));
    }
    out.push(Line::from(""));
    if l.has_older {
        let text = if state.thread.older_inflight.is_some() {
            format!("{} loading older messages…", spinner(state))
        } else {
            "↑ older messages — scroll up to load".to_string()
        };
        out.push(Line::styled(text, t.muted));
        out.push(Line::from(""));
    }
    if l.messages.is_empty() {
        out.push(Line::styled("(no messages)", t.muted));
    }
    let body_w = width.saturating_sub(2).max(1);
    for m in &l.messages {
        let inbound = m.meta.direction == Direction::Inbound;
        let (marker, style) = if inbound {
            ("◀ ", t.inbound)
        } else {
            ("▶ ", t.outbound)
        };
        let who = if inbound {
            clean::line(&m.meta.from_addr)
        } else {
            // "Sam Patel → lead@example.com": which rep answered, to whom.
            let from = m.meta.from_addr.split('<').next().unwrap_or("").trim();
            let from = if from.is_empty() { "us" } else { from };
            clean::line(&format!("{from} → {}", m.meta.to_addrs.join(", ")))
        };
        let time = format!(" · {}", when(m.meta.sent_at, state.wall, state.tz));
        let room = width.saturating_sub(clean::width(marker) + clean::width(&time));
        let mut spans = vec![
            Span::styled(marker, style),
            Span::styled(clean::fit(&who, room.max(1)), style),
            Span::styled(time, t.muted),
        ];
        if let Some(status) = delivery(state, m) {
            let s = match m.meta.delivery {
                Some(OutboxStatus::Failed) => t.error,
                Some(OutboxStatus::Sent) => t.ok,
                _ => t.warn,
            };
            let used: usize = spans.iter().map(|s| clean::width(&s.content)).sum();
            let status = format!(" · {status}");
            if used + clean::width(&status) <= width {
                spans.push(Span::styled(status, s));
                out.push(Line::from(spans));
            } else {
                out.push(Line::from(spans));
                out.push(Line::styled(
                    format!("  {}", status.trim_start_matches(" · ")),
                    s,
                ));
            }
        } else {
            out.push(Line::from(spans));
        }
        for line in wrap(&m.text, body_w) {
            out.push(Line::from(format!("  {line}")));
        }
        out.push(Line::from(""));
    }
    out
}

/// Run `f` on the wrapped lines of the current thread, rebuilding the
/// cache only when the thread, the width or a countdown changed.
fn with_lines<R>(state: &State, width: u16, f: impl FnOnce(&[Line<'static>]) -> R) -> R {
    let Some(l) = state.thread.current() else {
        return f(&[]);
    };
    let tick = if counting_down(state, l) {
        state.wall.timestamp()
    } else {
        0
    };
    let older = i64::from(state.thread.older_inflight.is_some());
    let key = (width, state.thread.version, tick * 2 + older);
    let mut cache = state.thread.cache.borrow_mut();
    if cache.key != key {
        *cache = WrapCache {
            key,
            lines: build(state, l, width as usize),
        };
    }
    f(&cache.lines)
}

pub fn line_count(state: &State, width: u16) -> usize {
    with_lines(state, width, <[_]>::len)
}

pub fn render(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Focus::Thread && state.editor.is_none();
    let row = state.inbox.selected_row();
    let title = match (state.thread.current(), row) {
        (Some(l), _) => format!(
            " {} · {} ",
            clean::line(&l.detail.lead_name),
            clean::line(&l.detail.subject)
        ),
        (None, Some(r)) => format!(
            " {} · {} ",
            clean::line(&r.lead_name),
            clean::line(&r.subject)
        ),
        (None, None) => " Thread ".to_string(),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Span::styled(
            format!(
                " {} ",
                clean::fit(title.trim(), area.width.saturating_sub(6) as usize)
            ),
            t.title,
        ));
    if state.thread.scroll_from_bottom > 0 {
        block = block.title_bottom(
            Line::from(format!(" ↓ {} more ", state.thread.scroll_from_bottom))
                .alignment(Alignment::Right),
        );
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if state.thread.current().is_none() {
        let text = if let Some(err) = &state.thread.error {
            Line::styled(format!("could not load: {}", clean::line(err)), t.error)
        } else if row.is_none() {
            Line::styled("No conversation selected.", t.muted)
        } else if state.busy().is_some() {
            Line::styled(format!("{} loading…", spinner(state)), t.muted)
        } else {
            Line::from("")
        };
        f.render_widget(Paragraph::new(text), inner);
        return;
    }
    let height = inner.height as usize;
    let scroll = state.thread.scroll_from_bottom;
    with_lines(state, inner.width, |lines| {
        let total = lines.len();
        let end = total.saturating_sub(scroll).max(height.min(total));
        let start = end.saturating_sub(height);
        let visible: Vec<Line> = lines[start..end].to_vec();
        f.render_widget(Paragraph::new(visible), inner);
    });
}
