use super::*;
use chrono::TimeZone;

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + Duration::days(day)
}

fn msg(id: &str, day: i64) -> Message {
    Message {
        id: format!("<{id}>"),
        in_reply_to: None,
        references: vec![],
        key: None,
        direction: Direction::Inbound,
        lead: Some("maria@example.com".into()),
        subject: "bike".into(),
        sent_at: at(day),
    }
}

fn reply(id: &str, parent: &str, day: i64) -> Message {
    Message {
        in_reply_to: Some(format!("<{parent}>")),
        references: vec![format!("<{parent}>")],
        subject: "something else".into(),
        ..msg(id, day)
    }
}

/// Members of each thread, as ids, threads in result order.
fn shape(messages: &[Message], t: &Threads) -> Vec<Vec<String>> {
    t.threads
        .iter()
        .map(|t| t.members.iter().map(|&m| messages[m].id.clone()).collect())
        .collect()
}

const WINDOW: Duration = Duration::days(30);

#[test]
fn replies_join_their_parent_even_when_read_first() {
    let ms = vec![
        reply("c", "b", 2),
        reply("b", "a", 1),
        msg("a", 0),
        Message {
            lead: Some("other@example.com".into()),
            ..msg("z", 0)
        },
    ];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(
        shape(&ms, &t),
        vec![vec!["<a>", "<b>", "<c>"], vec!["<z>"]],
        "ordered by time within the thread"
    );
    assert!(t.threads.iter().all(|t| t.target == Target::New));
}

#[test]
fn two_replies_to_a_missing_parent_meet() {
    let mut a = reply("a", "gone", 1);
    a.lead = Some("x@example.com".into());
    let mut b = reply("b", "gone", 2);
    b.lead = Some("y@example.com".into());
    let ms = vec![a, b];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(shape(&ms, &t), vec![vec!["<a>", "<b>"]]);
    assert_eq!(t.threads[0].lead.as_deref(), Some("x@example.com"));
}

#[test]
fn a_stored_parent_anchors_the_thread_to_its_conversation() {
    let stored = Existing { id: 9, lead_id: 4 };
    let known = Known {
        messages: HashMap::from([("<sent-by-replydesk>".to_string(), stored)]),
        ..Known::default()
    };
    let ms = vec![reply("r", "sent-by-replydesk", 5), reply("r2", "r", 6)];
    let t = thread(&ms, &known, WINDOW);
    assert_eq!(t.threads.len(), 1);
    assert_eq!(t.threads[0].target, Target::Existing(stored));
    assert_eq!(t.threads[0].members, vec![0, 1]);
}

#[test]
fn headers_never_fuse_two_stored_conversations() {
    let one = Existing { id: 1, lead_id: 1 };
    let two = Existing { id: 2, lead_id: 1 };
    let known = Known {
        messages: HashMap::from([("<p1>".to_string(), one), ("<p2>".to_string(), two)]),
        ..Known::default()
    };
    let mut m = reply("m", "p1", 1);
    m.references = vec!["<p2>".into(), "<p1>".into()];
    let t = thread(&[m], &known, WINDOW);
    assert_eq!(t.threads.len(), 1);
    assert_eq!(
        t.threads[0].target,
        Target::Existing(one),
        "In-Reply-To wins"
    );
}

#[test]
fn subject_and_lead_join_within_the_window_only() {
    let ms = vec![msg("a", 0), msg("b", 20), msg("c", 80), msg("d", 95)];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(
        shape(&ms, &t),
        vec![vec!["<a>", "<b>"], vec!["<c>", "<d>"]],
        "a 60-day pause starts a new conversation"
    );
}

#[test]
fn subject_fallback_joins_a_stored_conversation_of_the_same_lead() {
    let stored = Existing { id: 3, lead_id: 8 };
    let known = Known {
        candidates: vec![Candidate {
            conversation: stored,
            lead: "maria@example.com".into(),
            subject: "Re: BIKE".into(),
            first_at: at(-10),
            last_at: at(-5),
        }],
        ..Known::default()
    };
    let near = msg("near", 10);
    let far = msg("far", 200);
    let mut other_lead = msg("other", 1);
    other_lead.lead = Some("sam@example.com".into());
    let ms = vec![near, far, other_lead];
    let t = thread(&ms, &known, WINDOW);
    let joined: Vec<_> = t
        .threads
        .iter()
        .map(|t| (t.target, t.members.clone()))
        .collect();
    assert_eq!(
        joined,
        vec![
            (Target::Existing(stored), vec![0]),
            (Target::New, vec![2]),
            (Target::New, vec![1]),
        ]
    );
}

#[test]
fn keys_group_whatever_the_headers_say() {
    let mut a = msg("a", 0);
    a.key = Some("crm:1".into());
    let mut b = reply("b", "unrelated", 1);
    b.key = Some("crm:1".into());
    b.subject = "different".into();
    let mut c = msg("c", 2);
    c.key = Some("crm:2".into());
    let d = reply("d", "a", 3);
    let ms = vec![a, b, c, d];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(shape(&ms, &t), vec![vec!["<a>", "<b>", "<d>"], vec!["<c>"]]);
    assert_eq!(t.threads[0].key.as_deref(), Some("crm:1"));
}

#[test]
fn a_stored_key_continues_its_conversation() {
    let stored = Existing { id: 5, lead_id: 2 };
    let known = Known {
        keys: HashMap::from([("crm:7".to_string(), stored)]),
        ..Known::default()
    };
    let mut a = msg("a", 0);
    a.key = Some("crm:7".into());
    let t = thread(&[a], &known, WINDOW);
    assert_eq!(t.threads[0].target, Target::Existing(stored));
}

#[test]
fn without_a_lead_or_a_thread_a_message_cannot_be_placed() {
    let mut lost = msg("lost", 0);
    lost.lead = None;
    let mut placed = reply("placed", "a", 1);
    placed.lead = None;
    let ms = vec![msg("a", 0), lost, placed];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(t.leadless, vec![1]);
    assert_eq!(shape(&ms, &t), vec![vec!["<a>", "<placed>"]]);
}

#[test]
fn cycles_and_self_references_do_not_loop() {
    let a = reply("a", "b", 0);
    let b = reply("b", "a", 1);
    let mut c = reply("c", "c", 2);
    c.lead = Some("other@example.com".into());
    let ms = vec![a, b, c];
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(shape(&ms, &t), vec![vec!["<a>", "<b>"], vec!["<c>"]]);
}

#[test]
fn one_senders_outreach_under_one_subject_is_one_conversation_per_lead() {
    let lead = |k: usize| format!("lead{k}@example.com");
    let mut ms: Vec<Message> = (0..5)
        .map(|k| Message {
            direction: Direction::Outbound,
            lead: Some(lead(k)),
            subject: "quick question".into(),
            ..msg(&format!("ask{k}"), 0)
        })
        .collect();
    // Answers by subject only, no headers.
    ms.extend((0..5).map(|k| Message {
        lead: Some(lead(k)),
        subject: "quick question".into(),
        ..msg(&format!("answer{k}"), 1)
    }));
    let t = thread(&ms, &Known::default(), WINDOW);
    assert_eq!(t.threads.len(), 5);
    for th in &t.threads {
        let leads: Vec<&str> = th
            .members
            .iter()
            .filter_map(|&m| ms[m].lead.as_deref())
            .collect();
        assert_eq!(leads.len(), 2, "an ask and its answer");
        assert!(leads.iter().all(|l| Some(*l) == th.lead.as_deref()));
    }
}
