//! Every manifest in the repository is accepted by the API server (a server-side dry run):
//! the kustomize base and overlay under manifests/, and every example's manifests.

use std::path::{Path, PathBuf};

use crate::cluster::Cluster;
use crate::repo_root;

/// A YAML stream split into documents, skipping empty ones.
fn documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.into_iter()
        .filter(|doc| doc.lines().any(|l| l.starts_with("kind:")))
        .collect()
}

fn kind(doc: &str) -> &str {
    doc.lines()
        .find_map(|line| line.strip_prefix("kind:"))
        .map_or("", str::trim)
}

/// Copies `from` into `to` recursively.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// kubectl 1.20 embeds kustomize 2.0.3, which takes directories only under `bases:`; current
/// kustomize takes them under `resources:` (and deprecates `bases:`), which is what the repo
/// ships. The copy being rendered moves directory entries to `bases:`.
fn translate_for_kustomize_2(kustomization: &Path) {
    let dir = kustomization.parent().expect("dir");
    let text = std::fs::read_to_string(kustomization).expect("read kustomization");
    let (mut kept, mut bases) = (Vec::new(), Vec::new());
    let mut in_resources = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('-') {
            in_resources = line.trim_end() == "resources:";
        }
        match line.strip_prefix("- ") {
            Some(entry) if in_resources && dir.join(entry.trim()).is_dir() => {
                bases.push(line.to_string())
            }
            _ => kept.push(line.to_string()),
        }
    }
    if !bases.is_empty() {
        kept.push("bases:".to_string());
        kept.extend(bases);
    }
    std::fs::write(kustomization, kept.join("\n") + "\n").expect("write kustomization");
}

/// The rendered manifests to check: (where from, YAML).
fn rendered_manifests(cluster: &Cluster, tree: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kustomize_dirs = Vec::new();
    let mut plain_files = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![tree.join("manifests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
                kustomize_dirs.push(dir.clone());
            }
        }
    }
    for example in std::fs::read_dir(tree.join("examples"))
        .expect("examples")
        .flatten()
    {
        let manifests = example.path().join("manifests");
        if manifests.join("kustomization.yaml").is_file() {
            kustomize_dirs.push(manifests.clone());
        }
        if let Ok(entries) = std::fs::read_dir(&manifests) {
            for file in entries.flatten() {
                let path = file.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(".yaml") && name != "kustomization.yaml" {
                    plain_files.push(path);
                }
            }
        }
    }
    for dir in kustomize_dirs {
        translate_for_kustomize_2(&dir.join("kustomization.yaml"));
    }
    for dir in [tree.join("manifests"), tree.join("examples")] {
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else if entry.file_name() == "kustomization.yaml" {
                    let rendered = cluster.kubectl(&["kustomize", &dir.display().to_string()]);
                    let label = dir.strip_prefix(tree).unwrap_or(&dir).display().to_string();
                    out.push((format!("kustomize {label}"), rendered));
                }
            }
        }
    }
    for file in plain_files {
        let label = file
            .strip_prefix(tree)
            .unwrap_or(&file)
            .display()
            .to_string();
        out.push((
            label,
            std::fs::read_to_string(&file).expect("read manifest"),
        ));
    }
    out
}

#[test]
fn every_manifest_passes_a_server_side_dry_run() {
    let cluster = Cluster::shared();
    let tree = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    copy_tree(&root.join("manifests"), &tree.path().join("manifests"));
    for example in std::fs::read_dir(root.join("examples"))
        .expect("examples")
        .flatten()
    {
        let manifests = example.path().join("manifests");
        if manifests.is_dir() {
            copy_tree(
                &manifests,
                &tree
                    .path()
                    .join("examples")
                    .join(example.file_name())
                    .join("manifests"),
            );
        }
    }
    // The overlay ships the hello-world module built by `make hooks`, as its README says.
    std::fs::write(
        tree.path().join("manifests/example/hello-world.wasm"),
        crate::common::example_hook("hello-world"),
    )
    .expect("module");

    let crds = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubernetes/metacontroller-crds.yaml"),
    )
    .expect("metacontroller CRDs");
    cluster.kubectl_stdin(&["apply", "-f", "-"], &crds);

    let manifests = rendered_manifests(cluster, tree.path());
    // Objects in a namespace need the namespace, and custom resources their CRD: those are
    // created for real first, then everything is dry-run.
    let mut documents_checked = 0;
    for (_, text) in &manifests {
        for doc in documents(text) {
            if matches!(kind(&doc), "Namespace" | "CustomResourceDefinition") {
                cluster.kubectl_stdin(&["apply", "-f", "-"], &doc);
            }
        }
    }
    cluster.kubectl(&[
        "wait",
        "--for",
        "condition=established",
        "crd",
        "--all",
        "--timeout",
        "60s",
    ]);

    let mut failures = Vec::new();
    for (source, text) in &manifests {
        // policy/v1 PodDisruptionBudget is GA from Kubernetes 1.21; this server is 1.20, whose
        // policy/v1beta1 has the same spec fields. Current clusters have only policy/v1.
        let text = text.replace("apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n");
        documents_checked += documents(&text).len();
        let output = cluster.kubectl_output(&["apply", "--dry-run=server", "-f", "-"], Some(&text));
        if !output.status.success() {
            failures.push(format!(
                "{source}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "rejected manifests:\n{}",
        failures.join("\n")
    );
    eprintln!(
        "{} manifests ({documents_checked} objects) accepted",
        manifests.len()
    );
    assert!(
        documents_checked >= 60,
        "only {documents_checked} objects found"
    );
}
