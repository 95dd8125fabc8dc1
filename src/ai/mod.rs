//! AI: the `Embedder` and `Drafter` traits, the offline defaults (no key, no
//! network, deterministic) and OpenAI-compatible HTTP providers.
//!
//! Nothing here sends mail: a draft only becomes a reply through a rep's
//! decision in `db::suggestions`.
//!
//! # For callers (commands, worker, TUI)
//!
//! ```text
//! let embedder: Arc<dyn Embedder> = ai::embedder_from(&settings.ai)?;
//! let drafter: Arc<dyn Drafter> = ai::drafter_from(&settings.ai, embedder.clone())?;
//!
//! // Every provider call goes through these two, which write its `ai_runs`
//! // row (ok or error, tokens, cost, duration, items):
//! let out: Embedded = ai::recorded_embed(&**client, &*embedder, &texts).await?;
//! let draft: Draft = ai::recorded_draft(&**client, &*drafter, &request).await?;
//! ```
//!
//! - `embedder.name()` is the `embedding_models.name` to store vectors
//!   under; `embedder.dimensions()` their length. For an OpenAI-compatible
//!   model with `ai.embedding_dimensions = 0` it is 0 until the first
//!   successful `embed` (the answer fixes it): embed first, then register.
//! - Vectors come back in the order of `texts`, L2-normalized for the
//!   offline embedder (cosine = dot product); batching happens inside.
//! - `DraftRequest.examples`: most similar first, from past inbound messages
//!   whose conversations got an approved or edited reply (`score` = cosine
//!   similarity, 1 = identical). `Draft.context` is ready for
//!   `suggestions.context`; `Draft.model`/`usage` for its columns.
//! - Errors: [`RunError`] is an [`AiError`] (one line, never the key) or the
//!   [`DbError`] of recording the run.
//! - [`offline::HashedLexicalEmbedder::embed_one`] is synchronous, for bulk
//!   loaders that embed on their own threads (no `ai_runs` row: nothing
//!   was called).

pub mod offline;
pub mod openai;
pub mod prompt;

use crate::config::AiSettings;
use crate::db::DbError;
use crate::db::ai_runs::{self, AiRun, RunKind};
use futures::future::BoxFuture;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

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
    #[error(
        "the AI provider rejected the API key (HTTP {status}): check ai.api_key / REPLYDESK_AI__API_KEY"
    )]
    BadKey { status: u16 },
    #[error(
        "the AI provider does not know model \"{model}\": check the model name in the [ai] config"
    )]
    UnknownModel { model: String },
    #[error("the AI provider refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the AI provider failed after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    #[error("the AI provider's answer could not be read: {0}")]
    BadResponse(String),
    #[error(
        "the embedding model returned {got} dimensions, but {expected} are configured: set ai.embedding_dimensions to {got} (a new model name registers a new index)"
    )]
    DimensionMismatch { expected: usize, got: usize },
    #[error("AI configuration: {0}")]
    Config(String),
}

/// A provider call that failed, or whose `ai_runs` row could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ai(#[from] AiError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The embedder `[ai]` asks for. A `hashed-lexical-N` model is the offline
/// embedder whatever the provider, so `provider = "openai"` can draft with a
/// chat model and keep lexical embeddings.
pub fn embedder_from(settings: &AiSettings) -> Result<Arc<dyn Embedder>, AiError> {
    let model = settings.embedding_model.trim();
    let lexical = offline::HashedLexicalEmbedder::dimensions_of(model);
    match (settings.provider.as_str(), lexical) {
        ("offline" | "openai", Some(d)) => {
            if settings.embedding_dimensions != 0 && settings.embedding_dimensions != d {
                return Err(AiError::Config(format!(
                    "ai.embedding_model \"{model}\" has {d} dimensions but ai.embedding_dimensions is {}: set it to 0 or use {}{}",
                    settings.embedding_dimensions,
                    offline::LEXICAL_PREFIX,
                    settings.embedding_dimensions
                )));
            }
            Ok(Arc::new(offline::HashedLexicalEmbedder::new(d)))
        }
        ("offline", None) if model.is_empty() => {
            let d = match settings.embedding_dimensions {
                0 => offline::LEXICAL_DIMENSIONS,
                d => d,
            };
            Ok(Arc::new(offline::HashedLexicalEmbedder::new(d)))
        }
        ("offline", None) => Err(AiError::Config(format!(
            "provider \"offline\" has no model \"{model}\": use embedding_model = \"{}{}\", or provider = \"openai\" for a served model",
            offline::LEXICAL_PREFIX,
            offline::LEXICAL_DIMENSIONS
        ))),
        ("openai", None) => Ok(Arc::new(openai::OpenAiEmbedder::new(
            openai::OpenAiConfig::from_settings(settings, model),
        )?)),
        (other, _) => Err(unknown_provider(other)),
    }
}

/// The drafter `[ai]` asks for: retrieval offline, the chat model of an
/// OpenAI-compatible server otherwise. `embedder` names the space the
/// examples are retrieved in.
pub fn drafter_from(
    settings: &AiSettings,
    embedder: Arc<dyn Embedder>,
) -> Result<Arc<dyn Drafter>, AiError> {
    match settings.provider.as_str() {
        "offline" => Ok(Arc::new(offline::RetrievalDrafter::new(embedder.name()))),
        "openai" => Ok(Arc::new(openai::OpenAiDrafter::new(
            openai::OpenAiConfig::from_settings(settings, settings.chat_model.trim()),
        )?)),
        other => Err(unknown_provider(other)),
    }
}

fn unknown_provider(name: &str) -> AiError {
    AiError::Config(format!(
        "unknown ai.provider \"{}\": use \"offline\" (no key, no network) or \"openai\" (any OpenAI-compatible server)",
        crate::text::sanitize_line(name)
    ))
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

/// Embed `texts` and record the call in `ai_runs`.
pub async fn recorded_embed(
    client: &impl tokio_postgres::GenericClient,
    embedder: &dyn Embedder,
    texts: &[String],
) -> Result<Embedded, RunError> {
    if texts.is_empty() {
        // Nothing is called, so there is no run to record.
        return Ok(Embedded {
            vectors: Vec::new(),
            usage: Usage::default(),
        });
    }
    let started = Instant::now();
    let result = embedder.embed(texts).await;
    let usage = result.as_ref().map(|e| e.usage).unwrap_or_default();
    let run = AiRun {
        kind: RunKind::Embed,
        provider: embedder.provider().to_string(),
        model: embedder.name().to_string(),
        error: result.as_ref().err().map(ToString::to_string),
        items: i32::try_from(texts.len()).unwrap_or(i32::MAX),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cost_usd: usage.cost_usd,
        duration_ms: elapsed_ms(started),
        conversation_id: None,
    };
    ai_runs::record(client, &run).await?;
    Ok(result?)
}

/// Draft a reply for `req` and record the call in `ai_runs`.
pub async fn recorded_draft(
    client: &impl tokio_postgres::GenericClient,
    drafter: &dyn Drafter,
    req: &DraftRequest,
) -> Result<Draft, RunError> {
    let started = Instant::now();
    let result = drafter.draft(req).await;
    let usage = result.as_ref().map(|d| d.usage).unwrap_or_default();
    let run = AiRun {
        kind: RunKind::Draft,
        provider: drafter.provider().to_string(),
        model: drafter.name().to_string(),
        error: result.as_ref().err().map(ToString::to_string),
        items: 1,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cost_usd: usage.cost_usd,
        duration_ms: elapsed_ms(started),
        conversation_id: Some(req.conversation_id),
    };
    ai_runs::record(client, &run).await?;
    Ok(result?)
}
