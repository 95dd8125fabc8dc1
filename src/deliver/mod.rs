//! Sending the outbox: transports (Postmark-compatible HTTP API, `.eml`
//! files, stdout) and the claim → send → mark loop.
//!
//! [`deliver_due`] claims due rows in small batches (committed as `sending`
//! before anything is sent, see [`crate::db::outbox`]), sends up to
//! `concurrency` at once, and marks each `sent` or `failed`. A transient
//! failure is retried in-process with exponential backoff and jitter, the
//! lease held meanwhile; each send counts one attempt, and after
//! `max_attempts` the row is `failed` with the last error.

pub mod eml;
pub mod file;
pub mod postmark;
pub mod transport;

pub use file::{FileTransport, StdoutTransport};
pub use postmark::PostmarkTransport;
pub use transport::{Mailbox, Outgoing, SendError, Sent, Transport};

use crate::config::DeliverySettings;
use crate::db::outbox::{self, Claimed};
use crate::db::{DbError, Pool};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// The longest wait between two sends of one row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Writes of a mark are retried this many times when the database blips:
/// the email is out, the row must say so.
const MARK_TRIES: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The `[delivery]` settings cannot work (exit 2).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] DbError),
    /// A send task panicked or was cancelled; its row stays `sending` and is
    /// taken over once its lease runs out.
    #[error("a send stopped unexpectedly ({0}); its reply is retried once its lease runs out")]
    Stopped(String),
}

/// How [`deliver_due`] sends.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverOptions {
    /// Sends per row in all, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// How long a claimed row stays ours without a word from us.
    pub lease: Duration,
    /// Sends at once.
    pub concurrency: usize,
    /// Rows to claim at most (`None`: all that are due).
    pub limit: Option<u64>,
}

impl DeliverOptions {
    pub fn from_settings(s: &DeliverySettings) -> Self {
        DeliverOptions {
            max_attempts: s.max_attempts.max(1),
            backoff: Duration::from_millis(s.backoff_ms),
            lease: Duration::from_secs(s.lease_secs.max(1)),
            concurrency: s.concurrency.max(1),
            limit: None,
        }
    }

    /// The wait after failed send number `attempt` (1-based): `backoff ×
    /// 2^(attempt−1)`, ±20 % at random, at most [`MAX_BACKOFF`].
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let jitter = 0.8 + 0.4 * random_unit();
        self.backoff.mul_f64(factor * jitter).min(MAX_BACKOFF)
    }
}

/// What one [`deliver_due`] did.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct DeliverReport {
    pub sent: u64,
    pub failed: u64,
    /// Sends that were a retry of an earlier failed one.
    pub retried: u64,
}

/// The transport `[delivery]` asks for. Errors name the key to set and
/// never hold the token.
pub fn transport_from(settings: &DeliverySettings) -> Result<Arc<dyn Transport>, DeliverError> {
    match settings.transport.trim() {
        "postmark" => {
            if settings.server_token.is_empty() {
                return Err(DeliverError::Config(
                    "delivery.transport is \"postmark\" but no server token is set: set REPLYDESK_DELIVERY__SERVER_TOKEN (or server_token in [delivery])".into(),
                ));
            }
            let base = settings.base_url.trim();
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(DeliverError::Config(format!(
                    "delivery.base_url {:?} is not an http(s) URL: set it to the API root, e.g. https://api.postmarkapp.com",
                    crate::text::sanitize_line(base)
                )));
            }
            if settings.message_stream.trim().is_empty() {
                return Err(DeliverError::Config(
                    "delivery.message_stream is empty: set it to the Postmark message stream, e.g. \"outbound\"".into(),
                ));
            }
            let t = PostmarkTransport::new(
                base,
                settings.server_token.clone(),
                settings.message_stream.trim(),
                Duration::from_secs(settings.timeout_secs.max(1)),
            )
            .map_err(|e| {
                DeliverError::Config(format!("cannot set up the HTTP client for delivery: {e}"))
            })?;
            Ok(Arc::new(t))
        }
        "file" => {
            let dir = if settings.dir.trim().is_empty() {
                directories::ProjectDirs::from("", "", "replydesk")
                    .map(|d| d.data_dir().join("outbox"))
                    .ok_or_else(|| {
                        DeliverError::Config(
                            "no home folder to put the outbox in: set delivery.dir (or REPLYDESK_DELIVERY__DIR)".into(),
                        )
                    })?
            } else {
                std::path::PathBuf::from(settings.dir.trim())
            };
            let t = FileTransport::new(&dir).map_err(|e| {
                DeliverError::Config(format!(
                    "cannot create the outbox folder {} ({e}): set delivery.dir to a folder you can write",
                    dir.display()
                ))
            })?;
            Ok(Arc::new(t))
        }
        "stdout" => Ok(Arc::new(StdoutTransport)),
        other => Err(DeliverError::Config(format!(
            "delivery.transport {:?} is not known: set it to \"file\", \"stdout\" or \"postmark\"",
            crate::text::sanitize_line(other)
        ))),
    }
}

/// Deliver every row due now; returns when none is due (or `shutdown`
/// fires: then no more rows are claimed, the sends in flight finish and are
/// marked, and a row waiting to be retried goes back to `queued`).
pub async fn deliver_due(
    pool: &Pool,
    transport: Arc<dyn Transport>,
    opts: &DeliverOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<DeliverReport, DeliverError> {
    let concurrency = opts.concurrency.max(1);
    // Claim when half the slots are free: fewer claim round trips, and a
    // claimed row never waits long for a slot (its lease is running).
    let refill_at = concurrency.div_ceil(2);
    let mut report = DeliverReport::default();
    let mut tasks: JoinSet<Result<Done, DbError>> = JoinSet::new();
    let mut claimed: u64 = 0;
    let mut exhausted = false;
    let mut first_error: Option<DeliverError> = None;
    loop {
        let stopping = *shutdown.borrow() || first_error.is_some();
        let free = concurrency - tasks.len();
        let room = opts.limit.map_or(u64::MAX, |l| l.saturating_sub(claimed));
        let want = (free as u64).min(room);
        if room == 0 {
            exhausted = true;
        }
        if !stopping && !exhausted && want > 0 && (tasks.is_empty() || free >= refill_at) {
            match claim(pool, opts.lease, want as i64).await {
                Ok(rows) => {
                    if (rows.len() as u64) < want {
                        exhausted = true;
                    }
                    claimed += rows.len() as u64;
                    for row in rows {
                        tasks.spawn(deliver_one(
                            pool.clone(),
                            transport.clone(),
                            opts.clone(),
                            row,
                            shutdown.clone(),
                        ));
                    }
                }
                Err(e) => {
                    error!(error = %e, "cannot claim outbox rows");
                    first_error = Some(e.into());
                }
            }
            continue;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(done)) => {
                report.retried += done.retries;
                match done.outcome {
                    Outcome::Sent => report.sent += 1,
                    Outcome::Failed => report.failed += 1,
                    Outcome::Released | Outcome::Lost => {}
                }
            }
            Ok(Err(e)) => {
                error!(error = %e, "recording a delivery failed");
                first_error.get_or_insert(e.into());
            }
            Err(e) => {
                error!(error = %e, "a send task stopped");
                first_error.get_or_insert(DeliverError::Stopped(e.to_string()));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn claim(pool: &Pool, lease: Duration, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let client = crate::db::pool::client(pool).await?;
    outbox::claim(&**client, lease, limit).await
}

enum Outcome {
    Sent,
    Failed,
    /// Shutdown while waiting to retry: back to `queued`.
    Released,
    /// No longer ours (someone else finished it).
    Lost,
}

struct Done {
    outcome: Outcome,
    retries: u64,
}

/// Send one claimed row until it is sent, failed, or handed back.
async fn deliver_one(
    pool: Pool,
    transport: Arc<dyn Transport>,
    opts: DeliverOptions,
    row: Claimed,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Done, DbError> {
    let mut email = Outgoing::from_claimed(&row);
    let mut retries = 0u64;
    if row.recovered {
        warn!(
            outbox_id = row.id,
            conversation_id = row.conversation_id,
            attempt = row.attempts,
            "sending again: the previous sender stopped mid-send (same idempotency key)"
        );
    }
    if email.to.is_empty() {
        let why = "the reply has no recipient address: the lead has no email";
        let outcome = fail(&pool, &email, why, true).await?;
        return Ok(Done {
            outcome,
            retries: 0,
        });
    }
    loop {
        let result = transport.send(&email).await;
        let attempt = u32::try_from(email.attempt).unwrap_or(1);
        let (message, retry_after) = match result {
            Ok(sent) => {
                let id = sent.provider_message_id.as_deref();
                let ours = with_retries(|| async {
                    let client = crate::db::pool::client(&pool).await?;
                    outbox::mark_sent(&**client, email.outbox_id, id).await
                })
                .await?;
                if !ours {
                    warn!(
                        outbox_id = email.outbox_id,
                        conversation_id = email.conversation_id,
                        attempt,
                        "sent, but another sender had already finished this row"
                    );
                    return Ok(Done {
                        outcome: Outcome::Lost,
                        retries,
                    });
                }
                info!(
                    outbox_id = email.outbox_id,
                    conversation_id = email.conversation_id,
                    attempt,
                    status = "sent",
                    provider_message_id = id.unwrap_or(""),
                    transport = transport.name(),
                    "reply sent"
                );
                return Ok(Done {
                    outcome: Outcome::Sent,
                    retries,
                });
            }
            Err(SendError::Permanent(message)) => {
                let outcome = fail(&pool, &email, &message, true).await?;
                return Ok(Done { outcome, retries });
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => (message, retry_after),
        };
        if attempt >= opts.max_attempts {
            let why = format!("gave up after {attempt} attempts: {message}");
            let outcome = fail(&pool, &email, &why, false).await?;
            return Ok(Done { outcome, retries });
        }
        let wait = opts
            .backoff_after(attempt)
            .max(retry_after.unwrap_or_default())
            .min(MAX_BACKOFF);
        warn!(
            outbox_id = email.outbox_id,
            conversation_id = email.conversation_id,
            attempt,
            status = "retrying",
            error = %message,
            retry_in_ms = wait.as_millis() as u64,
            "send failed; will retry"
        );
        let client = crate::db::pool::client(&pool).await?;
        if !outbox::note_failure(&**client, email.outbox_id, &message, wait + opts.lease).await? {
            return Ok(Done {
                outcome: Outcome::Lost,
                retries,
            });
        }
        drop(client);
        let stopped = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = wait_for_true(&mut shutdown) => true,
        };
        let client = crate::db::pool::client(&pool).await?;
        if stopped {
            outbox::release(&**client, email.outbox_id, wait).await?;
            info!(
                outbox_id = email.outbox_id,
                conversation_id = email.conversation_id,
                attempt,
                status = "queued",
                "stopping: the retry goes back to the queue"
            );
            return Ok(Done {
                outcome: Outcome::Released,
                retries,
            });
        }
        match outbox::begin_attempt(&**client, email.outbox_id, opts.lease).await? {
            Some(n) => email.attempt = n,
            None => {
                return Ok(Done {
                    outcome: Outcome::Lost,
                    retries,
                });
            }
        }
        retries += 1;
    }
}

/// Mark a row failed and say so.
async fn fail(
    pool: &Pool,
    email: &Outgoing,
    message: &str,
    permanent: bool,
) -> Result<Outcome, DbError> {
    let ours = with_retries(|| async {
        let client = crate::db::pool::client(pool).await?;
        outbox::mark_failed(&**client, email.outbox_id, message, permanent).await
    })
    .await?;
    if !ours {
        return Ok(Outcome::Lost);
    }
    error!(
        outbox_id = email.outbox_id,
        conversation_id = email.conversation_id,
        attempt = email.attempt,
        status = "failed",
        permanent,
        error = %message,
        "reply not delivered"
    );
    Ok(Outcome::Failed)
}

/// Run a database write again when the connection blipped.
async fn with_retries<T, F, Fut>(mut f: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let mut tries = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_connection_lost() && tries + 1 < MARK_TRIES => {
                tries += 1;
                warn!(error = %e, "recording a delivery failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 << tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Resolves once the value is true; never, if the sender is gone.
async fn wait_for_true(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A number in [0, 1) that differs between calls (std's per-instance random
/// hasher keys; jitter needs no more than that).
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> DeliverOptions {
        DeliverOptions {
            max_attempts: 5,
            backoff: Duration::from_millis(1000),
            lease: Duration::from_secs(60),
            concurrency: 8,
            limit: None,
        }
    }

    #[test]
    fn backoff_doubles_within_twenty_percent_and_caps_at_a_minute() {
        let o = opts();
        for _ in 0..200 {
            for (attempt, base) in [(1u32, 1000.0), (2, 2000.0), (3, 4000.0), (4, 8000.0)] {
                let ms = o.backoff_after(attempt).as_secs_f64() * 1000.0;
                assert!((base * 0.8..=base * 1.2).contains(&ms), "{attempt}: {ms}");
            }
            assert!(o.backoff_after(7) <= MAX_BACKOFF);
            assert_eq!(o.backoff_after(30), MAX_BACKOFF);
        }
    }

    fn settings(transport: &str, token: &str) -> DeliverySettings {
        let mut s: crate::config::Settings =
            toml::from_str(crate::config::DEFAULTS).expect("defaults parse");
        s.delivery.transport = transport.into();
        s.delivery.server_token = crate::config::Secret::new(token);
        s.delivery
    }

    #[test]
    fn settings_that_cannot_work_say_which_key_to_set() {
        let e = transport_from(&settings("postmark", "")).err().unwrap();
        assert!(
            e.to_string().contains("REPLYDESK_DELIVERY__SERVER_TOKEN"),
            "{e}"
        );
        let e = transport_from(&settings("smtp", "tok-123")).err().unwrap();
        let msg = e.to_string();
        assert!(
            msg.contains("\"smtp\"") && msg.contains("delivery.transport"),
            "{msg}"
        );
        assert!(!msg.contains("tok-123"));
        let t = transport_from(&settings("postmark", "tok-123")).unwrap();
        assert_eq!(t.name(), "postmark");
        assert_eq!(
            transport_from(&settings("stdout", "")).unwrap().name(),
            "stdout"
        );
    }

    #[test]
    fn options_from_settings_are_never_zero() {
        let mut s = settings("file", "");
        s.max_attempts = 0;
        s.concurrency = 0;
        s.lease_secs = 0;
        let o = DeliverOptions::from_settings(&s);
        assert_eq!((o.max_attempts, o.concurrency), (1, 1));
        assert_eq!(o.lease, Duration::from_secs(1));
    }
}
