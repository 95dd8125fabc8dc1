//! The runner's similar, search and jump effects against the real
//! PostgreSQL with the offline embedder: what the overlays are fed.

mod common;

use replydesk::ai::{self, Embedder};
use replydesk::db::conversations::{InboxQuery, StatusFilter};
use replydesk::db::embeddings::{self, Answer};
use replydesk::db::search::SearchFilter;
use replydesk::tui::app::{Action, Effect};
use replydesk::tui::drafts::Drafts;
use replydesk::tui::runner::Runner;
use replydesk::tui::similar::Similars;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

async fn next(rx: &mut mpsc::UnboundedReceiver<Action>) -> Action {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an answer within 10 s")
        .expect("channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_search_and_jump_answer_from_postgres() {
    let t = common::TestDb::new().await;
    let alex = t.rep("alex@acme.test", "Alex Morgan").await;
    let (a, _) = t.conversation_with_draft("a").await;
    let (b, sid_b) = t.conversation_with_draft("b").await;
    let (c, _) = t.conversation_with_draft("c").await;
    {
        let mut client = t.client().await;
        replydesk::db::suggestions::approve(&mut client, sid_b, &alex, Duration::from_secs(30))
            .await
            .expect("approve b");
    }
    let embedder: Arc<dyn Embedder> = ai::embedder_from(&common_settings()).expect("offline");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner {
        pool: t.pool.clone(),
        rep: alex.clone(),
        undo_window: Duration::from_secs(30),
        drafts: Drafts::in_dir(std::env::temp_dir().join("replydesk-ai-live")),
        tx,
        embedder: Ok(embedder.clone()),
    };

    // Nothing embedded yet: the overlay says how to fix it, not an error.
    runner.spawn(Effect::LoadSimilar { req: 1, conv_id: a });
    match next(&mut rx).await {
        Action::SimilarLoaded { req: 1, found } => assert_eq!(found, Similars::NotEmbedded),
        other => panic!("{other:?}"),
    }

    // Embed every inbound message, as `replydesk embed` does.
    let mut raw = t.raw().await;
    let (name, dims) = (embedder.name().to_string(), embedder.dimensions());
    embeddings::register_model(&raw, &name, dims)
        .await
        .expect("register");
    let todo = embeddings::missing(&raw, &name, 0, 100)
        .await
        .expect("missing");
    let texts: Vec<String> = todo.iter().map(embeddings::ToEmbed::text).collect();
    let vectors = embedder.embed(&texts).await.expect("embed").vectors;
    let rows: Vec<(i64, Vec<f32>)> = todo.iter().map(|m| m.message_id).zip(vectors).collect();
    embeddings::copy_in(&mut raw, &name, dims, &rows)
        .await
        .expect("copy");

    runner.spawn(Effect::LoadSimilar { req: 2, conv_id: a });
    match next(&mut rx).await {
        Action::SimilarLoaded {
            req: 2,
            found: Similars::Found(found),
        } => {
            let ids: Vec<i64> = found.iter().map(|s| s.conversation_id).collect();
            assert!(
                ids.contains(&b) && ids.contains(&c) && !ids.contains(&a),
                "{ids:?}"
            );
            let sb = found.iter().find(|s| s.conversation_id == b).expect("b");
            assert!(sb.score > 0.5 && sb.score <= 1.0, "{}", sb.score);
            assert!(
                matches!(&sb.answer, Answer::Reply { text, .. } if text.contains("still available")),
                "{:?}",
                sb.answer
            );
        }
        other => panic!("{other:?}"),
    }

    // Search: both halves, within a status filter.
    runner.spawn(Effect::Search {
        req: 3,
        text: "bike available".into(),
        filter: SearchFilter::default(),
    });
    match next(&mut rx).await {
        Action::SearchLoaded {
            req: 3,
            results,
            note,
            ..
        } => {
            assert_eq!(note, None);
            assert_eq!(results.len(), 3, "{results:?}");
            assert!(
                results
                    .iter()
                    .all(|r| r.matched_full_text && r.matched_semantic)
            );
        }
        other => panic!("{other:?}"),
    }
    runner.spawn(Effect::Search {
        req: 4,
        text: "bike".into(),
        filter: SearchFilter {
            status: Some(replydesk::db::ConversationStatus::NeedsReply),
            owner: None,
        },
    });
    match next(&mut rx).await {
        Action::SearchLoaded {
            req: 4, results, ..
        } => {
            let ids: Vec<i64> = results.iter().map(|r| r.conversation_id).collect();
            assert!(!ids.contains(&b), "b was answered: {ids:?}");
            assert_eq!(ids.len(), 2);
        }
        other => panic!("{other:?}"),
    }

    // No embedder: full text only, and said so.
    let plain = Runner {
        embedder: Err("AI configuration: test".into()),
        ..runner.clone()
    };
    plain.spawn(Effect::Search {
        req: 5,
        text: "bike".into(),
        filter: SearchFilter::default(),
    });
    match next(&mut rx).await {
        Action::SearchLoaded {
            req: 5,
            results,
            note,
            ..
        } => {
            assert_eq!(results.len(), 3);
            assert!(results.iter().all(|r| !r.matched_semantic));
            assert!(note.is_some_and(|n| n.contains("full text only")));
        }
        other => panic!("{other:?}"),
    }

    // Jump: a page of "all" starting at the oldest conversation.
    runner.spawn(Effect::LoadAround {
        req: 6,
        conv_id: a,
        query: InboxQuery {
            filter: StatusFilter::All,
            owner: None,
            unassigned: false,
        },
        limit: 10,
    });
    match next(&mut rx).await {
        Action::AroundLoaded {
            req: 6,
            conv_id,
            rows,
        } => {
            assert_eq!(conv_id, a);
            assert_eq!(rows.first().map(|r| r.id), Some(a), "{rows:?}");
        }
        other => panic!("{other:?}"),
    }
}

fn common_settings() -> replydesk::config::AiSettings {
    let s: replydesk::config::Settings =
        toml::from_str(replydesk::config::DEFAULTS).expect("defaults parse");
    s.ai
}
