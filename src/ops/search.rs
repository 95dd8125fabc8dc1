//! `replydesk search QUERY [--semantic] [--status S] [--mine] [--json]`: the
//! search overlay, headless. Full text (websearch syntax) always; with
//! `--semantic` also the nearest messages by embedding, the two merged by
//! reciprocal rank fusion as in the app.

use crate::cli::{SearchArgs, StatusArg};
use crate::commands::{AppError, Context};
use crate::db::search::{self, SearchFilter};
use crate::db::{self, ConversationStatus};

pub async fn run(ctx: &Context, args: &SearchArgs) -> Result<(), AppError> {
    let query = args.query.trim();
    if query.is_empty() {
        return Err(AppError::Usage(
            "the search query is empty: give words to look for, e.g. replydesk search \"bike delivery\""
                .into(),
        ));
    }
    let pool = db::connect(&ctx.db).await?;
    let mut client = db::pool::client(&pool).await?;
    let owner = if args.mine {
        Some(
            db::reps::find_by_email(&**client, &ctx.loaded.settings.rep)
                .await?
                .id,
        )
    } else {
        None
    };
    let filter = SearchFilter {
        status: args.status.map(|s| match s {
            StatusArg::NeedsReply => ConversationStatus::NeedsReply,
            StatusArg::Waiting => ConversationStatus::Waiting,
            StatusArg::Active => ConversationStatus::Active,
            StatusArg::Archived => ConversationStatus::Archived,
        }),
        owner,
    };
    let (vector, model, dims) = if args.semantic {
        let embedder = super::embed::configured_embedder(&ctx.loaded.settings.ai)?;
        let e = super::embed::embed_texts(&embedder, vec![query.to_string()])
            .await
            .map_err(|e| AppError::Failed(e.to_string()))?;
        let v = e.vectors.into_iter().next().ok_or_else(|| {
            AppError::Failed("the embedder returned no vector for the query".into())
        })?;
        (Some(v), embedder.name().to_string(), embedder.dimensions())
    } else {
        (None, String::new(), 0)
    };
    let results = search::hybrid(
        &mut client,
        query,
        vector.as_deref(),
        &model,
        dims,
        filter,
        args.limit as usize,
    )
    .await?;
    if args.json {
        for r in &results {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
        return Ok(());
    }
    println!(
        "{:>7}  {:<11}  {:>6}  {:<4}  {:<22}  {:<30}  snippet",
        "id", "status", "score", "via", "lead", "subject"
    );
    for r in &results {
        let via = match (r.matched_full_text, r.matched_semantic) {
            (true, true) => "both",
            (true, false) => "text",
            (false, true) => "sem",
            (false, false) => "-",
        };
        println!(
            "{:>7}  {:<11}  {:>6.4}  {:<4}  {:<22}  {:<30}  {}",
            r.conversation_id,
            r.status.label(),
            r.score,
            via,
            cell(&r.lead_name, 22),
            cell(&r.subject, 30),
            cell(&r.snippet, 60)
        );
    }
    println!("{} result(s)", results.len());
    Ok(())
}

fn cell(s: &str, width: usize) -> String {
    crate::text::truncate_to_width(&crate::text::sanitize_line(s), width)
}
