//! What each subcommand does. `main` parses and dispatches here.

use crate::cli::{
    Cli, Command, FilterArg, InboxArgs, MigrateAction, RepAction, RoleArg, SeedDemoArgs,
};
use crate::config::{self, ConfigError, Loaded, Overrides, Secret};
use crate::db::conversations::{self, InboxQuery, Page, StatusFilter};
use crate::db::migrate::{self, SchemaState, State};
use crate::db::pool::{DbConfig, DbOptions};
use crate::db::{self, DbError, RepRole};
use crate::demo::{self, SeedError, SeedOptions};
use crate::out::Out;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
    /// A command ran and found a problem it already explained (exit 1).
    #[error("{0}")]
    Failed(String),
    /// Writing the output failed; [`OutError::Closed`] (the reader of a
    /// pipe went away) ends the command quietly with exit 0.
    #[error(transparent)]
    Out(#[from] crate::out::OutError),
}

impl AppError {
    /// 2 for bad input on the command line or in config, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Out(crate::out::OutError::Closed) => 0,
            AppError::Config(_) | AppError::Usage(_) | AppError::Db(DbError::BadUrl(_)) => 2,
            _ => 1,
        }
    }
}

pub struct Context {
    pub loaded: Loaded,
    pub db: DbConfig,
    /// The longest a command waits for one answer from the database.
    pub deadline: Duration,
}

impl Context {
    /// `fut` (one database call, or a few) within [`Context::deadline`]: a
    /// stuck connection ends the command with a one-line error instead of
    /// a silent hang. Only database waits are bounded, never output to a
    /// slow reader such as `less`.
    pub async fn bounded<T, E>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, AppError>
    where
        AppError: From<E>,
    {
        within(self.deadline, what, fut).await
    }
}

/// [`Context::bounded`] without a context.
pub async fn within<T, E>(
    deadline: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, AppError>
where
    AppError: From<E>,
{
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r.map_err(AppError::from),
        Err(_) => Err(AppError::Db(DbError::Timeout(format!(
            "{what}: no answer in {} s",
            deadline.as_secs()
        )))),
    }
}

pub fn context(cli: &Cli) -> Result<Context, AppError> {
    let loaded = config::load(&Overrides {
        config_path: cli.config.clone(),
        database_url: cli.database_url.clone().map(Secret::new),
        rep: cli.rep.clone(),
    })?;
    for w in &loaded.warnings {
        eprintln!("replydesk: {w}");
    }
    let s = &loaded.settings;
    let db = DbConfig::from_url(
        s.database_url.expose(),
        &DbOptions {
            connect_timeout: Duration::from_secs(s.connect_timeout_secs.max(1)),
            statement_timeout: Duration::from_secs(s.statement_timeout_secs.max(1)),
            pool_size: s.pool_size,
            ..DbOptions::default()
        },
    )?;
    let deadline = Duration::from_secs(s.query_deadline_secs.max(1));
    Ok(Context {
        loaded,
        db,
        deadline,
    })
}

fn print_applied(applied: &[migrate::Applied], verb: &str) {
    for a in applied {
        eprintln!(
            "replydesk:   {verb} {:04} {} ({} ms)",
            a.version,
            a.name,
            a.took.as_millis()
        );
    }
}

/// Make sure the schema fits this binary before the inbox opens: migrate an
/// empty database (first launch), migrate when asked, refuse otherwise.
pub async fn prepare_schema(db: &DbConfig, migrate_requested: bool) -> Result<(), AppError> {
    let (mut client, _notes) = db.connect_dedicated().await?;
    let state = migrate::check(&client).await?;
    let pending = migrate::MIGRATIONS.len();
    match state {
        SchemaState::Current => {
            if migrate_requested {
                eprintln!("replydesk: the schema of {} is up to date", db.target());
            }
            return Ok(());
        }
        SchemaState::Empty => eprintln!(
            "replydesk: first launch: creating the schema in {} ({pending} migrations)",
            db.target()
        ),
        SchemaState::Behind { pending } if migrate_requested => eprintln!(
            "replydesk: applying {pending} pending migration(s) to {}",
            db.target()
        ),
        SchemaState::Behind { pending } => return Err(DbError::SchemaBehind { pending }.into()),
    }
    let applied = migrate::up(&mut client, None).await?;
    print_applied(&applied, "applied");
    Ok(())
}

pub async fn run_migrate(db: &DbConfig, action: &MigrateAction) -> Result<(), AppError> {
    let (mut client, _notes) = db.connect_dedicated().await?;
    match action {
        MigrateAction::Status => {
            let mut out = Out::stdout();
            let rows = migrate::status(&client).await?;
            out.line(format!(
                "{:<8} {:<16} {:<9} {:<14} applied at",
                "version", "name", "state", "checksum"
            ))?;
            for r in &rows {
                let state = match r.state {
                    State::Applied => "applied",
                    State::Pending => "pending",
                    State::Drifted => "DRIFT",
                    State::Unknown => "unknown",
                };
                out.line(format!(
                    "{:<8} {:<16} {:<9} {:<14} {}",
                    format!("{:04}", r.version),
                    r.name,
                    state,
                    r.checksum.get(..12).unwrap_or(&r.checksum),
                    r.applied_at
                        .map(db::error::human_time)
                        .unwrap_or_else(|| "-".into())
                ))?;
            }
            let pending = rows.iter().filter(|r| r.state == State::Pending).count();
            out.line(format!(
                "{} applied, {pending} pending",
                rows.len() - pending
            ))?;
            out.finish()?;
            if let Some(r) = rows.iter().find(|r| r.state == State::Drifted) {
                return Err(DbError::Drift {
                    version: r.version,
                    name: r.name.clone(),
                }
                .into());
            }
            if let Some(r) = rows.iter().find(|r| r.state == State::Unknown) {
                return Err(DbError::SchemaAhead { version: r.version }.into());
            }
        }
        MigrateAction::Up => {
            let applied = migrate::up(&mut client, None).await?;
            if applied.is_empty() {
                eprintln!("replydesk: nothing to apply; the schema is up to date");
            }
            print_applied(&applied, "applied");
        }
        MigrateAction::Down { n } => {
            let reverted = migrate::down(&mut client, *n).await?;
            if reverted.is_empty() {
                eprintln!("replydesk: nothing to roll back");
            }
            print_applied(&reverted, "rolled back");
        }
        MigrateAction::Redo => {
            let reverted = migrate::down(&mut client, 1).await?;
            print_applied(&reverted, "rolled back");
            let applied = migrate::up(&mut client, None).await?;
            print_applied(&applied, "applied");
        }
    }
    Ok(())
}

pub async fn run_seed(
    db: &DbConfig,
    ai: &config::AiSettings,
    args: &SeedDemoArgs,
) -> Result<(), AppError> {
    prepare_schema(db, false).await?;
    // The AI half goes through `embed` and `suggest`; build them first so a
    // bad [ai] config fails before anything is written.
    let models = if args.no_ai {
        None
    } else {
        let embedder = crate::ops::embed::configured_embedder(ai)?;
        let drafter = crate::ops::suggest::configured_drafter(ai, embedder.clone())?;
        Some((embedder, drafter))
    };
    if args.if_empty {
        let (client, _n) = db.connect_dedicated().await?;
        let existing = demo::existing_conversations(&client).await?;
        if existing > 0 {
            eprintln!(
                "replydesk: the database already has {existing} conversations; not seeding (--if-empty)"
            );
            return Ok(());
        }
    }
    let bar = crate::ops::embed::bar("seeding messages");
    let report = demo::seed_with(
        db,
        &SeedOptions {
            conversations: args.conversations as usize,
            seed: args.seed,
            streams: std::thread::available_parallelism().map_or(2, |n| n.get()),
        },
        models.is_none(),
        crate::ops::embed::follow(&bar),
    )
    .await?;
    bar.finish_and_clear();
    eprintln!(
        "replydesk: seeded {} conversations, {} messages, {} drafts in {:.1} s ({:.0} messages/s, full-text index included)",
        report.conversations,
        report.messages,
        report.suggestions,
        report.seconds,
        report.messages_per_second()
    );
    let Some((embedder, drafter)) = models else {
        return Ok(());
    };
    let bar = crate::ops::embed::bar("embedding");
    let embedded = crate::ops::embed::backfill(
        db,
        embedder.clone(),
        &crate::ops::embed::EmbedOptions::default(),
        crate::ops::embed::follow(&bar),
    )
    .await?;
    bar.finish_and_clear();
    crate::ops::embed::print_report(&embedded);
    let pool = db::connect(db).await?;
    let bar = crate::ops::embed::bar("drafting");
    let drafted = crate::ops::suggest::suggest(
        &pool,
        embedder,
        drafter,
        &crate::ops::suggest::SuggestOptions {
            which: crate::ops::suggest::Which::Undrafted,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        },
        crate::ops::embed::follow(&bar),
    )
    .await?;
    bar.finish_and_clear();
    crate::ops::suggest::print_report(&drafted);
    Ok(())
}

/// Rows per keyset page of `inbox --all` and of a large `--limit`.
const INBOX_PAGE: i64 = 1000;

pub async fn run_inbox(ctx: &Context, args: &InboxArgs) -> Result<(), AppError> {
    let mut out = Out::stdout();
    let pool = ctx.bounded("connecting", db::connect(&ctx.db)).await?;
    let client = ctx.bounded("a connection", db::pool::client(&pool)).await?;
    let owner = if args.mine {
        Some(
            ctx.bounded(
                "looking up the rep",
                db::reps::find_by_email(&**client, &ctx.loaded.settings.rep),
            )
            .await?
            .id,
        )
    } else {
        None
    };
    let filter = match args.filter {
        FilterArg::NeedsReply => StatusFilter::NeedsReply,
        FilterArg::Waiting => StatusFilter::Waiting,
        FilterArg::All => StatusFilter::All,
        FilterArg::Archived => StatusFilter::Archived,
    };
    let query = InboxQuery {
        filter,
        owner,
        unassigned: false,
    };
    if !args.json {
        out.line(format!(
            "{:>7}  {:<11}  {:<22}  {:<40}  {:>5}  {:>4}",
            "id", "status", "lead", "subject", "draft", "msgs"
        ))?;
    }
    // Keyset pages, each printed before the next is read: any number of
    // rows in the memory of one page.
    let wanted = if args.all { i64::MAX } else { args.limit };
    let mut shown: i64 = 0;
    let mut page = Page::First;
    while shown < wanted {
        let size = (wanted - shown).min(INBOX_PAGE);
        let rows = ctx
            .bounded(
                "the inbox page",
                conversations::page(&client, &query, page, size),
            )
            .await?;
        for r in &rows {
            if args.json {
                out.line(serde_json::to_string(&clean_row(r)).unwrap_or_default())?;
            } else {
                let line = format!(
                    "{:>7}  {:<11}  {:<22}  {:<40}  {:>5}  {:>4}",
                    r.id,
                    r.status.label(),
                    out.cell(&r.lead_name, 22),
                    out.cell(&r.subject, 40),
                    r.pending_confidence
                        .map(|c| format!("{:.0}%", c * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    r.message_count
                );
                out.line(line)?;
            }
        }
        shown += rows.len() as i64;
        match rows.last() {
            Some(last) if rows.len() as i64 == size => page = Page::After(last.cursor()),
            _ => break,
        }
    }
    if !args.json {
        let counts = ctx
            .bounded("the counts", conversations::counts(&**client, owner))
            .await?;
        out.line(format!(
            "{} shown · needs reply {} · waiting {} · archived {} · all {}",
            shown,
            counts.needs_reply,
            counts.waiting,
            counts.archived,
            counts.total()
        ))?;
    }
    Ok(out.finish()?)
}

/// A list row with its outside text made safe for whatever prints the JSON.
fn clean_row(r: &conversations::ConversationRow) -> conversations::ConversationRow {
    conversations::ConversationRow {
        subject: crate::text::sanitize_line(&r.subject),
        lead_name: crate::text::sanitize_line(&r.lead_name),
        lead_email: r.lead_email.as_deref().map(crate::text::sanitize_line),
        ..r.clone()
    }
}

pub async fn run_rep(ctx: &Context, action: &RepAction) -> Result<(), AppError> {
    let mut out = Out::stdout();
    let pool = ctx.bounded("connecting", db::connect(&ctx.db)).await?;
    let client = ctx.bounded("a connection", db::pool::client(&pool)).await?;
    match action {
        RepAction::Add { email, name, role } => {
            let email = email.trim();
            if !email.contains('@') || email.len() < 3 {
                return Err(AppError::Usage(format!(
                    "\"{email}\" is not an email address: give the rep's email, e.g. dana@example.com"
                )));
            }
            let name = name
                .clone()
                .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
            let role = match role {
                RoleArg::Rep => RepRole::Rep,
                RoleArg::Manager => RepRole::Manager,
                RoleArg::Admin => RepRole::Admin,
            };
            let rep = ctx
                .bounded(
                    "saving the rep",
                    db::reps::upsert(&**client, email, &name, role),
                )
                .await?;
            let line = format!(
                "rep {} <{}> ({:?})",
                out.cell(&rep.display_name, 60),
                out.cell(&rep.email, 80),
                rep.role
            );
            out.line(line)?;
        }
        RepAction::List => {
            let reps = ctx
                .bounded("listing reps", db::reps::list(&**client))
                .await?;
            // Columns as wide as the longest address (into a pipe nothing is cut).
            let width = reps
                .iter()
                .map(|r| crate::text::display_width(&out.cell(&r.email, 40)))
                .max()
                .unwrap_or(0);
            for r in reps {
                let email = out.cell(&r.email, 40);
                let pad = width.saturating_sub(crate::text::display_width(&email));
                let line = format!(
                    "{email}{}  {:<24} {:?}",
                    " ".repeat(pad),
                    out.cell(&r.display_name, 24),
                    r.role
                );
                out.line(line.trim_end())?;
            }
        }
    }
    Ok(out.finish()?)
}

pub async fn run_rls(ctx: &Context, action: &crate::cli::RlsAction) -> Result<(), AppError> {
    use crate::cli::RlsAction;
    let (mut client, _notes) = ctx.db.connect_dedicated().await?;
    match action {
        RlsAction::Enable => {
            db::rls::enable(&mut client).await?;
            eprintln!(
                "replydesk: row-level security is on in {}: reps see their own and unassigned conversations; set rls = true in each rep's config",
                ctx.db.target()
            );
        }
        RlsAction::Disable => {
            db::rls::disable(&mut client).await?;
            eprintln!(
                "replydesk: row-level security is off in {}: every login sees every conversation",
                ctx.db.target()
            );
        }
        RlsAction::Status => {
            let mut out = Out::stdout();
            let tables = db::rls::status(&client).await?;
            out.line(format!(
                "{:<20} {:<8} {:<7} policies",
                "table", "enabled", "forced"
            ))?;
            for t in &tables {
                out.line(format!(
                    "{:<20} {:<8} {:<7} {}",
                    t.table,
                    if t.enabled { "yes" } else { "no" },
                    if t.forced { "yes" } else { "no" },
                    t.policies
                ))?;
            }
            let on = !tables.is_empty() && tables.iter().all(|t| t.enabled && t.forced);
            let (user, rep) = db::rls::whoami(&client).await?;
            let who = rep.map_or_else(
                || "not linked to a rep".to_string(),
                |r| format!("rep {}", r.email),
            );
            out.line(format!(
                "row-level security is {}; you are database user \"{user}\" ({who})",
                if on { "ON" } else { "OFF" }
            ))?;
            out.finish()?;
        }
        RlsAction::Grant { email, db_role } => {
            let role = db_role
                .clone()
                .unwrap_or_else(|| db::rls::default_db_role(email));
            let g = db::rls::grant(&mut client, email, &role).await?;
            let mut out = Out::stdout();
            out.line(format!(
                "rep {} logs in as database user \"{}\" ({}{}); set its password with ALTER ROLE \"{}\" PASSWORD '…' unless the server authenticates it otherwise",
                g.rep.email,
                g.db_role,
                g.group,
                if g.created { ", created" } else { "" },
                g.db_role
            ))?;
            out.finish()?;
        }
    }
    Ok(())
}

/// Everything but opening the inbox.
pub async fn dispatch(cli: &Cli, ctx: &Context) -> Result<bool, AppError> {
    match &cli.command {
        Some(Command::Migrate { action }) => run_migrate(&ctx.db, action).await?,
        Some(Command::SeedDemo(args)) => run_seed(&ctx.db, &ctx.loaded.settings.ai, args).await?,
        Some(Command::Inbox(args)) => run_inbox(ctx, args).await?,
        Some(Command::Rep { action }) => run_rep(ctx, action).await?,
        Some(Command::Rls { action }) => run_rls(ctx, action).await?,
        Some(Command::Doctor) => crate::ops::doctor::run(ctx).await?,
        Some(Command::EraseLead(args)) => crate::ops::erase::run(ctx, args).await?,
        Some(Command::Stats(args)) => crate::ops::stats::run(ctx, cli.rep.as_deref(), args).await?,
        Some(Command::Embed(args)) => crate::ops::embed::run(ctx, args).await?,
        Some(Command::Suggest(args)) => crate::ops::suggest::run(ctx, args).await?,
        Some(Command::Search(args)) => crate::ops::search::run(ctx, args).await?,
        Some(Command::Show(args)) => crate::ops::show::run(ctx, args).await?,
        Some(Command::Import(args)) => crate::ops::import::run(ctx, args).await?,
        Some(Command::Deliver(args)) => crate::ops::deliver::run(ctx, args).await?,
        Some(Command::Worker(args)) => crate::ops::worker::run(ctx, args).await?,
        None => return Ok(false),
    }
    Ok(true)
}

/// Open the inbox for the configured rep.
pub async fn open_inbox(ctx: &Context) -> Result<(), AppError> {
    let pool = db::connect(&ctx.db).await?;
    let rep = {
        let client = db::pool::client(&pool).await?;
        if ctx.loaded.settings.rls {
            db::rls::session_rep(&**client, &ctx.loaded.settings.rep).await?
        } else {
            db::reps::find_by_email(&**client, &ctx.loaded.settings.rep).await?
        }
    };
    crate::tui::run(crate::tui::Launch {
        settings: ctx.loaded.settings.clone(),
        db: ctx.db.clone(),
        pool,
        rep,
    })
    .await?;
    Ok(())
}
