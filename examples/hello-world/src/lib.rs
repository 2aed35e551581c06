//! Hook logic for the `hello-world` example: a Rust port of metacontroller's
//! "Hello, World!" CompositeController tutorial.
//!
//! Every `HelloWorld` parent (`helloworlds.example.com/v1`) gets exactly one
//! child Pod, named after the parent, that prints `Hello, <spec.who>!` and
//! exits. The parent's status reports how many Pods were observed.
//!
//! The functions here are pure (JSON in, JSON out) so they can be unit-tested
//! on the host; `main.rs` only wires them to argv, stdin, stdout and the exit
//! code.

use serde_json::{Value, json};

/// Key of the Pod group in the request's `children` map
/// (`<Kind>.<apiVersion>`, as metacontroller builds it).
pub const POD_GROUP: &str = "Pod.v1";

/// Greeting target used when the parent has no usable `spec.who`.
pub const DEFAULT_WHO: &str = "World";

/// Hook names this module understands, in the order they are documented.
pub const HOOKS: [&str; 3] = ["sync", "finalize", "customize"];

/// Parses the raw request read from stdin.
///
/// Only checks that the input is JSON; each hook validates the fields it needs.
pub fn parse_request(input: &str) -> Result<Value, String> {
    if input.trim().is_empty() {
        return Err(
            "the request on stdin is empty; pipe in the JSON request body that \
             metacontroller sends to the hook"
                .into(),
        );
    }
    serde_json::from_str(input).map_err(|e| {
        format!(
            "the request on stdin is not valid JSON ({e}); pipe in the JSON request body \
             that metacontroller sends to the hook"
        )
    })
}

/// Runs the hook called `hook` (`sync`, `finalize` or `customize`) on `request`.
pub fn run(hook: &str, request: &Value) -> Result<Value, String> {
    match hook {
        "sync" => sync(request),
        "finalize" => finalize(request),
        "customize" => customize(request),
        other => Err(format!(
            "unknown hook `{other}`; this module implements {}",
            HOOKS.join(", ")
        )),
    }
}

/// The `sync` hook: desired state is always exactly one Pod.
///
/// If metacontroller sends a request with `finalizing: true` (which happens
/// when the CompositeController's `finalize` hook points at the `sync` URL),
/// the request is handled as [`finalize`].
pub fn sync(request: &Value) -> Result<Value, String> {
    let parent = parent(request)?;
    if request.get("finalizing").and_then(Value::as_bool) == Some(true) {
        return finalize(request);
    }
    let pods = observed_pods(request)?;
    let pod = desired_pod(parent)?;
    Ok(json!({ "status": status(&pods), "children": [pod] }))
}

/// The `finalize` hook: called while the parent is being deleted.
///
/// Asks for no children at all (so metacontroller deletes the Pod) and
/// reports `finalized: true` only once no Pod is observed any more, which lets
/// metacontroller remove its finalizer and the parent go away.
pub fn finalize(request: &Value) -> Result<Value, String> {
    parent(request)?;
    let pods = observed_pods(request)?;
    Ok(json!({
        "status": status(&pods),
        "children": [],
        "finalized": pods.is_empty(),
    }))
}

/// The `customize` hook: this controller needs no related resources.
pub fn customize(request: &Value) -> Result<Value, String> {
    parent(request)?;
    Ok(json!({ "relatedResources": [] }))
}

/// Status computed from the observed children only (never the desired ones):
/// `pods` is the number of Pods metacontroller observed for this parent, as
/// in the tutorial; `succeeded` counts those whose `status.phase` is
/// `Succeeded`, i.e. that have printed their greeting.
fn status(pods: &[&Value]) -> Value {
    let succeeded = pods
        .iter()
        .filter(|pod| pod.pointer("/status/phase").and_then(Value::as_str) == Some("Succeeded"))
        .count();
    json!({ "pods": pods.len(), "succeeded": succeeded })
}

/// The one Pod the parent wants. Only fields the hook cares about are set
/// (apply semantics); metacontroller adds the `controller-uid` label and the
/// owner reference itself.
fn desired_pod(parent: &Value) -> Result<Value, String> {
    let name = parent
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .ok_or(
            "`parent.metadata.name` is missing or not a string; the parent must be a \
             HelloWorld object as stored by the API server",
        )?;
    let greeting = format!("Hello, {}!", who(parent)?);
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name },
        "spec": {
            "restartPolicy": "OnFailure",
            "containers": [{
                "name": "hello",
                "image": "busybox",
                "command": ["echo", greeting],
            }],
        },
    }))
}

/// `spec.who`, or [`DEFAULT_WHO`] when it is absent, `null` or blank.
fn who(parent: &Value) -> Result<&str, String> {
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

/// The request's `parent`, which every hook needs.
fn parent(request: &Value) -> Result<&Value, String> {
    let Some(request) = request.as_object() else {
        return Err(
            "the request is not a JSON object; expected a metacontroller \
             CompositeController hook request like {\"controller\": ..., \
             \"parent\": ..., \"children\": ...}"
                .into(),
        );
    };
    match request.get("parent") {
        Some(parent @ Value::Object(_)) => Ok(parent),
        Some(_) => Err("`parent` in the request is not an object; it must be the \
                        HelloWorld object the hook is called for"
            .into()),
        None => Err("the request has no `parent`; expected a metacontroller \
                     CompositeController hook request like {\"controller\": ..., \
                     \"parent\": ..., \"children\": ...}"
            .into()),
    }
}

/// Observed Pods (the values of `children["Pod.v1"]`). A missing `children`
/// or `Pod.v1` entry is treated as "no Pods"; metacontroller always sends the
/// group, even when it is empty.
fn observed_pods(request: &Value) -> Result<Vec<&Value>, String> {
    let children = match request.get("children") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(children)) => children,
        Some(_) => {
            return Err(
                "`children` in the request is not an object; metacontroller sends \
                 {\"Pod.v1\": {\"<name>\": <pod>}}"
                    .into(),
            );
        }
    };
    match children.get(POD_GROUP) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(pods)) => Ok(pods.values().collect()),
        Some(_) => Err("`children[\"Pod.v1\"]` in the request is not an object; \
                        metacontroller sends {\"<name>\": <pod>}"
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

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
        let resp = sync(&req).expect("sync succeeds");
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
        let resp = sync(&req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 0 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));
        assert!(resp.get("finalized").is_none());
    }

    #[test]
    fn sync_with_succeeded_pod_reports_success() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("Your Name"))), pods, false);
        let resp = sync(&req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 1 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));
    }

    #[test]
    fn sync_follows_a_changed_who() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("My Name"))), pods, false);
        let resp = sync(&req).expect("sync succeeds");
        assert_eq!(resp["children"], json!([expected_pod("Hello, My Name!")]));
    }

    #[test]
    fn missing_null_or_blank_who_greets_the_world() {
        for who in [None, Some(Value::Null), Some(json!("")), Some(json!("  "))] {
            let req = request(parent(who.clone()), json!({}), false);
            let resp = sync(&req).expect("sync succeeds");
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
        let resp = sync(&request(p, json!({}), false)).expect("sync succeeds");
        assert_eq!(resp["children"], json!([expected_pod("Hello, World!")]));
    }

    #[test]
    fn missing_children_group_counts_as_no_pods() {
        let req = json!({ "parent": parent(Some(json!("You"))), "children": {} });
        let resp = sync(&req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 0, "succeeded": 0 }));
        let req = json!({ "parent": parent(Some(json!("You"))) });
        assert!(sync(&req).is_ok());
    }

    #[test]
    fn finalize_deletes_the_pod_and_waits_for_it() {
        let pods = json!({ "your-name": observed_pod("Succeeded") });
        let req = request(parent(Some(json!("Your Name"))), pods, true);
        let resp = finalize(&req).expect("finalize succeeds");
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
        let resp = finalize(&req).expect("finalize succeeds");
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
        let req = request(parent(Some(json!("Your Name"))), pods, true);
        assert_eq!(sync(&req), finalize(&req));
        assert_eq!(sync(&req).expect("ok")["finalized"], json!(false));
    }

    #[test]
    fn customize_asks_for_no_related_resources() {
        let req = json!({ "controller": {}, "parent": parent(None) });
        assert_eq!(
            customize(&req).expect("customize succeeds"),
            json!({ "relatedResources": [] })
        );
    }

    #[test]
    fn run_dispatches_by_hook_name() {
        let req = request(parent(None), json!({}), false);
        assert_eq!(run("sync", &req), sync(&req));
        assert_eq!(run("finalize", &req), finalize(&req));
        assert_eq!(run("customize", &req), customize(&req));
        let err = run("reconcile", &req).expect_err("unknown hook");
        assert!(err.contains("`reconcile`") && err.contains("sync, finalize, customize"));
    }

    #[test]
    fn malformed_input_is_rejected_with_a_clear_message() {
        let err = parse_request("{not json").expect_err("not JSON");
        assert!(err.contains("not valid JSON"), "{err}");
        let err = parse_request("  \n").expect_err("empty");
        assert!(err.contains("empty"), "{err}");

        for hook in HOOKS {
            let err = run(hook, &json!({ "children": {} })).expect_err("no parent");
            assert!(err.contains("no `parent`"), "{hook}: {err}");
            let err = run(hook, &json!([1, 2])).expect_err("not an object");
            assert!(err.contains("not a JSON object"), "{hook}: {err}");
            let err = run(hook, &json!({ "parent": "x" })).expect_err("bad parent");
            assert!(err.contains("`parent`"), "{hook}: {err}");
        }
    }

    #[test]
    fn malformed_fields_are_rejected() {
        let no_name = json!({ "parent": { "metadata": {}, "spec": { "who": "x" } } });
        let err = sync(&no_name).expect_err("no name");
        assert!(err.contains("parent.metadata.name"), "{err}");

        let bad_who = request(parent(Some(json!(42))), json!({}), false);
        let err = sync(&bad_who).expect_err("who not a string");
        assert!(err.contains("parent.spec.who"), "{err}");

        let bad_children = json!({ "parent": parent(None), "children": [] });
        let err = sync(&bad_children).expect_err("children not an object");
        assert!(err.contains("`children`"), "{err}");
        let err = finalize(&bad_children).expect_err("children not an object");
        assert!(err.contains("`children`"), "{err}");
    }

    #[test]
    fn sample_requests_are_handled() {
        let sync_req = parse_request(include_str!("../requests/sync.json")).expect("json");
        let resp = sync(&sync_req).expect("sync succeeds");
        assert_eq!(resp["status"], json!({ "pods": 0, "succeeded": 0 }));
        assert_eq!(resp["children"], json!([expected_pod("Hello, Your Name!")]));

        let fin_req = parse_request(include_str!("../requests/finalize.json")).expect("json");
        let resp = finalize(&fin_req).expect("finalize succeeds");
        assert_eq!(resp["finalized"], json!(false));
        assert_eq!(resp["status"], json!({ "pods": 1, "succeeded": 1 }));

        let cust_req = parse_request(include_str!("../requests/customize.json")).expect("json");
        assert_eq!(
            customize(&cust_req).expect("customize succeeds"),
            json!({ "relatedResources": [] })
        );
    }
}
