//! `hookserver`: parse flags, build the parts, serve (or run one hook, or inspect a module).

use std::io::IsTerminal;

use clap::Parser;
use hookserver::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

/// Caps what a guest can make wasmtime-wasi log, whatever `RUST_LOG` says. It warns on
/// every socket call a guest makes ("p1 sock_accept is not implemented", without the hook's
/// name), so a hook calling `sock_accept` in a loop wrote some 14,000 lines to the server's
/// log per 300 ms of its timeout; and it opens an INFO span around every WASI call.
/// A hook's own words reach the log only through its capped stderr tail.
const GUEST_CALL_LOGS: &str = "wasmtime_wasi::p1=error";

fn main() -> std::process::ExitCode {
    hookserver::heap::return_large_blocks_on_free();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // A constant, parsed by the test below.
        .add_directive(GUEST_CALL_LOGS.parse().expect("a valid log directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_guest_call_log_cap_is_a_valid_directive() {
        let directive = super::GUEST_CALL_LOGS.parse::<tracing_subscriber::filter::Directive>();
        assert!(directive.is_ok(), "{directive:?}");
    }
}
