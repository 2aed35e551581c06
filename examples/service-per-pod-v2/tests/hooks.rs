//! The paths of metacontroller's `service-per-pod-v2` test.sh, on the host: one Service per
//! Pod, the `v2-naming-verified` annotation once the Services are seen under v2 keys, the
//! `pod-name` label, and clean-up on opt-out and deletion. Plus odd inputs.

use serde_json::{Value, json};
use service_per_pod_v2::{hooks, pod_name_label};

const SYNC: &str = include_str!("../requests/sync.json");
const FINALIZE: &str = include_str!("../requests/finalize.json");
const POD_SYNC: &str = include_str!("../requests/pod-name-label-v2/sync.json");

fn call(hook: &str, request: &Value) -> Value {
    let output = hooks()
        .handle(hook, request.to_string().as_bytes())
        .unwrap_or_else(|err| panic!("{hook} failed: {err}"));
    serde_json::from_slice(&output).expect("the response is JSON")
}

fn call_err(hook: &str, request: &Value) -> String {
    match hooks().handle(hook, request.to_string().as_bytes()) {
        Ok(output) => panic!(
            "{hook} should fail, answered {}",
            String::from_utf8_lossy(&output)
        ),
        Err(err) => err.to_string(),
    }
}

fn request(text: &str) -> Value {
    serde_json::from_str(text).expect("sample request is JSON")
}

/// The sample's observed Services re-keyed with `key(index)`.
fn services_keyed(key: impl Fn(usize) -> String) -> Value {
    let observed = request(SYNC)["attachments"]["Service.v1"].clone();
    let mut rekeyed = serde_json::Map::new();
    for index in 0..3 {
        let service = observed[format!("default/nginx-{index}")].clone();
        assert!(service.is_object(), "the sample holds nginx-{index}");
        rekeyed.insert(key(index), service);
    }
    json!({"Service.v1": rekeyed})
}

#[test]
fn sync_creates_one_service_per_pod_and_verifies_v2_keys() {
    let response = call("sync", &request(SYNC));
    let service = |index: usize| {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("nginx-{index}"), "labels": {"app": "service-per-pod"}},
            "spec": {
                "selector": {"pod-name": format!("nginx-{index}")},
                "ports": [
                    {"name": "port-80", "port": 80, "targetPort": 80},
                    {"name": "port-8080", "port": 8080, "targetPort": 8080}
                ]
            }
        })
    };
    assert_eq!(
        response,
        json!({
            "annotations": {"v2-naming-verified": "true"},
            "attachments": [service(0), service(1), service(2)]
        })
    );
}

#[test]
fn naming_is_not_verified_with_v1_keys_or_before_the_services_exist() {
    let annotation = |attachments: Value| {
        let mut req = request(SYNC);
        req["attachments"] = attachments;
        call("sync", &req)["annotations"]["v2-naming-verified"].clone()
    };
    // v1 keys: the same Services keyed by plain name.
    assert_eq!(
        annotation(services_keyed(|i| format!("nginx-{i}"))),
        json!("false")
    );
    // The first sync: no Service yet; and a request without the type entry.
    assert_eq!(annotation(json!({"Service.v1": {}})), json!("false"));
    assert_eq!(annotation(json!({})), json!("false"));
    // Only nginx-0 counts, and only in the StatefulSet's own namespace.
    assert_eq!(
        annotation(services_keyed(|i| format!("default/nginx-{i}"))),
        json!("true")
    );
    assert_eq!(
        annotation(services_keyed(|i| format!("other/nginx-{i}"))),
        json!("false")
    );
    assert_eq!(
        annotation(services_keyed(|i| format!("default/nginx-{}", i + 1))),
        json!("false"),
        "nginx-1..3 without nginx-0"
    );
}

#[test]
fn a_statefulset_without_namespace_is_not_verified() {
    let mut req = request(SYNC);
    req["object"]["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("namespace");
    assert_eq!(
        call("sync", &req)["annotations"],
        json!({"v2-naming-verified": "false"})
    );
}

#[test]
fn finalize_deletes_the_services_and_releases_once_they_are_gone() {
    // The sample: the StatefulSet is being deleted and its Services are gone.
    let mut req = request(FINALIZE);
    assert!(req["object"]["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        call("finalize", &req),
        json!({"attachments": [], "finalized": true}),
        "finalize does not touch the v2-naming-verified annotation"
    );
    // Earlier: the Services still exist (v2 keys, and v1 keys count as well).
    req["attachments"] = services_keyed(|i| format!("default/nginx-{i}"));
    assert_eq!(
        call("finalize", &req),
        json!({"attachments": [], "finalized": false})
    );
    req["attachments"] = services_keyed(|i| format!("nginx-{i}"));
    assert_eq!(call("finalize", &req)["finalized"], json!(false));
    // A sync request with finalizing: true is answered as finalize.
    assert_eq!(call("sync", &req), call("finalize", &req));
}

#[test]
fn opt_out_finalize_needs_no_annotations() {
    let mut req = request(SYNC);
    let annotations = req["object"]["metadata"]["annotations"]
        .as_object_mut()
        .expect("annotations");
    annotations.remove("service-per-pod-label");
    annotations.remove("service-per-pod-ports");
    req["finalizing"] = json!(true);
    assert_eq!(
        call("finalize", &req),
        json!({"attachments": [], "finalized": false})
    );
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let with = |path: &[&str], value: Value| {
        let mut req = request(SYNC);
        let mut target = &mut req["object"];
        for step in path {
            target = &mut target[*step];
        }
        *target = value;
        call_err("sync", &req)
    };
    let annotations = ["metadata", "annotations"];
    let ports = ["metadata", "annotations", "service-per-pod-ports"];
    let label = ["metadata", "annotations", "service-per-pod-label"];
    let cases = [
        (
            with(&ports, json!("80:eighty!")),
            "\"80:eighty!\": the target port must be",
        ),
        (with(&ports, json!("80,80:81")), "port 80 is listed twice"),
        (with(&ports, json!(",")), "lists no ports"),
        (
            with(&label, json!("  ")),
            "annotation `service-per-pod-label` is empty",
        ),
        (
            with(&annotations, json!({})),
            "annotation `service-per-pod-label` is missing",
        ),
        (
            with(&["spec", "replicas"], json!(-3)),
            "`spec.replicas` must be a whole number",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.starts_with("StatefulSet default/nginx: ") && message.contains(expected),
            "{message}"
        );
    }
    assert!(with(&["metadata", "name"], Value::Null).contains("no `metadata.name`"));
}

#[test]
fn replicas_drive_the_number_of_services() {
    let count = |replicas: Value| {
        let mut req = request(SYNC);
        req["object"]["spec"]["replicas"] = replicas;
        call("sync", &req)["attachments"].as_array().map(Vec::len)
    };
    assert_eq!(count(json!(0)), Some(0));
    assert_eq!(count(Value::Null), Some(1));
    assert_eq!(count(json!(7)), Some(7));
}

fn label(request: &Value) -> Result<Value, String> {
    pod_name_label::hooks()
        .handle("sync", request.to_string().as_bytes())
        .map(|out| serde_json::from_slice(&out).expect("JSON"))
        .map_err(|err| err.to_string())
}

#[test]
fn pod_name_label_sets_the_requested_label() {
    let req = request(POD_SYNC);
    assert_eq!(req["controller"]["spec"]["hooks"]["sync"]["version"], "v2");
    assert_eq!(
        label(&req),
        Ok(json!({"labels": {"pod-name": "nginx-2"}, "attachments": []}))
    );
    let mut req = req;
    req["object"]["metadata"]["annotations"] = json!({});
    assert_eq!(label(&req), Ok(json!({"attachments": []})), "not opted in");
    req["object"]["metadata"]["annotations"] = json!({"pod-name-label": ""});
    assert!(
        label(&req)
            .expect_err("empty key")
            .starts_with("Pod default/nginx-2: annotation `pod-name-label` is empty")
    );
}
