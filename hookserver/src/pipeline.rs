//! The stages of one hook call, in the order a request travels them:
//! ETag -> response cache -> request check -> admission -> module cache -> invoke -> output
//! check -> response cache insert.

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;

use crate::digest::Digest;
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::extract::HookRequest;
use crate::invoke::{self, Call, Failure, HookFailure};
use crate::metrics::HookLabel;
use crate::module_cache::LoadedModule;
use crate::protocol;
use crate::registry::HookVersion;

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
    let etag = Digest::of_call(&version.fingerprint, request.hook, &request.body);

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

    // Stage 3: the body must be a request for this hook. Only now: an ETag or cache match
    // is for these exact bytes, which passed this check when they were first answered.
    let shape = protocol::RequestShape::inspect(request.hook, &request.body)
        .map_err(|err| ApiError::BadRequest(err.to_string()))?;

    // Stage 4: a place to run.
    let permits = admit(app, &request).await?;

    // Stage 5: run it.
    let output = run(app, &request, permits).await?;

    // Stage 6: never pass on what metacontroller could misread.
    if let Err(err) = protocol::check_output(shape, version.options.strict, &output.stdout) {
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

    // Stage 7: remember it for the next identical call.
    app.responses
        .insert(version.id, etag, output.stdout.clone());
    Ok(Answer::Body {
        etag,
        body: output.stdout,
    })
}

/// Whether an `If-None-Match` header names `etag` (weak or strong, in a list or alone).
///
/// Public for the fuzz targets and property tests, which check it on hostile headers.
pub fn etag_matches(header: &str, etag: &Digest) -> bool {
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
    // One budget for both waits, so queueing never exceeds the hook's timeout in all.
    let deadline = tokio::time::Instant::now() + version.options.limits.timeout;
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
        .admit(deadline)
        .await
        .map_err(|_| overloaded())?;
    let pool_permit = app.pool.admit(deadline).await.map_err(|_| overloaded())?;
    Ok([hook_permit, pool_permit])
}

/// Runs the call on this task, holding the permits until the instance is gone.
async fn run(
    app: &Arc<App>,
    request: &HookRequest,
    permits: [OwnedSemaphorePermit; 2],
) -> Result<invoke::Output, ApiError> {
    let version = &request.version;
    let module = module(app, version).await?;
    app.metrics
        .instantiations
        .get_or_create(&HookLabel {
            hook: version.name.clone(),
        })
        .inc();
    let result = invoke::invoke(
        &app.runtime,
        &module.pre,
        Call::hook(
            &version.name,
            request.hook,
            request.body.clone(),
            &version.options.limits,
            version.script.as_deref(),
        ),
    )
    .await;
    drop(permits);
    result.map_err(|failure| failed(request, failure))
}

/// The version's compiled module: at hand, or loaded from the disk cache off the async
/// workers (deserializing takes up to a millisecond).
async fn module(app: &Arc<App>, version: &Arc<HookVersion>) -> Result<Arc<LoadedModule>, ApiError> {
    let modules = app.registry.modules();
    if let Some(module) = version.resident_module(modules) {
        return Ok(module);
    }
    let (version, modules) = (version.clone(), modules.clone());
    let name = version.name.clone();
    match tokio::task::spawn_blocking(move || version.module(&modules)).await {
        Ok(Ok(module)) => Ok(module),
        Ok(Err(err)) => Err(ApiError::Unavailable {
            name,
            reason: err.to_string(),
        }),
        Err(err) => Err(ApiError::Internal(format!(
            "loading the module failed: {err}"
        ))),
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
