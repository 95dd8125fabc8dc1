//! What `replydesk suggest` asks of the database: which conversations need a
//! draft, superseding drafts that answer an old message, and storing a new
//! draft only while its message is still the latest inbound.

use super::DbError;
use super::suggestions::{NewSuggestion, create_pending};
use tokio_postgres::GenericClient;

/// Which conversations get a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needing {
    /// `needs_reply`, no pending draft, and no draft for the latest inbound
    /// message was rejected (a rep already said no to drafting it).
    Undrafted,
    /// `needs_reply` and no pending draft, rejected ones re-drafted too.
    All,
}

/// A conversation to draft for and the inbound message to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftTarget {
    pub conversation_id: i64,
    pub message_id: i64,
}

/// Pending drafts whose message is no longer the conversation's latest
/// inbound (or that answer nothing) become `superseded`. Returns how many.
pub async fn supersede_stale(
    client: &impl GenericClient,
    conversation_id: Option<i64>,
) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "UPDATE suggestions s SET status = 'superseded'
             WHERE s.status = 'pending'
               AND ($1::bigint IS NULL OR s.conversation_id = $1)
               AND s.for_message_id IS DISTINCT FROM (
                     SELECT m.id FROM messages m
                     WHERE m.conversation_id = s.conversation_id AND m.direction = 'inbound'
                     ORDER BY m.seq DESC LIMIT 1)",
            &[&conversation_id],
        )
        .await?)
}

const NEEDING_WHERE: &str = "c.status = 'needs_reply' AND c.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM suggestions s
                       WHERE s.conversation_id = c.id AND s.status = 'pending')
       AND ($1 OR NOT EXISTS (SELECT 1 FROM suggestions s
                              WHERE s.conversation_id = c.id AND s.for_message_id = li.id
                                AND s.status = 'rejected'))";

const LATEST_INBOUND: &str = "JOIN LATERAL (
         SELECT m.id FROM messages m
         WHERE m.conversation_id = c.id AND m.direction = 'inbound'
         ORDER BY m.seq DESC LIMIT 1) li ON true";

/// The next `limit` conversations needing a draft after `after_id` (keyset
/// on the conversation id).
pub async fn needing(
    client: &impl GenericClient,
    which: Needing,
    after_id: i64,
    limit: i64,
) -> Result<Vec<DraftTarget>, DbError> {
    let all = which == Needing::All;
    let rows = client
        .query(
            &format!(
                "SELECT c.id, li.id FROM conversations c {LATEST_INBOUND}
                 WHERE c.id > $2 AND {NEEDING_WHERE}
                 ORDER BY c.id LIMIT $3"
            ),
            &[&all, &after_id, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DraftTarget {
                conversation_id: r.try_get(0)?,
                message_id: r.try_get(1)?,
            })
        })
        .collect()
}

/// How many conversations [`needing`] would return in all.
pub async fn count_needing(client: &impl GenericClient, which: Needing) -> Result<i64, DbError> {
    let all = which == Needing::All;
    Ok(client
        .query_one(
            &format!("SELECT count(*) FROM conversations c {LATEST_INBOUND} WHERE {NEEDING_WHERE}"),
            &[&all],
        )
        .await?
        .try_get(0)?)
}

/// One conversation asked for by id: its latest inbound message, and
/// whether it already has a pending draft. `None`: no such conversation,
/// or nothing inbound to answer.
pub async fn target(
    client: &impl GenericClient,
    conversation_id: i64,
) -> Result<Option<(DraftTarget, bool)>, DbError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT c.id, li.id,
                        EXISTS (SELECT 1 FROM suggestions s
                                WHERE s.conversation_id = c.id AND s.status = 'pending')
                 FROM conversations c {LATEST_INBOUND}
                 WHERE c.id = $1 AND c.deleted_at IS NULL"
            ),
            &[&conversation_id],
        )
        .await?;
    row.map(|r| {
        Ok((
            DraftTarget {
                conversation_id: r.try_get(0)?,
                message_id: r.try_get(1)?,
            },
            r.try_get(2)?,
        ))
    })
    .transpose()
}

/// Tokens, cost and time a draft took, stored with it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DraftCost {
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub cost_usd: f64,
    pub latency_ms: i32,
}

/// What happened to a draft offered for storing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created(i64),
    /// Another draft is pending (another `suggest` won the race).
    AlreadyPending,
    /// A newer inbound message arrived while drafting: this one is moot.
    Stale,
}

/// Store a pending draft, only while its message is still the latest
/// inbound. The conversation row is share-locked, so an arriving message
/// (which updates that row and supersedes pending drafts in the same
/// transaction) either is seen here or supersedes this draft after it.
/// At most one pending per conversation holds by the unique index.
pub async fn store_draft(
    client: &mut tokio_postgres::Client,
    s: &NewSuggestion,
    cost: DraftCost,
) -> Result<Stored, DbError> {
    let tx = client.transaction().await?;
    let current = tx
        .query_opt(
            "SELECT (SELECT m.id FROM messages m
                     WHERE m.conversation_id = c.id AND m.direction = 'inbound'
                     ORDER BY m.seq DESC LIMIT 1)
             FROM conversations c WHERE c.id = $1 AND c.deleted_at IS NULL FOR SHARE",
            &[&s.conversation_id],
        )
        .await?
        .map(|r| r.try_get::<_, Option<i64>>(0))
        .transpose()?
        .flatten();
    if current.is_none() || current != s.for_message_id {
        tx.rollback().await?;
        return Ok(Stored::Stale);
    }
    let Some(id) = create_pending(&tx, s).await? else {
        tx.rollback().await?;
        return Ok(Stored::AlreadyPending);
    };
    tx.execute(
        "UPDATE suggestions SET prompt_tokens = $2, completion_tokens = $3, cost_usd = $4,
                latency_ms = $5
         WHERE id = $1",
        &[
            &id,
            &cost.prompt_tokens.max(0),
            &cost.completion_tokens.max(0),
            &(if cost.cost_usd.is_finite() {
                cost.cost_usd.max(0.0)
            } else {
                0.0
            }),
            &cost.latency_ms.max(0),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Stored::Created(id))
}
