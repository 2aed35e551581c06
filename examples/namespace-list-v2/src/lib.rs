//! Hook logic for the `namespace-list-v2` example: a Rust port of
//! metacontroller's NamespaceList CompositeController, which shows what hook
//! version v2 adds: a namespaced parent can ask for cluster-scoped related
//! objects (here, Namespaces).
//!
//! A `NamespaceList` (`namespacelists.examples.metacontroller.io`, namespaced)
//! has an optional `spec.labelSelector`. The `customize` hook asks for the
//! Namespaces that match it (all of them when it is omitted). The `sync` hook
//! then wants one ConfigMap, `<parent>-list` in the parent's namespace, whose
//! `data.namespaces` lists the names of those Namespaces, sorted, one per line;
//! `status.count` is how many there are.
//!
//! The hooks are plain functions on the SDK's request and response types, so
//! they are unit-tested on the host; [`hooks`] wires them into a hook program
//! and `main.rs` only runs it.

use metahook::{
    CompositeHooks, CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse,
    Object, ObjectMap, RelatedResourceRule, Result,
};
use serde_json::{Value, json};

/// Kind of the listed objects.
pub const NAMESPACE: &str = "Namespace";

/// Suffix of the child ConfigMap's name: `<parent>-list`.
pub const CHILD_SUFFIX: &str = "-list";

/// The hook program: `sync` and `customize` (the original has no finalize hook).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).customize(customize)
}

/// The `customize` hook: Namespaces matching `spec.labelSelector` (every
/// Namespace when it is absent or `null`).
pub fn customize(request: &CustomizeRequest) -> Result<CustomizeResponse> {
    let selector = label_selector(&request.parent)?;
    Ok(CustomizeResponse::new(vec![
        RelatedResourceRule::new("v1", "namespaces").label_selector(selector),
    ]))
}

/// The `sync` hook: the `<parent>-list` ConfigMap listing the related
/// Namespaces, and `status.count`.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let parent = &request.parent;
    let (namespace, name) = parent_identity(parent)?;
    let listed = listed_namespaces(&request.related);
    let child = Object::new("v1", "ConfigMap", &format!("{name}{CHILD_SUFFIX}"))
        .with_namespace(namespace)
        .with("data", json!({"namespaces": listed.join("\n")}));
    Ok(CompositeResponse::new(vec![child]).with_status(json!({"count": listed.len()})))
}

/// Names of the related Namespaces, sorted. Namespaces are cluster-scoped, so
/// v1 and v2 both key them by name; the names are taken from the objects.
pub fn listed_namespaces(related: &ObjectMap) -> Vec<&str> {
    let mut listed: Vec<&str> = related
        .of_kind(NAMESPACE)
        .map(Object::name)
        .filter(|name| !name.is_empty())
        .collect();
    listed.sort_unstable();
    listed.dedup();
    listed
}

/// `spec.labelSelector` as a label selector object; `{}` (every Namespace)
/// when `spec` or the selector is absent or `null`.
pub fn label_selector(parent: &Object) -> Result<Value> {
    match parent.get("spec") {
        None | Some(Value::Null) => return Ok(json!({})),
        Some(Value::Object(_)) => {}
        Some(other) => {
            return Err(spec_error(
                parent,
                &format!("spec is {other}, not an object"),
            ));
        }
    }
    match parent.get("spec.labelSelector") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(selector @ Value::Object(_)) => Ok(selector.clone()),
        Some(other) => Err(spec_error(
            parent,
            &format!("spec.labelSelector is {other}, not a label selector"),
        )),
    }
}

/// The parent's namespace and name; the child goes into that namespace.
fn parent_identity(parent: &Object) -> Result<(&str, &str)> {
    let name = parent.name();
    if name.is_empty() {
        return Err(
            "the parent has no metadata.name; it must be a NamespaceList as stored by the API \
             server"
                .into(),
        );
    }
    match parent.namespace() {
        Some(namespace) if !namespace.is_empty() => Ok((namespace, name)),
        _ => Err(format!(
            "NamespaceList {name:?} has no metadata.namespace; NamespaceList is a namespaced \
             resource and its list is written into the parent's namespace"
        )
        .into()),
    }
}

fn spec_error(parent: &Object, problem: &str) -> metahook::Error {
    format!(
        "NamespaceList {:?}: {problem}; a spec looks like {{\"labelSelector\": \
         {{\"matchLabels\": {{\"example-controller\": \"namespace-list\"}}}}}} (labelSelector \
         is optional)",
        parent.name()
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `hook` on `request` as the hook program does (JSON in, JSON out,
    /// through the SDK's decoding), returning the response or the message the
    /// program would print on stderr.
    fn call(hook: &str, request: &Value) -> Result<Value, String> {
        let input = serde_json::to_vec(request).expect("serialize request");
        call_raw(hook, &input)
    }

    fn call_raw(hook: &str, input: &[u8]) -> Result<Value, String> {
        let output = hooks().handle(hook, input).map_err(|err| err.to_string())?;
        Ok(serde_json::from_slice(&output).expect("the hook writes JSON"))
    }

    fn selector() -> Value {
        json!({"matchLabels": {"example-controller": "namespace-list"}})
    }

    fn parent(spec: Value) -> Value {
        json!({
            "apiVersion": "examples.metacontroller.io/v1alpha1",
            "kind": "NamespaceList",
            "metadata": {"name": "filtered-namespaces", "namespace": "test-ns", "uid": "u-1"},
            "spec": spec,
        })
    }

    fn namespace(name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"example-controller": "namespace-list"}},
            "status": {"phase": "Active"},
        })
    }

    fn request(names: &[&str]) -> Value {
        let group: serde_json::Map<String, Value> = names
            .iter()
            .map(|name| (name.to_string(), namespace(name)))
            .collect();
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "namespace-list-controller"}},
            "parent": parent(json!({"labelSelector": selector()})),
            "children": {"ConfigMap.v1": {}},
            "related": {"Namespace.v1": group},
            "finalizing": false,
        })
    }

    fn expected_child(list: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "filtered-namespaces-list", "namespace": "test-ns"},
            "data": {"namespaces": list},
        })
    }

    /// The test.sh path: only test-ns carries the label, so the list is
    /// exactly "test-ns" and status.count is 1.
    #[test]
    fn sync_lists_the_one_matching_namespace() {
        let response = call("sync", &request(&["test-ns"])).expect("sync");
        assert_eq!(
            response,
            json!({"status": {"count": 1}, "children": [expected_child("test-ns")]})
        );
    }

    #[test]
    fn sync_sorts_the_names_one_per_line() {
        let response = call("sync", &request(&["zeta", "alpha", "test-ns"])).expect("sync");
        assert_eq!(
            response["children"],
            json!([expected_child("alpha\ntest-ns\nzeta")])
        );
        assert_eq!(response["status"], json!({"count": 3}));
    }

    /// No match (an empty group, no group, or no related map at all) still
    /// gives the child, with an empty list and a count of 0.
    #[test]
    fn no_related_namespaces_gives_an_empty_list() {
        for related in [json!({"Namespace.v1": {}}), json!({}), Value::Null] {
            let mut req = request(&[]);
            let object = req.as_object_mut().expect("object");
            object.remove("children");
            if related.is_null() {
                object.remove("related");
            } else {
                object.insert("related".into(), related);
            }
            let response = call("sync", &req).expect("sync");
            assert_eq!(
                response,
                json!({"status": {"count": 0}, "children": [expected_child("")]})
            );
        }
    }

    /// Namespaces are cluster-scoped: v2 keys them by name, like v1. A
    /// `namespace/name`-style key would not change the list either.
    #[test]
    fn names_come_from_the_objects_not_the_keys() {
        let mut req = request(&[]);
        req["related"]["Namespace.v1"] =
            json!({"odd/key": namespace("test-ns"), "b": namespace("b")});
        let response = call("sync", &req).expect("sync");
        assert_eq!(response["children"], json!([expected_child("b\ntest-ns")]));
    }

    #[test]
    fn customize_passes_the_selector_or_selects_everything() {
        let response = call(
            "customize",
            &json!({"controller": {}, "parent": parent(json!({"labelSelector": selector()}))}),
        )
        .expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [
                {"apiVersion": "v1", "resource": "namespaces", "labelSelector": selector()},
            ]})
        );
        let expressions = json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]});
        let response = call(
            "customize",
            &json!({"parent": parent(json!({"labelSelector": expressions.clone()}))}),
        )
        .expect("customize");
        assert_eq!(
            response["relatedResources"][0]["labelSelector"],
            expressions
        );

        let mut no_spec = parent(json!({}));
        no_spec.as_object_mut().expect("object").remove("spec");
        for parent in [
            parent(json!({})),
            parent(json!({"labelSelector": null})),
            no_spec,
        ] {
            let response = call("customize", &json!({"parent": parent})).expect("customize");
            assert_eq!(
                response,
                json!({"relatedResources": [
                    {"apiVersion": "v1", "resource": "namespaces", "labelSelector": {}},
                ]})
            );
        }
    }

    #[test]
    fn bad_specs_and_parents_are_errors_that_say_what_is_wrong() {
        let err = call(
            "customize",
            &json!({"parent": parent(json!({"labelSelector": "team=a"}))}),
        )
        .expect_err("selector string");
        assert!(
            err.starts_with(
                "NamespaceList \"filtered-namespaces\": spec.labelSelector is \"team=a\", not a \
                 label selector"
            ),
            "{err}"
        );
        let err = call("customize", &json!({"parent": parent(json!([1]))})).expect_err("spec");
        assert!(err.contains("spec is [1], not an object"), "{err}");

        let mut req = request(&["test-ns"]);
        req["parent"]["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("namespace");
        let err = call("sync", &req).expect_err("no namespace");
        assert!(err.contains("has no metadata.namespace"), "{err}");
        let err = call_raw("customize", b"{}").expect_err("no parent");
        assert!(err.contains("missing field `parent`"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let response =
            call_raw("sync", include_bytes!("../requests/sync.json")).expect("sample sync");
        assert_eq!(
            response,
            json!({"status": {"count": 1}, "children": [expected_child("test-ns")]})
        );
        let response =
            call_raw("customize", include_bytes!("../requests/customize.json")).expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [
                {"apiVersion": "v1", "resource": "namespaces", "labelSelector": selector()},
            ]})
        );
    }
}
