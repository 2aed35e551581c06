//! Hook logic for the `update-strategy` example: a Rust port of metacontroller's
//! demonstration of the `OnDelete` and `Recreate` child update methods.
//!
//! Two CompositeControllers (one for `OnDeleteDemo`, one for `RecreateDemo` parents) call
//! the same `sync` hook. It gives every parent one ConfigMap, `<parent name>-data`, whose
//! `data.value` is the parent's `spec.configData`, and reports the value it used in
//! `status.observedConfigData`. The hook never looks at the observed children or at the
//! controller: what happens to an out-of-date ConfigMap (kept until someone deletes it, or
//! deleted and created again) is decided by metacontroller from each controller's
//! `updateStrategy`.

use metahook::{CompositeHooks, CompositeRequest, CompositeResponse, Object, Result};
use serde_json::{Value, json};

/// The value used when the parent has no `spec.configData` (the CRDs default it to this too).
pub const DEFAULT_CONFIG_DATA: &str = "initial";

/// The hooks of this module: `sync` only, as in the original.
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync)
}

/// The `sync` hook: one ConfigMap mirroring `spec.configData`, and the value in the status.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let parent = &request.parent;
    let name = parent_name(parent)?;
    let data = config_data(parent)?;
    Ok(CompositeResponse::new(vec![desired_config_map(name, data)])
        .with_status(json!({ "observedConfigData": data })))
}

/// The parent's `spec.configData`; [`DEFAULT_CONFIG_DATA`] when it is missing or `null`.
pub fn config_data(parent: &Object) -> Result<&str> {
    match parent.get("spec.configData") {
        None | Some(Value::Null) => Ok(DEFAULT_CONFIG_DATA),
        Some(Value::String(data)) => Ok(data),
        Some(other) => Err(format!(
            "`spec.configData` of {} must be a string, got {other}; it becomes the ConfigMap's \
             `data.value`, and ConfigMap values are strings",
            describe(parent)
        )
        .into()),
    }
}

/// The ConfigMap `<name>-data` with `data.value` set to `data`.
///
/// Only these fields are set: metacontroller adds the namespace, the `controller-uid` label
/// (the controllers use `generateSelector: true`) and the owner reference.
pub fn desired_config_map(parent_name: &str, data: &str) -> Object {
    Object::new("v1", "ConfigMap", &format!("{parent_name}-data")).with("data.value", data)
}

fn parent_name(parent: &Object) -> Result<&str> {
    match parent.get_str("metadata.name") {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(
            "`parent.metadata.name` is missing or not a non-empty string; the parent must be \
             an OnDeleteDemo or RecreateDemo object as stored by the API server"
                .into(),
        ),
    }
}

fn describe(parent: &Object) -> String {
    match (parent.kind(), parent.namespace()) {
        ("", _) => format!("parent {:?}", parent.name()),
        (kind, Some(namespace)) => format!("{kind} {namespace}/{}", parent.name()),
        (kind, None) => format!("{kind} {}", parent.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON_DELETE_SYNC: &str = include_str!("../requests/sync.json");
    const RECREATE_SYNC: &str = include_str!("../requests/sync-recreate.json");

    fn call(hook: &str, request: &Value) -> Result<Value> {
        let output = hooks().handle(hook, &serde_json::to_vec(request)?)?;
        Ok(serde_json::from_slice(&output)?)
    }

    fn request(spec: Value) -> Value {
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "recreate-demo-controller"}},
            "parent": {
                "apiVersion": "ctl.example.com/v1",
                "kind": "RecreateDemo",
                "metadata": {"name": "rcd-instance", "namespace": "default", "uid": "u-1"},
                "spec": spec
            },
            "children": {"ConfigMap.v1": {}},
            "related": {},
            "finalizing": false
        })
    }

    fn error(request: &Value) -> String {
        match call("sync", request) {
            Ok(response) => panic!("expected an error, got {response}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn first_sync_creates_the_config_map_with_the_spec_value() -> Result<()> {
        let response: Value = call("sync", &serde_json::from_str(RECREATE_SYNC)?)?;
        assert_eq!(
            response,
            json!({
                "status": {"observedConfigData": "v1"},
                "children": [{
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "rcd-instance-data"},
                    "data": {"value": "v1"}
                }]
            })
        );
        Ok(())
    }

    #[test]
    fn a_changed_spec_is_desired_even_while_the_old_child_is_observed() -> Result<()> {
        // The OnDelete sample: the parent now says v2 and the observed ConfigMap still holds
        // v1. The hook always answers with the new desired state; metacontroller withholds it.
        let request: Value = serde_json::from_str(ON_DELETE_SYNC)?;
        assert_eq!(
            request["children"]["ConfigMap.v1"]["odd-instance-data"]["data"]["value"],
            "v1"
        );
        let response = call("sync", &request)?;
        assert_eq!(response["status"], json!({"observedConfigData": "v2"}));
        assert_eq!(response["children"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            response["children"][0]["metadata"]["name"],
            "odd-instance-data"
        );
        assert_eq!(response["children"][0]["data"], json!({"value": "v2"}));
        Ok(())
    }

    #[test]
    fn the_answer_does_not_depend_on_the_controller_or_the_observed_children() -> Result<()> {
        // Both controllers share the hook: only the parent decides the answer.
        let mut on_delete: Value = serde_json::from_str(ON_DELETE_SYNC)?;
        let mut recreate: Value = serde_json::from_str(RECREATE_SYNC)?;
        recreate["parent"]["metadata"]["name"] = json!("odd-instance");
        recreate["parent"]["spec"]["configData"] = json!("v2");
        let expected = call("sync", &on_delete)?;
        assert_eq!(call("sync", &recreate)?, expected);
        on_delete["children"] = json!({"ConfigMap.v1": {}});
        assert_eq!(call("sync", &on_delete)?, expected);
        let mut missing_children = request(json!({"configData": "v2"}));
        missing_children
            .as_object_mut()
            .map(|request| request.remove("children"));
        let response = call("sync", &missing_children)?;
        assert_eq!(response["children"][0]["data"]["value"], "v2");
        Ok(())
    }

    #[test]
    fn missing_or_null_config_data_means_initial() -> Result<()> {
        for spec in [json!({}), json!({"configData": null}), Value::Null] {
            let response = call("sync", &request(spec.clone()))?;
            assert_eq!(
                response["children"][0]["data"]["value"], "initial",
                "spec {spec}"
            );
            assert_eq!(response["status"]["observedConfigData"], "initial");
        }
        let mut no_spec = request(json!({}));
        no_spec["parent"]
            .as_object_mut()
            .map(|parent| parent.remove("spec"));
        assert_eq!(
            call("sync", &no_spec)?["status"]["observedConfigData"],
            "initial"
        );
        Ok(())
    }

    #[test]
    fn an_empty_string_is_kept_as_is() -> Result<()> {
        let response = call("sync", &request(json!({"configData": ""})))?;
        assert_eq!(response["children"][0]["data"]["value"], "");
        assert_eq!(response["status"]["observedConfigData"], "");
        Ok(())
    }

    #[test]
    fn non_string_config_data_is_rejected() {
        let message = error(&request(json!({"configData": 2})));
        assert!(
            message.contains(
                "`spec.configData` of RecreateDemo default/rcd-instance must be a string, got 2"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_parent_without_a_name_is_rejected() {
        let mut nameless = request(json!({"configData": "v1"}));
        nameless["parent"]["metadata"] = json!({"namespace": "default"});
        assert!(error(&nameless).contains("`parent.metadata.name` is missing"));
        let no_parent = json!({"children": {"ConfigMap.v1": {}}});
        assert!(error(&no_parent).contains("missing field `parent`"));
    }

    #[test]
    fn only_sync_is_implemented() -> Result<()> {
        let request = serde_json::from_str::<Value>(RECREATE_SYNC)?;
        let message = match call("finalize", &request) {
            Ok(response) => panic!("finalize answered {response}"),
            Err(err) => err.to_string(),
        };
        assert!(
            message.contains("does not implement `finalize`"),
            "{message}"
        );
        Ok(())
    }
}
