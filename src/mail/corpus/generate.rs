//! The conversations themselves: who writes, when, what (from the
//! vocabulary in `words`), and how each message is laid out as MIME.

use super::mime::single_byte;
use super::words::*;
use super::{CorpusSpec, GenMessage, HeaderEncoding, MimeShape, Rng, message_count};
use crate::db::Direction;
use crate::mail::Attachment;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Everything a conversation's messages share.
pub(super) struct ConversationPlan<'a> {
    spec: &'a CorpusSpec,
    index: usize,
    rng: Rng,
    count: usize,
    lead_name: String,
    lead_first: &'static str,
    lead_addr: String,
    lead_offset: i32,
    rep_addr: &'a str,
    rep_name: String,
    item: &'static str,
    price: u64,
    subject: String,
    source: &'static str,
    start: DateTime<Utc>,
}

impl<'a> ConversationPlan<'a> {
    pub(super) fn new(spec: &'a CorpusSpec, index: usize) -> Self {
        let mut rng = spec.rng(index);
        let count = message_count(&mut rng);
        let (first, first_ascii) = rng.pick(&FIRST_NAMES);
        let (last, last_ascii) = rng.pick(&LAST_NAMES);
        let domain = rng.pick(&LEAD_DOMAINS);
        let (item, base_price) = rng.pick(&ITEMS);
        let price = base_price * (80 + rng.below(41)) / 100;
        let subject_template = rng.pick(&SUBJECTS);
        let ad = 100_000 + index;
        let subject = format!("{} (ad #{ad})", fill(subject_template, &[("item", item)]));
        let rep_addr = spec.rep(index);
        let base = Utc
            .with_ymd_and_hms(2024, 1, 1, 8, 0, 0)
            .single()
            .unwrap_or_default();
        let start = base + Duration::minutes(rng.below(365 * 24 * 60) as i64);
        ConversationPlan {
            index,
            count,
            lead_name: format!("{first} {last}"),
            lead_first: first,
            lead_addr: format!("{first_ascii}.{last_ascii}.{index}@{domain}"),
            lead_offset: rng.pick(&UTC_OFFSETS),
            rep_name: name_from_address(rep_addr),
            rep_addr,
            item,
            price,
            subject,
            source: rng.pick(&SOURCES),
            start,
            rng,
            spec,
        }
    }

    pub(super) fn messages(mut self) -> Vec<GenMessage> {
        let mut out: Vec<GenMessage> = Vec::with_capacity(self.count);
        let mut at = self.start;
        for seq in 0..self.count {
            let message = self.message(seq, at, &out);
            out.push(message);
            at += Duration::minutes(7 + self.rng.below(2 * 24 * 60) as i64);
        }
        out
    }

    fn message(
        &mut self,
        seq: usize,
        sent_at: DateTime<Utc>,
        earlier: &[GenMessage],
    ) -> GenMessage {
        let direction = if seq.is_multiple_of(2) {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let references: Vec<String> = earlier
            .iter()
            .filter_map(|m| m.message_id.clone())
            .collect();
        let body_text = self.body(direction, seq);
        let (mime, body_text, body_html) = self.shape(body_text);
        let attachment = (mime == MimeShape::WithAttachment).then(|| self.attachment());
        let (from_name, from_addr, to, offset) = match direction {
            Direction::Inbound => (
                self.lead_name.clone(),
                self.lead_addr.clone(),
                self.rep_addr.to_owned(),
                self.lead_offset,
            ),
            Direction::Outbound => (
                self.rep_name.clone(),
                self.rep_addr.to_owned(),
                self.lead_addr.clone(),
                REP_UTC_OFFSET,
            ),
        };
        let mut to_addrs = vec![to];
        if direction == Direction::Outbound && self.rng.chance(15) {
            to_addrs.push(format!("sales-team@{}", domain_of(self.rep_addr)));
        }
        let header_encoding = match self.rng.below(10) {
            0..=5 => HeaderEncoding::Raw,
            6..=8 => HeaderEncoding::Utf8Base64,
            _ => HeaderEncoding::Latin1Q,
        };
        GenMessage {
            conversation: self.index,
            seq,
            conversation_key: format!("gen-{}-{}", self.spec.seed, self.index),
            source: self.source.to_owned(),
            message_id: Some(format!(
                "<{}.{}.{seq}.{:x}@mail.{}>",
                sent_at.timestamp(),
                self.index,
                self.spec.seed,
                domain_of(&from_addr)
            )),
            in_reply_to: earlier.last().and_then(|m| m.message_id.clone()),
            references,
            direction,
            from_name,
            from_addr,
            to_addrs,
            subject: if seq == 0 {
                self.subject.clone()
            } else {
                format!("Re: {}", self.subject)
            },
            sent_at,
            utc_offset_minutes: offset,
            body_text,
            body_html,
            attachment,
            mime,
            header_encoding,
            lead_name: (seq == 0).then(|| self.lead_name.clone()),
            lead_phone: (seq == 0).then(|| {
                format!(
                    "+1 555-01{:02}-{:04}",
                    self.index % 100,
                    self.rng.below(10_000)
                )
            }),
        }
    }

    /// 60–120 words in paragraphs of two or three sentences.
    fn body(&mut self, direction: Direction, seq: usize) -> String {
        let price = format!("${}", self.price);
        let day = self.rng.pick(&DAYS);
        let time = self.rng.pick(&TIMES);
        let place = self.rng.pick(&PLACES);
        let vars: [(&str, &str); 7] = [
            ("item", self.item),
            ("price", &price),
            ("day", day),
            ("time", time),
            ("place", place),
            ("lead", self.lead_first),
            ("rep", self.rep_name.split(' ').next().unwrap_or("")),
        ];
        let (greeting, opening, middle, closing, signature) = match direction {
            Direction::Inbound if seq == 0 => (
                "Hello,",
                &INBOUND_OPENING[..],
                &INBOUND_MIDDLE[..],
                &INBOUND_CLOSING[..],
                self.lead_name.clone(),
            ),
            Direction::Inbound => (
                "Hi {rep},",
                &INBOUND_REPLY[..],
                &INBOUND_MIDDLE[..],
                &INBOUND_CLOSING[..],
                self.lead_first.to_owned(),
            ),
            Direction::Outbound => (
                "Hi {lead},",
                &OUTBOUND_OPENING[..],
                &OUTBOUND_MIDDLE[..],
                &OUTBOUND_CLOSING[..],
                format!("{}\nReplyDesk Motors & Goods", self.rep_name),
            ),
        };
        let target = 60 + self.rng.below(61) as usize;
        let mut text = String::with_capacity(1 << 10);
        fill_into(&mut text, greeting, &vars);
        text.push_str("\n\n");
        let mut words = 1;
        let mut in_paragraph = 0;
        let mut template = self.rng.pick(opening);
        loop {
            let before = text.len();
            fill_into(&mut text, template, &vars);
            words += 1 + text[before..].bytes().filter(|&b| b == b' ').count();
            in_paragraph += 1;
            if words >= target {
                break;
            }
            if in_paragraph >= 2 + self.rng.below(2) as usize {
                text.push_str("\n\n");
                in_paragraph = 0;
                if self.rng.chance(8) {
                    text.push_str("From what I can tell, that works. ");
                    words += 6;
                } else if self.rng.chance(4) {
                    text.push_str(">From the ad: ");
                    text.push_str(self.item);
                    text.push('\n');
                    words += 5;
                }
            } else {
                text.push(' ');
            }
            template = self.rng.pick(middle);
        }
        text.push_str("\n\n");
        fill_into(&mut text, self.rng.pick(closing), &vars);
        text.push('\n');
        text.push_str(&signature);
        text
    }

    /// Picks the MIME shape and splits the body accordingly.
    fn shape(&mut self, text: String) -> (MimeShape, String, Option<String>) {
        let shape = match self.rng.below(100) {
            0..=29 => MimeShape::Plain,
            30..=44 => MimeShape::QuotedPrintable,
            45..=54 => MimeShape::Base64,
            55..=62 if single_byte(&text).is_some() => MimeShape::SingleByte,
            55..=62 => MimeShape::QuotedPrintable,
            63..=82 => MimeShape::Alternative,
            83..=91 => MimeShape::HtmlOnly,
            _ => MimeShape::WithAttachment,
        };
        match shape {
            MimeShape::Alternative => {
                let html = to_html(&text);
                (shape, text, Some(html))
            }
            MimeShape::HtmlOnly => (shape, String::new(), Some(to_html(&text))),
            _ => (shape, text, None),
        }
    }

    fn attachment(&mut self) -> Attachment {
        let n = self.index * 10 + self.rng.below(10) as usize;
        let (filename, content_type) = match self.rng.below(4) {
            0 => (format!("quote-{n}.pdf"), "application/pdf"),
            1 => (format!("photo {n}.jpg"), "image/jpeg"),
            2 => (format!("Angebot Müller {n}.pdf"), "application/pdf"),
            _ => (format!("floor-plan-{n}.png"), "image/png"),
        };
        Attachment {
            filename: Some(filename),
            content_type: content_type.to_owned(),
            size: 300 + self.rng.below(3700),
        }
    }
}

/// `{name}` placeholders replaced from `vars`.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    fill_into(&mut out, template, vars);
    out
}

/// Appends `template` with its `{name}` placeholders replaced from `vars`
/// (templates are short: a byte loop beats a search here).
fn fill_into(out: &mut String, template: &str, vars: &[(&str, &str)]) {
    let bytes = template.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'{' {
            at += 1;
            continue;
        }
        let Some(len) = bytes[at..].iter().position(|&b| b == b'}') else {
            break;
        };
        out.push_str(&template[copied..at]);
        let key = &template[at + 1..at + len];
        out.push_str(vars.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| *v));
        at += len + 1;
        copied = at;
    }
    out.push_str(&template[copied..]);
}

/// The text as HTML: paragraphs in `<p>`, line breaks as `<br>`, `&<>`
/// escaped.
fn to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 8 + 64);
    html.push_str("<html><body>\n<p>");
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let replacement = match bytes[at] {
            b'\n' if bytes.get(at + 1) == Some(&b'\n') => "</p>\n<p>",
            b'\n' => "<br>\n",
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => {
                at += 1;
                continue;
            }
        };
        html.push_str(&text[copied..at]);
        html.push_str(replacement);
        at += if replacement.starts_with("</p>") {
            2
        } else {
            1
        };
        copied = at;
    }
    html.push_str(&text[copied..]);
    html.push_str("</p>\n</body></html>");
    html
}

fn name_from_address(addr: &str) -> String {
    let local = addr.split('@').next().unwrap_or(addr);
    local
        .split(['.', '_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit('@').next().unwrap_or(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reps_are_named_after_their_address_and_templates_fill() {
        assert_eq!(name_from_address("dana.cruz@example.com"), "Dana Cruz");
        assert_eq!(fill("{a}, {b}{", &[("a", "x"), ("b", "y")]), "x, y{");
        assert_eq!(
            to_html("a & b\n<c>\n\nd"),
            "<html><body>\n<p>a &amp; b<br>\n&lt;c&gt;</p>\n<p>d</p>\n</body></html>"
        );
    }
}
