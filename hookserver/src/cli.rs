//! Command-line interface: `serve`, `run` and `inspect`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};

use crate::abi;
use crate::adapters::ScriptSupport;
use crate::admission::Admission;
use crate::configmap_manifest::Content;
use crate::digest::Digest;
use crate::engine::{InstanceReset, Runtime, RuntimeConfig};
use crate::http::auth::AuthFiles;
use crate::invoke::{self, Call, Failure, HookFailure};
use crate::metrics::Metrics;
use crate::module_cache::{MemoryTier, ModuleCache};
use crate::options::{HookOptions, Limits, parse_bytes};
use crate::protocol::{self, HookKind, RequestShape};
use crate::script::ScriptStore;
use crate::server::{ConfigMapConfig, ServeConfig};
use crate::source::{Artifact, configmap, directory};
use crate::tls::TlsFiles;

#[derive(Parser)]
#[command(
    name = "hookserver",
    version,
    about = "Runs metacontroller hooks as per-request WebAssembly instances"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve hooks (NAME.wasm files in a directory, ConfigMaps, or both) at
    /// POST /hooks/NAME/{sync,finalize,customize}.
    Serve(Box<ServeArgs>),
    /// Print a ConfigMap manifest that ships a module as a hook (for `kubectl apply -f -`).
    Configmap(ConfigMapArgs),
    /// Run one hook exactly as the server would and print its response.
    Run(RunArgs),
    /// Show a module's digest, imports and exports, and whether it fits hook ABI v1.
    Inspect {
        /// The module to inspect.
        module: PathBuf,
    },
}

/// Default limits for every hook; a hook's own options override them.
#[derive(Args, Clone, Debug, Default)]
pub struct LimitArgs {
    /// Wall-clock limit for one invocation [default: 5s]
    #[arg(long)]
    timeout: Option<String>,
    /// Linear memory limit [default: 64Mi]
    #[arg(long)]
    memory: Option<String>,
    /// Largest response (stdout) [default: 8Mi]
    #[arg(long)]
    max_response: Option<String>,
    /// Largest request body [default: 32Mi]
    #[arg(long)]
    max_request: Option<String>,
    /// Stderr kept per call; its tail goes into error responses and logs [default: 64Ki]
    #[arg(long)]
    max_stderr: Option<String>,
    /// Instances of one hook running at once [default: 16]
    #[arg(long)]
    max_instances: Option<String>,
    /// Reject unknown or duplicate top-level response fields
    #[arg(long)]
    strict: bool,
}

impl LimitArgs {
    /// The options these flags describe, validated like any hook's options.
    pub fn options(&self) -> anyhow::Result<HookOptions> {
        let strict = self.strict.then(|| "true".to_string());
        let pairs = [
            ("timeout", &self.timeout),
            ("memory", &self.memory),
            ("max-response", &self.max_response),
            ("max-request", &self.max_request),
            ("max-stderr", &self.max_stderr),
            ("max-instances", &self.max_instances),
            ("strict", &strict),
        ];
        let options = HookOptions::with_defaults(Limits::default()).with_overrides(
            pairs
                .iter()
                .filter_map(|(key, value)| value.as_deref().map(|value| (*key, value))),
        )?;
        Ok(options)
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Directory of hooks: NAME.wasm, NAME.jsonnet, NAME.js or NAME/hook.{jsonnet,js} is served
    /// as hook NAME (options in NAME.toml)
    #[arg(long, value_name = "DIR", required_unless_present = "configmaps")]
    modules: Option<PathBuf>,
    /// Directory holding the script adapters (jsonnet.wasm, js.wasm) that run script hooks
    #[arg(long, value_name = "DIR", env = "HOOKSERVER_ADAPTERS")]
    adapters: Option<PathBuf>,
    /// Serve hooks from ConfigMaps (binaryData module.wasm), watched through the Kubernetes API
    #[arg(long)]
    configmaps: bool,
    /// Namespace to watch for hook ConfigMaps; repeat for several, and hooks are then named
    /// NAMESPACE.NAME [default: the pod's own namespace, or the kubeconfig's]
    #[arg(long = "namespace", value_name = "NS", requires = "configmaps")]
    namespaces: Vec<String>,
    /// Label selector for hook ConfigMaps
    #[arg(long, default_value = configmap::DEFAULT_SELECTOR, requires = "configmaps")]
    selector: String,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for precompiled modules [default: $XDG_CACHE_HOME/hookserver or ~/.cache/hookserver]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Instances running at once across all hooks
    #[arg(long, default_value_t = 32)]
    pool_size: u32,
    /// What happens to an instance's memory after each call
    #[arg(
        long,
        value_enum,
        env = "HOOKSERVER_INSTANCE_RESET",
        default_value_t = InstanceReset::default()
    )]
    instance_reset: InstanceReset,
    /// Requests that may wait for one hook before it answers 429
    #[arg(long, default_value_t = 64)]
    queue_depth: usize,
    /// Compiled code kept in memory
    #[arg(long, default_value = "256Mi", value_parser = parse_size)]
    module_cache_size: u64,
    /// Compiled modules not called for this long leave memory (they reload from disk)
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    module_idle: Duration,
    /// Responses kept for identical repeated requests (0 disables)
    #[arg(long, default_value = "64Mi", value_parser = parse_size)]
    response_cache_size: u64,
    /// Cached responses not requested for this long are dropped
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    response_cache_idle: Duration,
    /// How often the modules directory is checked for changes
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); re-read
    /// when the file changes
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM); re-read when the file changes
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require a client certificate signed by a CA in this PEM bundle (metacontroller's
    /// `clientTLS`); clients without one are refused during the TLS handshake
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN` with a token from this file, one per line
    /// (metacontroller's `authorization`); re-read when the file changes
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
    /// Require HTTP Basic credentials from this file, USER:PASSWORD per line (metacontroller's
    /// `basicAuth`); re-read when the file changes
    #[arg(long, value_name = "FILE")]
    basic_auth_file: Option<PathBuf>,
    /// Also serve /healthz and /readyz over plain HTTP on this address, without credentials
    /// (for the kubelet's probes when --client-ca is set)
    #[arg(long, value_name = "ADDR")]
    probe_listen: Option<SocketAddr>,
    #[command(flatten)]
    limits: LimitArgs,
}

fn parse_size(text: &str) -> Result<u64, String> {
    parse_bytes(text).ok_or_else(|| format!("{text:?} is not a size such as 64Mi or 1048576"))
}

impl ServeArgs {
    pub fn config(self) -> anyhow::Result<ServeConfig> {
        if self.pool_size == 0 {
            bail!("--pool-size must be at least 1");
        }
        for namespace in &self.namespaces {
            check_namespace(namespace)?;
        }
        let configmaps = self.configmaps.then_some(ConfigMapConfig {
            namespaces: self.namespaces,
            selector: self.selector,
        });
        Ok(ServeConfig {
            listen: self.listen,
            modules_dir: self.modules,
            adapters_dir: self.adapters,
            poll_interval: self.poll_interval,
            configmaps,
            cache_dir: Some(self.cache_dir.unwrap_or_else(default_cache_dir)),
            defaults: self.limits.options()?,
            max_instances: self.pool_size,
            instance_reset: self.instance_reset,
            queue_depth: self.queue_depth,
            module_memory: MemoryTier {
                capacity: self.module_cache_size,
                idle: self.module_idle,
            },
            response_cache_bytes: self.response_cache_size,
            response_cache_idle: self.response_cache_idle,
            // clap guarantees --tls-key with --tls-cert.
            tls: self.tls_cert.zip(self.tls_key).map(|(cert, key)| TlsFiles {
                cert,
                key,
                client_ca: self.client_ca,
            }),
            auth: AuthFiles {
                tokens: self.auth_token_file,
                users: self.basic_auth_file,
            },
            probe_listen: self.probe_listen,
        })
    }
}

/// Namespace names are DNS labels: no dots, which is what lets `NAMESPACE.NAME` split.
fn check_namespace(namespace: &str) -> anyhow::Result<()> {
    let valid = !namespace.is_empty()
        && namespace.len() <= 63
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if !valid {
        bail!(
            "--namespace {namespace:?} is not a namespace name: lowercase letters, digits and \
             '-', at most 63 characters"
        );
    }
    Ok(())
}

fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("hookserver")
}

#[derive(Args)]
pub struct ConfigMapArgs {
    /// The hook: a module (NAME.wasm), a script (NAME.jsonnet, NAME.js) or a directory holding
    /// hook.jsonnet or hook.js
    module: PathBuf,
    /// The ConfigMap's name, which is the hook's name [default: the file name without its
    /// extension]
    #[arg(long)]
    name: Option<String>,
    /// The ConfigMap's namespace [default: none, so `kubectl apply -n` decides]
    #[arg(long)]
    namespace: Option<String>,
    /// Compress the module (done anyway when it would not fit in 1 MiB)
    #[arg(long)]
    gzip: bool,
    /// A hook option as an annotation, KEY=VALUE (timeout=2s, memory=32Mi, strict=true, ...)
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE (for example timeout=2s)"))
}

/// `hookserver configmap`: checks the module and prints its ConfigMap.
pub fn configmap(args: ConfigMapArgs) -> anyhow::Result<()> {
    let name = match args.name {
        Some(name) => name,
        None => file_stem(&args.module)?,
    };
    crate::source::check_name(&name).map_err(|err| anyhow::anyhow!("--name: {err}"))?;
    if let Some(namespace) = &args.namespace {
        check_namespace(namespace)?;
    }
    let artifact = directory::artifact_at(&args.module).map_err(anyhow::Error::msg)?;
    if let Artifact::Module(bytes) = &artifact {
        let runtime = Runtime::new(&RuntimeConfig::new(1))?;
        wasmtime::Module::validate(runtime.engine(), bytes).map_err(|err| {
            anyhow::anyhow!(
                "{}: not a valid WebAssembly module: {err:#}",
                args.module.display()
            )
        })?;
    }
    let content = match &artifact {
        Artifact::Module(bytes) => Content::Module(bytes),
        Artifact::Script(files) => Content::Script(files),
    };
    let text = crate::configmap_manifest::manifest(&crate::configmap_manifest::ManifestSpec {
        name: &name,
        namespace: args.namespace.as_deref(),
        content,
        gzip: args.gzip,
        options: &args.options,
    })
    .with_context(|| args.module.display().to_string())?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

#[derive(Args)]
pub struct RunArgs {
    /// The hook: a module (NAME.wasm), a script (NAME.jsonnet, NAME.js) or a directory holding
    /// hook.jsonnet or hook.js
    module: PathBuf,
    /// Which hook: sync, finalize or customize
    hook: HookKind,
    /// The request body (metacontroller's JSON); read from stdin when absent
    request: Option<PathBuf>,
    /// The hook name passed as argv[0] [default: the file name without its extension]
    #[arg(long)]
    name: Option<String>,
    /// Directory holding the script adapters (jsonnet.wasm, js.wasm), for a script hook
    #[arg(long, value_name = "DIR", env = "HOOKSERVER_ADAPTERS")]
    adapters: Option<PathBuf>,
    /// Directory for precompiled modules, so the next run skips compiling [default: as serve]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `hookserver run`: the server's load, invoke and output checks, on one request.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let options = args.limits.options()?;
    let name = match args.name {
        Some(name) => name,
        None => file_stem(&args.module)?,
    };
    let artifact = directory::artifact_at(&args.module).map_err(anyhow::Error::msg)?;
    let body = match &args.request {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("cannot read the request from stdin")?;
            body
        }
    };
    let shape = RequestShape::inspect(args.hook, &body).context("bad request")?;

    let runtime = Runtime::new(&RuntimeConfig::new(1))?;
    let cache_dir = args.cache_dir.unwrap_or_else(default_cache_dir);
    let modules = ModuleCache::new(
        runtime.clone(),
        MemoryTier {
            capacity: u64::MAX,
            idle: crate::module_cache::MAX_IDLE,
        },
        Some(&cache_dir),
        Arc::new(Metrics::default()),
    );
    // Lives as long as the call: dropping it removes the script's files.
    let scripts;
    let (bytes, script) = match artifact {
        Artifact::Module(bytes) => (bytes, None),
        Artifact::Script(files) => {
            scripts = ScriptSupport::new(
                args.adapters,
                ScriptStore::new(None)?,
                Arc::new(Admission::new(1, 0)),
            );
            let adapter = scripts
                .adapter(files.language)
                .map_err(anyhow::Error::msg)?;
            let dir = scripts.materialize(files).map_err(anyhow::Error::msg)?;
            (adapter, Some(dir))
        }
    };
    let module = modules
        .prepare(&bytes)
        .map_err(|err| anyhow::anyhow!("{}: {err}", args.module.display()))?
        .module;
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let result = executor
        .block_on(invoke::invoke(
            &runtime,
            &module.pre,
            Call::hook(
                &name,
                args.hook,
                Bytes::from(body),
                &options.limits,
                script.as_deref(),
            ),
        ))
        .and_then(
            |output| match protocol::check_output(shape, options.strict, &output.stdout) {
                Ok(()) => Ok(output),
                Err(err) => Err(HookFailure {
                    failure: Failure::InvalidOutput {
                        reason: err.to_string(),
                    },
                    stderr: output.stderr,
                }),
            },
        );
    match result {
        Ok(output) => {
            if !output.stderr.is_empty() {
                eprint!("{}", output.stderr);
            }
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&output.stdout)?;
            if !output.stdout.ends_with(b"\n") {
                stdout.write_all(b"\n")?;
            }
            Ok(())
        }
        Err(failure) => {
            if !failure.stderr.is_empty() {
                eprintln!("{}", failure.stderr.trim_end());
            }
            bail!("hook {name:?} {} {}", args.hook, failure.failure)
        }
    }
}

/// `hookserver inspect`: what a module is and whether it can be a hook.
pub fn inspect(path: &Path) -> anyhow::Result<()> {
    let bytes = read_module(path)?;
    let runtime = Runtime::new(&RuntimeConfig::new(1))?;
    let module = wasmtime::Module::new(runtime.engine(), &bytes).map_err(|err| {
        anyhow::anyhow!(
            "{}: not a valid WebAssembly module: {err:#}",
            path.display()
        )
    })?;
    let interface = abi::interface(&module);
    println!("module:  {}", path.display());
    println!("digest:  {}", Digest::of(&bytes));
    println!("size:    {} bytes", bytes.len());
    println!("imports:");
    for (module, name, ty) in &interface.imports {
        println!("  {module}::{name}  {ty}");
    }
    println!("exports:");
    for (name, ty) in &interface.exports {
        println!("  {name}  {ty}");
    }
    if interface.problems.is_empty() {
        // Linking is the last word on imports: right module name, but a function WASI
        // preview1 does not have, or the wrong signature, fails here.
        if let Err(err) = runtime.linker().instantiate_pre(&module) {
            println!("ABI v1:  no");
            bail!("{}: cannot link: {err:#}", path.display());
        }
        println!("ABI v1:  yes (WASI preview1 command)");
        Ok(())
    } else {
        println!("ABI v1:  no");
        for problem in &interface.problems {
            println!("  - {problem}");
        }
        bail!("{} does not fit hook ABI v1", path.display())
    }
}

fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read module {}", path.display()))
}

fn file_stem(path: &Path) -> anyhow::Result<String> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_string)
        .with_context(|| {
            format!(
                "cannot derive a hook name from {}; pass --name",
                path.display()
            )
        })
}
