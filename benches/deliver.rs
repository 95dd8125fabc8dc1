//! `cargo bench --bench deliver`: how fast `deliver_due` empties the outbox.
//! Queues N due outbox rows (default 5,000) in a fresh database
//! (`replydesk_bench_deliver`), sends them to an in-process
//! Postmark-compatible server on 127.0.0.1 (answers at once, dedupes on
//! Idempotency-Key), and prints messages/s and per-message latency:
//! the HTTP send alone, and send start → the row's `sent` mark (`sent_at`).
//!
//! Options: `--rows N` (default 5000).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use replydesk::config::Secret;
use replydesk::db::pool::{DbConfig, DbOptions};
use replydesk::deliver::{
    self, DeliverOptions, Outgoing, PostmarkTransport, SendError, Sent, Transport,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BENCH_DB: &str = "replydesk_bench_deliver";

/// Accepts every email once per Idempotency-Key.
#[derive(Clone, Default)]
struct Postmark(Arc<Mutex<HashMap<String, String>>>);

impl Respond for Postmark {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.len() + 1;
        let id = seen
            .entry(key)
            .or_insert_with(|| format!("pm-{n:08}"))
            .clone();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "To": "lead@example.net", "SubmittedAt": "2025-01-01T00:00:00Z",
            "MessageID": id, "ErrorCode": 0, "Message": "OK"
        }))
    }
}

/// Times each send of the wrapped transport.
struct Timed {
    inner: Arc<dyn Transport>,
    starts: Mutex<HashMap<i64, DateTime<Utc>>>,
    http: Mutex<Vec<Duration>>,
}

impl Transport for Timed {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn send<'a>(&'a self, email: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            if let Ok(mut s) = self.starts.lock() {
                s.insert(email.outbox_id, Utc::now());
            }
            let t = Instant::now();
            let r = self.inner.send(email).await;
            if let Ok(mut h) = self.http.lock() {
                h.push(t.elapsed());
            }
            r
        })
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// `rows` replies as `approve` leaves them (lead, conversation, inbound and
/// outbound message, outbox row), all due now.
async fn seed(c: &tokio_postgres::Client, rows: i64) -> Result<(), Box<dyn std::error::Error>> {
    c.batch_execute(
        "INSERT INTO reps (email, display_name) VALUES ('bench@example.com', 'Bench Rep')",
    )
    .await?;
    let statements = [
        "INSERT INTO leads (id, email, name, source)
         SELECT g, 'lead' || g || '@example.net', 'Lead ' || g, 'bench'
         FROM generate_series(1, $1::bigint) g",
        "INSERT INTO conversations (id, lead_id, owner_rep_id, subject, status, message_count,
                                    last_inbound_at)
         SELECT g, g, (SELECT id FROM reps LIMIT 1), 'Bike ' || g, 'waiting', 2, now()
         FROM generate_series(1, $1::bigint) g",
        "INSERT INTO messages (id, conversation_id, seq, direction, from_addr, subject, body_text,
                               source, external_id)
         SELECT 2 * g - 1, g, 1, 'inbound', 'lead' || g || '@example.net', 'Bike ' || g,
                'Hi, is the bike still available? Could I see it on Saturday?', 'bench',
                '<lead.' || g || '@example.net>'
         FROM generate_series(1, $1::bigint) g",
        "INSERT INTO messages (id, conversation_id, seq, direction, from_addr, to_addrs, subject,
                               body_text, source, external_id, in_reply_to, \"references\")
         SELECT 2 * g, g, 2, 'outbound', 'Bench Rep <bench@example.com>',
                ARRAY['lead' || g || '@example.net'], 'Re: Bike ' || g,
                'Hi, yes it is still available. Saturday at 10 works; the address is 12 Main St.',
                'replydesk', '<rd.' || g || '.2.0@example.com>', '<lead.' || g || '@example.net>',
                ARRAY['<lead.' || g || '@example.net>']
         FROM generate_series(1, $1::bigint) g",
        "INSERT INTO outbox (id, message_id, conversation_id, rep_id, from_addr, to_addrs, subject,
                             body, in_reply_to, \"references\", send_after)
         SELECT g, m.id, g, (SELECT id FROM reps LIMIT 1), m.from_addr, m.to_addrs, m.subject,
                m.body_text, m.in_reply_to, m.\"references\", now() - interval '1 second'
         FROM generate_series(1, $1::bigint) g JOIN messages m ON m.id = 2 * g",
    ];
    for s in statements {
        c.execute(s, &[&rows]).await?;
    }
    c.batch_execute("VACUUM ANALYZE").await?;
    Ok(())
}

async fn requeue(c: &tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
    c.batch_execute(
        "UPDATE outbox SET status = 'queued', attempts = 0, sent_at = NULL, locked_until = NULL,
                provider_message_id = NULL, last_error = NULL,
                send_after = now() - interval '1 second';
         DELETE FROM events;",
    )
    .await?;
    // One statement each: VACUUM refuses to run in a (implicit) transaction.
    c.batch_execute("VACUUM ANALYZE outbox").await?;
    c.batch_execute("VACUUM ANALYZE events").await?;
    Ok(())
}

struct Run {
    name: String,
    rows: u64,
    seconds: f64,
    http_ms: Vec<f64>,
    marked_ms: Vec<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: i64 = arg(&args, "--rows").unwrap_or(5000);
    let base =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/postgres".into());
    let admin_cfg = DbConfig::from_url(
        &replydesk::db::pool::url_with_database(&base, "postgres"),
        &DbOptions::default(),
    )?;
    let (admin, _n) = admin_cfg.connect_dedicated().await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {BENCH_DB}"))
        .await?;
    let cfg = DbConfig::from_url(
        &replydesk::db::pool::url_with_database(&base, BENCH_DB),
        &DbOptions {
            pool_size: 8,
            ..DbOptions::default()
        },
    )?;
    {
        let (mut c, _n) = cfg.connect_dedicated().await?;
        replydesk::db::migrate::up(&mut c, None).await?;
        eprintln!("queueing {rows} due replies …");
        seed(&c, rows).await?;
    }
    let pool = replydesk::db::connect(&cfg).await?;
    let server = MockServer::start().await;
    let postmark = Postmark::default();
    Mock::given(method("POST"))
        .and(path("/email"))
        .respond_with(postmark.clone())
        .mount(&server)
        .await;
    let http: Arc<dyn Transport> = Arc::new(PostmarkTransport::new(
        &server.uri(),
        Secret::new("bench-token"),
        "outbound",
        Duration::from_secs(30),
    )?);

    let plans: [(usize, Option<u64>); 3] = [(1, Some(1000)), (8, None), (32, None)];
    let mut runs = Vec::new();
    for (concurrency, limit) in plans {
        let (c, _n) = cfg.connect_dedicated().await?;
        requeue(&c).await?;
        postmark.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let timed = Arc::new(Timed {
            inner: http.clone(),
            starts: Mutex::new(HashMap::new()),
            http: Mutex::new(Vec::new()),
        });
        let opts = DeliverOptions {
            max_attempts: 5,
            backoff: Duration::from_millis(100),
            lease: Duration::from_secs(60),
            concurrency,
            limit,
        };
        eprintln!("delivering with concurrency {concurrency} …");
        let t = Instant::now();
        let report = deliver::deliver_due(
            &pool,
            timed.clone(),
            &opts,
            tokio::sync::watch::channel(false).1,
        )
        .await?;
        let seconds = t.elapsed().as_secs_f64();
        let expected = limit.unwrap_or(rows as u64);
        let delivered = postmark.0.lock().map(|m| m.len()).unwrap_or(0) as u64;
        if report.sent != expected || report.failed != 0 || delivered != expected {
            return Err(format!(
                "expected {expected} sent, got {report:?} and {delivered} delivered"
            )
            .into());
        }
        let starts = timed.starts.lock().map(|s| s.clone()).unwrap_or_default();
        let mut marked_ms: Vec<f64> = c
            .query("SELECT id, sent_at FROM outbox WHERE status = 'sent'", &[])
            .await?
            .iter()
            .filter_map(|r| {
                let id: i64 = r.get(0);
                let sent_at: DateTime<Utc> = r.get(1);
                starts
                    .get(&id)
                    .map(|s| (sent_at - *s).num_microseconds().unwrap_or(0) as f64 / 1000.0)
            })
            .collect();
        marked_ms.sort_by(f64::total_cmp);
        let mut http_ms: Vec<f64> = timed
            .http
            .lock()
            .map(|h| h.iter().map(|d| d.as_secs_f64() * 1000.0).collect())
            .unwrap_or_default();
        http_ms.sort_by(f64::total_cmp);
        runs.push(Run {
            name: format!("concurrency {concurrency}"),
            rows: report.sent,
            seconds,
            http_ms,
            marked_ms,
        });
    }

    println!();
    println!(
        "| {:<16} | {:>5} | {:>7} | {:>7} | {:>22} | {:>22} |",
        "deliver_due", "rows", "s", "msg/s", "HTTP send p50/p95/p99", "send→sent p50/p95/p99"
    );
    println!(
        "|{:-<18}|{:-<7}|{:-<9}|{:-<9}|{:-<24}|{:-<24}|",
        "", "", "", "", "", ""
    );
    for r in &runs {
        let three = |v: &[f64]| {
            format!(
                "{:.2}/{:.2}/{:.2} ms",
                pct(v, 0.5),
                pct(v, 0.95),
                pct(v, 0.99)
            )
        };
        println!(
            "| {:<16} | {:>5} | {:>7.2} | {:>7.0} | {:>22} | {:>22} |",
            r.name,
            r.rows,
            r.seconds,
            r.rows as f64 / r.seconds,
            three(&r.http_ms),
            three(&r.marked_ms)
        );
    }
    println!(
        "\nserver: wiremock on 127.0.0.1 in this process; send→sent = transport call start → the `sent` mark (its sent_at, then committed); database {BENCH_DB} (dropped after)"
    );
    drop(pool);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .await?;
    Ok(())
}
