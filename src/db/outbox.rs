//! The outbox as the sender sees it (§4.8): claim due rows, mark them sent
//! or failed, note a transient failure, put a row back on shutdown.
//!
//! Exactly once rests on two things here: a claim takes rows with
//! `FOR UPDATE SKIP LOCKED` and commits `status = 'sending'` before anything
//! is sent, so no two senders hold one row; and every later write checks
//! `status = 'sending'`, so a row someone else finished is left alone. A
//! sender that dies mid-send leaves its row `sending`; once `locked_until`
//! passes, the next claim takes it again (same outbox id, so the same
//! idempotency key). A row is never claimed before `send_after`: that is the
//! undo window.
//!
//! The marks are single statements (update, event and NOTIFY, with the
//! trigger's payload shape, in one round trip, committed together): they
//! run once per message.

use super::{DbError, NOTIFY_CHANNEL};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

/// A row claimed for sending, with what the message needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub conversation_id: i64,
    pub message_id: Option<i64>,
    /// `Name <address>` (as `queue_outbound` writes it).
    pub from_addr: String,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The outbound message's Message-ID (`messages.external_id`), with
    /// angle brackets; `None` when the message row is gone.
    pub message_id_header: Option<String>,
    pub send_after: DateTime<Utc>,
    /// Sends started, this one included.
    pub attempts: i32,
    /// Taken back from a sender whose lease ran out (it died mid-send).
    pub recovered: bool,
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// Claim up to `limit` rows: first `sending` rows whose lease ran out, then
/// `queued` rows that are due, oldest first. Each gets `status = 'sending'`,
/// `locked_until = now() + lease` and one more attempt, committed before
/// this returns (one statement, so one short transaction).
pub async fn claim(
    client: &impl GenericClient,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, DbError> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    // `picked` pulls from `stale` first and stops at the limit, so `due` is
    // only read (and locked) for what is left.
    let rows = client
        .query_typed(
            "WITH stale AS (
               SELECT id, true AS recovered FROM outbox
               WHERE status = 'sending' AND locked_until < now()
               ORDER BY locked_until
               LIMIT $1
               FOR UPDATE SKIP LOCKED),
             due AS (
               SELECT id, false AS recovered FROM outbox
               WHERE status = 'queued' AND send_after <= now()
               ORDER BY send_after, id
               LIMIT $1
               FOR UPDATE SKIP LOCKED),
             picked AS (
               SELECT * FROM (SELECT * FROM stale UNION ALL SELECT * FROM due) s LIMIT $1)
             UPDATE outbox o
             SET status = 'sending', attempts = o.attempts + 1,
                 locked_until = now() + make_interval(secs => $2::bigint / 1000.0)
             FROM picked
             WHERE o.id = picked.id
             RETURNING o.id, o.conversation_id, o.message_id, o.from_addr, o.to_addrs, o.subject,
                       o.body, o.in_reply_to, o.\"references\",
                       (SELECT m.external_id FROM messages m WHERE m.id = o.message_id),
                       o.send_after, o.attempts, picked.recovered",
            &[(&limit, Type::INT8), (&millis(lease), Type::INT8)],
        )
        .await?;
    let mut claimed: Vec<Claimed> = rows
        .iter()
        .map(|r| Claimed {
            id: r.get(0),
            conversation_id: r.get(1),
            message_id: r.get(2),
            from_addr: r.get(3),
            to_addrs: r.get(4),
            subject: r.get(5),
            body: r.get(6),
            in_reply_to: r.get(7),
            references: r.get(8),
            message_id_header: r.get(9),
            send_after: r.get(10),
            attempts: r.get(11),
            recovered: r.get(12),
        })
        .collect();
    claimed.sort_by_key(|c| (!c.recovered, c.send_after, c.id));
    Ok(claimed)
}

/// Mark a row sent (with its event and a NOTIFY so screens refresh).
/// Returns false when the row is no longer `sending` (someone else finished it).
pub async fn mark_sent(
    client: &impl GenericClient,
    outbox_id: i64,
    provider_message_id: Option<&str>,
) -> Result<bool, DbError> {
    let row = client
        .query_typed_opt(
            "WITH u AS (
               UPDATE outbox SET status = 'sent', provider_message_id = $2, sent_at = now(),
                      locked_until = NULL, last_error = NULL
               WHERE id = $1 AND status = 'sending'
               RETURNING id, conversation_id, suggestion_id, rep_id, attempts),
             e AS (
               INSERT INTO events (rep_id, kind, conversation_id, suggestion_id, details)
               SELECT rep_id, 'reply.sent', conversation_id, suggestion_id,
                      jsonb_build_object('outbox_id', id, 'provider_message_id', $2::text,
                                         'attempts', attempts)
               FROM u)
             SELECT pg_notify($3::text, json_build_object(
                      'table', 'outbox', 'conversations', json_build_array(conversation_id))::text)
             FROM u",
            &[
                (&outbox_id, Type::INT8),
                (&provider_message_id, Type::TEXT),
                (&NOTIFY_CHANNEL, Type::TEXT),
            ],
        )
        .await?;
    Ok(row.is_some())
}

/// Mark a row failed for good, with the reason (event `reply.failed`).
/// Returns false when the row is no longer `sending`.
pub async fn mark_failed(
    client: &impl GenericClient,
    outbox_id: i64,
    error: &str,
    permanent: bool,
) -> Result<bool, DbError> {
    let row = client
        .query_typed_opt(
            "WITH u AS (
               UPDATE outbox SET status = 'failed', last_error = $2, locked_until = NULL
               WHERE id = $1 AND status = 'sending'
               RETURNING id, conversation_id, suggestion_id, rep_id, attempts),
             e AS (
               INSERT INTO events (rep_id, kind, conversation_id, suggestion_id, details)
               SELECT rep_id, 'reply.failed', conversation_id, suggestion_id,
                      jsonb_build_object('outbox_id', id, 'error', $2::text,
                                         'attempts', attempts, 'permanent', $3::bool)
               FROM u)
             SELECT pg_notify($4::text, json_build_object(
                      'table', 'outbox', 'conversations', json_build_array(conversation_id))::text)
             FROM u",
            &[
                (&outbox_id, Type::INT8),
                (&error, Type::TEXT),
                (&permanent, Type::BOOL),
                (&NOTIFY_CHANNEL, Type::TEXT),
            ],
        )
        .await?;
    Ok(row.is_some())
}

/// A send failed but will be tried again: keep the reason and hold the
/// lease through the wait (`hold` = the wait plus a lease).
/// Returns false when the row is no longer `sending`.
pub async fn note_failure(
    client: &impl GenericClient,
    outbox_id: i64,
    error: &str,
    hold: Duration,
) -> Result<bool, DbError> {
    let n = client
        .execute_typed(
            "UPDATE outbox SET last_error = $2,
                    locked_until = now() + make_interval(secs => $3::bigint / 1000.0)
             WHERE id = $1 AND status = 'sending'",
            &[
                (&outbox_id, Type::INT8),
                (&error, Type::TEXT),
                (&millis(hold), Type::INT8),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Start another send of a row this sender holds: one more attempt, a fresh
/// lease. Returns the attempt number, or `None` when the row is no longer
/// `sending`.
pub async fn begin_attempt(
    client: &impl GenericClient,
    outbox_id: i64,
    lease: Duration,
) -> Result<Option<i32>, DbError> {
    let row = client
        .query_typed_opt(
            "UPDATE outbox SET attempts = attempts + 1,
                    locked_until = now() + make_interval(secs => $2::bigint / 1000.0)
             WHERE id = $1 AND status = 'sending'
             RETURNING attempts",
            &[(&outbox_id, Type::INT8), (&millis(lease), Type::INT8)],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Give a row back (shutdown while waiting to retry): `queued` again, due
/// after `delay`. It has been attempted, so undo stays refused.
pub async fn release(
    client: &impl GenericClient,
    outbox_id: i64,
    delay: Duration,
) -> Result<bool, DbError> {
    let n = client
        .execute_typed(
            "UPDATE outbox SET status = 'queued', locked_until = NULL,
                    send_after = now() + make_interval(secs => $2::bigint / 1000.0)
             WHERE id = $1 AND status = 'sending'",
            &[(&outbox_id, Type::INT8), (&millis(delay), Type::INT8)],
        )
        .await?;
    Ok(n == 1)
}

/// When something next needs a sender: the earliest `send_after` of a
/// queued row, or the earliest lease to run out, whichever comes first.
pub async fn next_due(client: &impl GenericClient) -> Result<Option<DateTime<Utc>>, DbError> {
    let row = client
        .query_typed_one(
            "SELECT least(
               (SELECT min(send_after) FROM outbox WHERE status = 'queued'),
               (SELECT min(locked_until) FROM outbox WHERE status = 'sending'))",
            &[],
        )
        .await?;
    Ok(row.get(0))
}
