//! `replydesk import PATH`: read JSONL, mbox or Maildir (only what is new
//! since the last import of the path, unless `--full`), thread, merge.
//!
//! Every rejected record is reported on stderr with its position and reason
//! (`replydesk: import: line 17: bad date: …`), the good ones are kept, and
//! one summary line goes to stdout, after a line saying what was left
//! unread when something was. Senders found to be the team are told on
//! stderr before anything is written. Exit 0 when nothing was rejected, 1
//! when something was, 2 when the input as a whole cannot be used (no such
//! path, unknown format, a bad `--team-domain`).

use crate::cli::{ImportArgs, ImportFormat};
use crate::commands::{AppError, Context};
use crate::import::{
    self, Event, FoundTeam, ImportError, ImportOptions, ImportReport, PathInput, Phase, Progress,
    ReadScope,
};
use crate::mail::{ReadError, ReadOptions, human_size};
use indicatif::ProgressBar;
use std::sync::{Arc, Mutex};

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
    let mut team_domains = Vec::new();
    for domain in settings.team_domains.iter().chain(&args.team_domains) {
        team_domains.push(team_domain(domain)?);
    }
    let opts = ImportOptions {
        thread_window: chrono::Duration::days(i64::from(settings.thread_window_days)),
        team_addresses: settings.team_addresses.clone(),
        team_domains,
        detect_team: settings.detect_team && !args.no_detect_team,
        channel: channel(format).to_string(),
        label: args.path.display().to_string(),
        rep: Some(ctx.loaded.settings.rep.clone()),
        ..ImportOptions::default()
    };
    let input = PathInput {
        path: &args.path,
        format: Some(format),
        read: read_opts,
        full: args.full,
    };
    let bars = Arc::new(PhaseBars::default());
    let shown = bars.clone();
    let report = import::import_path(&ctx.db, &input, &opts, move |event| match event {
        Event::Progress(p) => shown.show(p),
        Event::TeamFound(found) => shown.warn(&team_warning(&found)),
    })
    .await
    .map_err(|e| match e {
        ImportError::Db(e) => AppError::Db(e),
        ImportError::Read(e) => read_error(e),
        ImportError::Failed(m) => AppError::Failed(format!("import: {m}")),
    })?;
    drop(bars);
    print_problems(&report);
    let mut out = crate::out::Out::stdout();
    if let Some(line) = scope_line(&report.scope) {
        out.line(line)?;
    }
    if report.scope != ReadScope::Unchanged {
        out.line(summary(&report))?;
    }
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

/// A `--team-domain` or `import.team_domains` entry, as the team matches it.
fn team_domain(raw: &str) -> Result<String, AppError> {
    let domain = raw.trim().trim_start_matches('@').to_lowercase();
    let valid = !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(domain)
    } else {
        Err(AppError::Usage(format!(
            "import: team domain {:?} is not a domain name; pass what follows the @, e.g. --team-domain sales.example.com",
            crate::text::sanitize_line(raw)
        )))
    }
}

/// What was left unread, when something was.
pub fn scope_line(scope: &ReadScope) -> Option<String> {
    match *scope {
        ReadScope::All => None,
        ReadScope::Full => Some("read everything again, as --full asks".into()),
        ReadScope::Changed => {
            Some("changed since the last import (not only appended to): read it all again".into())
        }
        ReadScope::Unchanged => Some(
            "unchanged since the last import: nothing to read (--full reads it all again)".into(),
        ),
        ReadScope::Appended { bytes } => Some(format!(
            "read {} appended since the last import",
            human_size(usize::try_from(bytes).unwrap_or(usize::MAX))
        )),
        ReadScope::NewFiles { files } => Some(format!(
            "read the {files} new {}; the others are unchanged since the last import",
            if files == 1 { "file" } else { "files" }
        )),
    }
}

/// One line: how many senders, at which domains, and what to do about it.
pub fn team_warning(found: &FoundTeam) -> String {
    let n = found.senders();
    let mut parts: Vec<String> = found
        .domains
        .iter()
        .map(|(domain, senders)| format!("{} at {domain}", senders.len()))
        .collect();
    match found.addresses.as_slice() {
        [] => {}
        [one] => parts.push(one.clone()),
        [first, rest @ ..] => parts.push(format!("{first} and {} more", rest.len())),
    }
    let explicit = match found.domains.first() {
        Some((domain, _)) => format!("--team-domain {domain} or `replydesk rep add EMAIL`"),
        None => "`replydesk rep add EMAIL` or import.team_addresses".to_string(),
    };
    let (senders, write, are) = if n == 1 {
        ("sender", "writes", "is not a registered rep")
    } else {
        ("senders", "write", "are not registered reps")
    };
    crate::text::sanitize_line(&format!(
        "replydesk: import: {n} {senders} ({}) {write} to many correspondents but {are}: \
         importing their mail as the team's (outbound, never leads); make it explicit with \
         {explicit}, or turn this off with --no-detect-team",
        parts.join(", ")
    ))
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
    /// A line on stderr that the bar does not overwrite.
    fn warn(&self, line: &str) {
        match self.current.lock().ok().as_ref().and_then(|c| c.as_ref()) {
            Some((_, bar)) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

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
