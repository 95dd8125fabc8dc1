//! OpenAI-compatible providers over reqwest: `POST {base}/v1/embeddings` and
//! `POST {base}/v1/chat/completions`, which OpenAI, Ollama, vLLM and
//! llama.cpp's server all speak.
//!
//! Timeouts per request; a timeout, a 429 or a 5xx is retried with
//! exponential backoff and jitter, honouring `Retry-After`; any other 4xx
//! is final and says what was wrong. The API key goes only into the
//! `Authorization` header: it is a [`Secret`] (Debug prints `***`) and is
//! cut out of anything a server echoes back.

use super::prompt::{self, MAX_EXAMPLES};
use super::{AiError, Draft, DraftRequest, Drafter, Embedded, Embedder, Usage};
use crate::config::{AiSettings, Secret};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";
/// Longest server error text passed on to a rep.
const MAX_SERVER_MESSAGE: usize = 300;
/// Longest single input sent for embedding (~2K tokens): what a message is
/// about is in its first pages, and servers refuse over-long inputs.
const MAX_EMBED_CHARS: usize = 8_000;

/// When and how often to try again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// 0..=1: the share of a wait taken off at random, so clients that
    /// failed together do not retry together.
    pub jitter: f64,
    /// A `Retry-After` longer than this is not waited out: the call gives up.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 = the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2f64.powi(retry.saturating_sub(1).min(30) as i32);
        let full = self
            .base_delay
            .mul_f64(factor)
            .min(self.max_delay.max(self.base_delay));
        full.mul_f64(1.0 - self.jitter.clamp(0.0, 1.0) * random_unit())
    }
}

/// A number in [0, 1) that differs between calls (std's per-instance
/// random hasher keys; jitter needs no more than that).
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// How to reach one model on one server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The server root, e.g. `http://localhost:11434`; a trailing `/v1` is
    /// tolerated.
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
    /// Embeddings: the vector length to ask for and expect; 0 takes the
    /// model's own (its first answer fixes it).
    pub dimensions: usize,
    /// Per request, connecting included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Texts per embeddings request.
    pub batch_size: usize,
    pub prompt_price_per_1k: f64,
    pub completion_price_per_1k: f64,
}

impl OpenAiConfig {
    /// From the `[ai]` settings, for `model`.
    pub fn from_settings(s: &AiSettings, model: &str) -> OpenAiConfig {
        OpenAiConfig {
            base_url: s.base_url.clone(),
            api_key: s.api_key.clone(),
            model: model.to_string(),
            dimensions: s.embedding_dimensions,
            timeout: Duration::from_secs(s.timeout_secs.max(1)),
            retry: RetryPolicy {
                max_attempts: s.max_retries.saturating_add(1),
                ..RetryPolicy::default()
            },
            batch_size: s.batch_size.max(1),
            prompt_price_per_1k: s.prompt_price_per_1k,
            completion_price_per_1k: s.completion_price_per_1k,
        }
    }

    fn usage(&self, prompt_tokens: i64, completion_tokens: i64) -> Usage {
        let p = prompt_tokens.clamp(0, i64::from(i32::MAX));
        let c = completion_tokens.clamp(0, i64::from(i32::MAX));
        let cost = (p as f64 * self.prompt_price_per_1k + c as f64 * self.completion_price_per_1k)
            / 1000.0;
        Usage {
            prompt_tokens: p as i32,
            completion_tokens: c as i32,
            cost_usd: if cost.is_finite() { cost.max(0.0) } else { 0.0 },
        }
    }
}

/// The server root without a trailing `/` or `/v1`.
fn normalize_base(base: &str) -> String {
    let b = base.trim();
    let b = if b.is_empty() { DEFAULT_BASE_URL } else { b };
    let b = b.trim_end_matches('/');
    b.strip_suffix("/v1").unwrap_or(b).to_string()
}

/// The HTTP half both providers share: one client, one retry loop.
#[derive(Debug)]
struct Http {
    client: reqwest::Client,
    base: String,
    key: Secret,
    timeout: Duration,
    retry: RetryPolicy,
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}

impl Http {
    fn new(cfg: &OpenAiConfig) -> Result<Http, AiError> {
        let base = normalize_base(&cfg.base_url);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AiError::Config(format!(
                "ai.base_url \"{base}\" is not an http(s) URL: use e.g. http://localhost:11434 or {DEFAULT_BASE_URL}"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .timeout(cfg.timeout)
            .user_agent(concat!("replydesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AiError::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Http {
            client,
            base,
            key: cfg.api_key.clone(),
            timeout: cfg.timeout,
            retry: cfg.retry.clone(),
        })
    }

    /// POST `body` to `path`; the parsed JSON answer, after retries.
    async fn post(&self, path: &str, body: &Value, model: &str) -> Result<Value, AiError> {
        let url = format!("{}{path}", self.base);
        let attempts = self.retry.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            let (reason, after) = match self.attempt(&url, body, model).await? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry { reason, after } => (reason, after),
            };
            last = reason;
            if attempt == attempts {
                break;
            }
            let wait = match after {
                Some(d) if d > self.retry.max_retry_after => {
                    return Err(AiError::GaveUp {
                        attempts: attempt,
                        last: format!(
                            "{last}; the server asked to wait {}s, longer than replydesk waits",
                            d.as_secs()
                        ),
                    });
                }
                Some(d) => d,
                None => self.retry.backoff(attempt),
            };
            tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, reason = %last, "AI provider call failed; retrying");
            tokio::time::sleep(wait).await;
        }
        Err(AiError::GaveUp { attempts, last })
    }

    async fn attempt(&self, url: &str, body: &Value, model: &str) -> Result<Attempt, AiError> {
        let mut request = self.client.post(url).json(body);
        if !self.key.is_empty() {
            request = request.bearer_auth(self.key.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Attempt::Retry {
                    reason: self.describe(&e),
                    after: None,
                });
            }
        };
        let status = response.status();
        let after = retry_after(response.headers());
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Ok(Attempt::Retry {
                    reason: self.describe(&e),
                    after: None,
                });
            }
        };
        if status.is_success() {
            return serde_json::from_str(&text).map(Attempt::Done).map_err(|e| {
                AiError::BadResponse(format!(
                    "{url} answered HTTP {} with something that is not JSON ({e}): {}",
                    status.as_u16(),
                    self.clean(&text)
                ))
            });
        }
        let message = self.server_message(&text);
        let code = status.as_u16();
        if code == 429 || code == 408 || status.is_server_error() {
            return Ok(Attempt::Retry {
                reason: format!("HTTP {code}: {message}"),
                after,
            });
        }
        Err(classify(code, &message, &text, model, url, body))
    }

    /// One line for a transport error, without the key.
    fn describe(&self, e: &reqwest::Error) -> String {
        let what = if e.is_timeout() {
            format!("no answer within {}s", self.timeout.as_secs_f64())
        } else if e.is_connect() {
            format!("cannot connect to {}", self.base)
        } else {
            "the request failed".to_string()
        };
        let mut causes = Vec::new();
        let mut src = std::error::Error::source(e);
        while let Some(c) = src {
            let s = c.to_string();
            if !causes.contains(&s) {
                causes.push(s);
            }
            src = c.source();
        }
        let detail = causes.last().map(|c| format!(" ({c})")).unwrap_or_default();
        self.clean(&format!("{what}{detail}"))
    }

    /// The error text out of an error body (OpenAI, vLLM, Ollama and
    /// llama.cpp shapes), else the body itself.
    fn server_message(&self, body: &str) -> String {
        let v: Option<Value> = serde_json::from_str(body).ok();
        let msg = v.as_ref().and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error").filter(|e| e.is_string()))
                .or_else(|| v.get("message"))
                .or_else(|| v.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let msg = msg.unwrap_or_else(|| body.to_string());
        let msg = self.clean(&msg);
        if msg.is_empty() {
            "(no message)".to_string()
        } else {
            msg
        }
    }

    /// Outside text made safe for one line of output: no controls, no key,
    /// not too long.
    fn clean(&self, s: &str) -> String {
        let mut out = crate::text::sanitize_line(s);
        let key = self.key.expose();
        if !key.is_empty() {
            out = out.replace(key, "***");
            // Servers echo keys partly masked ("sk-abc…xyz"): cut any word
            // holding a long enough piece of it.
            let n = key.chars().count();
            if n >= 12 {
                let head: String = key.chars().take(8).collect();
                let tail: String = key.chars().skip(n - 8).collect();
                out = out
                    .split(' ')
                    .map(|w| {
                        if w.contains(&head) || w.contains(&tail) {
                            "***"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        if out.chars().count() > MAX_SERVER_MESSAGE {
            out = out.chars().take(MAX_SERVER_MESSAGE).collect::<String>() + "…";
        }
        out
    }
}

/// A final (non-retried) HTTP error, said plainly.
fn classify(code: u16, message: &str, raw: &str, model: &str, url: &str, body: &Value) -> AiError {
    let lower = raw.to_ascii_lowercase();
    let about_model = lower.contains("model_not_found")
        || (lower.contains("model") && (lower.contains("not found") || lower.contains("exist")));
    match code {
        401 | 403 => AiError::BadKey { status: code },
        404 if about_model => AiError::UnknownModel {
            model: model.to_string(),
        },
        404 => AiError::Rejected {
            status: code,
            message: format!(
                "nothing at {url} ({message}): check ai.base_url, the server root without /v1"
            ),
        },
        _ if lower.contains("model_not_found") => AiError::UnknownModel {
            model: model.to_string(),
        },
        _ if body.get("dimensions").is_some() && lower.contains("dimension") => AiError::Rejected {
            status: code,
            message: format!(
                "{message} (set ai.embedding_dimensions = 0 to take the model's own length)"
            ),
        },
        _ => AiError::Rejected {
            status: code,
            message: message.to_string(),
        },
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    parse_retry_after(raw, chrono::Utc::now())
}

pub fn parse_retry_after(raw: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Embeddings from an OpenAI-compatible `/v1/embeddings`.
#[derive(Debug)]
pub struct OpenAiEmbedder {
    http: Http,
    cfg: OpenAiConfig,
    /// The configured length, or the first answer's when none is.
    dimensions: AtomicUsize,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

#[derive(Deserialize, Default)]
struct TokenUsage {
    #[serde(default)]
    prompt_tokens: Option<i64>,
    #[serde(default)]
    completion_tokens: Option<i64>,
    #[serde(default)]
    total_tokens: Option<i64>,
}

impl OpenAiEmbedder {
    pub fn new(cfg: OpenAiConfig) -> Result<OpenAiEmbedder, AiError> {
        if cfg.model.trim().is_empty() {
            return Err(AiError::Config(
                "ai.embedding_model is empty: name the server's embedding model (e.g. text-embedding-3-small, nomic-embed-text)".into(),
            ));
        }
        Ok(OpenAiEmbedder {
            http: Http::new(&cfg)?,
            dimensions: AtomicUsize::new(cfg.dimensions),
            cfg,
        })
    }

    async fn embed_all(&self, texts: &[String]) -> Result<Embedded, AiError> {
        let mut vectors = Vec::with_capacity(texts.len());
        let mut tokens = 0i64;
        for chunk in texts.chunks(self.cfg.batch_size.max(1)) {
            let input: Vec<String> = chunk.iter().map(|t| embeddable(t)).collect();
            let mut body = json!({"model": self.cfg.model, "input": input});
            if self.cfg.dimensions > 0 {
                body["dimensions"] = json!(self.cfg.dimensions);
            }
            let answer = self
                .http
                .post("/v1/embeddings", &body, &self.cfg.model)
                .await?;
            let mut parsed: EmbeddingsResponse = serde_json::from_value(answer).map_err(|e| {
                AiError::BadResponse(format!(
                    "the embeddings answer has an unexpected shape: {e}"
                ))
            })?;
            if parsed.data.len() != chunk.len() {
                return Err(AiError::BadResponse(format!(
                    "asked for {} embeddings, got {}",
                    chunk.len(),
                    parsed.data.len()
                )));
            }
            parsed.data.sort_by_key(|d| d.index.unwrap_or(usize::MAX));
            for item in parsed.data {
                self.check_dimensions(item.embedding.len())?;
                if item.embedding.iter().any(|x| !x.is_finite()) {
                    return Err(AiError::BadResponse(
                        "an embedding holds a NaN or infinite value".into(),
                    ));
                }
                vectors.push(item.embedding);
            }
            let u = parsed.usage.unwrap_or_default();
            tokens += u.prompt_tokens.or(u.total_tokens).unwrap_or(0);
        }
        Ok(Embedded {
            vectors,
            usage: self.cfg.usage(tokens, 0),
        })
    }

    /// The first answer fixes the length when none is configured; any other
    /// length after that is refused.
    fn check_dimensions(&self, got: usize) -> Result<(), AiError> {
        if got == 0 {
            return Err(AiError::BadResponse("an embedding is empty".into()));
        }
        match self
            .dimensions
            .compare_exchange(0, got, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Ok(()),
            Err(expected) if expected == got => Ok(()),
            Err(expected) => Err(AiError::DimensionMismatch { expected, got }),
        }
    }
}

/// Servers refuse empty inputs and over-long ones.
fn embeddable(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        " ".to_string()
    } else {
        t.chars().take(MAX_EMBED_CHARS).collect()
    }
}

impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        &self.cfg.model
    }
    /// 0 until the first answer when `ai.embedding_dimensions` is 0.
    fn dimensions(&self) -> usize {
        self.dimensions.load(Ordering::SeqCst)
    }
    fn provider(&self) -> &str {
        "openai"
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Embedded, AiError>> {
        Box::pin(self.embed_all(texts))
    }
}

/// Drafts from an OpenAI-compatible `/v1/chat/completions` in JSON mode.
#[derive(Debug)]
pub struct OpenAiDrafter {
    http: Http,
    cfg: OpenAiConfig,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<ChatChoice>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: ChatMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    content: Option<String>,
}

/// The model's JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReply {
    pub reply: String,
    pub confidence: f32,
    pub sentiment: Option<String>,
}

impl OpenAiDrafter {
    pub fn new(cfg: OpenAiConfig) -> Result<OpenAiDrafter, AiError> {
        if cfg.model.trim().is_empty() {
            return Err(AiError::Config(
                "ai.chat_model is empty: name the server's chat model (e.g. gpt-4o-mini, llama3.1), or use provider = \"offline\"".into(),
            ));
        }
        Ok(OpenAiDrafter {
            http: Http::new(&cfg)?,
            cfg,
        })
    }

    async fn draft_one(&self, req: &DraftRequest) -> Result<Draft, AiError> {
        let p = prompt::draft_prompt(req);
        let body = json!({
            "model": self.cfg.model,
            "messages": [
                {"role": "system", "content": p.system},
                {"role": "user", "content": p.user},
            ],
            "response_format": {"type": "json_object"},
        });
        let answer = self
            .http
            .post("/v1/chat/completions", &body, &self.cfg.model)
            .await?;
        let parsed: ChatResponse = serde_json::from_value(answer).map_err(|e| {
            AiError::BadResponse(format!("the chat answer has an unexpected shape: {e}"))
        })?;
        let u = parsed.usage.unwrap_or_default();
        let usage = self.cfg.usage(
            u.prompt_tokens.unwrap_or(0),
            u.completion_tokens.unwrap_or(0),
        );
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| AiError::BadResponse("the chat answer has no choices".into()))?;
        let content = choice.message.content.unwrap_or_default();
        let reply = parse_reply(&content).map_err(|e| match choice.finish_reason.as_deref() {
            Some("length") => AiError::BadResponse(
                "the model stopped at its token limit before finishing the JSON".into(),
            ),
            _ => e,
        })?;
        let based_on: Vec<Value> = req
            .examples
            .iter()
            .take(MAX_EXAMPLES)
            .map(|e| {
                let score = if e.score.is_finite() { e.score } else { 0.0 };
                json!({
                    "conversation_id": e.conversation_id,
                    "score": (f64::from(score) * 100.0).round() / 100.0,
                })
            })
            .collect();
        Ok(Draft {
            reply: reply.reply,
            confidence: reply.confidence,
            sentiment: reply.sentiment,
            model: self.cfg.model.clone(),
            usage,
            context: json!({"based_on": based_on, "drafter": "openai"}),
        })
    }
}

impl Drafter for OpenAiDrafter {
    fn name(&self) -> &str {
        &self.cfg.model
    }
    fn provider(&self) -> &str {
        "openai"
    }
    fn draft<'a>(&'a self, req: &'a DraftRequest) -> BoxFuture<'a, Result<Draft, AiError>> {
        Box::pin(self.draft_one(req))
    }
}

/// `{reply, confidence, sentiment}` out of a model's answer, which may be
/// wrapped in a code fence or prose; confidence may come as a string or a
/// percentage.
pub fn parse_reply(content: &str) -> Result<ParsedReply, AiError> {
    let snippet = || {
        let s = crate::text::sanitize_line(content);
        let cut: String = s.chars().take(120).collect();
        if cut.is_empty() {
            "(empty)".to_string()
        } else {
            cut
        }
    };
    let start = content.find('{');
    let end = content.rfind('}');
    let json_text = match (start, end) {
        (Some(s), Some(e)) if s < e => &content[s..=e],
        _ => {
            return Err(AiError::BadResponse(format!(
                "the model did not answer with a JSON object: {}",
                snippet()
            )));
        }
    };
    let v: Value = serde_json::from_str(json_text).map_err(|e| {
        AiError::BadResponse(format!(
            "the model's JSON is not valid ({e}): {}",
            snippet()
        ))
    })?;
    let reply = v
        .get("reply")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            AiError::BadResponse(format!("the model's JSON has no \"reply\": {}", snippet()))
        })?
        .to_string();
    let raw = match v.get("confidence") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().trim_end_matches('%').trim().parse().ok(),
        _ => None,
    };
    let confidence = match raw {
        Some(c) if c.is_finite() && c > 1.0 && c <= 100.0 => c / 100.0,
        Some(c) if c.is_finite() => c.clamp(0.0, 1.0),
        // Unstated: the middle, so it sorts neither first nor last.
        _ => 0.5,
    } as f32;
    let sentiment = v
        .get("sentiment")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase())
        .and_then(|s| {
            if s.starts_with("pos") {
                Some("positive")
            } else if s.starts_with("neg") {
                Some("negative")
            } else if s.starts_with("neu") || s == "mixed" {
                Some("neutral")
            } else {
                None
            }
        })
        .map(str::to_string);
    Ok(ParsedReply {
        reply,
        confidence,
        sentiment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below() {
        let p = RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            jitter: 0.0,
            max_retry_after: Duration::from_secs(60),
        };
        let waits: Vec<u128> = (1..=6).map(|r| p.backoff(r).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        let j = RetryPolicy { jitter: 0.5, ..p };
        for r in 1..=6 {
            let w = j.backoff(r);
            assert!(w <= Duration::from_millis(1000));
            assert!(w >= Duration::from_millis(50));
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.25", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn replies_parse_through_fences_and_loose_types() {
        let fenced = "```json\n{\"reply\": \"Hi Omar\", \"confidence\": 0.8, \"sentiment\": \"Positive\"}\n```";
        let r = parse_reply(fenced).expect("fenced");
        assert_eq!(r.reply, "Hi Omar");
        assert!((r.confidence - 0.8).abs() < 1e-6);
        assert_eq!(r.sentiment.as_deref(), Some("positive"));
        let loose = parse_reply("Sure! {\"reply\":\"Yes\",\"confidence\":\"85%\"}").expect("loose");
        assert!((loose.confidence - 0.85).abs() < 1e-6);
        assert_eq!(loose.sentiment, None);
        assert!(
            (parse_reply("{\"reply\":\"x\",\"confidence\":7}")
                .expect("pct")
                .confidence
                - 0.07)
                .abs()
                < 1e-6
        );
        assert_eq!(
            parse_reply("{\"reply\":\"x\",\"confidence\":-3}")
                .expect("neg")
                .confidence,
            0.0
        );
        for bad in [
            "",
            "no json here",
            "{\"confidence\": 1}",
            "{\"reply\": \"\"}",
            "{broken",
        ] {
            assert!(
                matches!(parse_reply(bad), Err(AiError::BadResponse(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(normalize_base(""), DEFAULT_BASE_URL);
        assert_eq!(normalize_base("http://h:11434/"), "http://h:11434");
        assert_eq!(normalize_base("http://h:8080/v1/"), "http://h:8080");
    }

    #[test]
    fn the_key_is_cut_from_server_text_and_debug() {
        let cfg = OpenAiConfig {
            base_url: "http://127.0.0.1:9".into(),
            api_key: Secret::new("sk-test-0123456789abcdefXYZ"),
            model: "m".into(),
            dimensions: 0,
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            batch_size: 8,
            prompt_price_per_1k: 0.0,
            completion_price_per_1k: 0.0,
        };
        let http = Http::new(&cfg).expect("client");
        let m = http.server_message(
            r#"{"error":{"message":"Incorrect API key provided: sk-test-0123456789abcdefXYZ or sk-test-01***defXYZ\u001b[2J"}}"#,
        );
        assert!(!m.contains("0123456789"), "{m}");
        assert!(!m.contains("abcdefXYZ"), "{m}");
        assert!(!m.contains('\u{1b}'));
        assert!(m.starts_with("Incorrect API key provided: ***"));
        let embedder = OpenAiEmbedder::new(cfg).expect("embedder");
        assert!(!format!("{embedder:?}").contains("sk-test"));
        assert!(http.server_message(&"x".repeat(1000)).chars().count() <= 301);
    }
}
