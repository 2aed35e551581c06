//! A conformance suite for metacontroller hook backends: cases are files of JSON (requests
//! and expectations), the runner sends them to any backend over HTTP.
//!
//! - [`case`]: the case format, loaded from a directory tree;
//! - [`generate`]: builds requests exactly as metacontroller sends them;
//! - [`mod@assert`]: JSONPath assertions with expected-versus-got evidence;
//! - [`run`]: maps hook names to URLs and runs cases concurrently;
//! - [`report`]: console lines, the summary and JUnit XML.
//!
//! The binary `hookconformance` wraps these; see docs/conformance.md.

pub mod assert;
pub mod case;
pub mod generate;
pub mod report;
pub mod run;
