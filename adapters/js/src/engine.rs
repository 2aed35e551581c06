//! The QuickJS runtime and context of one call, with only the parts hooks use.
//!
//! Every hook call is a fresh Wasm instance, so this setup is paid on every request.
//! QuickJS's full context costs about 80 µs natively; the intrinsics below cost about
//! 45 µs. Left out: Proxy, typed arrays, WeakRef, `performance`, `atob`/`btoa` and
//! DOMException, which metacontroller hooks (JSON in, JSON out) do not need.

use rquickjs::context::intrinsic::{Date, Eval, Json, MapSet, Promise, RegExp, RegExpCompiler};
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Runtime};

use crate::{Error, Result, console, modules, stack};

/// What the context has besides the base objects (Object, Function, Array, Error,
/// String, Number, Boolean, Symbol, Math, Reflect, iterators, generators, async
/// functions). `Eval` is what compiles scripts at all.
type Intrinsics = (Eval, Json, Promise, RegExp, RegExpCompiler, MapSet, Date);

/// A runtime with one context holding the globals a nodejs-server hook uses.
pub struct Engine {
    // Field order is drop order: the context goes before its runtime.
    pub context: Context,
    _runtime: Runtime,
}

impl Engine {
    pub fn new() -> Result<Engine> {
        let runtime = Runtime::new().map_err(|err| Error::Engine(err.to_string()))?;
        let context = Context::custom::<Intrinsics>(&runtime)
            .map_err(|err| Error::Engine(err.to_string()))?;
        context
            .with(|ctx| install_globals(&ctx))
            .map_err(|err| Error::Engine(format!("cannot define the globals: {err}")))?;
        Ok(Engine {
            context,
            _runtime: runtime,
        })
    }
}

/// `console`, node's stack format, the module cache behind `require`, and node's
/// `global` alias of `globalThis`. `require`, `module` and `exports` are not globals in node either: every
/// file gets its own as parameters (see `modules`).
fn install_globals(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    console::install(ctx)?;
    stack::install(ctx)?;
    modules::install(ctx)?;
    let globals = ctx.globals();
    globals.set("global", globals.clone())
}

/// Runs QuickJS's job queue (promise reactions) until `promise` settles or nothing is
/// left to run; returns the state it ends in. There is no event loop beyond this: no
/// timers, no I/O.
pub fn settle(ctx: &Ctx<'_>, promise: &rquickjs::Promise<'_>) -> PromiseState {
    loop {
        let state = promise.state();
        if state != PromiseState::Pending || !ctx.execute_pending_job() {
            return state;
        }
    }
}
