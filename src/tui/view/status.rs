//! The status bar (filter and counts, connection, rep; last result, undo
//! countdown, spinner) and the banner shown while the database is gone.

use super::spinner;
use crate::db::conversations::StatusFilter;
use crate::tui::app::{Conn, Level, State};
use crate::tui::clean;
use crate::tui::keys::Command;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

fn filter_key(f: StatusFilter) -> Command {
    match f {
        StatusFilter::NeedsReply => Command::FilterNeedsReply,
        StatusFilter::Waiting => Command::FilterWaiting,
        StatusFilter::All => Command::FilterAll,
        StatusFilter::Archived => Command::FilterArchived,
    }
}

fn retry_in(state: &State) -> String {
    match &state.conn {
        Conn::Offline { next_probe, .. } => {
            let left = next_probe.saturating_duration_since(state.now);
            if state.probe_inflight.is_some() || left.is_zero() {
                "retrying now".to_string()
            } else {
                format!("retrying in {}s", left.as_secs() + 1)
            }
        }
        Conn::Online => String::new(),
    }
}

pub fn banner(state: &State, f: &mut Frame, area: Rect) {
    let Conn::Offline { reason, .. } = &state.conn else {
        return;
    };
    let text = format!(
        " ✗ database unreachable — {} · decisions paused, screen kept as loaded · {}",
        retry_in(state),
        clean::line(reason)
    );
    f.render_widget(
        Paragraph::new(Line::from(clean::pad(&text, area.width as usize)))
            .style(state.theme.banner),
        area,
    );
}

/// Join left and right parts into one line of exactly `width` columns.
/// The right parts win: the left is cut to make room for them.
fn spread(
    left: Vec<Span<'static>>,
    right: Vec<Span<'static>>,
    width: usize,
    base: Style,
) -> Line<'static> {
    let rw: usize = spans_width(&right);
    let room = width.saturating_sub(rw);
    let mut spans = Vec::new();
    let mut used = 0;
    for s in left {
        let w = clean::width(&s.content);
        if used + w > room {
            let cut = clean::fit(&s.content, room.saturating_sub(used));
            used += clean::width(&cut);
            spans.push(Span::styled(cut, s.style));
            break;
        }
        used += w;
        spans.push(s);
    }
    spans.push(Span::styled(
        " ".repeat(width.saturating_sub(used + rw)),
        base,
    ));
    if rw <= width {
        spans.extend(right);
    }
    Line::from(spans).style(base)
}

fn flash_text(state: &State) -> Option<(String, Style)> {
    let t = &state.theme;
    let fl = state.flash.as_ref()?;
    let (mark, style) = match fl.level {
        Level::Error => ("✗ ", t.error),
        Level::Success => ("✓ ", t.ok),
        Level::Info => ("", t.base),
    };
    Some((format!(" {mark}{}", clean::line(&fl.text)), style))
}

fn spinner_span(state: &State) -> Vec<Span<'static>> {
    state
        .busy()
        .map(|what| Span::styled(format!(" {} {what} ", spinner(state)), state.theme.muted))
        .into_iter()
        .collect()
}

/// Lines the last result needs (1 or 2): a long message is never cut short.
pub fn flash_lines(state: &State, width: u16) -> usize {
    match flash_text(state) {
        Some((text, _)) if clean::width(&text) > width as usize => 2,
        _ => 1,
    }
}

fn counts_spans(state: &State, short: bool) -> Vec<Span<'static>> {
    let t = &state.theme;
    let k = &state.keymap;
    let mut spans = vec![Span::styled(" ", t.status_bar)];
    for filter in StatusFilter::ALL {
        let n = state
            .counts
            .map(|c| c.for_filter(filter).to_string())
            .unwrap_or_else(|| "…".into());
        let label = match (short, filter) {
            (false, f) => f.label(),
            (true, StatusFilter::NeedsReply) => "reply",
            (true, StatusFilter::Waiting) => "wait",
            (true, StatusFilter::All) => "all",
            (true, StatusFilter::Archived) => "arch",
        };
        let text = format!(" {} {label} {n} ", k.hint(filter_key(filter)));
        let style = if filter == state.inbox.filter {
            t.selected
        } else {
            t.status_bar
        };
        spans.push(Span::styled(text, style));
    }
    spans
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| clean::width(&s.content)).sum()
}

pub fn render(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let width = area.width as usize;
    let k = &state.keymap;

    // Line 1: filters with counts; connection (always) and rep on the right.
    let conn = match (&state.conn, state.live) {
        (Conn::Online, true) => Span::styled("● live ", t.ok),
        (Conn::Online, false) => Span::styled("● connected ", t.warn),
        (Conn::Offline { .. }, _) => {
            Span::styled(format!("✗ offline · {} ", retry_in(state)), t.error)
        }
    };
    // The undo countdown sits next to the connection, where it is always seen.
    let undo = state.undo_left().map(|left| {
        Span::styled(
            format!(" undo ({}): {left}s ", state.keymap.hint(Command::Undo)),
            t.key,
        )
    });
    let conn_spans: Vec<Span<'static>> = undo.into_iter().chain([conn]).collect();
    let rep = Span::styled(
        format!("· {} ", clean::line(&state.rep.display_name)),
        t.status_bar,
    );
    let long = counts_spans(state, false);
    let short = counts_spans(state, true);
    let (cw, rw) = (spans_width(&conn_spans), clean::width(&rep.content));
    let with_rep = |rep: Span<'static>| -> Vec<Span<'static>> {
        std::iter::once(rep)
            .chain(conn_spans.iter().cloned())
            .collect()
    };
    let line1 = if spans_width(&long) + cw + rw <= width {
        spread(long, with_rep(rep), width, t.status_bar)
    } else if spans_width(&long) + cw <= width {
        spread(long, conn_spans.clone(), width, t.status_bar)
    } else if spans_width(&short) + cw + rw <= width {
        spread(short, with_rep(rep), width, t.status_bar)
    } else {
        spread(short, conn_spans.clone(), width, t.status_bar)
    };
    let mut lines = vec![line1];

    // Then the last result (wrapped onto two lines if long) or the hints,
    // with the spinner and the undo countdown on the right.
    let right = spinner_span(state);
    match flash_text(state) {
        Some((text, style)) => {
            let room = width.saturating_sub(spans_width(&right));
            if clean::width(&text) <= room {
                lines.push(spread(
                    vec![Span::styled(text, style)],
                    right,
                    width,
                    t.base,
                ));
            } else if clean::width(&text) <= width {
                lines.push(spread(
                    vec![Span::styled(text, style)],
                    Vec::new(),
                    width,
                    t.base,
                ));
            } else {
                let wrapped = super::wrap::wrap(text.trim_start(), width.saturating_sub(1));
                let first = wrapped.first().cloned().unwrap_or_default();
                let rest = wrapped.get(1..).map(|r| r.join(" ")).unwrap_or_default();
                lines.push(spread(
                    vec![Span::styled(format!(" {first}"), style)],
                    Vec::new(),
                    width,
                    t.base,
                ));
                lines.push(spread(
                    vec![Span::styled(format!(" {rest}"), style)],
                    right,
                    width,
                    t.base,
                ));
            }
        }
        None => {
            let hints = Span::styled(
                format!(
                    " {} help · {} focus · {} open · {} reload · {} quit",
                    k.hint(Command::Help),
                    k.hint(Command::FocusNext),
                    k.hint(Command::Open),
                    k.hint(Command::Refresh),
                    k.hint(Command::Back)
                ),
                t.muted,
            );
            lines.push(spread(vec![hints], right, width, t.base));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
