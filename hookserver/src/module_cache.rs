//! Compiled modules, deduplicated by the SHA-256 of their bytes.
//!
//! Two tiers: memory (moka, bounded, idle entries evicted so memory returns to baseline)
//! and disk ([`DiskCache`]). Any number of hook names with the same bytes share one
//! compiled module in both. Loads of one digest are coalesced: concurrent requests for a
//! module that is being loaded wait for that one load instead of starting their own, and
//! nothing here holds a lock that another digest needs.
//!
//! All methods block (compiling takes milliseconds to seconds): call them off the async
//! workers.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use wasmtime::{InstancePre, Module};

use crate::abi::{self, AbiProblem};
use crate::digest::Digest;
use crate::disk_cache::{DiskCache, DiskCacheError};
use crate::engine::{HostState, Runtime};
use crate::metrics::Metrics;

/// A module ready to instantiate: compiled, checked against ABI v1 and pre-linked.
pub struct LoadedModule {
    pub digest: Digest,
    pub pre: InstancePre<HostState>,
    /// Size of the compiled artifact, the module's weight in the memory tier.
    pub compiled_size: usize,
}

/// Where a module came from when it was prepared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Provenance {
    Memory,
    Disk,
    Compiled(Duration),
}

/// The result of preparing a module's bytes.
pub struct Prepared {
    pub module: Arc<LoadedModule>,
    pub provenance: Provenance,
    /// False when the artifact could not be written to disk: the caller must keep the
    /// module alive itself, since eviction from memory would lose it.
    pub persisted: bool,
}

/// A module that cannot be served, and why.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid WebAssembly module ({digest:?}): {reason}")]
    Invalid { digest: Digest, reason: String },
    #[error("does not fit hook ABI v1 ({digest:?}): {}", join(problems))]
    Abi {
        digest: Digest,
        problems: Vec<AbiProblem>,
    },
    #[error("cannot link ({digest:?}): {reason}")]
    Link { digest: Digest, reason: String },
    #[error(
        "compiled module {digest:?} is neither in memory nor in the disk cache (was the cache \
         dir cleared?); it loads again when its source changes"
    )]
    NotCached { digest: Digest },
}

fn join(problems: &[AbiProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Longest idle time honoured (moka refuses more than 1000 years; a year is "never").
pub const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Sizing of the memory tier.
#[derive(Clone, Debug)]
pub struct MemoryTier {
    /// Total compiled bytes kept in memory.
    pub capacity: u64,
    /// Modules not called for this long leave memory (they reload from disk).
    pub idle: Duration,
}

pub struct ModuleCache {
    runtime: Arc<Runtime>,
    memory: Cache<Digest, Arc<LoadedModule>>,
    disk: Option<DiskCache>,
    /// Why the disk tier cannot take new artifacts: from the start-up check, or the latest
    /// write that failed (cleared by one that succeeds).
    problem: Mutex<Option<String>>,
    metrics: Arc<Metrics>,
}

impl ModuleCache {
    /// A cache over `runtime`'s engine; `cache_dir` enables the disk tier.
    ///
    /// A cache dir that cannot be created or written is not fatal: the server serves from
    /// memory, warns once here naming the directory and the remedy, and [`Self::disk_problem`]
    /// says why for `GET /hooks`. Modules that cannot be written are pinned by the registry.
    pub fn new(
        runtime: Arc<Runtime>,
        tier: MemoryTier,
        cache_dir: Option<&Path>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut problem = None;
        let disk = cache_dir.and_then(|dir| {
            let opened = DiskCache::open(dir, runtime.compatibility());
            let checked = opened.and_then(|disk| disk.check_writable().map(|()| disk));
            match checked {
                Ok(disk) => Some(disk),
                Err(err) => {
                    tracing::warn!(
                        dir = %dir.display(),
                        error = %err,
                        "the cache dir is not usable: compiled modules are kept in memory \
                         instead (never unloaded while idle) and compiled again after every \
                         restart"
                    );
                    problem = Some(err.to_string());
                    // A directory that exists but cannot be written may still hold valid
                    // artifacts (a cache baked into an image): read them.
                    DiskCache::open_existing(dir, runtime.compatibility())
                }
            }
        });
        let memory = Cache::builder()
            // Weighed in KiB so that the u32 weight cannot overflow.
            .weigher(|_, module: &Arc<LoadedModule>| {
                u32::try_from(module.compiled_size / 1024 + 1).unwrap_or(u32::MAX)
            })
            .max_capacity(tier.capacity / 1024)
            .time_to_idle(tier.idle.min(MAX_IDLE))
            .build();
        ModuleCache {
            runtime,
            memory,
            disk,
            problem: Mutex::new(problem),
            metrics,
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn disk_dir(&self) -> Option<&Path> {
        self.disk.as_ref().map(DiskCache::dir)
    }

    /// Why compiled modules cannot be written to the cache dir, if they cannot.
    pub fn disk_problem(&self) -> Option<String> {
        self.problem().clone()
    }

    fn problem(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic while holding this lock leaves a valid Option: keep using it.
        self.problem
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Compiles (or finds) the module for `bytes`. Used when a source adds or changes a hook.
    ///
    /// A module found in the disk cache is checked (its checksum, then deserialized and
    /// linked, so a corrupt or stale artifact is replaced by compiling `bytes` now, while they
    /// are at hand) but not kept in memory: it joins the memory tier on its first call, like
    /// a module that was evicted while idle. So a restart with many cached hooks costs no
    /// memory for the ones that are never called.
    pub fn prepare(&self, bytes: &[u8]) -> Result<Prepared, Arc<LoadError>> {
        let digest = Digest::of(bytes);
        if self.memory.get(&digest).is_none()
            && let Some(module) = self.load_from_disk(&digest, "compiling it again")
        {
            let module = self.link(digest, module).map_err(Arc::new)?;
            self.metrics.module_lookup("disk");
            return Ok(Prepared {
                module,
                provenance: Provenance::Disk,
                persisted: true,
            });
        }
        let provenance = Cell::new(Provenance::Memory);
        let module = self.memory.try_get_with(digest, || {
            let started = Instant::now();
            let module =
                Module::new(self.runtime.engine(), bytes).map_err(|err| LoadError::Invalid {
                    digest,
                    reason: format!("{err:#}"),
                })?;
            let elapsed = started.elapsed();
            provenance.set(Provenance::Compiled(elapsed));
            self.metrics.compile_seconds.observe(elapsed.as_secs_f64());
            let loaded = self.link(digest, module)?;
            self.persist(&loaded);
            Ok(loaded)
        })?;
        let provenance = provenance.get();
        self.metrics.module_lookup(match provenance {
            Provenance::Memory => "memory",
            Provenance::Disk => "disk",
            Provenance::Compiled(_) => "compiled",
        });
        Ok(Prepared {
            module,
            provenance,
            persisted: self
                .disk
                .as_ref()
                .is_some_and(|disk| disk.contains(&digest)),
        })
    }

    /// The module for `digest` if it is in memory. Never blocks.
    pub fn get_resident(&self, digest: &Digest) -> Option<Arc<LoadedModule>> {
        let module = self.memory.get(digest)?;
        self.metrics.module_lookup("memory");
        Some(module)
    }

    /// The module for `digest`, from memory or disk. Blocks while loading from disk.
    pub fn get(&self, digest: &Digest) -> Result<Arc<LoadedModule>, Arc<LoadError>> {
        if let Some(module) = self.get_resident(digest) {
            return Ok(module);
        }
        let module = self.memory.try_get_with(*digest, || {
            let then = "the module is compiled again when its hook's source changes";
            match self.load_from_disk(digest, then) {
                Some(module) => self.link(*digest, module),
                None => Err(LoadError::NotCached { digest: *digest }),
            }
        })?;
        self.metrics.module_lookup("disk");
        Ok(module)
    }

    /// Applies pending evictions. moka does this only during other operations, so an
    /// idle server calls it on a timer to let idle modules actually leave memory.
    pub fn run_maintenance(&self) {
        self.memory.run_pending_tasks();
    }

    /// Modules currently in the memory tier. Applies pending evictions and insertions first,
    /// since moka's count is only updated by its housekeeping.
    pub fn resident_count(&self) -> u64 {
        self.memory.run_pending_tasks();
        self.memory.entry_count()
    }

    /// The module from the disk tier, if there is a usable artifact. One that fails its
    /// checksum or does not load is deleted (never run), counted and logged with `then`:
    /// what happens instead.
    fn load_from_disk(&self, digest: &Digest, then: &str) -> Option<Module> {
        let disk = self.disk.as_ref()?;
        match disk.load(self.runtime.engine(), digest) {
            Ok(module) => module,
            Err(err) => {
                let kind = match err {
                    DiskCacheError::Corrupt { .. } => "corrupt",
                    _ => "load",
                };
                self.metrics.disk_cache_error(kind);
                tracing::warn!(error = %err, "discarding a disk-cache artifact, {then}");
                disk.discard(digest);
                None
            }
        }
    }

    fn link(&self, digest: Digest, module: Module) -> Result<Arc<LoadedModule>, LoadError> {
        let interface = abi::interface(&module);
        if !interface.problems.is_empty() {
            return Err(LoadError::Abi {
                digest,
                problems: interface.problems,
            });
        }
        let pre = self
            .runtime
            .linker()
            .instantiate_pre(&module)
            .map_err(|err| LoadError::Link {
                digest,
                reason: format!("{err:#}"),
            })?;
        let image = module.image_range();
        let compiled_size = (image.end as usize).saturating_sub(image.start as usize);
        Ok(Arc::new(LoadedModule {
            digest,
            pre,
            compiled_size,
        }))
    }

    /// Writes the compiled module to the disk tier, if there is one. A failure is logged
    /// and otherwise harmless: [`Prepared::persisted`] tells the caller to pin the module.
    fn persist(&self, loaded: &LoadedModule) {
        let Some(disk) = &self.disk else {
            return;
        };
        let result = loaded
            .pre
            .module()
            .serialize()
            .map_err(|err| err.to_string())
            .and_then(|artifact| {
                disk.store(&loaded.digest, &artifact)
                    .map_err(|err| err.to_string())
            });
        match result {
            // Room again (or never a problem): nothing to report any more.
            Ok(true) => *self.problem() = None,
            Ok(false) => {}
            Err(reason) => {
                self.metrics.disk_cache_error("write");
                tracing::warn!(
                    digest = ?loaded.digest,
                    %reason,
                    "cannot write the compiled module to the disk cache; keeping it in memory \
                     instead (it will not be unloaded while idle)"
                );
                *self.problem() = Some(reason);
            }
        }
    }
}
