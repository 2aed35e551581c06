//! Metacontroller's object maps: `children`, `attachments` and `related` in requests.
//!
//! The outer key is the type, `Kind.version` for the core group (`Pod.v1`) and
//! `Kind.group/version` otherwise (`StatefulSet.apps/v1`). The inner key is the object's
//! name in hook version v1, except `namespace/name` for namespaced objects of a
//! cluster-scoped parent; in v2 it is `namespace/name` for every namespaced object. The
//! helpers here look objects up by kind and name whatever the version and key style.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Object;

/// Objects by type key, then by name key. Every declared type is present, even when empty.
/// A `null` map, or a `null` group inside it, reads as empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ObjectMap(pub BTreeMap<String, BTreeMap<String, Object>>);

impl<'de> Deserialize<'de> for ObjectMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let groups: Option<BTreeMap<String, Option<BTreeMap<String, Object>>>> =
            Option::deserialize(deserializer)?;
        Ok(ObjectMap(
            groups
                .unwrap_or_default()
                .into_iter()
                .map(|(key, objects)| (key, objects.unwrap_or_default()))
                .collect(),
        ))
    }
}

/// The type key metacontroller uses for objects of `kind` in `api_version`.
///
/// ```
/// assert_eq!(metahook::type_key("v1", "Pod"), "Pod.v1");
/// assert_eq!(metahook::type_key("apps/v1", "StatefulSet"), "StatefulSet.apps/v1");
/// ```
pub fn type_key(api_version: &str, kind: &str) -> String {
    format!("{kind}.{api_version}")
}

impl ObjectMap {
    /// Every object of every type.
    pub fn iter(&self) -> impl Iterator<Item = &Object> {
        self.0.values().flat_map(BTreeMap::values)
    }

    /// Every object of `kind`, whatever its API version.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key.split_once('.').is_some_and(|(k, _)| k == kind))
            .flat_map(|(_, objects)| objects.values())
    }

    /// The objects of one exact type key, such as `Pod.v1`.
    pub fn of_type(&self, type_key: &str) -> impl Iterator<Item = &Object> {
        self.0.get(type_key).into_iter().flat_map(BTreeMap::values)
    }

    /// The object of `kind` named `name`, whatever the API version. `name` may be a plain
    /// name or `namespace/name`; a plain name matches in any namespace (the first found).
    pub fn get<'a>(&'a self, kind: &'a str, name: &str) -> Option<&'a Object> {
        let (namespace, name) = match name.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, name),
        };
        self.of_kind(kind).find(|object| {
            object.name() == name && namespace.is_none_or(|ns| object.namespace() == Some(ns))
        })
    }

    /// The object of one exact type key (`ReplicaSet.apps/v1`) named `name` (a plain name,
    /// or `namespace/name`).
    pub fn get_of_type(&self, type_key: &str, name: &str) -> Option<&Object> {
        let (namespace, name) = match name.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, name),
        };
        self.of_type(type_key).find(|object| {
            object.name() == name && namespace.is_none_or(|ns| object.namespace() == Some(ns))
        })
    }

    /// How many objects there are, of all types.
    pub fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }

    /// Whether there are no objects (declared types may still be present, empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many objects of `kind` there are.
    pub fn count(&self, kind: &str) -> usize {
        self.of_kind(kind).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> ObjectMap {
        serde_json::from_value(json!({
            "Pod.v1": {
                "web-0": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "a"}},
                "b/web-1": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "b"}}
            },
            "StatefulSet.apps/v1": {},
            "Service.v1": {}
        }))
        .expect("map")
    }

    #[test]
    fn lookups_work_across_key_styles() {
        let map = map();
        assert_eq!(map.len(), 2);
        assert_eq!(map.count("Pod"), 2);
        assert_eq!(map.count("StatefulSet"), 0);
        assert_eq!(map.get("Pod", "web-1").map(Object::name), Some("web-1"));
        assert_eq!(map.get("Pod", "b/web-1").map(Object::name), Some("web-1"));
        assert!(map.get("Pod", "a/web-1").is_none());
        assert_eq!(map.of_type("Pod.v1").count(), 2);
        assert!(!map.is_empty());
    }

    #[test]
    fn null_maps_and_groups_read_as_empty() {
        let map: ObjectMap = serde_json::from_value(json!(null)).expect("null map");
        assert!(map.is_empty());
        let map: ObjectMap = serde_json::from_value(json!({"Pod.v1": null})).expect("null group");
        assert_eq!(map.count("Pod"), 0);
        assert!(map.0.contains_key("Pod.v1"));
    }

    #[test]
    fn exact_type_lookups() {
        let map = map();
        assert!(map.get_of_type("Pod.v1", "web-0").is_some());
        assert!(map.get_of_type("Pod.v2", "web-0").is_none());
    }

    #[test]
    fn empty_types_survive_a_round_trip() {
        let value = serde_json::to_value(map()).expect("serialize");
        assert_eq!(value["Service.v1"], json!({}));
    }
}
