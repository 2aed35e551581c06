//! The hello-world hook compiled natively into an HTTP server: the logic hookserver runs as
//! a Wasm module (the `hello-world` crate in examples/), called as plain Rust functions
//! behind the HTTP stack hookserver uses (axum 0.8 on tokio's multi-thread runtime).
//!
//! It exists to be measured beside hookserver (`make bench`): what separates the two is
//! what running a hook as a per-request Wasm instance costs.
//!
//! ```
//! use native_baseline::{Hook, answer};
//!
//! let body = answer(Hook::Customize, br#"{"parent": {"metadata": {"name": "n"}}}"#)
//!     .expect("customize succeeds");
//! assert_eq!(body, br#"{"relatedResources":[]}"#);
//! ```
//!
//! # Concepts
//!
//! - [`router`] serves `POST /hooks/hello-world/{sync,finalize,customize}`, and the same
//!   without `/hooks` (the path the other baselines use). It keeps no state and logs
//!   nothing per request, so a call costs the HTTP exchange, decoding the request, the hook
//!   and encoding the answer.
//! - [`answer`] is one call: request body in, response body out. It decodes and encodes
//!   with the `metahook` SDK's types, exactly as the hook does inside its Wasm module, so
//!   both answer with the same bytes.
//! - [`Error`] is every way a call fails, turned into HTTP in one `match`: 404 for a name or
//!   hook this server does not serve, 400 for a body that is not JSON, 500 with the hook's
//!   message when the hook refuses the request (where the Wasm hook exits 1). axum itself
//!   answers 405 to other methods than POST and 413 to bodies over [`MAX_REQUEST`].

use std::fmt::Display;
use std::str::FromStr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

/// The one hook name served.
pub const NAME: &str = "hello-world";

/// The largest request body accepted: hookserver's default `max-request`.
pub const MAX_REQUEST: usize = 32 * 1024 * 1024;

/// Which of the hook's functions a request calls: the last segment of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Sync,
    Finalize,
    Customize,
}

impl Hook {
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Sync => "sync",
            Hook::Finalize => "finalize",
            Hook::Customize => "customize",
        }
    }
}

impl Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Hook {
    type Err = Error;

    fn from_str(kind: &str) -> Result<Self> {
        match kind {
            "sync" => Ok(Hook::Sync),
            "finalize" => Ok(Hook::Finalize),
            "customize" => Ok(Hook::Customize),
            _ => Err(Error::UnknownKind {
                kind: kind.to_string(),
            }),
        }
    }
}

/// Why a call got no answer from the hook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown hook {kind:?}: the path must end in /sync, /finalize or /customize")]
    UnknownKind { kind: String },
    #[error("no hook named {name:?} (this server serves only {NAME:?})")]
    UnknownName { name: String },
    #[error("bad request: the request body is not valid JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("hook {NAME:?} {hook} failed: {message}")]
    Refused { hook: Hook, message: String },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UnknownKind { .. } | Error::UnknownName { .. } => StatusCode::NOT_FOUND,
            Error::NotJson(_) => StatusCode::BAD_REQUEST,
            Error::Refused { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let content_type = HeaderValue::from_static("text/plain; charset=utf-8");
        let text = format!("{self}\n");
        (self.status(), [(header::CONTENT_TYPE, content_type)], text).into_response()
    }
}

/// The server's routes; see the [crate docs](crate) for what each answers.
pub fn router() -> Router {
    Router::new()
        .route("/hooks/{name}/{hook}", post(call_hook))
        .route("/{name}/{hook}", post(call_hook))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
}

async fn call_hook(Path((name, kind)): Path<(String, String)>, body: Bytes) -> Result<Response> {
    let hook: Hook = kind.parse()?;
    if name != NAME {
        return Err(Error::UnknownName { name });
    }
    let json = answer(hook, &body)?;
    let content_type = HeaderValue::from_static("application/json");
    Ok(([(header::CONTENT_TYPE, content_type)], json).into_response())
}

async fn not_found(request: Request) -> Response {
    let text = format!(
        "no route for {} {}: the hook is served at POST /hooks/{NAME}/{{sync,finalize,customize}}\n",
        request.method(),
        request.uri().path()
    );
    (StatusCode::NOT_FOUND, text).into_response()
}

/// Answers one call of `hook` with request `body`: the response body, JSON.
pub fn answer(hook: Hook, body: &[u8]) -> Result<Vec<u8>> {
    match hook {
        Hook::Sync => call(hook, body, hello_world::sync),
        Hook::Finalize => call(hook, body, hello_world::finalize),
        Hook::Customize => call(hook, body, hello_world::customize),
    }
}

/// Decode, run, encode: what the SDK's `Hooks::handle` does inside the Wasm module, with
/// its messages, but telling a body that is not JSON (400) from one the hook refuses (500).
fn call<Req, Resp, E>(
    hook: Hook,
    body: &[u8],
    f: impl Fn(&Req) -> Result<Resp, E>,
) -> Result<Vec<u8>>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let refused = |message: String| Error::Refused { hook, message };
    let request: Req = serde_json::from_slice(body).map_err(|err| {
        if !err.is_data() {
            return Error::NotJson(err);
        }
        // Decoding stops at the first error: a field of the wrong type may hide a syntax
        // error further on. Only a failed call pays for the second look.
        match serde_json::from_slice::<IgnoredAny>(body) {
            Err(syntax) => Error::NotJson(syntax),
            Ok(_) => refused(format!("cannot read the {hook} request: {err}")),
        }
    })?;
    let response = f(&request).map_err(|err| refused(err.to_string()))?;
    serde_json::to_vec(&response)
        .map_err(|err| refused(format!("cannot write the {hook} response: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYNC: &str = include_str!("../../../../examples/hello-world/requests/sync.json");
    const FINALIZE: &str = include_str!("../../../../examples/hello-world/requests/finalize.json");
    const CUSTOMIZE: &str =
        include_str!("../../../../examples/hello-world/requests/customize.json");

    #[test]
    fn answers_with_the_bytes_the_hook_program_writes() {
        let hooks = hello_world::hooks();
        for (hook, request) in [
            (Hook::Sync, SYNC),
            (Hook::Finalize, FINALIZE),
            (Hook::Customize, CUSTOMIZE),
        ] {
            let expected = hooks
                .handle(hook.as_str(), request.as_bytes())
                .expect("the SDK answers");
            assert_eq!(
                answer(hook, request.as_bytes()).expect("answers"),
                expected,
                "{hook}"
            );
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_a_bad_request() {
        for body in ["", "  \n", "{not json", r#"{"parent": {}"#, "[1, 2"] {
            let err = answer(Hook::Sync, body.as_bytes()).expect_err(body);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body:?}: {err}");
        }
    }

    /// A type error comes before the syntax error: still the caller's fault.
    #[test]
    fn a_syntax_error_after_a_type_error_is_a_bad_request() {
        let err = answer(Hook::Sync, br#"{"parent": "x", "children": {"#).expect_err("broken");
        assert!(matches!(err, Error::NotJson(_)), "{err}");
    }

    #[test]
    fn a_request_the_hook_refuses_is_a_hook_failure_with_its_message() {
        let err = answer(Hook::Sync, br#"{"parent":{}}"#).expect_err("no name");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            err.to_string(),
            "hook \"hello-world\" sync failed: `parent.metadata.name` is missing or not a \
             string; the parent must be a HelloWorld object as stored by the API server"
        );
        let err = answer(Hook::Finalize, b"[1, 2]").expect_err("not an object");
        assert!(
            err.to_string()
                .starts_with("hook \"hello-world\" finalize failed: cannot read the finalize request: invalid type"),
            "{err}"
        );
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn only_the_three_hook_kinds_parse() {
        for hook in [Hook::Sync, Hook::Finalize, Hook::Customize] {
            assert_eq!(hook.as_str().parse::<Hook>().expect("parses"), hook);
        }
        let err = "reconcile".parse::<Hook>().expect_err("unknown");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
    }
}
