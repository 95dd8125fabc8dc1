//! Word wrapping by display width (CJK and emoji take two columns), so the
//! number of lines is known exactly and scrolling can be exact.

use unicode_width::UnicodeWidthChar;

fn cols(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Wrap sanitized text to `width` columns; newlines start new lines, words
/// longer than a line are broken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0usize;
        for word in para.split_inclusive(' ') {
            let visible = cols(word.trim_end_matches(' '));
            if w > 0 && w + visible > width {
                out.push(line.trim_end().to_string());
                line.clear();
                w = 0;
            }
            if visible > width {
                for c in word.chars() {
                    let cw = c.width().unwrap_or(0);
                    if w > 0 && w + cw > width {
                        out.push(std::mem::take(&mut line));
                        w = 0;
                    }
                    line.push(c);
                    w += cw;
                }
            } else {
                line.push_str(word);
                w += cols(word);
            }
        }
        out.push(line.trim_end().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn wide_chars_count_double() {
        let lines = wrap("日本語の文章です", 6);
        assert!(lines.iter().all(|l| cols(l) <= 6), "{lines:?}");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn never_exceeds_width() {
        let text = "x  y 🎉🎉🎉 日本 averyveryverylongword and more   spaces";
        for w in 1..30 {
            for l in wrap(text, w) {
                assert!(cols(&l) <= w.max(2), "{w} {l:?}");
            }
        }
    }
}
