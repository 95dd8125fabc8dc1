//! Structured logs for the long-running commands (`deliver`, `worker`):
//! `tracing` to stderr, as text or as one JSON object per line
//! (`--log-format json`). `REPLYDESK_LOG` filters (default `info`), with
//! the `tracing-subscriber` env-filter syntax, e.g. `replydesk=debug`.
//! Secrets never reach a log line: settings hold them as `Secret`.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber; a second call does nothing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("REPLYDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
