//! An [`Outgoing`] email as an RFC 5322 message (`.eml`), built with
//! mail-builder: non-ASCII headers RFC 2047-encoded, long ones folded, the
//! UTF-8 text body transfer-encoded, CRLF line ends.

use super::transport::{Mailbox, Outgoing};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;

fn address(m: &Mailbox) -> Address<'_> {
    if m.name.is_empty() {
        Address::from(m.address.as_str())
    } else {
        Address::from((m.name.as_str(), m.address.as_str()))
    }
}

/// mail-builder adds the angle brackets itself.
fn bare(id: &str) -> &str {
    id.trim_start_matches('<').trim_end_matches('>')
}

/// The message, byte for byte the same for the same email.
pub fn render(email: &Outgoing) -> Vec<u8> {
    let to: Vec<Address<'_>> = email.to.iter().map(address).collect();
    let mut builder = MessageBuilder::new()
        .from(address(&email.from))
        .to(Address::new_list(to))
        .subject(email.subject.as_str())
        .date(email.date.timestamp())
        .message_id(bare(&email.message_id));
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(bare(parent));
    }
    if !email.references.is_empty() {
        let refs: Vec<&str> = email.references.iter().map(|r| bare(r)).collect();
        builder = builder.references(refs);
    }
    builder
        .text_body(email.body.as_str())
        .write_to_vec()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mail_parser::MessageParser;

    fn email() -> Outgoing {
        Outgoing {
            outbox_id: 7,
            conversation_id: 3,
            from: Mailbox::parse("Zoë Müller <zoe@example.com>"),
            to: vec![Mailbox::parse("lead@example.net")],
            subject: format!("Re: Fahrrad — noch da? {}", "sehr lang ".repeat(12)),
            body: "Hallo,\nja, das Rad ist noch da. Grüße\n".repeat(3),
            message_id: "<rd.3.2.1700000000000@example.com>".into(),
            in_reply_to: Some("<lead.1@example.net>".into()),
            references: vec!["<lead.0@example.net>".into(), "<lead.1@example.net>".into()],
            date: chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            attempt: 1,
        }
    }

    #[test]
    fn renders_a_message_that_parses_back() {
        let raw = render(&email());
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.is_ascii(), "headers and body are encoded: {text}");
        assert!(text.contains("\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(text.lines().all(|l| l.len() <= 998), "no line past 998");
        let header_lines: Vec<&str> = text.split("\r\n\r\n").next().unwrap().lines().collect();
        assert!(
            header_lines.iter().all(|l| l.len() <= 78),
            "{header_lines:?}"
        );
        let m = MessageParser::default().parse(&raw).unwrap();
        let e = email();
        assert_eq!(m.subject(), Some(e.subject.as_str()));
        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Zoë Müller"));
        assert_eq!(from.address(), Some("zoe@example.com"));
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some("lead@example.net")
        );
        assert_eq!(m.message_id(), Some("rd.3.2.1700000000000@example.com"));
        assert_eq!(
            m.in_reply_to().as_text_list().unwrap_or_default(),
            vec!["lead.1@example.net"]
        );
        assert_eq!(
            m.references().as_text_list().unwrap_or_default(),
            vec!["lead.0@example.net", "lead.1@example.net"]
        );
        assert_eq!(m.date().unwrap().to_timestamp(), 1_700_000_000);
        assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), e.body);
        assert_eq!(render(&e), raw, "the same email renders the same bytes");
    }

    #[test]
    fn a_reply_without_parents_has_no_threading_headers() {
        let mut e = email();
        e.in_reply_to = None;
        e.references.clear();
        let text = String::from_utf8(render(&e)).unwrap();
        assert!(!text.contains("In-Reply-To"));
        assert!(!text.contains("References"));
    }
}
