//! GDPR erase of a lead: everything that mentions the lead goes, in one
//! transaction, and one audit event without personal data stays.
//!
//! Deleting the lead cascades to its conversations, and from there to
//! messages, embeddings, suggestions and outbox rows (see 0002_core). Two
//! tables hold ids only, outside the cascade, and are cleaned explicitly:
//! - `events` of those conversations (and of their suggestions, and any whose
//!   details mention the address) are deleted, not kept: their details can
//!   hold personal data (a rejection note quoting the lead), and rewriting
//!   them would break the trail's append-only rule. Metrics lose those rows,
//!   just as they lose the cascaded suggestions.
//! - `ai_runs` of those conversations are deleted (an error text can echo
//!   the lead's words).
//!
//! The erase itself is recorded as a `lead.erased` event with counts only:
//! no address, no name, and no hash of the address (a hash of a guessable
//! email is still personal data).

use super::DbError;
use serde::Serialize;
use tokio_postgres::GenericClient;

/// What an erase removed (or would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub leads: i64,
    pub conversations: i64,
    pub messages: i64,
    pub suggestions: i64,
    pub outbox: i64,
    pub embeddings: i64,
    pub events: i64,
    pub ai_runs: i64,
}

/// The event kind that records an erase.
pub const ERASE_EVENT: &str = "lead.erased";

/// True when `events.details` mentions the address `$1` as a whole address
/// (case-insensitive): `ann@x.com` matches `"Ann@X.com"` and `<ann@x.com>`,
/// not `joann@x.com` or `ann@x.community`.
const DETAILS_MENTION: &str = r#"lower(details::text) ~ ('(?<![a-z0-9._%+-])'
    || regexp_replace(lower($1), '([.+*?^${}()|\[\]\\])', '\\\1', 'g')
    || '(?![a-z0-9-]|\.[a-z0-9])')"#;

fn count_sql() -> String {
    format!(
        "
    WITH l AS (SELECT id FROM leads WHERE lower(email) = lower($1)),
         c AS (SELECT id FROM conversations WHERE lead_id IN (SELECT id FROM l)),
         s AS (SELECT id FROM suggestions WHERE conversation_id IN (SELECT id FROM c))
    SELECT (SELECT count(*) FROM l),
           (SELECT count(*) FROM c),
           (SELECT count(*) FROM messages WHERE conversation_id IN (SELECT id FROM c)),
           (SELECT count(*) FROM s),
           (SELECT count(*) FROM outbox WHERE conversation_id IN (SELECT id FROM c)),
           (SELECT count(*) FROM message_embeddings e JOIN messages m ON m.id = e.message_id
              WHERE m.conversation_id IN (SELECT id FROM c)),
           (SELECT count(*) FROM events
              WHERE conversation_id IN (SELECT id FROM c)
                 OR suggestion_id IN (SELECT id FROM s)
                 OR {DETAILS_MENTION}),
           (SELECT count(*) FROM ai_runs WHERE conversation_id IN (SELECT id FROM c))"
    )
}

/// What erasing `email` would remove (case-insensitive match on leads.email).
pub async fn preview(client: &impl GenericClient, email: &str) -> Result<Erased, DbError> {
    let r = client.query_one(&count_sql(), &[&email]).await?;
    Ok(Erased {
        leads: r.get(0),
        conversations: r.get(1),
        messages: r.get(2),
        suggestions: r.get(3),
        outbox: r.get(4),
        embeddings: r.get(5),
        events: r.get(6),
        ai_runs: r.get(7),
    })
}

/// Erase every lead with `email` and all that mentions it, and record the
/// erase by `rep_id`. `None` when no lead has that email (nothing changed).
pub async fn erase_lead(
    client: &mut tokio_postgres::Client,
    email: &str,
    rep_id: Option<i64>,
) -> Result<Option<(Erased, i64)>, DbError> {
    let tx = client.transaction().await?;
    // Lock the leads first so a concurrent import cannot add to them midway.
    let locked = tx
        .query(
            "SELECT id FROM leads WHERE lower(email) = lower($1) FOR UPDATE",
            &[&email],
        )
        .await?;
    if locked.is_empty() {
        tx.rollback().await?;
        return Ok(None);
    }
    let counts = preview(&tx, email).await?;
    let events = tx
        .execute(
            &format!(
                "DELETE FROM events
              WHERE conversation_id IN (SELECT c.id FROM conversations c JOIN leads l ON l.id = c.lead_id
                                         WHERE lower(l.email) = lower($1))
                 OR suggestion_id IN (SELECT s.id FROM suggestions s
                                        JOIN conversations c ON c.id = s.conversation_id
                                        JOIN leads l ON l.id = c.lead_id
                                       WHERE lower(l.email) = lower($1))
                 OR {DETAILS_MENTION}"
            ),
            &[&email],
        )
        .await?;
    let ai_runs = tx
        .execute(
            "DELETE FROM ai_runs
              WHERE conversation_id IN (SELECT c.id FROM conversations c JOIN leads l ON l.id = c.lead_id
                                         WHERE lower(l.email) = lower($1))",
            &[&email],
        )
        .await?;
    let leads = tx
        .execute(
            "DELETE FROM leads WHERE lower(email) = lower($1)",
            &[&email],
        )
        .await?;
    let erased = Erased {
        leads: leads as i64,
        events: events as i64,
        ai_runs: ai_runs as i64,
        ..counts
    };
    let details = serde_json::to_value(&erased).unwrap_or_default();
    let row = tx
        .query_one(
            "INSERT INTO events (rep_id, kind, details) VALUES ($1, $2, $3) RETURNING id",
            &[&rep_id, &ERASE_EVENT, &details],
        )
        .await?;
    let event_id: i64 = row.get(0);
    tx.commit().await?;
    Ok(Some((erased, event_id)))
}
