//! WASI command entry point: `hello-world <sync|finalize|customize>`.
//!
//! Reads the metacontroller request JSON on stdin, writes the response JSON on
//! stdout and exits 0; on any error prints a message on stderr and exits 1.
//! All hook logic lives in the library crate.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hello-world: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let hooks = hello_world::HOOKS.join("|");
    let Some(hook) = args.next() else {
        return Err(format!(
            "missing hook name; usage: hello-world <{hooks}> < request.json"
        ));
    };
    if !hello_world::HOOKS.contains(&hook.as_str()) {
        return Err(format!(
            "unknown hook `{hook}`; usage: hello-world <{hooks}> < request.json"
        ));
    }

    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the request from stdin: {e}"))?;
    let request = hello_world::parse_request(&input)?;
    let response = hello_world::run(&hook, &request)?;

    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &response)
        .map_err(|e| format!("cannot write the response to stdout: {e}"))?;
    stdout
        .write_all(b"\n")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the response to stdout: {e}"))
}
