//! Every way a call can fail. `main` prints the message on stderr and exits 1;
//! hookserver puts the end of stderr into its 500 reply, which metacontroller shows in a
//! `SyncError` event on the parent. So each message says what was wrong and what to do,
//! and carries its cause in the text (nothing is printed twice through `source()`).

use std::io;
use std::path::PathBuf;

use crate::invocation::Hook;

/// The adapter's failures. JavaScript values (errors, bodies) are already turned into
/// text here: they cannot outlive the engine that made them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "usage: js NAME HOOK SCRIPT (argv [NAME, HOOK, SCRIPT] in hookserver, which passes \
         them itself), where HOOK is {hooks} and SCRIPT the path of the hook's JavaScript \
         file; got argv {got}",
        hooks = Hook::NAMES
    )]
    Usage { got: String },

    #[error("unknown hook {hook:?}: expected {hooks}", hooks = Hook::NAMES)]
    UnknownHook { hook: String },

    #[error("cannot read the {hook} request from stdin: {reason}")]
    ReadRequest { hook: Hook, reason: io::Error },

    #[error(
        "the {hook} request on stdin is not valid JSON ({reason}); hookserver passes \
         metacontroller's request body unchanged, so look at what was sent"
    )]
    InvalidRequest { hook: Hook, reason: String },

    #[error(
        "cannot read the script {}: {reason}; check that the file exists beside the hook's \
         other files and is readable",
        script.display()
    )]
    ReadScript { script: PathBuf, reason: io::Error },

    #[error(
        "{}: the script failed to load; fix it where the error points: {error}",
        script.display()
    )]
    Load { script: PathBuf, error: String },

    #[error(
        "{}: module.exports is not a function (got {got}); a hook script must set \
         `module.exports = async function (context) {{ ... }}` and answer \
         {{status: 200, body: response}}",
        script.display()
    )]
    NotAFunction { script: PathBuf, got: String },

    #[error(
        "{}: the hook function threw, so there is no answer; fix the script where the error \
         points, or catch it: {error}",
        script.display()
    )]
    Threw { script: PathBuf, error: String },

    #[error(
        "{}: the hook function's promise was rejected, so there is no answer; fix the script \
         where the error points, or catch it: {error}",
        script.display()
    )]
    Rejected { script: PathBuf, error: String },

    #[error(
        "{}: the hook function's promise never settled: nothing was left to run, so it waits \
         for something a hook never gets (a timer, a network reply, an event); resolve it \
         from the request alone",
        script.display()
    )]
    NeverSettled { script: PathBuf },

    #[error(
        "{}: the hook answered status {status} instead of 200, with body: {body}",
        script.display()
    )]
    Status {
        script: PathBuf,
        status: String,
        body: String,
    },

    #[error(
        "{}: the hook's answer {problem}; answer {{status: 200, body: response}}, where the \
         response is an object such as {{children: [...]}} or a string holding one as JSON",
        script.display()
    )]
    BadAnswer { script: PathBuf, problem: String },

    #[error("cannot write the response to stdout: {0}")]
    WriteResponse(io::Error),

    #[error("the JavaScript engine failed: {0}")]
    Engine(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
