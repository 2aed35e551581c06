//! The CatSet hooks through the hook entry point (`hooks().handle`), as hookserver runs them:
//! every path of the original's test.sh, finalize, key styles and bad input.

use std::collections::BTreeMap;

use serde_json::{Value, json};

const NAME: &str = "nginx-backend";
const NS: &str = "default";

fn template(image: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": "nginx", "component": "backend"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "nginx",
                "image": image,
                "ports": [{"containerPort": 80, "name": "web"}],
                "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]
            }]
        }
    })
}

fn claim_template() -> Value {
    json!({
        "metadata": {"name": "www", "labels": {"app": "nginx", "component": "backend"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    })
}

/// A CatSet like the original's my-catset.yaml, as stored.
fn catset(replicas: u64) -> Value {
    json!({
        "apiVersion": "ctl.enisoc.com/v1",
        "kind": "CatSet",
        "metadata": {
            "name": NAME, "namespace": NS,
            "uid": "3b9f6c2e-8d41-4a7e-b5c0-92e1f7d4a613",
            "generation": 1, "resourceVersion": "4187",
            "finalizers": ["metacontroller.io/compositecontroller-catset-controller"]
        },
        "spec": {
            "serviceName": NAME,
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": template("registry.k8s.io/nginx-slim:0.8"),
            "volumeClaimTemplates": [claim_template()]
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Pending,
    Ready,
    /// Running, but the Ready condition is False.
    Unready,
    /// Ready, but being deleted.
    Terminating,
}

fn pod(ordinal: u64, state: State) -> Value {
    let name = format!("{NAME}-{ordinal}");
    let mut pod = template("registry.k8s.io/nginx-slim:0.8");
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["namespace"] = json!(NS);
    pod["metadata"]["uid"] = json!(format!("pod-uid-{ordinal}"));
    pod["spec"]["hostname"] = json!(name);
    pod["spec"]["subdomain"] = json!(NAME);
    pod["spec"]["nodeName"] = json!("kind-worker");
    let (phase, ready) = match state {
        State::Pending => ("Pending", "False"),
        State::Unready => ("Running", "False"),
        State::Ready | State::Terminating => ("Running", "True"),
    };
    if state == State::Terminating {
        pod["metadata"]["deletionTimestamp"] = json!("2025-11-24T09:50:00Z");
        pod["metadata"]["deletionGracePeriodSeconds"] = json!(1);
    }
    pod["status"] = json!({
        "phase": phase,
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "PodScheduled", "status": "True"}
        ]
    });
    pod
}

fn pvc(name: &str) -> Value {
    let mut pvc = claim_template();
    pvc["apiVersion"] = json!("v1");
    pvc["kind"] = json!("PersistentVolumeClaim");
    pvc["metadata"]["name"] = json!(name);
    pvc["metadata"]["namespace"] = json!(NS);
    pvc["status"] = json!({"phase": "Bound"});
    pvc
}

fn by_name(objects: impl IntoIterator<Item = Value>) -> Value {
    let map: serde_json::Map<String, Value> = objects
        .into_iter()
        .map(|o| (o["metadata"]["name"].as_str().expect("name").to_string(), o))
        .collect();
    Value::Object(map)
}

fn request(parent: Value, pods: Vec<Value>, pvcs: Vec<Value>, finalizing: bool) -> Value {
    json!({
        "controller": {"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController",
                       "metadata": {"name": "catset-controller"}},
        "parent": parent,
        "children": {"Pod.v1": by_name(pods), "PersistentVolumeClaim.v1": by_name(pvcs)},
        "related": {},
        "finalizing": finalizing
    })
}

fn call(hook: &str, request: &Value) -> Value {
    let output = catset::hooks()
        .handle(hook, request.to_string().as_bytes())
        .unwrap_or_else(|err| panic!("{hook} failed: {err}"));
    serde_json::from_slice(&output).expect("the response is JSON")
}

fn call_err(hook: &str, request: &Value) -> String {
    match catset::hooks().handle(hook, request.to_string().as_bytes()) {
        Ok(output) => panic!(
            "{hook} should fail, answered {}",
            String::from_utf8_lossy(&output)
        ),
        Err(err) => err.to_string(),
    }
}

fn names(response: &Value, kind: &str) -> Vec<String> {
    response["children"]
        .as_array()
        .expect("children is a list")
        .iter()
        .filter(|child| child["kind"] == kind)
        .map(|child| {
            child["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_string()
        })
        .collect()
}

fn pods(response: &Value) -> Vec<String> {
    names(response, "Pod")
}

fn claims(response: &Value) -> Vec<String> {
    names(response, "PersistentVolumeClaim")
}

fn ready_pods(ordinals: impl IntoIterator<Item = u64>) -> Vec<Value> {
    ordinals.into_iter().map(|i| pod(i, State::Ready)).collect()
}

fn pvcs(ordinals: impl IntoIterator<Item = u64>) -> Vec<Value> {
    ordinals
        .into_iter()
        .map(|i| pvc(&format!("www-{NAME}-{i}")))
        .collect()
}

#[test]
fn first_sync_asks_for_pod_0_and_every_claim() {
    let response = call("sync", &request(catset(3), vec![], vec![], false));
    assert_eq!(pods(&response), ["nginx-backend-0"]);
    assert_eq!(
        claims(&response),
        [
            "www-nginx-backend-0",
            "www-nginx-backend-1",
            "www-nginx-backend-2"
        ]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 0, "readyReplicas": 0})
    );
    assert!(
        response.get("finalized").is_none(),
        "sync never writes finalized"
    );

    // The Pod is the template plus identity and one volume per claim template.
    let mut expected = template("registry.k8s.io/nginx-slim:0.8");
    expected["apiVersion"] = json!("v1");
    expected["kind"] = json!("Pod");
    expected["metadata"]["name"] = json!("nginx-backend-0");
    expected["spec"]["hostname"] = json!("nginx-backend-0");
    expected["spec"]["subdomain"] = json!("nginx-backend");
    expected["spec"]["volumes"] =
        json!([{"name": "www", "persistentVolumeClaim": {"claimName": "www-nginx-backend-0"}}]);
    assert_eq!(response["children"][0], expected);

    // The claims are the claim template with a name.
    let mut claim = claim_template();
    claim["apiVersion"] = json!("v1");
    claim["kind"] = json!("PersistentVolumeClaim");
    claim["metadata"]["name"] = json!("www-nginx-backend-2");
    assert_eq!(response["children"][3], claim);
}

#[test]
fn creation_waits_for_the_previous_pod_to_be_ready() {
    for state in [State::Pending, State::Unready, State::Terminating] {
        let response = call(
            "sync",
            &request(catset(3), vec![pod(0, state)], pvcs(0..3), false),
        );
        assert_eq!(pods(&response), ["nginx-backend-0"]);
        assert_eq!(
            response["status"],
            json!({"replicas": 1, "readyReplicas": 0})
        );
    }
    let response = call(
        "sync",
        &request(
            catset(3),
            vec![pod(0, State::Ready), pod(1, State::Pending)],
            pvcs(0..3),
            false,
        ),
    );
    assert_eq!(pods(&response), ["nginx-backend-1", "nginx-backend-0"]);
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 1})
    );
}

#[test]
fn the_next_pod_comes_once_all_lower_ones_are_ready() {
    let response = call(
        "sync",
        &request(catset(3), ready_pods(0..2), pvcs(0..3), false),
    );
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 2})
    );

    let response = call(
        "sync",
        &request(catset(3), ready_pods(0..3), pvcs(0..3), false),
    );
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 3, "readyReplicas": 3})
    );
}

#[test]
fn a_missing_pod_is_recreated_at_its_ordinal() {
    let observed = vec![pod(0, State::Ready), pod(2, State::Ready)];
    let response = call("sync", &request(catset(3), observed, pvcs(0..3), false));
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 1})
    );
}

#[test]
fn scale_up_to_4_adds_pod_3_and_its_claim() {
    let response = call(
        "sync",
        &request(catset(4), ready_pods(0..3), pvcs(0..3), false),
    );
    assert_eq!(
        pods(&response),
        [
            "nginx-backend-3",
            "nginx-backend-2",
            "nginx-backend-1",
            "nginx-backend-0"
        ]
    );
    assert_eq!(claims(&response).len(), 4);
    assert_eq!(
        response["status"],
        json!({"replicas": 3, "readyReplicas": 3})
    );
}

#[test]
fn scale_down_removes_the_highest_pod_only_and_keeps_claims() {
    let response = call(
        "sync",
        &request(catset(2), ready_pods(0..4), pvcs(0..4), false),
    );
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );
    assert_eq!(
        claims(&response),
        [
            "www-nginx-backend-0",
            "www-nginx-backend-1",
            "www-nginx-backend-2",
            "www-nginx-backend-3"
        ]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 4, "readyReplicas": 2})
    );

    // While Pod 3 is still terminating, Pod 2 stays.
    let mut observed = ready_pods(0..3);
    observed.push(pod(3, State::Terminating));
    let response = call("sync", &request(catset(2), observed, pvcs(0..4), false));
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );

    // Then Pod 2 goes.
    let response = call(
        "sync",
        &request(catset(2), ready_pods(0..3), pvcs(0..4), false),
    );
    assert_eq!(pods(&response), ["nginx-backend-1", "nginx-backend-0"]);
    assert_eq!(claims(&response).len(), 4);
}

#[test]
fn scale_down_waits_until_the_wanted_pods_are_ready() {
    let observed = vec![
        pod(0, State::Ready),
        pod(1, State::Unready),
        pod(2, State::Ready),
        pod(3, State::Ready),
    ];
    let response = call("sync", &request(catset(2), observed, pvcs(0..4), false));
    assert_eq!(
        pods(&response),
        [
            "nginx-backend-3",
            "nginx-backend-2",
            "nginx-backend-1",
            "nginx-backend-0"
        ]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 4, "readyReplicas": 1})
    );
}

#[test]
fn a_template_change_renders_every_pod_from_the_new_template_highest_first() {
    let mut parent = catset(4);
    parent["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.k8s.io/nginx-slim:0.27");
    let response = call(
        "sync",
        &request(parent, ready_pods(0..4), pvcs(0..4), false),
    );
    // RollingRecreate replaces the Pods in the order they are listed.
    assert_eq!(
        pods(&response),
        [
            "nginx-backend-3",
            "nginx-backend-2",
            "nginx-backend-1",
            "nginx-backend-0"
        ]
    );
    for child in response["children"].as_array().expect("list") {
        if child["kind"] == "Pod" {
            assert_eq!(
                child["spec"]["containers"][0]["image"],
                "registry.k8s.io/nginx-slim:0.27"
            );
            assert!(
                child.get("status").is_none(),
                "observed state is not echoed"
            );
            assert!(child["metadata"].get("uid").is_none());
        }
    }

    let controller = include_str!("../manifests/controller.yaml");
    for line in [
        "method: RollingRecreate",
        "- type: Ready",
        "status: \"True\"",
        "- spec.template",
        "url: http://hookserver.hookserver/hooks/catset/sync",
        "url: http://hookserver.hookserver/hooks/catset/finalize",
    ] {
        assert!(
            controller.lines().any(|l| l.trim() == line),
            "controller.yaml lacks {line:?}"
        );
    }
}

#[test]
fn finalize_scales_down_to_zero_highest_first_then_releases() {
    let response = call(
        "finalize",
        &request(catset(2), ready_pods(0..2), pvcs(0..4), true),
    );
    assert_eq!(pods(&response), ["nginx-backend-0"]);
    assert_eq!(
        claims(&response).len(),
        4,
        "claims go with the CatSet, later"
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 0})
    );
    assert_eq!(response["finalized"], json!(false));

    let response = call(
        "finalize",
        &request(catset(2), vec![pod(0, State::Ready)], pvcs(0..4), true),
    );
    assert!(pods(&response).is_empty());
    assert_eq!(response["finalized"], json!(false));

    let response = call(
        "finalize",
        &request(
            catset(2),
            vec![pod(0, State::Terminating)],
            pvcs(0..4),
            true,
        ),
    );
    assert!(pods(&response).is_empty());
    assert_eq!(response["finalized"], json!(false), "wait until it is gone");

    let response = call("finalize", &request(catset(2), vec![], pvcs(0..4), true));
    assert!(pods(&response).is_empty());
    assert_eq!(
        response["status"],
        json!({"replicas": 0, "readyReplicas": 0})
    );
    assert_eq!(response["finalized"], json!(true));
}

#[test]
fn sync_with_finalizing_true_finalizes_like_the_original() {
    let req = request(catset(3), ready_pods(0..3), pvcs(0..3), true);
    let response = call("sync", &req);
    assert_eq!(response, call("finalize", &req));
    assert_eq!(pods(&response), ["nginx-backend-1", "nginx-backend-0"]);
    assert_eq!(response["finalized"], json!(false));
}

#[test]
fn foreign_pods_are_neither_counted_nor_kept() {
    let mut stray = pod(1, State::Ready);
    stray["metadata"]["name"] = json!("nginx-backend-01");
    let mut other = pod(0, State::Ready);
    other["metadata"]["name"] = json!("nginx-frontend-0");
    let observed = vec![pod(0, State::Ready), stray, other];
    let response = call("sync", &request(catset(3), observed, pvcs(0..3), false));
    assert_eq!(pods(&response), ["nginx-backend-1", "nginx-backend-0"]);
    assert_eq!(
        response["status"],
        json!({"replicas": 1, "readyReplicas": 1})
    );

    // Nor do they hold up the finalizer.
    let mut other = pod(0, State::Ready);
    other["metadata"]["name"] = json!("web-0");
    let response = call("finalize", &request(catset(3), vec![other], vec![], true));
    assert_eq!(response["finalized"], json!(true));
    assert_eq!(response["children"], json!([]));
}

#[test]
fn v2_keys_and_missing_child_types_are_read_the_same() {
    let v1 = request(catset(3), ready_pods(0..2), pvcs(0..4), false);
    let mut v2 = v1.clone();
    for kind in ["Pod.v1", "PersistentVolumeClaim.v1"] {
        let rekeyed: serde_json::Map<String, Value> = v1["children"][kind]
            .as_object()
            .expect("map")
            .iter()
            .map(|(name, object)| (format!("{NS}/{name}"), object.clone()))
            .collect();
        v2["children"][kind] = Value::Object(rekeyed);
    }
    assert_eq!(call("sync", &v1), call("sync", &v2));

    // No `children` at all, or no PVC type: nothing observed.
    let mut bare = request(catset(2), vec![], vec![], false);
    let expected = call("sync", &bare);
    bare.as_object_mut().expect("object").remove("children");
    assert_eq!(call("sync", &bare), expected);
    let mut pods_only = request(catset(2), vec![], vec![], false);
    pods_only["children"]
        .as_object_mut()
        .expect("map")
        .remove("PersistentVolumeClaim.v1");
    assert_eq!(call("sync", &pods_only), expected);
}

#[test]
fn without_claim_templates_no_claims_and_no_volumes() {
    let mut parent = catset(1);
    parent["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("volumeClaimTemplates");
    parent["spec"]["template"]["spec"]["volumes"] = json!([{"name": "www", "emptyDir": {}}]);
    let response = call("sync", &request(parent, vec![], pvcs(0..2), false));
    assert_eq!(pods(&response), ["nginx-backend-0"]);
    assert!(
        claims(&response).is_empty(),
        "no template claims any observed PVC"
    );
    assert_eq!(
        response["children"][0]["spec"]["volumes"],
        json!([{"name": "www", "emptyDir": {}}])
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 0, "readyReplicas": 0})
    );
}

#[test]
fn a_claim_template_replaces_the_template_volume_of_its_name() {
    let mut parent = catset(1);
    parent["spec"]["template"]["spec"]["volumes"] =
        json!([{"name": "www", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "nginx"}}]);
    let response = call("sync", &request(parent, vec![], vec![], false));
    assert_eq!(
        response["children"][0]["spec"]["volumes"],
        json!([
            {"name": "conf", "configMap": {"name": "nginx"}},
            {"name": "www", "persistentVolumeClaim": {"claimName": "www-nginx-backend-0"}}
        ])
    );
}

#[test]
fn missing_replicas_means_one_and_zero_means_none() {
    let mut parent = catset(3);
    parent["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("replicas");
    let response = call(
        "sync",
        &request(parent, ready_pods(0..2), pvcs(0..2), false),
    );
    assert_eq!(pods(&response), ["nginx-backend-0"]);
    assert_eq!(
        claims(&response),
        ["www-nginx-backend-0", "www-nginx-backend-1"]
    );
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 1})
    );

    let response = call("sync", &request(catset(0), vec![], vec![], false));
    assert_eq!(response["children"], json!([]));
    assert_eq!(
        response["status"],
        json!({"replicas": 0, "readyReplicas": 0})
    );
}

#[test]
fn bad_catsets_are_refused_with_a_reason() {
    // The CatSet with the field `key` of the object at JSON pointer `at` set or removed.
    let with = |at: &str, key: &str, value: Option<Value>| {
        let mut parent = catset(3);
        let target = parent.pointer_mut(at).expect("the pointer exists");
        match value {
            Some(value) => target[key] = value,
            None => {
                target.as_object_mut().expect("object").remove(key);
            }
        }
        request(parent, vec![], vec![], false)
    };
    let cases = [
        (
            with("/metadata", "name", None),
            "`parent.metadata.name` is missing",
        ),
        (with("", "spec", None), "has no `spec` object"),
        (
            with("/spec", "replicas", Some(json!(-1))),
            "`spec.replicas` must be a whole number",
        ),
        (with("/spec", "replicas", Some(json!("3"))), "got \"3\""),
        (with("/spec", "replicas", Some(json!(1.5))), "got 1.5"),
        (
            with("/spec", "serviceName", Some(json!(7))),
            "`spec.serviceName` must be",
        ),
        (with("/spec", "template", None), "has no `spec.template`"),
        (
            with("/spec", "template", Some(json!([]))),
            "`spec.template` must be a Pod template",
        ),
        (
            with("/spec/template", "spec", None),
            "`spec.template.spec` is missing",
        ),
        (
            with("/spec/template/spec", "volumes", Some(json!({}))),
            "`spec.template.spec.volumes` must be a list",
        ),
        (
            with(
                "/spec",
                "volumeClaimTemplates",
                Some(json!({"name": "www"})),
            ),
            "`spec.volumeClaimTemplates` must be a list",
        ),
        (
            with("/spec", "volumeClaimTemplates", Some(json!([{"spec": {}}]))),
            "`spec.volumeClaimTemplates[0]` needs a `metadata.name`",
        ),
        (
            with(
                "/spec",
                "volumeClaimTemplates",
                Some(json!([claim_template(), claim_template()])),
            ),
            "two `spec.volumeClaimTemplates` are named \"www\"",
        ),
        (
            with("/spec/selector", "matchLabels", Some(json!({"app": "web"}))),
            "`spec.template.metadata.labels` must include every label of `spec.selector.matchLabels`, but \"app\" is \"nginx\" there",
        ),
        (
            with("/spec/volumeClaimTemplates/0/metadata", "labels", None),
            "`spec.volumeClaimTemplates[0].metadata.labels` must include every label",
        ),
    ];
    for (req, expected) in cases {
        let message = call_err("sync", &req);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    assert!(call_err("sync", &json!({"children": {}})).contains("missing field `parent`"));
    assert!(call_err("customize", &json!({"parent": catset(1)})).contains("does not implement"));
}

#[test]
fn a_catset_with_no_pods_left_is_released_even_without_a_template() {
    let mut parent = catset(3);
    parent["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("template");
    let response = call("finalize", &request(parent, vec![], pvcs(0..3), true));
    assert_eq!(response["finalized"], json!(true));
    assert_eq!(claims(&response).len(), 3);
}

/// A small stand-in for metacontroller and the kubelet: applies each response (creating and
/// deleting children at once), then optionally makes every Pod Ready.
struct Cluster {
    parent: Value,
    pods: BTreeMap<String, Value>,
    claims: BTreeMap<String, Value>,
    log: Vec<String>,
}

impl Cluster {
    fn new(parent: Value) -> Self {
        Cluster {
            parent,
            pods: BTreeMap::new(),
            claims: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    fn step(&mut self, hook: &str, kubelet: bool) -> Value {
        let finalizing = hook == "finalize";
        let req = request(
            self.parent.clone(),
            self.pods.values().cloned().collect(),
            self.claims.values().cloned().collect(),
            finalizing,
        );
        let response = call(hook, &req);
        for (kind, observed) in [
            ("Pod", &mut self.pods),
            ("PersistentVolumeClaim", &mut self.claims),
        ] {
            let desired = names(&response, kind);
            let gone: Vec<String> = observed
                .keys()
                .filter(|name| !desired.contains(name))
                .cloned()
                .collect();
            for name in gone {
                observed.remove(&name);
                self.log.push(format!("delete {kind} {name}"));
            }
            for child in response["children"].as_array().expect("list") {
                let name = child["metadata"]["name"]
                    .as_str()
                    .expect("name")
                    .to_string();
                if child["kind"] == kind && !observed.contains_key(&name) {
                    let mut created = child.clone();
                    created["status"] = json!({"phase": "Pending"});
                    observed.insert(name.clone(), created);
                    self.log.push(format!("create {kind} {name}"));
                }
            }
        }
        if kubelet {
            for pod in self.pods.values_mut() {
                pod["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
            }
        }
        self.parent["status"] = response["status"].clone();
        response
    }

    /// Steps until `done`, at most 20 times.
    fn run(&mut self, hook: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..20 {
            let response = self.step(hook, true);
            if done(&response) {
                return response;
            }
        }
        panic!("did not settle; log: {:#?}", self.log);
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

#[test]
fn the_original_test_script_end_to_end() {
    let mut cluster = Cluster::new(catset(3));

    // Pods are not created while the previous one is not Ready.
    cluster.step("sync", false);
    cluster.step("sync", false);
    assert_eq!(
        cluster.take_log(),
        [
            "create Pod nginx-backend-0",
            "create PersistentVolumeClaim www-nginx-backend-0",
            "create PersistentVolumeClaim www-nginx-backend-1",
            "create PersistentVolumeClaim www-nginx-backend-2",
        ]
    );

    // Wait for 3 Pods to be Ready.
    cluster.run("sync", |r| r["status"]["readyReplicas"] == 3);
    assert_eq!(
        cluster.take_log(),
        ["create Pod nginx-backend-1", "create Pod nginx-backend-2"]
    );

    // Scale up to 4.
    cluster.parent["spec"]["replicas"] = json!(4);
    cluster.run("sync", |r| r["status"]["readyReplicas"] == 4);
    assert_eq!(
        cluster.take_log(),
        [
            "create Pod nginx-backend-3",
            "create PersistentVolumeClaim www-nginx-backend-3",
        ]
    );

    // Scale down to 2: highest first, one per sync; the claims stay.
    cluster.parent["spec"]["replicas"] = json!(2);
    cluster.run("sync", |r| r["status"]["replicas"] == 2);
    assert_eq!(
        cluster.take_log(),
        ["delete Pod nginx-backend-3", "delete Pod nginx-backend-2"]
    );
    assert_eq!(cluster.parent["status"]["readyReplicas"], 2);
    assert_eq!(cluster.claims.len(), 4);

    // Delete the CatSet: finalize scales to 0, then releases it.
    cluster.parent["metadata"]["deletionTimestamp"] = json!("2025-11-24T09:51:02Z");
    let last = cluster.run("finalize", |r| r["finalized"] == true);
    assert_eq!(
        cluster.take_log(),
        ["delete Pod nginx-backend-1", "delete Pod nginx-backend-0"]
    );
    assert_eq!(last["status"], json!({"replicas": 0, "readyReplicas": 0}));
    assert_eq!(cluster.claims.len(), 4, "left to garbage collection");
}

fn sample(name: &str) -> Value {
    let text = match name {
        "sync" => include_str!("../requests/sync.json"),
        "sync-scale-down" => include_str!("../requests/sync-scale-down.json"),
        "finalize" => include_str!("../requests/finalize.json"),
        other => panic!("no sample {other}"),
    };
    serde_json::from_str(text).expect("sample requests are JSON")
}

#[test]
fn the_sample_requests_give_the_documented_answers() {
    let response = call("sync", &sample("sync"));
    assert_eq!(pods(&response), ["nginx-backend-1", "nginx-backend-0"]);
    assert_eq!(claims(&response).len(), 3);
    assert_eq!(
        response["status"],
        json!({"replicas": 1, "readyReplicas": 1})
    );

    let response = call("sync", &sample("sync-scale-down"));
    assert_eq!(
        pods(&response),
        ["nginx-backend-2", "nginx-backend-1", "nginx-backend-0"]
    );
    assert_eq!(claims(&response).len(), 4);
    assert_eq!(
        response["status"],
        json!({"replicas": 4, "readyReplicas": 2})
    );

    let request = sample("finalize");
    assert_eq!(request["finalizing"], true);
    let response = call("finalize", &request);
    assert_eq!(pods(&response), ["nginx-backend-0"]);
    assert_eq!(claims(&response).len(), 4);
    assert_eq!(
        response["status"],
        json!({"replicas": 2, "readyReplicas": 0})
    );
    assert_eq!(response["finalized"], false);

    // Every sample declares both child types, as metacontroller does.
    for name in ["sync", "sync-scale-down", "finalize"] {
        let children = sample(name)["children"].clone();
        assert!(
            children.get("Pod.v1").is_some() && children.get("PersistentVolumeClaim.v1").is_some()
        );
    }
}
