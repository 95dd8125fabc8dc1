//! `replydesk stats [--since 30d] [--rep EMAIL] [--json]`: response times,
//! draft decisions by confidence, rejection reasons and AI cost, per rep and
//! in total, as aligned tables or one JSON object. The numbers and their
//! exact definitions are in [`crate::db::stats`].

use crate::cli::StatsArgs;
use crate::commands::{AppError, Context};
use crate::db::stats::{self, Stats, Summary};
use crate::db::{self, error::human_time};
use crate::text::{display_width, sanitize_line, truncate_to_width};
use chrono::{DateTime, Duration, NaiveDate, Utc};

const SINCE_USAGE: &str = "expected a duration back from now (30d, 12h, 2w, 90m) or a date (2025-03-01, 2025-03-01T09:00:00Z)";

/// Parse `--since`: `30d`, `12h`, `2w`, `90m` back from `now`, a date
/// (midnight UTC) or an RFC 3339 time. The error is one line.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let bad = || format!("--since \"{}\": {SINCE_USAGE}", sanitize_line(s));
    let since = if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic)
        && s.len() > 1
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        let n: i64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let span = match unit {
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        }
        .filter(|d| *d > Duration::zero())
        .ok_or_else(bad)?;
        now.checked_sub_signed(span).ok_or_else(bad)?
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc()
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else {
        return Err(bad());
    };
    if since > now {
        return Err(format!(
            "--since \"{}\" is in the future: give a past date or a duration like 30d",
            sanitize_line(s)
        ));
    }
    Ok(since)
}

/// "45s", "4m 10s", "2h 5m", "3d 4h".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// "89.1%", or "-" when there was nothing to count.
pub fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn opt_duration(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".to_string(), duration)
}

/// A table whose first column is left-aligned text and the rest right-aligned.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| display_width(s))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for r in &self.rows {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                let pad = " ".repeat(widths[c].saturating_sub(display_width(cell)));
                if c == 0 {
                    line.push_str(cell);
                    line.push_str(&pad);
                } else {
                    line.push_str("  ");
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// Who a row is about, safe to print and at most 24 columns.
fn who(name: &str) -> String {
    truncate_to_width(&sanitize_line(name), 24)
}

/// The rows of a per-rep table: each rep, then the total (only the total
/// when the stats are for one rep already).
fn rows(stats: &Stats) -> Vec<(String, &Summary)> {
    let mut out: Vec<(String, &Summary)> = Vec::new();
    if stats.rep.is_none() {
        for r in &stats.reps {
            out.push((who(&r.name), &r.summary));
        }
    }
    let total = match &stats.rep {
        Some(email) => who(email),
        None => "total".to_string(),
    };
    out.push((total, &stats.total));
    out
}

/// The readable report.
pub fn render(stats: &Stats) -> String {
    let mut out = String::new();
    let days = (stats.until - stats.since).num_seconds() as f64 / 86_400.0;
    out.push_str(&format!(
        "Stats from {} to {} ({:.1} days), {}\n\n",
        human_time(stats.since),
        human_time(stats.until),
        days,
        match &stats.rep {
            Some(email) => format!("rep {}", sanitize_line(email)),
            None => "all reps".to_string(),
        }
    ));
    let rows = rows(stats);

    let mut t = Table::new(&[
        "Responses",
        "conversations",
        "replied",
        "rate",
        "timed",
        "median",
        "p90",
    ]);
    for (name, s) in &rows {
        let r = &s.responses;
        t.row(vec![
            name.clone(),
            r.conversations.to_string(),
            r.replied.to_string(),
            percent(r.response_rate),
            r.replies_timed.to_string(),
            opt_duration(r.median_reply_secs),
            opt_duration(r.p90_reply_secs),
        ]);
    }
    t.render(&mut out);
    out.push('\n');

    let mut t = Table::new(&[
        "Drafts", "shown", "decided", "as-is", "edited", "rejected", "as-is%", "used%", "edit",
        "own", "undone",
    ]);
    for (name, s) in &rows {
        let d = &s.drafts;
        t.row(vec![
            name.clone(),
            d.shown.to_string(),
            d.decided.to_string(),
            d.approved.to_string(),
            d.edited.to_string(),
            d.rejected.to_string(),
            percent(d.approval_rate),
            percent(d.acceptance_rate),
            d.mean_edit_distance
                .map_or_else(|| "-".to_string(), |e| format!("{e:.1}")),
            d.composed.to_string(),
            d.undone.to_string(),
        ]);
    }
    t.render(&mut out);
    out.push_str(
        "as-is% = sent unchanged / decided · used% = sent unchanged or edited / decided\n\
         edit = mean edit distance (characters) · own = replies written from scratch\n\n",
    );

    let mut t = Table::new(&[
        "Confidence",
        "decided",
        "as-is",
        "edited",
        "rejected",
        "as-is%",
        "used%",
    ]);
    for b in &stats.total.by_confidence {
        t.row(vec![
            format!("{:.1}–{:.1}", b.from, b.to),
            b.decided.to_string(),
            b.approved.to_string(),
            b.edited.to_string(),
            b.rejected.to_string(),
            percent(b.approval_rate),
            percent(b.acceptance_rate),
        ]);
    }
    t.render(&mut out);
    out.push('\n');

    out.push_str("Top rejection reasons\n");
    if stats.total.top_rejection_reasons.is_empty() {
        out.push_str("  (none)\n");
    }
    let count_w = stats
        .total
        .top_rejection_reasons
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(1);
    for r in &stats.total.top_rejection_reasons {
        out.push_str(&format!(
            "  {:>count_w$}  {}\n",
            r.count,
            truncate_to_width(&sanitize_line(&r.label()), 70)
        ));
    }
    out.push('\n');

    let mut t = Table::new(&[
        "AI",
        "calls",
        "failed",
        "tokens in",
        "tokens out",
        "cost",
        "drafts cost",
    ]);
    for (name, s) in &rows {
        let d = &s.drafts;
        let (calls, failed, tin, tout, cost) = match &s.ai {
            Some(a) => (
                a.runs.to_string(),
                a.failed_runs.to_string(),
                a.prompt_tokens.to_string(),
                a.completion_tokens.to_string(),
                format!("${:.2}", a.cost_usd),
            ),
            None => Default::default(),
        };
        t.row(vec![
            name.clone(),
            calls,
            failed,
            tin,
            tout,
            cost,
            format!("${:.2}", d.cost_usd),
        ]);
    }
    t.render(&mut out);
    if stats.total.ai.is_none() {
        out.push_str(
            "(this database login may not read ai_runs: calls and their cost are not shown)\n",
        );
    }
    out
}

pub async fn run(ctx: &Context, rep: Option<&str>, args: &StatsArgs) -> Result<(), AppError> {
    let since = parse_since(&args.since, Utc::now()).map_err(AppError::Usage)?;
    let pool = ctx.bounded("connecting", db::connect(&ctx.db)).await?;
    let mut client = ctx.bounded("a connection", db::pool::client(&pool)).await?;
    let rep_id = match rep {
        Some(email) => Some(
            ctx.bounded(
                "looking up the rep",
                db::reps::find_by_email(&**client, email),
            )
            .await?
            .id,
        ),
        None => None,
    };
    let stats = ctx
        .bounded("the statistics", stats::compute(&mut client, since, rep_id))
        .await?;
    let mut out = crate::out::Out::stdout();
    if args.json {
        let json = serde_json::to_string(&stats).map_err(|e| {
            AppError::Io(std::io::Error::other(format!(
                "cannot write the stats as JSON: {e}"
            )))
        })?;
        out.line(json)?;
    } else {
        out.line(render(&stats).trim_end())?;
    }
    Ok(out.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 15, 9, 26)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn since_accepts_durations_dates_and_times() {
        let n = now();
        assert_eq!(parse_since("30d", n), Ok(n - Duration::days(30)));
        assert_eq!(parse_since("12h", n), Ok(n - Duration::hours(12)));
        assert_eq!(parse_since("2w", n), Ok(n - Duration::weeks(2)));
        assert_eq!(parse_since("90m", n), Ok(n - Duration::minutes(90)));
        assert_eq!(
            parse_since("2025-03-01", n),
            Ok(Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            parse_since("2025-03-01T09:30:00+01:00", n),
            Ok(Utc.with_ymd_and_hms(2025, 3, 1, 8, 30, 0).unwrap())
        );
    }

    #[test]
    fn since_refuses_nonsense_in_one_line() {
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "0d",
            "3.5d",
            "yesterday",
            "2025-13-01",
            "2099-01-01",
            "99999999999999999999d",
            "9999999999999d",
        ] {
            let e = parse_since(bad, now()).expect_err(bad);
            assert!(e.starts_with("--since"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(45.4), "45s");
        assert_eq!(duration(250.0), "4m 10s");
        assert_eq!(duration(7500.0), "2h 5m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0 + 59.0), "3d 4h");
        assert_eq!(percent(Some(0.8913)), "89.1%");
        assert_eq!(percent(None), "-");
    }
}
