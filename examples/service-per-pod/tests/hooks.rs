//! The paths of metacontroller's `service-per-pod` test.sh, on the host: a StatefulSet gets
//! one Service per Pod, its Pods get the `pod-name` label, opting out or deleting removes
//! the Services and releases the StatefulSet. Plus the odd inputs the original crashed on.

use serde_json::{Value, json};
use service_per_pod::{TargetPort, hooks, parse_ports, pod_name_label};

const SYNC: &str = include_str!("../requests/sync.json");
const FINALIZE: &str = include_str!("../requests/finalize.json");
const POD_SYNC: &str = include_str!("../requests/pod-name-label/sync.json");

/// Runs one hook call as the hook program would and parses the answer.
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

/// A minimal StatefulSet sync request with these annotations and replicas.
fn statefulset(annotations: Value, replicas: Value) -> Value {
    let mut object = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {}
    });
    if !replicas.is_null() {
        object["spec"]["replicas"] = replicas;
    }
    json!({"object": object, "attachments": {"Service.v1": {}}, "related": {}, "finalizing": false})
}

#[test]
fn sync_creates_one_service_per_pod() {
    let response = call("sync", &request(SYNC));
    let service = |index: usize| {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("nginx-{index}"), "labels": {"app": "service-per-pod"}},
            "spec": {
                "selector": {"pod-name": format!("nginx-{index}")},
                "ports": [{"name": "port-80", "port": 80, "targetPort": 80}]
            }
        })
    };
    assert_eq!(
        response,
        json!({"attachments": [service(0), service(1), service(2)]}),
        "no labels, annotations, status or finalized in a v1 sync answer"
    );
}

#[test]
fn sync_keeps_the_services_when_they_already_exist() {
    // A later sync sees its own Services (v1 keys: plain names) and must list them again,
    // or metacontroller would delete them.
    let mut req = request(SYNC);
    let observed = request(FINALIZE)["attachments"].clone();
    assert_eq!(
        observed["Service.v1"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["nginx-0".into(), "nginx-1".into(), "nginx-2".into()])
    );
    req["attachments"] = observed;
    let names: Vec<Value> = call("sync", &req)["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|s| s["metadata"]["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("nginx-0"), json!("nginx-1"), json!("nginx-2")]
    );
}

#[test]
fn ports_annotation_supports_several_named_and_bare_ports() {
    let req = statefulset(
        json!({"service-per-pod-label": "statefulset.kubernetes.io/pod-name",
               "service-per-pod-ports": " 80:8080, 443:8443,9090:metrics,53 ,"}),
        json!(1),
    );
    let response = call("sync", &req);
    assert_eq!(
        response["attachments"][0]["spec"],
        json!({
            "selector": {"statefulset.kubernetes.io/pod-name": "web-0"},
            "ports": [
                {"name": "port-80", "port": 80, "targetPort": 8080},
                {"name": "port-443", "port": 443, "targetPort": 8443},
                {"name": "port-9090", "port": 9090, "targetPort": "metrics"},
                {"name": "port-53", "port": 53, "targetPort": 53}
            ]
        })
    );
    assert_eq!(
        response["attachments"][0]["metadata"].get("namespace"),
        None,
        "metacontroller puts the Service in the StatefulSet's namespace"
    );
}

#[test]
fn bad_ports_are_refused_with_the_reason() {
    let cases = [
        ("", "annotation `service-per-pod-ports` is empty"),
        (" , ", "lists no ports"),
        (
            "http:80",
            "\"http:80\": the port must be a number from 1 to 65535",
        ),
        ("0:80", "the port must be a number"),
        ("70000:80", "the port must be a number"),
        (
            "80:8080:1",
            "the target port must be a number from 1 to 65535 or a container port name",
        ),
        ("80:-1", "the target port must be"),
        ("80:Web", "the target port must be"),
        ("80:80,80:8080", "port 80 is listed twice"),
    ];
    for (ports, expected) in cases {
        let req = statefulset(
            json!({"service-per-pod-label": "pod-name", "service-per-pod-ports": ports}),
            json!(2),
        );
        let message = call_err("sync", &req);
        assert!(
            message.contains(expected) && message.starts_with("StatefulSet shop/web"),
            "ports {ports:?}: {message}"
        );
    }
}

#[test]
fn parse_ports_reads_pairs() {
    let ports = parse_ports("80:8080,9090:metrics").expect("valid");
    assert_eq!(ports[0].port, 80);
    assert_eq!(ports[0].target, TargetPort::Number(8080));
    assert_eq!(ports[1].target, TargetPort::Name("metrics".into()));
    assert!(parse_ports("80:my--port").is_err());
    assert!(parse_ports("80:a-very-long-port-name").is_err());
}

#[test]
fn missing_annotations_say_what_to_set() {
    let message = call_err(
        "sync",
        &statefulset(json!({"service-per-pod-ports": "80:80"}), json!(1)),
    );
    assert_eq!(
        message,
        "StatefulSet shop/web: annotation `service-per-pod-label` is missing; set it to a Pod \
         label key, such as \"statefulset.kubernetes.io/pod-name\""
    );
    let message = call_err(
        "sync",
        &statefulset(json!({"service-per-pod-label": "pod-name"}), json!(1)),
    );
    assert!(
        message.contains("annotation `service-per-pod-ports` is missing"),
        "{message}"
    );
    let message = call_err(
        "sync",
        &statefulset(
            json!({"service-per-pod-label": 7, "service-per-pod-ports": "80"}),
            json!(1),
        ),
    );
    assert!(message.contains("must be a string, got 7"), "{message}");
    // No annotations at all, and no metadata at all.
    let message = call_err("sync", &statefulset(Value::Null, json!(1)));
    assert!(
        message.contains("`service-per-pod-label` is missing"),
        "{message}"
    );
    let message = call_err(
        "sync",
        &json!({"object": {"kind": "StatefulSet"}, "attachments": {}}),
    );
    assert!(message.contains("no `metadata.name`"), "{message}");
}

#[test]
fn replicas_default_to_one_and_zero_means_no_service() {
    let annotations = json!({"service-per-pod-label": "pod-name", "service-per-pod-ports": "80"});
    let count = |replicas: Value| {
        call("sync", &statefulset(annotations.clone(), replicas))["attachments"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(count(Value::Null), Some(1), "missing spec.replicas is 1");
    assert_eq!(
        count(json!(0)),
        Some(0),
        "scaled to zero: every Service is deleted"
    );
    assert_eq!(count(json!(5)), Some(5));
    for bad in [json!(-1), json!("3"), json!(1.5), json!(4_000_000_000_u64)] {
        let message = call_err("sync", &statefulset(annotations.clone(), bad.clone()));
        assert!(
            message.contains("`spec.replicas` must be a whole number"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn finalize_deletes_the_services_and_waits_until_they_are_gone() {
    // Opt-out (test.sh removes service-per-pod-label): the Services still exist.
    let req = request(FINALIZE);
    assert!(
        req["object"]["metadata"]["annotations"]
            .get("service-per-pod-label")
            .is_none()
    );
    assert_eq!(
        call("finalize", &req),
        json!({"attachments": [], "finalized": false})
    );
    // Next call: they are gone.
    let mut req = req;
    req["attachments"] = json!({"Service.v1": {}});
    assert_eq!(
        call("finalize", &req),
        json!({"attachments": [], "finalized": true})
    );
    // A missing type entry (metacontroller always sends it) counts as none.
    req["attachments"] = json!({});
    assert_eq!(call("finalize", &req)["finalized"], json!(true));
}

#[test]
fn finalize_counts_services_whatever_the_key_style() {
    let service = json!({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "nginx-0", "namespace": "default"}});
    for key in ["nginx-0", "default/nginx-0"] {
        let req = json!({"object": {"metadata": {"name": "nginx"}},
                         "attachments": {"Service.v1": {key: service.clone()}},
                         "finalizing": true});
        assert_eq!(
            call("finalize", &req)["finalized"],
            json!(false),
            "key {key}"
        );
    }
}

#[test]
fn sync_called_while_finalizing_answers_as_finalize() {
    let mut req = request(FINALIZE);
    assert_eq!(call("sync", &req), call("finalize", &req));
    req["finalizing"] = json!(false);
    // Without the label annotation a real sync is refused, which shows the switch above.
    assert!(call_err("sync", &req).contains("`service-per-pod-label` is missing"));
}

#[test]
fn only_sync_and_finalize_are_implemented() {
    let message = call_err("customize", &json!({"parent": {}}));
    assert!(
        message.contains("does not implement `customize`"),
        "{message}"
    );
}

fn label(request: &Value) -> Result<Value, String> {
    pod_name_label::hooks()
        .handle("sync", request.to_string().as_bytes())
        .map(|out| serde_json::from_slice(&out).expect("JSON"))
        .map_err(|err| err.to_string())
}

#[test]
fn pod_name_label_sets_the_requested_label() {
    assert_eq!(
        label(&request(POD_SYNC)),
        Ok(json!({"labels": {"pod-name": "nginx-2"}, "attachments": []}))
    );
}

#[test]
fn pod_name_label_odd_pods() {
    let pod = |annotations: Value, name: Value| {
        json!({"object": {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "namespace": "shop", "annotations": annotations}},
               "attachments": {}})
    };
    // No annotation (any more): nothing to change.
    assert_eq!(
        label(&pod(json!({}), json!("db-0"))),
        Ok(json!({"attachments": []}))
    );
    assert_eq!(
        label(&pod(Value::Null, json!("db-0"))),
        Ok(json!({"attachments": []}))
    );
    // Any label key works, with spaces trimmed.
    assert_eq!(
        label(&pod(
            json!({"pod-name-label": " example.com/pod "}),
            json!("db-0")
        )),
        Ok(json!({"labels": {"example.com/pod": "db-0"}, "attachments": []}))
    );
    let message = label(&pod(json!({"pod-name-label": ""}), json!("db-0"))).expect_err("empty key");
    assert!(
        message.starts_with("Pod shop/db-0: annotation `pod-name-label` is empty"),
        "{message}"
    );
    let message =
        label(&pod(json!({"pod-name-label": "pod-name"}), Value::Null)).expect_err("no name");
    assert!(
        message.contains("the Pod has no `metadata.name`"),
        "{message}"
    );
    let message = pod_name_label::hooks()
        .handle("finalize", POD_SYNC.as_bytes())
        .expect_err("sync only")
        .to_string();
    assert!(
        message.contains("does not implement `finalize`"),
        "{message}"
    );
}
