//! The paths of metacontroller's `clusteredparent` test.sh, on the host: a ClusterRole gets
//! its RoleBinding, a deleted RoleBinding is recreated, and the RoleBinding is kept while
//! it exists (observed under the `namespace/name` key of a cluster-scoped parent).

use clusteredparent::{hooks, role_binding};
use serde_json::{Value, json};

const SYNC: &str = include_str!("../requests/sync.json");
const RESYNC: &str = include_str!("../requests/sync-existing.json");
const ROLE_BINDINGS: &str = "RoleBinding.rbac.authorization.k8s.io/v1";

fn call(hook: &str, request: &Value) -> Result<Value, String> {
    hooks()
        .handle(hook, request.to_string().as_bytes())
        .map(|out| serde_json::from_slice(&out).expect("the response is JSON"))
        .map_err(|err| err.to_string())
}

fn request(text: &str) -> Value {
    serde_json::from_str(text).expect("sample request is JSON")
}

fn expected_binding(name: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": "default"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
        "roleRef": {"kind": "ClusterRole", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
    })
}

#[test]
fn a_new_cluster_role_gets_its_role_binding() {
    // Also the path "RoleBinding deleted, recreate it": the observed map is empty again.
    assert_eq!(
        call("sync", &request(SYNC)),
        Ok(json!({"attachments": [expected_binding("my-clusterrole")]}))
    );
}

#[test]
fn an_existing_role_binding_is_kept() {
    let req = request(RESYNC);
    let observed = req["attachments"][ROLE_BINDINGS]
        .as_object()
        .expect("observed RoleBindings");
    assert!(
        observed.contains_key("default/my-clusterrole"),
        "a cluster-scoped parent sees namespaced attachments as namespace/name"
    );
    assert_eq!(call("sync", &req), call("sync", &request(SYNC)));
}

#[test]
fn the_annotation_value_is_not_read() {
    let mut outputs = Vec::new();
    for value in [json!("default"), json!("kube-system/builder"), json!("")] {
        let mut req = request(SYNC);
        req["object"]["metadata"]["annotations"]["default-service-account-binding"] = value;
        outputs.push(call("sync", &req));
    }
    let mut req = request(SYNC);
    req["object"]["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("annotations");
    outputs.push(call("sync", &req));
    assert!(outputs.iter().all(|o| *o == outputs[0]), "{outputs:?}");
}

#[test]
fn any_cluster_role_name_is_bound_as_is() {
    assert_eq!(
        serde_json::to_value(role_binding("system:aggregate-to-edit")).expect("JSON"),
        expected_binding("system:aggregate-to-edit")
    );
    let req = json!({"object": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                "metadata": {"name": "viewer"}}});
    assert_eq!(
        call("sync", &req),
        Ok(json!({"attachments": [expected_binding("viewer")]})),
        "missing attachments and related maps are fine"
    );
}

#[test]
fn a_cluster_role_without_name_is_refused() {
    for object in [
        json!({"kind": "ClusterRole"}),
        json!({"metadata": {"name": ""}}),
    ] {
        let message =
            call("sync", &json!({"object": object, "attachments": {}})).expect_err("no name");
        assert!(
            message.contains("the ClusterRole has no `metadata.name`"),
            "{message}"
        );
    }
    let message = call("sync", &json!({"attachments": {}})).expect_err("no object");
    assert!(message.contains("missing field `object`"), "{message}");
}

#[test]
fn finalizing_deletes_the_binding_and_waits_for_it() {
    let mut req = request(RESYNC);
    req["finalizing"] = json!(true);
    assert_eq!(
        call("sync", &req),
        Ok(json!({"attachments": [], "finalized": false}))
    );
    req["attachments"][ROLE_BINDINGS] = json!({});
    assert_eq!(
        call("sync", &req),
        Ok(json!({"attachments": [], "finalized": true}))
    );
}

#[test]
fn only_sync_is_implemented() {
    for hook in ["finalize", "customize"] {
        let message = call(hook, &request(SYNC)).expect_err("not implemented");
        assert!(
            message.contains(&format!("does not implement `{hook}`")),
            "{message}"
        );
    }
}
