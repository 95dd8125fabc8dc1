//! `suggest`: drafts for conversations that need a reply, never two pending
//! drafts for one conversation (even with two `suggest` at once), stale
//! drafts superseded, rejected ones left to the rep unless `--all`.

mod common;

use common::TestDb;
use replydesk::ai::offline::{HashedLexicalEmbedder, RetrievalDrafter};
use replydesk::ai::{Drafter, Embedder};
use replydesk::db::drafting::{self, Needing};
use replydesk::demo::{self, SeedOptions};
use replydesk::ops::embed::{self, EmbedOptions};
use replydesk::ops::suggest::{self, SuggestOptions, Which};
use std::sync::Arc;

fn models() -> (Arc<dyn Embedder>, Arc<dyn Drafter>) {
    let e = HashedLexicalEmbedder::default();
    let d = RetrievalDrafter::new(e.name());
    (Arc::new(e), Arc::new(d))
}

/// A demo inbox without placeholder drafts, embedded.
async fn inbox(conversations: usize) -> TestDb {
    let t = TestDb::new().await;
    demo::seed_with(
        &t.db,
        &SeedOptions {
            conversations,
            seed: 11,
            streams: 2,
        },
        false,
        |_, _| {},
    )
    .await
    .expect("seed");
    embed::backfill(&t.db, models().0, &EmbedOptions::default(), |_, _| {})
        .await
        .expect("embed");
    t
}

async fn run(t: &TestDb, which: Which) -> suggest::SuggestReport {
    let (e, d) = models();
    suggest::suggest(
        &t.pool,
        e,
        d,
        &SuggestOptions { which, workers: 2 },
        |_, _| {},
    )
    .await
    .expect("suggest")
}

async fn pending_for(t: &TestDb, conv: i64) -> i64 {
    t.count(
        "SELECT count(*) FROM suggestions WHERE conversation_id = $1 AND status = 'pending'",
        &[&conv],
    )
    .await
}

async fn assert_one_pending_each(t: &TestDb) {
    let doubled = t
        .count(
            "SELECT count(*) FROM (SELECT conversation_id FROM suggestions WHERE status = 'pending'
                                   GROUP BY conversation_id HAVING count(*) > 1) d",
            &[],
        )
        .await;
    assert_eq!(doubled, 0, "no conversation has two pending drafts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_suggest_runs_at_once_draft_each_conversation_once() {
    let t = inbox(300).await;
    let needing = {
        let c = t.client().await;
        drafting::count_needing(&**c, Needing::Undrafted)
            .await
            .expect("count")
    };
    assert!(needing > 50, "{needing}");
    let (a, b) = tokio::join!(run(&t, Which::Undrafted), run(&t, Which::Undrafted));
    assert_one_pending_each(&t).await;
    assert_eq!(
        (a.drafted + b.drafted) as i64,
        needing,
        "each conversation drafted once: {a:?} {b:?}"
    );
    assert_eq!(a.failed + b.failed, 0);
    let pending = t
        .count(
            "SELECT count(*) FROM suggestions WHERE status = 'pending'",
            &[],
        )
        .await;
    assert_eq!(pending, needing);
    // Every draft answers its conversation's latest inbound message and
    // carries what it was based on.
    let wrong = t
        .count(
            "SELECT count(*) FROM suggestions s WHERE s.status = 'pending'
               AND s.for_message_id IS DISTINCT FROM (
                 SELECT m.id FROM messages m WHERE m.conversation_id = s.conversation_id
                   AND m.direction = 'inbound' ORDER BY m.seq DESC LIMIT 1)",
            &[],
        )
        .await;
    assert_eq!(wrong, 0);
    let runs = t
        .count(
            "SELECT count(*) FROM ai_runs WHERE kind = 'draft' AND status = 'ok'",
            &[],
        )
        .await;
    assert!(runs >= needing, "every provider call recorded: {runs}");
    // Nothing left to do.
    let again = run(&t, Which::Undrafted).await;
    assert_eq!(again.drafted, 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_suggest_processes_at_once_leave_one_pending_draft_each() {
    let t = inbox(200).await;
    let needing = {
        let c = t.client().await;
        drafting::count_needing(&**c, Needing::Undrafted)
            .await
            .expect("count")
    };
    let home = std::env::temp_dir().join(format!("replydesk-suggest-home-{}", t.name));
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_replydesk"))
            .args(["--database-url", &t.url, "suggest"])
            .env_remove("DATABASE_URL")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run replydesk suggest")
    };
    let (p1, p2) = (spawn(), spawn());
    for p in [p1, p2] {
        let out = p.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "suggest failed: {err}");
        assert!(err.contains("drafted"), "{err}");
    }
    assert_one_pending_each(&t).await;
    let pending = t
        .count(
            "SELECT count(*) FROM suggestions WHERE status = 'pending'",
            &[],
        )
        .await;
    assert_eq!(pending, needing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_for_an_older_message_is_superseded_and_redrafted() {
    let t = inbox(50).await;
    let (conv, old) = t.conversation_with_draft("zed").await;
    // A message arrives by a path that did not supersede the draft.
    let c = t.client().await;
    let newer: i64 = c
        .query_one(
            "INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
             VALUES ($1, 2, 'inbound', 'zed@lead.example', 'Re: Bike zed',
                     'Also, can you deliver it to Queens?', 'craigslist', '<zed-2@lead.example>')
             RETURNING id",
            &[&conv],
        )
        .await
        .expect("message")
        .get(0);
    drop(c);
    let r = run(&t, Which::Conversation(conv)).await;
    assert_eq!((r.superseded, r.drafted), (1, 1), "{r:?}");
    assert_eq!(
        t.count(
            "SELECT count(*) FROM suggestions WHERE id = $1 AND status = 'superseded'",
            &[&old]
        )
        .await,
        1
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM suggestions WHERE conversation_id = $1 AND status = 'pending'
               AND for_message_id = $2",
            &[&conv, &newer]
        )
        .await,
        1
    );
    // Asking again for the same conversation adds nothing.
    let r = run(&t, Which::Conversation(conv)).await;
    assert_eq!((r.drafted, r.already_pending), (0, 1));
    assert_one_pending_each(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_draft_is_redrafted_only_with_all() {
    let t = inbox(40).await;
    let (conv, sid) = t.conversation_with_draft("rae").await;
    let rep = t.rep("dana@example.com", "Dana").await;
    {
        let mut c = t.client().await;
        replydesk::db::suggestions::reject(
            &mut c,
            sid,
            &rep,
            replydesk::db::RejectionReason::WrongTone,
            None,
        )
        .await
        .expect("reject");
    }
    run(&t, Which::Undrafted).await;
    assert_eq!(pending_for(&t, conv).await, 0, "the rep's rejection stands");
    let r = run(&t, Which::All).await;
    assert!(r.drafted >= 1);
    assert_eq!(pending_for(&t, conv).await, 1, "--all drafts it again");
}
