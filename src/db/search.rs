//! Full-text search over messages (websearch syntax).
//!
//! A common word can match most of the table; ranking every match costs a
//! parallel scan. So the newest matches form a bounded candidate set and only
//! those are ranked.

use super::{ConversationStatus, DbError, embeddings};
use serde::Serialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

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
/// Results taken from each half before fusing (or the requested limit, when
/// more). Not just the limit: a conversation deep in both lists can outrank
/// one near the top of only one.
const FUSE_DEPTH: usize = 50;
/// Newest full-text matches ranked by the full-text half of [`hybrid`]
/// (before a filter; widened when the filter leaves too few). Fewer than
/// [`full_text`]'s [`CANDIDATES`]: the interactive search overlay runs the
/// semantic half too within the same budget, and a common word's cost is
/// proportional to this.
pub const HYBRID_TEXT_CANDIDATES: i64 = 400;
/// …among the newest this many messages first (see `full_text_bounded`).
pub const HYBRID_TEXT_WINDOW: i64 = 65_536;
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
/// first. Like [`full_text`], only the newest matches are ranked: the newest
/// [`CANDIDATES`] matches are taken first (an index-friendly scan whatever
/// the filter) and the filter is applied to those; when that leaves fewer
/// than `limit`, the candidate set is widened.
pub async fn full_text_filtered(
    client: &impl GenericClient,
    query: &str,
    filter: SearchFilter,
    limit: i64,
) -> Result<Vec<Hit>, DbError> {
    full_text_bounded(client, query, filter, limit, limit, CANDIDATES, None).await
}

/// The most candidates a widened filtered search ranks.
const MAX_CANDIDATES: i64 = 4 * CANDIDATES;

/// `window`: look among the newest this many message ids first (widened
/// ×8 while that finds fewer than `limit`), so the GIN index and a range of
/// the primary key narrow the heap pages read together: a word that matches
/// 1% of messages otherwise costs either a backward scan of 100 rows per
/// candidate or a heap fetch of every match. `enough`: the fewest hits
/// (≤ `limit`) for which the candidate set is not widened.
#[allow(clippy::too_many_arguments)]
async fn full_text_bounded(
    client: &impl GenericClient,
    query: &str,
    filter: SearchFilter,
    limit: i64,
    enough: i64,
    first_candidates: i64,
    window: Option<i64>,
) -> Result<Vec<Hit>, DbError> {
    // Candidates first (newest matches), then one row per conversation,
    // then the conversation filter on those in rank order, so the join
    // stops at `limit`. `total` says whether the candidates ran out.
    const SQL: &str = "WITH candidates AS (
           SELECT m.id, m.conversation_id,
                  ts_rank(m.search, websearch_to_tsquery('english', $1)) AS rank
           FROM messages m
           WHERE m.search @@ websearch_to_tsquery('english', $1) AND m.id > $6
           ORDER BY m.id DESC LIMIT $3),
         ranked AS (
           SELECT DISTINCT ON (conversation_id) conversation_id, id, rank
           FROM candidates
           ORDER BY conversation_id, rank DESC, id DESC),
         kept AS (
           SELECT r.conversation_id, r.id, r.rank
           FROM ranked r JOIN conversations c ON c.id = r.conversation_id
           WHERE c.deleted_at IS NULL
             AND ($4::text IS NULL OR c.status = $4::text::conversation_status)
             AND ($5::bigint IS NULL OR c.owner_rep_id = $5)
           ORDER BY r.rank DESC, r.id DESC LIMIT $2)
         SELECT k.conversation_id, k.id, k.rank, n.total
         FROM (SELECT count(*) AS total FROM candidates) n
         LEFT JOIN kept k ON true
         ORDER BY k.rank DESC, k.id DESC";
    let status = filter.status.map(ConversationStatus::as_str);
    let limit = limit.max(1);
    let mut candidates = first_candidates.clamp(limit, MAX_CANDIDATES);
    let newest: i64 = match window {
        Some(_) => client
            .query_typed_one("SELECT coalesce(max(id), 0) FROM messages", &[])
            .await?
            .try_get(0)?,
        None => 0,
    };
    let mut window = window.unwrap_or(i64::MAX).max(1);
    loop {
        // A literal bound for the planner: it weighs the range against the
        // word's frequency.
        let after = newest.saturating_sub(window).max(0);
        let rows = client
            .query_typed(
                SQL,
                &[
                    (&query, Type::TEXT),
                    (&limit, Type::INT8),
                    (&candidates, Type::INT8),
                    (&status, Type::TEXT),
                    (&filter.owner, Type::INT8),
                    (&after, Type::INT8),
                ],
            )
            .await?;
        let mut hits = Vec::with_capacity(rows.len());
        let mut total = 0;
        for r in &rows {
            total = r.try_get::<_, i64>(3)?;
            if let Some(conversation_id) = r.try_get::<_, Option<i64>>(0)? {
                hits.push(Hit {
                    conversation_id,
                    message_id: r.try_get(1)?,
                    rank: r.try_get(2)?,
                });
            }
        }
        let exhausted = total < candidates;
        if hits.len() as i64 >= enough.clamp(1, limit) || (exhausted && after == 0) {
            return Ok(hits);
        }
        if exhausted {
            window = window.saturating_mul(8);
        } else if candidates >= MAX_CANDIDATES {
            return Ok(hits);
        } else {
            candidates = (candidates * 4).min(MAX_CANDIDATES);
        }
    }
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
    if limit == 0 {
        return Ok(Vec::new());
    }
    let depth = FUSE_DEPTH.max(limit);
    let text_query = query_text.map(str::trim).filter(|q| !q.is_empty());
    let tx = client.transaction().await?;
    // The index settings, the full-text half and the semantic half are
    // pipelined on the connection: sent back to back, one round trip.
    let settings = embeddings::search_settings(embeddings::DEFAULT_EF_SEARCH.max(depth as i32));
    let set = async {
        if vector.is_some() {
            tx.batch_execute(&settings).await?;
        }
        Ok::<_, DbError>(())
    };
    let text = async {
        match text_query {
            Some(q) => {
                full_text_bounded(
                    &tx,
                    q,
                    filter,
                    depth as i64,
                    limit as i64,
                    HYBRID_TEXT_CANDIDATES,
                    Some(HYBRID_TEXT_WINDOW),
                )
                .await
            }
            None => Ok(Vec::new()),
        }
    };
    let semantic = async {
        match vector {
            Some(v) => {
                embeddings::nearest_conversations(
                    &tx,
                    v,
                    model,
                    dims,
                    None,
                    filter,
                    depth,
                    embeddings::SearchTuning::default(),
                )
                .await
            }
            None => Ok(Vec::new()),
        }
    };
    let ((), text_hits, near) = tokio::try_join!(set, text, semantic)?;
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
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let conv_ids: Vec<i64> = fused.iter().map(|f| f.0).collect();
    let msg_ids: Vec<i64> = fused.iter().map(|f| f.2).collect();
    let rows = tx
        .query_typed(
            "SELECT c.id, l.name, c.subject, c.status,
                    left(regexp_replace(
                      CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                           THEN left(m.body_html, $3 * 8) ELSE left(m.body_text, $3 * 8) END,
                      '\\s+', ' ', 'g'), $3)
             FROM unnest($1::bigint[], $2::bigint[]) u(cid, mid)
             JOIN conversations c ON c.id = u.cid
             JOIN leads l ON l.id = c.lead_id
             JOIN messages m ON m.id = u.mid",
            &[
                (&conv_ids, Type::INT8_ARRAY),
                (&msg_ids, Type::INT8_ARRAY),
                (&SNIPPET_CHARS, Type::INT4),
            ],
        )
        .await?;
    tx.commit().await?;
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
