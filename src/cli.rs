//! The command line (clap derive): global flags and one enum of subcommands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "replydesk",
    version,
    about = "Review AI-drafted replies to sales leads: approve, edit or reject, one key each.",
    after_help = "Without a command, opens the inbox. Exit codes: 0 ok, 1 runtime error, 2 usage."
)]
pub struct Cli {
    /// PostgreSQL URL (else DATABASE_URL, else the config file, else postgres://localhost/replydesk).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Email of the rep who decides (else the config file, else $USER).
    #[arg(long, global = true, value_name = "EMAIL")]
    pub rep: Option<String>,

    /// Config file (else the platform config dir, e.g. ~/.config/replydesk/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Apply pending migrations, then open the inbox.
    #[arg(long)]
    pub migrate: bool,

    /// With --migrate: only migrate, don't open the inbox.
    #[arg(long, requires = "migrate")]
    pub no_tui: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Schema management: status, up, down [N], redo.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Fill an empty database with a deterministic, realistic demo inbox.
    SeedDemo(SeedDemoArgs),
    /// Print the inbox as a table (or JSON), for scripts.
    Inbox(InboxArgs),
    /// Manage reps (who decides).
    Rep {
        #[command(subcommand)]
        action: RepAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// List applied and pending migrations with checksums and drift.
    Status,
    /// Apply pending migrations.
    Up,
    /// Roll back the last N migrations (default 1).
    Down {
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Roll back the last migration and apply it again.
    Redo,
}

#[derive(Debug, Args)]
pub struct SeedDemoArgs {
    /// How many conversations (threads of 1–12 messages, ~5 on average).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    pub conversations: u32,
    /// Random seed: the same seed gives the same inbox.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Do nothing (successfully) when the database already has conversations.
    #[arg(long)]
    pub if_empty: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FilterArg {
    NeedsReply,
    Waiting,
    All,
    Archived,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    #[arg(long, value_enum, default_value_t = FilterArg::NeedsReply)]
    pub filter: FilterArg,
    /// Only conversations owned by the rep (--rep).
    #[arg(long)]
    pub mine: bool,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub limit: i64,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Rep,
    Manager,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum RepAction {
    /// Add a rep (or update the name and role of one).
    Add {
        email: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum, default_value_t = RoleArg::Rep)]
        role: RoleArg,
    },
    /// List reps.
    List,
}
