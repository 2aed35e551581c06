//! Script hooks: what the adapters cost, and what sharing one adapter saves.
//!
//! 1. Each adapter's compile time (once per server; the disk cache makes it once per
//!    machine).
//! 2. In-process cost of one call (fresh instance, run, drop) of the example scripts beside
//!    their Rust ports, on the ports' sample requests.
//! 3. The release server's RSS serving one script hook, then 100 distinct script hooks of
//!    the same language (each copy differs by a comment, so no two share a digest), after
//!    start and after calling each once.
//!
//! `make hooks adapters && cargo build --release -p hookserver && cargo bench -p hookserver --bench script_hooks`

mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookserver::engine::{Runtime, RuntimeConfig};
use hookserver::module_cache::Provenance;
use hookserver::script::ScriptStore;
use hookserver::source::Artifact;
use hookserver::source::directory::artifact_at;
use serde_json::json;

const CALLS: usize = 1_000;
const HOOKS: usize = 100;

fn main() {
    let root = support::root();
    let adapters = root.join("target/adapters");
    let runtime = Runtime::new(&RuntimeConfig::new(4)).expect("runtime");
    let cache = support::memory_cache(&runtime, None);

    let (mut compiles, mut calls, mut memory) = (Vec::new(), Vec::new(), Vec::new());
    println!("adapter compile time (cranelift, this machine):");
    for adapter in ["jsonnet.wasm", "js.wasm"] {
        let bytes = std::fs::read(adapters.join(adapter))
            .unwrap_or_else(|_| panic!("target/adapters/{adapter}: run `make adapters` first"));
        let prepared = cache.prepare(&bytes).expect("adapter compiles");
        let Provenance::Compiled(took) = prepared.provenance else {
            panic!("{adapter} was not compiled");
        };
        println!("  {adapter:<14} {:>9} bytes  {took:.2?}", bytes.len());
        compiles.push(json!({"adapter": adapter, "bytes": bytes.len(), "compile_ms": took.as_secs_f64() * 1e3}));
    }

    println!("\ninstantiate + run + drop, {CALLS} calls each (p50 / p90 / p99):");
    let store = ScriptStore::new(None).expect("script store");
    let cases = [
        (
            "hello-world",
            "examples/scripts/jsonnet/hello-world-jsonnet.jsonnet",
            "sync.json",
        ),
        (
            "hello-world",
            "examples/scripts/js/hello-world-js.js",
            "sync.json",
        ),
        (
            "catset",
            "examples/scripts/jsonnet/catset-jsonnet.jsonnet",
            "sync.json",
        ),
        (
            "service-per-pod",
            "examples/scripts/js/service-per-pod-js.js",
            "sync.json",
        ),
        (
            "bluegreen",
            "examples/scripts/js/bluegreen-js.js",
            "sync.json",
        ),
    ];
    let mut ports_done = Vec::new();
    for (port, script, request) in cases {
        let body = Bytes::from(
            std::fs::read(
                root.join("examples")
                    .join(port)
                    .join("requests")
                    .join(request),
            )
            .expect("request"),
        );
        if !ports_done.contains(&port) {
            ports_done.push(port);
            let module = std::fs::read(root.join("target/hooks").join(format!("{port}.wasm")))
                .expect("run `make hooks` first");
            let loaded = cache.prepare(&module).expect("port loads").module;
            let samples =
                support::time_calls(&runtime, &loaded.pre, port, &body, None, CALLS / 10, CALLS);
            calls.push(report(&format!("{port} (Rust module)"), &samples));
        }
        let Artifact::Script(files) = artifact_at(&root.join(script)).expect("script") else {
            panic!("{script} is not a script");
        };
        let language = files.language;
        let adapter = std::fs::read(adapters.join(language.adapter_file())).expect("adapter");
        let loaded = cache.prepare(&adapter).expect("adapter").module;
        let dir = store.materialize(files).expect("script files");
        let samples = support::time_calls(
            &runtime,
            &loaded.pre,
            port,
            &body,
            Some(&dir),
            CALLS / 10,
            CALLS,
        );
        calls.push(report(&format!("{port} ({language} script)"), &samples));
    }

    println!("\nserver RSS (release build), {HOOKS} distinct script hooks of one language:");
    let binary = root.join("target/release/hookserver");
    assert!(
        binary.exists(),
        "run `cargo build --release -p hookserver` first"
    );
    for (script, library) in [
        (
            "examples/scripts/jsonnet/hello-world-jsonnet.jsonnet",
            Some("examples/scripts/jsonnet/hooks.libsonnet"),
        ),
        ("examples/scripts/js/hello-world-js.js", None),
    ] {
        let source = std::fs::read_to_string(root.join(script)).expect("script");
        let extension = Path::new(script)
            .extension()
            .and_then(|e| e.to_str())
            .expect("ext");
        let request = std::fs::read_to_string(root.join("examples/hello-world/requests/sync.json"))
            .expect("request");
        for count in [1, HOOKS] {
            let dir = tempfile::tempdir().expect("hooks dir");
            if let Some(library) = library {
                std::fs::copy(root.join(library), dir.path().join("hooks.libsonnet"))
                    .expect("library");
            }
            for i in 0..count {
                std::fs::write(
                    dir.path().join(format!("hello-{i}.{extension}")),
                    format!("{source}\n// copy {i}\n"),
                )
                .expect("script");
            }
            let cache = tempfile::tempdir().expect("cache");
            // Warm the disk cache first, so that start-up measures serving, not compiling.
            let args = [
                OsStr::new("--modules"),
                dir.path().as_os_str(),
                OsStr::new("--adapters"),
                adapters.as_os_str(),
                OsStr::new("--cache-dir"),
                cache.path().as_os_str(),
            ];
            drop(support::Backend::hookserver(&args));
            let started = Instant::now();
            let server = support::Backend::hookserver(&args);
            let ready_in = started.elapsed();
            let at_start = support::rss_mib(server.pid());
            let client = reqwest::blocking::Client::new();
            for i in 0..count {
                let response = client
                    .post(format!("{}/hooks/hello-{i}/sync", server.url))
                    .header("content-type", "application/json")
                    .body(request.clone())
                    .send()
                    .expect("call");
                assert_eq!(
                    response.status(),
                    200,
                    "{}",
                    response.text().unwrap_or_default()
                );
            }
            let after_calls = support::rss_mib(server.pid());
            println!(
                "  {extension:<8} {count:>3} hook(s): ready in {ready_in:>8.1?} (warm disk cache), \
                 RSS at start {at_start:>6.1} MiB, after calling each once {after_calls:>6.1} MiB"
            );
            memory.push(json!({
                "language": extension, "hooks": count, "ready_ms": ready_in.as_secs_f64() * 1e3,
                "rss_at_start_mib": at_start, "rss_after_calls_mib": after_calls,
            }));
        }
    }
    let out = json!({
        "command": "cargo bench -p hookserver --bench script_hooks",
        "calls_per_hook": CALLS,
        "adapters": compiles,
        "calls": calls,
        "memory": memory,
    });
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(
        dir.join("scripts.json"),
        serde_json::to_string_pretty(&out).expect("JSON"),
    )
    .expect("write scripts.json");
    println!("\nwrote target/bench/scripts.json");
}

/// Prints the percentiles and returns them for target/bench/scripts.json.
fn report(label: &str, samples: &[Duration]) -> serde_json::Value {
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "  {label:<36} {:>9.1?} {:>9.1?} {:>9.1?}",
        at(0.50),
        at(0.90),
        at(0.99)
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    json!({"hook": label, "p50_us": us(at(0.50)), "p90_us": us(at(0.90)), "p99_us": us(at(0.99))})
}
