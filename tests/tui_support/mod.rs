//! Demo-like fixture data for the TUI tests: no database, fixed clock.
#![allow(dead_code)]

use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use replydesk::config::Settings;
use replydesk::db::conversations::{ConversationRow, StatusCounts};
use replydesk::db::messages::{ConversationDetail, MessageView, Thread};
use replydesk::db::suggestions::{Decision, Suggestion};
use replydesk::db::{ConversationStatus, Direction, OutboxStatus, Rep, RepRole, SuggestionStatus};
use replydesk::tui::app::{self, Action, Effect, State};
use std::time::Instant;

pub fn wall() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 15, 9, 26)
        .single()
        .unwrap_or_default()
}

pub fn settings() -> Settings {
    let mut s: Settings = toml::from_str(replydesk::config::DEFAULTS).expect("defaults parse");
    s.undo_window_secs = 10;
    s.page_size = 10;
    s.theme.name = "default".into();
    s
}

pub fn rep() -> Rep {
    Rep {
        id: 1,
        email: "alex@acme.test".into(),
        display_name: "Alex Morgan".into(),
        role: RepRole::Rep,
    }
}

pub fn state_with(settings: &Settings) -> (State, Instant) {
    let now = Instant::now();
    (State::new(settings, rep(), now, wall()), now)
}

pub fn state() -> (State, Instant) {
    state_with(&settings())
}

const LEADS: [(&str, &str); 12] = [
    (
        "Maria Gonzalez",
        "2BR apartment on Elm St — still available?",
    ),
    ("Tom Becker", "Question about the 2014 Civic"),
    ("Priya Natarajan", "Pricing for 40 seats"),
    ("Jonas Lindqvist", "Re: Viewing on Saturday"),
    ("Aiko Tanaka", "Sofa pickup this weekend"),
    ("Sam O'Neill", "Is the bike still for sale?"),
    ("Fatima Zahra", "Demo request"),
    ("Luca Rossi", "Re: Quote #4471"),
    ("Chen Wei", "Bulk order inquiry"),
    ("Olivia Brown", "Can you deliver to Oakland?"),
    ("Noah Schmidt", "Re: Contract renewal"),
    ("Emma Dubois", "Lawn mower — any issues?"),
];

pub fn row(i: usize) -> ConversationRow {
    let (name, subject) = LEADS[i % LEADS.len()];
    let minutes = [
        3i64, 41, 130, 300, 1500, 4000, 9000, 20000, 50000, 90000, 200000, 600000,
    ];
    let status = match i % 5 {
        3 => ConversationStatus::Waiting,
        _ => ConversationStatus::NeedsReply,
    };
    let pending = status == ConversationStatus::NeedsReply && i % 4 != 2;
    ConversationRow {
        id: 1000 + i as i64,
        status,
        subject: subject.into(),
        lead_name: name.into(),
        lead_email: Some(format!("lead{i}@example.com")),
        owner_rep_id: Some(1),
        message_count: 3,
        last_message_at: wall()
            - Days::minutes(minutes[i % minutes.len()] + (i / 12) as i64 * 900_000),
        pending_suggestion_id: pending.then_some(5000 + i as i64),
        pending_confidence: pending.then_some([0.92f32, 0.67, 0.34, 0.81][i % 4]),
    }
}

pub fn rows(range: std::ops::Range<usize>) -> Vec<ConversationRow> {
    range.map(row).collect()
}

pub fn counts() -> StatusCounts {
    StatusCounts {
        needs_reply: 128,
        waiting: 37,
        active: 4,
        archived: 912,
    }
}

pub fn message(seq: i32, dir: Direction, body: &str, minutes_ago: i64) -> MessageView {
    let inbound = dir == Direction::Inbound;
    MessageView {
        id: 9000 + i64::from(seq),
        seq,
        direction: dir,
        from_addr: if inbound {
            "Maria Gonzalez <maria@example.com>".into()
        } else {
            "Alex Morgan <alex@acme.test>".into()
        },
        to_addrs: vec![if inbound {
            "rentals@acme.test".into()
        } else {
            "maria@example.com".into()
        }],
        subject: "2BR apartment on Elm St — still available?".into(),
        body: body.into(),
        body_is_html: false,
        body_bytes: body.len() as i64,
        sent_at: wall() - Days::minutes(minutes_ago),
        delivery: (!inbound).then_some(OutboxStatus::Sent),
        outbox_id: (!inbound).then_some(77),
        send_after: None,
    }
}

pub fn thread_for(conv_id: i64, messages: Vec<MessageView>) -> Thread {
    Thread {
        conversation: ConversationDetail {
            id: conv_id,
            status: ConversationStatus::NeedsReply,
            subject: "2BR apartment on Elm St — still available?".into(),
            channel: "email".into(),
            lead_id: 1,
            lead_name: "Maria Gonzalez".into(),
            lead_email: Some("maria@example.com".into()),
            lead_phone: Some("+1 415 555 0134".into()),
            lead_source: "craigslist".into(),
            owner: Some("Alex Morgan".into()),
            message_count: messages.len() as i32,
            created_at: wall() - Days::days(2),
        },
        messages,
        has_older: false,
    }
}

pub fn demo_thread(conv_id: i64) -> Thread {
    thread_for(
        conv_id,
        vec![
            message(
                1,
                Direction::Inbound,
                "Hi! Is the 2BR on Elm St still available? I'd like to see it this week. Do you allow cats?",
                2900,
            ),
            message(
                2,
                Direction::Outbound,
                "Hi Maria, yes it is! Viewings are Tue–Sat 10–6. Cats are welcome (one-time $200 deposit).",
                2880,
            ),
            message(
                3,
                Direction::Inbound,
                "Great, could I come by Saturday around 11? Also, is parking included?",
                3,
            ),
        ],
    )
}

pub fn suggestion(conv_id: i64, id: i64, status: SuggestionStatus) -> Suggestion {
    Suggestion {
        id,
        conversation_id: conv_id,
        for_message_id: Some(9003),
        body: "Hi Maria,\n\nSaturday at 11 works — I'll meet you at the front door. One parking spot is included with the unit.\n\nBest,\nAlex".into(),
        confidence: 0.87,
        sentiment: Some("positive".into()),
        model: "offline-retrieval".into(),
        context: serde_json::json!({
            "based_on": "reply to conversation #812",
            "similar": [
                {"conversation_id": 812, "score": 0.91},
                {"conversation_id": 455, "score": 0.84},
                {"conversation_id": 97, "score": 0.79},
                {"conversation_id": 3, "score": 0.70}
            ]
        }),
        status,
        final_body: None,
        decided_by: (status != SuggestionStatus::Pending).then(|| "Dana Cruz".into()),
        decided_at: (status != SuggestionStatus::Pending).then(|| wall() - Days::minutes(1)),
        rejection_reason: None,
        rejection_note: None,
        edit_distance: None,
        created_at: wall() - Days::minutes(2),
    }
}

/// Run `init`, answer the page and counts requests, and answer the first
/// thread load with the demo thread and a pending draft.
pub fn loaded() -> (State, Instant) {
    let (mut s, now) = state();
    let fx = app::init(&mut s);
    answer(&mut s, fx, true);
    (s, now)
}

/// Feed fixture answers for the effects (pages, counts, threads).
pub fn answer(s: &mut State, fx: Vec<Effect>, pending: bool) -> Vec<Effect> {
    let mut rest = Vec::new();
    let mut queue = fx;
    while let Some(e) = queue.pop() {
        let action = match &e {
            Effect::LoadPage { req, .. } => Action::PageLoaded {
                req: *req,
                rows: rows(0..10),
            },
            Effect::LoadCounts { req, .. } => Action::CountsLoaded {
                req: *req,
                counts: counts(),
            },
            Effect::LoadThread { req, conv_id, .. } => Action::ThreadLoaded {
                req: *req,
                conv_id: *conv_id,
                thread: Box::new(demo_thread(*conv_id)),
                suggestion: Some(Box::new(suggestion(
                    *conv_id,
                    5000 + conv_id - 1000,
                    if pending {
                        SuggestionStatus::Pending
                    } else {
                        SuggestionStatus::Approved
                    },
                ))),
            },
            _ => {
                rest.push(e);
                continue;
            }
        };
        queue.extend(app::update(s, action));
    }
    rest
}

pub fn decision(conv_id: i64, sid: i64) -> Decision {
    Decision {
        conversation_id: conv_id,
        suggestion_id: Some(sid),
        status: SuggestionStatus::Approved,
        queued: replydesk::db::messages::Queued {
            message_id: 9100,
            outbox_id: 4242,
            send_after: wall() + Days::seconds(10),
        },
    }
}

/// Stats for the overlay: the last 30 days, Alex (rep 1) and Dana.
pub fn stats() -> replydesk::db::stats::Stats {
    use replydesk::db::RejectionReason;
    use replydesk::db::stats::{
        AiUsage, Bucket, DayCount, Drafts, ReasonCount, RepSummary, Responses, Stats, Summary, rate,
    };
    let summary = |scale: i64, median: f64, p90: f64, edit: f64| {
        let buckets: Vec<Bucket> = [(2, 0, 9), (5, 4, 11), (14, 12, 6), (61, 18, 2), (48, 5, 1)]
            .iter()
            .enumerate()
            .map(|(i, &(a, e, r)): (usize, &(i64, i64, i64))| {
                let (a, e, r) = (a * scale, e * scale, r * scale);
                Bucket {
                    from: i as f64 / 5.0,
                    to: (i + 1) as f64 / 5.0,
                    decided: a + e + r,
                    approved: a,
                    edited: e,
                    rejected: r,
                    approval_rate: rate(a, a + e + r),
                    acceptance_rate: rate(a + e, a + e + r),
                }
            })
            .collect();
        let (a, e, r) = buckets.iter().fold((0, 0, 0), |(a, e, r), b| {
            (a + b.approved, e + b.edited, r + b.rejected)
        });
        Summary {
            responses: Responses {
                conversations: 120 * scale,
                replied: 107 * scale,
                response_rate: rate(107, 120),
                replies_timed: 131 * scale,
                median_reply_secs: Some(median),
                p90_reply_secs: Some(p90),
            },
            drafts: Drafts {
                shown: 260 * scale,
                pending: 12 * scale,
                superseded: 9 * scale,
                decided: a + e + r,
                approved: a,
                edited: e,
                rejected: r,
                approval_rate: rate(a, a + e + r),
                acceptance_rate: rate(a + e, a + e + r),
                mean_edit_distance: Some(edit),
                prompt_tokens: 310_000 * scale,
                completion_tokens: 52_000 * scale,
                cost_usd: 1.87 * scale as f64,
                composed: 7 * scale,
                undone: scale,
            },
            by_confidence: buckets,
            top_rejection_reasons: vec![ReasonCount {
                reason: RejectionReason::WrongTone,
                note: None,
                count: 11 * scale,
            }],
            ai: Some(AiUsage {
                runs: 280 * scale,
                failed_runs: 3,
                prompt_tokens: 330_000 * scale,
                completion_tokens: 52_000 * scale,
                cost_usd: 2.04 * scale as f64,
            }),
        }
    };
    let since = wall() - Days::days(30);
    Stats {
        since,
        until: wall(),
        rep: None,
        total: summary(3, 1330.0, 15_300.0, 23.4),
        decisions_per_day: (0..=30)
            .map(|d| DayCount {
                day: (since + Days::days(d)).date_naive(),
                decisions: [12, 30, 41, 38, 44, 9, 4][d as usize % 7] + d,
            })
            .collect(),
        reps: vec![
            RepSummary {
                rep_id: Some(1),
                email: Some("alex@acme.test".into()),
                name: "Alex Morgan".into(),
                summary: summary(1, 250.0, 7500.0, 18.2),
            },
            RepSummary {
                rep_id: Some(2),
                email: Some("dana@acme.test".into()),
                name: "Dana Cruz".into(),
                summary: summary(2, 1900.0, 20_100.0, 26.0),
            },
        ],
    }
}

/// Conversations similar to Maria's (for the `s` overlay): some in the
/// loaded list (ids 1000..1010), some not; every kind of answer.
pub fn similar_found() -> Vec<replydesk::db::embeddings::SimilarConversation> {
    use replydesk::db::RejectionReason;
    use replydesk::db::embeddings::{Answer, SimilarConversation};
    let reply = |text: &str, status| Answer::Reply {
        text: text.into(),
        status,
    };
    let rows = [
        (
            812,
            0.91,
            ConversationStatus::Waiting,
            "Tom Becker",
            "Apartment on Oak Ave — viewing?",
            reply(
                "Hi Tom,\n\nYes, it is still available! Viewings are Tue–Sat 10–6; parking is included.\n\nBest,\nAlex",
                SuggestionStatus::Approved,
            ),
        ),
        (
            455,
            0.84,
            ConversationStatus::Archived,
            "Aiko Tanaka",
            "Studio near the park",
            reply(
                "Hi Aiko, thanks for asking — the studio is available from April 1.",
                SuggestionStatus::Edited,
            ),
        ),
        (
            1003,
            0.79,
            ConversationStatus::Waiting,
            "Jonas Lindqvist",
            "Re: Viewing on Saturday",
            Answer::Rejected {
                reason: RejectionReason::WrongTone,
                note: Some("too pushy for a first reply".into()),
            },
        ),
        (
            97,
            0.70,
            ConversationStatus::NeedsReply,
            "Chen Wei",
            "Bulk order inquiry",
            Answer::None,
        ),
        (
            1001,
            0.66,
            ConversationStatus::NeedsReply,
            "Tom Becker",
            "Question about the 2014 Civic",
            reply(
                "Hi Tom, the Civic has 82k miles and a clean title.",
                SuggestionStatus::Approved,
            ),
        ),
        (
            3,
            0.52,
            ConversationStatus::Active,
            "大野 翔太",
            "駐車場について 🚗",
            reply(
                "大野様、駐車場は1台分含まれています。",
                SuggestionStatus::Approved,
            ),
        ),
    ];
    rows.into_iter()
        .map(
            |(id, score, status, lead, subject, answer)| SimilarConversation {
                conversation_id: id,
                score,
                message_id: id * 10,
                status,
                lead_name: lead.into(),
                subject: subject.into(),
                answer,
            },
        )
        .collect()
}

/// Search hits for "parking saturday".
pub fn search_results() -> Vec<replydesk::db::search::SearchResult> {
    use replydesk::db::search::SearchResult;
    let rows = [
        (
            1000,
            ConversationStatus::NeedsReply,
            "Maria Gonzalez",
            "2BR apartment on Elm St — still available?",
            "Great, could I come by Saturday around 11? Also, is parking included?",
            true,
            true,
        ),
        (
            812,
            ConversationStatus::Waiting,
            "Tom Becker",
            "Apartment on Oak Ave — viewing?",
            "Is there parking for two cars? I could come on Saturday morning.",
            true,
            false,
        ),
        (
            1003,
            ConversationStatus::Waiting,
            "Jonas Lindqvist",
            "Re: Viewing on Saturday",
            "Saturday works for me, see you at 10.",
            true,
            true,
        ),
        (
            455,
            ConversationStatus::Archived,
            "Aiko Tanaka",
            "Studio near the park",
            "Where would I leave my car during the weekend viewing?",
            false,
            true,
        ),
    ];
    rows.into_iter()
        .enumerate()
        .map(
            |(i, (id, status, lead, subject, snippet, ft, sem))| SearchResult {
                conversation_id: id,
                score: 1.0 / (61.0 + i as f64),
                lead_name: lead.into(),
                subject: subject.into(),
                status,
                snippet: snippet.into(),
                message_id: id * 10,
                matched_full_text: ft,
                matched_semantic: sem,
            },
        )
        .collect()
}
