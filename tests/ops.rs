//! Operations: the GDPR erase of a lead, and a pg_dump/pg_restore round trip.

mod common;

use common::TestDb;
use replydesk::db;
use replydesk::demo::{self, SeedOptions};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn replydesk(url: &str, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join("replydesk-ops-home");
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", url, "--rep", "dana@example.com"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("run replydesk")
}

/// Alice (two lead records, one spelled in capitals) and Bob, each with an
/// approved reply in the outbox, plus embeddings, AI runs and events.
/// Returns (Alice's conversation ids, Bob's conversation id).
async fn seed_two_leads(t: &TestDb) -> (Vec<i64>, i64) {
    let dana = t.rep("dana@example.com", "Dana").await;
    let (alice1, alice1_draft) = t.conversation_with_draft("alice").await;
    let (bob, bob_draft) = t.conversation_with_draft("bob").await;
    let mut c = t.raw().await;
    for draft in [alice1_draft, bob_draft] {
        db::suggestions::approve(&mut c, draft, &dana, Duration::from_secs(600))
            .await
            .unwrap();
    }
    let alice2: i64 = c
        .query_one(
            "WITH l AS (INSERT INTO leads (email, name, source) VALUES ('Alice@LEAD.example', 'Alice', 'web') RETURNING id)
             INSERT INTO conversations (lead_id, subject) SELECT id, 'Second question' FROM l RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
           VALUES ({alice2}, 1, 'inbound', 'Alice@LEAD.example', 'Second question', 'Call me on 555-0100', 'web', 'alice-2');
         INSERT INTO embedding_models (name, dimensions) VALUES ('tiny-3', 3);
         INSERT INTO message_embeddings (message_id, model, embedding)
           SELECT id, 'tiny-3', '[1,0,0]' FROM messages;
         INSERT INTO ai_runs (kind, provider, model, status, error, conversation_id) VALUES
           ('draft', 'offline', 'm', 'error', 'could not parse: Alice says hi', {alice1}),
           ('draft', 'offline', 'm', 'ok', NULL, {bob});
         INSERT INTO events (rep_id, kind, conversation_id, suggestion_id, details) VALUES
           ({rep}, 'suggestion.rejected', {alice2}, NULL, '{{\"note\": \"Alice wants a call\"}}'),
           (NULL, 'import.skipped', NULL, NULL, '{{\"from\": \"alice@lead.example\"}}'),
           (NULL, 'import.skipped', NULL, NULL, '{{\"from\": \"malice@lead.example\"}}');",
        rep = dana.id
    ))
    .await
    .unwrap();
    (vec![alice1, alice2], bob)
}

/// Rows in every table that belong to `convs` or mention `email`.
async fn mentions(t: &TestDb, convs: &[i64], email: &str) -> Vec<(String, i64)> {
    let like = format!("%{}%", email.to_lowercase());
    let mut out = Vec::new();
    for (what, sql) in [
        (
            "leads",
            "SELECT count(*) FROM leads WHERE lower(email) LIKE $2 AND $1::bigint[] IS NOT NULL",
        ),
        (
            "conversations",
            "SELECT count(*) FROM conversations WHERE id = ANY($1) AND $2::text IS NOT NULL",
        ),
        (
            "messages",
            "SELECT count(*) FROM messages WHERE (conversation_id = ANY($1) OR lower(from_addr) LIKE $2 OR lower(to_addrs::text) LIKE $2 OR lower(body_text) LIKE $2)",
        ),
        (
            "embeddings",
            "SELECT count(*) FROM message_embeddings e JOIN messages m ON m.id = e.message_id WHERE m.conversation_id = ANY($1) AND $2::text IS NOT NULL",
        ),
        (
            "suggestions",
            "SELECT count(*) FROM suggestions WHERE conversation_id = ANY($1) AND $2::text IS NOT NULL",
        ),
        (
            "outbox",
            "SELECT count(*) FROM outbox WHERE conversation_id = ANY($1) OR lower(to_addrs::text) LIKE $2",
        ),
        (
            "events",
            // A JSON string that is the address, not one that contains it.
            "SELECT count(*) FROM events WHERE conversation_id = ANY($1) OR lower(details::text) LIKE replace($2, '%', '%\"')",
        ),
        (
            "ai_runs",
            "SELECT count(*) FROM ai_runs WHERE conversation_id = ANY($1) OR lower(coalesce(error, '')) LIKE $2",
        ),
    ] {
        out.push((what.to_string(), t.count(sql, &[&convs, &like]).await));
    }
    out
}

#[tokio::test]
async fn erase_lead_removes_every_row_that_mentions_the_lead_and_audits_without_it() {
    let t = TestDb::new().await;
    let (alice, bob) = seed_two_leads(&t).await;
    let before = mentions(&t, &alice, "alice@lead.example").await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "the fixture reaches every table: {before:?}"
    );
    let bob_before = mentions(&t, &[bob], "bob@lead.example").await;

    let out = replydesk(&t.url, &["erase-lead", "ALICE@lead.example", "--yes"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("erased 2 lead(s), 2 conversation(s), 3 message(s)"),
        "{said}"
    );

    let after = mentions(&t, &alice, "alice@lead.example").await;
    assert!(after.iter().all(|(_, n)| *n == 0), "left behind: {after:?}");
    assert_eq!(
        mentions(&t, &[bob], "bob@lead.example").await,
        bob_before,
        "the other lead is intact"
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM events WHERE details->>'from' = 'malice@lead.example'",
            &[]
        )
        .await,
        1,
        "an event about a longer address that merely contains this one stays"
    );
    let c = t.client().await;
    let row = c
        .query_one(
            "SELECT e.details, e.rep_id = r.id, e.conversation_id FROM events e, reps r
              WHERE e.kind = 'lead.erased' AND r.email = 'dana@example.com'",
            &[],
        )
        .await
        .expect("exactly one erase event");
    let details: serde_json::Value = row.get(0);
    assert_eq!(details["leads"], 2);
    assert_eq!(details["conversations"], 2);
    assert_eq!(details["messages"], 3);
    assert!(row.get::<_, bool>(1), "recorded as the rep who erased");
    assert_eq!(row.get::<_, Option<i64>>(2), None);
    let text = details.to_string().to_lowercase();
    assert!(
        !text.contains("alice") && !text.contains("lead.example") && !text.contains('@'),
        "no personal data in the audit event: {text}"
    );

    // Again: nothing left, one line, exit 1.
    let out = replydesk(&t.url, &["erase-lead", "alice@lead.example", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no lead has this email address"), "{err}");
}

#[tokio::test]
async fn erase_lead_without_a_terminal_needs_yes() {
    let t = TestDb::new().await;
    t.conversation_with_draft("carol").await;
    let out = replydesk(&t.url, &["erase-lead", "carol@lead.example"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("pass --yes"), "{err}");
    assert_eq!(
        t.count(
            "SELECT count(*) FROM leads WHERE email = 'carol@lead.example'",
            &[]
        )
        .await,
        1,
        "nothing erased"
    );
    let out = replydesk(&t.url, &["erase-lead", "not-an-email", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Row counts of every table in the public schema, by name.
async fn row_counts(t: &TestDb) -> Vec<(String, i64)> {
    let c = t.client().await;
    let tables: Vec<String> = c
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for table in tables {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .await
            .unwrap()
            .get(0);
        out.push((table, n));
    }
    out
}

#[tokio::test]
async fn pg_dump_and_pg_restore_round_trip_keeps_every_row() {
    if !have("pg_dump") || !have("pg_restore") {
        eprintln!(
            "SKIPPED: pg_dump/pg_restore are not installed (apt-get install postgresql-client)"
        );
        return;
    }
    let source = TestDb::new().await;
    demo::seed(
        &source.db,
        &SeedOptions {
            conversations: 40,
            seed: 7,
            streams: 2,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    seed_two_leads(&source).await;
    let dump = std::env::temp_dir().join(format!("{}.dump", source.name));
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(format!("--dbname={}", source.url))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let target = TestDb::empty().await;
    let out = Command::new("pg_restore")
        .args(["--exit-on-error", "--no-owner"])
        .arg(format!("--dbname={}", target.url))
        .arg(&dump)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&dump);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let before = row_counts(&source).await;
    assert!(before.iter().any(|(t, n)| t == "messages" && *n > 40));
    assert_eq!(row_counts(&target).await, before);
    let c = target.raw().await;
    assert_eq!(
        db::migrate::check(&c).await.unwrap(),
        db::migrate::SchemaState::Current,
        "the restored schema is the one this binary expects"
    );
}
