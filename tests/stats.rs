//! `replydesk stats` on a small hand-built dataset: every number below is
//! computed by hand in the comments, and must come out exactly.
//!
//! Times: `now` is the test's clock, `since = now - 30 days`, `base` is noon
//! UTC ten days ago, `old` is 40 days ago (outside the window).

mod common;

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use common::TestDb;
use replydesk::db::RejectionReason;
use replydesk::db::stats::{self, Bucket, ReasonCount, Stats, Summary};
use std::process::{Command, Output};

struct World {
    db: TestDb,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    base: DateTime<Utc>,
    alex: i64,
    blake: i64,
}

async fn exec(t: &TestDb, sql: &str, p: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> i64 {
    let c = t.client().await;
    c.query_one(sql, p).await.expect(sql).get(0)
}

/// A conversation (with its lead) whose messages are `(direction, sent_at)`
/// in seq order; `last_inbound_at` set from them as ingest would.
async fn conversation(
    t: &TestDb,
    tag: &str,
    owner: Option<i64>,
    msgs: &[(&str, DateTime<Utc>)],
) -> i64 {
    let lead = exec(
        t,
        "INSERT INTO leads (email, name, source) VALUES ($1, $1, 'web') RETURNING id",
        &[&format!("{tag}@lead.example")],
    )
    .await;
    let last_in = msgs
        .iter()
        .filter(|(d, _)| *d == "inbound")
        .map(|(_, at)| *at)
        .max();
    let conv = exec(
        t,
        "INSERT INTO conversations (lead_id, owner_rep_id, subject, message_count, last_inbound_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[&lead, &owner, &tag, &(msgs.len() as i32), &last_in],
    )
    .await;
    for (i, (dir, at)) in msgs.iter().enumerate() {
        exec(
            t,
            "INSERT INTO messages (conversation_id, seq, direction, from_addr, source, external_id, sent_at)
             VALUES ($1, $2, $3::text::message_direction, 'x@example.com', 'test', $4, $5) RETURNING id",
            &[&conv, &(i as i32 + 1), dir, &format!("<{tag}.{i}>"), at],
        )
        .await;
    }
    conv
}

/// A suggestion with the given fate. `decided` = (rep, at) for decided ones.
#[allow(clippy::too_many_arguments)]
async fn suggestion(
    t: &TestDb,
    conv: i64,
    status: &str,
    confidence: f32,
    decided: Option<(i64, DateTime<Utc>)>,
    created_at: DateTime<Utc>,
    edit_distance: Option<i32>,
    reason: Option<(&str, Option<&str>)>,
    cost: (i32, i32, f64),
) {
    let final_body = matches!(status, "approved" | "edited").then_some("sent text");
    exec(
        t,
        "INSERT INTO suggestions (conversation_id, body, confidence, model, status, final_body,
                                  decided_by, decided_at, edit_distance, rejection_reason,
                                  rejection_note, created_at, prompt_tokens, completion_tokens, cost_usd)
         VALUES ($1, 'draft', $2, 'test', $3::text::suggestion_status, $4, $5, $6, $7,
                 $8::text::rejection_reason, $9, $10, $11, $12, $13) RETURNING id",
        &[
            &conv,
            &confidence,
            &status,
            &final_body,
            &decided.map(|d| d.0),
            &decided.map(|d| d.1),
            &edit_distance,
            &reason.map(|r| r.0),
            &reason.and_then(|r| r.1),
            &created_at,
            &cost.0,
            &cost.1,
            &cost.2,
        ],
    )
    .await;
}

async fn world() -> World {
    let db = TestDb::new().await;
    let now = Utc::now()
        .duration_trunc(TimeDelta::seconds(1))
        .expect("now");
    let since = now - Duration::days(30);
    let base = (now - Duration::days(10))
        .duration_trunc(TimeDelta::days(1))
        .expect("day")
        + Duration::hours(12);
    let old = now - Duration::days(40);
    let m = Duration::minutes;
    let h = Duration::hours;
    let alex = db.rep("alex@acme.test", "Alex Morgan").await.id;
    let blake = db.rep("blake@acme.test", "Blake Shaw").await.id;
    let t = &db;
    let (i, o) = ("inbound", "outbound");

    // Alex's conversations.
    // C1: wait 1 = base → base+10m (600 s); wait 2 starts at base+1h (the
    // second inbound joins it) → base+3h (7200 s).
    let c1 = conversation(
        t,
        "c1",
        Some(alex),
        &[
            (i, base),
            (o, base + m(10)),
            (i, base + h(1)),
            (i, base + m(90)),
            (o, base + h(3)),
        ],
    )
    .await;
    // C2: base → base+4m10s (250 s).
    let c2 = conversation(
        t,
        "c2",
        Some(alex),
        &[(i, base), (o, base + m(4) + Duration::seconds(10))],
    )
    .await;
    // C3: never answered.
    let c3 = conversation(t, "c3", Some(alex), &[(i, base)]).await;

    // Blake's.
    // C4: an old exchange, then base → base+1d (86400 s).
    let c4 = conversation(
        t,
        "c4",
        Some(blake),
        &[(i, old), (o, old + h(1)), (i, base), (o, base + h(24))],
    )
    .await;
    // C5: only old traffic: not in the window at all.
    let c5 = conversation(t, "c5", Some(blake), &[(i, old)]).await;
    // C7: the wait started an hour before the window; a follow-up inside it
    // was answered. Counts as asked and replied, but its time is not a
    // sample (the wait did not start in the window).
    let c7 = conversation(
        t,
        "c7",
        Some(blake),
        &[(i, since - h(1)), (i, base), (o, base + m(5))],
    )
    .await;

    // C6: nobody's; base → base+30s.
    let c6 = conversation(
        t,
        "c6",
        None,
        &[(i, base), (o, base + Duration::seconds(30))],
    )
    .await;

    let at = base + m(10);
    let next_day = base + h(25);
    let none = (0, 0, 0.0);
    // Alex decides S1–S5, S11 and S14.
    suggestion(
        t,
        c1,
        "approved",
        0.95,
        Some((alex, at)),
        base,
        None,
        None,
        (100, 20, 0.01),
    )
    .await; // S1 b4
    suggestion(
        t,
        c1,
        "edited",
        0.85,
        Some((alex, at)),
        base,
        Some(12),
        None,
        (0, 0, 0.02),
    )
    .await; // S2 b4
    suggestion(
        t,
        c2,
        "approved",
        0.6,
        Some((alex, at)),
        base,
        None,
        None,
        none,
    )
    .await; // S3 b3 (0.6 is not below 0.6)
    suggestion(
        t,
        c2,
        "rejected",
        0.59,
        Some((alex, at)),
        base,
        None,
        Some(("wrong_tone", None)),
        none,
    )
    .await; // S4 b2
    suggestion(
        t,
        c3,
        "rejected",
        0.2,
        Some((alex, at)),
        base,
        None,
        Some(("other", Some("  Too PUSHY "))),
        none,
    )
    .await; // S5 b1
    suggestion(t, c3, "pending", 0.5, None, base, None, None, none).await; // S6 shown, pending
    suggestion(t, c3, "superseded", 0.3, None, base, None, None, none).await; // S13 shown, superseded
    suggestion(
        t,
        c2,
        "rejected",
        0.05,
        Some((alex, at)),
        base,
        None,
        Some(("other", None)),
        none,
    )
    .await; // S14 b0
    suggestion(
        t,
        c6,
        "approved",
        0.4,
        Some((alex, at)),
        base,
        None,
        None,
        none,
    )
    .await; // S11 b2, unassigned conversation
    // Blake decides S7–S10; S12 is old.
    suggestion(
        t,
        c4,
        "edited",
        0.65,
        Some((blake, next_day)),
        base,
        Some(30),
        None,
        (50, 10, 0.01),
    )
    .await; // S7 b3
    suggestion(
        t,
        c4,
        "rejected",
        0.1,
        Some((blake, next_day)),
        base,
        None,
        Some(("other", Some("too pushy"))),
        none,
    )
    .await; // S8 b0
    suggestion(
        t,
        c4,
        "rejected",
        0.15,
        Some((blake, at)),
        base,
        None,
        Some(("wrong_tone", Some("ignored"))),
        none,
    )
    .await; // S9 b0
    suggestion(
        t,
        c7,
        "approved",
        1.0,
        Some((blake, at)),
        base,
        None,
        None,
        none,
    )
    .await; // S10 b4 (1.0 is in the last bucket)
    suggestion(
        t,
        c5,
        "approved",
        0.9,
        Some((blake, old)),
        old,
        None,
        None,
        (0, 0, 0.5),
    )
    .await; // S12 outside

    // Provider calls: R1 (C1, Alex), R2 (C4, Blake, failed), R3 (embedding,
    // no conversation), R4 old.
    for (kind, status, conv, pt, ct, cost, when) in [
        ("draft", "ok", Some(c1), 100, 20, 0.01, base),
        ("draft", "error", Some(c4), 40, 0, 0.0, base),
        ("embed", "ok", None, 500, 0, 0.002, base),
        ("draft", "ok", Some(c1), 9, 9, 1.0, old),
    ] {
        exec(
            t,
            "INSERT INTO ai_runs (kind, provider, model, status, prompt_tokens, completion_tokens,
                                  cost_usd, conversation_id, created_at)
             VALUES ($1, 'test', 'test', $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&kind, &status, &pt, &ct, &cost, &conv, &when],
        )
        .await;
    }
    for (rep, kind, when) in [
        (alex, "reply.composed", base),
        (blake, "reply.undone", base),
        (blake, "reply.undone", old),
        (alex, "suggestion.approved", base),
    ] {
        exec(
            t,
            "INSERT INTO events (rep_id, kind, at) VALUES ($1, $2, $3) RETURNING id",
            &[&rep, &kind, &when],
        )
        .await;
    }
    World {
        db,
        now,
        since,
        base,
        alex,
        blake,
    }
}

async fn compute(w: &World, rep: Option<i64>) -> Stats {
    let mut c = w.db.client().await;
    stats::compute(&mut c, w.since, rep).await.expect("stats")
}

fn rep(s: &Stats, id: Option<i64>) -> &Summary {
    &s.reps
        .iter()
        .find(|r| r.rep_id == id)
        .unwrap_or_else(|| panic!("no row for rep {id:?}"))
        .summary
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn bucket(i: usize, approved: i64, edited: i64, rejected: i64) -> Bucket {
    let decided = approved + edited + rejected;
    Bucket {
        from: i as f64 / 5.0,
        to: (i + 1) as f64 / 5.0,
        decided,
        approved,
        edited,
        rejected,
        approval_rate: stats::rate(approved, decided),
        acceptance_rate: stats::rate(approved + edited, decided),
    }
}

fn reason(r: RejectionReason, note: Option<&str>, count: i64) -> ReasonCount {
    ReasonCount {
        reason: r,
        note: note.map(str::to_string),
        count,
    }
}

#[tokio::test]
async fn response_times_and_rates_match_the_hand_computed_values() {
    let w = world().await;
    let s = compute(&w, None).await;
    assert_eq!(s.since, w.since);
    assert!(s.until >= w.now);

    // Alex: C1, C2, C3 asked; C1, C2 replied → 2/3. Samples 250, 600, 7200:
    // median 600; p90 at position 0.9·2 = 1.8 → 600 + 0.8·6600 = 5880.
    let a = &rep(&s, Some(w.alex)).responses;
    assert_eq!((a.conversations, a.replied, a.replies_timed), (3, 2, 3));
    assert!(close(a.response_rate, 2.0 / 3.0), "{a:?}");
    assert!(close(a.median_reply_secs, 600.0), "{a:?}");
    assert!(close(a.p90_reply_secs, 5880.0), "{a:?}");

    // Blake: C4 and C7 asked and replied (C5 is old) → 1.0; one sample
    // (C4, 86400 s): C7's wait began before the window.
    let b = &rep(&s, Some(w.blake)).responses;
    assert_eq!((b.conversations, b.replied, b.replies_timed), (2, 2, 1));
    assert!(close(b.response_rate, 1.0));
    assert!(close(b.median_reply_secs, 86_400.0));
    assert!(close(b.p90_reply_secs, 86_400.0));

    // Unassigned: C6, 30 s.
    let u = &rep(&s, None).responses;
    assert_eq!((u.conversations, u.replied, u.replies_timed), (1, 1, 1));
    assert!(close(u.median_reply_secs, 30.0));

    // Total: 6 asked, 5 replied. Samples 30, 250, 600, 7200, 86400:
    // median 600; p90 at 0.9·4 = 3.6 → 7200 + 0.6·79200 = 54720.
    let t = &s.total.responses;
    assert_eq!((t.conversations, t.replied, t.replies_timed), (6, 5, 5));
    assert!(close(t.response_rate, 5.0 / 6.0), "{t:?}");
    assert!(close(t.median_reply_secs, 600.0), "{t:?}");
    assert!(close(t.p90_reply_secs, 54_720.0), "{t:?}");
}

#[tokio::test]
async fn decisions_buckets_edits_reasons_and_cost_match_the_hand_computed_values() {
    let w = world().await;
    let s = compute(&w, None).await;

    // Total: approved S1 S3 S10 S11, edited S2 S7, rejected S4 S5 S8 S9 S14.
    let d = &s.total.drafts;
    assert_eq!((d.decided, d.approved, d.edited, d.rejected), (11, 4, 2, 5));
    assert!(close(d.approval_rate, 4.0 / 11.0));
    assert!(close(d.acceptance_rate, 6.0 / 11.0));
    assert!(close(d.mean_edit_distance, 21.0), "(12 + 30) / 2");
    // Shown: 13 created in the window (all but S12); S6 pending, S13 superseded.
    assert_eq!((d.shown, d.pending, d.superseded), (13, 1, 1));
    assert_eq!((d.composed, d.undone), (1, 1));
    assert_eq!((d.prompt_tokens, d.completion_tokens), (150, 30), "S1 + S7");
    assert!(close(Some(d.cost_usd), 0.04));

    // By confidence: b0 S8 S9 S14 (all rejected); b1 S5; b2 S4 (0.59) and
    // S11 (0.4); b3 S3 (0.6) and S7; b4 S1, S2 and S10 (1.0).
    assert_eq!(
        s.total.by_confidence,
        vec![
            bucket(0, 0, 0, 3),
            bucket(1, 0, 0, 1),
            bucket(2, 1, 0, 1),
            bucket(3, 1, 1, 0),
            bucket(4, 2, 1, 0),
        ]
    );
    assert!(close(s.total.by_confidence[4].approval_rate, 2.0 / 3.0));
    assert!(close(s.total.by_confidence[4].acceptance_rate, 1.0));

    // Reasons: wrong tone 2 (S4, S9; S9's note is not part of the reason),
    // other "too pushy" 2 (S5 trimmed and lower-cased, S8), other 1 (S14).
    assert_eq!(
        s.total.top_rejection_reasons,
        vec![
            reason(RejectionReason::WrongTone, None, 2),
            reason(RejectionReason::Other, Some("too pushy"), 2),
            reason(RejectionReason::Other, None, 1),
        ]
    );
    assert_eq!(s.total.top_rejection_reasons[1].label(), "other: too pushy");

    // AI: R1 + R2 + R3 (R4 is old).
    let ai = s.total.ai.as_ref().expect("ai_runs readable");
    assert_eq!(
        (
            ai.runs,
            ai.failed_runs,
            ai.prompt_tokens,
            ai.completion_tokens
        ),
        (3, 1, 640, 20)
    );
    assert!(close(Some(ai.cost_usd), 0.012));

    // Alex decided S1 S2 S3 S4 S5 S11 S14: 3 approved, 1 edited, 3 rejected.
    let a = rep(&s, Some(w.alex));
    assert_eq!(
        (
            a.drafts.decided,
            a.drafts.approved,
            a.drafts.edited,
            a.drafts.rejected
        ),
        (7, 3, 1, 3)
    );
    assert!(close(a.drafts.approval_rate, 3.0 / 7.0));
    assert!(close(a.drafts.mean_edit_distance, 12.0));
    // Shown on Alex's conversations: S1 S2 (C1), S3 S4 S14 (C2), S5 S6 S13 (C3).
    assert_eq!(a.drafts.shown, 8);
    assert_eq!((a.drafts.composed, a.drafts.undone), (1, 0));
    assert_eq!(
        a.by_confidence,
        vec![
            bucket(0, 0, 0, 1),
            bucket(1, 0, 0, 1),
            bucket(2, 1, 0, 1),
            bucket(3, 1, 0, 0),
            bucket(4, 1, 1, 0),
        ]
    );
    assert_eq!(
        a.top_rejection_reasons,
        vec![
            reason(RejectionReason::WrongTone, None, 1),
            reason(RejectionReason::Other, None, 1),
            reason(RejectionReason::Other, Some("too pushy"), 1),
        ]
    );
    let a_ai = a.ai.as_ref().expect("ai");
    assert_eq!(
        (a_ai.runs, a_ai.failed_runs, a_ai.prompt_tokens),
        (1, 0, 100)
    );
    assert!(close(Some(a.drafts.cost_usd), 0.03));

    // Blake decided S7 S8 S9 S10.
    let b = rep(&s, Some(w.blake));
    assert_eq!(
        (
            b.drafts.decided,
            b.drafts.approved,
            b.drafts.edited,
            b.drafts.rejected
        ),
        (4, 1, 1, 2)
    );
    assert!(close(b.drafts.acceptance_rate, 0.5));
    assert!(close(b.drafts.mean_edit_distance, 30.0));
    assert_eq!(b.drafts.shown, 4, "S7 S8 S9 (C4), S10 (C7)");
    assert_eq!((b.drafts.composed, b.drafts.undone), (0, 1));
    let b_ai = b.ai.as_ref().expect("ai");
    assert_eq!((b_ai.runs, b_ai.failed_runs), (1, 1));

    // Per day: 9 decisions at base+10m, 2 (S7, S8) the next day; every day
    // of the window is listed.
    let day = |at: DateTime<Utc>| {
        s.decisions_per_day
            .iter()
            .find(|d| d.day == at.date_naive())
            .map(|d| d.decisions)
    };
    assert_eq!(day(w.base), Some(9));
    assert_eq!(day(w.base + Duration::days(1)), Some(2));
    assert_eq!(day(w.base - Duration::days(1)), Some(0));
    assert_eq!(
        s.decisions_per_day.first().map(|d| d.day),
        Some(w.since.date_naive())
    );
    assert_eq!(
        s.decisions_per_day.iter().map(|d| d.decisions).sum::<i64>(),
        11
    );

    // Reps by email, the unassigned row last.
    let order: Vec<Option<i64>> = s.reps.iter().map(|r| r.rep_id).collect();
    assert_eq!(order, vec![Some(w.alex), Some(w.blake), None]);
}

#[tokio::test]
async fn one_rep_gets_exactly_their_own_numbers() {
    let w = world().await;
    let all = compute(&w, None).await;
    let only = compute(&w, Some(w.alex)).await;
    assert_eq!(only.rep.as_deref(), Some("alex@acme.test"));
    assert_eq!(&only.total, rep(&all, Some(w.alex)));
    assert_eq!(only.reps.len(), 1);
    assert_eq!(only.reps[0].summary, only.total);
}

#[tokio::test]
async fn an_empty_window_has_zeros_and_no_rates() {
    let db = TestDb::new().await;
    let mut c = db.client().await;
    let s = stats::compute(&mut c, Utc::now() - Duration::days(7), None)
        .await
        .expect("stats");
    assert_eq!(s.total.responses.conversations, 0);
    assert_eq!(s.total.responses.response_rate, None);
    assert_eq!(s.total.responses.median_reply_secs, None);
    assert_eq!(s.total.drafts.approval_rate, None);
    assert_eq!(s.total.by_confidence.len(), 5);
    assert!(s.reps.is_empty());
    assert_eq!(s.decisions_per_day.len(), 8);
}

fn replydesk(db: &TestDb, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join("replydesk-stats-home");
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .output()
        .expect("run replydesk")
}

#[tokio::test]
async fn the_command_prints_aligned_tables_and_json() {
    let w = world().await;
    let out = replydesk(&w.db, &["stats"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |first: &str, section: &str| -> String {
        table
            .split("\n\n")
            .find(|block| block.starts_with(section))
            .and_then(|block| block.lines().find(|l| l.starts_with(first)))
            .unwrap_or_else(|| panic!("no {first} row in {section}:\n{table}"))
            .to_string()
    };
    let cells = |l: &str| -> Vec<String> { l.split_whitespace().map(str::to_string).collect() };
    // total: 6 conversations, 5 replied, 83.3%, 5 timed, median 10m 0s, p90 54720 s.
    assert_eq!(
        cells(&line("total", "Responses")),
        ["total", "6", "5", "83.3%", "5", "10m", "0s", "15h", "12m"]
    );
    // Alex: p90 5880 s = 1h 38m.
    assert_eq!(
        cells(&line("Alex Morgan", "Responses")),
        [
            "Alex", "Morgan", "3", "2", "66.7%", "3", "10m", "0s", "1h", "38m"
        ]
    );
    assert_eq!(
        cells(&line("total", "Drafts")),
        [
            "total", "13", "11", "4", "2", "5", "36.4%", "54.5%", "21.0", "1", "1"
        ]
    );
    assert_eq!(
        cells(&line("0.8–1.0", "Confidence")),
        ["0.8–1.0", "3", "2", "1", "0", "66.7%", "100.0%"]
    );
    assert!(table.contains("  2  wrong tone\n"), "{table}");
    assert!(table.contains("  2  other: too pushy\n"), "{table}");
    assert_eq!(
        cells(&line("total", "AI")),
        ["total", "3", "1", "640", "20", "$0.01", "$0.04"]
    );
    // Columns line up: every row of a table has the header's width or less,
    // and the numbers end in the same column.
    let responses: Vec<&str> = table
        .split("\n\n")
        .find(|b| b.starts_with("Responses"))
        .map(|b| b.lines().collect())
        .unwrap_or_default();
    let ends: Vec<usize> = responses.iter().map(|l| l.chars().count()).collect();
    assert!(ends.iter().all(|e| *e == ends[0]), "{responses:#?}");

    let out = replydesk(&w.db, &["stats", "--json", "--rep", "ALEX@acme.test"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["rep"], "alex@acme.test");
    assert_eq!(v["total"]["responses"]["median_reply_secs"], 600.0);
    assert_eq!(v["total"]["responses"]["p90_reply_secs"], 5880.0);
    assert_eq!(v["total"]["drafts"]["decided"], 7);
    assert_eq!(v["total"]["by_confidence"][2]["approval_rate"], 0.5);
    assert_eq!(v["reps"][0]["email"], "alex@acme.test");
    assert_eq!(v["reps"][0]["drafts"]["approved"], 3);
}

#[tokio::test]
async fn bad_input_is_one_line_with_the_right_exit_code() {
    let db = TestDb::new().await;
    for bad in ["yesterday", "30", "-5d", "2099-01-01"] {
        let out = replydesk(&db, &["stats", "--since", bad]);
        assert_eq!(out.status.code(), Some(2), "--since {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("replydesk: --since"), "{err}");
        assert!(out.stdout.is_empty());
    }
    let out = replydesk(&db, &["stats", "--rep", "nobody@acme.test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no rep with email nobody@acme.test"), "{err}");
    let out = replydesk(&db, &["stats", "--since", "2w"]);
    assert_eq!(out.status.code(), Some(0));
}
