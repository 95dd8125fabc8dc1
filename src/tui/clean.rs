//! The one door between outside text and the widgets. Every string that
//! came from the database, a file, the clipboard or `$EDITOR` passes through
//! here before it is drawn. The work is done by `replydesk::text`; this
//! module only fixes how the TUI uses it (one line vs. a block, tabs,
//! the note on cut bodies).

use replydesk::db::messages::MessageView;
use unicode_width::UnicodeWidthChar;

/// One line of outside text: no controls, no escapes, no newlines.
pub fn line(s: &str) -> String {
    let mut out = sanitize(s);
    if out.contains(['\n', '\t']) {
        out = out.replace(['\n', '\t'], " ");
    }
    out
}

/// A block of outside text: newlines kept, tabs expanded, no controls.
pub fn block(s: &str) -> String {
    let out = sanitize(s);
    if out.contains('\t') {
        out.replace('\t', "    ")
    } else {
        out
    }
}

/// A message body ready to wrap: HTML converted, sanitized after the
/// conversion (entities like `&#27;` decode to ESC), and a note when the
/// stored body was longer than what was read.
pub fn body(m: &MessageView) -> String {
    let text = if m.body_is_html {
        html_to_text(&m.body)
    } else {
        m.body.clone()
    };
    let mut text = block(text.trim_end());
    if m.is_truncated() {
        text.push_str(&format!(
            "\n\n[… message cut: {} in total, only the beginning is shown]",
            human_bytes(m.body_bytes)
        ));
    }
    text
}

pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n >= 1024.0 * 1024.0 {
        format!("{:.1} MB", n / (1024.0 * 1024.0))
    } else if n >= 1024.0 {
        format!("{:.0} KB", n / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// Columns a sanitized string takes on screen.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cut to at most `max` columns, with `…` when something was cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Cut or pad to exactly `cols` columns.
pub fn pad(s: &str, cols: usize) -> String {
    let mut out = fit(s, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

fn html_to_text(html: &str) -> String {
    html2text::config::plain()
        .string_from_read(html.as_bytes(), 200)
        .unwrap_or_else(|_| html.to_string())
}

/// Strip escape sequences (CSI, OSC, DCS, SOS/PM/APC, 7- and 8-bit), C0
/// and C1 controls except newline and tab, and bidi overrides / isolates.
fn sanitize(s: &str) -> String {
    #[derive(PartialEq)]
    enum St {
        Text,
        Esc,
        Csi,
        /// OSC, DCS, SOS, PM, APC: until BEL or ST.
        Str,
        StrEsc,
    }
    let mut st = St::Text;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let cp = c as u32;
        st = match st {
            St::Text => match c {
                '\x1b' => St::Esc,
                '\u{9b}' => St::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => St::Str,
                '\n' | '\t' => {
                    out.push(c);
                    St::Text
                }
                _ if cp < 0x20 || (0x7f..=0x9f).contains(&cp) => St::Text,
                '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => St::Text,
                _ => {
                    out.push(c);
                    St::Text
                }
            },
            St::Esc => match c {
                '[' => St::Csi,
                ']' | 'P' | 'X' | '^' | '_' => St::Str,
                _ => St::Text,
            },
            St::Csi => {
                if (0x40..=0x7e).contains(&cp) || !(0x20..0x7f).contains(&cp) {
                    St::Text
                } else {
                    St::Csi
                }
            }
            St::Str => match c {
                '\x07' | '\u{9c}' => St::Text,
                '\x1b' => St::StrEsc,
                _ => St::Str,
            },
            St::StrEsc => match c {
                '\\' => St::Text,
                '\x1b' => St::StrEsc,
                _ => St::Str,
            },
        };
    }
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
        assert_eq!(s, "ared b c def");
        assert_eq!(block("x\ty\nz"), "x    y\nz");
    }

    #[test]
    fn html_entities_are_sanitized_after_decoding() {
        let s = block(&html_to_text("<p>hi &#27;]52;c;x&#7; there</p>"));
        assert!(is_clean(&s), "{s:?}");
    }

    #[test]
    fn fit_respects_display_width() {
        assert_eq!(width("日本語"), 6);
        assert_eq!(fit("日本語です", 5), "日本…");
        assert_eq!(width(&pad("日本語です", 5)), 5);
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 0), "");
    }
}
