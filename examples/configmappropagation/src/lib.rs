//! Hook logic for the `configmappropagation` example: a Rust port of
//! metacontroller's ConfigMap propagation CompositeController, written with the
//! `metahook` SDK.
//!
//! A `ConfigMapPropagation` (`configmappropagations.examples.metacontroller.io`,
//! cluster-scoped) names one source ConfigMap (`spec.sourceNamespace`,
//! `spec.sourceName`) and a list of namespaces (`spec.targetNamespaces`). The
//! `customize` hook asks metacontroller for that one ConfigMap as a related
//! object; the `sync` hook then wants a copy of its `data` in every target
//! namespace, under the same name. When the source is gone, every copy is
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

/// The hook program: `sync` and `customize` (the original has no finalize hook).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).customize(customize)
}

/// The `customize` hook: ask for the source ConfigMap, by namespace and name.
pub fn customize(request: &CustomizeRequest) -> Result<CustomizeResponse> {
    let source = Source::of(&request.parent)?;
    Ok(CustomizeResponse::new(vec![
        RelatedResourceRule::new("v1", "configmaps")
            .namespace(source.namespace)
            .names([source.name]),
    ]))
}

/// The `sync` hook: one copy of the source's `data` per target namespace, or no
/// children at all (every copy is deleted) when the source is not among the
/// related objects.
///
/// Status: `expected_copies` is the number of copies the spec asks for,
/// `actual_copies` the number of ConfigMap children metacontroller observed.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let parent = &request.parent;
    let source = Source::of(parent)?;
    let targets = target_namespaces(parent, source.namespace)?;
    let status = json!({
        "expected_copies": targets.len(),
        "actual_copies": request.children.count(CONFIGMAP),
    });
    let children = match find_source(&request.related, &source) {
        Some(original) => {
            let data = configmap_data(original)?;
            targets
                .iter()
                .map(|namespace| copy(source.name, namespace, &data))
                .collect()
        }
        // The source was deleted (or is not visible yet): clean up the copies.
        None => Vec::new(),
    };
    Ok(CompositeResponse::new(children).with_status(status))
}

/// Where the propagated ConfigMap comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> Source<'a> {
    /// `spec.sourceNamespace` and `spec.sourceName` of a ConfigMapPropagation.
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

/// `spec.targetNamespaces`: each namespace once, in the order given, without
/// the source namespace (a "copy" there would be the source itself).
pub fn target_namespaces<'a>(parent: &'a Object, source_namespace: &str) -> Result<Vec<&'a str>> {
    let list = match parent.get("spec.targetNamespaces") {
        Some(Value::Array(list)) => list,
        Some(Value::Null) | None => {
            return Err(spec_error(
                parent,
                "spec.targetNamespaces is missing; list the namespaces to copy the ConfigMap \
                 into, e.g. [\"one\", \"two\"]",
            ));
        }
        Some(_) => {
            return Err(spec_error(
                parent,
                "spec.targetNamespaces is not a list; list the namespaces to copy the \
                 ConfigMap into, e.g. [\"one\", \"two\"]",
            ));
        }
    };
    let mut targets: Vec<&str> = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let namespace = entry.as_str().filter(|ns| !ns.is_empty()).ok_or_else(|| {
            spec_error(
                parent,
                &format!(
                    "spec.targetNamespaces[{index}] is {entry}; every entry must be a \
                     namespace name"
                ),
            )
        })?;
        if namespace != source_namespace && !targets.contains(&namespace) {
            targets.push(namespace);
        }
    }
    Ok(targets)
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
            spec_error(
                parent,
                &format!("spec.{field} is missing, empty or not a string"),
            )
        })
}

fn spec_error(parent: &Object, problem: &str) -> metahook::Error {
    format!(
        "ConfigMapPropagation {:?}: {problem}; a spec looks like {{\"sourceName\": \
         \"settings\", \"sourceNamespace\": \"original\", \"targetNamespaces\": [\"one\"]}}",
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

    fn parent(spec: Value) -> Value {
        json!({
            "apiVersion": "examples.metacontroller.io/v1alpha1",
            "kind": "ConfigMapPropagation",
            "metadata": {"name": "settings-propagation", "uid": "u-1", "labels": {"version": "v1"}},
            "spec": spec,
        })
    }

    fn spec() -> Value {
        json!({
            "sourceName": "settings",
            "sourceNamespace": "original",
            "targetNamespaces": ["one", "two", "three"],
        })
    }

    fn configmap(namespace: &str, name: &str, data: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("{namespace}-{name}")},
            "data": data,
        })
    }

    fn source() -> Value {
        configmap(
            "original",
            "settings",
            json!({"some": "value", "other": "value"}),
        )
    }

    fn request(spec: Value, children: Value, related: Value) -> Value {
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "configmap-propagation-controller"}},
            "parent": parent(spec),
            "children": {"ConfigMap.v1": children},
            "related": related,
            "finalizing": false,
        })
    }

    fn expected_copy(namespace: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"some": "value", "other": "value"},
        })
    }

    /// The test.sh path: the source exists and nothing was copied yet; a copy
    /// appears in `one`, `two` and `three`.
    #[test]
    fn first_sync_copies_the_source_into_every_target_namespace() {
        let related = json!({"ConfigMap.v1": {"original/settings": source()}});
        let response = call("sync", &request(spec(), json!({}), related)).expect("sync");
        assert_eq!(
            response,
            json!({
                "status": {"expected_copies": 3, "actual_copies": 0},
                "children": [expected_copy("one"), expected_copy("two"), expected_copy("three")],
            })
        );
    }

    #[test]
    fn observed_copies_are_counted_and_kept() {
        let children = json!({
            "one/settings": configmap("one", "settings", json!({"some": "value"})),
            "two/settings": configmap("two", "settings", json!({"some": "value"})),
        });
        let related = json!({"ConfigMap.v1": {"original/settings": source()}});
        let response = call("sync", &request(spec(), children, related)).expect("sync");
        assert_eq!(
            response["status"],
            json!({"expected_copies": 3, "actual_copies": 2})
        );
        assert_eq!(response["children"].as_array().map(Vec::len), Some(3));
    }

    /// When the source ConfigMap is deleted, metacontroller sends an empty
    /// `ConfigMap.v1` group; the hook then wants no children, so the copies go.
    #[test]
    fn a_deleted_source_deletes_every_copy() {
        let children = json!({"one/settings": configmap("one", "settings", json!({}))});
        for related in [json!({"ConfigMap.v1": {}}), json!({}), Value::Null] {
            let mut req = request(spec(), children.clone(), related.clone());
            if related.is_null() {
                req.as_object_mut().expect("object").remove("related");
            }
            let response = call("sync", &req).expect("sync");
            assert_eq!(response["children"], json!([]), "related = {related}");
            assert_eq!(
                response["status"],
                json!({"expected_copies": 3, "actual_copies": 1})
            );
        }
    }

    /// Only the named source counts: another ConfigMap in the related map (or
    /// one with the right name in another namespace) is not copied.
    #[test]
    fn only_the_named_source_is_copied() {
        let related = json!({"ConfigMap.v1": {
            "original/other": configmap("original", "other", json!({"x": "y"})),
            "elsewhere/settings": configmap("elsewhere", "settings", json!({"x": "y"})),
        }});
        let response = call("sync", &request(spec(), json!({}), related)).expect("sync");
        assert_eq!(response["children"], json!([]));
    }

    /// Hook v1 and v2 both key namespaced related objects of a cluster-scoped
    /// parent as `namespace/name`; a plain-name key is found all the same,
    /// because the source is matched on its metadata.
    #[test]
    fn the_source_is_found_whatever_the_key_style() {
        for key in ["original/settings", "settings"] {
            let related = json!({"ConfigMap.v1": {key: source()}});
            let response = call("sync", &request(spec(), json!({}), related)).expect("sync");
            assert_eq!(
                response["children"].as_array().map(Vec::len),
                Some(3),
                "key {key}"
            );
        }
    }

    #[test]
    fn the_source_namespace_and_repeated_namespaces_get_no_extra_copy() {
        let spec = json!({
            "sourceName": "settings",
            "sourceNamespace": "original",
            "targetNamespaces": ["one", "original", "one", "two"],
        });
        let related = json!({"ConfigMap.v1": {"original/settings": source()}});
        let response = call("sync", &request(spec, json!({}), related)).expect("sync");
        assert_eq!(
            response["children"],
            json!([expected_copy("one"), expected_copy("two")])
        );
        assert_eq!(response["status"]["expected_copies"], 2);
    }

    #[test]
    fn a_source_without_data_gives_empty_copies() {
        let mut bare = source();
        bare.as_object_mut().expect("object").remove("data");
        let related = json!({"ConfigMap.v1": {"original/settings": bare}});
        let response = call("sync", &request(spec(), json!({}), related)).expect("sync");
        assert_eq!(response["children"][0]["data"], json!({}));
        assert_eq!(response["children"][2]["metadata"]["namespace"], "three");
    }

    #[test]
    fn no_target_namespaces_means_no_copies() {
        let spec = json!({"sourceName": "settings", "sourceNamespace": "original", "targetNamespaces": []});
        let related = json!({"ConfigMap.v1": {"original/settings": source()}});
        let mut req = request(spec, json!({}), related);
        req.as_object_mut().expect("object").remove("children");
        let response = call("sync", &req).expect("sync");
        assert_eq!(
            response,
            json!({"status": {"expected_copies": 0, "actual_copies": 0}, "children": []})
        );
    }

    #[test]
    fn customize_asks_for_the_source_by_namespace_and_name() {
        let response = call(
            "customize",
            &json!({"controller": {}, "parent": parent(spec())}),
        )
        .expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [{
                "apiVersion": "v1",
                "resource": "configmaps",
                "namespace": "original",
                "names": ["settings"],
            }]})
        );
    }

    #[test]
    fn a_bad_spec_is_an_error_that_names_the_field() {
        let related = json!({"ConfigMap.v1": {"original/settings": source()}});
        let cases = [
            (
                json!({"sourceNamespace": "original", "targetNamespaces": ["one"]}),
                "spec.sourceName is missing",
            ),
            (
                json!({"sourceName": "settings", "sourceNamespace": "", "targetNamespaces": []}),
                "spec.sourceNamespace is missing, empty",
            ),
            (
                json!({"sourceName": "settings", "sourceNamespace": "original"}),
                "spec.targetNamespaces is missing",
            ),
            (
                json!({"sourceName": "settings", "sourceNamespace": "original", "targetNamespaces": "one"}),
                "spec.targetNamespaces is not a list",
            ),
            (
                json!({"sourceName": "settings", "sourceNamespace": "original", "targetNamespaces": ["one", 2]}),
                "spec.targetNamespaces[1] is 2",
            ),
        ];
        for (spec, expected) in cases {
            let err = call("sync", &request(spec.clone(), json!({}), related.clone()))
                .expect_err("a bad spec fails");
            assert!(
                err.starts_with("ConfigMapPropagation \"settings-propagation\": "),
                "{err}"
            );
            assert!(err.contains(expected), "{spec}: {err}");
        }
        let err = call("customize", &json!({"parent": parent(json!({}))})).expect_err("no spec");
        assert!(err.contains("spec.sourceNamespace is missing"), "{err}");
    }

    #[test]
    fn input_that_is_no_request_is_rejected() {
        let err = call_raw("sync", b"{}").expect_err("no parent");
        assert!(err.contains("missing field `parent`"), "{err}");
        let err = call_raw("finalize", b"{}").expect_err("no finalize hook");
        assert!(err.contains("does not implement `finalize`"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let response =
            call_raw("sync", include_bytes!("../requests/sync.json")).expect("sample sync");
        assert_eq!(
            response,
            json!({
                "status": {"expected_copies": 3, "actual_copies": 2},
                "children": [expected_copy("one"), expected_copy("two"), expected_copy("three")],
            })
        );
        let response = call_raw("customize", include_bytes!("../requests/customize.json"))
            .expect("sample customize");
        assert_eq!(
            response["relatedResources"],
            json!([{"apiVersion": "v1", "resource": "configmaps", "namespace": "original", "names": ["settings"]}])
        );
    }
}
