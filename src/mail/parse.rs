//! One RFC 5322 message (bytes) → a [`MailRecord`] or a [`Rejected`],
//! shared by the mbox and Maildir readers, and the normalization every
//! reader applies (ids with angle brackets, bare lowercased addresses,
//! one-line subjects, checked dates, stable derived ids).

use super::read::{ReadOptions, human_size};
use super::{Attachment, Item, MailRecord, Position, Rejected};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;

/// The source of mail records that name none and have no `--source`.
pub(super) const MAIL_SOURCE: &str = "email";

/// Parses one RFC 5322 message: the single-message step of the mbox and
/// Maildir readers. Never panics; a message that cannot be used comes back
/// as [`Item::Rejected`] with a one-line reason.
pub fn parse_message(bytes: &[u8], position: Position, opts: &ReadOptions) -> Item {
    parse_with_fallback(bytes, position, None, opts)
}

/// [`parse_message`], with the mbox `From ` line whose date stands in for a
/// missing or unusable Date header.
pub(super) fn parse_with_fallback(
    bytes: &[u8],
    position: Position,
    from_line: Option<&str>,
    opts: &ReadOptions,
) -> Item {
    // mail-parser recovers from corrupted MIME in release builds but has
    // debug assertions on some of those paths; a panic (there, or a bug on
    // one odd message) must cost that message, not the import.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        match MessageParser::default().parse(bytes) {
            Some(message) if !message.parts.is_empty() => {
                build(&message, position.clone(), from_line, opts)
            }
            _ => Err("not a mail message: no header fields".to_owned()),
        }
    }))
    .unwrap_or_else(|_| {
        Err("could not parse the message: the MIME parser failed on it".to_owned())
    });
    match result {
        Ok(record) => Item::Record(Box::new(record)),
        Err(reason) => Item::Rejected(Rejected { position, reason }),
    }
}

fn build(
    message: &Message<'_>,
    position: Position,
    from_line: Option<&str>,
    opts: &ReadOptions,
) -> Result<MailRecord, String> {
    let (from_addr, from_name) = message
        .from()
        .and_then(first_address)
        .ok_or_else(|| "no From address".to_owned())?;
    let mut notes = Vec::new();
    let sent_at = sent_at(message, from_line, &mut notes)?;
    let (body_text, body_html) = bodies(message);
    check_body_sizes(&body_text, body_html.as_deref(), opts.max_body_bytes)?;
    let message_id = message.message_id().and_then(bracket_id);
    let references = dedup(ids(message.references()));
    let mut record = MailRecord {
        position,
        source: opts.source_or(MAIL_SOURCE),
        external_id: String::new(),
        in_reply_to: ids(message.in_reply_to()).into_iter().next(),
        headers: kept_headers(message, message_id.as_deref(), &references),
        message_id,
        references,
        conversation_key: None,
        direction: None,
        from_addr,
        from_name,
        to_addrs: recipients(message),
        subject: message.subject().map(one_line).unwrap_or_default(),
        sent_at,
        body_text,
        body_html,
        attachments: attachments(message),
        lead_name: None,
        lead_phone: None,
        notes,
    };
    let message_id = record.message_id.clone();
    assign_external_id(&mut record, message_id, "no Message-ID");
    Ok(record)
}

// ---------------------------------------------------------------- addresses

/// The first usable address of a header: (bare lowercased address, name).
fn first_address(address: &Address<'_>) -> Option<(String, Option<String>)> {
    address.iter().find_map(|addr| {
        let bare = bare_address(addr.address()?)?;
        let name = addr.name().map(one_line).filter(|n| !n.is_empty());
        Some((bare, name))
    })
}

/// To then Cc, bare, lowercased, each once.
fn recipients(message: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for address in message
        .header_values(HeaderName::To)
        .chain(message.header_values(HeaderName::Cc))
    {
        let Some(address) = address.as_address() else {
            continue;
        };
        for addr in address.iter() {
            if let Some(bare) = addr.address().and_then(bare_address) {
                push_unique(&mut out, bare);
            }
        }
    }
    out
}

/// A usable e-mail address, bare and lowercased: something@something, no
/// spaces, brackets or controls.
pub(super) fn bare_address(raw: &str) -> Option<String> {
    let trimmed = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let (local, domain) = trimmed.rsplit_once('@')?;
    let usable = !local.is_empty()
        && !domain.is_empty()
        && !trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    usable.then(|| trimmed.to_lowercase())
}

pub(super) fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

// ---------------------------------------------------------------------- ids

/// A message id with angle brackets (`<id@host>`), trimmed; `None` for an
/// empty one or one with spaces or controls inside.
pub(super) fn bracket_id(raw: &str) -> Option<String> {
    let inner = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    let usable = !inner.is_empty()
        && !inner
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    usable.then(|| format!("<{inner}>"))
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => bracket_id(id).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|id| bracket_id(id)).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        push_unique(&mut out, item);
    }
    out
}

/// Sets `external_id` to `id`, or to a stable id derived from the content
/// (with a note saying `missing`) when there is none.
pub(super) fn assign_external_id(record: &mut MailRecord, id: Option<String>, missing: &str) {
    record.external_id = match id {
        Some(id) => id,
        None => {
            let derived = derived_id(record);
            record.notes.push(format!("{missing}: derived {derived}"));
            derived
        }
    };
}

/// `<derived.{32 hex}@replydesk.invalid>`: the first 32 hex digits of the
/// SHA-256 of from address, date (RFC 3339, UTC), subject, text body and
/// HTML body, each followed by a NUL (none of them can hold one, so the
/// join is unambiguous). The same message gives the same id on every run.
pub(super) fn derived_id(record: &MailRecord) -> String {
    let mut hasher = Sha256::new();
    for field in [
        record.from_addr.as_str(),
        &record.sent_at.to_rfc3339(),
        &record.subject,
        &record.body_text,
        record.body_html.as_deref().unwrap_or(""),
    ] {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    let digest = hex::encode(hasher.finalize());
    format!("<derived.{}@replydesk.invalid>", &digest[..32])
}

// -------------------------------------------------------------------- text

/// Header text on one line: a fold or run of newlines, carriage returns and
/// tabs (with the spaces around it) becomes one space, NULs go, the ends
/// are trimmed.
pub(super) fn one_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_break = false;
    for c in raw.chars() {
        match c {
            '\r' | '\n' | '\t' => in_break = true,
            ' ' if in_break => {}
            '\0' => {}
            c => {
                if in_break && !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                in_break = false;
                out.push(c);
            }
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// Removes NUL characters (PostgreSQL text cannot hold them).
pub(super) fn strip_nul(text: String) -> String {
    if text.as_bytes().contains(&0) {
        text.replace('\0', "")
    } else {
        text
    }
}

/// A value quoted in a rejection reason: one line, no controls, at most 40
/// characters.
pub(super) fn quoted(raw: &str) -> String {
    let clean: String = raw.chars().filter(|c| !c.is_control()).take(41).collect();
    if clean.chars().count() > 40 {
        let cut: String = clean.chars().take(40).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{clean}\"")
    }
}

// -------------------------------------------------------------------- dates

/// A date inside 1970..2100, or the reason it is not.
pub(super) fn check_date(date: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let from = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single();
    let until = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single();
    match (from, until) {
        (Some(from), Some(until)) if date >= from && date < until => Ok(date),
        _ => Err(format!(
            "bad date: {} is outside 1970..2100",
            date.format("%Y-%m-%d")
        )),
    }
}

fn sent_at(
    message: &Message<'_>,
    from_line: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<DateTime<Utc>, String> {
    let header = date_header(message);
    match (header, from_line) {
        (Ok(date), _) => Ok(date),
        (Err(problem), Some(line)) => match from_line_date(line).map(check_date) {
            Some(Ok(date)) => {
                notes.push(format!("{problem}: used the mbox From line's date"));
                Ok(date)
            }
            _ => Err(format!("bad date: {problem}, and none on the From line")),
        },
        (Err(problem), None) => Err(format!("bad date: {problem}")),
    }
}

fn date_header(message: &Message<'_>) -> Result<DateTime<Utc>, String> {
    let raw = || message.header_raw(HeaderName::Date).map(one_line);
    let Some(date) = message.date() else {
        return Err(match raw() {
            Some(raw) if !raw.is_empty() => format!("Date {} is not a date", quoted(&raw)),
            _ => "no Date header".to_owned(),
        });
    };
    let utc = to_utc(date).ok_or_else(|| {
        let raw = raw().unwrap_or_default();
        format!("Date {} is not a date", quoted(&raw))
    })?;
    check_date(utc).map_err(|reason| {
        reason
            .strip_prefix("bad date: ")
            .unwrap_or(&reason)
            .to_owned()
    })
}

fn to_utc(date: &mail_parser::DateTime) -> Option<DateTime<Utc>> {
    if !date.is_valid() {
        return None;
    }
    let local = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?
    .and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second),
    )?;
    let offset = (i64::from(date.tz_hour) * 3600 + i64::from(date.tz_minute) * 60)
        * if date.tz_before_gmt { -1 } else { 1 };
    Some(local.and_utc() - chrono::Duration::seconds(offset))
}

/// The date of an mbox `From sender Www Mmm dd hh:mm:ss yyyy` line, as UTC.
pub(super) fn from_line_date(line: &str) -> Option<DateTime<Utc>> {
    let tokens: Vec<&str> = line
        .strip_prefix("From ")?
        .split_whitespace()
        .skip(1)
        .take(8)
        .collect();
    let month_at = tokens.iter().position(|t| month_number(t).is_some())?;
    let month = month_number(tokens[month_at])?;
    let day: u32 = tokens.get(month_at + 1)?.parse().ok()?;
    let mut time = tokens.get(month_at + 2)?.split(':').map(str::parse::<u32>);
    let (hour, minute) = (time.next()?.ok()?, time.next()?.ok()?);
    let second = time.next().and_then(Result::ok).unwrap_or(0);
    let year: i32 = tokens
        .get(month_at + 3..)?
        .iter()
        .find(|t| t.len() == 4)
        .and_then(|t| t.parse().ok())?;
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, minute, second)?;
    Some(naive.and_utc())
}

fn month_number(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = token.get(..3)?;
    (token.len() == 3)
        .then(|| MONTHS.iter().position(|m| prefix.eq_ignore_ascii_case(m)))
        .flatten()
        .map(|i| i as u32 + 1)
}

// ------------------------------------------------------------------- bodies

/// (text/plain parts, HTML parts): each joined by a newline, NULs removed,
/// line ends as `\n`, trailing whitespace trimmed. Text mail-parser
/// synthesizes from HTML is not used.
fn bodies(message: &Message<'_>) -> (String, Option<String>) {
    let text: Vec<&str> = message
        .text_bodies()
        .filter(|part| is_plain_text(part))
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    let html: Vec<&str> = message
        .html_bodies()
        .filter_map(|part| match &part.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        })
        .collect();
    let html = clean_body(html.join("\n"));
    (
        clean_body(text.join("\n")),
        (!html.is_empty()).then_some(html),
    )
}

fn is_plain_text(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_none_or(|ct| {
        ct.ctype().eq_ignore_ascii_case("text")
            && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
    })
}

/// A body as stored: line ends `\n`, no NULs, no trailing whitespace.
pub(super) fn clean_body(mut body: String) -> String {
    body.truncate(body.trim_end().len());
    let bytes = body.as_bytes();
    if bytes.contains(&b'\r') {
        body = body.replace("\r\n", "\n");
    }
    strip_nul(body)
}

/// The reason a body is too large, if one is.
pub(super) fn check_body_sizes(text: &str, html: Option<&str>, max: usize) -> Result<(), String> {
    let largest = text.len().max(html.map_or(0, str::len));
    if largest > max {
        Err(format!(
            "body is {}, over the {} limit (import.max_body_bytes)",
            human_size(largest),
            human_size(max)
        ))
    } else {
        Ok(())
    }
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .map(|part| Attachment {
            filename: part
                .attachment_name()
                .map(one_line)
                .filter(|name| !name.is_empty()),
            content_type: content_type(part),
            size: part.len() as u64,
        })
        .collect()
}

fn content_type(part: &mail_parser::MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => {
            let mut name = ct.ctype().to_ascii_lowercase();
            if let Some(subtype) = ct.subtype() {
                name.push('/');
                name.push_str(&subtype.to_ascii_lowercase());
            }
            strip_nul(name)
        }
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
}

// ------------------------------------------------------------------ headers

/// The headers worth keeping, decoded, as `{"Name": "value"}`.
fn kept_headers(message: &Message<'_>, message_id: Option<&str>, references: &[String]) -> Value {
    let mut kept = Map::new();
    let mut keep = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            kept.insert(name.to_owned(), Value::String(value));
        }
    };
    keep("Message-ID", message_id.map(str::to_owned));
    keep("In-Reply-To", Some(ids(message.in_reply_to()).join(" ")));
    keep("References", Some(references.join(" ")));
    keep("Date", raw_header(message, HeaderName::Date));
    for (name, header) in [
        ("From", HeaderName::From),
        ("To", HeaderName::To),
        ("Cc", HeaderName::Cc),
        ("Reply-To", HeaderName::ReplyTo),
        ("List-Id", HeaderName::ListId),
    ] {
        keep(
            name,
            message
                .header(header.clone())
                .and_then(address_text)
                .or_else(|| raw_header(message, header)),
        );
    }
    keep(
        "X-Mailer",
        raw_header(message, HeaderName::Other("X-Mailer".into())),
    );
    keep("Content-Type", raw_header(message, HeaderName::ContentType));
    Value::Object(kept)
}

fn raw_header(message: &Message<'_>, name: HeaderName<'static>) -> Option<String> {
    message.header_raw(name).map(one_line)
}

/// An address header as `Name <addr>, addr`, decoded.
fn address_text(value: &HeaderValue<'_>) -> Option<String> {
    let address = value.as_address()?;
    let parts: Vec<String> = address
        .iter()
        .filter_map(|addr| {
            let bare = addr.address().map(one_line).filter(|a| !a.is_empty())?;
            Some(match addr.name().map(one_line).filter(|n| !n.is_empty()) {
                Some(name) => format!("{name} <{bare}>"),
                None => bare,
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ReadOptions {
        ReadOptions::default()
    }

    fn record(raw: &str) -> MailRecord {
        match parse_message(raw.as_bytes(), Position::Offset(0), &opts()) {
            Item::Record(record) => *record,
            Item::Rejected(rejected) => panic!("rejected: {rejected}"),
        }
    }

    fn rejection(raw: &[u8]) -> String {
        match parse_message(raw, Position::Offset(7), &opts()) {
            Item::Record(record) => panic!("kept: {record:?}"),
            Item::Rejected(rejected) => {
                assert_eq!(rejected.position, Position::Offset(7));
                rejected.reason
            }
        }
    }

    const SIMPLE: &str = "Message-ID: <a1@example.com>\r\n\
        Date: Tue, 02 Jan 2024 10:00:00 -0500\r\n\
        From: Maria Lopez <Maria@Example.com>\r\n\
        To: Dana <dana@example.com>, sam@example.com\r\n\
        Cc: DANA@example.com, Alex <alex@example.com>\r\n\
        Subject: Is the\r\n\tbike still available?\r\n\
        In-Reply-To: <p1@example.com>\r\n\
        References: <r0@example.com>\r\n <p1@example.com>\r\n\
        X-Mailer: Test\r\n\
        \r\n\
        Hello\r\nthere\r\n\r\n";

    #[test]
    fn a_plain_message_is_normalized() {
        let r = record(SIMPLE);
        assert_eq!(r.external_id, "<a1@example.com>");
        assert_eq!(r.message_id.as_deref(), Some("<a1@example.com>"));
        assert_eq!(r.in_reply_to.as_deref(), Some("<p1@example.com>"));
        assert_eq!(r.references, ["<r0@example.com>", "<p1@example.com>"]);
        assert_eq!(r.from_addr, "maria@example.com");
        assert_eq!(r.from_name.as_deref(), Some("Maria Lopez"));
        assert_eq!(
            r.to_addrs,
            ["dana@example.com", "sam@example.com", "alex@example.com"]
        );
        assert_eq!(r.subject, "Is the bike still available?");
        assert_eq!(r.sent_at.to_rfc3339(), "2024-01-02T15:00:00+00:00");
        assert_eq!(r.body_text, "Hello\nthere");
        assert_eq!(r.body_html, None);
        assert_eq!(r.source, "email");
        assert!(r.notes.is_empty());
        assert_eq!(r.headers["From"], "Maria Lopez <Maria@Example.com>");
        assert_eq!(r.headers["X-Mailer"], "Test");
        assert_eq!(r.headers["References"], "<r0@example.com> <p1@example.com>");
        assert_eq!(r.headers["Date"], "Tue, 02 Jan 2024 10:00:00 -0500");
    }

    #[test]
    fn a_missing_message_id_is_derived_stably_and_noted() {
        let raw = SIMPLE.replace("Message-ID: <a1@example.com>\r\n", "");
        let (a, b) = (record(&raw), record(&raw));
        assert!(a.external_id.starts_with("<derived."));
        assert!(a.external_id.ends_with("@replydesk.invalid>"));
        assert_eq!(
            a.external_id.len(),
            "<derived.@replydesk.invalid>".len() + 32
        );
        assert_eq!(a.external_id, b.external_id);
        assert_eq!(a.message_id, None);
        assert_eq!(
            a.notes,
            [format!("no Message-ID: derived {}", a.external_id)]
        );
        let other = record(&raw.replace("Hello", "Bye"));
        assert_ne!(other.external_id, a.external_id);
    }

    #[test]
    fn unusable_messages_are_rejected_with_a_reason() {
        assert_eq!(rejection(b""), "not a mail message: no header fields");
        let no_from = SIMPLE.replace("From: Maria Lopez <Maria@Example.com>\r\n", "");
        assert_eq!(rejection(no_from.as_bytes()), "no From address");
        let bad_from = SIMPLE.replace("<Maria@Example.com>", "<nobody>");
        assert_eq!(rejection(bad_from.as_bytes()), "no From address");
        let no_date = SIMPLE.replace("Date: Tue, 02 Jan 2024 10:00:00 -0500\r\n", "");
        assert_eq!(rejection(no_date.as_bytes()), "bad date: no Date header");
        let bad_date = SIMPLE.replace("Tue, 02 Jan 2024 10:00:00 -0500", "someday soon");
        assert_eq!(
            rejection(bad_date.as_bytes()),
            "bad date: Date \"someday soon\" is not a date"
        );
        let old = SIMPLE.replace("2024", "1960");
        assert_eq!(
            rejection(old.as_bytes()),
            "bad date: 1960-01-02 is outside 1970..2100"
        );
    }

    #[test]
    fn the_from_line_date_stands_in_for_a_missing_date() {
        let raw = SIMPLE.replace("Date: Tue, 02 Jan 2024 10:00:00 -0500\r\n", "");
        let line = "From maria@example.com Wed Jan  3 09:08:07 2024";
        let Item::Record(r) =
            parse_with_fallback(raw.as_bytes(), Position::Offset(0), Some(line), &opts())
        else {
            panic!("rejected")
        };
        assert_eq!(r.sent_at.to_rfc3339(), "2024-01-03T09:08:07+00:00");
        assert_eq!(r.notes, ["no Date header: used the mbox From line's date"]);
    }

    #[test]
    fn from_lines_parse_in_their_common_shapes() {
        let date = |l| from_line_date(l).map(|d| d.to_rfc3339());
        assert_eq!(
            date("From - Mon Jan 01 00:00:00 2024").as_deref(),
            Some("2024-01-01T00:00:00+00:00")
        );
        assert_eq!(
            date("From a@b Sat Feb 29 23:59 PST 2020").as_deref(),
            Some("2020-02-29T23:59:00+00:00")
        );
        assert_eq!(date("From a@b yesterday"), None);
        assert_eq!(date("From "), None);
        assert_eq!(date("From a Feb 30 10:00:00 2023"), None);
    }

    #[test]
    fn html_only_mail_keeps_html_and_no_synthesized_text() {
        let raw = "From: a@b.c\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n\
            Content-Type: text/html; charset=utf-8\n\n<p>Hi &amp; bye</p>\n";
        let r = record(raw);
        assert_eq!(r.body_text, "");
        assert_eq!(r.body_html.as_deref(), Some("<p>Hi &amp; bye</p>"));
    }

    #[test]
    fn oversized_bodies_are_rejected() {
        let raw = format!("{SIMPLE}{}", "x".repeat(2000));
        let small = ReadOptions {
            source: Some("crm".into()),
            max_body_bytes: 1024,
        };
        let Item::Rejected(r) = parse_message(raw.as_bytes(), Position::Offset(0), &small) else {
            panic!("kept")
        };
        assert_eq!(
            r.reason,
            "body is 2 KB, over the 1 KB limit (import.max_body_bytes)"
        );
    }

    #[test]
    fn nul_characters_are_removed() {
        let raw = SIMPLE
            .replace("Hello", "He\0llo")
            .replace("still", "st\0ill");
        let r = record(&raw);
        assert_eq!(r.body_text, "Hello\nthere");
        assert_eq!(r.subject, "Is the bike still available?");
    }

    #[test]
    fn ids_and_addresses_normalize() {
        assert_eq!(bracket_id(" a@b "), Some("<a@b>".into()));
        assert_eq!(bracket_id("<a@b>"), Some("<a@b>".into()));
        assert_eq!(bracket_id("<>"), None);
        assert_eq!(bracket_id("a b@c"), None);
        assert_eq!(
            bare_address(" <Maria@Example.COM> "),
            Some("maria@example.com".into())
        );
        assert_eq!(bare_address("maria"), None);
        assert_eq!(bare_address("@example.com"), None);
        assert_eq!(bare_address("a b@example.com"), None);
        assert_eq!(one_line("\t a\r\n\tb\0 "), "a b");
        assert_eq!(quoted(&"x".repeat(50)), format!("\"{}…\"", "x".repeat(40)));
    }
}
