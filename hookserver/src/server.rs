//! Builds the parts from a validated [`ServeConfig`] and serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::adapters::ScriptSupport;
use crate::admission::Admission;
use crate::engine::{InstanceReset, Runtime, RuntimeConfig};
use crate::http::auth::{AuthFiles, Authenticator};
use crate::http::{self, App};
use crate::metrics::Metrics;
use crate::module_cache::{MemoryTier, ModuleCache};
use crate::options::HookOptions;
use crate::registry::{Readiness, Registry};
use crate::response_cache::ResponseCache;
use crate::script::ScriptStore;
use crate::source::configmap::{self, ConfigMapSource, WatchScope};
use crate::source::directory::DirectorySource;
use crate::tls::{self, TlsFiles, TlsListener};

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
    /// Serve HTTPS with these files instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Credentials every route but the probes requires (none when empty).
    pub auth: AuthFiles,
    /// Also serve `/healthz` and `/readyz` over plain HTTP on this address.
    pub probe_listen: Option<SocketAddr>,
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
    // Certificates and credentials first: a bad file stops the start before anything runs.
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let auth = Authenticator::load(&config.auth)?;
    warn_about_exposure(&config);

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
    ));
    let readiness = Arc::new(Readiness::default());
    let pool = Arc::new(Admission::new(config.max_instances, usize::MAX));
    // Like the module cache, never fatal: a cache dir that cannot be written is logged.
    let script_store = ScriptStore::open(config.cache_dir.as_deref());
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
    let listener = bind(config.listen).await?;
    let address = listener.local_addr()?;
    let probe_listener = match config.probe_listen {
        Some(probe_address) => Some(bind(probe_address).await?),
        None => None,
    };
    readiness.set_listening();
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The one line on stdout: scripts and tests read the address from it.
    println!("hookserver listening on {scheme}://{address}");
    tracing::info!(%address, scheme, "serving");

    let stop = stop_signal();
    let router = match auth {
        Some(auth) => http::authenticated_router(app.clone(), auth),
        None => http::router(app.clone()),
    };
    let main = async {
        match tls {
            None => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stopped(stop.clone()))
                    .await
            }
            Some(tls) => {
                axum::serve(TlsListener::new(listener, tls)?, router)
                    .with_graceful_shutdown(stopped(stop.clone()))
                    .await
            }
        }
    };
    let probes = async {
        let Some(probe_listener) = probe_listener else {
            return Ok(());
        };
        tracing::info!(address = %probe_listener.local_addr()?, "serving /healthz and /readyz");
        axum::serve(probe_listener, http::probe_router(app))
            .with_graceful_shutdown(stopped(stop.clone()))
            .await
    };
    tokio::try_join!(main, probes).context("server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

/// Settings that work but leave something open, said once at start.
fn warn_about_exposure(config: &ServeConfig) {
    if !config.auth.is_empty() && config.tls.is_none() {
        tracing::warn!(
            "credentials are checked over plain HTTP, so they cross the network readable: add \
             --tls-cert and --tls-key, unless a service mesh encrypts the traffic"
        );
    }
    let client_certificates = config
        .tls
        .as_ref()
        .is_some_and(|tls| tls.client_ca.is_some());
    if client_certificates && config.probe_listen.is_none() {
        tracing::warn!(
            "--client-ca without --probe-listen: the kubelet has no client certificate, so HTTP \
             probes of this port fail the handshake; add --probe-listen for /healthz and /readyz"
        );
    }
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

/// A receiver whose sender is dropped on SIGTERM or Ctrl-C: every server waits on a clone,
/// so one signal stops them all.
fn stop_signal() -> watch::Receiver<()> {
    let (sender, receiver) = watch::channel(());
    tokio::spawn(async move {
        shutdown_signal().await;
        drop(sender);
    });
    receiver
}

/// Resolves once the stop signal has come.
async fn stopped(mut stop: watch::Receiver<()>) {
    // `changed` fails only when the sender is gone, which is the signal.
    while stop.changed().await.is_ok() {}
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
