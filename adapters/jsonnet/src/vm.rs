//! The interpreter as jsonnetd configures go-jsonnet: the standard library, jsonnetd's two
//! native functions, file imports relative to the importing file, no external variables,
//! no library paths.
//!
//! Everything here is built again for every call (each request gets a fresh Wasm
//! instance), so it must stay cheap: jrsonnet's standard library is native Rust code
//! (building the `std` object allocates a table of builtins, nothing is parsed), and
//! imported files are read and parsed only when evaluation reaches them.

use jrsonnet_evaluator::State;
use jrsonnet_evaluator::stack::{StackDepthLimitOverrideGuard, limit_stack_depth};
use jrsonnet_evaluator::trace::PathResolver;

use crate::imports::ScriptImports;
use crate::natives::natives;

/// How deep jsonnet calls may nest before evaluation fails with "stack overflow" and a
/// trace that names the recursive function.
///
/// go-jsonnet (so jsonnetd) allows 500. Under hookserver the engine's Wasm call stack is
/// the real limit, and it runs out first: measured with this build, plain recursion
/// (`f(n) = ... f(n - 1)`) traps at about 430 levels, recursion through `std.map` or
/// `std.format` callbacks at about 150-200. A trap is reported only as "call stack
/// exhausted", without the place in the script, so the limit stays at jrsonnet's default,
/// 200, where the jsonnet error comes first for those shapes.
pub const MAX_STACK: usize = 200;

/// A jsonnet interpreter for one script.
pub fn state(imports: ScriptImports) -> State {
    // Paths are printed as given (`/hook/x.jsonnet` under hookserver): resolving them
    // against a working directory would need `canonicalize`, which WASI lacks.
    let stdlib = jrsonnet_stdlib::ContextInitializer::new(PathResolver::Absolute);
    for (name, function) in natives() {
        stdlib.add_native(name, function);
    }
    let mut builder = State::builder();
    builder.import_resolver(imports).context_initializer(stdlib);
    builder.build()
}

/// Sets the recursion limit to [`MAX_STACK`] until the guard is dropped.
pub fn stack_limit() -> StackDepthLimitOverrideGuard {
    limit_stack_depth(MAX_STACK)
}
