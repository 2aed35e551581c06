//! CompositeController sync and finalize (metacontroller's `pkg/controller/composite/api`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Object, ObjectMap};

/// What metacontroller sends to a CompositeController's sync and finalize hooks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompositeRequest {
    /// The whole CompositeController object.
    #[serde(default)]
    pub controller: Value,
    /// The parent object, as stored (metadata, spec, status).
    pub parent: Object,
    /// Observed children, by type then name. Every declared child type is present.
    #[serde(default)]
    pub children: ObjectMap,
    /// Objects the customize hook asked for.
    #[serde(default)]
    pub related: ObjectMap,
    /// True when called as the finalize hook (the parent is being deleted).
    #[serde(default)]
    pub finalizing: bool,
}

/// What a CompositeController's sync or finalize hook answers.
///
/// `children` is always written: it is the complete desired set, and metacontroller deletes
/// every observed child that is not in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResponse {
    /// Replaces the parent's status (metacontroller keeps `observedGeneration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// The desired children, all of them.
    #[serde(default)]
    pub children: Vec<Object>,
    /// Ask to be called again after this many seconds (fractions allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_after_seconds: Option<f64>,
    /// Finalize only: true releases the parent for deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<bool>,
}

impl CompositeResponse {
    /// A response with these children and nothing else.
    pub fn new(children: Vec<Object>) -> Self {
        CompositeResponse {
            children,
            ..Self::default()
        }
    }

    pub fn with_status(mut self, status: Value) -> Self {
        self.status = Some(status);
        self
    }

    pub fn resync_after(mut self, seconds: f64) -> Self {
        self.resync_after_seconds = Some(seconds);
        self
    }

    pub fn finalized(mut self, finalized: bool) -> Self {
        self.finalized = Some(finalized);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn children_are_always_written_and_unset_fields_never() {
        let response = CompositeResponse::new(vec![]);
        assert_eq!(
            serde_json::to_value(&response).expect("serialize"),
            json!({"children": []})
        );
        let response = CompositeResponse::new(vec![Object::new("v1", "Pod", "p")])
            .with_status(json!({"replicas": 1}))
            .resync_after(2.5)
            .finalized(true);
        assert_eq!(
            serde_json::to_value(&response).expect("serialize"),
            json!({
                "status": {"replicas": 1},
                "children": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}],
                "resyncAfterSeconds": 2.5,
                "finalized": true
            })
        );
    }

    #[test]
    fn requests_decode_as_metacontroller_sends_them() {
        let request: CompositeRequest = serde_json::from_value(json!({
            "controller": {"kind": "CompositeController"},
            "parent": {"metadata": {"name": "x"}},
            "children": {"Pod.v1": {}},
            "related": {},
            "finalizing": true
        }))
        .expect("request");
        assert!(request.finalizing);
        assert_eq!(request.parent.name(), "x");
        assert!(request.children.0.contains_key("Pod.v1"));
    }
}
