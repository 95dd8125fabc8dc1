//! The JSONL form of a generated message.

use super::{GenMessage, offset};
use crate::db::Direction;
use crate::mail::Attachment;
use chrono::SecondsFormat;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct JsonlLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    conversation: &'a str,
    source: &'a str,
    direction: &'a str,
    from: JsonAddress<'a>,
    to: JsonRecipients<'a>,
    subject: &'a str,
    sent_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "JsonRecipients::is_empty")]
    references: JsonRecipients<'a>,
    body_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_html: Option<&'a str>,
    #[serde(skip_serializing_if = "is_empty_slice")]
    attachments: &'a [Attachment],
    #[serde(skip_serializing_if = "Option::is_none")]
    lead: Option<JsonLead<'a>>,
}

fn is_empty_slice<T>(items: &&[T]) -> bool {
    items.is_empty()
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonAddress<'a> {
    Text(String),
    Object { name: &'a str, email: &'a str },
}

/// A list written as an array or as one joined string.
#[derive(Serialize)]
#[serde(untagged)]
enum JsonRecipients<'a> {
    Array(Vec<&'a str>),
    Text(String),
}

impl<'a> JsonRecipients<'a> {
    fn new(items: &'a [String], separator: &str, joined: bool) -> Self {
        if joined {
            JsonRecipients::Text(items.join(separator))
        } else {
            JsonRecipients::Array(items.iter().map(String::as_str).collect())
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            JsonRecipients::Array(items) => items.is_empty(),
            JsonRecipients::Text(text) => text.is_empty(),
        }
    }
}

#[derive(Serialize)]
struct JsonLead<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
}

/// One JSONL line; field shapes vary by message (from as "Name <addr>" or
/// {name, email}, lists as arrays or strings) so readers see them all.
pub(super) fn write_jsonl_line(message: &GenMessage, out: &mut impl Write) -> io::Result<()> {
    let variant = message.conversation + message.seq;
    let joined = variant % 3 == 2;
    let line = JsonlLine {
        message_id: message.message_id.as_deref(),
        conversation: &message.conversation_key,
        source: &message.source,
        direction: match message.direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        },
        from: if variant.is_multiple_of(2) {
            JsonAddress::Text(format!("{} <{}>", message.from_name, message.from_addr))
        } else {
            JsonAddress::Object {
                name: &message.from_name,
                email: &message.from_addr,
            }
        },
        to: JsonRecipients::new(&message.to_addrs, ", ", joined),
        subject: &message.subject,
        sent_at: message
            .sent_at
            .with_timezone(&offset(message.utc_offset_minutes))
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        in_reply_to: message.in_reply_to.as_deref(),
        references: JsonRecipients::new(&message.references, " ", joined),
        body_text: &message.body_text,
        body_html: message.body_html.as_deref(),
        attachments: message.attachment.as_slice(),
        lead: message.lead_name.as_deref().map(|name| JsonLead {
            name,
            phone: message.lead_phone.as_deref(),
        }),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}
