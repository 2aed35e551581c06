//! Kubernetes objects as free-form JSON, with accessors for the fields hooks read most and
//! small builders for the objects they return.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One Kubernetes object, exactly as JSON: every field the API server sent is kept, and
/// serializing writes only fields that are set. Nothing is ever emitted as `null` unless
/// the hook put a `null` there, so returning an object never clears fields by accident
/// (the recreate loop of GoogleCloudPlatform/metacontroller#76).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Object(pub Map<String, Value>);

impl Object {
    /// A new object with `apiVersion`, `kind` and `metadata.name`.
    ///
    /// ```
    /// let pod = metahook::Object::new("v1", "Pod", "web-0")
    ///     .with_namespace("default")
    ///     .with_label("app", "web")
    ///     .with("spec", serde_json::json!({"containers": []}));
    /// assert_eq!(pod.name(), "web-0");
    /// assert_eq!(pod.label("app"), Some("web"));
    /// ```
    pub fn new(api_version: &str, kind: &str, name: &str) -> Self {
        let mut object = Object::default();
        object.set("apiVersion", api_version);
        object.set("kind", kind);
        object.set("metadata.name", name);
        object
    }

    /// The value at a dotted path (`spec.template.metadata`), if every step exists.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut steps = path.split('.');
        let mut value = self.0.get(steps.next()?)?;
        for step in steps {
            value = value.get(step)?;
        }
        Some(value)
    }

    /// The string at a dotted path, if it is a string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path)?.as_str()
    }

    /// The string at a dotted path, or an error naming the path: for fields a hook cannot
    /// do without.
    ///
    /// ```
    /// let parent = metahook::Object::new("example.com/v1", "Thing", "a");
    /// assert_eq!(parent.require_str("metadata.name").unwrap(), "a");
    /// assert_eq!(
    ///     parent.require_str("spec.image").unwrap_err().to_string(),
    ///     "Thing a: `spec.image` is missing or not a string"
    /// );
    /// ```
    pub fn require_str(&self, path: &str) -> crate::Result<&str> {
        self.get_str(path).ok_or_else(|| {
            format!(
                "{} {}: `{path}` is missing or not a string",
                self.kind(),
                self.qualified_name()
            )
            .into()
        })
    }

    /// The integer at a dotted path, if it is one.
    pub fn get_i64(&self, path: &str) -> Option<i64> {
        self.get(path)?.as_i64()
    }

    /// Sets the value at a dotted path, creating objects along the way (and replacing any
    /// non-object found there).
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        let mut steps: Vec<&str> = path.split('.').collect();
        let last = steps.pop().unwrap_or(path);
        let mut map = &mut self.0;
        for step in steps {
            let entry = map
                .entry(step.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            map = match entry {
                Value::Object(inner) => inner,
                _ => unreachable!("replaced by an object just above"),
            };
        }
        map.insert(last.to_string(), value.into());
    }

    /// Builder form of [`Object::set`].
    pub fn with(mut self, path: &str, value: impl Into<Value>) -> Self {
        self.set(path, value);
        self
    }

    pub fn with_namespace(self, namespace: &str) -> Self {
        self.with("metadata.namespace", namespace)
    }

    /// Adds one label (labels may contain dots, so this does not go through paths).
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.metadata_map("labels")
            .insert(key.to_string(), value.into());
        self
    }

    /// Adds one annotation.
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        self.metadata_map("annotations")
            .insert(key.to_string(), value.into());
        self
    }

    fn metadata_map(&mut self, field: &str) -> &mut Map<String, Value> {
        if !matches!(
            self.get(&format!("metadata.{field}")),
            Some(Value::Object(_))
        ) {
            self.set(&format!("metadata.{field}"), Map::new());
        }
        match self.0.get_mut("metadata").and_then(|m| m.get_mut(field)) {
            Some(Value::Object(map)) => map,
            _ => unreachable!("created just above"),
        }
    }

    pub fn api_version(&self) -> &str {
        self.get_str("apiVersion").unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.get_str("kind").unwrap_or_default()
    }

    /// `metadata.name`, or `""` when missing.
    pub fn name(&self) -> &str {
        self.get_str("metadata.name").unwrap_or_default()
    }

    /// `metadata.namespace`, or `None` for cluster-scoped objects.
    pub fn namespace(&self) -> Option<&str> {
        self.get_str("metadata.namespace")
    }

    /// `namespace/name`, or just the name for a cluster-scoped object.
    pub fn qualified_name(&self) -> String {
        match self.namespace() {
            Some(namespace) => format!("{namespace}/{}", self.name()),
            None => self.name().to_string(),
        }
    }

    /// The entry of `status.conditions` with this `type`.
    pub fn condition(&self, condition_type: &str) -> Option<&Value> {
        self.get("status.conditions")?
            .as_array()?
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(condition_type))
    }

    /// The `status` (`"True"`, `"False"`, `"Unknown"`) of a condition, if present.
    pub fn condition_status(&self, condition_type: &str) -> Option<&str> {
        self.condition(condition_type)?.get("status")?.as_str()
    }

    pub fn uid(&self) -> Option<&str> {
        self.get_str("metadata.uid")
    }

    /// Whether the object is being deleted (`metadata.deletionTimestamp` is set).
    pub fn is_deleting(&self) -> bool {
        self.get("metadata.deletionTimestamp")
            .is_some_and(|v| !v.is_null())
    }

    /// `metadata.labels` as strings (non-string values are skipped).
    pub fn labels(&self) -> BTreeMap<&str, &str> {
        self.string_map("metadata.labels")
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.get("metadata.labels")?.get(key)?.as_str()
    }

    /// `metadata.annotations` as strings.
    pub fn annotations(&self) -> BTreeMap<&str, &str> {
        self.string_map("metadata.annotations")
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.get("metadata.annotations")?.get(key)?.as_str()
    }

    fn string_map(&self, path: &str) -> BTreeMap<&str, &str> {
        self.get(path)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The object as a `serde_json::Value`.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

impl From<Map<String, Value>> for Object {
    fn from(map: Map<String, Value>) -> Self {
        Object(map)
    }
}

impl TryFrom<Value> for Object {
    type Error = Value;

    /// An object from a JSON object; any other value is given back.
    fn try_from(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(map) => Ok(Object(map)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_set_only_what_is_asked() {
        let svc = Object::new("v1", "Service", "web")
            .with("spec.selector.app", "web")
            .with_label("example.com/tier", "front");
        assert_eq!(
            serde_json::to_value(&svc).expect("serialize"),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "labels": {"example.com/tier": "front"}},
                "spec": {"selector": {"app": "web"}}
            })
        );
    }

    #[test]
    fn accessors_read_what_the_api_server_sent() {
        let object: Object = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "prod", "uid": "u-1",
                         "labels": {"app": "db", "n": 1},
                         "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"replicas": 3}
        }))
        .expect("object");
        assert_eq!(object.kind(), "StatefulSet");
        assert_eq!(object.namespace(), Some("prod"));
        assert_eq!(object.get_i64("spec.replicas"), Some(3));
        assert_eq!(object.labels().len(), 1, "non-string labels are skipped");
        assert!(object.is_deleting());
        assert_eq!(object.get("spec.missing.deeper"), None);
    }

    #[test]
    fn conditions_and_qualified_names() {
        let job: Object = serde_json::from_value(json!({
            "kind": "Job", "metadata": {"name": "j", "namespace": "ns"},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}
        }))
        .expect("object");
        assert_eq!(job.condition_status("Complete"), Some("True"));
        assert_eq!(job.condition_status("Failed"), None);
        assert_eq!(job.qualified_name(), "ns/j");
        assert_eq!(Object::new("v1", "Namespace", "x").qualified_name(), "x");
    }

    #[test]
    fn set_replaces_non_objects_on_the_way() {
        let mut object = Object::default().with("spec", 5);
        object.set("spec.replicas", 2);
        assert_eq!(object.get_i64("spec.replicas"), Some(2));
    }
}
