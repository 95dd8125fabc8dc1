//! The merge of one partition: a set of conversations no other partition
//! touches (all conversations of a lead are in one partition), in one
//! transaction on its own connection, so partitions run on every core.
//!
//! In the transaction, in order:
//! 1. lock the existing conversations it appends to (`FOR UPDATE`, by id)
//!    and their pending drafts, with a 200 ms lock timeout: a rep holding
//!    one (approving right now) never waits on the import nor deadlocks
//!    with it; the import backs off and tries again;
//! 2. COPY its new leads and conversations (ids allocated ahead, state
//!    computed from the plan);
//! 3. one statement: insert the messages from staging (seq continuing
//!    after the stored ones, read under the lock), update the existing
//!    conversations' counters and status (the newest message decides:
//!    inbound → `needs_reply`, which reopens an archived conversation,
//!    since a lead writing again needs an answer; outbound → `waiting`,
//!    but an archived conversation stays archived, since a rep's own
//!    mail does not undo an archive), and supersede the pending drafts
//!    made for a message older than a new inbound one.
//!
//! The `message.received` events are written after all partitions, from
//! the stored messages (see [`super::record_received`]).
//!
//! The statement-level NOTIFY triggers of conversations and suggestions
//! then tell running TUIs (past 100 conversations they ask for a resync).

use super::{Staging, Types};
use crate::db::{ConversationStatus, DbError, Direction};
use chrono::{DateTime, Utc};
use futures::pin_mut;
use std::time::Duration;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

/// How long the lock phase waits for a conversation a rep holds.
const LOCK_TIMEOUT: &str = "200ms";
/// Lock attempts before giving up (with backoff: about a minute in all).
const LOCK_ATTEMPTS: u32 = 120;

/// A lead to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLead {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub source: String,
}

/// A conversation to create, with its state after the import.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub id: i64,
    pub lead_id: i64,
    pub channel: String,
    pub subject: String,
    pub status: ConversationStatus,
    pub message_count: i32,
    pub last_message_at: DateTime<Utc>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub last_outbound_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub external_key: Option<String>,
}

/// Where one staged row goes: its conversation and its rank among the
/// conversation's new messages (by `sent_at`, then input order), and its
/// direction (which finding the team in the mail may have changed since
/// the row was staged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanRow {
    pub row_no: i64,
    pub conversation_id: i64,
    pub rank: i32,
    pub direction: Direction,
}

/// One partition's share of the import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partition {
    /// Existing conversations it appends to, ascending.
    pub existing: Vec<i64>,
    pub leads: Vec<NewLead>,
    pub conversations: Vec<NewConversation>,
    pub rows: Vec<PlanRow>,
}

/// What a partition's merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub messages: u64,
    pub inbound: u64,
    /// The lowest and highest id of the messages it inserted.
    pub ids: Option<(i64, i64)>,
    /// Planned messages another writer stored first (counted as duplicates).
    pub skipped: u64,
    pub superseded: u64,
    pub conversations: u64,
    pub leads: u64,
    pub lock_attempts: u32,
}

/// Merge one partition in one transaction.
pub async fn merge(
    client: &mut Client,
    stage: &Staging,
    types: &Types,
    part: &Partition,
) -> Result<Merged, DbError> {
    let mut attempt = 0;
    let mut careful = false;
    loop {
        attempt += 1;
        let tx = client.transaction().await?;
        let result = match lock(&tx, &part.existing).await {
            Ok(()) => write(tx, stage, types, part, careful).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(mut merged) => {
                merged.lock_attempts = attempt;
                return Ok(merged);
            }
            Err(e) if is_lock_conflict(&e) && attempt < LOCK_ATTEMPTS => {
                let backoff = 50 * u64::from(attempt.min(10));
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            // Another writer stored one of these messages since the
            // duplicates were checked: again, skipping what is stored.
            Err(e) if e.sqlstate() == Some("23505") && !careful => careful = true,
            Err(e) => return Err(e),
        }
    }
}

/// Everything after the locks, then commit. `careful`: skip messages
/// stored meanwhile (`ON CONFLICT DO NOTHING` costs a probe of the unique
/// index per row, so only the retry after a conflict pays it).
async fn write(
    tx: Transaction<'_>,
    stage: &Staging,
    types: &Types,
    part: &Partition,
    careful: bool,
) -> Result<Merged, DbError> {
    copy_leads(&tx, &part.leads).await?;
    copy_conversations(&tx, types, &part.conversations).await?;
    copy_plan(&tx, types, &part.rows).await?;
    let mut merged = insert_messages(&tx, stage, &part.existing, careful).await?;
    merged.skipped = (part.rows.len() as u64).saturating_sub(merged.messages);
    merged.conversations = part.conversations.len() as u64;
    if merged.skipped > 0 {
        merged.conversations -= recount_new(&tx, &part.conversations).await?;
    }
    tx.commit().await?;
    merged.leads = part.leads.len() as u64;
    Ok(merged)
}

fn is_lock_conflict(e: &DbError) -> bool {
    matches!(e.sqlstate(), Some("55P03" | "40P01"))
}

/// Lock the existing conversations and their pending drafts, in id order.
async fn lock(tx: &Transaction<'_>, existing: &[i64]) -> Result<(), DbError> {
    if existing.is_empty() {
        return Ok(());
    }
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        .await?;
    let locked = tx
        .query(
            "SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&existing],
        )
        .await?;
    if locked.len() < existing.len() {
        let gone = existing
            .iter()
            .find(|id| !locked.iter().any(|r| r.get::<_, i64>(0) == **id))
            .copied()
            .unwrap_or_default();
        return Err(DbError::NotFound {
            what: "conversation (deleted while importing; run the import again)",
            id: gone,
        });
    }
    tx.query(
        "SELECT id FROM suggestions WHERE conversation_id = ANY($1) AND status = 'pending'
         ORDER BY id FOR UPDATE",
        &[&existing],
    )
    .await?;
    tx.batch_execute("SET LOCAL lock_timeout = 0").await?;
    Ok(())
}

async fn copy_leads(tx: &Transaction<'_>, leads: &[NewLead]) -> Result<(), DbError> {
    if leads.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in("COPY leads (id, email, name, phone, source) FROM STDIN (FORMAT binary)")
        .await?;
    let types = [Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for l in leads {
        let row: [&(dyn ToSql + Sync); 5] = [&l.id, &l.email, &l.name, &l.phone, &l.source];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

async fn copy_conversations(
    tx: &Transaction<'_>,
    types: &Types,
    conversations: &[NewConversation],
) -> Result<(), DbError> {
    if conversations.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY conversations (id, lead_id, channel, subject, status, message_count,
                                 last_message_at, last_inbound_at, last_outbound_at,
                                 created_at, external_key)
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let column_types = [
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        types.conversation_status.clone(),
        Type::INT4,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TEXT,
    ];
    let writer = BinaryCopyInWriter::new(sink, &column_types);
    pin_mut!(writer);
    for c in conversations {
        let row: [&(dyn ToSql + Sync); 11] = [
            &c.id,
            &c.lead_id,
            &c.channel,
            &c.subject,
            &c.status,
            &c.message_count,
            &c.last_message_at,
            &c.last_inbound_at,
            &c.last_outbound_at,
            &c.created_at,
            &c.external_key,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// The partition's plan into a temporary table (dropped at commit).
async fn copy_plan(tx: &Transaction<'_>, types: &Types, rows: &[PlanRow]) -> Result<(), DbError> {
    tx.batch_execute(
        "CREATE TEMP TABLE replydesk_import_plan (
           row_no bigint NOT NULL, conversation_id bigint NOT NULL, rank integer NOT NULL,
           direction message_direction NOT NULL
         ) ON COMMIT DROP",
    )
    .await?;
    let sink = tx
        .copy_in(
            "COPY replydesk_import_plan (row_no, conversation_id, rank, direction)
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    let column_types = [Type::INT8, Type::INT8, Type::INT4, types.direction.clone()];
    let writer = BinaryCopyInWriter::new(sink, &column_types);
    pin_mut!(writer);
    for r in rows {
        let row: [&(dyn ToSql + Sync); 4] = [&r.row_no, &r.conversation_id, &r.rank, &r.direction];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    tx.batch_execute("ANALYZE replydesk_import_plan").await?;
    Ok(())
}

/// The set-based merge: messages, existing conversations' state and
/// superseded drafts, in one statement.
async fn insert_messages(
    tx: &Transaction<'_>,
    stage: &Staging,
    existing: &[i64],
    careful: bool,
) -> Result<Merged, DbError> {
    let on_conflict = if careful {
        "ON CONFLICT (source, external_id) DO NOTHING"
    } else {
        ""
    };
    let sql = format!(
        "WITH base AS (
           SELECT t.id AS conversation_id,
                  (SELECT coalesce(max(m.seq), 0) FROM messages m WHERE m.conversation_id = t.id) AS max_seq
           FROM unnest($1::bigint[]) AS t(id)
         ),
         ins AS (
           INSERT INTO messages (conversation_id, seq, direction, from_addr, to_addrs, subject,
                                 body_text, body_html, source, external_id, message_id,
                                 in_reply_to, \"references\", headers, attachments, sent_at, search)
           SELECT p.conversation_id, coalesce(b.max_seq, 0) + p.rank, p.direction, s.from_addr,
                  s.to_addrs, s.subject, s.body_text, s.body_html, s.source, s.external_id,
                  s.message_id, s.in_reply_to, s.\"references\", s.headers, s.attachments,
                  s.sent_at, s.search
           FROM replydesk_import_plan p
           JOIN {stage} s ON s.row_no = p.row_no
           LEFT JOIN base b ON b.conversation_id = p.conversation_id
           {on_conflict}
           RETURNING id, conversation_id, direction, sent_at
         ),
         agg AS (
           SELECT conversation_id, count(*) AS n, max(sent_at) AS last_at,
                  max(sent_at) FILTER (WHERE direction = 'inbound') AS last_in,
                  max(sent_at) FILTER (WHERE direction = 'outbound') AS last_out,
                  (array_agg(direction ORDER BY sent_at DESC, id DESC))[1] AS newest
           FROM ins WHERE conversation_id = ANY($1)
           GROUP BY conversation_id
         ),
         upd AS (
           UPDATE conversations c SET
             message_count = c.message_count + a.n,
             last_message_at = CASE WHEN c.message_count = 0 THEN a.last_at
                                    ELSE greatest(c.last_message_at, a.last_at) END,
             last_inbound_at = greatest(c.last_inbound_at, a.last_in),
             last_outbound_at = greatest(c.last_outbound_at, a.last_out),
             status = CASE
               WHEN c.message_count > 0 AND a.last_at < c.last_message_at THEN c.status
               WHEN a.newest = 'inbound' THEN 'needs_reply'::conversation_status
               WHEN c.status = 'archived' THEN c.status
               ELSE 'waiting'::conversation_status END
           FROM agg a WHERE c.id = a.conversation_id
           RETURNING c.id
         ),
         sup AS (
           UPDATE suggestions s SET status = 'superseded'
           FROM agg a
           WHERE s.conversation_id = a.conversation_id AND s.status = 'pending'
             AND a.last_in IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM messages f
                             WHERE f.id = s.for_message_id AND f.sent_at >= a.last_in)
           RETURNING s.id
         ),
         counts AS (
           SELECT count(*) AS n, count(*) FILTER (WHERE direction = 'inbound') AS inbound,
                  min(id) AS first_id, max(id) AS last_id
           FROM ins
         )
         SELECT n, inbound, first_id, last_id, (SELECT count(*) FROM sup), (SELECT count(*) FROM upd)
         FROM counts",
        stage = stage.table
    );
    let row = tx.query_one(&sql, &[&existing]).await?;
    let first: Option<i64> = row.get(2);
    let last: Option<i64> = row.get(3);
    Ok(Merged {
        messages: row.get::<_, i64>(0) as u64,
        inbound: row.get::<_, i64>(1) as u64,
        ids: first.zip(last),
        superseded: row.get::<_, i64>(4) as u64,
        ..Merged::default()
    })
}

/// When another writer stored some planned messages first, the new
/// conversations' precomputed state is recomputed from what was inserted
/// (and a new conversation left empty is removed; returns how many).
async fn recount_new(
    tx: &Transaction<'_>,
    conversations: &[NewConversation],
) -> Result<u64, DbError> {
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    tx.execute(
        "UPDATE conversations c SET
           message_count = x.n, last_message_at = x.last_at,
           last_inbound_at = x.last_in, last_outbound_at = x.last_out
         FROM (SELECT conversation_id, count(*)::int AS n, max(sent_at) AS last_at,
                      max(sent_at) FILTER (WHERE direction = 'inbound') AS last_in,
                      max(sent_at) FILTER (WHERE direction = 'outbound') AS last_out
               FROM messages WHERE conversation_id = ANY($1) GROUP BY conversation_id) x
         WHERE c.id = x.conversation_id AND c.message_count <> x.n",
        &[&ids],
    )
    .await?;
    let removed = tx
        .execute(
            "DELETE FROM conversations c WHERE c.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)",
            &[&ids],
        )
        .await?;
    Ok(removed)
}
