//! Every command right on real-sized data: results larger than a
//! connection buffer (enum and vector columns), pipes closed early, a
//! stuck query, streamed `--all`, `show`.

mod common;

use common::TestDb;
use replydesk::db::conversations::{self, InboxQuery, Page, StatusFilter};
use replydesk::db::search::{self, Matched, Request, SearchFilter};
use replydesk::demo::{self, SeedOptions};
use replydesk::query::Query;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A hang is a failure, not a stuck suite (this is no timing assertion).
const LIVENESS: Duration = Duration::from_secs(120);

async fn live<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIVENESS, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} never answered"))
}

async fn seeded(conversations: usize) -> TestDb {
    let t = TestDb::new().await;
    demo::seed_with(
        &t.db,
        &SeedOptions {
            conversations,
            seed: 7,
            streams: 2,
        },
        true,
        |_, _| {},
    )
    .await
    .expect("seed");
    t
}

fn replydesk(t: &TestDb, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_replydesk"));
    c.args(["--database-url", &t.url, "--rep", "dana.cruz@example.com"])
        .args(args)
        .env(
            "HOME",
            std::env::temp_dir().join("replydesk-real-mail-home"),
        )
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("replydesk-real-mail-home"),
        );
    c
}

fn run(t: &TestDb, args: &[&str]) -> Output {
    replydesk(t, args).output().expect("run replydesk")
}

fn no_panic(stderr: &[u8]) {
    let err = String::from_utf8_lossy(stderr);
    for bad in ["panicked", "RUST_BACKTRACE", "Broken pipe", "os error"] {
        assert!(!err.contains(bad), "{bad:?} in {err}");
    }
}

/// The tokio-postgres lookup of an unknown result type (our enums,
/// pgvector's) deadlocked a typed statement whose rows filled the
/// connection buffer. Every helper that returns such columns, at 6,000 rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_results_with_enum_and_vector_columns_never_hang() {
    let t = seeded(6000).await;
    // The root: a fresh pooled connection, a typed statement, 20,000 rows
    // of every enum and a vector.
    {
        let c = t.client().await;
        let rows = live(
            "a typed statement of 20,000 enum rows",
            c.query_typed(
                "SELECT 'waiting'::conversation_status, 'inbound'::message_direction,
                        'pending'::suggestion_status, 'rep'::rep_role, 'queued'::outbox_status,
                        'other'::rejection_reason, '[1,2,3]'::vector, g
                 FROM generate_series(1, 20000) g",
                &[],
            ),
        )
        .await
        .expect("typed statement");
        assert_eq!(rows.len(), 20_000);
    }
    let c = t.client().await;
    let all = InboxQuery {
        filter: StatusFilter::All,
        owner: None,
        unassigned: false,
    };
    let page = live(
        "an inbox page of 6,000",
        conversations::page(&c, &all, Page::First, 6000),
    )
    .await
    .expect("page");
    assert_eq!(page.len(), 6000);
    let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
    let many = live("get_many of 6,000", conversations::get_many(&c, &ids))
        .await
        .expect("get_many");
    assert_eq!(many.len(), 6000);
    drop(c);

    let mut c = t.client().await;
    let q = replydesk::query::parse("status:needs-reply status:waiting", chrono::Utc::now())
        .expect("query");
    let found = live(
        "an operators-only search of 5,000",
        search::search(
            &mut c,
            &Request {
                query: &q,
                filter: SearchFilter::default(),
                me: None,
                vector: None,
                limit: 5000,
            },
        ),
    )
    .await
    .expect("search");
    assert_eq!(found.results.len(), 5000);
    let words = Query {
        text: "bike".into(),
        ..Query::default()
    };
    let streamed = live("a streamed search", async {
        use futures::StreamExt;
        let req = Request {
            query: &words,
            filter: SearchFilter::default(),
            me: None,
            vector: None,
            limit: usize::MAX,
        };
        let rows = search::stream_all(&c, &req).await.expect("stream");
        let rows: Vec<_> = rows.collect().await;
        rows.into_iter().collect::<Result<Vec<_>, _>>()
    })
    .await
    .expect("rows");
    assert!(streamed.len() > 100, "{}", streamed.len());

    // A thread of 6,000 messages (direction and delivery are enums).
    let conv = page[0].id;
    c.batch_execute(&format!(
        "INSERT INTO messages (conversation_id, seq, direction, from_addr, body_text, source, external_id)
         SELECT {conv}, 1000 + g, 'inbound', 'lead@x.example', 'hello ' || g, 'test', 'long-' || g
         FROM generate_series(1, 6000) g"
    ))
    .await
    .expect("long thread");
    let thread = live(
        "a thread of 6,000",
        replydesk::db::messages::thread(&c, conv, None, 7000),
    )
    .await
    .expect("thread");
    assert!(thread.messages.len() > 6000);

    // The CLI, end to end.
    let out = run(&t, &["inbox", "--filter", "all", "--limit", "5500"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().last().unwrap_or("").starts_with("5500 shown"),
        "{}",
        text.lines().last().unwrap_or("")
    );
    let out = run(&t, &["search", "bike", "--limit", "500", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 100);
}

/// `| head -1`: the reader goes away; the command ends quietly.
fn closes_quietly(t: &TestDb, args: &[&str]) {
    let mut child = replydesk(t, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    {
        let stdout = child.stdout.take().expect("stdout");
        let mut r = BufReader::new(stdout);
        r.read_line(&mut first).expect("first line");
        // Dropping the reader closes the pipe, like `head -1` exiting.
    }
    let mut err = Vec::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut err)
        .expect("stderr");
    let status = child.wait().expect("wait");
    assert!(!first.is_empty(), "{args:?} printed nothing");
    no_panic(&err);
    assert!(
        err.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(status.code(), Some(0), "{args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_pipes_end_commands_quietly_and_pipes_get_whole_cells() {
    let t = seeded(3000).await;
    closes_quietly(&t, &["inbox", "--all", "--filter", "all", "--json"]);
    closes_quietly(&t, &["inbox", "--all", "--filter", "all"]);
    closes_quietly(&t, &["search", "bike", "--all", "--json"]);
    closes_quietly(&t, &["search", "status:waiting", "--limit", "2000"]);
    // Hundreds of reps, so the listing outgrows the pipe's buffer.
    {
        let c = t.client().await;
        c.batch_execute(
            "INSERT INTO reps (email, display_name)
             SELECT 'a.rather.long.address.for.rep.number.' || g || '@sales-team.northgate.example', 'Rep ' || g
             FROM generate_series(1, 3000) g",
        )
        .await
        .expect("reps");
    }
    closes_quietly(&t, &["rep", "list"]);
    // Into a pipe, addresses are not cut to the column.
    let out = run(&t, &["rep", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a.rather.long.address.for.rep.number.17@sales-team.northgate.example"),
        "{}",
        text.lines().next().unwrap_or("")
    );
    assert!(!text.contains('…'));
}

/// A query stuck behind a lock ends with one line at the deadline instead
/// of waiting for ever (the server's statement timeout is set far away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_query_ends_at_the_deadline() {
    let t = seeded(50).await;
    let mut locker = t.raw().await;
    let tx = locker.transaction().await.expect("tx");
    tx.batch_execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let out = replydesk(&t, &["inbox"])
        .env("REPLYDESK_QUERY_DEADLINE_SECS", "2")
        .env("REPLYDESK_STATEMENT_TIMEOUT_SECS", "600")
        .output()
        .expect("run");
    tx.rollback().await.expect("rollback");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no answer in 2 s"), "{err}");
    no_panic(&out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_all_streams_every_row_once_across_pages() {
    let t = seeded(2600).await;
    let out = run(&t, &["inbox", "--all", "--filter", "all", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut ids: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_i64()
                .expect("id")
        })
        .collect();
    assert_eq!(ids.len(), 2600);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2600, "a row came twice");
    let total = t
        .count(
            "SELECT count(*) FROM conversations WHERE deleted_at IS NULL",
            &[],
        )
        .await;
    assert_eq!(total, 2600);
}

/// `show ID`: the thread for scripts, sanitized; a missing id is one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_prints_the_thread_sanitized() {
    let t = TestDb::new().await;
    let (conv, _) = t.conversation_with_draft("kim").await;
    {
        let c = t.client().await;
        c.execute(
            "UPDATE messages SET body_text = 'Is it available?' || chr(27) || ']52;c;aGk=' || chr(7) || E'\\nThanks'
             WHERE conversation_id = $1",
            &[&conv],
        )
        .await
        .expect("hostile body");
    }
    let out = run(&t, &["show", &conv.to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("conversation {conv} · needs reply · Bike kim")),
        "{text}"
    );
    assert!(text.contains("Is it available?"), "{text}");
    assert!(text.contains("Thanks"));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "escape kept: {text:?}"
    );
    assert!(text.contains("draft"), "{text}");
    assert!(text.contains("yes it is still available"), "{text}");

    let out = run(&t, &["show", &conv.to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["conversation"]["id"], conv);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(1));
    let body = v["messages"][0]["body"].as_str().expect("body");
    assert!(
        body.starts_with("Is it available?") && !body.contains('\u{1b}'),
        "{body:?}"
    );
    assert_eq!(v["draft"]["status"], "pending");

    let out = run(&t, &["show", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("conversation 999999 does not exist"), "{err}");
}

/// The result count the overlay and the CLI print: exact when every match
/// was ranked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_search_says_how_many_match() {
    let t = TestDb::new().await;
    for i in 0..46 {
        t.conversation_with_draft(&format!("c{i}")).await;
    }
    let mut c = t.client().await;
    let q = Query {
        text: "available".into(),
        ..Query::default()
    };
    let found = search::search(
        &mut c,
        &Request {
            query: &q,
            filter: SearchFilter::default(),
            me: None,
            vector: None,
            limit: 30,
        },
    )
    .await
    .expect("search");
    assert_eq!(found.results.len(), 30);
    assert_eq!(found.matched, Matched::Exactly(46));
    let out = run(&t, &["search", "available", "--limit", "30"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("30 of 46 conversations · full text"),
        "{text}"
    );
}
