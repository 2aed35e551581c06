//! What the server benchmarks share: the release binary on an ephemeral port, and memory
//! readings from /proc.
#![allow(dead_code)] // each benchmark uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/release/hookserver`, which the benchmark does not build itself.
pub fn release_binary() -> PathBuf {
    let binary = root().join("target/release/hookserver");
    assert!(
        binary.exists(),
        "{}: run `cargo build --release -p hookserver` first",
        binary.display()
    );
    binary
}

/// A process that prints `... listening on http://ADDR` as its first stdout line, killed on
/// drop.
pub struct Backend {
    pub child: Child,
    pub url: String,
}

impl Backend {
    /// Starts `command` and waits for its address line.
    pub fn start(mut command: Command) -> Backend {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the backend");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("address line");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Backend { child, url }
    }

    /// `hookserver serve ARGS` on an ephemeral port, once `/readyz` answers 200.
    pub fn hookserver(args: &[&std::ffi::OsStr]) -> Backend {
        let mut command = Command::new(release_binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn");
        let backend = Backend::start(command);
        let client = reqwest::blocking::Client::new();
        while client
            .get(format!("{}/readyz", backend.url))
            .send()
            .map_or(true, |r| r.status() != 200)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        backend
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` field of a /proc file, in MiB (VmRSS, VmHWM in `status`; Pss in `smaps_rollup`).
pub fn proc_mib(pid: u32, file: &str, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).expect("/proc file");
    let kib: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/{file}"));
    kib / 1024.0
}

pub fn rss_mib(pid: u32) -> f64 {
    proc_mib(pid, "status", "VmRSS")
}

/// Proportional set size: shared pages split between the processes sharing them, so a sum
/// over processes counts a shared interpreter once.
pub fn pss_mib(pid: u32) -> f64 {
    proc_mib(pid, "smaps_rollup", "Pss")
}

/// A module cache with a roomy memory tier that never expires during a benchmark, over the
/// disk tier at `disk` if given.
pub fn memory_cache(
    runtime: &std::sync::Arc<hookserver::engine::Runtime>,
    disk: Option<&Path>,
) -> hookserver::module_cache::ModuleCache {
    use hookserver::module_cache::{MAX_IDLE, MemoryTier, ModuleCache};
    ModuleCache::new(
        runtime.clone(),
        MemoryTier {
            capacity: 1 << 30,
            idle: MAX_IDLE,
        },
        disk,
        std::sync::Arc::new(hookserver::metrics::Metrics::default()),
    )
}

/// Times `calls` sync calls of the pre-linked module (after `warmup` untimed ones), each a
/// fresh instance, run and drop; returns the sorted durations.
pub fn time_calls(
    runtime: &hookserver::engine::Runtime,
    pre: &wasmtime::InstancePre<hookserver::engine::HostState>,
    name: &str,
    body: &bytes::Bytes,
    script: Option<&hookserver::script::ScriptDir>,
    warmup: usize,
    calls: usize,
) -> Vec<Duration> {
    use hookserver::invoke::{Call, invoke};
    use hookserver::protocol::HookKind;
    let limits = hookserver::options::Limits::default();
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    let mut samples = Vec::with_capacity(calls);
    for i in 0..warmup + calls {
        let started = std::time::Instant::now();
        let output = executor
            .block_on(invoke(
                runtime,
                pre,
                Call::hook(name, HookKind::Sync, body.clone(), &limits, script),
            ))
            .unwrap_or_else(|failure| panic!("{name}: {failure:?}"));
        let elapsed = started.elapsed();
        assert!(!output.stdout.is_empty());
        if i >= warmup {
            samples.push(elapsed);
        }
    }
    samples.sort();
    samples
}
