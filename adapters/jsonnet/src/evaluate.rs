//! One hook call: evaluate the script, call it with the request, manifest the object.

use std::collections::HashMap;

use jrsonnet_evaluator::manifest::{JsonFormat, ManifestFormat};
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::{IStr, Val, apply_tla};

use crate::imports::ScriptImports;
use crate::{Failure, Invocation, trace, vm};

/// jsonnetd answers with go-jsonnet's output: 3-space indentation, keys sorted, a final
/// newline. jrsonnet's CLI format with padding 3 is the same layout.
const INDENT: usize = 3;

/// Evaluates `code` (the contents of `invocation.script`) with `request` and returns the
/// response body.
pub fn evaluate(
    invocation: &Invocation,
    code: Vec<u8>,
    request: TlaArg,
) -> Result<String, Failure> {
    let failed = |error: jrsonnet_evaluator::Error| Failure::Evaluate {
        hook: invocation.hook,
        script: invocation.script.clone(),
        trace: trace::format(&error),
    };
    let imports = ScriptImports::new(invocation.script.clone(), code);
    let entry = imports.entry();
    let state = vm::state(imports);
    // The request (inline code) is evaluated through the current state.
    let _entered = state
        .try_enter()
        .ok_or_else(|| Failure::Internal("a jsonnet state is already active".to_string()))?;
    let _stack = vm::stack_limit();

    let script = state.import_resolved(entry).map_err(failed)?;
    let response = if let Val::Func(function) = &script
        && function.is_identity()
    {
        // jrsonnet compiles `function(request) request` to its builtin identity function,
        // whose parameter is called `x`, so passing `request` by name would fail. The only
        // identity jsonnetd accepts with a `request` argument is that one: answer the request.
        request.evaluate_tailstrict()
    } else {
        // `IStr` is an interned string: its hash and equality never change (jrsonnet keys
        // its own maps with it), whatever clippy infers from its reference count.
        #[allow(clippy::mutable_key_type)]
        let args: HashMap<IStr, TlaArg> = HashMap::from([(IStr::from("request"), request)]);
        // As in go-jsonnet, a script that is not a function ignores the argument.
        apply_tla(&args, script)
    }
    .map_err(failed)?;
    if !matches!(response, Val::Obj(_)) {
        return Err(Failure::NotAnObject {
            hook: invocation.hook,
            script: invocation.script.clone(),
            got: describe(&response),
        });
    }
    let mut body = JsonFormat::cli(INDENT).manifest(response).map_err(failed)?;
    body.push('\n');
    Ok(body)
}

/// "an array", "null", ...: for the message about a non-object result.
fn describe(value: &Val) -> String {
    let kind = value.value_type().name();
    match kind {
        "null" => kind.to_string(),
        _ if kind.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}
