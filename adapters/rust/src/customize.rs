//! The customize hook of either controller (metacontroller's
//! `pkg/controller/common/customize/api`): which related objects to send to sync.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Object;

/// What metacontroller sends to a customize hook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomizeRequest {
    /// The whole CompositeController or DecoratorController object.
    #[serde(default)]
    pub controller: Value,
    /// The parent (for a decorator: the decorated object), named `parent` in both cases.
    pub parent: Object,
}

/// What a customize hook answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomizeResponse {
    #[serde(default)]
    pub related_resources: Vec<RelatedResourceRule>,
}

impl CustomizeResponse {
    pub fn new(related_resources: Vec<RelatedResourceRule>) -> Self {
        CustomizeResponse { related_resources }
    }
}

/// One kind of related object to watch. `names` excludes the selectors; `namespace`
/// excludes `namespace_selector`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedResourceRule {
    pub api_version: String,
    /// Lowercase plural resource name, such as `configmaps`.
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
}

impl RelatedResourceRule {
    pub fn new(api_version: &str, resource: &str) -> Self {
        RelatedResourceRule {
            api_version: api_version.to_string(),
            resource: resource.to_string(),
            ..Self::default()
        }
    }

    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// A label selector as Kubernetes writes it (`{"matchLabels": {...}}`).
    pub fn label_selector(mut self, selector: Value) -> Self {
        self.label_selector = Some(selector);
        self
    }

    /// A label selector from `key: value` pairs (`{"matchLabels": {...}}`).
    pub fn match_labels<K: Into<String>, V: Into<String>>(
        self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let labels: serde_json::Map<String, Value> = labels
            .into_iter()
            .map(|(k, v)| (k.into(), Value::String(v.into())))
            .collect();
        self.label_selector(serde_json::json!({ "matchLabels": labels }))
    }

    pub fn namespace_selector(mut self, selector: Value) -> Self {
        self.namespace_selector = Some(selector);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_write_only_what_is_set() {
        let response = CustomizeResponse::new(vec![
            RelatedResourceRule::new("v1", "configmaps")
                .namespace("default")
                .names(["settings"]),
            RelatedResourceRule::new("v1", "secrets").match_labels([("app", "x")]),
        ]);
        assert_eq!(
            serde_json::to_value(&response).expect("serialize"),
            json!({"relatedResources": [
                {"apiVersion": "v1", "resource": "configmaps", "namespace": "default", "names": ["settings"]},
                {"apiVersion": "v1", "resource": "secrets", "labelSelector": {"matchLabels": {"app": "x"}}}
            ]})
        );
    }
}
