//! `ai_runs`: one row per provider call (embed or draft), ok or not, with
//! its tokens, cost and duration. `replydesk stats` sums them.

use super::DbError;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

/// Longest error text kept; the rest is cut at a character boundary.
const MAX_ERROR_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Embed,
    Draft,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Embed => "embed",
            RunKind::Draft => "draft",
        }
    }
}

/// One provider call. `error` is `None` for a call that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct AiRun {
    pub kind: RunKind,
    pub provider: String,
    pub model: String,
    pub error: Option<String>,
    /// Texts embedded, or 1 for a draft.
    pub items: i32,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub cost_usd: f64,
    pub duration_ms: i32,
    pub conversation_id: Option<i64>,
}

/// Insert `run`; returns its id.
pub async fn record(client: &impl GenericClient, run: &AiRun) -> Result<i64, DbError> {
    let status = if run.error.is_some() { "error" } else { "ok" };
    let error = run
        .error
        .as_deref()
        .map(|e| e.chars().take(MAX_ERROR_CHARS).collect::<String>());
    let cost = if run.cost_usd.is_finite() {
        run.cost_usd.max(0.0)
    } else {
        0.0
    };
    let row = client
        .query_typed_one(
            "INSERT INTO ai_runs (kind, provider, model, status, error, items, prompt_tokens,
                                  completion_tokens, cost_usd, duration_ms, conversation_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             RETURNING id",
            &[
                (&run.kind.as_str(), Type::TEXT),
                (&run.provider, Type::TEXT),
                (&run.model, Type::TEXT),
                (&status, Type::TEXT),
                (&error, Type::TEXT),
                (&run.items.max(0), Type::INT4),
                (&run.prompt_tokens.max(0), Type::INT4),
                (&run.completion_tokens.max(0), Type::INT4),
                (&cost, Type::FLOAT8),
                (&run.duration_ms.max(0), Type::INT4),
                (&run.conversation_id, Type::INT8),
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}
