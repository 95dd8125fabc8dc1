//! The inbox: conversation lists (keyset-paginated, never OFFSET), counts,
//! archive and unarchive.

use super::{ConversationStatus, DbError, Rep, events};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type};

/// The list filters on keys 1–4. "All" is every status, archived included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    NeedsReply,
    Waiting,
    All,
    Archived,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 4] = [
        StatusFilter::NeedsReply,
        StatusFilter::Waiting,
        StatusFilter::All,
        StatusFilter::Archived,
    ];

    fn status(self) -> Option<ConversationStatus> {
        match self {
            StatusFilter::NeedsReply => Some(ConversationStatus::NeedsReply),
            StatusFilter::Waiting => Some(ConversationStatus::Waiting),
            StatusFilter::Archived => Some(ConversationStatus::Archived),
            StatusFilter::All => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::NeedsReply => "needs reply",
            StatusFilter::Waiting => "waiting",
            StatusFilter::All => "all",
            StatusFilter::Archived => "archived",
        }
    }

    /// Does a conversation with this status belong in the list?
    pub fn admits(self, status: ConversationStatus) -> bool {
        self.status().is_none_or(|s| s == status)
    }
}

/// Which conversations to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InboxQuery {
    pub filter: StatusFilter,
    /// Only this rep's conversations; `None` for everyone's.
    pub owner: Option<i64>,
    /// With `owner`: the conversations nobody owns too (scope "mine").
    pub unassigned: bool,
}

/// A position in the list order (newest activity first, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub last_message_at: DateTime<Utc>,
    pub id: i64,
}

/// Which page to fetch relative to a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest rows.
    First,
    /// The oldest rows.
    Last,
    /// Rows older than the cursor.
    After(Cursor),
    /// Rows newer than the cursor.
    Before(Cursor),
}

/// One line of the conversation list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationRow {
    pub id: i64,
    pub status: ConversationStatus,
    pub subject: String,
    pub lead_name: String,
    pub lead_email: Option<String>,
    pub owner_rep_id: Option<i64>,
    pub message_count: i32,
    pub last_message_at: DateTime<Utc>,
    /// The pending draft, if any: its id and confidence.
    pub pending_suggestion_id: Option<i64>,
    pub pending_confidence: Option<f32>,
}

impl ConversationRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            last_message_at: self.last_message_at,
            id: self.id,
        }
    }
}

const ROW_COLUMNS: &str = "c.id, c.status, c.subject, l.name, l.email, c.owner_rep_id, \
     c.message_count, c.last_message_at, s.id, s.confidence";

fn from_row(r: &tokio_postgres::Row) -> ConversationRow {
    ConversationRow {
        id: r.get(0),
        status: r.get(1),
        subject: r.get(2),
        lead_name: r.get(3),
        lead_email: r.get(4),
        owner_rep_id: r.get(5),
        message_count: r.get(6),
        last_message_at: r.get(7),
        pending_suggestion_id: r.get(8),
        pending_confidence: r.get(9),
    }
}

/// One page of the inbox, always newest first.
pub async fn page(
    client: &tokio_postgres::Client,
    query: &InboxQuery,
    page: Page,
    limit: i64,
) -> Result<Vec<ConversationRow>, DbError> {
    let status = query.filter.status().map(ConversationStatus::as_str);
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::new();
    let mut conds = vec!["deleted_at IS NULL".to_string()];
    if let Some(s) = &status {
        params.push((s, Type::TEXT));
        conds.push(format!(
            "status = ${}::text::conversation_status",
            params.len()
        ));
    }
    // Kept out of `conds`: "mine" (own or unassigned) is two index range
    // scans merged, not one OR that no index serves in order.
    let mut owner_conds = Vec::new();
    if let Some(o) = &query.owner {
        params.push((o, Type::INT8));
        owner_conds.push(format!("owner_rep_id = ${}", params.len()));
        if query.unassigned {
            owner_conds.push("owner_rep_id IS NULL".to_string());
        }
    }
    let (cursor, ascending) = match &page {
        Page::First => (None, false),
        Page::Last => (None, true),
        Page::After(c) => (Some(c), false),
        Page::Before(c) => (Some(c), true),
    };
    if let Some(c) = cursor {
        params.push((&c.last_message_at, Type::TIMESTAMPTZ));
        params.push((&c.id, Type::INT8));
        let op = if ascending { ">" } else { "<" };
        conds.push(format!(
            "(last_message_at, id) {op} (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    params.push((&limit, Type::INT8));
    let order = if ascending {
        "last_message_at ASC, id ASC"
    } else {
        "last_message_at DESC, id DESC"
    };
    let limit_param = params.len();
    let base = conds.join(" AND ");
    let branch = |owner: &str| {
        format!(
            "SELECT * FROM conversations WHERE {base}{owner} ORDER BY {order} LIMIT ${limit_param}"
        )
    };
    let inner = match owner_conds.as_slice() {
        [] => branch(""),
        [one] => branch(&format!(" AND {one}")),
        several => {
            let union: Vec<String> = several
                .iter()
                .map(|o| format!("({})", branch(&format!(" AND {o}"))))
                .collect();
            format!(
                "SELECT * FROM ({}) u ORDER BY {order} LIMIT ${limit_param}",
                union.join(" UNION ALL ")
            )
        }
    };
    let sql = format!(
        "SELECT {ROW_COLUMNS}
         FROM ({inner}) c
         JOIN leads l ON l.id = c.lead_id
         LEFT JOIN suggestions s ON s.conversation_id = c.id AND s.status = 'pending'
         ORDER BY c.last_message_at DESC, c.id DESC"
    );
    // Sent typed: one round trip, planned with the real values.
    let rows = client.query_typed(&sql, &params).await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The current state of some conversations (for live updates), in no order.
pub async fn get_many(
    client: &tokio_postgres::Client,
    ids: &[i64],
) -> Result<Vec<ConversationRow>, DbError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS}
         FROM conversations c
         JOIN leads l ON l.id = c.lead_id
         LEFT JOIN suggestions s ON s.conversation_id = c.id AND s.status = 'pending'
         WHERE c.id = ANY($1) AND c.deleted_at IS NULL"
    );
    let rows = client
        .query_typed(&sql, &[(&ids, Type::INT8_ARRAY)])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Conversations per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub needs_reply: i64,
    pub waiting: i64,
    pub active: i64,
    pub archived: i64,
}

impl StatusCounts {
    pub fn total(&self) -> i64 {
        self.needs_reply + self.waiting + self.active + self.archived
    }

    pub fn for_filter(&self, f: StatusFilter) -> i64 {
        match f {
            StatusFilter::NeedsReply => self.needs_reply,
            StatusFilter::Waiting => self.waiting,
            StatusFilter::Archived => self.archived,
            StatusFilter::All => self.total(),
        }
    }
}

pub async fn counts(
    client: &impl GenericClient,
    owner: Option<i64>,
) -> Result<StatusCounts, DbError> {
    counts_for(client, owner, false).await
}

/// Counts for an owner scope: everyone's (`None`), one rep's, or one rep's
/// plus the unassigned (`unassigned`, scope "mine").
pub async fn counts_for(
    client: &impl GenericClient,
    owner: Option<i64>,
    unassigned: bool,
) -> Result<StatusCounts, DbError> {
    let rows = client
        .query(
            "SELECT status, count(*) FROM (
               SELECT status FROM conversations
               WHERE deleted_at IS NULL AND ($1::bigint IS NULL OR owner_rep_id = $1)
               UNION ALL
               SELECT status FROM conversations
               WHERE deleted_at IS NULL AND owner_rep_id IS NULL
                 AND $1::bigint IS NOT NULL AND $2::bool) s
             GROUP BY status",
            &[&owner, &unassigned],
        )
        .await?;
    let mut c = StatusCounts::default();
    for r in rows {
        let n: i64 = r.get(1);
        match r.get::<_, ConversationStatus>(0) {
            ConversationStatus::NeedsReply => c.needs_reply = n,
            ConversationStatus::Waiting => c.waiting = n,
            ConversationStatus::Active => c.active = n,
            ConversationStatus::Archived => c.archived = n,
        }
    }
    Ok(c)
}

/// Archive a conversation. Returns false when it already was archived.
pub async fn archive(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    rep_id: i64,
) -> Result<bool, DbError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "UPDATE conversations SET status = 'archived'
             WHERE id = $1 AND deleted_at IS NULL AND status <> 'archived'
             RETURNING id",
            &[&conversation_id],
        )
        .await?;
    if row.is_none() {
        exists(&tx, conversation_id).await?;
        return Ok(false);
    }
    events::record(
        &tx,
        Some(rep_id),
        "conversation.archived",
        Some(conversation_id),
        None,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Bring an archived conversation back: `needs_reply` when the lead spoke
/// last or a draft is pending, `waiting` otherwise.
pub async fn unarchive(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    rep_id: i64,
) -> Result<Option<ConversationStatus>, DbError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "UPDATE conversations c SET status = CASE
                 WHEN EXISTS (SELECT 1 FROM suggestions s
                              WHERE s.conversation_id = c.id AND s.status = 'pending')
                   OR c.last_inbound_at > coalesce(c.last_outbound_at, '-infinity')
                 THEN 'needs_reply'::conversation_status
                 ELSE 'waiting'::conversation_status END
             WHERE id = $1 AND deleted_at IS NULL AND status = 'archived'
             RETURNING status",
            &[&conversation_id],
        )
        .await?;
    let Some(row) = row else {
        exists(&tx, conversation_id).await?;
        return Ok(None);
    };
    let status: ConversationStatus = row.get(0);
    events::record(
        &tx,
        Some(rep_id),
        "conversation.unarchived",
        Some(conversation_id),
        None,
        serde_json::json!({ "status": status.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(status))
}

/// Make an unassigned conversation the rep's, and its lead too when nobody
/// owns the lead. Of any number of reps claiming at once exactly one wins:
/// the update matches only while `owner_rep_id IS NULL`; the others get
/// [`DbError::AlreadyClaimed`] naming the winner. Claiming a conversation
/// that is already the rep's changes nothing and succeeds.
pub async fn claim(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    rep: &Rep,
) -> Result<(), DbError> {
    let tx = client.transaction().await?;
    let won = tx
        .query_typed_opt(
            "UPDATE conversations SET owner_rep_id = $2
             WHERE id = $1 AND deleted_at IS NULL AND owner_rep_id IS NULL
             RETURNING lead_id",
            &[(&conversation_id, Type::INT8), (&rep.id, Type::INT8)],
        )
        .await?;
    let Some(won) = won else {
        let outcome = claim_lost(&tx, conversation_id, rep.id).await;
        tx.rollback().await?;
        return outcome;
    };
    let lead_id: i64 = won.get(0);
    let lead_claimed = tx
        .execute_typed(
            "UPDATE leads SET owner_rep_id = $2 WHERE id = $1 AND owner_rep_id IS NULL",
            &[(&lead_id, Type::INT8), (&rep.id, Type::INT8)],
        )
        .await?
        == 1;
    events::record(
        &tx,
        Some(rep.id),
        "conversation.claimed",
        Some(conversation_id),
        None,
        serde_json::json!({ "lead_id": lead_id, "lead_claimed": lead_claimed }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a claim matched nothing: the rep already owns it (fine), someone
/// else does (named, even when row-level security hides the row), or it
/// is gone.
async fn claim_lost(
    tx: &tokio_postgres::Transaction<'_>,
    conversation_id: i64,
    rep_id: i64,
) -> Result<(), DbError> {
    let row = tx
        .query_typed_one(
            "SELECT (SELECT owner_rep_id FROM conversations WHERE id = $1 AND deleted_at IS NULL),
                    replydesk_conversation_owner($1)",
            &[(&conversation_id, Type::INT8)],
        )
        .await?;
    let owner: Option<i64> = row.get(0);
    let by: Option<String> = row.get(1);
    match (owner, by) {
        (Some(o), _) if o == rep_id => Ok(()),
        (_, Some(by)) => Err(DbError::AlreadyClaimed {
            id: conversation_id,
            by,
        }),
        _ => Err(DbError::NotFound {
            what: "conversation",
            id: conversation_id,
        }),
    }
}

async fn exists(client: &impl GenericClient, conversation_id: i64) -> Result<(), DbError> {
    let found = client
        .query_opt(
            "SELECT 1 FROM conversations WHERE id = $1 AND deleted_at IS NULL",
            &[&conversation_id],
        )
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(DbError::NotFound {
            what: "conversation",
            id: conversation_id,
        }),
    }
}
