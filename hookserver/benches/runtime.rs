//! Criterion benchmarks of the runtime paths one request can take, with the same hook logic
//! compiled natively beside them:
//!
//! - `call/EXAMPLE/wasm`: instantiate + run + drop of the example's module on its sample sync
//!   request (the default `--instance-reset fast`); `call/EXAMPLE/wasm-lean`: the same with
//!   `--instance-reset lean`;
//!   `call/EXAMPLE/native`: the same hook function called natively (parse, hook,
//!   serialize), the floor any runtime is measured against.
//! - `module_cache/hit`, `module_cache/disk`: finding a compiled module in memory, or loading
//!   it from the disk cache after it left memory (the first call after a restart or idle).
//! - `compile/EXAMPLE`: compiling each example module.
//! - `etag/...`: the call digest over a request, and a response cache hit.
//!
//! `make hooks && cargo bench -p hookserver --bench runtime`

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hookserver::digest::Digest;
use hookserver::engine::{InstanceReset, Runtime, RuntimeConfig};
use hookserver::invoke::{Call, invoke};
use hookserver::options::Limits;
use hookserver::protocol::HookKind;
use hookserver::response_cache::ResponseCache;

/// The examples with a native twin: their hook programs, linked into this benchmark.
fn native_hooks(name: &str) -> Option<metahook::CompositeHooks> {
    match name {
        "hello-world" => Some(hello_world::hooks()),
        "catset" => Some(catset::hooks()),
        "bluegreen" => Some(bluegreen::hooks()),
        _ => None,
    }
}

const EXAMPLES: [&str; 6] = [
    "hello-world",
    "catset",
    "bluegreen",
    "indexedjob",
    "daemonjob",
    "service-per-pod",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn module_bytes(name: &str) -> Vec<u8> {
    std::fs::read(root().join("target/hooks").join(format!("{name}.wasm")))
        .unwrap_or_else(|_| panic!("target/hooks/{name}.wasm: run `make hooks` first"))
}

/// Every module `make hooks` built, by name.
fn all_examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("target/hooks"))
        .expect("target/hooks: run `make hooks` first")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_string();
            (path.extension()? == "wasm").then_some(name)
        })
        .collect();
    names.sort();
    names
}

fn sync_request(name: &str) -> Bytes {
    Bytes::from(
        std::fs::read(
            root()
                .join("examples")
                .join(name)
                .join("requests/sync.json"),
        )
        .unwrap_or_else(|err| panic!("examples/{name}/requests/sync.json: {err}")),
    )
}

fn calls(c: &mut Criterion) {
    // Both instance resets (`serve --instance-reset`): `wasm` is the default, fast one.
    let resets = [
        (InstanceReset::Fast, "wasm"),
        (InstanceReset::Lean, "wasm-lean"),
    ];
    let runtimes = resets.map(|(reset, label)| {
        let runtime = Runtime::new(&RuntimeConfig {
            max_instances: 4,
            reset,
        })
        .expect("runtime");
        let cache = support::memory_cache(&runtime, None);
        (runtime, cache, label)
    });
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    let limits = Limits::default();
    let mut group = c.benchmark_group("call");
    for name in EXAMPLES {
        let request = sync_request(name);
        group.throughput(Throughput::Bytes(request.len() as u64));
        for (runtime, cache, label) in &runtimes {
            let module = cache.prepare(&module_bytes(name)).expect("loads").module;
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    let call = Call::hook(name, HookKind::Sync, request.clone(), &limits, None);
                    executor
                        .block_on(invoke(runtime, &module.pre, call))
                        .expect("hook answers")
                })
            });
        }
        if let Some(hooks) = native_hooks(name) {
            group.bench_function(format!("{name}/native"), |b| {
                b.iter(|| hooks.handle("sync", &request).expect("hook answers"))
            });
        }
    }
    group.finish();
}

fn module_cache(c: &mut Criterion) {
    let runtime = Runtime::new(&RuntimeConfig::new(4)).expect("runtime");
    let bytes = module_bytes("hello-world");
    let digest = Digest::of(&bytes);
    let disk = tempfile::tempdir().expect("disk cache");
    let warm = support::memory_cache(&runtime, Some(disk.path()));
    warm.prepare(&bytes).expect("loads");

    let mut group = c.benchmark_group("module_cache");
    group.bench_function("hit", |b| {
        b.iter(|| warm.get_resident(&digest).expect("resident"))
    });
    // A fresh memory tier over the warm disk cache: what the first call after eviction pays.
    group.bench_function("disk", |b| {
        b.iter_batched(
            || support::memory_cache(&runtime, Some(disk.path())),
            |cold| cold.get(&digest).expect("on disk"),
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // Compile time of every example module (what a hook's first load costs without a disk
    // cache): few samples, each is hundreds of milliseconds.
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for name in all_examples() {
        let bytes = module_bytes(&name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(&name, |b| {
            b.iter_batched(
                || support::memory_cache(&runtime, None),
                |fresh| fresh.prepare(&bytes).expect("compiles"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn etag(c: &mut Criterion) {
    let mut group = c.benchmark_group("etag");
    let version = Digest::of(b"version");
    for name in ["hello-world", "catset"] {
        let request = sync_request(name);
        group.throughput(Throughput::Bytes(request.len() as u64));
        group.bench_function(format!("digest/{name}"), |b| {
            b.iter(|| Digest::of_call(&version, HookKind::Sync, &request))
        });
    }
    let responses = ResponseCache::new(64 << 20, Duration::from_secs(600));
    let call = Digest::of_call(&version, HookKind::Sync, &sync_request("hello-world"));
    responses.insert(1, call, Bytes::from_static(b"{\"children\":[]}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("response_cache_hit", |b| {
        b.iter(|| responses.get(1, &call).expect("cached"))
    });
    group.finish();
}

criterion_group!(benches, calls, module_cache, etag);
criterion_main!(benches);
