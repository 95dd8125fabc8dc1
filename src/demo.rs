//! `replydesk seed-demo`: a deterministic, realistic inbox. The same seed and
//! size always give the same leads, threads and drafts (times are relative to
//! the moment of seeding, so the inbox always looks fresh).
//!
//! Speed: messages carry a stored tsvector, which costs PostgreSQL ~100 µs per
//! message to compute. Conversations are split into chunks written by one
//! binary-COPY stream per core, each chunk in its own transaction, and the
//! GIN index is rebuilt once after the load instead of maintained row by row.
//! Seeded history has no outbox rows: it was delivered before replydesk.

use crate::db::pool::DbConfig;
use crate::db::{
    ConversationStatus, DbError, Direction, RejectionReason, RepRole, SuggestionStatus,
};
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use futures::pin_mut;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

const CORPUS: &str = include_str!("../assets/demo.toml");
const CHUNK: usize = 1000;
const SENTIMENTS: [&str; 6] = [
    "positive", "positive", "positive", "neutral", "neutral", "negative",
];

#[derive(Debug, Deserialize)]
struct Corpus {
    reps: Vec<(String, String, String)>,
    first_names: Vec<String>,
    last_names: Vec<String>,
    email_domains: Vec<String>,
    sources: Vec<(String, u32)>,
    items: Vec<(String, u32, String)>,
    places: Vec<String>,
    days: Vec<String>,
    times: Vec<String>,
    inbound: Inbound,
    outbound: Outbound,
}

impl Corpus {
    fn validate(&self) -> Result<(), SeedError> {
        let lists = [
            ("first_names", self.first_names.len()),
            ("last_names", self.last_names.len()),
            ("email_domains", self.email_domains.len()),
            ("sources", self.sources.len()),
            ("items", self.items.len()),
            ("places", self.places.len()),
            ("days", self.days.len()),
            ("times", self.times.len()),
            ("inbound.opening", self.inbound.opening.len()),
            ("inbound.question", self.inbound.question.len()),
            ("inbound.detail", self.inbound.detail.len()),
            ("inbound.followup", self.inbound.followup.len()),
            ("inbound.closing", self.inbound.closing.len()),
            ("outbound.reply", self.outbound.reply.len()),
        ];
        match lists.iter().find(|(_, n)| *n == 0) {
            Some((name, _)) => Err(SeedError::Corpus(format!("the list {name} is empty"))),
            None if !self.reps.iter().any(|r| r.2 == "rep") => {
                Err(SeedError::Corpus("no rep has the role rep".into()))
            }
            None => Ok(()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Inbound {
    opening: Vec<String>,
    question: Vec<String>,
    detail: Vec<String>,
    followup: Vec<String>,
    closing: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Outbound {
    reply: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the database already holds {0} conversations: seed-demo fills an empty inbox; use a new database (or --if-empty to skip)"
    )]
    NotEmpty(i64),
    #[error("the demo corpus is broken: {0}")]
    Corpus(String),
}

impl From<tokio_postgres::Error> for SeedError {
    fn from(e: tokio_postgres::Error) -> Self {
        SeedError::Db(DbError::Postgres(e))
    }
}

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub conversations: usize,
    pub seed: u64,
    /// Parallel COPY streams (one per core is right).
    pub streams: usize,
}

#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub conversations: u64,
    pub messages: u64,
    pub suggestions: u64,
    pub seconds: f64,
    /// Of which: the parallel COPY of every row (tsvectors computed here).
    pub load_seconds: f64,
    /// Of which: building the GIN index and analyzing afterwards.
    pub index_seconds: f64,
}

impl SeedReport {
    pub fn messages_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.messages as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// SplitMix64: tiny, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn pick_str<'a>(&mut self, items: &'a [String]) -> &'a str {
        self.pick(items).as_str()
    }
}

/// Messages in conversation `i`: drawn first from the conversation's own
/// stream, so ids can be assigned before any text is generated.
fn message_count(seed: u64, i: usize) -> usize {
    const WEIGHTS: [u32; 12] = [10, 22, 20, 14, 10, 7, 5, 4, 3, 2, 2, 1];
    let total: u32 = WEIGHTS.iter().sum();
    let mut x = (Rng::new(seed, i as u64).next() % total as u64) as u32;
    for (k, w) in WEIGHTS.iter().enumerate() {
        if x < *w {
            return k + 1;
        }
        x -= w;
    }
    12
}

struct Reps {
    ids: Vec<i64>,
    emails: Vec<String>,
    names: Vec<String>,
    /// Indices of reps with the `rep` role: they own conversations.
    owners: Vec<usize>,
}

struct Types {
    conversation_status: Type,
    direction: Type,
    suggestion_status: Type,
    rejection_reason: Type,
}

#[derive(Default)]
struct Batch {
    leads: Vec<LeadRow>,
    conversations: Vec<ConvRow>,
    messages: Vec<MsgRow>,
    suggestions: Vec<SuggRow>,
    events: Vec<EventRow>,
}

struct LeadRow {
    id: i64,
    email: String,
    name: String,
    phone: String,
    source: String,
    source_ref: String,
    owner: Option<i64>,
    created_at: DateTime<Utc>,
}

struct ConvRow {
    id: i64,
    lead_id: i64,
    owner: Option<i64>,
    channel: &'static str,
    subject: String,
    status: ConversationStatus,
    message_count: i32,
    last_message_at: DateTime<Utc>,
    last_inbound_at: Option<DateTime<Utc>>,
    last_outbound_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

struct MsgRow {
    id: i64,
    conversation_id: i64,
    seq: i32,
    direction: Direction,
    from_addr: String,
    to_addrs: Vec<String>,
    subject: String,
    body: String,
    source: String,
    external_id: String,
    in_reply_to: Option<String>,
    sent_at: DateTime<Utc>,
}

struct SuggRow {
    id: i64,
    conversation_id: i64,
    for_message_id: Option<i64>,
    body: String,
    confidence: f32,
    sentiment: &'static str,
    context: serde_json::Value,
    status: SuggestionStatus,
    final_body: Option<String>,
    decided_by: Option<i64>,
    decided_at: Option<DateTime<Utc>>,
    rejection_reason: Option<RejectionReason>,
    edit_distance: Option<i32>,
    created_at: DateTime<Utc>,
}

struct EventRow {
    at: DateTime<Utc>,
    rep_id: Option<i64>,
    kind: &'static str,
    conversation_id: i64,
    suggestion_id: Option<i64>,
}

/// Everything one chunk needs to generate its rows.
struct Plan<'a> {
    corpus: &'a Corpus,
    reps: &'a Reps,
    seed: u64,
    total: usize,
    now: DateTime<Utc>,
    /// First message id of each conversation in the chunk.
    first_message_id: Vec<i64>,
    start: usize,
    /// Write a placeholder pending draft for conversations needing a reply
    /// (off when `suggest` drafts them for real after the load).
    pending_drafts: bool,
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn weighted<'a>(rng: &mut Rng, options: &'a [(String, u32)]) -> &'a str {
    let total: u32 = options.iter().map(|(_, w)| w).sum();
    let mut x = (rng.next() % total.max(1) as u64) as u32;
    for (name, w) in options {
        if x < *w {
            return name;
        }
        x -= w;
    }
    options.first().map_or("web", |(n, _)| n)
}

impl Plan<'_> {
    fn conversation(&self, i: usize, batch: &mut Batch) {
        let c = self.corpus;
        let n = message_count(self.seed, i);
        let mut rng = Rng::new(self.seed, i as u64);
        rng.next(); // the draw used by message_count
        let rng2 = rng.next();
        let mut rng = Rng::new(rng2, 7);
        let id = i as i64 + 1;
        let first = rng.pick(&c.first_names).clone();
        let last = rng.pick(&c.last_names);
        let name = format!("{first} {last}");
        let domain = rng.pick(&c.email_domains);
        let email = format!(
            "{}.{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            i % 97,
            domain
        );
        let phone = format!("555-{:04}", rng.below(10_000));
        let source = weighted(&mut rng, &c.sources).to_string();
        let (item, price, _category) = rng.pick(&c.items);
        let price_s = price.to_string();
        let offer = ((*price as f64 * rng.range(0.7, 0.9)) / 10.0).round() as u32 * 10;
        let offer_s = offer.to_string();
        let owner_idx = if rng.chance(0.1) {
            None
        } else {
            Some(*rng.pick(&self.reps.owners))
        };
        let owner = owner_idx.map(|k| self.reps.ids[k]);
        let rep_name = owner_idx.map_or("The sales team", |k| self.reps.names[k].as_str());
        let rep_first = match owner_idx {
            Some(_) => rep_name.split(' ').next().unwrap_or(rep_name).to_string(),
            None => rep_name.to_string(),
        };
        let rep_email = owner_idx.map_or("sales@example.com", |k| self.reps.emails[k].as_str());
        let day = rng.pick(&c.days).clone();
        let time = rng.pick(&c.times).clone();
        let place = rng.pick(&c.places).clone();
        let vars: [(&str, &str); 10] = [
            ("first", &first),
            ("name", &name),
            ("item", item),
            ("price", &price_s),
            ("offer", &offer_s),
            ("day", &day),
            ("time", &time),
            ("place", &place),
            ("rep", &rep_first),
            ("phone", &phone),
        ];
        let (subject, channel) = match source.as_str() {
            "web" => (format!("Question about the {item}"), "web"),
            "email" => (format!("Inquiry: {item}"), "email"),
            _ => (format!("{item} - ${price}"), "classified"),
        };

        // Newer conversations have higher ids; activity spans ~60 days.
        let age_min = ((self.total - i) as f64 / self.total as f64) * 60.0 * 24.0 * 60.0;
        let created = self.now - Span::minutes(age_min as i64 + rng.below(120) as i64);
        let mut times = Vec::with_capacity(n);
        let mut t = created;
        for k in 0..n {
            if k > 0 {
                let spread = if rng.chance(0.7) { 180 } else { 2880 };
                t += Span::minutes(5 + rng.below(spread) as i64);
            }
            times.push(t);
        }
        if let Some(last_t) = times.last().copied()
            && last_t > self.now
        {
            let shift = last_t - self.now + Span::minutes(1 + rng.below(90) as i64);
            for t in &mut times {
                *t -= shift;
            }
        }
        let created = times[0] - Span::seconds(1);

        let first_id = self.first_message_id[i - self.start];
        let mut dir = Direction::Inbound;
        let mut prev_external: Option<String> = None;
        let mut last_inbound_id = None;
        let mut last_inbound_at = None;
        let mut last_outbound_at = None;
        for (k, at) in times.iter().enumerate() {
            if k > 0 {
                dir = match dir {
                    Direction::Inbound if rng.chance(0.85) => Direction::Outbound,
                    Direction::Outbound if rng.chance(0.9) => Direction::Inbound,
                    same => same,
                };
            }
            let mid = first_id + k as i64;
            let seq = k as i32 + 1;
            let (from, to, body, src, ext) = match dir {
                Direction::Inbound => {
                    let body = if k == 0 {
                        let mut b = fill(rng.pick_str(&c.inbound.opening), &vars);
                        for _ in 0..1 + rng.below(2) {
                            b.push(' ');
                            b.push_str(&fill(rng.pick_str(&c.inbound.question), &vars));
                        }
                        let d = rng.pick(&c.inbound.detail);
                        if !d.is_empty() {
                            b.push(' ');
                            b.push_str(d);
                        }
                        b.push_str("\n\n");
                        b.push_str(&fill(rng.pick_str(&c.inbound.closing), &vars));
                        b
                    } else {
                        let mut b = fill(rng.pick_str(&c.inbound.followup), &vars);
                        if rng.chance(0.5) {
                            b.push(' ');
                            b.push_str(&fill(rng.pick_str(&c.inbound.question), &vars));
                        }
                        b.push_str("\n\n");
                        b.push_str(&fill(rng.pick_str(&c.inbound.closing), &vars));
                        b
                    };
                    last_inbound_id = Some(mid);
                    last_inbound_at = Some(*at);
                    (
                        format!("{name} <{email}>"),
                        vec![rep_email.to_string()],
                        body,
                        source.clone(),
                        format!("<{}.{}.{}@{}>", self.seed, i, seq, domain),
                    )
                }
                Direction::Outbound => {
                    last_outbound_at = Some(*at);
                    (
                        format!("{rep_name} <{rep_email}>"),
                        vec![email.clone()],
                        fill(rng.pick_str(&c.outbound.reply), &vars),
                        "replydesk".to_string(),
                        format!("<rd.{}.{}.{}@example.com>", id, seq, self.seed),
                    )
                }
            };
            if dir == Direction::Outbound && k > 0 {
                self.decided_drafts(&mut rng, batch, id, mid - 1, &body, owner, *at, &vars);
            }
            batch.messages.push(MsgRow {
                id: mid,
                conversation_id: id,
                seq,
                direction: dir,
                from_addr: from,
                to_addrs: to,
                subject: if k == 0 {
                    subject.clone()
                } else {
                    crate::db::messages::reply_subject(&subject)
                },
                body,
                source: src,
                external_id: ext.clone(),
                in_reply_to: prev_external.replace(ext),
                sent_at: *at,
            });
        }
        let last_at = *times.last().unwrap_or(&created);
        let status = if rng.chance(0.08) {
            ConversationStatus::Archived
        } else if dir == Direction::Inbound {
            ConversationStatus::NeedsReply
        } else {
            ConversationStatus::Waiting
        };
        if self.pending_drafts && status == ConversationStatus::NeedsReply && rng.chance(0.93) {
            let template = rng.pick(&c.outbound.reply);
            let confidence = if rng.chance(0.6) {
                rng.range(0.7, 0.98)
            } else {
                rng.range(0.2, 0.7)
            } as f32;
            // The last slot: the pending draft is the newest suggestion.
            let sid = self.suggestion_id(id, 15);
            batch.suggestions.push(SuggRow {
                id: sid,
                conversation_id: id,
                for_message_id: last_inbound_id,
                body: fill(template, &vars),
                confidence,
                sentiment: SENTIMENTS[rng.below(SENTIMENTS.len())],
                context: serde_json::json!({
                    "based_on": [
                        {"conversation_id": (rng.below(self.total) + 1), "score": ((confidence as f64 + 0.02).min(0.99) * 100.0).round() / 100.0},
                        {"conversation_id": (rng.below(self.total) + 1), "score": ((confidence as f64 - 0.05).max(0.05) * 100.0).round() / 100.0}
                    ],
                    "drafter": "demo"
                }),
                status: SuggestionStatus::Pending,
                final_body: None,
                decided_by: None,
                decided_at: None,
                rejection_reason: None,
                edit_distance: None,
                created_at: last_at + Span::seconds(20),
            });
        }
        if status == ConversationStatus::Archived {
            batch.events.push(EventRow {
                at: last_at + Span::hours(1),
                rep_id: owner,
                kind: "conversation.archived",
                conversation_id: id,
                suggestion_id: None,
            });
        }
        batch.leads.push(LeadRow {
            id,
            email,
            name,
            phone,
            source,
            source_ref: format!("ad-{}", 100_000 + i),
            owner,
            created_at: created,
        });
        batch.conversations.push(ConvRow {
            id,
            lead_id: id,
            owner,
            channel,
            subject,
            status,
            message_count: n as i32,
            last_message_at: last_at,
            last_inbound_at,
            last_outbound_at,
            created_at: created,
        });
    }

    /// Suggestion ids: 16 slots per conversation, so they need no counter.
    fn suggestion_id(&self, conversation_id: i64, slot: i64) -> i64 {
        conversation_id * 16 + slot
    }

    #[allow(clippy::too_many_arguments)]
    fn decided_drafts(
        &self,
        rng: &mut Rng,
        batch: &mut Batch,
        conversation_id: i64,
        for_message_id: i64,
        sent_body: &str,
        owner: Option<i64>,
        sent_at: DateTime<Utc>,
        vars: &[(&str, &str)],
    ) {
        let slot = (batch
            .suggestions
            .iter()
            .rev()
            .take_while(|s| s.conversation_id == conversation_id)
            .count()) as i64
            + 1;
        if slot > 14 {
            return;
        }
        let decided_by = owner.or_else(|| self.reps.ids.first().copied());
        let created = sent_at - Span::minutes(2 + rng.below(30) as i64);
        if rng.chance(0.12) {
            let sid = self.suggestion_id(conversation_id, slot);
            batch.suggestions.push(SuggRow {
                id: sid,
                conversation_id,
                for_message_id: Some(for_message_id),
                body: fill(rng.pick_str(&self.corpus.outbound.reply), vars),
                confidence: rng.range(0.1, 0.5) as f32,
                sentiment: "neutral",
                context: serde_json::json!({"drafter": "demo"}),
                status: SuggestionStatus::Rejected,
                final_body: None,
                decided_by,
                decided_at: Some(created + Span::seconds(40)),
                rejection_reason: Some(*rng.pick(&RejectionReason::ALL)),
                edit_distance: None,
                created_at: created - Span::seconds(30),
            });
            batch.events.push(EventRow {
                at: created + Span::seconds(40),
                rep_id: decided_by,
                kind: "suggestion.rejected",
                conversation_id,
                suggestion_id: Some(sid),
            });
            return;
        }
        if !rng.chance(0.75) {
            return;
        }
        let edited = rng.chance(0.35);
        let (body, status, confidence, distance) = if edited {
            let original = sent_body
                .rsplit_once(" — ")
                .map_or(sent_body.to_string(), |(b, _)| b.to_string());
            let d = crate::db::suggestions::edit_distance(&original, sent_body);
            (
                original,
                SuggestionStatus::Edited,
                rng.range(0.35, 0.85),
                Some(d),
            )
        } else {
            (
                sent_body.to_string(),
                SuggestionStatus::Approved,
                rng.range(0.6, 0.98),
                None,
            )
        };
        let sid = self.suggestion_id(conversation_id, slot);
        batch.suggestions.push(SuggRow {
            id: sid,
            conversation_id,
            for_message_id: Some(for_message_id),
            body,
            confidence: confidence as f32,
            sentiment: "positive",
            context: serde_json::json!({"drafter": "demo"}),
            status,
            final_body: Some(sent_body.to_string()),
            decided_by,
            decided_at: Some(sent_at - Span::seconds(10)),
            rejection_reason: None,
            edit_distance: distance,
            created_at: created,
        });
        batch.events.push(EventRow {
            at: sent_at - Span::seconds(10),
            rep_id: decided_by,
            kind: if edited {
                "suggestion.edited"
            } else {
                "suggestion.approved"
            },
            conversation_id,
            suggestion_id: Some(sid),
        });
    }
}

async fn copy_rows(
    tx: &tokio_postgres::Transaction<'_>,
    sql: &str,
    types: &[Type],
    rows: impl Iterator<Item = Vec<Box<dyn ToSql + Sync + Send>>>,
) -> Result<(), tokio_postgres::Error> {
    let sink = tx.copy_in(sql).await?;
    let writer = BinaryCopyInWriter::new(sink, types);
    pin_mut!(writer);
    for row in rows {
        let refs: Vec<&(dyn ToSql + Sync)> = row.iter().map(|b| b.as_ref() as _).collect();
        writer.as_mut().write(&refs).await?;
    }
    writer.finish().await?;
    Ok(())
}

macro_rules! row {
    ($($e:expr),* $(,)?) => {
        vec![$(Box::new($e) as Box<dyn ToSql + Sync + Send>),*]
    };
}

async fn write_batch(
    client: &mut tokio_postgres::Client,
    t: &Types,
    b: Batch,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    copy_rows(
        &tx,
        "COPY leads (id, email, name, phone, source, source_ref, owner_rep_id, created_at) FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8, Type::TIMESTAMPTZ],
        b.leads.into_iter().map(|l| row![l.id, l.email, l.name, l.phone, l.source, l.source_ref, l.owner, l.created_at]),
    )
    .await?;
    copy_rows(
        &tx,
        "COPY conversations (id, lead_id, owner_rep_id, channel, subject, status, message_count, last_message_at, last_inbound_at, last_outbound_at, created_at, updated_at) FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, t.conversation_status.clone(), Type::INT4, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ],
        b.conversations.into_iter().map(|c| row![c.id, c.lead_id, c.owner, c.channel, c.subject, c.status, c.message_count, c.last_message_at, c.last_inbound_at, c.last_outbound_at, c.created_at, c.last_message_at]),
    )
    .await?;
    copy_rows(
        &tx,
        "COPY messages (id, conversation_id, seq, direction, from_addr, to_addrs, subject, body_text, source, external_id, in_reply_to, sent_at, created_at) FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::INT8, Type::INT4, t.direction.clone(), Type::TEXT, Type::TEXT_ARRAY, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ],
        b.messages.into_iter().map(|m| row![m.id, m.conversation_id, m.seq, m.direction, m.from_addr, m.to_addrs, m.subject, m.body, m.source, m.external_id, m.in_reply_to, m.sent_at, m.sent_at]),
    )
    .await?;
    copy_rows(
        &tx,
        "COPY suggestions (id, conversation_id, for_message_id, body, confidence, sentiment, model, context, status, final_body, decided_by, decided_at, rejection_reason, edit_distance, created_at) FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::INT8, Type::INT8, Type::TEXT, Type::FLOAT4, Type::TEXT, Type::TEXT, Type::JSONB, t.suggestion_status.clone(), Type::TEXT, Type::INT8, Type::TIMESTAMPTZ, t.rejection_reason.clone(), Type::INT4, Type::TIMESTAMPTZ],
        b.suggestions.into_iter().map(|s| row![s.id, s.conversation_id, s.for_message_id, s.body, s.confidence, s.sentiment, "demo-retrieval", s.context, s.status, s.final_body, s.decided_by, s.decided_at, s.rejection_reason, s.edit_distance, s.created_at]),
    )
    .await?;
    copy_rows(
        &tx,
        "COPY events (at, rep_id, kind, conversation_id, suggestion_id) FROM STDIN (FORMAT binary)",
        &[
            Type::TIMESTAMPTZ,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
        ],
        b.events
            .into_iter()
            .map(|e| row![e.at, e.rep_id, e.kind, e.conversation_id, e.suggestion_id]),
    )
    .await?;
    tx.commit().await
}

async fn enum_types(client: &tokio_postgres::Client) -> Result<Types, tokio_postgres::Error> {
    let stmt = client
        .prepare(
            "SELECT $1::conversation_status, $2::message_direction, $3::suggestion_status, $4::rejection_reason",
        )
        .await?;
    let p = stmt.params();
    Ok(Types {
        conversation_status: p[0].clone(),
        direction: p[1].clone(),
        suggestion_status: p[2].clone(),
        rejection_reason: p[3].clone(),
    })
}

async fn session(db: &DbConfig) -> Result<tokio_postgres::Client, DbError> {
    let mut cfg = db.clone();
    // Bulk load: no statement timeout, no fsync wait per commit (demo data).
    cfg.pg
        .options("-c statement_timeout=0 -c synchronous_commit=off");
    let (client, _notes) = cfg.connect_dedicated().await?;
    Ok(client)
}

/// How many conversations the database already has.
pub async fn existing_conversations(
    client: &impl tokio_postgres::GenericClient,
) -> Result<i64, DbError> {
    Ok(client
        .query_one("SELECT count(*) FROM conversations", &[])
        .await?
        .get(0))
}

/// Seed the demo inbox. `progress` is called with (messages written, messages in all).
pub async fn seed(
    db: &DbConfig,
    opts: &SeedOptions,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Result<SeedReport, SeedError> {
    seed_with(db, opts, true, progress).await
}

/// [`seed`], choosing whether conversations needing a reply get a
/// placeholder pending draft. `seed-demo` passes false and then drafts them
/// with `suggest` (retrieval over the seeded, decided history), after
/// `embed`; `--no-ai` and the benchmark pass true.
pub async fn seed_with(
    db: &DbConfig,
    opts: &SeedOptions,
    pending_drafts: bool,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Result<SeedReport, SeedError> {
    let started = std::time::Instant::now();
    let corpus: Arc<Corpus> =
        Arc::new(toml::from_str(CORPUS).map_err(|e| SeedError::Corpus(e.message().to_string()))?);
    corpus.validate()?;
    let admin = session(db).await?;
    let existing = existing_conversations(&admin).await?;
    if existing > 0 {
        return Err(SeedError::NotEmpty(existing));
    }
    let mut rep_ids = Vec::new();
    let mut owners = Vec::new();
    for (k, (email, name, role)) in corpus.reps.iter().enumerate() {
        let role = match role.as_str() {
            "manager" => RepRole::Manager,
            "admin" => RepRole::Admin,
            _ => RepRole::Rep,
        };
        let rep = crate::db::reps::upsert(&admin, email, name, role).await?;
        rep_ids.push(rep.id);
        if role == RepRole::Rep {
            owners.push(k);
        }
    }
    let reps = Arc::new(Reps {
        ids: rep_ids,
        emails: corpus.reps.iter().map(|r| r.0.clone()).collect(),
        names: corpus.reps.iter().map(|r| r.1.clone()).collect(),
        owners,
    });
    admin
        .batch_execute("DROP INDEX IF EXISTS messages_search_idx")
        .await?;

    let n = opts.conversations;
    let mut first_ids = Vec::with_capacity(n + 1);
    let mut next = 1i64;
    for i in 0..n {
        first_ids.push(next);
        next += message_count(opts.seed, i) as i64;
    }
    let total_messages = (next - 1) as u64;
    let first_ids = Arc::new(first_ids);
    let now = Utc::now()
        .duration_trunc(Span::minutes(1))
        .unwrap_or_else(|_| Utc::now());
    let written = Arc::new(AtomicU64::new(0));
    let suggestions = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(progress);
    let streams = opts.streams.max(1);
    let chunks: Vec<(usize, usize)> = (0..n)
        .step_by(CHUNK)
        .map(|s| (s, (s + CHUNK).min(n)))
        .collect();
    let chunks = Arc::new(chunks);
    let mut tasks = Vec::new();
    for stream in 0..streams {
        let (db, corpus, reps, first_ids, chunks) = (
            db.clone(),
            corpus.clone(),
            reps.clone(),
            first_ids.clone(),
            chunks.clone(),
        );
        let (written, suggestions, progress) =
            (written.clone(), suggestions.clone(), progress.clone());
        let seed = opts.seed;
        tasks.push(tokio::spawn(async move {
            let mut client = session(&db).await?;
            let types = enum_types(&client).await?;
            for (start, end) in chunks.iter().skip(stream).step_by(streams) {
                let plan = Plan {
                    corpus: &corpus,
                    reps: &reps,
                    seed,
                    total: n,
                    now,
                    first_message_id: first_ids[*start..*end].to_vec(),
                    start: *start,
                    pending_drafts,
                };
                let mut batch = Batch::default();
                for i in *start..*end {
                    plan.conversation(i, &mut batch);
                }
                let msgs = batch.messages.len() as u64;
                suggestions.fetch_add(batch.suggestions.len() as u64, Ordering::Relaxed);
                write_batch(&mut client, &types, batch).await?;
                let done = written.fetch_add(msgs, Ordering::Relaxed) + msgs;
                progress(done, total_messages);
            }
            Ok::<(), SeedError>(())
        }));
    }
    for t in tasks {
        match t.await {
            Ok(r) => r?,
            Err(e) => return Err(SeedError::Corpus(format!("a seeding task failed: {e}"))),
        }
    }
    let load_seconds = started.elapsed().as_secs_f64();
    admin
        .batch_execute(
            "SET maintenance_work_mem = '512MB';
             CREATE INDEX IF NOT EXISTS messages_search_idx ON messages USING gin (search);
             SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT coalesce(max(id), 1) FROM leads));
             SELECT setval(pg_get_serial_sequence('conversations', 'id'), (SELECT coalesce(max(id), 1) FROM conversations));
             SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT coalesce(max(id), 1) FROM messages));
             SELECT setval(pg_get_serial_sequence('suggestions', 'id'), (SELECT coalesce(max(id), 1) FROM suggestions));
             ANALYZE reps, leads, conversations, messages, suggestions, events;",
        )
        .await?;
    Ok(SeedReport {
        conversations: n as u64,
        messages: total_messages,
        suggestions: suggestions.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        load_seconds,
        index_seconds: started.elapsed().as_secs_f64() - load_seconds,
    })
}
