//! `replydesk search QUERY [--semantic] [--status S] [--mine] [--limit N |
//! --all] [--json]`: the search overlay, headless. Words and operators
//! (see [`crate::query`]), ranked as [`crate::db::search`] says; with
//! `--semantic` the nearest messages by meaning are fused in as in the app.

use crate::cli::{SearchArgs, StatusArg};
use crate::commands::{AppError, Context};
use crate::db::search::{self, Found, Meaning, QueryVector, Request, SearchFilter, SearchResult};
use crate::db::{self, ConversationStatus};
use crate::out::Out;
use futures::StreamExt;

pub async fn run(ctx: &Context, args: &SearchArgs) -> Result<(), AppError> {
    let query = crate::query::parse(&args.query, chrono::Utc::now())
        .map_err(|e| AppError::Usage(format!("search: {e}")))?;
    if query.is_empty() {
        return Err(AppError::Usage(
            "the search query is empty: give words or operators to look for, e.g. replydesk search \"bike delivery\" or replydesk search from:dana"
                .into(),
        ));
    }
    let mut out = Out::stdout();
    let pool = ctx.bounded("connecting", db::connect(&ctx.db)).await?;
    let mut client = ctx.bounded("a connection", db::pool::client(&pool)).await?;
    let needs_me = args.mine
        || query
            .rep
            .iter()
            .any(|r| matches!(r, crate::query::RepPattern::Me));
    let me = if needs_me {
        let rep = ctx
            .bounded(
                "looking up the rep",
                db::reps::find_by_email(&**client, &ctx.loaded.settings.rep),
            )
            .await?;
        Some(rep.id)
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
        owner: if args.mine { me } else { None },
    };
    if !args.json {
        header(&mut out)?;
    }
    if args.all {
        let req = Request {
            query: &query,
            filter,
            me,
            vector: None,
            limit: usize::MAX,
        };
        let rows = ctx
            .bounded("the search", search::stream_all(&client, &req))
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut n = 0usize;
        // Each row within the deadline; output to a slow reader is not bounded.
        while let Some(r) = ctx
            .bounded("the search", async { Ok::<_, AppError>(rows.next().await) })
            .await?
        {
            let r = r?;
            row(&mut out, &r, args.json)?;
            n += 1;
        }
        if !args.json {
            out.line(search::conversations(n))?;
        }
        return Ok(out.finish()?);
    }
    let (vector, model, dims) = if args.semantic {
        let embedder = super::embed::configured_embedder(&ctx.loaded.settings.ai)?;
        let e = super::embed::embed_texts(&embedder, vec![query.text.clone()])
            .await
            .map_err(|e| AppError::Failed(e.to_string()))?;
        let v = e.vectors.into_iter().next().ok_or_else(|| {
            AppError::Failed("the embedder returned no vector for the query".into())
        })?;
        (Some(v), embedder.name().to_string(), embedder.dimensions())
    } else {
        (None, String::new(), 0)
    };
    let req = Request {
        query: &query,
        filter,
        me,
        vector: vector.as_deref().map(|vector| QueryVector {
            vector,
            model: &model,
            dims,
        }),
        limit: usize::try_from(args.limit).unwrap_or(usize::MAX),
    };
    let found: Found = ctx
        .bounded("the search", search::search(&mut client, &req))
        .await?;
    for r in &found.results {
        row(&mut out, r, args.json)?;
    }
    if !args.json {
        out.line(footer(&found))?;
    }
    Ok(out.finish()?)
}

fn header(out: &mut Out) -> Result<(), AppError> {
    out.line(format!(
        "{:>7}  {:<11}  {:>6}  {:<4}  {:<22}  {:<30}  snippet",
        "id", "status", "score", "via", "lead", "subject"
    ))?;
    Ok(())
}

fn row(out: &mut Out, r: &SearchResult, json: bool) -> Result<(), AppError> {
    if json {
        out.line(serde_json::to_string(&clean(r)).unwrap_or_default())?;
        return Ok(());
    }
    let via = match (r.matched_full_text, r.matched_semantic) {
        (true, true) => "both",
        (true, false) => "text",
        (false, true) => "sem",
        (false, false) => "-",
    };
    let line = format!(
        "{:>7}  {:<11}  {:>6.4}  {:<4}  {:<22}  {:<30}  {}",
        r.conversation_id,
        r.status.label(),
        r.score,
        via,
        out.cell(&r.lead_name, 22),
        out.cell(&r.subject, 30),
        out.cell(&r.snippet, 60)
    );
    out.line(line)?;
    Ok(())
}

/// Outside text made safe for whatever prints the JSON later.
fn clean(r: &SearchResult) -> SearchResult {
    SearchResult {
        lead_name: crate::text::sanitize_line(&r.lead_name),
        subject: crate::text::sanitize_line(&r.subject),
        snippet: crate::text::sanitize_line(&r.snippet),
        ..r.clone()
    }
}

/// "3 of 46 conversations · full text only: …".
pub fn footer(found: &Found) -> String {
    let n = found.results.len();
    let what = search::describe_matched(found.matched, n);
    let searched = match found.meaning {
        Meaning::Off => "full text",
        Meaning::Fused => "full text and meaning, fused",
        Meaning::NoVectors => "full text only: the model has no vectors yet (run replydesk embed)",
        Meaning::Skipped => "full text only: from:/to:/date:/subject:/lead:/rep: apply to it alone",
        Meaning::NoWords => "operators only",
    };
    format!("{what} · {searched}")
}
