//! ConfigMap hooks on a real API server (the one the Kubernetes tests build): resident memory
//! with 100 distinct ConfigMap hooks loaded and after each was called once, and the time from
//! a ConfigMap update to the new version serving.
//!
//! `make hooks kube-apiserver && cargo bench -p hookserver --bench configmap_hooks`

#[allow(dead_code)]
#[path = "../tests/kubernetes/cluster.rs"]
mod cluster;
#[path = "../tests/common/mod.rs"]
mod common;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use cluster::Cluster;
use common::{Server, digest, example_hook, hello_request, variant};
use hookserver::configmap_manifest::{Content, ManifestSpec, manifest};

const HOOKS: usize = 100;
const UPDATES: usize = 20;

fn main() {
    let cluster = Cluster::start();
    let ns = cluster.namespace("bench");
    let hello = example_hook("hello-world");

    // 100 distinct modules: one source, a custom section making each copy unique, so the
    // content-addressed cache cannot share them.
    let mut all = String::new();
    for i in 0..HOOKS {
        let name = format!("hook-{i:03}");
        let text = manifest(&ManifestSpec {
            name: &name,
            namespace: Some(&ns),
            content: Content::Module(&variant(&hello, &name)),
            gzip: false,
            options: &[],
        })
        .expect("manifest");
        all.push_str("---\n");
        all.push_str(&text);
    }
    cluster.kubectl_stdin(&["apply", "-f", "-"], &all);

    let cache = tempfile::tempdir().expect("cache dir");
    let args: Vec<OsString> = vec![
        "--configmaps".into(),
        "--namespace".into(),
        ns.clone().into(),
        "--cache-dir".into(),
        cache.path().into(),
    ];
    let kubeconfig = cluster.admin_kubeconfig();
    let started = Instant::now();
    let server = Server::launch(&args, &[("KUBECONFIG", kubeconfig.as_os_str())]);
    server.wait_ready();
    let ready_after = started.elapsed();
    let rss_loaded = rss_kib(server.pid());

    let request = hello_request("sync");
    for i in 0..HOOKS {
        let response = server.post(&format!("/hooks/hook-{i:03}/sync"), &request);
        assert_eq!(response.status(), 200);
    }
    let rss_called = rss_kib(server.pid());

    // Restart with the disk cache warm: ready without compiling.
    drop(server);
    let started = Instant::now();
    let server = Server::launch(&args, &[("KUBECONFIG", kubeconfig.as_os_str())]);
    server.wait_ready();
    let warm_ready_after = started.elapsed();
    let rss_warm = rss_kib(server.pid());

    let mut latencies = Vec::new();
    for round in 0..UPDATES {
        let module = variant(&hello, &format!("update-{round}"));
        let text = manifest(&ManifestSpec {
            name: "hook-000",
            namespace: Some(&ns),
            content: Content::Module(&module),
            gzip: false,
            options: &[],
        })
        .expect("manifest");
        let expected = format!("sha256:{}", digest(&module));
        cluster.kubectl_stdin(&["apply", "-f", "-"], &text);
        // From the API server accepting the change (kubectl has returned) to serving it.
        let applied = Instant::now();
        while server
            .hook_status("hook-000")
            .is_none_or(|status| status["digest"] != expected.as_str())
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        latencies.push(applied.elapsed());
    }
    latencies.sort();

    println!(
        "{HOOKS} distinct ConfigMap hooks ({} bytes each), release build",
        hello.len()
    );
    println!("  start to ready, compiling all:      {ready_after:.2?}");
    println!(
        "  RSS ready, all loaded:              {:.1} MiB",
        mib(rss_loaded)
    );
    println!(
        "  RSS after calling each once:        {:.1} MiB",
        mib(rss_called)
    );
    println!("  restart to ready, warm disk cache:  {warm_ready_after:.2?}");
    println!(
        "  RSS ready after the warm restart:   {:.1} MiB",
        mib(rss_warm)
    );
    println!(
        "ConfigMap update to new version serving ({UPDATES} updates): p50 {:.0?}, max {:.0?}",
        latencies[UPDATES / 2],
        latencies[UPDATES - 1]
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
