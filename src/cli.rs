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
    /// Row-level security: enable, disable, status; grant links a rep to a database login.
    Rls {
        #[command(subcommand)]
        action: RlsAction,
    },
    /// Check the set-up: database, pgvector, migrations, indexes, config, provider, outbox, notifications.
    Doctor,
    /// GDPR erase: delete a lead and everything that mentions it (audited, without personal data).
    EraseLead(EraseLeadArgs),
    /// Response times, draft decisions by confidence, rejection reasons, AI cost (per rep and total).
    Stats(StatsArgs),
    /// Backfill embeddings of inbound messages for the configured model (resumable, idempotent).
    Embed(EmbedArgs),
    /// Draft replies for conversations that need one and have no pending draft.
    Suggest(SuggestArgs),
    /// Search conversations: words (websearch syntax) and operators (from: to: lead: rep: status: date: subject:); --semantic adds meaning.
    Search(SearchArgs),
    /// Print one conversation's thread (text or --json), for scripts.
    Show(ShowArgs),
    /// Import mail: JSONL, mbox or Maildir; re-importing adds nothing.
    Import(ImportArgs),
    /// Send the outbox rows that are due, once, then exit.
    Deliver(DeliverArgs),
    /// Run until stopped: embed new messages, draft replies, deliver the outbox.
    Worker(WorkerArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Jsonl,
    Mbox,
    Maildir,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A .jsonl file, an mbox file or a Maildir folder.
    pub path: PathBuf,
    /// The format; by default guessed from the path and its first bytes.
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Where the messages come from (leads.source, messages.source) when a
    /// record does not say; default "email" for mail, "import" for JSONL.
    #[arg(long)]
    pub source: Option<String>,
    /// Read everything again, not only what is new since the last import
    /// of this path (what is stored already is still a duplicate).
    #[arg(long)]
    pub full: bool,
    /// Mail from this domain (and its subdomains) is the team's: outbound,
    /// never a lead. Repeatable; adds to import.team_domains.
    #[arg(long = "team-domain", value_name = "DOMAIN")]
    pub team_domains: Vec<String>,
    /// Do not look for the team in the mail (senders writing to many
    /// correspondents), nor apply what earlier imports found.
    #[arg(long)]
    pub no_detect_team: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Send at most this many rows.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Skip drafting (only embed and deliver).
    #[arg(long)]
    pub no_drafts: bool,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Messages per batch (one embedder call and one COPY each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Also re-draft conversations whose draft for the latest message was rejected
    /// (by default those are left to the rep).
    #[arg(long, conflicts_with = "conversation")]
    pub all: bool,
    /// Draft for this one conversation only.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<i64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    NeedsReply,
    Waiting,
    Active,
    Archived,
}

#[derive(Debug, Args)]
#[command(after_long_help = SEARCH_HELP)]
pub struct SearchArgs {
    /// Words (websearch syntax: words, "a phrase", or, -excluded) and operators
    /// (from: to: lead: rep: status: date: subject:); see below.
    pub query: String,
    /// Also search by meaning (embeddings), merged with the full-text results.
    #[arg(long)]
    pub semantic: bool,
    /// Only conversations with this status (the same as status:S).
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only conversations owned by the rep (--rep); the same as rep:me.
    #[arg(long)]
    pub mine: bool,
    /// At most this many conversations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Every matching conversation, streamed (best first; no --semantic).
    #[arg(long, conflicts_with_all = ["limit", "semantic"])]
    pub all: bool,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The long help of `replydesk search`.
pub const SEARCH_HELP: &str = "\
Operators (the same in the inbox's / search):
  from:ADDR, to:ADDR   a message from / to dana@example.com, anyone at a domain
                       (@example.com or example.com), or an address starting
                       with a word (from:dana)
  lead:WHO             the lead's address (as above) or a word of the name
                       (lead:kevin, lead:\"Kevin Lee\")
  rep:WHO              the owner: address, start of address, word of the name;
                       rep:me is you (--rep), rep:none nobody
  status:S             needs-reply, waiting, active, archived
  date:WHEN            a message sent on 2025-03-01, in 2025-03, in 2025, in
                       A..B (both ends included; ..B and A.. too), or within
                       30d, 12h, 2w, 90m back from now
  subject:WORDS        words of a message's subject (subject:\"road bike\")
The same operator twice matches either value; different operators must all
match; words and operators combine: replydesk search 'delivery from:@acme.example date:30d'

Ranking: one row per conversation, for its best message. With words, every
match is ranked (ts_rank; subject words weigh more) when at most 2,000
messages match, so a rare word is found wherever it is. A word more common
than that ranks its newest 1,000 matches (add words or an operator to
narrow it). Operators alone list newest first. --semantic adds the nearest
messages by meaning (for words without from:/to:/date:/subject:), merged by
reciprocal rank fusion. --all streams every match (best first) as it is read.

Piped into head, less or grep, output stops quietly when the reader does.";

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The conversation's id (as `inbox` and `search` print it).
    pub id: i64,
    /// One JSON object (the conversation, its messages, the pending draft) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EraseLeadArgs {
    /// The lead's email address (matched case-insensitively).
    pub email: String,
    /// Erase without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
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
    /// Skip embeddings and drafts (text only; the seeder writes placeholder drafts).
    #[arg(long)]
    pub no_ai: bool,
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
    /// At most this many conversations.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
    pub limit: i64,
    /// Every conversation of the filter, streamed page by page (any number, constant memory).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `replydesk stats`; the global `--rep EMAIL` limits it to one rep.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The window: a duration back from now (30d, 12h, 2w, 90m) or a date (2025-03-01).
    #[arg(
        long,
        default_value = "30d",
        value_name = "WHEN",
        allow_hyphen_values = true
    )]
    pub since: String,
    /// One JSON object instead of the tables.
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

#[derive(Debug, Subcommand)]
pub enum RlsAction {
    /// Turn row-level security on in this database (reps then see only their own and unassigned conversations).
    Enable,
    /// Turn row-level security off again (policies stay for next time).
    Disable,
    /// Show which tables have row-level security on, and who the login is.
    Status,
    /// Link a rep to a database login role (created if missing) in the group for the rep's role.
    Grant {
        /// The rep's email (the rep must exist: `replydesk rep add`).
        email: String,
        /// Database role to log in as (default: from the email, e.g. dana_cruz).
        #[arg(long, value_name = "NAME")]
        db_role: Option<String>,
    },
}
