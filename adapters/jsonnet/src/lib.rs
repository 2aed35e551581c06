//! A hookserver adapter that runs metacontroller Jsonnet hooks unchanged.
//!
//! metacontroller's examples serve Jsonnet hooks with *jsonnetd*: an HTTP server that
//! evaluates `NAME.jsonnet` for every POST to `/NAME`, passing the request body as the
//! top-level argument `request`, and answers with the manifested JSON. This crate does the
//! same inside one WASI preview1 command, so hookserver can serve such a script as a hook:
//!
//! ```text
//! argv:   NAME HOOK SCRIPT        (HOOK: sync | finalize | customize | check)
//! stdin:  the request body        (nothing for check)
//! stdout: the response object     (nothing for check)
//! exit:   0, or 1 with one paragraph on stderr saying what is wrong
//! ```
//!
//! The pieces, in the order a call uses them:
//!
//! - [`args`]: reads `NAME HOOK SCRIPT`.
//! - [`request`]: the body as the `request` argument (jsonnetd passes it as code).
//! - [`vm`]: the interpreter as jsonnetd sets up go-jsonnet, with [`natives`]
//!   (`std.native("jsonUnmarshal")`, `std.native("parseInt")`, the latter on [`strconv`])
//!   and [`imports`] (relative to the importing file).
//! - [`evaluate`] runs a hook; [`check`] only compiles the script and its imports.
//! - [`trace`] turns jsonnet errors into text; [`Failure`] is every way a call fails.
//!
//! jrsonnet is the interpreter. Every call builds it afresh (each request is a new Wasm
//! instance); its standard library is native code, so that costs microseconds.
//!
//! ```
//! # fn main() -> Result<(), jsonnet_adapter::Failure> {
//! let dir = std::env::temp_dir().join(format!("jsonnet-adapter-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).expect("temp dir");
//! let script = dir.join("hello.jsonnet");
//! std::fs::write(&script, "function(request) { status: { name: request.parent.metadata.name } }")
//!     .expect("write script");
//!
//! let args = [std::ffi::OsString::from("hello"), "sync".into(), script.into()];
//! let response = jsonnet_adapter::run(args, &mut &br#"{"parent": {"metadata": {"name": "a"}}}"#[..])?;
//! assert_eq!(response, "{\n   \"status\": {\n      \"name\": \"a\"\n   }\n}\n");
//! # Ok(())
//! # }
//! ```

pub mod args;
pub mod check;
mod error;
pub mod evaluate;
pub mod imports;
pub mod natives;
pub mod request;
pub mod strconv;
pub mod trace;
pub mod vm;

use std::ffi::OsString;
use std::io::Read;

pub use args::{Hook, Invocation};
pub use error::Failure;

/// Runs one call: `args` are `[NAME, HOOK, SCRIPT]`; `stdin` is read (to its end) only for
/// the hooks that take a request. Returns what to print on stdout.
pub fn run<I, S>(args: I, stdin: &mut dyn Read) -> Result<String, Failure>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let invocation = Invocation::from_args(args)?;
    let code = std::fs::read(&invocation.script).map_err(|error| Failure::ReadScript {
        script: invocation.script.clone(),
        error,
    })?;
    if !invocation.hook.takes_request() {
        check::check(&invocation, code)?;
        return Ok(String::new());
    }
    let mut body = Vec::new();
    stdin
        .read_to_end(&mut body)
        .map_err(|error| Failure::ReadRequest {
            hook: invocation.hook,
            error,
        })?;
    let request = request::request_arg(invocation.hook, body)?;
    evaluate::evaluate(&invocation, code, request)
}
