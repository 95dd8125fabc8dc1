//! Message embeddings: model registration (one partial HNSW index per model),
//! bulk writes by binary COPY, and nearest-neighbour queries.
//!
//! Design:
//! - Only **inbound** messages are embedded: similar conversations are found
//!   by their latest inbound, and the retrieval drafter looks for past inbound
//!   messages a rep answered. Our own replies would only add noise (and
//!   doubles the index).
//! - `message_embeddings.embedding` is an untyped `vector`, so the dimension
//!   is configuration: each registered model gets a partial HNSW index on
//!   `(embedding::halfvec(D)) halfvec_cosine_ops WHERE model = '<name>'`, and
//!   every query here orders by that same expression with the model name as
//!   a literal (a parameter would not let the planner match the partial
//!   index under a generic plan).
//! - The index is on `halfvec` (2-byte floats) while the column stays a
//!   full-precision `vector`: the graph is half the size (477K×384: 745 →
//!   ~370 MB), so far more of it stays in shared_buffers, and the candidates
//!   it returns are re-scored and re-sorted here by the exact `vector`
//!   distance (that is also the score shown).
//! - Index searches run as typed one-shot statements (`query_typed`: one
//!   round trip, no separate prepare) and requests that do not depend on each
//!   other are pipelined on the connection.
//! - The index is built `CONCURRENTLY` (writes go on) and, by `embed`, after
//!   a backfill when it did not exist yet: one bulk build is several times
//!   faster than maintaining the graph row by row.
//! - Filtered queries run in a transaction with `SET LOCAL hnsw.ef_search`
//!   and `hnsw.iterative_scan = relaxed_order` (pgvector ≥ 0.8), so a status
//!   or owner filter still returns k rows; relaxed order is re-sorted here.

use super::{ConversationStatus, DbError, RejectionReason, SuggestionStatus};
use crate::ai::Example;
use futures::pin_mut;
use pgvector::Vector;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use tokio_postgres::GenericClient;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// `hnsw.ef_search` for similar/semantic queries: recall@10 ≥ 0.95 on the
/// 200K demo (see `benches/ai.rs`).
pub const DEFAULT_EF_SEARCH: i32 = 40;
/// HNSW on `vector` supports up to 2000 dimensions.
pub const MAX_INDEXED_DIMENSIONS: usize = 2000;
/// Candidates fetched per wanted conversation: the index returns messages
/// (a conversation has ~2.4 inbound ones, but its messages are seldom all
/// among the nearest), and a shortfall is fetched again with more. Each
/// candidate costs a message and a conversation lookup, and under a
/// selective filter the iterative scan walks ~1/selectivity index entries
/// per candidate, so this is the cost of a query.
const CANDIDATES_PER_RESULT: i64 = 2;
/// The most candidates one query asks the index for.
const MAX_CANDIDATES: i64 = 1000;
/// Characters of a message that are embedded.
pub const EMBED_SUBJECT_CHARS: i32 = 300;
pub const EMBED_BODY_CHARS: i32 = 8000;

/// Narrow a similar or semantic query to one status and/or one owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimilarFilter {
    pub status: Option<ConversationStatus>,
    pub owner: Option<i64>,
}

/// How the index is searched; [`SearchTuning::default`] is what the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTuning {
    pub ef_search: i32,
    /// Exact search (no index): for measuring recall.
    pub exact: bool,
}

impl Default for SearchTuning {
    fn default() -> Self {
        SearchTuning {
            ef_search: DEFAULT_EF_SEARCH,
            exact: false,
        }
    }
}

/// How a similar conversation was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// The reply a rep approved (`approved`) or edited (`edited`) and sent.
    Reply {
        text: String,
        status: SuggestionStatus,
    },
    /// The last draft was rejected.
    Rejected {
        reason: RejectionReason,
        note: Option<String>,
    },
    /// No draft was decided (yet).
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarConversation {
    pub conversation_id: i64,
    /// Cosine similarity of the best-matching inbound message (1 = same).
    pub score: f32,
    /// That message.
    pub message_id: i64,
    pub status: ConversationStatus,
    pub lead_name: String,
    pub subject: String,
    pub answer: Answer,
}

/// An inbound message that has no embedding for a model yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ToEmbed {
    pub message_id: i64,
    pub subject: String,
    pub body: String,
    pub body_is_html: bool,
}

impl ToEmbed {
    /// What is embedded: the subject and the body as plain text.
    pub fn text(&self) -> String {
        let body = if self.body_is_html {
            crate::text::html_to_text(&self.body, 100)
        } else {
            self.body.clone()
        };
        format!("{}\n{}", self.subject, body)
    }
}

/// Whether a model's HNSW index exists and is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    Missing,
    /// Left behind by an interrupted `CREATE INDEX CONCURRENTLY`.
    Invalid,
    Valid,
}

/// Model names go into DDL and into SQL literals: refuse anything that is
/// not a plain printable name.
fn check_model(name: &str, dims: usize) -> Result<(), DbError> {
    if name.is_empty() || name.len() > 200 {
        return Err(DbError::BadModelName(format!(
            "\"{}\" must be 1–200 characters: set ai.embedding_model",
            name.chars().take(40).collect::<String>()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, '\\' | '\'' | '"' | ';'))
    {
        return Err(DbError::BadModelName(format!(
            "\"{}\" contains {c:?}: use letters, digits and - _ . / : only",
            name.escape_default()
        )));
    }
    if dims == 0 || dims > MAX_INDEXED_DIMENSIONS {
        return Err(DbError::BadModelName(format!(
            "\"{name}\" has {dims} dimensions: an HNSW index supports 1–{MAX_INDEXED_DIMENSIONS}"
        )));
    }
    Ok(())
}

/// A SQL string literal (standard_conforming_strings is on since 9.1).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The model's index name: a sanitized slug plus a hash of the exact name,
/// so two names that slug alike still get two indexes, within 63 bytes.
/// `hnswh`: the `halfvec` index (the name changed with the indexed
/// expression, so `ensure_index` builds it on databases that have the old one).
pub fn index_name(model: &str) -> String {
    named_index("message_embeddings_hnswh_", 27, model)
}

/// The name of the index on `vector(D)` that earlier versions built; dropped
/// once the `halfvec` one is valid.
pub fn legacy_index_name(model: &str) -> String {
    named_index("message_embeddings_hnsw_", 28, model)
}

fn named_index(prefix: &str, slug_chars: usize, model: &str) -> String {
    let slug: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(slug_chars)
        .collect();
    let hash = hex::encode(Sha256::digest(model.as_bytes()));
    format!("{prefix}{slug}_{}", &hash[..10])
}

/// The exact expression: the cast makes the untyped column one dimension.
fn vector_expr(dims: usize) -> String {
    format!("e.embedding::vector({dims})")
}

/// The indexed expression (see [`ensure_index`]); queries order by it.
fn halfvec_expr(dims: usize) -> String {
    format!("e.embedding::halfvec({dims})")
}

/// Insert the model (or check the dimension of the one registered) and make
/// sure its HNSW index exists. Outside a transaction: the index is built
/// `CONCURRENTLY`, so registering on a live database blocks no writes.
pub async fn register_model(
    client: &tokio_postgres::Client,
    name: &str,
    dims: usize,
) -> Result<(), DbError> {
    register_row(client, name, dims).await?;
    ensure_index(client, name, dims).await?;
    Ok(())
}

/// Insert the model row, or check that the registered one has `dims`.
pub async fn register_row(
    client: &impl GenericClient,
    name: &str,
    dims: usize,
) -> Result<(), DbError> {
    check_model(name, dims)?;
    let dims_i = dims as i32;
    client
        .execute(
            "INSERT INTO embedding_models (name, dimensions) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
            &[&name, &dims_i],
        )
        .await?;
    let registered: i32 = client
        .query_one(
            "SELECT dimensions FROM embedding_models WHERE name = $1",
            &[&name],
        )
        .await?
        .try_get(0)?;
    if registered != dims_i {
        return Err(DbError::ModelDimensions {
            model: name.to_string(),
            registered,
            configured: dims,
        });
    }
    Ok(())
}

/// Registered models and their dimensions.
pub async fn models(client: &impl GenericClient) -> Result<Vec<(String, i32)>, DbError> {
    let rows = client
        .query(
            "SELECT name, dimensions FROM embedding_models ORDER BY name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn index_state(client: &impl GenericClient, model: &str) -> Result<IndexState, DbError> {
    let row = client
        .query_opt(
            "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
             WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
            &[&index_name(model)],
        )
        .await?;
    Ok(match row {
        None => IndexState::Missing,
        Some(r) if r.try_get::<_, bool>(0)? => IndexState::Valid,
        Some(_) => IndexState::Invalid,
    })
}

/// Build the model's HNSW index if it is missing (or rebuild an invalid one
/// left by an interrupted build). Returns true when it built one. Runs on a
/// plain connection, not in a transaction (`CONCURRENTLY`); lifts the
/// statement timeout and raises `maintenance_work_mem` for the build only.
pub async fn ensure_index(
    client: &tokio_postgres::Client,
    name: &str,
    dims: usize,
) -> Result<bool, DbError> {
    check_model(name, dims)?;
    let index = index_name(name);
    match index_state(client, name).await? {
        IndexState::Valid => {
            drop_legacy_index(client, name).await?;
            return Ok(false);
        }
        IndexState::Invalid => {
            client
                .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                .await?;
        }
        IndexState::Missing => {}
    }
    client
        .batch_execute(
            "SET statement_timeout = 0; SET maintenance_work_mem = '1GB';
             SET max_parallel_maintenance_workers = 2",
        )
        .await?;
    let built = client
        .batch_execute(&format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON message_embeddings
               USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops)
               WITH (m = 16, ef_construction = 64)
               WHERE model = {lit}",
            lit = quote_literal(name),
        ))
        .await;
    let reset = client
        .batch_execute(
            "RESET statement_timeout; RESET maintenance_work_mem;
             RESET max_parallel_maintenance_workers",
        )
        .await;
    built?;
    reset?;
    drop_legacy_index(client, name).await?;
    Ok(true)
}

/// Drop the `vector(D)` index of earlier versions: queries no longer use it,
/// and every write would still maintain it.
async fn drop_legacy_index(client: &tokio_postgres::Client, name: &str) -> Result<(), DbError> {
    let legacy = legacy_index_name(name);
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_class
             WHERE relname = $1 AND relnamespace = current_schema()::regnamespace",
            &[&legacy],
        )
        .await?
        .is_some();
    if exists {
        client
            .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {legacy}"))
            .await?;
    }
    Ok(())
}

/// Drop the model's index (before a bulk re-embed; `ensure_index` after).
pub async fn drop_index(client: &tokio_postgres::Client, name: &str) -> Result<(), DbError> {
    client
        .batch_execute(&format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            index_name(name)
        ))
        .await?;
    drop_legacy_index(client, name).await?;
    Ok(())
}

/// Inbound messages without an embedding for `model`, in id order after
/// `after_id` (a keyset: a re-run resumes where work is left).
pub async fn missing(
    client: &impl GenericClient,
    model: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ToEmbed>, DbError> {
    let rows = client
        .query(
            "SELECT m.id, left(m.subject, $4),
                    CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                         THEN left(m.body_html, $5 * 4) ELSE left(m.body_text, $5) END,
                    m.body_text = '' AND m.body_html IS NOT NULL
             FROM messages m
             WHERE m.id > $1 AND m.direction = 'inbound'
               AND NOT EXISTS (SELECT 1 FROM message_embeddings e
                               WHERE e.message_id = m.id AND e.model = $2)
             ORDER BY m.id
             LIMIT $3",
            &[
                &after_id,
                &model,
                &limit,
                &EMBED_SUBJECT_CHARS,
                &EMBED_BODY_CHARS,
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ToEmbed {
                message_id: r.try_get(0)?,
                subject: r.try_get(1)?,
                body: r.try_get(2)?,
                body_is_html: r.try_get(3)?,
            })
        })
        .collect()
}

/// How many inbound messages lack an embedding for `model`.
pub async fn count_missing(client: &impl GenericClient, model: &str) -> Result<i64, DbError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM messages m
             WHERE m.direction = 'inbound'
               AND NOT EXISTS (SELECT 1 FROM message_embeddings e
                               WHERE e.message_id = m.id AND e.model = $1)",
            &[&model],
        )
        .await?
        .try_get(0)?)
}

/// One inbound message to embed, by id (for drafting a message `embed` has
/// not reached yet).
pub async fn message_to_embed(
    client: &impl GenericClient,
    message_id: i64,
) -> Result<Option<ToEmbed>, DbError> {
    let row = client
        .query_opt(
            "SELECT m.id, left(m.subject, $2),
                    CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
                         THEN left(m.body_html, $3 * 4) ELSE left(m.body_text, $3) END,
                    m.body_text = '' AND m.body_html IS NOT NULL
             FROM messages m WHERE m.id = $1",
            &[&message_id, &EMBED_SUBJECT_CHARS, &EMBED_BODY_CHARS],
        )
        .await?;
    row.map(|r| {
        Ok(ToEmbed {
            message_id: r.try_get(0)?,
            subject: r.try_get(1)?,
            body: r.try_get(2)?,
            body_is_html: r.try_get(3)?,
        })
    })
    .transpose()
}

/// The type of pgvector's `vector` in this database (an extension type: its
/// OID differs per database).
async fn vector_type(client: &impl GenericClient) -> Result<Type, DbError> {
    let stmt = client.prepare("SELECT $1::vector").await?;
    stmt.params()
        .first()
        .cloned()
        .ok_or_else(|| DbError::Pool("cannot resolve the vector type".into()))
}

fn check_dims(rows: &[(i64, Vec<f32>)], dims: usize) -> Result<(), DbError> {
    match rows.iter().find(|(_, v)| v.len() != dims) {
        Some((id, v)) => Err(DbError::ModelDimensions {
            model: format!("(vector of message {id})"),
            registered: v.len() as i32,
            configured: dims,
        }),
        None => Ok(()),
    }
}

/// Write embeddings by binary COPY in one transaction. Idempotent: if
/// another process wrote some of the same rows meanwhile, the batch is
/// written again with `ON CONFLICT DO NOTHING`. Returns rows written.
pub async fn copy_in(
    client: &mut tokio_postgres::Client,
    model: &str,
    dims: usize,
    rows: &[(i64, Vec<f32>)],
) -> Result<u64, DbError> {
    check_model(model, dims)?;
    check_dims(rows, dims)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let vector = vector_type(&*client).await?;
    let copied = async {
        let tx = client.transaction().await?;
        let sink = tx
            .copy_in(
                "COPY message_embeddings (message_id, model, embedding) FROM STDIN (FORMAT binary)",
            )
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, vector]);
        pin_mut!(writer);
        for (id, v) in rows {
            let v = Vector::from(v.clone());
            let row: [&(dyn ToSql + Sync); 3] = [id, &model, &v];
            writer.as_mut().write(&row).await?;
        }
        let n = writer.finish().await?;
        tx.commit().await?;
        Ok::<u64, tokio_postgres::Error>(n)
    }
    .await;
    match copied {
        Ok(n) => Ok(n),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            insert_missing(client, model, rows).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn insert_missing(
    client: &mut tokio_postgres::Client,
    model: &str,
    rows: &[(i64, Vec<f32>)],
) -> Result<u64, DbError> {
    let tx = client.transaction().await?;
    let stmt = tx
        .prepare(
            "INSERT INTO message_embeddings (message_id, model, embedding)
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM messages WHERE id = $1)
             ON CONFLICT (message_id, model) DO NOTHING",
        )
        .await?;
    let mut n = 0;
    for (id, v) in rows {
        n += tx
            .execute(&stmt, &[id, &model, &Vector::from(v.clone())])
            .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// The embedding of a conversation's latest embedded inbound message.
pub async fn latest_inbound_vector(
    client: &impl GenericClient,
    conversation_id: i64,
    model: &str,
) -> Result<Option<(i64, Vec<f32>)>, DbError> {
    // `real[]`: a built-in type, so the statement can go typed in one round
    // trip (the `vector` type's OID differs per database).
    let row = client
        .query_typed(
            "SELECT m.id, e.embedding::real[] FROM messages m
             JOIN message_embeddings e ON e.message_id = m.id AND e.model = $2
             WHERE m.conversation_id = $1 AND m.direction = 'inbound'
             ORDER BY m.seq DESC LIMIT 1",
            &[(&conversation_id, Type::INT8), (&model, Type::TEXT)],
        )
        .await?;
    row.first()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// A message's embedding for `model`, if it has one.
pub async fn vector_of(
    client: &impl GenericClient,
    message_id: i64,
    model: &str,
) -> Result<Option<Vec<f32>>, DbError> {
    let row = client
        .query_opt(
            "SELECT embedding FROM message_embeddings WHERE message_id = $1 AND model = $2",
            &[&message_id, &model],
        )
        .await?;
    row.map(|r| Ok(r.try_get::<_, Vector>(0)?.to_vec()))
        .transpose()
}

/// The nearest embedded inbound message of each of the nearest
/// conversations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    pub conversation_id: i64,
    pub message_id: i64,
    pub distance: f64,
}

/// The settings of a transaction that searches the index: send them
/// (`batch_execute`) pipelined with the transaction's first query.
pub(crate) fn search_settings(ef_search: i32) -> String {
    let ef = ef_search.clamp(1, 1000);
    format!("SET LOCAL hnsw.ef_search = {ef}; SET LOCAL hnsw.iterative_scan = relaxed_order")
}

/// Up to `k` conversations nearest to `query`, one row each, within the
/// filter, nearest first. `exclude` leaves one conversation out.
#[allow(clippy::too_many_arguments)]
pub async fn nearest_conversations(
    tx: &impl GenericClient,
    query: &[f32],
    model: &str,
    dims: usize,
    exclude: Option<i64>,
    filter: SimilarFilter,
    k: usize,
    tuning: SearchTuning,
) -> Result<Vec<Nearest>, DbError> {
    check_model(model, dims)?;
    if query.len() != dims {
        return Err(DbError::ModelDimensions {
            model: model.to_string(),
            registered: query.len() as i32,
            configured: dims,
        });
    }
    let expr = vector_expr(dims);
    // The index orders by the `halfvec` expression; the distance returned
    // (and the final order, re-sorted below) is the exact `vector` one.
    // Exact search: the exact distance, which no index matches, so the
    // planner scans every embedding of the model.
    let order = if tuning.exact {
        format!("({expr} <=> $1::real[]::vector({dims})) + 0")
    } else {
        format!("{} <=> $1::real[]::halfvec({dims})", halfvec_expr(dims))
    };
    // Unset filters are NULL: as a one-shot statement it is planned with
    // the values, so `NULL IS NULL OR …` folds away.
    let sql = format!(
        "SELECT m.conversation_id, m.id, {expr} <=> $1::real[]::vector({dims})
         FROM message_embeddings e
         JOIN messages m ON m.id = e.message_id
         JOIN conversations c ON c.id = m.conversation_id
         WHERE e.model = {lit}
           AND ($2::bigint IS NULL OR m.conversation_id <> $2)
           AND c.deleted_at IS NULL
           AND ($3::text IS NULL OR c.status = $3::text::conversation_status)
           AND ($4::bigint IS NULL OR c.owner_rep_id = $4)
         ORDER BY {order}
         LIMIT $5",
        lit = quote_literal(model),
    );
    let status = filter.status.map(ConversationStatus::as_str);
    let k = k.max(1);
    let mut candidates = (k as i64 * CANDIDATES_PER_RESULT).min(MAX_CANDIDATES);
    loop {
        let rows = tx
            .query_typed(
                &sql,
                &[
                    (&query, Type::FLOAT4_ARRAY),
                    (&exclude, Type::INT8),
                    (&status, Type::TEXT),
                    (&filter.owner, Type::INT8),
                    (&candidates, Type::INT8),
                ],
            )
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            found.push(Nearest {
                conversation_id: r.try_get(0)?,
                message_id: r.try_get(1)?,
                distance: r.try_get(2)?,
            });
        }
        // relaxed_order: results can be slightly out of order.
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        let mut seen = HashSet::new();
        found.retain(|n| seen.insert(n.conversation_id));
        let exhausted = (rows.len() as i64) < candidates;
        if found.len() >= k || exhausted || candidates >= MAX_CANDIDATES {
            found.truncate(k);
            return Ok(found);
        }
        candidates = (candidates * 4).min(MAX_CANDIDATES);
    }
}

/// Top `k` conversations most similar to `conversation_id`, by the
/// embedding of its latest inbound message; itself excluded. Empty when the
/// conversation has no embedded inbound message.
pub async fn similar(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    model: &str,
    dims: usize,
    k: usize,
    filter: SimilarFilter,
) -> Result<Vec<SimilarConversation>, DbError> {
    similar_tuned(
        client,
        conversation_id,
        model,
        dims,
        k,
        filter,
        SearchTuning::default(),
    )
    .await
}

/// [`similar`] with explicit index tuning (the benchmark measures recall).
pub async fn similar_tuned(
    client: &mut tokio_postgres::Client,
    conversation_id: i64,
    model: &str,
    dims: usize,
    k: usize,
    filter: SimilarFilter,
    tuning: SearchTuning,
) -> Result<Vec<SimilarConversation>, DbError> {
    check_model(model, dims)?;
    let tx = client.transaction().await?;
    // The settings and the query vector, pipelined: one round trip.
    let settings = search_settings(tuning.ef_search);
    let (_, latest) = tokio::try_join!(
        async { tx.batch_execute(&settings).await.map_err(DbError::from) },
        latest_inbound_vector(&tx, conversation_id, model),
    )?;
    let Some((_, query)) = latest else {
        tx.commit().await?;
        return Ok(Vec::new());
    };
    let nearest = nearest_conversations(
        &tx,
        &query,
        model,
        dims,
        Some(conversation_id),
        filter,
        k,
        tuning,
    )
    .await?;
    let out = describe(&tx, &nearest).await?;
    tx.commit().await?;
    Ok(out)
}

/// Score, status, lead, subject and answer for each nearest conversation,
/// in the given order.
async fn describe(
    client: &impl GenericClient,
    nearest: &[Nearest],
) -> Result<Vec<SimilarConversation>, DbError> {
    if nearest.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = nearest.iter().map(|n| n.conversation_id).collect();
    let rows = client
        .query_typed(
            "SELECT c.id, c.status, l.name, c.subject,
                    a.status, coalesce(a.final_body, a.body), a.rejection_reason, a.rejection_note
             FROM unnest($1::bigint[]) WITH ORDINALITY u(id, ord)
             JOIN conversations c ON c.id = u.id
             JOIN leads l ON l.id = c.lead_id
             LEFT JOIN LATERAL (
               SELECT s.status, s.final_body, s.body, s.rejection_reason, s.rejection_note
               FROM suggestions s
               WHERE s.conversation_id = c.id AND s.status IN ('approved', 'edited', 'rejected')
               ORDER BY s.decided_at DESC NULLS LAST, s.id DESC LIMIT 1) a ON true
             ORDER BY u.ord",
            &[(&ids, Type::INT8_ARRAY)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        let Some(n) = nearest.iter().find(|n| n.conversation_id == id) else {
            continue;
        };
        let status: Option<SuggestionStatus> = r.try_get(4)?;
        let answer = match status {
            Some(s @ (SuggestionStatus::Approved | SuggestionStatus::Edited)) => Answer::Reply {
                text: r.try_get::<_, Option<String>>(5)?.unwrap_or_default(),
                status: s,
            },
            Some(SuggestionStatus::Rejected) => match r.try_get::<_, Option<RejectionReason>>(6)? {
                Some(reason) => Answer::Rejected {
                    reason,
                    note: r.try_get(7)?,
                },
                None => Answer::None,
            },
            _ => Answer::None,
        };
        out.push(SimilarConversation {
            conversation_id: id,
            score: (1.0 - n.distance) as f32,
            message_id: n.message_id,
            status: r.try_get(1)?,
            lead_name: r.try_get(2)?,
            subject: r.try_get(3)?,
            answer,
        });
    }
    Ok(out)
}

/// The drafter's retrieval: the `n` past inbound messages nearest to
/// `query` whose conversation got an approved or edited reply at or after
/// them (one per conversation), with that reply. `exclude` is the
/// conversation being drafted for.
pub async fn similar_to_vector(
    client: &mut tokio_postgres::Client,
    query: &[f32],
    model: &str,
    dims: usize,
    exclude: Option<i64>,
    n: usize,
) -> Result<Vec<Example>, DbError> {
    check_model(model, dims)?;
    if query.len() != dims {
        return Err(DbError::ModelDimensions {
            model: model.to_string(),
            registered: query.len() as i32,
            configured: dims,
        });
    }
    let expr = vector_expr(dims);
    let sql = format!(
        "SELECT m.conversation_id, {expr} <=> $1::real[]::vector({dims}), left(m.body_text, 4000),
                r.reply, l.name, c.subject
         FROM message_embeddings e
         JOIN messages m ON m.id = e.message_id
         JOIN conversations c ON c.id = m.conversation_id
         JOIN leads l ON l.id = c.lead_id
         JOIN LATERAL (
           SELECT coalesce(s.final_body, s.body) AS reply
           FROM suggestions s JOIN messages fm ON fm.id = s.for_message_id
           WHERE s.conversation_id = m.conversation_id
             AND s.status IN ('approved', 'edited') AND fm.seq >= m.seq
           ORDER BY fm.seq, s.id LIMIT 1) r ON true
         WHERE e.model = {lit}
           AND ($2::bigint IS NULL OR m.conversation_id <> $2)
           AND c.deleted_at IS NULL
         ORDER BY {half} <=> $1::real[]::halfvec({dims})
         LIMIT $3",
        half = halfvec_expr(dims),
        lit = quote_literal(model),
    );
    let n = n.max(1);
    let candidates = (n as i64 * CANDIDATES_PER_RESULT).min(MAX_CANDIDATES);
    let tx = client.transaction().await?;
    let settings = search_settings(DEFAULT_EF_SEARCH);
    let params: [(&(dyn ToSql + Sync), Type); 3] = [
        (&query, Type::FLOAT4_ARRAY),
        (&exclude, Type::INT8),
        (&candidates, Type::INT8),
    ];
    let (_, rows) = tokio::try_join!(tx.batch_execute(&settings), tx.query_typed(&sql, &params),)?;
    tx.commit().await?;
    let mut found: Vec<(f64, Example)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let distance: f64 = r.try_get(1)?;
        found.push((
            distance,
            Example {
                conversation_id: r.try_get(0)?,
                score: (1.0 - distance) as f32,
                inbound: r.try_get(2)?,
                reply: r.try_get(3)?,
                lead_name: r.try_get(4)?,
                subject: r.try_get(5)?,
            },
        ));
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut seen = HashSet::new();
    Ok(found
        .into_iter()
        .filter(|(_, e)| seen.insert(e.conversation_id))
        .map(|(_, e)| e)
        .take(n)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_are_safe_and_distinct() {
        let a = index_name("hashed-lexical-384");
        let b = index_name("hashed_lexical_384");
        assert_ne!(a, b);
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert!(index_name(&"x".repeat(200)).len() <= 63);
    }

    #[test]
    fn model_names_are_checked() {
        assert!(check_model("text-embedding-3-small", 1536).is_ok());
        assert!(check_model("nomic-embed-text:v1.5", 768).is_ok());
        assert!(check_model("", 384).is_err());
        assert!(check_model("x'; DROP TABLE messages; --", 384).is_err());
        assert!(check_model("a\u{1b}b", 384).is_err());
        assert!(check_model("big", 3072).is_err());
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
