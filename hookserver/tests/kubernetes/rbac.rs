//! The shipped ServiceAccount and Role (manifests/base/rbac.yaml) are enough for hookserver,
//! and grant nothing more.

use serde_json::Value;

use crate::cluster::Cluster;
use crate::common::{digest, example_hook, variant, wait_for};
use crate::manifests::prepare_tree;
use crate::{serve_configmaps, ship, ship_raw, wait_for_event};

/// The shipped base, applied for real (as this 1.20 server takes it, see
/// [`prepare_tree`]); its namespace is `hookserver`.
fn apply_base(cluster: &Cluster) {
    let tree = tempfile::tempdir().expect("temp dir");
    prepare_tree(tree.path());
    let base = tree.path().join("manifests/base");
    cluster.kubectl(&["apply", "-k", &base.display().to_string()]);
}

#[test]
fn the_shipped_role_is_enough_and_no_more() {
    let cluster = Cluster::shared();
    apply_base(cluster);
    let token = cluster.service_account_token("hookserver", "hookserver");
    // As in the pod: the ServiceAccount's token, and its namespace as the default.
    let kubeconfig = cluster.kubeconfig_for(&token, "hookserver");

    let hello = example_hook("hello-world");
    ship(cluster, "hookserver", "rbac-hello", &hello, &[]);
    let server = serve_configmaps(&kubeconfig, &[]);
    server.wait_ready();
    let status = server.hook_status("rbac-hello").expect("served");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&hello)));
    wait_for_event(
        cluster,
        "hookserver",
        "rbac-hello",
        "Loaded",
        &digest(&hello),
    );

    // Two failures of the same kind: the second adds to the first Event's series (a patch).
    ship_raw(cluster, "hookserver", "rbac-hello", b"broken one");
    wait_for_event(
        cluster,
        "hookserver",
        "rbac-hello",
        "LoadFailed",
        "keeps serving",
    );
    ship_raw(cluster, "hookserver", "rbac-hello", b"broken two");
    wait_for("the repeated failure to be counted in a series", || {
        let events: Value = serde_json::from_str(&cluster.kubectl(&[
            "get",
            "events.v1.events.k8s.io",
            "-n",
            "hookserver",
            "-o",
            "json",
        ]))
        .expect("events");
        events["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|event| {
                event["regarding"]["name"] == "rbac-hello"
                    && event["reason"] == "LoadFailed"
                    && event["series"]["count"].as_i64().unwrap_or(0) >= 2
            })
    });
    ship(
        cluster,
        "hookserver",
        "rbac-hello",
        &variant(&hello, "rbac"),
        &[],
    );
    server.wait_for_module("rbac-hello", &variant(&hello, "rbac"));

    // Nothing beyond: each of these is refused for the ServiceAccount.
    let refused = [
        vec!["get", "secrets", "-n", "hookserver"],
        vec!["get", "configmaps", "-n", "default"],
        vec!["get", "configmaps", "-n", "kube-system"],
        vec!["get", "pods", "-n", "hookserver"],
        vec!["create", "configmap", "intruder", "-n", "hookserver"],
        vec!["delete", "configmap", "rbac-hello", "-n", "hookserver"],
        vec![
            "label",
            "configmap",
            "rbac-hello",
            "-n",
            "hookserver",
            "x=y",
        ],
        vec!["get", "events", "-n", "hookserver"],
        vec!["get", "namespaces"],
    ];
    for args in refused {
        let output = crate::cluster::kubectl_as(&kubeconfig, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains("forbidden"),
            "kubectl {} was not refused: {stderr}",
            args.join(" ")
        );
    }
    let allowed = ["get", "configmaps", "-n", "hookserver"];
    assert!(
        crate::cluster::kubectl_as(&kubeconfig, &allowed)
            .status
            .success(),
        "reading its own ConfigMaps is allowed"
    );

    // Asked to watch a namespace it may not read, hookserver stays unready and says why.
    let outside = serve_configmaps(&kubeconfig, &["--namespace", "default"]);
    wait_for("/readyz to explain the refusal", || {
        let response = outside.get("/readyz");
        let status = response.status();
        let body = response.text().unwrap_or_default();
        status == 503
            && body.contains("configmap:default")
            && body.contains("forbidden")
            && body.contains("grant get, list and watch on configmaps in namespace default")
    });
}
