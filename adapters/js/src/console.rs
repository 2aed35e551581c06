//! `console.log`, `info`, `debug`, `warn` and `error`, all writing one line to stderr.
//!
//! In node, `log`, `info` and `debug` write to stdout; here stdout is the response, so
//! everything goes to stderr. hookserver keeps the end of stderr and shows it when a call
//! fails, which is what a hook's log lines are for. The line is built as node's
//! `util.format` builds it (`%s`, `%d`, `%i`, `%f`, `%j`, `%o`, `%O`, `%c`, `%%`).

use std::io::Write;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Value};

use crate::describe::{inspect, to_string};

/// The console methods; all of them do the same thing.
const METHODS: [&str; 5] = ["log", "info", "debug", "warn", "error"];

/// Defines the global `console`.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let console = Object::new(ctx.clone())?;
    let write = Function::new(ctx.clone(), |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        let mut line = format(&ctx, &args.0);
        line.push('\n');
        // A log line that cannot be written is not worth failing the hook for.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    })?;
    for method in METHODS {
        console.set(method, write.clone())?;
    }
    ctx.globals().set("console", console)
}

/// The text node's `util.format(...args)` gives, except that objects are shown as JSON.
pub fn format<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut rest = args.iter();
    let mut pieces = Vec::with_capacity(args.len());
    if let Some(template) = args.first().and_then(|v| v.as_string()) {
        rest.next();
        let template = template.to_string().unwrap_or_default();
        pieces.push(substitute(ctx, &template, &mut rest));
    }
    pieces.extend(rest.map(|value| match value.as_string() {
        Some(text) => text.to_string().unwrap_or_default(),
        None => inspect(ctx, value),
    }));
    pieces.join(" ")
}

/// `template` with its `%` directives replaced by the next arguments.
fn substitute<'a, 'js: 'a>(
    ctx: &Ctx<'js>,
    template: &str,
    args: &mut impl Iterator<Item = &'a Value<'js>>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let directive = match chars.peek() {
            Some(&d) if c == '%' && "sdifjoOc%".contains(d) => d,
            _ => {
                out.push(c);
                continue;
            }
        };
        if directive == '%' {
            chars.next();
            out.push('%');
            continue;
        }
        // With no argument left, node leaves the directive as it is.
        let Some(value) = args.next() else {
            out.push('%');
            continue;
        };
        chars.next();
        match directive {
            's' if value.is_object() && !value.is_function() => out.push_str(&inspect(ctx, value)),
            's' => out.push_str(&to_string(ctx, value)),
            'd' => out.push_str(&call_global(ctx, "Number", value)),
            'i' => out.push_str(&call_global(ctx, "parseInt", value)),
            'f' => out.push_str(&call_global(ctx, "parseFloat", value)),
            'c' => {} // CSS for browsers' consoles: consumed, not shown.
            _ => out.push_str(&inspect(ctx, value)), // j, o, O
        }
    }
    out
}

/// `String(NAME(value))`, e.g. `Number(value)` for `%d`.
fn call_global<'js>(ctx: &Ctx<'js>, name: &str, value: &Value<'js>) -> String {
    match ctx
        .globals()
        .get::<_, Function>(name)
        .and_then(|f| f.call::<_, Value>((value.clone(),)))
    {
        Ok(result) => to_string(ctx, &result),
        Err(_) => {
            ctx.catch();
            "NaN".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Array, Context, Runtime};

    fn formatted(args: &str) -> String {
        let runtime = Runtime::new().unwrap();
        let context = Context::full(&runtime).unwrap();
        context.with(|ctx| {
            let array: Array = ctx.eval(format!("[{args}]")).unwrap();
            let values: Vec<Value> = array.iter().map(|v| v.unwrap()).collect();
            format(&ctx, &values)
        })
    }

    #[test]
    fn joins_arguments_like_node() {
        assert_eq!(
            formatted("'a', 'b', 1, true, null, undefined"),
            "a b 1 true null undefined"
        );
        assert_eq!(formatted("{a: 1}, [2]"), r#"{"a":1} [2]"#);
        assert_eq!(formatted("1, 'x'"), "1 x");
        assert_eq!(formatted(""), "");
        assert_eq!(formatted("''"), "");
        assert_eq!(formatted("'', 'x'"), " x");
    }

    #[test]
    fn substitutes_directives() {
        assert_eq!(formatted("'%s has %d pods', 'web', '3'"), "web has 3 pods");
        assert_eq!(formatted("'%i|%f', 4.7, '2.5x'"), "4|2.5");
        assert_eq!(formatted("'%j %o', {a: 1}, [1]"), r#"{"a":1} [1]"#);
        assert_eq!(formatted("'100%% %c!', 'color: red'"), "100% !");
        assert_eq!(formatted("'%s and %s', 'one'"), "one and %s");
        assert_eq!(formatted("'%x %', 1"), "%x % 1");
        assert_eq!(formatted("'%s', {b: 2}, 'extra'"), r#"{"b":2} extra"#);
    }
}
