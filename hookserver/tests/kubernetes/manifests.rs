//! Every manifest in the repository is accepted by the API server (a server-side dry run):
//! the kustomize base and overlay under manifests/, and every example's manifests.

use std::path::Path;

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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
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

/// The manifests to check, as (where from, YAML): every kustomization under the tree
/// rendered, and every plain file under examples/NAME/manifests/.
fn rendered_manifests(cluster: &Cluster, tree: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in files_under(tree) {
        let label = path
            .strip_prefix(tree)
            .unwrap_or(&path)
            .display()
            .to_string();
        let dir = path.parent().expect("parent");
        if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            let rendered = cluster.kubectl(&["kustomize", &dir.display().to_string()]);
            out.push((format!("kustomize {label}"), rendered));
        } else if label.starts_with("examples/") && path.extension().is_some_and(|e| e == "yaml") {
            out.push((
                label,
                std::fs::read_to_string(&path).expect("read manifest"),
            ));
        }
    }
    out
}

/// Copies the repository's manifests/ and every examples/NAME/manifests/ into `tree`, made
/// acceptable to this 1.20 API server and its kubectl in the two ways it predates them:
/// kustomize 2.0.3 takes directories only under `bases:` (see [`translate_for_kustomize_2`]),
/// and PodDisruptionBudgets are `policy/v1beta1`, with the same spec fields as the `policy/v1`
/// that current clusters (1.21 and later) serve.
pub fn prepare_tree(tree: &Path) {
    let root = repo_root();
    copy_tree(&root.join("manifests"), &tree.join("manifests"));
    for example in std::fs::read_dir(root.join("examples"))
        .expect("examples")
        .flatten()
    {
        let manifests = example.path().join("manifests");
        if manifests.is_dir() {
            let target = tree
                .join("examples")
                .join(example.file_name())
                .join("manifests");
            copy_tree(&manifests, &target);
        }
    }
    for path in files_under(tree) {
        if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            translate_for_kustomize_2(&path);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let text = text.replace("apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n");
            std::fs::write(&path, text).expect("write");
        }
    }
}

/// A minimal stand-in for an installed metacontroller: its CRDs.
pub fn install_metacontroller_crds(cluster: &Cluster) {
    let crds = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubernetes/metacontroller-crds.yaml"),
    )
    .expect("metacontroller CRDs");
    cluster.kubectl_stdin(&["apply", "-f", "-"], &crds);
    cluster.kubectl(&[
        "wait",
        "--for",
        "condition=established",
        "crd",
        "--all",
        "--timeout",
        "60s",
    ]);
}

#[test]
fn every_manifest_passes_a_server_side_dry_run() {
    let cluster = Cluster::shared();
    let tree = tempfile::tempdir().expect("temp dir");
    prepare_tree(tree.path());
    // The overlay ships the hello-world module built by `make hooks`, as its README says.
    std::fs::write(
        tree.path().join("manifests/example/hello-world.wasm"),
        crate::common::example_hook("hello-world"),
    )
    .expect("module");
    install_metacontroller_crds(cluster);

    let manifests = rendered_manifests(cluster, tree.path());
    // Objects in a namespace need the namespace, and custom resources their CRD: those are
    // created for real first, then everything is dry-run.
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
    let mut documents_checked = 0;
    for (source, text) in &manifests {
        documents_checked += documents(text).len();
        let output = cluster.kubectl_output(&["apply", "--dry-run=server", "-f", "-"], Some(text));
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
