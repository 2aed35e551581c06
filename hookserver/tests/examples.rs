//! Every example hook answers its sample requests through the real server.
//!
//! Convention: `examples/NAME/requests/HOOK.json` (or `HOOK-CASE.json`) is a request for
//! hook NAME; `examples/NAME/requests/BIN/HOOK*.json` is one for the crate's other binary
//! BIN. HOOK is sync, finalize or customize.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// (hook name, hook kind, request file)
fn sample_requests() -> Vec<(String, String, PathBuf)> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut requests = Vec::new();
    for example in std::fs::read_dir(&examples).expect("examples/") {
        let example = example.expect("entry").path();
        if !example.join("Cargo.toml").exists() {
            continue;
        }
        let name = file_name(&example);
        let dir = example.join("requests");
        assert!(
            dir.is_dir(),
            "{name} has no requests/ folder of sample requests"
        );
        let before = requests.len();
        for entry in std::fs::read_dir(&dir).expect("requests/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                let bin = file_name(&path);
                for file in std::fs::read_dir(&path).expect("requests/BIN/") {
                    let file = file.expect("entry").path();
                    requests.push((bin.clone(), hook_kind(&file), file));
                }
            } else if path.extension().is_some_and(|e| e == "json") {
                requests.push((name.clone(), hook_kind(&path), path));
            }
        }
        assert!(requests.len() > before, "{name} has no sample requests");
    }
    requests.sort();
    requests
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string()
}

fn hook_kind(file: &Path) -> String {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("file name");
    let kind = stem.split(['-', '.', '_']).next().unwrap_or(stem);
    assert!(
        ["sync", "finalize", "customize"].contains(&kind),
        "{}: request files are named HOOK.json or HOOK-CASE.json",
        file.display()
    );
    kind.to_string()
}

#[test]
fn every_example_answers_its_sample_requests_through_the_server() {
    let requests = sample_requests();
    let modules = ModuleDir::new();
    let mut names: Vec<&String> = requests.iter().map(|(name, ..)| name).collect();
    names.dedup();
    for name in names {
        modules.put(name, &example_hook(name));
    }
    let server = Server::start(&modules, &["--strict"]);
    let mut failures = Vec::new();
    for (name, kind, file) in &requests {
        let body = std::fs::read_to_string(file).expect("request");
        let response = server.post(&format!("/hooks/{name}/{kind}"), &body);
        let status = response.status();
        let text = response.text().expect("body");
        if status != 200 {
            failures.push(format!("{}: {status} {text}", file.display()));
            continue;
        }
        let answer: serde_json::Value = serde_json::from_str(&text).expect("JSON answer");
        assert!(answer.is_object(), "{}: {text}", file.display());
    }
    assert!(
        failures.is_empty(),
        "sample requests that failed:\n{}",
        failures.join("\n")
    );
}
