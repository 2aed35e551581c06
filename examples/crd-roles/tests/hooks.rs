//! The path of metacontroller's `crd-roles` test.sh, on the host: an annotated CRD gets the
//! ClusterRole `my-tests.ctl.rlg.io-reader`. Plus: the role really grants read access (the
//! original's was empty), v1beta1 CRDs, and the inputs the original crashed on.

use crd_roles::{hooks, reader_role};
use metahook::Object;
use serde_json::{Value, json};

const SYNC: &str = include_str!("../requests/sync.json");
const RESYNC: &str = include_str!("../requests/sync-existing.json");
const CLUSTER_ROLES: &str = "ClusterRole.rbac.authorization.k8s.io/v1";

fn call(hook: &str, request: &Value) -> Result<Value, String> {
    hooks()
        .handle(hook, request.to_string().as_bytes())
        .map(|out| serde_json::from_slice(&out).expect("the response is JSON"))
        .map_err(|err| err.to_string())
}

fn request(text: &str) -> Value {
    serde_json::from_str(text).expect("sample request is JSON")
}

fn crd(value: Value) -> Object {
    serde_json::from_value(value).expect("an object")
}

#[test]
fn an_annotated_crd_gets_a_reader_cluster_role() {
    assert_eq!(
        call("sync", &request(SYNC)),
        Ok(json!({"attachments": [{
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "my-tests.ctl.rlg.io-reader"},
            "rules": [{
                "apiGroups": ["ctl.rlg.io"],
                "resources": ["my-tests"],
                "verbs": ["get", "list", "watch"]
            }]
        }]}))
    );
}

#[test]
fn an_existing_cluster_role_is_kept_and_matches_the_answer() {
    let req = request(RESYNC);
    let observed = &req["attachments"][CLUSTER_ROLES]["my-tests.ctl.rlg.io-reader"];
    assert!(
        observed.is_object(),
        "cluster-scoped parent and attachment: keyed by plain name"
    );
    let response = call("sync", &req).expect("sync");
    assert_eq!(response, call("sync", &request(SYNC)).expect("sync"));
    assert_eq!(
        response["attachments"][0]["rules"], observed["rules"],
        "nothing to update"
    );
}

#[test]
fn v1beta1_crds_have_the_same_fields() {
    let role = reader_role(&crd(json!({
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "version": "v1",
                 "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced"}
    })))
    .expect("role");
    assert_eq!(role.name(), "widgets.example.com-reader");
    assert_eq!(
        role.get("rules"),
        Some(
            &json!([{"apiGroups": ["example.com"], "resources": ["widgets"],
                      "verbs": ["get", "list", "watch"]}])
        )
    );
}

#[test]
fn missing_or_bad_fields_are_refused_with_the_field_name() {
    let with = |path: &[&str], value: Option<Value>| {
        let mut req = request(SYNC);
        let (last, parents) = path.split_last().expect("a path");
        let mut target = &mut req["object"];
        for step in parents {
            target = &mut target[*step];
        }
        match value {
            Some(value) => target[*last] = value,
            None => {
                target.as_object_mut().expect("object").remove(*last);
            }
        }
        call("sync", &req).expect_err("should be refused")
    };
    assert_eq!(
        with(&["spec", "group"], None),
        "CustomResourceDefinition my-tests.ctl.rlg.io: `spec.group` is missing"
    );
    assert_eq!(
        with(&["spec", "names", "plural"], Some(Value::Null)),
        "CustomResourceDefinition my-tests.ctl.rlg.io: `spec.names.plural` is missing"
    );
    assert!(with(&["spec", "names"], None).contains("`spec.names.plural` is missing"));
    assert!(
        with(&["spec", "group"], Some(json!(""))).contains("must be a non-empty string, got \"\"")
    );
    assert!(with(&["spec", "group"], Some(json!(["a"]))).contains("got [\"a\"]"));
    assert!(with(&["metadata", "name"], None).contains("has no `metadata.name`"));
    assert!(with(&["spec"], None).contains("`spec.group` is missing"));
}

#[test]
fn a_name_too_long_for_a_cluster_role_is_refused() {
    let long = format!("{}.example.com", "a".repeat(240));
    let message = reader_role(&crd(json!({
        "metadata": {"name": long},
        "spec": {"group": "example.com", "names": {"plural": "as"}}
    })))
    .expect_err("too long")
    .to_string();
    assert!(message.contains("longer than 253 characters"), "{message}");
    let fits = format!("{}.example.com", "a".repeat(234));
    assert!(
        reader_role(&crd(json!({
            "metadata": {"name": fits},
            "spec": {"group": "example.com", "names": {"plural": "as"}}
        })))
        .is_ok()
    );
}

#[test]
fn finalizing_deletes_the_role_and_waits_for_it() {
    let mut req = request(RESYNC);
    req["finalizing"] = json!(true);
    assert_eq!(
        call("sync", &req),
        Ok(json!({"attachments": [], "finalized": false}))
    );
    req["attachments"] = json!({CLUSTER_ROLES: {}});
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
