//! DecoratorController sync and finalize (metacontroller's `pkg/controller/decorator/api`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Object, ObjectMap};

/// What metacontroller sends to a DecoratorController's sync and finalize hooks.
///
/// Some metacontroller versions send hook version v2 requests with the decorated object as
/// `parent` and the attachments as `children`; both spellings are read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecoratorRequest {
    /// The whole DecoratorController object.
    #[serde(default)]
    pub controller: Value,
    /// The decorated object (`object`; `parent` in some v2 requests).
    #[serde(alias = "parent")]
    pub object: Object,
    /// Observed attachments, by type then name. Every declared type is present.
    /// (`attachments`; `children` in some v2 requests.)
    #[serde(default, alias = "children")]
    pub attachments: ObjectMap,
    /// Objects the customize hook asked for.
    #[serde(default)]
    pub related: ObjectMap,
    /// True when called as the finalize hook.
    #[serde(default)]
    pub finalizing: bool,
}

/// Label or annotation changes: `Some(value)` sets a key, `None` deletes it (written as
/// `null`); keys not in the map are left alone.
pub type MetadataUpdates = BTreeMap<String, Option<String>>;

/// What a DecoratorController's sync or finalize hook answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecoratorResponse {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: MetadataUpdates,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: MetadataUpdates,
    /// Replaces the object's status; `None` leaves it unchanged (unlike a composite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// The desired attachments, all of them: any observed attachment not listed is deleted.
    #[serde(default)]
    pub attachments: Vec<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_after_seconds: Option<f64>,
    /// Finalize only: true releases the object for deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<bool>,
}

impl DecoratorResponse {
    /// A response with these attachments and nothing else.
    pub fn new(attachments: Vec<Object>) -> Self {
        DecoratorResponse {
            attachments,
            ..Self::default()
        }
    }

    /// Sets a label on the object.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), Some(value.to_string()));
        self
    }

    /// Deletes a label from the object.
    pub fn remove_label(mut self, key: &str) -> Self {
        self.labels.insert(key.to_string(), None);
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations
            .insert(key.to_string(), Some(value.to_string()));
        self
    }

    pub fn remove_annotation(mut self, key: &str) -> Self {
        self.annotations.insert(key.to_string(), None);
        self
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
    fn v2_requests_spelled_with_parent_and_children_are_read() {
        let request: DecoratorRequest = serde_json::from_value(json!({
            "controller": {}, "parent": {"metadata": {"name": "web"}},
            "children": {"Service.v1": {"default/web-0": {"metadata": {"name": "web-0"}}}},
            "related": {}, "finalizing": false
        }))
        .expect("request");
        assert_eq!(request.object.name(), "web");
        assert_eq!(request.attachments.count("Service"), 1);
    }

    #[test]
    fn label_deletion_is_null_and_untouched_keys_are_absent() {
        let response = DecoratorResponse::default()
            .label("pod-name", "web-0")
            .remove_label("old");
        assert_eq!(
            serde_json::to_value(&response).expect("serialize"),
            json!({"labels": {"old": null, "pod-name": "web-0"}, "attachments": []})
        );
    }
}
