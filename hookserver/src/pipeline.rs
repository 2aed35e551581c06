//! The stages of one hook call, in the order a request travels them:
//! ETag -> response cache -> admission -> module cache + invoke (blocking pool) -> output
//! check -> response cache insert.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;

use crate::digest::Digest;
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::extract::HookRequest;
use crate::invoke::{self, Call, Failure, HookFailure};
use crate::metrics::HookLabel;
use crate::protocol;

/// How long after a hook's timeout the server stops waiting for it. The epoch deadline
/// stops Wasm code on time; this covers a guest blocked in a host call (a long sleep).
const TIMEOUT_GRACE: Duration = Duration::from_millis(250);

/// What to tell a client that was refused with 429.
const RETRY_AFTER_SECONDS: u32 = 1;

/// A successful answer.
pub enum Answer {
    /// The client already has the response for exactly this call (`If-None-Match`).
    NotModified { etag: Digest },
    /// A fresh or cached response body, validated for this call.
    Body { etag: Digest, body: Bytes },
}

pub async fn answer(app: &Arc<App>, request: HookRequest) -> Result<Answer, ApiError> {
    let version = &request.version;
    let etag = Digest::of_call(&version.digest, request.hook, &request.body);

    // Stage 1: the client's cached copy is still right.
    if request
        .if_none_match
        .as_deref()
        .is_some_and(|header| etag_matches(header, &etag))
    {
        app.metrics.response_lookup("etag");
        return Ok(Answer::NotModified { etag });
    }

    // Stage 2: the same call was answered recently.
    if let Some(body) = app.responses.get(version.id, &etag) {
        app.metrics.response_lookup("hit");
        return Ok(Answer::Body { etag, body });
    }
    app.metrics.response_lookup("miss");

    // Stage 3: a place to run.
    let permits = admit(app, &request).await?;

    // Stage 4: run it.
    let output = run(app, &request, permits).await?;

    // Stage 5: never pass on what metacontroller could misread.
    if let Err(err) = protocol::check_output(request.shape, version.options.strict, &output.stdout)
    {
        return Err(failed(
            &request,
            HookFailure {
                failure: Failure::InvalidOutput {
                    reason: err.to_string(),
                },
                stderr: output.stderr,
            },
        ));
    }

    // Stage 6: remember it for the next identical call.
    app.responses
        .insert(version.id, etag, output.stdout.clone());
    Ok(Answer::Body {
        etag,
        body: output.stdout,
    })
}

/// Whether an `If-None-Match` header names `etag` (weak or strong, in a list or alone).
fn etag_matches(header: &str, etag: &Digest) -> bool {
    let hex = etag.hex();
    header.split(',').any(|candidate| {
        let candidate = candidate.trim();
        let candidate = candidate.strip_prefix("W/").unwrap_or(candidate);
        candidate.trim_matches('"') == hex
    })
}

/// A permit from the hook's own queue, then a slot in the shared instance pool.
async fn admit(
    app: &Arc<App>,
    request: &HookRequest,
) -> Result<[OwnedSemaphorePermit; 2], ApiError> {
    let version = &request.version;
    let patience = version.options.limits.timeout;
    let overloaded = || {
        app.metrics
            .overloaded
            .get_or_create(&HookLabel {
                hook: version.name.clone(),
            })
            .inc();
        ApiError::Overloaded {
            name: version.name.clone(),
            retry_after: RETRY_AFTER_SECONDS,
        }
    };
    let hook_permit = version
        .admission
        .admit(patience)
        .await
        .map_err(|_| overloaded())?;
    let pool_permit = app.pool.admit(patience).await.map_err(|_| overloaded())?;
    Ok([hook_permit, pool_permit])
}

/// Fetches the compiled module and runs the call on the blocking pool, holding the
/// permits until the instance is gone.
async fn run(
    app: &Arc<App>,
    request: &HookRequest,
    permits: [OwnedSemaphorePermit; 2],
) -> Result<invoke::Output, ApiError> {
    let version = request.version.clone();
    let limits = version.options.limits.clone();
    let hook = request.hook;
    let body = request.body.clone();
    let worker_app = app.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permits = permits;
        let module = version.module(worker_app.registry.modules())?;
        worker_app
            .metrics
            .instantiations
            .get_or_create(&HookLabel {
                hook: version.name.clone(),
            })
            .inc();
        Ok::<_, Arc<crate::module_cache::LoadError>>(invoke::invoke(
            &worker_app.runtime,
            &module.pre,
            Call {
                name: &version.name,
                hook,
                body,
                limits: &version.options.limits,
            },
        ))
    });
    match tokio::time::timeout(limits.timeout + TIMEOUT_GRACE, task).await {
        Err(_elapsed) => Err(failed(
            request,
            HookFailure {
                failure: Failure::Timeout {
                    limit: limits.timeout,
                },
                stderr: String::new(),
            },
        )),
        Ok(Err(join_error)) => Err(ApiError::Internal(format!(
            "the hook's worker thread failed: {join_error}"
        ))),
        Ok(Ok(Err(load_error))) => Err(ApiError::Unavailable {
            name: request.version.name.clone(),
            reason: load_error.to_string(),
        }),
        Ok(Ok(Ok(result))) => result.map_err(|failure| failed(request, failure)),
    }
}

fn failed(request: &HookRequest, failure: HookFailure) -> ApiError {
    ApiError::Failed {
        name: request.version.name.clone(),
        hook: request.hook,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_quoted_weak_and_listed() {
        let etag = Digest::of(b"x");
        let hex = etag.hex();
        assert!(etag_matches(&format!("\"{hex}\""), &etag));
        assert!(etag_matches(&format!("W/\"{hex}\""), &etag));
        assert!(etag_matches(&format!("\"other\", \"{hex}\""), &etag));
        assert!(etag_matches(&hex, &etag));
        assert!(!etag_matches("\"other\"", &etag));
        assert!(!etag_matches("*", &etag));
    }
}
