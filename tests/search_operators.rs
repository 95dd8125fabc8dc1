//! The search language against real PostgreSQL: each operator, their
//! combinations, ranking over every match, and the CLI around it.

mod common;

use chrono::{TimeZone, Utc};
use common::TestDb;
use replydesk::db::search::{self, Matched, Meaning, Request, SearchFilter};
use std::process::Command;

struct World {
    t: TestDb,
    kevin: i64,
    maria: i64,
    bob: i64,
    alex: i64,
}

/// Three conversations:
/// - kevin (owned by Dana, needs reply): "Road bike for sale", March 2025,
///   Kevin's question and Dana's answer to him;
/// - maria (Alex, waiting): "Sofa", April 2025, mentions a bike in the body;
/// - bob (nobody, archived): "Bike rack", December 2024.
async fn world() -> World {
    let t = TestDb::new().await;
    let dana = t.rep("dana.cruz@example.com", "Dana Cruz").await;
    let alex = t.rep("alex.kim@example.com", "Alex Kim").await;
    let c = t.client().await;
    let conv = |lead: &'static str,
                name: &'static str,
                owner: Option<i64>,
                status: &'static str,
                subject: &'static str| {
        let c = &c;
        async move {
            let lead_id: i64 = c
                .query_one(
                    "INSERT INTO leads (email, name, source) VALUES ($1, $2, 'web') RETURNING id",
                    &[&lead, &name],
                )
                .await
                .expect("lead")
                .get(0);
            let id: i64 = c
                .query_one(
                    &format!(
                        "INSERT INTO conversations (lead_id, owner_rep_id, subject, status)
                         VALUES ($1, $2, $3, '{status}') RETURNING id"
                    ),
                    &[&lead_id, &owner, &subject],
                )
                .await
                .expect("conversation")
                .get(0);
            id
        }
    };
    let kevin = conv(
        "Kevin@Buyers.example",
        "Kevin Lee",
        Some(dana.id),
        "needs_reply",
        "Road bike for sale",
    )
    .await;
    let maria = conv(
        "maria@shop.example",
        "Maria Gomez",
        Some(alex.id),
        "waiting",
        "Sofa",
    )
    .await;
    let bob = conv(
        "bob@else.example",
        "Bob Stone",
        None,
        "archived",
        "Bike rack",
    )
    .await;
    let msg = |conv: i64,
               seq: i32,
               dir: &'static str,
               from: &'static str,
               to: &'static str,
               subject: &'static str,
               body: &'static str,
               at: chrono::DateTime<Utc>| {
        let c = &c;
        async move {
            c.execute(
                &format!(
                    "INSERT INTO messages (conversation_id, seq, direction, from_addr, to_addrs, subject, body_text, source, external_id, sent_at)
                     VALUES ($1, $2, '{dir}', $3, ARRAY[$4], $5, $6, 'test', $7, $8)"
                ),
                &[&conv, &seq, &from, &to, &subject, &body, &format!("<{conv}.{seq}@t>"), &at],
            )
            .await
            .expect("message");
        }
    };
    let day = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
    msg(
        kevin,
        1,
        "inbound",
        "Kevin@Buyers.example",
        "sales@example.com",
        "Road bike for sale",
        "Is the road bike still available? Could you deliver it?",
        day(2025, 3, 1),
    )
    .await;
    msg(
        kevin,
        2,
        "outbound",
        "dana.cruz@example.com",
        "Kevin@Buyers.example",
        "Re: Road bike for sale",
        "Yes, it is still available.",
        day(2025, 3, 2),
    )
    .await;
    msg(
        maria,
        1,
        "inbound",
        "maria@shop.example",
        "sales@example.com",
        "Sofa",
        "Is the sofa available? I also have a bike to trade.",
        day(2025, 4, 10),
    )
    .await;
    msg(
        maria,
        2,
        "outbound",
        "alex.kim@example.com",
        "maria@shop.example",
        "Re: Sofa",
        "It is.",
        day(2025, 4, 11),
    )
    .await;
    msg(
        bob,
        1,
        "inbound",
        "bob@else.example",
        "sales@example.com",
        "Bike rack",
        "What is the price of the rack?",
        day(2024, 12, 20),
    )
    .await;
    World {
        t,
        kevin,
        maria,
        bob,
        alex: alex.id,
    }
}

impl World {
    async fn ids(&self, q: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .found(q)
            .await
            .results
            .iter()
            .map(|r| r.conversation_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    async fn found(&self, q: &str) -> search::Found {
        let query = replydesk::query::parse(q, Utc::now()).expect("query");
        let mut c = self.t.client().await;
        search::search(
            &mut c,
            &Request {
                query: &query,
                filter: SearchFilter::default(),
                me: Some(self.alex),
                vector: None,
                limit: 50,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
    }
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operator_finds_what_it_says() {
    let w = world().await;
    let (k, m, b) = (w.kevin, w.maria, w.bob);
    for (q, want) in [
        // from: exact (any case), domain two ways, start of the address.
        ("from:kevin@buyers.example", vec![k]),
        ("from:@buyers.example", vec![k]),
        ("from:buyers.example", vec![k]),
        ("from:kev", vec![k]),
        ("from:dana", vec![k]),
        ("from:nobody@nowhere.example", vec![]),
        // to:
        ("to:kevin@buyers.example", vec![k]),
        ("to:@shop.example", vec![m]),
        ("to:sales@example.com", vec![k, m, b]),
        // lead: address or a word of the name.
        ("lead:kevin", vec![k]),
        ("lead:\"kevin lee\"", vec![k]),
        ("lead:gomez", vec![m]),
        ("lead:maria@shop.example", vec![m]),
        ("lead:else.example", vec![b]),
        // rep: owner by name or address; me (Alex here) and nobody.
        ("rep:dana", vec![k]),
        ("rep:alex.kim@example.com", vec![m]),
        ("rep:me", vec![m]),
        ("rep:none", vec![b]),
        // status:, twice = either.
        ("status:archived", vec![b]),
        ("status:waiting status:archived", vec![m, b]),
        ("status:needs-reply", vec![k]),
        // date:
        ("date:2025-03-01", vec![k]),
        ("date:2025-04", vec![m]),
        ("date:..2024-12-31", vec![b]),
        ("date:2025-01-01..", vec![k, m]),
        ("date:2025", vec![k, m]),
        // subject: only the subject, not the body (Maria's body says bike).
        ("subject:bike", vec![k, b]),
        ("subject:\"road bike\"", vec![k]),
        ("subject:\"bike road\"", vec![]),
        // words alone and words with operators.
        ("bike", vec![k, m, b]),
        ("available status:waiting", vec![m]),
        ("available from:@buyers.example", vec![k]),
        ("available -sofa", vec![k]),
        ("bike lead:bob rep:none date:2024", vec![b]),
        ("available rep:dana status:archived", vec![]),
    ] {
        assert_eq!(w.ids(q).await, sorted(want), "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_alone_list_newest_first_with_a_count() {
    let w = world().await;
    let f = w.found("to:sales@example.com").await;
    let order: Vec<i64> = f.results.iter().map(|r| r.conversation_id).collect();
    // Newest inbound first: Maria (April), Kevin (March), Bob (December).
    assert_eq!(order, vec![w.maria, w.kevin, w.bob]);
    assert_eq!(f.matched, Matched::Exactly(3));
    assert!(f.results.iter().all(|r| !r.snippet.is_empty()));
    let f = w.found("status:waiting status:archived").await;
    assert_eq!(f.matched, Matched::Exactly(2));
}

/// A rare word is ranked over every match, wherever it is: the one message
/// with the word in its subject (weighted higher) wins although it is the
/// oldest of 600 matches; a word matching more than the cap ranks only the
/// newest and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_match_of_a_rare_word_is_ranked_and_a_common_word_says_so() {
    let t = TestDb::new().await;
    let c = t.client().await;
    c.batch_execute(
        "INSERT INTO leads (id, email, name, source)
           SELECT g, 'l' || g || '@x.example', 'Lead ' || g, 'web' FROM generate_series(1, 3000) g;
         INSERT INTO conversations (id, lead_id, subject) SELECT g, g, 'Item ' || g FROM generate_series(1, 3000) g;
         -- The oldest: the word in the subject.
         INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
           VALUES (1, 1, 'inbound', 'l1@x.example', 'Zeppelin model kit', 'Is it still for sale?', 't', 'm1');
         -- 600 newer ones with the word in the body only.
         INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
           SELECT g, 1, 'inbound', 'l' || g || '@x.example', 'Item ' || g,
                  'I saw a zeppelin poster and wonder about item ' || g || ' today', 't', 'm' || g
           FROM generate_series(2, 601) g;
         -- 2,399 more with a common word.
         INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
           SELECT g, 1, 'inbound', 'l' || g || '@x.example', 'Item ' || g, 'Is it available please', 't', 'm' || g
           FROM generate_series(602, 3000) g;
         UPDATE messages SET body_text = body_text || ' available' WHERE conversation_id <= 601;
         ANALYZE messages;",
    )
    .await
    .expect("data");
    drop(c);
    let mut c = t.client().await;
    let q = replydesk::query::Query {
        text: "zeppelin".into(),
        ..Default::default()
    };
    let r = Request {
        query: &q,
        filter: SearchFilter::default(),
        me: None,
        vector: None,
        limit: 5,
    };
    let found = search::search(&mut c, &r).await.expect("search");
    assert_eq!(found.results.first().map(|r| r.conversation_id), Some(1));
    assert_eq!(found.matched, Matched::Exactly(601));
    assert_eq!(found.meaning, Meaning::Off);

    let q = replydesk::query::Query {
        text: "available".into(),
        ..Default::default()
    };
    let found = search::search(&mut c, &Request { query: &q, ..r })
        .await
        .expect("search");
    assert_eq!(found.matched, Matched::Common);
    assert_eq!(found.results.len(), 5);
}

fn cli(t: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--rep", "alex.kim@example.com"])
        .args(args)
        .env("HOME", std::env::temp_dir().join("replydesk-ops-home"))
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("replydesk-ops-home"),
        )
        .output()
        .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_speaks_the_same_language() {
    let w = world().await;
    let out = cli(&w.t, &["search", "from:@buyers.example", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["conversation_id"], w.kevin);

    let out = cli(&w.t, &["search", "rep:me", "--all", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let ids: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["conversation_id"]
                .as_i64()
                .expect("id")
        })
        .collect();
    assert_eq!(ids, vec![w.maria]);

    let out = cli(&w.t, &["search", "bike", "--all"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("3 conversations"),
        "{text}"
    );

    // A bad operator value: a usage error, one line, exit 2.
    let out = cli(&w.t, &["search", "status:pending"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown status \"pending\""), "{err}");

    let help = cli(&w.t, &["search", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for op in [
        "from:", "to:", "lead:", "rep:", "status:", "date:", "subject:", "Ranking",
    ] {
        assert!(help.contains(op), "{op} missing from --help");
    }
}
