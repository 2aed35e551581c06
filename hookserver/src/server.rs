//! Builds the parts from a validated [`ServeConfig`] and serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;

use crate::adapters::ScriptSupport;
use crate::admission::Admission;
use crate::engine::{InstanceReset, Runtime, RuntimeConfig};
use crate::http::{self, App};
use crate::metrics::Metrics;
use crate::module_cache::{MemoryTier, ModuleCache};
use crate::options::HookOptions;
use crate::registry::{Readiness, Registry};
use crate::response_cache::ResponseCache;
use crate::script::ScriptStore;
use crate::source::configmap::{self, ConfigMapSource, WatchScope};
use crate::source::directory::DirectorySource;

/// How often idle caches get to evict (moka only evicts while it is used).
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(5);

/// Everything `hookserver serve` needs, already validated.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Serve `NAME.wasm` files from this directory.
    pub modules_dir: Option<PathBuf>,
    /// Where the script adapters are (`jsonnet.wasm`, `js.wasm`).
    pub adapters_dir: Option<PathBuf>,
    pub poll_interval: Duration,
    /// Serve hooks from ConfigMaps.
    pub configmaps: Option<ConfigMapConfig>,
    pub cache_dir: Option<PathBuf>,
    pub defaults: HookOptions,
    /// Instances running at once across all hooks (the pool size).
    pub max_instances: u32,
    /// How an instance's memory is reset after each call.
    pub instance_reset: InstanceReset,
    /// Requests that may wait per hook before 429.
    pub queue_depth: usize,
    pub module_memory: MemoryTier,
    pub response_cache_bytes: u64,
    pub response_cache_idle: Duration,
}

/// Which ConfigMaps are hooks.
#[derive(Clone, Debug)]
pub struct ConfigMapConfig {
    /// Namespaces to watch; empty means the client's default namespace (in a pod: its own).
    pub namespaces: Vec<String>,
    pub selector: String,
}

/// Serves until a shutdown signal, then lets in-flight requests finish.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let runtime = Runtime::new(&RuntimeConfig {
        max_instances: config.max_instances,
        reset: config.instance_reset,
    })?;
    let metrics = Arc::new(Metrics::default());
    let modules = Arc::new(ModuleCache::new(
        runtime.clone(),
        config.module_memory.clone(),
        config.cache_dir.as_deref(),
        metrics.clone(),
    )?);
    let readiness = Arc::new(Readiness::default());
    let pool = Arc::new(Admission::new(config.max_instances, usize::MAX));
    let script_store = ScriptStore::new(config.cache_dir.as_deref())?;
    let registry = Arc::new(
        Registry::new(
            modules.clone(),
            metrics.clone(),
            readiness.clone(),
            config.queue_depth,
        )
        .with_scripts(ScriptSupport::new(
            config.adapters_dir.clone(),
            script_store,
            pool.clone(),
        )),
    );

    let (events, inbox) = mpsc::channel(64);
    if let Some(dir) = &config.modules_dir {
        anyhow::ensure!(
            dir.is_dir(),
            "--modules {}: not a directory (create it, or point --modules at the folder holding \
             NAME.wasm files)",
            dir.display()
        );
        let source =
            DirectorySource::new(dir.clone(), config.defaults.clone(), config.poll_interval);
        readiness.expect_source(source.id());
        tokio::spawn(source.run(events.clone()));
    }
    if let Some(configmaps) = &config.configmaps {
        for source in configmap_sources(configmaps, &config.defaults).await? {
            source.report_outcomes(registry.outcomes(), configmap::reporter());
            readiness.expect_source(source.id());
            tokio::spawn(source.run(events.clone()));
        }
    }
    drop(events);
    tokio::spawn(registry.clone().run(inbox));

    let responses = ResponseCache::new(config.response_cache_bytes, config.response_cache_idle);
    tokio::spawn(maintain(modules.clone(), responses.clone()));

    let app = Arc::new(App {
        runtime,
        registry,
        responses,
        pool,
        metrics,
        readiness: readiness.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    readiness.set_listening();
    // The one line on stdout: scripts and tests read the address from it.
    println!("hookserver listening on http://{address}");
    tracing::info!(%address, "serving");

    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// One watch per namespace, all sharing one API client.
async fn configmap_sources(
    config: &ConfigMapConfig,
    defaults: &HookOptions,
) -> anyhow::Result<Vec<ConfigMapSource>> {
    let client = kube::Client::try_default().await.context(
        "--configmaps: no Kubernetes API access (in a pod, mount a ServiceAccount token; \
         elsewhere set KUBECONFIG or ~/.kube/config)",
    )?;
    let namespaces = if config.namespaces.is_empty() {
        vec![client.default_namespace().to_string()]
    } else {
        config.namespaces.clone()
    };
    let qualify = namespaces.len() > 1;
    Ok(namespaces
        .into_iter()
        .map(|namespace| {
            let scope = WatchScope {
                namespace,
                selector: config.selector.clone(),
                qualify,
            };
            ConfigMapSource::new(client.clone(), scope, defaults.clone())
        })
        .collect())
}

async fn maintain(modules: Arc<ModuleCache>, responses: ResponseCache) {
    let mut ticker = tokio::time::interval(MAINTENANCE_INTERVAL);
    loop {
        ticker.tick().await;
        let modules = modules.clone();
        let responses = responses.clone();
        let _ = tokio::task::spawn_blocking(move || {
            modules.run_maintenance();
            responses.run_maintenance();
            crate::heap::release_freed_memory();
        })
        .await;
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
