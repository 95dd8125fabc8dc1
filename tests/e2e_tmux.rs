//! End to end: the real binary in tmux against a real database. A rep opens
//! the inbox, approves one draft, edits and approves another, rejects a third
//! with a reason, approves and undoes a fourth, quits; then the database rows
//! and the terminal are checked.

mod common;

use common::TestDb;
use replydesk::db::{OutboxStatus, RejectionReason, SuggestionStatus};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    target: String,
}

impl Tmux {
    fn start(cmd: &str) -> Option<Tmux> {
        let socket = format!("replydesk-e2e-{}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-x",
                "120",
                "-y",
                "40",
                cmd,
            ])
            .status()
            .ok()?
            .success();
        ok.then(|| Tmux {
            socket,
            target: "e2e".into(),
        })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.target])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.target];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.target, "-l", text]);
    }

    /// Wait (bounded) until the screen shows every one of `needles`.
    fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("screen never showed {needles:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_four_conversations_with_the_keyboard() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!(
            "tmux is required for the end-to-end test: run ./scripts/setup.sh (it installs tmux)"
        );
    }
    let t = TestDb::new().await;
    t.rep("dana.cruz@example.com", "Dana Cruz").await;
    let mut drafts = Vec::new();
    for tag in ["d1", "d2", "d3", "d4"] {
        drafts.push(t.conversation_with_draft(tag).await);
        // Distinct activity times: d4 is the newest, so it is listed first.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let home = std::env::temp_dir().join(format!("replydesk-e2e-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let cmd = format!(
        "env -u NO_COLOR HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data DATABASE_URL='{url}' {bin} --rep dana.cruz@example.com; echo EXITED:$?; sleep 60",
        home = home.display(),
        url = t.url,
        bin = env!("CARGO_BIN_EXE_replydesk"),
    );
    let tm = Tmux::start(&cmd).expect("start tmux");

    // d4: approve as written.
    tm.wait_for(&[
        "needs reply (4)",
        "Lead d4 · Bike d4",
        "Draft · pending",
        "live",
    ]);
    tm.keys(&["a"]);
    tm.wait_for(&[
        "✓ approved — reply queued",
        "Lead d3 · Bike d3",
        "Draft · pending",
    ]);

    // d3: edit inline, then approve the edited text with Ctrl-S.
    tm.keys(&["e"]);
    tm.wait_for(&["Edit draft for Lead d3"]);
    tm.keys(&["End"]);
    tm.text(" Edited in tmux.");
    tm.keys(&["C-s"]);
    tm.wait_for(&[
        "edited reply queued",
        "Lead d2 · Bike d2",
        "Draft · pending",
    ]);

    // d2: reject, reason 2 (wrong tone).
    tm.keys(&["r"]);
    tm.wait_for(&["wrong tone"]);
    tm.keys(&["2"]);
    tm.wait_for(&["rejected"]);

    // d1: approve, then take it back inside the undo window.
    tm.keys(&["j"]);
    tm.wait_for(&["Lead d1 · Bike d1", "Draft · pending"]);
    tm.keys(&["a"]);
    tm.wait_for(&["✓ approved — reply queued"]);
    tm.keys(&["u"]);
    tm.wait_for(&["undone"]);

    tm.keys(&["q"]);
    let after = tm.wait_for(&["EXITED:0"]);
    assert_eq!(
        tm.tmux(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
            .trim(),
        "0",
        "the alternate screen was left"
    );
    assert!(
        !after.contains("needs reply ("),
        "the inbox is gone from the screen:\n{after}"
    );

    let c = t.client().await;
    let state = |sid: i64| {
        let c = &c;
        async move {
            let r = c
                .query_one(
                    "SELECT s.status, s.final_body, s.rejection_reason,
                            (SELECT array_agg(o.status::text ORDER BY o.id) FROM outbox o WHERE o.suggestion_id = s.id)
                     FROM suggestions s WHERE s.id = $1",
                    &[&sid],
                )
                .await
                .unwrap();
            (
                r.get::<_, SuggestionStatus>(0),
                r.get::<_, Option<String>>(1),
                r.get::<_, Option<RejectionReason>>(2),
                r.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
            )
        }
    };
    let (d1, d2, d3, d4) = (drafts[0].1, drafts[1].1, drafts[2].1, drafts[3].1);
    let all: Vec<String> = c
        .query(
            "SELECT s.id || ' ' || l.name || ' ' || s.status || ' ' || coalesce(s.final_body, '-')
             FROM suggestions s JOIN conversations c ON c.id = s.conversation_id JOIN leads l ON l.id = c.lead_id
             ORDER BY s.id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    eprintln!("suggestions after the session:\n{}", all.join("\n"));
    let s4 = state(d4).await;
    assert_eq!(
        (s4.0, s4.3.clone()),
        (SuggestionStatus::Approved, vec!["queued".to_string()])
    );
    let s3 = state(d3).await;
    assert_eq!(s3.0, SuggestionStatus::Edited);
    assert_eq!(
        s3.1.as_deref(),
        Some("Hi d3, yes it is still available. Edited in tmux.")
    );
    let s2 = state(d2).await;
    assert_eq!(
        (s2.0, s2.2),
        (SuggestionStatus::Rejected, Some(RejectionReason::WrongTone))
    );
    assert!(s2.3.is_empty(), "nothing queued for a rejected draft");
    let s1 = state(d1).await;
    assert_eq!(
        (s1.0, s1.3),
        (SuggestionStatus::Pending, vec!["cancelled".to_string()])
    );
    let queued: Vec<OutboxStatus> = c
        .query("SELECT status FROM outbox WHERE status = 'queued'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        queued.len(),
        2,
        "exactly the approved and the edited reply wait to be sent"
    );
    let _ = std::fs::remove_dir_all(&home);
}
