//! The review workflow's rules (§4), each against a real database.

mod common;

use common::{status_of, suggestion_status};

use common::TestDb;
use replydesk::db::conversations::{self, InboxQuery, Page, StatusFilter};
use replydesk::db::messages::{self, NewInbound};
use replydesk::db::suggestions::{self, NewSuggestion};
use replydesk::db::{ConversationStatus, DbError, OutboxStatus, RejectionReason, SuggestionStatus};
use std::collections::HashSet;
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_race_has_exactly_one_winner_every_round() {
    let t = TestDb::new().await;
    let mut reps = Vec::new();
    for k in 0..8 {
        reps.push(
            t.rep(&format!("rep{k}@example.com"), &format!("Rep {k}"))
                .await,
        );
    }
    for round in 0..200 {
        let (conv, sid) = t.conversation_with_draft(&format!("r{round}")).await;
        let mut tasks = Vec::new();
        for (k, rep) in reps.iter().cloned().enumerate() {
            let pool = t.pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = pool.get().await.unwrap();
                let c: &mut tokio_postgres::Client = &mut c;
                match k % 3 {
                    0 => suggestions::approve(c, sid, &rep, WINDOW)
                        .await
                        .map(|_| "approve"),
                    1 => {
                        suggestions::approve_edited(c, sid, &rep, &format!("edited by {k}"), WINDOW)
                            .await
                            .map(|_| "edit")
                    }
                    _ => suggestions::reject(c, sid, &rep, RejectionReason::WrongTone, None)
                        .await
                        .map(|_| "reject"),
                }
            }));
        }
        let mut wins = Vec::new();
        let mut losses = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(kind) => wins.push(kind),
                Err(DbError::AlreadyDecided(by)) => {
                    assert!(by.rep.starts_with("Rep "), "names the winner: {}", by.rep);
                    losses += 1;
                }
                Err(e) => panic!("round {round}: unexpected error {e}"),
            }
        }
        assert_eq!(
            wins.len(),
            1,
            "round {round}: exactly one winner, got {wins:?}"
        );
        assert_eq!(losses, 7);
        let outbound = t
            .count("SELECT count(*) FROM messages WHERE conversation_id = $1 AND direction = 'outbound'", &[&conv])
            .await;
        let outbox = t
            .count(
                "SELECT count(*) FROM outbox WHERE conversation_id = $1",
                &[&conv],
            )
            .await;
        let expected = if wins[0] == "reject" { 0 } else { 1 };
        assert_eq!(
            (outbound, outbox),
            (expected, expected),
            "round {round} ({})",
            wins[0]
        );
        let events = t
            .count(
                "SELECT count(*) FROM events WHERE suggestion_id = $1",
                &[&sid],
            )
            .await;
        assert_eq!(events, 1, "one event for the one decision");
    }
}

#[tokio::test]
async fn lost_race_names_who_and_changes_nothing() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let sam = t.rep("sam@example.com", "Sam Patel").await;
    let (conv, sid) = t.conversation_with_draft("x").await;
    let mut c = t.raw().await;
    suggestions::approve(&mut c, sid, &dana, WINDOW)
        .await
        .unwrap();
    let err = suggestions::reject(&mut c, sid, &sam, RejectionReason::Other, Some("no"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("already approved by Dana Cruz <dana@example.com> at "),
        "{msg}"
    );
    assert_eq!(suggestion_status(&t, sid).await, SuggestionStatus::Approved);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);
    let reason: Option<RejectionReason> = t
        .client()
        .await
        .query_one(
            "SELECT rejection_reason FROM suggestions WHERE id = $1",
            &[&sid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, None);
}

#[tokio::test]
async fn approve_writes_message_outbox_event_and_threading() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let (conv, sid) = t.conversation_with_draft("a").await;
    let mut c = t.raw().await;
    let d = suggestions::approve(&mut c, sid, &dana, Duration::from_secs(10))
        .await
        .unwrap();
    let row = t
        .client()
        .await
        .query_one(
            "SELECT o.status, o.to_addrs, o.subject, o.in_reply_to, o.send_after > now() + interval '5 seconds',
                    m.direction::text, m.seq, m.body_text
             FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id = $1",
            &[&d.queued.outbox_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, OutboxStatus>(0), OutboxStatus::Queued);
    assert_eq!(
        row.get::<_, Vec<String>>(1),
        vec!["a@lead.example".to_string()]
    );
    assert_eq!(row.get::<_, String>(2), "Re: Bike a");
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("<a@lead.example>")
    );
    assert!(row.get::<_, bool>(4), "send_after is the undo window away");
    assert_eq!(row.get::<_, String>(5), "outbound");
    assert_eq!(row.get::<_, i32>(6), 2);
    assert_eq!(row.get::<_, String>(7), "Hi a, yes it is still available.");
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);
    let kinds: Vec<String> = t
        .client()
        .await
        .query(
            "SELECT kind FROM events WHERE conversation_id = $1",
            &[&conv],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, vec!["suggestion.approved"]);
}

#[tokio::test]
async fn edit_records_final_body_and_distance() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let (_conv, sid) = t.conversation_with_draft("e").await;
    let mut c = t.raw().await;
    let edited = "Hi e, yes it is still available. Come by Saturday!";
    let d = suggestions::approve_edited(&mut c, sid, &dana, edited, WINDOW)
        .await
        .unwrap();
    assert_eq!(d.status, SuggestionStatus::Edited);
    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, final_body, edit_distance FROM suggestions WHERE id = $1",
            &[&sid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, SuggestionStatus>(0), SuggestionStatus::Edited);
    assert_eq!(row.get::<_, String>(1), edited);
    assert_eq!(
        row.get::<_, Option<i32>>(2),
        Some(18),
        "\" Come by Saturday!\" was added"
    );
    let body: String = t
        .client()
        .await
        .query_one(
            "SELECT body FROM outbox WHERE id = $1",
            &[&d.queued.outbox_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, edited, "the edited text is what gets sent");
}

#[tokio::test]
async fn reject_keeps_needs_reply_and_records_reason() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let (conv, sid) = t.conversation_with_draft("r").await;
    let mut c = t.raw().await;
    suggestions::reject(
        &mut c,
        sid,
        &dana,
        RejectionReason::WrongFacts,
        Some("  price is wrong "),
    )
    .await
    .unwrap();
    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, rejection_reason, rejection_note FROM suggestions WHERE id = $1",
            &[&sid],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, SuggestionStatus>(0),
        SuggestionStatus::Rejected
    );
    assert_eq!(
        row.get::<_, Option<RejectionReason>>(1),
        Some(RejectionReason::WrongFacts)
    );
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("price is wrong")
    );
    assert_eq!(status_of(&t, conv).await, ConversationStatus::NeedsReply);
    assert_eq!(t.count("SELECT count(*) FROM outbox", &[]).await, 0);
    // The rep then writes their own reply.
    let d = suggestions::compose(&mut c, conv, &dana, "My own words.", WINDOW)
        .await
        .unwrap();
    assert_eq!(d.suggestion_id, None);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);
}

#[tokio::test]
async fn undo_inside_the_window_restores_everything() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let (conv, sid) = t.conversation_with_draft("u").await;
    let mut c = t.raw().await;
    let d = suggestions::approve_edited(&mut c, sid, &dana, "changed", WINDOW)
        .await
        .unwrap();
    let undone = suggestions::undo(&mut c, d.queued.outbox_id, &dana)
        .await
        .unwrap();
    assert_eq!(undone.suggestion_status, Some(SuggestionStatus::Pending));
    assert_eq!(suggestion_status(&t, sid).await, SuggestionStatus::Pending);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::NeedsReply);
    let row = t
        .client()
        .await
        .query_one(
            "SELECT status, message_id FROM outbox WHERE id = $1",
            &[&d.queued.outbox_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, OutboxStatus>(0), OutboxStatus::Cancelled);
    assert_eq!(
        row.get::<_, Option<i64>>(1),
        None,
        "the outbound message is gone from the thread"
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND direction = 'outbound'",
            &[&conv]
        )
        .await,
        0
    );
    let (count, final_body): (i32, Option<String>) = {
        let c2 = t.client().await;
        let r = c2
            .query_one(
                "SELECT c.message_count, s.final_body FROM conversations c, suggestions s
                 WHERE c.id = $1 AND s.id = $2",
                &[&conv, &sid],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((count, final_body), (1, None));
    // The draft can be decided again.
    suggestions::approve(&mut c, sid, &dana, WINDOW)
        .await
        .unwrap();
    // Undo twice is refused.
    let err = suggestions::undo(&mut c, d.queued.outbox_id, &dana)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::UndoTooLate(_)), "{err}");
}

#[tokio::test]
async fn undo_after_the_window_or_once_sending_is_refused() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let mut c = t.raw().await;

    let (conv, sid) = t.conversation_with_draft("late").await;
    let d = suggestions::approve(&mut c, sid, &dana, Duration::ZERO)
        .await
        .unwrap();
    let err = suggestions::undo(&mut c, d.queued.outbox_id, &dana)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the undo window closed"), "{err}");
    assert_eq!(suggestion_status(&t, sid).await, SuggestionStatus::Approved);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);

    let (conv, sid) = t.conversation_with_draft("sending").await;
    let d = suggestions::approve(&mut c, sid, &dana, WINDOW)
        .await
        .unwrap();
    t.client()
        .await
        .execute(
            "UPDATE outbox SET status = 'sending' WHERE id = $1",
            &[&d.queued.outbox_id],
        )
        .await
        .unwrap();
    let err = suggestions::undo(&mut c, d.queued.outbox_id, &dana)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sending has started"), "{err}");
    assert_eq!(suggestion_status(&t, sid).await, SuggestionStatus::Approved);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1",
            &[&conv]
        )
        .await,
        2,
        "the outbound message stays"
    );
}

#[tokio::test]
async fn one_pending_per_conversation_and_new_inbound_supersedes() {
    let t = TestDb::new().await;
    let (conv, sid) = t.conversation_with_draft("p").await;
    let c = t.client().await;
    let second = NewSuggestion {
        conversation_id: conv,
        for_message_id: None,
        body: "another".into(),
        confidence: 0.5,
        sentiment: None,
        model: "test".into(),
        context: serde_json::json!({}),
    };
    assert_eq!(
        suggestions::create_pending(&**c, &second).await.unwrap(),
        None
    );
    // The unique index holds even against a direct insert.
    let err = c
        .execute(
            "INSERT INTO suggestions (conversation_id, body, confidence, model) VALUES ($1, 'x', 0.5, 'm')",
            &[&conv],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"));
    drop(c);

    let mut raw = t.raw().await;
    let mid = messages::add_inbound(
        &mut raw,
        conv,
        &NewInbound {
            from_addr: "p@lead.example".into(),
            to_addrs: vec![],
            subject: "Re: Bike p".into(),
            body_text: "Also, can you deliver?".into(),
            body_html: None,
            source: "craigslist".into(),
            external_id: "<p2@lead.example>".into(),
            sent_at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
    assert!(mid.is_some());
    assert_eq!(
        suggestion_status(&t, sid).await,
        SuggestionStatus::Superseded
    );
    let c = t.client().await;
    let third = suggestions::create_pending(&**c, &second).await.unwrap();
    assert!(
        third.is_some(),
        "a fresh draft may follow the superseded one"
    );
    // Deciding the superseded draft is refused with its own error.
    let dana = t.rep("dana@example.com", "Dana").await;
    let err = suggestions::approve(&mut raw, sid, &dana, WINDOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Superseded), "{err}");
    // Re-delivering the same inbound adds nothing.
    let again = messages::add_inbound(
        &mut raw,
        conv,
        &NewInbound {
            from_addr: "p@lead.example".into(),
            to_addrs: vec![],
            subject: "Re: Bike p".into(),
            body_text: "Also, can you deliver?".into(),
            body_html: None,
            source: "craigslist".into(),
            external_id: "<p2@lead.example>".into(),
            sent_at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
    assert_eq!(again, None);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1",
            &[&conv]
        )
        .await,
        2
    );
    let n: i32 = c
        .query_one(
            "SELECT message_count FROM conversations WHERE id = $1",
            &[&conv],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test]
async fn deleting_a_lead_removes_everything_of_it() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana").await;
    let (conv, sid) = t.conversation_with_draft("gdpr").await;
    let (other, _) = t.conversation_with_draft("keep").await;
    let mut raw = t.raw().await;
    suggestions::approve(&mut raw, sid, &dana, WINDOW)
        .await
        .unwrap();
    let c = t.client().await;
    c.batch_execute(
        "INSERT INTO embedding_models (name, dimensions) VALUES ('m3', 3);
         INSERT INTO message_embeddings (message_id, model, embedding)
           SELECT id, 'm3', '[1,0,0]' FROM messages;",
    )
    .await
    .unwrap();
    c.execute(
        "DELETE FROM leads WHERE id = (SELECT lead_id FROM conversations WHERE id = $1)",
        &[&conv],
    )
    .await
    .unwrap();
    for table in [
        "conversations WHERE id",
        "messages WHERE conversation_id",
        "suggestions WHERE conversation_id",
        "outbox WHERE conversation_id",
    ] {
        let sql = format!("SELECT count(*) FROM {table} = $1");
        assert_eq!(t.count(&sql, &[&conv]).await, 0, "{table}");
    }
    assert_eq!(
        t.count("SELECT count(*) FROM message_embeddings", &[])
            .await,
        1,
        "only the other lead's"
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&other]
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_return_every_conversation_once_during_updates() {
    let t = TestDb::new().await;
    replydesk::demo::seed(
        &t.db,
        &replydesk::demo::SeedOptions {
            conversations: 1500,
            seed: 7,
            streams: 2,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    let total = t.count("SELECT count(*) FROM conversations", &[]).await;
    assert_eq!(total, 1500);
    // Meanwhile another session keeps changing rows (not the sort key).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let pool = t.pool.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let c = pool.get().await.unwrap();
            let mut k = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.execute(
                    "UPDATE conversations SET summary = $2, status = CASE WHEN status = 'waiting' THEN 'active'::conversation_status WHEN status = 'active' THEN 'waiting' ELSE status END
                     WHERE id % 50 = $1",
                    &[&(k % 50), &format!("pass {k}")],
                )
                .await
                .unwrap();
                k += 1;
            }
            k
        })
    };
    let c = t.client().await;
    let q = InboxQuery {
        filter: StatusFilter::All,
        owner: None,
        unassigned: false,
    };
    let mut seen = HashSet::new();
    let mut page = Page::First;
    let mut pages = 0;
    loop {
        let rows = conversations::page(&c, &q, page, 37).await.unwrap();
        pages += 1;
        for r in &rows {
            assert!(seen.insert(r.id), "conversation {} seen twice", r.id);
        }
        match rows.last() {
            Some(last) if rows.len() == 37 => page = Page::After(last.cursor()),
            _ => break,
        }
        tokio::task::yield_now().await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let updates = writer.await.unwrap();
    assert!(updates > 0, "the writer ran");
    assert_eq!(
        seen.len() as i64,
        total,
        "every conversation exactly once over {pages} pages"
    );
    // Walking back from the end gives the same set in reverse.
    let mut back = Vec::new();
    let mut page = Page::Last;
    loop {
        let rows = conversations::page(&c, &q, page, 100).await.unwrap();
        let n = rows.len();
        let first = rows.first().map(|r| r.cursor());
        back.extend(rows.into_iter().rev().map(|r| r.id));
        match first {
            Some(cur) if n == 100 => page = Page::Before(cur),
            _ => break,
        }
    }
    assert_eq!(back.len() as i64, total);
    assert_eq!(back.iter().collect::<HashSet<_>>().len() as i64, total);
}

#[tokio::test]
async fn status_filters_and_owner_filter() {
    let t = TestDb::new().await;
    replydesk::demo::seed(
        &t.db,
        &replydesk::demo::SeedOptions {
            conversations: 400,
            seed: 3,
            streams: 1,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    let c = t.client().await;
    let counts = conversations::counts(&**c, None).await.unwrap();
    assert_eq!(counts.total(), 400);
    for f in StatusFilter::ALL {
        let rows = conversations::page(
            &c,
            &InboxQuery {
                filter: f,
                owner: None,
                unassigned: false,
            },
            Page::First,
            1000,
        )
        .await
        .unwrap();
        assert_eq!(rows.len() as i64, counts.for_filter(f), "{f:?}");
        assert!(rows.iter().all(|r| f.admits(r.status)));
        assert!(
            rows.windows(2)
                .all(|w| w[0].cursor().last_message_at >= w[1].cursor().last_message_at)
        );
    }
    let owner: i64 = c
        .query_one(
            "SELECT owner_rep_id FROM conversations WHERE owner_rep_id IS NOT NULL LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mine = conversations::page(
        &c,
        &InboxQuery {
            filter: StatusFilter::All,
            owner: Some(owner),
            unassigned: false,
        },
        Page::First,
        1000,
    )
    .await
    .unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|r| r.owner_rep_id == Some(owner)));
    assert_eq!(
        mine.len() as i64,
        conversations::counts(&**c, Some(owner))
            .await
            .unwrap()
            .total()
    );
}

#[tokio::test]
async fn archive_and_unarchive() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana").await;
    let (conv, _sid) = t.conversation_with_draft("arch").await;
    let mut c = t.raw().await;
    assert!(conversations::archive(&mut c, conv, dana.id).await.unwrap());
    assert!(
        !conversations::archive(&mut c, conv, dana.id).await.unwrap(),
        "already archived"
    );
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Archived);
    let back = conversations::unarchive(&mut c, conv, dana.id)
        .await
        .unwrap();
    assert_eq!(
        back,
        Some(ConversationStatus::NeedsReply),
        "a draft is pending, so it needs a reply"
    );
    let err = conversations::archive(&mut c, 999_999, dana.id)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }));
    assert_eq!(
        t.count(
            "SELECT count(*) FROM events WHERE conversation_id = $1",
            &[&conv]
        )
        .await,
        2
    );
}

#[tokio::test]
async fn every_state_change_notifies_in_its_transaction() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana").await;
    let (conv, sid) = t.conversation_with_draft("n").await;
    let (listener, mut notes) = t.db.connect_dedicated().await.unwrap();
    listener.batch_execute("LISTEN replydesk").await.unwrap();
    let mut c = t.raw().await;
    // A failed decision (rolled back) must not notify.
    let sam = t.rep("sam@example.com", "Sam").await;
    suggestions::approve(&mut c, sid, &dana, WINDOW)
        .await
        .unwrap();
    let _ = suggestions::approve(&mut c, sid, &sam, WINDOW)
        .await
        .unwrap_err();
    let mut tables = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(500), notes.recv()).await {
        let v: serde_json::Value = serde_json::from_str(n.payload()).unwrap();
        assert_eq!(v["conversations"], serde_json::json!([conv]), "{v}");
        tables.push(v["table"].as_str().unwrap().to_string());
    }
    tables.sort();
    assert_eq!(
        tables,
        vec!["conversations", "suggestions"],
        "one per changed table, none for the loser"
    );
}
