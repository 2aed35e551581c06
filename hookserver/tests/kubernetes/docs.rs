//! docs/kubernetes.md works as written: its `sh` blocks run in order against the test API
//! server, with a hookserver running as the Deployment would (the shipped ServiceAccount's
//! token, its namespace) once the base is installed.

use std::process::Command;

use crate::cluster::{Cluster, kubectl_path};
use crate::common::{Server, example_hook, wait_for};
use crate::manifests::prepare_tree;
use crate::{repo_root, serve_configmaps, wait_for_event};

/// The `sh` code blocks of a Markdown file, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn docs_kubernetes_md_works_as_written() {
    let cluster = Cluster::shared();
    let doc = std::fs::read_to_string(repo_root().join("docs/kubernetes.md")).expect("doc");
    let blocks = shell_blocks(&doc);
    assert!(blocks.len() >= 6, "found only {} sh blocks", blocks.len());

    // The repository as the reader has it after `make hooks`, with metacontroller installed.
    let tree = tempfile::tempdir().expect("temp dir");
    prepare_tree(tree.path());
    let hooks = tree.path().join("target/hooks");
    std::fs::create_dir_all(&hooks).expect("target/hooks");
    std::fs::write(hooks.join("hello-world.wasm"), example_hook("hello-world")).expect("module");
    crate::manifests::install_metacontroller_crds(cluster);

    // `hookserver` and `kubectl` on the PATH, as the page assumes.
    let bin = tempfile::tempdir().expect("bin dir");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_hookserver"),
        bin.path().join("hookserver"),
    )
    .expect("link hookserver");
    std::os::unix::fs::symlink(kubectl_path(), bin.path().join("kubectl")).expect("link kubectl");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut server: Option<Server> = None;
    for (index, block) in blocks.iter().enumerate() {
        // A reader looks a moment later than a script does: let the Events be recorded.
        if block.contains("get events") {
            wait_for_event(
                cluster,
                "hookserver",
                "hello-world",
                "Loaded",
                "serves module",
            );
        }
        if block.contains("delete configmap") {
            let server = server.as_ref().expect("the page installs the base first");
            for hook in ["hello-world", "hello-strict"] {
                wait_for(&format!("{hook} to serve"), || {
                    server
                        .hook_status(hook)
                        .is_some_and(|s| s["state"] == "ready")
                });
            }
            let strict = server.hook_status("hello-strict").expect("listed");
            assert_eq!(strict["options"]["strict"], true);
            assert_eq!(strict["options"]["limits"]["timeout"], "2s");
        }
        let output = Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(tree.path())
            .env("PATH", &path)
            .env("KUBECONFIG", cluster.admin_kubeconfig())
            .output()
            .expect("bash");
        assert!(
            output.status.success(),
            "docs/kubernetes.md sh block {} failed:\n{block}\nstdout: {}\nstderr: {}",
            index + 1,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if server.is_none() && block.contains("apply -k manifests/base") {
            server = Some(start_like_the_deployment(cluster));
        }
        if block.contains("get events") {
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                stdout.contains("Loaded"),
                "no Loaded Event listed: {stdout}"
            );
        }
    }
    let server = server.expect("the page installs the base");
    // The clean-up block ran last: those ConfigMaps are gone, so are the hooks.
    wait_for("the cleaned-up hooks to go", || {
        server.hook_status("hello-world").is_none() && server.hook_status("hello-strict").is_none()
    });
}

/// hookserver with the Deployment's identity: the ServiceAccount's token, namespace
/// `hookserver`, and the Deployment's `--configmaps` (see manifests/base/deployment.yaml).
fn start_like_the_deployment(cluster: &Cluster) -> Server {
    let token = cluster.service_account_token("hookserver", "hookserver");
    let kubeconfig = cluster.kubeconfig_for(&token, "hookserver");
    let server = serve_configmaps(&kubeconfig, &[]);
    server.wait_ready();
    server
}
