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
        Overlay::Stats(o) => super::stats::render(state, o, f, area),
        Overlay::Similar(o) => super::similar::render(state, o, f, area),
        Overlay::Search(o) => super::search::render(state, o, f, area),
    }
    if let Some(ed) = &state.editor
        && ed.confirm_discard
    {
        discard(state, f, area);
    }
}

fn group_lines(state: &State, g: Group, key_w: usize, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let mut out = vec![Line::styled(g.title().to_string(), t.title)];
    for cmd in Command::ALL.iter().filter(|c| c.group() == g) {
        let keys = clean::pad(&state.keymap.all_labels(*cmd), key_w);
        let desc = clean::fit(cmd.description(), width.saturating_sub(key_w + 1));
        out.push(Line::from(vec![
            Span::styled(keys, t.key),
            Span::raw(" "),
            Span::raw(desc),
        ]));
    }
    if g == Group::Editor {
        out.push(Line::from(""));
        for (keys, what) in [
            ("Esc", "cancel (asks first)"),
            ("Ctrl-←/→", "word left / right"),
            ("Ctrl-U/R", "undo / redo typing"),
        ] {
            out.push(Line::from(vec![
                Span::styled(clean::pad(keys, key_w), t.key),
                Span::raw(" "),
                Span::raw(clean::fit(what, width.saturating_sub(key_w + 1))),
            ]));
        }
    }
    out
}

/// Where the help goes: its box, its columns (groups in order, split where
/// the tallest column is shortest) and how many lines do not fit.
struct HelpLayout {
    rect: Rect,
    columns: Vec<Vec<Line<'static>>>,
    overflow: usize,
}

fn help_layout(state: &State, area: Rect) -> HelpLayout {
    const GROUPS: [Group; 4] = [Group::Move, Group::Review, Group::Inbox, Group::Editor];
    let two = area.width >= 60;
    let box_w = if two { area.width.min(96) } else { area.width };
    let n_cols = if two { 2 } else { 1 };
    let col_w = (box_w.saturating_sub(2) / n_cols).saturating_sub(1) as usize;
    let key_w = 11.min(col_w / 2);
    let blocks: Vec<Vec<Line<'static>>> = GROUPS
        .iter()
        .map(|g| group_lines(state, *g, key_w, col_w))
        .collect();
    let stack = |part: &[Vec<Line<'static>>]| {
        let mut col: Vec<Line<'static>> = Vec::new();
        for b in part {
            if !col.is_empty() {
                col.push(Line::from(""));
            }
            col.extend(b.iter().cloned());
        }
        col
    };
    let columns = if two {
        (1..blocks.len())
            .map(|at| vec![stack(&blocks[..at]), stack(&blocks[at..])])
            .min_by_key(|cols| cols.iter().map(Vec::len).max().unwrap_or(0))
            .unwrap_or_default()
    } else {
        vec![stack(&blocks)]
    };
    let content = columns.iter().map(Vec::len).max().unwrap_or(0);
    let height = (content + 2).min(usize::from(area.height)) as u16;
    HelpLayout {
        rect: centered(area, box_w, height),
        overflow: content.saturating_sub(usize::from(height.saturating_sub(2))),
        columns,
    }
}

/// Help lines below the box at this screen size (0 when it all fits).
pub fn help_overflow(state: &State, area: Rect) -> usize {
    help_layout(state, area).overflow
}

fn help(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let HelpLayout {
        rect,
        columns,
        overflow,
    } = help_layout(state, area);
    let scroll = state.help_scroll.min(overflow);
    f.render_widget(Clear, rect);
    let hint = if overflow > 0 {
        format!(
            " {}/{} scroll · other keys close · {} more ",
            state.keymap.hint(Command::Down),
            state.keymap.hint(Command::Up),
            overflow - scroll
        )
    } else {
        " any key closes · remap in [keys] of the config ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.title))
        .title_bottom(Line::styled(
            clean::fit(&hint, rect.width.saturating_sub(2) as usize),
            t.muted,
        ));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let constraints = vec![Constraint::Ratio(1, columns.len().max(1) as u32); columns.len()];
    let areas = Layout::horizontal(constraints).split(inner);
    let offset = u16::try_from(scroll).unwrap_or(u16::MAX);
    for (lines, col) in columns.into_iter().zip(areas.iter()) {
        f.render_widget(Paragraph::new(lines).scroll((offset, 0)), *col);
    }
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
