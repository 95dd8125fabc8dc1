//! Threads: reading a conversation's messages, and appending inbound and
//! outbound ones with the conversation row locked (so `seq` never collides).

use super::{ConversationStatus, DbError, Direction, OutboxStatus, Rep, events};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use tokio_postgres::types::Type;

/// Bodies past this many characters are cut when read for display.
pub const DISPLAY_BODY_CHARS: i32 = 65_536;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationDetail {
    pub id: i64,
    pub status: ConversationStatus,
    pub subject: String,
    pub channel: String,
    pub lead_id: i64,
    pub lead_name: String,
    pub lead_email: Option<String>,
    pub lead_phone: Option<String>,
    pub lead_source: String,
    pub owner: Option<String>,
    pub message_count: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageView {
    pub id: i64,
    pub seq: i32,
    pub direction: Direction,
    pub from_addr: String,
    pub to_addrs: Vec<String>,
    pub subject: String,
    /// The text body (or the HTML body when there is no text), cut to
    /// [`DISPLAY_BODY_CHARS`].
    pub body: String,
    pub body_is_html: bool,
    /// Size of the stored body in bytes, to tell the reader what was cut.
    pub body_bytes: i64,
    pub sent_at: DateTime<Utc>,
    /// For outbound messages: where delivery stands.
    pub delivery: Option<OutboxStatus>,
    pub outbox_id: Option<i64>,
    pub send_after: Option<DateTime<Utc>>,
}

impl MessageView {
    pub fn is_truncated(&self) -> bool {
        self.body_bytes > self.body.len() as i64
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thread {
    pub conversation: ConversationDetail,
    /// Oldest first.
    pub messages: Vec<MessageView>,
    /// True when older messages exist before the first one here.
    pub has_older: bool,
}

/// A conversation and its newest `limit` messages (or those before `before_seq`).
pub async fn thread(
    client: &tokio_postgres::Client,
    conversation_id: i64,
    before_seq: Option<i32>,
    limit: i64,
) -> Result<Thread, DbError> {
    let row = client
        .query_typed_opt(
            "SELECT c.id, c.status, c.subject, c.channel, l.id, l.name, l.email, l.phone, l.source,
                    r.display_name, c.message_count, c.created_at
             FROM conversations c
             JOIN leads l ON l.id = c.lead_id
             LEFT JOIN reps r ON r.id = c.owner_rep_id
             WHERE c.id = $1 AND c.deleted_at IS NULL",
            &[(&conversation_id, Type::INT8)],
        )
        .await?
        .ok_or(DbError::NotFound {
            what: "conversation",
            id: conversation_id,
        })?;
    let conversation = ConversationDetail {
        id: row.get(0),
        status: row.get(1),
        subject: row.get(2),
        channel: row.get(3),
        lead_id: row.get(4),
        lead_name: row.get(5),
        lead_email: row.get(6),
        lead_phone: row.get(7),
        lead_source: row.get(8),
        owner: row.get(9),
        message_count: row.get(10),
        created_at: row.get(11),
    };
    let before = before_seq.unwrap_or(i32::MAX);
    let fetch = limit + 1;
    let rows = client
        .query_typed(
            "SELECT m.id, m.seq, m.direction, m.from_addr, m.to_addrs, m.subject,
                    CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                         THEN left(m.body_html, $4) ELSE left(m.body_text, $4) END,
                    m.body_text = '' AND m.body_html IS NOT NULL,
                    CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                         THEN octet_length(m.body_html) ELSE octet_length(m.body_text) END,
                    m.sent_at, o.status, o.id, o.send_after
             FROM messages m
             LEFT JOIN outbox o ON o.message_id = m.id
             WHERE m.conversation_id = $1 AND m.seq < $2
             ORDER BY m.seq DESC
             LIMIT $3",
            &[
                (&conversation_id, Type::INT8),
                (&before, Type::INT4),
                (&fetch, Type::INT8),
                (&DISPLAY_BODY_CHARS, Type::INT4),
            ],
        )
        .await?;
    let has_older = rows.len() as i64 > limit;
    let mut messages: Vec<MessageView> = rows
        .iter()
        .take(limit as usize)
        .map(|r| MessageView {
            id: r.get(0),
            seq: r.get(1),
            direction: r.get(2),
            from_addr: r.get(3),
            to_addrs: r.get(4),
            subject: r.get(5),
            body: r.get(6),
            body_is_html: r.get(7),
            body_bytes: r.get::<_, i32>(8) as i64,
            sent_at: r.get(9),
            delivery: r.get(10),
            outbox_id: r.get(11),
            send_after: r.get(12),
        })
        .collect();
    messages.reverse();
    Ok(Thread {
        conversation,
        messages,
        has_older,
    })
}

/// A message arriving from a lead.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub from_addr: String,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub source: String,
    pub external_id: String,
    pub sent_at: DateTime<Utc>,
}

/// Record an inbound message (§4.1): the conversation needs a reply again and
/// any pending draft is superseded. Returns the message id, or `None` when
/// `(source, external_id)` was already imported.
pub async fn add_inbound(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    msg: &NewInbound,
) -> Result<Option<i64>, DbError> {
    let tx = client.transaction().await?;
    let locked = tx
        .query_opt(
            "UPDATE conversations SET status = 'needs_reply',
                    message_count = message_count + 1,
                    last_inbound_at = greatest(last_inbound_at, $2),
                    last_message_at = greatest(last_message_at, $2)
             WHERE id = $1 AND deleted_at IS NULL RETURNING id",
            &[&conversation_id, &msg.sent_at],
        )
        .await?;
    if locked.is_none() {
        return Err(DbError::NotFound {
            what: "conversation",
            id: conversation_id,
        });
    }
    let inserted = tx
        .query_opt(
            "INSERT INTO messages (conversation_id, seq, direction, from_addr, to_addrs, subject,
                                   body_text, body_html, source, external_id, sent_at)
             SELECT $1, coalesce(max(seq), 0) + 1, 'inbound', $2, $3, $4, $5, $6, $7, $8, $9
             FROM messages WHERE conversation_id = $1
             ON CONFLICT (source, external_id) DO NOTHING
             RETURNING id",
            &[
                &conversation_id,
                &msg.from_addr,
                &msg.to_addrs,
                &msg.subject,
                &msg.body_text,
                &msg.body_html,
                &msg.source,
                &msg.external_id,
                &msg.sent_at,
            ],
        )
        .await?;
    let Some(row) = inserted else {
        // Already here: undo the counter bump by not committing.
        tx.rollback().await?;
        return Ok(None);
    };
    let message_id: i64 = row.get(0);
    let superseded = tx
        .execute(
            "UPDATE suggestions SET status = 'superseded'
             WHERE conversation_id = $1 AND status = 'pending'",
            &[&conversation_id],
        )
        .await?;
    events::record(
        &tx,
        None,
        "message.received",
        Some(conversation_id),
        None,
        serde_json::json!({ "message_id": message_id, "superseded": superseded }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(message_id))
}

/// What an outbound message queued for sending looks like to its caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queued {
    pub message_id: i64,
    pub outbox_id: i64,
    pub send_after: DateTime<Utc>,
}

/// Write an outbound message and its outbox row inside the caller's
/// transaction; the conversation goes `waiting`. Two statements, each sent
/// typed in one round trip: this is on the approve key's path.
pub(crate) async fn queue_outbound(
    tx: &tokio_postgres::Transaction<'_>,
    conversation_id: i64,
    rep: &Rep,
    body: &str,
    suggestion_id: Option<i64>,
    undo_window: Duration,
) -> Result<Queued, DbError> {
    let ctx = tx
        .query_typed_opt(
            "WITH c AS (
               UPDATE conversations SET status = 'waiting', message_count = message_count + 1,
                      last_outbound_at = now(), last_message_at = greatest(last_message_at, now())
               WHERE id = $1 AND deleted_at IS NULL
               RETURNING subject, lead_id)
             SELECT c.subject, l.email,
                    (SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE conversation_id = $1),
                    i.external_id, i.\"references\", i.from_addr
             FROM c
             JOIN leads l ON l.id = c.lead_id
             LEFT JOIN LATERAL (
               SELECT coalesce(message_id, external_id) AS external_id, \"references\", from_addr
               FROM messages
               WHERE conversation_id = $1 AND direction = 'inbound'
               ORDER BY seq DESC LIMIT 1) i ON true",
            &[(&conversation_id, Type::INT8)],
        )
        .await?
        .ok_or(DbError::NotFound {
            what: "conversation",
            id: conversation_id,
        })?;
    let subject: String = ctx.get(0);
    let lead_email: Option<String> = ctx.get(1);
    let seq: i32 = ctx.get(2);
    let in_reply_to: Option<String> = ctx.get(3);
    let mut references: Vec<String> = ctx.get::<_, Option<Vec<String>>>(4).unwrap_or_default();
    let inbound_from: Option<String> = ctx.get(5);
    if let Some(id) = &in_reply_to {
        references.push(id.clone());
    }
    let to: Vec<String> = lead_email.or(inbound_from).into_iter().collect();
    let subject = reply_subject(&subject);
    let domain = rep
        .email
        .rsplit_once('@')
        .map_or("replydesk.local", |(_, d)| d);
    let now_ms = Utc::now().timestamp_millis();
    let message_id_header = format!("<rd.{conversation_id}.{seq}.{now_ms}@{domain}>");
    let from = format!("{} <{}>", rep.display_name, rep.email);
    let window_ms = undo_window.as_millis().min(i64::MAX as u128) as i64;
    // seq is read again here: when the first statement waited for the row
    // lock of a writer that appended (an import), its snapshot predates
    // that writer's messages; this statement's snapshot does not.
    let row = tx
        .query_typed_one(
            "WITH m AS (
               INSERT INTO messages (conversation_id, seq, direction, from_addr, to_addrs, subject,
                                     body_text, source, external_id, in_reply_to, \"references\")
               VALUES ($1, greatest($2, (SELECT coalesce(max(seq), 0) + 1 FROM messages
                                         WHERE conversation_id = $1)),
                       'outbound', $3, $4, $5, $6, 'replydesk', $7, $8, $9)
               RETURNING id)
             INSERT INTO outbox (message_id, conversation_id, suggestion_id, rep_id, from_addr,
                                 to_addrs, subject, body, in_reply_to, \"references\", send_after)
             SELECT m.id, $1, $10, $11, $3, $4, $5, $6, $8, $9,
                    now() + make_interval(secs => $12::bigint / 1000.0)
             FROM m
             RETURNING message_id, id, send_after",
            &[
                (&conversation_id, Type::INT8),
                (&seq, Type::INT4),
                (&from, Type::TEXT),
                (&to, Type::TEXT_ARRAY),
                (&subject, Type::TEXT),
                (&body, Type::TEXT),
                (&message_id_header, Type::TEXT),
                (&in_reply_to, Type::TEXT),
                (&references, Type::TEXT_ARRAY),
                (&suggestion_id, Type::INT8),
                (&rep.id, Type::INT8),
                (&window_ms, Type::INT8),
            ],
        )
        .await?;
    Ok(Queued {
        message_id: row.get(0),
        outbox_id: row.get(1),
        send_after: row.get(2),
    })
}

/// `Re: subject`, without stacking prefixes.
pub fn reply_subject(subject: &str) -> String {
    let s = subject.trim();
    if s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        s.to_string()
    } else if s.is_empty() {
        "Re: your message".to_string()
    } else {
        format!("Re: {s}")
    }
}
