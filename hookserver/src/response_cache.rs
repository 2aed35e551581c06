//! Validated responses, kept for identical repeated requests (metacontroller re-sends every
//! parent at start-up and on each resync, usually unchanged).
//!
//! Keyed by the hook version and the call digest: hooks are pure functions of (module,
//! argv, hook, body), and a new version (new module or new options) never sees answers its
//! predecessor produced. Bounded by bytes; idle entries expire.

use std::time::Duration;

use bytes::Bytes;
use moka::sync::Cache;

use crate::digest::Digest;

#[derive(Clone)]
pub struct ResponseCache {
    entries: Option<Cache<(u64, Digest), Bytes>>,
}

impl ResponseCache {
    /// A cache of at most `capacity` bytes of responses; 0 disables it.
    pub fn new(capacity: u64, idle: Duration) -> Self {
        let entries = (capacity > 0).then(|| {
            Cache::builder()
                .weigher(|_, body: &Bytes| u32::try_from(body.len()).unwrap_or(u32::MAX))
                .max_capacity(capacity)
                .time_to_idle(idle.min(crate::module_cache::MAX_IDLE))
                .build()
        });
        ResponseCache { entries }
    }

    pub fn get(&self, version: u64, call: &Digest) -> Option<Bytes> {
        self.entries.as_ref()?.get(&(version, *call))
    }

    pub fn insert(&self, version: u64, call: Digest, body: Bytes) {
        if let Some(entries) = &self.entries {
            entries.insert((version, call), body);
        }
    }

    /// Applies pending evictions (see `ModuleCache::run_maintenance`).
    pub fn run_maintenance(&self) {
        if let Some(entries) = &self.entries {
            entries.run_pending_tasks();
        }
    }
}
