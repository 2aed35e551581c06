//! Hook logic for the `globalconfigmap` example: a Rust port of metacontroller's
//! GlobalConfigMap CompositeController, written with the `metahook` SDK.
//!
//! A `GlobalConfigMap` (`globalconfigmaps.examples.metacontroller.io`,
//! cluster-scoped) names one source ConfigMap (`spec.sourceNamespace`,
//! `spec.sourceName`). The `customize` hook asks metacontroller for that
//! ConfigMap and for every Namespace as related objects; the `sync` hook then
//! wants a copy of the source's `data` in every other namespace, under the same
//! name. A new namespace gets its copy on the next sync, which metacontroller
//! triggers when the namespace appears. When the source is gone, every copy is
//! deleted.
//!
//! The hooks are plain functions on the SDK's request and response types, so
//! they are unit-tested on the host; [`hooks`] wires them into a hook program
//! and `main.rs` only runs it.

use metahook::{
    CompositeHooks, CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse,
    Object, ObjectMap, RelatedResourceRule, Result,
};
use serde_json::{Map, Value, json};

/// Kind of the propagated objects (source and copies).
pub const CONFIGMAP: &str = "ConfigMap";

/// Kind of the related objects the copies go into.
pub const NAMESPACE: &str = "Namespace";

/// The hook program: `sync` and `customize` (the original has no finalize hook).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).customize(customize)
}

/// The `customize` hook: the source ConfigMap by namespace and name, and every
/// Namespace (an empty label selector selects all of them).
pub fn customize(request: &CustomizeRequest) -> Result<CustomizeResponse> {
    let source = Source::of(&request.parent)?;
    Ok(CustomizeResponse::new(vec![
        RelatedResourceRule::new("v1", "configmaps")
            .namespace(source.namespace)
            .names([source.name]),
        RelatedResourceRule::new("v1", "namespaces").label_selector(json!({})),
    ]))
}

/// The `sync` hook: one copy of the source's `data` in every related namespace
/// except the source's own, or no children at all (every copy is deleted) when
/// the source is not among the related objects.
///
/// Status: `{"working": "fine"}`, as in the original.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let source = Source::of(&request.parent)?;
    let children = match find_source(&request.related, &source) {
        Some(original) => {
            let data = configmap_data(original)?;
            target_namespaces(&request.related, source.namespace)
                .into_iter()
                .map(|namespace| copy(source.name, namespace, &data))
                .collect()
        }
        // The source was deleted (or is not visible yet): clean up the copies.
        None => Vec::new(),
    };
    Ok(CompositeResponse::new(children).with_status(json!({"working": "fine"})))
}

/// Where the propagated ConfigMap comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> Source<'a> {
    /// `spec.sourceNamespace` and `spec.sourceName` of a GlobalConfigMap.
    pub fn of(parent: &'a Object) -> Result<Self> {
        Ok(Source {
            namespace: required_str(parent, "sourceNamespace")?,
            name: required_str(parent, "sourceName")?,
        })
    }
}

/// The source ConfigMap among the related objects, whatever the key style
/// (`namespace/name` for this cluster-scoped parent in hook v1 and v2 alike).
pub fn find_source<'a>(related: &'a ObjectMap, source: &Source<'_>) -> Option<&'a Object> {
    related.get(CONFIGMAP, &format!("{}/{}", source.namespace, source.name))
}

/// Names of the related namespaces that get a copy: all but the source
/// namespace and namespaces that are being deleted (no object can be created
/// in those), sorted by name.
pub fn target_namespaces<'a>(related: &'a ObjectMap, source_namespace: &str) -> Vec<&'a str> {
    let mut names: Vec<&str> = related
        .of_kind(NAMESPACE)
        .filter(|namespace| !is_terminating(namespace))
        .map(Object::name)
        .filter(|name| !name.is_empty() && *name != source_namespace)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether a namespace is being deleted.
fn is_terminating(namespace: &Object) -> bool {
    namespace.is_deleting() || namespace.get_str("status.phase") == Some("Terminating")
}

/// A copy of the source: same name, target namespace, the source's `data`.
/// Only these fields are set (apply semantics): metacontroller adds the
/// `controller-uid` label and the owner reference.
pub fn copy(name: &str, namespace: &str, data: &Map<String, Value>) -> Object {
    Object::new("v1", CONFIGMAP, name)
        .with_namespace(namespace)
        .with("data", Value::Object(data.clone()))
}

/// The source's `data`; a ConfigMap without `data` (only `binaryData`, or
/// empty) gives empty copies instead of failing.
fn configmap_data(configmap: &Object) -> Result<Map<String, Value>> {
    match configmap.get("data") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(data)) => Ok(data.clone()),
        Some(other) => Err(format!(
            "the source ConfigMap {}/{} has a `data` field that is not an object ({other})",
            configmap.namespace().unwrap_or_default(),
            configmap.name()
        )
        .into()),
    }
}

/// A non-empty string at `spec.<field>`.
fn required_str<'a>(parent: &'a Object, field: &str) -> Result<&'a str> {
    parent
        .get_str(&format!("spec.{field}"))
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            format!(
                "GlobalConfigMap {:?}: spec.{field} is missing, empty or not a string; a spec \
                 looks like {{\"sourceName\": \"globalsettings\", \"sourceNamespace\": \
                 \"global\"}}",
                parent.name()
            )
            .into()
        })
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

    fn parent() -> Value {
        json!({
            "apiVersion": "examples.metacontroller.io/v1alpha1",
            "kind": "GlobalConfigMap",
            "metadata": {"name": "globalsettings", "uid": "u-1"},
            "spec": {"sourceName": "globalsettings", "sourceNamespace": "global"},
        })
    }

    fn source() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "globalsettings", "namespace": "global"},
            "data": {"some": "value", "other": "value"},
        })
    }

    fn namespace(name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
            "status": {"phase": "Active"},
        })
    }

    fn namespaces(names: &[&str]) -> Value {
        Value::Object(
            names
                .iter()
                .map(|name| (name.to_string(), namespace(name)))
                .collect(),
        )
    }

    fn request(children: Value, related: Value) -> Value {
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "globalconfigmap-controller"}},
            "parent": parent(),
            "children": {"ConfigMap.v1": children},
            "related": related,
            "finalizing": false,
        })
    }

    fn expected_copy(namespace: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "globalsettings", "namespace": namespace},
            "data": {"some": "value", "other": "value"},
        })
    }

    /// The test.sh path: a copy appears in first, second and third (and every
    /// other namespace), but not in the source namespace `global`.
    #[test]
    fn the_source_is_copied_into_every_other_namespace() {
        let related = json!({
            "ConfigMap.v1": {"global/globalsettings": source()},
            "Namespace.v1": namespaces(&["third", "first", "global", "second", "default"]),
        });
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(
            response,
            json!({
                "status": {"working": "fine"},
                "children": [
                    expected_copy("default"),
                    expected_copy("first"),
                    expected_copy("second"),
                    expected_copy("third"),
                ],
            })
        );
    }

    /// When the source ConfigMap is deleted, metacontroller sends an empty
    /// `ConfigMap.v1` group; the hook then wants no children, so the copies go.
    #[test]
    fn a_deleted_source_deletes_every_copy() {
        let children = json!({"first/globalsettings": expected_copy("first")});
        for related in [
            json!({"ConfigMap.v1": {}, "Namespace.v1": namespaces(&["first", "global"])}),
            json!({"Namespace.v1": namespaces(&["first"])}),
            json!({}),
        ] {
            let response = call("sync", &request(children.clone(), related.clone())).expect("sync");
            assert_eq!(
                response,
                json!({"status": {"working": "fine"}, "children": []}),
                "related = {related}"
            );
        }
    }

    #[test]
    fn terminating_namespaces_get_no_copy() {
        let mut deleting = namespace("leaving");
        deleting["metadata"]["deletionTimestamp"] = json!("2025-11-22T16:00:00Z");
        deleting["status"]["phase"] = json!("Terminating");
        let mut phase_only = namespace("going");
        phase_only["status"]["phase"] = json!("Terminating");
        let related = json!({
            "ConfigMap.v1": {"global/globalsettings": source()},
            "Namespace.v1": {"leaving": deleting, "going": phase_only, "staying": namespace("staying")},
        });
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(response["children"], json!([expected_copy("staying")]));
    }

    /// Hook v1 and v2 both key namespaced related objects of a cluster-scoped
    /// parent as `namespace/name` and Namespaces by name; the source is matched
    /// on its metadata, so a plain-name key works too.
    #[test]
    fn the_source_is_found_whatever_the_key_style() {
        for key in ["global/globalsettings", "globalsettings"] {
            let related = json!({
                "ConfigMap.v1": {key: source()},
                "Namespace.v1": namespaces(&["first"]),
            });
            let response = call("sync", &request(json!({}), related)).expect("sync");
            assert_eq!(
                response["children"],
                json!([expected_copy("first")]),
                "key {key}"
            );
        }
    }

    #[test]
    fn a_source_without_data_gives_empty_copies_and_no_namespaces_no_copies() {
        let mut bare = source();
        bare.as_object_mut().expect("object").remove("data");
        let related = json!({
            "ConfigMap.v1": {"global/globalsettings": bare},
            "Namespace.v1": namespaces(&["first"]),
        });
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(response["children"][0]["data"], json!({}));

        let related =
            json!({"ConfigMap.v1": {"global/globalsettings": source()}, "Namespace.v1": {}});
        let mut req = request(json!({}), related);
        req.as_object_mut().expect("object").remove("children");
        let response = call("sync", &req).expect("sync");
        assert_eq!(response["children"], json!([]));
    }

    #[test]
    fn customize_asks_for_the_source_and_all_namespaces() {
        let response =
            call("customize", &json!({"controller": {}, "parent": parent()})).expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [
                {"apiVersion": "v1", "resource": "configmaps", "namespace": "global", "names": ["globalsettings"]},
                {"apiVersion": "v1", "resource": "namespaces", "labelSelector": {}},
            ]})
        );
    }

    #[test]
    fn a_bad_spec_is_an_error_that_names_the_field() {
        let mut bad = parent();
        bad["spec"] = json!({"sourceNamespace": "global", "sourceName": 7});
        let err = call("customize", &json!({"parent": bad})).expect_err("bad spec");
        assert!(
            err.starts_with(
                "GlobalConfigMap \"globalsettings\": spec.sourceName is missing, empty or not a \
                 string"
            ),
            "{err}"
        );
        let mut req = request(json!({}), json!({}));
        req["parent"]["spec"] = json!({"sourceName": "globalsettings"});
        let err = call("sync", &req).expect_err("no namespace");
        assert!(err.contains("spec.sourceNamespace is missing"), "{err}");
        let err = call_raw("sync", b"{\"parent\": 3}").expect_err("not an object");
        assert!(err.starts_with("cannot read the sync request"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let response =
            call_raw("sync", include_bytes!("../requests/sync.json")).expect("sample sync");
        let namespaces: Vec<&str> = response["children"]
            .as_array()
            .expect("children")
            .iter()
            .filter_map(|child| child["metadata"]["namespace"].as_str())
            .collect();
        assert_eq!(
            namespaces,
            [
                "default",
                "first",
                "hookserver",
                "kube-node-lease",
                "kube-public",
                "kube-system",
                "metacontroller",
                "second",
                "third"
            ]
        );
        assert_eq!(response["children"][1], expected_copy("first"));
        assert_eq!(response["status"], json!({"working": "fine"}));
        let response = call_raw("customize", include_bytes!("../requests/customize.json"))
            .expect("sample customize");
        assert_eq!(response["relatedResources"][1]["resource"], "namespaces");
        assert_eq!(response["relatedResources"][0]["namespace"], "global");
    }
}
