//! `replydesk doctor` against real databases: healthy, drifted, with an
//! invalid index, without pgvector, unreachable; outbox and HNSW warnings;
//! provider reachability.

mod common;

use common::TestDb;
use std::process::{Command, Output};

/// Run `replydesk doctor` with no config file and the offline provider
/// unless `env` says otherwise.
fn doctor(url: &str, env: &[(&str, &str)]) -> Output {
    let home = std::env::temp_dir().join("replydesk-doctor-home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replydesk"));
    cmd.args(["--database-url", url, "doctor"])
        .env_remove("DATABASE_URL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("REPLYDESK_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run replydesk doctor")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The report line of check `name`.
fn line<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} line in:\n{report}"))
}

fn assert_failed(out: &Output) {
    assert_eq!(out.status.code(), Some(1), "{}", stdout(out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert!(err.contains("check(s) failed"), "{err}");
}

#[tokio::test]
async fn a_healthy_database_passes() {
    let t = TestDb::new().await;
    t.conversation_with_draft("healthy").await;
    let out = doctor(&t.url, &[]);
    let report = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "connection",
        "pgvector",
        "migrations",
        "indexes",
        "hnsw indexes",
        "outbox",
        "notifications",
        "config file",
        "provider",
    ] {
        let l = line(&report, name);
        assert!(
            l.starts_with("PASS") || l.starts_with("WARN"),
            "{name} should pass: {l}"
        );
    }
    assert!(!report.contains("FAIL"), "{report}");
    assert!(
        line(&report, "connection").contains("PostgreSQL 15"),
        "{report}"
    );
    assert!(
        line(&report, "migrations").contains("checksums match"),
        "{report}"
    );
    assert!(
        line(&report, "hnsw indexes").contains("no embedding models registered"),
        "{report}"
    );
    assert!(
        line(&report, "provider").contains("offline provider"),
        "{report}"
    );
    assert!(
        line(&report, "notifications").contains("round trip"),
        "{report}"
    );
}

#[tokio::test]
async fn a_drifted_migration_fails() {
    let t = TestDb::new().await;
    t.raw()
        .await
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2",
            &[],
        )
        .await
        .unwrap();
    let out = doctor(&t.url, &[]);
    assert_failed(&out);
    let report = stdout(&out);
    let l = line(&report, "migrations");
    assert!(
        l.starts_with("FAIL") && l.contains("checksum drift") && l.contains("0002 core"),
        "{l}"
    );
    assert!(l.contains("— fix: "), "{l}");
    assert_eq!(
        report.matches("FAIL").count(),
        1,
        "only drift fails: {report}"
    );
}

#[tokio::test]
async fn an_invalid_index_fails() {
    let t = TestDb::new().await;
    let c = t.raw().await;
    // The realistic way: CREATE UNIQUE INDEX CONCURRENTLY over duplicates
    // fails and leaves an INVALID index behind.
    c.batch_execute(
        "INSERT INTO reps (email, display_name) VALUES ('a@x.example', 'Same'), ('b@x.example', 'Same')",
    )
    .await
    .unwrap();
    let err = c
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY reps_name_key ON reps (display_name)")
        .await
        .expect_err("duplicates make the build fail");
    assert!(err.to_string().contains("duplicate") || err.as_db_error().is_some());
    let out = doctor(&t.url, &[]);
    assert_failed(&out);
    let l = line(&stdout(&out), "indexes").to_string();
    assert!(
        l.starts_with("FAIL") && l.contains("INVALID: reps_name_key on reps"),
        "{l}"
    );
    assert!(l.contains("DROP INDEX CONCURRENTLY reps_name_key"), "{l}");

    // An index the schema expects, marked invalid (as a failed REINDEX
    // CONCURRENTLY would leave it), gets a REINDEX fix.
    c.batch_execute("DROP INDEX CONCURRENTLY reps_name_key")
        .await
        .unwrap();
    c.batch_execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'conversations_recent_idx'::regclass",
    )
    .await
    .unwrap();
    let out = doctor(&t.url, &[]);
    assert_failed(&out);
    let l = line(&stdout(&out), "indexes").to_string();
    assert!(l.contains("INVALID: conversations_recent_idx"), "{l}");
    assert!(
        l.contains("REINDEX INDEX CONCURRENTLY conversations_recent_idx"),
        "{l}"
    );

    // A missing expected index is named.
    c.batch_execute("DROP INDEX conversations_recent_idx; DROP INDEX outbox_due_idx")
        .await
        .unwrap();
    let out = doctor(&t.url, &[]);
    assert_failed(&out);
    let l = line(&stdout(&out), "indexes").to_string();
    assert!(
        l.contains("missing: conversations_recent_idx, outbox_due_idx"),
        "{l}"
    );
}

#[tokio::test]
async fn pgvector_available_but_not_created_fails_and_the_rest_is_skipped() {
    // The server has pgvector (the set-up script made sure); this database
    // does not have the extension created and has no schema.
    let t = TestDb::empty().await;
    t.raw()
        .await
        .batch_execute("DROP EXTENSION IF EXISTS vector")
        .await
        .unwrap();
    let out = doctor(&t.url, &[]);
    assert_failed(&out);
    let report = stdout(&out);
    let l = line(&report, "pgvector");
    assert!(
        l.starts_with("FAIL")
            && l.contains("installed on the server but not created in this database"),
        "{l}"
    );
    assert!(l.contains("replydesk --migrate"), "{l}");
    let l = line(&report, "migrations");
    assert!(l.starts_with("FAIL") && l.contains("not created"), "{l}");
    for name in ["indexes", "hnsw indexes", "outbox"] {
        assert!(line(&report, name).starts_with("SKIP"), "{report}");
    }
    assert!(line(&report, "connection").starts_with("PASS"), "{report}");
    assert!(
        line(&report, "notifications").starts_with("PASS"),
        "{report}"
    );
}

#[test]
fn an_unreachable_database_is_one_fail_line_and_no_password() {
    let out = doctor("postgres://u:hunter2@127.0.0.1:1/x", &[]);
    assert_failed(&out);
    let report = stdout(&out);
    assert_eq!(report.matches("FAIL").count(), 1, "{report}");
    let l = line(&report, "connection");
    assert!(
        l.contains("cannot reach PostgreSQL at u@127.0.0.1:1/x"),
        "{l}"
    );
    for name in [
        "pgvector",
        "migrations",
        "indexes",
        "outbox",
        "notifications",
    ] {
        assert!(
            line(&report, name).starts_with("SKIP"),
            "{name} is skipped: {report}"
        );
    }
    assert!(line(&report, "provider").starts_with("PASS"), "{report}");
    let all = format!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("hunter2"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
}

#[tokio::test]
async fn a_stale_outbox_and_a_model_without_hnsw_warn_but_pass() {
    let t = TestDb::new().await;
    let (conv, _) = t.conversation_with_draft("stale").await;
    let c = t.raw().await;
    c.execute(
        "INSERT INTO outbox (conversation_id, from_addr, to_addrs, subject, body, send_after)
         VALUES ($1, 'rep@example.com', '{stale@lead.example}', 'Re: Bike', 'Yes', now() - interval '12 minutes')",
        &[&conv],
    )
    .await
    .unwrap();
    c.batch_execute("INSERT INTO embedding_models (name, dimensions) VALUES ('tiny-3', 3)")
        .await
        .unwrap();
    let out = doctor(&t.url, &[]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail: {report}");
    let l = line(&report, "outbox");
    assert!(
        l.starts_with("WARN") && l.contains("1 queued, 1 due, oldest due for 12 min"),
        "{l}"
    );
    assert!(l.contains("replydesk worker"), "{l}");
    let l = line(&report, "hnsw indexes");
    assert!(l.starts_with("WARN") && l.contains("tiny-3"), "{l}");

    // An index on the plain vector serves none of the queries (they order
    // by the halfvec expression): still a warning.
    c.batch_execute(
        "CREATE INDEX message_embeddings_tiny_3_hnsw ON message_embeddings
           USING hnsw ((embedding::vector(3)) vector_cosine_ops) WHERE model = 'tiny-3'",
    )
    .await
    .unwrap();
    let out = doctor(&t.url, &[]);
    let l = line(&stdout(&out), "hnsw indexes").to_string();
    assert!(l.starts_with("WARN"), "{l}");

    // The index the fix names makes the warning go away.
    c.batch_execute(
        "CREATE INDEX message_embeddings_tiny_3_hnswh ON message_embeddings
           USING hnsw ((embedding::halfvec(3)) halfvec_cosine_ops) WHERE model = 'tiny-3'",
    )
    .await
    .unwrap();
    let out = doctor(&t.url, &[]);
    let l = line(&stdout(&out), "hnsw indexes").to_string();
    assert!(l.starts_with("PASS"), "{l}");
}

/// A one-shot HTTP server answering every request with `status`.
fn http_stub(status: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = r#"{"object":"list","data":[]}"#;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn the_provider_is_reached_when_configured() {
    let bad_db = "postgres://u@127.0.0.1:1/x";
    let ok = http_stub("200 OK");
    let out = doctor(
        bad_db,
        &[
            ("REPLYDESK_AI__PROVIDER", "openai"),
            ("REPLYDESK_AI__BASE_URL", &ok),
            ("REPLYDESK_AI__API_KEY", "sk-secret-key"),
        ],
    );
    let report = stdout(&out);
    let l = line(&report, "provider");
    assert!(
        l.starts_with("PASS") && l.contains("answered /v1/models"),
        "{l}"
    );

    let denied = http_stub("401 Unauthorized");
    let out = doctor(
        bad_db,
        &[
            ("REPLYDESK_AI__PROVIDER", "openai"),
            ("REPLYDESK_AI__BASE_URL", &denied),
            ("REPLYDESK_AI__API_KEY", "sk-secret-key"),
        ],
    );
    let l = line(&stdout(&out), "provider").to_string();
    assert!(
        l.starts_with("FAIL") && l.contains("refused the API key"),
        "{l}"
    );

    let out = doctor(
        bad_db,
        &[
            ("REPLYDESK_AI__PROVIDER", "openai"),
            ("REPLYDESK_AI__BASE_URL", "http://user:pw@127.0.0.1:1/v1"),
            ("REPLYDESK_AI__API_KEY", "sk-secret-key"),
        ],
    );
    let report = stdout(&out);
    let l = line(&report, "provider");
    assert!(
        l.starts_with("FAIL") && l.contains("cannot reach 127.0.0.1:1"),
        "{l}"
    );
    let all = format!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !all.contains("sk-secret-key") && !all.contains("pw@"),
        "{all}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_config_file_others_can_read_with_a_secret_warns() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("replydesk-doctor-cfg-{}", t.name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, "[ai]\napi_key = \"sk-secret-key\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path_str = path.display().to_string();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_replydesk"))
            .args(["--database-url", &t.url, "--config", &path_str, "doctor"])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run();
    let l = line(&stdout(&out), "config file").to_string();
    assert!(
        l.starts_with("WARN") && l.contains(&format!("chmod 600 {path_str}")),
        "{l}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run();
    let l = line(&stdout(&out), "config file").to_string();
    assert!(l.starts_with("PASS") && l.contains("mode 600"), "{l}");
    assert!(!stdout(&out).contains("sk-secret-key"));
    let _ = std::fs::remove_dir_all(&dir);
}
