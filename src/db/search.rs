//! Full-text search over messages (websearch syntax).
//!
//! A common word can match most of the table; ranking every match costs a
//! parallel scan. So the newest matches form a bounded candidate set and only
//! those are ranked.

use super::DbError;
use serde::Serialize;
use tokio_postgres::GenericClient;

/// How many of the newest matches are ranked.
pub const CANDIDATES: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub conversation_id: i64,
    pub message_id: i64,
    pub rank: f32,
}

/// The best `limit` messages for a websearch-syntax query, one per conversation.
pub async fn full_text(
    client: &impl GenericClient,
    query: &str,
    limit: i64,
) -> Result<Vec<Hit>, DbError> {
    let rows = client
        .query(
            // The tsquery is written inline (not in a CTE) so the planner
            // sees the words and picks the right plan: a backward scan of
            // the primary key for a common word, the GIN index for a rare one.
            "WITH candidates AS (
               SELECT m.id, m.conversation_id,
                      ts_rank(m.search, websearch_to_tsquery('english', $1)) AS rank
               FROM messages m
               WHERE m.search @@ websearch_to_tsquery('english', $1)
               ORDER BY m.id DESC LIMIT $3),
             ranked AS (
               SELECT DISTINCT ON (conversation_id) conversation_id, id, rank
               FROM candidates
               ORDER BY conversation_id, rank DESC, id DESC)
             SELECT conversation_id, id, rank FROM ranked
             ORDER BY rank DESC, id DESC LIMIT $2",
            &[&query, &limit, &CANDIDATES],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Hit {
            conversation_id: r.get(0),
            message_id: r.get(1),
            rank: r.get(2),
        })
        .collect())
}
