//! Bad input on the command line: one clear line, the right exit code, no
//! panic, no Debug dump, no password.

mod common;

use std::process::{Command, Output};

fn replydesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", std::env::temp_dir().join("replydesk-cli-home"))
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("replydesk-cli-home"),
        )
        .output()
        .expect("run replydesk")
}

fn one_clean_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "exactly one line: {err}");
    assert!(err.starts_with("replydesk: "), "{err}");
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "Error {",
        "kind:",
        "Some(",
        "hunter2",
    ] {
        assert!(!err.contains(bad), "{bad:?} in {err}");
    }
    err
}

#[test]
fn unreachable_database() {
    let out = replydesk(&[
        "--database-url",
        "postgres://u:hunter2@127.0.0.1:1/x",
        "inbox",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = one_clean_line(&out);
    assert!(
        err.contains("cannot reach PostgreSQL at u@127.0.0.1:1/x"),
        "{err}"
    );
}

#[test]
fn malformed_url_is_a_usage_error() {
    let out = replydesk(&[
        "--database-url",
        "postgres://u:hunter2@host:notaport/x",
        "inbox",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = one_clean_line(&out);
    assert!(err.contains("database URL is not valid"), "{err}");
}

#[test]
fn wrong_user_and_missing_database() {
    let base = common::base_url();
    let out = replydesk(&[
        "--database-url",
        &common::url_for(&base, "no_such_db_here"),
        "inbox",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = one_clean_line(&out);
    assert!(
        err.contains("database \"no_such_db_here\" does not exist"),
        "{err}"
    );

    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let url = format!("{scheme}://nobody_like_this:hunter2@{host}");
    let out = replydesk(&["--database-url", &url, "inbox"]);
    assert_eq!(out.status.code(), Some(1));
    let err = one_clean_line(&out);
    assert!(
        err.contains("rejected the login of user \"nobody_like_this\""),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_rep() {
    let t = common::TestDb::new().await;
    let out = replydesk(&["--database-url", &t.url, "--rep", "ghost@example.com"]);
    assert_eq!(out.status.code(), Some(1));
    let err = one_clean_line(&out);
    assert!(err.contains("no rep with email ghost@example.com"), "{err}");
    let out = replydesk(&["--database-url", &t.url, "rep", "add", "not-an-email"]);
    assert_eq!(out.status.code(), Some(2));
    one_clean_line(&out);
}

#[test]
fn usage_errors_exit_2() {
    let out = replydesk(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = replydesk(&["seed-demo", "--conversations", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = replydesk(&["--no-tui"]);
    assert_eq!(out.status.code(), Some(2), "--no-tui needs --migrate");
}

#[tokio::test]
async fn seed_demo_is_deterministic_and_refuses_a_full_database() {
    let a = common::TestDb::new().await;
    let b = common::TestDb::new().await;
    for t in [&a, &b] {
        let out = replydesk(&[
            "--database-url",
            &t.url,
            "seed-demo",
            "--conversations",
            "300",
            "--seed",
            "9",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let fingerprint = "SELECT md5(string_agg(l.name || c.subject || c.status || m.body_text, '|' ORDER BY m.id))
                       FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN leads l ON l.id = c.lead_id";
    let fa: String = a
        .client()
        .await
        .query_one(fingerprint, &[])
        .await
        .unwrap()
        .get(0);
    let fb: String = b
        .client()
        .await
        .query_one(fingerprint, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(fa, fb, "same seed, same inbox");
    let counts: (i64, i64, i64) = {
        let c = a.client().await;
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM suggestions WHERE status = 'pending'),
                        (SELECT count(DISTINCT status) FROM conversations)",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(counts.0, 300);
    assert!(counts.1 > 50, "many drafts pending: {}", counts.1);
    assert!(
        counts.2 >= 3,
        "needs reply, waiting and archived all present"
    );
    let out = replydesk(&[
        "--database-url",
        &a.url,
        "seed-demo",
        "--conversations",
        "10",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_clean_line(&out).contains("already holds 300 conversations"));
    let out = replydesk(&["--database-url", &a.url, "seed-demo", "--if-empty"]);
    assert!(out.status.success());
}
