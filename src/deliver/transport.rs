//! What a transport is given (one [`Outgoing`] email) and what it answers:
//! [`Sent`], or a [`SendError`] that says whether trying again can help.

use crate::db::outbox::Claimed;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// Sends one email. The outbox id is the idempotency key: a transport that
/// is given the same outbox id twice (a sender died between sending and
/// marking) should deliver once.
pub trait Transport: Send + Sync {
    /// For logs: `postmark`, `file`, `stdout`.
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, email: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>>;
}

/// The provider's answer to a send that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Postmark's MessageID, the file name, …; `None` when the provider
    /// accepted without saying.
    pub provider_message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (timeout, connection refused, 408, 429, 5xx).
    #[error("{message}")]
    Transient {
        message: String,
        /// The server's `Retry-After`, when it gave one.
        retry_after: Option<std::time::Duration>,
    },
    /// The provider refused this email; sending it again would not help.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A mailbox: display name (possibly empty) and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

impl Mailbox {
    /// `Name <address>`, `"Name, Jr." <address>` or a bare `address`.
    pub fn parse(s: &str) -> Mailbox {
        let s = one_line(s);
        let s = s.trim();
        match (s.rfind('<'), s.ends_with('>')) {
            (Some(open), true) => {
                let name = s[..open].trim();
                let name = name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .map(|n| n.replace("\\\"", "\"").replace("\\\\", "\\"))
                    .unwrap_or_else(|| name.to_string());
                Mailbox {
                    name,
                    address: s[open + 1..s.len() - 1].trim().to_string(),
                }
            }
            _ => Mailbox {
                name: String::new(),
                address: s.to_string(),
            },
        }
    }

    /// As a header or API value: the name quoted when RFC 5322 needs it.
    pub fn display(&self) -> String {
        if self.name.is_empty() {
            return self.address.clone();
        }
        let needs_quotes = self.name.chars().any(|c| "()<>[]:;@\\,.\"".contains(c));
        if needs_quotes {
            let escaped = self.name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" <{}>", self.address)
        } else {
            format!("{} <{}>", self.name, self.address)
        }
    }
}

/// One email as it leaves: everything a transport needs, already cleaned
/// (no line breaks in header values, message ids with angle brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub outbox_id: i64,
    pub conversation_id: i64,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub subject: String,
    pub body: String,
    /// `<id@domain>`.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// Oldest first.
    pub references: Vec<String>,
    /// The Date header: when the reply left the undo window (the same on
    /// every attempt, so a re-sent file is byte for byte the same).
    pub date: DateTime<Utc>,
    /// Sends started for this row, this one included.
    pub attempt: i32,
}

impl Outgoing {
    pub fn from_claimed(c: &Claimed) -> Outgoing {
        let from = Mailbox::parse(&c.from_addr);
        let domain = from
            .address
            .rsplit_once('@')
            .map_or("replydesk.local", |(_, d)| d)
            .to_string();
        let message_id = c
            .message_id_header
            .as_deref()
            .and_then(msg_id)
            .unwrap_or_else(|| format!("<rd.outbox.{}@{domain}>", c.id));
        let mut references: Vec<String> = c.references.iter().filter_map(|r| msg_id(r)).collect();
        references.dedup();
        Outgoing {
            outbox_id: c.id,
            conversation_id: c.conversation_id,
            from,
            to: c
                .to_addrs
                .iter()
                .map(|t| Mailbox::parse(t))
                .filter(|m| !m.address.is_empty())
                .collect(),
            subject: one_line(&c.subject),
            body: c.body.clone(),
            message_id,
            in_reply_to: c.in_reply_to.as_deref().and_then(msg_id),
            references,
            date: c.send_after,
            attempt: c.attempts,
        }
    }

    /// The key a provider dedupes on: one per outbox row, whatever the attempt.
    pub fn idempotency_key(&self) -> String {
        format!("replydesk-outbox-{}", self.outbox_id)
    }
}

/// `<id@domain>` from a stored id (with or without brackets); `None` for
/// what is not a message id (an import's own record id, say).
pub fn msg_id(raw: &str) -> Option<String> {
    let inner = raw.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = inner.contains('@')
        && !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
    ok.then(|| format!("<{inner}>"))
}

/// Line breaks and other controls become spaces: a header value is one line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_parse_and_quote() {
        let m = Mailbox::parse("Dana Cruz <dana@example.com>");
        assert_eq!(m.name, "Dana Cruz");
        assert_eq!(m.address, "dana@example.com");
        assert_eq!(m.display(), "Dana Cruz <dana@example.com>");
        let m = Mailbox::parse("\"Cruz, Dana\" <dana@example.com>");
        assert_eq!(m.name, "Cruz, Dana");
        assert_eq!(m.display(), "\"Cruz, Dana\" <dana@example.com>");
        let m = Mailbox::parse("lead@example.com");
        assert_eq!(m.name, "");
        assert_eq!(m.display(), "lead@example.com");
        let m = Mailbox::parse("J. \"Jay\" Doe <j@example.com>");
        assert_eq!(m.display(), "\"J. \\\"Jay\\\" Doe\" <j@example.com>");
        assert_eq!(Mailbox::parse(&m.display()).name, "J. \"Jay\" Doe");
    }

    #[test]
    fn message_ids_are_bracketed_or_dropped() {
        assert_eq!(msg_id("<a@b>").as_deref(), Some("<a@b>"));
        assert_eq!(msg_id(" a@b ").as_deref(), Some("<a@b>"));
        assert_eq!(msg_id("cl-12345"), None);
        assert_eq!(msg_id("<a b@c>"), None);
        assert_eq!(msg_id("<a@b>\r\nBcc: x@y"), None);
    }

    #[test]
    fn header_values_are_one_line() {
        assert_eq!(one_line("Re: hi\r\nBcc: x@y"), "Re: hi  Bcc: x@y");
    }
}
