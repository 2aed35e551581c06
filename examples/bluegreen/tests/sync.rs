//! The bluegreen sync hook, called as the hook program calls it (request JSON in,
//! response JSON out): each rollout transition, the walk of metacontroller's test.sh,
//! hook v1 and v2 keys, odd and bad input, and the sample requests.

use serde_json::{Map, Value, json};

const ANNOTATION: &str = "bluegreendeployments.ctl.enisoc.com/pod-template-json";

fn call(request: &Value) -> Result<Value, String> {
    let input = serde_json::to_vec(request).expect("serialize request");
    let output = bluegreen::hooks()
        .handle("sync", &input)
        .map_err(|err| err.to_string())?;
    Ok(serde_json::from_slice(&output).expect("the hook writes JSON"))
}

fn template(extra_labels: &[(&str, &str)]) -> Value {
    let mut labels = json!({"app": "nginx", "component": "frontend"});
    for (key, value) in extra_labels {
        labels[*key] = json!(value);
    }
    json!({
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.7.9", "ports": [{"containerPort": 80}]}]}
    })
}

/// The parent of metacontroller's my-bluegreen.yaml, with this Pod template.
fn parent(template: Value) -> Value {
    json!({
        "apiVersion": "ctl.enisoc.com/v1",
        "kind": "BlueGreenDeployment",
        "metadata": {"name": "nginx", "namespace": "default", "uid": "c1d2e3f4", "generation": 1,
                     "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 3,
            "minReadySeconds": 5,
            "selector": {"matchLabels": {"app": "nginx", "component": "frontend"}},
            "template": template,
            "service": {
                "metadata": {"name": "nginx-frontend", "labels": {"app": "nginx", "component": "frontend"}},
                "spec": {"selector": {"app": "nginx", "component": "frontend"}, "ports": [{"port": 80}]}
            }
        }
    })
}

/// An observed ReplicaSet as the hook made it, with this status.
fn observed_rs(color: &str, replicas: i64, template: &Value, status: Value) -> Value {
    let mut pod_template = template.clone();
    pod_template["metadata"]["labels"]["color"] = json!(color);
    let mut labels = template["metadata"]["labels"].clone();
    labels["color"] = json!(color);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": format!("nginx-{color}"), "namespace": "default", "labels": labels,
                     "annotations": {ANNOTATION: template.to_string()}},
        "spec": {"replicas": replicas, "minReadySeconds": 5,
                 "selector": {"matchLabels": {"app": "nginx", "component": "frontend", "color": color}},
                 "template": pod_template},
        "status": status
    })
}

/// What the ReplicaSet controller reports once `n` Pods are all available
/// (the API server omits the zero counts).
fn settled(n: i64) -> Value {
    if n == 0 {
        json!({"replicas": 0, "observedGeneration": 1})
    } else {
        json!({"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n,
               "availableReplicas": n, "observedGeneration": 1})
    }
}

fn observed_service(color: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "nginx-frontend", "namespace": "default",
                     "labels": {"app": "nginx", "component": "frontend"}},
        "spec": {"selector": {"app": "nginx", "component": "frontend", "color": color},
                 "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                 "clusterIP": "10.96.14.20", "type": "ClusterIP"},
        "status": {"loadBalancer": {}}
    })
}

/// A hook v1 request: children keyed by name.
fn request(parent: Value, services: Vec<Value>, replica_sets: Vec<Value>) -> Value {
    let by_name = |objects: Vec<Value>| -> Value {
        objects
            .into_iter()
            .map(|o| (o["metadata"]["name"].as_str().expect("name").to_string(), o))
            .collect::<Map<String, Value>>()
            .into()
    };
    json!({
        "controller": {"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController",
                       "metadata": {"name": "bluegreen-controller"}},
        "parent": parent,
        "children": {"Service.v1": by_name(services), "ReplicaSet.apps/v1": by_name(replica_sets)},
        "related": {},
        "finalizing": false
    })
}

/// The desired child named `name`.
fn child<'a>(response: &'a Value, name: &str) -> &'a Value {
    response["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no child {name} in {response}"))
}

fn replicas(response: &Value, color: &str) -> i64 {
    child(response, &format!("nginx-{color}"))["spec"]["replicas"]
        .as_i64()
        .expect("replicas")
}

fn service_color(response: &Value) -> &str {
    child(response, "nginx-frontend")["spec"]["selector"]["color"]
        .as_str()
        .expect("color")
}

/// The template a desired ReplicaSet records.
fn recorded(response: &Value, color: &str) -> Value {
    let annotation = child(response, &format!("nginx-{color}"))["metadata"]["annotations"]
        [ANNOTATION]
        .as_str()
        .expect("annotation");
    serde_json::from_str(annotation).expect("annotation is JSON")
}

#[test]
fn first_sync_creates_the_service_and_both_replica_sets() {
    let t = template(&[]);
    let response = call(&request(parent(t.clone()), vec![], vec![])).expect("sync");
    let mut blue_template = t.clone();
    blue_template["metadata"]["labels"]["color"] = json!("blue");
    let mut green_template = t.clone();
    green_template["metadata"]["labels"]["color"] = json!("green");
    assert_eq!(
        response,
        json!({
            "status": {"activeColor": "blue", "active": {}, "inactive": {}},
            "children": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "nginx-frontend", "labels": {"app": "nginx", "component": "frontend"}},
                    "spec": {"selector": {"app": "nginx", "component": "frontend", "color": "blue"},
                             "ports": [{"port": 80}]}
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": "nginx-blue",
                                 "labels": {"app": "nginx", "component": "frontend", "color": "blue"},
                                 "annotations": {ANNOTATION: t.to_string()}},
                    "spec": {"replicas": 3, "minReadySeconds": 5,
                             "selector": {"matchLabels": {"app": "nginx", "component": "frontend", "color": "blue"}},
                             "template": blue_template}
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": "nginx-green",
                                 "labels": {"app": "nginx", "component": "frontend", "color": "green"},
                                 "annotations": {ANNOTATION: t.to_string()}},
                    "spec": {"replicas": 0, "minReadySeconds": 5,
                             "selector": {"matchLabels": {"app": "nginx", "component": "frontend", "color": "green"}},
                             "template": green_template}
                }
            ]
        })
    );
}

#[test]
fn steady_state_keeps_the_active_side_and_scales_the_inactive_side_down() {
    let t = template(&[]);
    // The green side still has Pods (say, left from a rollback): scale it down.
    let response = call(&request(
        parent(t.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &t, settled(3)),
            observed_rs("green", 2, &t, settled(2)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "blue");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 0);
    assert_eq!(
        response["status"],
        json!({"activeColor": "blue", "active": settled(3), "inactive": settled(2)})
    );
}

#[test]
fn a_new_template_starts_a_rollout_on_the_empty_inactive_side() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    let response = call(&request(
        parent(new.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 0, &old, settled(0)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "blue", "no switch yet");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(
        recorded(&response, "blue"),
        old,
        "the active side is untouched"
    );
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(recorded(&response, "green"), new);
    let green = child(&response, "nginx-green");
    assert_eq!(
        green["spec"]["template"]["metadata"]["labels"]["new"],
        "label"
    );
    assert_eq!(
        green["spec"]["template"]["metadata"]["labels"]["color"],
        "green"
    );
}

#[test]
fn the_service_waits_until_every_new_replica_is_available() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    for status in [
        json!({}),
        json!({"replicas": 3, "readyReplicas": 3, "availableReplicas": 2}),
        json!({"replicas": 3, "readyReplicas": 3}),
    ] {
        let response = call(&request(
            parent(new.clone()),
            vec![observed_service("blue")],
            vec![
                observed_rs("blue", 3, &old, settled(3)),
                observed_rs("green", 3, &new, status.clone()),
            ],
        ))
        .expect("sync");
        assert_eq!(service_color(&response), "blue", "{status}");
        assert_eq!(replicas(&response, "green"), 3, "{status}");
        assert_eq!(replicas(&response, "blue"), 3, "{status}");
        assert_eq!(response["status"]["inactive"], status);
    }
}

#[test]
fn the_service_switches_once_the_new_side_is_available() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    let response = call(&request(
        parent(new.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 3, &new, settled(3)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "green");
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(recorded(&response, "green"), new);
    // The old side keeps its Pods until the next sync sees the switch.
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(recorded(&response, "blue"), old);
    // Status describes what was observed: blue was still active.
    assert_eq!(response["status"]["activeColor"], "blue");
    // Children order: Service, then the (new) active side, then the inactive one.
    let names: Vec<&str> = response["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["metadata"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["nginx-frontend", "nginx-green", "nginx-blue"]);
}

#[test]
fn after_the_switch_the_old_side_is_scaled_down() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    let response = call(&request(
        parent(new.clone()),
        vec![observed_service("green")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 3, &new, settled(3)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "green");
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(replicas(&response, "blue"), 0);
    assert_eq!(recorded(&response, "blue"), old, "scaled down, not changed");
    assert_eq!(
        response["status"],
        json!({"activeColor": "green", "active": settled(3), "inactive": settled(3)})
    );
}

#[test]
fn a_newer_template_during_a_rollout_cancels_it_first() {
    let old = template(&[]);
    let half = template(&[("new", "label")]);
    let newer = template(&[("new2", "label2")]);
    // Green is rolling out `half` when the parent changes to `newer`.
    let response = call(&request(
        parent(newer.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 3, &half, settled(2)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "blue");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 0, "cancelled");
    assert_eq!(
        recorded(&response, "green"),
        half,
        "template unchanged until empty"
    );

    // Scaled to 0 but Pods still terminating: keep waiting.
    let response = call(&request(
        parent(newer.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs(
                "green",
                0,
                &half,
                json!({"replicas": 1, "observedGeneration": 2}),
            ),
        ],
    ))
    .expect("sync");
    assert_eq!(replicas(&response, "green"), 0);
    assert_eq!(recorded(&response, "green"), half);

    // Empty: the rollout of `newer` starts.
    let response = call(&request(
        parent(newer.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 0, &half, settled(0)),
        ],
    ))
    .expect("sync");
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(recorded(&response, "green"), newer);
}

#[test]
fn reverting_the_template_during_a_rollout_scales_the_new_side_down() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    let response = call(&request(
        parent(old.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 3, &new, settled(1)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "blue");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 0);
}

#[test]
fn reverting_to_the_template_of_the_scaled_down_side_switches_back() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    // Green is active with `new`; blue, scaled down, still records `old`.
    let response = call(&request(
        parent(old.clone()),
        vec![observed_service("green")],
        vec![
            observed_rs("blue", 0, &old, settled(0)),
            observed_rs("green", 3, &new, settled(3)),
        ],
    ))
    .expect("sync");
    assert_eq!(
        service_color(&response),
        "green",
        "blue is not available yet"
    );
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(recorded(&response, "blue"), old);
}

/// A small cluster: applies the desired children (keeping observed status) and
/// plays the ReplicaSet controller, so a whole rollout can be walked through.
struct Cluster {
    parent: Value,
    service: Option<Value>,
    replica_sets: Map<String, Value>,
}

impl Cluster {
    fn new(template: Value) -> Self {
        Cluster {
            parent: parent(template),
            service: None,
            replica_sets: Map::new(),
        }
    }

    fn sync(&mut self) -> Value {
        let request = request(
            self.parent.clone(),
            self.service.iter().cloned().collect(),
            self.replica_sets.values().cloned().collect(),
        );
        let response = call(&request).expect("sync");
        self.service = Some(child(&response, "nginx-frontend").clone());
        for color in ["blue", "green"] {
            let name = format!("nginx-{color}");
            let mut desired = child(&response, &name).clone();
            desired["status"] = self
                .replica_sets
                .get(&name)
                .map_or_else(|| json!({}), |rs| rs["status"].clone());
            self.replica_sets.insert(name, desired);
        }
        self.parent["status"] = response["status"].clone();
        response
    }

    /// Every ReplicaSet reaches its desired size and all its Pods become available.
    fn settle(&mut self) {
        for rs in self.replica_sets.values_mut() {
            rs["status"] = settled(rs["spec"]["replicas"].as_i64().expect("replicas"));
        }
    }

    fn status(&self, path: &str) -> Value {
        self.parent["status"]
            .pointer(path)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn replicas(&self, color: &str) -> i64 {
        self.replica_sets[&format!("nginx-{color}")]["spec"]["replicas"]
            .as_i64()
            .expect("replicas")
    }

    fn patch_template(&mut self, key: &str, value: &str) {
        self.parent["spec"]["template"]["metadata"]["labels"][key] = json!(value);
    }

    /// Syncs (and settles) until nothing changes, at most `max` times.
    fn converge(&mut self, max: usize) -> usize {
        for round in 1..=max {
            let before = (self.service.clone(), self.replica_sets.clone());
            self.sync();
            self.settle();
            if (self.service.clone(), self.replica_sets.clone()) == before {
                return round;
            }
        }
        panic!("no steady state after {max} syncs");
    }
}

/// The steps of metacontroller's test.sh for this example.
#[test]
fn test_sh_two_rollouts_blue_to_green_to_blue() {
    let mut cluster = Cluster::new(template(&[]));

    // Create: nginx-blue active with 3 Pods, nginx-green empty.
    cluster.converge(5);
    assert_eq!(cluster.replicas("blue"), 3);
    assert_eq!(cluster.replicas("green"), 0);
    assert_eq!(cluster.status("/activeColor"), "blue");
    assert_eq!(cluster.status("/active/availableReplicas"), 3);

    // First rollout: green comes up, the Service switches, then blue goes down.
    cluster.patch_template("new", "label");
    cluster.sync();
    assert_eq!(cluster.replicas("green"), 3, "rollout started on green");
    assert_eq!(
        cluster.service.as_ref().expect("service")["spec"]["selector"]["color"],
        "blue"
    );
    cluster.sync();
    assert_eq!(
        cluster.service.as_ref().expect("service")["spec"]["selector"]["color"],
        "blue",
        "green has no available Pods yet"
    );
    cluster.converge(5);
    assert_eq!(cluster.replicas("green"), 3);
    assert_eq!(cluster.replicas("blue"), 0);
    assert_eq!(cluster.status("/activeColor"), "green");
    assert_eq!(cluster.status("/active/availableReplicas"), 3);

    // Second rollout: back to blue.
    cluster.patch_template("new2", "label2");
    cluster.converge(6);
    assert_eq!(cluster.replicas("blue"), 3);
    assert_eq!(cluster.replicas("green"), 0);
    assert_eq!(cluster.status("/activeColor"), "blue");
    assert_eq!(cluster.status("/active/availableReplicas"), 3);
    let blue = &cluster.replica_sets["nginx-blue"];
    assert_eq!(
        blue["spec"]["template"]["metadata"]["labels"]["new2"],
        "label2"
    );
}

#[test]
fn hook_v2_keys_children_by_namespace_and_name() {
    let old = template(&[]);
    let new = template(&[("new", "label")]);
    let mut req = request(
        parent(new.clone()),
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 3, &old, settled(3)),
            observed_rs("green", 3, &new, settled(3)),
        ],
    );
    for group in req["children"]
        .as_object_mut()
        .expect("children")
        .values_mut()
    {
        let renamed: Map<String, Value> = group
            .as_object()
            .expect("group")
            .iter()
            .map(|(name, object)| (format!("default/{name}"), object.clone()))
            .collect();
        *group = renamed.into();
    }
    let response = call(&req).expect("sync");
    assert_eq!(service_color(&response), "green");
    assert_eq!(response["status"]["active"], settled(3));
}

#[test]
fn a_service_color_that_is_not_ours_counts_as_blue() {
    let t = template(&[]);
    for service in [observed_service("red"), {
        let mut s = observed_service("blue");
        s["spec"]["selector"]
            .as_object_mut()
            .expect("selector")
            .remove("color");
        s
    }] {
        let response = call(&request(
            parent(t.clone()),
            vec![service],
            vec![
                observed_rs("blue", 3, &t, settled(3)),
                observed_rs("green", 0, &t, settled(0)),
            ],
        ))
        .expect("sync");
        assert_eq!(service_color(&response), "blue");
        assert_eq!(response["status"]["activeColor"], "blue");
        assert_eq!(replicas(&response, "blue"), 3);
    }
}

#[test]
fn empty_or_missing_children_are_a_first_sync() {
    let t = template(&[]);
    let first = call(&request(parent(t.clone()), vec![], vec![])).expect("sync");
    let no_children = call(&json!({"parent": parent(t.clone())})).expect("sync");
    let empty_children = call(&json!({"parent": parent(t), "children": {}})).expect("sync");
    assert_eq!(no_children, first);
    assert_eq!(empty_children, first);
}

#[test]
fn a_replica_set_without_the_annotation_is_compared_by_its_own_template() {
    let t = template(&[]);
    let mut blue = observed_rs("blue", 3, &t, settled(3));
    blue["metadata"]["annotations"] = json!({});
    let mut green = observed_rs("green", 0, &t, settled(0));
    green["metadata"]["annotations"][ANNOTATION] = json!("{not json");
    let response = call(&request(
        parent(t.clone()),
        vec![observed_service("blue")],
        vec![blue, green],
    ))
    .expect("sync");
    // Without API server defaults the spec.template (minus color) is the template,
    // so nothing needs rolling out and both annotations are written back.
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 0);
    assert_eq!(recorded(&response, "blue"), t);
    assert_eq!(recorded(&response, "green"), t);

    // With defaults added, blue's template differs and a rollout starts on green.
    let mut blue = observed_rs("blue", 3, &t, settled(3));
    blue["metadata"]["annotations"] = json!({});
    blue["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
    let response = call(&request(
        parent(t.clone()),
        vec![observed_service("blue")],
        vec![
            blue,
            observed_rs("green", 0, &template(&[("x", "y")]), settled(0)),
        ],
    ))
    .expect("sync");
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(recorded(&response, "green"), t);
    assert_eq!(
        recorded(&response, "blue")["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
    assert!(
        recorded(&response, "blue")["metadata"]["labels"]
            .get("color")
            .is_none()
    );
}

#[test]
fn defaults_for_unset_replicas_and_min_ready_seconds() {
    let t = template(&[]);
    let mut p = parent(t.clone());
    let spec = p["spec"].as_object_mut().expect("spec");
    spec.remove("replicas");
    spec.remove("minReadySeconds");
    let response = call(&request(p.clone(), vec![], vec![])).expect("sync");
    assert_eq!(replicas(&response, "blue"), 1);
    assert!(
        child(&response, "nginx-blue")["spec"]
            .get("minReadySeconds")
            .is_none()
    );

    // Scaled to zero: the API server omits availableReplicas, which counts as 0, so
    // the switch still happens.
    p["spec"]["replicas"] = json!(0);
    let new = template(&[("new", "label")]);
    p["spec"]["template"] = new.clone();
    let response = call(&request(
        p,
        vec![observed_service("blue")],
        vec![
            observed_rs("blue", 0, &t, settled(0)),
            observed_rs("green", 0, &new, settled(0)),
        ],
    ))
    .expect("sync");
    assert_eq!(service_color(&response), "green");
}

#[test]
fn a_template_without_labels_gets_just_the_color() {
    let t = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
    let response = call(&request(parent(t.clone()), vec![], vec![])).expect("sync");
    let blue = child(&response, "nginx-blue");
    assert_eq!(blue["metadata"]["labels"], json!({"color": "blue"}));
    assert_eq!(
        blue["spec"]["template"]["metadata"]["labels"],
        json!({"color": "blue"})
    );
    assert_eq!(recorded(&response, "blue"), t);
}

/// What is broken, how, and how the error message starts.
type BadParent = (&'static str, fn(&mut Value), &'static str);

#[test]
fn bad_parents_are_rejected_with_what_to_fix() {
    let t = template(&[]);
    let cases: Vec<BadParent> = vec![
        (
            "no name",
            |p| p["metadata"] = json!({}),
            "`parent.metadata.name` is missing",
        ),
        (
            "negative replicas",
            |p| p["spec"]["replicas"] = json!(-1),
            "`parent.spec.replicas` is not a whole number",
        ),
        (
            "replicas not a number",
            |p| p["spec"]["replicas"] = json!("3"),
            "`parent.spec.replicas` is not a whole number",
        ),
        (
            "no selector",
            |p| {
                p["spec"].as_object_mut().expect("spec").remove("selector");
            },
            "`parent.spec.selector` is missing",
        ),
        (
            "matchLabels not an object",
            |p| p["spec"]["selector"]["matchLabels"] = json!(["app"]),
            "`parent.spec.selector.matchLabels` is not an object",
        ),
        (
            "no template",
            |p| {
                p["spec"].as_object_mut().expect("spec").remove("template");
            },
            "`parent.spec.template` is missing",
        ),
        (
            "no service",
            |p| {
                p["spec"].as_object_mut().expect("spec").remove("service");
            },
            "`parent.spec.service` is missing",
        ),
        (
            "no service name",
            |p| p["spec"]["service"]["metadata"] = json!({}),
            "`parent.spec.service.metadata.name` is missing",
        ),
        (
            "no service selector",
            |p| p["spec"]["service"]["spec"] = json!({"ports": [{"port": 80}]}),
            "`parent.spec.service.spec.selector` is missing",
        ),
        (
            "no spec at all",
            |p| {
                p.as_object_mut().expect("parent").remove("spec");
            },
            "`parent.spec.selector` is missing",
        ),
    ];
    for (what, break_it, message) in cases {
        let mut p = parent(t.clone());
        break_it(&mut p);
        let err = call(&request(p, vec![], vec![])).expect_err(what);
        assert!(err.starts_with(message), "{what}: {err}");
    }

    let err = call(&json!({"children": {}})).expect_err("no parent");
    assert!(err.contains("missing field `parent`"), "{err}");
}

#[test]
fn a_broken_observed_replica_set_is_reported_by_name() {
    let t = template(&[]);
    let mut blue = observed_rs("blue", 3, &t, settled(3));
    blue["metadata"]["annotations"] = json!({});
    blue["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("template");
    let err = call(&request(parent(t.clone()), vec![], vec![blue])).expect_err("no template");
    assert!(
        err.starts_with("the observed ReplicaSet nginx-blue has neither"),
        "{err}"
    );

    let mut green = observed_rs("green", 3, &t, settled(3));
    green["spec"]["replicas"] = json!("three");
    let err = call(&request(parent(t), vec![], vec![green])).expect_err("bad replicas");
    assert!(err.contains("nginx-green"), "{err}");
}

#[test]
fn only_sync_is_implemented() {
    let input =
        serde_json::to_vec(&request(parent(template(&[])), vec![], vec![])).expect("serialize");
    for hook in ["finalize", "customize"] {
        let err = bluegreen::hooks()
            .handle(hook, &input)
            .expect_err(hook)
            .to_string();
        assert!(err.contains("does not implement"), "{err}");
    }
}

fn sample(name: &str) -> Value {
    let path = format!("{}/requests/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let request: Value = serde_json::from_str(&text).expect("sample is JSON");
    call(&request).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn sample_requests_take_the_documented_steps() {
    let response = sample("sync.json");
    assert_eq!(service_color(&response), "blue");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 0);
    assert_eq!(response["status"]["activeColor"], "blue");

    let response = sample("sync-rollout.json");
    assert_eq!(service_color(&response), "blue");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 3);
    assert_eq!(
        recorded(&response, "green")["metadata"]["labels"]["new"],
        "label"
    );

    let response = sample("sync-switch.json");
    assert_eq!(service_color(&response), "green");
    assert_eq!(replicas(&response, "blue"), 3);
    assert_eq!(replicas(&response, "green"), 3);

    let response = sample("sync-scale-down.json");
    assert_eq!(service_color(&response), "green");
    assert_eq!(response["status"]["activeColor"], "green");
    assert_eq!(replicas(&response, "blue"), 0);
    assert_eq!(replicas(&response, "green"), 3);
}
