//! Every input the fuzz targets found a bug with, replayed through the targets' own checks,
//! so `cargo test` keeps each bug fixed. The inputs are files in
//! `hookserver/fuzz/regressions/TARGET/`, named after the bug they found; the checks are the
//! fuzz crate's modules, included here as they are (`make fuzz` runs the same code under
//! libFuzzer).
//!
//! A few hand-written inputs per target run too: they take each target's main paths (a 200,
//! a 304 and a cache hit through the router; accepted and refused answers), so a change that
//! breaks the harness fails here rather than in the next fuzzing session.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/etag.rs"]
mod etag;
#[path = "../fuzz/src/route.rs"]
mod route;
#[path = "../fuzz/src/validate.rs"]
mod validate;

/// The kept inputs of one target, by file name.
fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    assert!(
        root.is_dir(),
        "{} is missing: it holds the fuzz regression inputs (restore it from git)",
        root.display()
    );
    let dir = root.join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut cases: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            (path, bytes)
        })
        .collect();
    cases.sort();
    cases
}

/// Runs `check` on every kept input of `target`, then on `smoke`, and names every input
/// that fails.
fn replay(target: &str, check: fn(&[u8]), smoke: &[&[u8]]) {
    let mut inputs = regressions(target);
    inputs.extend(
        smoke
            .iter()
            .enumerate()
            .map(|(i, bytes)| (PathBuf::from(format!("smoke input {i}")), bytes.to_vec())),
    );
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, bytes)| std::panic::catch_unwind(|| check(bytes)).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail the fuzz target's checks (replay one with the fuzz binary, \
         see hookserver/fuzz/run.sh): {failed:#?}"
    );
}

#[test]
fn route_regressions() {
    // Over echo-strict's 2Ki `max-request`: a 413.
    let too_large = [
        &b"POST /hooks/echo-strict/sync\ncontent-type: application/json\n\n{\"parent\": \""[..],
        &[b'x'; 4096],
        b"\"}",
    ]
    .concat();
    replay(
        "route",
        route::run,
        &[
            &too_large,
            b"POST /hooks/echo/sync\ncontent-type: application/json\ncontent-length: 0\n\n{\"parent\": {}}",
            b"POST /hooks/echo-strict/customize\ncontent-type: application/json\n\n{\"relatedResources\": []}",
            b"POST /hooks/echo/sync\ncontent-type: application/json\n\n{\"parent\": {}, \"children\": {\"Pod.v1\": {}}}",
            b"POST /hooks/echo/finalize\ncontent-type: application/json\n\n[]",
            b"POST /hooks/echo/sync\ncontent-type: text/plain\n\n{}",
            b"GET /hooks/echo/sync",
            b"POST /hooks/unknown/sync\ncontent-type: application/json\n\n{}",
            b"POST /hooks/echo/reconcile\ncontent-type: application/json\n\n{}",
            b"GET /healthz",
        ],
    );
}

#[test]
fn validate_regressions() {
    replay(
        "validate",
        validate::run,
        &[
            br#"{"children": [], "status": {"ready": true}}"#,
            br#"{"labels": {"a": null}, "attachments": []}"#,
            br#"{"relatedResources": [{"apiVersion": "v1", "resource": "pods", "x": 1}]}"#,
            br#"{"children": [], "children": {}}"#,
            b"[]",
            b" ",
            b"{",
        ],
    );
}

#[test]
fn etag_regressions() {
    replay(
        "etag",
        etag::run,
        &[b"\x00\"abc\", W/\"def\"\n{\"parent\": {}}", b"\x02*\n", b""],
    );
}
