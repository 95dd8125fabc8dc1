//! A deterministic corpus of sales conversations, written as JSONL, mbox or
//! Maildir, for tests and benchmarks.
//!
//! Threading, which the expected counts rely on: each generated
//! conversation is one conversation. Its first message is the lead's
//! inbound mail, without In-Reply-To or References; then a rep's outbound
//! reply and the lead's inbound replies alternate, each with In-Reply-To
//! the message before it and References every earlier message of the
//! conversation, oldest first. Each conversation has its own lead address
//! and its own subject (it carries an ad number; replies are `Re: ` + the
//! first subject), and JSONL records carry the conversation key
//! `gen-{seed}-{index}`, so headers, subject + participants and keys all
//! group the same way. Messages come conversation by conversation (not in
//! global date order); in a Maildir, the reps' outbound mail is in `.Sent`,
//! read after the inbound mail, so a lead's reply can be read before the
//! rep message it answers.

mod generate;
mod jsonl;
mod mime;
mod words;

pub use mime::mail_bytes;

use super::Attachment;
use crate::db::Direction;
use chrono::{DateTime, FixedOffset, Offset, Utc};
use generate::ConversationPlan;
use jsonl::write_jsonl_line;
use mime::{render_mail, write_mbox_entry};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The reps a corpus writes as when its spec names none (the demo's reps).
pub const DEFAULT_REPS: [&str; 4] = [
    "dana.cruz@example.com",
    "sam.patel@example.com",
    "alex.kim@example.com",
    "jordan.reyes@example.com",
];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    pub conversations: usize,
    pub seed: u64,
    /// The reps' addresses (outbound mail is from them); empty: [`DEFAULT_REPS`].
    pub rep_emails: Vec<String>,
}

impl CorpusSpec {
    /// `conversations` conversations from `seed`, with the default reps.
    pub fn new(conversations: usize, seed: u64) -> Self {
        CorpusSpec {
            conversations,
            seed,
            rep_emails: DEFAULT_REPS.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// How many messages the corpus has (without generating them; about 4.9
    /// per conversation, so 205K conversations make about 1M messages).
    pub fn expected_messages(&self) -> usize {
        (0..self.conversations)
            .map(|index| message_count(&mut self.rng(index)))
            .sum()
    }

    /// The messages of conversation `index`, oldest first.
    pub fn conversation(&self, index: usize) -> Vec<GenMessage> {
        ConversationPlan::new(self, index).messages()
    }

    /// Every message, conversation by conversation, generated as it is
    /// consumed (a 1M-message corpus never sits in memory).
    pub fn messages(&self) -> impl Iterator<Item = GenMessage> + '_ {
        (0..self.conversations).flat_map(|index| self.conversation(index))
    }

    /// Streams the corpus to a JSONL file; returns the message count.
    pub fn write_jsonl(&self, path: &Path) -> io::Result<usize> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut count = 0;
        for message in self.messages() {
            write_jsonl_line(&message, &mut out)?;
            count += 1;
        }
        out.flush()?;
        Ok(count)
    }

    fn rng(&self, index: usize) -> Rng {
        Rng::new(self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn rep(&self, index: usize) -> &str {
        match self.rep_emails.len() {
            0 => DEFAULT_REPS[index % DEFAULT_REPS.len()],
            n => &self.rep_emails[index % n],
        }
    }
}

/// How a message's body is laid out as MIME by the mail writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MimeShape {
    /// text/plain, UTF-8, 8bit.
    Plain,
    /// text/plain, UTF-8, quoted-printable.
    QuotedPrintable,
    /// text/plain, UTF-8, base64.
    Base64,
    /// text/plain in windows-1252 or ISO-8859-1, quoted-printable.
    SingleByte,
    /// multipart/alternative: text/plain and text/html.
    Alternative,
    /// text/html only (the text body is empty).
    HtmlOnly,
    /// multipart/mixed: text/plain and a base64 attachment.
    WithAttachment,
}

/// How the subject and the sender's name are written in mail headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderEncoding {
    /// As is (UTF-8 when not ASCII, as RFC 6532 allows).
    Raw,
    /// RFC 2047 `=?UTF-8?B?…?=`.
    Utf8Base64,
    /// RFC 2047 `=?ISO-8859-1?Q?…?=`.
    Latin1Q,
}

/// One generated message: what a reader must yield for it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenMessage {
    /// Index of its conversation in the corpus.
    pub conversation: usize,
    /// 0-based position in its conversation.
    pub seq: usize,
    /// JSONL's `conversation`: `gen-{seed}-{index}`.
    pub conversation_key: String,
    /// JSONL's `source` (the lead's); mail has none.
    pub source: String,
    /// With angle brackets; `None` writes no Message-ID (tests set it).
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub direction: Direction,
    pub from_name: String,
    /// Bare, lowercase.
    pub from_addr: String,
    /// The first is To, the rest Cc; bare, lowercase.
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub sent_at: DateTime<Utc>,
    /// The zone the Date header is written in, in minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Empty for HTML-only mail.
    pub body_text: String,
    pub body_html: Option<String>,
    pub attachment: Option<Attachment>,
    pub mime: MimeShape,
    pub header_encoding: HeaderEncoding,
    /// Set on a conversation's first message (JSONL's `lead`).
    pub lead_name: Option<String>,
    pub lead_phone: Option<String>,
}

/// A generated corpus, held in memory (for tests; benchmarks stream with
/// [`CorpusSpec::write_jsonl`]).
#[derive(Debug, Clone)]
pub struct Corpus {
    pub spec: CorpusSpec,
    /// Conversation by conversation, each oldest first.
    pub messages: Vec<GenMessage>,
}

impl Corpus {
    pub fn generate(spec: &CorpusSpec) -> Corpus {
        Corpus {
            spec: spec.clone(),
            messages: spec.messages().collect(),
        }
    }

    /// One per generated conversation (see the module docs for how they
    /// thread).
    pub fn expected_conversations(&self) -> usize {
        self.spec.conversations
    }

    pub fn expected_messages(&self) -> usize {
        self.messages.len()
    }

    pub fn write_jsonl(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        for message in &self.messages {
            write_jsonl_line(message, &mut out)?;
        }
        out.flush()
    }

    /// An mboxrd file: a `From ` line before each message, `>`-escaped
    /// `From ` lines, a blank line after each.
    pub fn write_mbox(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut mail = Vec::with_capacity(16 << 10);
        for message in &self.messages {
            mail.clear();
            render_mail(message, &mut mail);
            write_mbox_entry(message, &mail, &mut out)?;
        }
        out.flush()
    }

    /// A Maildir at `dir` (`cur/`, `new/`, `tmp/`): inbound mail in it,
    /// outbound in its `.Sent` folder; one file per message, uniquely named
    /// `{unix time}.M{n}P{seed}.replydesk-corpus`, most in `cur/` (`:2,S`).
    pub fn write_maildir(&self, dir: &Path) -> io::Result<()> {
        let sent = dir.join(".Sent");
        for folder in [dir, &sent] {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(folder.join(sub))?;
            }
        }
        fs::write(sent.join("maildirfolder"), b"")?;
        let mut mail = Vec::with_capacity(16 << 10);
        for (n, message) in self.messages.iter().enumerate() {
            mail.clear();
            render_mail(message, &mut mail);
            let folder = match message.direction {
                Direction::Inbound => dir,
                Direction::Outbound => &sent,
            };
            let unique = format!(
                "{}.M{n}P{}.replydesk-corpus",
                message.sent_at.timestamp(),
                self.spec.seed % 100_000
            );
            let path = if n % 7 == 3 {
                folder.join("new").join(unique)
            } else {
                folder.join("cur").join(unique + ":2,S")
            };
            fs::write(path, &mail)?;
        }
        Ok(())
    }
}

/// Conversation lengths 1–6, weighted towards longer threads (mean ≈ 4.9).
fn message_count(rng: &mut Rng) -> usize {
    const WEIGHTS: [u64; 6] = [3, 5, 8, 14, 25, 45];
    let mut roll = rng.below(WEIGHTS.iter().sum());
    for (i, weight) in WEIGHTS.iter().enumerate() {
        if roll < *weight {
            return i + 1;
        }
        roll -= weight;
    }
    WEIGHTS.len()
}

/// A zone `minutes` east of UTC.
fn offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60).unwrap_or(Utc.fix())
}

// --------------------------------------------------------------------- rng

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_corpus_and_counts_are_exact() {
        let spec = CorpusSpec::new(40, 7);
        let a = Corpus::generate(&spec);
        let b = Corpus::generate(&spec);
        assert_eq!(a.messages, b.messages);
        assert_eq!(a.expected_messages(), spec.expected_messages());
        assert_ne!(
            a.messages,
            Corpus::generate(&CorpusSpec::new(40, 8)).messages
        );
    }

    #[test]
    fn conversations_thread_by_headers() {
        let corpus = Corpus::generate(&CorpusSpec::new(30, 1));
        for m in &corpus.messages {
            if m.seq == 0 {
                assert!(m.in_reply_to.is_none() && m.references.is_empty());
                assert_eq!(m.direction, Direction::Inbound);
            } else {
                let parent = &corpus.messages[corpus
                    .messages
                    .iter()
                    .position(|p| p.conversation == m.conversation && p.seq == m.seq - 1)
                    .unwrap_or(0)];
                assert_eq!(m.in_reply_to, parent.message_id);
                assert_eq!(m.references.len(), m.seq);
                assert!(m.subject.starts_with("Re: "));
                assert!(m.sent_at > parent.sent_at);
            }
        }
    }

    #[test]
    fn bodies_have_sixty_to_about_a_hundred_and_thirty_words() {
        for m in Corpus::generate(&CorpusSpec::new(50, 3)).messages {
            let text = if m.body_text.is_empty() {
                m.body_html.unwrap_or_default()
            } else {
                m.body_text
            };
            let words = text.split_whitespace().count();
            assert!((60..=150).contains(&words), "{words} words");
        }
    }
}
