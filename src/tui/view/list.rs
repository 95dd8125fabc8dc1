//! The conversation list: only the rows on screen are drawn.

use super::{age, spinner};
use crate::db::ConversationStatus;
use crate::db::conversations::{ConversationRow, StatusFilter};
use crate::tui::app::{Focus, State};
use crate::tui::clean::{self, pad};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub fn mark(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::NeedsReply => "●",
        ConversationStatus::Waiting => "○",
        ConversationStatus::Active => "◐",
        ConversationStatus::Archived => "▪",
    }
}

pub fn render(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Focus::List && state.editor.is_none();
    let inbox = &state.inbox;
    let count = state
        .counts
        .map(|c| format!(" ({})", c.for_filter(inbox.filter)))
        .unwrap_or_default();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Span::styled(
            format!(" {}{count} ", inbox.filter.label()),
            t.title,
        ));
    if inbox.loading.is_some() && state.busy().is_some() {
        block = block.title_bottom(
            Line::from(format!(" {} loading ", spinner(state))).alignment(Alignment::Right),
        );
    } else if inbox.has_older && !inbox.rows.is_empty() {
        block = block.title_bottom(Line::from(" ↓ more ").alignment(Alignment::Right));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inbox.rows.is_empty() {
        let msg = if !inbox.loaded_once {
            vec![Line::from(""), Line::styled("  loading…", t.muted)]
        } else {
            let what = match inbox.filter {
                StatusFilter::NeedsReply => "Nothing needs a reply. All caught up.",
                StatusFilter::Waiting => "Nobody is waiting on a lead.",
                StatusFilter::All => "No conversations yet.",
                StatusFilter::Archived => "Nothing archived.",
            };
            vec![
                Line::from(""),
                Line::styled(what, t.muted),
                Line::from(""),
                Line::styled(
                    format!(
                        "{} shows all conversations",
                        state.keymap.hint(crate::tui::keys::Command::FilterAll)
                    ),
                    t.muted,
                ),
            ]
        };
        let pad_left = Rect {
            x: inner.x.saturating_add(1),
            width: inner.width.saturating_sub(2),
            ..inner
        };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), pad_left);
        return;
    }
    let per = lines_per_row(inner.width as usize);
    let height = inner.height as usize / per;
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::with_capacity(height * per);
    for (i, row) in inbox.rows.iter().enumerate().skip(inbox.top).take(height) {
        let selected = i == inbox.selected;
        let style = match (selected, focused) {
            (true, true) => t.selected,
            (true, false) => t.selected_unfocused,
            _ => t.base,
        };
        lines.extend(row_lines(state, row, width, per, style, selected));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Narrow lists give each conversation two lines (name, then subject).
pub fn lines_per_row(inner_width: usize) -> usize {
    if inner_width < 40 { 2 } else { 1 }
}

fn row_lines(
    state: &State,
    row: &ConversationRow,
    width: usize,
    per: usize,
    style: Style,
    selected: bool,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let conf = match row.pending_confidence {
        Some(c) => format!("{:>3.0}%", (c.clamp(0.0, 1.0) * 100.0).round()),
        None => "   –".to_string(),
    };
    let age = format!("{:>3}", age(row.last_message_at, state.wall));
    let mark_style = if selected {
        style
    } else if row.status == ConversationStatus::NeedsReply {
        t.accent
    } else {
        t.muted
    };
    let conf_style = match (selected, row.pending_confidence) {
        (false, Some(c)) => t.confidence(c),
        (false, None) => t.muted,
        _ => style,
    };
    let dim = if selected { style } else { t.muted };
    let name = clean::line(&row.lead_name);
    let subject = clean::line(&row.subject);
    // mark + space | name | space | subject | space | age(3) | space | conf(4)
    let fixed = 2 + 1 + 3 + 1 + 4;
    if per == 2 {
        let name_w = width.saturating_sub(fixed);
        return vec![
            Line::from(vec![
                Span::styled(format!("{} ", mark(row.status)), mark_style),
                Span::styled(pad(&name, name_w), style),
                Span::styled(" ", style),
                Span::styled(age, dim),
                Span::styled(" ", style),
                Span::styled(conf, conf_style),
            ]),
            Line::from(vec![
                Span::styled("  ", style),
                Span::styled(
                    pad(&subject, width.saturating_sub(2)),
                    if selected { style } else { t.muted },
                ),
            ]),
        ];
    }
    let flexible = width.saturating_sub(fixed + 1);
    let name_w = (flexible * 2 / 5).clamp(4, 20).min(flexible);
    let subject_w = flexible.saturating_sub(name_w);
    vec![Line::from(vec![
        Span::styled(format!("{} ", mark(row.status)), mark_style),
        Span::styled(pad(&name, name_w), style),
        Span::styled(" ", style),
        Span::styled(pad(&subject, subject_w), style),
        Span::styled(" ", style),
        Span::styled(age, dim),
        Span::styled(" ", style),
        Span::styled(conf, conf_style),
    ])]
}
