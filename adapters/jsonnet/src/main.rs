//! WASI command entry point: `NAME HOOK SCRIPT`, request on stdin, response on stdout,
//! exit 1 with a message on stderr. The work is done by the library ([`jsonnet_adapter::run`]).

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // hookserver puts the hook name in argv[0]. A native process gets its own path there
    // (tests, `cargo run -- NAME HOOK SCRIPT`), so skip it.
    #[cfg(not(target_os = "wasi"))]
    let args = args.into_iter().skip(1).collect::<Vec<_>>();
    let name = args.first().map_or_else(
        || "jsonnet".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );

    let result = jsonnet_adapter::run(args, &mut std::io::stdin().lock()).and_then(|body| {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(body.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|error| {
                jsonnet_adapter::Failure::Internal(format!("cannot write the response: {error}"))
            })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{name}: {failure}");
            ExitCode::FAILURE
        }
    }
}
