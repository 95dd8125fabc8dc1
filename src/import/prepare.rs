//! From a reader's record to a staged row plus what threading and planning
//! need, or the one-line reason PostgreSQL would refuse it. Everything a
//! single record could make the COPY or the merge fail on is checked here,
//! so one bad record never sinks its batch.

use super::{scoped_key, thread};
use crate::db::Direction;
use crate::db::import::{Columns, Encoded, StageRow};
use crate::mail::{MailRecord, Position};
use chrono::{DateTime, Datelike, Utc};
use std::collections::HashSet;

/// Longest source, in bytes (part of a unique index entry).
const MAX_SOURCE_BYTES: usize = 200;
/// Longest external id, Message-ID or conversation key, in bytes: btree
/// entries must fit a third of a page (2704 bytes) with the rest of the key.
const MAX_ID_BYTES: usize = 1000;
/// Longest lead address (leads are looked up by it through an index).
pub(super) const MAX_ADDRESS_BYTES: usize = 320;

/// The team: the reps' addresses, `import.team_addresses`, the
/// `import.team_domains` (each with its subdomains) and what earlier
/// imports found (see [`super::team`]). Mail from the team is outbound.
#[derive(Debug, Clone, Default)]
pub struct Team {
    addresses: HashSet<String>,
    /// Lowercased, without the `@`.
    domains: Vec<String>,
}

impl Team {
    /// The reps' addresses and `extra` ones; an `extra` entry `@domain`
    /// stands for the whole domain.
    pub fn new(reps: impl IntoIterator<Item = String>, extra: &[String]) -> Team {
        let mut team = Team::default();
        for a in reps.into_iter().chain(extra.iter().cloned()) {
            team.add(&a);
        }
        team
    }

    /// Also every address at these domains and their subdomains.
    pub fn with_domains(mut self, domains: &[String]) -> Team {
        for d in domains {
            self.add(&format!("@{}", d.trim().trim_start_matches('@')));
        }
        self
    }

    /// An address, or `@domain` for a domain.
    pub fn add(&mut self, entry: &str) {
        let entry = entry.trim().to_lowercase();
        match entry.strip_prefix('@') {
            Some(domain) if !domain.is_empty() && !self.domains.iter().any(|d| d == domain) => {
                self.domains.push(domain.to_owned());
            }
            Some(_) => {}
            None if !entry.is_empty() => {
                self.addresses.insert(entry);
            }
            None => {}
        }
    }

    pub fn contains(&self, address: &str) -> bool {
        let address = address.trim();
        let lower;
        let address = if address.chars().any(char::is_uppercase) {
            lower = address.to_lowercase();
            lower.as_str()
        } else {
            address
        };
        self.addresses.contains(address)
            || (!self.domains.is_empty()
                && address
                    .rsplit_once('@')
                    .is_some_and(|(_, domain)| self.covers_domain(domain)))
    }

    /// Whether `domain` is a team domain or under one.
    pub fn covers_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| {
            domain == d
                || (domain.len() > d.len()
                    && domain.ends_with(d.as_str())
                    && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
        })
    }
}

/// What the import keeps in memory about a staged record (the bodies go to
/// PostgreSQL and are not kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The item's index in the input (for reporting in input order).
    pub index: u64,
    pub position: Position,
    pub source: String,
    /// As written, for a new conversation's subject.
    pub subject: String,
    pub from_name: Option<String>,
    pub lead_name: Option<String>,
    pub lead_phone: Option<String>,
}

/// Check `record`, encode its staged row into `out`, and keep what
/// threading and planning need (moved out of the record, not copied); or
/// say why it cannot be stored (then nothing is encoded).
pub fn prepare(
    record: MailRecord,
    row_no: i64,
    team: &Team,
    out: &mut Encoded,
    columns: &Columns,
) -> Result<(Kept, thread::Message), String> {
    check(&record)?;
    let direction = record.direction.unwrap_or_else(|| {
        if team.contains(&record.from_addr) {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    });
    let lead = lead_address(&record, direction, team);
    if let Some(address) = &lead
        && address.len() > MAX_ADDRESS_BYTES
    {
        return Err(format!(
            "the lead's address is {} bytes long, more than {MAX_ADDRESS_BYTES}",
            address.len()
        ));
    }
    let key = record
        .conversation_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| scoped_key(&record.source, k));
    if key.as_ref().is_some_and(|k| k.len() > MAX_ID_BYTES) {
        return Err(format!(
            "the conversation key is longer than {MAX_ID_BYTES} bytes"
        ));
    }
    stage(&record, row_no, direction, out, columns)?;
    let subject = super::subject::normalize(&record.subject);
    let thread = thread::Message {
        id: record.message_id.unwrap_or(record.external_id),
        in_reply_to: record.in_reply_to,
        references: record.references,
        key,
        direction,
        lead,
        subject,
        sent_at: record.sent_at,
    };
    let kept = Kept {
        index: 0,
        position: record.position,
        source: record.source,
        subject: record.subject,
        from_name: record.from_name,
        lead_name: record.lead_name,
        lead_phone: record.lead_phone,
    };
    Ok((kept, thread))
}

/// Encode the record's staged row.
fn stage(
    record: &MailRecord,
    row_no: i64,
    direction: Direction,
    out: &mut Encoded,
    columns: &Columns,
) -> Result<(), String> {
    let display_from;
    let from_addr = match record.from_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() && !record.from_addr.is_empty() => {
            display_from = format!("{name} <{}>", record.from_addr);
            display_from.as_str()
        }
        Some(name) if record.from_addr.is_empty() => name,
        _ => record.from_addr.as_str(),
    };
    let attachments = serde_json::to_value(&record.attachments)
        .unwrap_or_else(|_| serde_json::Value::Array(Vec::new()));
    let row = StageRow {
        row_no,
        source: &record.source,
        external_id: &record.external_id,
        message_id: record
            .message_id
            .as_deref()
            .filter(|id| *id != record.external_id),
        in_reply_to: record.in_reply_to.as_deref(),
        references: &record.references,
        direction,
        from_addr,
        to_addrs: &record.to_addrs,
        subject: &record.subject,
        body_text: &record.body_text,
        body_html: record.body_html.as_deref(),
        headers: &record.headers,
        attachments: &attachments,
        sent_at: record.sent_at,
    };
    out.push(&row, columns)
}

/// The lead's address: From of inbound mail; of outbound mail, the first
/// recipient who is not on the team.
fn lead_address(record: &MailRecord, direction: Direction, team: &Team) -> Option<String> {
    lead_of(&record.from_addr, &record.to_addrs, direction, team)
}

/// [`lead_address`] from the addresses alone.
pub(super) fn lead_of(
    from: &str,
    to: &[impl AsRef<str>],
    direction: Direction,
    team: &Team,
) -> Option<String> {
    match direction {
        Direction::Inbound => Some(from.trim().to_lowercase()),
        Direction::Outbound => to
            .iter()
            .map(|a| a.as_ref().trim().to_lowercase())
            .find(|a| !team.contains(a)),
    }
    .filter(|a| !a.is_empty())
}

/// Everything PostgreSQL would refuse in this one record.
fn check(r: &MailRecord) -> Result<(), String> {
    if r.source.trim().is_empty() {
        return Err("no source".into());
    }
    if r.external_id.is_empty() {
        return Err("no external id".into());
    }
    limit("the source", &r.source, MAX_SOURCE_BYTES)?;
    limit("the external id", &r.external_id, MAX_ID_BYTES)?;
    if let Some(id) = &r.message_id {
        limit("the Message-ID", id, MAX_ID_BYTES)?;
    }
    check_date(r.sent_at)?;
    let texts = [
        ("the source", Some(r.source.as_str())),
        ("the external id", Some(r.external_id.as_str())),
        ("the Message-ID", r.message_id.as_deref()),
        ("In-Reply-To", r.in_reply_to.as_deref()),
        ("the conversation key", r.conversation_key.as_deref()),
        ("the From address", Some(r.from_addr.as_str())),
        ("the From name", r.from_name.as_deref()),
        ("the subject", Some(r.subject.as_str())),
        ("the text body", Some(r.body_text.as_str())),
        ("the HTML body", r.body_html.as_deref()),
        ("the lead's name", r.lead_name.as_deref()),
        ("the lead's phone", r.lead_phone.as_deref()),
    ];
    for (what, text) in texts {
        no_nul(what, text.unwrap_or(""))?;
    }
    for a in &r.to_addrs {
        no_nul("a recipient", a)?;
    }
    for id in &r.references {
        no_nul("References", id)?;
    }
    for a in &r.attachments {
        no_nul("an attachment's name", a.filename.as_deref().unwrap_or(""))?;
        no_nul("an attachment's type", &a.content_type)?;
    }
    json_no_nul(&r.headers)
}

fn limit(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.len() > max {
        Err(format!(
            "{what} is {} bytes long, more than {max}",
            text.len()
        ))
    } else {
        Ok(())
    }
}

fn no_nul(what: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err(format!("{what} contains a NUL character"))
    } else {
        Ok(())
    }
}

fn json_no_nul(value: &serde_json::Value) -> Result<(), String> {
    match value {
        serde_json::Value::String(s) => no_nul("a header", s),
        serde_json::Value::Array(items) => items.iter().try_for_each(json_no_nul),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            no_nul("a header name", k)?;
            json_no_nul(v)
        }),
        _ => Ok(()),
    }
}

/// PostgreSQL stores 4713 BC to 294276 AD; anything outside years 1–9999
/// is a broken date, not history.
fn check_date(at: DateTime<Utc>) -> Result<(), String> {
    if (1..=9999).contains(&at.year()) {
        Ok(())
    } else {
        Err(format!("date out of range: year {}", at.year()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record() -> MailRecord {
        MailRecord {
            position: Position::Line(3),
            source: "email".into(),
            external_id: "<a@x>".into(),
            message_id: Some("<a@x>".into()),
            in_reply_to: None,
            references: vec![],
            conversation_key: None,
            direction: None,
            from_addr: "maria@example.com".into(),
            from_name: Some("Maria Garcia".into()),
            to_addrs: vec!["dana@team.example".into()],
            subject: "Re: Bike".into(),
            sent_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap(),
            body_text: "Is it available?".into(),
            body_html: None,
            headers: serde_json::json!({}),
            attachments: vec![],
            lead_name: None,
            lead_phone: None,
            notes: vec![],
        }
    }

    /// The enum types as the migrations define them (binary COPY sends no
    /// type oids, so no database is needed to encode).
    fn columns() -> Columns {
        use tokio_postgres::types::{Kind, Type};
        let enum_type = |name: &str, labels: &[&str]| {
            let labels = labels.iter().map(|l| l.to_string()).collect();
            Type::new(name.into(), 0, Kind::Enum(labels), "public".into())
        };
        Columns::new(&crate::db::import::Types {
            direction: enum_type("message_direction", &["inbound", "outbound"]),
            conversation_status: enum_type(
                "conversation_status",
                &["needs_reply", "waiting", "active", "archived"],
            ),
        })
    }

    fn split(r: MailRecord) -> Result<(Kept, thread::Message, Encoded), String> {
        let mut out = Encoded::default();
        let (kept, thread) = prepare(r, 7, &team(), &mut out, &columns())?;
        Ok((kept, thread, out))
    }

    fn team() -> Team {
        Team::new(
            vec!["dana@team.example".to_string()],
            &["Sales@Team.example".into()],
        )
    }

    #[test]
    fn inbound_mail_is_from_its_lead() {
        let (kept, thread, out) = split(record()).unwrap();
        assert_eq!(thread.direction, Direction::Inbound);
        assert_eq!(thread.lead.as_deref(), Some("maria@example.com"));
        assert_eq!(thread.id, "<a@x>");
        assert_eq!(thread.subject, "bike");
        assert_eq!(kept.subject, "Re: Bike");
        assert_eq!(out.row_numbers().collect::<Vec<_>>(), vec![7]);
    }

    #[test]
    fn mail_from_the_team_is_outbound_to_the_first_outside_recipient() {
        let mut r = record();
        r.from_addr = "sales@team.example".into();
        r.to_addrs = vec!["dana@team.example".into(), "Maria@Example.com".into()];
        let (_, thread, _) = split(r).unwrap();
        assert_eq!(thread.direction, Direction::Outbound);
        assert_eq!(thread.lead.as_deref(), Some("maria@example.com"));
    }

    #[test]
    fn a_team_domain_covers_its_subdomains_only() {
        let team = Team::new(Vec::new(), &["@Northgate.example".into()])
            .with_domains(&["shop.example".into()]);
        assert!(team.contains("ann@northgate.example"));
        assert!(team.contains("Ann@Sales.Northgate.example"));
        assert!(team.contains("bo@shop.example"));
        assert!(!team.contains("cy@othernorthgate.example"));
        assert!(!team.contains("northgate.example@lead.example"));
        let mut r = record();
        r.from_addr = "ann@sales.northgate.example".into();
        r.to_addrs = vec!["team@northgate.example".into(), "maria@example.com".into()];
        let mut out = Encoded::default();
        let (_, thread) = prepare(r, 0, &team, &mut out, &columns()).unwrap();
        assert_eq!(thread.direction, Direction::Outbound);
        assert_eq!(thread.lead.as_deref(), Some("maria@example.com"));
    }

    #[test]
    fn a_given_direction_wins_and_keys_are_scoped_by_source() {
        let mut r = record();
        r.direction = Some(Direction::Outbound);
        r.conversation_key = Some(" 42 ".into());
        r.source = "web:form".into();
        let (_, thread, _) = split(r).unwrap();
        assert_eq!(thread.direction, Direction::Outbound);
        assert_eq!(thread.lead, None, "only team recipients");
        assert_eq!(thread.key.as_deref(), Some("web%3Aform:42"));
    }

    #[test]
    fn what_postgres_would_refuse_is_rejected_with_a_reason() {
        type Edit = Box<dyn Fn(&mut MailRecord)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|r| r.body_text = "a\0b".into()),
                "text body contains a NUL",
            ),
            (
                Box::new(|r| r.headers = serde_json::json!({"X": "a\0"})),
                "a header contains a NUL",
            ),
            (
                Box::new(|r| r.references = vec!["<\0>".into()]),
                "References contains a NUL",
            ),
            (
                Box::new(|r| r.external_id = "x".repeat(1001)),
                "external id is 1001 bytes",
            ),
            (Box::new(|r| r.source = " ".into()), "no source"),
            (
                Box::new(|r| r.sent_at = Utc.with_ymd_and_hms(-5000, 1, 1, 0, 0, 0).unwrap()),
                "date out of range",
            ),
            (
                Box::new(|r| r.from_addr = format!("{}@example.com", "x".repeat(400))),
                "lead's address is",
            ),
        ];
        for (edit, want) in cases {
            let mut r = record();
            edit(&mut r);
            let mut out = Encoded::default();
            let err = prepare(r, 0, &team(), &mut out, &columns()).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
            assert!(out.is_empty(), "nothing encoded for a rejected record");
        }
    }
}
