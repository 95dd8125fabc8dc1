//! `replydesk doctor`: one line per check, PASS/WARN/FAIL with the fix, and
//! exit 1 when anything fails. It never stops at the first failure: without
//! a database the checks that need one are reported as skipped, and it never
//! migrates (a schema behind the binary is one of the things it reports).

mod local;
mod verdict;

pub use local::{config_file, models_url, provider};
pub use verdict::{
    OUTBOX_STALE_AFTER, hnsw_for_models, indexes_check, migrations_check, outbox_verdict,
    pgvector_check, server_check,
};

use crate::commands::{AppError, Context};
use crate::config::Settings;
use crate::db::DbError;
use crate::db::health;
use crate::db::migrate::{self, State};
use crate::db::pool::DbConfig;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the LISTEN side waits for its own NOTIFY.
const NOTIFY_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not run, because something it needs failed first.
    Skip,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: &'static str, why: &str) -> Check {
        Check {
            name,
            status: Status::Skip,
            detail: format!("skipped: {why}"),
            fix: None,
        }
    }
    /// A query of the check itself failed: that is a failure of the check.
    fn query_failed(name: &'static str, e: &DbError) -> Check {
        Check::fail(
            name,
            format!("the check's query failed: {e}"),
            "see docs/operations.md",
        )
    }
}

/// The checks after `connection` that need a database, in the order they print.
const DB_CHECKS: [&str; 6] = [
    "pgvector",
    "migrations",
    "indexes",
    "hnsw indexes",
    "outbox",
    "notifications",
];

/// Run every check. Never fails: a failure is a line.
pub async fn run_checks(db: &DbConfig, settings: &Settings, config_path: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    match db.connect_dedicated().await {
        Err(e) => {
            out.push(connection_failed(&e));
            for name in DB_CHECKS {
                out.push(Check::skip(name, "no database connection"));
            }
        }
        Ok((client, _notes)) => {
            out.extend(database_checks(db, &client).await);
        }
    }
    out.push(config_file(config_path));
    out.push(provider(settings).await);
    out
}

fn connection_failed(e: &DbError) -> Check {
    let name = "connection";
    match e {
        DbError::Unreachable { target, reason } => Check::fail(
            name,
            format!("cannot reach PostgreSQL at {target} ({reason})"),
            "start the server, or point --database-url / DATABASE_URL at the right one",
        ),
        DbError::AuthFailed { user, reason } => Check::fail(
            name,
            format!("PostgreSQL rejected the login of user \"{user}\" ({reason})"),
            "check the user and password in the database URL (and pg_hba.conf)",
        ),
        DbError::DatabaseMissing { name: db } => Check::fail(
            name,
            format!("database \"{db}\" does not exist"),
            format!("createdb {db} (or run scripts/setup.sh), then `replydesk --migrate`"),
        ),
        DbError::Timeout(what) => Check::fail(
            name,
            format!("timed out waiting for {what}"),
            "check that the server is up and not overloaded (connect_timeout_secs in the config)",
        ),
        other => Check::fail(name, other.to_string(), "see docs/operations.md"),
    }
}

async fn database_checks(db: &DbConfig, client: &tokio_postgres::Client) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(match health::server(client).await {
        Ok(info) => server_check(&info.version, info.version_num, &db.target()),
        Err(e) => Check::query_failed("connection", &e),
    });
    out.push(match health::pgvector(client).await {
        Ok(state) => pgvector_check(&state),
        Err(e) => Check::query_failed("pgvector", &e),
    });
    let status = migrate::status(client).await;
    out.push(match &status {
        Ok(rows) => migrations_check(rows),
        Err(e) => Check::query_failed("migrations", e),
    });
    let applied: Vec<i64> = status
        .iter()
        .flatten()
        .filter(|r| matches!(r.state, State::Applied | State::Drifted))
        .map(|r| r.version)
        .collect();
    if applied.is_empty() {
        out.push(Check::skip("indexes", "the schema is not created yet"));
    } else {
        out.push(match health::indexes(client).await {
            Ok(present) => indexes_check(&health::expected_indexes(&applied), &present),
            Err(e) => Check::query_failed("indexes", &e),
        });
    }
    out.push(hnsw_check(client).await);
    out.push(outbox_check(client).await);
    out.push(notifications_check(db, client).await);
    out
}

async fn hnsw_check(client: &tokio_postgres::Client) -> Check {
    let name = "hnsw indexes";
    let result = async {
        if !health::table_exists(client, "embedding_models").await? {
            return Ok(None);
        }
        let models = health::embedding_models(client).await?;
        let indexes = health::hnsw_indexes(client).await?;
        Ok::<_, DbError>(Some(hnsw_for_models(&models, &indexes)))
    }
    .await;
    match result {
        Ok(Some(c)) => c,
        Ok(None) => Check::skip(name, "the schema is not created yet"),
        Err(e) => Check::query_failed(name, &e),
    }
}

async fn outbox_check(client: &tokio_postgres::Client) -> Check {
    let name = "outbox";
    match health::table_exists(client, "outbox").await {
        Ok(true) => match health::outbox_backlog(client).await {
            Ok(b) => outbox_verdict(&b),
            Err(e) => Check::query_failed(name, &e),
        },
        Ok(false) => Check::skip(name, "the schema is not created yet"),
        Err(e) => Check::query_failed(name, &e),
    }
}

/// LISTEN on a dedicated connection, NOTIFY from the other, wait for it.
async fn notifications_check(db: &DbConfig, client: &tokio_postgres::Client) -> Check {
    let name = "notifications";
    let fix = "LISTEN needs a direct session connection: behind PgBouncer in transaction pooling, give replydesk a direct URL (see docs/operations.md)";
    let (listener, mut notes) = match db.connect_dedicated().await {
        Ok(pair) => pair,
        Err(e) => {
            return Check::fail(
                name,
                format!("cannot open a second connection: {e}"),
                "check max_connections and the pool size",
            );
        }
    };
    if let Err(e) = health::listen(&listener).await {
        return Check::fail(name, format!("LISTEN failed: {e}"), fix);
    }
    let token = format!(
        "ping-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let started = Instant::now();
    if let Err(e) = health::notify(client, &token).await {
        return Check::fail(name, format!("NOTIFY failed: {e}"), fix);
    }
    let wait = tokio::time::timeout(NOTIFY_WAIT, async {
        while let Some(n) = notes.recv().await {
            if n.channel() == health::DOCTOR_CHANNEL && n.payload() == token {
                return true;
            }
        }
        false
    })
    .await;
    drop(listener);
    match wait {
        Ok(true) => Check::pass(
            name,
            format!(
                "LISTEN/NOTIFY round trip in {} ms",
                started.elapsed().as_millis()
            ),
        ),
        Ok(false) => Check::fail(name, "the listening connection closed", fix),
        Err(_) => Check::fail(
            name,
            format!(
                "no notification within {} s of NOTIFY",
                NOTIFY_WAIT.as_secs()
            ),
            fix,
        ),
    }
}

/// The report: `STATUS  name  detail — fix: …`, aligned, outside text sanitized.
pub fn render(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(16);
    let mut out = String::new();
    for c in checks {
        let detail = crate::text::sanitize_line(&c.detail);
        out.push_str(&format!(
            "{}  {:<width$}  {detail}",
            c.status.label(),
            c.name
        ));
        if let Some(fix) = &c.fix {
            out.push_str(" — fix: ");
            out.push_str(&crate::text::sanitize_line(fix));
        }
        out.push('\n');
    }
    out
}

/// `replydesk doctor`: print the report; an error (exit 1) when a check failed.
pub async fn run(ctx: &Context) -> Result<(), AppError> {
    let config_path = ctx
        .loaded
        .path
        .clone()
        .or_else(crate::config::default_path)
        .unwrap_or_else(|| "config.toml".into());
    let checks = crate::commands::within(ctx.deadline * 2, "the checks", async {
        Ok::<_, AppError>(run_checks(&ctx.db, &ctx.loaded.settings, &config_path).await)
    })
    .await?;
    let mut out = crate::out::Out::stdout();
    out.line(render(&checks).trim_end())?;
    out.finish()?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(AppError::Failed(format!(
            "doctor: {failed} check(s) failed: apply the fixes shown above"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_aligned_and_carry_the_fix() {
        let out = render(&[
            Check::pass("connection", "PostgreSQL 15.20 at u@h:5432/d"),
            Check::fail("pgvector", "not installed\x1b[31m", "install it"),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "PASS  connection        PostgreSQL 15.20 at u@h:5432/d"
        );
        assert!(lines[1].starts_with("FAIL  pgvector          not installed"));
        assert!(lines[1].ends_with(" — fix: install it"));
        assert!(!out.contains('\x1b'));
    }
}
