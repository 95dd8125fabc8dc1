//! `replydesk suggest [--all | --conversation ID]`: draft replies for
//! conversations that need one. First, pending drafts answering a message
//! that is no longer the latest inbound are superseded; then each
//! conversation needing a reply and without a pending draft gets one:
//! the thread, the most similar past inbound messages that got an approved
//! or edited reply (by the latest inbound's embedding, embedded on the spot
//! if `embed` has not reached it), the drafter, and `store_draft`, which
//! never leaves two pending drafts for one conversation, however many
//! `suggest` run at once.

use super::embed::{AiOpError, embed_texts};
use crate::ai::{DraftRequest, Drafter, Embedder, ThreadMessage};
use crate::cli::SuggestArgs;
use crate::commands::{AppError, Context};
use crate::db::ai_runs::{self, AiRun, RunKind};
use crate::db::drafting::{self, DraftCost, DraftTarget, Needing, Stored};
use crate::db::suggestions::NewSuggestion;
use crate::db::{DbError, Direction, Pool, embeddings, messages};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{Mutex, mpsc};

/// Past replies handed to the drafter.
pub const EXAMPLES: usize = 5;
/// Thread messages handed to the drafter (newest).
pub const THREAD_MESSAGES: i64 = 20;
/// Consecutive provider failures after which `suggest` gives up.
const MAX_CONSECUTIVE_FAILURES: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Needs a reply, no pending draft, latest message not already rejected.
    Undrafted,
    /// Also re-draft conversations whose draft a rep rejected.
    All,
    Conversation(i64),
}

#[derive(Debug, Clone)]
pub struct SuggestOptions {
    pub which: Which,
    /// Conversations drafted at once.
    pub workers: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuggestReport {
    pub superseded: u64,
    pub drafted: u64,
    /// Skipped: a draft was already pending (e.g. another `suggest` won).
    pub already_pending: u64,
    /// Skipped: a newer message arrived while drafting.
    pub stale: u64,
    pub failed: u64,
    pub seconds: f64,
}

struct Shared {
    embedder: Arc<dyn Embedder>,
    drafter: Arc<dyn Drafter>,
    report: Mutex<SuggestReport>,
    consecutive_failures: AtomicU64,
}

/// The latest inbound's vector, embedding (and storing) it if needed.
async fn query_vector(
    client: &mut tokio_postgres::Client,
    embedder: &Arc<dyn Embedder>,
    message_id: i64,
) -> Result<Option<Vec<f32>>, AiOpError> {
    let model = embedder.name();
    if let Some(v) = embeddings::vector_of(&*client, message_id, model).await? {
        return Ok(Some(v));
    }
    let Some(m) = embeddings::message_to_embed(&*client, message_id).await? else {
        return Ok(None);
    };
    let started = Instant::now();
    let result = embed_texts(embedder, vec![m.text()]).await;
    let mut run = AiRun {
        kind: RunKind::Embed,
        provider: embedder.provider().to_string(),
        model: model.to_string(),
        error: None,
        items: 1,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        duration_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
        conversation_id: None,
    };
    let embedded = match result {
        Ok(e) => e,
        Err(e) => {
            run.error = Some(e.to_string());
            ai_runs::record(&*client, &run).await?;
            return Err(e.into());
        }
    };
    run.prompt_tokens = embedded.usage.prompt_tokens;
    run.cost_usd = embedded.usage.cost_usd;
    ai_runs::record(&*client, &run).await?;
    let Some(v) = embedded.vectors.into_iter().next() else {
        return Ok(None);
    };
    embeddings::register_row(&*client, model, embedder.dimensions()).await?;
    embeddings::copy_in(
        client,
        model,
        embedder.dimensions(),
        &[(message_id, v.clone())],
    )
    .await?;
    Ok(Some(v))
}

/// Draft and store one conversation's reply.
async fn draft_one(
    client: &mut tokio_postgres::Client,
    shared: &Shared,
    t: DraftTarget,
) -> Result<Stored, AiOpError> {
    let thread = match messages::thread(client, t.conversation_id, None, THREAD_MESSAGES).await {
        Ok(th) => th,
        Err(DbError::NotFound { .. }) => return Ok(Stored::Stale),
        Err(e) => return Err(e.into()),
    };
    let model = shared.embedder.name().to_string();
    let dims = shared.embedder.dimensions();
    let examples = match query_vector(client, &shared.embedder, t.message_id).await? {
        Some(v) => {
            embeddings::similar_to_vector(
                client,
                &v,
                &model,
                dims,
                Some(t.conversation_id),
                EXAMPLES,
            )
            .await?
        }
        None => Vec::new(),
    };
    let conv = &thread.conversation;
    let req = DraftRequest {
        conversation_id: t.conversation_id,
        lead_name: conv.lead_name.clone(),
        subject: conv.subject.clone(),
        rep_name: conv
            .owner
            .clone()
            .unwrap_or_else(|| "The sales team".to_string()),
        thread: thread
            .messages
            .iter()
            .map(|m| ThreadMessage {
                inbound: m.direction == Direction::Inbound,
                from: m.from_addr.clone(),
                text: if m.body_is_html {
                    crate::text::html_to_text(&m.body, 100)
                } else {
                    m.body.clone()
                },
            })
            .collect(),
        examples,
    };
    let started = Instant::now();
    let result = shared.drafter.draft(&req).await;
    let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let mut run = AiRun {
        kind: RunKind::Draft,
        provider: shared.drafter.provider().to_string(),
        model: shared.drafter.name().to_string(),
        error: None,
        items: 1,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        duration_ms: latency_ms,
        conversation_id: Some(t.conversation_id),
    };
    let draft = match result {
        Ok(d) => d,
        Err(e) => {
            run.error = Some(e.to_string());
            ai_runs::record(&*client, &run).await?;
            return Err(e.into());
        }
    };
    run.model = draft.model.clone();
    run.prompt_tokens = draft.usage.prompt_tokens;
    run.completion_tokens = draft.usage.completion_tokens;
    run.cost_usd = draft.usage.cost_usd;
    ai_runs::record(&*client, &run).await?;
    let confidence = if draft.confidence.is_finite() {
        draft.confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(drafting::store_draft(
        client,
        &NewSuggestion {
            conversation_id: t.conversation_id,
            for_message_id: Some(t.message_id),
            body: draft.reply,
            confidence,
            sentiment: draft.sentiment,
            model: draft.model,
            context: draft.context,
        },
        DraftCost {
            prompt_tokens: draft.usage.prompt_tokens,
            completion_tokens: draft.usage.completion_tokens,
            cost_usd: draft.usage.cost_usd,
            latency_ms,
        },
    )
    .await?)
}

async fn tally(shared: &Shared, outcome: Result<Stored, AiOpError>) -> Result<(), AiOpError> {
    let mut r = shared.report.lock().await;
    match outcome {
        Ok(Stored::Created(_)) => r.drafted += 1,
        Ok(Stored::AlreadyPending) => r.already_pending += 1,
        Ok(Stored::Stale) => r.stale += 1,
        Err(AiOpError::Ai(e)) => {
            r.failed += 1;
            let n = shared.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= MAX_CONSECUTIVE_FAILURES {
                return Err(AiOpError::Failed(format!(
                    "drafting failed {n} times in a row, stopping: {e}"
                )));
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    shared.consecutive_failures.store(0, Ordering::Relaxed);
    Ok(())
}

/// Supersede stale drafts, then draft for every conversation `which`
/// selects. `progress(done, total)` is called after each conversation.
pub async fn suggest(
    pool: &Pool,
    embedder: Arc<dyn Embedder>,
    drafter: Arc<dyn Drafter>,
    opts: &SuggestOptions,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Result<SuggestReport, AiOpError> {
    let started = Instant::now();
    let control = crate::db::pool::client(pool).await?;
    let one = match opts.which {
        Which::Conversation(id) => Some(id),
        _ => None,
    };
    let superseded = drafting::supersede_stale(&**control, one).await?;
    let shared = Arc::new(Shared {
        embedder,
        drafter,
        report: Mutex::new(SuggestReport {
            superseded,
            ..SuggestReport::default()
        }),
        consecutive_failures: AtomicU64::new(0),
    });
    if let Which::Conversation(id) = opts.which {
        let Some((t, pending)) = drafting::target(&**control, id).await? else {
            return Err(AiOpError::Failed(format!(
                "conversation {id} does not exist or has no inbound message to answer"
            )));
        };
        drop(control);
        if pending {
            shared.report.lock().await.already_pending += 1;
        } else {
            let mut client = crate::db::pool::client(pool).await?;
            let outcome = draft_one(&mut client, &shared, t).await;
            if let Err(AiOpError::Ai(e)) = outcome {
                return Err(AiOpError::Ai(e));
            }
            tally(&shared, outcome).await?;
        }
        progress(1, 1);
        let mut r = shared.report.lock().await.clone();
        r.seconds = started.elapsed().as_secs_f64();
        return Ok(r);
    }
    let needing = if opts.which == Which::All {
        Needing::All
    } else {
        Needing::Undrafted
    };
    let total = drafting::count_needing(&**control, needing).await?.max(0) as u64;
    progress(0, total);
    let workers = opts.workers.max(1);
    let (tx, rx) = mpsc::channel::<DraftTarget>(workers * 64);
    let rx = Arc::new(Mutex::new(rx));
    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(progress);
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (rx, done, progress, shared, pool) = (
            rx.clone(),
            done.clone(),
            progress.clone(),
            shared.clone(),
            pool.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut client = crate::db::pool::client(&pool).await?;
            loop {
                let next = rx.lock().await.recv().await;
                let Some(t) = next else { break };
                let outcome = draft_one(&mut client, &shared, t).await;
                tally(&shared, outcome).await?;
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(d, total.max(d));
            }
            Ok::<(), AiOpError>(())
        }));
    }
    let mut after = 0i64;
    let read = async {
        loop {
            let batch = drafting::needing(&**control, needing, after, 500).await?;
            let Some(last) = batch.last() else { break };
            after = last.conversation_id;
            for t in batch {
                if tx.send(t).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok::<(), AiOpError>(())
    }
    .await;
    drop(tx);
    let mut first_err = read.err();
    for t in tasks {
        let r = match t.await {
            Ok(r) => r,
            Err(e) => Err(AiOpError::Failed(format!("a drafting worker failed: {e}"))),
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let mut r = shared.report.lock().await.clone();
    r.seconds = started.elapsed().as_secs_f64();
    Ok(r)
}

/// The configured drafter, as a shared handle.
pub fn configured_drafter(
    settings: &crate::config::AiSettings,
    embedder: Arc<dyn Embedder>,
) -> Result<Arc<dyn Drafter>, AppError> {
    crate::ai::drafter_from(settings, embedder).map_err(|e| AppError::Failed(e.to_string()))
}

pub async fn run(ctx: &Context, args: &SuggestArgs) -> Result<(), AppError> {
    let which = match (args.conversation, args.all) {
        (Some(id), _) => Which::Conversation(id),
        (None, true) => Which::All,
        (None, false) => Which::Undrafted,
    };
    let embedder = super::embed::configured_embedder(&ctx.loaded.settings.ai)?;
    let drafter = configured_drafter(&ctx.loaded.settings.ai, embedder.clone())?;
    let pool = crate::db::connect(&ctx.db).await?;
    let bar = super::embed::bar("drafting");
    let report = suggest(
        &pool,
        embedder,
        drafter,
        &SuggestOptions {
            which,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        },
        super::embed::follow(&bar),
    )
    .await?;
    bar.finish_and_clear();
    print_report(&report);
    Ok(())
}

pub fn print_report(r: &SuggestReport) {
    eprintln!(
        "replydesk: drafted {} suggestion(s) in {:.1} s; superseded {} stale; skipped {} already pending, {} answered by a newer message; {} failed",
        r.drafted, r.seconds, r.superseded, r.already_pending, r.stale, r.failed
    );
}
