//! Reading `POST /hooks/{name}/{hook}`: everything a request must be before any hook runs,
//! rejected in one place with one error shape.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use bytes::Bytes;

use super::App;
use super::error::ApiError;
use crate::protocol::HookKind;
use crate::registry::{HookVersion, Lookup};

/// A request that names a loaded hook, with a JSON body within the hook's size limit.
pub struct HookRequest {
    pub hook: HookKind,
    pub version: Arc<HookVersion>,
    /// Not inspected yet: the pipeline checks it only when no cached answer is for these
    /// exact bytes.
    pub body: Bytes,
    /// The `If-None-Match` header, if any.
    pub if_none_match: Option<String>,
}

impl HookRequest {
    /// Checks and reads a request for hook `name`; `hook` is the parsed last path segment
    /// (`Err` holds the segment when it names no hook kind).
    pub async fn read(
        app: &App,
        name: String,
        hook: Result<HookKind, String>,
        request: Request,
    ) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let hook = hook.map_err(|kind| ApiError::UnknownKind { kind })?;
        let version = match app.registry.lookup(&name) {
            Lookup::Serving(version) => version,
            Lookup::Failed(reason) => return Err(ApiError::Unavailable { name, reason }),
            Lookup::Loading => {
                return Err(ApiError::Unavailable {
                    name,
                    reason: "its first version is still loading; retry shortly".to_string(),
                });
            }
            Lookup::Missing => return Err(ApiError::UnknownHook { name }),
        };
        check_content_type(&parts.headers)?;
        let body = read_body(&parts.headers, body, version.options.limits.max_request).await?;
        let if_none_match = parts
            .headers
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        Ok(HookRequest {
            hook,
            version,
            body,
            if_none_match,
        })
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let found = headers
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let is_json = found.as_deref().is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or("").trim();
        media_type.eq_ignore_ascii_case("application/json")
            || media_type.to_ascii_lowercase().ends_with("+json")
    });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            found: found.map_or_else(|| "(none)".to_string(), |f| format!("{f:?}")),
        })
    }
}

async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit_usize)
        .await
        .map_err(|err| {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::TooLarge { limit }
            } else {
                ApiError::BadRequest(format!("cannot read the request body: {err}"))
            }
        })
}
