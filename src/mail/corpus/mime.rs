//! The mail form of a generated message: RFC 5322 headers, MIME bodies,
//! RFC 2047 encoded words, quoted-printable and base64, mboxrd framing.

use super::{GenMessage, HeaderEncoding, MimeShape, Rng, offset};
use crate::mail::Attachment;
use std::io::{self, Write};

/// The message as RFC 5322 bytes (LF line ends), MIME per its [`MimeShape`],
/// subject and name per its [`HeaderEncoding`].
pub fn mail_bytes(message: &GenMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 << 10);
    render_mail(message, &mut out);
    out
}

pub(super) fn render_mail(m: &GenMessage, out: &mut Vec<u8>) {
    let mut head = String::with_capacity(1 << 10);
    if let Some(id) = &m.message_id {
        head.push_str(&format!("Message-ID: {id}\n"));
    }
    let date = m.sent_at.with_timezone(&offset(m.utc_offset_minutes));
    head.push_str(&format!(
        "Date: {}\n",
        date.format("%a, %d %b %Y %H:%M:%S %z")
    ));
    head.push_str(&format!(
        "From: {} <{}>\n",
        display_name(&m.from_name, m.header_encoding),
        m.from_addr
    ));
    if let Some((to, cc)) = m.to_addrs.split_first() {
        head.push_str(&format!("To: {to}\n"));
        if !cc.is_empty() {
            head.push_str(&format!("Cc: {}\n", cc.join(", ")));
        }
    }
    head.push_str(&format!(
        "Subject: {}\n",
        encode_header_text(&m.subject, m.header_encoding)
    ));
    if let Some(parent) = &m.in_reply_to {
        head.push_str(&format!("In-Reply-To: {parent}\n"));
    }
    if !m.references.is_empty() {
        head.push_str(&format!("References: {}\n", m.references.join("\n ")));
    }
    head.push_str("MIME-Version: 1.0\nX-Mailer: replydesk corpus\n");
    out.extend_from_slice(head.as_bytes());
    render_body(m, out);
}

fn render_body(m: &GenMessage, out: &mut Vec<u8>) {
    let boundary = format!("=_rd_{}_{}", m.conversation, m.seq);
    let html = m.body_html.as_deref().unwrap_or("");
    let mut push = |s: &str| out.extend_from_slice(s.as_bytes());
    match m.mime {
        MimeShape::Plain => {
            push("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n");
            push(&m.body_text);
            push("\n");
        }
        MimeShape::QuotedPrintable => {
            push(
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
            );
            push(&quoted_printable(m.body_text.as_bytes()));
            push("\n");
        }
        MimeShape::Base64 => {
            push("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n");
            push(&base64_lines(m.body_text.as_bytes()));
        }
        MimeShape::SingleByte => {
            let (bytes, charset) = single_byte(&m.body_text)
                .unwrap_or_else(|| (m.body_text.as_bytes().to_vec(), "utf-8"));
            push(&format!(
                "Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: quoted-printable\n\n"
            ));
            push(&quoted_printable(&bytes));
            push("\n");
        }
        MimeShape::HtmlOnly => {
            push(
                "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
            );
            push(&quoted_printable(html.as_bytes()));
            push("\n");
        }
        MimeShape::Alternative => {
            push(&format!(
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\n\nThis is a multi-part message in MIME format.\n\n"
            ));
            push(&format!(
                "--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            ));
            push(&quoted_printable(m.body_text.as_bytes()));
            push(&format!(
                "\n--{boundary}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
            ));
            push(&base64_lines(html.as_bytes()));
            push(&format!("--{boundary}--\n"));
        }
        MimeShape::WithAttachment => {
            push(&format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
            ));
            push(&format!(
                "--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            ));
            push(&m.body_text);
            push("\n");
            if let Some(attachment) = &m.attachment {
                push(&format!("--{boundary}\n"));
                push(&attachment_part(m, attachment));
            }
            push(&format!("--{boundary}--\n"));
        }
    }
}

fn attachment_part(m: &GenMessage, attachment: &Attachment) -> String {
    let name = attachment.filename.as_deref().unwrap_or("attachment");
    let disposition = if name.is_ascii() {
        format!("attachment; filename=\"{name}\"")
    } else {
        format!("attachment; filename*=UTF-8''{}", percent_encode(name))
    };
    let mut rng = Rng::new((m.conversation as u64) << 8 | m.seq as u64);
    let content: Vec<u8> = (0..attachment.size).map(|_| rng.next_u64() as u8).collect();
    format!(
        "Content-Type: {}\nContent-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\n{}",
        attachment.content_type,
        base64_lines(&content)
    )
}

pub(super) fn write_mbox_entry(
    m: &GenMessage,
    mail: &[u8],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "From {} {}",
        m.from_addr,
        m.sent_at.format("%a %b %e %H:%M:%S %Y")
    )?;
    for line in mail.split_inclusive(|&b| b == b'\n') {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if line[quotes..].starts_with(b"From ") {
            out.write_all(b">")?;
        }
        out.write_all(line)?;
    }
    if !mail.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

fn display_name(name: &str, encoding: HeaderEncoding) -> String {
    match encoding {
        HeaderEncoding::Raw => format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\"")),
        _ => encode_header_text(name, encoding),
    }
}

/// RFC 2047 encoded-words (folded), or the text as is for
/// [`HeaderEncoding::Raw`]; Latin-1 falls back to UTF-8 for characters it
/// lacks.
fn encode_header_text(text: &str, encoding: HeaderEncoding) -> String {
    let latin1: Option<Vec<u8>> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    match (encoding, latin1) {
        (HeaderEncoding::Raw, _) => text.to_owned(),
        (HeaderEncoding::Latin1Q, Some(bytes)) => bytes
            .chunks(20)
            .map(|chunk| format!("=?ISO-8859-1?Q?{}?=", q_encode(chunk)))
            .collect::<Vec<_>>()
            .join("\n "),
        _ => char_chunks(text, 30)
            .into_iter()
            .map(|chunk| format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())))
            .collect::<Vec<_>>()
            .join("\n "),
    }
}

/// `text` cut into pieces of at most `max` bytes, at character boundaries.
fn char_chunks(text: &str, max: usize) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() - start > max {
            chunks.push(&text[start..i]);
            start = i;
        }
    }
    chunks.push(&text[start..]);
    chunks
}

fn q_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'!' | b'*' | b'+' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}

/// The text in windows-1252 (when it needs characters only that has) or
/// ISO-8859-1, with the charset's name; `None` if neither holds it.
pub(super) fn single_byte(text: &str) -> Option<(Vec<u8>, &'static str)> {
    const CP1252: [(char, u8); 11] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('„', 0x84),
        ('…', 0x85),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('–', 0x96),
        ('—', 0x97),
        ('™', 0x99),
    ];
    let mut windows = false;
    let bytes = text
        .chars()
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(b) if !(0x80..0xA0).contains(&b) => Some(b),
            _ => {
                windows = true;
                CP1252.iter().find(|(k, _)| *k == c).map(|(_, b)| *b)
            }
        })
        .collect::<Option<Vec<u8>>>()?;
    Some((
        bytes,
        if windows {
            "windows-1252"
        } else {
            "iso-8859-1"
        },
    ))
}

/// Quoted-printable (RFC 2045) with `\n` line ends and soft breaks before
/// 76 columns.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut column = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let literal = matches!(b, b'!'..=b'<' | b'>'..=b'~') || (b == b' ' && !last);
            let width = if literal { 1 } else { 3 };
            if column + width > 75 {
                out.push_str("=\n");
                column = 0;
            }
            if literal {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("={b:02X}"));
            }
            column += width;
        }
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 in lines of 76 characters, each ending in `\n`.
fn base64_lines(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 50 + 4);
    for chunk in bytes.chunks(57) {
        out.push_str(&base64(chunk));
        out.push('\n');
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_match_their_rfcs() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(
            quoted_printable("é = x \nb".as_bytes()),
            "=C3=A9 =3D x=20\nb"
        );
        assert_eq!(q_encode(&[b'J', b'o', b's', 0xE9, b' ']), "Jos=E9_");
        assert_eq!(single_byte("“€”").map(|(_, c)| c), Some("windows-1252"));
        assert_eq!(single_byte("é"), Some((vec![0xE9], "iso-8859-1")));
        assert_eq!(single_byte("田"), None);
        assert_eq!(char_chunks("aé", 2), ["a", "é"]);
    }
}
