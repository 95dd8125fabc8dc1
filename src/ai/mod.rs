//! AI: the `Embedder` and `Drafter` traits, the offline defaults (no key, no
//! network, deterministic) and OpenAI-compatible HTTP providers.
//!
//! Nothing here sends mail: a draft only becomes a reply through a rep's
//! decision in `db::suggestions`.

use futures::future::BoxFuture;
use serde::Serialize;

/// Tokens and money one provider call cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub cost_usd: f64,
}

/// Vectors for a batch of texts, in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub usage: Usage,
}

/// Turns texts into vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// The model name, as registered in `embedding_models`.
    fn name(&self) -> &str;
    /// Vector length; a model registered with another length is refused.
    fn dimensions(&self) -> usize;
    /// `offline` or the provider kind, for `ai_runs`.
    fn provider(&self) -> &str;
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Embedded, AiError>>;
}

/// One message of the thread a draft answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadMessage {
    pub inbound: bool,
    pub from: String,
    pub text: String,
}

/// A past inbound message similar to the one being answered, and the reply
/// a rep approved (or edited) for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub conversation_id: i64,
    pub score: f32,
    pub inbound: String,
    pub reply: String,
    pub lead_name: String,
    pub subject: String,
}

/// Everything a drafter may use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftRequest {
    pub conversation_id: i64,
    pub lead_name: String,
    pub subject: String,
    pub rep_name: String,
    /// Oldest first; the last inbound is the one to answer.
    pub thread: Vec<ThreadMessage>,
    /// Most similar first.
    pub examples: Vec<Example>,
}

/// A drafted reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub reply: String,
    /// 0..=1.
    pub confidence: f32,
    pub sentiment: Option<String>,
    pub model: String,
    pub usage: Usage,
    /// What it was based on (stored in `suggestions.context`).
    pub context: serde_json::Value,
}

/// Writes a reply for a thread.
pub trait Drafter: Send + Sync {
    fn name(&self) -> &str;
    fn provider(&self) -> &str;
    fn draft<'a>(&'a self, req: &'a DraftRequest) -> BoxFuture<'a, Result<Draft, AiError>>;
}

/// What went wrong talking to a model; one line each, never a key.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("the AI provider rejected the API key (HTTP {status}): check ai.api_key / REPLYDESK_AI__API_KEY")]
    BadKey { status: u16 },
    #[error("the AI provider does not know model \"{model}\": check the model name in the [ai] config")]
    UnknownModel { model: String },
    #[error("the AI provider refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the AI provider failed after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    #[error("the AI provider's answer could not be read: {0}")]
    BadResponse(String),
    #[error("the embedding model returned {got} dimensions, but {expected} are configured: set ai.embedding_dimensions to {got} (a new model name registers a new index)")]
    DimensionMismatch { expected: usize, got: usize },
    #[error("AI configuration: {0}")]
    Config(String),
}
