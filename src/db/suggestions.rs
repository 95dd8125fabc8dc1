//! Drafts and the decisions on them (§4): approve, edit, reject, compose,
//! undo. Each decision is one transaction that changes the suggestion only
//! if it is still pending (`UPDATE … WHERE status = 'pending'`), so of any
//! number of reps deciding at once exactly one wins; the others get
//! [`DbError::AlreadyDecided`] naming who won, and nothing else changes.

use super::messages::{Queued, queue_outbound};
use super::{DbError, DecidedBy, OutboxStatus, RejectionReason, Rep, SuggestionStatus, events};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub id: i64,
    pub conversation_id: i64,
    pub for_message_id: Option<i64>,
    pub body: String,
    pub confidence: f32,
    pub sentiment: Option<String>,
    pub model: String,
    /// What the draft was based on (similar conversations, replies used).
    pub context: serde_json::Value,
    pub status: SuggestionStatus,
    pub final_body: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<RejectionReason>,
    pub rejection_note: Option<String>,
    pub edit_distance: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// The suggestion to show for a conversation: its pending draft if it has
/// one, else the newest, whatever its status.
pub async fn latest(
    client: &tokio_postgres::Client,
    conversation_id: i64,
) -> Result<Option<Suggestion>, DbError> {
    let row = client
        .query_typed_opt(
            "SELECT s.id, s.conversation_id, s.for_message_id, s.body, s.confidence, s.sentiment,
                    s.model, s.context, s.status, s.final_body, r.display_name, s.decided_at,
                    s.rejection_reason, s.rejection_note, s.edit_distance, s.created_at
             FROM suggestions s LEFT JOIN reps r ON r.id = s.decided_by
             WHERE s.conversation_id = $1
             ORDER BY s.status = 'pending' DESC, s.id DESC LIMIT 1",
            &[(&conversation_id, Type::INT8)],
        )
        .await?;
    Ok(row.map(|r| Suggestion {
        id: r.get(0),
        conversation_id: r.get(1),
        for_message_id: r.get(2),
        body: r.get(3),
        confidence: r.get(4),
        sentiment: r.get(5),
        model: r.get(6),
        context: r.get(7),
        status: r.get(8),
        final_body: r.get(9),
        decided_by: r.get(10),
        decided_at: r.get(11),
        rejection_reason: r.get(12),
        rejection_note: r.get(13),
        edit_distance: r.get(14),
        created_at: r.get(15),
    }))
}

/// A draft to store.
#[derive(Debug, Clone)]
pub struct NewSuggestion {
    pub conversation_id: i64,
    pub for_message_id: Option<i64>,
    pub body: String,
    pub confidence: f32,
    pub sentiment: Option<String>,
    pub model: String,
    pub context: serde_json::Value,
}

/// Store a pending draft. Returns `None` when the conversation already has
/// one (the one-pending rule is a unique index, so this holds under races).
pub async fn create_pending(
    client: &impl GenericClient,
    s: &NewSuggestion,
) -> Result<Option<i64>, DbError> {
    let row = client
        .query_opt(
            "INSERT INTO suggestions (conversation_id, for_message_id, body, confidence,
                                      sentiment, model, context)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (conversation_id) WHERE status = 'pending' DO NOTHING
             RETURNING id",
            &[
                &s.conversation_id,
                &s.for_message_id,
                &s.body,
                &s.confidence,
                &s.sentiment,
                &s.model,
                &s.context,
            ],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// What a successful approve, edit or compose did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub conversation_id: i64,
    pub suggestion_id: Option<i64>,
    pub status: SuggestionStatus,
    pub queued: Queued,
}

/// Why a decision could not be taken: who decided first, or that the draft
/// was superseded or does not exist.
async fn lost_race(client: &impl GenericClient, suggestion_id: i64) -> DbError {
    let row = client
        .query_opt(
            "SELECT s.status, s.decided_at,
                    coalesce(r.display_name || ' <' || r.email || '>', 'someone')
             FROM suggestions s LEFT JOIN reps r ON r.id = s.decided_by
             WHERE s.id = $1",
            &[&suggestion_id],
        )
        .await;
    match row {
        Err(e) => e.into(),
        Ok(None) => DbError::NotFound {
            what: "suggestion",
            id: suggestion_id,
        },
        Ok(Some(r)) => {
            let status: SuggestionStatus = r.get(0);
            let at: Option<DateTime<Utc>> = r.get(1);
            match (status, at) {
                (SuggestionStatus::Superseded, _) | (_, None) => DbError::Superseded,
                (status, Some(at)) => DbError::AlreadyDecided(DecidedBy {
                    rep: r.get(2),
                    at,
                    status,
                }),
            }
        }
    }
}

/// Approve a pending draft as written.
pub async fn approve(
    client: &mut tokio_postgres::Client,
    suggestion_id: i64,
    rep: &Rep,
    undo_window: Duration,
) -> Result<Decision, DbError> {
    decide_and_send(client, suggestion_id, rep, None, undo_window).await
}

/// Approve a draft with the rep's edits (`edited`, with the edit distance).
pub async fn approve_edited(
    client: &mut tokio_postgres::Client,
    suggestion_id: i64,
    rep: &Rep,
    final_body: &str,
    undo_window: Duration,
) -> Result<Decision, DbError> {
    decide_and_send(client, suggestion_id, rep, Some(final_body), undo_window).await
}

/// Characters inserted, deleted or substituted to turn `a` into `b`.
pub fn edit_distance(a: &str, b: &str) -> i32 {
    strsim::levenshtein(a, b).min(i32::MAX as usize) as i32
}

async fn decide_and_send(
    client: &mut tokio_postgres::Client,
    suggestion_id: i64,
    rep: &Rep,
    edited: Option<&str>,
    undo_window: Duration,
) -> Result<Decision, DbError> {
    let tx = client.transaction().await?;
    let (status, distance) = match edited {
        None => (SuggestionStatus::Approved, None),
        Some(text) => {
            let Some(row) = tx
                .query_typed_opt(
                    "SELECT body FROM suggestions WHERE id = $1",
                    &[(&suggestion_id, Type::INT8)],
                )
                .await?
            else {
                return Err(DbError::NotFound {
                    what: "suggestion",
                    id: suggestion_id,
                });
            };
            let original: String = row.get(0);
            if original == text {
                (SuggestionStatus::Approved, None)
            } else {
                (
                    SuggestionStatus::Edited,
                    Some(edit_distance(&original, text)),
                )
            }
        }
    };
    let won = tx
        .query_typed_opt(
            "UPDATE suggestions
             SET status = $2::text::suggestion_status, final_body = coalesce($3, body),
                 edit_distance = $4, decided_by = $5, decided_at = now()
             WHERE id = $1 AND status = 'pending'
             RETURNING conversation_id, final_body",
            &[
                (&suggestion_id, Type::INT8),
                (&status.as_str(), Type::TEXT),
                (&edited, Type::TEXT),
                (&distance, Type::INT4),
                (&rep.id, Type::INT8),
            ],
        )
        .await?;
    let Some(won) = won else {
        let err = lost_race(&tx, suggestion_id).await;
        tx.rollback().await?;
        return Err(err);
    };
    let conversation_id: i64 = won.get(0);
    let body: String = won.get(1);
    let queued = queue_outbound(
        &tx,
        conversation_id,
        rep,
        &body,
        Some(suggestion_id),
        undo_window,
    )
    .await?;
    let kind = match status {
        SuggestionStatus::Edited => "suggestion.edited",
        _ => "suggestion.approved",
    };
    events::record(
        &tx,
        Some(rep.id),
        kind,
        Some(conversation_id),
        Some(suggestion_id),
        serde_json::json!({
            "outbox_id": queued.outbox_id,
            "message_id": queued.message_id,
            "edit_distance": distance,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Decision {
        conversation_id,
        suggestion_id: Some(suggestion_id),
        status,
        queued,
    })
}

/// Reject a pending draft with a reason; the conversation still needs a reply.
pub async fn reject(
    client: &mut tokio_postgres::Client,
    suggestion_id: i64,
    rep: &Rep,
    reason: RejectionReason,
    note: Option<&str>,
) -> Result<i64, DbError> {
    let tx = client.transaction().await?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let won = tx
        .query_typed_opt(
            "UPDATE suggestions
             SET status = 'rejected', rejection_reason = $2::text::rejection_reason,
                 rejection_note = $3, decided_by = $4, decided_at = now()
             WHERE id = $1 AND status = 'pending'
             RETURNING conversation_id",
            &[
                (&suggestion_id, Type::INT8),
                (&reason.as_str(), Type::TEXT),
                (&note, Type::TEXT),
                (&rep.id, Type::INT8),
            ],
        )
        .await?;
    let Some(won) = won else {
        let err = lost_race(&tx, suggestion_id).await;
        tx.rollback().await?;
        return Err(err);
    };
    let conversation_id: i64 = won.get(0);
    events::record(
        &tx,
        Some(rep.id),
        "suggestion.rejected",
        Some(conversation_id),
        Some(suggestion_id),
        serde_json::json!({ "reason": reason, "note": note }),
    )
    .await?;
    tx.commit().await?;
    Ok(conversation_id)
}

/// Send the rep's own reply. A draft still pending is superseded by it.
pub async fn compose(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    rep: &Rep,
    body: &str,
    undo_window: Duration,
) -> Result<Decision, DbError> {
    let tx = client.transaction().await?;
    let queued = queue_outbound(&tx, conversation_id, rep, body, None, undo_window).await?;
    let superseded = tx
        .query_opt(
            "UPDATE suggestions SET status = 'superseded'
             WHERE conversation_id = $1 AND status = 'pending' RETURNING id",
            &[&conversation_id],
        )
        .await?
        .map(|r| r.get::<_, i64>(0));
    events::record(
        &tx,
        Some(rep.id),
        "reply.composed",
        Some(conversation_id),
        superseded,
        serde_json::json!({
            "outbox_id": queued.outbox_id,
            "message_id": queued.message_id,
            "superseded_suggestion": superseded,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Decision {
        conversation_id,
        suggestion_id: None,
        status: SuggestionStatus::Approved,
        queued,
    })
}

/// What an undo put back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undone {
    pub conversation_id: i64,
    pub suggestion_id: Option<i64>,
    /// The suggestion's status after the undo (`pending`, or `superseded`
    /// when a newer draft arrived meanwhile).
    pub suggestion_status: Option<SuggestionStatus>,
}

/// Take back a queued reply inside its undo window (§4.6): the outbox row is
/// cancelled only if still queued, not yet due and never attempted (a send
/// that started may have reached the lead), the outbound message is
/// removed from the thread, the draft returns to pending and the
/// conversation to `needs_reply`.
pub async fn undo(
    client: &mut tokio_postgres::Client,
    outbox_id: i64,
    rep: &Rep,
) -> Result<Undone, DbError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_typed_opt(
            "UPDATE outbox SET status = 'cancelled'
             WHERE id = $1 AND status = 'queued' AND send_after > now() AND attempts = 0
             RETURNING message_id, suggestion_id, conversation_id",
            &[(&outbox_id, Type::INT8)],
        )
        .await?;
    let Some(row) = row else {
        let why = tx
            .query_opt(
                "SELECT status, send_after, attempts FROM outbox WHERE id = $1",
                &[&outbox_id],
            )
            .await?;
        tx.rollback().await?;
        return Err(match why {
            None => DbError::NotFound {
                what: "outbox row",
                id: outbox_id,
            },
            Some(r) => {
                let status: OutboxStatus = r.get(0);
                let send_after: DateTime<Utc> = r.get(1);
                let attempts: i32 = r.get(2);
                DbError::UndoTooLate(match status {
                    // Requeued after a failed send: it may have gone out.
                    OutboxStatus::Queued if attempts > 0 => "sending has started".to_string(),
                    OutboxStatus::Queued => format!(
                        "the undo window closed at {}",
                        super::error::human_time(send_after)
                    ),
                    OutboxStatus::Sending => "sending has started".to_string(),
                    OutboxStatus::Sent => "the reply was already sent".to_string(),
                    OutboxStatus::Failed => "delivery already ran (and failed)".to_string(),
                    OutboxStatus::Cancelled => "it was already undone".to_string(),
                })
            }
        });
    };
    let message_id: Option<i64> = row.get(0);
    let suggestion_id: Option<i64> = row.get(1);
    let conversation_id: i64 = row.get(2);
    if let Some(mid) = message_id {
        tx.execute_typed("DELETE FROM messages WHERE id = $1", &[(&mid, Type::INT8)])
            .await?;
    }
    let suggestion_status = match suggestion_id {
        None => None,
        Some(sid) => tx
            .query_typed_opt(
                "UPDATE suggestions s SET
                   status = CASE WHEN EXISTS (
                              SELECT 1 FROM suggestions o
                              WHERE o.conversation_id = s.conversation_id AND o.status = 'pending')
                            THEN 'superseded'::suggestion_status
                            ELSE 'pending'::suggestion_status END,
                   final_body = NULL, edit_distance = NULL, decided_by = NULL, decided_at = NULL
                 WHERE id = $1 AND status IN ('approved', 'edited')
                 RETURNING status = 'pending'",
                &[(&sid, Type::INT8)],
            )
            .await?
            .map(|r| {
                if r.get::<_, bool>(0) {
                    SuggestionStatus::Pending
                } else {
                    SuggestionStatus::Superseded
                }
            }),
    };
    tx.execute_typed(
        "UPDATE conversations c SET status = 'needs_reply',
                message_count = (SELECT count(*) FROM messages WHERE conversation_id = c.id),
                last_outbound_at = (SELECT max(sent_at) FROM messages
                                    WHERE conversation_id = c.id AND direction = 'outbound'),
                last_message_at = coalesce((SELECT max(sent_at) FROM messages
                                            WHERE conversation_id = c.id), c.created_at)
         WHERE id = $1",
        &[(&conversation_id, Type::INT8)],
    )
    .await?;
    events::record(
        &tx,
        Some(rep.id),
        "reply.undone",
        Some(conversation_id),
        suggestion_id,
        serde_json::json!({ "outbox_id": outbox_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(Undone {
        conversation_id,
        suggestion_id,
        suggestion_status,
    })
}
