//! Migrations: round trips, status, drift, concurrency, missing pgvector.

mod common;

use common::TestDb;
use replydesk::db::DbError;
use replydesk::db::migrate::{self, MIGRATIONS, SchemaState, State};
use std::process::Command;

/// Everything replydesk creates in the public schema, as sorted text.
async fn schema_dump(c: &tokio_postgres::Client) -> Vec<String> {
    let rows = c
        .query(
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
               FROM information_schema.columns WHERE table_schema = 'public'
             UNION ALL
             SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
             UNION ALL
             SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             UNION ALL
             SELECT 'type ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
               FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
             UNION ALL
             SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
             UNION ALL
             SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
             UNION ALL
             SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'",
            &[],
        )
        .await
        .unwrap();
    let mut out: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    out.sort();
    out
}

#[tokio::test]
async fn up_down_up_gives_the_same_schema_and_down_removes_everything() {
    let t = TestDb::empty().await;
    let mut c = t.raw().await;
    let applied = migrate::up(&mut c, None).await.unwrap();
    assert_eq!(applied.len(), MIGRATIONS.len());
    let first = schema_dump(&c).await;
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("index messages_search_idx")),
        "GIN index exists"
    );
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("index suggestions_one_pending_idx"))
    );
    let reverted = migrate::down(&mut c, MIGRATIONS.len()).await.unwrap();
    assert_eq!(reverted.len(), MIGRATIONS.len());
    let after_down = schema_dump(&c).await;
    assert!(
        after_down.iter().all(|l| l.contains("schema_migrations")),
        "down leaves only the bookkeeping table: {after_down:#?}"
    );
    migrate::up(&mut c, None).await.unwrap();
    assert_eq!(schema_dump(&c).await, first);
}

#[tokio::test]
async fn status_lists_pending_then_applied_with_checksums() {
    let t = TestDb::empty().await;
    let mut c = t.raw().await;
    let rows = migrate::status(&c).await.unwrap();
    assert!(rows.iter().all(|r| r.state == State::Pending));
    assert_eq!(migrate::check(&c).await.unwrap(), SchemaState::Empty);
    migrate::up(&mut c, Some(1)).await.unwrap();
    let rows = migrate::status(&c).await.unwrap();
    assert_eq!(rows[0].state, State::Applied);
    assert_eq!(rows[0].checksum, migrate::checksum(MIGRATIONS[0].up));
    assert!(rows[1..].iter().all(|r| r.state == State::Pending));
    assert_eq!(
        migrate::check(&c).await.unwrap(),
        SchemaState::Behind {
            pending: MIGRATIONS.len() - 1
        }
    );
    migrate::up(&mut c, None).await.unwrap();
    assert_eq!(migrate::check(&c).await.unwrap(), SchemaState::Current);
    // redo = down 1 + up
    migrate::down(&mut c, 1).await.unwrap();
    assert!(matches!(
        migrate::check(&c).await.unwrap(),
        SchemaState::Behind { pending: 1 }
    ));
}

#[tokio::test]
async fn drift_and_a_newer_schema_are_refused() {
    let t = TestDb::new().await;
    let mut c = t.raw().await;
    c.execute(
        "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2",
        &[],
    )
    .await
    .unwrap();
    let err = migrate::check(&c).await.unwrap_err();
    assert!(matches!(err, DbError::Drift { version: 2, .. }), "{err}");
    assert!(
        migrate::up(&mut c, None).await.is_err(),
        "up refuses drift too"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "migrate", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DRIFT"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum drift"));

    c.execute(
        "UPDATE schema_migrations SET checksum = $1 WHERE version = 2",
        &[&migrate::checksum(MIGRATIONS[1].up)],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')",
        &[],
    )
    .await
    .unwrap();
    let err = migrate::check(&c).await.unwrap_err();
    assert!(
        matches!(err, DbError::SchemaAhead { version: 9999 }),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--rep", "x@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ahead of this replydesk") && err.contains("upgrade replydesk"),
        "{err}"
    );
}

#[tokio::test]
async fn a_schema_behind_the_binary_is_refused_with_the_command_to_run() {
    let t = TestDb::empty().await;
    let mut c = t.raw().await;
    migrate::up(&mut c, Some(1)).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--rep", "x@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("run `replydesk --migrate`"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--migrate", "--no-tui"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(migrate::check(&c).await.unwrap(), SchemaState::Current);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_migrate_processes_end_with_one_schema() {
    let t = TestDb::empty().await;
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_replydesk"))
                .args(["--database-url", &t.url, "--migrate", "--no-tui"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_lines = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a migrate process failed: {err}");
        applied_lines += err.lines().filter(|l| l.contains("applied 0")).count();
    }
    assert_eq!(
        applied_lines,
        MIGRATIONS.len(),
        "each migration applied exactly once in all"
    );
    let c = t.raw().await;
    assert_eq!(migrate::check(&c).await.unwrap(), SchemaState::Current);
    let n: i64 = c
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn missing_pgvector_gives_install_instructions() {
    // The server here has pgvector, so run the real migration text with the
    // extension name swapped for one that no server has.
    let t = TestDb::empty().await;
    let c = t.raw().await;
    let m = &MIGRATIONS[0];
    let sql = m.up.replace("'vector'", "'vector_not_installed_anywhere'");
    let err = c.batch_execute(&sql).await.unwrap_err();
    let mapped = migrate::map_failure(m, err);
    assert!(matches!(mapped, DbError::PgvectorMissing), "{mapped}");
    let line = mapped.to_string();
    assert!(
        line.contains("pgvector is not installed") && line.contains("replydesk --migrate"),
        "{line}"
    );
}

#[tokio::test]
async fn pgvector_without_the_right_to_create_it_says_who_must() {
    let t = TestDb::empty().await;
    let c = t.raw().await;
    let role = format!("{}_plain", t.name);
    c.batch_execute(&format!(
        "DROP EXTENSION IF EXISTS vector; CREATE ROLE {role} LOGIN; GRANT ALL ON SCHEMA public TO {role};"
    ))
    .await
    .unwrap();
    // The same server and database, logged in as the unprivileged role.
    let (scheme, rest) = t.url.split_once("://").unwrap();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let url = format!("{scheme}://{role}@{rest}");
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &url, "--migrate", "--no-tui"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    c.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("vector extension needs a superuser"), "{err}");
    assert!(!err.contains("panicked"));
}
