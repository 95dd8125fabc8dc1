//! The pure half of the database checks: facts in, a `Check` out.

use super::Check;
use crate::db::health::{self, OutboxBacklog, Pgvector};
use crate::db::migrate::{State, StatusRow};
use std::time::Duration;

/// PostgreSQL 15 or later (PRODUCT §3).
const MIN_SERVER_VERSION_NUM: i32 = 150_000;
/// pgvector 0.7 or later (PRODUCT §3).
const MIN_PGVECTOR: (u32, u32) = (0, 7);
/// A due outbox row older than this means nothing is delivering.
pub const OUTBOX_STALE_AFTER: Duration = Duration::from_secs(5 * 60);

pub fn server_check(version: &str, version_num: i32, target: &str) -> Check {
    let short = version.split_whitespace().next().unwrap_or(version);
    if version_num < MIN_SERVER_VERSION_NUM {
        return Check::fail(
            "connection",
            format!("PostgreSQL {short} at {target} is older than 15"),
            "upgrade the server to PostgreSQL 15 or later",
        );
    }
    Check::pass("connection", format!("PostgreSQL {short} at {target}"))
}

/// `"0.8.0"` → `(0, 8)`; anything unparsable counts as 0.
fn major_minor(version: &str) -> (u32, u32) {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

pub fn pgvector_check(state: &Pgvector) -> Check {
    let name = "pgvector";
    match (&state.created, &state.available) {
        (Some(v), available) if major_minor(v) < MIN_PGVECTOR => Check::fail(
            name,
            format!("pgvector {v} is older than 0.7"),
            match available {
                Some(a) if major_minor(a) >= MIN_PGVECTOR => {
                    format!("ALTER EXTENSION vector UPDATE (the server has {a})")
                }
                _ => "install pgvector 0.7 or later on the server, then ALTER EXTENSION vector UPDATE"
                    .to_string(),
            },
        ),
        (Some(v), Some(a)) if a != v => Check::pass(
            name,
            format!("pgvector {v} (the server has {a}: ALTER EXTENSION vector UPDATE when convenient)"),
        ),
        (Some(v), _) => Check::pass(name, format!("pgvector {v}")),
        (None, Some(a)) => Check::fail(
            name,
            format!("pgvector {a} is installed on the server but not created in this database"),
            "run `replydesk --migrate` as a superuser (or have one run CREATE EXTENSION vector in this database)",
        ),
        (None, None) => Check::fail(
            name,
            "pgvector is not installed on this PostgreSQL server",
            "install it (scripts/setup.sh builds it on Debian; see docs/operations.md), then run `replydesk --migrate`",
        ),
    }
}

pub fn migrations_check(rows: &[StatusRow]) -> Check {
    let name = "migrations";
    let label = |r: &StatusRow| format!("{:04} {}", r.version, r.name);
    let list = |state: State| -> Vec<String> {
        rows.iter()
            .filter(|r| r.state == state)
            .map(label)
            .collect()
    };
    let (drifted, unknown, pending) = (
        list(State::Drifted),
        list(State::Unknown),
        list(State::Pending),
    );
    if !drifted.is_empty() {
        return Check::fail(
            name,
            format!(
                "checksum drift: {} changed after it was applied",
                drifted.join(", ")
            ),
            "run the replydesk built from the original migration files (or roll the database back); `replydesk migrate status` lists them",
        );
    }
    if !unknown.is_empty() {
        return Check::fail(
            name,
            format!(
                "the schema is ahead of this replydesk ({} applied by a newer version)",
                unknown.join(", ")
            ),
            "upgrade replydesk",
        );
    }
    if pending.len() == rows.len() {
        return Check::fail(
            name,
            "no migration applied: the schema is not created",
            "run `replydesk --migrate --no-tui`",
        );
    }
    if !pending.is_empty() {
        return Check::fail(
            name,
            format!("{} pending: {}", pending.len(), pending.join(", ")),
            "run `replydesk --migrate --no-tui` (back up first: see docs/operations.md)",
        );
    }
    let latest = rows.last().map(label).unwrap_or_default();
    Check::pass(
        name,
        format!("{} applied, checksums match (latest {latest})", rows.len()),
    )
}

pub fn indexes_check(expected: &[String], present: &[health::IndexState]) -> Check {
    let name = "indexes";
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| present.iter().all(|p| p.name != **e))
        .map(String::as_str)
        .collect();
    let invalid: Vec<&health::IndexState> = present.iter().filter(|p| !p.valid).collect();
    if missing.is_empty() && invalid.is_empty() {
        return Check::pass(
            name,
            format!("all {} expected indexes present and valid", expected.len()),
        );
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing: {}", missing.join(", ")));
        fixes.push(
            "create the missing ones with their CREATE INDEX statement from migrations/ (CONCURRENTLY on a live database)"
                .to_string(),
        );
    }
    for i in &invalid {
        problems.push(format!("INVALID: {} on {}", i.name, i.table));
        if expected.contains(&i.name) {
            fixes.push(format!("REINDEX INDEX CONCURRENTLY {}", i.name));
        } else {
            fixes.push(format!(
                "DROP INDEX CONCURRENTLY {} (a failed CREATE INDEX CONCURRENTLY left it), then create it again if it is wanted",
                i.name
            ));
        }
    }
    Check::fail(name, problems.join("; "), fixes.join("; "))
}

/// The operator class for a registered model's distance (the index is on
/// `halfvec`, as `db::embeddings::ensure_index` builds it).
fn opclass(distance: &str) -> &'static str {
    match distance {
        "l2" => "halfvec_l2_ops",
        "inner_product" => "halfvec_ip_ops",
        _ => "halfvec_cosine_ops",
    }
}

/// `model` as a SQL string literal, as `pg_get_expr` prints it.
fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn hnsw_for_models(models: &[health::EmbeddingModel], indexes: &[health::HnswIndex]) -> Check {
    let name = "hnsw indexes";
    if models.is_empty() {
        return Check::pass(name, "no embedding models registered");
    }
    let lacking: Vec<&health::EmbeddingModel> = models
        .iter()
        .filter(|m| {
            let literal = sql_literal(&m.name);
            !indexes
                .iter()
                .any(|i| i.valid && i.predicate.as_deref().is_some_and(|p| p.contains(&literal)))
        })
        .collect();
    if lacking.is_empty() {
        return Check::pass(
            name,
            format!("one valid HNSW index for each of {} model(s)", models.len()),
        );
    }
    let names: Vec<&str> = lacking.iter().map(|m| m.name.as_str()).collect();
    let fixes: Vec<String> = lacking
        .iter()
        .map(|m| {
            let ident: String = m
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                .collect();
            format!(
                "CREATE INDEX CONCURRENTLY message_embeddings_{ident}_hnsw ON message_embeddings USING hnsw ((embedding::halfvec({})) {}) WHERE model = {}",
                m.dimensions,
                opclass(&m.distance),
                sql_literal(&m.name)
            )
        })
        .collect();
    Check::warn(
        name,
        format!(
            "no valid HNSW index for model(s) {}: similarity search scans every embedding",
            names.join(", ")
        ),
        fixes.join("; "),
    )
}

fn human_age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

pub fn outbox_verdict(b: &OutboxBacklog) -> Check {
    let name = "outbox";
    let mut detail = format!("{} queued, {} due", b.queued, b.due);
    if let Some(age) = b.oldest_due_secs {
        detail.push_str(&format!(", oldest due for {}", human_age(age)));
    }
    if b.failed > 0 {
        detail.push_str(&format!(", {} failed", b.failed));
    }
    let stale = b
        .oldest_due_secs
        .is_some_and(|s| s > OUTBOX_STALE_AFTER.as_secs_f64());
    if stale {
        return Check::warn(
            name,
            detail,
            "nothing is delivering the outbox: run `replydesk worker` (a service), or `replydesk deliver` from a timer",
        );
    }
    if b.failed > 0 {
        return Check::warn(
            name,
            detail,
            "read why: SELECT id, attempts, last_error FROM outbox WHERE status = 'failed'; after fixing the cause, requeue them: UPDATE outbox SET status = 'queued', send_after = now() WHERE status = 'failed'",
        );
    }
    Check::pass(name, detail)
}

#[cfg(test)]
mod tests {
    use super::super::Status;
    use super::*;

    #[test]
    fn pgvector_missing_on_the_server_is_told_apart_from_not_created() {
        let not_installed = pgvector_check(&Pgvector::default());
        assert_eq!(not_installed.status, Status::Fail);
        assert!(
            not_installed
                .detail
                .contains("not installed on this PostgreSQL server")
        );
        assert!(
            not_installed
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("scripts/setup.sh")
        );

        let not_created = pgvector_check(&Pgvector {
            available: Some("0.8.0".into()),
            created: None,
        });
        assert_eq!(not_created.status, Status::Fail);
        assert!(not_created.detail.contains("not created in this database"));
        assert!(
            not_created
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("replydesk --migrate")
        );

        let old = pgvector_check(&Pgvector {
            available: Some("0.8.0".into()),
            created: Some("0.6.2".into()),
        });
        assert_eq!(old.status, Status::Fail);
        assert!(
            old.fix
                .as_deref()
                .unwrap_or("")
                .contains("ALTER EXTENSION vector UPDATE")
        );

        let ok = pgvector_check(&Pgvector {
            available: Some("0.8.0".into()),
            created: Some("0.8.0".into()),
        });
        assert_eq!(
            (ok.status, ok.detail.as_str()),
            (Status::Pass, "pgvector 0.8.0")
        );
    }

    #[test]
    fn old_servers_fail() {
        assert_eq!(
            server_check("14.9", 140_009, "u@h:5432/d").status,
            Status::Fail
        );
        let ok = server_check("15.20 (Debian 15.20-0+deb12u1)", 150_020, "u@h:5432/d");
        assert_eq!(ok.detail, "PostgreSQL 15.20 at u@h:5432/d");
    }

    #[test]
    fn outbox_warns_only_on_stale_due_rows_or_failures() {
        let quiet = OutboxBacklog {
            queued: 2,
            due: 1,
            oldest_due_secs: Some(30.0),
            failed: 0,
        };
        assert_eq!(outbox_verdict(&quiet).status, Status::Pass);
        let stale = OutboxBacklog {
            oldest_due_secs: Some(600.0),
            ..quiet.clone()
        };
        let c = outbox_verdict(&stale);
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("oldest due for 10 min"), "{}", c.detail);
        assert!(c.fix.as_deref().unwrap_or("").contains("replydesk worker"));
    }

    #[test]
    fn hnsw_needs_a_valid_index_whose_predicate_names_the_model() {
        let models = vec![health::EmbeddingModel {
            name: "hashed-lexical-384".into(),
            dimensions: 384,
            distance: "cosine".into(),
        }];
        let none = hnsw_for_models(&models, &[]);
        assert_eq!(none.status, Status::Warn);
        assert!(none.fix.as_deref().unwrap_or("").contains(
            "USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE model = 'hashed-lexical-384'"
        ));
        let index = health::HnswIndex {
            name: "x".into(),
            predicate: Some("(model = 'hashed-lexical-384'::text)".into()),
            valid: true,
        };
        assert_eq!(
            hnsw_for_models(&models, std::slice::from_ref(&index)).status,
            Status::Pass
        );
        let invalid = health::HnswIndex {
            valid: false,
            ..index
        };
        assert_eq!(hnsw_for_models(&models, &[invalid]).status, Status::Warn);
        assert_eq!(hnsw_for_models(&[], &[]).status, Status::Pass);
    }
}
