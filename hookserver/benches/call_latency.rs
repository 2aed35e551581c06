//! In-process cost of one hook call: fresh Store and WASI context from the pre-linked
//! module, `_start`, drop. Runs the example hook's sync many times with each instance reset
//! (`serve --instance-reset`) and prints wall-clock percentiles, and the calling thread's
//! CPU time per call, which other work on the machine disturbs far less.
//!
//! `make hooks && cargo bench -p hookserver --bench call_latency`

mod support;

use std::time::Duration;

use bytes::Bytes;
use hookserver::engine::{InstanceReset, Runtime, RuntimeConfig};

const WARMUP: usize = 1_000;
const CALLS: usize = 20_000;

/// The smallest ABI v1 hook: prints a constant. Its cost is hookserver's fixed cost per call.
const FLOOR_HOOK: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"children\":[]}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = std::fs::read(root.join("target/hooks/hello-world.wasm"))
        .expect("target/hooks/hello-world.wasm: run `make hooks` first");
    let request = Bytes::from(
        std::fs::read(root.join("examples/hello-world/requests/sync.json")).expect("request"),
    );
    let floor = wat::parse_str(FLOOR_HOOK).expect("floor module");

    for reset in [InstanceReset::Lean, InstanceReset::Fast] {
        let runtime = Runtime::new(&RuntimeConfig {
            max_instances: 4,
            reset,
        })
        .expect("runtime");
        let cache = support::memory_cache(&runtime, None);
        println!(
            "instantiate + run + drop, {CALLS} calls each, {:?} allocator, {reset:?} reset, \
             request {} bytes:",
            runtime.allocator(),
            request.len()
        );
        for (label, module) in [
            ("hello-world sync", &example),
            ("floor (prints a constant)", &floor),
        ] {
            let loaded = cache.prepare(module).expect("module loads").module;
            let cpu = thread_cpu_time();
            let samples = support::time_calls(
                &runtime,
                &loaded.pre,
                "hello-world",
                &request,
                None,
                WARMUP,
                CALLS,
            );
            let cpu = (thread_cpu_time() - cpu) / (WARMUP + CALLS) as u32;
            report(label, &samples, cpu);
        }
    }
}

/// CPU time this thread has used (user and system).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn report(label: &str, samples: &[Duration], cpu: Duration) {
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "  {label:<28} p50 {:>8.1?}  p90 {:>8.1?}  p99 {:>8.1?}  max {:>8.1?}  mean {:>8.1?}  \
         cpu {cpu:>8.1?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples[samples.len() - 1],
        mean
    );
}
