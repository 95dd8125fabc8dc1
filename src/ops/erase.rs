//! `replydesk erase-lead EMAIL [--yes]`: the GDPR erase of a lead. What is
//! removed and what is kept is decided (and explained) in `db::erase`.

use crate::cli::EraseLeadArgs;
use crate::commands::{AppError, Context};
use crate::db::{self, erase::Erased};
use std::io::{BufRead, IsTerminal, Write};

fn summary(e: &Erased) -> String {
    format!(
        "{} lead(s), {} conversation(s), {} message(s), {} embedding(s), {} suggestion(s), {} outbox row(s), {} event(s), {} AI run(s)",
        e.leads,
        e.conversations,
        e.messages,
        e.embeddings,
        e.suggestions,
        e.outbox,
        e.events,
        e.ai_runs
    )
}

pub async fn run(ctx: &Context, args: &EraseLeadArgs) -> Result<(), AppError> {
    let email = args.email.trim();
    if !email.contains('@') || email.len() < 3 {
        return Err(AppError::Usage(format!(
            "\"{email}\" is not an email address: give the lead's email, e.g. `replydesk erase-lead lead@example.com`"
        )));
    }
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(AppError::Usage(
            "erase-lead asks for confirmation but stdin is not a terminal: pass --yes to erase without asking"
                .into(),
        ));
    }
    let (mut client, _notes) = ctx.db.connect_dedicated().await?;
    let rep_id = db::reps::find_by_email(&client, &ctx.loaded.settings.rep)
        .await
        .ok()
        .map(|r| r.id);
    if !args.yes {
        let preview = db::erase::preview(&client, email).await?;
        if preview.leads == 0 {
            return Err(no_such_lead());
        }
        eprint!(
            "replydesk: this permanently deletes {}. Type \"erase\" to confirm: ",
            summary(&preview)
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "erase" {
            return Err(AppError::Failed("not confirmed: nothing was erased".into()));
        }
    }
    match db::erase::erase_lead(&mut client, email, rep_id).await? {
        None => Err(no_such_lead()),
        Some((erased, event_id)) => {
            let mut out = crate::out::Out::stdout();
            out.line(format!(
                "erased {}; recorded as event {event_id} ({}, counts only)",
                summary(&erased),
                db::erase::ERASE_EVENT
            ))?;
            Ok(out.finish()?)
        }
    }
}

/// The address is not echoed: this line may end up in a log.
fn no_such_lead() -> AppError {
    AppError::Failed(
        "no lead has this email address: nothing was erased (check the spelling)".into(),
    )
}
