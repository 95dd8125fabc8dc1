//! `replydesk show ID [--json]`: one conversation's thread, oldest message
//! first, then its draft, for scripts and for reading outside the app.
//! Everything that came from outside is sanitized (no escape sequences or
//! controls but newline and tab); HTML-only bodies are turned into text.
//! Bodies past 64 KiB are cut, and say so.

use crate::cli::ShowArgs;
use crate::commands::{AppError, Context};
use crate::db::messages::{MessageView, Thread};
use crate::db::suggestions::Suggestion;
use crate::db::{self, Direction};
use crate::out::Out;
use crate::text::{sanitize, sanitize_line};
use serde::Serialize;

/// Messages printed at most (a thread longer than this says so).
const MAX_MESSAGES: i64 = 100_000;
/// Width HTML bodies are laid out at.
const HTML_WIDTH: usize = 100;

/// What is printed: outside text sanitized, bodies as text.
#[derive(Serialize)]
struct Shown {
    conversation: db::messages::ConversationDetail,
    /// Oldest first; `body` is the text (HTML converted).
    messages: Vec<ShownMessage>,
    /// The pending draft, or the latest decided one.
    draft: Option<ShownDraft>,
}

#[derive(Serialize)]
struct ShownMessage {
    #[serde(flatten)]
    message: MessageView,
    truncated: bool,
}

#[derive(Serialize)]
struct ShownDraft {
    id: i64,
    status: &'static str,
    confidence: f32,
    body: String,
    final_body: Option<String>,
    decided_by: Option<String>,
}

pub async fn run(ctx: &Context, args: &ShowArgs) -> Result<(), AppError> {
    let mut out = Out::stdout();
    let pool = ctx.bounded("connecting", db::connect(&ctx.db)).await?;
    let client = ctx.bounded("a connection", db::pool::client(&pool)).await?;
    let thread = ctx
        .bounded(
            "reading the thread",
            db::messages::thread(&client, args.id, None, MAX_MESSAGES),
        )
        .await?;
    let draft = ctx
        .bounded(
            "reading the draft",
            db::suggestions::latest(&client, args.id),
        )
        .await?;
    let shown = shown(&thread, draft.as_ref());
    if args.json {
        out.line(serde_json::to_string(&shown).unwrap_or_default())?;
    } else {
        print_text(&mut out, &thread, &shown)?;
    }
    Ok(out.finish()?)
}

fn clean_detail(d: &db::messages::ConversationDetail) -> db::messages::ConversationDetail {
    db::messages::ConversationDetail {
        subject: sanitize_line(&d.subject),
        lead_name: sanitize_line(&d.lead_name),
        lead_email: d.lead_email.as_deref().map(sanitize_line),
        lead_phone: d.lead_phone.as_deref().map(sanitize_line),
        lead_source: sanitize_line(&d.lead_source),
        owner: d.owner.as_deref().map(sanitize_line),
        channel: sanitize_line(&d.channel),
        ..d.clone()
    }
}

fn shown(thread: &Thread, draft: Option<&Suggestion>) -> Shown {
    let messages = thread
        .messages
        .iter()
        .map(|m| {
            let body = if m.body_is_html {
                crate::text::html_to_text(&m.body, HTML_WIDTH)
            } else {
                sanitize(&m.body)
            };
            ShownMessage {
                truncated: m.is_truncated(),
                message: MessageView {
                    from_addr: sanitize_line(&m.from_addr),
                    to_addrs: m.to_addrs.iter().map(|a| sanitize_line(a)).collect(),
                    subject: sanitize_line(&m.subject),
                    body,
                    ..m.clone()
                },
            }
        })
        .collect();
    Shown {
        conversation: clean_detail(&thread.conversation),
        messages,
        draft: draft.map(|s| ShownDraft {
            id: s.id,
            status: s.status.as_str(),
            confidence: s.confidence,
            body: sanitize(&s.body),
            final_body: s.final_body.as_deref().map(sanitize),
            decided_by: s.decided_by.as_deref().map(sanitize_line),
        }),
    }
}

fn print_text(out: &mut Out, thread: &Thread, shown: &Shown) -> Result<(), AppError> {
    let c = &shown.conversation;
    out.line(format!(
        "conversation {} · {} · {}",
        c.id,
        c.status.label(),
        c.subject
    ))?;
    let email = c
        .lead_email
        .as_deref()
        .map(|e| format!(" <{e}>"))
        .unwrap_or_default();
    out.line(format!(
        "lead: {}{email} ({}) · owner: {} · {} message(s)",
        c.lead_name,
        c.lead_source,
        c.owner.as_deref().unwrap_or("nobody"),
        c.message_count
    ))?;
    if thread.has_older {
        out.line(format!(
            "(only the newest {MAX_MESSAGES} messages are shown)"
        ))?;
    }
    for m in &shown.messages {
        let v = &m.message;
        let arrow = match v.direction {
            Direction::Inbound => "in ",
            Direction::Outbound => "out",
        };
        let to = v.to_addrs.join(", ");
        let delivery = v
            .delivery
            .map(|d| format!(" · {}", d.as_str()))
            .unwrap_or_default();
        out.line("")?;
        out.line(format!(
            "── {} {arrow} {} → {to} · {}{delivery}",
            v.seq,
            v.from_addr,
            v.sent_at.format("%Y-%m-%d %H:%M UTC")
        ))?;
        if !v.subject.is_empty() {
            out.line(format!("Subject: {}", v.subject))?;
        }
        out.line("")?;
        out.line(v.body.trim_end())?;
        if m.truncated {
            out.line(crate::text::truncation_note(v.body_bytes as usize))?;
        }
    }
    if let Some(d) = &shown.draft {
        out.line("")?;
        out.line(format!(
            "── draft {} · {} · confidence {:.0}%{}",
            d.id,
            d.status,
            d.confidence * 100.0,
            d.decided_by
                .as_deref()
                .map(|b| format!(" · by {b}"))
                .unwrap_or_default()
        ))?;
        out.line("")?;
        out.line(d.final_body.as_deref().unwrap_or(&d.body).trim_end())?;
    }
    Ok(())
}
