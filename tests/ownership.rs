//! Ownership (claim, scope "mine") and row-level security, against the real
//! PostgreSQL. The tests run as a superuser, which RLS never filters, so the
//! RLS tests log in as throwaway non-superuser roles made for the test (and
//! dropped after it: roles belong to the whole cluster).

mod common;

use common::TestDb;
use replydesk::db::conversations::{self, InboxQuery, Page, StatusFilter};
use replydesk::db::pool::{DbConfig, DbOptions};
use replydesk::db::suggestions;
use replydesk::db::{self, DbError, RejectionReason, Rep, RepRole};
use std::collections::HashSet;
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(600);

async fn set_owner(t: &TestDb, conv: i64, owner: Option<i64>) {
    t.client()
        .await
        .execute(
            "UPDATE conversations SET owner_rep_id = $2 WHERE id = $1",
            &[&conv, &owner],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claim_race_has_exactly_one_winner_every_round() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let sam = t.rep("sam@example.com", "Sam Patel").await;
    for round in 0..100 {
        let (conv, _) = t.conversation_with_draft(&format!("c{round}")).await;
        let mut tasks = Vec::new();
        for rep in [dana.clone(), sam.clone()] {
            let pool = t.pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = pool.get().await.unwrap();
                let r = conversations::claim(&mut c, conv, &rep).await;
                (rep, r)
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (rep, Ok(())) => winners.push(rep),
                (rep, Err(DbError::AlreadyClaimed { id, by })) => {
                    assert_eq!(id, conv);
                    losers.push((rep, by));
                }
                (_, Err(e)) => panic!("round {round}: unexpected {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        let (loser, by) = &losers[0];
        assert_ne!(loser.id, winners[0].id);
        assert!(
            by.contains(&winners[0].display_name),
            "the loser is told who won: {by}"
        );
        let c = t.client().await;
        let row = c
            .query_one(
                "SELECT c.owner_rep_id, l.owner_rep_id,
                        (SELECT count(*) FROM events e WHERE e.conversation_id = c.id
                           AND e.kind = 'conversation.claimed')
                 FROM conversations c JOIN leads l ON l.id = c.lead_id WHERE c.id = $1",
                &[&conv],
            )
            .await
            .unwrap();
        let (owner, lead_owner, events): (Option<i64>, Option<i64>, i64) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(owner, Some(winners[0].id));
        assert_eq!(lead_owner, Some(winners[0].id), "the lead goes with it");
        assert_eq!(events, 1, "one event for the one claim");
    }
}

#[tokio::test]
async fn claim_names_the_owner_keeps_an_owned_lead_and_is_idempotent() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let sam = t.rep("sam@example.com", "Sam Patel").await;
    let (conv, _) = t.conversation_with_draft("x").await;
    let c = t.client().await;
    c.execute(
        "UPDATE leads SET owner_rep_id = $1 WHERE id = (SELECT lead_id FROM conversations WHERE id = $2)",
        &[&sam.id, &conv],
    )
    .await
    .unwrap();
    let mut raw = t.raw().await;
    // LISTEN on another connection: the claim is announced.
    let (listener, mut notes) = t.db.connect_dedicated().await.unwrap();
    listener.batch_execute("LISTEN replydesk").await.unwrap();
    conversations::claim(&mut raw, conv, &dana).await.unwrap();
    let note = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .expect("a notification")
        .expect("channel open");
    assert!(
        note.payload().contains(&conv.to_string()),
        "{}",
        note.payload()
    );
    let lead_owner: Option<i64> = c
        .query_one(
            "SELECT l.owner_rep_id FROM leads l JOIN conversations c ON c.lead_id = l.id WHERE c.id = $1",
            &[&conv],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(lead_owner, Some(sam.id), "an owned lead keeps its owner");
    conversations::claim(&mut raw, conv, &dana)
        .await
        .expect("claiming your own conversation again is fine");
    let err = conversations::claim(&mut raw, conv, &sam)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::AlreadyClaimed { .. }), "{err}");
    let line = err.to_string();
    assert!(line.contains("Dana Cruz <dana@example.com>"), "{line}");
    assert_eq!(line.lines().count(), 1);
    let err = conversations::claim(&mut raw, 999_999, &sam)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn scope_mine_pages_own_and_unassigned_newest_first_without_gaps() {
    let t = TestDb::new().await;
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let sam = t.rep("sam@example.com", "Sam Patel").await;
    let mut expected = Vec::new();
    for k in 0..60 {
        let (conv, _) = t.conversation_with_draft(&format!("m{k}")).await;
        let owner = match k % 3 {
            0 => Some(dana.id),
            1 => Some(sam.id),
            _ => None,
        };
        set_owner(&t, conv, owner).await;
        if owner != Some(sam.id) {
            expected.push(conv);
        }
    }
    // Equal timestamps on some rows: the keyset must break ties by id.
    let c = t.client().await;
    c.execute(
        "UPDATE conversations SET last_message_at = now() - (id % 7) * interval '1 minute'",
        &[],
    )
    .await
    .unwrap();
    let q = InboxQuery {
        filter: StatusFilter::NeedsReply,
        owner: Some(dana.id),
        unassigned: true,
    };
    let mut seen = Vec::new();
    let mut page = Page::First;
    loop {
        let rows = conversations::page(&c, &q, page, 7).await.unwrap();
        assert!(rows.len() <= 7);
        assert!(
            rows.iter()
                .all(|r| r.owner_rep_id.is_none() || r.owner_rep_id == Some(dana.id))
        );
        let Some(last) = rows.last() else { break };
        page = Page::After(last.cursor());
        seen.extend(rows.iter().map(|r| (r.last_message_at, r.id)));
    }
    let ids: HashSet<i64> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), seen.len(), "no row twice");
    assert_eq!(ids, expected.iter().copied().collect::<HashSet<_>>());
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Backwards from the oldest gives the same rows.
    let last = conversations::page(&c, &q, Page::Last, 7).await.unwrap();
    assert_eq!(
        last.iter().map(|r| r.id).collect::<Vec<_>>(),
        seen[seen.len() - last.len()..]
            .iter()
            .map(|(_, id)| *id)
            .collect::<Vec<_>>()
    );
    let counts = conversations::counts_for(&**c, Some(dana.id), true)
        .await
        .unwrap();
    assert_eq!(counts.needs_reply, expected.len() as i64);
    let only = conversations::counts_for(&**c, Some(dana.id), false)
        .await
        .unwrap();
    assert_eq!(only.needs_reply, 20);
}

/// Throwaway login roles for one test, dropped when it ends (even on panic).
struct Logins {
    names: Vec<String>,
}

impl Drop for Logins {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let url = common::url_for(&common::base_url(), "postgres");
                let Ok(cfg) = DbConfig::from_url(&url, &DbOptions::default()) else {
                    return;
                };
                let Ok((c, _n)) = cfg.connect_dedicated().await else {
                    return;
                };
                for n in names {
                    // End its sessions first: a session's temporary tables
                    // would keep the role from being dropped.
                    let _ = c
                        .execute(
                            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1",
                            &[&n],
                        )
                        .await;
                    let _ = c
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{n}\""))
                        .await;
                }
            });
        })
        .join();
    }
}

/// `url` logged in as `role` instead of its user.
fn url_as(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}@{rest}")
}

/// A pool logged in as `role`.
fn pool_as(t: &TestDb, role: &str) -> (DbConfig, db::Pool) {
    let cfg = DbConfig::from_url(&url_as(&t.url, role), &DbOptions::default()).unwrap();
    let pool = cfg.build_pool().unwrap();
    (cfg, pool)
}

struct World {
    dana: Rep,
    sam: Rep,
    mia: Rep,
    /// (conversation, pending suggestion) owned by dana, by sam, by nobody.
    dana_conv: (i64, i64),
    sam_conv: (i64, i64),
    open_conv: (i64, i64),
}

async fn world(t: &TestDb) -> World {
    let dana = t.rep("dana@example.com", "Dana Cruz").await;
    let sam = t.rep("sam@example.com", "Sam Patel").await;
    let mia = {
        let c = t.client().await;
        db::reps::upsert(&**c, "mia@example.com", "Mia Chen", RepRole::Manager)
            .await
            .unwrap()
    };
    let dana_conv = t.conversation_with_draft("dana").await;
    let sam_conv = t.conversation_with_draft("sam").await;
    let open_conv = t.conversation_with_draft("open").await;
    set_owner(t, dana_conv.0, Some(dana.id)).await;
    set_owner(t, sam_conv.0, Some(sam.id)).await;
    t.client()
        .await
        .execute(
            "UPDATE leads SET owner_rep_id = $1 WHERE email = 'sam@lead.example'",
            &[&sam.id],
        )
        .await
        .unwrap();
    World {
        dana,
        sam,
        mia,
        dana_conv,
        sam_conv,
        open_conv,
    }
}

fn team(filter: StatusFilter) -> InboxQuery {
    InboxQuery {
        filter,
        owner: None,
        unassigned: false,
    }
}

async fn visible_ids(c: &tokio_postgres::Client) -> HashSet<i64> {
    conversations::page(c, &team(StatusFilter::All), Page::First, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn with_rls_on_a_rep_cannot_read_change_or_decide_another_reps_conversation() {
    let t = TestDb::new().await;
    let w = world(&t).await;
    let roles = Logins {
        names: ["dana", "sam", "mia", "stats"]
            .iter()
            .map(|n| format!("{}_{n}", t.name))
            .collect(),
    };
    let mut admin = t.raw().await;
    for (rep, role) in [
        (&w.dana, &roles.names[0]),
        (&w.sam, &roles.names[1]),
        (&w.mia, &roles.names[2]),
    ] {
        let g = db::rls::grant(&mut admin, &rep.email, role).await.unwrap();
        assert!(g.created);
    }
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{0}\" LOGIN IN ROLE replydesk_analytics",
            roles.names[3]
        ))
        .await
        .unwrap();
    let all: HashSet<i64> = [w.dana_conv.0, w.sam_conv.0, w.open_conv.0].into();

    // Off: the same queries, as dana's login, see everything.
    let (_cfg, dana_pool) = pool_as(&t, &roles.names[0]);
    let dana_c = dana_pool.get().await.unwrap();
    assert!(!db::rls::is_on(&**dana_c).await.unwrap());
    assert_eq!(visible_ids(&dana_c).await, all);
    assert!(
        db::messages::thread(&dana_c, w.sam_conv.0, None, 50)
            .await
            .is_ok()
    );

    db::rls::enable(&mut admin).await.unwrap();
    assert!(db::rls::is_on(&admin).await.unwrap());
    let status = db::rls::status(&admin).await.unwrap();
    assert_eq!(status.len(), db::rls::TABLES.len());
    assert!(
        status
            .iter()
            .all(|s| s.enabled && s.forced && s.policies > 0)
    );

    // On: dana sees her own and the unassigned one, nothing of sam's.
    let me = db::rls::session_rep(&**dana_c, "dana@example.com")
        .await
        .unwrap();
    assert_eq!(me.id, w.dana.id);
    assert_eq!(
        visible_ids(&dana_c).await,
        [w.dana_conv.0, w.open_conv.0].into()
    );
    let rows = conversations::get_many(&dana_c, &[w.sam_conv.0])
        .await
        .unwrap();
    assert!(rows.is_empty());
    let err = db::messages::thread(&dana_c, w.sam_conv.0, None, 50)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    assert!(
        suggestions::latest(&dana_c, w.sam_conv.0)
            .await
            .unwrap()
            .is_none()
    );
    for table in ["messages", "suggestions", "leads", "outbox", "events"] {
        let filter = if table == "leads" {
            "email = 'sam@lead.example' AND $1::bigint IS NOT NULL"
        } else {
            "conversation_id = $1"
        };
        let n: i64 = dana_c
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE {filter}"),
                &[&w.sam_conv.0],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table} of sam's conversation hidden");
    }
    let counts = conversations::counts(&**dana_c, None).await.unwrap();
    assert_eq!(counts.total(), 2);

    // Changing it: plain UPDATE touches nothing; every decision is refused.
    let n = dana_c
        .execute(
            "UPDATE conversations SET status = 'archived' WHERE id = $1",
            &[&w.sam_conv.0],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    let mut dana_c = dana_c;
    let err = suggestions::approve(&mut dana_c, w.sam_conv.1, &w.dana, WINDOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    let err = suggestions::reject(
        &mut dana_c,
        w.sam_conv.1,
        &w.dana,
        RejectionReason::Other,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    let err = suggestions::compose(&mut dana_c, w.sam_conv.0, &w.dana, "hi", WINDOW)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    let err = conversations::archive(&mut dana_c, w.sam_conv.0, w.dana.id)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound { .. }), "{err}");
    let err = conversations::claim(&mut dana_c, w.sam_conv.0, &w.dana)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::AlreadyClaimed { by, .. } if by.contains("Sam Patel")),
        "{err}"
    );
    // Giving her own conversation away is refused by the policy's check.
    let err = dana_c
        .execute(
            "UPDATE conversations SET owner_rep_id = $2 WHERE id = $1",
            &[&w.dana_conv.0, &w.sam.id],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{err}");
    // Recording an event as someone else is refused too.
    let err = dana_c
        .execute(
            "INSERT INTO events (rep_id, kind) VALUES ($1, 'forged')",
            &[&w.sam.id],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{err}");

    // Her own and the unassigned work as usual; claiming hides nothing of hers.
    suggestions::approve(&mut dana_c, w.dana_conv.1, &w.dana, WINDOW)
        .await
        .unwrap();
    conversations::claim(&mut dana_c, w.open_conv.0, &w.dana)
        .await
        .unwrap();
    suggestions::reject(
        &mut dana_c,
        w.open_conv.1,
        &w.dana,
        RejectionReason::WrongTone,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        visible_ids(&dana_c).await,
        [w.dana_conv.0, w.open_conv.0].into()
    );

    // Sam now sees only his own: the unassigned one became dana's.
    let (_cfg, sam_pool) = pool_as(&t, &roles.names[1]);
    let sam_c = sam_pool.get().await.unwrap();
    assert_eq!(visible_ids(&sam_c).await, [w.sam_conv.0].into());

    // The manager sees and decides everything.
    let (_cfg, mia_pool) = pool_as(&t, &roles.names[2]);
    let mut mia_c = mia_pool.get().await.unwrap();
    assert_eq!(visible_ids(&mia_c).await, all);
    suggestions::approve(&mut mia_c, w.sam_conv.1, &w.mia, WINDOW)
        .await
        .unwrap();

    // Analytics reads everything and changes nothing.
    let (_cfg, stats_pool) = pool_as(&t, &roles.names[3]);
    let stats_c = stats_pool.get().await.unwrap();
    assert_eq!(visible_ids(&stats_c).await, all);
    let err = stats_c
        .execute("UPDATE conversations SET status = 'archived'", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{err}");

    // Off again: dana's login sees the team's inbox once more.
    db::rls::disable(&mut admin).await.unwrap();
    assert_eq!(visible_ids(&dana_c).await, all);
}

#[tokio::test]
async fn session_identity_comes_from_the_database_login() {
    let t = TestDb::new().await;
    let w = world(&t).await;
    let roles = Logins {
        names: vec![format!("{}_dana", t.name), format!("{}_nobody", t.name)],
    };
    let mut admin = t.raw().await;
    db::rls::grant(&mut admin, &w.dana.email, &roles.names[0])
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{0}\" LOGIN IN ROLE replydesk_rep",
            roles.names[1]
        ))
        .await
        .unwrap();
    let (_cfg, dana_pool) = pool_as(&t, &roles.names[0]);
    let c = dana_pool.get().await.unwrap();
    assert_eq!(
        db::rls::session_rep(&**c, "ignored-unix-user")
            .await
            .unwrap(),
        w.dana
    );
    let err = db::rls::session_rep(&**c, "sam@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::RlsWrongRep { .. }), "{err}");
    let (_cfg, nobody_pool) = pool_as(&t, &roles.names[1]);
    let c = nobody_pool.get().await.unwrap();
    let err = db::rls::session_rep(&**c, "dana@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::RlsUnlinked { .. }), "{err}");
    assert!(err.to_string().contains("replydesk rls grant"));
    // A temporary table named reps cannot impersonate anyone.
    c.batch_execute(&format!(
        "CREATE TEMP TABLE reps (id bigint, email text, display_name text, role text, db_role text);
         INSERT INTO reps VALUES ({}, 'x', 'x', 'rep', current_user)",
        w.sam.id
    ))
    .await
    .unwrap();
    let id: Option<i64> = c
        .query_one("SELECT replydesk_current_rep_id()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, None);
    drop(c);
    // Enabling needs a user that still sees everything once it is forced.
    let (_cfg, dana_pool2) = pool_as(&t, &roles.names[0]);
    let mut raw = dana_pool2.get().await.unwrap();
    let err = db::rls::enable(&mut raw).await.unwrap_err();
    assert!(err.to_string().contains("replydesk_admin"), "{err}");
}

#[tokio::test]
async fn rls_command_line_turns_it_on_and_reports_it() {
    let t = TestDb::new().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_replydesk"))
            .args(["--database-url", &t.url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["rls", "status"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("row-level security is OFF"));
    let out = run(&["rls", "enable"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["rls", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("row-level security is ON"), "{text}");
    assert!(text.contains("conversations"));
    let out = run(&["rls", "grant", "nobody@example.com"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no rep with email"), "{err}");
    let out = run(&["rls", "disable"]);
    assert!(out.status.success());
}
