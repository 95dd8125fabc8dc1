//! `replydesk import` against a real database: threading, idempotence,
//! forgiving reading, conversation state, concurrency.

mod common;

use common::{status_of, suggestion_status};

use chrono::{Duration, Utc};
use common::TestDb;
use replydesk::db::{self, ConversationStatus, SuggestionStatus};
use replydesk::import::{self, ImportOptions, ImportReport};
use replydesk::mail::corpus::{Corpus, CorpusSpec, DEFAULT_REPS};
use replydesk::mail::{self, ReadOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "replydesk-import-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A JSONL file of these records, one per line.
    fn jsonl(&self, name: &str, records: &[serde_json::Value]) -> PathBuf {
        let lines: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        let path = self.path(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn add_corpus_reps(t: &TestDb) {
    for email in DEFAULT_REPS {
        t.rep(email, email.split('@').next().unwrap_or(email)).await;
    }
}

fn options() -> ImportOptions {
    ImportOptions {
        streams: 2,
        label: "test".into(),
        ..ImportOptions::default()
    }
}

async fn import_with(t: &TestDb, path: &Path, opts: &ImportOptions) -> ImportReport {
    let items = mail::read(path, None, &ReadOptions::default()).expect("a readable input");
    import::import(&t.db, items, opts, |_| {})
        .await
        .expect("the import runs")
}

async fn import_file(t: &TestDb, path: &Path) -> ImportReport {
    import_with(t, path, &options()).await
}

fn run_binary(t: &TestDb, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join("replydesk-import-test-home");
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--rep", "dana.cruz@example.com"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("run replydesk")
}

/// Every conversation's messages are numbered 1..n and its counters and
/// status agree with them (newest inbound → needs reply, else waiting).
async fn assert_consistent(t: &TestDb) {
    let gaps = t
        .count(
            "SELECT count(*) FROM (SELECT conversation_id FROM messages GROUP BY conversation_id
                                   HAVING min(seq) <> 1 OR max(seq) <> count(*)) s",
            &[],
        )
        .await;
    assert_eq!(gaps, 0, "seq is 1..n in every conversation");
    let off = t
        .count(
            "SELECT count(*) FROM conversations c
             JOIN LATERAL (SELECT count(*) AS n, max(sent_at) AS last_at,
                                  max(sent_at) FILTER (WHERE direction = 'inbound') AS last_in,
                                  max(sent_at) FILTER (WHERE direction = 'outbound') AS last_out
                           FROM messages m WHERE m.conversation_id = c.id) x ON true
             WHERE c.message_count <> x.n OR c.last_message_at <> x.last_at
                OR c.last_inbound_at IS DISTINCT FROM x.last_in
                OR c.last_outbound_at IS DISTINCT FROM x.last_out",
            &[],
        )
        .await;
    assert_eq!(off, 0, "counters match the messages");
    let wrong_status = t
        .count(
            "SELECT count(*) FROM conversations c
             WHERE c.status <> CASE (SELECT direction FROM messages m WHERE m.conversation_id = c.id
                                     ORDER BY sent_at DESC, seq DESC LIMIT 1)
                               WHEN 'inbound' THEN 'needs_reply'::conversation_status
                               ELSE 'waiting'::conversation_status END",
            &[],
        )
        .await;
    assert_eq!(wrong_status, 0, "status follows the newest message");
}

/// Conversations whose messages come from more than one generated
/// conversation (the corpus's ad number is in every subject).
async fn mixed_conversations(t: &TestDb) -> i64 {
    t.count(
        "SELECT count(*) FROM (SELECT conversation_id FROM messages
                               GROUP BY conversation_id
                               HAVING count(DISTINCT substring(subject FROM 'ad #[0-9]+')) > 1) s",
        &[],
    )
    .await
}

fn corpus(conversations: usize, seed: u64) -> Corpus {
    Corpus::generate(&CorpusSpec::new(conversations, seed))
}

async fn assert_matches_corpus(t: &TestDb, c: &Corpus) {
    let outbound = c
        .messages
        .iter()
        .filter(|m| m.direction == db::Direction::Outbound)
        .count() as i64;
    assert_eq!(
        t.count("SELECT count(*) FROM conversations", &[]).await,
        c.expected_conversations() as i64
    );
    assert_eq!(
        t.count("SELECT count(*) FROM messages", &[]).await,
        c.expected_messages() as i64
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'",
            &[]
        )
        .await,
        outbound,
        "outbound: mail from the reps"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM leads", &[]).await,
        c.expected_conversations() as i64,
        "one new lead per generated conversation"
    );
    assert_eq!(mixed_conversations(t).await, 0, "no two threads fused");
    assert_consistent(t).await;
}

#[tokio::test]
async fn jsonl_corpus_imports_its_threads_and_again_adds_nothing() {
    let t = TestDb::new().await;
    let dir = Scratch::new("jsonl");
    let c = corpus(60, 11);
    let path = dir.path("corpus.jsonl");
    c.write_jsonl(&path).unwrap();
    let first = import_file(&t, &path).await;
    assert_eq!(first.imported, c.expected_messages() as u64);
    assert_eq!(first.new_conversations, c.expected_conversations() as u64);
    assert_eq!(first.new_leads, c.expected_conversations() as u64);
    assert_eq!((first.duplicates, first.rejected.len()), (0, 0));
    assert_matches_corpus(&t, &c).await;
    let named = t
        .count(
            "SELECT count(*) FROM leads WHERE name <> '' AND phone IS NOT NULL",
            &[],
        )
        .await;
    assert_eq!(
        named,
        c.expected_conversations() as i64,
        "JSONL lead details"
    );
    let keyed = t
        .count(
            "SELECT count(*) FROM conversations WHERE external_key LIKE '%:gen-11-%'",
            &[],
        )
        .await;
    assert_eq!(keyed, c.expected_conversations() as i64);

    let again = import_file(&t, &path).await;
    assert_eq!(again.imported, 0);
    assert_eq!(again.duplicates, c.expected_messages() as u64);
    assert_matches_corpus(&t, &c).await;
    let completed = t
        .count(
            "SELECT count(*) FROM events WHERE kind = 'import.completed'",
            &[],
        )
        .await;
    assert_eq!(completed, 2, "one event per run");
    let received = t
        .count(
            "SELECT count(*) FROM events WHERE kind = 'message.received'",
            &[],
        )
        .await;
    let inbound = c
        .messages
        .iter()
        .filter(|m| m.direction == db::Direction::Inbound)
        .count() as i64;
    assert_eq!(received, inbound, "one event per new inbound message");
}

#[tokio::test]
async fn mbox_then_the_same_mail_as_maildir_adds_nothing() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("mail");
    let c = corpus(40, 5);
    let mbox = dir.path("inbox.mbox");
    c.write_mbox(&mbox).unwrap();
    let report = import_file(&t, &mbox).await;
    assert_eq!(report.rejected, vec![], "every generated message is usable");
    assert_eq!(report.imported, c.expected_messages() as u64);
    assert_matches_corpus(&t, &c).await;
    let sources = t
        .count("SELECT count(*) FROM messages WHERE source <> 'email'", &[])
        .await;
    assert_eq!(sources, 0, "mail is source email");

    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    let again = import_file(&t, &maildir).await;
    assert_eq!(again.imported, 0);
    assert_eq!(again.duplicates, c.expected_messages() as u64);
    assert_matches_corpus(&t, &c).await;
}

#[tokio::test]
async fn maildir_with_replies_read_before_their_parents_threads() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("maildir");
    let c = corpus(40, 9);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    let report = import_file(&t, &maildir).await;
    assert_eq!(report.rejected, vec![]);
    assert_matches_corpus(&t, &c).await;
}

#[tokio::test]
async fn partitioned_merge_gives_the_same_result() {
    let t = TestDb::new().await;
    let dir = Scratch::new("parts");
    let c = corpus(80, 3);
    let path = dir.path("corpus.jsonl");
    c.write_jsonl(&path).unwrap();
    let opts = ImportOptions {
        partition_min_rows: 1,
        ..options()
    };
    let report = import_with(&t, &path, &opts).await;
    assert_eq!(report.partitions, 2);
    assert_eq!(report.imported, c.expected_messages() as u64);
    assert_matches_corpus(&t, &c).await;
}

fn record(
    id: &str,
    from: &str,
    to: &str,
    subject: &str,
    at: chrono::DateTime<Utc>,
) -> serde_json::Value {
    json!({
        "message_id": format!("<{id}@mail.example>"),
        "from": from,
        "to": to,
        "subject": subject,
        "sent_at": at.to_rfc3339(),
        "body_text": format!("Message {id} about the bike."),
    })
}

#[tokio::test]
async fn broken_records_are_reported_and_the_good_ones_kept() {
    let t = TestDb::new().await;
    t.rep("dana.cruz@example.com", "Dana Cruz").await;
    let dir = Scratch::new("broken");
    let now = Utc::now() - Duration::days(1);
    let mut lines: Vec<String> = (0..20)
        .map(|k| {
            record(
                &format!("good{k}"),
                &format!("Lead {k} <lead{k}@example.com>"),
                "dana.cruz@example.com",
                "Bike",
                now,
            )
            .to_string()
        })
        .collect();
    lines[3] = "{not json".into();
    lines[7] =
        json!({"from": "x@example.com", "sent_at": "yesterday", "message_id": "<d@x>"}).to_string();
    lines[11] = record(
        "internal",
        "dana.cruz@example.com",
        "dana.cruz@example.com",
        "Note to self",
        now,
    )
    .to_string();
    let mut long_id = record(
        "long",
        "l@example.com",
        "dana.cruz@example.com",
        "Bike",
        now,
    );
    long_id["external_id"] = json!("x".repeat(1500));
    lines[15] = long_id.to_string();
    let path = dir.path("broken.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = run_binary(&t, &["import", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (line, why) in [
        (4, "invalid JSON"),
        (8, "bad date"),
        (12, "no lead address"),
        (16, "external id is 1500 bytes"),
    ] {
        let want = format!("replydesk: import: line {line}: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&want) && l.contains(why)),
            "line {line} ({why}) reported in:\n{stderr}"
        );
    }
    assert_eq!(
        stdout.trim(),
        "imported 16 messages (16 new conversations, 16 new leads), 0 duplicates, 4 rejected"
    );
    assert_eq!(t.count("SELECT count(*) FROM messages", &[]).await, 16);

    let clean = dir.jsonl(
        "clean.jsonl",
        &[record(
            "late",
            "Lead 1 <lead1@example.com>",
            "dana.cruz@example.com",
            "Re: Bike",
            now + Duration::hours(1),
        )],
    );
    let out = run_binary(&t, &["import", clean.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 1 messages (0 new conversations, 0 new leads), 0 duplicates, 0 rejected",
        "joins lead 1's conversation by subject"
    );

    let missing = run_binary(&t, &["import", dir.path("nope.jsonl").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such file"), "{err}");
}

/// Reply `id` from the lead of `conversation_with_draft(tag)`.
fn lead_reply(
    tag: &str,
    id: &str,
    in_reply_to: &str,
    at: chrono::DateTime<Utc>,
) -> serde_json::Value {
    json!({
        "source": "craigslist",
        "message_id": format!("<{id}@lead.example>"),
        "in_reply_to": in_reply_to,
        "from": format!("Lead {tag} <{tag}@lead.example>"),
        "to": "dana@example.com",
        "subject": "Re: something else entirely",
        "sent_at": at.to_rfc3339(),
        "body_text": "Great, see you then.",
    })
}

#[tokio::test]
async fn a_reply_to_a_reply_replydesk_sent_joins_and_needs_a_reply() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana").await;
    let (conv, sid) = t.conversation_with_draft("ann").await;
    let mut c = t.raw().await;
    let decision = db::suggestions::approve(&mut c, sid, &dana, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(status_of(&t, conv).await, ConversationStatus::Waiting);
    let sent: String = c
        .query_one(
            "SELECT external_id FROM messages WHERE id = $1",
            &[&decision.queued.message_id],
        )
        .await
        .unwrap()
        .get(0);
    let dir = Scratch::new("reply");
    let path = dir.jsonl(
        "reply.jsonl",
        &[lead_reply(
            "ann",
            "r1",
            &sent,
            Utc::now() + Duration::minutes(1),
        )],
    );
    let report = import_file(&t, &path).await;
    assert_eq!((report.imported, report.new_conversations), (1, 0));
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1",
            &[&conv]
        )
        .await,
        3
    );
    assert_eq!(status_of(&t, conv).await, ConversationStatus::NeedsReply);
    assert_eq!(
        suggestion_status(&t, sid).await,
        SuggestionStatus::Approved,
        "a decided draft stays decided"
    );
    assert_eq!(report.superseded, 0);
    assert_consistent(&t).await;
}

#[tokio::test]
async fn a_new_inbound_supersedes_an_older_pending_draft_and_notifies() {
    let t = TestDb::new().await;
    let (conv, sid) = t.conversation_with_draft("bo").await;
    let (conv2, sid2) = t.conversation_with_draft("cy").await;
    let (listener, mut notes) = t.db.connect_dedicated().await.unwrap();
    listener.batch_execute("LISTEN replydesk").await.unwrap();
    let dir = Scratch::new("supersede");
    let path = dir.jsonl(
        "replies.jsonl",
        &[
            lead_reply(
                "bo",
                "b2",
                "<bo@lead.example>",
                Utc::now() + Duration::minutes(1),
            ),
            // Older than the message cy's draft answers: history, not news.
            lead_reply(
                "cy",
                "c0",
                "<cy@lead.example>",
                Utc::now() - Duration::days(3),
            ),
        ],
    );
    let report = import_file(&t, &path).await;
    assert_eq!((report.imported, report.superseded), (2, 1));
    assert_eq!(
        suggestion_status(&t, sid).await,
        SuggestionStatus::Superseded
    );
    assert_eq!(suggestion_status(&t, sid2).await, SuggestionStatus::Pending);
    assert_eq!(status_of(&t, conv).await, ConversationStatus::NeedsReply);
    let seqs: Vec<i32> = t
        .client()
        .await
        .query(
            "SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq",
            &[&conv2],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seqs, vec![1, 2], "seq continues after the stored messages");
    let mut payloads = Vec::new();
    while let Ok(Some(n)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), notes.recv()).await
    {
        payloads.push(n.payload().to_string());
    }
    let conv_s = conv.to_string();
    assert!(
        payloads
            .iter()
            .any(|p| p.contains("suggestions") && p.contains(&conv_s)),
        "the superseded draft is announced: {payloads:?}"
    );
    assert!(
        payloads
            .iter()
            .any(|p| p.contains("\"conversations\"") && p.contains(&conv_s)),
        "the conversation change is announced: {payloads:?}"
    );
}

#[tokio::test]
async fn subject_and_lead_join_within_the_window_only() {
    let t = TestDb::new().await;
    t.rep("dana@example.com", "Dana").await;
    let dir = Scratch::new("window");
    let start = Utc::now() - Duration::days(200);
    let lead = "Maria <maria@example.com>";
    let first = dir.jsonl(
        "first.jsonl",
        &[record(
            "m1",
            lead,
            "dana@example.com",
            "Bike for sale",
            start,
        )],
    );
    import_file(&t, &first).await;
    let later = dir.jsonl(
        "later.jsonl",
        &[
            record(
                "m2",
                lead,
                "dana@example.com",
                "RE: [Ads] bike  FOR sale",
                start + Duration::days(10),
            ),
            record(
                "m3",
                "Dana <dana@example.com>",
                "maria@example.com",
                "Re: Bike for sale",
                start + Duration::days(11),
            ),
            record(
                "m4",
                lead,
                "dana@example.com",
                "Re: Bike for sale",
                start + Duration::days(100),
            ),
            record(
                "m5",
                "Sam <sam@example.com>",
                "dana@example.com",
                "Bike for sale",
                start + Duration::days(10),
            ),
        ],
    );
    let report = import_file(&t, &later).await;
    assert_eq!(report.imported, 4);
    assert_eq!((report.new_conversations, report.new_leads), (2, 1));
    let grouped: Vec<(i64, i64)> = t
        .client()
        .await
        .query(
            "SELECT conversation_id, count(*) FROM messages GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let counts: Vec<i64> = grouped.iter().map(|g| g.1).collect();
    assert_eq!(
        counts,
        vec![3, 1, 1],
        "m1 m2 m3 | m4 (too late) | m5 (another lead)"
    );
    assert_consistent(&t).await;
}

#[tokio::test]
async fn keys_group_across_files_and_a_parent_may_come_later() {
    let t = TestDb::new().await;
    let dir = Scratch::new("keys");
    let at = Utc::now() - Duration::days(5);
    let keyed = |id: &str, key: &str, subject: &str, days: i64| {
        let mut r = record(
            id,
            "Ola <ola@example.com>",
            "team@example.com",
            subject,
            at + Duration::days(days),
        );
        r["conversation"] = json!(key);
        r["source"] = json!("crm");
        r
    };
    let child_first = {
        let mut r = record(
            "child",
            "Ola <ola@example.com>",
            "team@example.com",
            "totally different",
            at + Duration::days(2),
        );
        r["in_reply_to"] = json!("<parent@mail.example>");
        r
    };
    let one = dir.jsonl(
        "one.jsonl",
        &[
            keyed("k1", "T-1", "Order", 0),
            keyed("k2", "T-1", "Invoice", 1),
            keyed("k3", "T-2", "Order", 0),
            child_first,
            record(
                "parent",
                "Ola <ola@example.com>",
                "team@example.com",
                "A question",
                at + Duration::days(1),
            ),
        ],
    );
    let report = import_file(&t, &one).await;
    assert_eq!((report.imported, report.new_conversations), (5, 3));
    let two = dir.jsonl("two.jsonl", &[keyed("k4", "T-1", "Anything", 3)]);
    let report = import_file(&t, &two).await;
    assert_eq!((report.imported, report.new_conversations), (1, 0));
    let t1 = t
        .count(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE c.external_key = 'crm:T-1'",
            &[],
        )
        .await;
    assert_eq!(t1, 3);
    let together = t
        .count(
            "SELECT count(DISTINCT conversation_id) FROM messages
             WHERE external_id IN ('<child@mail.example>', '<parent@mail.example>')",
            &[],
        )
        .await;
    assert_eq!(together, 1, "the reply read before its parent joins it");
    assert_consistent(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_imports_of_one_file_at_once_store_each_message_once() {
    let t = TestDb::new().await;
    let dir = Scratch::new("race");
    let c = corpus(50, 21);
    let path = dir.path("corpus.jsonl");
    c.write_jsonl(&path).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (db, path) = (t.db.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let items = mail::read(&path, None, &ReadOptions::default()).unwrap();
            import::import(&db, items, &options(), |_| {})
                .await
                .unwrap()
        }));
    }
    let mut imported = 0;
    let mut duplicates = 0;
    for task in tasks {
        let r = task.await.unwrap();
        imported += r.imported;
        duplicates += r.duplicates;
    }
    assert_eq!(imported, c.expected_messages() as u64);
    assert_eq!(duplicates, c.expected_messages() as u64);
    assert_matches_corpus(&t, &c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approve_waiting_on_an_import_gets_the_next_seq() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana").await;
    let (conv, sid) = t.conversation_with_draft("dee").await;
    // What the merge does: lock the conversation, append, commit.
    let mut importer = t.raw().await;
    let tx = importer.transaction().await.unwrap();
    tx.query(
        "SELECT id FROM conversations WHERE id = $1 FOR UPDATE",
        &[&conv],
    )
    .await
    .unwrap();
    let pool = t.pool.clone();
    let approve = tokio::spawn(async move {
        let mut c = pool.get().await.unwrap();
        db::suggestions::approve(&mut c, sid, &dana, std::time::Duration::ZERO).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.execute(
        "INSERT INTO messages (conversation_id, seq, direction, from_addr, source, external_id)
         VALUES ($1, 2, 'inbound', 'dee@lead.example', 'craigslist', '<dee2@lead.example>')",
        &[&conv],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let decision = approve.await.unwrap().expect("the approve succeeds");
    let seq: i32 = t
        .client()
        .await
        .query_one(
            "SELECT seq FROM messages WHERE id = $1",
            &[&decision.queued.message_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seq, 3);
}

#[tokio::test]
async fn imported_messages_are_searchable_and_the_index_is_back() {
    let t = TestDb::new().await;
    let dir = Scratch::new("search");
    let c = corpus(30, 8);
    let path = dir.path("corpus.jsonl");
    c.write_jsonl(&path).unwrap();
    let report = import_file(&t, &path).await;
    assert!(
        report.rebuilt_search_index,
        "an empty table: built after the load"
    );
    let valid = t
        .count(
            "SELECT count(*) FROM pg_index WHERE indexrelid = 'messages_search_idx'::regclass AND indisvalid",
            &[],
        )
        .await;
    assert_eq!(valid, 1);
    let unindexed = t
        .count("SELECT count(*) FROM messages WHERE search IS NULL", &[])
        .await;
    assert_eq!(unindexed, 0);
    let same = t
        .count(
            "SELECT count(*) FROM messages WHERE search = replydesk_message_search(subject, body_text)",
            &[],
        )
        .await;
    assert_eq!(same, c.expected_messages() as i64, "the trigger's vector");
    let word = c.messages[0]
        .subject
        .split_whitespace()
        .next()
        .unwrap_or("bike")
        .to_string();
    let hits = t
        .count(
            "SELECT count(*) FROM messages WHERE search @@ websearch_to_tsquery('english', $1)",
            &[&word],
        )
        .await;
    assert!(hits > 0, "{word} is found");
    let staging = t
        .count(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'replydesk\\_import\\_%'",
            &[],
        )
        .await;
    assert_eq!(staging, 0, "the staging table is gone");
}

#[tokio::test]
async fn an_import_leaves_the_planner_current_statistics() {
    let t = TestDb::new().await;
    let dir = Scratch::new("analyze");
    let c = corpus(30, 19);
    let path = dir.path("corpus.jsonl");
    c.write_jsonl(&path).unwrap();
    let report = import_file(&t, &path).await;
    assert_eq!(
        report.analyzed,
        vec!["messages", "conversations", "leads", "events"]
    );
    let search_stats = t
        .count(
            "SELECT count(*) FROM pg_stats
             WHERE schemaname = 'public' AND tablename = 'messages' AND attname = 'search'",
            &[],
        )
        .await;
    assert_eq!(search_stats, 1, "the planner knows the full-text column");
    let analyzed = |table: &'static str| {
        let t = &t;
        async move {
            t.count(
                "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = $1",
                &[&table],
            )
            .await
        }
    };
    for table in ["messages", "conversations", "leads", "events"] {
        assert_eq!(analyzed(table).await, 1, "{table} analyzed by the import");
    }

    let one = dir.jsonl(
        "one.jsonl",
        &[record(
            "late-lead",
            "Late Lead <late@example.com>",
            "dana.cruz@example.com",
            "A question",
            Utc::now() - Duration::hours(1),
        )],
    );
    let small = import_file(&t, &one).await;
    assert_eq!(small.imported, 1);
    assert!(
        small.analyzed.is_empty(),
        "a tenth of no table changed: {:?}",
        small.analyzed
    );
    assert_eq!(analyzed("messages").await, 1, "not analyzed again");
}

/// A mail message as a Maildir file holds it.
fn raw_mail(
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    in_reply_to: Option<&str>,
    at: chrono::DateTime<Utc>,
) -> String {
    let reply = in_reply_to
        .map(|p| format!("In-Reply-To: <{p}>\r\nReferences: <{p}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\nMessage-ID: <{id}>\r\n{reply}\r\nHello, about {subject}.\r\n",
        at.to_rfc2822()
    )
}

/// An empty Maildir with a `.Sent` folder.
fn empty_maildir(dir: &Path) {
    for folder in [dir.to_path_buf(), dir.join(".Sent")] {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(folder.join(sub)).unwrap();
        }
    }
}

fn put(dir: &Path, folder: &str, name: &str, mail: &str) {
    std::fs::write(dir.join(folder).join(format!("{name}:2,S")), mail).unwrap();
}

const TEAM_DOMAIN: &str = "sales.northgate.example";

/// Each rep's outreach under one subject to `leads` prospects of its own;
/// the first answers by its headers, the second by subject only.
fn write_outreach(maildir: &Path, reps: &[String], leads: usize) -> usize {
    let start = Utc::now() - Duration::days(20);
    let mut written = 0;
    for (r, rep) in reps.iter().enumerate() {
        for k in 0..leads {
            let prospect = format!("prospect.{r}.{k}@prospects.example");
            let id = format!("outreach.{r}.{k}@{TEAM_DOMAIN}");
            let at = start + Duration::hours((r * leads + k) as i64);
            let mail = raw_mail(
                &format!("Rep {r} <{rep}>"),
                &prospect,
                "Spring offer from Northgate",
                &id,
                None,
                at,
            );
            put(maildir, ".Sent/cur", &format!("o{r}x{k}"), &mail);
            written += 1;
            let answer = match k {
                0 => Some(Some(id.as_str())),
                1 => Some(None),
                _ => None,
            };
            if let Some(parent) = answer {
                let mail = raw_mail(
                    &format!("Prospect <{prospect}>"),
                    rep,
                    "Re: Spring offer from Northgate",
                    &format!("answer.{r}.{k}@prospects.example"),
                    parent,
                    at + Duration::days(1),
                );
                put(maildir, "cur", &format!("a{r}x{k}"), &mail);
                written += 1;
            }
        }
    }
    written
}

/// Conversations with mail of an address other than their lead's.
async fn conversations_with_another_lead(t: &TestDb) -> i64 {
    t.count(
        "SELECT count(DISTINCT c.id) FROM conversations c
         JOIN leads l ON l.id = c.lead_id
         JOIN messages m ON m.conversation_id = c.id
         WHERE (m.direction = 'inbound' AND position(lower(l.email) IN lower(m.from_addr)) = 0)
            OR (m.direction = 'outbound' AND NOT lower(l.email) = ANY(m.to_addrs))",
        &[],
    )
    .await
}

async fn team_leads(t: &TestDb) -> i64 {
    t.count(
        "SELECT count(*) FROM leads WHERE lower(email) LIKE '%@' || $1 OR lower(email) LIKE '%.' || $1",
        &[&TEAM_DOMAIN],
    )
    .await
}

#[tokio::test]
async fn a_team_mailbox_without_registered_reps_keeps_the_reps_out_of_the_leads() {
    let t = TestDb::new().await;
    let dir = Scratch::new("team");
    let reps: Vec<String> = (0..24)
        .map(|r| format!("rep{r}.name@{TEAM_DOMAIN}"))
        .collect();
    let spec = CorpusSpec {
        conversations: 240,
        seed: 31,
        rep_emails: reps.clone(),
    };
    let c = Corpus::generate(&spec);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    let outreach = write_outreach(&maildir, &reps, 3);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let events = seen.clone();
    let items = mail::read(&maildir, None, &ReadOptions::default()).unwrap();
    let report = import::import(&t.db, items, &options(), move |e| {
        let what = match e {
            import::Event::TeamFound(_) => "team".to_string(),
            import::Event::Progress(p) => format!("{:?}", p.phase),
        };
        events.lock().unwrap().push(what);
    })
    .await
    .unwrap();
    assert_eq!(report.rejected, vec![]);
    assert_eq!(report.imported as usize, c.expected_messages() + outreach);
    let found: Vec<&str> = report
        .team_found
        .domains
        .iter()
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(found, vec![TEAM_DOMAIN], "{:?}", report.team_found);
    let order = seen.lock().unwrap().clone();
    let told = order.iter().position(|e| e == "team");
    let merging = order.iter().position(|e| e == "Merge");
    assert!(
        told.is_some() && told < merging,
        "told before writing: {order:?}"
    );

    assert_eq!(team_leads(&t).await, 0, "no rep is a lead");
    let outbound = c
        .messages
        .iter()
        .filter(|m| m.direction == db::Direction::Outbound)
        .count()
        + reps.len() * 3;
    assert_eq!(
        t.count(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'",
            &[]
        )
        .await,
        outbound as i64
    );
    let prospects = reps.len() * 3;
    assert_eq!(
        t.count("SELECT count(*) FROM conversations", &[]).await,
        (c.expected_conversations() + prospects) as i64,
        "one conversation per generated thread and per prospect"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM leads", &[]).await,
        (c.expected_conversations() + prospects) as i64
    );
    let leads_with_more = t
        .count(
            "SELECT count(*) FROM (SELECT lead_id FROM conversations GROUP BY lead_id
                                   HAVING count(*) <> 1) s",
            &[],
        )
        .await;
    assert_eq!(leads_with_more, 0, "each lead has its one conversation");
    assert_eq!(conversations_with_another_lead(&t).await, 0);
    assert_consistent(&t).await;
    let remembered = t
        .count(
            "SELECT count(*) FROM import_team_addresses WHERE address = '@' || $1",
            &[&TEAM_DOMAIN],
        )
        .await;
    assert_eq!(remembered, 1);
}

#[tokio::test]
async fn one_reps_outreach_under_one_subject_to_five_leads_is_five_conversations() {
    let t = TestDb::new().await;
    let dir = Scratch::new("outreach");
    let maildir = dir.path("Maildir");
    empty_maildir(&maildir);
    let rep = format!("ann@{TEAM_DOMAIN}");
    let start = Utc::now() - Duration::days(10);
    for k in 0..5 {
        let lead = format!("lead{k}@example.org");
        let id = format!("quick.{k}@{TEAM_DOMAIN}");
        let at = start + Duration::hours(k);
        let ask = raw_mail(&rep, &lead, "Quick question", &id, None, at);
        put(&maildir, ".Sent/cur", &format!("q{k}"), &ask);
        // Two answer by their headers, three by subject only.
        let parent = (k < 2).then_some(id.as_str());
        let answer = raw_mail(
            &lead,
            &rep,
            "Re: Quick question",
            &format!("re.{k}@example.org"),
            parent,
            at + Duration::days(1),
        );
        put(&maildir, "cur", &format!("r{k}"), &answer);
    }
    let report = import_file(&t, &maildir).await;
    assert_eq!(report.imported, 10);
    assert_eq!(report.team_found.addresses, vec![rep.clone()]);
    assert_eq!(report.new_conversations, 5);
    assert_eq!(
        t.count("SELECT count(*) FROM leads WHERE email = $1", &[&rep])
            .await,
        0
    );
    let per_conversation: Vec<i64> = t
        .client()
        .await
        .query(
            "SELECT count(*) FROM messages GROUP BY conversation_id ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(per_conversation, vec![2; 5], "an ask and its answer each");
    assert_eq!(conversations_with_another_lead(&t).await, 0);

    // Later mail of the same rep, too little to tell: remembered.
    let later = dir.path("Later");
    empty_maildir(&later);
    let mail = raw_mail(
        &rep,
        "lead9@example.org",
        "Quick question",
        "quick.9@x",
        None,
        Utc::now() - Duration::days(1),
    );
    put(&later, ".Sent/cur", "q9", &mail);
    let report = import_file(&t, &later).await;
    assert_eq!((report.imported, report.inbound), (1, 0));
    assert_eq!(
        t.count(
            "SELECT count(*) FROM leads WHERE email = 'lead9@example.org'",
            &[]
        )
        .await,
        1
    );
}

#[tokio::test]
async fn team_domain_makes_a_domain_the_team_without_detection() {
    let dir = Scratch::new("team-domain");
    let maildir = dir.path("Maildir");
    let reps = vec![
        format!("ann@{TEAM_DOMAIN}"),
        format!("bo@mail.{TEAM_DOMAIN}"),
    ];
    let spec = CorpusSpec {
        conversations: 6,
        seed: 33,
        rep_emails: reps,
    };
    let c = Corpus::generate(&spec);
    c.write_maildir(&maildir).unwrap();
    let path = maildir.to_str().unwrap();

    let t = TestDb::new().await;
    let out = run_binary(
        &t,
        &[
            "import",
            path,
            "--team-domain",
            "Sales.Northgate.example",
            "--no-detect-team",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("correspondents"), "{stderr}");
    assert_matches_corpus(&t, &c).await;
    assert_eq!(team_leads(&t).await, 0);

    let without = TestDb::new().await;
    let out = run_binary(&without, &["import", path, "--no-detect-team"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        without
            .count(
                "SELECT count(*) FROM messages WHERE direction = 'outbound'",
                &[]
            )
            .await,
        0,
        "without --team-domain the reps' mail reads as inbound"
    );

    let bad = run_binary(&without, &["import", path, "--team-domain", "not a domain"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn the_team_found_is_told_on_one_line_before_the_summary() {
    let t = TestDb::new().await;
    let dir = Scratch::new("team-warning");
    let maildir = dir.path("Maildir");
    empty_maildir(&maildir);
    let reps: Vec<String> = (0..3).map(|r| format!("rep{r}@{TEAM_DOMAIN}")).collect();
    write_outreach(&maildir, &reps, 6);
    let out = run_binary(&t, &["import", maildir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warning: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("correspondents"))
        .collect();
    assert_eq!(warning.len(), 1, "{stderr}");
    for part in [
        "3 senders (3 at sales.northgate.example)",
        "--team-domain sales.northgate.example",
        "replydesk rep add",
        "--no-detect-team",
    ] {
        assert!(warning[0].contains(part), "{part} in {}", warning[0]);
    }
    assert_eq!(team_leads(&t).await, 0);
}
