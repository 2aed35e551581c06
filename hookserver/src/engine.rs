//! The one place that configures wasmtime: the process-wide [`Engine`], the [`Linker`] that
//! grants ABI v1 (WASI preview1, nothing else), and the epoch ticker behind timeouts.
//!
//! One `Runtime` lives for the whole process. Per-request state (the Store, its WASI
//! context and limits) is built fresh for each call in [`crate::invoke`].

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig,
};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::digest::{Digest, StableHasher};

/// How often the epoch advances: running guests yield to the executor and check their
/// deadline this often, so timeouts are enforced to within one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The state a Store carries for one invocation.
pub struct HostState {
    pub wasi: WasiP1Ctx,
    pub limiter: crate::invoke::MemoryLimiter,
}

/// How the runtime is sized.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Instances that may exist at once (sizes the pooling allocator).
    pub max_instances: u32,
    /// What happens to an instance's memory when its call returns.
    pub reset: InstanceReset,
}

impl RuntimeConfig {
    /// A runtime for `max_instances` instances at once, with the default reset.
    pub fn new(max_instances: u32) -> Self {
        RuntimeConfig {
            max_instances,
            reset: InstanceReset::default(),
        }
    }
}

/// How much of an instance slot's memory may stay resident between calls under
/// [`InstanceReset::Fast`]: a small hook's stack, data and heap, so that a busy hook never
/// faults a page in.
pub const FAST_RESET_RESIDENT: usize = 2 << 20;

/// Unused slots that keep their memory under [`InstanceReset::Fast`], beyond those in use:
/// a new instance reuses a warm slot rather than warming another, so what stays resident
/// follows how many calls run at once, not how many hooks exist.
pub const FAST_RESET_WARM_SLOTS: u32 = 4;

/// What happens to an instance slot's linear memory when a call returns. Either way the
/// next call sees memory exactly as a fresh instance would; they differ in cost. (The doc
/// comments of the variants are `serve --help`'s text.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceReset {
    /// Keep up to 2 MiB of each slot's memory resident and reset only the pages a call
    /// dirtied, in user space: no page faults, about half the cost of a small call. Memory
    /// that stays resident is at most 2 MiB x (the most calls that ran at once + 4), and
    /// at most 2 MiB x --pool-size
    #[default]
    Fast,
    /// Return every page a call touched to the kernel: idle memory goes back to the
    /// baseline after any burst, and each call faults its pages in again
    Lean,
}

/// Which instance allocator the engine ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    /// Pre-reserved slots, reused across requests: the fast path.
    Pooling,
    /// mmap per instance: used when the address space for the pool cannot be reserved.
    OnDemand,
}

/// The engine, the linker and the ticker that drives timeouts.
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    allocator: Allocator,
    reset: InstanceReset,
    compatibility: Digest,
}

/// The runtime could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the WebAssembly runtime: {0}")]
pub struct RuntimeError(String);

impl Runtime {
    /// Builds the engine (pooling allocator, falling back to on-demand allocation when the
    /// address space cannot be reserved), links WASI preview1 and starts the epoch ticker.
    pub fn new(config: &RuntimeConfig) -> Result<Arc<Self>, RuntimeError> {
        let (engine, allocator) = match Engine::new(&engine_config(Some(config))) {
            Ok(engine) => (engine, Allocator::Pooling),
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "cannot reserve address space for the pooling allocator; falling back to \
                     on-demand allocation (slower instantiation; raise `ulimit -v` or lower \
                     --pool-size to get pooling back)"
                );
                let engine =
                    Engine::new(&engine_config(None)).map_err(|e| RuntimeError(e.to_string()))?;
                (engine, Allocator::OnDemand)
            }
        };

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut HostState| {
            &mut state.wasi
        })
        .map_err(|e| RuntimeError(e.to_string()))?;

        let mut hasher = StableHasher::default();
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);

        spawn_epoch_ticker(&engine);
        Ok(Arc::new(Runtime {
            engine,
            linker: Arc::new(linker),
            allocator,
            reset: config.reset,
            compatibility: hasher.finish_digest(),
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    pub fn allocator(&self) -> Allocator {
        self.allocator
    }

    pub fn reset(&self) -> InstanceReset {
        self.reset
    }

    /// Identifies the compiled-code format of this engine: precompiled artifacts are only
    /// valid for an engine with the same value.
    pub fn compatibility(&self) -> Digest {
        self.compatibility
    }
}

fn engine_config(pool: Option<&RuntimeConfig>) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.parallel_compilation(true);
    // Every call ends in `proc_exit`, an error to wasmtime, which would walk and symbolize
    // the guest's stack for it each time; failures are reported without a backtrace.
    config.wasm_backtrace_max_frames(None);
    // A module's data segments are mapped copy-on-write, so an instance costs no memory
    // until it writes.
    config.memory_init_cow(true);
    if let Some(pool) = pool {
        let mut pooling = PoolingAllocationConfig::new();
        pooling.total_core_instances(pool.max_instances);
        pooling.total_memories(pool.max_instances);
        pooling.total_tables(pool.max_instances);
        pooling.total_stacks(pool.max_instances);
        // Each hook's own memory limit is enforced per Store; the pool only caps what a
        // wasm32 memory can address.
        pooling.max_memory_size(4 << 30);
        match pool.reset {
            // Leave no pages resident after an instance is dropped: idle memory returns to
            // the baseline, at the cost of page faults on the next call.
            InstanceReset::Lean => {
                pooling.linear_memory_keep_resident(0);
                pooling.table_keep_resident(0);
                // Stacks too: without this, a slot whose call recursed deeply keeps up to
                // 512 KiB resident for good (about 5 MiB after 20 rounds of hostile calls).
                config.async_stack_zeroing(true);
            }
            // Reset the resident part with `memset`, and only the pages the call dirtied
            // where the kernel can say which (`PAGEMAP_SCAN`, Linux 6.7): no `madvise`,
            // no page faults, no TLB shootdowns.
            InstanceReset::Fast => {
                pooling.linear_memory_keep_resident(FAST_RESET_RESIDENT);
                pooling.table_keep_resident(FAST_RESET_RESIDENT / 64);
                pooling.pagemap_scan(Enabled::Auto);
                pooling.max_unused_warm_slots(FAST_RESET_WARM_SLOTS);
            }
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        // Without a ticker no hook would ever time out; that must not go unnoticed.
        panic!("cannot start the epoch ticker thread: {err}");
    }
}
