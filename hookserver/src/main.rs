//! `hookserver`: parse flags, build the parts, serve (or run one hook, or inspect a module).

use std::io::IsTerminal;

use clap::Parser;
use hookserver::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => args.config().and_then(|config| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(hookserver::server::serve(config))
        }),
        Command::Run(args) => cli::run(args),
        Command::Configmap(args) => cli::configmap(args),
        Command::Inspect { module } => cli::inspect(&module),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
