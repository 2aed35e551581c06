//! The request as the script's top-level argument.
//!
//! jsonnetd calls go-jsonnet's `vm.TLACode("request", body)`: the body is jsonnet *code*
//! (a JSON object is valid jsonnet), so the script gets an object, not a string. The same
//! happens here. The body is first checked to be JSON: hookserver only passes JSON
//! objects, this gives a clear message when something else arrives, and it keeps
//! jsonnet-only syntax (such as an `import`) out of the request.

use jrsonnet_evaluator::tla::TlaArg;
use serde::de::IgnoredAny;

use crate::{Failure, Hook};

/// The request body as the `request` argument, or why it is not one.
pub fn request_arg(hook: Hook, body: Vec<u8>) -> Result<TlaArg, Failure> {
    let invalid = |detail: String| Failure::InvalidRequest { hook, detail };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("it is empty".to_string()));
    }
    serde_json::from_slice::<IgnoredAny>(&body).map_err(|error| invalid(error.to_string()))?;
    let code = String::from_utf8(body).map_err(|error| invalid(error.to_string()))?;
    Ok(TlaArg::InlineCode(code))
}
