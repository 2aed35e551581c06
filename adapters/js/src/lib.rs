//! Runs metacontroller hooks written in JavaScript for metacontroller's generic nodejs
//! server, unchanged, as a hookserver hook module (a WASI preview1 command embedding the
//! QuickJS engine).
//!
//! ```
//! use js_adapter::{Hook, Invocation};
//!
//! // tests/scripts/echo.js: module.exports = async (context) =>
//! //     ({status: 200, body: {children: [], status: {seen: context.request.body.parent.metadata.name}}});
//! let invocation = Invocation {
//!     name: "echo".to_string(),
//!     hook: Hook::Sync,
//!     script: "tests/scripts/echo.js".into(),
//! };
//! let request = br#"{"parent": {"metadata": {"name": "web"}}, "children": {}}"#;
//! let response = js_adapter::run(&invocation, request).unwrap();
//! assert_eq!(response.as_deref(), Some(r#"{"children":[],"status":{"seen":"web"}}"#));
//! ```
//!
//! # Concepts
//!
//! - An [`Invocation`] is one call as hookserver makes it: `argv = [NAME, HOOK, SCRIPT]`,
//!   the request on stdin, the response on stdout, a message on stderr and exit 1 on
//!   failure (`src/main.rs` does that I/O).
//! - The script is a CommonJS module whose `module.exports` is a function of a context
//!   `{request: {body, headers, method, url}}` returning (a promise of)
//!   `{status, headers, body}`; see [`hook`] for the exact contract and [`modules`] for
//!   `require`.
//! - Each call builds a new QuickJS runtime and context ([`engine`]), runs the script's
//!   top level, calls the function once and lets the promise settle by running the job
//!   queue. Nothing survives the call, as nothing survives a hookserver instance.
//! - Hook `check` only loads the script and checks that `module.exports` is a function.

pub mod console;
pub mod describe;
pub mod engine;
pub mod error;
pub mod hook;
pub mod invocation;
pub mod modules;
pub mod resolve;
pub mod stack;

use rquickjs::{Ctx, Function, Value};

use crate::describe::{caught, type_name};
pub use crate::error::{Error, Result};
pub use crate::invocation::{Hook, Invocation};

/// Runs one invocation. `request` is stdin (ignored by `check`). Returns the response to
/// print on stdout, or `None` for a `check` that passed.
pub fn run(invocation: &Invocation, request: &[u8]) -> Result<Option<String>> {
    // Read before the engine starts: a missing script costs no engine.
    let source =
        std::fs::read_to_string(&invocation.script).map_err(|reason| Error::ReadScript {
            script: invocation.script.clone(),
            reason,
        })?;
    let engine = engine::Engine::new()?;
    engine.context.with(|ctx| {
        let body = match invocation.hook {
            Hook::Check => None,
            hook => Some(parse_request(&ctx, hook, request)?),
        };
        let export = load(&ctx, invocation, &source)?;
        match body {
            Some(body) => hook::call(&ctx, &export, invocation, body).map(Some),
            None => Ok(None),
        }
    })
}

/// metacontroller's request, parsed as the node server parses a JSON body.
fn parse_request<'js>(ctx: &Ctx<'js>, hook: Hook, request: &[u8]) -> Result<Value<'js>> {
    if request.trim_ascii().is_empty() {
        return Err(Error::InvalidRequest {
            hook,
            reason: "stdin is empty".to_string(),
        });
    }
    ctx.json_parse(request)
        .map_err(|err| Error::InvalidRequest {
            hook,
            reason: caught(ctx, err)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        })
}

/// Runs the script's top level and returns its exported function.
fn load<'js>(ctx: &Ctx<'js>, invocation: &Invocation, source: &str) -> Result<Function<'js>> {
    let exports =
        modules::run_entry(ctx, &invocation.script, source).map_err(|err| Error::Load {
            script: invocation.script.clone(),
            error: caught(ctx, err),
        })?;
    match exports.as_function() {
        Some(function) => Ok(function.clone()),
        None => Err(Error::NotAFunction {
            script: invocation.script.clone(),
            got: type_name(&exports).to_string(),
        }),
    }
}
