//! `replydesk worker` end to end: the real binary against a throwaway
//! database and a local Postmark-compatible HTTP server. Every wait is
//! bounded (a deadline, then the test fails with what it saw); nothing
//! asserts how fast anything was.

mod common;

use common::TestDb;
use replydesk::db;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "server-token-worker-test";
const WAIT: Duration = Duration::from_secs(60);

/// Answers like Postmark's `POST /email`, after an optional delay.
struct Postmark {
    delay: Duration,
    n: AtomicU64,
}

impl Respond for Postmark {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        let to = serde_json::from_slice::<serde_json::Value>(&req.body)
            .ok()
            .and_then(|v| v.get("To").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default();
        ResponseTemplate::new(200)
            .set_delay(self.delay)
            .set_body_json(serde_json::json!({
                "To": to,
                "SubmittedAt": "2026-11-26T10:00:00Z",
                "MessageID": format!("pm-{n:04}"),
                "ErrorCode": 0,
                "Message": "OK"
            }))
    }
}

async fn postmark(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/email"))
        .respond_with(Postmark {
            delay,
            n: AtomicU64::new(0),
        })
        .mount(&server)
        .await;
    server
}

async fn emails(server: &MockServer) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/email")
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

/// The worker binary, logging JSON lines to a file we can read while it runs.
struct Worker {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    /// A scratch folder removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "replydesk-worker-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ));
            std::fs::create_dir_all(&p).expect("scratch dir");
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn replydesk(db: &TestDb, server: &MockServer) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replydesk"));
    cmd.arg("--database-url")
        .arg(&db.url)
        .env_remove("DATABASE_URL")
        .env("HOME", std::env::temp_dir().join("replydesk-worker-home"))
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("replydesk-worker-home"),
        )
        .env("REPLYDESK_DELIVERY__TRANSPORT", "postmark")
        .env("REPLYDESK_DELIVERY__BASE_URL", server.uri())
        .env("REPLYDESK_DELIVERY__SERVER_TOKEN", TOKEN)
        .env("REPLYDESK_DELIVERY__BACKOFF_MS", "50")
        .env("REPLYDESK_WORKER__POLL_SECS", "1")
        .env("REPLYDESK_AI__PROVIDER", "offline")
        .env("REPLYDESK_LOG", "info");
    cmd
}

impl Worker {
    fn start(db: &TestDb, server: &MockServer) -> Worker {
        let dir = tempfile_dir::Dir::new("log");
        let log = dir.0.join("worker.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = replydesk(db, server)
            .args(["worker", "--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start the worker");
        Worker {
            child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status (bounded wait; killed if it hangs).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the worker did not stop after SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `check` until it returns Some, or fail with `what` and the log.
async fn wait_for<T, F, Fut>(what: &str, worker: &Worker, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; worker log:\n{}",
                worker.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_jsonl(dir: &Path, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let p = dir.join("inbound.jsonl");
    let mut f = std::fs::File::create(&p).expect("jsonl");
    for l in lines {
        writeln!(f, "{l}").expect("write jsonl");
    }
    p
}

async fn pending_draft(db: &TestDb, external_id: &str) -> Option<(i64, i64)> {
    let c = db.client().await;
    c.query_opt(
        "SELECT s.id, m.conversation_id FROM messages m
         JOIN suggestions s ON s.conversation_id = m.conversation_id AND s.status = 'pending'
         WHERE m.external_id = $1",
        &[&external_id],
    )
    .await
    .expect("pending draft query")
    .map(|r| (r.get(0), r.get(1)))
}

async fn embedded(db: &TestDb, external_id: &str) -> bool {
    db.count(
        "SELECT count(*) FROM message_embeddings e JOIN messages m ON m.id = e.message_id
         WHERE m.external_id = $1",
        &[&external_id],
    )
    .await
        == 1
}

#[tokio::test]
async fn an_imported_lead_gets_embedded_drafted_and_its_approved_reply_sent_once_with_threading() {
    let db = TestDb::new().await;
    let server = postmark(Duration::ZERO).await;
    let rep = db.rep("dana.cruz@team.example", "Dana Cruz").await;
    let mut worker = Worker::start(&db, &server);

    let scratch = tempfile_dir::Dir::new("import");
    let file = write_jsonl(
        &scratch.0,
        &[serde_json::json!({
            "external_id": "cl-bike-1",
            "message_id": "<bike-1@lead.example>",
            "from": "Maria Lopez <Maria@Lead.Example>",
            "to": "dana.cruz@team.example",
            "subject": "Is the road bike still available?",
            "sent_at": "2026-11-26T09:00:00Z",
            "body_text": "Hi, is the road bike still available? Could I see it on Saturday morning?"
        })],
    );
    let out = replydesk(&db, &server)
        .arg("import")
        .arg(&file)
        .output()
        .expect("run import");
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The record's own id and its Message-ID differ: threading headers use
    // the Message-ID.
    let external = "cl-bike-1";
    let message_id_of_lead = "<bike-1@lead.example>";
    wait_for("the new message's embedding", &worker, || async {
        embedded(&db, external).await.then_some(())
    })
    .await;
    let (suggestion, conversation) = wait_for("a pending draft", &worker, || async {
        pending_draft(&db, external).await
    })
    .await;
    assert!(emails(&server).await.is_empty(), "nothing approved yet");

    let mut client = db.raw().await;
    let decision = db::suggestions::approve(&mut client, suggestion, &rep, Duration::from_secs(1))
        .await
        .expect("approve");
    let _ = decision;
    let sent = wait_for("the approved reply at the server", &worker, || async {
        let e = emails(&server).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    // Give the worker more cycles to (wrongly) send it again.
    wait_for("the row marked sent", &worker, || async {
        let n = db
            .count(
                "SELECT count(*) FROM outbox WHERE conversation_id = $1 AND status = 'sent'
                   AND provider_message_id IS NOT NULL",
                &[&conversation],
            )
            .await;
        (n == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = emails(&server).await;
    assert_eq!(again.len(), 1, "exactly one email: {again:#?}");

    let email = &sent[0];
    assert_eq!(email["From"], "Dana Cruz <dana.cruz@team.example>");
    assert_eq!(email["To"], "maria@lead.example");
    assert_eq!(email["Subject"], "Re: Is the road bike still available?");
    let headers: Vec<(String, String)> = email["Headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    (
                        h["Name"].as_str().unwrap_or_default().to_string(),
                        h["Value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("In-Reply-To").as_deref(), Some(message_id_of_lead));
    assert!(
        header("References").is_some_and(|r| r.contains(message_id_of_lead)),
        "References names the lead's message: {headers:?}"
    );
    let message_id = header("Message-ID").expect("a Message-ID header");
    let stored: String = db
        .client()
        .await
        .query_one(
            "SELECT m.external_id FROM outbox o JOIN messages m ON m.id = o.message_id
             WHERE o.conversation_id = $1",
            &[&conversation],
        )
        .await
        .expect("outbound message")
        .get(0);
    assert_eq!(message_id, stored, "the sent Message-ID is the stored one");
    let req = server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("a request");
    assert_eq!(
        req.headers
            .get("X-Postmark-Server-Token")
            .and_then(|v| v.to_str().ok()),
        Some(TOKEN)
    );

    let status = worker.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let log = worker.log();
    assert!(!log.contains(TOKEN), "the token never reaches a log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "worker stopped"),
        "a final log line: {log}"
    );
}

#[tokio::test]
async fn work_that_arrives_without_a_notification_is_found_by_polling() {
    let db = TestDb::new().await;
    let server = postmark(Duration::ZERO).await;
    let worker = Worker::start(&db, &server);
    wait_for("the worker to listen", &worker, || async {
        worker
            .log()
            .contains("listening for notifications")
            .then_some(())
    })
    .await;
    // Replica role skips triggers: these rows send no NOTIFY.
    let c = db.raw().await;
    c.batch_execute(
        "BEGIN;
         SET LOCAL session_replication_role = replica;
         INSERT INTO leads (id, email, name, source) VALUES (900, 'quiet@lead.example', 'Quiet', 'web');
         INSERT INTO conversations (id, lead_id, subject, status, message_count, last_inbound_at)
           VALUES (900, 900, 'Quiet question', 'needs_reply', 1, now());
         INSERT INTO messages (conversation_id, seq, direction, from_addr, subject, body_text, source, external_id)
           VALUES (900, 1, 'inbound', 'quiet@lead.example', 'Quiet question',
                   'Do you deliver the sofa to the next town?', 'web', 'quiet-1');
         COMMIT;",
    )
    .await
    .expect("silent insert");
    wait_for("the silent message's embedding", &worker, || async {
        embedded(&db, "quiet-1").await.then_some(())
    })
    .await;
    wait_for("a draft for the silent conversation", &worker, || async {
        pending_draft(&db, "quiet-1").await
    })
    .await;
}

#[tokio::test]
async fn sigterm_during_a_send_finishes_and_records_it_then_exits_cleanly() {
    let db = TestDb::new().await;
    let server = postmark(Duration::from_millis(1500)).await;
    let rep = db.rep("sam.patel@team.example", "Sam Patel").await;
    let (conversation, suggestion) = db.conversation_with_draft("slow").await;
    let mut worker = Worker::start(&db, &server);
    wait_for("the worker to listen", &worker, || async {
        worker
            .log()
            .contains("listening for notifications")
            .then_some(())
    })
    .await;
    let mut client = db.raw().await;
    db::suggestions::approve(&mut client, suggestion, &rep, Duration::ZERO)
        .await
        .expect("approve");
    wait_for("the send to reach the server", &worker, || async {
        (!emails(&server).await.is_empty()).then_some(())
    })
    .await;
    let status = worker.terminate();
    assert!(status.success(), "clean exit: {status:?}");
    let row = db
        .client()
        .await
        .query_one(
            "SELECT status::text, provider_message_id FROM outbox WHERE conversation_id = $1",
            &[&conversation],
        )
        .await
        .expect("outbox row");
    let status: String = row.get(0);
    let provider: Option<String> = row.get(1);
    assert_eq!(
        status, "sent",
        "the send in flight was finished and recorded"
    );
    assert_eq!(provider.as_deref(), Some("pm-0001"));
    assert_eq!(emails(&server).await.len(), 1);
}

#[test]
fn a_worker_without_a_token_for_postmark_says_which_key_to_set() {
    let out = Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["worker", "--database-url", "postgres://127.0.0.1:1/none"])
        .env("HOME", std::env::temp_dir().join("replydesk-worker-home"))
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("replydesk-worker-home"),
        )
        .env("REPLYDESK_DELIVERY__TRANSPORT", "postmark")
        .env_remove("REPLYDESK_DELIVERY__SERVER_TOKEN")
        .output()
        .expect("run worker");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server_token"), "names the key: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
