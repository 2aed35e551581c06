//! hookserver against a real Kubernetes API server: ConfigMap hooks, the shipped RBAC, and
//! a server-side dry run of every manifest in the repository. See `cluster.rs` for how the
//! API server is built and run.

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod configmaps;
mod docs;
mod manifests;
mod rbac;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use cluster::Cluster;
use common::{Server, wait_for};
use serde_json::Value;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `hookserver configmap ARGS` for a module: the manifest it prints.
pub fn configmap_manifest(module: &[u8], args: &[&str]) -> String {
    let file = tempfile::Builder::new()
        .suffix(".wasm")
        .tempfile()
        .expect("module file");
    std::fs::write(file.path(), module).expect("write module");
    let output = Command::new(env!("CARGO_BIN_EXE_hookserver"))
        .arg("configmap")
        .arg(file.path())
        .args(args)
        .output()
        .expect("hookserver configmap");
    assert!(
        output.status.success(),
        "hookserver configmap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 manifest")
}

/// Ships `module` as ConfigMap `name` in `namespace` (created or updated).
pub fn ship(cluster: &Cluster, namespace: &str, name: &str, module: &[u8], options: &[&str]) {
    let mut args = vec!["--name", name];
    for option in options {
        args.extend(["--option", option]);
    }
    let manifest = configmap_manifest(module, &args);
    cluster.kubectl_stdin(&["apply", "-n", namespace, "-f", "-"], &manifest);
}

/// Ships `bytes` as a hook ConfigMap without `hookserver configmap`, which refuses anything
/// that is not WebAssembly: for the tests' broken modules.
pub fn ship_raw(cluster: &Cluster, namespace: &str, name: &str, bytes: &[u8]) {
    use base64::Engine as _;
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels:\n    \
         hookserver.io/module: \"true\"\nbinaryData:\n  module.wasm: {}\n",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    cluster.kubectl_stdin(&["apply", "-n", namespace, "-f", "-"], &manifest);
}

/// `hookserver serve --configmaps ARGS` with `kubeconfig`, a fresh cache; not yet ready.
pub fn serve_configmaps(kubeconfig: &Path, args: &[&str]) -> Server {
    launch_configmaps(kubeconfig, args, false)
}

/// [`serve_configmaps`], keeping the server's log for [`Server::log`].
pub fn serve_configmaps_logged(kubeconfig: &Path, args: &[&str]) -> Server {
    launch_configmaps(kubeconfig, args, true)
}

fn launch_configmaps(kubeconfig: &Path, args: &[&str], keep_log: bool) -> Server {
    let cache = tempfile::tempdir().expect("cache dir").keep();
    let mut all: Vec<OsString> = vec!["--configmaps".into(), "--cache-dir".into(), cache.into()];
    all.extend(args.iter().map(OsString::from));
    Server::launch_argv(
        &common::serve_argv(&all),
        &[("KUBECONFIG", kubeconfig.as_os_str())],
        keep_log,
    )
}

/// The Events about ConfigMap `name` in `namespace`, oldest first, as (type, reason, note).
pub fn events_for(cluster: &Cluster, namespace: &str, name: &str) -> Vec<(String, String, String)> {
    let list: Value = serde_json::from_str(&cluster.kubectl(&[
        "get",
        "events.v1.events.k8s.io",
        "-n",
        namespace,
        "-o",
        "json",
    ]))
    .expect("events JSON");
    let mut events: Vec<(String, String, String, String)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|event| {
            event["regarding"]["kind"] == "ConfigMap" && event["regarding"]["name"] == name
        })
        .map(|event| {
            let text = |field: &str| event[field].as_str().unwrap_or_default().to_string();
            (
                text("eventTime"),
                text("type"),
                text("reason"),
                text("note"),
            )
        })
        .collect();
    events.sort();
    events
        .into_iter()
        .map(|(_, kind, reason, note)| (kind, reason, note))
        .collect()
}

/// Waits for an Event on ConfigMap `name` with this reason whose note contains `text`.
pub fn wait_for_event(cluster: &Cluster, namespace: &str, name: &str, reason: &str, text: &str) {
    wait_for(
        &format!("a {reason} Event on {namespace}/{name} saying {text:?}"),
        || {
            events_for(cluster, namespace, name)
                .iter()
                .any(|(_, r, note)| r == reason && note.contains(text))
        },
    );
}
