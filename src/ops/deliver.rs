//! `replydesk deliver`.

use crate::cli::DeliverArgs;
use crate::commands::{AppError, Context};

pub async fn run(_ctx: &Context, _args: &DeliverArgs) -> Result<(), AppError> {
    Err(AppError::Failed(
        "replydesk deliver: not available in this build".into(),
    ))
}
