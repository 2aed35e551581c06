//! The HTTP API: `POST /hooks/{name}/{sync|finalize|customize}` plus health, readiness,
//! the hook list and metrics.

pub mod auth;
pub mod error;
pub mod extract;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::admission::Admission;
use crate::engine::Runtime;
use crate::metrics::{CallLabels, Metrics, RequestLabels};
use crate::pipeline::{self, Answer};
use crate::protocol::HookKind;
use crate::registry::{HookStatus, Readiness, Registry};
use crate::response_cache::ResponseCache;
use error::ApiError;
use extract::HookRequest;

/// Everything a request needs; built once by the server.
pub struct App {
    pub runtime: Arc<Runtime>,
    pub registry: Arc<Registry>,
    pub responses: ResponseCache,
    /// Slots in the shared instance pool, across all hooks.
    pub pool: Arc<Admission>,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

/// The router over `app`, every route open.
pub fn router(app: Arc<App>) -> Router {
    routes(app, None)
}

/// The router over `app` with credentials required on every route but the probes: hook
/// calls, the hook list and `/metrics` (which names every hook and its traffic). The
/// kubelet probes without credentials, so `/healthz` and `/readyz` stay open.
pub fn authenticated_router(app: Arc<App>, auth: Arc<auth::Authenticator>) -> Router {
    routes(app, Some(auth))
}

fn routes(app: Arc<App>, auth: Option<Arc<auth::Authenticator>>) -> Router {
    let protected = Router::new()
        .route("/hooks/{name}/{hook}", post(call_hook))
        .route("/hooks", get(list_hooks))
        .route("/metrics", get(metrics))
        .fallback(not_found);
    // Without credentials configured no layer is added, so requests pay nothing for it.
    let protected = match auth {
        Some(auth) => protected.layer(axum::middleware::from_fn_with_state(auth, auth::require)),
        None => protected,
    };
    protected.merge(probe_routes()).with_state(app)
}

/// Only `/healthz` and `/readyz`, for `--probe-listen`: plain HTTP that the kubelet can
/// reach when the main port requires client certificates.
pub fn probe_router(app: Arc<App>) -> Router {
    probe_routes().fallback(not_found).with_state(app)
}

fn probe_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn call_hook(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    let started = Instant::now();
    // A segment that does not decode (say `%ff`) is refused like every other bad request,
    // in one line that says what to send, instead of axum's own rejection text.
    let (name, kind) = match path {
        Ok(Path(segments)) => segments,
        Err(rejection) => {
            let response = log_error(ApiError::BadRequest(format!(
                "the path does not decode ({}): hooks are served at \
                 POST /hooks/NAME/{{sync,finalize,customize}}, NAME percent-encoded as UTF-8",
                rejection.body_text()
            )));
            record(&app, None, "unknown", &response, started);
            return response;
        }
    };
    let hook = kind.parse::<HookKind>().map_err(|_| kind);
    let label = hook.as_ref().map_or("unknown", |hook| hook.as_str());
    let known = app.registry.contains(&name);
    let response = match HookRequest::read(&app, name.clone(), hook, request).await {
        Err(err) => log_error(err),
        Ok(call) => match pipeline::answer(&app, call).await {
            Ok(answer) => answer.into_response(),
            Err(err) => log_error(err),
        },
    };
    record(&app, known.then_some(name), label, &response, started);
    response
}

/// Counts a hook request by status, and times it when it named a loaded hook. Only hooks in
/// the route table are labelled by name, so probing random URLs cannot grow the label set;
/// the rest are counted under hook="".
fn record(
    app: &App,
    known: Option<String>,
    kind: &'static str,
    response: &Response,
    started: Instant,
) {
    let code = response.status().as_u16();
    let hook = known.clone().unwrap_or_default();
    app.metrics
        .requests
        .get_or_create(&RequestLabels { hook, kind, code })
        .inc();
    if let Some(hook) = known {
        app.metrics
            .latency
            .get_or_create(&CallLabels { hook, kind })
            .observe(started.elapsed().as_secs_f64());
    }
}

fn log_error(err: ApiError) -> Response {
    match &err {
        ApiError::Failed {
            name,
            hook,
            failure,
        } => tracing::warn!(
            hook = %name, kind = %hook, failure = %failure.failure,
            stderr = error::tail(failure.stderr.trim(), 4096),
            "hook call failed"
        ),
        ApiError::Internal(_) | ApiError::Unavailable { .. } => {
            tracing::error!(error = %err, "hook call failed")
        }
        _ => tracing::debug!(error = %err, "hook request refused"),
    }
    err.into_response()
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let (status, etag, body) = match self {
            Answer::NotModified { etag } => (StatusCode::NOT_MODIFIED, etag, None),
            Answer::Body { etag, body } => (StatusCode::OK, etag, Some(body)),
        };
        let mut response = match body {
            Some(body) => (status, body).into_response(),
            None => status.into_response(),
        };
        let headers = response.headers_mut();
        if status == StatusCode::OK {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", etag.hex())) {
            headers.insert(header::ETAG, value);
        }
        response
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HookList {
    hooks: Vec<HookStatus>,
    allocator: crate::engine::Allocator,
    instance_reset: crate::engine::InstanceReset,
    modules_in_memory: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_dir: Option<String>,
    /// Why compiled modules cannot be written to the cache dir (they stay in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_problem: Option<String>,
}

async fn list_hooks(State(app): State<Arc<App>>) -> Response {
    let modules = app.registry.modules();
    axum::Json(HookList {
        hooks: app.registry.statuses(),
        allocator: app.runtime.allocator(),
        instance_reset: app.runtime.reset(),
        modules_in_memory: modules.resident_count(),
        cache_dir: modules.disk_dir().map(|dir| dir.display().to_string()),
        cache_problem: modules.disk_problem(),
    })
    .into_response()
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.readiness.is_ready() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let mut body = String::from("not ready, waiting for:\n");
    for line in app.readiness.waiting_for() {
        body.push_str(&format!("  {line}\n"));
    }
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut response = app.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn not_found(request: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "no route for {} {}: hooks are served at POST /hooks/NAME/{{sync,finalize,customize}}\n",
            request.method(),
            request.uri().path()
        ),
    )
        .into_response()
}
