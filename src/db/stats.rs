//! `replydesk stats`: how fast leads get answered and how good the drafts
//! are, for a window `[since, until]` (until = the transaction's `now()`),
//! per rep and in total. Everything is read in one read-only
//! repeatable-read transaction, so the numbers agree with each other.
//!
//! Who a number belongs to:
//! - responses, drafts shown and AI usage: the conversation's owner
//!   (`conversations.owner_rep_id`; `None` = unassigned);
//! - decisions (approved / edited / rejected, buckets, edit distance,
//!   rejection reasons): the rep who decided (`suggestions.decided_by`);
//! - composed and undone replies: the rep in the audit trail (`events.rep_id`).
//!
//! "Sent" means an outbound message exists: imported or seeded history has
//! no outbox row, and an undone (cancelled) reply's message is deleted.
//! A reply still inside its undo window, or whose delivery failed, counts.
//!
//! Counts per rep add up to the total (the `rep_id: null` row holds the
//! unassigned conversations); AI calls for no conversation (embedding
//! batches) and for unassigned ones count in the total only. Medians and
//! percentiles are computed over the samples, never averaged across reps.

use super::{DbError, RejectionReason};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tokio_postgres::IsolationLevel;

/// Confidence buckets: `[0, 0.2)`, `[0.2, 0.4)`, … `[0.8, 1.0]`.
pub const BUCKETS: usize = 5;
/// How many rejection reasons to list.
pub const TOP_REASONS: usize = 5;

/// Everything `stats` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The rep the numbers are limited to (`--rep`), if any.
    pub rep: Option<String>,
    pub total: Summary,
    /// Decisions per UTC day from `since` to `until`, oldest first
    /// (every day listed, zeros included).
    pub decisions_per_day: Vec<DayCount>,
    /// One entry per rep with anything in the window (and one with
    /// `rep_id: null` for unassigned conversations, if any), by email.
    pub reps: Vec<RepSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepSummary {
    /// `None`: conversations nobody owns (or decisions by a deleted rep).
    pub rep_id: Option<i64>,
    pub email: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    pub responses: Responses,
    pub drafts: Drafts,
    /// Always [`BUCKETS`] entries, lowest confidence first.
    pub by_confidence: Vec<Bucket>,
    /// At most [`TOP_REASONS`], most frequent first.
    pub top_rejection_reasons: Vec<ReasonCount>,
    /// `None` when the database user may not read `ai_runs`.
    pub ai: Option<AiUsage>,
}

/// How leads get answered.
///
/// A conversation's messages (ordered by `seq`) alternate between runs of
/// inbound messages and replies; a *wait* starts at the first inbound
/// message of a run and ends at the first outbound message after it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Responses {
    /// Conversations with at least one inbound message sent in the window.
    pub conversations: i64,
    /// Of those, the ones with an outbound message after their first
    /// inbound message of the window.
    pub replied: i64,
    /// `replied / conversations`.
    pub response_rate: Option<f64>,
    /// Waits that started in the window and ended with a reply.
    pub replies_timed: i64,
    /// Median time from the start of a wait to the reply (`sent_at` to
    /// `sent_at`), over `replies_timed`; `percentile_cont`, so it may fall
    /// between two observed values.
    pub median_reply_secs: Option<f64>,
    /// 90th percentile of the same (`percentile_cont(0.9)`).
    pub p90_reply_secs: Option<f64>,
}

/// What happened to the AI's drafts.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Drafts {
    /// Drafts created in the window (each is put in front of a rep),
    /// whatever became of them.
    pub shown: i64,
    /// Of the shown, still pending now.
    pub pending: i64,
    /// Of the shown, replaced by a newer message or a rep's own reply.
    pub superseded: i64,
    /// Drafts decided in the window (`decided_at`): approved + edited + rejected.
    pub decided: i64,
    /// Sent as written.
    pub approved: i64,
    /// Sent after the rep changed the text.
    pub edited: i64,
    pub rejected: i64,
    /// `approved / decided`.
    pub approval_rate: Option<f64>,
    /// `(approved + edited) / decided`: the draft was used at all.
    pub acceptance_rate: Option<f64>,
    /// Mean Levenshtein distance (characters) between draft and sent text,
    /// over the edited drafts decided in the window.
    pub mean_edit_distance: Option<f64>,
    /// Tokens and cost recorded on the drafts shown (their share of `ai`).
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    /// Replies the rep wrote from scratch (`reply.composed` events).
    pub composed: i64,
    /// Replies taken back inside the undo window (`reply.undone` events).
    pub undone: i64,
}

/// Decisions on drafts whose confidence fell in `[from, to)` (the last
/// bucket includes 1.0). Calibrated confidence means the rates rise with it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Bucket {
    pub from: f64,
    pub to: f64,
    pub decided: i64,
    pub approved: i64,
    pub edited: i64,
    pub rejected: i64,
    /// `approved / decided`.
    pub approval_rate: Option<f64>,
    /// `(approved + edited) / decided`.
    pub acceptance_rate: Option<f64>,
}

/// A rejection reason; for `other`, each distinct note (trimmed, lower
/// case, at most 80 characters) counts on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    pub reason: RejectionReason,
    pub note: Option<String>,
    pub count: i64,
}

impl ReasonCount {
    /// "wrong tone", "other: price missing". The note is outside text:
    /// sanitize it before drawing.
    pub fn label(&self) -> String {
        match &self.note {
            Some(n) => format!("{}: {n}", self.reason.label()),
            None => self.reason.label().to_string(),
        }
    }
}

/// Every provider call started in the window (`ai_runs`: drafts and
/// embeddings, failed calls included).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AiUsage {
    pub runs: i64,
    pub failed_runs: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub decisions: i64,
}

/// `a / b`, or `None` when there is nothing to divide.
pub fn rate(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The lower bound of bucket `i`.
pub fn bucket_from(i: usize) -> f64 {
    i as f64 / BUCKETS as f64
}

fn empty_buckets() -> Vec<Bucket> {
    (0..BUCKETS)
        .map(|i| Bucket {
            from: bucket_from(i),
            to: bucket_from(i + 1),
            ..Bucket::default()
        })
        .collect()
}

impl Summary {
    fn empty() -> Summary {
        Summary {
            by_confidence: empty_buckets(),
            ..Summary::default()
        }
    }

    /// Fill in the ratios once the counts are in.
    fn finish(&mut self, edit_sum: i64, edit_n: i64) {
        let d = &mut self.drafts;
        d.decided = d.approved + d.edited + d.rejected;
        d.approval_rate = rate(d.approved, d.decided);
        d.acceptance_rate = rate(d.approved + d.edited, d.decided);
        d.mean_edit_distance = rate(edit_sum, edit_n);
        for b in &mut self.by_confidence {
            b.decided = b.approved + b.edited + b.rejected;
            b.approval_rate = rate(b.approved, b.decided);
            b.acceptance_rate = rate(b.approved + b.edited, b.decided);
        }
        let r = &mut self.responses;
        r.response_rate = rate(r.replied, r.conversations);
    }
}

/// One ordered pass over the timeline of every conversation with an inbound
/// message in the window (`last_inbound_at` finds them without reading
/// messages). `wait_started_at` is the start of the latest wait so far;
/// an outbound message right after an inbound one ends that wait.
const RESPONSES_SQL: &str = "
WITH timeline AS (
  SELECT c.owner_rep_id, m.conversation_id, m.seq, m.direction, m.sent_at,
         lag(m.direction) OVER w AS prev_direction,
         lead(m.seq) OVER w IS NULL AS is_last
  FROM conversations c
  JOIN messages m ON m.conversation_id = c.id
  WHERE c.last_inbound_at >= $1 AND ($2::int8 IS NULL OR c.owner_rep_id = $2)
  WINDOW w AS (PARTITION BY m.conversation_id ORDER BY m.seq)
), waits AS (
  SELECT owner_rep_id, direction, sent_at, prev_direction, is_last,
         max(sent_at) FILTER (WHERE direction = 'inbound'
                                AND prev_direction IS DISTINCT FROM 'inbound') OVER w
           AS wait_started_at,
         min(seq) FILTER (WHERE direction = 'inbound' AND sent_at >= $1) OVER w
           AS first_inbound_seq,
         max(seq) FILTER (WHERE direction = 'outbound') OVER w AS last_outbound_seq
  FROM timeline
  WINDOW w AS (PARTITION BY conversation_id ORDER BY seq)
), facts AS (
  SELECT owner_rep_id,
         is_last AND first_inbound_seq IS NOT NULL AS asked,
         is_last AND last_outbound_seq > first_inbound_seq AS answered,
         CASE WHEN direction = 'outbound' AND prev_direction = 'inbound'
                   AND wait_started_at >= $1
              THEN greatest(extract(epoch FROM sent_at - wait_started_at), 0)::float8
         END AS reply_secs
  FROM waits
  WHERE is_last OR (direction = 'outbound' AND prev_direction = 'inbound')
)
SELECT GROUPING(owner_rep_id) = 1 AS is_total, owner_rep_id,
       count(*) FILTER (WHERE asked) AS conversations,
       count(*) FILTER (WHERE answered) AS replied,
       count(reply_secs) AS timed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY reply_secs) AS median_secs,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY reply_secs) AS p90_secs
FROM facts
GROUP BY GROUPING SETS ((), (owner_rep_id))";

/// Decisions taken in the window, by rep, confidence bucket and UTC day;
/// the totals are sums of these rows. `confidence` is a `real`: through
/// numeric, 0.6 lands in the 0.6 bucket, not just below it.
const DECISIONS_SQL: &str = "
SELECT s.decided_by,
       least(floor(s.confidence::numeric * 5), 4)::int4 AS bucket,
       (s.decided_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE s.status = 'approved') AS approved,
       count(*) FILTER (WHERE s.status = 'edited') AS edited,
       count(*) FILTER (WHERE s.status = 'rejected') AS rejected,
       coalesce(sum(s.edit_distance) FILTER (WHERE s.status = 'edited'), 0)::int8 AS edit_sum,
       count(s.edit_distance) FILTER (WHERE s.status = 'edited') AS edit_n
FROM suggestions s
WHERE s.decided_at >= $1 AND s.status IN ('approved', 'edited', 'rejected')
  AND ($2::int8 IS NULL OR s.decided_by = $2)
GROUP BY 1, 2, 3";

const REASONS_SQL: &str = "
WITH rejected AS (
  SELECT s.decided_by, s.rejection_reason AS reason,
         CASE WHEN s.rejection_reason = 'other'
              THEN nullif(left(lower(btrim(s.rejection_note)), 80), '') END AS note
  FROM suggestions s
  WHERE s.decided_at >= $1 AND s.status = 'rejected'
    AND ($2::int8 IS NULL OR s.decided_by = $2)
), grouped AS (
  SELECT GROUPING(decided_by) = 1 AS is_total, decided_by, reason, note, count(*) AS n
  FROM rejected
  GROUP BY GROUPING SETS ((reason, note), (decided_by, reason, note))
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY is_total, decided_by
                               ORDER BY n DESC, reason, note NULLS FIRST) AS rank
  FROM grouped
)
SELECT is_total, decided_by, reason, note, n FROM ranked
WHERE rank <= $3
ORDER BY is_total, decided_by, rank";

/// Drafts created in the window, by the conversation's owner.
const SHOWN_SQL: &str = "
SELECT c.owner_rep_id,
       count(*) AS shown,
       count(*) FILTER (WHERE s.status = 'pending') AS pending,
       count(*) FILTER (WHERE s.status = 'superseded') AS superseded,
       coalesce(sum(s.prompt_tokens), 0)::int8 AS prompt_tokens,
       coalesce(sum(s.completion_tokens), 0)::int8 AS completion_tokens,
       coalesce(sum(s.cost_usd), 0)::float8 AS cost_usd
FROM suggestions s
JOIN conversations c ON c.id = s.conversation_id
WHERE s.created_at >= $1 AND ($2::int8 IS NULL OR c.owner_rep_id = $2)
GROUP BY 1";

/// Provider calls in the window; calls for no conversation (embedding
/// batches) count in the total only.
const AI_SQL: &str = "
SELECT c.owner_rep_id,
       count(*) AS runs,
       count(*) FILTER (WHERE a.status = 'error') AS failed,
       coalesce(sum(a.prompt_tokens), 0)::int8 AS prompt_tokens,
       coalesce(sum(a.completion_tokens), 0)::int8 AS completion_tokens,
       coalesce(sum(a.cost_usd), 0)::float8 AS cost_usd
FROM ai_runs a
LEFT JOIN conversations c ON c.id = a.conversation_id
WHERE a.created_at >= $1 AND ($2::int8 IS NULL OR c.owner_rep_id = $2)
GROUP BY 1";

const EVENTS_SQL: &str = "
SELECT rep_id,
       count(*) FILTER (WHERE kind = 'reply.composed') AS composed,
       count(*) FILTER (WHERE kind = 'reply.undone') AS undone
FROM events
WHERE at >= $1 AND kind IN ('reply.composed', 'reply.undone')
  AND ($2::int8 IS NULL OR rep_id = $2)
GROUP BY 1";

/// Running sums per rep (and the total) while the rows come in.
#[derive(Default)]
struct Acc {
    summary: Option<Summary>,
    edit_sum: i64,
    edit_n: i64,
}

impl Acc {
    fn summary(&mut self) -> &mut Summary {
        self.summary.get_or_insert_with(Summary::empty)
    }
}

fn add_ai(acc: &mut Acc, f: impl Fn(&mut AiUsage)) {
    f(acc.summary().ai.get_or_insert_with(AiUsage::default));
}

/// Compute the stats for `[since, now]`, limited to one rep when `rep_id`
/// is given.
pub async fn compute(
    client: &mut tokio_postgres::Client,
    since: DateTime<Utc>,
    rep_id: Option<i64>,
) -> Result<Stats, DbError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // Big sorts stay in memory; JIT costs more than it saves here.
    tx.batch_execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        .await?;
    let head = tx
        .query_one(
            "SELECT now(), has_table_privilege('ai_runs', 'SELECT'),
                    (SELECT email FROM reps WHERE id = $1)",
            &[&rep_id],
        )
        .await?;
    let until: DateTime<Utc> = head.get(0);
    let may_read_ai: bool = head.get(1);
    let rep_email: Option<String> = head.get(2);
    let p: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&since, &rep_id];
    let top = TOP_REASONS as i64;
    let p3: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&since, &rep_id, &top];
    // One round trip: the statements are pipelined on the connection.
    let (responses, decisions, reasons, shown, events) = futures::try_join!(
        tx.query(RESPONSES_SQL, &p),
        tx.query(DECISIONS_SQL, &p),
        tx.query(REASONS_SQL, &p3),
        tx.query(SHOWN_SQL, &p),
        tx.query(EVENTS_SQL, &p),
    )?;
    let ai = if may_read_ai {
        Some(tx.query(AI_SQL, &p).await?)
    } else {
        None
    };

    let mut total = Acc::default();
    total.summary();
    let mut reps: BTreeMap<Option<i64>, Acc> = BTreeMap::new();
    let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();

    for r in &responses {
        let acc = if r.get::<_, bool>("is_total") {
            &mut total
        } else {
            reps.entry(r.get("owner_rep_id")).or_default()
        };
        let s = &mut acc.summary().responses;
        s.conversations = r.get("conversations");
        s.replied = r.get("replied");
        s.replies_timed = r.get("timed");
        s.median_reply_secs = r.get("median_secs");
        s.p90_reply_secs = r.get("p90_secs");
    }
    for r in &decisions {
        let bucket = usize::try_from(r.get::<_, i32>("bucket"))
            .unwrap_or(0)
            .min(BUCKETS - 1);
        let (a, e, x): (i64, i64, i64) = (r.get("approved"), r.get("edited"), r.get("rejected"));
        let (edit_sum, edit_n): (i64, i64) = (r.get("edit_sum"), r.get("edit_n"));
        *per_day.entry(r.get("day")).or_default() += a + e + x;
        for acc in [&mut total, reps.entry(r.get("decided_by")).or_default()] {
            acc.edit_sum += edit_sum;
            acc.edit_n += edit_n;
            let s = acc.summary();
            s.drafts.approved += a;
            s.drafts.edited += e;
            s.drafts.rejected += x;
            let b = &mut s.by_confidence[bucket];
            b.approved += a;
            b.edited += e;
            b.rejected += x;
        }
    }
    for r in &reasons {
        let acc = if r.get::<_, bool>("is_total") {
            &mut total
        } else {
            reps.entry(r.get("decided_by")).or_default()
        };
        acc.summary().top_rejection_reasons.push(ReasonCount {
            reason: r.get("reason"),
            note: r.get("note"),
            count: r.get("n"),
        });
    }
    for r in &shown {
        let (n, pending, superseded): (i64, i64, i64) =
            (r.get("shown"), r.get("pending"), r.get("superseded"));
        let (pt, ct, cost): (i64, i64, f64) = (
            r.get("prompt_tokens"),
            r.get("completion_tokens"),
            r.get("cost_usd"),
        );
        for acc in [&mut total, reps.entry(r.get("owner_rep_id")).or_default()] {
            let d = &mut acc.summary().drafts;
            d.shown += n;
            d.pending += pending;
            d.superseded += superseded;
            d.prompt_tokens += pt;
            d.completion_tokens += ct;
            d.cost_usd += cost;
        }
    }
    for r in &events {
        let (composed, undone): (i64, i64) = (r.get("composed"), r.get("undone"));
        for acc in [&mut total, reps.entry(r.get("rep_id")).or_default()] {
            let d = &mut acc.summary().drafts;
            d.composed += composed;
            d.undone += undone;
        }
    }
    for r in ai.iter().flatten() {
        let (runs, failed, pt, ct, cost): (i64, i64, i64, i64, f64) = (
            r.get("runs"),
            r.get("failed"),
            r.get("prompt_tokens"),
            r.get("completion_tokens"),
            r.get("cost_usd"),
        );
        let add = |ai: &mut AiUsage| {
            ai.runs += runs;
            ai.failed_runs += failed;
            ai.prompt_tokens += pt;
            ai.completion_tokens += ct;
            ai.cost_usd += cost;
        };
        add_ai(&mut total, add);
        // Calls for no conversation (or an unassigned one) have no rep to charge.
        let owner: Option<i64> = r.get("owner_rep_id");
        if owner.is_some() {
            add_ai(reps.entry(owner).or_default(), add);
        }
    }

    let ids: Vec<i64> = reps.keys().flatten().copied().collect();
    let names = tx
        .query(
            "SELECT id, email, display_name FROM reps WHERE id = ANY($1)",
            &[&ids],
        )
        .await?;
    tx.commit().await?;
    let names: BTreeMap<i64, (String, String)> = names
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();

    let finish = |mut acc: Acc| {
        let mut s = acc.summary.take().unwrap_or_else(Summary::empty);
        s.finish(acc.edit_sum, acc.edit_n);
        if may_read_ai && s.ai.is_none() {
            s.ai = Some(AiUsage::default());
        }
        s
    };
    let mut rep_rows: Vec<RepSummary> = reps
        .into_iter()
        .map(|(id, acc)| {
            let (email, name) = match id.and_then(|i| names.get(&i)) {
                Some((email, name)) => (Some(email.clone()), name.clone()),
                None if id.is_some() => (None, "(deleted rep)".to_string()),
                None => (None, "(unassigned)".to_string()),
            };
            RepSummary {
                rep_id: id,
                email,
                name,
                summary: finish(acc),
            }
        })
        .collect();
    rep_rows.sort_by(|a, b| {
        (
            a.rep_id.is_none(),
            a.email.as_deref().map(str::to_lowercase),
        )
            .cmp(&(
                b.rep_id.is_none(),
                b.email.as_deref().map(str::to_lowercase),
            ))
    });

    Ok(Stats {
        since,
        until,
        rep: rep_id.map(|_| rep_email.unwrap_or_default()),
        total: finish(total),
        decisions_per_day: days(since, until, &per_day),
        reps: rep_rows,
    })
}

/// Every UTC day from `since` to `until`, with its count (0 if none).
fn days(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    counts: &BTreeMap<NaiveDate, i64>,
) -> Vec<DayCount> {
    let (first, last) = (since.date_naive(), until.date_naive());
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        out.push(DayCount {
            day,
            decisions: counts.get(&day).copied().unwrap_or(0),
        });
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}
