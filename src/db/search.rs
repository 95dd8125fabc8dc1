//! Full-text search over messages (websearch syntax).
//!
//! A common word can match most of the table; ranking every match costs a
//! parallel scan. So the newest matches form a bounded candidate set and only
//! those are ranked.

use super::{ConversationStatus, DbError};
use serde::Serialize;
use tokio_postgres::GenericClient;

/// How many of the newest matches are ranked.
pub const CANDIDATES: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub conversation_id: i64,
    pub message_id: i64,
    pub rank: f32,
}

/// The best `limit` messages for a websearch-syntax query, one per conversation.
pub async fn full_text(
    client: &impl GenericClient,
    query: &str,
    limit: i64,
) -> Result<Vec<Hit>, DbError> {
    let rows = client
        .query(
            // The tsquery is written inline (not in a CTE) so the planner
            // sees the words and picks the right plan: a backward scan of
            // the primary key for a common word, the GIN index for a rare one.
            "WITH candidates AS (
               SELECT m.id, m.conversation_id,
                      ts_rank(m.search, websearch_to_tsquery('english', $1)) AS rank
               FROM messages m
               WHERE m.search @@ websearch_to_tsquery('english', $1)
               ORDER BY m.id DESC LIMIT $3),
             ranked AS (
               SELECT DISTINCT ON (conversation_id) conversation_id, id, rank
               FROM candidates
               ORDER BY conversation_id, rank DESC, id DESC)
             SELECT conversation_id, id, rank FROM ranked
             ORDER BY rank DESC, id DESC LIMIT $2",
            &[&query, &limit, &CANDIDATES],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Hit {
            conversation_id: r.get(0),
            message_id: r.get(1),
            rank: r.get(2),
        })
        .collect())
}

pub use super::embeddings::SimilarFilter as SearchFilter;

/// Reciprocal rank fusion constant (Cormack et al.): score = Σ 1 / (k + rank).
pub const RRF_K: f64 = 60.0;
/// Results taken from each half before fusing.
const FUSE_DEPTH: usize = 50;
/// Characters of a snippet.
const SNIPPET_CHARS: i32 = 160;

/// One conversation found by [`hybrid`] or [`semantic`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub conversation_id: i64,
    /// Fused score (reciprocal rank fusion; higher is better).
    pub score: f64,
    pub lead_name: String,
    pub subject: String,
    pub status: ConversationStatus,
    /// The start of the best message, whitespace collapsed. Outside text:
    /// sanitize before drawing.
    pub snippet: String,
    /// The message the snippet is from.
    pub message_id: i64,
    pub matched_full_text: bool,
    pub matched_semantic: bool,
}

/// Full-text hits within a status/owner filter, one per conversation, best
/// first. Like [`full_text`], only the newest matches are ranked.
pub async fn full_text_filtered(
    client: &impl GenericClient,
    query: &str,
    filter: SearchFilter,
    limit: i64,
) -> Result<Vec<Hit>, DbError> {
    let rows = client
        .query(
            "WITH candidates AS (
               SELECT m.id, m.conversation_id,
                      ts_rank(m.search, websearch_to_tsquery('english', $1)) AS rank
               FROM messages m JOIN conversations c ON c.id = m.conversation_id
               WHERE m.search @@ websearch_to_tsquery('english', $1)
                 AND c.deleted_at IS NULL
                 AND ($4::conversation_status IS NULL OR c.status = $4)
                 AND ($5::bigint IS NULL OR c.owner_rep_id = $5)
               ORDER BY m.id DESC LIMIT $3),
             ranked AS (
               SELECT DISTINCT ON (conversation_id) conversation_id, id, rank
               FROM candidates
               ORDER BY conversation_id, rank DESC, id DESC)
             SELECT conversation_id, id, rank FROM ranked
             ORDER BY rank DESC, id DESC LIMIT $2",
            &[&query, &limit, &CANDIDATES, &filter.status, &filter.owner],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Hit {
                conversation_id: r.try_get(0)?,
                message_id: r.try_get(1)?,
                rank: r.try_get(2)?,
            })
        })
        .collect()
}

/// Semantic search alone: conversations whose inbound messages are nearest
/// to `vector`, within the filter.
pub async fn semantic(
    client: &mut tokio_postgres::Client,
    vector: &[f32],
    model: &str,
    dims: usize,
    filter: SearchFilter,
    limit: usize,
) -> Result<Vec<SearchResult>, DbError> {
    fuse(client, None, Some(vector), model, dims, filter, limit).await
}

/// The search overlay: full-text (websearch syntax) and, when `vector` is
/// given, semantic search, merged by reciprocal rank fusion (k = 60),
/// within a status/owner filter. An empty or stop-word-only query leaves the
/// semantic half alone.
pub async fn hybrid(
    client: &mut tokio_postgres::Client,
    query_text: &str,
    vector: Option<&[f32]>,
    model: &str,
    dims: usize,
    filter: SearchFilter,
    limit: usize,
) -> Result<Vec<SearchResult>, DbError> {
    fuse(client, Some(query_text), vector, model, dims, filter, limit).await
}

async fn fuse(
    client: &mut tokio_postgres::Client,
    query_text: Option<&str>,
    vector: Option<&[f32]>,
    model: &str,
    dims: usize,
    filter: SearchFilter,
    limit: usize,
) -> Result<Vec<SearchResult>, DbError> {
    let depth = FUSE_DEPTH.max(limit);
    let text_hits = match query_text.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => full_text_filtered(&*client, q, filter, depth as i64).await?,
        None => Vec::new(),
    };
    let near = match vector {
        Some(v) => {
            let tx = client.transaction().await?;
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {}; SET LOCAL hnsw.iterative_scan = relaxed_order",
                super::embeddings::DEFAULT_EF_SEARCH.max(depth as i32)
            ))
            .await?;
            let near = super::embeddings::nearest_conversations(
                &tx,
                v,
                model,
                dims,
                None,
                filter,
                depth,
                super::embeddings::SearchTuning::default(),
            )
            .await?;
            tx.commit().await?;
            near
        }
        None => Vec::new(),
    };
    // conversation -> (score, best message, full text?, semantic?)
    let mut fused: Vec<(i64, f64, i64, bool, bool)> = Vec::new();
    for (rank, h) in text_hits.iter().enumerate() {
        fused.push((
            h.conversation_id,
            1.0 / (RRF_K + rank as f64 + 1.0),
            h.message_id,
            true,
            false,
        ));
    }
    for (rank, n) in near.iter().enumerate() {
        let add = 1.0 / (RRF_K + rank as f64 + 1.0);
        match fused.iter_mut().find(|f| f.0 == n.conversation_id) {
            Some(f) => {
                f.1 += add;
                f.4 = true;
            }
            None => fused.push((n.conversation_id, add, n.message_id, false, true)),
        }
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    fused.truncate(limit);
    if fused.is_empty() {
        return Ok(Vec::new());
    }
    let conv_ids: Vec<i64> = fused.iter().map(|f| f.0).collect();
    let msg_ids: Vec<i64> = fused.iter().map(|f| f.2).collect();
    let rows = client
        .query(
            "SELECT c.id, l.name, c.subject, c.status,
                    left(regexp_replace(
                      CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                           THEN left(m.body_html, $3 * 8) ELSE left(m.body_text, $3 * 8) END,
                      '\\s+', ' ', 'g'), $3)
             FROM unnest($1::bigint[], $2::bigint[]) u(cid, mid)
             JOIN conversations c ON c.id = u.cid
             JOIN leads l ON l.id = c.lead_id
             JOIN messages m ON m.id = u.mid",
            &[&conv_ids, &msg_ids, &SNIPPET_CHARS],
        )
        .await?;
    let mut out = Vec::with_capacity(fused.len());
    for (cid, score, mid, ft, sem) in fused {
        let Some(r) = rows
            .iter()
            .find(|r| r.try_get::<_, i64>(0).is_ok_and(|id| id == cid))
        else {
            continue;
        };
        out.push(SearchResult {
            conversation_id: cid,
            score,
            lead_name: r.try_get(1)?,
            subject: r.try_get(2)?,
            status: r.try_get(3)?,
            snippet: r.try_get::<_, String>(4)?.trim().to_string(),
            message_id: mid,
            matched_full_text: ft,
            matched_semantic: sem,
        });
    }
    Ok(out)
}
