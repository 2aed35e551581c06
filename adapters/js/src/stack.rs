//! `error.stack` as node (V8) writes it: `TypeError: message` followed by one
//! `    at function (file:line:column)` line per frame.
//!
//! QuickJS's own `stack` holds only the frames. Hooks written for node rely on the
//! header: metacontroller's examples answer `{status: 500, body: e.stack}`, and that body
//! is all the user sees of the error. QuickJS-ng implements V8's `Error.prepareStackTrace`
//! hook, so the adapter installs a native one that writes V8's format.

use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, Function, Object, Value};

use crate::describe::to_string;
use crate::modules::WRAPPER_HEAD;

/// Sets `Error.prepareStackTrace`. A script may replace it, as in node.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let prepare = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, error: Opt<Value<'js>>, frames: Opt<Array<'js>>| {
            let mut stack = header(&ctx, error.0.as_ref());
            for frame in frames.0.iter().flat_map(|frames| frames.iter::<Object>()) {
                stack.push_str("\n    at ");
                stack.push_str(&frame_text(&ctx, &frame?));
            }
            rquickjs::Result::Ok(stack)
        },
    )?;
    let error: Object = ctx.globals().get("Error")?;
    error.set("prepareStackTrace", prepare)
}

/// `Name: message`, or `Name` alone when the message is empty (`Error.prototype.toString`).
fn header<'js>(ctx: &Ctx<'js>, error: Option<&Value<'js>>) -> String {
    let Some(error) = error.and_then(|e| e.as_object()) else {
        return "Error".to_string();
    };
    let field = |key: &str| {
        error
            .get::<_, Value>(key)
            .ok()
            .filter(|v| !v.is_undefined())
            .map(|v| to_string(ctx, &v))
    };
    let name = field("name").unwrap_or_else(|| "Error".to_string());
    match field("message").filter(|m| !m.is_empty()) {
        Some(message) if !name.is_empty() => format!("{name}: {message}"),
        Some(message) => message,
        None => name,
    }
}

/// `function (file:line:column)`, `file:line:column` for anonymous code, or
/// `function (native)`.
fn frame_text<'js>(ctx: &Ctx<'js>, frame: &Object<'js>) -> String {
    let call = |method: &str| -> Option<Value<'js>> {
        let function: Function = frame.get(method).ok()?;
        function
            .call::<_, Value>((rquickjs::function::This(frame.clone()),))
            .ok()
            .filter(|v| !v.is_null() && !v.is_undefined())
    };
    let text = |method: &str| call(method).map(|v| to_string(ctx, &v));
    let name = text("getFunctionName").filter(|name| !name.is_empty());
    let native = call("isNative").and_then(|v| v.as_bool()) == Some(true);
    let number = |method: &str| call(method).and_then(|v| v.as_int());
    let location = match (text("getFileName"), number("getLineNumber")) {
        _ if native => "native".to_string(),
        (Some(file), Some(line)) => match number("getColumnNumber") {
            Some(column) => format!("{file}:{line}:{}", file_column(&file, line, column)),
            None => format!("{file}:{line}"),
        },
        (Some(file), None) => file,
        (None, _) => "<anonymous>".to_string(),
    };
    match name {
        Some(name) => format!("{name} ({location})"),
        None => location,
    }
}

/// The column in the file itself: on line 1 of a module, QuickJS counts the wrapper's
/// head too (see `modules`). Code that `eval` ran (`<input>`) has no wrapper.
fn file_column(file: &str, line: i32, column: i32) -> i32 {
    let head = i32::try_from(WRAPPER_HEAD.len()).unwrap_or(0);
    if line == 1 && column > head && file != "<input>" {
        column - head
    } else {
        column
    }
}

#[cfg(test)]
mod tests {
    use rquickjs::context::EvalOptions;
    use rquickjs::{CatchResultExt, Context, Runtime};

    use super::*;

    fn stack_of(source: &str) -> String {
        let runtime = Runtime::new().unwrap();
        let context = Context::full(&runtime).unwrap();
        context.with(|ctx| {
            install(&ctx).unwrap();
            let mut options = EvalOptions::default();
            options.filename = Some("/hook/x.js".to_string());
            match ctx
                .eval_with_options::<Value, _>(source, options)
                .catch(&ctx)
            {
                Ok(value) => to_string(&ctx, &value),
                Err(rquickjs::CaughtError::Exception(e)) => e.stack().unwrap_or_default(),
                Err(other) => panic!("{other}"),
            }
        })
    }

    #[test]
    fn stacks_start_with_name_and_message_like_node() {
        let stack = stack_of("function boom() {\n  throw new TypeError('no');\n}\nboom()");
        let lines: Vec<&str> = stack.lines().collect();
        assert_eq!(lines[0], "TypeError: no", "{stack}");
        assert!(
            lines[1].starts_with("    at boom (/hook/x.js:2:"),
            "{stack}"
        );
        assert_eq!(lines[2], "    at <eval> (/hook/x.js:4:1)", "{stack}");
    }

    #[test]
    fn engine_errors_and_syntax_errors_get_the_header_too() {
        let stack = stack_of("(() => null.x)()");
        assert!(
            stack.starts_with("TypeError: cannot read property 'x' of null\n    at "),
            "{stack}"
        );
        let stack = stack_of("let x = ;");
        assert!(stack.starts_with("SyntaxError: "), "{stack}");
        assert!(stack.contains("/hook/x.js:1:"), "{stack}");
        let stack = stack_of("try { [].map(1) } catch (e) { e.stack }");
        assert!(stack.contains("at map (native)"), "{stack}");
        let stack = stack_of("new Error('').stack");
        assert!(stack.starts_with("Error\n"), "{stack}");
    }
}
