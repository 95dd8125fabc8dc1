//! `make bench`: seeds a 200K-conversation demo inbox (~1M messages) into its
//! own database and prints p50/p95/p99 of the database operations behind each
//! key press, against the budgets of PRODUCT §7.
//!
//! Options: `--conversations N` (default 200000), `--reuse` (keep an already
//! seeded `replydesk_bench` database), `--iterations N` (default 400).

use replydesk::db::conversations::{self, InboxQuery, Page, StatusFilter};
use replydesk::db::pool::{DbConfig, DbOptions};
use replydesk::db::{self, RejectionReason, Rep};
use replydesk::demo::{self, SeedOptions};
use std::time::{Duration, Instant};

const BENCH_DB: &str = "replydesk_bench";

struct Row {
    name: String,
    samples: Vec<Duration>,
    budget: Option<(&'static str, f64)>,
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

fn print_table(rows: &mut [Row]) {
    println!();
    println!(
        "| {:<44} | {:>5} | {:>8} | {:>8} | {:>8} | {:<14} | {:<4} |",
        "operation", "n", "p50 ms", "p95 ms", "p99 ms", "budget", "ok"
    );
    println!(
        "|{:-<46}|{:-<7}|{:-<10}|{:-<10}|{:-<10}|{:-<16}|{:-<6}|",
        "", "", "", "", "", "", ""
    );
    for r in rows.iter_mut() {
        r.samples.sort();
        let (p50, p95, p99) = (
            pct(&r.samples, 0.5),
            pct(&r.samples, 0.95),
            pct(&r.samples, 0.99),
        );
        let (budget, ok) = match r.budget {
            Some(("p95", ms)) => (
                format!("p95 ≤ {ms} ms"),
                if p95 <= ms { "yes" } else { "NO" },
            ),
            Some(("p99", ms)) => (
                format!("p99 ≤ {ms} ms"),
                if p99 <= ms { "yes" } else { "NO" },
            ),
            _ => ("-".to_string(), ""),
        };
        println!(
            "| {:<44} | {:>5} | {:>8.3} | {:>8.3} | {:>8.3} | {:<14} | {:<4} |",
            r.name,
            r.samples.len(),
            p50,
            p95,
            p99,
            budget,
            ok
        );
    }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let conversations: usize = arg(&args, "--conversations").unwrap_or(200_000);
    let iterations: usize = arg(&args, "--iterations").unwrap_or(400);
    let reuse = args.iter().any(|a| a == "--reuse");
    let base =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/postgres".into());
    let admin_cfg = DbConfig::from_url(
        &replydesk::db::pool::url_with_database(&base, "postgres"),
        &DbOptions::default(),
    )?;
    let (admin, _n) = admin_cfg.connect_dedicated().await?;
    let cfg = DbConfig::from_url(
        &replydesk::db::pool::url_with_database(&base, BENCH_DB),
        &DbOptions {
            pool_size: 4,
            ..DbOptions::default()
        },
    )?;
    let mut rows: Vec<Row> = Vec::new();
    let exists: bool = admin
        .query_one(
            "SELECT count(*) = 1 FROM pg_database WHERE datname = $1",
            &[&BENCH_DB],
        )
        .await?
        .get(0);
    let mut seeded_rate = None;
    if !(reuse && exists) {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {BENCH_DB}"))
            .await?;
        let (mut c, _n) = cfg.connect_dedicated().await?;
        db::migrate::up(&mut c, None).await?;
        eprintln!("seeding {conversations} conversations …");
        let report = demo::seed(
            &cfg,
            &SeedOptions {
                conversations,
                seed: 42,
                streams: 2,
            },
            |_, _| {},
        )
        .await?;
        eprintln!(
            "seeded {} messages in {:.1} s = {:.0} messages/s (load {:.1} s, GIN index + analyze {:.1} s)",
            report.messages,
            report.seconds,
            report.messages_per_second(),
            report.load_seconds,
            report.index_seconds
        );
        seeded_rate = Some((
            report.messages,
            report.seconds,
            report.messages_per_second(),
        ));
    }
    let pool = db::connect(&cfg).await?;
    let c = db::pool::client(&pool).await?;
    let settings: String = c.query_one("SHOW shared_buffers", &[]).await?.get(0);
    let (n_conv, n_msg): (i64, i64) = {
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)",
                &[],
            )
            .await?;
        (r.get(0), r.get(1))
    };
    eprintln!("database: {n_conv} conversations, {n_msg} messages; shared_buffers {settings}");
    let owners: Vec<i64> = c
        .query("SELECT id FROM reps WHERE role = 'rep' ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut rng = Lcg(7);

    // Inbox pages: needs-reply + owner filter, walking the keyset.
    let mut s = Vec::new();
    for round in 0..iterations / 20 {
        let q = InboxQuery {
            filter: StatusFilter::NeedsReply,
            owner: Some(owners[round % owners.len()]),
            unassigned: false,
        };
        let mut page = Page::First;
        for _ in 0..20 {
            let t = Instant::now();
            let rows = conversations::page(&c, &q, page, 50).await?;
            s.push(t.elapsed());
            match rows.last() {
                Some(last) => page = Page::After(last.cursor()),
                None => break,
            }
        }
    }
    rows.push(Row {
        name: "inbox page (50, status+owner, keyset walk)".into(),
        samples: s,
        budget: Some(("p95", 2.0)),
    });

    let mut s = Vec::new();
    for _ in 0..iterations / 4 {
        let q = InboxQuery {
            filter: StatusFilter::All,
            owner: None,
            unassigned: false,
        };
        let t = Instant::now();
        let _ = conversations::page(&c, &q, Page::Last, 50).await?;
        s.push(t.elapsed());
    }
    rows.push(Row {
        name: "inbox page (50, all, jump to end)".into(),
        samples: s,
        budget: Some(("p95", 2.0)),
    });

    // Open a thread.
    let mut s = Vec::new();
    for _ in 0..iterations {
        let id = rng.below(n_conv as usize) as i64 + 1;
        let t = Instant::now();
        let _ = db::messages::thread(&c, id, None, 50).await?;
        let _ = db::suggestions::latest(&c, id).await?;
        s.push(t.elapsed());
    }
    rows.push(Row {
        name: "open thread (≤ 50 messages + draft)".into(),
        samples: s,
        budget: Some(("p95", 5.0)),
    });

    // Decisions.
    let pending: Vec<i64> = c
        .query(
            "SELECT id FROM suggestions WHERE status = 'pending' ORDER BY md5(id::text) LIMIT $1",
            &[&(iterations as i64 * 2)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    drop(c);
    let rep_row = {
        let c = db::pool::client(&pool).await?;
        db::reps::find_by_email(&**c, "dana.cruz@example.com").await?
    };
    let rep: Rep = rep_row;
    let mut raw = pool.get().await?;
    let raw: &mut tokio_postgres::Client = &mut raw;
    let half = pending.len() / 2;
    let mut approve = Vec::new();
    let mut outbox_ids = Vec::new();
    for (k, sid) in pending[..half].iter().enumerate() {
        let t = Instant::now();
        let d = if k % 2 == 0 {
            db::suggestions::approve(raw, *sid, &rep, Duration::from_secs(3600)).await?
        } else {
            db::suggestions::approve_edited(
                raw,
                *sid,
                &rep,
                "Edited reply, see you Saturday.",
                Duration::from_secs(3600),
            )
            .await?
        };
        approve.push(t.elapsed());
        outbox_ids.push(d.queued.outbox_id);
    }
    rows.push(Row {
        name: "approve / edit transaction".into(),
        samples: approve,
        budget: Some(("p95", 5.0)),
    });
    let mut reject = Vec::new();
    for sid in &pending[half..] {
        let t = Instant::now();
        db::suggestions::reject(
            raw,
            *sid,
            &rep,
            RejectionReason::WrongTone,
            Some("too pushy"),
        )
        .await?;
        reject.push(t.elapsed());
    }
    rows.push(Row {
        name: "reject transaction".into(),
        samples: reject,
        budget: Some(("p95", 5.0)),
    });
    let mut undo = Vec::new();
    for oid in &outbox_ids {
        let t = Instant::now();
        db::suggestions::undo(raw, *oid, &rep).await?;
        undo.push(t.elapsed());
    }
    rows.push(Row {
        name: "undo transaction".into(),
        samples: undo,
        budget: Some(("p95", 5.0)),
    });

    // Full-text search.
    let c = db::pool::client(&pool).await?;
    let rare: String = c
        .query_one(
            "SELECT w FROM (SELECT word AS w, ndoc FROM ts_stat('SELECT search FROM messages WHERE id % 50 = 0')) s
             WHERE ndoc = 1 AND w ~ '^[a-z]{4,}$' ORDER BY w LIMIT 1",
            &[],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or_else(|_| "dumbbell".into());
    for (label, query) in [
        ("rare word", rare.as_str()),
        ("common word", "available"),
        ("phrase + or", "\"espresso machine\" or grill"),
    ] {
        let mut s = Vec::new();
        let mut hits = 0;
        for _ in 0..iterations / 2 {
            let t = Instant::now();
            hits = db::search::full_text(&**c, query, 50).await?.len();
            s.push(t.elapsed());
        }
        rows.push(Row {
            name: format!("full-text top 50, {label} ({query}: {hits} hits)"),
            samples: s,
            budget: Some(("p95", 20.0)),
        });
    }

    print_table(&mut rows);
    match seeded_rate {
        Some((msgs, secs, rate)) => println!(
            "\nseed-demo: {msgs} messages in {secs:.1} s = {rate:.0} messages/s (budget ≥ 12000, full-text index included) {}",
            if rate >= 12_000.0 {
                "ok"
            } else {
                "BELOW BUDGET"
            }
        ),
        None => println!("\nseed-demo: not measured (--reuse)"),
    }
    println!(
        "database: {n_conv} conversations, {n_msg} messages, shared_buffers {settings}, 2 cores"
    );
    Ok(())
}
