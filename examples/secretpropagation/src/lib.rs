//! Hook logic for the `secretpropagation` example: a Rust port of
//! metacontroller's Secret propagation CompositeController, written with the
//! `metahook` SDK.
//!
//! A `SecretPropagation` (`secretpropagations.examples.metacontroller.io`,
//! cluster-scoped) names one source Secret (`spec.sourceNamespace`,
//! `spec.sourceName`) and a label selector for namespaces
//! (`spec.targetNamespaceLabelSelector`). The `customize` hook asks
//! metacontroller for that Secret and for the Namespaces matching the selector
//! as related objects; the `sync` hook then wants a copy of the Secret in every
//! one of those namespaces except the source's own, under the same name. When
//! the source is gone, every copy is deleted.
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
pub const SECRET: &str = "Secret";

/// Kind of the related objects the copies go into.
pub const NAMESPACE: &str = "Namespace";

/// The hook program: `sync` and `customize` (the original has no finalize hook).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).customize(customize)
}

/// The `customize` hook: the source Secret by namespace and name, and the
/// Namespaces that match `spec.targetNamespaceLabelSelector`.
pub fn customize(request: &CustomizeRequest) -> Result<CustomizeResponse> {
    let parent = &request.parent;
    let source = Source::of(parent)?;
    let selector = target_selector(parent)?;
    Ok(CustomizeResponse::new(vec![
        RelatedResourceRule::new("v1", "secrets")
            .namespace(source.namespace)
            .names([source.name]),
        RelatedResourceRule::new("v1", "namespaces").label_selector(selector.clone()),
    ]))
}

/// The `sync` hook: one copy of the source Secret in every related (that is,
/// selected) namespace except the source's own, or no children at all (every
/// copy is deleted) when the source is not among the related objects.
///
/// Status: `{"working": "fine"}`, as in the original.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let source = Source::of(&request.parent)?;
    let children = match find_source(&request.related, &source) {
        Some(original) => {
            let contents = SecretContents::of(original)?;
            target_namespaces(&request.related, source.namespace)
                .into_iter()
                .map(|namespace| copy(source.name, namespace, &contents))
                .collect()
        }
        // The source was deleted (or is not visible yet): clean up the copies.
        None => Vec::new(),
    };
    Ok(CompositeResponse::new(children).with_status(json!({"working": "fine"})))
}

/// Where the propagated Secret comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> Source<'a> {
    /// `spec.sourceNamespace` and `spec.sourceName` of a SecretPropagation.
    pub fn of(parent: &'a Object) -> Result<Self> {
        Ok(Source {
            namespace: required_str(parent, "sourceNamespace")?,
            name: required_str(parent, "sourceName")?,
        })
    }
}

/// `spec.targetNamespaceLabelSelector`, passed to metacontroller as is. It is
/// required: without a selector metacontroller would select every namespace,
/// and a Secret should only go where it is asked for. `{}` selects every
/// namespace on purpose.
pub fn target_selector(parent: &Object) -> Result<&Value> {
    match parent.get("spec.targetNamespaceLabelSelector") {
        Some(selector @ Value::Object(_)) => Ok(selector),
        None | Some(Value::Null) => Err(spec_error(
            parent,
            "spec.targetNamespaceLabelSelector is missing; set it to a label selector such as \
             {\"matchLabels\": {\"propagate\": \"true\"}}, or to {} to copy the Secret into \
             every namespace",
        )),
        Some(other) => Err(spec_error(
            parent,
            &format!(
                "spec.targetNamespaceLabelSelector is {other}, not a label selector such as \
                 {{\"matchLabels\": {{\"propagate\": \"true\"}}}}"
            ),
        )),
    }
}

/// The source Secret among the related objects, whatever the key style
/// (`namespace/name` for this cluster-scoped parent in hook v1 and v2 alike).
pub fn find_source<'a>(related: &'a ObjectMap, source: &Source<'_>) -> Option<&'a Object> {
    related.get(SECRET, &format!("{}/{}", source.namespace, source.name))
}

/// Names of the related namespaces that get a copy: all but the source
/// namespace and namespaces that are being deleted (no object can be created
/// in those), sorted by name. Metacontroller only sends the namespaces that
/// match the selector.
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

/// What a copy takes from the source: `data` and `type`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretContents<'a> {
    pub data: Map<String, Value>,
    pub secret_type: Option<&'a str>,
}

impl<'a> SecretContents<'a> {
    /// The source's `data` (empty when it has none) and `type`.
    pub fn of(secret: &'a Object) -> Result<Self> {
        let data = match secret.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data.clone(),
            Some(other) => {
                return Err(format!(
                    "the source Secret {}/{} has a `data` field that is not an object ({other})",
                    secret.namespace().unwrap_or_default(),
                    secret.name()
                )
                .into());
            }
        };
        Ok(SecretContents {
            data,
            secret_type: secret.get_str("type").filter(|t| !t.is_empty()),
        })
    }
}

/// A copy of the source: same name, target namespace, the source's `data` and
/// `type`. Only these fields are set (apply semantics): metacontroller adds the
/// `controller-uid` label and the owner reference.
pub fn copy(name: &str, namespace: &str, contents: &SecretContents<'_>) -> Object {
    let secret = Object::new("v1", SECRET, name)
        .with_namespace(namespace)
        .with("data", Value::Object(contents.data.clone()));
    match contents.secret_type {
        Some(secret_type) => secret.with("type", secret_type),
        None => secret,
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
        "SecretPropagation {:?}: {problem}; a spec looks like {{\"sourceName\": \"shareable\", \
         \"sourceNamespace\": \"omega\", \"targetNamespaceLabelSelector\": {{\"matchLabels\": \
         {{\"propagate\": \"true\"}}}}}}",
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
            "kind": "SecretPropagation",
            "metadata": {"name": "secret-propagation", "uid": "u-1"},
            "spec": spec,
        })
    }

    fn spec() -> Value {
        json!({
            "sourceName": "shareable",
            "sourceNamespace": "omega",
            "targetNamespaceLabelSelector": {"matchLabels": {"propagate": "true"}},
        })
    }

    fn source() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "shareable", "namespace": "omega"},
            "data": {"some": "dmFsdWUK", "other": "dmFsdWUK"},
            "type": "Opaque",
        })
    }

    fn namespace(name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"propagate": "true"}},
            "status": {"phase": "Active"},
        })
    }

    fn request(children: Value, related: Value) -> Value {
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "secret-propagation-controller"}},
            "parent": parent(spec()),
            "children": {"Secret.v1": children},
            "related": related,
            "finalizing": false,
        })
    }

    fn expected_copy(namespace: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "shareable", "namespace": namespace},
            "data": {"some": "dmFsdWUK", "other": "dmFsdWUK"},
            "type": "Opaque",
        })
    }

    /// The test.sh path: the selector matched alpha and beta (not gamma, which
    /// metacontroller therefore does not send); each gets a copy.
    #[test]
    fn the_secret_is_copied_into_each_selected_namespace() {
        let related = json!({
            "Secret.v1": {"omega/shareable": source()},
            "Namespace.v1": {"beta": namespace("beta"), "alpha": namespace("alpha")},
        });
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(
            response,
            json!({
                "status": {"working": "fine"},
                "children": [expected_copy("alpha"), expected_copy("beta")],
            })
        );
    }

    #[test]
    fn the_source_namespace_and_terminating_namespaces_get_no_copy() {
        let mut leaving = namespace("leaving");
        leaving["metadata"]["deletionTimestamp"] = json!("2025-11-22T16:00:00Z");
        let related = json!({
            "Secret.v1": {"omega/shareable": source()},
            "Namespace.v1": {"omega": namespace("omega"), "leaving": leaving, "alpha": namespace("alpha")},
        });
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(response["children"], json!([expected_copy("alpha")]));
    }

    /// When the source Secret is deleted, metacontroller sends an empty
    /// `Secret.v1` group; the hook then wants no children, so the copies go.
    #[test]
    fn a_deleted_source_deletes_every_copy() {
        let children = json!({"alpha/shareable": expected_copy("alpha")});
        for related in [
            json!({"Secret.v1": {}, "Namespace.v1": {"alpha": namespace("alpha")}}),
            json!({}),
        ] {
            let response = call("sync", &request(children.clone(), related.clone())).expect("sync");
            assert_eq!(response["children"], json!([]), "related = {related}");
            assert_eq!(response["status"], json!({"working": "fine"}));
        }
    }

    #[test]
    fn the_type_is_copied_and_a_missing_type_or_data_is_left_out() {
        let mut tls = source();
        tls["type"] = json!("kubernetes.io/tls");
        tls["data"] = json!({"tls.crt": "Y2VydA==", "tls.key": "a2V5"});
        let related = json!({"Secret.v1": {"omega/shareable": tls}, "Namespace.v1": {"alpha": namespace("alpha")}});
        let response = call("sync", &request(json!({}), related)).expect("sync");
        assert_eq!(response["children"][0]["type"], "kubernetes.io/tls");
        assert_eq!(
            response["children"][0]["data"],
            json!({"tls.crt": "Y2VydA==", "tls.key": "a2V5"})
        );

        let mut bare = source();
        let object = bare.as_object_mut().expect("object");
        object.remove("type");
        object.remove("data");
        let related = json!({"Secret.v1": {"omega/shareable": bare}, "Namespace.v1": {"alpha": namespace("alpha")}});
        let mut req = request(json!({}), related);
        req.as_object_mut().expect("object").remove("children");
        let response = call("sync", &req).expect("sync");
        assert_eq!(
            response["children"],
            json!([{"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "shareable", "namespace": "alpha"}, "data": {}}])
        );
    }

    /// The source is matched on its metadata, so the v1/v2 `namespace/name`
    /// key and a plain-name key both work.
    #[test]
    fn the_source_is_found_whatever_the_key_style() {
        for key in ["omega/shareable", "shareable"] {
            let related = json!({
                "Secret.v1": {key: source()},
                "Namespace.v1": {"alpha": namespace("alpha")},
            });
            let response = call("sync", &request(json!({}), related)).expect("sync");
            assert_eq!(
                response["children"],
                json!([expected_copy("alpha")]),
                "key {key}"
            );
        }
    }

    #[test]
    fn customize_asks_for_the_source_and_the_selected_namespaces() {
        let response = call(
            "customize",
            &json!({"controller": {}, "parent": parent(spec())}),
        )
        .expect("customize");
        assert_eq!(
            response,
            json!({"relatedResources": [
                {"apiVersion": "v1", "resource": "secrets", "namespace": "omega", "names": ["shareable"]},
                {"apiVersion": "v1", "resource": "namespaces", "labelSelector": {"matchLabels": {"propagate": "true"}}},
            ]})
        );

        let mut everywhere = spec();
        everywhere["targetNamespaceLabelSelector"] = json!({});
        let response = call("customize", &json!({"parent": parent(everywhere)})).expect("{}");
        assert_eq!(response["relatedResources"][1]["labelSelector"], json!({}));
    }

    #[test]
    fn a_missing_or_bad_selector_or_source_is_an_error() {
        let cases = [
            (
                json!({"sourceName": "shareable", "sourceNamespace": "omega"}),
                "spec.targetNamespaceLabelSelector is missing",
            ),
            (
                json!({"sourceName": "shareable", "sourceNamespace": "omega", "targetNamespaceLabelSelector": null}),
                "spec.targetNamespaceLabelSelector is missing",
            ),
            (
                json!({"sourceName": "shareable", "sourceNamespace": "omega", "targetNamespaceLabelSelector": "propagate=true"}),
                "spec.targetNamespaceLabelSelector is \"propagate=true\", not a label selector",
            ),
            (
                json!({"sourceNamespace": "omega", "targetNamespaceLabelSelector": {}}),
                "spec.sourceName is missing",
            ),
        ];
        for (spec, expected) in cases {
            let err = call("customize", &json!({"parent": parent(spec.clone())}))
                .expect_err("a bad spec fails");
            assert!(
                err.starts_with("SecretPropagation \"secret-propagation\": "),
                "{err}"
            );
            assert!(err.contains(expected), "{spec}: {err}");
        }
        let mut req = request(json!({}), json!({}));
        req["parent"]["spec"] = json!({"sourceName": "shareable"});
        let err = call("sync", &req).expect_err("no source namespace");
        assert!(err.contains("spec.sourceNamespace is missing"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let response =
            call_raw("sync", include_bytes!("../requests/sync.json")).expect("sample sync");
        assert_eq!(
            response,
            json!({
                "status": {"working": "fine"},
                "children": [expected_copy("alpha"), expected_copy("beta")],
            })
        );
        let response = call_raw("customize", include_bytes!("../requests/customize.json"))
            .expect("sample customize");
        assert_eq!(
            response["relatedResources"][1],
            json!({"apiVersion": "v1", "resource": "namespaces",
                   "labelSelector": {"matchLabels": {"propagate": "true"}}})
        );
    }
}
