//! jsonnet errors as text: jrsonnet's compact (go-jsonnet-like) format, i.e. the message
//! and then one `file:line:col: frame` line per stack frame, innermost first.
//!
//! hookserver keeps only the tail of stderr for the error reply (1 KiB), so the trace is
//! cut to [`MAX_FRAMES`] frames: deep traces would otherwise push the message out.

use std::fmt::Write as _;

use jrsonnet_evaluator::analyze::{DiagLevel, Diagnostic};
use jrsonnet_evaluator::error::ErrorKind;
use jrsonnet_evaluator::trace::{CompactFormat, PathResolver, TraceFormat};
use jrsonnet_evaluator::{Error, SourcePath, SourceVirtual, Span};

/// Frames kept in a trace; the innermost ones say where the error is.
pub const MAX_FRAMES: usize = 8;

/// The error with its (shortened) stack trace.
pub fn format(error: &Error) -> String {
    let mut error = error.clone();
    let frames = error.trace().0.len();
    error.trace_mut().0.truncate(MAX_FRAMES);
    let mut out = match error.error() {
        ErrorKind::StaticAnalysisError(diagnostics) => static_errors(diagnostics),
        _ => String::new(),
    };
    if out.is_empty() {
        let format = CompactFormat {
            resolver: PathResolver::Absolute,
            max_trace: MAX_FRAMES,
            padding: 4,
        };
        out = format
            .format(&error)
            .unwrap_or_else(|_| error.error().to_string());
    } else {
        // The frames only: the compact format's first line would repeat the messages.
        for frame in &error.trace().0 {
            out.push_str("\n    ");
            if let Some(span) = &frame.location {
                let _ = write!(out, "{}: ", place(span));
            }
            out.push_str(&frame.desc);
        }
    }
    if frames > MAX_FRAMES {
        let _ = write!(out, "\n    ... {} more frames", frames - MAX_FRAMES);
    }
    out
}

/// The compact format prints static analysis results (an unknown variable, `self` outside
/// an object, ...) as one line without places and with the warnings (unused locals, ...)
/// mixed in. This lists the errors only, each with its place.
fn static_errors(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| matches!(d.level, DiagLevel::Error))
        .collect();
    if errors.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "static check failed ({} error{}):",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for diagnostic in errors {
        out.push_str("\n    ");
        if let Some(span) = &diagnostic.span {
            let _ = write!(out, "{}: ", place(span));
        }
        out.push_str(&diagnostic.message);
    }
    out
}

/// `file:line:col` of the start of `span`.
fn place(span: &Span) -> String {
    let source = &span.0;
    let file = file_name(source.source_path());
    match source.map_source_locations(&[span.1]).first() {
        Some(at) => format!("{file}:{}:{}", at.line, at.column),
        None => file,
    }
}

/// A file as the user named it. `check` analyses files as snippets named after their
/// path; show that name, not jrsonnet's `virtual:` form.
pub fn file_name(path: &SourcePath) -> String {
    if let Some(virtual_file) = path.downcast_ref::<SourceVirtual>() {
        return virtual_file.0.to_string();
    }
    path.path()
        .map_or_else(|| path.to_string(), |p| p.display().to_string())
}
