//! Similar conversations and search over embeddings, on the real PostgreSQL
//! with pgvector: a planted near-duplicate is found, filters still return k
//! rows, and a second model with another dimension needs no migration.

mod common;

use common::TestDb;
use replydesk::ai::Embedder;
use replydesk::ai::offline::HashedLexicalEmbedder;
use replydesk::db::embeddings::{self, Answer, IndexState, SimilarFilter};
use replydesk::db::search::{self, SearchFilter};
use replydesk::db::{ConversationStatus, DbError, SuggestionStatus};
use replydesk::demo::{self, SeedOptions};
use replydesk::ops::embed::{self, EmbedOptions};
use std::sync::Arc;

const PLANTED: &str = "Hello, I am interested in the vintage Bianchi celeste road bike with the \
    Campagnolo groupset and the 54cm lugged steel frame. Does the headset creak, and would you \
    take the saddlebag off or leave it on? I could collect it from Brooklyn on Thursday evening.";
const NEAR_DUPLICATE: &str = "Hi, I am interested in the vintage Bianchi celeste road bike with \
    the Campagnolo groupset and the 54cm lugged steel frame. Does the headset creak, and would \
    you take the saddlebag off or leave it on? I could collect it from Queens on Thursday evening.";

async fn seeded(conversations: usize) -> TestDb {
    let t = TestDb::new().await;
    demo::seed(
        &t.db,
        &SeedOptions {
            conversations,
            seed: 7,
            streams: 2,
        },
        |_, _| {},
    )
    .await
    .expect("seed");
    t
}

/// A conversation with one inbound message (and, if given, a sent reply
/// approved from a draft). Returns (conversation id, message id).
async fn plant(t: &TestDb, tag: &str, body: &str, reply: Option<&str>) -> (i64, i64) {
    let c = t.client().await;
    let lead: i64 = c
        .query_one(
            "INSERT INTO leads (email, name, source) VALUES ($1, $2, 'craigslist') RETURNING id",
            &[&format!("{tag}@lead.example"), &format!("Lead {tag}")],
        )
        .await
        .expect("lead")
        .get(0);
    let status = if reply.is_some() {
        "waiting"
    } else {
        "needs_reply"
    };
    let conv: i64 = c
        .query_one(
            "INSERT INTO conversations (lead_id, subject, status, message_count, last_inbound_at)
             VALUES ($1, 'Vintage Bianchi road bike', $2::text::conversation_status, 1, now())
             RETURNING id",
            &[&lead, &status],
        )
        .await
        .expect("conversation")
        .get(0);
    let msg: i64 = c
        .query_one(
            "INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
             VALUES ($1, 1, 'inbound', $2, 'Vintage Bianchi road bike', $3, 'craigslist', $4)
             RETURNING id",
            &[&conv, &format!("{tag}@lead.example"), &body, &format!("<{tag}@lead.example>")],
        )
        .await
        .expect("message")
        .get(0);
    if let Some(reply) = reply {
        c.execute(
            "INSERT INTO suggestions (conversation_id, for_message_id, body, confidence, model,
                                      status, final_body, decided_at)
             VALUES ($1, $2, $3, 0.9, 'test', 'approved', $3, now())",
            &[&conv, &msg, &reply],
        )
        .await
        .expect("approved draft");
    }
    (conv, msg)
}

async fn embed_all(t: &TestDb, embedder: Arc<dyn Embedder>) -> embed::EmbedReport {
    embed::backfill(
        &t.db,
        embedder,
        &EmbedOptions {
            batch: 100,
            workers: 2,
            build_index: true,
        },
        |_, _| {},
    )
    .await
    .expect("embed")
}

fn lexical() -> Arc<dyn Embedder> {
    Arc::new(HashedLexicalEmbedder::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_near_duplicate_is_in_the_top_3() {
    let t = seeded(400).await;
    let (a, _) = plant(&t, "ann", PLANTED, None).await;
    let (b, _) = plant(
        &t,
        "bob",
        NEAR_DUPLICATE,
        Some("Hi Bob, it's yours for $300."),
    )
    .await;
    let report = embed_all(&t, lexical()).await;
    assert!(report.embedded > 400, "{report:?}");
    assert!(
        report.index_seconds.is_some(),
        "the index is built after the backfill"
    );

    let mut c = t.client().await;
    let e = HashedLexicalEmbedder::default();
    let found = embeddings::similar(
        &mut c,
        a,
        e.name(),
        e.dimensions(),
        10,
        SimilarFilter::default(),
    )
    .await
    .expect("similar");
    assert_eq!(found.len(), 10, "k rows");
    assert!(
        found.iter().all(|s| s.conversation_id != a),
        "itself excluded"
    );
    let ids: Vec<i64> = found.iter().map(|s| s.conversation_id).collect();
    let mut dedup = ids.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), ids.len(), "one row per conversation");
    let pos = ids
        .iter()
        .position(|id| *id == b)
        .expect("the near-duplicate is found");
    assert!(pos < 3, "near-duplicate at {pos}: {ids:?}");
    let hit = &found[pos];
    assert!(hit.score > 0.8, "score {}", hit.score);
    assert!(
        found.windows(2).all(|w| w[0].score >= w[1].score),
        "best first"
    );
    assert_eq!(
        hit.answer,
        Answer::Reply {
            text: "Hi Bob, it's yours for $300.".into(),
            status: SuggestionStatus::Approved
        }
    );
    assert_eq!(hit.lead_name, "Lead bob");

    // The drafter's retrieval finds Bob's answered message for Ann's text.
    let v = embeddings::latest_inbound_vector(&**c, a, e.name())
        .await
        .expect("vector")
        .expect("Ann's message is embedded")
        .1;
    let examples = embeddings::similar_to_vector(&mut c, &v, e.name(), e.dimensions(), Some(a), 3)
        .await
        .expect("examples");
    assert_eq!(examples.first().map(|x| x.conversation_id), Some(b));
    assert_eq!(examples[0].reply, "Hi Bob, it's yours for $300.");

    // Hybrid search: the rare word is found by both halves.
    let q = "Campagnolo groupset";
    let qv = e.embed_one(q);
    let results = search::hybrid(
        &mut c,
        q,
        Some(&qv),
        e.name(),
        e.dimensions(),
        SearchFilter::default(),
        10,
    )
    .await
    .expect("hybrid");
    let top: Vec<i64> = results.iter().take(2).map(|r| r.conversation_id).collect();
    assert!(top.contains(&a) && top.contains(&b), "{results:?}");
    assert!(results[0].matched_full_text && results[0].matched_semantic);
    assert!(!results[0].snippet.is_empty() && results[0].snippet.len() < 400);
    // …and the status filter applies to both halves.
    let waiting = search::hybrid(
        &mut c,
        q,
        Some(&qv),
        e.name(),
        e.dimensions(),
        SearchFilter {
            status: Some(ConversationStatus::NeedsReply),
            owner: None,
        },
        10,
    )
    .await
    .expect("hybrid filtered");
    assert!(
        waiting
            .iter()
            .all(|r| r.status == ConversationStatus::NeedsReply)
    );
    assert!(waiting.iter().any(|r| r.conversation_id == a));
    assert!(waiting.iter().all(|r| r.conversation_id != b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_and_owner_filter_still_returns_k_rows() {
    let t = seeded(600).await;
    embed_all(&t, lexical()).await;
    let e = HashedLexicalEmbedder::default();
    let mut c = t.client().await;
    // The owner with the fewest waiting conversations: a selective filter
    // (a plain HNSW scan would return fewer than k of them).
    let row = c
        .query_one(
            "SELECT owner_rep_id, count(*) FROM conversations
             WHERE status = 'waiting' AND owner_rep_id IS NOT NULL
             GROUP BY owner_rep_id ORDER BY count(*), owner_rep_id LIMIT 1",
            &[],
        )
        .await
        .expect("owner");
    let (owner, n): (i64, i64) = (row.get(0), row.get(1));
    assert!(n > 12, "enough rows to fill k: {n}");
    let probe: i64 = c
        .query_one(
            "SELECT c.id FROM conversations c WHERE c.status = 'needs_reply' ORDER BY c.id LIMIT 1",
            &[],
        )
        .await
        .expect("probe")
        .get(0);
    let filter = SimilarFilter {
        status: Some(ConversationStatus::Waiting),
        owner: Some(owner),
    };
    let found = embeddings::similar(&mut c, probe, e.name(), e.dimensions(), 10, filter)
        .await
        .expect("similar");
    assert_eq!(found.len(), 10, "k rows despite the filter");
    for s in &found {
        assert_eq!(s.status, ConversationStatus::Waiting);
        let o: Option<i64> = c
            .query_one(
                "SELECT owner_rep_id FROM conversations WHERE id = $1",
                &[&s.conversation_id],
            )
            .await
            .expect("owner")
            .get(0);
        assert_eq!(o, Some(owner));
    }
    // Semantic search with the same filter, too.
    let qv = e.embed_one("is it still available");
    let hits = search::semantic(&mut c, &qv, e.name(), e.dimensions(), filter, 10)
        .await
        .expect("semantic");
    assert_eq!(hits.len(), 10);
    assert!(
        hits.iter()
            .all(|h| h.status == ConversationStatus::Waiting && h.matched_semantic)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_model_with_another_dimension_needs_no_migration() {
    let t = seeded(150).await;
    let (a, _) = plant(&t, "ann", PLANTED, None).await;
    let (b, _) = plant(&t, "bob", NEAR_DUPLICATE, None).await;
    let migrations = t.count("SELECT count(*) FROM schema_migrations", &[]).await;
    let first = embed_all(&t, lexical()).await;
    // Resumable and idempotent: a second run finds nothing to do.
    let again = embed_all(&t, lexical()).await;
    assert_eq!(again.embedded, 0);
    assert!(again.index_seconds.is_none());
    let inbound = t
        .count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound'",
            &[],
        )
        .await;
    assert_eq!(first.embedded as i64, inbound);

    // Switch the model: 64 dimensions, same schema.
    let small: Arc<dyn Embedder> = Arc::new(HashedLexicalEmbedder::new(64));
    let second = embed_all(&t, small.clone()).await;
    assert_eq!(second.embedded as i64, inbound);
    assert_eq!(
        t.count("SELECT count(*) FROM schema_migrations", &[]).await,
        migrations,
        "no migration"
    );
    let c = t.client().await;
    for (name, dims) in [("hashed-lexical-384", 384), ("hashed-lexical-64", 64)] {
        assert_eq!(
            embeddings::index_state(&**c, name).await.expect("state"),
            IndexState::Valid
        );
        let d: i32 = c
            .query_one(
                "SELECT dimensions FROM embedding_models WHERE name = $1",
                &[&name],
            )
            .await
            .expect("model")
            .get(0);
        assert_eq!(d, dims);
    }
    // The planner matches the new model's partial index (forced past a
    // sort, which wins on a table this small).
    c.batch_execute("SET enable_sort = off").await.expect("set");
    let plan: String = c
        .query(
            &format!(
                "EXPLAIN SELECT message_id FROM message_embeddings e WHERE e.model = 'hashed-lexical-64'
                 ORDER BY e.embedding::halfvec(64) <=> '[{}]'::halfvec(64) LIMIT 5",
                vec!["0.1"; 64].join(",")
            ),
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        plan.contains(&embeddings::index_name("hashed-lexical-64")),
        "{plan}"
    );
    c.batch_execute("RESET enable_sort").await.expect("reset");
    drop(c);
    let mut c = t.client().await;
    let found = embeddings::similar(&mut c, a, small.name(), 64, 5, SimilarFilter::default())
        .await
        .expect("similar, 64-d");
    assert_eq!(found.first().map(|s| s.conversation_id), Some(b));

    // The same name with another dimension is refused, clearly.
    let err = embeddings::register_model(&c, "hashed-lexical-384", 64)
        .await
        .expect_err("dimension change");
    assert!(matches!(
        err,
        DbError::ModelDimensions {
            registered: 384,
            configured: 64,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        !msg.contains('\n') && msg.contains("new model name"),
        "{msg}"
    );
    // Names that could break out of the DDL are refused before any SQL.
    for bad in ["x'; DROP TABLE messages; --", "", "a\u{1b}]52;b"] {
        assert!(matches!(
            embeddings::register_model(&c, bad, 8).await,
            Err(DbError::BadModelName(_))
        ));
    }
}
