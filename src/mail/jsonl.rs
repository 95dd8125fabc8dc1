//! JSONL: one JSON object per line, one record per object. Blank lines are
//! skipped; unknown fields are ignored; `null` is the same as absent.

use super::marks::{MarkSink, Marks, Start};
use super::parse::{
    assign_external_id, bare_address, bracket_id, check_body_sizes, check_date, clean_body, dedup,
    one_line, push_unique, quoted, strip_nul,
};
use super::read::{ReadOptions, human_size, read_line_capped};
use super::{Attachment, Item, MailRecord, Position, Rejected};
use crate::db::Direction;
use chrono::{DateTime, Utc};
use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::io::{BufReader, Read};

/// The source of JSONL records that name none and have no `--source`.
const JSONL_SOURCE: &str = "import";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Streams a JSONL input line by line.
pub(super) struct JsonlReader<R> {
    reader: BufReader<R>,
    opts: ReadOptions,
    line: Vec<u8>,
    line_no: u64,
    done: bool,
    /// Bytes from the start of the file to the next line.
    offset: u64,
    /// The end of the last line that ended in a newline, and its number.
    boundary: (u64, u64),
    marks: Option<MarkSink>,
}

impl<R: Read> JsonlReader<R> {
    pub(super) fn new(reader: R, opts: &ReadOptions) -> Self {
        Self::starting(reader, opts, Start::default(), None)
    }

    /// Reads `reader`, which is positioned at `start` of its file, and
    /// publishes how far it got to `marks` when it stops.
    pub(super) fn starting(
        reader: R,
        opts: &ReadOptions,
        start: Start,
        marks: Option<MarkSink>,
    ) -> Self {
        JsonlReader {
            reader: BufReader::with_capacity(256 << 10, reader),
            opts: opts.clone(),
            line: Vec::with_capacity(4 << 10),
            line_no: start.line,
            done: false,
            offset: start.offset,
            boundary: (start.offset, start.line),
            marks,
        }
    }

    fn publish(&self, complete: bool) {
        if let Some(marks) = &self.marks {
            marks.publish(Marks {
                complete,
                boundary: self.boundary.0,
                lines: self.boundary.1,
                consumed: if complete {
                    self.offset
                } else {
                    self.boundary.0
                },
                ..Marks::default()
            });
        }
    }
}

impl<R: Read> Iterator for JsonlReader<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            self.line.clear();
            let cap = self.opts.line_cap();
            let len = match read_line_capped(&mut self.reader, &mut self.line, cap) {
                Ok(0) => break,
                Ok(len) => len,
                Err(e) => {
                    self.done = true;
                    self.publish(false);
                    let position = Position::Line(self.line_no + 1);
                    return Some(rejected(position, format!("reading stopped: {e}")));
                }
            };
            self.line_no += 1;
            self.offset += len as u64;
            // A last line without its newline may still be being written:
            // the next import reads it again.
            if len > self.line.len() || self.line.ends_with(b"\n") {
                self.boundary = (self.offset, self.line_no);
            }
            let position = Position::Line(self.line_no);
            if len > self.line.len() {
                let reason = format!(
                    "line is {}, longer than a record may be (4 × import.max_body_bytes + 1 MB)",
                    human_size(len)
                );
                return Some(rejected(position, reason));
            }
            let (skipped, content) = match self.line.strip_prefix(BOM) {
                Some(rest) if self.line_no == 1 => (BOM.len(), rest),
                _ => (0, &self.line[..]),
            };
            if content.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(parse_line(content, skipped, position, &self.opts));
        }
        if !self.done {
            self.done = true;
            self.publish(true);
        }
        None
    }
}

fn rejected(position: Position, reason: String) -> Item {
    Item::Rejected(Rejected { position, reason })
}

/// One line (without what `skipped` bytes came before it) → one item.
fn parse_line(bytes: &[u8], skipped: usize, position: Position, opts: &ReadOptions) -> Item {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let byte = skipped + e.valid_up_to() + 1;
            return rejected(
                position,
                format!("invalid UTF-8 at byte {byte} of the line"),
            );
        }
    };
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return rejected(position, "not a JSON object".to_owned());
    }
    let fields = match Fields::parse(text, RECORD_FIELDS) {
        Ok(fields) => fields,
        Err(e) => return rejected(position, json_error(&e)),
    };
    match build(fields, position.clone(), opts) {
        Ok(record) => Item::Record(Box::new(record)),
        Err(reason) => rejected(position, reason),
    }
}

/// serde's message, with the column instead of its "line 1".
fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(bare) => format!("invalid JSON at column {}: {bare}", e.column()),
        None => format!("invalid JSON: {message}"),
    }
}

fn build(mut fields: Fields, position: Position, opts: &ReadOptions) -> Result<MailRecord, String> {
    let (from_addr, from_name) = fields.from()?;
    let sent_at = fields.sent_at()?;
    let body_text = clean_body(fields.string("body_text")?.unwrap_or_default());
    let body_html = fields
        .string("body_html")?
        .map(clean_body)
        .filter(|html| !html.is_empty());
    check_body_sizes(&body_text, body_html.as_deref(), opts.max_body_bytes)?;
    let message_id = fields.message_id("message_id")?;
    let external_id = fields.key("external_id")?;
    let mut to_addrs = fields.addresses("to")?;
    for cc in fields.addresses("cc")? {
        push_unique(&mut to_addrs, cc);
    }
    let (lead_name, lead_phone) = fields.lead()?;
    let headers = without_nul(Value::Object(fields.object("headers")?.unwrap_or_default()));
    let mut record = MailRecord {
        position,
        source: fields
            .string("source")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| opts.source_or(JSONL_SOURCE)),
        external_id: String::new(),
        in_reply_to: fields.message_id("in_reply_to")?,
        references: fields.references()?,
        conversation_key: fields.key("conversation")?,
        direction: fields.direction()?,
        from_addr,
        from_name,
        to_addrs,
        subject: fields
            .string("subject")?
            .map(|s| one_line(&s))
            .unwrap_or_default(),
        sent_at,
        body_text,
        body_html,
        headers,
        attachments: fields.attachments()?,
        lead_name,
        lead_phone,
        message_id: message_id.clone(),
        notes: Vec::new(),
    };
    assign_external_id(
        &mut record,
        external_id.or(message_id),
        "no external_id or message_id",
    );
    Ok(record)
}

/// The fields a record may have; any other is skipped unread.
const RECORD_FIELDS: &[&str] = &[
    "external_id",
    "source",
    "conversation",
    "message_id",
    "in_reply_to",
    "references",
    "direction",
    "from",
    "to",
    "cc",
    "subject",
    "sent_at",
    "body_text",
    "body_html",
    "headers",
    "attachments",
    "lead",
];
const MAILBOX_FIELDS: &[&str] = &["name", "email"];
const LEAD_FIELDS: &[&str] = &["name", "phone"];
const ATTACHMENT_FIELDS: &[&str] = &["filename", "content_type", "size"];

/// An object's known fields, each taken out once (so strings move, not
/// copy). A field given twice keeps its last value, as serde_json does.
struct Fields {
    names: &'static [&'static str],
    values: Vec<Option<Value>>,
}

impl Fields {
    /// Parses a JSON object straight into its known fields: no map is built
    /// and unknown fields are skipped without allocating.
    fn parse(text: &str, names: &'static [&'static str]) -> Result<Fields, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = FieldsSeed(names).deserialize(&mut de)?;
        de.end()?;
        Ok(fields)
    }

    fn from_map(map: Map<String, Value>, names: &'static [&'static str]) -> Fields {
        let mut values = vec![None; names.len()];
        for (key, value) in map {
            if let Some(slot) = names.iter().position(|name| *name == key) {
                values[slot] = Some(value);
            }
        }
        Fields { names, values }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let slot = self.names.iter().position(|known| *known == name)?;
        self.values.get_mut(slot)?.take().filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(strip_nul(s))),
            Some(other) => Err(wrong_type(name, "a string", &other)),
        }
    }

    /// An identifier: a string or an integer, trimmed; empty is absent.
    fn key(&mut self, name: &str) -> Result<Option<String>, String> {
        let key = match self.take(name) {
            None => return Ok(None),
            Some(Value::String(s)) => strip_nul(s).trim().to_owned(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(other) => return Err(wrong_type(name, "a string", &other)),
        };
        Ok((!key.is_empty()).then_some(key))
    }

    fn object(&mut self, name: &str) -> Result<Option<Map<String, Value>>, String> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(wrong_type(name, "an object", &other)),
        }
    }

    fn message_id(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.string(name)? {
            None => Ok(None),
            Some(raw) if raw.trim().is_empty() => Ok(None),
            Some(raw) => bracket_id(&raw)
                .map(Some)
                .ok_or_else(|| format!("field `{name}` is not a message id")),
        }
    }

    fn references(&mut self) -> Result<Vec<String>, String> {
        let raw: Vec<String> = match self.take("references") {
            None => return Ok(Vec::new()),
            Some(Value::String(s)) => s
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    other => Err(wrong_type("references", "an array of strings", &other)),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => Err(wrong_type("references", "an array or a string", &other))?,
        };
        let ids = raw
            .iter()
            .map(|id| {
                bracket_id(id).ok_or_else(|| {
                    "field `references` holds something that is not a message id".to_owned()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(dedup(ids))
    }

    fn from(&mut self) -> Result<(String, Option<String>), String> {
        let mailbox = match self.take("from") {
            None => return Err("no From address".to_owned()),
            Some(Value::String(s)) => parse_mailbox(&s),
            Some(Value::Object(map)) => mailbox_object("from", map)?,
            Some(other) => return Err(wrong_type("from", "a string or an object", &other)),
        };
        mailbox.ok_or_else(|| "no From address: field `from` holds no usable address".to_owned())
    }

    /// To or Cc: a string (comma-separated) or an array of strings or
    /// `{name, email}` objects; unusable addresses are left out.
    fn addresses(&mut self, name: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        match self.take(name) {
            None => {}
            Some(Value::String(s)) => {
                for part in split_list(&s) {
                    if let Some((addr, _)) = parse_mailbox(part) {
                        push_unique(&mut out, addr);
                    }
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    let mailbox = match item {
                        Value::String(s) => parse_mailbox(&s),
                        Value::Object(map) => mailbox_object(name, map)?,
                        other => return Err(wrong_type(name, "an array of addresses", &other)),
                    };
                    if let Some((addr, _)) = mailbox {
                        push_unique(&mut out, addr);
                    }
                }
            }
            Some(other) => return Err(wrong_type(name, "a string or an array", &other)),
        }
        Ok(out)
    }

    fn sent_at(&mut self) -> Result<DateTime<Utc>, String> {
        let raw = self
            .string("sent_at")
            .map_err(|e| format!("bad date: {e}"))?
            .ok_or_else(|| "bad date: no sent_at".to_owned())?;
        parse_date(raw.trim())
            .ok_or_else(|| {
                format!(
                    "bad date: sent_at {} is not an RFC 3339 or RFC 2822 date",
                    quoted(&raw)
                )
            })
            .and_then(check_date)
    }

    fn direction(&mut self) -> Result<Option<Direction>, String> {
        match self.string("direction")? {
            None => Ok(None),
            Some(d) if d.eq_ignore_ascii_case("inbound") => Ok(Some(Direction::Inbound)),
            Some(d) if d.eq_ignore_ascii_case("outbound") => Ok(Some(Direction::Outbound)),
            Some(_) => Err("field `direction` must be \"inbound\" or \"outbound\"".to_owned()),
        }
    }

    fn attachments(&mut self) -> Result<Vec<Attachment>, String> {
        let items = match self.take("attachments") {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(wrong_type("attachments", "an array", &other)),
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => attachment(i, Fields::from_map(map, ATTACHMENT_FIELDS)),
                other => Err(wrong_type(
                    &format!("attachments[{i}]"),
                    "an object",
                    &other,
                )),
            })
            .collect()
    }

    fn lead(&mut self) -> Result<(Option<String>, Option<String>), String> {
        let Some(map) = self.object("lead")? else {
            return Ok((None, None));
        };
        let mut lead = Fields::from_map(map, LEAD_FIELDS);
        let name = lead
            .string("name")
            .map_err(|e| nested(&e, "name", "lead.name"))?
            .map(|n| one_line(&n))
            .filter(|n| !n.is_empty());
        let phone = lead
            .key("phone")
            .map_err(|e| nested(&e, "phone", "lead.phone"))?
            .map(|p| one_line(&p));
        Ok((name, phone))
    }
}

/// Deserializes an object into [`Fields`] with the given names.
struct FieldsSeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Fields, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut values = vec![None; self.0.len()];
        while let Some(slot) = map.next_key_seed(KeySeed(self.0))? {
            match slot {
                Some(slot) => values[slot] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Fields {
            names: self.0,
            values,
        })
    }
}

/// A key → the index of the known field it names, without allocating.
struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

fn attachment(index: usize, mut fields: Fields) -> Result<Attachment, String> {
    let field = |name: &str| format!("attachments[{index}].{name}");
    let filename = fields
        .string("filename")
        .map_err(|e| nested(&e, "filename", &field("filename")))?;
    let content_type = fields
        .string("content_type")
        .map_err(|e| nested(&e, "content_type", &field("content_type")))?;
    let size = match fields.take("size") {
        None => 0,
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("field `{}` must be a whole number of bytes", field("size")))?,
        Some(other) => return Err(wrong_type(&field("size"), "a number", &other)),
    };
    Ok(Attachment {
        filename: filename.map(|f| one_line(&f)).filter(|f| !f.is_empty()),
        content_type: content_type
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        size,
    })
}

/// A field's error, renamed to the field's full path (`lead.name`).
fn nested(error: &str, name: &str, path: &str) -> String {
    error.replace(&format!("`{name}`"), &format!("`{path}`"))
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> String {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("field `{field}` must be {expected}, not {got}")
}

fn without_nul(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(strip_nul(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (strip_nul(k), without_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

/// RFC 3339 (`2024-01-02T10:00:00Z`), else RFC 2822.
fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc2822(raw))
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

/// `{name, email}` → (bare address, name).
fn mailbox_object(
    field: &str,
    map: Map<String, Value>,
) -> Result<Option<(String, Option<String>)>, String> {
    let mut fields = Fields::from_map(map, MAILBOX_FIELDS);
    let email = fields
        .string("email")
        .map_err(|e| nested(&e, "email", &format!("{field}.email")))?;
    let name = fields
        .string("name")
        .map_err(|e| nested(&e, "name", &format!("{field}.name")))?;
    Ok(email.and_then(|email| bare_address(&email)).map(|addr| {
        let name = name.map(|n| one_line(&n)).filter(|n| !n.is_empty());
        (addr, name)
    }))
}

/// `Name <addr>`, `"Name, Jr." <addr>`, `addr (Name)` or a bare `addr` →
/// (bare lowercased address, name).
pub(super) fn parse_mailbox(raw: &str) -> Option<(String, Option<String>)> {
    let raw = raw.trim();
    let (addr, name) = match raw.rfind('<') {
        Some(open) if raw.ends_with('>') => (&raw[open + 1..raw.len() - 1], unquote(&raw[..open])),
        _ => match raw.find('(') {
            Some(open) if raw.ends_with(')') => {
                (&raw[..open], raw[open + 1..raw.len() - 1].to_owned())
            }
            _ => (raw, String::new()),
        },
    };
    let name = one_line(&name);
    Some((bare_address(addr)?, (!name.is_empty()).then_some(name)))
}

fn unquote(raw: &str) -> String {
    let raw = raw.trim();
    match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => raw.to_owned(),
    }
}

/// Splits an address list on commas and semicolons outside quotes and
/// angle brackets.
fn split_list(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut in_quotes, mut in_angle) = (0, false, false);
    for (i, c) in raw.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' | ';' if !in_quotes && !in_angle => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(input: &str) -> Vec<Item> {
        JsonlReader::new(input.as_bytes(), &ReadOptions::default()).collect()
    }

    #[test]
    fn a_read_from_an_offset_numbers_lines_on_and_stops_at_the_last_whole_line() {
        let first = r#"{"from": "a@x.y", "sent_at": "2025-01-01T00:00:00Z"}"#.to_string() + "\n";
        let tail = "\n{bad\n{\"from\": \"b@x.y\", \"sent_at\": \"2025-01-02T00:00:00Z\"}";
        let sink = MarkSink::new();
        let start = Start {
            offset: first.len() as u64,
            line: 1,
        };
        let got: Vec<Item> = JsonlReader::starting(
            tail.as_bytes(),
            &ReadOptions::default(),
            start,
            Some(sink.clone()),
        )
        .collect();
        assert!(matches!(&got[0], Item::Rejected(r) if r.position == Position::Line(3)));
        assert!(matches!(&got[1], Item::Record(r) if r.position == Position::Line(4)));
        let marks = sink.take().unwrap();
        assert!(marks.complete);
        assert_eq!(
            marks.lines, 3,
            "the unterminated last line is read again next time"
        );
        assert_eq!(marks.boundary, (first.len() + "\n{bad\n".len()) as u64);
        assert_eq!(marks.consumed, (first.len() + tail.len()) as u64);
    }

    fn one(line: &str) -> Result<MailRecord, String> {
        match items(line).pop() {
            Some(Item::Record(r)) => Ok(*r),
            Some(Item::Rejected(r)) => Err(r.reason),
            None => Err("nothing".into()),
        }
    }

    const GOOD: &str = r#"{"from":"Maria Lopez <Maria@Example.com>","sent_at":"2024-01-02T10:00:00-05:00","subject":"Hi\nthere","body_text":"Hello","message_id":"m1@x"}"#;

    #[test]
    fn a_minimal_record_reads() {
        let r = one(GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.from_addr, "maria@example.com");
        assert_eq!(r.from_name.as_deref(), Some("Maria Lopez"));
        assert_eq!(r.sent_at.to_rfc3339(), "2024-01-02T15:00:00+00:00");
        assert_eq!(r.subject, "Hi there");
        assert_eq!(r.message_id.as_deref(), Some("<m1@x>"));
        assert_eq!(r.external_id, "<m1@x>");
        assert_eq!(r.source, "import");
        assert_eq!(r.position, Position::Line(1));
    }

    #[test]
    fn every_shape_of_every_field_reads() {
        let line = r#"{"external_id": 42, "source": "crm", "conversation": "c-9",
            "in_reply_to": "<p@x>", "references": "<a@x> b@x, <a@x>", "direction": "Outbound",
            "from": {"name": "Dana", "email": "DANA@example.com"},
            "to": ["\"Lopez, Maria\" <maria@example.com>", {"email": "b@x.y"}, "bad"],
            "cc": "a@x.y; Maria <MARIA@example.com>", "sent_at": "Tue, 02 Jan 2024 10:00:00 +0000",
            "body_html": "<p>x</p>", "headers": {"X-A": "b"}, "unknown": [1],
            "attachments": [{"filename": "q.pdf", "content_type": "Application/PDF", "size": 12}],
            "lead": {"name": "Maria", "phone": 5551234}}"#
            .replace('\n', " ");
        let r = one(&line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.external_id, "42");
        assert_eq!(r.source, "crm");
        assert_eq!(r.conversation_key.as_deref(), Some("c-9"));
        assert_eq!(r.references, ["<a@x>", "<b@x>"]);
        assert_eq!(r.direction, Some(Direction::Outbound));
        assert_eq!(r.from_addr, "dana@example.com");
        assert_eq!(r.to_addrs, ["maria@example.com", "b@x.y", "a@x.y"]);
        assert_eq!(r.body_text, "");
        assert_eq!(r.body_html.as_deref(), Some("<p>x</p>"));
        assert_eq!(r.headers["X-A"], "b");
        assert_eq!(r.attachments[0].content_type, "application/pdf");
        assert_eq!(r.attachments[0].size, 12);
        assert_eq!(r.lead_phone.as_deref(), Some("5551234"));
    }

    #[test]
    fn bad_lines_are_rejected_naming_the_problem() {
        let cases = [
            (
                "{\"from\": 5}",
                "field `from` must be a string or an object, not a number",
            ),
            ("[1]", "not a JSON object"),
            (
                "{\"from\": \"a@b.c\"",
                "invalid JSON at column 16: EOF while parsing an object",
            ),
            ("{\"sent_at\": \"2024-01-01T00:00:00Z\"}", "no From address"),
            (
                "{\"from\": \"nobody\", \"sent_at\": \"2024-01-01T00:00:00Z\"}",
                "no From address: field `from` holds no usable address",
            ),
            ("{\"from\": \"a@b.c\"}", "bad date: no sent_at"),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": \"soon\"}",
                "bad date: sent_at \"soon\" is not an RFC 3339 or RFC 2822 date",
            ),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": \"2200-01-01T00:00:00Z\"}",
                "bad date: 2200-01-01 is outside 1970..2100",
            ),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": 5}",
                "bad date: field `sent_at` must be a string, not a number",
            ),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": \"2024-01-01T00:00:00Z\", \"attachments\": [{\"size\": -1}]}",
                "field `attachments[0].size` must be a whole number of bytes",
            ),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": \"2024-01-01T00:00:00Z\", \"lead\": {\"name\": []}}",
                "field `lead.name` must be a string, not an array",
            ),
            (
                "{\"from\": \"a@b.c\", \"sent_at\": \"2024-01-01T00:00:00Z\", \"direction\": \"up\"}",
                "field `direction` must be \"inbound\" or \"outbound\"",
            ),
        ];
        for (line, reason) in cases {
            assert_eq!(one(line).err().as_deref(), Some(reason), "{line}");
        }
    }

    #[test]
    fn invalid_utf8_names_the_byte_and_blank_lines_and_a_bom_are_skipped() {
        let mut input = b"\xEF\xBB\xBF\n   \r\n".to_vec();
        input.extend_from_slice(b"{\"a\": \"\xff\"}\r\n");
        let got: Vec<Item> = JsonlReader::new(&input[..], &ReadOptions::default()).collect();
        assert_eq!(
            got,
            [Item::Rejected(Rejected {
                position: Position::Line(3),
                reason: "invalid UTF-8 at byte 8 of the line".into()
            })]
        );
    }

    #[test]
    fn nul_escapes_are_removed_everywhere() {
        let line = GOOD.replace("Hello", "He\\u0000llo").replace(
            "\"message_id\"",
            "\"headers\": {\"K\\u0000\": [\"v\\u0000\"]}, \"message_id\"",
        );
        let r = one(&line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.body_text, "Hello");
        assert_eq!(r.headers, serde_json::json!({"K": ["v"]}));
    }

    #[test]
    fn mailboxes_parse_in_their_common_shapes() {
        let mb = |s| parse_mailbox(s);
        assert_eq!(mb("a@b.c"), Some(("a@b.c".into(), None)));
        assert_eq!(
            mb("A@B.c (Ann)"),
            Some(("a@b.c".into(), Some("Ann".into())))
        );
        assert_eq!(
            mb("\"Lopez, \\\"M\\\"\" <m@x.y>"),
            Some(("m@x.y".into(), Some("Lopez, \"M\"".into())))
        );
        assert_eq!(mb("<>"), None);
        assert_eq!(
            split_list("a@x, \"b, c\" <b@x>; <d@x>"),
            ["a@x", " \"b, c\" <b@x>", " <d@x>"]
        );
    }
}
