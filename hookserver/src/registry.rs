//! The route table: hook name -> the version being served, its options and last error.
//!
//! One writer ([`Registry::apply`], fed by the sources' event channel) owns every change.
//! A route's version is replaced whole, and only after the new module compiled and linked:
//! requests that already hold the old `Arc<HookVersion>` finish on it, new ones get the new
//! one, and a version that fails to load leaves the old one serving with the error beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;

use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::admission::Admission;
use crate::digest::Digest;
use crate::metrics::{HookLabel, Metrics, StateLabel};
use crate::module_cache::{LoadError, LoadedModule, ModuleCache, Provenance};
use crate::options::HookOptions;
use crate::source::SourceEvent;

/// One loaded version of a hook. Immutable; replaced whole on change.
pub struct HookVersion {
    pub name: String,
    /// Unique per loaded version, so caches keyed by it never mix versions.
    pub id: u64,
    pub digest: Digest,
    /// Module and options together: the ETag's base (see [`Digest::of_version`]).
    pub fingerprint: Digest,
    pub size: u64,
    pub options: HookOptions,
    pub admission: Admission,
    pub loaded_at: SystemTime,
    /// Held only when the compiled module is not in the disk cache, so that eviction from
    /// memory cannot lose it.
    pinned: Option<Arc<LoadedModule>>,
}

impl HookVersion {
    /// The compiled module if it is at hand (pinned or in memory). Never blocks.
    pub fn resident_module(&self, cache: &ModuleCache) -> Option<Arc<LoadedModule>> {
        match &self.pinned {
            Some(module) => Some(module.clone()),
            None => cache.get_resident(&self.digest),
        }
    }

    /// The compiled module, loading it from the disk cache if needed. Blocks while loading.
    pub fn module(&self, cache: &ModuleCache) -> Result<Arc<LoadedModule>, Arc<LoadError>> {
        match self.resident_module(cache) {
            Some(module) => Ok(module),
            None => cache.get(&self.digest),
        }
    }
}

/// The latest load attempt that failed.
#[derive(Clone, Debug, Serialize)]
pub struct LoadFailure {
    pub message: String,
    #[serde(serialize_with = "serialize_time")]
    pub at: SystemTime,
}

fn serialize_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_seconds(*t).to_string())
}

#[derive(Clone, Default)]
struct Route {
    origin: String,
    serving: Option<Arc<HookVersion>>,
    failure: Option<LoadFailure>,
}

impl Route {
    fn state(&self) -> HookState {
        match (&self.serving, &self.failure) {
            (Some(_), None) => HookState::Ready,
            (Some(_), Some(_)) => HookState::Degraded,
            (None, _) => HookState::Failed,
        }
    }
}

/// How a hook is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookState {
    /// Serving its latest version.
    Ready,
    /// Serving an older version because the latest one failed to load.
    Degraded,
    /// Not serving: no version of it ever loaded.
    Failed,
}

impl HookState {
    const ALL: [HookState; 3] = [HookState::Ready, HookState::Degraded, HookState::Failed];

    fn as_str(self) -> &'static str {
        match self {
            HookState::Ready => "ready",
            HookState::Degraded => "degraded",
            HookState::Failed => "failed",
        }
    }
}

/// What a request finds for a name.
pub enum Lookup {
    Serving(Arc<HookVersion>),
    /// Known, but no version could be loaded; the message says why.
    Failed(String),
    Missing,
}

/// One row of `GET /hooks`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    pub name: String,
    pub state: HookState,
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "serialize_opt_time")]
    pub loaded_at: Option<SystemTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<HookOptions>,
    /// Instances of the served version running now.
    pub running: usize,
    /// Requests waiting for an instance now.
    pub waiting: usize,
    pub last_error: Option<LoadFailure>,
}

fn serialize_opt_time<S: serde::Serializer>(
    t: &Option<SystemTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_time(t, s),
        None => s.serialize_none(),
    }
}

/// Readiness: every source finished its initial listing and the listener is bound.
#[derive(Default)]
pub struct Readiness {
    pending_sources: AtomicUsize,
    listening: AtomicBool,
}

impl Readiness {
    pub fn expect_source(&self) {
        self.pending_sources.fetch_add(1, Ordering::AcqRel);
    }

    fn source_synced(&self) {
        self.pending_sources.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.listening.load(Ordering::Acquire) && self.pending_sources.load(Ordering::Acquire) == 0
    }
}

pub struct Registry {
    routes: DashMap<String, Route>,
    modules: Arc<ModuleCache>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    queue_depth: usize,
    next_id: AtomicU64,
}

impl Registry {
    pub fn new(
        modules: Arc<ModuleCache>,
        metrics: Arc<Metrics>,
        readiness: Arc<Readiness>,
        queue_depth: usize,
    ) -> Self {
        Registry {
            routes: DashMap::new(),
            modules,
            metrics,
            readiness,
            queue_depth,
            next_id: AtomicU64::new(1),
        }
    }

    pub fn modules(&self) -> &Arc<ModuleCache> {
        &self.modules
    }

    /// Whether `name` is in the route table (serving or not).
    pub fn contains(&self, name: &str) -> bool {
        self.routes.contains_key(name)
    }

    pub fn lookup(&self, name: &str) -> Lookup {
        match self.routes.get(name) {
            None => Lookup::Missing,
            Some(route) => match (&route.serving, &route.failure) {
                (Some(version), _) => Lookup::Serving(version.clone()),
                (None, Some(failure)) => Lookup::Failed(failure.message.clone()),
                (None, None) => Lookup::Missing,
            },
        }
    }

    /// Every hook, sorted by name.
    pub fn statuses(&self) -> Vec<HookStatus> {
        let mut statuses: Vec<_> = self
            .routes
            .iter()
            .map(|entry| {
                let route = entry.value();
                let serving = route.serving.as_deref();
                HookStatus {
                    name: entry.key().clone(),
                    state: route.state(),
                    origin: route.origin.clone(),
                    digest: serving.map(|v| v.digest.to_string()),
                    size: serving.map(|v| v.size),
                    loaded_at: serving.map(|v| v.loaded_at),
                    options: serving.map(|v| v.options.clone()),
                    running: serving.map_or(0, |v| v.admission.running()),
                    waiting: serving.map_or(0, |v| v.admission.waiting()),
                    last_error: route.failure.clone(),
                }
            })
            .collect();
        statuses.sort_by(|a, b| a.name.cmp(&b.name));
        statuses
    }

    /// Applies events until every sender is gone.
    pub async fn run(self: Arc<Self>, mut events: mpsc::Receiver<SourceEvent>) {
        while let Some(event) = events.recv().await {
            self.apply(event).await;
        }
    }

    /// Applies one source event. Only the writer task calls this.
    pub async fn apply(&self, event: SourceEvent) {
        match event {
            SourceEvent::Upsert {
                name,
                origin,
                bytes,
                options,
            } => self.upsert(name, origin, bytes, options).await,
            SourceEvent::Invalid {
                name,
                origin,
                error,
            } => self.record_failure(&name, origin, error),
            SourceEvent::Remove { name } => {
                if self.routes.remove(&name).is_some() {
                    tracing::info!(hook = %name, "hook removed");
                    self.metrics.load_failing.remove(&HookLabel { hook: name });
                }
            }
            SourceEvent::Synced { source } => {
                tracing::info!(%source, hooks = self.routes.len(), "initial load complete");
                self.readiness.source_synced();
            }
        }
        self.update_state_gauges();
    }

    async fn upsert(&self, name: String, origin: String, bytes: Vec<u8>, options: HookOptions) {
        let digest = Digest::of(&bytes);
        if let Some(route) = self.routes.get(&name)
            && let Some(serving) = &route.serving
            && serving.digest == digest
            && serving.options == options
            && route.failure.is_none()
        {
            return;
        }

        let size = bytes.len() as u64;
        let modules = self.modules.clone();
        let prepared = tokio::task::spawn_blocking(move || modules.prepare(&bytes)).await;
        let prepared = match prepared {
            Ok(Ok(prepared)) => prepared,
            Ok(Err(err)) => return self.record_failure(&name, origin, err.to_string()),
            Err(err) => {
                return self.record_failure(&name, origin, format!("loading panicked: {err}"));
            }
        };

        let provenance = match prepared.provenance {
            Provenance::Memory => "memory".to_string(),
            Provenance::Disk => "disk cache".to_string(),
            Provenance::Compiled(took) => format!("compiled in {took:.1?}"),
        };
        tracing::info!(hook = %name, digest = ?digest, size, from = %provenance, "hook loaded");
        let options_json = serde_json::to_vec(&options).unwrap_or_default();
        let version = HookVersion {
            name: name.clone(),
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            digest,
            fingerprint: Digest::of_version(&digest, &options_json),
            size,
            admission: Admission::new(options.limits.max_instances, self.queue_depth),
            options,
            loaded_at: SystemTime::now(),
            pinned: (!prepared.persisted).then_some(prepared.module),
        };
        self.routes.insert(
            name.clone(),
            Route {
                origin,
                serving: Some(Arc::new(version)),
                failure: None,
            },
        );
        self.metrics
            .load_failing
            .get_or_create(&HookLabel { hook: name })
            .set(0);
    }

    fn record_failure(&self, name: &str, origin: String, message: String) {
        let mut route = self.routes.entry(name.to_string()).or_default();
        let keeps_serving = route.serving.is_some();
        if keeps_serving {
            tracing::warn!(
                hook = %name, %origin, error = %message,
                "new version of hook failed to load; the previous version keeps serving"
            );
        } else {
            tracing::warn!(hook = %name, %origin, error = %message, "hook failed to load");
        }
        route.origin = origin;
        route.failure = Some(LoadFailure {
            message,
            at: SystemTime::now(),
        });
        drop(route);
        let label = HookLabel {
            hook: name.to_string(),
        };
        self.metrics.load_failures.get_or_create(&label).inc();
        self.metrics.load_failing.get_or_create(&label).set(1);
    }

    fn update_state_gauges(&self) {
        let mut counts = [0i64; 3];
        for route in self.routes.iter() {
            counts[route.state() as usize] += 1;
        }
        for state in HookState::ALL {
            self.metrics
                .hooks
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(counts[state as usize]);
        }
    }
}
