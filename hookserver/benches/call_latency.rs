//! In-process cost of one hook call: fresh Store and WASI context from the pre-linked
//! module, `_start`, drop. Runs the example hook's sync many times and prints percentiles.
//!
//! `make hooks && cargo bench -p hookserver --bench call_latency`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookserver::engine::{Runtime, RuntimeConfig};
use hookserver::invoke::{Call, invoke};
use hookserver::metrics::Metrics;
use hookserver::module_cache::{MAX_IDLE, MemoryTier, ModuleCache};
use hookserver::options::Limits;
use hookserver::protocol::HookKind;

const WARMUP: usize = 1_000;
const CALLS: usize = 20_000;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let module = std::fs::read(root.join("target/hooks/hello-world.wasm"))
        .expect("target/hooks/hello-world.wasm: run `make hooks` first");
    let request = Bytes::from(
        std::fs::read(root.join("examples/hello-world/requests/sync.json")).expect("request"),
    );

    let runtime = Runtime::new(&RuntimeConfig { max_instances: 4 }).expect("runtime");
    let cache = ModuleCache::new(
        runtime.clone(),
        MemoryTier {
            capacity: 1 << 30,
            idle: MAX_IDLE,
        },
        None,
        Arc::new(Metrics::default()),
    )
    .expect("module cache");
    let loaded = cache.prepare(&module).expect("module loads").module;
    let limits = Limits::default();
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");

    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let started = Instant::now();
        let output = executor
            .block_on(invoke(
                &runtime,
                &loaded.pre,
                Call {
                    name: "hello-world",
                    hook: HookKind::Sync,
                    body: request.clone(),
                    limits: &limits,
                },
            ))
            .expect("hook succeeds");
        let elapsed = started.elapsed();
        assert!(!output.stdout.is_empty());
        if i >= WARMUP {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "hello-world sync, instantiate + run + drop, {CALLS} calls ({:?} allocator, request {} bytes):",
        runtime.allocator(),
        request.len()
    );
    println!(
        "  p50 {:.1?}  p90 {:.1?}  p99 {:.1?}  max {:.1?}  mean {:.1?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples[samples.len() - 1],
        mean
    );
}
