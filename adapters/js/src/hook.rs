//! One call of the hook function, with the contract of metacontroller's nodejs server
//! (examples/nodejs/server.js, which emulates fission's nodejs environment):
//!
//! - the function gets a context `{request: {body, ...}}`, `body` being the request
//!   parsed from JSON;
//! - it returns, or resolves to, `{status, headers, body}`;
//! - status 200 is success, and the response is `body`: a string as it is, anything
//!   else as `JSON.stringify(body)`;
//! - another status, a throw or a rejected promise is a failure.
//!
//! The node server answers 500 on a failure; here it is an error message and exit 1,
//! which hookserver turns into the same 500.

use rquickjs::promise::PromiseState;
use rquickjs::{Ctx, Function, Object, Promise, Value};

use crate::describe::{caught, error_text, inspect, to_string, type_name};
use crate::engine::settle;
use crate::{Error, Invocation, Result};

/// Calls `export` with the request and returns the response text for stdout.
pub fn call<'js>(
    ctx: &Ctx<'js>,
    export: &Function<'js>,
    invocation: &Invocation,
    body: Value<'js>,
) -> Result<String> {
    let script = || invocation.script.clone();
    let engine = |err| Error::Engine(caught(ctx, err));

    let context = context(ctx, invocation, body).map_err(engine)?;
    let returned: Value = export.call((context,)).map_err(|err| Error::Threw {
        script: script(),
        error: caught(ctx, err),
    })?;
    // The node server calls `.then` on what the function returns; `Promise.resolve`
    // also accepts a plain `{status, body}` from a function that is not async.
    let promise = promise_resolve(ctx, returned).map_err(engine)?;
    match settle(ctx, &promise) {
        PromiseState::Pending => Err(Error::NeverSettled { script: script() }),
        PromiseState::Rejected => {
            let reason = promise.result::<Value>().and_then(|r| r.err());
            let error = match reason {
                Some(err) => caught(ctx, err),
                None => "(no reason)".to_string(),
            };
            Err(Error::Rejected {
                script: script(),
                error,
            })
        }
        PromiseState::Resolved => {
            let answer: Value = match promise.result() {
                Some(Ok(answer)) => answer,
                Some(Err(err)) => return Err(engine(err)),
                None => return Err(Error::NeverSettled { script: script() }),
            };
            response(ctx, invocation, &answer)
        }
    }
}

/// `{request: {body, headers, method, url}}`. metacontroller's node server passes only
/// `body`; the rest is what fission's environment (an express request) also has, with
/// the values hookserver's request has: `POST /hooks/NAME/HOOK` with a JSON body.
fn context<'js>(
    ctx: &Ctx<'js>,
    invocation: &Invocation,
    body: Value<'js>,
) -> rquickjs::Result<Object<'js>> {
    let headers = Object::new(ctx.clone())?;
    headers.set("content-type", "application/json")?;
    let request = Object::new(ctx.clone())?;
    request.set("body", body)?;
    request.set("headers", headers)?;
    request.set("method", "POST")?;
    request.set("url", invocation.url())?;
    let context = Object::new(ctx.clone())?;
    context.set("request", request)?;
    Ok(context)
}

/// `Promise.resolve(value)`: the value itself if it is a promise, a promise of any other
/// thenable's result, or an already resolved promise.
fn promise_resolve<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Promise<'js>> {
    let constructor: Object = ctx.globals().get("Promise")?;
    let resolve: Function = constructor.get("resolve")?;
    resolve.call((rquickjs::function::This(constructor), value))
}

/// The response text from the hook's answer `{status, headers, body}`.
fn response<'js>(ctx: &Ctx<'js>, invocation: &Invocation, answer: &Value<'js>) -> Result<String> {
    let bad = |problem: String| Error::BadAnswer {
        script: invocation.script.clone(),
        problem,
    };
    let Some(answer) = answer.as_object().filter(|_| !answer.is_function()) else {
        return Err(bad(format!("is {}, not an object", described(ctx, answer))));
    };
    let field = |key: &str| {
        answer
            .get::<_, Value>(key)
            .map_err(|err| Error::Engine(caught(ctx, err)))
    };
    let status = field("status")?;
    let body = field("body")?;
    if status.is_undefined() && body.is_undefined() {
        return Err(bad(format!(
            "has no `status` and no `body` ({}): return the response inside \
             {{status: 200, body: ...}}, not by itself",
            inspect(ctx, answer.as_value())
        )));
    }
    // node's `writeHead` takes 200 or "200".
    let ok = status.as_number() == Some(200.0)
        || status
            .as_string()
            .and_then(|s| s.to_string().ok())
            .as_deref()
            == Some("200");
    if !ok {
        return Err(Error::Status {
            script: invocation.script.clone(),
            status: match status.as_string() {
                Some(_) => format!("{:?}", to_string(ctx, &status)),
                None => to_string(ctx, &status),
            },
            body: if body.is_string() {
                to_string(ctx, &body)
            } else {
                error_text(ctx, &body)
            },
        });
    }
    if let Some(text) = body.as_string() {
        let text = text
            .to_string()
            .map_err(|err| Error::Engine(err.to_string()))?;
        return match ctx.json_parse(text.as_str()) {
            Ok(value) if is_plain_object(&value) => Ok(text),
            Ok(value) => Err(bad(format!(
                "has a string body holding JSON {}, not a JSON object",
                type_name(&value)
            ))),
            Err(err) => Err(bad(format!(
                "has a string body that is not JSON ({})",
                caught(ctx, err)
            ))),
        };
    }
    if !is_plain_object(&body) {
        return Err(bad(format!("has a body that is {}", described(ctx, &body))));
    }
    match ctx.json_stringify(body) {
        Ok(Some(json)) => json
            .to_string()
            .map_err(|err| Error::Engine(err.to_string())),
        Ok(None) => Err(bad(
            "has a body that JSON.stringify turns into nothing".to_string()
        )),
        Err(err) => Err(bad(format!(
            "has a body that JSON.stringify cannot write ({})",
            caught(ctx, err)
        ))),
    }
}

/// An object that JSON writes as `{...}`: not null, not an array, not a function.
fn is_plain_object(value: &Value<'_>) -> bool {
    value.is_object() && !value.is_array() && !value.is_function()
}

/// `undefined`, `null`, `a number (3)`, `an array`, ... for messages.
fn described<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    match type_name(value) {
        name @ ("undefined" | "null") => name.to_string(),
        name @ ("array" | "object") => format!("an {name}"),
        name => format!("a {name} ({})", inspect(ctx, value)),
    }
}
