//! The append-only audit trail.

use super::DbError;
use tokio_postgres::types::Type;

/// Record that `rep_id` did `kind` to a conversation or suggestion, inside
/// the transaction that did it.
pub async fn record(
    tx: &tokio_postgres::Transaction<'_>,
    rep_id: Option<i64>,
    kind: &str,
    conversation_id: Option<i64>,
    suggestion_id: Option<i64>,
    details: serde_json::Value,
) -> Result<(), DbError> {
    // One round trip: the statement is sent typed, not prepared first.
    tx.execute_typed(
        "INSERT INTO events (rep_id, kind, conversation_id, suggestion_id, details)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            (&rep_id, Type::INT8),
            (&kind, Type::TEXT),
            (&conversation_id, Type::INT8),
            (&suggestion_id, Type::INT8),
            (&details, Type::JSONB),
        ],
    )
    .await?;
    Ok(())
}
