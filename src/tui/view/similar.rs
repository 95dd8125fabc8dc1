//! The similar overlay: per conversation, one line with score, status,
//! lead and subject, and one with how it was answered.

use super::list::mark;
use super::{centered, spinner};
use crate::db::SuggestionStatus;
use crate::db::embeddings::{Answer, SimilarConversation};
use crate::tui::app::State;
use crate::tui::clean;
use crate::tui::keys::Command;
use crate::tui::similar::{SimilarOverlay, Similars};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Lines per similar conversation.
const PER: usize = 2;

pub fn render(state: &State, o: &SimilarOverlay, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let rows: &[SimilarConversation] = match &o.found {
        Some(Similars::Found(rows)) => rows,
        _ => &[],
    };
    let body_h = if rows.is_empty() { 4 } else { rows.len() * PER };
    let w = area.width.saturating_sub(2).min(100);
    let rect = centered(area, w, (body_h + 2).min(u16::MAX as usize) as u16);
    f.render_widget(Clear, rect);
    let title = format!("Similar to {} · {}", o.lead, o.subject);
    let hint = if rows.is_empty() {
        format!(" {} close ", state.keymap.all_labels(Command::Back))
    } else {
        format!(
            " {}/{} move · {} open · y use reply · {} close ",
            state.keymap.hint(Command::Down),
            state.keymap.hint(Command::Up),
            state.keymap.hint(Command::Open),
            state.keymap.all_labels(Command::Back)
        )
    };
    let room = rect.width.saturating_sub(4) as usize;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" {} ", clean::fit(&title, room)),
            t.title,
        ))
        .title_bottom(Line::styled(clean::fit(&hint, room + 2), t.muted));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    if rows.is_empty() {
        let lines = match (&o.error, &o.found) {
            (Some(e), _) => vec![Line::styled(e.clone(), t.error)],
            (None, Some(Similars::NotEmbedded)) => vec![
                Line::from("No embeddings for this conversation yet."),
                Line::styled(
                    format!(
                        "Run `replydesk embed` (the worker does it too), then press {} again.",
                        state.keymap.hint(Command::Similar)
                    ),
                    t.muted,
                ),
            ],
            (None, Some(Similars::Found(_))) => vec![
                Line::from("No similar conversations yet."),
                Line::styled(
                    "Only conversations with embedded messages can be compared.",
                    t.muted,
                ),
            ],
            (None, None) => vec![Line::styled(
                format!("{} finding similar conversations…", spinner(state)),
                t.muted,
            )],
        };
        let mut all = vec![Line::from("")];
        all.extend(lines);
        f.render_widget(Paragraph::new(all).wrap(Wrap { trim: true }), inner);
        return;
    }
    let width = inner.width as usize;
    let visible = (inner.height as usize / PER).max(1);
    let first = o.cursor.saturating_sub(visible - 1);
    let mut lines = Vec::with_capacity(visible * PER);
    for (i, sc) in rows.iter().enumerate().skip(first).take(visible) {
        lines.extend(row_lines(state, sc, i == o.cursor, width));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn row_lines(
    state: &State,
    sc: &SimilarConversation,
    selected: bool,
    width: usize,
) -> [Line<'static>; 2] {
    let t = &state.theme;
    let base = if selected { t.selected } else { t.base };
    // "› 0.91 ● " then lead and subject.
    let head = format!(
        "{} {:.2} {} ",
        if selected { "›" } else { " " },
        sc.score.clamp(-1.0, 1.0),
        mark(sc.status)
    );
    let rest = width.saturating_sub(clean::width(&head));
    let lead_w = (rest * 2 / 5).clamp(4, 22).min(rest);
    let subject_w = rest.saturating_sub(lead_w + 1);
    let first = Line::from(vec![
        Span::styled(head, base),
        Span::styled(clean::pad(&clean::line(&sc.lead_name), lead_w), base),
        Span::styled(" ", base),
        Span::styled(clean::pad(&clean::line(&sc.subject), subject_w), base),
    ]);
    let indent = "       ";
    let (what, style) = answer(state, &sc.answer);
    let room = width.saturating_sub(indent.len());
    let second = Line::from(vec![
        Span::styled(indent, base),
        Span::styled(clean::pad(&what, room), if selected { base } else { style }),
    ]);
    [first, second]
}

/// How a conversation was answered, in one line.
fn answer(state: &State, a: &Answer) -> (String, Style) {
    let t = &state.theme;
    match a {
        Answer::Reply { text, status } => {
            // Folded into one line: a first line alone is often just "Hi Tom,".
            let first = clean::line(text);
            let how = match status {
                SuggestionStatus::Edited => "✎ edited",
                _ => "✓ approved",
            };
            (format!("{how}: {first}"), t.ok)
        }
        Answer::Rejected { reason, note } => {
            let note = note
                .as_deref()
                .map(clean::line)
                .filter(|n| !n.is_empty())
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            (format!("✗ rejected: {}{note}", reason.label()), t.warn)
        }
        Answer::None => ("· no decided draft yet".to_string(), t.muted),
    }
}
