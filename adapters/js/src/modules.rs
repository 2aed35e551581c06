//! CommonJS, as node runs it: each file is wrapped in
//! `function (exports, require, module, __filename, __dirname)`, run once with `this`
//! bound to `module.exports`, and cached by path, so that requiring it again (or in a
//! cycle) gives the same `module.exports`. `.json` files are parsed instead of run.
//!
//! The cache is a JavaScript object in a hidden global. It must live in the JavaScript
//! heap: a Rust closure holding JavaScript values would keep them out of the garbage
//! collector's sight, and QuickJS aborts when it finds such leftovers at teardown. So the
//! `require` functions hold only their folder, as a Rust path.

use std::path::{Path, PathBuf};

use rquickjs::context::EvalOptions;
use rquickjs::function::{Opt, This};
use rquickjs::object::Property;
use rquickjs::{Ctx, Exception, Function, Object, Value};

use crate::resolve::{normalize, resolve};

/// The hidden global (not enumerable, not writable) that holds the cache.
const CACHE: &str = "__hookserver_modules__";

/// Creates the module cache; the first step of loading anything.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let cache = Object::new(ctx.clone())?;
    ctx.globals().prop(CACHE, Property::from(cache))
}

/// Runs the entry script, given its source, and returns its `module.exports`.
pub fn run_entry<'js>(ctx: &Ctx<'js>, script: &Path, source: &str) -> rquickjs::Result<Value<'js>> {
    load_js(ctx, &normalize(script), source)
}

/// `require(id)` from a file in `dir`.
fn require<'js>(
    ctx: &Ctx<'js>,
    dir: &Path,
    id: Option<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let Some(id) = id.as_ref().and_then(|id| id.as_string()) else {
        return Err(Exception::throw_type(
            ctx,
            "require(id): id must be a string such as './util.js'",
        ));
    };
    let id = id.to_string()?;
    let path = resolve(dir, &id, Path::is_file)
        .map_err(|err| throw_error(ctx, &err.to_string(), Some("MODULE_NOT_FOUND")))?;
    let key = path.display().to_string();
    if let Some(module) = cache(ctx)?.get::<_, Option<Object>>(key.as_str())? {
        return module.get("exports");
    }
    let source = std::fs::read_to_string(&path).map_err(|err| {
        throw_error(
            ctx,
            &format!("cannot read {key} (required as '{id}'): {err}"),
            None,
        )
    })?;
    if path.extension().is_some_and(|ext| ext == "json") {
        load_json(ctx, &path, &source)
    } else {
        load_js(ctx, &path, &source)
    }
}

/// Runs a JavaScript file as a CommonJS module.
fn load_js<'js>(ctx: &Ctx<'js>, path: &Path, source: &str) -> rquickjs::Result<Value<'js>> {
    let filename = path.display().to_string();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let wrapper = compile(ctx, &filename, source)?;
    let module = new_module(ctx, &filename, &dir)?;
    let exports: Value = module.get("exports")?;
    let require = require_function(ctx, dir.clone())?;
    let cache = cache(ctx)?;
    // Cached before it runs, as node does, so that a cycle gets the partial exports.
    cache.set(filename.as_str(), module.clone())?;
    let ran = wrapper.call::<_, Value>((
        This(exports.clone()),
        exports,
        require,
        module.clone(),
        filename.as_str(),
        dir.display().to_string(),
    ));
    if let Err(err) = ran {
        // A module that failed is not cached: requiring it again runs it again.
        cache.remove(filename.as_str())?;
        return Err(err);
    }
    module.set("loaded", true)?;
    module.get("exports")
}

/// Parses a `.json` file into a module's `exports`.
fn load_json<'js>(ctx: &Ctx<'js>, path: &Path, source: &str) -> rquickjs::Result<Value<'js>> {
    let filename = path.display().to_string();
    let value = ctx
        .json_parse(source.trim_start_matches('\u{feff}'))
        .map_err(|_| {
            let reason = crate::describe::error_text(ctx, &ctx.catch());
            Exception::throw_syntax(ctx, &format!("{filename}: {reason}"))
        })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let module = new_module(ctx, &filename, &dir)?;
    module.set("exports", value.clone())?;
    module.set("loaded", true)?;
    cache(ctx)?.set(filename.as_str(), module)?;
    Ok(value)
}

/// What goes before a file's source: the wrapper function's head, on the source's first
/// line, so that line numbers in errors and stacks are the file's own. Columns on line 1
/// are shifted by its length; `stack` shifts them back.
pub const WRAPPER_HEAD: &str = "(function (exports, require, module, __filename, __dirname) {";

/// Compiles a file's source into its module function.
fn compile<'js>(ctx: &Ctx<'js>, filename: &str, source: &str) -> rquickjs::Result<Function<'js>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    // A `#!` line is allowed at the start of a file, not inside the wrapper: comment it.
    let (hashbang, source) = match source.strip_prefix("#!") {
        Some(rest) => ("//", rest),
        None => ("", source),
    };
    let wrapped = format!("{WRAPPER_HEAD}{hashbang}{source}\n}})");
    let mut options = EvalOptions::default();
    options.strict = false; // CommonJS modules are sloppy-mode code unless they say otherwise.
    options.filename = Some(filename.to_string());
    ctx.eval_with_options(wrapped, options)
}

/// `module`: `{id, filename, path, exports: {}, loaded: false}`.
fn new_module<'js>(ctx: &Ctx<'js>, filename: &str, dir: &Path) -> rquickjs::Result<Object<'js>> {
    let module = Object::new(ctx.clone())?;
    module.set("id", filename)?;
    module.set("filename", filename)?;
    module.set("path", dir.display().to_string())?;
    module.set("exports", Object::new(ctx.clone())?)?;
    module.set("loaded", false)?;
    Ok(module)
}

/// The `require` of the files in `dir`.
fn require_function<'js>(ctx: &Ctx<'js>, dir: PathBuf) -> rquickjs::Result<Function<'js>> {
    let function = Function::new(ctx.clone(), move |ctx: Ctx<'js>, id: Opt<Value<'js>>| {
        require(&ctx, &dir, id.0)
    })?;
    function.set_name("require")?;
    Ok(function)
}

fn cache<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get(CACHE)
}

/// Throws `new Error(message)`, with node's `code` property when given
/// (`err.code === 'MODULE_NOT_FOUND'`). Made by the `Error` constructor, not by
/// rquickjs's `Exception::from_message`, so that the message is set before the stack is
/// captured and the stack's header shows it.
fn throw_error(ctx: &Ctx<'_>, message: &str, code: Option<&str>) -> rquickjs::Error {
    let made = ctx
        .globals()
        .get::<_, Function>("Error")
        .and_then(|error| error.call::<_, Object>((message,)))
        .and_then(|error| {
            if let Some(code) = code {
                error.set("code", code)?;
            }
            Ok(error)
        });
    match made {
        Ok(error) => ctx.throw(error.into_value()),
        Err(err) => err,
    }
}
