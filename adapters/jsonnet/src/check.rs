//! The load-time check (`HOOK` = `check`): the script and every file it imports must
//! parse and pass jsonnet's static checks (unknown variables, `self` outside an object,
//! ...). Nothing is evaluated, so a script that only fails for some requests passes.
//!
//! Imports are followed as evaluation would follow them (see [`crate::imports`]); a
//! missing file is an error even if only a branch that never runs imports it, since that
//! is almost always a file left out of the hook's directory.

use std::collections::HashSet;

use jrsonnet_evaluator::error::{ErrorKind, SyntaxError};
use jrsonnet_evaluator::{IStr, Source, SourcePath, State};
use jrsonnet_ir::visit::Visitor;
use jrsonnet_ir_parser::ParserSettings;

use crate::imports::ScriptImports;
use crate::{Failure, Invocation, trace, vm};

/// Checks `code` (the contents of `invocation.script`) and what it imports.
pub fn check(invocation: &Invocation, code: Vec<u8>) -> Result<(), Failure> {
    let failed = |error: jrsonnet_evaluator::Error| Failure::Compile {
        script: invocation.script.clone(),
        trace: trace::format(&error),
    };
    let imports = ScriptImports::new(invocation.script.clone(), code);
    let entry = imports.entry();
    let state = vm::state(imports);

    let mut seen: HashSet<SourcePath> = HashSet::from([entry.clone()]);
    let mut pending = vec![entry];
    while let Some(file) = pending.pop() {
        for (is_code, target) in check_file(&state, &file).map_err(failed)? {
            let resolved = state.resolve_from(&file, &target).map_err(failed)?;
            if is_code {
                if seen.insert(resolved.clone()) {
                    pending.push(resolved);
                }
            } else {
                // `importstr` / `importbin`: the file only has to be readable.
                state.import_resolved_bin(resolved).map_err(failed)?;
            }
        }
    }
    Ok(())
}

/// Parses and statically checks one file; returns its imports as (is jsonnet code, path).
fn check_file(state: &State, file: &SourcePath) -> jrsonnet_evaluator::Result<Vec<(bool, IStr)>> {
    let code = state.import_resolved_str(file.clone())?;
    let source = Source::new(file.clone(), code.clone());
    let parsed = jrsonnet_ir_parser::parse(
        &code,
        &ParserSettings {
            source: source.clone(),
        },
    )
    .map_err(|error| {
        jrsonnet_evaluator::Error::from(ErrorKind::ImportSyntaxError {
            path: source,
            error: Box::new(SyntaxError {
                message: error.message,
                location: error.location,
            }),
        })
    })?;
    // Static analysis, as evaluation would run it first. It parses again (under the same
    // name); this happens once per load, not per request.
    let name = file
        .path()
        .map_or_else(|| file.to_string(), |p| p.display().to_string());
    state.prepare_snippet(name, code)?;

    let mut imports = Imports(Vec::new());
    imports.visit_expr(&parsed);
    Ok(imports.0)
}

/// Collects `import`, `importstr` and `importbin` targets (always string literals).
struct Imports(Vec<(bool, IStr)>);

impl Visitor for Imports {
    fn visit_import(&mut self, as_expression: bool, value: IStr) {
        self.0.push((as_expression, value));
    }
}
