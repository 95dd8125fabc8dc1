//! Search: full text (websearch syntax), the operators of
//! [`crate::query`], and by meaning (embeddings), merged by reciprocal rank
//! fusion. One conversation per result, with its best message.
//!
//! How results are ordered:
//! - **Words** (or `subject:`): every match is ranked (`ts_rank`, subject
//!   words weigh more) when at most [`RANK_ALL_MAX`] messages match, so a
//!   rare word is found wherever it is and the best match wins. A word more
//!   common than that ranks its newest [`RANK_NEWEST`] matches: ranking all
//!   of 58,000 matches costs a scan of the table, and the newest of that
//!   many are what a rep looks for; more words or an operator narrow it.
//! - **Operators only** (`from:dana`, `status:waiting`): newest first.
//! - With a query vector and no message operators (`from:`, `to:`,
//!   `date:`, `subject:`), the nearest messages by meaning are fused in.

use super::{ConversationStatus, DbError, embeddings};
use crate::query::{Addr, Query, RepPattern};
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type};

/// At most this many matching messages are all ranked.
pub const RANK_ALL_MAX: i64 = 2000;
/// …beyond that, the newest this many are.
pub const RANK_NEWEST: i64 = 1000;
/// Operators-only searches read newest matching messages in steps up to this many.
const NEWEST_MAX: i64 = 65_536;
/// Counting conversations for "N match" stops here ("10,000+").
const COUNT_MAX: i64 = 10_000;

/// Reciprocal rank fusion constant (Cormack et al.): score = Σ 1 / (k + rank).
pub const RRF_K: f64 = 60.0;
/// Results taken from each half before fusing (or the requested limit, when
/// more). Not just the limit: a conversation deep in both lists can outrank
/// one near the top of only one.
const FUSE_DEPTH: usize = 50;
/// Characters of a snippet.
const SNIPPET_CHARS: i32 = 160;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub conversation_id: i64,
    pub message_id: i64,
    pub rank: f32,
}

pub use super::embeddings::SimilarFilter as SearchFilter;

/// One conversation found.
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

/// How many conversations match the words and operators (the semantic half
/// aside, which always finds neighbours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "n")]
pub enum Matched {
    /// Exactly this many conversations.
    Exactly(u64),
    /// At least this many conversations.
    AtLeast(u64),
    /// More than [`RANK_ALL_MAX`] messages: only the newest
    /// [`RANK_NEWEST`] were ranked.
    Common,
}

/// What the semantic half did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    /// Not asked for (no query vector).
    Off,
    /// Fused in.
    Fused,
    /// The model has no stored vectors yet (`replydesk embed`).
    NoVectors,
    /// The query has message operators the semantic half cannot apply.
    Skipped,
    /// Only operators, no words to search by meaning.
    NoWords,
}

/// A search's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub results: Vec<SearchResult>,
    pub matched: Matched,
    pub meaning: Meaning,
}

/// The query vector for the semantic half.
#[derive(Debug, Clone, Copy)]
pub struct QueryVector<'a> {
    pub vector: &'a [f32],
    pub model: &'a str,
    pub dims: usize,
}

/// One search.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub query: &'a Query,
    /// The list's status and owner filter (the TUI's, `--status`, `--mine`),
    /// on top of the query's own operators.
    pub filter: SearchFilter,
    /// Who `rep:me` is.
    pub me: Option<i64>,
    pub vector: Option<QueryVector<'a>>,
    pub limit: usize,
}

/// Parameters of one statement, bound as `$n` in order.
#[derive(Default)]
struct Params {
    values: Vec<(Box<dyn ToSql + Sync + Send>, Type)>,
}

impl Params {
    fn bind<T: ToSql + Sync + Send + 'static>(&mut self, v: T, t: Type) -> String {
        self.values.push((Box::new(v), t));
        format!("${}", self.values.len())
    }

    fn refs(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.values
            .iter()
            .map(|(v, t)| (&**v as &(dyn ToSql + Sync), t.clone()))
            .collect()
    }
}

/// `LIKE` pattern for "starts with `s`".
fn prefix(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

fn contains(s: &str) -> String {
    let p = prefix(s);
    format!("%{p}")
}

/// `expr` (a lowercased address) against address patterns; `names`, when
/// given, is a lowercased name a `Word` may also be found in.
fn addr_cond(p: &mut Params, expr: &str, names: Option<&str>, addrs: &[Addr]) -> String {
    let (mut exact, mut domains, mut words) = (Vec::new(), Vec::new(), Vec::new());
    for a in addrs {
        match a {
            Addr::Exact(x) => exact.push(x.clone()),
            Addr::Domain(d) => domains.push(d.clone()),
            Addr::Word(w) => words.push(w.clone()),
        }
    }
    let mut ors = Vec::new();
    if !exact.is_empty() {
        ors.push(format!(
            "{expr} = ANY({}::text[])",
            p.bind(exact, Type::TEXT_ARRAY)
        ));
    }
    if !domains.is_empty() {
        ors.push(format!(
            "split_part({expr}, '@', 2) = ANY({}::text[])",
            p.bind(domains, Type::TEXT_ARRAY)
        ));
    }
    if !words.is_empty() {
        let prefixes: Vec<String> = words.iter().map(|w| prefix(w)).collect();
        ors.push(format!(
            "{expr} LIKE ANY({}::text[])",
            p.bind(prefixes, Type::TEXT_ARRAY)
        ));
        if let Some(names) = names {
            let inside: Vec<String> = words.iter().map(|w| contains(w)).collect();
            ors.push(format!(
                "{names} LIKE ANY({}::text[])",
                p.bind(inside, Type::TEXT_ARRAY)
            ));
        }
    }
    format!("({})", ors.join(" OR "))
}

/// The tsquery of the words and `subject:` terms, bound once.
fn tsquery(p: &mut Params, q: &Query) -> Option<String> {
    let mut parts = Vec::new();
    if !q.text.trim().is_empty() {
        parts.push(format!(
            "websearch_to_tsquery('english', {})",
            p.bind(q.text.trim().to_string(), Type::TEXT)
        ));
    }
    for s in &q.subject {
        parts.push(format!(
            "replydesk_subject_tsquery({})",
            p.bind(s.clone(), Type::TEXT)
        ));
    }
    (!parts.is_empty()).then(|| format!("({})", parts.join(" && ")))
}

/// Conditions on one message `m`: `from:`, `to:`, `date:`.
fn message_conds(p: &mut Params, q: &Query) -> Vec<String> {
    let mut conds = Vec::new();
    if !q.from.is_empty() {
        conds.push(addr_cond(p, "lower(m.from_addr)", None, &q.from));
    }
    if !q.to.is_empty() {
        let exact: Vec<String> =
            q.to.iter()
                .filter_map(|a| match a {
                    Addr::Exact(x) => Some(x.clone()),
                    _ => None,
                })
                .collect();
        let others: Vec<Addr> =
            q.to.iter()
                .filter(|a| !matches!(a, Addr::Exact(_)))
                .cloned()
                .collect();
        let mut ors = Vec::new();
        if !exact.is_empty() {
            // The GIN index on the lowercased recipients.
            ors.push(format!(
                "replydesk_lower_addrs(m.to_addrs) && {}::text[]",
                p.bind(exact, Type::TEXT_ARRAY)
            ));
        }
        if !others.is_empty() {
            ors.push(format!(
                "EXISTS (SELECT 1 FROM unnest(m.to_addrs) a WHERE {})",
                addr_cond(p, "lower(a)", None, &others)
            ));
        }
        conds.push(format!("({})", ors.join(" OR ")));
    }
    if let Some(d) = q.date {
        if let Some(since) = d.since {
            conds.push(format!("m.sent_at >= {}", p.bind(since, Type::TIMESTAMPTZ)));
        }
        if let Some(until) = d.until {
            conds.push(format!("m.sent_at < {}", p.bind(until, Type::TIMESTAMPTZ)));
        }
    }
    conds
}

/// Conditions on the conversation `c` and its lead `l` beyond
/// `c.deleted_at IS NULL`: status, owner, `rep:`, `lead:`.
fn conversation_conds(p: &mut Params, r: &Request<'_>) -> Vec<String> {
    let q = r.query;
    let mut conds = Vec::new();
    if let Some(s) = r.filter.status {
        conds.push(format!(
            "c.status = {}::text::conversation_status",
            p.bind(s.as_str().to_string(), Type::TEXT)
        ));
    }
    if !q.status.is_empty() {
        let names: Vec<String> = q.status.iter().map(|s| s.as_str().to_string()).collect();
        conds.push(format!(
            "c.status = ANY({}::text[]::conversation_status[])",
            p.bind(names, Type::TEXT_ARRAY)
        ));
    }
    if let Some(o) = r.filter.owner {
        conds.push(format!("c.owner_rep_id = {}", p.bind(o, Type::INT8)));
    }
    if !q.rep.is_empty() {
        let mut ors = Vec::new();
        let mut who = Vec::new();
        for rp in &q.rep {
            match rp {
                // Nobody is "me" when the rep is unknown: matches nothing.
                RepPattern::Me => ors.push(format!(
                    "c.owner_rep_id = {}",
                    p.bind(r.me.unwrap_or(-1), Type::INT8)
                )),
                RepPattern::Nobody => ors.push("c.owner_rep_id IS NULL".to_string()),
                RepPattern::Is(a) => who.push(a.clone()),
            }
        }
        if !who.is_empty() {
            ors.push(format!(
                "c.owner_rep_id IN (SELECT id FROM reps WHERE {})",
                addr_cond(p, "lower(email)", Some("lower(display_name)"), &who)
            ));
        }
        conds.push(format!("({})", ors.join(" OR ")));
    }
    if !q.lead.is_empty() {
        conds.push(addr_cond(
            p,
            "lower(coalesce(l.email, ''))",
            Some("lower(l.name)"),
            &q.lead,
        ));
    }
    conds
}

/// The conversations of the query, ranked (words) or newest first
/// (operators only), `limit` at most, with how many match.
async fn matches(
    client: &impl GenericClient,
    r: &Request<'_>,
    limit: i64,
) -> Result<(Vec<Hit>, Matched), DbError> {
    let limit = limit.max(1);
    if r.query.has_text() {
        ranked(client, r, limit).await
    } else if r.query.has_message_operators() {
        newest_messages(client, r, limit).await
    } else {
        newest_conversations(client, r, limit).await
    }
}

/// `FROM messages m` with the conversation joined when its filters apply.
fn message_source(conv: &[String]) -> String {
    if conv.is_empty() {
        "messages m".to_string()
    } else {
        "messages m JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL
         JOIN leads l ON l.id = c.lead_id"
            .to_string()
    }
}

fn and(conds: &[String]) -> String {
    conds
        .iter()
        .map(|c| format!(" AND {c}"))
        .collect::<String>()
}

async fn ranked(
    client: &impl GenericClient,
    r: &Request<'_>,
    limit: i64,
) -> Result<(Vec<Hit>, Matched), DbError> {
    let mut p = Params::default();
    let Some(tsq) = tsquery(&mut p, r.query) else {
        return Ok((Vec::new(), Matched::Exactly(0)));
    };
    let mut conds = message_conds(&mut p, r.query);
    let conv = conversation_conds(&mut p, r);
    conds.extend(conv.iter().cloned());
    let source = message_source(&conv);
    let filters = and(&conds);
    let cap = p.bind(RANK_ALL_MAX + 1, Type::INT8);
    let lim = p.bind(limit, Type::INT8);
    // Every match when few enough (`n` says how many, up to the cap);
    // then one row per conversation, the filter on those, and the count.
    let sql = format!(
        "WITH hits AS MATERIALIZED (
           SELECT m.id, m.conversation_id, m.search
           FROM {source}
           WHERE m.search @@ {tsq}{filters}
           LIMIT {cap}),
         n AS (SELECT count(*) AS n FROM hits),
         best AS (
           SELECT DISTINCT ON (h.conversation_id) h.conversation_id, h.id,
                  ts_rank(h.search, {tsq}) AS rank
           FROM hits h, n WHERE n.n < {cap}
           ORDER BY h.conversation_id, rank DESC, h.id DESC),
         kept AS (
           SELECT b.conversation_id, b.id, b.rank, count(*) OVER () AS total
           FROM best b JOIN conversations c ON c.id = b.conversation_id
           WHERE c.deleted_at IS NULL
           ORDER BY b.rank DESC, b.id DESC LIMIT {lim})
         SELECT k.conversation_id, k.id, k.rank, k.total, n.n
         FROM n LEFT JOIN kept k ON true
         ORDER BY k.rank DESC, k.id DESC"
    );
    let rows = client.query_typed(&sql, &p.refs()).await?;
    let mut hits = Vec::with_capacity(rows.len());
    let (mut total, mut n) = (0i64, 0i64);
    for row in &rows {
        n = row.try_get(4)?;
        if let Some(conversation_id) = row.try_get::<_, Option<i64>>(0)? {
            total = row.try_get(3)?;
            hits.push(Hit {
                conversation_id,
                message_id: row.try_get(1)?,
                rank: row.try_get(2)?,
            });
        }
    }
    if n <= RANK_ALL_MAX {
        return Ok((hits, Matched::Exactly(total.max(0) as u64)));
    }
    // Too common to rank every match: the newest ones.
    let newest = p.bind(RANK_NEWEST, Type::INT8);
    let sql = format!(
        "WITH candidates AS (
           SELECT m.id, m.conversation_id, ts_rank(m.search, {tsq}) AS rank
           FROM {source}
           WHERE m.search @@ {tsq}{filters}
           ORDER BY m.id DESC LIMIT {newest}),
         best AS (
           SELECT DISTINCT ON (conversation_id) conversation_id, id, rank
           FROM candidates
           ORDER BY conversation_id, rank DESC, id DESC)
         SELECT b.conversation_id, b.id, b.rank
         FROM best b JOIN conversations c ON c.id = b.conversation_id
         WHERE c.deleted_at IS NULL
         ORDER BY b.rank DESC, b.id DESC LIMIT {lim}"
    );
    let rows = client.query_typed(&sql, &p.refs()).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for row in &rows {
        hits.push(Hit {
            conversation_id: row.try_get(0)?,
            message_id: row.try_get(1)?,
            rank: row.try_get(2)?,
        });
    }
    Ok((hits, Matched::Common))
}

/// `from:`/`to:`/`date:` without words: the conversations of the newest
/// matching messages, newest first. Reads newest messages in growing steps
/// until `limit` conversations are found or none are left.
async fn newest_messages(
    client: &impl GenericClient,
    r: &Request<'_>,
    limit: i64,
) -> Result<(Vec<Hit>, Matched), DbError> {
    let mut p = Params::default();
    let mut conds = message_conds(&mut p, r.query);
    let conv = conversation_conds(&mut p, r);
    conds.extend(conv.iter().cloned());
    let source = message_source(&conv);
    let filters = and(&conds).trim_start_matches(" AND ").to_string();
    let lim = p.bind(limit, Type::INT8);
    let step_at = p.values.len() + 1;
    let mut step = (limit * 8).clamp(256, NEWEST_MAX);
    loop {
        let sql = format!(
            "WITH newest AS (
               SELECT m.id, m.conversation_id, m.sent_at
               FROM {source}
               WHERE {filters}
               ORDER BY m.sent_at DESC, m.id DESC LIMIT ${step_at}),
             best AS (
               SELECT DISTINCT ON (conversation_id) conversation_id, id, sent_at
               FROM newest ORDER BY conversation_id, sent_at DESC, id DESC),
             kept AS (
               SELECT b.conversation_id, b.id, b.sent_at, count(*) OVER () AS total
               FROM best b JOIN conversations c ON c.id = b.conversation_id
               WHERE c.deleted_at IS NULL
               ORDER BY b.sent_at DESC, b.id DESC LIMIT {lim})
             SELECT k.conversation_id, k.id, k.total, (SELECT count(*) FROM newest)
             FROM (SELECT 1) one LEFT JOIN kept k ON true
             ORDER BY k.sent_at DESC, k.id DESC"
        );
        let mut refs = p.refs();
        refs.push((&step, Type::INT8));
        let rows = client.query_typed(&sql, &refs).await?;
        let mut hits = Vec::with_capacity(rows.len());
        let (mut total, mut read) = (0i64, 0i64);
        for row in &rows {
            read = row.try_get(3)?;
            if let Some(conversation_id) = row.try_get::<_, Option<i64>>(0)? {
                total = row.try_get(2)?;
                hits.push(Hit {
                    conversation_id,
                    message_id: row.try_get(1)?,
                    rank: 0.0,
                });
            }
        }
        let exhausted = read < step;
        if exhausted {
            return Ok((hits, Matched::Exactly(total.max(0) as u64)));
        }
        if hits.len() as i64 >= limit || step >= NEWEST_MAX {
            return Ok((hits, Matched::AtLeast(total.max(0) as u64)));
        }
        step = (step * 4).min(NEWEST_MAX);
    }
}

/// Conversation operators only (`status:`, `rep:`, `lead:`): the list,
/// newest activity first, each with its latest message.
async fn newest_conversations(
    client: &impl GenericClient,
    r: &Request<'_>,
    limit: i64,
) -> Result<(Vec<Hit>, Matched), DbError> {
    let mut p = Params::default();
    let conv = conversation_conds(&mut p, r);
    let filters = and(&conv);
    let lim = p.bind(limit, Type::INT8);
    let count_max = p.bind(COUNT_MAX + 1, Type::INT8);
    let sql = format!(
        "SELECT c.id,
                (SELECT m.id FROM messages m WHERE m.conversation_id = c.id
                 ORDER BY m.seq DESC LIMIT 1),
                (SELECT count(*) FROM (
                   SELECT 1 FROM conversations c JOIN leads l ON l.id = c.lead_id
                   WHERE c.deleted_at IS NULL{filters} LIMIT {count_max}) x)
         FROM conversations c JOIN leads l ON l.id = c.lead_id
         WHERE c.deleted_at IS NULL{filters}
         ORDER BY c.last_message_at DESC, c.id DESC LIMIT {lim}"
    );
    let rows = client.query_typed(&sql, &p.refs()).await?;
    let mut hits = Vec::with_capacity(rows.len());
    let mut total = 0i64;
    for row in &rows {
        total = row.try_get(2)?;
        // A conversation without messages has nothing to show.
        if let Some(message_id) = row.try_get::<_, Option<i64>>(1)? {
            hits.push(Hit {
                conversation_id: row.try_get(0)?,
                message_id,
                rank: 0.0,
            });
        }
    }
    let matched = if total > COUNT_MAX {
        Matched::AtLeast(COUNT_MAX as u64)
    } else {
        Matched::Exactly(total.max(0) as u64)
    };
    Ok((hits, matched))
}

/// The best `limit` messages for a websearch-syntax query, one per
/// conversation (no operators; the workflow benchmark's full-text query).
pub async fn full_text(
    client: &impl GenericClient,
    query: &str,
    limit: i64,
) -> Result<Vec<Hit>, DbError> {
    let q = Query {
        text: query.to_string(),
        ..Query::default()
    };
    let r = Request {
        query: &q,
        filter: SearchFilter::default(),
        me: None,
        vector: None,
        limit: limit.max(0) as usize,
    };
    Ok(matches(client, &r, limit).await?.0)
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
    let tx = client.transaction().await?;
    tx.batch_execute(&embeddings::search_settings(
        embeddings::DEFAULT_EF_SEARCH.max(limit as i32),
    ))
    .await?;
    let near = embeddings::nearest_conversations(
        &tx,
        vector,
        model,
        dims,
        None,
        filter,
        limit,
        embeddings::SearchTuning::default(),
    )
    .await?;
    let fused: Vec<(i64, f64, i64, bool, bool)> = near
        .iter()
        .enumerate()
        .map(|(rank, n)| {
            let score = 1.0 / (RRF_K + rank as f64 + 1.0);
            (n.conversation_id, score, n.message_id, false, true)
        })
        .collect();
    let results = details(&tx, &fused).await?;
    tx.commit().await?;
    Ok(results)
}

/// Websearch words (no operators) and, when `vector` is given, semantic
/// search, fused, within a status/owner filter.
pub async fn hybrid(
    client: &mut tokio_postgres::Client,
    query_text: &str,
    vector: Option<&[f32]>,
    model: &str,
    dims: usize,
    filter: SearchFilter,
    limit: usize,
) -> Result<Vec<SearchResult>, DbError> {
    let q = Query {
        text: query_text.to_string(),
        ..Query::default()
    };
    let r = Request {
        query: &q,
        filter,
        me: None,
        vector: vector.map(|vector| QueryVector {
            vector,
            model,
            dims,
        }),
        limit,
    };
    Ok(search(client, &r).await?.results)
}

/// Does `model` have any stored vector?
async fn has_vectors(client: &impl GenericClient, model: &str) -> Result<bool, DbError> {
    Ok(client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM message_embeddings WHERE model = $1)",
            &[(&model, Type::TEXT)],
        )
        .await?
        .try_get(0)?)
}

/// The search of the CLI and the `/` overlay: the query's words and
/// operators, fused with the semantic half where it applies.
pub async fn search(
    client: &mut tokio_postgres::Client,
    r: &Request<'_>,
) -> Result<Found, DbError> {
    if r.limit == 0 {
        return Ok(Found {
            results: Vec::new(),
            matched: Matched::Exactly(0),
            meaning: Meaning::Off,
        });
    }
    let q = r.query;
    let semantic_filter = !q.has_operators()
        || (q.rep.is_empty()
            && q.lead.is_empty()
            && !q.has_message_operators()
            && q.status.len() <= 1);
    let meaning = match r.vector {
        None => Meaning::Off,
        Some(_) if q.text.trim().is_empty() => Meaning::NoWords,
        Some(_) if !semantic_filter => Meaning::Skipped,
        Some(v) if !has_vectors(&*client, v.model).await? => Meaning::NoVectors,
        Some(_) => Meaning::Fused,
    };
    let depth = FUSE_DEPTH.max(r.limit);
    let want_text = q.has_text() || q.has_operators();
    let tx = client.transaction().await?;
    let text = async {
        if want_text {
            let limit = if meaning == Meaning::Fused {
                depth
            } else {
                r.limit
            };
            matches(&tx, r, limit as i64).await
        } else {
            Ok((Vec::new(), Matched::Exactly(0)))
        }
    };
    let near = async {
        match (r.vector, &meaning) {
            (Some(v), Meaning::Fused) => {
                let filter = SearchFilter {
                    status: r.filter.status.or(q.status.first().copied()),
                    owner: r.filter.owner,
                };
                tx.batch_execute(&embeddings::search_settings(
                    embeddings::DEFAULT_EF_SEARCH.max(depth as i32),
                ))
                .await?;
                embeddings::nearest_conversations(
                    &tx,
                    v.vector,
                    v.model,
                    v.dims,
                    None,
                    filter,
                    depth,
                    embeddings::SearchTuning::default(),
                )
                .await
            }
            _ => Ok(Vec::new()),
        }
    };
    // Pipelined on the connection: sent back to back, one round trip.
    let ((text_hits, matched), near) = tokio::try_join!(text, near)?;
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
    fused.truncate(r.limit);
    let results = details(&tx, &fused).await?;
    tx.commit().await?;
    Ok(Found {
        results,
        matched,
        meaning,
    })
}

/// Lead, subject, status and snippet for fused `(conversation, score,
/// message, full text?, semantic?)`, in that order.
async fn details(
    client: &impl GenericClient,
    fused: &[(i64, f64, i64, bool, bool)],
) -> Result<Vec<SearchResult>, DbError> {
    if fused.is_empty() {
        return Ok(Vec::new());
    }
    let conv_ids: Vec<i64> = fused.iter().map(|f| f.0).collect();
    let msg_ids: Vec<i64> = fused.iter().map(|f| f.2).collect();
    let rows = client
        .query_typed(
            &format!(
                "SELECT c.id, l.name, c.subject, c.status, {SNIPPET}
                 FROM unnest($1::bigint[], $2::bigint[]) u(cid, mid)
                 JOIN conversations c ON c.id = u.cid
                 JOIN leads l ON l.id = c.lead_id
                 JOIN messages m ON m.id = u.mid"
            ),
            &[
                (&conv_ids, Type::INT8_ARRAY),
                (&msg_ids, Type::INT8_ARRAY),
                (&SNIPPET_CHARS, Type::INT4),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(fused.len());
    for &(cid, score, mid, ft, sem) in fused {
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

/// The snippet of message `m`: its start, whitespace collapsed (`$3` chars).
const SNIPPET: &str = "left(regexp_replace(
      CASE WHEN m.body_text = '' AND m.body_html IS NOT NULL
           THEN left(m.body_html, $3 * 8) ELSE left(m.body_text, $3 * 8) END,
      '\\s+', ' ', 'g'), $3)";

/// Every conversation the query matches, best first (words: all matches
/// ranked; operators only: newest first), as a stream of rows read from
/// the server as they are consumed: any number, in constant memory. No
/// semantic half (it has no "all").
pub async fn stream_all<'a>(
    client: &'a tokio_postgres::Client,
    r: &Request<'_>,
) -> Result<impl Stream<Item = Result<SearchResult, DbError>> + 'a, DbError> {
    let mut p = Params::default();
    let tsq = tsquery(&mut p, r.query);
    let mut conds = message_conds(&mut p, r.query);
    let conv = conversation_conds(&mut p, r);
    let snippet_chars = p.bind(SNIPPET_CHARS, Type::INT4);
    let snippet = SNIPPET.replace("$3", &snippet_chars);
    let sql = if tsq.is_some() || !conds.is_empty() {
        let (rank, order) = match &tsq {
            Some(t) => {
                conds.insert(0, format!("m.search @@ {t}"));
                (
                    format!("ts_rank(m.search, {t})::float8"),
                    "rank DESC, id DESC",
                )
            }
            None => (
                "extract(epoch FROM m.sent_at)::float8".to_string(),
                "rank DESC, id DESC",
            ),
        };
        conds.extend(conv.iter().cloned());
        let filters = and(&conds).trim_start_matches(" AND ").to_string();
        format!(
            "WITH best AS (
               SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.id, {rank} AS rank
               FROM messages m JOIN conversations c ON c.id = m.conversation_id AND c.deleted_at IS NULL
               JOIN leads l ON l.id = c.lead_id
               WHERE {filters}
               ORDER BY m.conversation_id, rank DESC, m.id DESC)
             SELECT c.id, l.name, c.subject, c.status, {snippet}, m.id, b.rank
             FROM (SELECT * FROM best ORDER BY {order}) b
             JOIN conversations c ON c.id = b.conversation_id
             JOIN leads l ON l.id = c.lead_id
             JOIN messages m ON m.id = b.id"
        )
    } else {
        let filters = and(&conv);
        format!(
            "SELECT c.id, l.name, c.subject, c.status, {snippet}, m.id, 0::float8
             FROM conversations c JOIN leads l ON l.id = c.lead_id
             JOIN LATERAL (SELECT * FROM messages m WHERE m.conversation_id = c.id
                           ORDER BY m.seq DESC LIMIT 1) m ON true
             WHERE c.deleted_at IS NULL{filters}
             ORDER BY c.last_message_at DESC, c.id DESC"
        )
    };
    let values = p.values;
    let params: Vec<(&(dyn ToSql + Sync), Type)> = values
        .iter()
        .map(|(v, t)| (&**v as &(dyn ToSql + Sync), t.clone()))
        .collect();
    // The statement is prepared (its types looked up before any row is in
    // flight), then its rows are read as the stream is polled.
    let statement = client
        .prepare_typed(
            &sql,
            &params.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        )
        .await?;
    let args: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
    let rows = client.query_raw(&statement, args).await?;
    let has_text = tsq.is_some();
    Ok(rows.map(move |row| {
        let row = row?;
        Ok(SearchResult {
            conversation_id: row.try_get(0)?,
            score: row.try_get(6)?,
            lead_name: row.try_get(1)?,
            subject: row.try_get(2)?,
            status: row.try_get(3)?,
            snippet: row.try_get::<_, String>(4)?.trim().to_string(),
            message_id: row.try_get(5)?,
            matched_full_text: has_text,
            matched_semantic: false,
        })
    }))
}

/// "3 conversations", "30 of 46 conversations", "30 of 10000+
/// conversations", "30 best of the newest 1000 matches": a capped list
/// says it is one.
pub fn describe_matched(m: Matched, shown: usize) -> String {
    match m {
        Matched::Exactly(n) if n as usize > shown => format!("{shown} of {n} conversations"),
        Matched::Exactly(_) => conversations(shown),
        Matched::AtLeast(n) => format!("{shown} of {n}+ conversations"),
        Matched::Common => format!("{shown} best of the newest {RANK_NEWEST} matches"),
    }
}

/// "1 conversation", "3 conversations".
pub fn conversations(n: usize) -> String {
    if n == 1 {
        "1 conversation".to_string()
    } else {
        format!("{n} conversations")
    }
}
