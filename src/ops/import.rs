//! `replydesk import PATH`: read JSONL, mbox or Maildir, thread, merge.
//!
//! Every rejected record is reported on stderr with its position and reason
//! (`replydesk: import: line 17: bad date: …`), the good ones are kept, and
//! one summary line goes to stdout. Exit 0 when nothing was rejected, 1
//! when something was, 2 when the input as a whole cannot be used (no such
//! path, unknown format).

use crate::cli::{ImportArgs, ImportFormat};
use crate::commands::{AppError, Context};
use crate::import::{self, ImportError, ImportOptions, ImportReport, Phase, Progress};
use crate::mail::{ReadError, ReadOptions};
use indicatif::ProgressBar;
use std::sync::Mutex;

/// Repair notes shown before "… and N more".
const NOTES_SHOWN: usize = 20;

pub async fn run(ctx: &Context, args: &ImportArgs) -> Result<(), AppError> {
    let settings = &ctx.loaded.settings.import;
    let read_opts = ReadOptions {
        source: args.source.clone(),
        max_body_bytes: settings.max_body_bytes,
    };
    let format = match args.format {
        Some(f) => f,
        None => crate::mail::detect(&args.path).map_err(read_error)?,
    };
    let items = crate::mail::read(&args.path, Some(format), &read_opts).map_err(read_error)?;
    let opts = ImportOptions {
        thread_window: chrono::Duration::days(i64::from(settings.thread_window_days)),
        team_addresses: settings.team_addresses.clone(),
        channel: channel(format).to_string(),
        label: args.path.display().to_string(),
        rep: Some(ctx.loaded.settings.rep.clone()),
        ..ImportOptions::default()
    };
    let bars = PhaseBars::default();
    let report = import::import(&ctx.db, items, &opts, move |p| bars.show(p))
        .await
        .map_err(|e| match e {
            ImportError::Db(e) => AppError::Db(e),
            ImportError::Failed(m) => AppError::Failed(format!("import: {m}")),
        })?;
    print_problems(&report);
    let mut out = crate::out::Out::stdout();
    out.line(summary(&report))?;
    out.finish()?;
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(AppError::Failed(format!(
            "import: {} of {} records rejected (listed above); the others were imported",
            report.rejected.len(),
            report.read
        )))
    }
}

/// Mail arrives by email; JSONL records come from wherever they were exported.
fn channel(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Mbox | ImportFormat::Maildir => "email",
        ImportFormat::Jsonl => "import",
    }
}

/// A whole-input problem: a usage error (exit 2) unless the path exists
/// and cannot be read.
fn read_error(e: ReadError) -> AppError {
    match e {
        ReadError::Unreadable { .. } => AppError::Failed(format!("import: {e}")),
        other => AppError::Usage(format!("import: {other}")),
    }
}

/// `imported N messages (C new conversations, L new leads), D duplicates, R rejected`.
pub fn summary(r: &ImportReport) -> String {
    let mut line = format!(
        "imported {} messages ({} new conversations, {} new leads), {} duplicates, {} rejected",
        r.imported,
        r.new_conversations,
        r.new_leads,
        r.duplicates,
        r.rejected.len()
    );
    let repaired = r.repaired();
    if repaired > 0 {
        line.push_str(&format!(", {repaired} repaired"));
    }
    line
}

/// Rejections (all) and repair notes (the first few) on stderr, made safe
/// for the terminal: positions and reasons quote outside text.
fn print_problems(r: &ImportReport) {
    for rejected in &r.rejected {
        eprintln!(
            "replydesk: import: {}",
            crate::text::sanitize_line(&rejected.to_string())
        );
    }
    for (position, note) in r.notes.iter().take(NOTES_SHOWN) {
        eprintln!(
            "replydesk: import: {}: repaired: {}",
            crate::text::sanitize_line(&position.to_string()),
            crate::text::sanitize_line(note)
        );
    }
    if r.notes.len() > NOTES_SHOWN {
        eprintln!(
            "replydesk: import: … and {} more repair notes",
            r.notes.len() - NOTES_SHOWN
        );
    }
}

/// One progress bar per phase (hidden when stderr is not a terminal).
#[derive(Default)]
struct PhaseBars {
    current: Mutex<Option<(Phase, ProgressBar)>>,
}

impl PhaseBars {
    fn show(&self, p: Progress) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        if current.as_ref().map(|(phase, _)| *phase) != Some(p.phase) {
            if let Some((_, bar)) = current.take() {
                bar.finish_and_clear();
            }
            let label = match p.phase {
                Phase::Read => "reading",
                Phase::Thread => "threading",
                Phase::Merge => "merging",
                Phase::Index => "indexing",
            };
            *current = Some((p.phase, crate::ops::embed::bar(label)));
        }
        if let Some((_, bar)) = current.as_ref() {
            crate::ops::embed::follow(bar)(p.done, p.total.max(p.done));
        }
    }
}

impl Drop for PhaseBars {
    fn drop(&mut self) {
        if let Ok(mut current) = self.current.lock()
            && let Some((_, bar)) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}
