//! The append-only audit trail.

use super::DbError;
use tokio_postgres::GenericClient;

/// Record that `rep_id` did `kind` to a conversation or suggestion.
pub async fn record(
    client: &impl GenericClient,
    rep_id: Option<i64>,
    kind: &str,
    conversation_id: Option<i64>,
    suggestion_id: Option<i64>,
    details: serde_json::Value,
) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO events (rep_id, kind, conversation_id, suggestion_id, details)
             VALUES ($1, $2, $3, $4, $5)",
            &[&rep_id, &kind, &conversation_id, &suggestion_id, &details],
        )
        .await?;
    Ok(())
}
