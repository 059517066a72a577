/// mimalloc: a faster allocator than glibc's for this many small, short-lived allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;
use conversation_graphql::auth::{self, Caller, Role};
use conversation_graphql::config::TokenArgs;
use conversation_graphql::config::{Cli, Command};
use conversation_graphql::{app, graphql, transfer};
use tracing_subscriber::EnvFilter;

/// The NATS client logs every connection attempt and its failure; the event bus says once
/// when it goes down and once when it is back. A `--log` that names `async_nats` wins.
fn quiet_nats(filter: &str) -> String {
    if filter.contains("async_nats") {
        filter.to_owned()
    } else {
        format!("{filter},async_nats=warn")
    }
}

fn init_logging(filter: &str, format: &str) {
    let filter = EnvFilter::try_new(quiet_nats(filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().with_current_span(true).init();
    } else {
        builder.with_ansi(!no_color).init();
    }
}

/// Logging for `import` / `export`: on standard error (standard output may be the export),
/// without the migrator's and the database's chatter.
fn init_tool_logging(filter: &str) {
    let filter = EnvFilter::try_new(format!("{filter},sea_orm_migration=warn,sqlx=warn"))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Command::Token(args) => return mint(&cli.serve.jwt_secret, &args),
        Command::Import(args) => {
            init_tool_logging(&cli.serve.log);
            return match transfer::command::run_import(&cli.serve, &args).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(err) => fail(&err),
            };
        }
        Command::Export(args) => {
            init_tool_logging(&cli.serve.log);
            return match transfer::command::run_export(&cli.serve, &args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => fail(&err),
            };
        }
        Command::Migrate => {
            init_logging(&cli.serve.log, &cli.serve.log_format);
            app::open_database(&cli.serve).await.map(|_| {
                tracing::info!("migrations applied");
            })
        }
        Command::Serve => {
            init_logging(&cli.serve.log, &cli.serve.log_format);
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

fn fail(err: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::FAILURE
}

/// `conversation-graphql token`: prints a token signed with `--jwt-secret`.
fn mint(secret: &Option<String>, args: &TokenArgs) -> ExitCode {
    let Some(secret) = secret else {
        eprintln!("error: `token` signs with --jwt-secret (or JWT_SECRET); none is set");
        return ExitCode::FAILURE;
    };
    let role = Role::parse(&args.role).expect("clap checked the role");
    if role == Role::Agent && args.agent_id.is_none() {
        eprintln!("error: --role agent needs --agent-id");
        return ExitCode::FAILURE;
    }
    let caller = Caller {
        role,
        customer_id: args.customer_id,
        agent_id: args.agent_id,
    };
    if let Err(e) = auth::Verifier::hs256(secret.as_bytes()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match auth::mint_hs256(secret.as_bytes(), &caller, args.ttl) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
