//! The route table: hook name -> the version being served, its options and last error.
//!
//! One writer ([`Registry::run`], fed by the sources' event channel) owns every change.
//! A route's version is replaced whole, and only after the new module compiled and linked:
//! requests that already hold the old `Arc<HookVersion>` finish on it, new ones get the new
//! one, and a version that fails to load leaves the old one serving with the error beside it.
//!
//! Loads run as their own tasks, so one slow compile delays neither requests nor other
//! hooks' changes. Every event stamps its route with a sequence number; a load installs its
//! result only if no later event for that name came in meanwhile.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;

use crate::adapters::ScriptSupport;
use crate::admission::Admission;
use crate::digest::Digest;
use crate::metrics::{HookLabel, Metrics, StateLabel};
use crate::module_cache::{LoadError, LoadedModule, ModuleCache, Provenance};
use crate::options::HookOptions;
use crate::script::{Language, ScriptDir, ScriptFiles};
use crate::source::{Artifact, LoadOutcome, LoadRefused, Loaded, SourceEvent, SourceId};

/// Outcomes buffered for slow subscribers; one that falls further behind misses some (and
/// says so in the log), which only costs a Kubernetes Event.
const OUTCOME_BUFFER: usize = 1024;

/// One loaded version of a hook. Immutable; replaced whole on change.
pub struct HookVersion {
    pub name: String,
    /// Unique per loaded version, so caches keyed by it never mix versions.
    pub id: u64,
    /// What was shipped: the module's digest, or the script files' digest.
    pub digest: Digest,
    /// The compiled module that runs: the hook's own, or its language's adapter.
    pub module: Digest,
    /// For a script hook: its files, preopened for every call.
    pub script: Option<Arc<ScriptDir>>,
    /// Module, script and options together: the ETag's base (see [`Digest::of_version`]).
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
            None => cache.get_resident(&self.module),
        }
    }

    /// The compiled module, loading it from the disk cache if needed. Blocks while loading.
    pub fn module(&self, cache: &ModuleCache) -> Result<Arc<LoadedModule>, Arc<LoadError>> {
        match self.resident_module(cache) {
            Some(module) => Ok(module),
            None => cache.get(&self.module),
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

#[derive(Clone)]
struct Route {
    /// The source that defined this name; events from any other source for it are refused.
    source: SourceId,
    origin: String,
    serving: Option<Arc<HookVersion>>,
    failure: Option<LoadFailure>,
    /// Sequence number of the latest source event for this name.
    latest: u64,
}

impl Route {
    fn new(source: SourceId) -> Self {
        Route {
            source,
            origin: String::new(),
            serving: None,
            failure: None,
            latest: 0,
        }
    }

    fn state(&self) -> HookState {
        match (&self.serving, &self.failure) {
            (Some(_), None) => HookState::Ready,
            (Some(_), Some(_)) => HookState::Degraded,
            (None, Some(_)) => HookState::Failed,
            (None, None) => HookState::Loading,
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
    /// Not serving yet: its first version is being loaded.
    Loading,
}

impl HookState {
    const ALL: [HookState; 4] = [
        HookState::Ready,
        HookState::Degraded,
        HookState::Failed,
        HookState::Loading,
    ];

    fn as_str(self) -> &'static str {
        match self {
            HookState::Ready => "ready",
            HookState::Degraded => "degraded",
            HookState::Failed => "failed",
            HookState::Loading => "loading",
        }
    }
}

/// One source event being applied: who sent it, for which hook, and its sequence number.
struct Load {
    source: SourceId,
    name: String,
    origin: String,
    ticket: u64,
}

/// What a request finds for a name.
pub enum Lookup {
    Serving(Arc<HookVersion>),
    /// Known, but no version could be loaded; the message says why.
    Failed(String),
    /// Known, and its first version is still loading.
    Loading,
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
    /// For a script hook: the adapter that runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterStatus>,
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

/// The adapter running a script hook: its language and module.
#[derive(Serialize)]
pub struct AdapterStatus {
    pub language: Language,
    pub module: String,
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
    /// Sources whose initial set is not loaded yet, with their latest trouble if any.
    pending: Mutex<BTreeMap<SourceId, Option<String>>>,
    /// Mirrors `pending.is_empty()`, so that the common check takes no lock.
    pending_count: AtomicUsize,
    listening: AtomicBool,
}

impl Readiness {
    pub fn expect_source(&self, source: SourceId) {
        if self.pending().insert(source, None).is_none() {
            self.pending_count.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn source_synced(&self, source: &SourceId) {
        if self.pending().remove(source).is_some() {
            self.pending_count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Records why a pending source cannot finish (shown by `/readyz`).
    fn source_trouble(&self, source: &SourceId, trouble: String) {
        if let Some(slot) = self.pending().get_mut(source) {
            *slot = Some(trouble);
        }
    }

    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.listening.load(Ordering::Acquire) && self.pending_count.load(Ordering::Acquire) == 0
    }

    /// What readiness waits for, one line per source; empty when ready.
    pub fn waiting_for(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .pending()
            .iter()
            .map(|(source, trouble)| match trouble {
                Some(trouble) => format!("{source}: {trouble}"),
                None => format!("{source}: loading its initial set of hooks"),
            })
            .collect();
        if !self.listening.load(Ordering::Acquire) {
            lines.push("the listener is not bound yet".to_string());
        }
        lines
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<SourceId, Option<String>>> {
        // A panic while holding this lock leaves a consistent map: keep using it.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Registry {
    routes: DashMap<String, Route>,
    modules: Arc<ModuleCache>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    queue_depth: usize,
    next_id: AtomicU64,
    next_event: AtomicU64,
    outcomes: broadcast::Sender<LoadOutcome>,
    scripts: Option<ScriptSupport>,
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
            next_event: AtomicU64::new(1),
            outcomes: broadcast::channel(OUTCOME_BUFFER).0,
            scripts: None,
        }
    }

    /// Enables script hooks (without it they are refused with a reason).
    pub fn with_scripts(mut self, scripts: ScriptSupport) -> Self {
        self.scripts = Some(scripts);
        self
    }

    /// What becomes of every change from now on: a source that reports back subscribes.
    pub fn outcomes(&self) -> broadcast::Receiver<LoadOutcome> {
        self.outcomes.subscribe()
    }

    fn publish(
        &self,
        source: &SourceId,
        name: &str,
        origin: &str,
        result: Result<Loaded, LoadRefused>,
    ) {
        // No subscriber is normal (a directory source alone): nothing to report to.
        let _ = self.outcomes.send(LoadOutcome {
            source: source.clone(),
            name: name.to_string(),
            origin: origin.to_string(),
            result,
        });
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
                (None, None) => Lookup::Loading,
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
                    adapter: serving.and_then(|v| {
                        v.script.as_ref().map(|script| AdapterStatus {
                            language: script.files.language,
                            module: v.module.to_string(),
                        })
                    }),
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
        let mut loads = JoinSet::new();
        while let Some(event) = events.recv().await {
            while loads.try_join_next().is_some() {}
            match event {
                SourceEvent::Upsert {
                    source,
                    name,
                    origin,
                    artifact,
                    options,
                } => {
                    let Some(ticket) = self.stamp(&source, &name, &origin) else {
                        continue;
                    };
                    // Hashed once here: the load below reuses it.
                    let digest = artifact.digest();
                    if self.needs_load(&name, digest, &options) {
                        let registry = self.clone();
                        loads.spawn(async move {
                            let load = Load {
                                source,
                                name,
                                origin,
                                ticket,
                            };
                            registry.load(load, artifact, digest, options).await;
                        });
                    }
                }
                SourceEvent::Invalid {
                    source,
                    name,
                    origin,
                    error,
                } => {
                    if let Some(ticket) = self.stamp(&source, &name, &origin) {
                        let load = Load {
                            source,
                            name,
                            origin,
                            ticket,
                        };
                        self.record_failure(&load, error);
                    }
                }
                SourceEvent::Remove { source, name } => {
                    let removed = self
                        .routes
                        .remove_if(&name, |_, route| route.source == source)
                        .is_some();
                    if removed {
                        tracing::info!(hook = %name, %source, "hook removed");
                        self.metrics.load_failing.remove(&HookLabel { hook: name });
                    }
                }
                SourceEvent::Synced { source } => {
                    // Ready means the initial set is loaded, not merely listed.
                    while loads.join_next().await.is_some() {}
                    tracing::info!(%source, hooks = self.routes.len(), "initial load complete");
                    // The initial set is the biggest compile burst: give its memory back.
                    let _ = tokio::task::spawn_blocking(crate::heap::release_freed_memory).await;
                    self.readiness.source_synced(&source);
                }
                SourceEvent::Unavailable { source, error } => {
                    self.readiness.source_trouble(&source, error);
                }
            }
            self.update_state_gauges();
        }
    }

    /// Stamps `name` with a new event number (creating its route if needed), or refuses the
    /// event when another source owns the name.
    fn stamp(&self, source: &SourceId, name: &str, origin: &str) -> Option<u64> {
        let ticket = self.next_event.fetch_add(1, Ordering::Relaxed);
        let mut route = self
            .routes
            .entry(name.to_string())
            .or_insert_with(|| Route::new(source.clone()));
        if route.source != *source {
            let message = format!(
                "hook name {name:?} is already served from {} (source {}); rename one of them",
                route.origin, route.source
            );
            drop(route);
            tracing::warn!(hook = %name, %origin, error = %message, "hook refused");
            let refused = LoadRefused {
                message,
                previous_serves: false,
            };
            self.publish(source, name, origin, Err(refused));
            return None;
        }
        route.latest = ticket;
        if route.origin.is_empty() {
            route.origin = origin.to_string();
        }
        Some(ticket)
    }

    /// Whether the stamped route needs a load: not when the version being served already has
    /// this module or script and these options (the stamp still supersedes any load in
    /// flight, so a quick revert is not overtaken by the version it reverts).
    fn needs_load(&self, name: &str, digest: Digest, options: &HookOptions) -> bool {
        let Some(mut route) = self.routes.get_mut(name) else {
            return true;
        };
        if let Some(serving) = &route.serving
            && serving.digest == digest
            && serving.options == *options
        {
            if route.failure.take().is_some() {
                self.metrics
                    .load_failing
                    .get_or_create(&HookLabel {
                        hook: name.to_string(),
                    })
                    .set(0);
            }
            return false;
        }
        true
    }

    /// Compiles (or finds) the module (for a script: its adapter), checks the script, and
    /// installs the version, unless a later event came in.
    async fn load(&self, load: Load, artifact: Artifact, digest: Digest, options: HookOptions) {
        let size = artifact.size();
        let kind = artifact.kind();
        let (bytes, script) = match artifact {
            Artifact::Module(bytes) => (bytes, None),
            Artifact::Script(files) => match self.script_parts(files) {
                Ok((adapter, script)) => (adapter, Some(script)),
                Err(message) => return self.record_failure(&load, message),
            },
        };
        let modules = self.modules.clone();
        let prepared = match tokio::task::spawn_blocking(move || modules.prepare(&bytes)).await {
            Ok(Ok(prepared)) => prepared,
            Ok(Err(err)) if script.is_some() => {
                return self.record_failure(&load, format!("the adapter module {err}"));
            }
            Ok(Err(err)) => return self.record_failure(&load, err.to_string()),
            Err(err) => return self.record_failure(&load, format!("loading panicked: {err}")),
        };
        if let (Some(script), Some(scripts)) = (&script, &self.scripts) {
            let runtime = self.modules.runtime();
            let checked = scripts
                .check(
                    runtime,
                    &prepared.module,
                    &load.name,
                    script,
                    &options.limits,
                )
                .await;
            if let Err(message) = checked {
                return self.record_failure(&load, message);
            }
        }
        let Load {
            source,
            name,
            origin,
            ticket,
        } = load;

        let options_json = serde_json::to_vec(&options).unwrap_or_default();
        let module = prepared.module.digest;
        let script_digest = script.as_ref().map(|script| script.digest);
        let version = HookVersion {
            name: name.clone(),
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            digest,
            module,
            script,
            fingerprint: Digest::of_version(&module, script_digest.as_ref(), &options_json),
            size,
            admission: Admission::new(options.limits.max_instances, self.queue_depth),
            options,
            loaded_at: SystemTime::now(),
            pinned: (!prepared.persisted).then_some(prepared.module),
        };
        {
            let Some(mut route) = self.current_route(&name, ticket) else {
                return;
            };
            route.origin = origin.clone();
            route.serving = Some(Arc::new(version));
            route.failure = None;
        }
        let provenance = match prepared.provenance {
            Provenance::Memory => "memory".to_string(),
            Provenance::Disk => "disk cache".to_string(),
            Provenance::Compiled(took) => format!("compiled in {took:.1?}"),
        };
        tracing::info!(hook = %name, kind, digest = ?digest, size, from = %provenance, "hook loaded");
        self.metrics
            .load_failing
            .get_or_create(&HookLabel { hook: name.clone() })
            .set(0);
        self.update_state_gauges();
        self.publish(&source, &name, &origin, Ok(Loaded { kind, digest, size }));
    }

    /// A script's adapter module bytes and its files on disk.
    fn script_parts(&self, files: ScriptFiles) -> Result<(Vec<u8>, Arc<ScriptDir>), String> {
        let Some(scripts) = &self.scripts else {
            return Err("this server does not run script hooks".to_string());
        };
        let adapter = scripts.adapter(files.language)?;
        Ok((adapter, scripts.materialize(files)?))
    }

    /// The route for `name` if `ticket` is still its latest event.
    fn current_route(
        &self,
        name: &str,
        ticket: u64,
    ) -> Option<dashmap::mapref::one::RefMut<'_, String, Route>> {
        let route = self.routes.get_mut(name)?;
        if route.latest == ticket {
            Some(route)
        } else {
            tracing::debug!(hook = %name, "a newer change arrived while loading; result dropped");
            None
        }
    }

    fn record_failure(&self, load: &Load, message: String) {
        let Load {
            source,
            name,
            origin,
            ticket,
        } = load;
        let previous_serves = {
            let Some(mut route) = self.current_route(name, *ticket) else {
                return;
            };
            if route.serving.is_some() {
                tracing::warn!(
                    hook = %name, %origin, error = %message,
                    "new version of hook failed to load; the previous version keeps serving"
                );
            } else {
                tracing::warn!(hook = %name, %origin, error = %message, "hook failed to load");
            }
            route.origin = origin.clone();
            route.failure = Some(LoadFailure {
                message: message.clone(),
                at: SystemTime::now(),
            });
            route.serving.is_some()
        };
        let label = HookLabel {
            hook: name.to_string(),
        };
        self.metrics.load_failures.get_or_create(&label).inc();
        self.metrics.load_failing.get_or_create(&label).set(1);
        self.update_state_gauges();
        let refused = LoadRefused {
            message,
            previous_serves,
        };
        self.publish(source, name, origin, Err(refused));
    }

    fn update_state_gauges(&self) {
        let mut counts = [0i64; HookState::ALL.len()];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Runtime, RuntimeConfig};
    use crate::module_cache::{MAX_IDLE, MemoryTier};
    use crate::options::Limits;

    fn module(answer: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (data (i32.const 0) "{answer}")
                (func (export "_start")))"#
        ))
        .expect("module")
    }

    fn upsert(name: &str, bytes: &[u8]) -> SourceEvent {
        SourceEvent::Upsert {
            source: "test".into(),
            name: name.to_string(),
            origin: format!("test:{name}"),
            artifact: Artifact::Module(bytes.to_vec()),
            options: HookOptions::with_defaults(Limits::default()),
        }
    }

    /// Sources are named test-0, test-1, ...
    fn synced(source: usize) -> SourceEvent {
        SourceEvent::Synced {
            source: format!("test-{source}").into(),
        }
    }

    async fn registry(sources: usize) -> (Arc<Registry>, mpsc::Sender<SourceEvent>) {
        let runtime = Runtime::new(&RuntimeConfig::new(2)).expect("runtime");
        let metrics = Arc::new(Metrics::default());
        let modules = ModuleCache::new(
            runtime,
            MemoryTier {
                capacity: 1 << 30,
                idle: MAX_IDLE,
            },
            None,
            metrics.clone(),
        );
        let readiness = Arc::new(Readiness::default());
        for source in 0..sources {
            readiness.expect_source(format!("test-{source}").into());
        }
        readiness.set_listening();
        let registry = Arc::new(Registry::new(Arc::new(modules), metrics, readiness, 4));
        let (events, inbox) = mpsc::channel(16);
        tokio::spawn(registry.clone().run(inbox));
        (registry, events)
    }

    async fn until_ready(registry: &Registry) {
        while !registry.readiness.is_ready() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    fn serving(registry: &Registry, name: &str) -> Option<Digest> {
        match registry.lookup(name) {
            Lookup::Serving(version) => Some(version.digest),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_quick_revert_is_not_overtaken_by_the_version_it_reverts() {
        let (registry, events) = registry(2).await;
        let (v1, v2) = (module("one"), module("two"));
        events.send(upsert("h", &v1)).await.expect("send");
        events.send(synced(0)).await.expect("send");
        events.send(upsert("h", &v2)).await.expect("send");
        events.send(upsert("h", &v1)).await.expect("send");
        // The second Synced waits for every load in flight, including v2's.
        events.send(synced(1)).await.expect("send");
        until_ready(&registry).await;
        assert_eq!(serving(&registry, "h"), Some(Digest::of(&v1)));
    }

    #[tokio::test]
    async fn a_removal_is_not_undone_by_a_load_in_flight() {
        let (registry, events) = registry(1).await;
        events
            .send(upsert("h", &module("one")))
            .await
            .expect("send");
        events
            .send(SourceEvent::Remove {
                source: "test".into(),
                name: "h".to_string(),
            })
            .await
            .expect("send");
        events.send(synced(0)).await.expect("send");
        until_ready(&registry).await;
        assert!(matches!(registry.lookup("h"), Lookup::Missing));
    }

    #[tokio::test]
    async fn ready_waits_for_the_initial_loads() {
        let (registry, events) = registry(1).await;
        for name in ["a", "b", "c"] {
            events
                .send(upsert(name, &module(name)))
                .await
                .expect("send");
        }
        events.send(synced(0)).await.expect("send");
        until_ready(&registry).await;
        for name in ["a", "b", "c"] {
            assert_eq!(serving(&registry, name), Some(Digest::of(&module(name))));
        }
    }

    #[tokio::test]
    async fn a_name_belongs_to_the_source_that_defined_it() {
        let (registry, events) = registry(1).await;
        let mut outcomes = registry.outcomes();
        let (mine, theirs) = (module("mine"), module("theirs"));
        events.send(upsert("h", &mine)).await.expect("send");
        let mut intruder = upsert("h", &theirs);
        if let SourceEvent::Upsert { source, .. } = &mut intruder {
            *source = "other".into();
        }
        events.send(intruder).await.expect("send");
        events
            .send(SourceEvent::Remove {
                source: "other".into(),
                name: "h".to_string(),
            })
            .await
            .expect("send");
        events.send(synced(0)).await.expect("send");
        until_ready(&registry).await;
        assert_eq!(serving(&registry, "h"), Some(Digest::of(&mine)));

        let mut refused = None;
        while let Ok(outcome) = outcomes.try_recv() {
            if &*outcome.source == "other" {
                refused = outcome.result.err();
            }
        }
        let refused = refused.expect("the other source hears why");
        assert!(
            refused.message.contains("already served from test:h"),
            "{}",
            refused.message
        );
    }
}
