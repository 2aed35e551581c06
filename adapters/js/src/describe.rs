//! JavaScript values as text, for error messages and `console`: errors with their stack
//! (as node prints them), objects as JSON, everything else as `String(value)` would.

use rquickjs::{Ctx, Function, Value};

/// The exception an rquickjs call failed with, as text. A JavaScript exception is taken
/// from the context (rquickjs leaves it there); any other error is the engine's own.
pub fn caught(ctx: &Ctx<'_>, error: rquickjs::Error) -> String {
    if error.is_exception() {
        error_text(ctx, &ctx.catch())
    } else {
        error.to_string()
    }
}

/// A thrown or rejected value: node's `err.stack` for an `Error` (`Name: message` and
/// the frames; see `stack`), otherwise the value itself.
pub fn error_text<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    let Some(object) = value.as_object().filter(|object| object.is_error()) else {
        return inspect(ctx, value);
    };
    let field = |key: &str| -> Option<String> {
        object
            .get::<_, Value>(key)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
            .map(|v| to_string(ctx, &v))
    };
    let name = field("name").unwrap_or_else(|| "Error".to_string());
    let header = match field("message").filter(|message| !message.is_empty()) {
        Some(message) => format!("{name}: {message}"),
        None => name,
    };
    // The stack starts with the header unless a script replaced Error.prepareStackTrace.
    match field("stack").map(|stack| stack.trim_end().to_string()) {
        Some(stack) if stack.starts_with(&header) => stack,
        Some(stack) if !stack.is_empty() => format!("{header}\n{stack}"),
        _ => header,
    }
}

/// A value as node's `console.log` shows it when it is not a string at the top level:
/// errors with their stack, functions by name, objects and arrays as one line of JSON
/// (node prints its own object syntax instead), the rest as `String(value)`.
pub fn inspect<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(object) = value.as_object() {
        if object.is_error() {
            return error_text(ctx, value);
        }
        if let Some(function) = value.as_function() {
            return match function_name(function) {
                Some(name) => format!("[Function: {name}]"),
                None => "[Function (anonymous)]".to_string(),
            };
        }
        // JSON.stringify throws on cycles and BigInts; fall back on "[object Object]".
        match ctx.json_stringify(value.clone()) {
            Ok(Some(json)) => {
                if let Ok(json) = json.to_string() {
                    return json;
                }
            }
            Ok(None) => {}
            Err(_) => {
                ctx.catch();
            }
        }
    }
    to_string(ctx, value)
}

/// `String(value)`: never throws (symbols included); an object whose `toString` throws
/// shows as its type.
pub fn to_string<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(text) = value.as_string() {
        return text.to_string().unwrap_or_default();
    }
    ctx.globals()
        .get::<_, Function>("String")
        .and_then(|string| string.call::<_, rquickjs::String>((value.clone(),)))
        .and_then(|text| text.to_string())
        .unwrap_or_else(|_| {
            ctx.catch();
            format!("[{}]", type_name(value))
        })
}

/// `typeof value`, except that `null` and arrays are named as such.
pub fn type_name(value: &Value<'_>) -> &'static str {
    if value.is_null() {
        "null"
    } else if value.is_array() {
        "array"
    } else if value.is_function() {
        "function"
    } else if value.is_object() {
        "object"
    } else if value.is_undefined() {
        "undefined"
    } else if value.is_bool() {
        "boolean"
    } else if value.is_number() {
        "number"
    } else if value.is_string() {
        "string"
    } else if value.is_symbol() {
        "symbol"
    } else if value.is_big_int() {
        "bigint"
    } else {
        "value"
    }
}

fn function_name(function: &Function<'_>) -> Option<String> {
    function
        .as_object()?
        .get::<_, Option<String>>("name")
        .ok()
        .flatten()
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Runtime};

    fn with_value(source: &str, check: impl for<'js> FnOnce(&Ctx<'js>, &Value<'js>)) {
        let runtime = Runtime::new().unwrap();
        let context = Context::full(&runtime).unwrap();
        context.with(|ctx| {
            let value: Value = ctx.eval(source).unwrap();
            check(&ctx, &value);
        });
    }

    #[test]
    fn errors_show_name_message_and_stack() {
        with_value(
            "(function boom() { try { null.x } catch (e) { return e } })()",
            |ctx, v| {
                let text = error_text(ctx, v);
                assert!(text.starts_with("TypeError: "), "{text}");
                assert!(text.contains("at boom"), "{text}");
            },
        );
        with_value("new RangeError('')", |ctx, v| {
            assert!(error_text(ctx, v).starts_with("RangeError\n"));
        });
    }

    #[test]
    fn non_errors_show_as_values() {
        with_value("'plain'", |ctx, v| assert_eq!(error_text(ctx, v), "plain"));
        with_value("({a: [1, 'x']})", |ctx, v| {
            assert_eq!(inspect(ctx, v), r#"{"a":[1,"x"]}"#);
        });
        with_value("(() => { const o = {}; o.o = o; return o })()", |ctx, v| {
            assert_eq!(inspect(ctx, v), "[object Object]");
        });
        with_value("Symbol('s')", |ctx, v| {
            assert_eq!(inspect(ctx, v), "Symbol(s)")
        });
        with_value("function named() {}; named", |ctx, v| {
            assert_eq!(inspect(ctx, v), "[Function: named]");
        });
        with_value("undefined", |ctx, v| {
            assert_eq!(inspect(ctx, v), "undefined")
        });
        with_value(
            "({toString() { throw 1 }, toJSON() { throw 2 }})",
            |ctx, v| {
                assert_eq!(inspect(ctx, v), "[object]");
            },
        );
    }

    #[test]
    fn type_names() {
        for (source, name) in [
            ("null", "null"),
            ("[]", "array"),
            ("({})", "object"),
            ("(() => 1)", "function"),
            ("undefined", "undefined"),
            ("1.5", "number"),
            ("'s'", "string"),
            ("true", "boolean"),
        ] {
            with_value(source, |_, v| assert_eq!(type_name(v), name, "{source}"));
        }
    }
}
