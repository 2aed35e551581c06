//! Hook logic for the `hello-world` example: a Rust port of metacontroller's
//! "Hello, World!" CompositeController tutorial, written with the `metahook` SDK.
//!
//! Every `HelloWorld` parent (`helloworlds.example.com/v1`) gets exactly one
//! child Pod, named after the parent, that prints `Hello, <spec.who>!` and
//! exits. The parent's status reports how many Pods were observed.
//!
//! The hooks are plain functions on the SDK's request and response types, so
//! they are unit-tested on the host; [`hooks`] wires them into a hook program
//! and `main.rs` only runs it.

use metahook::{
    CompositeHooks, CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse,
    Object, Result,
};
use serde_json::{Value, json};

/// Key of the Pod group in the request's `children` map
/// (`<Kind>.<apiVersion>`, as metacontroller builds it).
pub const POD_GROUP: &str = "Pod.v1";

/// Greeting target used when the parent has no usable `spec.who`.
pub const DEFAULT_WHO: &str = "World";

/// The hook program: `sync`, `finalize` and `customize`.
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new()
        .sync(sync)
        .finalize(finalize)
        .customize(customize)
}

/// The `sync` hook: desired state is always exactly one Pod.
///
/// If metacontroller sends a request with `finalizing: true` (which happens
/// when the CompositeController's `finalize` hook points at the `sync` URL),
/// the request is handled as [`finalize`].
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    if request.finalizing {
        return finalize(request);
    }
    let pod = desired_pod(&request.parent)?;
    Ok(CompositeResponse::new(vec![pod]).with_status(status(request)))
}

/// The `finalize` hook: called while the parent is being deleted.
///
/// Asks for no children at all (so metacontroller deletes the Pod) and
/// reports `finalized: true` only once no Pod is observed any more, which lets
/// metacontroller remove its finalizer and the parent go away.
pub fn finalize(request: &CompositeRequest) -> Result<CompositeResponse> {
    let no_pods_left = observed_pods(request).next().is_none();
    Ok(CompositeResponse::new(Vec::new())
        .with_status(status(request))
        .finalized(no_pods_left))
}

/// The `customize` hook: this controller needs no related resources.
pub fn customize(_request: &CustomizeRequest) -> Result<CustomizeResponse> {
    Ok(CustomizeResponse::new(Vec::new()))
}

/// Status computed from the observed children only (never the desired ones):
/// `pods` is the number of Pods metacontroller observed for this parent, as
/// in the tutorial; `succeeded` counts those whose `status.phase` is
/// `Succeeded`, i.e. that have printed their greeting.
fn status(request: &CompositeRequest) -> Value {
    let pods = observed_pods(request).count();
    let succeeded = observed_pods(request)
        .filter(|pod| pod.get_str("status.phase") == Some("Succeeded"))
        .count();
    json!({ "pods": pods, "succeeded": succeeded })
}

/// Observed Pods (the values of `children["Pod.v1"]`). A missing `children`
/// map or `Pod.v1` entry counts as "no Pods"; metacontroller always sends the
/// group, even when it is empty.
fn observed_pods(request: &CompositeRequest) -> impl Iterator<Item = &Object> {
    request.children.of_type(POD_GROUP)
}

/// The one Pod the parent wants. Only fields the hook cares about are set
/// (apply semantics); metacontroller adds the `controller-uid` label and the
/// owner reference itself.
fn desired_pod(parent: &Object) -> Result<Object> {
    let name = parent
        .get_str("metadata.name")
        .filter(|name| !name.is_empty())
        .ok_or(
            "`parent.metadata.name` is missing or not a string; the parent must be a \
             HelloWorld object as stored by the API server",
        )?;
    let greeting = format!("Hello, {}!", who(parent)?);
    Ok(Object::new("v1", "Pod", name)
        .with("spec.restartPolicy", "OnFailure")
        .with(
            "spec.containers",
            json!([{
                "name": "hello",
                "image": "busybox",
                "command": ["echo", greeting],
            }]),
        ))
}

/// `spec.who`, or [`DEFAULT_WHO`] when it is absent, `null` or blank.
fn who(parent: &Object) -> Result<&str> {
    let spec = match parent.get("spec") {
        None | Some(Value::Null) => return Ok(DEFAULT_WHO),
        Some(Value::Object(spec)) => spec,
        Some(_) => {
            return Err(
                "`parent.spec` is not an object; a HelloWorld spec looks like \
                        {\"who\": \"Your Name\"}"
                    .into(),
            );
        }
    };
    match spec.get("who") {
        None | Some(Value::Null) => Ok(DEFAULT_WHO),
        Some(Value::String(who)) if who.trim().is_empty() => Ok(DEFAULT_WHO),
        Some(Value::String(who)) => Ok(who),
        Some(_) => Err(
            "`parent.spec.who` is not a string; set it to the name to greet, \
                        e.g. \"Your Name\""
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    /// Runs `hook` on `request` the way the hook program does (JSON in, JSON
    /// out, through the SDK's decoding), returning the response or the
    /// message the program would print on stderr.
    fn call(hook: &str, request: &Value) -> Result<Value, String> {
        let input = serde_json::to_vec(request).expect("serialize request");
        let output = hooks()
            .handle(hook, &input)
            .map_err(|err| err.to_string())?;
        Ok(serde_json::from_slice(&output).expect("the hook writes JSON"))
    }

    fn call_raw(hook: &str, input: &str) -> Result<Value, String> {
        let output = hooks()
            .handle(hook, input.as_bytes())
            .map_err(|err| err.to_string())?;
        Ok(serde_json::from_slice(&output).expect("the hook writes JSON"))
    }

    fn typed(request: &Value) -> CompositeRequest {
        serde_json::from_value(request.clone()).expect("a valid composite request")
    }

    fn parent(who: Option<Value>) -> Value {
        let mut spec = Map::new();
        if let Some(who) = who {
            spec.insert("who".into(), who);
        }
        json!({
            "apiVersion": "example.com/v1",
            "kind": "HelloWorld",
            "metadata": {
                "name": "your-name",
                "namespace": "hello",
                "uid": "6f1b6d3e-2a4c-4d8e-9b7a-0c5e1f2a3b4c",
            },
            "spec": spec,
        })
    }

    fn observed_pod(phase: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": "your-name", "namespace": "hello" },
            "spec": { "restartPolicy": "OnFailure" },
            "status": { "phase": phase },
        })
    }

    fn request(parent: Value, pods: Value, finalizing: bool) -> Value {
        json!({
            "controller": { "kind": "CompositeController", "metadata": { "name": "hello-controller" } },
            "parent": parent,
            "children": { "Pod.v1": pods },
            "related": {},
            "finalizing": finalizing,
        })
    }

    fn expected_pod(greeting: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": "your-name" },
            "spec": {
                "restartPolicy": "OnFailure",
                "containers": [{
                    "name": "hello",
                    "image": "busybox",
                    "command": ["echo", greeting],
                }],
            },
        })
    }

    fn assert_no_nulls(value: &Value, path: &str) {
        match value {
            Value::Null => panic!("null at {path}"),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    assert_no_nulls(item, &format!("{path}[{i}]"));
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    assert_no_nulls(item, &format!("{path}.{key}"));
                }
            }
            _ => {}
        }
    }

    #[test]
    fn first_sync_creates_the_pod() {
        let req = request(parent(Some(json!("Your Name"))), json!({}), false);
        let resp = call("sync", &req).expect("sync succeeds");
        assert_eq!(
            resp,
            json!({
                "status": { "pods": 0, "succeeded": 0 },
                "children": [expected_pod("Hello, Your Name!")],
            })
        );
        assert_no_nulls(&resp, "$");
    }

    #[test]
    fn sync_with_running_pod_keeps_it_and_counts_it() {
        let pods = json!({ "your-name": observed_pod("Running") });
        let req = request(parent(Some(json!("Your Name"))), pods, false);
        let resp = call("sync", &req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 0 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));
        assert!(resp.get("finalized").is_none());
    }

    #[test]
    fn sync_with_succeeded_pod_reports_success() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("Your Name"))), pods, false);
        let resp = call("sync", &req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 1 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));
    }

    #[test]
    fn sync_follows_a_changed_who() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("My Name"))), pods, false);
        let resp = call("sync", &req).expect("sync succeeds");
        assert_eq!(resp["children"], json!([expected_pod("Hello, My Name!")]));
    }

    #[test]
    fn missing_null_or_blank_who_greets_the_world() {
        for who in [None, Some(Value::Null), Some(json!("")), Some(json!("  "))] {
            let req = request(parent(who.clone()), json!({}), false);
            let resp = call("sync", &req).expect("sync succeeds");
            assert_eq!(
                resp["children"],
                json!([expected_pod("Hello, World!")]),
                "who = {who:?}"
            );
            assert_no_nulls(&resp, "$");
        }
    }

    #[test]
    fn missing_spec_greets_the_world() {
        let mut p = parent(None);
        p.as_object_mut().expect("object").remove("spec");
        let resp = call("sync", &request(p, json!({}), false)).expect("sync succeeds");
        assert_eq!(resp["children"], json!([expected_pod("Hello, World!")]));
    }

    #[test]
    fn missing_children_group_counts_as_no_pods() {
        let req = json!({ "parent": parent(Some(json!("You"))), "children": {} });
        let resp = call("sync", &req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 0, "succeeded": 0 }));
        let req = json!({ "parent": parent(Some(json!("You"))) });
        assert!(call("sync", &req).is_ok());
    }

    #[test]
    fn finalize_deletes_the_pod_and_waits_for_it() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("Your Name"))), pods, true);
        let resp = call("finalize", &req).expect("finalize succeeds");
        assert_eq!(
            resp,
            json!({
                "status": { "pods": 1, "succeeded": 1 },
                "children": [],
                "finalized": false,
            })
        );
    }

    #[test]
    fn finalize_releases_the_parent_once_no_pod_remains() {
        let req = request(parent(Some(json!("Your Name"))), json!({}), true);
        let resp = call("finalize", &req).expect("finalize succeeds");
        assert_eq!(
            resp,
            json!({
                "status": { "pods": 0, "succeeded": 0 },
                "children": [],
                "finalized": true,
            })
        );
    }

    #[test]
    fn sync_called_with_finalizing_true_finalizes() {
        let pods = json!({ "your-name": observed_pod("Running") });
        let req = typed(&request(parent(Some(json!("Your Name"))), pods, true));
        let synced = sync(&req).expect("sync succeeds");
        assert_eq!(synced, finalize(&req).expect("finalize succeeds"));
        assert_eq!(synced.finalized, Some(false));
        assert!(synced.children.is_empty());
    }

    #[test]
    fn customize_asks_for_no_related_resources() {
        let req = json!({ "controller": {}, "parent": parent(None) });
        assert_eq!(
            call("customize", &req).expect("customize succeeds"),
            json!({ "relatedResources": [] })
        );
    }

    #[test]
    fn hooks_dispatch_by_hook_name() {
        let req = request(parent(None), json!({}), false);
        let typed_req = typed(&req);
        let sync_resp = serde_json::to_value(sync(&typed_req).expect("sync")).expect("json");
        assert_eq!(call("sync", &req), Ok(sync_resp));
        let finalize_resp =
            serde_json::to_value(finalize(&typed_req).expect("finalize")).expect("json");
        assert_eq!(call("finalize", &req), Ok(finalize_resp));
        let customize_req: CustomizeRequest =
            serde_json::from_value(req.clone()).expect("customize request");
        let customize_resp =
            serde_json::to_value(customize(&customize_req).expect("customize")).expect("json");
        assert_eq!(call("customize", &req), Ok(customize_resp));
        let err = call("reconcile", &req).expect_err("unknown hook");
        assert!(
            err.contains("\"reconcile\"") && err.contains("sync, finalize, customize"),
            "{err}"
        );
    }

    #[test]
    fn malformed_input_is_rejected_with_a_clear_message() {
        let err = call_raw("sync", "{not json").expect_err("not JSON");
        assert!(err.starts_with("cannot read the sync request"), "{err}");
        let err = call_raw("sync", "  \n").expect_err("empty");
        assert!(
            err.starts_with("the sync request on stdin is empty"),
            "{err}"
        );

        for hook in ["sync", "finalize", "customize"] {
            let err = call(hook, &json!({ "children": {} })).expect_err("no parent");
            assert!(err.contains("missing field `parent`"), "{hook}: {err}");
            let err = call(hook, &json!([1, 2])).expect_err("not an object");
            assert!(
                err.starts_with(&format!("cannot read the {hook} request: invalid type")),
                "{hook}: {err}"
            );
            let err = call(hook, &json!({ "parent": "x" })).expect_err("bad parent");
            assert!(
                err.starts_with(&format!("cannot read the {hook} request: invalid type")),
                "{hook}: {err}"
            );
        }
    }

    #[test]
    fn malformed_fields_are_rejected() {
        let no_name = json!({ "parent": { "metadata": {}, "spec": { "who": "x" } } });
        let err = call("sync", &no_name).expect_err("no name");
        assert!(err.contains("parent.metadata.name"), "{err}");

        let bad_who = request(parent(Some(json!(42))), json!({}), false);
        let err = call("sync", &bad_who).expect_err("who not a string");
        assert!(err.contains("parent.spec.who"), "{err}");

        let bad_spec = json!({ "parent": { "metadata": { "name": "n" }, "spec": [1] } });
        let err = call("sync", &bad_spec).expect_err("spec not an object");
        assert!(err.contains("`parent.spec` is not an object"), "{err}");

        let bad_children = json!({ "parent": parent(None), "children": [] });
        for hook in ["sync", "finalize"] {
            let err = call(hook, &bad_children).expect_err("children not an object");
            assert!(
                err.starts_with(&format!("cannot read the {hook} request: invalid type")),
                "{hook}: {err}"
            );
        }
    }

    /// What hookserver's own tests rely on: the message of a request without a
    /// parent name, word for word.
    #[test]
    fn an_empty_parent_fails_with_the_documented_message() {
        let err = call_raw("sync", r#"{"parent":{}}"#).expect_err("no name");
        assert_eq!(
            err,
            "`parent.metadata.name` is missing or not a string; the parent must be a \
             HelloWorld object as stored by the API server"
        );
    }

    #[test]
    fn sample_requests_are_handled() {
        let resp = call_raw("sync", include_str!("../requests/sync.json")).expect("sync");
        assert_eq!(resp["status"], json!({ "pods": 0, "succeeded": 0 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));
        assert_eq!(resp["children"][0]["metadata"]["name"], "your-name");

        let resp =
            call_raw("finalize", include_str!("../requests/finalize.json")).expect("finalize");
        assert_eq!(resp["finalized"], json!(false));
        assert_eq!(resp["children"], json!([]));
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 1 }));

        let resp =
            call_raw("customize", include_str!("../requests/customize.json")).expect("customize");
        assert_eq!(resp, json!({ "relatedResources": [] }));
    }
}
