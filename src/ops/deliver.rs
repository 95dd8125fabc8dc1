//! `replydesk deliver`: send the outbox rows that are due now, once, then
//! exit. One summary line on stdout; one log line per send on stderr.
//! Exit 0 when nothing failed, 1 when a row was marked failed, 2 when the
//! `[delivery]` settings cannot work. SIGTERM or Ctrl-C: no new row is
//! claimed, the sends in flight finish and are marked.

use crate::cli::DeliverArgs;
use crate::commands::{AppError, Context};
use crate::deliver::{self, DeliverError, DeliverOptions};
use tokio::sync::watch;
use tracing::{info, warn};

pub async fn run(ctx: &Context, args: &DeliverArgs) -> Result<(), AppError> {
    super::logging::init(args.log_format);
    let settings = &ctx.loaded.settings.delivery;
    let transport = deliver::transport_from(settings).map_err(app_error)?;
    let mut opts = DeliverOptions::from_settings(settings);
    opts.limit = args.limit.map(u64::from);
    if opts.lease.as_secs() <= settings.timeout_secs {
        warn!(
            lease_secs = opts.lease.as_secs(),
            timeout_secs = settings.timeout_secs,
            "delivery.lease_secs is not longer than delivery.timeout_secs: a slow send may be taken over by another sender (the idempotency key keeps it to one email)"
        );
    }
    let pool = crate::db::connect(&ctx.db).await?;
    info!(transport = transport.name(), "delivering due replies");
    let report = deliver::deliver_due(&pool, transport, &opts, shutdown_signal())
        .await
        .map_err(app_error)?;
    let mut out = crate::out::Out::stdout();
    out.line(format!(
        "sent {}, failed {}, retried {}",
        report.sent, report.failed, report.retried
    ))?;
    out.finish()?;
    if report.failed > 0 {
        return Err(AppError::Failed(format!(
            "{} repl{} could not be delivered: the outbox row says why (last_error); see `replydesk doctor`",
            report.failed,
            if report.failed == 1 { "y" } else { "ies" }
        )));
    }
    Ok(())
}

fn app_error(e: DeliverError) -> AppError {
    match e {
        DeliverError::Config(m) => AppError::Usage(m),
        DeliverError::Db(e) => AppError::Db(e),
        other => AppError::Failed(other.to_string()),
    }
}

/// Turns true on SIGTERM or Ctrl-C. The handlers are installed before this
/// returns, so a signal arriving at any later point is never the default
/// (killing) one.
fn shutdown_signal() -> watch::Receiver<bool> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(false);
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (term, int) else {
            warn!("cannot listen for SIGTERM/Ctrl-C: stopping early is not possible");
            return std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        info!("stopping: no new sends; finishing the ones in flight");
        let _ = tx.send(true);
    });
    rx
}
