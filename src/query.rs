//! The search language of `replydesk search` and the `/` overlay: free
//! words in websearch syntax (`bike "road bike" or trek -kids`) next to
//! notmuch-style operators.
//!
//! | operator | matches |
//! |---|---|
//! | `from:ADDR` `to:ADDR` | a message from / to that address (`dana@x.com`), anyone at a domain (`@x.com` or `x.com`), or an address that starts with a word (`dana`) |
//! | `lead:WHO` | conversations whose lead's address is like the above, or whose name contains the word (`lead:kevin`, `lead:"Kevin Lee"`) |
//! | `rep:WHO` | conversations owned by a rep (address, start of address, or a word of the name); `rep:me` is you, `rep:none` nobody |
//! | `status:S` | `needs-reply`, `waiting`, `active`, `archived` |
//! | `date:WHEN` | a message sent then: `2025-03-01`, `2025-03`, `2025`, `A..B` (both ends included, either may be left out), or back from now: `30d`, `12h`, `2w`, `90m` |
//! | `subject:WORDS` | the words in a message's subject (`subject:"road bike"`) |
//!
//! The same operator given twice matches either value (`status:waiting
//! status:active`); different operators must all match. Values with spaces
//! are quoted. A word with a colon that is not an operator (`10:30`,
//! `http://…`) is searched as text.

use crate::db::ConversationStatus;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// An address pattern of `from:`, `to:`, `lead:` and `rep:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `dana@x.com`: exactly this address (lowercased).
    Exact(String),
    /// `@x.com` or `x.com`: anyone at this domain (lowercased, no `@`).
    Domain(String),
    /// `dana`: an address that starts with this (lowercased); for `lead:`
    /// and `rep:` also a name that contains it.
    Word(String),
}

impl Addr {
    fn parse(value: &str) -> Addr {
        let v = value.trim().to_lowercase();
        if let Some(domain) = v.strip_prefix('@') {
            Addr::Domain(domain.to_string())
        } else if v.contains('@') {
            Addr::Exact(v)
        } else if v.contains('.') && !v.contains(' ') {
            Addr::Domain(v)
        } else {
            Addr::Word(v)
        }
    }
}

/// Who `rep:` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepPattern {
    /// `rep:me`: the rep running the search.
    Me,
    /// `rep:none`: nobody owns it.
    Nobody,
    Is(Addr),
}

/// `[since, until)`, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// Free words, websearch syntax, as typed (may be empty).
    pub text: String,
    pub subject: Vec<String>,
    pub from: Vec<Addr>,
    pub to: Vec<Addr>,
    pub lead: Vec<Addr>,
    pub rep: Vec<RepPattern>,
    pub status: Vec<ConversationStatus>,
    /// Several `date:` operators: all must hold (their intersection).
    pub date: Option<DateRange>,
}

impl Query {
    /// Nothing to look for at all.
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && !self.has_operators()
    }

    pub fn has_operators(&self) -> bool {
        !(self.subject.is_empty()
            && self.from.is_empty()
            && self.to.is_empty()
            && self.lead.is_empty()
            && self.rep.is_empty()
            && self.status.is_empty()
            && self.date.is_none())
    }

    /// Operators that pick messages (not whole conversations): the
    /// semantic half of a search cannot apply them.
    pub fn has_message_operators(&self) -> bool {
        !(self.subject.is_empty()
            && self.from.is_empty()
            && self.to.is_empty()
            && self.date.is_none())
    }

    /// Words or `subject:` to rank by; without them results come newest first.
    pub fn has_text(&self) -> bool {
        !self.text.trim().is_empty() || !self.subject.is_empty()
    }
}

/// How to write each operator, for the one-line errors.
pub const USAGE: &str =
    "operators: from: to: lead: rep: status: date: subject: (see replydesk search --help)";

/// Parse `input`; `now` anchors `date:30d`. The error is one line.
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<Query, String> {
    let mut q = Query::default();
    let mut words: Vec<String> = Vec::new();
    for token in tokens(input) {
        let Some((op, value)) = operator(&token) else {
            words.push(token);
            continue;
        };
        let value = unquote(value);
        if value.trim().is_empty() {
            return Err(format!("\"{op}:\" needs a value, e.g. {}", example(op)));
        }
        match op {
            "from" => q.from.push(Addr::parse(&value)),
            "to" => q.to.push(Addr::parse(&value)),
            "lead" => q.lead.push(Addr::parse(&value)),
            "rep" => q.rep.push(match value.trim().to_lowercase().as_str() {
                "me" => RepPattern::Me,
                "none" | "nobody" | "unassigned" => RepPattern::Nobody,
                _ => RepPattern::Is(Addr::parse(&value)),
            }),
            "status" => q.status.push(status(&value)?),
            "subject" => q.subject.push(value.trim().to_string()),
            "date" => {
                let r = date(&value, now)?;
                q.date = Some(match q.date {
                    None => r,
                    Some(old) => DateRange {
                        since: later(old.since, r.since),
                        until: earlier(old.until, r.until),
                    },
                });
            }
            _ => words.push(token),
        }
    }
    q.text = words.join(" ");
    Ok(q)
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn earlier(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn example(op: &str) -> &'static str {
    match op {
        "from" | "to" => "from:dana@example.com or from:example.com",
        "lead" => "lead:kevin",
        "rep" => "rep:dana or rep:me",
        "status" => "status:waiting",
        "date" => "date:30d or date:2025-03-01..2025-03-31",
        _ => "subject:\"road bike\"",
    }
}

/// Whitespace-separated tokens; a double-quoted stretch (`"a b"`,
/// `subject:"a b"`) stays in one token with its quotes.
fn tokens(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `op:value` for a known operator (case-insensitive name).
fn operator(token: &str) -> Option<(&'static str, &str)> {
    let (name, value) = token.split_once(':')?;
    let op = match name.to_ascii_lowercase().as_str() {
        "from" => "from",
        "to" => "to",
        "lead" => "lead",
        "rep" => "rep",
        "status" => "status",
        "date" => "date",
        "subject" => "subject",
        _ => return None,
    };
    Some((op, value))
}

fn unquote(v: &str) -> String {
    v.trim_matches('"').to_string()
}

fn status(v: &str) -> Result<ConversationStatus, String> {
    let norm = v.trim().to_lowercase().replace(['-', ' '], "_");
    ConversationStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == norm)
        .ok_or_else(|| {
            format!(
                "unknown status \"{}\": use status:needs-reply, waiting, active or archived",
                crate::text::sanitize_line(v)
            )
        })
}

/// `date:` values; see the module table.
fn date(v: &str, now: DateTime<Utc>) -> Result<DateRange, String> {
    let v = v.trim();
    let bad = || {
        format!(
            "cannot read date \"{}\": use date:2025-03-01, date:2025-03, date:2025-03-01..2025-03-31, date:..2025-03-31 or date:30d",
            crate::text::sanitize_line(v)
        )
    };
    if let Some((a, b)) = v.split_once("..") {
        let since = if a.is_empty() {
            None
        } else {
            Some(span(a).ok_or_else(bad)?.0)
        };
        let until = if b.is_empty() {
            None
        } else {
            Some(span(b).ok_or_else(bad)?.1)
        };
        if since.is_none() && until.is_none() {
            return Err(bad());
        }
        return Ok(DateRange { since, until });
    }
    if let Some((since, until)) = span(v) {
        return Ok(DateRange {
            since: Some(since),
            until: Some(until),
        });
    }
    let since = crate::ops::stats::parse_since(v, now).map_err(|_| bad())?;
    Ok(DateRange {
        since: Some(since),
        until: None,
    })
}

/// A calendar day, month or year as `[start, end)` in UTC.
fn span(v: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some((day(d)?, day(d.succ_opt()?)?));
    }
    let parts: Vec<&str> = v.split('-').collect();
    let num = |s: &str| -> Option<i32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m] if y.len() == 4 => {
            let (y, m) = (num(y)?, u32::try_from(num(m)?).ok()?);
            let start = NaiveDate::from_ymd_opt(y, m, 1)?;
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)?
            };
            Some((day(start)?, day(next)?))
        }
        [y] if y.len() == 4 => {
            let y = num(y)?;
            let start = NaiveDate::from_ymd_opt(y, 1, 1)?;
            let next = start.with_year(y + 1)?;
            Some((day(start)?, day(next)?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 15, 12, 0, 0).unwrap()
    }

    fn p(s: &str) -> Query {
        parse(s, now()).unwrap()
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn words_stay_websearch_text() {
        let q = p("\"road bike\" or trek -kids");
        assert_eq!(q.text, "\"road bike\" or trek -kids");
        assert!(!q.has_operators());
        assert!(q.has_text());
    }

    #[test]
    fn address_patterns() {
        let q = p("from:Dana@Example.com to:@shop.example lead:kevin from:northgate.example");
        assert_eq!(
            q.from,
            vec![
                Addr::Exact("dana@example.com".into()),
                Addr::Domain("northgate.example".into())
            ]
        );
        assert_eq!(q.to, vec![Addr::Domain("shop.example".into())]);
        assert_eq!(q.lead, vec![Addr::Word("kevin".into())]);
        assert_eq!(q.text, "");
        assert!(!q.has_text());
        assert!(q.has_message_operators());
    }

    #[test]
    fn quoted_values_and_mixed_words() {
        let q = p("price lead:\"Kevin Lee\" subject:\"road bike\" STATUS:Needs-Reply");
        assert_eq!(q.text, "price");
        assert_eq!(q.lead, vec![Addr::Word("kevin lee".into())]);
        assert_eq!(q.subject, vec!["road bike".to_string()]);
        assert_eq!(q.status, vec![ConversationStatus::NeedsReply]);
    }

    #[test]
    fn rep_me_and_nobody() {
        let q = p("rep:me rep:none rep:dana");
        assert_eq!(
            q.rep,
            vec![
                RepPattern::Me,
                RepPattern::Nobody,
                RepPattern::Is(Addr::Word("dana".into()))
            ]
        );
    }

    #[test]
    fn colons_that_are_not_operators_are_words() {
        let q = p("meet at 10:30 http://x.example/a");
        assert_eq!(q.text, "meet at 10:30 http://x.example/a");
        assert!(!q.has_operators());
    }

    #[test]
    fn dates() {
        let q = p("date:2025-03-01");
        assert_eq!(
            q.date,
            Some(DateRange {
                since: Some(at(2025, 3, 1)),
                until: Some(at(2025, 3, 2))
            })
        );
        let q = p("date:2025-03-01..2025-03-31");
        assert_eq!(q.date.unwrap().until, Some(at(2025, 4, 1)));
        let q = p("date:2024-12");
        assert_eq!(
            q.date,
            Some(DateRange {
                since: Some(at(2024, 12, 1)),
                until: Some(at(2025, 1, 1))
            })
        );
        let q = p("date:..2025");
        assert_eq!(
            q.date,
            Some(DateRange {
                since: None,
                until: Some(at(2026, 1, 1))
            })
        );
        let q = p("date:30d");
        assert_eq!(q.date.unwrap().since, Some(now() - Duration::days(30)));
        assert_eq!(q.date.unwrap().until, None);
        // Two date operators intersect.
        let q = p("date:2025 date:2025-03..");
        assert_eq!(
            q.date,
            Some(DateRange {
                since: Some(at(2025, 3, 1)),
                until: Some(at(2026, 1, 1))
            })
        );
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for bad in [
            "status:pending",
            "date:yesterday",
            "date:..",
            "from:",
            "date:2025-13",
        ] {
            let e = parse(bad, now()).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
            assert!(e.contains(':'), "{e}");
        }
        assert!(
            parse("status:nope", now())
                .unwrap_err()
                .contains("needs-reply")
        );
    }

    #[test]
    fn empty() {
        assert!(p("   ").is_empty());
        assert!(!p("status:waiting").is_empty());
    }
}
