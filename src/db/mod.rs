//! Everything that talks to PostgreSQL. All SQL of the application lives in
//! this folder: plain async functions taking a `&Client` or a `&Transaction`.

pub mod ai_runs;
pub mod conversations;
pub mod drafting;
pub mod embeddings;
pub mod erase;
pub mod error;
pub mod events;
pub mod health;
pub mod import;
pub mod messages;
pub mod migrate;
pub mod outbox;
pub mod pool;
pub mod reps;
pub mod rls;
pub mod search;
pub mod stats;
pub mod suggestions;

pub use error::DbError;
pub use pool::{Pool, connect};

use chrono::{DateTime, Utc};
use postgres_types::{FromSql, ToSql};
use serde::Serialize;

/// The channel every state change is announced on (`NOTIFY replydesk`).
pub const NOTIFY_CHANNEL: &str = "replydesk";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "conversation_status")]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    #[postgres(name = "needs_reply")]
    NeedsReply,
    #[postgres(name = "waiting")]
    Waiting,
    #[postgres(name = "active")]
    Active,
    #[postgres(name = "archived")]
    Archived,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 4] = [
        ConversationStatus::NeedsReply,
        ConversationStatus::Waiting,
        ConversationStatus::Active,
        ConversationStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::NeedsReply => "needs_reply",
            ConversationStatus::Waiting => "waiting",
            ConversationStatus::Active => "active",
            ConversationStatus::Archived => "archived",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConversationStatus::NeedsReply => "needs reply",
            ConversationStatus::Waiting => "waiting",
            ConversationStatus::Active => "active",
            ConversationStatus::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "message_direction")]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[postgres(name = "inbound")]
    Inbound,
    #[postgres(name = "outbound")]
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "suggestion_status")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    #[postgres(name = "pending")]
    Pending,
    #[postgres(name = "approved")]
    Approved,
    #[postgres(name = "edited")]
    Edited,
    #[postgres(name = "rejected")]
    Rejected,
    #[postgres(name = "superseded")]
    Superseded,
}

impl SuggestionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionStatus::Pending => "pending",
            SuggestionStatus::Approved => "approved",
            SuggestionStatus::Edited => "edited",
            SuggestionStatus::Rejected => "rejected",
            SuggestionStatus::Superseded => "superseded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "rejection_reason")]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    #[postgres(name = "wrong_facts")]
    WrongFacts,
    #[postgres(name = "wrong_tone")]
    WrongTone,
    #[postgres(name = "not_needed")]
    NotNeeded,
    #[postgres(name = "other")]
    Other,
}

impl RejectionReason {
    pub const ALL: [RejectionReason; 4] = [
        RejectionReason::WrongFacts,
        RejectionReason::WrongTone,
        RejectionReason::NotNeeded,
        RejectionReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectionReason::WrongFacts => "wrong_facts",
            RejectionReason::WrongTone => "wrong_tone",
            RejectionReason::NotNeeded => "not_needed",
            RejectionReason::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RejectionReason::WrongFacts => "wrong facts",
            RejectionReason::WrongTone => "wrong tone",
            RejectionReason::NotNeeded => "not needed",
            RejectionReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "outbox_status")]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    #[postgres(name = "queued")]
    Queued,
    #[postgres(name = "sending")]
    Sending,
    #[postgres(name = "sent")]
    Sent,
    #[postgres(name = "failed")]
    Failed,
    #[postgres(name = "cancelled")]
    Cancelled,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ToSql, FromSql, Serialize)]
#[postgres(name = "rep_role")]
#[serde(rename_all = "snake_case")]
pub enum RepRole {
    #[postgres(name = "rep")]
    Rep,
    #[postgres(name = "manager")]
    Manager,
    #[postgres(name = "admin")]
    Admin,
}

/// A rep as the rest of the program sees one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rep {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: RepRole,
}

/// Who decided a suggestion, and when: enough to tell a rep who beat them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecidedBy {
    pub rep: String,
    pub at: DateTime<Utc>,
    pub status: SuggestionStatus,
}
