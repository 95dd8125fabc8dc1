//! `replydesk worker`: one long-running process that keeps the inbox ready
//! for reps. Each cycle it
//!
//! 1. embeds inbound messages that have no embedding for the configured model,
//! 2. drafts a pending suggestion for every conversation that needs a reply
//!    and has none (the same rules as `replydesk suggest`),
//! 3. delivers the outbox rows that are due (the same claim → send → mark as
//!    `replydesk deliver`: exactly once, never inside the undo window).
//!
//! A cycle runs when a `NOTIFY replydesk` arrives (a message was imported, a
//! rep approved…), when the next queued reply's undo window closes, and every
//! `worker.poll_secs` regardless, so a missed notification or a dropped
//! LISTEN connection delays work by one poll interval at most. Notifications
//! arriving during a cycle are coalesced into one more cycle.
//!
//! SIGTERM or Ctrl-C: no new item is started; the item in hand (an embedding
//! batch, a draft, the sends in flight) finishes and is recorded, then the
//! process exits 0. Database errors are logged and retried with backoff; the
//! worker does not exit because PostgreSQL restarted.

use super::embed::{AiOpError, configured_embedder, embed_batch};
use super::suggest::{SuggestOptions, Which, configured_drafter, suggest};
use crate::ai::{Drafter, Embedder};
use crate::cli::WorkerArgs;
use crate::commands::{AppError, Context};
use crate::db::embeddings::{self, IndexState};
use crate::db::pool::DbConfig;
use crate::db::{DbError, NOTIFY_CHANNEL, Pool};
use crate::deliver::{self, DeliverOptions, DeliverReport, Transport};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

/// Messages embedded per batch.
const EMBED_BATCH: i64 = 256;
/// Each cycle re-checks this many ids below the highest one seen, so a
/// message whose transaction committed late (a lower id) is not skipped.
const EMBED_LOOKBACK: i64 = 10_000;
/// A full embedding sweep (from id 0) runs at start and this often.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(600);
/// Cycles are at least this far apart, however many notifications arrive.
const MIN_CYCLE_GAP: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Cycle at least this often without a notification.
    pub poll: Duration,
    /// Draft suggestions (off: embed and deliver only).
    pub drafts: bool,
    /// Conversations drafted at once.
    pub draft_workers: usize,
    pub deliver: DeliverOptions,
}

/// What a worker did, in all (for logs and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerTotals {
    pub cycles: u64,
    pub embedded: u64,
    pub drafted: u64,
    pub sent: u64,
    pub failed: u64,
    pub errors: u64,
}

/// The AI and delivery parts a worker drives.
pub struct Parts {
    pub embedder: Arc<dyn Embedder>,
    pub drafter: Option<Arc<dyn Drafter>>,
    pub transport: Arc<dyn Transport>,
}

/// Run cycles until `shutdown` turns true; returns what was done.
pub async fn work(
    db: &DbConfig,
    pool: &Pool,
    parts: Parts,
    opts: &WorkerOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<WorkerTotals, AiOpError> {
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(listen(db.clone(), wake.clone(), shutdown.clone()));
    let mut state = State {
        after: 0,
        last_full_sweep: None,
        model_registered: false,
        totals: WorkerTotals::default(),
    };
    let mut failures: u32 = 0;
    info!(
        poll_secs = opts.poll.as_secs_f64(),
        drafts = opts.drafts && parts.drafter.is_some(),
        model = parts.embedder.name(),
        transport = parts.transport.name(),
        "worker started"
    );
    loop {
        if *shutdown.borrow() {
            break;
        }
        let started = Instant::now();
        let outcome = cycle(pool, &parts, opts, &mut state, &shutdown).await;
        state.totals.cycles += 1;
        let sleep_for = match outcome {
            Ok(next_due) => {
                failures = 0;
                let until_due = next_due.map(|at| {
                    (at - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .max(Duration::from_millis(50))
                });
                until_due.map_or(opts.poll, |d| d.min(opts.poll))
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                state.totals.errors += 1;
                let backoff = retry_delay(failures).min(opts.poll.max(Duration::from_secs(1)) * 6);
                error!(error = %e, retry_in_secs = backoff.as_secs_f64(), "cycle failed");
                backoff
            }
        };
        let gap = MIN_CYCLE_GAP.saturating_sub(started.elapsed());
        tokio::select! {
            _ = wake.notified() => tokio::time::sleep(gap).await,
            _ = tokio::time::sleep(sleep_for) => {}
            _ = shutdown.changed() => {}
        }
    }
    listener.abort();
    info!(
        cycles = state.totals.cycles,
        embedded = state.totals.embedded,
        drafted = state.totals.drafted,
        sent = state.totals.sent,
        failed = state.totals.failed,
        "worker stopped"
    );
    Ok(state.totals)
}

struct State {
    /// Highest inbound message id embedded or checked.
    after: i64,
    last_full_sweep: Option<Instant>,
    model_registered: bool,
    totals: WorkerTotals,
}

fn retry_delay(failures: u32) -> Duration {
    let secs = [1.0, 2.0, 4.0, 8.0, 15.0, 30.0];
    Duration::from_secs_f64(secs[(failures as usize).saturating_sub(1).min(secs.len() - 1)])
}

/// One pass over the three jobs; returns when the next queued reply is due.
async fn cycle(
    pool: &Pool,
    parts: &Parts,
    opts: &WorkerOptions,
    state: &mut State,
    shutdown: &watch::Receiver<bool>,
) -> Result<Option<chrono::DateTime<Utc>>, AiOpError> {
    let embedded = embed_new(pool, &parts.embedder, state, shutdown).await?;
    if embedded > 0 {
        info!(
            embedded,
            model = parts.embedder.name(),
            "embedded new messages"
        );
    }
    if let Some(drafter) = parts.drafter.as_ref().filter(|_| opts.drafts)
        && !*shutdown.borrow()
    {
        let r = suggest(
            pool,
            parts.embedder.clone(),
            drafter.clone(),
            &SuggestOptions {
                which: Which::Undrafted,
                workers: opts.draft_workers.max(1),
            },
            |_, _| {},
        )
        .await?;
        state.totals.drafted += r.drafted;
        if r.drafted > 0 || r.superseded > 0 || r.failed > 0 {
            info!(
                drafted = r.drafted,
                superseded = r.superseded,
                failed = r.failed,
                "drafted suggestions"
            );
        }
    }
    if !*shutdown.borrow() {
        let r: DeliverReport = deliver::deliver_due(
            pool,
            parts.transport.clone(),
            &opts.deliver,
            shutdown.clone(),
        )
        .await
        .map_err(|e| AiOpError::Failed(e.to_string()))?;
        state.totals.sent += r.sent;
        state.totals.failed += r.failed;
    }
    let client = crate::db::pool::client(pool).await?;
    Ok(crate::db::outbox::next_due(&**client).await?)
}

/// Embed inbound messages lacking a vector: ids above the watermark (minus
/// a look-back), or all of them on a full sweep.
async fn embed_new(
    pool: &Pool,
    embedder: &Arc<dyn Embedder>,
    state: &mut State,
    shutdown: &watch::Receiver<bool>,
) -> Result<u64, AiOpError> {
    let mut client = crate::db::pool::client(pool).await?;
    let model = embedder.name().to_string();
    if !state.model_registered {
        embeddings::register_row(&**client, &model, embedder.dimensions()).await?;
        state.model_registered = true;
    }
    let full = state
        .last_full_sweep
        .is_none_or(|t| t.elapsed() >= FULL_SWEEP_EVERY);
    let mut after = if full {
        state.last_full_sweep = Some(Instant::now());
        0
    } else {
        (state.after - EMBED_LOOKBACK).max(0)
    };
    let mut done = 0u64;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let batch = embeddings::missing(&**client, &model, after, EMBED_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.message_id;
        state.after = state.after.max(after);
        done += embed_batch(&mut client, embedder, batch).await?;
    }
    state.totals.embedded += done;
    if done > 0 && embeddings::index_state(&**client, &model).await? != IndexState::Valid {
        info!(model = %model, "building the similarity index");
        embeddings::ensure_index(&client, &model, embedder.dimensions()).await?;
    }
    Ok(done)
}

/// Keep one `LISTEN replydesk` connection open (reconnecting with backoff)
/// and turn every notification into a wake-up.
async fn listen(db: DbConfig, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        let ended = tokio::select! {
            r = listen_once(&db, &wake) => r,
            _ = shutdown.changed() => return,
        };
        failures = failures.saturating_add(1);
        let delay = retry_delay(failures);
        warn!(
            reason = %ended,
            retry_in_secs = delay.as_secs_f64(),
            "notifications lost; polling until the listener reconnects"
        );
        // Work may have arrived unannounced meanwhile.
        wake.notify_one();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn listen_once(db: &DbConfig, wake: &Notify) -> String {
    let (client, mut notes) = match db.connect_dedicated().await {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    if let Err(e) = client
        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
        .await
    {
        return DbError::from(e).to_string();
    }
    info!("listening for notifications");
    wake.notify_one();
    let mut health = tokio::time::interval(Duration::from_secs(15));
    health.tick().await;
    loop {
        tokio::select! {
            n = notes.recv() => match n {
                Some(_) => wake.notify_one(),
                None => return "the notification connection closed".to_string(),
            },
            _ = health.tick() => {
                match tokio::time::timeout(Duration::from_secs(5), client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return DbError::from(e).to_string(),
                    Err(_) => return "the database stopped answering".to_string(),
                }
            }
        }
    }
}

/// A watch channel that turns true on SIGTERM or Ctrl-C. The SIGTERM
/// handler is installed before this returns, so no signal is missed.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    tokio::spawn(async move {
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => info!("SIGTERM: finishing the current item, then stopping"),
            _ = tokio::signal::ctrl_c() => info!("interrupted: finishing the current item, then stopping"),
        }
        let _ = tx.send(true);
    });
    rx
}

pub async fn run(ctx: &Context, args: &WorkerArgs) -> Result<(), AppError> {
    super::logging::init(args.log_format);
    let s = &ctx.loaded.settings;
    let transport =
        deliver::transport_from(&s.delivery).map_err(|e| AppError::Usage(e.to_string()))?;
    let embedder = configured_embedder(&s.ai)?;
    let drafter = if args.no_drafts {
        None
    } else {
        Some(configured_drafter(&s.ai, embedder.clone())?)
    };
    let pool = crate::db::connect(&ctx.db).await?;
    let opts = WorkerOptions {
        poll: Duration::from_secs(s.worker.poll_secs.max(1)),
        drafts: !args.no_drafts,
        draft_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        deliver: DeliverOptions::from_settings(&s.delivery),
    };
    let totals = work(
        &ctx.db,
        &pool,
        Parts {
            embedder,
            drafter,
            transport,
        },
        &opts,
        shutdown_signal(),
    )
    .await?;
    if totals.failed > 0 {
        warn!(
            failed = totals.failed,
            "some replies could not be delivered; see `replydesk doctor`"
        );
    }
    Ok(())
}
