use clap::Parser;
use replydesk::cli::Cli;
use replydesk::commands::{self, AppError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replydesk: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e.downcast_ref::<AppError>().map_or(1, AppError::exit_code);
            // A closed pipe (`| head`) is how the reader says "enough".
            if code != 0 {
                eprintln!("replydesk: {e}");
            }
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = commands::context(&cli)?;
    if commands::dispatch(&cli, &ctx).await? {
        return Ok(());
    }
    commands::prepare_schema(&ctx.db, cli.migrate).await?;
    if cli.no_tui {
        return Ok(());
    }
    commands::open_inbox(&ctx).await?;
    Ok(())
}
