//! Guest ABI v1: what a module must export and may import (see docs/abi.md).
//!
//! Checked once when a module is loaded, so a module that could never answer is refused
//! with a reason at load time, not on every request.

use std::fmt;

use wasmtime::{ExternType, Module};

/// The only import module ABI v1 grants.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// One way a module does not fit ABI v1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbiProblem {
    /// No `_start` function: built as a library or reactor instead of a command.
    MissingStart,
    /// `_start` exists but is not `() -> ()`.
    BadStartSignature(String),
    /// No exported linear memory named `memory`, which WASI needs to pass buffers.
    MissingMemory,
    /// An import from outside WASI preview1, which the host does not provide.
    ForeignImport { module: String, name: String },
}

impl fmt::Display for AbiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiProblem::MissingStart => f.write_str(
                "no `_start` export: build the hook as a WASI command (a program with a main \
                 function, e.g. a Rust binary for wasm32-wasip1), not a library or reactor",
            ),
            AbiProblem::BadStartSignature(ty) => {
                write!(
                    f,
                    "`_start` must take and return nothing, but has type {ty}"
                )
            }
            AbiProblem::MissingMemory => {
                f.write_str("no exported memory named `memory`: WASI needs it to pass data")
            }
            AbiProblem::ForeignImport { module, name } => write!(
                f,
                "imports `{module}::{name}`, which the host does not provide: hooks may only \
                 import {WASI_MODULE} functions (no sockets, files or host calls beyond WASI)"
            ),
        }
    }
}

/// What a module exports and imports, for `hookserver inspect` and load-time checks.
pub struct Interface {
    pub imports: Vec<(String, String, String)>,
    pub exports: Vec<(String, String)>,
    pub problems: Vec<AbiProblem>,
}

/// Lists a module's interface and everything that keeps it from being an ABI v1 hook.
pub fn interface(module: &Module) -> Interface {
    let mut problems = Vec::new();
    let imports: Vec<_> = module
        .imports()
        .map(|import| {
            if import.module() != WASI_MODULE {
                problems.push(AbiProblem::ForeignImport {
                    module: import.module().to_string(),
                    name: import.name().to_string(),
                });
            }
            (
                import.module().to_string(),
                import.name().to_string(),
                describe(&import.ty()),
            )
        })
        .collect();
    let exports: Vec<_> = module
        .exports()
        .map(|export| (export.name().to_string(), describe(&export.ty())))
        .collect();

    match module.get_export("_start") {
        Some(ExternType::Func(func)) => {
            if func.params().len() != 0 || func.results().len() != 0 {
                problems.push(AbiProblem::BadStartSignature(func.to_string()));
            }
        }
        Some(other) => problems.push(AbiProblem::BadStartSignature(describe(&other))),
        None => problems.push(AbiProblem::MissingStart),
    }
    if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
        problems.push(AbiProblem::MissingMemory);
    }
    Interface {
        imports,
        exports,
        problems,
    }
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(func) => func.to_string(),
        ExternType::Memory(memory) => format!(
            "memory (min {} pages{})",
            memory.minimum(),
            memory
                .maximum()
                .map(|max| format!(", max {max}"))
                .unwrap_or_default()
        ),
        ExternType::Table(_) => "table".to_string(),
        ExternType::Global(_) => "global".to_string(),
        ExternType::Tag(_) => "tag".to_string(),
    }
}
