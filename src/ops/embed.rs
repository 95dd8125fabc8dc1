//! `replydesk embed`: backfill the embeddings of inbound messages for the
//! configured model. Batched (keyset on the message id, so an interrupted
//! run resumes where it stopped), idempotent (only messages without an
//! embedding are fetched; a concurrent run's rows are skipped), and on both
//! cores: the offline embedder is CPU work on blocking threads, and each of
//! the workers writes its batches by binary COPY on its own connection.
//!
//! The model's HNSW index: when it does not exist yet, it is built once
//! after the backfill (several times faster than maintaining the graph row
//! by row); when it exists, new rows go into it as they are written.

use crate::ai::{AiError, Embedder};
use crate::cli::EmbedArgs;
use crate::commands::{AppError, Context};
use crate::db::DbError;
use crate::db::ai_runs::{self, AiRun, RunKind};
use crate::db::embeddings::{self, IndexState, ToEmbed};
use crate::db::pool::DbConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{Mutex, mpsc};

/// What can stop an AI command.
#[derive(Debug, thiserror::Error)]
pub enum AiOpError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Ai(#[from] AiError),
    #[error("{0}")]
    Failed(String),
}

impl From<tokio_postgres::Error> for AiOpError {
    fn from(e: tokio_postgres::Error) -> Self {
        AiOpError::Db(DbError::Postgres(e))
    }
}

#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// Messages per batch (one provider call, one COPY).
    pub batch: usize,
    /// Parallel workers (one per core is right for the offline embedder).
    pub workers: usize,
    /// Build the model's index at the end if it is missing.
    pub build_index: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            batch: 1000,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            build_index: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EmbedReport {
    pub model: String,
    pub dimensions: usize,
    pub embedded: u64,
    /// Embedding and writing the vectors.
    pub seconds: f64,
    /// `Some(seconds)` when this run built the HNSW index.
    pub index_seconds: Option<f64>,
}

impl EmbedReport {
    pub fn vectors_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.embedded as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Embed one batch of texts on a blocking thread (the offline embedder is
/// CPU-bound; an HTTP one is driven there just the same).
pub async fn embed_texts(
    embedder: &Arc<dyn Embedder>,
    texts: Vec<String>,
) -> Result<crate::ai::Embedded, AiError> {
    let e = embedder.clone();
    match tokio::task::spawn_blocking(move || futures::executor::block_on(e.embed(&texts))).await {
        Ok(r) => r,
        Err(join) => Err(AiError::BadResponse(format!(
            "the embedding task failed: {join}"
        ))),
    }
}

async fn session(db: &DbConfig) -> Result<tokio_postgres::Client, DbError> {
    let mut cfg = db.clone();
    // A backfill can be re-run: no fsync wait per batch commit.
    let options = match cfg.pg.get_options() {
        Some(o) if !o.is_empty() => format!("{o} -c synchronous_commit=off"),
        _ => "-c synchronous_commit=off".to_string(),
    };
    cfg.pg.options(&options);
    Ok(cfg.connect_dedicated().await?.0)
}

/// Embed and store one batch; records the provider call in `ai_runs`.
pub(crate) async fn embed_batch(
    client: &mut tokio_postgres::Client,
    embedder: &Arc<dyn Embedder>,
    batch: Vec<ToEmbed>,
) -> Result<u64, AiOpError> {
    let ids: Vec<i64> = batch.iter().map(|m| m.message_id).collect();
    let texts: Vec<String> = batch.iter().map(ToEmbed::text).collect();
    let started = Instant::now();
    let result = embed_texts(embedder, texts).await;
    let mut run = AiRun {
        kind: RunKind::Embed,
        provider: embedder.provider().to_string(),
        model: embedder.name().to_string(),
        error: None,
        items: ids.len() as i32,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        duration_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
        conversation_id: None,
    };
    let embedded = match result {
        Ok(e) if e.vectors.len() == ids.len() => e,
        Ok(e) => {
            run.error = Some(format!(
                "{} vectors for {} texts",
                e.vectors.len(),
                ids.len()
            ));
            ai_runs::record(&*client, &run).await?;
            return Err(AiOpError::Ai(AiError::BadResponse(format!(
                "the embedder returned {} vectors for {} texts",
                e.vectors.len(),
                ids.len()
            ))));
        }
        Err(e) => {
            run.error = Some(e.to_string());
            ai_runs::record(&*client, &run).await?;
            return Err(e.into());
        }
    };
    run.prompt_tokens = embedded.usage.prompt_tokens;
    run.cost_usd = embedded.usage.cost_usd;
    let dims = embedder.dimensions();
    if let Some(v) = embedded.vectors.iter().find(|v| v.len() != dims) {
        return Err(AiError::DimensionMismatch {
            expected: dims,
            got: v.len(),
        }
        .into());
    }
    let rows: Vec<(i64, Vec<f32>)> = ids.into_iter().zip(embedded.vectors).collect();
    let n = embeddings::copy_in(client, embedder.name(), dims, &rows).await?;
    ai_runs::record(&*client, &run).await?;
    Ok(n)
}

/// Backfill every inbound message lacking an embedding for `embedder`'s
/// model. `progress(done, total)` is called after each batch.
pub async fn backfill(
    db: &DbConfig,
    embedder: Arc<dyn Embedder>,
    opts: &EmbedOptions,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Result<EmbedReport, AiOpError> {
    let model = embedder.name().to_string();
    let dims = embedder.dimensions();
    let control = session(db).await?;
    embeddings::register_row(&control, &model, dims).await?;
    let index_was = embeddings::index_state(&control, &model).await?;
    let total = embeddings::count_missing(&control, &model).await?.max(0) as u64;
    let started = Instant::now();
    let workers = opts.workers.max(1);
    let batch = opts.batch.clamp(1, 100_000) as i64;
    let (tx, rx) = mpsc::channel::<Vec<ToEmbed>>(workers * 2);
    let rx = Arc::new(Mutex::new(rx));
    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(progress);
    progress(0, total);
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (rx, done, progress, embedder) =
            (rx.clone(), done.clone(), progress.clone(), embedder.clone());
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = session(&db).await?;
            loop {
                let next = rx.lock().await.recv().await;
                let Some(batch) = next else { break };
                let n = batch.len() as u64;
                embed_batch(&mut client, &embedder, batch).await?;
                let d = done.fetch_add(n, Ordering::Relaxed) + n;
                progress(d, total.max(d));
            }
            Ok::<(), AiOpError>(())
        }));
    }
    // The reader: keyset batches; stops early if every worker has failed.
    let mut after = 0i64;
    let read = async {
        loop {
            let rows = embeddings::missing(&control, &model, after, batch).await?;
            let Some(last) = rows.last() else { break };
            after = last.message_id;
            if tx.send(rows).await.is_err() {
                break;
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
            Err(e) => Err(AiOpError::Failed(format!(
                "an embedding worker failed: {e}"
            ))),
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let seconds = started.elapsed().as_secs_f64();
    let embedded = done.load(Ordering::Relaxed);
    let mut index_seconds = None;
    if opts.build_index && index_was != IndexState::Valid {
        let t = Instant::now();
        embeddings::ensure_index(&control, &model, dims).await?;
        index_seconds = Some(t.elapsed().as_secs_f64());
    }
    if embedded > 0 {
        control.batch_execute("ANALYZE message_embeddings").await?;
    }
    Ok(EmbedReport {
        model,
        dimensions: dims,
        embedded,
        seconds,
        index_seconds,
    })
}

/// The configured embedder, as a shared handle.
pub fn configured_embedder(
    settings: &crate::config::AiSettings,
) -> Result<Arc<dyn Embedder>, AppError> {
    crate::ai::embedder_from(settings).map_err(|e| AppError::Failed(e.to_string()))
}

impl From<AiOpError> for AppError {
    fn from(e: AiOpError) -> Self {
        match e {
            AiOpError::Db(e) => AppError::Db(e),
            other => AppError::Failed(other.to_string()),
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
/// A callback for `(done, total)` progress that moves `bar`.
pub fn follow(bar: &indicatif::ProgressBar) -> impl Fn(u64, u64) + Send + Sync + 'static {
    let bar = bar.clone();
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// The progress bar of the long commands (seed-demo, embed, suggest).
pub fn bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{human_pos}}/{{human_len}} ({{per_sec}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

pub async fn run(ctx: &Context, args: &EmbedArgs) -> Result<(), AppError> {
    let embedder = configured_embedder(&ctx.loaded.settings.ai)?;
    let bar = bar("embedding");
    let report = backfill(
        &ctx.db,
        embedder,
        &EmbedOptions {
            batch: args.batch as usize,
            ..EmbedOptions::default()
        },
        follow(&bar),
    )
    .await?;
    bar.finish_and_clear();
    print_report(&report);
    Ok(())
}

pub fn print_report(r: &EmbedReport) {
    eprintln!(
        "replydesk: embedded {} inbound messages with {} ({}-d) in {:.1} s ({:.0} vectors/s, COPY included){}",
        r.embedded,
        r.model,
        r.dimensions,
        r.seconds,
        r.vectors_per_second(),
        match r.index_seconds {
            Some(s) => format!("; built its HNSW index in {s:.1} s"),
            None => String::new(),
        }
    );
}
