//! The adapter as a WASI command: argv `[NAME, HOOK, SCRIPT]` (or, run natively,
//! `js NAME HOOK SCRIPT`), the request on stdin, the response on stdout; on failure a
//! message on stderr and exit status 1.

use std::io::{Read, Write};
use std::process::ExitCode;

use js_adapter::{Error, Invocation};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let invocation = Invocation::from_args(std::env::args_os())?;
    let mut request = Vec::new();
    if invocation.hook.reads_request() {
        std::io::stdin()
            .read_to_end(&mut request)
            .map_err(|reason| Error::ReadRequest {
                hook: invocation.hook,
                reason,
            })?;
    }
    if let Some(response) = js_adapter::run(&invocation, &request)? {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(response.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(Error::WriteResponse)?;
    }
    Ok(())
}
