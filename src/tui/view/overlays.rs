//! Help (generated from the live keymap), the reject-reason picker, the
//! inline editor and its "discard edits?" confirmation.

use super::centered;
use crate::db::RejectionReason;
use crate::tui::app::{Overlay, RejectPicker, State};
use crate::tui::clean;
use crate::tui::editor::Editor;
use crate::tui::keys::{Command, Group};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(state: &State, f: &mut Frame, area: Rect) {
    match &state.overlay {
        Overlay::None => {}
        Overlay::Help => help(state, f, area),
        Overlay::Reject(p) => reject(state, p, f, area),
    }
    if let Some(ed) = &state.editor
        && ed.confirm_discard
    {
        discard(state, f, area);
    }
}

fn group_lines(state: &State, groups: &[Group], key_w: usize, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let mut out = Vec::new();
    for g in groups {
        out.push(Line::styled(g.title().to_string(), t.title));
        for cmd in Command::ALL.iter().filter(|c| c.group() == *g) {
            let keys = clean::pad(&state.keymap.all_labels(*cmd), key_w);
            let desc = clean::fit(cmd.description(), width.saturating_sub(key_w + 1));
            out.push(Line::from(vec![
                Span::styled(keys, t.key),
                Span::raw(" "),
                Span::raw(desc),
            ]));
        }
        out.push(Line::from(""));
    }
    out
}

fn help(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let box_w = area.width.min(96);
    let col_w = (box_w.saturating_sub(2) / 2).saturating_sub(1) as usize;
    let key_w = 11.min(col_w / 2);
    let mut right_lines = group_lines(state, &[Group::Inbox, Group::Editor], key_w, col_w);
    for (keys, what) in [
        ("Esc", "cancel (asks first)"),
        ("Ctrl-←/→", "word left / right"),
        ("Ctrl-U/R", "undo / redo typing"),
    ] {
        right_lines.push(Line::from(vec![
            Span::styled(clean::pad(keys, key_w), t.key),
            Span::raw(" "),
            Span::raw(clean::fit(what, col_w.saturating_sub(key_w + 1))),
        ]));
    }
    let left_lines = group_lines(state, &[Group::Move, Group::Review], key_w, col_w);
    let height = left_lines.len().max(right_lines.len()) as u16 + 2;
    let rect = centered(area, box_w, height);
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.title))
        .title_bottom(Line::styled(
            " any key closes · remap in [keys] of the config ",
            t.muted,
        ));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    f.render_widget(Paragraph::new(left_lines), left);
    f.render_widget(Paragraph::new(right_lines), right);
}

fn reject(state: &State, p: &RejectPicker, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let rect = centered(area, 50, 11);
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Reject this draft — why? ", t.title));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let mut lines = vec![Line::from("")];
    for (i, reason) in RejectionReason::ALL.iter().enumerate() {
        let chosen = i == p.cursor;
        let style = if chosen { t.selected } else { t.base };
        let mut text = format!(
            "{} {} {}",
            if chosen { "›" } else { " " },
            i + 1,
            reason.label()
        );
        if *reason == RejectionReason::Other && (p.typing || !p.note.is_empty()) {
            let room = (inner.width as usize).saturating_sub(clean::width(&text) + 4);
            let note = clean::line(&p.note);
            // Show the end of a long note: that is where the typing happens.
            let shown: String = if clean::width(&note) > room {
                let skip = note.chars().count().saturating_sub(room.saturating_sub(1));
                format!("…{}", note.chars().skip(skip).collect::<String>())
            } else {
                note
            };
            text.push_str(&format!(": {shown}{}", if p.typing { "▏" } else { "" }));
        }
        lines.push(Line::styled(text, style));
    }
    lines.push(Line::from(""));
    let help = if p.typing {
        "type a note · Enter reject · Esc back"
    } else {
        "j/k or 1–4 choose · Enter reject · Esc cancel"
    };
    lines.push(Line::styled(help, t.muted));
    lines.push(Line::styled(
        format!(
            "then {} writes your own reply",
            state.keymap.hint(Command::Compose)
        ),
        t.muted,
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

fn discard(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let rect = centered(area, 40, 5);
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.error)
        .title(Span::styled(" Discard edits? ", t.title));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let lines = vec![
        Line::from(vec![
            Span::styled("y", t.key),
            Span::raw(" discard   "),
            Span::styled("n", t.key),
            Span::raw(" keep editing"),
        ])
        .alignment(Alignment::Center),
        Line::styled("(the local copy is deleted on y)", t.muted).alignment(Alignment::Center),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}

/// The inline editor, in place of the draft pane.
pub fn editor(state: &State, ed: &Editor, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let save = state.keymap.hint(Command::Save);
    let title = if ed.is_compose() {
        format!(" Your reply to {} ", ed.lead)
    } else {
        format!(" Edit draft for {} ", ed.lead)
    };
    let action = if ed.is_compose() { "send" } else { "approve" };
    let status = if ed.saving.is_some() {
        format!(" {} {action}… ", super::spinner(state))
    } else if !state.is_online() {
        " offline — text kept locally ".to_string()
    } else {
        format!(" {save} {action} · Esc cancel ")
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(
                " {} ",
                clean::fit(title.trim(), area.width.saturating_sub(6) as usize)
            ),
            t.title,
        ))
        .title_bottom(Line::styled(status, t.key).alignment(Alignment::Right));
    if ed.restored {
        block = block.title_bottom(Line::styled(" restored local copy ", t.muted));
    }
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block, area);
    f.render_widget(&ed.textarea, inner);
}
