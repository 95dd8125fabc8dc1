//! The one gate every string from outside (email bodies, subjects, names,
//! headers, HTML) passes through before it reaches a terminal widget.
//!
//! * [`sanitize`] removes terminal escape sequences (CSI, OSC, DCS, APC, PM,
//!   SOS, two-character `ESC` sequences and their 8-bit C1 forms), every
//!   other C0/C1 control except `\n` and `\t`, and zero-width characters;
//!   it normalises `\r\n` and lone `\r` to `\n` and makes bidi controls
//!   visible as [`BIDI_PLACEHOLDER`].
//! * [`sanitize_line`] does the same for single-line contexts and also folds
//!   all whitespace to single spaces.
//! * [`html_to_text`] turns an HTML-only body into sanitized plain text.
//! * [`prepare_body`] caps a huge body before sanitizing it, and
//!   [`truncation_note`] formats the note the UI shows when it did.
//! * [`display_width`] and [`truncate_to_width`] measure and cut by terminal
//!   columns.
//!
//! Everything here is linear in the input (the HTML path is bounded by
//! [`MAX_HTML_BYTES`] and explicit nesting/work limits) and never panics.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Bodies longer than this many bytes are cut (on a char boundary) by
/// [`prepare_body`] before sanitizing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// HTML longer than this many bytes is cut before it is parsed.
pub const MAX_HTML_BYTES: usize = 512 * 1024;

/// What bidi overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069,
/// U+200E, U+200F, U+061C) are replaced with.
///
/// They are replaced, not removed: a reviewer should see that the sender
/// tried to reorder text (the "Trojan Source" trick), while the character
/// itself can no longer reorder anything. U+FFFD is the conventional "this
/// was not displayable" mark and is one column wide in every terminal.
pub const BIDI_PLACEHOLDER: char = '\u{FFFD}';

/// The mark [`truncate_to_width`] appends when it cuts (one column wide).
pub const ELLIPSIS: char = '…';

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
const CAN: char = '\u{18}';
const SUB: char = '\u{1a}';
const ST: char = '\u{9c}';

/// Where the escape-sequence parser is, after the characters seen so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Text,
    /// Just after `ESC`.
    Esc,
    /// `ESC` plus intermediate bytes (0x20–0x2F), waiting for a final byte.
    EscIntermediate,
    /// Inside a control sequence (`ESC [` or U+009B), waiting for 0x40–0x7E.
    Csi,
    /// Inside a control string (OSC, DCS, APC, PM, SOS), waiting for BEL or ST.
    Str,
    /// `ESC` inside a control string: `\` makes ST, anything else starts anew.
    StrEsc,
}

/// Sanitizes untrusted text for display in a terminal.
///
/// Escape sequences are removed entirely, including their parameters and
/// payloads; an unterminated control string (for example an OSC without BEL
/// or ST) swallows the rest of the input rather than leaking its payload.
/// The output contains no ESC, no C0 control but `\n` and `\t`, no DEL, no C1
/// control, no bidi control (they become [`BIDI_PLACEHOLDER`]) and none of
/// U+200B–U+200D, U+2060, U+FEFF. U+2028/U+2029 become `\n`.
///
/// Note: removing U+200D (ZWJ) splits emoji ZWJ sequences into their parts;
/// that is accepted as the price of removing invisible characters. Also note
/// that U+0090/U+0098/U+009D/U+009E/U+009F open control strings, so text
/// that was mis-decoded from windows-1252 may lose its tail; decode mail
/// charsets properly upstream.
///
/// `sanitize` is idempotent.
pub fn sanitize(s: &str) -> String {
    let mut out = Out {
        buf: String::with_capacity(s.len()),
        after_cr: false,
    };
    let mut state = State::Text;
    for c in s.chars() {
        state = step(state, c, &mut out);
    }
    out.buf
}

struct Out {
    buf: String,
    after_cr: bool,
}

fn step(state: State, c: char, out: &mut Out) -> State {
    match state {
        State::Text => out.text(c),
        State::Esc => match c {
            '[' => State::Csi,
            ']' | 'P' | 'X' | '^' | '_' => State::Str,
            ESC | '\u{7f}' => State::Esc,
            ' '..='/' => State::EscIntermediate,
            '0'..='~' | CAN | SUB => State::Text,
            // ESC followed by a control or non-ASCII char: drop the ESC only.
            _ => out.text(c),
        },
        State::EscIntermediate => match c {
            ' '..='/' | '\u{7f}' => State::EscIntermediate,
            '0'..='~' | CAN | SUB => State::Text,
            ESC => State::Esc,
            _ => out.text(c),
        },
        State::Csi => match c {
            '@'..='~' | CAN | SUB => State::Text,
            ESC => State::Esc,
            // Parameters, intermediates, and C0 controls (which a terminal
            // would execute in the middle of a sequence; we drop them).
            ' '..='?' | '\0'..='\u{1f}' | '\u{7f}' => State::Csi,
            // Anything else aborts the sequence and is handled as text.
            _ => out.text(c),
        },
        State::Str => match c {
            BEL | ST => State::Text,
            ESC => State::StrEsc,
            _ => State::Str,
        },
        State::StrEsc => match c {
            '\\' => State::Text,
            _ => step(State::Esc, c, out),
        },
    }
}

impl Out {
    /// Handles one character outside any escape sequence.
    fn text(&mut self, c: char) -> State {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        match c {
            ESC => return State::Esc,
            '\u{9b}' => return State::Csi,
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => return State::Str,
            '\r' => {
                self.buf.push('\n');
                self.after_cr = true;
            }
            '\n' if after_cr => {}
            '\n' | '\t' => self.buf.push(c),
            '\u{2028}' | '\u{2029}' => self.buf.push('\n'),
            '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {}
            c if is_bidi_control(c) => self.buf.push(BIDI_PLACEHOLDER),
            '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => {}
            c => self.buf.push(c),
        }
        State::Text
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Sanitizes text for a single-line context (subject, name, list cell).
///
/// Like [`sanitize`], then every run of whitespace (including `\n`, `\t`
/// and non-breaking spaces) becomes one space and the ends are trimmed.
pub fn sanitize_line(s: &str) -> String {
    let clean = sanitize(s);
    let mut out = String::with_capacity(clean.len());
    for word in clean.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Columns `s` occupies in a terminal (East Asian wide and emoji count 2,
/// combining marks 0), as measured by `unicode-width`, which ratatui uses too.
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Cuts `s` to at most `max` columns, appending [`ELLIPSIS`] when anything
/// was cut.
///
/// Cuts only between (approximate) grapheme clusters, so a char, a
/// combining sequence, an emoji with its modifiers/ZWJ parts or a flag is
/// never split. The result's [`display_width`] is always `<= max`.
pub fn truncate_to_width(s: &str, max: usize) -> String {
    if display_width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    // Keep whole clusters while they leave one column for the ellipsis.
    let mut cut = 0;
    let mut used = 0;
    for end in cluster_ends(s) {
        used += display_width(&s[cut..end]);
        if used >= max {
            break;
        }
        cut = end;
    }
    let with_ellipsis = |end: usize| format!("{}{ELLIPSIS}", &s[..end]);
    let mut out = with_ellipsis(cut);
    if display_width(&out) > max {
        // A few unicode-width ligature rules make a sequence wider than the
        // sum of its clusters. Binary search for a prefix that fits: `lo`
        // clusters always fit (zero does), `hi` clusters never do.
        let ends: Vec<usize> = cluster_ends(&s[..cut]).collect();
        let (mut lo, mut hi) = (0, ends.len());
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if display_width(&with_ellipsis(ends[mid - 1])) <= max {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        out = with_ellipsis(lo.checked_sub(1).map_or(0, |i| ends[i]));
    }
    out
}

/// Byte offsets at which approximate grapheme clusters end: a char plus any
/// following zero-width chars, emoji modifiers, ZWJ-joined chars, and
/// regional-indicator pairs (flags).
fn cluster_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    let mut chars = s.char_indices().peekable();
    std::iter::from_fn(move || {
        let (_, first) = chars.next()?;
        let mut prev = first;
        let mut lone_ri = is_regional_indicator(first);
        while let Some(&(i, c)) = chars.peek() {
            let pairs_flag = lone_ri && is_regional_indicator(c);
            let joins = prev == '\u{200d}'
                || c.width() == Some(0)
                || matches!(c, '\u{1f3fb}'..='\u{1f3ff}')
                || pairs_flag;
            if !joins {
                return Some(i);
            }
            lone_ri = false;
            prev = c;
            chars.next();
        }
        Some(s.len())
    })
}

fn is_regional_indicator(c: char) -> bool {
    matches!(c, '\u{1f1e6}'..='\u{1f1ff}')
}

/// Caps a body at [`MAX_BODY_BYTES`] (on a char boundary) and sanitizes it.
///
/// Returns the sanitized text and whether it was truncated; when it was,
/// show [`truncation_note`]`(text.len())` next to it.
pub fn prepare_body(text: &str) -> (String, bool) {
    let cut = text.floor_char_boundary(MAX_BODY_BYTES);
    (sanitize(&text[..cut]), cut < text.len())
}

/// Like [`prepare_body`] for an HTML-only body: converts it with
/// [`html_to_text`] and caps the result. The flag is also set when the HTML
/// itself was over [`MAX_HTML_BYTES`].
pub fn prepare_html_body(html: &str, width: usize) -> (String, bool) {
    let (text, cut) = prepare_body(&html_to_text(html, width));
    (text, cut || html.len() > MAX_HTML_BYTES)
}

/// The note to show under a truncated body, given the original size, e.g.
/// `[message truncated: 10.0 MiB, showing the first 64 KiB]`.
pub fn truncation_note(original_bytes: usize) -> String {
    format!(
        "[message truncated: {}, showing the first {}]",
        format_size(original_bytes),
        format_size(MAX_BODY_BYTES)
    )
}

/// Human-readable byte count with binary units: `512 B`, `1.5 KiB`,
/// `64 KiB`, `10.0 MiB`, `2.0 GiB`.
pub fn format_size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < 10.0 * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB {
        format!("{:.0} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

/// Rendered text is cut here (tables can render much larger than their HTML).
const MAX_HTML_TEXT_BYTES: usize = 4 * MAX_HTML_BYTES;
/// Widest and narrowest wrap width handed to html2text.
const HTML_WIDTH: std::ops::RangeInclusive<usize> = 16..=500;
/// Limits of the pre-parse scan (see [`html_is_tame`]).
const MAX_SCAN_DEPTH: usize = 256;
const MAX_SCAN_WORK: usize = 250_000;
/// Limits checked on the parsed DOM before rendering; html2text's layout
/// cost grows quickly with nesting, nested tables worst of all.
const MAX_DOM_DEPTH: usize = 200;
const MAX_DOM_NODES: usize = 400_000;
const MAX_TABLE_NESTING: usize = 12;

/// Converts an HTML body to sanitized plain text wrapped at `width` columns.
///
/// Input over [`MAX_HTML_BYTES`] is cut first. Documents that are too deeply
/// nested or would make the HTML parser do excessive work (checked before
/// parsing with a cheap tag scan, and again on the parsed tree) fall back to
/// a simple tag stripper, as does any html2text error. The result always
/// goes through [`sanitize`], so `&#27;` and friends cannot smuggle escapes;
/// it is cut at 2 MiB first (a wide table can render far larger than its
/// HTML). It can take a few hundred milliseconds on a maximal input, so
/// callers may want to run it off the UI thread.
/// Never panics: a panic inside html2text is caught (the default panic hook
/// still reports it on stderr) and handled like an error.
pub fn html_to_text(html: &str, width: usize) -> String {
    let html = &html[..html.floor_char_boundary(MAX_HTML_BYTES)];
    let width = width.clamp(*HTML_WIDTH.start(), *HTML_WIDTH.end());
    let rendered = if html_is_tame(html) {
        std::panic::catch_unwind(|| render_html(html, width))
            .ok()
            .flatten()
    } else {
        None
    };
    let text = rendered.unwrap_or_else(|| strip_tags(html));
    sanitize(&text[..text.floor_char_boundary(MAX_HTML_TEXT_BYTES)])
}

fn render_html(html: &str, width: usize) -> Option<String> {
    let config = html2text::config::plain().allow_width_overflow();
    let dom = config.parse_html(html.as_bytes()).ok()?;
    if !dom_is_tame(&dom) {
        return None;
    }
    let tree = config.dom_to_render_tree(&dom).ok()?;
    config.render_to_string(tree, width).ok()
}

/// Exact check on the parsed tree (iterative, so it cannot overflow).
fn dom_is_tame(dom: &html2text::RcDom) -> bool {
    let mut todo = vec![(dom.document.clone(), 1usize, 0usize)];
    let mut nodes = 0usize;
    while let Some((node, depth, tables)) = todo.pop() {
        nodes += 1;
        let tables = match &node.data {
            html2text::Element { name, .. } if &*name.local == "table" => tables + 1,
            _ => tables,
        };
        if nodes > MAX_DOM_NODES || depth > MAX_DOM_DEPTH || tables > MAX_TABLE_NESTING {
            return false;
        }
        let children = node.children.borrow();
        todo.extend(children.iter().map(|c| (c.clone(), depth + 1, tables)));
    }
    true
}

/// One token of the lightweight HTML tokenizer shared by the pre-parse scan
/// and the fallback tag stripper. It follows the HTML tokenizer rules for
/// tags, attributes, comments and raw-text elements, so it finds the same
/// tags a browser (and html5ever) would.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok<'a> {
    Text(&'a str),
    /// The contents of a raw-text element such as `<script>` or `<title>`.
    Raw {
        name: &'a str,
        body: &'a str,
    },
    /// A start tag: its name and its whole source `<…>`.
    Start {
        name: &'a str,
        src: &'a str,
    },
    End(&'a str),
    /// `<![CDATA[`: a bogus comment in HTML but a CDATA section in SVG/MathML.
    Cdata,
    /// Comments, doctypes, bogus comments, tags cut off by end of input.
    Other,
}

#[rustfmt::skip]
const RAW_TEXT: &[&str] = &[
    "script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title", "plaintext",
];

struct Tokenizer<'a> {
    s: &'a str,
    pos: usize,
    raw: Option<&'a str>,
}

impl<'a> Tokenizer<'a> {
    fn new(s: &'a str) -> Self {
        Tokenizer {
            s,
            pos: 0,
            raw: None,
        }
    }
}

fn is_html_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Index just past the first `byte` at or after `from`, or the end.
fn skip_past(b: &[u8], from: usize, byte: u8) -> usize {
    b.get(from..)
        .and_then(|rest| rest.iter().position(|&c| c == byte))
        .map_or(b.len(), |i| from + i + 1)
}

/// Index just past the end of a comment whose `<!--` ends at `from`.
fn comment_end(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    if rest.starts_with(b">") {
        return from + 1;
    }
    if rest.starts_with(b"->") {
        return from + 2;
    }
    for (i, w) in rest.windows(2).enumerate() {
        if w == b"--" {
            match rest.get(i + 2) {
                Some(b'>') => return from + i + 3,
                Some(b'!') if rest.get(i + 3) == Some(&b'>') => return from + i + 4,
                _ => {}
            }
        }
    }
    b.len()
}

/// Scans a tag whose name starts at `i`: returns the end of the name and the
/// index just past `>`, or `None` if the input ends inside the tag (the HTML
/// tokenizer then drops the tag).
fn scan_tag(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let at = |i: usize| b.get(i).copied();
    while at(i).is_some_and(|c| !is_html_ws(c) && c != b'/' && c != b'>') {
        i += 1;
    }
    let name_end = i;
    loop {
        while at(i).is_some_and(|c| is_html_ws(c) || c == b'/') {
            i += 1;
        }
        if at(i)? == b'>' {
            return Some((name_end, i + 1));
        }
        // Attribute name; its first char may be `=`.
        i += 1;
        while at(i).is_some_and(|c| !is_html_ws(c) && !matches!(c, b'/' | b'>' | b'=')) {
            i += 1;
        }
        while at(i).is_some_and(is_html_ws) {
            i += 1;
        }
        if at(i) != Some(b'=') {
            continue;
        }
        i += 1;
        while at(i).is_some_and(is_html_ws) {
            i += 1;
        }
        match at(i)? {
            q @ (b'"' | b'\'') => {
                i += 1;
                i += b.get(i..)?.iter().position(|&c| c == q)? + 1;
            }
            b'>' => return Some((name_end, i + 1)),
            _ => {
                while at(i).is_some_and(|c| !is_html_ws(c) && c != b'>') {
                    i += 1;
                }
            }
        }
    }
}

/// Start of the `</name` (followed by whitespace, `/` or `>`) that ends a
/// raw-text element, or the end of input.
fn raw_text_end(s: &str, from: usize, name: &str) -> usize {
    let b = s.as_bytes();
    if name.eq_ignore_ascii_case("plaintext") {
        return b.len();
    }
    let mut i = from;
    while let Some(off) = s.get(i..).and_then(|rest| rest.find("</")) {
        let j = i + off;
        let name_end = j + 2 + name.len();
        let matches = b
            .get(j + 2..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
        if matches
            && b.get(name_end)
                .is_some_and(|&c| is_html_ws(c) || c == b'/' || c == b'>')
        {
            return j;
        }
        i = j + 2;
    }
    b.len()
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let (s, b, start) = (self.s, self.s.as_bytes(), self.pos);
        if start >= b.len() {
            return None;
        }
        if let Some(name) = self.raw.take() {
            self.pos = raw_text_end(s, start, name);
            return Some(Tok::Raw {
                name,
                body: &s[start..self.pos],
            });
        }
        let next = b.get(start + 1).copied();
        let is_end = next == Some(b'/') && b.get(start + 2).is_some_and(u8::is_ascii_alphabetic);
        if b[start] == b'<' && b[start..].starts_with(b"<!--") {
            self.pos = comment_end(b, start + 4);
            return Some(Tok::Other);
        } else if b[start] == b'<' && !is_end && !next.is_some_and(|c| c.is_ascii_alphabetic()) {
            // `<!…>`, `<?…>` and `</…>` not followed by a letter are bogus
            // comments (except `</` at the very end); otherwise `<` is text.
            let bogus =
                matches!(next, Some(b'!' | b'?')) || (next == Some(b'/') && b.len() > start + 2);
            if bogus {
                self.pos = skip_past(b, start, b'>');
                let cdata = b
                    .get(start..start + 9)
                    .is_some_and(|c| c.eq_ignore_ascii_case(b"<![CDATA["));
                return Some(if cdata { Tok::Cdata } else { Tok::Other });
            }
        }
        if b[start] != b'<' || !(is_end || next.is_some_and(|c| c.is_ascii_alphabetic())) {
            // Text up to the next `<` (the one at `start`, if any, is text).
            self.pos = b[start + 1..]
                .iter()
                .position(|&c| c == b'<')
                .map_or(b.len(), |i| start + 1 + i);
            return Some(Tok::Text(&s[start..self.pos]));
        }
        let name_start = start + 1 + usize::from(is_end);
        let Some((name_end, end)) = scan_tag(b, name_start) else {
            self.pos = b.len();
            return Some(Tok::Other);
        };
        self.pos = end;
        let name = &s[name_start..name_end];
        if is_end {
            return Some(Tok::End(name));
        }
        if is_one_of(name, RAW_TEXT) {
            self.raw = Some(name);
        }
        Some(Tok::Start {
            name,
            src: &s[start..end],
        })
    }
}

fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Elements the parser never leaves open (`html`/`head`/`body` are merged
/// into the implicit ones, so they never add depth either).
#[rustfmt::skip]
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr", "html", "head", "body",
];
#[rustfmt::skip]
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
    "u",
];
/// Elements that put a marker on the list of active formatting elements.
const MARKERS: &[&str] = &["applet", "caption", "marquee", "object", "td", "th"];
/// Content whose parsing rules the scan does not model: it gives up on them.
const GIVE_UP: &[&str] = &["frameset", "math", "select", "svg", "template"];
const TABLE_PARTS: &[&str] = &[
    "table", "tbody", "thead", "tfoot", "tr", "td", "th", "caption",
];
const TABLE_SCOPE: &[&str] = &["html", "table", "template"];
/// Union of the parser's default, button and list-item scopes.
#[rustfmt::skip]
const SCOPE: &[&str] = &[
    "applet", "button", "caption", "html", "marquee", "object", "ol", "table", "td", "template",
    "th", "ul",
];
/// Elements whose end tag pops everything above the matching open element.
#[rustfmt::skip]
const BLOCKS: &[&str] = &[
    "address", "applet", "article", "aside", "blockquote", "button", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header",
    "hgroup", "li", "listing", "main", "marquee", "menu", "nav", "object", "ol", "p", "pre",
    "section", "summary", "ul",
];
/// Start tags that close an open `<p>`.
#[rustfmt::skip]
const P_CLOSERS: &[&str] = &[
    "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hgroup", "hr", "li", "listing", "main", "menu", "nav", "ol", "p",
    "plaintext", "pre", "section", "summary", "ul", "xmp",
];

/// A conservative model of html5ever's tree builder: its stack of open
/// elements and its list of active formatting elements (`None` = marker).
/// It only pops what the real parser certainly pops, so it overestimates
/// nesting rather than underestimating it.
#[derive(Default)]
struct Model<'a> {
    open: Vec<&'a str>,
    active: Vec<Option<(&'a str, &'a str)>>,
}

impl<'a> Model<'a> {
    /// Index of the nearest open element named in `targets`, searching down
    /// from the top while `skip` allows passing an element.
    fn find(&self, targets: &[&str], skip: impl Fn(&str) -> bool) -> Option<usize> {
        for (i, name) in self.open.iter().enumerate().rev() {
            if is_one_of(name, targets) {
                return Some(i);
            }
            if !skip(name) {
                return None;
            }
        }
        None
    }

    /// Index in `active` just past the last marker.
    fn after_marker(&self) -> usize {
        self.active
            .iter()
            .rposition(Option::is_none)
            .map_or(0, |i| i + 1)
    }

    fn pop_to(&mut self, index: usize) {
        for name in self.open.drain(index..) {
            if is_one_of(name, MARKERS) {
                while let Some(Some(_)) = self.active.pop() {}
            }
        }
    }

    fn close(&mut self, targets: &[&str], skip: impl Fn(&str) -> bool) {
        if let Some(i) = self.find(targets, skip) {
            self.pop_to(i);
        }
    }

    fn table_open_below(&self, index: usize) -> bool {
        self.open[..index]
            .iter()
            .any(|n| n.eq_ignore_ascii_case("table"))
    }

    /// Closes the nearest open table part in `targets`; outside a table the
    /// parser ignores table parts, so they close nothing.
    fn close_table_part(&mut self, targets: &[&str]) {
        let found = self.find(targets, |n| !is_one_of(n, TABLE_SCOPE));
        if let Some(i) = found.filter(|&i| {
            matches!(targets, [t] if t.eq_ignore_ascii_case("table")) || self.table_open_below(i)
        }) {
            self.pop_to(i);
        }
    }

    fn start(&mut self, name: &'a str, src: &'a str) {
        let formatting = |n: &str| is_one_of(n, FORMATTING);
        let top_is = |m: &Self, n: &str| m.open.last().is_some_and(|t| t.eq_ignore_ascii_case(n));
        match name.to_ascii_lowercase().as_str() {
            "li" => self.close(&["li"], |n| {
                formatting(n) || is_one_of(n, &["p", "div", "address"])
            }),
            "dd" | "dt" => self.close(&["dd", "dt"], |n| {
                formatting(n) || is_one_of(n, &["p", "div", "address"])
            }),
            "td" | "th" => self.close_table_part(&["td", "th"]),
            "tr" => self.close_table_part(&["tr"]),
            "tbody" | "thead" | "tfoot" => self.close_table_part(&["tbody", "thead", "tfoot"]),
            "option" if top_is(self, "option") => {
                self.open.pop();
            }
            "optgroup" => {
                for t in ["option", "optgroup"] {
                    if top_is(self, t) {
                        self.open.pop();
                    }
                }
            }
            _ => {}
        }
        if is_one_of(name, P_CLOSERS) {
            self.close(&["p"], formatting);
        }
        let ignored_table_part = is_one_of(name, TABLE_PARTS)
            && !name.eq_ignore_ascii_case("table")
            && !self.table_open_below(self.open.len());
        if is_one_of(name, VOID) || ignored_table_part {
            return;
        }
        self.open.push(name);
        if formatting(name) {
            // The parser keeps at most three identical entries after the
            // last marker ("Noah's Ark"); identical source text is identical.
            let start = self.after_marker();
            let same = |e: &Option<(&str, &str)>| e.is_some_and(|(_, s)| s == src);
            let identical = self.active[start..].iter().filter(|e| same(e)).count();
            if identical >= 3
                && let Some(i) = self.active[start..].iter().position(same)
            {
                self.active.remove(start + i);
            }
            self.active.push(Some((name, src)));
        } else if is_one_of(name, MARKERS) {
            self.active.push(None);
        }
    }

    fn end(&mut self, name: &str) {
        let top = self.open.len().saturating_sub(1);
        let top_matches = self
            .open
            .last()
            .is_some_and(|t| t.eq_ignore_ascii_case(name));
        if is_one_of(name, FORMATTING) {
            if top_matches {
                self.open.pop();
                let tag =
                    |e: &Option<(&str, &str)>| e.is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
                let start = self.after_marker();
                if let Some(i) = self.active[start..].iter().rposition(tag) {
                    self.active.remove(start + i);
                }
            }
        } else if is_one_of(name, BLOCKS) {
            self.close(&[name], |n| !is_one_of(n, SCOPE));
        } else if is_one_of(name, TABLE_PARTS) {
            self.close_table_part(&[name]);
        } else if top_matches {
            self.pop_to(top);
        }
    }
}

/// Cheap pre-parse check that html5ever will neither build a deep tree nor
/// do super-linear work (re-opening many misnested formatting elements for
/// every paragraph can otherwise make it build millions of nodes).
fn html_is_tame(html: &str) -> bool {
    let mut model = Model::default();
    let mut work = 0usize;
    for tok in Tokenizer::new(html) {
        match tok {
            Tok::Cdata => return false,
            Tok::Raw { name, body }
                if name.eq_ignore_ascii_case("script") && body.contains("<!--") =>
            {
                return false;
            }
            Tok::Start { name, .. } if is_one_of(name, GIVE_UP) => return false,
            Tok::Start { name, src } => model.start(name, src),
            Tok::End(name) => model.end(name),
            _ => continue,
        }
        // Each tag may make the parser re-open every active formatting
        // element after the last marker.
        work += 1 + model.active.len() - model.after_marker();
        if work > MAX_SCAN_WORK || model.open.len() + model.active.len() > MAX_SCAN_DEPTH {
            return false;
        }
    }
    true
}

#[rustfmt::skip]
const LINE_BREAKS: &[&str] = &[
    "article", "blockquote", "br", "dd", "div", "dt", "footer", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
];

/// Fallback for HTML that html2text is not trusted with: drops tags,
/// comments, scripts and styles, turns block boundaries into line breaks,
/// collapses whitespace and decodes character references.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    for tok in Tokenizer::new(html) {
        match tok {
            Tok::Text(text) => push_text(&mut out, text),
            Tok::Raw { name, body } if !is_one_of(name, &["script", "style", "title"]) => {
                push_text(&mut out, body)
            }
            Tok::Start { name, .. } | Tok::End(name) if is_one_of(name, LINE_BREAKS) => {
                out.truncate(out.trim_end_matches(' ').len());
                if !out.is_empty() && !out.ends_with("\n\n") {
                    out.push('\n');
                }
            }
            Tok::Start { name, .. } if is_one_of(name, &["td", "th"]) => push_text(&mut out, " "),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

/// Appends HTML text: whitespace runs become one space, references decode.
fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    loop {
        let plain_end = rest.find('&').unwrap_or(rest.len());
        for c in rest[..plain_end].chars() {
            if matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ') {
                if !out.is_empty() && !out.ends_with([' ', '\n']) {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        }
        rest = &rest[plain_end..];
        if rest.is_empty() {
            return;
        }
        let (c, len) = decode_reference(rest).unwrap_or(('&', 1));
        out.push(c);
        rest = &rest[len..];
    }
}

/// Decodes the character reference at the start of `s` (which starts with
/// `&`): numeric ones and a few common named ones. Returns the char and the
/// reference's length in bytes.
fn decode_reference(s: &str) -> Option<(char, usize)> {
    let semi = s.as_bytes().iter().take(34).position(|&b| b == b';')?;
    let body = s.get(1..semi)?;
    let c = if let Some(num) = body.strip_prefix('#') {
        let value = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(value)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{fffd}')
    } else {
        let named = [
            ("amp", '&'),
            ("lt", '<'),
            ("gt", '>'),
            ("quot", '"'),
            ("apos", '\''),
            ("nbsp", '\u{a0}'),
        ];
        named.iter().find(|(n, _)| *n == body)?.1
    };
    Some((c, semi + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether `c` may appear in sanitized output.
    fn allowed(c: char) -> bool {
        let control = matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}');
        let zero_width = matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}');
        c == '\n' || c == '\t' || !(control || zero_width || is_bidi_control(c))
    }

    fn assert_clean(out: &str) {
        if let Some(c) = out.chars().find(|&c| !allowed(c)) {
            panic!("forbidden {c:?} in {out:?}");
        }
    }

    const HOSTILE: &[(&str, &str, &str)] = &[
        ("CSI colour", "\x1b[31mred\x1b[0m", "red"),
        ("CSI private mode", "\x1b[?1049hA\x1b[?25l", "A"),
        (
            "CSI cursor moves",
            "a\x1b[2J\x1b[H\x1b[10;20Hb\x1b[3A",
            "ab",
        ),
        ("OSC 52 clipboard", "x\x1b]52;c;SGVsbG8=\x07y", "xy"),
        (
            "OSC 8 hyperlink, ST",
            "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
            "click",
        ),
        ("OSC 0 title", "\x1b]0;pwned\x07ok", "ok"),
        ("OSC 2 title, ST", "\x1b]2;pwned\x1b\\ok", "ok"),
        ("DCS", "\x1bP1$r0m\x1b\\ok", "ok"),
        ("DCS sixel", "\x1bPq#0;2;0;0;0#0~~@@vv\x1b\\ok", "ok"),
        ("APC kitty graphics", "\x1b_Gf=100,a=T;AAAA\x1b\\ok", "ok"),
        ("PM", "\x1b^privacy message\x1b\\ok", "ok"),
        ("SOS", "\x1bXstart of string\x1b\\ok", "ok"),
        ("8-bit CSI", "\u{9b}31mred\u{9b}0m", "red"),
        ("8-bit OSC", "\u{9d}0;title\u{9c}ok", "ok"),
        ("8-bit OSC, BEL", "\u{9d}52;c;SGVsbG8=\x07ok", "ok"),
        ("8-bit DCS", "\u{90}q#0~~\u{9c}ok", "ok"),
        (
            "8-bit APC PM SOS",
            "\u{9f}a\u{9c}\u{9e}b\u{9c}\u{98}c\u{9c}ok",
            "ok",
        ),
        ("two-char ESC", "\x1bc\x1b7\x1b8\x1b(B\x1b#8\x1b=ok", "ok"),
        ("lone ESC at end", "ok\x1b", "ok"),
        ("ESC then text", "\x1b\u{e9}t\u{e9}", "\u{e9}t\u{e9}"),
        ("unterminated OSC", "ok\x1b]52;c;SGVsbG8=\nmore", "ok"),
        ("unterminated DCS", "ok\x1bP+q544e", "ok"),
        ("unterminated CSI", "ok\x1b[31;", "ok"),
        ("ESC inside OSC", "\x1b]0;t\x1b[1mok", "ok"),
        ("CAN aborts CSI", "\x1b[3\x18ok", "ok"),
        ("C1 controls", "a\u{80}\u{85}\u{8d}\u{9a}\u{9c}b", "ab"),
        (
            "C0 controls",
            "a\x00\x01\x07\x08\x0b\x0c\x0e\x1f\x7fb",
            "ab",
        ),
        ("CR and CRLF", "a\r\nb\rc\n\rd", "a\nb\nc\n\nd"),
        ("line separators", "a\u{2028}b\u{2029}c", "a\nb\nc"),
        (
            "zero width",
            "pay\u{200b}pal\u{200c}\u{200d}\u{2060}\u{feff}.com",
            "paypal.com",
        ),
        (
            "Trojan Source",
            "/*\u{202e} } \u{2066}if (isAdmin)\u{2069} \u{2066} begin admins only */",
            "/*\u{fffd} } \u{fffd}if (isAdmin)\u{fffd} \u{fffd} begin admins only */",
        ),
        (
            "bidi marks",
            "a\u{200e}b\u{200f}c\u{61c}d\u{202a}\u{202b}\u{202c}\u{202d}\u{2067}\u{2068}",
            "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
        ),
    ];

    #[test]
    fn hostile_corpus_is_neutralised() {
        for (name, input, expected) in HOSTILE {
            let out = sanitize(input);
            assert_clean(&out);
            assert_eq!(&out, expected, "{name}");
            assert_eq!(sanitize(&out), out, "{name}: not idempotent");
            let line = sanitize_line(input);
            assert_clean(&line);
            assert!(!line.contains(['\n', '\t']), "{name}: {line:?}");
        }
    }

    #[test]
    fn ordinary_text_is_kept() {
        let text = "Grüße, café — naïve Ωμέγα\n日本語のテキスト 한국어\tcol\n👍🏽 🎉 🇩🇪 e\u{301} ¿Qué? «ok» “quotes” 1 < 2 & 3 > 2\n";
        assert_eq!(sanitize(text), text);
        assert_eq!(
            sanitize_line(text),
            "Grüße, café — naïve Ωμέγα 日本語のテキスト 한국어 col 👍🏽 🎉 🇩🇪 e\u{301} ¿Qué? «ok» “quotes” 1 < 2 & 3 > 2"
        );
    }

    #[test]
    fn sanitize_line_collapses_whitespace() {
        assert_eq!(
            sanitize_line("  Re:\tHello\n\n  world \u{a0} "),
            "Re: Hello world"
        );
        assert_eq!(
            sanitize_line("\x1b[31mSubject\x1b[0m\r\nnext"),
            "Subject next"
        );
        assert_eq!(sanitize_line("\t\n "), "");
    }

    #[test]
    fn megabyte_single_line() {
        let line = "a".repeat(1 << 20);
        assert_eq!(sanitize(&line), line);
        assert_eq!(sanitize_line(&line).len(), line.len());
        let cut = truncate_to_width(&line, 80);
        assert_eq!(display_width(&cut), 80);
        assert!(cut.ends_with(ELLIPSIS));
        let hostile = format!("{}\x1b]52;c;{}", "b".repeat(1 << 19), "A".repeat(1 << 19));
        assert_eq!(sanitize(&hostile), "b".repeat(1 << 19));
    }

    #[test]
    fn widths() {
        assert_eq!(display_width("hello"), 5);
        assert_eq!(display_width("日本語"), 6);
        assert_eq!(display_width("👍"), 2);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width(""), 0);
    }

    #[test]
    fn truncation_by_width() {
        assert_eq!(truncate_to_width("hello", 5), "hello");
        assert_eq!(truncate_to_width("hello world", 8), "hello w…");
        assert_eq!(truncate_to_width("日本語テキスト", 5), "日本…");
        assert_eq!(truncate_to_width("日本語テキスト", 6), "日本…");
        assert_eq!(truncate_to_width("👍👍👍", 4), "👍…");
        assert_eq!(
            truncate_to_width("e\u{301}e\u{301}e\u{301}", 2),
            "e\u{301}…"
        );
        assert_eq!(truncate_to_width("👍🏽👍🏽", 3), "👍🏽…");
        assert_eq!(truncate_to_width("🇩🇪🇫🇷", 3), "🇩🇪…");
        assert_eq!(truncate_to_width("abc", 1), "…");
        assert_eq!(truncate_to_width("abc", 0), "");
        assert_eq!(truncate_to_width("", 0), "");
    }

    #[test]
    fn huge_body_is_capped() {
        let body = "é".repeat(5 * 1024 * 1024); // 10 MiB, two bytes per char
        let (text, truncated) = prepare_body(&body);
        assert!(truncated);
        assert!(text.len() <= MAX_BODY_BYTES && text.len() > MAX_BODY_BYTES - 4);
        assert_eq!(
            truncation_note(body.len()),
            "[message truncated: 10.0 MiB, showing the first 64 KiB]"
        );
        assert_eq!(prepare_body("hi\x1b[2J"), ("hi".to_owned(), false));
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn html_basics() {
        let out = html_to_text(
            "<html><head><title>T</title><style>p{color:red}</style></head><body>\
             <p>Hello <b>world</b></p><script>alert(1)</script><p>caf&eacute; &amp; co</p></body></html>",
            80,
        );
        assert!(out.contains("Hello") && out.contains("world"), "{out:?}");
        assert!(out.contains("café & co"), "{out:?}");
        assert!(!out.contains("alert") && !out.contains("color"), "{out:?}");
        assert_clean(&out);
    }

    #[test]
    fn html_entities_cannot_smuggle_escapes() {
        for html in [
            "<p>&#27;[31mred&#27;[0m</p>",
            "<p>&#x1b;]52;c;SGVsbG8=&#7;safe</p>",
            "<p>&#155;31mred &#x202E;evil</p>",
            "<pre>\x1b[2J\x1b]0;title\x07raw</pre>",
        ] {
            // html2text may drop the ESC itself, leaving harmless "[31m" text.
            assert_clean(&html_to_text(html, 80));
            let stripped = sanitize(&strip_tags(html));
            assert_clean(&stripped);
            assert!(!stripped.contains("[31m") && !stripped.contains("SGVsbG8"));
        }
        assert!(html_to_text("<p>&#27;[31mred</p>", 80).contains("red"));
    }

    #[test]
    fn html_bombs_fall_back_quickly() {
        let bombs = [
            "<div>".repeat(100_000),
            "<table><tr><td>x".repeat(20_000),
            (0..40_000).map(|i| format!("<p><b c={i}></p>")).collect(),
            (0..40_000).map(|i| format!("<b c={i}><p>x")).collect(),
            "<span><div></span>".repeat(30_000),
            "<b><div></b>".repeat(40_000),
            format!("<svg>{}", "<g>".repeat(50_000)),
        ];
        for bomb in &bombs {
            assert!(!html_is_tame(bomb), "{}", &bomb[..40]);
            let out = html_to_text(bomb, 80);
            assert_clean(&out);
        }
        // Over-long input is cut before parsing, on a char boundary.
        let long = format!("<p>{}</p>", "日本".repeat(MAX_HTML_BYTES));
        let (text, truncated) = prepare_html_body(&long, 80);
        assert!(truncated && text.len() <= MAX_BODY_BYTES);
    }

    #[test]
    fn ordinary_html_is_rendered_not_stripped() {
        let mail = format!(
            "<!DOCTYPE html><html><body><table><tr><td><font face=arial>{}</td></tr></table>\
             <p>Thanks,<br>Ann</p></body></html>",
            "<p>Some <a href=\"https://example.com\">text</a>.</p>".repeat(300)
        );
        assert!(html_is_tame(&mail));
        let out = html_to_text(&mail, 60);
        assert!(
            out.contains("https://example.com") && out.contains("Ann"),
            "{out:?}"
        );
        // Sloppy but common markup stays tame too.
        let sloppy = "<p><font size=2>a<p><font size=2>b<ul><li>x<li>y</ul>".repeat(200);
        assert!(html_is_tame(&sloppy));
    }

    #[test]
    fn tokenizer_follows_html_rules() {
        let toks: Vec<Tok> = Tokenizer::new(
            "a<b x=\">\" y='<i>'>c<!-- <i> --><!--><i><script>x</i></script>d</q ><",
        )
        .collect();
        let expected = [
            Tok::Text("a"),
            Tok::Start {
                name: "b",
                src: "<b x=\">\" y='<i>'>",
            },
            Tok::Text("c"),
            Tok::Other,
            Tok::Other,
            Tok::Start {
                name: "i",
                src: "<i>",
            },
            Tok::Start {
                name: "script",
                src: "<script>",
            },
            Tok::Raw {
                name: "script",
                body: "x</i>",
            },
            Tok::End("script"),
            Tok::Text("d"),
            Tok::End("q"),
            Tok::Text("<"),
        ];
        assert_eq!(toks, expected);
        assert_eq!(
            strip_tags("<p>a &amp; b</p><script>x</script><br>c&#x41;&bogus; <td>d"),
            "a & b\n\ncA&bogus; d"
        );
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "\x1b", "\x1b[", "\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x1bX", "\x1b\\", "\x1b(",
                "\x07", "\u{9b}", "\u{9d}", "\u{90}", "\u{9c}", "\u{85}", "\x18", "31m", "0;t",
                ";", "[", "\\", "\r", "\n", "\t", "\r\n", "\u{202e}", "\u{2066}", "\u{200f}",
                "\u{200d}", "\u{feff}", "日本", "é", "👍", " ", "\x7f", "\0",
            ])
            .prop_map(str::to_owned),
            "[ -~]{0,4}",
            any::<char>().prop_map(String::from),
        ]
    }

    fn escape_soup() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
    }

    fn tag_soup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "<div>",
                "</div>",
                "<p>",
                "</p>",
                "<b>",
                "</b>",
                "<i x=1>",
                "</i>",
                "<table>",
                "</table>",
                "<tr>",
                "<td>",
                "</td>",
                "<li>",
                "<ul>",
                "</ul>",
                "<br>",
                "<a href=\"",
                "\">",
                "<!--",
                "-->",
                "<script>",
                "</script>",
                "<style>",
                "<svg>",
                "<![CDATA[",
                "&#27;",
                "&#x9b;",
                "&#x202e;",
                "&amp;",
                "&",
                "<",
                ">",
                "</",
                "text",
                " ",
            ])
            .prop_map(str::to_owned),
            fragment(),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn sanitize_output_is_clean_and_idempotent(s in any::<String>()) {
            let out = sanitize(&s);
            assert_clean(&out);
            prop_assert_eq!(sanitize(&out), out);
        }

        #[test]
        fn sanitize_handles_escape_soup(s in escape_soup()) {
            let out = sanitize(&s);
            assert_clean(&out);
            prop_assert_eq!(sanitize(&out), out.clone());
            let line = sanitize_line(&s);
            assert_clean(&line);
            prop_assert!(!line.contains(['\n', '\t']) && !line.contains("  "));
            prop_assert_eq!(sanitize_line(&line), line);
        }

        #[test]
        fn truncate_fits(s in any::<String>(), soup in escape_soup(), max in 0usize..40) {
            for input in [&s, &soup] {
                let out = truncate_to_width(input, max);
                prop_assert!(display_width(&out) <= max);
                if display_width(input) <= max {
                    prop_assert_eq!(&out, input);
                } else if max > 0 {
                    let kept = out.strip_suffix(ELLIPSIS).unwrap_or_default();
                    prop_assert!(input.starts_with(kept));
                }
            }
        }

        #[test]
        fn html_to_text_never_panics(
            s in any::<String>(),
            soup in tag_soup(),
            width in 0usize..200,
        ) {
            for input in [&s, &soup] {
                assert_clean(&html_to_text(input, width));
                assert_clean(&sanitize(&strip_tags(input)));
            }
        }
    }
}
