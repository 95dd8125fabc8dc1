//! The one door between outside text and the widgets. Every string that
//! came from the database, a file, the clipboard or `$EDITOR` passes through
//! here before it is drawn. The work is done by `crate::text`; this
//! module only fixes how the TUI uses it (one line vs. a block, tabs,
//! the note on cut bodies).

use crate::db::messages::MessageView;
use crate::text;

/// One line of outside text: no controls, no escapes, whitespace folded.
pub fn line(s: &str) -> String {
    text::sanitize_line(s)
}

/// A block of outside text: newlines kept, tabs expanded, no controls.
pub fn block(s: &str) -> String {
    let out = text::sanitize(s);
    if out.contains('\t') {
        out.replace('\t', "    ")
    } else {
        out
    }
}

/// Width HTML is laid out at before the thread pane wraps it again.
const HTML_WIDTH: usize = 200;

/// A message body ready to wrap: HTML converted, sanitized after the
/// conversion (entities like `&#27;` decode to ESC), capped, and with a
/// note when the stored body was longer than what is shown.
pub fn body(m: &MessageView) -> String {
    let (body, cut) = if m.body_is_html {
        text::prepare_html_body(&m.body, HTML_WIDTH)
    } else {
        text::prepare_body(&m.body)
    };
    let mut out = block(body.trim_end());
    if cut || m.is_truncated() {
        let total = usize::try_from(m.body_bytes.max(0)).unwrap_or(usize::MAX);
        let note = text::truncation_note(total.max(m.body.len()));
        // Text and note stay within the cap, so preparing twice (runner,
        // then the pane) keeps the note about the stored size.
        let room = text::MAX_BODY_BYTES.saturating_sub(note.len() + 2);
        out.truncate(out.floor_char_boundary(room.min(out.len())));
        out.push_str("\n\n");
        out.push_str(&note);
    }
    out
}

/// Replace a message's body by its display text (done on the runner's
/// task, so HTML conversion never runs on the draw loop). Idempotent.
pub fn prepare_message(m: &mut MessageView) {
    let shown = body(m);
    m.body_bytes = shown.len() as i64;
    m.body_is_html = false;
    m.body = shown;
}

/// Columns a sanitized string takes on screen.
pub fn width(s: &str) -> usize {
    text::display_width(s)
}

/// Cut to at most `max` columns, with `…` when something was cut.
pub fn fit(s: &str, max: usize) -> String {
    text::truncate_to_width(s, max)
}

/// Cut or pad to exactly `cols` columns.
pub fn pad(s: &str, cols: usize) -> String {
    let mut out = fit(s, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

/// True when a string holds nothing a terminal could interpret.
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(|c| {
        let cp = c as u32;
        (cp < 0x20 && c != '\n' && c != '\t')
            || (0x7f..=0x9f).contains(&cp)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes_and_controls() {
        let hostile = "a\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07b \u{9b}2Jc \u{202e}d\u{2066}e\r\x00f";
        let s = line(hostile);
        assert!(is_clean(&s), "{s:?}");
        assert!(!s.contains("52;c"), "{s:?}");
        assert_eq!(block("x\ty\nz"), "x    y\nz");
    }

    #[test]
    fn a_huge_body_is_cut_once_and_the_note_names_the_stored_size() {
        let big = "lorem ipsum ".repeat(1_000_000);
        let mut m = crate::db::messages::MessageView {
            id: 1,
            seq: 1,
            direction: crate::db::Direction::Inbound,
            from_addr: "a@b".into(),
            to_addrs: vec![],
            subject: String::new(),
            // As read from the database: cut to 64K characters.
            body: big.chars().take(65_536).collect(),
            body_is_html: false,
            body_bytes: big.len() as i64,
            sent_at: chrono::Utc::now(),
            delivery: None,
            outbox_id: None,
            send_after: None,
        };
        prepare_message(&mut m);
        let shown = body(&m);
        assert!(shown.len() <= text::MAX_BODY_BYTES, "{}", shown.len());
        assert_eq!(shown.matches("[message truncated").count(), 1);
        assert!(
            shown.ends_with("[message truncated: 11.4 MiB, showing the first 64 KiB]"),
            "{}",
            &shown[shown.len() - 80..]
        );
    }

    #[test]
    fn fit_respects_display_width() {
        assert_eq!(width("日本語"), 6);
        assert!(width(&fit("日本語です", 5)) <= 5);
        assert_eq!(width(&pad("日本語です", 5)), 5);
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 0), "");
    }
}
