use std::process::ExitCode;

use clap::Parser;
use conversation_graphql::config::{Cli, Command};
use conversation_graphql::{app, graphql};
use tracing_subscriber::EnvFilter;

fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Command::Migrate => {
            init_logging(&cli.serve.log);
            app::open_database(&cli.serve).await.map(|_| {
                tracing::info!("migrations applied");
            })
        }
        Command::Serve => {
            init_logging(&cli.serve.log);
            app::serve(cli.serve).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
