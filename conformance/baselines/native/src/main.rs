//! `native-baseline`: parse flags, bind, serve the hello-world hook until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// Serves the hello-world hook compiled natively (no Wasm) over axum, as hookserver serves
/// its Wasm module: the baseline hookserver is benchmarked against.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the tokio runtime: {err}"))
        .and_then(|runtime| runtime.block_on(serve(cli.listen)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("native-baseline: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| format!("cannot listen on {listen}: {err} (pick another --listen)"))?;
    let address = listener
        .local_addr()
        .map_err(|err| format!("cannot read the bound address: {err}"))?;
    // Before the line: whoever reads it may stop the server at once.
    let shutdown = shutdown_signal()?;
    // The one line on stdout: scripts and tests read the address from it.
    println!("native baseline listening on http://{address}");
    axum::serve(listener, native_baseline::router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|err| format!("server failed: {err}"))
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C); in-flight requests then finish.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|err| format!("cannot listen for {name}: {err}"))
    };
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}

/// Resolves on Ctrl-C; in-flight requests then finish.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
