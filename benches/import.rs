//! `cargo bench --bench import`: generates a JSONL corpus (1M messages by
//! default) and a Maildir (100K), imports each into its own fresh
//! database, and prints messages/s against the ≥ 12,000 msg/s budget of
//! PRODUCT §7 (full-text indexing included), with where the time went.
//!
//! Sizes: `REPLYDESK_BENCH_IMPORT_JSONL` and `REPLYDESK_BENCH_IMPORT_MAILDIR`
//! (messages; 0 skips that input), e.g. `=50000` for a quick run.
//! After the JSONL, `REPLYDESK_BENCH_IMPORT_MORE` further messages (50K;
//! 0 skips) are imported into the same database: an import small against
//! the table, so its indexes are maintained, not rebuilt.
//! `REPLYDESK_BENCH_IMPORT_AGAIN=1` also times re-importing the JSONL (all
//! duplicates). The Maildir is imported as `replydesk import` does it
//! (recording what was read), then imported twice more unchanged: a no-op
//! re-import, whose budget is 0.5 s at 100K messages (the first lists the
//! folders written too recently before the first import to trust their
//! mtime; the second finds every folder as it was and lists none). For experiments: `REPLYDESK_BENCH_IMPORT_STREAMS` (COPY
//! streams and merge partitions, default one per core) and
//! `REPLYDESK_BENCH_IMPORT_PARTITION_MIN` (messages from which the merge is
//! partitioned).

use replydesk::db::import::{Columns, Encoded, Types};
use replydesk::db::pool::{DbConfig, DbOptions, url_with_database};
use replydesk::db::{self, RepRole};
use replydesk::import::{self, ImportOptions, ImportReport, PathInput};
use replydesk::mail::corpus::{Corpus, CorpusSpec, DEFAULT_REPS};
use replydesk::mail::{self, ReadOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// PRODUCT §7: demo seed / import, full-text indexing included.
const BUDGET: f64 = 12_000.0;

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A spec with about `messages` messages (conversations average ~4.9).
fn spec_for(messages: usize, seed: u64) -> CorpusSpec {
    let conversations = (messages as f64 / 4.9).round().max(1.0) as usize;
    CorpusSpec::new(conversations, seed)
}

struct Row {
    input: String,
    report: ImportReport,
    reader_only: (f64, f64),
    /// The budget is for a bulk load into an empty database.
    budgeted: bool,
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<26} | {:>9} | {:>7} | {:>8} | {:<16} | {:<3} | {:>6} | {:>6} | {:>6} | {:>6} | {:>6} | {:>8} |",
        "import",
        "messages",
        "s",
        "msg/s",
        "budget",
        "ok",
        "read",
        "thread",
        "merge",
        "index",
        "parts",
        "reader"
    );
    println!(
        "|{:-<28}|{:-<11}|{:-<9}|{:-<10}|{:-<18}|{:-<5}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|{:-<10}|",
        "", "", "", "", "", "", "", "", "", "", "", ""
    );
    for r in rows {
        let t = &r.report.timings;
        let rate = r.report.messages_per_second();
        let ok = if !r.budgeted || r.report.imported == 0 {
            "-"
        } else if rate >= BUDGET {
            "yes"
        } else {
            "NO"
        };
        println!(
            "| {:<26} | {:>9} | {:>7.1} | {:>8.0} | {:<16} | {:<3} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6} | {:>7.1}s |",
            r.input,
            r.report.imported,
            t.total,
            rate,
            if r.budgeted { "≥ 12,000 msg/s" } else { "-" },
            ok,
            t.read,
            t.thread,
            t.merge,
            t.index,
            r.report.partitions,
            r.reader_only.1
        );
    }
    println!();
    println!(
        "read = reading + checking + staging by parallel COPY (full-text vectors computed here); \
         thread = lookups + threading + plan; merge = partitioned set-based merge; \
         index = index builds + ANALYZE; reader = reading and checking alone, no database (for comparison)"
    );
}

/// The benchmark's databases (dropped again at the end: gigabytes).
const DATABASES: [&str; 2] = [
    "replydesk_bench_import_jsonl",
    "replydesk_bench_import_maildir",
];

async fn drop_database(base: &str, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let admin_cfg =
        DbConfig::from_url(&url_with_database(base, "postgres"), &DbOptions::default())?;
    let (admin, _n) = admin_cfg.connect_dedicated().await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// A fresh, migrated database with the corpus's reps.
async fn fresh_database(base: &str, name: &str) -> Result<DbConfig, Box<dyn std::error::Error>> {
    drop_database(base, name).await?;
    let admin_cfg =
        DbConfig::from_url(&url_with_database(base, "postgres"), &DbOptions::default())?;
    let (admin, _n) = admin_cfg.connect_dedicated().await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let cfg = DbConfig::from_url(&url_with_database(base, name), &DbOptions::default())?;
    let (mut c, _n) = cfg.connect_dedicated().await?;
    db::migrate::up(&mut c, None).await?;
    for email in DEFAULT_REPS {
        db::reps::upsert(&c, email, email, RepRole::Rep).await?;
    }
    Ok(cfg)
}

/// How long the reader alone takes over `path`, and with each record
/// checked and encoded as the import does (the client's share of the CPU).
async fn time_reader(
    cfg: &DbConfig,
    path: &Path,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let n = mail::read(path, None, &ReadOptions::default())?.count();
    let read = started.elapsed().as_secs_f64();
    let (client, _n) = cfg.connect_dedicated().await?;
    let columns = Columns::new(&Types::load(&client).await?);
    let team = import::prepare::Team::new(DEFAULT_REPS.iter().map(|r| r.to_string()), &[]);
    let started = Instant::now();
    let mut row_no = 0;
    let mut out = Encoded::default();
    for item in mail::read(path, None, &ReadOptions::default())? {
        if let mail::Item::Record(r) = item
            && import::prepare::prepare(*r, row_no, &team, &mut out, &columns).is_ok()
        {
            row_no += 1;
            if out.bytes() > 2 << 20 {
                out = Encoded::default();
            }
        }
    }
    let prepared = started.elapsed().as_secs_f64();
    eprintln!(
        "  reader alone: {n} items in {read:.1} s; with checking and encoding {prepared:.1} s"
    );
    Ok((read, prepared))
}

async fn run_import(
    cfg: &DbConfig,
    path: &Path,
    label: &str,
) -> Result<ImportReport, Box<dyn std::error::Error>> {
    let items = mail::read(path, None, &ReadOptions::default())?;
    let defaults = ImportOptions::default();
    let opts = ImportOptions {
        label: label.to_string(),
        partition_min_rows: env_size(
            "REPLYDESK_BENCH_IMPORT_PARTITION_MIN",
            defaults.partition_min_rows,
        ),
        streams: env_size("REPLYDESK_BENCH_IMPORT_STREAMS", defaults.streams),
        ..defaults
    };
    let report = import::import(cfg, items, &opts, |_| {}).await?;
    eprintln!(
        "  {label}: {} messages in {:.1} s = {:.0} msg/s ({} conversations, {} duplicates, {} rejected)",
        report.imported,
        report.timings.total,
        report.messages_per_second(),
        report.new_conversations,
        report.duplicates,
        report.rejected.len()
    );
    Ok(report)
}

/// `replydesk import PATH`'s way: only what is new since the last import.
async fn run_path_import(
    cfg: &DbConfig,
    path: &Path,
    label: &str,
) -> Result<ImportReport, Box<dyn std::error::Error>> {
    let input = PathInput {
        path,
        format: None,
        read: ReadOptions::default(),
        full: false,
    };
    let opts = ImportOptions {
        label: label.to_string(),
        ..ImportOptions::default()
    };
    let report = import::import_path(cfg, &input, &opts, |_| {}).await?;
    eprintln!(
        "  {label}: read {} items, {} messages in {:.3} s ({:?})",
        report.read, report.imported, report.timings.total, report.scope
    );
    Ok(report)
}

/// PRODUCT-level budget for re-importing an unchanged 100K-message Maildir.
const NO_OP_BUDGET_S: f64 = 0.5;

/// Mark one message read in each cur/ folder (a rename, as mail clients
/// do): every folder's mtime changes, so the next import lists them all.
fn change_a_flag_in_every_folder(maildir: &Path) -> std::io::Result<usize> {
    let mut renamed = 0;
    for folder in [maildir.to_path_buf(), maildir.join(".Sent")] {
        let cur = folder.join("cur");
        let first = std::fs::read_dir(&cur)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(":2,S"));
        if let Some(path) = first {
            let name = path.to_string_lossy().replace(":2,S", ":2,RS");
            std::fs::rename(&path, name)?;
            renamed += 1;
        }
    }
    Ok(renamed)
}

/// `n` new messages from new leads in new/.
fn add_new_mail(maildir: &Path, n: usize) -> std::io::Result<()> {
    for k in 0..n {
        let mail = format!(
            "From: New Lead {k} <new.lead.{k}@example.org>\r\nTo: {}\r\n\
             Subject: Still available? ({k})\r\nDate: Mon, 03 Mar 2025 10:00:00 +0000\r\n\
             Message-ID: <bench-new-{k}@example.org>\r\n\r\nHello, is it still available?\r\n",
            DEFAULT_REPS[0]
        );
        std::fs::write(
            maildir.join("new").join(format!("1741000000.M{k}P1.bench")),
            mail,
        )?;
    }
    Ok(())
}

fn scratch_dir() -> Result<PathBuf, std::io::Error> {
    let dir = std::env::temp_dir().join(format!("replydesk-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://localhost/postgres".into());
    let jsonl_size = env_size("REPLYDESK_BENCH_IMPORT_JSONL", 1_000_000);
    let maildir_size = env_size("REPLYDESK_BENCH_IMPORT_MAILDIR", 100_000);
    let again = std::env::var("REPLYDESK_BENCH_IMPORT_AGAIN").is_ok_and(|v| v == "1");
    let increment = env_size("REPLYDESK_BENCH_IMPORT_MORE", 50_000);
    let dir = scratch_dir()?;
    let mut rows = Vec::new();
    let mut no_ops: Vec<(&str, u64, f64)> = Vec::new();
    let result = async {
        if jsonl_size > 0 {
            let path = dir.join("corpus.jsonl");
            let spec = spec_for(jsonl_size, 42);
            let started = Instant::now();
            let n = spec.write_jsonl(&path)?;
            eprintln!(
                "generated {n} JSONL messages ({} conversations) in {:.1} s",
                spec.conversations,
                started.elapsed().as_secs_f64()
            );
            let cfg = fresh_database(&base, DATABASES[0]).await?;
            let reader_only = time_reader(&cfg, &path).await?;
            let report = run_import(&cfg, &path, "JSONL into an empty db").await?;
            rows.push(Row {
                input: format!("JSONL, {}", human(n)),
                report,
                reader_only,
                budgeted: true,
            });
            if again {
                let report = run_import(&cfg, &path, "JSONL again").await?;
                rows.push(Row {
                    input: "same JSONL again (dups)".into(),
                    report,
                    reader_only,
                    budgeted: false,
                });
            }
            if increment > 0 {
                let path = dir.join("more.jsonl");
                spec_for(increment, 43).write_jsonl(&path)?;
                let report = run_import(&cfg, &path, "more JSONL into it").await?;
                rows.push(Row {
                    input: format!("+{} into it", human(report.imported as usize)),
                    report,
                    reader_only: (0.0, 0.0),
                    budgeted: false,
                });
            }
        }
        if maildir_size > 0 {
            let path = dir.join("Maildir");
            let started = Instant::now();
            let corpus = Corpus::generate(&spec_for(maildir_size, 7));
            corpus.write_maildir(&path)?;
            let n = corpus.expected_messages();
            drop(corpus);
            eprintln!(
                "generated a {n}-message Maildir in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let cfg = fresh_database(&base, DATABASES[1]).await?;
            let reader_only = time_reader(&cfg, &path).await?;
            let report = run_path_import(&cfg, &path, "Maildir into an empty db").await?;
            rows.push(Row {
                input: format!("Maildir, {}", human(n)),
                report,
                reader_only,
                budgeted: true,
            });
            let report = run_path_import(&cfg, &path, "unchanged").await?;
            no_ops.push(("unchanged", report.read, report.timings.total));
            let renamed = change_a_flag_in_every_folder(&path)?;
            let report = run_path_import(&cfg, &path, "flags changed").await?;
            no_ops.push((
                "a flag changed in each folder",
                report.read,
                report.timings.total,
            ));
            eprintln!("  ({renamed} files renamed: every cur/ folder listed)");
            add_new_mail(&path, 12)?;
            let report = run_path_import(&cfg, &path, "12 new files").await?;
            no_ops.push(("12 new files", report.read, report.timings.total));
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    for name in DATABASES {
        let _ = drop_database(&base, name).await;
    }
    result?;
    print_table(&rows);
    if !no_ops.is_empty() {
        println!();
        println!("| Maildir re-import             | read |       s | budget  | ok  |");
        println!("|-------------------------------|------|---------|---------|-----|");
        for (label, read, seconds) in &no_ops {
            let budget = if *read == 0 {
                format!("≤ {NO_OP_BUDGET_S} s")
            } else {
                "-".to_string()
            };
            let ok = match (*read, *seconds <= NO_OP_BUDGET_S) {
                (0, true) => "yes",
                (0, false) => "NO",
                _ => "-",
            };
            println!("| {label:<29} | {read:>4} | {seconds:>7.3} | {budget:<7} | {ok:<3} |");
        }
    }
    Ok(())
}

fn human(n: usize) -> String {
    if n >= 1_000_000 && n % 100_000 < 50_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 1000 {
        format!("{}K", n / 1000)
    } else {
        n.to_string()
    }
}
