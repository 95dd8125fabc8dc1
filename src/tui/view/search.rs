//! The search overlay (input line, what was searched, results with lead,
//! subject, status, snippet and which half matched) and the marking of the
//! searched words in the thread.

use super::list::mark;
use super::{centered, spinner};
use crate::db::search::{
    Matched, Meaning, RANK_ALL_MAX, SearchResult, conversations, describe_matched,
};
use crate::tui::app::State;
use crate::tui::clean;
use crate::tui::search::SearchOverlay;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Lines per result.
const PER: usize = 2;
/// Results the box has room for (more scroll); a fixed size does not jump
/// while results come and go.
const SHOWN: usize = 8;

pub fn render(state: &State, o: &SearchOverlay, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let w = area.width.saturating_sub(2).min(100);
    let wanted = (3 + SHOWN * PER + 2) as u16;
    let h = wanted.min(area.height.saturating_sub(2).max(area.height.min(5)));
    let rect = centered(area, w, h);
    f.render_widget(Clear, rect);
    let room = rect.width.saturating_sub(4) as usize;
    let hint = " ↑↓ move · Enter open · Ctrl-U clear · Esc close ";
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(
                " {} ",
                clean::fit(&format!("Search · {}", o.filter.label()), room)
            ),
            t.title,
        ))
        .title_bottom(Line::styled(clean::fit(hint, room + 2), t.muted));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let width = inner.width as usize;
    // The query line: the end of a long query, where the typing happens.
    let query = clean::line(&o.query);
    let room = width.saturating_sub(3);
    let shown = if clean::width(&query) > room {
        let skip = query.chars().count().saturating_sub(room.saturating_sub(1));
        format!("…{}", query.chars().skip(skip).collect::<String>())
    } else {
        query
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("/ ", t.key),
            Span::raw(clean::fit(&shown, room)),
            Span::styled("▏", t.key),
        ]),
        status_line(state, o, width),
        Line::from(""),
    ];
    if o.query.trim().is_empty() {
        lines.push(Line::styled(
            "Type to search messages: words, \"a phrase\", -exclude, this or that.",
            t.muted,
        ));
        lines.push(Line::styled(
            "Meaning-alike messages are found too (once `replydesk embed` ran).",
            t.muted,
        ));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    }
    let list_h = (inner.height as usize).saturating_sub(lines.len());
    let visible = (list_h / PER).max(1);
    let first = o.cursor.saturating_sub(visible - 1);
    for (i, r) in o.results.iter().enumerate().skip(first).take(visible) {
        lines.extend(result_lines(state, r, i == o.cursor, width));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Counts, progress, the full-text-only note, or the error.
fn status_line(state: &State, o: &SearchOverlay, width: usize) -> Line<'static> {
    let t = &state.theme;
    let (text, style) = if let Some(e) = &o.error {
        (e.clone(), t.error)
    } else if o.req.is_some() || o.dirty_since.is_some() {
        (format!("{} searching…", spinner(state)), t.muted)
    } else if o.searched.is_empty() {
        (String::new(), t.muted)
    } else if let Some(n) = &o.note {
        (format!("{} found · {n}", o.results.len()), t.warn)
    } else if o.results.is_empty() {
        (format!("no matches in {}", o.filter.label()), t.muted)
    } else {
        (summary(o), t.muted)
    };
    Line::styled(clean::fit(&text, width), style)
}

/// What was found and what was searched, e.g. "30 of 46 · full text only:
/// no vectors yet (`replydesk embed`)": the list is capped and says so.
pub fn summary(o: &SearchOverlay) -> String {
    let shown = o.results.len();
    let searched = match o.meaning {
        Meaning::Fused => "full text and meaning, fused",
        Meaning::NoVectors => "full text only: no vectors yet (run replydesk embed)",
        Meaning::Skipped => "full text only: operators apply to it alone",
        Meaning::NoWords => "operators, newest first",
        Meaning::Off => "full text only",
    };
    let count = match (o.meaning == Meaning::Fused, o.matched) {
        (true, Matched::Exactly(n)) if n as usize <= shown => conversations(shown),
        (true, Matched::Exactly(n)) => format!("{shown} shown · words match {n}"),
        (true, Matched::AtLeast(n)) => format!("{shown} shown · words match {n}+"),
        (true, Matched::Common) => {
            format!("{shown} shown · words match over {RANK_ALL_MAX} messages")
        }
        (false, m) => describe_matched(m, shown),
    };
    format!("{count} · {searched}")
}

fn result_lines(
    state: &State,
    r: &SearchResult,
    selected: bool,
    width: usize,
) -> [Line<'static>; 2] {
    let t = &state.theme;
    let base = if selected { t.selected } else { t.base };
    let head = format!("{} {} ", if selected { "›" } else { " " }, mark(r.status));
    let tag = match (r.matched_full_text, r.matched_semantic) {
        (true, true) => " FT+sem",
        (true, false) => " FT",
        (false, _) => " sem",
    };
    let rest = width.saturating_sub(clean::width(&head) + tag.len());
    let lead_w = (rest * 2 / 5).clamp(4, 22).min(rest);
    let subject_w = rest.saturating_sub(lead_w + 1);
    let first = Line::from(vec![
        Span::styled(head, base),
        Span::styled(clean::pad(&clean::line(&r.lead_name), lead_w), base),
        Span::styled(" ", base),
        Span::styled(clean::pad(&clean::line(&r.subject), subject_w), base),
        Span::styled(tag, if selected { base } else { t.muted }),
    ]);
    let indent = "    ";
    let second = Line::from(vec![
        Span::styled(indent, base),
        Span::styled(
            clean::pad(&clean::line(&r.snippet), width.saturating_sub(indent.len())),
            if selected { base } else { t.muted },
        ),
    ]);
    [first, second]
}

/// Mark the searched words in the thread pane (`area`, with its border):
/// reversed and bold, case-insensitive, on the cells as drawn — so wide
/// characters and wrapping are already accounted for. A word broken across
/// two lines is not marked.
pub fn highlight(state: &State, f: &mut Frame, area: Rect) {
    let Some(h) = &state.highlight else {
        return;
    };
    if h.terms.is_empty() || state.thread.current().map(|l| l.conv_id) != Some(h.conv_id) {
        return;
    }
    let inner = Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(1),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    }
    .intersection(f.area());
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    let terms: Vec<Vec<char>> = h
        .terms
        .iter()
        .map(|t| t.chars().map(lower).collect())
        .collect();
    let mark = Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let buf = f.buffer_mut();
    for y in inner.top()..inner.bottom() {
        let mut row: Vec<(char, u16)> = Vec::with_capacity(inner.width as usize);
        for x in inner.left()..inner.right() {
            if let Some(cell) = buf.cell((x, y)) {
                row.extend(cell.symbol().chars().map(|c| (lower(c), x)));
            }
        }
        for term in &terms {
            if term.is_empty() || term.len() > row.len() {
                continue;
            }
            for i in 0..=row.len() - term.len() {
                let window = &row[i..i + term.len()];
                if window.iter().map(|(c, _)| *c).eq(term.iter().copied()) {
                    for (_, x) in window {
                        if let Some(cell) = buf.cell_mut((*x, y)) {
                            cell.set_style(mark);
                        }
                    }
                }
            }
        }
    }
}
