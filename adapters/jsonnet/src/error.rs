//! Every way a call can fail. Each message is one paragraph that names what went wrong
//! and what to do; `main` prints it on stderr, where hookserver takes its tail into the
//! error reply (and so into metacontroller's `SyncError` event).

use std::io;
use std::path::PathBuf;

use crate::Hook;

/// Why the adapter exits with status 1.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(
        "expected the arguments NAME HOOK SCRIPT (HOOK is sync, finalize, customize or check), \
         got [{got}]; hookserver passes them itself, so this module must be run as a jsonnet \
         hook adapter"
    )]
    Usage { got: String },

    #[error(
        "unknown hook {hook:?}; the jsonnet adapter serves sync, finalize, customize and check"
    )]
    UnknownHook { hook: String },

    #[error(
        "cannot read the script {}: {error}; the hook's directory must hold it as a \
         readable UTF-8 file", script.display()
    )]
    ReadScript { script: PathBuf, error: io::Error },

    #[error("cannot read the {hook} request from stdin: {error}")]
    ReadRequest { hook: Hook, error: io::Error },

    #[error(
        "the {hook} request on stdin is not valid JSON ({detail}); hookserver passes \
         metacontroller's request body unchanged, which is a JSON object"
    )]
    InvalidRequest { hook: Hook, detail: String },

    #[error(
        "{} does not compile; fix it before it can be served:\n{trace}",
        script.display()
    )]
    Compile { script: PathBuf, trace: String },

    #[error(
        "evaluating {} for the {hook} request failed (jsonnet error, innermost frame first):\n{trace}",
        script.display()
    )]
    Evaluate {
        hook: Hook,
        script: PathBuf,
        trace: String,
    },

    #[error(
        "{} returned {got} for the {hook} request, but a hook must return one JSON object \
         (such as {{children: [...], status: {{...}}}}); make the script evaluate to \
         `function(request) {{ ... }}`",
        script.display()
    )]
    NotAnObject {
        hook: Hook,
        script: PathBuf,
        got: String,
    },

    #[error("internal error in the jsonnet adapter: {0}")]
    Internal(String),
}
