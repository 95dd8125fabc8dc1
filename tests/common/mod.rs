//! Test support: every test gets its own throwaway database on the real
//! PostgreSQL (with pgvector), dropped when the test ends.
#![allow(dead_code)]

use replydesk::db::pool::{DbConfig, DbOptions};
use replydesk::db::{self, Pool, Rep, RepRole};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server to create test databases on: REPLYDESK_TEST_DATABASE_URL, else
/// the URL the set-up script found, else DATABASE_URL, else localhost.
pub fn base_url() -> String {
    if let Ok(u) = std::env::var("REPLYDESK_TEST_DATABASE_URL") {
        return u;
    }
    let setup = concat!(env!("CARGO_MANIFEST_DIR"), "/.setup/database_url");
    if let Ok(u) = std::fs::read_to_string(setup) {
        let u = u.trim().to_string();
        if !u.is_empty() {
            return u;
        }
    }
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/postgres".into())
}

/// `url` with its database replaced by `name`.
pub fn url_for(url: &str, name: &str) -> String {
    replydesk::db::pool::url_with_database(url, name)
}

async fn admin() -> tokio_postgres::Client {
    let url = url_for(&base_url(), "postgres");
    let cfg = DbConfig::from_url(&url, &DbOptions::default()).expect("admin url");
    let (client, _n) = cfg
        .connect_dedicated()
        .await
        .expect("connect to the test server");
    client
}

pub struct TestDb {
    pub name: String,
    pub url: String,
    pub db: DbConfig,
    pub pool: Pool,
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn new() -> TestDb {
        let t = TestDb::empty().await;
        let (mut c, _n) = t.db.connect_dedicated().await.expect("connect");
        db::migrate::up(&mut c, None).await.expect("migrate");
        t
    }

    /// A fresh database with nothing in it (created from template1, which
    /// the set-up script gives the vector extension).
    pub async fn empty() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "replydesk_test_{}_{}_{}",
            std::process::id(),
            n,
            nanos % 100_000
        );
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let url = url_for(&base_url(), &name);
        let db = DbConfig::from_url(
            &url,
            &DbOptions {
                pool_size: 16,
                ..DbOptions::default()
            },
        )
        .expect("url");
        let pool = db.build_pool().expect("pool");
        TestDb {
            name,
            url,
            db,
            pool,
        }
    }

    pub async fn client(&self) -> db::pool::Client {
        db::pool::client(&self.pool).await.expect("client")
    }

    pub async fn raw(&self) -> tokio_postgres::Client {
        self.db.connect_dedicated().await.expect("connect").0
    }

    pub async fn rep(&self, email: &str, name: &str) -> Rep {
        let c = self.client().await;
        db::reps::upsert(&**c, email, name, RepRole::Rep)
            .await
            .expect("rep")
    }

    /// A lead with one conversation whose one inbound message has a
    /// pending draft. Returns (conversation id, suggestion id).
    pub async fn conversation_with_draft(&self, tag: &str) -> (i64, i64) {
        let c = self.client().await;
        let lead: i64 = c
            .query_one(
                "INSERT INTO leads (email, name, source) VALUES ($1, $2, 'craigslist') RETURNING id",
                &[&format!("{tag}@lead.example"), &format!("Lead {tag}")],
            )
            .await
            .expect("lead")
            .get(0);
        let conv: i64 = c
            .query_one(
                "INSERT INTO conversations (lead_id, subject, status, message_count, last_inbound_at)
                 VALUES ($1, $2, 'needs_reply', 1, now()) RETURNING id",
                &[&lead, &format!("Bike {tag}")],
            )
            .await
            .expect("conversation")
            .get(0);
        let msg: i64 = c
            .query_one(
                "INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
                 VALUES ($1, 1, 'inbound', $2, $3, 'Is the bike still available?', 'craigslist', $4)
                 RETURNING id",
                &[&conv, &format!("{tag}@lead.example"), &format!("Bike {tag}"), &format!("<{tag}@lead.example>")],
            )
            .await
            .expect("message")
            .get(0);
        let sid = db::suggestions::create_pending(
            &**c,
            &db::suggestions::NewSuggestion {
                conversation_id: conv,
                for_message_id: Some(msg),
                body: format!("Hi {tag}, yes it is still available."),
                confidence: 0.8,
                sentiment: Some("positive".into()),
                model: "test".into(),
                context: serde_json::json!({}),
            },
        )
        .await
        .expect("draft")
        .expect("no pending draft yet");
        (conv, sid)
    }

    pub async fn count(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> i64 {
        self.client()
            .await
            .query_one(sql, params)
            .await
            .expect("count")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        self.pool.close();
        // Drop runs outside async; a short-lived runtime on its own thread
        // removes the database.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let client = admin().await;
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

/// A conversation's status.
pub async fn status_of(t: &TestDb, conv: i64) -> db::ConversationStatus {
    t.client()
        .await
        .query_one("SELECT status FROM conversations WHERE id = $1", &[&conv])
        .await
        .unwrap()
        .get(0)
}

/// A suggestion's status.
pub async fn suggestion_status(t: &TestDb, sid: i64) -> db::SuggestionStatus {
    t.client()
        .await
        .query_one("SELECT status FROM suggestions WHERE id = $1", &[&sid])
        .await
        .unwrap()
        .get(0)
}
