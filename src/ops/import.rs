//! `replydesk import PATH`.

use crate::cli::ImportArgs;
use crate::commands::{AppError, Context};

pub async fn run(_ctx: &Context, _args: &ImportArgs) -> Result<(), AppError> {
    Err(AppError::Failed(
        "replydesk import: not available in this build".into(),
    ))
}
