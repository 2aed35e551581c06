//! The JavaScript example hooks (examples/scripts/js) give the same answers as the Rust
//! ports they mirror, for every sample request of those ports, compared as JSON values.

use std::path::{Path, PathBuf};

use js_adapter::{Hook, Invocation};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Each sample request of `example` with its hook: `sync*.json` is a sync request,
/// `finalize.json` a finalize request, `customize.json` a customize request.
fn samples(example: &str) -> Vec<(Hook, PathBuf)> {
    let dir = root().join("examples").join(example).join("requests");
    let mut samples: Vec<(Hook, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let hook = Hook::parse(stem.split('-').next().unwrap_or_default())
                .unwrap_or_else(|| panic!("{}: no hook in the file name", path.display()));
            (hook, path)
        })
        .collect();
    samples.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(
        !samples.is_empty(),
        "no sample requests in {}",
        dir.display()
    );
    samples
}

fn compare(example: &str, script: &str, rust: impl Fn(&str, &[u8]) -> Result<Vec<u8>, String>) {
    for (hook, request) in samples(example) {
        let input = std::fs::read(&request).expect("read the sample request");
        let expected = rust(hook.as_str(), &input).unwrap_or_else(|err| {
            panic!("{} {hook}: the Rust port failed: {err}", request.display())
        });
        let invocation = Invocation {
            name: example.to_string(),
            hook,
            script: root().join("examples/scripts/js").join(script),
        };
        let got = js_adapter::run(&invocation, &input)
            .unwrap_or_else(|err| panic!("{script} {hook} {}: {err}", request.display()))
            .expect("a response");
        let expected: Value = serde_json::from_slice(&expected).expect("the Rust port writes JSON");
        let got: Value = serde_json::from_str(&got).expect("the script writes JSON");
        assert_eq!(got, expected, "{script} {hook} {}", request.display());
    }
}

#[test]
fn hello_world_js_matches_the_rust_port() {
    compare("hello-world", "hello-world-js.js", |hook, input| {
        hello_world::hooks()
            .handle(hook, input)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn service_per_pod_js_matches_the_rust_port() {
    compare("service-per-pod", "service-per-pod-js.js", |hook, input| {
        service_per_pod::hooks()
            .handle(hook, input)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn bluegreen_js_matches_the_rust_port() {
    compare("bluegreen", "bluegreen-js.js", |hook, input| {
        bluegreen::hooks()
            .handle(hook, input)
            .map_err(|e| e.to_string())
    });
}
