//! Hook logic for the `configmap-list-v2` example: a Rust port of
//! metacontroller's ConfigMapList CompositeController, which shows what hook
//! version v2 adds: a namespaced parent can ask for related objects from other
//! namespaces, or from all of them.
//!
//! A `ConfigMapList` (`configmaplists.examples.metacontroller.io`, namespaced)
//! has `spec.sourceLabels` and an optional `spec.sourceNamespace`. The
//! `customize` hook asks for the ConfigMaps with those labels, in
//! `sourceNamespace` or (when it is omitted) in every namespace. The `sync`
//! hook then wants one ConfigMap, `<parent>-list` in the parent's namespace,
//! whose `data.configmaps` lists the `namespace/name` of every related
//! ConfigMap, sorted, one per line; `status.count` is how many there are.
//!
//! The hooks are plain functions on the SDK's request and response types, so
//! they are unit-tested on the host; [`hooks`] wires them into a hook program
//! and `main.rs` only runs it.

use metahook::{
    CompositeHooks, CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse,
    Object, ObjectMap, RelatedResourceRule, Result,
};
use serde_json::{Map, Value, json};

/// Kind of the listed objects and of the child.
pub const CONFIGMAP: &str = "ConfigMap";

/// Suffix of the child's name: `<parent>-list`.
pub const CHILD_SUFFIX: &str = "-list";

/// The hook program: `sync` and `customize` (the original has no finalize hook).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).customize(customize)
}

/// The `customize` hook: ConfigMaps matching `spec.sourceLabels`, in
/// `spec.sourceNamespace` if it is set, otherwise in every namespace (hook v2
/// lists a namespaced parent's label-selected related objects cluster-wide).
pub fn customize(request: &CustomizeRequest) -> Result<CustomizeResponse> {
    let parent = &request.parent;
    let labels = source_labels(parent)?;
    let rule =
        RelatedResourceRule::new("v1", "configmaps").label_selector(json!({"matchLabels": labels}));
    let rule = match source_namespace(parent)? {
        Some(namespace) => rule.namespace(namespace),
        None => rule,
    };
    Ok(CustomizeResponse::new(vec![rule]))
}

/// The `sync` hook: the `<parent>-list` ConfigMap listing the related
/// ConfigMaps, and `status.count`.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let parent = &request.parent;
    let (namespace, name) = parent_identity(parent)?;
    let listed = listed_configmaps(&request.related);
    let child = Object::new("v1", CONFIGMAP, &format!("{name}{CHILD_SUFFIX}"))
        .with_namespace(namespace)
        .with("data", json!({"configmaps": listed.join("\n")}));
    Ok(CompositeResponse::new(vec![child]).with_status(json!({"count": listed.len()})))
}

/// `namespace/name` of every related ConfigMap, sorted. Built from each
/// object's metadata rather than from the map keys, so the list is the same
/// whether the keys are v2 style (`namespace/name`) or v1 style (`name`).
pub fn listed_configmaps(related: &ObjectMap) -> Vec<String> {
    let mut listed: Vec<String> = related
        .of_kind(CONFIGMAP)
        .filter(|configmap| !configmap.name().is_empty())
        .map(|configmap| match configmap.namespace() {
            Some(namespace) if !namespace.is_empty() => {
                format!("{namespace}/{}", configmap.name())
            }
            _ => configmap.name().to_string(),
        })
        .collect();
    listed.sort_unstable();
    listed.dedup();
    listed
}

/// `spec.sourceLabels`: a map of label names to string values (the
/// `matchLabels` of the related rule). `{}` selects every ConfigMap.
pub fn source_labels(parent: &Object) -> Result<&Map<String, Value>> {
    let labels = match parent.get("spec.sourceLabels") {
        Some(Value::Object(labels)) => labels,
        None | Some(Value::Null) => {
            return Err(spec_error(
                parent,
                "spec.sourceLabels is missing; set the labels the listed ConfigMaps must \
                 have, e.g. {\"app\": \"my-app\"}",
            ));
        }
        Some(other) => {
            return Err(spec_error(
                parent,
                &format!(
                    "spec.sourceLabels is {other}, not a map of labels such as {{\"app\": \"my-app\"}}"
                ),
            ));
        }
    };
    if let Some((key, value)) = labels.iter().find(|(_, value)| !value.is_string()) {
        return Err(spec_error(
            parent,
            &format!("spec.sourceLabels.{key} is {value}; label values must be strings"),
        ));
    }
    Ok(labels)
}

/// `spec.sourceNamespace`, or `None` (every namespace) when it is absent,
/// `null` or empty.
pub fn source_namespace(parent: &Object) -> Result<Option<&str>> {
    match parent.get("spec.sourceNamespace") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(namespace)) if namespace.is_empty() => Ok(None),
        Some(Value::String(namespace)) => Ok(Some(namespace)),
        Some(other) => Err(spec_error(
            parent,
            &format!("spec.sourceNamespace is {other}, not a namespace name"),
        )),
    }
}

/// The parent's namespace and name; the child goes into that namespace.
fn parent_identity(parent: &Object) -> Result<(&str, &str)> {
    let name = parent.name();
    if name.is_empty() {
        return Err(
            "the parent has no metadata.name; it must be a ConfigMapList as stored by the API \
             server"
                .into(),
        );
    }
    match parent.namespace() {
        Some(namespace) if !namespace.is_empty() => Ok((namespace, name)),
        _ => Err(format!(
            "ConfigMapList {name:?} has no metadata.namespace; ConfigMapList is a namespaced \
             resource and its list is written into the parent's namespace"
        )
        .into()),
    }
}

fn spec_error(parent: &Object, problem: &str) -> metahook::Error {
    format!(
        "ConfigMapList {:?}: {problem}; a spec looks like {{\"sourceNamespace\": \
         \"source-ns\", \"sourceLabels\": {{\"app\": \"my-app\"}}}} (sourceNamespace is \
         optional)",
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

    fn parent(name: &str, spec: Value) -> Value {
        json!({
            "apiVersion": "examples.metacontroller.io/v1alpha1",
            "kind": "ConfigMapList",
            "metadata": {"name": name, "namespace": "target-ns", "uid": "u-1"},
            "spec": spec,
        })
    }

    fn configmap(namespace: &str, name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "my-app"}},
            "data": {"key": "value"},
        })
    }

    /// A related map keyed as hook v2 does (`namespace/name`) or, with
    /// `v1_keys`, by plain name as hook v1 does for a namespaced parent.
    fn related(objects: &[(&str, &str)], v1_keys: bool) -> Value {
        let group: Map<String, Value> = objects
            .iter()
            .map(|(namespace, name)| {
                let key = if v1_keys {
                    name.to_string()
                } else {
                    format!("{namespace}/{name}")
                };
                (key, configmap(namespace, name))
            })
            .collect();
        json!({"ConfigMap.v1": group})
    }

    fn request(name: &str, spec: Value, related: Value) -> Value {
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "configmap-list-controller"}},
            "parent": parent(name, spec),
            "children": {"ConfigMap.v1": {}},
            "related": related,
            "finalizing": false,
        })
    }

    fn expected_child(name: &str, list: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "target-ns"},
            "data": {"configmaps": list},
        })
    }

    /// The test.sh path: `my-config-list` in target-ns lists the two matching
    /// ConfigMaps of source-ns, sorted, newline-separated; status.count is 2.
    #[test]
    fn sync_lists_the_related_configmaps_of_another_namespace() {
        let spec = json!({"sourceNamespace": "source-ns", "sourceLabels": {"app": "my-app"}});
        let related = related(&[("source-ns", "cm-2"), ("source-ns", "cm-1")], false);
        let response = call("sync", &request("my-config-list", spec, related)).expect("sync");
        assert_eq!(
            response,
            json!({
                "status": {"count": 2},
                "children": [expected_child("my-config-list-list", "source-ns/cm-1\nsource-ns/cm-2")],
            })
        );
    }

    /// Without sourceNamespace, metacontroller (v2) sends matching ConfigMaps
    /// from every namespace.
    #[test]
    fn sync_lists_configmaps_from_every_namespace() {
        let spec = json!({"sourceLabels": {"app": "my-app"}});
        let related = related(
            &[
                ("source-ns", "cm-1"),
                ("other-source-ns", "cm-3"),
                ("source-ns", "cm-2"),
            ],
            false,
        );
        let response = call("sync", &request("all-configs-list", spec, related)).expect("sync");
        assert_eq!(
            response["children"],
            json!([expected_child(
                "all-configs-list-list",
                "other-source-ns/cm-3\nsource-ns/cm-1\nsource-ns/cm-2"
            )])
        );
        assert_eq!(response["status"], json!({"count": 3}));
    }

    /// The original lists the map keys, which are `namespace/name` only in v2.
    /// This port lists each object's own namespace and name, so v1-style keys
    /// give the same list.
    #[test]
    fn v1_and_v2_keys_give_the_same_list() {
        let spec = json!({"sourceNamespace": "source-ns", "sourceLabels": {"app": "my-app"}});
        let objects = [("source-ns", "cm-1"), ("source-ns", "cm-2")];
        let v2 = call(
            "sync",
            &request("my-config-list", spec.clone(), related(&objects, false)),
        )
        .expect("v2 keys");
        let v1 = call(
            "sync",
            &request("my-config-list", spec, related(&objects, true)),
        )
        .expect("v1 keys");
        assert_eq!(v1, v2);
        assert_eq!(
            v1["children"][0]["data"]["configmaps"],
            "source-ns/cm-1\nsource-ns/cm-2"
        );
    }

    /// The list is sorted by `namespace/name`, not in key order, and each
    /// ConfigMap appears once.
    #[test]
    fn the_list_is_sorted_by_namespace_and_name_whatever_the_keys() {
        let spec = json!({"sourceLabels": {"app": "my-app"}});
        let related = json!({"ConfigMap.v1": {
            "a": configmap("z-ns", "cm"),
            "b": configmap("a-ns", "cm"),
            "c": configmap("m-ns", "b-cm"),
            "m-ns/b-cm": configmap("m-ns", "b-cm"),
        }});
        let response = call("sync", &request("mixed", spec, related)).expect("sync");
        assert_eq!(
            response["children"][0]["data"]["configmaps"],
            "a-ns/cm\nm-ns/b-cm\nz-ns/cm"
        );
        assert_eq!(response["status"], json!({"count": 3}));
    }

    /// No match (an empty group, or no related map at all) still gives the
    /// child, with an empty list and a count of 0.
    #[test]
    fn no_related_configmaps_gives_an_empty_list() {
        let spec = json!({"sourceLabels": {"app": "nothing"}});
        for related in [json!({"ConfigMap.v1": {}}), json!({})] {
            let mut req = request("empty", spec.clone(), related);
            req.as_object_mut().expect("object").remove("children");
            let response = call("sync", &req).expect("sync");
            assert_eq!(
                response,
                json!({"status": {"count": 0}, "children": [expected_child("empty-list", "")]})
            );
        }
    }

    #[test]
    fn customize_selects_by_labels_in_the_source_namespace_or_everywhere() {
        let spec = json!({"sourceNamespace": "source-ns", "sourceLabels": {"app": "my-app"}});
        let response = call(
            "customize",
            &json!({"controller": {}, "parent": parent("my-config-list", spec)}),
        )
        .expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [{
                "apiVersion": "v1",
                "resource": "configmaps",
                "labelSelector": {"matchLabels": {"app": "my-app"}},
                "namespace": "source-ns",
            }]})
        );
        for spec in [
            json!({"sourceLabels": {"app": "my-app"}}),
            json!({"sourceLabels": {"app": "my-app"}, "sourceNamespace": null}),
            json!({"sourceLabels": {"app": "my-app"}, "sourceNamespace": ""}),
        ] {
            let response = call(
                "customize",
                &json!({"parent": parent("all-configs-list", spec.clone())}),
            )
            .expect("customize");
            assert_eq!(
                response,
                json!({"relatedResources": [{
                    "apiVersion": "v1",
                    "resource": "configmaps",
                    "labelSelector": {"matchLabels": {"app": "my-app"}},
                }]}),
                "{spec}"
            );
        }
    }

    #[test]
    fn bad_specs_and_parents_are_errors_that_say_what_is_wrong() {
        let cases = [
            (json!({}), "spec.sourceLabels is missing"),
            (
                json!({"sourceLabels": ["app"]}),
                "spec.sourceLabels is [\"app\"], not a map of labels",
            ),
            (
                json!({"sourceLabels": {"app": 1}}),
                "spec.sourceLabels.app is 1; label values must be strings",
            ),
            (
                json!({"sourceLabels": {}, "sourceNamespace": 5}),
                "spec.sourceNamespace is 5, not a namespace name",
            ),
        ];
        for (spec, expected) in cases {
            let err = call("customize", &json!({"parent": parent("x", spec.clone())}))
                .expect_err("a bad spec fails");
            assert!(err.starts_with("ConfigMapList \"x\": "), "{err}");
            assert!(err.contains(expected), "{spec}: {err}");
        }
        let mut req = request("x", json!({"sourceLabels": {}}), json!({}));
        req["parent"]["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("namespace");
        let err = call("sync", &req).expect_err("no namespace");
        assert!(err.contains("has no metadata.namespace"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let response =
            call_raw("sync", include_bytes!("../requests/sync.json")).expect("sample sync");
        assert_eq!(
            response,
            json!({
                "status": {"count": 2},
                "children": [expected_child("my-config-list-list", "source-ns/cm-1\nsource-ns/cm-2")],
            })
        );
        let response =
            call_raw("customize", include_bytes!("../requests/customize.json")).expect("customize");
        assert_eq!(response["relatedResources"][0]["namespace"], "source-ns");
        let response = call_raw(
            "sync",
            include_bytes!("../requests/sync-all-namespaces.json"),
        )
        .expect("sample sync, all namespaces");
        assert_eq!(
            response["children"][0]["data"]["configmaps"],
            "other-source-ns/cm-3\nsource-ns/cm-1\nsource-ns/cm-2"
        );
        assert_eq!(response["status"], json!({"count": 3}));
    }
}
