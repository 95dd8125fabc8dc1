//! The inline editor (ratatui-textarea) for editing a draft or composing a
//! reply, with a "discard edits?" confirmation and local draft bookkeeping.

use super::clean;
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// Editing a pending draft: saving approves the edited text.
    Edit { suggestion_id: i64 },
    /// The rep's own reply: saving sends it.
    Compose,
}

#[derive(Debug, Clone)]
pub struct Editor {
    pub kind: EditKind,
    pub conv_id: i64,
    /// Who the reply goes to (already sanitized), for the title.
    pub lead: String,
    pub textarea: TextArea<'static>,
    /// The text the editor opened with; unchanged text needs no confirm.
    pub original: String,
    /// The rep typed something (a restored draft must not overwrite it).
    pub touched: bool,
    /// Unsaved-to-disk since this instant (the draft write is debounced).
    pub dirty_since: Option<Instant>,
    pub confirm_discard: bool,
    /// The save (approve / send) request in flight.
    pub saving: Option<u64>,
    pub restored: bool,
}

impl Editor {
    pub fn new(kind: EditKind, conv_id: i64, lead: String, text: &str, mono: bool) -> Editor {
        let original = clean::block(text);
        let mut textarea = make_textarea(&original, mono);
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        Editor {
            kind,
            conv_id,
            lead,
            textarea,
            original,
            touched: false,
            dirty_since: None,
            confirm_discard: false,
            saving: None,
            restored: false,
        }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn is_modified(&self) -> bool {
        self.text() != self.original
    }

    /// Replace the whole text (a restored draft, or the $EDITOR result).
    pub fn replace_text(&mut self, text: &str, mono: bool) {
        let block = self.textarea.block().cloned();
        let mut t = make_textarea(&clean::block(text), mono);
        if let Some(b) = block {
            t.set_block(b);
        }
        t.move_cursor(ratatui_textarea::CursorMove::Bottom);
        t.move_cursor(ratatui_textarea::CursorMove::End);
        self.textarea = t;
    }

    pub fn is_compose(&self) -> bool {
        self.kind == EditKind::Compose
    }
}

fn make_textarea(text: &str, mono: bool) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut t = TextArea::new(lines);
    t.set_wrap_mode(WrapMode::WordOrGlyph);
    t.set_cursor_line_style(Style::default());
    t.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
    t.set_max_histories(200);
    if mono {
        t.set_selection_style(Style::default().add_modifier(Modifier::UNDERLINED));
        t.set_placeholder_style(Style::default().add_modifier(Modifier::DIM));
    }
    t.set_placeholder_text("Type your reply…");
    t
}
