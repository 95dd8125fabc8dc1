//! Row-level security, opt-in per database (migration 0003 holds the roles
//! and policies; this switches them on and off and links reps to logins).
//!
//! Identity is the database user: policies compare `owner_rep_id` with the
//! rep whose `reps.db_role` is `current_user`. The TUI connects straight to
//! PostgreSQL with credentials the rep holds, so a session setting such as
//! `replydesk.rep_id` would be one `SET` away from anyone else's inbox; the
//! login is what the server authenticated. A trusted pooler may log in once
//! and `SET ROLE` to the rep's role: `current_user` follows `SET ROLE`.

use super::{DbError, Rep, RepRole};
use tokio_postgres::GenericClient;

/// The tables whose rows belong to a conversation (or a lead) and so are
/// filtered by owner once row-level security is on.
pub const TABLES: [&str; 8] = [
    "leads",
    "conversations",
    "messages",
    "message_intents",
    "message_embeddings",
    "suggestions",
    "outbox",
    "events",
];

/// One table's row-level security switches and how many policies it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRls {
    pub table: String,
    pub enabled: bool,
    pub forced: bool,
    pub policies: i64,
}

pub async fn status(client: &impl GenericClient) -> Result<Vec<TableRls>, DbError> {
    let tables: Vec<&str> = TABLES.to_vec();
    let rows = client
        .query(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
             FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n)
             JOIN pg_class c ON c.oid = to_regclass(t.name)
             ORDER BY t.n",
            &[&tables],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TableRls {
            table: r.get(0),
            enabled: r.get(1),
            forced: r.get(2),
            policies: r.get(3),
        })
        .collect())
}

/// True when every table has row-level security enabled and forced.
pub async fn is_on(client: &impl GenericClient) -> Result<bool, DbError> {
    let s = status(client).await?;
    Ok(!s.is_empty() && s.iter().all(|t| t.enabled && t.forced))
}

async fn migrated(client: &impl GenericClient) -> Result<(), DbError> {
    let row = client
        .query_one(
            "SELECT to_regprocedure('replydesk_current_rep_id()') IS NOT NULL",
            &[],
        )
        .await?;
    if row.get(0) {
        Ok(())
    } else {
        Err(DbError::Rls(
            "the ownership migration (0003) is not applied: run `replydesk --migrate` first".into(),
        ))
    }
}

/// Turn row-level security on (ENABLE + FORCE, so the tables' owner is
/// filtered too) for every table in [`TABLES`], in one transaction.
/// Refused when the user doing it would then see nothing itself: with FORCE
/// only superusers and members of `replydesk_admin` keep seeing every row,
/// and imports, the worker and deliveries run as that user.
pub async fn enable(client: &mut tokio_postgres::Client) -> Result<(), DbError> {
    migrated(client).await?;
    let row = client
        .query_one(
            "SELECT current_user::text,
                    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                    OR pg_has_role(current_user, 'replydesk_admin', 'MEMBER')",
            &[],
        )
        .await?;
    let user: String = row.get(0);
    let sees_all: Option<bool> = row.get(1);
    if sees_all != Some(true) {
        return Err(DbError::Rls(format!(
            "database user \"{user}\" would see no rows once it is forced on (neither a superuser nor a member of replydesk_admin): GRANT replydesk_admin TO \"{user}\", then run it again"
        )));
    }
    switch(
        client,
        "ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
    )
    .await
}

/// Turn row-level security off again; the policies stay for next time.
pub async fn disable(client: &mut tokio_postgres::Client) -> Result<(), DbError> {
    switch(
        client,
        "NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY",
    )
    .await
}

async fn switch(client: &mut tokio_postgres::Client, what: &str) -> Result<(), DbError> {
    let tx = client.transaction().await?;
    for t in TABLES {
        tx.batch_execute(&format!("ALTER TABLE {t} {what}"))
            .await
            .map_err(|e| match e.as_db_error().map(|d| d.code().code()) {
                Some("42501") => DbError::Rls(
                    "only the tables' owner (the user that ran the migrations) or a superuser can switch it: run `replydesk rls` as that user".into(),
                ),
                _ => DbError::from(e),
            })?;
    }
    tx.commit().await?;
    Ok(())
}

/// Who the database login is: the user name, and the rep linked to it.
pub async fn whoami(client: &impl GenericClient) -> Result<(String, Option<Rep>), DbError> {
    let row = client
        .query_one(
            "SELECT current_user::text, r.id, r.email, r.display_name, r.role
             FROM (SELECT 1) one LEFT JOIN reps r ON r.db_role = current_user",
            &[],
        )
        .await?;
    let rep = row.get::<_, Option<i64>>(1).map(|id| Rep {
        id,
        email: row.get(2),
        display_name: row.get(3),
        role: row.get(4),
    });
    Ok((row.get(0), rep))
}

/// The rep a session under row-level security acts as: the one linked to
/// the login. `requested` (from --rep or the config) must name the same
/// rep when it is an email at all.
pub async fn session_rep(client: &impl GenericClient, requested: &str) -> Result<Rep, DbError> {
    let (db_user, rep) = whoami(client).await?;
    let rep = rep.ok_or_else(|| DbError::RlsUnlinked {
        db_user: db_user.clone(),
    })?;
    if requested.contains('@') && !requested.eq_ignore_ascii_case(&rep.email) {
        return Err(DbError::RlsWrongRep {
            db_user,
            linked: rep.email,
            requested: requested.to_string(),
        });
    }
    Ok(rep)
}

/// The group roles migration 0003 creates.
pub const GROUP_ROLES: [&str; 4] = [
    "replydesk_rep",
    "replydesk_manager",
    "replydesk_admin",
    "replydesk_analytics",
];

/// The group role a rep's login joins.
pub fn group_role(role: RepRole) -> &'static str {
    match role {
        RepRole::Rep => "replydesk_rep",
        RepRole::Manager => "replydesk_manager",
        RepRole::Admin => "replydesk_admin",
    }
}

/// A database role name derived from an email: `dana.cruz@x` → `dana_cruz`.
pub fn default_db_role(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let mut s: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        s.insert_str(0, "rep_");
    }
    s.truncate(63);
    s
}

/// A role name safe to splice into DDL (lowercase, digits, underscore).
pub fn valid_db_role(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with("pg_")
        && !GROUP_ROLES.contains(&name)
}

/// What [`grant`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Granted {
    pub rep: Rep,
    pub db_role: String,
    pub group: &'static str,
    pub created: bool,
}

/// Link a rep to a database login: create the login role if missing (no
/// password: set one with ALTER ROLE … PASSWORD, or use the server's
/// peer/cert/GSSAPI auth), make it a member of the group role for the rep's
/// role, and record it in `reps.db_role`. Needs CREATEROLE.
pub async fn grant(
    client: &mut tokio_postgres::Client,
    email: &str,
    db_role: &str,
) -> Result<Granted, DbError> {
    migrated(client).await?;
    if !valid_db_role(db_role) {
        return Err(DbError::Rls(format!(
            "\"{db_role}\" is not a usable role name: use lowercase letters, digits and _ (not pg_… nor a replydesk group role)"
        )));
    }
    let tx = client.transaction().await?;
    let rep = super::reps::find_by_email(&tx, email).await?;
    let group = group_role(rep.role);
    let created = tx
        .query_one(
            "SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)",
            &[&db_role],
        )
        .await?
        .get(0);
    let ddl = |e: tokio_postgres::Error| match e.as_db_error().map(|d| d.code().code()) {
        Some("42501") => DbError::Rls(format!(
            "creating or granting database roles needs CREATEROLE: ask your DBA to run CREATE ROLE \"{db_role}\" LOGIN; GRANT {group} TO \"{db_role}\""
        )),
        _ => DbError::from(e),
    };
    if created {
        tx.batch_execute(&format!("CREATE ROLE \"{db_role}\" LOGIN"))
            .await
            .map_err(ddl)?;
    }
    // One group only: a rep demoted from manager stops seeing everything.
    for other in [RepRole::Rep, RepRole::Manager, RepRole::Admin].map(group_role) {
        if other != group {
            tx.batch_execute(&format!("REVOKE {other} FROM \"{db_role}\""))
                .await
                .map_err(ddl)?;
        }
    }
    tx.batch_execute(&format!("GRANT {group} TO \"{db_role}\""))
        .await
        .map_err(ddl)?;
    tx.execute(
        "UPDATE reps SET db_role = NULL WHERE db_role = $2 AND id <> $1",
        &[&rep.id, &db_role],
    )
    .await?;
    tx.execute(
        "UPDATE reps SET db_role = $2 WHERE id = $1",
        &[&rep.id, &db_role],
    )
    .await?;
    tx.commit().await?;
    Ok(Granted {
        rep,
        db_role: db_role.to_string(),
        group,
        created,
    })
}
