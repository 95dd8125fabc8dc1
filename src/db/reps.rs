//! Reps: who is deciding.

use super::{DbError, Rep, RepRole};
use tokio_postgres::GenericClient;

fn from_row(r: &tokio_postgres::Row) -> Rep {
    Rep {
        id: r.get("id"),
        email: r.get("email"),
        display_name: r.get("display_name"),
        role: r.get("role"),
    }
}

pub async fn find_by_email(client: &impl GenericClient, email: &str) -> Result<Rep, DbError> {
    client
        .query_opt(
            "SELECT id, email, display_name, role FROM reps WHERE lower(email) = lower($1)",
            &[&email],
        )
        .await?
        .map(|r| from_row(&r))
        .ok_or_else(|| DbError::UnknownRep {
            email: email.to_string(),
        })
}

/// Add a rep, or update the name and role of an existing one.
pub async fn upsert(
    client: &impl GenericClient,
    email: &str,
    display_name: &str,
    role: RepRole,
) -> Result<Rep, DbError> {
    let row = client
        .query_one(
            "INSERT INTO reps (email, display_name, role) VALUES ($1, $2, $3)
             ON CONFLICT (lower(email)) DO UPDATE
               SET display_name = EXCLUDED.display_name, role = EXCLUDED.role
             RETURNING id, email, display_name, role",
            &[&email, &display_name, &role],
        )
        .await?;
    Ok(from_row(&row))
}

pub async fn list(client: &impl GenericClient) -> Result<Vec<Rep>, DbError> {
    let rows = client
        .query(
            "SELECT id, email, display_name, role FROM reps ORDER BY lower(email)",
            &[],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}
