//! Kubernetes ConfigMaps as a module source: a ConfigMap labelled `hookserver.io/module=true`
//! (by default) whose `binaryData` holds `module.wasm` (or gzip-compressed `module.wasm.gz`)
//! is hook NAME, its options in `hookserver.io/KEY` annotations.
//!
//! One watch per namespace, through kube's watcher: it lists, then watches, and relists
//! after a 410 Gone, a dropped connection or an API server restart. Only what routing needs
//! is kept (each ConfigMap's resourceVersion and a reference for Events); module bytes go to
//! the registry and are dropped once compiled. After every relist, hooks whose ConfigMap is
//! no longer listed are removed, so a deletion missed while disconnected is not lost.
//!
//! What became of each change is reported back on the ConfigMap as an Event: `Loaded`
//! (Normal) or `LoadFailed` (Warning, saying whether the previous version keeps serving).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::sync::Arc;

use dashmap::DashMap;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt as _, watcher::watcher};
use kube::{Api, Client, Resource as _, ResourceExt as _};
use tokio::sync::{broadcast, mpsc};

use super::{Artifact, LoadOutcome, SourceEvent, SourceId, check_name};
use crate::options::{HookOptions, OPTION_KEYS, OptionsError};
use crate::script::{Language, ScriptFiles};

/// The label that marks a ConfigMap as a hook, unless `--selector` says otherwise.
pub const DEFAULT_SELECTOR: &str = "hookserver.io/module=true";
/// Annotations `hookserver.io/KEY` set the hook option KEY (`hookserver.io/timeout: 2s`).
pub const ANNOTATION_PREFIX: &str = "hookserver.io/";
/// The `binaryData` key holding the module.
pub const MODULE_KEY: &str = "module.wasm";
/// The `binaryData` key holding the gzip-compressed module.
pub const MODULE_GZ_KEY: &str = "module.wasm.gz";
/// A ConfigMap holds at most 1 MiB, so a compressed module expanding past this is not a
/// module but a decompression bomb.
const MAX_MODULE_BYTES: u64 = 64 << 20;
/// ConfigMaps per list page: bounds the memory of an initial list of large modules.
const LIST_PAGE_SIZE: u32 = 16;
/// Kubernetes caps an Event's note at 1 kB.
const MAX_NOTE_BYTES: usize = 1000;

/// Where the watch looks and how it names hooks.
#[derive(Clone, Debug)]
pub struct WatchScope {
    pub namespace: String,
    pub selector: String,
    /// Prefix hook names with `NAMESPACE.`: needed when several namespaces are watched, so
    /// equal ConfigMap names in two namespaces stay two hooks. A namespace name never holds a
    /// dot, so the first dot always ends it.
    pub qualify: bool,
}

impl WatchScope {
    /// The hook name for ConfigMap `name` in this scope.
    pub fn hook_name(&self, name: &str) -> String {
        if self.qualify {
            format!("{}.{name}", self.namespace)
        } else {
            name.to_string()
        }
    }
}

/// A module or script and its options, read from a ConfigMap.
#[derive(Debug)]
pub struct HookContent {
    pub artifact: Artifact,
    pub options: HookOptions,
}

/// Reads a hook from a ConfigMap; the error says what is wrong and how to fix it.
pub fn read_configmap(map: &ConfigMap, defaults: &HookOptions) -> Result<HookContent, String> {
    let options = read_annotations(map, defaults)?;
    let binary = map.binary_data.as_ref();
    let plain = binary.and_then(|b| b.get(MODULE_KEY));
    let compressed = binary.and_then(|b| b.get(MODULE_GZ_KEY));
    let script = script_language(map)?;
    let artifact = match (plain, compressed, script) {
        (Some(_), Some(_), _) => {
            return Err(format!(
                "binaryData holds both {MODULE_KEY} and {MODULE_GZ_KEY}: keep only one"
            ));
        }
        (Some(_), _, Some(language)) | (_, Some(_), Some(language)) => {
            return Err(format!(
                "holds both a module and the script {}: a hook is one or the other; remove one",
                language.entry_file()
            ));
        }
        (Some(bytes), None, None) => Artifact::Module(bytes.0.clone()),
        (None, Some(bytes), None) => Artifact::Module(gunzip(&bytes.0)?),
        (None, None, Some(language)) => Artifact::Script(read_script(map, language)?),
        (None, None, None) => {
            let misplaced = map
                .data
                .as_ref()
                .is_some_and(|d| d.contains_key(MODULE_KEY) || d.contains_key(MODULE_GZ_KEY));
            let hint = if misplaced {
                "the module is under data, which holds text; binary modules go under binaryData"
            } else {
                "no module or script found"
            };
            return Err(format!(
                "{hint}: put the module in binaryData key {MODULE_KEY} (or gzip-compressed in \
                 {MODULE_GZ_KEY}), or a script in data key {} or {}; `hookserver configmap \
                 FILE --name NAME` prints such a ConfigMap",
                Language::Jsonnet.entry_file(),
                Language::Js.entry_file()
            ));
        }
    };
    Ok(HookContent { artifact, options })
}

/// Which script the ConfigMap's data holds, if any (`hook.jsonnet` or `hook.js`).
fn script_language(map: &ConfigMap) -> Result<Option<Language>, String> {
    let has = |key: &str| {
        map.data.as_ref().is_some_and(|d| d.contains_key(key))
            || map
                .binary_data
                .as_ref()
                .is_some_and(|b| b.contains_key(key))
    };
    let found: Vec<Language> = Language::ALL
        .into_iter()
        .filter(|language| has(language.entry_file()))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [language] => Ok(Some(*language)),
        _ => Err(format!(
            "holds both {} and {}: a hook has one entry script; remove one",
            Language::Jsonnet.entry_file(),
            Language::Js.entry_file()
        )),
    }
}

/// Every key of `data` and `binaryData` is a file of the script hook: the entry script and
/// what it imports.
fn read_script(map: &ConfigMap, language: Language) -> Result<ScriptFiles, String> {
    let mut files = BTreeMap::new();
    for (key, text) in map.data.iter().flatten() {
        files.insert(key.clone(), text.as_bytes().to_vec());
    }
    for (key, bytes) in map.binary_data.iter().flatten() {
        files.insert(key.clone(), bytes.0.clone());
    }
    ScriptFiles::new(language, language.entry_file().to_string(), files)
}

fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut module = Vec::new();
    flate2::read::GzDecoder::new(compressed)
        .take(MAX_MODULE_BYTES + 1)
        .read_to_end(&mut module)
        .map_err(|err| format!("binaryData key {MODULE_GZ_KEY} is not valid gzip: {err}"))?;
    if module.len() as u64 > MAX_MODULE_BYTES {
        return Err(format!(
            "binaryData key {MODULE_GZ_KEY} expands to more than {} MiB; that is no hook module",
            MAX_MODULE_BYTES >> 20
        ));
    }
    Ok(module)
}

/// Applies `hookserver.io/KEY` annotations over the defaults. Other annotations are not ours
/// and are ignored; an unknown key under our prefix is an error (a misspelt limit must not
/// fall back to the default silently).
fn read_annotations(map: &ConfigMap, defaults: &HookOptions) -> Result<HookOptions, String> {
    let pairs = map
        .annotations()
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(ANNOTATION_PREFIX)?, value.as_str())));
    defaults.clone().with_overrides(pairs).map_err(|err| match err {
        OptionsError::UnknownKey { key } => format!(
            "unknown annotation {ANNOTATION_PREFIX}{key}: valid ones are {}",
            OPTION_KEYS
                .iter()
                .map(|k| format!("{ANNOTATION_PREFIX}{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OptionsError::Invalid {
            key,
            value,
            expected,
        } => format!(
            "annotation {ANNOTATION_PREFIX}{key} has invalid value {value:?}: expected {expected}"
        ),
    })
}

/// What is remembered of a ConfigMap between events.
struct Known {
    resource_version: Option<String>,
}

/// The ConfigMap behind each hook name this source serves, for Events.
type References = Arc<DashMap<String, (String, ObjectReference)>>;

/// Watches the ConfigMaps of one namespace.
pub struct ConfigMapSource {
    client: Client,
    state: WatchState,
}

impl ConfigMapSource {
    pub fn new(client: Client, scope: WatchScope, defaults: HookOptions) -> Self {
        ConfigMapSource {
            client,
            state: WatchState::new(scope, defaults),
        }
    }

    /// An identifier for readiness tracking and logs.
    pub fn id(&self) -> SourceId {
        self.state.id.clone()
    }

    /// Records an Event on the ConfigMap for every outcome of this source's changes.
    pub fn report_outcomes(&self, outcomes: broadcast::Receiver<LoadOutcome>, reporter: Reporter) {
        let recorder = Recorder::new(self.client.clone(), reporter);
        tokio::spawn(record_events(
            self.state.id.clone(),
            self.state.references.clone(),
            recorder,
            outcomes,
        ));
    }

    /// Watches until the receiver is gone. Sends `Synced` once, after the first full list.
    pub async fn run(mut self, events: mpsc::Sender<SourceEvent>) {
        let scope = &self.state.scope;
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &scope.namespace);
        let config = watcher::Config::default()
            .labels(&scope.selector)
            .page_size(LIST_PAGE_SIZE);
        tracing::info!(source = %self.state.id, selector = %scope.selector, "watching ConfigMaps");
        let mut stream = watcher(api, config).default_backoff().boxed();
        while let Some(item) = stream.next().await {
            for event in self.state.handle(item) {
                if events.send(event).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What the watch remembers between events, and how it turns watcher events into source
/// events. Kept apart from the client so that relists can be tested without a server.
struct WatchState {
    id: SourceId,
    scope: WatchScope,
    defaults: HookOptions,
    references: References,
    /// By ConfigMap name.
    known: HashMap<String, Known>,
    /// The names seen so far in a list in progress.
    listing: Option<HashSet<String>>,
    synced: bool,
}

impl WatchState {
    fn new(scope: WatchScope, defaults: HookOptions) -> Self {
        WatchState {
            id: format!("configmap:{}", scope.namespace).into(),
            scope,
            defaults,
            references: Arc::default(),
            known: HashMap::new(),
            listing: None,
            synced: false,
        }
    }

    fn handle(&mut self, item: Result<Event<ConfigMap>, watcher::Error>) -> Vec<SourceEvent> {
        let mut out = Vec::new();
        match item {
            Ok(Event::Init) => self.listing = Some(HashSet::new()),
            Ok(Event::InitApply(map)) => {
                if let Some(listing) = self.listing.as_mut() {
                    listing.insert(map.name_any());
                }
                out.extend(self.apply(&map));
            }
            Ok(Event::InitDone) => {
                // A relist is the whole truth: what it did not list was deleted meanwhile.
                let listed = self.listing.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .known
                    .keys()
                    .filter(|name| !listed.contains(*name))
                    .cloned()
                    .collect();
                for name in gone {
                    out.push(self.forget(&name));
                }
                if !self.synced {
                    self.synced = true;
                    out.push(SourceEvent::Synced {
                        source: self.id.clone(),
                    });
                }
            }
            Ok(Event::Apply(map)) => out.extend(self.apply(&map)),
            Ok(Event::Delete(map)) => {
                if self.known.contains_key(&map.name_any()) {
                    out.push(self.forget(&map.name_any()));
                }
            }
            Err(err) => {
                let hint = self.hint(&err);
                tracing::warn!(source = %self.id, error = %err, %hint,
                    "ConfigMap watch failed; retrying with backoff, hooks already loaded keep serving");
                out.push(SourceEvent::Unavailable {
                    source: self.id.clone(),
                    error: format!("{err} ({hint})"),
                });
            }
        }
        out
    }

    /// The event for a ConfigMap that was added or changed; nothing if it did not change.
    fn apply(&mut self, map: &ConfigMap) -> Option<SourceEvent> {
        let name = map.name_any();
        let resource_version = map.resource_version();
        if let Some(seen) = self.known.get(&name)
            && seen.resource_version.is_some()
            && seen.resource_version == resource_version
        {
            return None;
        }
        self.known.insert(name.clone(), Known { resource_version });
        let hook = self.scope.hook_name(&name);
        let origin = format!("configmap {}/{name}", self.scope.namespace);
        let reference = map.object_ref(&());
        self.references
            .insert(hook.clone(), (origin.clone(), reference));
        let content = check_name(&hook)
            .map_err(|err| format!("{err} (rename the ConfigMap)"))
            .and_then(|()| read_configmap(map, &self.defaults));
        Some(match content {
            Ok(content) => SourceEvent::Upsert {
                source: self.id.clone(),
                name: hook,
                origin,
                artifact: content.artifact,
                options: content.options,
            },
            Err(error) => SourceEvent::Invalid {
                source: self.id.clone(),
                name: hook,
                origin,
                error,
            },
        })
    }

    fn forget(&mut self, name: &str) -> SourceEvent {
        self.known.remove(name);
        let hook = self.scope.hook_name(name);
        self.references.remove(&hook);
        SourceEvent::Remove {
            source: self.id.clone(),
            name: hook,
        }
    }

    /// What to do about a watch error, for the log and `/readyz`.
    fn hint(&self, err: &watcher::Error) -> String {
        let status = match err {
            watcher::Error::InitialListFailed(kube::Error::Api(status))
            | watcher::Error::WatchStartFailed(kube::Error::Api(status))
            | watcher::Error::WatchFailed(kube::Error::Api(status))
            | watcher::Error::WatchError(status) => Some(status.code),
            _ => None,
        };
        match status {
            Some(401) => "the API server does not accept our credentials: check the \
                          ServiceAccount token or kubeconfig"
                .to_string(),
            Some(403) => format!(
                "grant get, list and watch on configmaps in namespace {} (see manifests/base/rbac.yaml)",
                self.scope.namespace
            ),
            Some(404) => format!("does namespace {} exist?", self.scope.namespace),
            _ => "is the API server reachable?".to_string(),
        }
    }
}

/// Turns load outcomes into Events on the ConfigMaps they came from.
async fn record_events(
    source: SourceId,
    references: References,
    recorder: Recorder,
    mut outcomes: broadcast::Receiver<LoadOutcome>,
) {
    loop {
        let outcome = match outcomes.recv().await {
            Ok(outcome) => outcome,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(%source, missed, "fell behind; some Events were not recorded");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if outcome.source != source {
            continue;
        }
        // A ConfigMap deleted or changed since: its Event would be about the wrong version.
        let reference = match references.get(&outcome.name) {
            Some(entry) if entry.0 == outcome.origin => entry.1.clone(),
            _ => continue,
        };
        let event = describe(&outcome);
        if let Err(err) = recorder.publish(&event, &reference).await {
            let hint = event_hint(&err);
            tracing::warn!(%source, hook = %outcome.name, error = %err, %hint,
                "cannot record an Event; it is not retried (the hook's state is in /hooks)");
        }
    }
}

/// What to do about an Event that could not be recorded. Only a refusal is about RBAC:
/// while the API server is down or restarting every Event fails in transport, and a hint to
/// grant permissions would send the operator the wrong way.
fn event_hint(err: &kube::Error) -> &'static str {
    match err {
        kube::Error::Api(status) if status.code == 403 => {
            "grant create and patch on events.k8s.io events (see manifests/base/rbac.yaml)"
        }
        kube::Error::Api(status) if status.code == 401 => {
            "the API server does not accept our credentials: check the ServiceAccount token or \
             kubeconfig"
        }
        kube::Error::Api(_) => "the API server refused the Event",
        _ => "is the API server reachable?",
    }
}

fn describe(outcome: &LoadOutcome) -> KubeEvent {
    let (type_, reason, note) = match &outcome.result {
        Ok(loaded) => (
            EventType::Normal,
            "Loaded",
            format!(
                "hook {} serves {} {} ({} bytes)",
                outcome.name, loaded.kind, loaded.digest, loaded.size
            ),
        ),
        Err(refused) => {
            let consequence = if refused.previous_serves {
                "; the previous version keeps serving"
            } else {
                "; the hook is not served"
            };
            (
                EventType::Warning,
                "LoadFailed",
                format!("{}{consequence}", refused.message),
            )
        }
    };
    KubeEvent {
        type_,
        reason: reason.to_string(),
        note: Some(truncate(note, MAX_NOTE_BYTES)),
        action: "Load".to_string(),
        secondary: None,
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub(3);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// The reporter named in Events: the Deployment's name, and the pod (from the downward API's
/// `POD_NAME`, else the host name) so that replicas' Events are told apart.
pub fn reporter() -> Reporter {
    let instance = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty());
    Reporter {
        controller: "hookserver".to_string(),
        instance,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;
    use crate::options::Limits;

    fn defaults() -> HookOptions {
        HookOptions::with_defaults(Limits::default())
    }

    #[test]
    fn only_a_refused_event_is_blamed_on_rbac() {
        let refused = |code| {
            kube::Error::Api(
                kube::core::Status::failure("no", "Forbidden")
                    .with_code(code)
                    .boxed(),
            )
        };
        assert!(event_hint(&refused(403)).contains("grant create and patch"));
        assert!(event_hint(&refused(401)).contains("credentials"));
        // An API server that is down: a transport error, not a refusal.
        let down = kube::Error::Service("connection refused".into());
        assert_eq!(event_hint(&down), "is the API server reachable?");
    }

    fn configmap(binary: &[(&str, &[u8])], annotations: &[(&str, &str)]) -> ConfigMap {
        let mut map = ConfigMap::default();
        map.metadata.name = Some("h".to_string());
        map.binary_data = Some(
            binary
                .iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                .collect(),
        );
        map.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        map
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        crate::configmap_manifest::gzip(bytes).expect("compress")
    }

    fn module_of(content: Result<HookContent, String>) -> Vec<u8> {
        match content.expect("readable").artifact {
            Artifact::Module(bytes) => bytes,
            other => panic!("expected a module, got {other:?}"),
        }
    }

    fn with_data(mut map: ConfigMap, data: &[(&str, &str)]) -> ConfigMap {
        map.data = Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        map
    }

    #[test]
    fn reads_plain_and_gzipped_modules() {
        let plain = read_configmap(&configmap(&[("module.wasm", b"\0asm")], &[]), &defaults());
        assert_eq!(module_of(plain), b"\0asm");
        let zipped = configmap(&[("module.wasm.gz", &gzip(b"\0asm-gz"))], &[]);
        assert_eq!(module_of(read_configmap(&zipped, &defaults())), b"\0asm-gz");
    }

    #[test]
    fn reads_scripts_with_every_key_as_a_file() {
        let map = with_data(
            configmap(&[("data.bin", b"\x01")], &[("hookserver.io/timeout", "2s")]),
            &[
                ("hook.jsonnet", "function(request) {}"),
                ("lib.libsonnet", "{}"),
            ],
        );
        let content = read_configmap(&map, &defaults()).expect("script");
        let Artifact::Script(files) = content.artifact else {
            panic!("expected a script");
        };
        assert_eq!(files.language, Language::Jsonnet);
        assert_eq!(files.entry, "hook.jsonnet");
        assert_eq!(
            files.files.keys().collect::<Vec<_>>(),
            ["data.bin", "hook.jsonnet", "lib.libsonnet"]
        );
        assert_eq!(
            content.options.limits.timeout,
            std::time::Duration::from_secs(2)
        );

        let js = with_data(configmap(&[], &[]), &[("hook.js", "module.exports = f")]);
        let Artifact::Script(files) = read_configmap(&js, &defaults()).expect("js").artifact else {
            panic!("expected a script");
        };
        assert_eq!(files.language, Language::Js);
    }

    #[test]
    fn explains_missing_doubled_misplaced_and_corrupt_modules() {
        let cases: Vec<(ConfigMap, &str)> = vec![
            (configmap(&[], &[]), "no module or script found"),
            (
                with_data(
                    configmap(&[], &[]),
                    &[("hook.js", "x"), ("hook.jsonnet", "y")],
                ),
                "a hook has one entry script",
            ),
            (
                with_data(
                    configmap(&[("module.wasm", b"m")], &[]),
                    &[("hook.js", "x")],
                ),
                "holds both a module and the script hook.js",
            ),
            (
                configmap(&[("module.wasm", b"a"), ("module.wasm.gz", b"b")], &[]),
                "keep only one",
            ),
            (
                configmap(&[("module.wasm.gz", b"not gzip")], &[]),
                "is not valid gzip",
            ),
            (
                {
                    let mut map = configmap(&[], &[]);
                    map.data = Some(BTreeMap::from([(
                        "module.wasm".to_string(),
                        "AGFzbQ==".to_string(),
                    )]));
                    map
                },
                "binary modules go under binaryData",
            ),
        ];
        for (map, expected) in cases {
            let err = read_configmap(&map, &defaults()).expect_err(expected);
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn refuses_decompression_bombs() {
        let bomb = gzip(&vec![0u8; (MAX_MODULE_BYTES + 1) as usize]);
        assert!(bomb.len() < 1 << 20, "the bomb fits a ConfigMap");
        let err = read_configmap(&configmap(&[("module.wasm.gz", &bomb)], &[]), &defaults())
            .expect_err("too large");
        assert!(err.contains("expands to more than 64 MiB"), "{err}");
    }

    #[test]
    fn annotations_set_options_and_unknown_ones_are_named() {
        let map = configmap(
            &[("module.wasm", b"m")],
            &[
                ("hookserver.io/timeout", "2s"),
                ("hookserver.io/strict", "true"),
                ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
            ],
        );
        let options = read_configmap(&map, &defaults()).expect("valid").options;
        assert_eq!(options.limits.timeout, std::time::Duration::from_secs(2));
        assert!(options.strict);

        let typo = configmap(&[("module.wasm", b"m")], &[("hookserver.io/timout", "2s")]);
        let err = read_configmap(&typo, &defaults()).expect_err("typo");
        assert!(
            err.contains("unknown annotation hookserver.io/timout")
                && err.contains("hookserver.io/timeout"),
            "{err}"
        );
        let bad = configmap(
            &[("module.wasm", b"m")],
            &[("hookserver.io/memory", "lots")],
        );
        let err = read_configmap(&bad, &defaults()).expect_err("bad value");
        assert!(
            err.contains("annotation hookserver.io/memory has invalid value \"lots\""),
            "{err}"
        );
    }

    #[test]
    fn qualified_names_start_with_the_namespace() {
        let scope = |qualify| WatchScope {
            namespace: "team-a".to_string(),
            selector: DEFAULT_SELECTOR.to_string(),
            qualify,
        };
        assert_eq!(scope(false).hook_name("my.hook"), "my.hook");
        assert_eq!(scope(true).hook_name("my.hook"), "team-a.my.hook");
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let cut = truncate("é".repeat(600), MAX_NOTE_BYTES);
        assert!(cut.len() <= MAX_NOTE_BYTES && cut.ends_with("..."));
    }

    fn hook_map(name: &str, resource_version: &str, module: &[u8]) -> ConfigMap {
        let mut map = configmap(&[("module.wasm", module)], &[]);
        map.metadata.name = Some(name.to_string());
        map.metadata.resource_version = Some(resource_version.to_string());
        map
    }

    fn summary(events: &[SourceEvent]) -> Vec<String> {
        events
            .iter()
            .map(|event| match event {
                SourceEvent::Upsert { name, .. } => format!("upsert {name}"),
                SourceEvent::Invalid { name, .. } => format!("invalid {name}"),
                SourceEvent::Remove { name, .. } => format!("remove {name}"),
                SourceEvent::Synced { .. } => "synced".to_string(),
                SourceEvent::Unavailable { .. } => "unavailable".to_string(),
            })
            .collect()
    }

    #[test]
    fn a_relist_removes_what_it_no_longer_lists_and_skips_what_did_not_change() {
        let scope = WatchScope {
            namespace: "ns".to_string(),
            selector: DEFAULT_SELECTOR.to_string(),
            qualify: false,
        };
        let mut state = WatchState::new(scope, defaults());
        let mut feed = |events: Vec<Event<ConfigMap>>| -> Vec<String> {
            events
                .into_iter()
                .flat_map(|event| summary(&state.handle(Ok(event))))
                .collect()
        };
        let first = feed(vec![
            Event::Init,
            Event::InitApply(hook_map("a", "1", b"a1")),
            Event::InitApply(hook_map("b", "2", b"b2")),
            Event::InitDone,
        ]);
        assert_eq!(first, ["upsert a", "upsert b", "synced"]);

        // After a 410 Gone or a reconnect: b was deleted and a changed while the watch was
        // down; c is new. Synced is not sent twice.
        let relist = feed(vec![
            Event::Init,
            Event::InitApply(hook_map("a", "5", b"a5")),
            Event::InitApply(hook_map("c", "6", b"c6")),
            Event::InitDone,
        ]);
        assert_eq!(relist, ["upsert a", "upsert c", "remove b"]);

        // A relist with nothing changed sends nothing.
        let quiet = feed(vec![
            Event::Init,
            Event::InitApply(hook_map("a", "5", b"a5")),
            Event::InitApply(hook_map("c", "6", b"c6")),
            Event::InitDone,
        ]);
        assert!(quiet.is_empty(), "{quiet:?}");

        let live = feed(vec![
            Event::Apply(hook_map("a", "7", b"a7")),
            Event::Delete(hook_map("c", "8", b"c6")),
            Event::Delete(hook_map("never-seen", "9", b"x")),
        ]);
        assert_eq!(live, ["upsert a", "remove c"]);
    }
}
