//! `replydesk worker`.

use crate::cli::WorkerArgs;
use crate::commands::{AppError, Context};

pub async fn run(_ctx: &Context, _args: &WorkerArgs) -> Result<(), AppError> {
    Err(AppError::Failed(
        "replydesk worker: not available in this build".into(),
    ))
}
