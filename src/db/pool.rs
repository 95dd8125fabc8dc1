//! The connection pool: deadpool-postgres over tokio-postgres, with connect
//! and wait timeouts, a server-side statement timeout and TCP keepalives.
//!
//! Every connection, pooled or dedicated, learns the database's own types
//! ([`prime_types`]) before its first query. tokio-postgres looks up a
//! result column type it does not know (our enums, pgvector's `vector`)
//! with a query on the same connection; for a typed one-shot statement
//! (`query_typed`) that lookup is sent while the statement's rows are still
//! arriving, and once they fill the connection's buffer neither answer can
//! be read: the client waits forever and the session sits idle in
//! transaction. Known upstream (rust-postgres #1348/#1349); a `prepare`
//! looks types up before any row is in flight, so priming through one
//! prepared statement per connection removes the cause for every query.

use super::DbError;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

pub type Pool = deadpool_postgres::Pool;
pub type Client = deadpool_postgres::Client;

/// How to reach the database, parsed and with defaults applied.
#[derive(Clone)]
pub struct DbConfig {
    pub pg: tokio_postgres::Config,
    pub pool_size: usize,
    pub wait_timeout: Duration,
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbConfig({})", self.target())
    }
}

/// Timeouts and sizes for [`DbConfig::from_url`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    pub pool_size: usize,
    pub wait_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            pool_size: 8,
            wait_timeout: Duration::from_secs(10),
        }
    }
}

impl DbConfig {
    pub fn from_url(url: &str, opts: &DbOptions) -> Result<DbConfig, DbError> {
        let mut pg: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| DbError::BadUrl(super::error::describe(&e)))?;
        if pg.get_hosts().is_empty() {
            pg.host("localhost");
        }
        if pg.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".to_string());
            pg.user(&user);
        }
        if pg.get_dbname().is_none() {
            pg.dbname("replydesk");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(opts.connect_timeout);
        }
        pg.keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        if pg.get_application_name().is_none() {
            pg.application_name("replydesk");
        }
        let timeout = format!(
            "-c statement_timeout={}",
            opts.statement_timeout.as_millis()
        );
        let options = match pg.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {timeout}"),
            _ => timeout,
        };
        pg.options(&options);
        Ok(DbConfig {
            pg,
            pool_size: opts.pool_size.max(1),
            wait_timeout: opts.wait_timeout,
        })
    }

    /// `user@host:port/db`, for messages. Never includes the password.
    pub fn target(&self) -> String {
        let host = match self.pg.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = self.pg.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{}:{}/{}",
            self.pg.get_user().unwrap_or(""),
            host,
            port,
            self.pg.get_dbname().unwrap_or("")
        )
    }

    pub fn dbname(&self) -> &str {
        self.pg.get_dbname().unwrap_or("replydesk")
    }

    pub fn build_pool(&self) -> Result<Pool, DbError> {
        let mgr = Manager::from_config(
            self.pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        Pool::builder(mgr)
            .max_size(self.pool_size)
            .wait_timeout(Some(self.wait_timeout))
            .create_timeout(Some(
                self.pg
                    .get_connect_timeout()
                    .copied()
                    .unwrap_or(Duration::from_secs(5)),
            ))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .post_create(Hook::async_fn(|client, _| {
                Box::pin(async move { prime_types(client).await.map_err(HookError::Backend) })
            }))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))
    }

    /// A dedicated connection outside the pool (LISTEN, migrations), with its
    /// connection task spawned. Notifications arrive on the returned channel.
    pub async fn connect_dedicated(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
        ),
        DbError,
    > {
        let (client, mut connection) =
            self.pg.connect(NoTls).await.map_err(|e| self.classify(e))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            use futures::StreamExt;
            while let Some(Ok(msg)) = stream.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = msg
                    && tx.send(n).is_err()
                {
                    break;
                }
            }
        });
        prime_types(&client).await?;
        Ok((client, rx))
    }

    /// Turn a connection failure into the one-line error a person can act on.
    pub fn classify(&self, e: tokio_postgres::Error) -> DbError {
        if let Some(db) = e.as_db_error() {
            return match db.code().code() {
                "28P01" | "28000" => DbError::AuthFailed {
                    user: self.pg.get_user().unwrap_or("").to_string(),
                    reason: db.message().to_string(),
                },
                "3D000" => DbError::DatabaseMissing {
                    name: self.dbname().to_string(),
                },
                _ => DbError::Postgres(e),
            };
        }
        let reason = super::error::describe(&e);
        if reason.contains("timed out") || reason.contains("timeout") {
            return DbError::Timeout(format!("connecting to {}", self.target()));
        }
        let reason = reason
            .trim_start_matches("error connecting to server: ")
            .to_string();
        DbError::Unreachable {
            target: self.target(),
            reason,
        }
    }

    /// Map a pool error to the one-line error.
    pub fn pool_error(&self, e: deadpool_postgres::PoolError) -> DbError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => self.classify(e),
            deadpool_postgres::PoolError::Timeout(_) => {
                DbError::Timeout(format!("a connection to {}", self.target()))
            }
            other => DbError::Pool(other.to_string()),
        }
    }
}

/// The database's own types that a result column can have: enums, domains,
/// ranges and extension base types (pgvector's `vector`, `halfvec`,
/// `sparsevec`) in any non-system schema, and arrays of those. Table row
/// types (and arrays of them) are left out: no query returns one.
const USER_TYPES_SQL: &str = "SELECT format('NULL::%s', t.oid::regtype)
     FROM pg_type t
     JOIN pg_namespace n ON n.oid = t.typnamespace
     LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typelem <> 0
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
       AND t.typtype IN ('b', 'd', 'e', 'r', 'm')
       AND coalesce(e.typtype, '') <> 'c'
     ORDER BY t.oid
     LIMIT 500";

/// Teach `client` every type of [`USER_TYPES_SQL`] by preparing (never
/// executing) one statement that names them all: see the module docs for
/// the deadlock this prevents. A few milliseconds per new connection.
pub async fn prime_types(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let mut columns = Vec::new();
    for m in client.simple_query(USER_TYPES_SQL).await? {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m
            && let Some(c) = r.get(0)
        {
            columns.push(c.to_string());
        }
    }
    if columns.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare(&format!("SELECT {}", columns.join(", ")))
        .await?;
    // Types stay cached in the client; the statement itself is not needed.
    drop(statement);
    Ok(())
}

/// `url` with its database replaced by `name` (host, user, options kept):
/// how tests and benchmarks reach a sibling database on the same server.
pub fn url_with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

/// Build the pool and prove it works with one connection, so the first
/// error a person sees is about the database, not a later query.
pub async fn connect(cfg: &DbConfig) -> Result<Pool, DbError> {
    let pool = cfg.build_pool()?;
    let client = pool.get().await.map_err(|e| cfg.pool_error(e))?;
    client.simple_query("SELECT 1").await?;
    drop(client);
    Ok(pool)
}

/// Get a client from the pool with errors mapped to [`DbError`].
pub async fn client(pool: &Pool) -> Result<Client, DbError> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => {
            if e.as_db_error().is_some() {
                DbError::Postgres(e)
            } else {
                DbError::Unreachable {
                    target: "the database".to_string(),
                    reason: super::error::describe(&e),
                }
            }
        }
        deadpool_postgres::PoolError::Timeout(_) => {
            DbError::Timeout("a free connection from the pool".to_string())
        }
        other => DbError::Pool(other.to_string()),
    })
}
