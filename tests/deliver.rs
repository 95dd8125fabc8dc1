//! `replydesk deliver` (§4.8) against the real PostgreSQL and a local
//! Postmark-compatible server: never inside the undo window, exactly once
//! (two senders at once, a sender killed mid-send), retries, permanent
//! failures, undo once sending started, the file sink, bad settings.
//!
//! The server honours `Idempotency-Key` the way the spec asks a provider to:
//! the same key is one delivered email, answered with the same MessageID.
//! Waits are bounded polls; no test asserts how long anything took.

mod common;

use common::TestDb;
use replydesk::config::Secret;
use replydesk::db::{self, DbError, OutboxStatus, Rep};
use replydesk::deliver::{
    self, DeliverOptions, DeliverReport, FileTransport, PostmarkTransport, Transport,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "pm-test-token-5f2c9e";
const LONG_WINDOW: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------
// A Postmark-compatible server that dedupes on Idempotency-Key.

#[derive(Clone, Debug)]
enum Reply {
    Ok,
    /// Delivered at once, answered after the delay.
    SlowOk(Duration),
    Status(u16, Value),
}

#[derive(Clone, Debug)]
struct Seen {
    key: Option<String>,
    token: Option<String>,
    accept: Option<String>,
    content_type: Option<String>,
    body: Value,
}

#[derive(Default)]
struct PmState {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    requests: Vec<Seen>,
    /// Idempotency key → MessageID of the one delivered email.
    delivered: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Postmark(Arc<Mutex<PmState>>);

impl Postmark {
    /// Replies to the first requests in order, then `default` (OK if `None`).
    async fn start(script: Vec<Reply>, default: Option<Reply>) -> (MockServer, Postmark) {
        let pm = Postmark(Arc::new(Mutex::new(PmState {
            script: script.into(),
            default,
            ..PmState::default()
        })));
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/email"))
            .respond_with(pm.clone())
            .mount(&server)
            .await;
        (server, pm)
    }

    fn requests(&self) -> Vec<Seen> {
        self.0.lock().unwrap().requests.clone()
    }

    fn delivered(&self) -> HashMap<String, String> {
        self.0.lock().unwrap().delivered.clone()
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn accepted(id: &str, to: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "To": to, "SubmittedAt": "2025-01-01T00:00:00Z", "MessageID": id,
        "ErrorCode": 0, "Message": "OK"
    }))
}

impl Respond for Postmark {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let key = header(req, "idempotency-key");
        s.requests.push(Seen {
            key: key.clone(),
            token: header(req, "x-postmark-server-token"),
            accept: header(req, "accept"),
            content_type: header(req, "content-type"),
            body: body.clone(),
        });
        if let Some(id) = key.as_ref().and_then(|k| s.delivered.get(k)) {
            return accepted(id, &body["To"]);
        }
        let reply = s
            .script
            .pop_front()
            .or_else(|| s.default.clone())
            .unwrap_or(Reply::Ok);
        let deliver = |s: &mut PmState| {
            let id = format!("pm-{:08}", s.delivered.len() + 1);
            let k = key
                .clone()
                .unwrap_or_else(|| format!("no-key-{}", s.requests.len()));
            s.delivered.insert(k, id.clone());
            id
        };
        match reply {
            Reply::Ok => accepted(&deliver(&mut s), &body["To"]),
            Reply::SlowOk(delay) => accepted(&deliver(&mut s), &body["To"]).set_delay(delay),
            Reply::Status(code, body) => ResponseTemplate::new(code).set_body_json(body),
        }
    }
}

// ---------------------------------------------------------------------------
// Database and process helpers.

fn postmark(uri: &str) -> Arc<dyn Transport> {
    Arc::new(
        PostmarkTransport::new(uri, Secret::new(TOKEN), "outbound", Duration::from_secs(10))
            .expect("client"),
    )
}

fn opts() -> DeliverOptions {
    DeliverOptions {
        max_attempts: 3,
        backoff: Duration::from_millis(10),
        lease: Duration::from_secs(60),
        concurrency: 4,
        limit: None,
    }
}

fn no_shutdown() -> watch::Receiver<bool> {
    watch::channel(false).1
}

async fn deliver_now(
    t: &TestDb,
    transport: Arc<dyn Transport>,
    opts: &DeliverOptions,
) -> DeliverReport {
    deliver::deliver_due(&t.pool, transport, opts, no_shutdown())
        .await
        .expect("deliver")
}

async fn dana(t: &TestDb) -> Rep {
    t.rep("dana@example.com", "Dana Cruz").await
}

/// Approve a fresh draft with `window`; returns (conversation, outbox id).
async fn approved(t: &TestDb, rep: &Rep, tag: &str, window: Duration) -> (i64, i64) {
    let (conv, sid) = t.conversation_with_draft(tag).await;
    let mut c = t.client().await;
    let c: &mut tokio_postgres::Client = &mut c;
    let d = db::suggestions::approve(c, sid, rep, window)
        .await
        .expect("approve");
    (conv, d.queued.outbox_id)
}

/// `n` replies due now.
async fn due_replies(t: &TestDb, rep: &Rep, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for k in 0..n {
        ids.push(approved(t, rep, &format!("d{k}"), Duration::ZERO).await.1);
    }
    ids
}

#[derive(Debug)]
struct Row {
    status: OutboxStatus,
    attempts: i32,
    last_error: Option<String>,
    provider_message_id: Option<String>,
}

async fn row(t: &TestDb, id: i64) -> Row {
    let r = t
        .client()
        .await
        .query_one(
            "SELECT status, attempts, last_error, provider_message_id FROM outbox WHERE id = $1",
            &[&id],
        )
        .await
        .expect("outbox row");
    Row {
        status: r.get(0),
        attempts: r.get(1),
        last_error: r.get(2),
        provider_message_id: r.get(3),
    }
}

async fn events(t: &TestDb, kind: &str) -> i64 {
    t.count("SELECT count(*) FROM events WHERE kind = $1", &[&kind])
        .await
}

/// Poll `cond` every 20 ms until it holds; panic after `limit`.
async fn eventually<F: FnMut() -> bool>(what: &str, limit: Duration, mut cond: F) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A scratch folder for one test (config home, data home, outputs).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "replydesk-deliver-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `replydesk deliver` against the test database, with no config file and
/// no REPLYDESK_* from the outside; stdout and stderr go to files in `dir`.
fn spawn_deliver(url: &str, dir: &Path, label: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replydesk"));
    cmd.args(["--database-url", url, "deliver"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("{label}.out"))).expect("stdout file"))
        .stderr(std::fs::File::create(dir.join(format!("{label}.err"))).expect("stderr file"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("REPLYDESK_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start replydesk deliver")
}

fn postmark_env(uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("REPLYDESK_DELIVERY__TRANSPORT", "postmark".into()),
        ("REPLYDESK_DELIVERY__BASE_URL", uri.to_string()),
        ("REPLYDESK_DELIVERY__SERVER_TOKEN", TOKEN.into()),
        ("REPLYDESK_DELIVERY__BACKOFF_MS", "20".into()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Wait for the process to exit; kill it and panic after `limit`.
async fn exited(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("replydesk deliver did not exit in time");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// Kills a child process when the test ends, however it ends.
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn approved_reply_is_sent_once_after_the_undo_window() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let (conv, id) = approved(&t, &rep, "a", LONG_WINDOW).await;
    let (server, pm) = Postmark::start(vec![], None).await;

    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!(
        r,
        DeliverReport::default(),
        "nothing is due inside the window"
    );
    assert!(pm.requests().is_empty());
    let before = row(&t, id).await;
    assert_eq!((before.status, before.attempts), (OutboxStatus::Queued, 0));

    // The window closes (moved, not waited for).
    t.client()
        .await
        .execute(
            "UPDATE outbox SET send_after = now() - interval '1 millisecond' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let (listener, mut notes) = t.db.connect_dedicated().await.unwrap();
    listener.batch_execute("LISTEN replydesk").await.unwrap();

    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!((r.sent, r.failed, r.retried), (1, 0, 0));
    let seen = pm.requests();
    assert_eq!(seen.len(), 1, "exactly one request");
    let req = &seen[0];
    assert_eq!(req.token.as_deref(), Some(TOKEN));
    assert_eq!(req.accept.as_deref(), Some("application/json"));
    assert!(
        req.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(req.key.as_deref(), Some(&*format!("replydesk-outbox-{id}")));

    let m = t
        .client()
        .await
        .query_one(
            "SELECT m.external_id, m.in_reply_to, m.\"references\", m.body_text
             FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let message_id: String = m.get(0);
    let in_reply_to: Option<String> = m.get(1);
    let references: Vec<String> = m.get(2);
    let body_text: String = m.get(3);
    assert!(
        message_id.starts_with(&format!("<rd.{conv}.2.")) && message_id.ends_with("@example.com>")
    );
    assert_eq!(in_reply_to.as_deref(), Some("<a@lead.example>"));
    assert_eq!(references, vec!["<a@lead.example>".to_string()]);

    let b = &req.body;
    assert_eq!(b["From"], "Dana Cruz <dana@example.com>");
    assert_eq!(b["To"], "a@lead.example");
    assert_eq!(b["Subject"], "Re: Bike a");
    assert_eq!(b["TextBody"], body_text);
    assert_eq!(b["MessageStream"], "outbound");
    assert_eq!(b["Metadata"], json!({ "outbox_id": id.to_string() }));
    let headers: HashMap<String, String> = b["Headers"]
        .as_array()
        .expect("Headers")
        .iter()
        .map(|h| {
            (
                h["Name"].as_str().unwrap().to_string(),
                h["Value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(headers["Message-ID"], message_id);
    assert_eq!(headers["In-Reply-To"], "<a@lead.example>");
    assert_eq!(headers["References"], "<a@lead.example>");

    let after = row(&t, id).await;
    assert_eq!(after.status, OutboxStatus::Sent);
    assert_eq!(after.attempts, 1);
    assert_eq!(after.last_error, None);
    let delivered = pm.delivered();
    assert_eq!(
        after.provider_message_id.as_deref(),
        Some(delivered[&format!("replydesk-outbox-{id}")].as_str())
    );
    let in_order: bool = t
        .client()
        .await
        .query_one(
            "SELECT sent_at >= send_after AND locked_until IS NULL FROM outbox WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(in_order);
    assert_eq!(events(&t, "reply.sent").await, 1);

    // What the rep's screen shows.
    let c = t.client().await;
    let thread = db::messages::thread(&c, conv, None, 50).await.unwrap();
    let outbound = thread
        .messages
        .iter()
        .find(|m| m.direction == db::Direction::Outbound)
        .expect("outbound message");
    assert_eq!(outbound.delivery, Some(OutboxStatus::Sent));

    // And the screen is told.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut told = false;
    while !told && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), notes.recv()).await {
            Ok(Some(n)) => {
                let v: Value = serde_json::from_str(n.payload()).unwrap();
                told = v["table"] == "outbox" && v["conversations"] == json!([conv]);
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    assert!(told, "a NOTIFY replydesk names the conversation");

    // Nothing left to do: a second run sends nothing.
    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!(r, DeliverReport::default());
    assert_eq!(pm.requests().len(), 1);
}

#[tokio::test]
async fn a_short_undo_window_is_waited_out_not_skipped() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let (_conv, id) = approved(&t, &rep, "w", Duration::from_millis(700)).await;
    let (server, pm) = Postmark::start(vec![], None).await;
    let start = Instant::now();
    loop {
        let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
        if r.sent == 1 {
            break;
        }
        assert!(
            pm.requests().is_empty(),
            "no request while the row is not sent"
        );
        assert!(start.elapsed() < Duration::from_secs(20), "never sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pm.requests().len(), 1);
    // Judged by the database's clock, the one that decides the claim.
    let in_order: bool = t
        .client()
        .await
        .query_one(
            "SELECT status = 'sent' AND sent_at >= send_after FROM outbox WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(in_order, "sent only once the undo window had closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliver_processes_at_once_send_every_row_exactly_once() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 200).await;
    let (server, pm) = Postmark::start(vec![], None).await;
    let dir = scratch("race");
    let env = postmark_env(&server.uri());
    let env = as_refs(&env);
    let mut a = Reaper(Some(spawn_deliver(&t.url, &dir, "a", &[], &env)));
    let mut b = Reaper(Some(spawn_deliver(
        &t.url,
        &dir,
        "b",
        &["--log-format", "json"],
        &env,
    )));
    let sa = exited(a.0.as_mut().unwrap(), Duration::from_secs(120)).await;
    let sb = exited(b.0.as_mut().unwrap(), Duration::from_secs(120)).await;
    assert!(sa.success(), "a: {}", read(&dir, "a.err"));
    assert!(sb.success(), "b: {}", read(&dir, "b.err"));

    let seen = pm.requests();
    assert_eq!(seen.len(), 200, "one request per row, none twice");
    let keys: HashSet<String> = seen.iter().filter_map(|s| s.key.clone()).collect();
    assert_eq!(keys.len(), 200, "no idempotency key twice");
    let expected: HashSet<String> = ids
        .iter()
        .map(|id| format!("replydesk-outbox-{id}"))
        .collect();
    assert_eq!(keys, expected);
    assert_eq!(pm.delivered().len(), 200);
    let sent = t
        .count(
            "SELECT count(*) FROM outbox WHERE status = 'sent' AND attempts = 1",
            &[],
        )
        .await;
    assert_eq!(sent, 200);
    assert_eq!(events(&t, "reply.sent").await, 200);

    // Each printed its share; together, all of them.
    let summary = |s: &str| -> u64 {
        let line = s.lines().last().unwrap_or_default();
        assert!(
            line.starts_with("sent ") && line.ends_with(", failed 0, retried 0"),
            "{line}"
        );
        line["sent ".len()..line.find(',').unwrap()]
            .parse()
            .unwrap()
    };
    assert_eq!(
        summary(&read(&dir, "a.out")) + summary(&read(&dir, "b.out")),
        200
    );

    // --log-format json: one JSON object per line, one per send.
    let logged: Vec<Value> = read(&dir, "b.err")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let sends: Vec<&Value> = logged.iter().filter(|v| v["status"] == "sent").collect();
    assert_eq!(sends.len() as u64, summary(&read(&dir, "b.out")));
    for v in sends {
        assert!(v["outbox_id"].is_i64() && v["conversation_id"].is_i64());
        assert_eq!(v["attempt"], 1);
        assert!(
            v["provider_message_id"]
                .as_str()
                .is_some_and(|p| p.starts_with("pm-"))
        );
    }
    assert!(!read(&dir, "a.err").contains(TOKEN) && !read(&dir, "b.err").contains(TOKEN));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_server_error_then_success_is_one_email_and_two_attempts() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let (server, pm) = Postmark::start(
        vec![Reply::Status(
            500,
            json!({"ErrorCode": 500, "Message": "Internal"}),
        )],
        None,
    )
    .await;
    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!((r.sent, r.failed, r.retried), (1, 0, 1));
    let seen = pm.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].key, seen[1].key, "the retry carries the same key");
    assert_eq!(pm.delivered().len(), 1, "one email delivered");
    let after = row(&t, ids[0]).await;
    assert_eq!(after.status, OutboxStatus::Sent);
    assert_eq!(after.attempts, 2);
    assert_eq!(after.last_error, None, "a sent row keeps no error");
    assert_eq!(after.provider_message_id.as_deref(), Some("pm-00000001"));
}

#[tokio::test]
async fn a_postmark_422_fails_at_once_with_the_reason() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let (server, pm) = Postmark::start(
        vec![Reply::Status(
            422,
            json!({"ErrorCode": 300, "Message": "Invalid email request"}),
        )],
        None,
    )
    .await;
    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!((r.sent, r.failed, r.retried), (0, 1, 0));
    assert_eq!(pm.requests().len(), 1, "not retried");
    let after = row(&t, ids[0]).await;
    assert_eq!(after.status, OutboxStatus::Failed);
    assert_eq!(after.attempts, 1);
    let err = after.last_error.unwrap();
    assert!(
        err.contains("300") && err.contains("Invalid email request"),
        "{err}"
    );
    assert_eq!(events(&t, "reply.failed").await, 1);
    let c = t.client().await;
    let conv: i64 = c
        .query_one(
            "SELECT conversation_id FROM outbox WHERE id = $1",
            &[&ids[0]],
        )
        .await
        .unwrap()
        .get(0);
    let thread = db::messages::thread(&c, conv, None, 50).await.unwrap();
    assert!(
        thread
            .messages
            .iter()
            .any(|m| m.delivery == Some(OutboxStatus::Failed))
    );
}

#[tokio::test]
async fn a_refused_token_fails_at_once_and_is_never_echoed() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let (server, pm) = Postmark::start(
        vec![Reply::Status(
            401,
            json!({"ErrorCode": 10, "Message": format!("Bad or missing Server API token: {TOKEN}")}),
        )],
        None,
    )
    .await;
    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!((r.sent, r.failed), (0, 1));
    assert_eq!(pm.requests().len(), 1);
    let err = row(&t, ids[0]).await.last_error.unwrap();
    assert!(err.contains("401") && err.contains("server_token"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

#[tokio::test]
async fn server_errors_every_time_fail_after_max_attempts() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let (server, pm) = Postmark::start(
        vec![],
        Some(Reply::Status(
            503,
            json!({"Message": "Service Unavailable"}),
        )),
    )
    .await;
    let r = deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert_eq!((r.sent, r.failed, r.retried), (0, 1, 2));
    assert_eq!(pm.requests().len(), 3, "max_attempts sends");
    let after = row(&t, ids[0]).await;
    assert_eq!(after.status, OutboxStatus::Failed);
    assert_eq!(after.attempts, 3);
    let err = after.last_error.unwrap();
    assert!(
        err.contains("503") && err.contains("after 3 attempts"),
        "{err}"
    );
    assert_eq!(events(&t, "reply.failed").await, 1);
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = DeliverOptions {
        max_attempts: 2,
        ..opts()
    };
    let r = deliver_now(&t, postmark(&format!("http://127.0.0.1:{port}")), &o).await;
    assert_eq!((r.sent, r.failed, r.retried), (0, 1, 1));
    let after = row(&t, ids[0]).await;
    assert_eq!((after.status, after.attempts), (OutboxStatus::Failed, 2));
    assert!(after.last_error.unwrap().contains("cannot connect"));
}

#[tokio::test]
async fn limit_caps_the_rows_sent() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    due_replies(&t, &rep, 5).await;
    let (server, pm) = Postmark::start(vec![], None).await;
    let o = DeliverOptions {
        limit: Some(3),
        ..opts()
    };
    let r = deliver_now(&t, postmark(&server.uri()), &o).await;
    assert_eq!(r.sent, 3);
    assert_eq!(pm.requests().len(), 3);
    assert_eq!(
        t.count("SELECT count(*) FROM outbox WHERE status = 'queued'", &[])
            .await,
        2
    );
}

#[tokio::test]
async fn undo_works_inside_the_window_and_is_refused_once_sending_started() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let (server, pm) = Postmark::start(vec![], None).await;

    // Inside the window, before any claim: undone, and never sent.
    let (_c1, first) = approved(&t, &rep, "u1", LONG_WINDOW).await;
    deliver_now(&t, postmark(&server.uri()), &opts()).await;
    let mut c = t.raw().await;
    db::suggestions::undo(&mut c, first, &rep)
        .await
        .expect("undo inside the window");
    assert_eq!(row(&t, first).await.status, OutboxStatus::Cancelled);

    // Claimed (sending): refused.
    let (_c2, second) = approved(&t, &rep, "u2", Duration::ZERO).await;
    let claimed = db::outbox::claim(&c, Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second]
    );
    let err = db::suggestions::undo(&mut c, second, &rep)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::UndoTooLate(why) if why == "sending has started"),
        "{err}"
    );

    // Attempted, then put back in the queue with its send_after ahead
    // (a sender stopping between retries): still refused.
    db::outbox::release(&c, second, LONG_WINDOW).await.unwrap();
    let back = row(&t, second).await;
    assert_eq!((back.status, back.attempts), (OutboxStatus::Queued, 1));
    let err = db::suggestions::undo(&mut c, second, &rep)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::UndoTooLate(why) if why == "sending has started"),
        "{err}"
    );
    assert_eq!(row(&t, second).await.status, OutboxStatus::Queued);

    deliver_now(&t, postmark(&server.uri()), &opts()).await;
    assert!(pm.requests().is_empty(), "neither was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_waiting_to_retry_puts_the_row_back() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let (server, pm) = Postmark::start(
        vec![],
        Some(Reply::Status(502, json!({"Message": "Bad Gateway"}))),
    )
    .await;
    let (stop, shutdown) = watch::channel(false);
    let o = DeliverOptions {
        backoff: Duration::from_secs(50),
        ..opts()
    };
    let pool = t.pool.clone();
    let transport = postmark(&server.uri());
    let run =
        tokio::spawn(async move { deliver::deliver_due(&pool, transport, &o, shutdown).await });
    let start = Instant::now();
    loop {
        if row(&t, ids[0]).await.last_error.is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no failed send");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("stops without waiting out the backoff")
        .unwrap()
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 0));
    assert_eq!(pm.requests().len(), 1);
    let back = row(&t, ids[0]).await;
    assert_eq!((back.status, back.attempts), (OutboxStatus::Queued, 1));
    assert!(back.last_error.unwrap().contains("502"));
    let later: bool = t
        .client()
        .await
        .query_one(
            "SELECT send_after > now() AND locked_until IS NULL FROM outbox WHERE id = $1",
            &[&ids[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert!(later, "due again after the backoff");
    let mut c = t.raw().await;
    assert!(db::suggestions::undo(&mut c, ids[0], &rep).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_send_is_taken_over_after_its_lease_with_the_same_key() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 1).await;
    let id = ids[0];
    // The first request is delivered but answered only after 30 s.
    let (server, pm) = Postmark::start(vec![Reply::SlowOk(Duration::from_secs(30))], None).await;
    let dir = scratch("kill");
    let mut env = postmark_env(&server.uri());
    env.push(("REPLYDESK_DELIVERY__LEASE_SECS", "120".into()));
    let mut first = Reaper(Some(spawn_deliver(
        &t.url,
        &dir,
        "first",
        &[],
        &as_refs(&env),
    )));
    eventually(
        "the server to get the request",
        Duration::from_secs(30),
        || !pm.requests().is_empty(),
    )
    .await;
    let child = first.0.as_mut().unwrap();
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let stuck = row(&t, id).await;
    assert_eq!((stuck.status, stuck.attempts), (OutboxStatus::Sending, 1));

    // Before the lease runs out, another sender leaves it alone.
    let mut second = Reaper(Some(spawn_deliver(
        &t.url,
        &dir,
        "second",
        &[],
        &as_refs(&env),
    )));
    let s = exited(second.0.as_mut().unwrap(), Duration::from_secs(60)).await;
    assert!(s.success(), "{}", read(&dir, "second.err"));
    assert_eq!(
        read(&dir, "second.out").trim(),
        "sent 0, failed 0, retried 0"
    );
    assert_eq!(pm.requests().len(), 1);
    assert_eq!(row(&t, id).await.status, OutboxStatus::Sending);

    // The lease runs out (moved into the past rather than waited for).
    t.client()
        .await
        .execute(
            "UPDATE outbox SET locked_until = now() - interval '1 second' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    env.retain(|(k, _)| *k != "REPLYDESK_DELIVERY__LEASE_SECS");
    env.push(("REPLYDESK_DELIVERY__LEASE_SECS", "1".into()));
    let mut third = Reaper(Some(spawn_deliver(
        &t.url,
        &dir,
        "third",
        &[],
        &as_refs(&env),
    )));
    let s = exited(third.0.as_mut().unwrap(), Duration::from_secs(60)).await;
    assert!(s.success(), "{}", read(&dir, "third.err"));
    assert_eq!(
        read(&dir, "third.out").trim(),
        "sent 1, failed 0, retried 0"
    );

    let seen = pm.requests();
    assert_eq!(seen.len(), 2, "sent again");
    assert_eq!(seen[0].key, seen[1].key, "with the same idempotency key");
    assert_eq!(seen[0].body, seen[1].body, "and the same email");
    let delivered = pm.delivered();
    assert_eq!(delivered.len(), 1, "which the server delivered once");
    let after = row(&t, id).await;
    assert_eq!(after.status, OutboxStatus::Sent);
    assert_eq!(after.attempts, 2);
    assert_eq!(
        after.provider_message_id.as_deref(),
        Some(delivered[&format!("replydesk-outbox-{id}")].as_str())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_sends_in_flight_and_claims_no_more() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    due_replies(&t, &rep, 40).await;
    let (server, pm) =
        Postmark::start(vec![], Some(Reply::SlowOk(Duration::from_millis(1500)))).await;
    let dir = scratch("term");
    let mut env = postmark_env(&server.uri());
    env.push(("REPLYDESK_DELIVERY__CONCURRENCY", "2".into()));
    let mut proc = Reaper(Some(spawn_deliver(&t.url, &dir, "p", &[], &as_refs(&env))));
    eventually("a send in flight", Duration::from_secs(30), || {
        !pm.requests().is_empty()
    })
    .await;
    let pid = proc.0.as_ref().unwrap().id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let s = exited(proc.0.as_mut().unwrap(), Duration::from_secs(60)).await;
    assert!(s.success(), "exit 0 after SIGTERM: {}", read(&dir, "p.err"));

    let delivered = pm.delivered().len() as i64;
    assert!(delivered >= 1);
    let sent = t
        .count("SELECT count(*) FROM outbox WHERE status = 'sent'", &[])
        .await;
    assert_eq!(
        sent, delivered,
        "every send in flight was finished and marked"
    );
    assert_eq!(pm.requests().len() as i64, delivered);
    let sending = t
        .count("SELECT count(*) FROM outbox WHERE status = 'sending'", &[])
        .await;
    assert_eq!(sending, 0, "nothing left half-done");
    let untouched = t
        .count(
            "SELECT count(*) FROM outbox WHERE status = 'queued' AND attempts = 0",
            &[],
        )
        .await;
    assert_eq!(untouched + sent, 40);
    assert!(untouched > 0, "claiming stopped");
    assert_eq!(
        read(&dir, "p.out").trim(),
        format!("sent {sent}, failed 0, retried 0")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_file_sink_writes_one_eml_even_when_the_mark_was_lost() {
    let t = TestDb::new().await;
    let rep = t.rep("zoe@example.com", "Zoë Müller").await;
    let ids = due_replies(&t, &rep, 1).await;
    let id = ids[0];
    let dir = scratch("eml");
    let sink = Arc::new(FileTransport::new(dir.join("outbox")).unwrap());
    let r = deliver_now(&t, sink.clone(), &opts()).await;
    assert_eq!(r.sent, 1);
    let file = dir.join("outbox").join(format!("{id}.eml"));
    let raw = std::fs::read(&file).expect("the .eml");
    let after = row(&t, id).await;
    assert_eq!(after.status, OutboxStatus::Sent);
    assert_eq!(after.provider_message_id, Some(format!("{id}.eml")));

    let m = t
        .client()
        .await
        .query_one(
            "SELECT m.external_id, m.body_text FROM outbox o JOIN messages m ON m.id = o.message_id
             WHERE o.id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let message_id: String = m.get(0);
    let body: String = m.get(1);
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parses");
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Zoë Müller"));
    assert_eq!(from.address(), Some("zoe@example.com"));
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("d0@lead.example")
    );
    assert_eq!(parsed.subject(), Some("Re: Bike d0"));
    assert_eq!(
        parsed.message_id(),
        Some(message_id.trim_matches(|c| c == '<' || c == '>'))
    );
    assert_eq!(
        parsed.in_reply_to().as_text_list().unwrap_or_default(),
        vec!["d0@lead.example"]
    );
    assert_eq!(
        parsed.references().as_text_list().unwrap_or_default(),
        vec!["d0@lead.example"]
    );
    assert_eq!(parsed.body_text(0).unwrap().trim_end(), body.trim_end());

    // A crash between writing and marking: the row is `sending` again with
    // its lease run out. The re-send finds the file and writes nothing new.
    t.client()
        .await
        .execute(
            "UPDATE outbox SET status = 'sending', locked_until = now() - interval '1 second',
                    sent_at = NULL, provider_message_id = NULL
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let r = deliver_now(&t, sink, &opts()).await;
    assert_eq!(r.sent, 1);
    let files: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::read(&file).unwrap(), raw, "untouched");
    let again = row(&t, id).await;
    assert_eq!((again.status, again.attempts), (OutboxStatus::Sent, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn deliver_with_the_file_transport_from_the_command_line() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    let ids = due_replies(&t, &rep, 3).await;
    let dir = scratch("cli-file");
    let out = dir.join("mail");
    let out_s = out.display().to_string();
    let env = [
        ("REPLYDESK_DELIVERY__TRANSPORT", "file"),
        ("REPLYDESK_DELIVERY__DIR", out_s.as_str()),
    ];
    let mut p = Reaper(Some(spawn_deliver(
        &t.url,
        &dir,
        "p",
        &["--limit", "2"],
        &env,
    )));
    let s = exited(p.0.as_mut().unwrap(), Duration::from_secs(60)).await;
    assert!(s.success(), "{}", read(&dir, "p.err"));
    assert_eq!(read(&dir, "p.out").trim(), "sent 2, failed 0, retried 0");
    assert!(out.join(format!("{}.eml", ids[0])).exists());
    assert!(out.join(format!("{}.eml", ids[1])).exists());
    assert!(!out.join(format!("{}.eml", ids[2])).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_row_makes_deliver_exit_1() {
    let t = TestDb::new().await;
    let rep = dana(&t).await;
    due_replies(&t, &rep, 1).await;
    let (server, _pm) = Postmark::start(
        vec![Reply::Status(
            422,
            json!({"ErrorCode": 406, "Message": "You tried to send to a recipient that has been marked as inactive."}),
        )],
        None,
    )
    .await;
    let dir = scratch("exit1");
    let env = postmark_env(&server.uri());
    let mut p = Reaper(Some(spawn_deliver(&t.url, &dir, "p", &[], &as_refs(&env))));
    let s = exited(p.0.as_mut().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(s.code(), Some(1));
    assert_eq!(read(&dir, "p.out").trim(), "sent 0, failed 1, retried 0");
    let err = read(&dir, "p.err");
    assert!(err.contains("inactive"), "the log says why: {err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("replydesk: 1 reply could not be delivered")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_delivery_settings_are_one_line_exit_2_and_never_show_the_token() {
    let t = TestDb::new().await;
    let dir = scratch("bad");
    let secret = "tok-do-not-print-8841";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("REPLYDESK_DELIVERY__TRANSPORT", "postmark")],
            "REPLYDESK_DELIVERY__SERVER_TOKEN",
        ),
        (
            vec![
                ("REPLYDESK_DELIVERY__TRANSPORT", "smtp"),
                ("REPLYDESK_DELIVERY__SERVER_TOKEN", secret),
            ],
            "delivery.transport",
        ),
        (
            vec![
                ("REPLYDESK_DELIVERY__TRANSPORT", "postmark"),
                ("REPLYDESK_DELIVERY__SERVER_TOKEN", secret),
                ("REPLYDESK_DELIVERY__BASE_URL", "ftp://mail.example"),
            ],
            "delivery.base_url",
        ),
    ];
    for (k, (env, names)) in cases.iter().enumerate() {
        let label = format!("c{k}");
        let mut p = Reaper(Some(spawn_deliver(&t.url, &dir, &label, &[], env)));
        let s = exited(p.0.as_mut().unwrap(), Duration::from_secs(60)).await;
        let out = read(&dir, &format!("{label}.out"));
        let err = read(&dir, &format!("{label}.err"));
        assert_eq!(s.code(), Some(2), "case {k}: {err}");
        assert_eq!(err.lines().count(), 1, "case {k}: one line: {err}");
        assert!(
            err.starts_with("replydesk: ") && err.contains(names),
            "case {k}: {err}"
        );
        assert!(out.is_empty(), "case {k}: {out}");
        assert!(!err.contains(secret) && !out.contains(secret), "case {k}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
