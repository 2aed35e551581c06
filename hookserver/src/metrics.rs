//! Prometheus metrics, served as text on `GET /metrics`.
//!
//! Per-hook labels use only names that are in the route table (requests for unknown names
//! are counted under `hook=""`), so a client probing random URLs cannot grow the label set.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub hook: String,
    pub kind: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub hook: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabel {
    pub hook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabel {
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: &'static str,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by hook, hook kind and HTTP status.
    pub requests: Family<RequestLabels, Counter>,
    /// Time from request to response, by hook and hook kind (cache hits included).
    pub latency: Family<CallLabels, Histogram>,
    /// Module instances created (one per executed call).
    pub instantiations: Family<HookLabel, Counter>,
    /// Compiled-module lookups: `memory` hit, `disk` hit, `compiled`.
    pub module_cache: Family<ResultLabel, Counter>,
    /// Disk-cache trouble: `corrupt` (an artifact failed its checksum and was not run),
    /// `load` (wasmtime refused an artifact), `write` (an artifact could not be written).
    pub disk_cache_errors: Family<ErrorLabel, Counter>,
    /// Response lookups: `etag` (304), `hit`, `miss`.
    pub response_cache: Family<ResultLabel, Counter>,
    /// Time to compile one module.
    pub compile_seconds: Histogram,
    /// Requests refused with 429: the hook's queue was full, or no instance became free
    /// within the hook's timeout.
    pub overloaded: Family<HookLabel, Counter>,
    /// Module versions that failed to load (bad Wasm, ABI, options).
    pub load_failures: Family<HookLabel, Counter>,
    /// 1 while a hook's latest version failed to load (the previous one, if any, serves).
    pub load_failing: Family<HookLabel, Gauge>,
    /// Hooks by state: `ready`, `degraded` (serving an older version), `failed`.
    pub hooks: Family<StateLabel, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 20 us .. ~10 s: in-memory hits up to hooks near their timeout.
    Histogram::new(exponential_buckets(0.00002, 2.5, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<CallLabels, Histogram>::new_with_constructor(latency_histogram);
        let instantiations = Family::<HookLabel, Counter>::default();
        let module_cache = Family::<ResultLabel, Counter>::default();
        let disk_cache_errors = Family::<ErrorLabel, Counter>::default();
        let response_cache = Family::<ResultLabel, Counter>::default();
        let compile_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let overloaded = Family::<HookLabel, Counter>::default();
        let load_failures = Family::<HookLabel, Counter>::default();
        let load_failing = Family::<HookLabel, Gauge>::default();
        let hooks = Family::<StateLabel, Gauge>::default();

        let mut registry = Registry::with_prefix("hookserver");
        let r = &mut registry;
        r.register(
            "requests",
            "Hook requests answered, by hook, kind and HTTP status",
            requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Time to answer a hook request",
            latency.clone(),
        );
        r.register(
            "instantiations",
            "Module instances created",
            instantiations.clone(),
        );
        r.register(
            "module_cache_lookups",
            "Compiled-module lookups by result (memory, disk, compiled)",
            module_cache.clone(),
        );
        r.register(
            "disk_cache_errors",
            "Disk-cache artifacts rejected (corrupt: failed the checksum, never run; load: \
             refused by wasmtime) or not written (write)",
            disk_cache_errors.clone(),
        );
        r.register(
            "response_cache_lookups",
            "Response lookups by result (etag, hit, miss)",
            response_cache.clone(),
        );
        r.register(
            "compile_duration_seconds",
            "Time to compile one module",
            compile_seconds.clone(),
        );
        r.register(
            "overloaded",
            "Requests refused with 429 (queue full, or no instance free in time)",
            overloaded.clone(),
        );
        r.register(
            "load_failures",
            "Module versions that failed to load",
            load_failures.clone(),
        );
        r.register(
            "load_failing",
            "1 while the latest version of a hook failed to load",
            load_failing.clone(),
        );
        r.register("hooks", "Hooks by state", hooks.clone());

        Metrics {
            registry,
            requests,
            latency,
            instantiations,
            module_cache,
            disk_cache_errors,
            response_cache,
            compile_seconds,
            overloaded,
            load_failures,
            load_failing,
            hooks,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn module_lookup(&self, result: &'static str) {
        self.module_cache
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn disk_cache_error(&self, error: &'static str) {
        self.disk_cache_errors
            .get_or_create(&ErrorLabel { error })
            .inc();
    }

    pub fn response_lookup(&self, result: &'static str) {
        self.response_cache
            .get_or_create(&ResultLabel { result })
            .inc();
    }
}
