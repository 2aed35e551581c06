//! Builds requests exactly as metacontroller sends them, from a parent, its children and
//! related objects, so cases stay short and correct: the whole controller object, a parent
//! with full metadata (uid, resourceVersion, generation, creationTimestamp, managedFields),
//! children keyed the v1 or v2 way, and every declared child type present even when empty.
//!
//! ```json
//! "generate": {
//!   "parent": {"apiVersion": "example.com/v1", "kind": "HelloWorld",
//!              "metadata": {"name": "hi", "namespace": "default"}, "spec": {"who": "you"}},
//!   "childTypes": ["Pod.v1"],
//!   "children": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hi"}}]
//! }
//! ```

use std::collections::BTreeMap;

use metahook::{CompositeRequest, CustomizeRequest, DecoratorRequest, Object, ObjectMap, type_key};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What to build a request from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generate {
    /// `CompositeController` (default) or `DecoratorController`.
    #[serde(default = "composite")]
    pub controller: String,
    /// Hook version: `v1` (default) or `v2`; decides how objects are keyed.
    #[serde(default = "v1")]
    pub hook_version: String,
    /// The controller's name (default `test-controller`).
    #[serde(default)]
    pub name: Option<String>,
    /// The parent (for a decorator: the decorated object). Missing metadata is filled in.
    pub parent: Object,
    /// Declared child (attachment) types, like `Pod.v1`; types of listed children are
    /// declared automatically.
    #[serde(default)]
    pub child_types: Vec<String>,
    /// Observed children.
    #[serde(default)]
    pub children: Vec<Object>,
    /// Many similar children: `{i}` in any string of the template becomes 0..count.
    #[serde(default)]
    pub bulk: Vec<Bulk>,
    /// Declared related types and related objects (from a customize hook).
    #[serde(default)]
    pub related_types: Vec<String>,
    #[serde(default)]
    pub related: Vec<Object>,
    /// Whether the parent is being deleted; default: true for the finalize hook.
    #[serde(default)]
    pub finalizing: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    pub template: Value,
    pub count: usize,
}

fn composite() -> String {
    "CompositeController".to_string()
}

fn v1() -> String {
    "v1".to_string()
}

const CREATED: &str = "2024-05-01T10:00:00Z";

impl Generate {
    /// The request for hook `kind`.
    pub fn build(&self, kind: &str) -> Result<Value, String> {
        let decorator = match self.controller.as_str() {
            "CompositeController" => false,
            "DecoratorController" => true,
            other => {
                return Err(format!(
                    "generate.controller {other:?}: expected CompositeController or \
                     DecoratorController"
                ));
            }
        };
        if !["v1", "v2"].contains(&self.hook_version.as_str()) {
            return Err(format!(
                "generate.hookVersion {:?}: expected v1 or v2",
                self.hook_version
            ));
        }
        if self.parent.name().is_empty() || self.parent.kind().is_empty() {
            return Err("generate.parent needs apiVersion, kind and metadata.name".to_string());
        }
        let finalizing = self.finalizing.unwrap_or(kind == "finalize");
        let controller_name = self.name.clone().unwrap_or("test-controller".to_string());
        let parent = complete_parent(&self.parent, &controller_name, decorator, finalizing);

        let mut children = self.children.clone();
        for bulk in &self.bulk {
            for i in 0..bulk.count {
                let object = substitute(&bulk.template, &i.to_string());
                children.push(
                    Object::try_from(object)
                        .map_err(|_| "generate.bulk.template must be an object".to_string())?,
                );
            }
        }
        let children: Vec<Object> = children
            .iter()
            .map(|child| complete_child(child, &parent, true))
            .collect();
        let child_types = declared_types(&self.child_types, &children);
        let related: Vec<Object> = self
            .related
            .iter()
            .map(|object| complete_child(object, &parent, false))
            .collect();
        let related_types = declared_types(&self.related_types, &related);

        let v2 = self.hook_version == "v2";
        let controller = controller_object(
            &controller_name,
            decorator,
            &self.hook_version,
            &parent,
            &child_types,
        );
        let children = object_map(&child_types, &children, &parent, v2);
        let related = object_map(&related_types, &related, &parent, v2);

        let request = if kind == "customize" {
            serde_json::to_value(CustomizeRequest { controller, parent })
        } else if decorator {
            serde_json::to_value(DecoratorRequest {
                controller,
                object: parent,
                attachments: children,
                related,
                finalizing,
            })
        } else {
            serde_json::to_value(CompositeRequest {
                controller,
                parent,
                children,
                related,
                finalizing,
            })
        };
        request.map_err(|e| e.to_string())
    }
}

/// A stable, UUID-shaped id for an object, so generated requests are reproducible.
fn uid(seed: &str) -> String {
    let hex = hex::encode(Sha256::digest(seed.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn complete_parent(parent: &Object, controller: &str, decorator: bool, finalizing: bool) -> Object {
    let mut parent = parent.clone();
    let seed = format!("{}/{}", parent.kind(), parent.qualified_name());
    set_default(&mut parent, "metadata.uid", json!(uid(&seed)));
    set_default(&mut parent, "metadata.resourceVersion", json!("1000"));
    set_default(&mut parent, "metadata.generation", json!(1));
    set_default(&mut parent, "metadata.creationTimestamp", json!(CREATED));
    let api_version = parent.api_version().to_string();
    set_default(
        &mut parent,
        "metadata.managedFields",
        json!([{
            "apiVersion": api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {}},
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "time": CREATED
        }]),
    );
    if finalizing {
        let kind = if decorator {
            "decoratorcontroller"
        } else {
            "compositecontroller"
        };
        set_default(
            &mut parent,
            "metadata.deletionTimestamp",
            json!("2024-05-01T11:00:00Z"),
        );
        set_default(
            &mut parent,
            "metadata.finalizers",
            json!([format!("metacontroller.io/{kind}-{controller}")]),
        );
    }
    parent
}

/// Fills in an observed object's metadata. Only owned children inherit the parent's
/// namespace: related objects may be cluster-scoped (a Namespace), so theirs is taken as
/// written.
fn complete_child(child: &Object, parent: &Object, owned: bool) -> Object {
    let mut child = child.clone();
    if owned
        && child.namespace().is_none()
        && let Some(namespace) = parent.namespace()
    {
        child.set("metadata.namespace", namespace);
    }
    let seed = format!("{}/{}", child.kind(), child.qualified_name());
    set_default(&mut child, "metadata.uid", json!(uid(&seed)));
    set_default(&mut child, "metadata.resourceVersion", json!("1001"));
    set_default(&mut child, "metadata.creationTimestamp", json!(CREATED));
    if owned {
        set_default(
            &mut child,
            "metadata.ownerReferences",
            json!([{
                "apiVersion": parent.api_version(),
                "kind": parent.kind(),
                "name": parent.name(),
                "uid": parent.uid().unwrap_or_default(),
                "controller": true,
                "blockOwnerDeletion": true
            }]),
        );
    }
    child
}

fn set_default(object: &mut Object, path: &str, value: Value) {
    if object.get(path).is_none() {
        object.set(path, value);
    }
}

fn substitute(template: &Value, index: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace("{i}", index)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, index)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, index)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn declared_types(declared: &[String], objects: &[Object]) -> Vec<String> {
    let mut types: Vec<String> = declared.to_vec();
    for object in objects {
        let key = type_key(object.api_version(), object.kind());
        if !types.contains(&key) {
            types.push(key);
        }
    }
    types
}

/// The object map with every declared type present, keyed as `hook_version` says.
fn object_map(types: &[String], objects: &[Object], parent: &Object, v2: bool) -> ObjectMap {
    let mut map: BTreeMap<String, BTreeMap<String, Object>> =
        types.iter().map(|t| (t.clone(), BTreeMap::new())).collect();
    let parent_cluster_scoped = parent.namespace().is_none();
    for object in objects {
        let key = match object.namespace() {
            Some(namespace) if v2 || parent_cluster_scoped => {
                format!("{namespace}/{}", object.name())
            }
            _ => object.name().to_string(),
        };
        map.entry(type_key(object.api_version(), object.kind()))
            .or_default()
            .insert(key, object.clone());
    }
    ObjectMap(map)
}

/// `Pod` -> `pods`, `Ingress` -> `ingresses`, `Policy` -> `policies`.
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') || lower.ends_with('x') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

fn resource_rule(type_key: &str) -> Value {
    let (kind, api_version) = type_key.split_once('.').unwrap_or((type_key, "v1"));
    json!({"apiVersion": api_version, "resource": plural(kind)})
}

fn controller_object(
    name: &str,
    decorator: bool,
    hook_version: &str,
    parent: &Object,
    child_types: &[String],
) -> Value {
    let hook = |kind: &str| {
        json!({
            "version": hook_version,
            "webhook": {"url": format!("http://hookserver.hookserver/hooks/{name}/{kind}")}
        })
    };
    let hooks =
        json!({"sync": hook("sync"), "finalize": hook("finalize"), "customize": hook("customize")});
    let parent_rule =
        json!({"apiVersion": parent.api_version(), "resource": plural(parent.kind())});
    let children: Vec<Value> = child_types.iter().map(|t| resource_rule(t)).collect();
    let (kind, spec) = if decorator {
        (
            "DecoratorController",
            json!({"resources": [parent_rule], "attachments": children, "hooks": hooks}),
        )
    } else {
        (
            "CompositeController",
            json!({"parentResource": parent_rule, "childResources": children,
                   "generateSelector": true, "hooks": hooks}),
        )
    };
    json!({
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "uid": uid(&format!("{kind}/{name}")),
                     "resourceVersion": "500", "generation": 1,
                     "creationTimestamp": CREATED},
        "spec": spec,
        "status": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(value: Value) -> Generate {
        serde_json::from_value(value).expect("generate")
    }

    #[test]
    fn composite_requests_look_like_metacontrollers() {
        let request = generate(json!({
            "parent": {"apiVersion": "example.com/v1", "kind": "HelloWorld",
                       "metadata": {"name": "hi", "namespace": "default"}},
            "childTypes": ["Pod.v1", "Service.v1"],
            "children": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hi"}}]
        }))
        .build("sync")
        .expect("request");
        assert_eq!(request["finalizing"], false);
        assert_eq!(
            request["controller"]["spec"]["parentResource"]["resource"],
            "helloworlds"
        );
        assert!(request["parent"]["metadata"]["uid"].is_string());
        assert!(request["parent"]["metadata"]["managedFields"].is_array());
        assert_eq!(request["children"]["Service.v1"], json!({}));
        let pod = &request["children"]["Pod.v1"]["hi"];
        assert_eq!(pod["metadata"]["namespace"], "default");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(request["related"], json!({}));
    }

    #[test]
    fn related_objects_keep_the_namespace_they_were_given() {
        let request = generate(json!({
            "hookVersion": "v2",
            "parent": {"apiVersion": "example.com/v1", "kind": "NamespaceList",
                       "metadata": {"name": "l", "namespace": "ns"}},
            "related": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}]
        }))
        .build("sync")
        .expect("request");
        let namespace = &request["related"]["Namespace.v1"]["default"];
        assert_eq!(namespace["metadata"]["name"], "default");
        assert!(namespace["metadata"].get("namespace").is_none());
        assert!(namespace["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn keys_follow_the_hook_version_and_parent_scope() {
        let spec = |version: &str, namespace: Option<&str>| {
            let mut parent = json!({"apiVersion": "example.com/v1", "kind": "Thing",
                                    "metadata": {"name": "p"}});
            if let Some(ns) = namespace {
                parent["metadata"]["namespace"] = json!(ns);
            }
            generate(json!({"hookVersion": version, "parent": parent,
                            "children": [{"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "c", "namespace": "x"}}]}))
            .build("sync")
            .expect("request")
        };
        let keys = |request: Value| -> Vec<String> {
            request["children"]["ConfigMap.v1"]
                .as_object()
                .expect("map")
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(spec("v1", Some("x"))), ["c"]);
        assert_eq!(keys(spec("v1", None)), ["x/c"], "cluster-scoped parent");
        assert_eq!(keys(spec("v2", Some("x"))), ["x/c"]);
    }

    #[test]
    fn decorators_customize_finalize_and_bulk() {
        let base = json!({"controller": "DecoratorController",
                          "parent": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"}},
                          "childTypes": ["Service.v1"],
                          "bulk": [{"template": {"apiVersion": "v1", "kind": "Service",
                                                 "metadata": {"name": "s-{i}"}}, "count": 3}]});
        let request = generate(base.clone()).build("finalize").expect("request");
        assert_eq!(request["finalizing"], true);
        assert!(request["object"]["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(
            request["attachments"]["Service.v1"]
                .as_object()
                .map(|m| m.len()),
            Some(3)
        );
        assert_eq!(request["controller"]["kind"], "DecoratorController");
        let customize = generate(base).build("customize").expect("request");
        assert_eq!(
            customize
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["controller".to_string(), "parent".to_string()])
        );
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Gateway"), "gateways");
    }
}
