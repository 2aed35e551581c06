//! Every way a hook request can fail, turned into HTTP in one place.
//!
//! Bodies are short plain text: metacontroller quotes them in the parent's `SyncError`
//! event, so they reach the user in `kubectl describe`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::invoke::HookFailure;
use crate::options::format_bytes;
use crate::protocol::HookKind;

/// How much of a hook's stderr goes into an error body (the log gets more).
const STDERR_IN_BODY: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no hook named {name:?} is loaded (see GET /hooks for the hooks being served)")]
    UnknownHook { name: String },
    #[error("unknown hook {kind:?}: the path must end in /sync, /finalize or /customize")]
    UnknownKind { kind: String },
    #[error("hook {name:?} has no working version: {reason}")]
    Unavailable { name: String, reason: String },
    #[error("unsupported content type {found}: send the request as Content-Type: application/json")]
    UnsupportedMediaType { found: String },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(
        "request body exceeds the limit of {} (raise the hook's `max-request` option)",
        format_bytes(*limit)
    )]
    TooLarge { limit: u64 },
    #[error(
        "hook {name:?} is busy: no instance became free within its timeout, or too many \
         calls are already waiting; retry in {retry_after}s"
    )]
    Overloaded { name: String, retry_after: u32 },
    #[error("hook {name:?} {hook} {}", describe_failure(failure))]
    Failed {
        name: String,
        hook: HookKind,
        failure: HookFailure,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// Credentials missing or wrong (`http::auth`); `reason` never quotes them.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        reason: String,
        /// One `WWW-Authenticate` value per accepted method.
        challenges: Vec<HeaderValue>,
    },
}

fn describe_failure(failure: &HookFailure) -> String {
    let stderr = failure.stderr.trim();
    if stderr.is_empty() {
        return failure.failure.to_string();
    }
    let stderr = printable(stderr);
    let shown = tail(&stderr, STDERR_IN_BODY);
    let ellipsis = if shown.len() < stderr.len() {
        "…"
    } else {
        ""
    };
    format!("{}; stderr: {ellipsis}{shown}", failure.failure)
}

/// `text` with control characters other than newline and tab replaced, so a binary flood
/// on stderr cannot garble an event message or a terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// The last `max` bytes of `text`, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnknownHook { .. } | ApiError::UnknownKind { .. } => StatusCode::NOT_FOUND,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Failed { .. } | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), format!("{self}\n")).into_response();
        match self {
            ApiError::Overloaded { retry_after, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::Unauthorized { challenges, .. } => {
                for challenge in challenges {
                    response
                        .headers_mut()
                        .append(header::WWW_AUTHENTICATE, challenge);
                }
            }
            _ => {}
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_cuts_at_character_boundaries() {
        assert_eq!(tail("hello", 10), "hello");
        assert_eq!(tail("hello", 3), "llo");
        assert_eq!(tail("héllo", 4), "llo");
    }

    #[test]
    fn failure_bodies_mark_truncation_and_hide_control_characters() {
        let failure = HookFailure {
            failure: crate::invoke::Failure::Exit { code: 1 },
            stderr: format!("{}\0bad\nend", "x".repeat(2000)),
        };
        let text = describe_failure(&failure);
        assert!(
            text.starts_with("exited with code 1; stderr: …xxx"),
            "{text}"
        );
        assert!(text.ends_with("x\u{fffd}bad\nend"), "{text}");
        assert!(text.len() < 1100);
    }
}
