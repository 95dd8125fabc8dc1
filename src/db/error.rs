//! The typed error at the database boundary. Every variant prints as one line
//! that says what failed, why, and what to do; none prints a password.

use super::DecidedBy;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL is not valid ({0}): expected postgres://user@host:port/database")]
    BadUrl(String),

    #[error(
        "cannot reach PostgreSQL at {target} ({reason}): is the server running? set --database-url or DATABASE_URL"
    )]
    Unreachable { target: String, reason: String },

    #[error(
        "PostgreSQL rejected the login of user \"{user}\" ({reason}): check the user and password in the database URL"
    )]
    AuthFailed { user: String, reason: String },

    #[error(
        "database \"{name}\" does not exist: create it (createdb {name}) or run scripts/setup.sh"
    )]
    DatabaseMissing { name: String },

    #[error(
        "pgvector is not installed on this PostgreSQL server: install it (scripts/setup.sh builds it on Debian), then run `replydesk --migrate`"
    )]
    PgvectorMissing,

    #[error(
        "the vector extension needs a superuser to create: ask your DBA to run CREATE EXTENSION vector in this database, then run `replydesk --migrate`"
    )]
    PgvectorNeedsSuperuser,

    #[error(
        "timed out waiting for the database ({0}): check that the server is up and not overloaded"
    )]
    Timeout(String),

    #[error(
        "the database schema is behind this replydesk ({pending} migration(s) pending): run `replydesk --migrate`"
    )]
    SchemaBehind { pending: usize },

    #[error(
        "the database schema is ahead of this replydesk (migration {version} was applied by a newer version): upgrade replydesk"
    )]
    SchemaAhead { version: i64 },

    #[error(
        "migration {version} ({name}) was changed after it was applied (checksum drift): restore the original file or roll the database back"
    )]
    Drift { version: i64, name: String },

    #[error("already {} by {} at {}; nothing was changed", .0.status.as_str(), .0.rep, .0.at.format("%Y-%m-%d %H:%M:%S UTC"))]
    AlreadyDecided(DecidedBy),

    #[error(
        "this draft was superseded by a newer message; nothing was changed: refresh to see the new draft"
    )]
    Superseded,

    #[error("{what} {id} does not exist (it may have been deleted): refresh")]
    NotFound { what: &'static str, id: i64 },

    #[error("too late to undo: {0}")]
    UndoTooLate(String),

    #[error("no rep with email {email}: add one with `replydesk rep add {email}` or pass --rep")]
    UnknownRep { email: String },

    #[error("conversation {id} is already claimed by {by}; nothing was changed: refresh")]
    AlreadyClaimed { id: i64, by: String },

    #[error(
        "row-level security is on but database user \"{db_user}\" is not linked to a rep: an admin runs `replydesk rls grant EMAIL --db-role {db_user}`, or connect as your own database user"
    )]
    RlsUnlinked { db_user: String },

    #[error(
        "database user \"{db_user}\" is rep {linked}, not {requested}: with rls = true the database login says who you are; drop --rep or connect as {requested}'s database user"
    )]
    RlsWrongRep {
        db_user: String,
        linked: String,
        requested: String,
    },

    #[error("row-level security: {0}")]
    Rls(String),

    #[error(
        "embedding model \"{model}\" is registered with {registered} dimensions, but {configured} are configured: use a new model name for another dimension (each model gets its own index)"
    )]
    ModelDimensions {
        model: String,
        registered: i32,
        configured: usize,
    },

    #[error("embedding model name {0}")]
    BadModelName(String),

    #[error("the connection pool failed: {0}")]
    Pool(String),

    #[error("database error: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),

    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: String,
        reason: String,
    },
}

impl DbError {
    /// True when the error means the connection is gone (retrying later may work).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DbError::Unreachable { .. } | DbError::Timeout(_) | DbError::Pool(_) => true,
            DbError::Postgres(e) => {
                e.is_closed()
                    || e.as_db_error().is_none()
                        && std::error::Error::source(e)
                            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
                    || e.as_db_error().is_some_and(|d| {
                        let c = d.code().code();
                        c.starts_with("08") || c.starts_with("57P")
                    })
            }
            _ => false,
        }
    }

    /// The SQLSTATE of a server-side error, if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            DbError::Postgres(e) => e.as_db_error().map(|d| d.code().code()),
            _ => None,
        }
    }
}

/// One line for a tokio-postgres error: the server's message and detail, or
/// the client-side cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(" (");
            s.push_str(d);
            s.push(')');
        }
        return s.replace('\n', " ");
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s.replace('\n', " ")
}

/// A timestamp formatted for people.
pub fn human_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
